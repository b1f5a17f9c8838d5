//! Shared data generators for the benchmark harness (`harness/`) and the
//! criterion benches: deterministic blocks and a power-law code graph.

use kausal_storage::{BlockId, ContextBlock, EdgeType, GraphEdge};

/// Content of `len` bytes that looks like source code.
pub fn code_content(seed: u64, len: usize) -> String {
    let unit = format!("fn f{seed:x}(x: u64) -> u64 {{ x.wrapping_mul({seed}) }}\n");
    unit.repeat(len / unit.len() + 1)[..len].to_string()
}

/// Block `n` with `len` bytes of content.
pub fn block(n: u128, len: usize) -> ContextBlock {
    ContextBlock::new(
        BlockId::from_u128(n),
        format!("src/module_{}/file_{}.rs", n % 97, n % 1009),
        format!(r#"{{"name":"f{n}","kind":"function"}}"#),
        code_content(n as u64, len),
    )
}

/// Edges of a code graph of `nodes` blocks with about `edges_per_node`
/// outgoing edges each, skewed: out-degrees vary widely and targets favour
/// low ids (a few hub functions are called by very many), a power-law-like
/// in-degree. Ids are `1..=nodes`.
pub fn power_law_edges(seed: u64, nodes: u128, edges_per_node: u32) -> Vec<GraphEdge> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut edges = Vec::with_capacity(nodes as usize * edges_per_node as usize);
    for source in 1..=nodes {
        // Out-degree: geometric-like around the mean, a few very large.
        let mut degree = (rng.f64().powi(3) * edges_per_node as f64 * 4.0) as u32;
        if rng.u32(0..1000) == 0 {
            degree += 200;
        }
        for _ in 0..degree {
            let skew = rng.f64().powi(3);
            let target = 1 + (skew * (nodes - 1) as f64) as u128;
            let edge_type = if rng.u32(0..10) < 8 {
                EdgeType::Calls
            } else {
                EdgeType::Imports
            };
            edges.push(GraphEdge::new(
                BlockId::from_u128(source),
                BlockId::from_u128(target),
                edge_type,
            ));
        }
    }
    edges
}
