//! The stored form of a file's precise calls: one internal block per file
//! (kind [`PRECISE_KIND`]), written in the file's batch. It is an input
//! of the graph, like the file's text: it records the call edges a SCIP
//! index gave for the file and the content hash of the file they are
//! true for. An ingest uses them in place of the heuristic call edges
//! while the file still has that content; after an edit it falls back to
//! the heuristic edges and keeps the block (counted as stale) until the
//! next index. Content: one line per edge, sorted:
//! `<source id hex> <target id hex> <calls|calls_method>`; then one line
//! per block the merge created for a definition tree-sitter has no block
//! for ([`super::defs`]), tab-separated: `def <id hex> <function|method>
//! <start line> <end line> <start byte> <end byte> <name> <qualified
//! name>`. Version 1 blocks (before created blocks) are read as having
//! none.

use kausal_storage::{BlockId, BlockView, ContextBlock, EdgeType, GraphEdge};
use serde::{Deserialize, Serialize};

use super::defs::CreatedDef;
use crate::hash::StableHasher;
use crate::meta::has_kind;
use crate::summary::ItemKind;

/// `kind` of a file's precise-calls block (internal: not code).
pub use crate::meta::PRECISE_KIND;
/// Version of the block's format. 2: `def` lines.
pub const PRECISE_VERSION: u32 = 2;
/// Most content bytes of one block; a file whose precise edges need more
/// keeps its heuristic edges (counted in the report). 100,000 edges of
/// about 75 bytes, under the 16 MiB a block may hold.
pub const MAX_PRECISE_BYTES: usize = 8 * 1024 * 1024;

/// A file's precise calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreciseFile {
    /// Hash of the file content the edges are true for.
    pub content_hash: u128,
    /// The indexer that produced them (`rust-analyzer 1.95.0`).
    pub tool: String,
    /// Sorted, without repeats; `calls` and `calls_method` only.
    pub edges: Vec<GraphEdge>,
    /// Blocks for the file's definitions that tree-sitter has no block
    /// for, in the order the index defines them.
    pub defs: Vec<CreatedDef>,
}

/// The block's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreciseMeta {
    /// Always [`PRECISE_KIND`] (first, so it is readable unparsed).
    pub kind: String,
    /// [`PRECISE_VERSION`].
    pub version: u32,
    /// The file the edges start in.
    pub path: String,
    /// 32 hex digits.
    pub content_hash: String,
    /// The indexer.
    pub tool: String,
    /// Edge lines of the content.
    pub edges: u64,
    /// `def` lines of the content.
    #[serde(default)]
    pub defs: u64,
}

/// Id of the precise-calls block of the file whose block is `file_id`.
pub fn precise_block_id(file_id: BlockId) -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest precise calls v1")
        .field(file_id.as_bytes())
        .finish();
    BlockId::from_u128(hash.max(1))
}

/// True when a stored block is a precise-calls block.
pub fn is_precise_block(metadata_json: &str) -> bool {
    has_kind(metadata_json, PRECISE_KIND)
}

/// The block of `path` (file block `file_id`) holding `file`; `Err` with
/// a reason when it would exceed [`MAX_PRECISE_BYTES`].
pub(crate) fn precise_block(
    path: &str,
    file_id: BlockId,
    file: &PreciseFile,
) -> Result<ContextBlock, String> {
    use std::fmt::Write;
    let mut content = String::with_capacity(file.edges.len() * 80);
    for edge in &file.edges {
        // Writing into a String cannot fail.
        let _ = writeln!(
            content,
            "{} {} {}",
            edge.source,
            edge.target,
            edge.edge_type.name()
        );
        if content.len() > MAX_PRECISE_BYTES {
            return Err(format!(
                "{} precise call edges take more than {MAX_PRECISE_BYTES} bytes",
                file.edges.len()
            ));
        }
    }
    for def in &file.defs {
        let _ = writeln!(
            content,
            "def\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            def.id,
            def.kind.name(),
            def.start_line,
            def.end_line,
            def.start_byte,
            def.end_byte,
            def.name,
            def.qualified
        );
        if content.len() > MAX_PRECISE_BYTES {
            return Err(format!(
                "{} precise call edges and {} definitions take more than {MAX_PRECISE_BYTES} bytes",
                file.edges.len(),
                file.defs.len()
            ));
        }
    }
    let meta = PreciseMeta {
        kind: PRECISE_KIND.to_string(),
        version: PRECISE_VERSION,
        path: path.to_string(),
        content_hash: format!("{:032x}", file.content_hash),
        tool: file.tool.clone(),
        edges: file.edges.len() as u64,
        defs: file.defs.len() as u64,
    };
    Ok(ContextBlock::new(
        precise_block_id(file_id),
        path.to_string(),
        serde_json::to_string(&meta).map_err(|error| error.to_string())?,
        content,
    ))
}

