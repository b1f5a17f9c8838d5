//! Call provenance: which resolution rule linked each stored call edge
//! (`calls`, `calls_method`), and how that is stored. Owns the public
//! rule vocabulary ([`CallRule`], strongest first), the per-file
//! provenance block (kind [`PROVENANCE_KIND`]: id, metadata, content
//! format, the [`MAX_PROVENANCE_BYTES`] cap) and its reader, which the
//! query service uses to answer `resolved_by`.
//!
//! Edges carry no payload in storage, so the rules of a file's outgoing
//! call edges live in one internal block per file, written in the same
//! batch as that file's edges. Its content is one line per edge, sorted by
//! edge: `<source id hex> <target id hex> <calls|calls_method> <rule>`.

use kausal_storage::{BlockId, BlockView, ContextBlock, EdgeType, GraphEdge};
use serde::{Deserialize, Serialize};

use crate::hash::StableHasher;
use crate::language::Language;
use crate::meta::has_kind;

/// `kind` of a file's call provenance block (internal: not code).
pub use crate::meta::PROVENANCE_KIND;
/// Version of the provenance block's content format.
pub const PROVENANCE_VERSION: u32 = 1;
/// Most content bytes of one provenance block; records past it are only
/// counted (`omitted` in its metadata) and read as `unrecorded`. Far above
/// what a file within the extractor's limits produces (50,000 calls of
/// about 90 bytes each), and under the 16 MiB a block may hold.
pub const MAX_PROVENANCE_BYTES: usize = 8 * 1024 * 1024;
/// `resolved_by` of a `calls_candidate` edge: one of a few possible
/// targets, chosen by no rule.
pub const CANDIDATE: &str = "candidate";
/// `resolved_by` of a call edge without a record (a database written
/// before provenance was recorded, or a record past the cap).
pub const UNRECORDED: &str = "unrecorded";

/// How a call edge was resolved: the public, fixed vocabulary. Declared
/// strongest first (the order `Ord` follows): rules that bind a name
/// lexically, then rules that need the receiver's type, then the guess by
/// a unique name. When several call sites give one edge, the strongest
/// rule among them is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallRule {
    /// A SCIP index (a compiler's indexer: `rust-analyzer scip`,
    /// `scip-typescript`, `scip-python`) records the call: precise mode.
    Precise,
    /// A bare name bound in the caller's own scope: a function nested in
    /// an enclosing function, an item declared in the caller's module
    /// (Rust module, Python/JS/TS/C/Zig file, Go package).
    Scope,
    /// A bare name bound by an import (`use a::f;`, a glob, a
    /// function-local `use`, `from m import f`, `import { f } from`),
    /// followed through re-exports.
    Import,
    /// A qualified path through modules or types: `a::b::f()`,
    /// `Type::f()`, `Self::f()`, `<T as Trait>::f()`, another crate of the
    /// tree, `module.f()`, `Class.m()`.
    Path,
    /// `self.m()` / `this.m()` / `cls.m()`: a method of the caller's own
    /// impl, trait or class.
    SelfMethod,
    /// A method of a base class, through `self` or `super()`.
    Inherited,
    /// `x.m()` where `x`'s type is known: a typed parameter, local or
    /// field, what a call returns, an element of a typed collection.
    ReceiverType,
    /// A trait's method reached through a generic parameter's bound
    /// (`G: Trait`) or a value produced in generic code.
    TraitBound,
    /// A method of a trait with a blanket impl, in scope at the call.
    BlanketTrait,
    /// The only function or method of that name in the crate or project
    /// (or one trait's method and its impls): a match by name alone.
    UniqueName,
    /// C: a function no file of the tree defines, called by name: the
    /// edge leads to its `external` stub block (`crate::stubs`).
    External,
}

impl CallRule {
    /// Every rule, strongest first.
    pub const ALL: [CallRule; 11] = [
        CallRule::Precise,
        CallRule::Scope,
        CallRule::Import,
        CallRule::Path,
        CallRule::SelfMethod,
        CallRule::Inherited,
        CallRule::ReceiverType,
        CallRule::TraitBound,
        CallRule::BlanketTrait,
        CallRule::UniqueName,
        CallRule::External,
    ];

    /// The rule's stored and reported name.
    pub const fn name(self) -> &'static str {
        match self {
            CallRule::Precise => "precise",
            CallRule::Scope => "scope",
            CallRule::Import => "import",
            CallRule::Path => "path",
            CallRule::SelfMethod => "self_method",
            CallRule::Inherited => "inherited",
            CallRule::ReceiverType => "receiver_type",
            CallRule::TraitBound => "trait_bound",
            CallRule::BlanketTrait => "blanket_trait",
            CallRule::UniqueName => "unique_name",
            CallRule::External => "external",
        }
    }

    /// The rule named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|rule| rule.name() == name)
    }
}

impl std::fmt::Display for CallRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One call edge and the rule that resolved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallProvenance {
    /// A `calls` or `calls_method` edge.
    pub edge: GraphEdge,
    /// The strongest rule among the call sites that made it.
    pub rule: CallRule,
}

