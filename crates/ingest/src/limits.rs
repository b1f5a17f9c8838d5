//! Named limits of ingest, checked where input enters (the walk, the file
//! read, the extractor), so that nothing past them handles absurd sizes.

/// Default largest source file ingested; larger files are skipped and
/// listed in the report. Configurable through `IngestOptions::max_file_bytes`.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Hard ceiling for `IngestOptions::max_file_bytes`: a file block's content
/// must fit a storage block (16 MiB) and its per-file batch.
pub const MAX_FILE_BYTES_CEILING: u64 = 8 * 1024 * 1024;
/// Bytes inspected for a NUL byte to call a file binary.
pub const BINARY_SNIFF_BYTES: usize = 8 * 1024;
/// Longest `signature` stored in block metadata (cut at a char boundary).
pub const MAX_SIGNATURE_BYTES: usize = 512;
/// Longest `doc` line stored in block metadata.
pub const MAX_DOC_BYTES: usize = 512;
/// Longest name kept for an item or a call reference; longer ones are cut.
pub const MAX_NAME_BYTES: usize = 1024;
/// Most items, call references or imports extracted from one file; the
/// rest are dropped and the file is listed as partially ingested.
pub const MAX_ENTRIES_PER_FILE: usize = 50_000;
/// Cap on the import fixpoint (re-exports of re-exports, globs of globs):
/// a path is followed through at most this many `use` hops.
pub const MAX_IMPORT_HOPS: usize = 16;
/// Unresolved and ambiguous calls kept (with text and reason) in the report;
/// beyond it they are only counted.
pub const MAX_REPORTED_CALLS: usize = 200;
/// Longest path segment list followed when resolving a path.
pub const MAX_PATH_SEGMENTS: usize = 32;
/// Deepest item nesting kept (modules in modules in functions ...). Deeper
/// items are dropped and the file listed as partial: qualified names grow
/// with depth, so 10,000 nested modules would otherwise cost O(depth^2).
pub const MAX_ITEM_DEPTH: usize = 128;
/// Longest method-call chain (`a.b().c().d()`) whose receiver types are
/// followed through return types.
pub const MAX_CALL_CHAIN: usize = 32;
/// Excluded files examined when naming the ignore rule file that excluded
/// the most (evenly spaced over all excluded files): bounds the cost of the
/// explanation on a tree whose rules exclude everything.
pub const MAX_IGNORE_ATTRIBUTION_SAMPLES: usize = 10_000;
/// Skipped files listed by name in the stored record of the last walk
/// (`kausal stats`); beyond it they are only counted by cause.
pub const MAX_RECORDED_SKIPPED_FILES: usize = 100;

/// Most bytes of a file's summary as JSON, before it is compressed into its
/// state block (`record.rs`): what the block's content limit allowed when
/// the JSON was stored as it is, so a file storable before is storable now,
/// and a reader never inflates a stored summary past it.
pub const MAX_SUMMARY_JSON_BYTES: usize = 16 * 1024 * 1024;