/// Reads a precise-calls block: the path it belongs to and its calls;
/// `None` when it is not one, is of another version, or any line does not
/// parse (a block ingest did not write is not trusted in part).
pub fn read_precise(view: &BlockView) -> Option<(String, PreciseFile)> {
    if !is_precise_block(view.metadata_json) {
        return None;
    }
    let meta: PreciseMeta = serde_json::from_str(view.metadata_json).ok()?;
    if meta.version != PRECISE_VERSION && meta.version != 1 {
        return None;
    }
    let content_hash = u128::from_str_radix(&meta.content_hash, 16).ok()?;
    let (mut edges, mut defs) = (Vec::new(), Vec::new());
    for line in view.content.lines() {
        match line.strip_prefix("def\t") {
            Some(def) => defs.push(parse_def(def)?),
            None => edges.push(parse_line(line)?),
        }
    }
    if edges.len() as u64 != meta.edges || defs.len() as u64 != meta.defs {
        return None;
    }
    let file = PreciseFile {
        content_hash,
        tool: meta.tool,
        edges,
        defs,
    };
    Some((meta.path, file))
}

fn parse_line(line: &str) -> Option<GraphEdge> {
    let mut fields = line.split(' ');
    let source = BlockId::parse_hex(fields.next()?).ok()?;
    let target = BlockId::parse_hex(fields.next()?).ok()?;
    let edge_type = EdgeType::from_name(fields.next()?).ok()?;
    if fields.next().is_some() || !matches!(edge_type, EdgeType::Calls | EdgeType::CallsMethod) {
        return None;
    }
    Some(GraphEdge::new(source, target, edge_type))
}

fn parse_def(line: &str) -> Option<CreatedDef> {
    let mut fields = line.split('\t');
    let id = BlockId::parse_hex(fields.next()?).ok()?;
    let kind = match fields.next()? {
        "function" => ItemKind::Function,
        "method" => ItemKind::Method,
        _ => return None,
    };
    let mut number = || fields.next()?.parse::<u32>().ok();
    let (start_line, end_line, start_byte, end_byte) = (number()?, number()?, number()?, number()?);
    let name = fields.next()?.to_string();
    let qualified = fields.next()?.to_string();
    if fields.next().is_some() || start_line > end_line || start_byte > end_byte {
        return None;
    }
    Some(CreatedDef {
        id,
        kind,
        name,
        qualified,
        start_line,
        end_line,
        start_byte,
        end_byte,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_round_trips_and_a_bad_line_spoils_it() {
        let edge = |s: u128, t: u128, m: bool| {
            let kind = if m {
                EdgeType::CallsMethod
            } else {
                EdgeType::Calls
            };
            GraphEdge::new(BlockId::from_u128(s), BlockId::from_u128(t), kind)
        };
        let file = PreciseFile {
            content_hash: 0xabc,
            tool: "rust-analyzer 1.95.0".into(),
            edges: vec![edge(1, 2, false), edge(1, 3, true)],
            defs: vec![CreatedDef {
                id: BlockId::from_u128(4),
                kind: ItemKind::Method,
                name: "#dispatch".into(),
                qualified: "src.q.Query.#dispatch".into(),
                start_line: 3,
                end_line: 9,
                start_byte: 40,
                end_byte: 200,
            }],
        };
        let block = precise_block("src/a.rs", BlockId::from_u128(9), &file).expect("block");
        assert!(is_precise_block(&block.metadata_json));
        assert_eq!(block.id, precise_block_id(BlockId::from_u128(9)));
        let view = |content: &str| {
            read_precise(&BlockView {
                id: block.id,
                sequence: 1,
                source_uri: &block.source_uri,
                metadata_json: &block.metadata_json,
                content,
            })
        };
        assert_eq!(view(&block.content), Some(("src/a.rs".to_string(), file)));
        let spoiled = block.content.replacen("calls_method", "imports", 1);
        assert_eq!(view(&spoiled), None);
        let spoiled = block.content.replacen("\tmethod\t", "\tstruct\t", 1);
        assert_eq!(view(&spoiled), None);
        let short = block.content.lines().next().unwrap_or("").to_string();
        assert_eq!(view(&short), None);
    }
}