/// The metadata of a provenance block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceMeta {
    /// Always [`PROVENANCE_KIND`] (first, so it is readable unparsed).
    pub kind: String,
    /// [`PROVENANCE_VERSION`].
    pub version: u32,
    /// The file whose outgoing call edges these are.
    pub path: String,
    /// Records in the content.
    pub records: u64,
    /// Records left out past [`MAX_PROVENANCE_BYTES`].
    pub omitted: u64,
}

/// Id of the provenance block of the file whose block is `file_id`.
pub fn provenance_block_id(file_id: BlockId) -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest call provenance v1")
        .field(file_id.as_bytes())
        .finish();
    BlockId::from_u128(hash.max(1))
}

/// Id of the provenance block of the file at `path` in `language` (a
/// language name as block metadata holds it); `None` for an unknown one.
pub fn provenance_block_id_of(language: &str, path: &str) -> Option<BlockId> {
    let language = Language::from_name(language)?;
    Some(provenance_block_id(crate::record::file_block_id(
        language, path,
    )))
}

/// True when a stored block is a provenance block.
pub fn is_provenance_block(metadata_json: &str) -> bool {
    has_kind(metadata_json, PROVENANCE_KIND)
}

/// The provenance block of `path` (file block `file_id`) holding
/// `records`, which are sorted by edge with one record per edge.
pub(crate) fn provenance_block(
    path: &str,
    file_id: BlockId,
    records: &[CallProvenance],
) -> Result<ContextBlock, String> {
    let (content, written) = provenance_text(records, MAX_PROVENANCE_BYTES);
    let meta = ProvenanceMeta {
        kind: PROVENANCE_KIND.to_string(),
        version: PROVENANCE_VERSION,
        path: path.to_string(),
        records: written as u64,
        omitted: (records.len() - written) as u64,
    };
    Ok(ContextBlock::new(
        provenance_block_id(file_id),
        path.to_string(),
        serde_json::to_string(&meta).map_err(|error| error.to_string())?,
        content,
    ))
}

/// Longest line of the content: two ids, the longest edge type and rule
/// names, three spaces and a newline (a bound, for the capacity only).
const MAX_LINE_BYTES: usize = 32 + 1 + 32 + 1 + 12 + 1 + 13 + 1;

/// The content lines of `records`, at most `cap` bytes; and how many
/// records it holds.
fn provenance_text(records: &[CallProvenance], cap: usize) -> (String, usize) {
    use std::fmt::Write;
    let mut text = String::with_capacity((records.len() * MAX_LINE_BYTES).min(cap));
    let mut line = String::with_capacity(MAX_LINE_BYTES);
    for (written, record) in records.iter().enumerate() {
        line.clear();
        let edge = record.edge;
        // Writing into a String cannot fail.
        let _ = writeln!(
            line,
            "{} {} {} {}",
            edge.source,
            edge.target,
            edge.edge_type.name(),
            record.rule.name()
        );
        if text.len() + line.len() > cap {
            return (text, written);
        }
        text.push_str(&line);
    }
    (text, records.len())
}

/// A stored provenance block, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProvenance {
    /// The block's metadata (`omitted` says how many records it lacks).
    pub meta: ProvenanceMeta,
    /// The records, in stored order; lines that do not parse are skipped.
    pub records: Vec<CallProvenance>,
}

/// Reads a provenance block; `None` when `view` is none or its metadata is
/// of another version.
pub fn read_provenance(view: &BlockView) -> Option<StoredProvenance> {
    let meta = readable_meta(view)?;
    let records = view.content.lines().filter_map(parse_record).collect();
    Some(StoredProvenance { meta, records })
}

/// The metadata of a provenance block of this version.
fn readable_meta(view: &BlockView) -> Option<ProvenanceMeta> {
    if !is_provenance_block(view.metadata_json) {
        return None;
    }
    let meta: ProvenanceMeta = serde_json::from_str(view.metadata_json).ok()?;
    (meta.version == PROVENANCE_VERSION).then_some(meta)
}

/// The record lines of a provenance block, unparsed; `None` as for
/// [`read_provenance`]. With [`rule_in`], a reader that needs the rule
/// of a few edges of a file does not parse all of its records (`kausal
/// callers` of a function called from thousands of files read each
/// file's block for one edge).
pub fn stored_record_text<'v>(view: &BlockView<'v>) -> Option<&'v str> {
    readable_meta(view).map(|_| view.content)
}

/// The rule [`stored_record_text`]'s `text` records for `edge`, found by its
/// line's prefix; `None` when it has no valid record of it.
pub fn rule_in(text: &str, edge: &GraphEdge) -> Option<CallRule> {
    let prefix = format!("{} {} {} ", edge.source, edge.target, edge.edge_type.name());
    let mut from = 0;
    while let Some(found) = text[from..].find(&prefix) {
        let at = from + found;
        let line_start = at == 0 || text.as_bytes()[at - 1] == b'\n';
        let end = text[at..].find('\n').map_or(text.len(), |n| at + n);
        if line_start && let Some(record) = parse_record(&text[at..end]) {
            return (record.edge == *edge).then_some(record.rule);
        }
        from = at + 1;
    }
    None
}

