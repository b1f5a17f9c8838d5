//! `resolved_by` of a block's call edges, read from its file's call
//! provenance block (kausal-ingest's `provenance`: one internal block per
//! file, one line `<source hex> <target hex> <type> <rule>` per call
//! edge, sorted by edge). Blocks are exported in id order, which scatters
//! each file's blocks over the whole run, so instead of parsing (and
//! keeping) every file's records, each lookup reads the provenance block
//! where it lies (a borrowed view, no copy) and binary-searches its lines
//! for the source block's: memory stays constant, and a lookup costs one
//! block read and a logarithmic number of line comparisons.

use kausal_ingest::provenance::{
    CANDIDATE, CallRule, PROVENANCE_VERSION, ProvenanceMeta, UNRECORDED, is_provenance_block,
    provenance_block_id_of,
};
use kausal_storage::{BlockId, EdgeType, GraphEdge, Snapshot, StorageError};

/// Hex digits of a block id, as provenance lines start.
const ID_HEX_DIGITS: usize = 32;

/// The recorded rules of one source block's call edges.
#[derive(Debug, Default)]
pub(crate) struct SourceRules {
    /// (target, edge type, rule) of each record of the source.
    records: Vec<(BlockId, EdgeType, CallRule)>,
}

impl SourceRules {
    /// Reads the records of `source` (whose metadata says `language` and
    /// `path`) from its file's provenance block; none when the file has
    /// no block (a database ingested before provenance, or a language
    /// kausal-ingest does not know).
    pub(crate) fn read(
        snapshot: &Snapshot,
        source: BlockId,
        language: &str,
        path: &str,
    ) -> Result<Self, StorageError> {
        let mut rules = Self::default();
        let Some(block_id) = provenance_block_id_of(language, path) else {
            return Ok(rules);
        };
        let Some(view) = snapshot.find_block(block_id)? else {
            return Ok(rules);
        };
        let current = is_provenance_block(view.metadata_json)
            && serde_json::from_str::<ProvenanceMeta>(view.metadata_json)
                .is_ok_and(|meta| meta.version == PROVENANCE_VERSION);
        if !current {
            return Ok(rules);
        }
        let key = source.to_string();
        let content = view.content;
        let mut at = first_line_not_before(content, &key);
        while at < content.len() {
            let end = line_end(content, at);
            let line = &content[at..end];
            if line.get(..ID_HEX_DIGITS) != Some(key.as_str()) {
                break;
            }
            if let Some(record) = parse_rest(line) {
                rules.records.push(record);
            }
            at = end;
        }
        Ok(rules)
    }

    /// `resolved_by` of `edge` (leaving the source these rules are of):
    /// the recorded rule of a `calls` / `calls_method` edge, `unrecorded`
    /// without a record, `candidate` for `calls_candidate`, `None` for
    /// other edge types.
    pub(crate) fn resolved_by(&self, edge: &GraphEdge) -> Option<&'static str> {
        match edge.edge_type {
            EdgeType::CallsCandidate => Some(CANDIDATE),
            EdgeType::Calls | EdgeType::CallsMethod => Some(
                self.records
                    .iter()
                    .find(|(target, edge_type, _)| {
                        *target == edge.target && *edge_type == edge.edge_type
                    })
                    .map_or(UNRECORDED, |(_, _, rule)| rule.name()),
            ),
            _ => None,
        }
    }
}

/// True when the rules of `edges`' source are needed: it has a call edge
/// that a provenance record may describe.
pub(crate) fn needs_rules(edges: &[GraphEdge]) -> bool {
    edges
        .iter()
        .any(|edge| matches!(edge.edge_type, EdgeType::Calls | EdgeType::CallsMethod))
}

/// The offset just past the line that starts at `start` (its newline
/// included), or the end of `text`.
fn line_end(text: &str, start: usize) -> usize {
    text[start..]
        .find('\n')
        .map_or(text.len(), |newline| start + newline + 1)
}

/// The start of the line holding byte `at`.
fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |newline| newline + 1)
}

/// The start of the first line whose leading id is not below `key` (the
/// end of `text` when there is none); lines are sorted by that id.
/// Invariant: every line before `low` sorts below `key`, every line from
/// `high` on does not.
fn first_line_not_before(text: &str, key: &str) -> usize {
    let (mut low, mut high) = (0, text.len());
    while low < high {
        let start = line_start(text, low + (high - low) / 2).max(low);
        let end = line_end(text, start);
        let id = text[start..end].get(..ID_HEX_DIGITS).unwrap_or("");
        if id < key {
            low = end;
        } else {
            high = start;
        }
    }
    low
}

/// Target, edge type and rule of a provenance line.
fn parse_rest(line: &str) -> Option<(BlockId, EdgeType, CallRule)> {
    let mut fields = line.split_ascii_whitespace().skip(1);
    let target = BlockId::parse_hex(fields.next()?).ok()?;
    let edge_type = EdgeType::from_name(fields.next()?).ok()?;
    let rule = CallRule::from_name(fields.next()?)?;
    Some((target, edge_type, rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(value: u128) -> String {
        BlockId::from_u128(value).to_string()
    }

    #[test]
    fn the_binary_search_finds_the_first_line_of_each_source_and_nothing_else() {
        let sources = [3u128, 3, 7, 0x10, 0x10, 0x10, 0xff00];
        let text: String = sources
            .iter()
            .enumerate()
            .map(|(n, source)| format!("{} {} calls scope\n", hex(*source), hex(n as u128 + 1)))
            .collect();
        for probe in [1u128, 3, 5, 7, 0x10, 0x11, 0xff00, 0xffff] {
            let at = first_line_not_before(&text, &hex(probe));
            let expected = sources.iter().position(|s| *s >= probe);
            let line =
                expected.map(|index| index * text.lines().next().map_or(0, str::len) + index);
            assert_eq!(
                Some(at).filter(|at| *at < text.len()),
                line,
                "probe {probe}"
            );
        }
        assert_eq!(first_line_not_before("", &hex(1)), 0);
    }

    #[test]
    fn lines_parse_into_target_type_and_rule() {
        let line = format!("{} {} calls_method receiver_type\n", hex(1), hex(2));
        assert_eq!(
            parse_rest(&line),
            Some((
                BlockId::from_u128(2),
                EdgeType::CallsMethod,
                CallRule::ReceiverType
            ))
        );
        assert_eq!(
            parse_rest(&format!("{} {} calls guessed", hex(1), hex(2))),
            None
        );
    }
}
