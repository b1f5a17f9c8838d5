//! Who calls a function, and what it depends on three hops out, over a
//! small hand-built call graph.
//!
//! `cargo run -p kausal-query --example callers`

use kausal_query::{Direction, EdgeTypeSet, QueryEngine, Traversal};
use kausal_storage::{BlockId, ContextBlock, Database, EdgeType, GraphEdge};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = Database::open(dir.path())?;
    // main -> parse -> lex -> read; check -> lex
    let names = ["main", "parse", "lex", "read", "check"];
    let id = |name: &str| {
        let position = names.iter().position(|known| *known == name).unwrap_or(0);
        BlockId::from_u128(position as u128 + 1)
    };
    for name in names {
        db.put_block(&ContextBlock::new(
            id(name),
            format!("src/{name}.rs"),
            format!(r#"{{"name":"{name}","kind":"function"}}"#),
            format!("fn {name}() {{}}"),
        ))?;
    }
    for (caller, callee) in [
        ("main", "parse"),
        ("parse", "lex"),
        ("lex", "read"),
        ("check", "lex"),
    ] {
        db.put_edge(GraphEdge::new(id(caller), id(callee), EdgeType::Calls))?;
    }

    let snapshot = db.snapshot();
    let queries = QueryEngine::new(&snapshot);
    let callers = queries.find_callers(id("lex"))?;
    println!(
        "lex is called by: {}",
        callers
            .iter()
            .map(|block| block.source_uri)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let deps = queries.traverse(
        &Traversal::new(vec![id("main")])
            .direction(Direction::Outgoing)
            .edge_types(EdgeTypeSet::calls())
            .max_depth(3),
    )?;
    for reached in &deps.nodes {
        println!("depth {}: {}", reached.depth, reached.block.source_uri);
    }
    Ok(())
}