/// One record line of a provenance block's text; `None` for a line that
/// is not a valid record (skipped, as [`read_provenance`] does).
pub fn parse_record(line: &str) -> Option<CallProvenance> {
    let mut fields = line.split(' ');
    let source = BlockId::parse_hex(fields.next()?).ok()?;
    let target = BlockId::parse_hex(fields.next()?).ok()?;
    let edge_type = EdgeType::from_name(fields.next()?).ok()?;
    let rule = CallRule::from_name(fields.next()?)?;
    if fields.next().is_some() || !matches!(edge_type, EdgeType::Calls | EdgeType::CallsMethod) {
        return None;
    }
    Some(CallProvenance {
        edge: GraphEdge::new(source, target, edge_type),
        rule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(source: u128, target: u128, method: bool, rule: CallRule) -> CallProvenance {
        let edge_type = if method {
            EdgeType::CallsMethod
        } else {
            EdgeType::Calls
        };
        CallProvenance {
            edge: GraphEdge::new(
                BlockId::from_u128(source),
                BlockId::from_u128(target),
                edge_type,
            ),
            rule,
        }
    }

    #[test]
    fn rule_names_round_trip_and_order_is_strength() {
        for rule in CallRule::ALL {
            assert_eq!(CallRule::from_name(rule.name()), Some(rule));
        }
        assert_eq!(CallRule::from_name("candidate"), None);
        let mut sorted = CallRule::ALL;
        sorted.sort();
        assert_eq!(sorted, CallRule::ALL);
        assert!(CallRule::Precise < CallRule::Scope && CallRule::Scope < CallRule::UniqueName);
        // Every name fits the line bound.
        assert!(CallRule::ALL.iter().all(|r| r.name().len() <= 13));
    }

    #[test]
    fn a_block_round_trips_and_the_cap_counts_what_it_left_out() {
        let records = vec![
            record(1, 2, false, CallRule::Scope),
            record(1, 3, true, CallRule::ReceiverType),
            record(4, 2, false, CallRule::UniqueName),
        ];
        let block = provenance_block("src/a.rs", BlockId::from_u128(9), &records).expect("block");
        assert!(is_provenance_block(&block.metadata_json));
        assert_eq!(block.id, provenance_block_id(BlockId::from_u128(9)));
        let first = block.content.lines().next().expect("a line");
        assert_eq!(
            first,
            format!(
                "{} {} calls scope",
                BlockId::from_u128(1),
                BlockId::from_u128(2)
            )
        );
        let view = BlockView {
            id: block.id,
            sequence: 1,
            source_uri: &block.source_uri,
            metadata_json: &block.metadata_json,
            content: &block.content,
        };
        let stored = read_provenance(&view).expect("reads");
        assert_eq!(stored.records, records);
        assert_eq!((stored.meta.records, stored.meta.omitted), (3, 0));

        // A cap of two lines keeps two records and counts the third.
        let two: usize = block.content.lines().take(2).map(|l| l.len() + 1).sum();
        let (text, written) = provenance_text(&records, two + 1);
        assert_eq!((written, text.lines().count()), (2, 2));
        assert!(provenance_text(&records, MAX_PROVENANCE_BYTES).0.len() < MAX_PROVENANCE_BYTES);
    }

    #[test]
    fn a_rule_is_found_by_its_line_without_parsing_the_others() {
        let (a, b, c) = (
            BlockId::from_u128(1),
            BlockId::from_u128(2),
            BlockId::from_u128(3),
        );
        let text = format!(
            "{a} {b} calls scope\n{a} {c} calls_method receiver_type\n{b} {c} calls nonsense\n{c} {a} calls import"
        );
        let rule =
            |source, target, edge_type| rule_in(&text, &GraphEdge::new(source, target, edge_type));
        assert_eq!(rule(a, b, EdgeType::Calls), Some(CallRule::Scope));
        assert_eq!(
            rule(a, c, EdgeType::CallsMethod),
            Some(CallRule::ReceiverType)
        );
        assert_eq!(rule(a, c, EdgeType::Calls), None);
        assert_eq!(rule(b, c, EdgeType::Calls), None, "a bad line is no record");
        assert_eq!(
            rule(c, a, EdgeType::Calls),
            Some(CallRule::Import),
            "the last line"
        );
        assert_eq!(rule(b, a, EdgeType::Calls), None);
        // Every record of a file read both ways agrees.
        for record in text.lines().filter_map(parse_record) {
            assert_eq!(rule_in(&text, &record.edge), Some(record.rule));
        }
    }

    #[test]
    fn bad_lines_are_skipped() {
        assert_eq!(parse_record("zz 01 calls scope"), None);
        let a = BlockId::from_u128(1);
        assert_eq!(parse_record(&format!("{a} {a} imports scope")), None);
        assert_eq!(parse_record(&format!("{a} {a} calls nonsense")), None);
        assert_eq!(parse_record(&format!("{a} {a} calls scope extra")), None);
        assert!(parse_record(&format!("{a} {a} calls_method scope")).is_some());
    }
}
