//! `FileRecord`: one ingested file (its identity on disk, content, hash
//! and summary) and the blocks it becomes. The file block's metadata
//! carries the record's `ingest` state, so the record can be rebuilt from
//! the stored graph alone and is written in the same batch as its blocks.

use std::sync::Arc;

use kausal_storage::{BlockId, BlockView, ContextBlock};
use serde::{Deserialize, Serialize};

use crate::hash::StableHasher;
use crate::language::Language;
use crate::naming::FileNames;
use crate::summary::{ItemKind, Summary};

/// Version of the `ingest` object in file metadata; a different version
/// makes the file re-parsed.
pub const INGEST_STATE_VERSION: u32 = 3;

/// One source file as ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Repo-relative, `/`-separated.
    pub path: String,
    pub language: Language,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 if unknown).
    pub mtime_ns: u64,
    pub content_hash: u128,
    pub content: Arc<str>,
    pub summary: Summary,
}

/// The `ingest` object of a file block's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestState {
    pub version: u32,
    pub size: u64,
    pub mtime_ns: u64,
    /// 32 hex digits.
    pub content_hash: String,
    pub summary: Summary,
}

#[derive(Serialize)]
struct Metadata<'a> {
    kind: &'static str,
    name: &'a str,
    qualified_name: &'a str,
    language: &'static str,
    path: &'a str,
    start_line: u32,
    end_line: u32,
    signature: &'a str,
    doc: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    syntax_errors: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ingest: Option<IngestStateRef<'a>>,
}

#[derive(Serialize)]
struct IngestStateRef<'a> {
    version: u32,
    size: u64,
    mtime_ns: u64,
    content_hash: String,
    summary: &'a Summary,
}

#[derive(Deserialize)]
struct FileMetadata {
    kind: String,
    language: String,
    path: String,
    ingest: IngestState,
}

/// Fingerprint of a stored block, to skip rewriting identical blocks.
pub fn fingerprint(source_uri: &str, metadata_json: &str, content: &str) -> u128 {
    StableHasher::new()
        .field(source_uri.as_bytes())
        .field(metadata_json.as_bytes())
        .field(content.as_bytes())
        .finish()
}

/// The blocks of a file: the file block first, then its items in order.
pub fn file_blocks(record: &FileRecord, names: &FileNames) -> Result<Vec<ContextBlock>, String> {
    let summary = &record.summary;
    let file_name = record.path.rsplit('/').next().unwrap_or(&record.path);
    let file_meta = Metadata {
        kind: ItemKind::File.name(),
        name: file_name,
        qualified_name: &names.module,
        language: record.language.name(),
        path: &record.path,
        start_line: 1,
        end_line: summary.lines.max(1),
        signature: "",
        doc: &summary.doc,
        syntax_errors: Some(summary.syntax_errors),
        ingest: Some(IngestStateRef {
            version: INGEST_STATE_VERSION,
            size: record.size,
            mtime_ns: record.mtime_ns,
            content_hash: format!("{:032x}", record.content_hash),
            summary,
        }),
    };
    let json = |meta: &Metadata| serde_json::to_string(meta).map_err(|e| e.to_string());
    let mut blocks = Vec::with_capacity(summary.items.len() + 1);
    blocks.push(ContextBlock::new(
        names.file_id,
        record.path.clone(),
        json(&file_meta)?,
        record.content.to_string(),
    ));
    for (index, item) in summary.items.iter().enumerate() {
        let meta = Metadata {
            kind: item.kind.name(),
            name: &item.name,
            qualified_name: &names.qualified[index],
            language: record.language.name(),
            path: &record.path,
            start_line: item.start_line,
            end_line: item.end_line,
            signature: &item.signature,
            doc: &item.doc,
            syntax_errors: None,
            ingest: None,
        };
        let content = record
            .content
            .get(item.start_byte as usize..item.end_byte as usize)
            .unwrap_or("");
        blocks.push(ContextBlock::new(
            names.item_ids[index],
            record.path.clone(),
            json(&meta)?,
            content,
        ));
    }
    Ok(blocks)
}

/// True when a stored block is a file block written by ingest (metadata is
/// serialised with `kind` first, so this needs no JSON parse).
pub fn is_file_block(view: &BlockView) -> bool {
    view.metadata_json.starts_with(r#"{"kind":"file""#)
}

/// Rebuilds a record from a stored file block. `Ok(None)` when the block's
/// ingest state has another version (the file is then re-parsed).
pub fn record_from_block(view: &BlockView) -> Result<Option<FileRecord>, String> {
    let meta: FileMetadata =
        serde_json::from_str(view.metadata_json).map_err(|error| error.to_string())?;
    if meta.kind != "file" || meta.ingest.version != INGEST_STATE_VERSION {
        return Ok(None);
    }
    let language = Language::from_name(&meta.language)
        .ok_or_else(|| format!("unknown language {:?}", meta.language))?;
    let content_hash = u128::from_str_radix(&meta.ingest.content_hash, 16)
        .map_err(|_| format!("bad content_hash {:?}", meta.ingest.content_hash))?;
    Ok(Some(FileRecord {
        path: meta.path,
        language,
        size: meta.ingest.size,
        mtime_ns: meta.ingest.mtime_ns,
        content_hash,
        content: Arc::from(view.content),
        summary: meta.ingest.summary,
    }))
}

/// Id of the file block of `path` (to check a stored record's identity).
pub fn file_block_id(language: Language, path: &str) -> BlockId {
    crate::naming::block_id(language, path, "", ItemKind::File, 0)
}
