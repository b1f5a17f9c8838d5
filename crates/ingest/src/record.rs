//! `FileRecord`: one ingested file (its identity on disk, content, hash
//! and summary) and the blocks it becomes: the file block, one block per
//! item (display metadata: [`BlockMeta`]), and the file's *state block*,
//! which carries what a re-ingest needs and a reader never shows (size,
//! mtime, content hash in its metadata; the summary as JSON, compressed
//! with zstd and base64-encoded, in its content: the summaries were the
//! largest kind of block on the Linux kernel, 841 MB of JSON). All are written in one batch, so the record can be rebuilt
//! from the stored graph alone, and no name scan parses a summary.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use kausal_storage::{BlockId, BlockView, ContextBlock};
use serde::{Deserialize, Serialize};
use twox_hash::XxHash3_128;

use crate::hash::StableHasher;
use crate::language::Language;
use crate::limits::MAX_SUMMARY_JSON_BYTES;
use crate::meta::{BlockMeta, FILE_KIND, STATE_KIND, has_kind};
use crate::naming::{FileNames, name_file};
use crate::summary::{ItemKind, Summary};

/// Version of a file's state block; a different version makes the file
/// re-parsed. 5: the state left the file block's metadata for its own block.
/// 20: the summary is compressed.
pub const INGEST_STATE_VERSION: u32 = 20;

/// zstd level of a stored summary: level 1 compresses the kernel's
/// summaries 6.4x, level 3 no better (6.2x per file), and it runs on every
/// file an ingest writes.
const SUMMARY_ZSTD_LEVEL: i32 = 1;

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

/// The metadata of a file's state block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StateMeta<'a> {
    /// Always [`STATE_KIND`] (first, so it is readable unparsed).
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    version: u32,
    #[serde(borrow)]
    path: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    language: std::borrow::Cow<'a, str>,
    size: u64,
    mtime_ns: u64,
    /// 32 hex digits.
    content_hash: String,
}

/// Fingerprint of a stored block, to skip rewriting identical blocks.
///
/// Only ever compared with another fingerprint computed by the same
/// build (the ingester recomputes them from the stored blocks when it
/// loads its picture; none is written to disk), so unlike block ids it
/// need not be stable across versions, and it is computed over every
/// stored block's text on each load: XXH3-128, which takes 16-byte
/// strides (the byte-at-a-time FNV-1a of [`StableHasher`] was 13 % of a
/// 10-file re-ingest of the kernel's `fs/`). Each field is hashed on its
/// own and the three hashes hashed together, so field boundaries count
/// as the length prefixes do elsewhere.
pub fn fingerprint(source_uri: &str, metadata_json: &str, content: &str) -> u128 {
    let mut fields = [0u8; 48];
    for (slot, field) in fields
        .chunks_exact_mut(16)
        .zip([source_uri, metadata_json, content])
    {
        slot.copy_from_slice(&XxHash3_128::oneshot(field.as_bytes()).to_le_bytes());
    }
    XxHash3_128::oneshot(&fields)
}

/// The blocks of a file: the file block first, then its items in order,
/// then its state block.
pub fn file_blocks(record: &FileRecord, names: &FileNames) -> Result<Vec<ContextBlock>, String> {
    let summary = &record.summary;
    let file_name = record.path.rsplit('/').next().unwrap_or(&record.path);
    let json = |meta: &BlockMeta| meta.to_json().map_err(|e| e.to_string());
    let file_meta = BlockMeta {
        kind: FILE_KIND.into(),
        name: file_name.into(),
        qualified_name: names.module.as_str().into(),
        language: record.language.name().into(),
        path: record.path.as_str().into(),
        start_line: 1,
        end_line: summary.lines.max(1),
        signature: "".into(),
        doc: summary.doc.as_str().into(),
        syntax_errors: Some(summary.syntax_errors),
    };
    let mut blocks = Vec::with_capacity(summary.items.len() + 2);
    blocks.push(ContextBlock::new(
        names.file_id,
        record.path.clone(),
        json(&file_meta)?,
        record.content.to_string(),
    ));
    for (index, item) in summary.items.iter().enumerate() {
        let meta = BlockMeta {
            kind: item.kind.name().into(),
            name: item.name.as_str().into(),
            qualified_name: names.qualified[index].as_str().into(),
            language: record.language.name().into(),
            path: record.path.as_str().into(),
            start_line: item.start_line,
            end_line: item.end_line,
            signature: item.signature.as_str().into(),
            doc: item.doc.as_str().into(),
            syntax_errors: None,
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
    let state = StateMeta {
        kind: STATE_KIND.into(),
        version: INGEST_STATE_VERSION,
        path: record.path.as_str().into(),
        language: record.language.name().into(),
        size: record.size,
        mtime_ns: record.mtime_ns,
        content_hash: format!("{:032x}", record.content_hash),
    };
    blocks.push(ContextBlock::new(
        state_block_id(names.file_id),
        record.path.clone(),
        serde_json::to_string(&state).map_err(|e| e.to_string())?,
        encode_summary(summary)?,
    ));
    Ok(blocks)
}

thread_local! {
    /// One compression context per parse thread (see `DECOMPRESSOR`).
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    /// One decompression context per thread: creating one (and a buffer
    /// of the limit's size) per state block was a measurable part of
    /// loading the Linux tree's 55,000 states back.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// The content of a state block holding `summary`: its JSON, compressed,
/// in base64. Fails when the JSON is over [`MAX_SUMMARY_JSON_BYTES`].
fn encode_summary(summary: &Summary) -> Result<String, String> {
    let json = serde_json::to_vec(summary).map_err(|error| error.to_string())?;
    if json.len() > MAX_SUMMARY_JSON_BYTES {
        return Err(format!(
            "cannot be stored: its summary is {} bytes of JSON, limit is {MAX_SUMMARY_JSON_BYTES}",
            json.len()
        ));
    }
    let compressed = COMPRESSOR
        .with(|cell| -> std::io::Result<Vec<u8>> {
            let mut slot = cell.borrow_mut();
            let compressor = match slot.as_mut() {
                Some(compressor) => compressor,
                None => slot.insert(zstd::bulk::Compressor::new(SUMMARY_ZSTD_LEVEL)?),
            };
            compressor.compress(&json)
        })
        .map_err(|error| format!("compressing the summary: {error}"))?;
    Ok(BASE64.encode(compressed))
}

/// The summary a state block's `content` holds ([`encode_summary`]).
fn decode_summary(content: &str) -> Result<Summary, String> {
    let compressed = BASE64
        .decode(content)
        .map_err(|error| format!("summary: not base64: {error}"))?;
    let refused = |error: &dyn std::fmt::Display| {
        format!("summary: not zstd within {MAX_SUMMARY_JSON_BYTES} bytes: {error}")
    };
    // The compressor records the frame's size; a frame without it gets the
    // limit, and decompression stops at it either way.
    let capacity = match zstd::zstd_safe::get_frame_content_size(&compressed) {
        Ok(Some(size)) if size <= MAX_SUMMARY_JSON_BYTES as u64 => size as usize,
        Ok(Some(size)) => return Err(refused(&format!("the frame holds {size} bytes"))),
        _ => MAX_SUMMARY_JSON_BYTES,
    };
    let json = DECOMPRESSOR
        .with(|cell| -> std::io::Result<Vec<u8>> {
            let mut slot = cell.borrow_mut();
            let decompressor = match slot.as_mut() {
                Some(decompressor) => decompressor,
                None => slot.insert(zstd::bulk::Decompressor::new()?),
            };
            let mut buffer = Vec::with_capacity(capacity);
            decompressor.decompress_to_buffer(&compressed, &mut buffer)?;
            Ok(buffer)
        })
        .map_err(|error| refused(&error))?;
    serde_json::from_slice(&json).map_err(|error| format!("summary: {error}"))
}

/// True when a stored block is a file block written by ingest (metadata is
/// serialised with `kind` first, so this needs no JSON parse).
pub fn is_file_block(view: &BlockView) -> bool {
    has_kind(view.metadata_json, FILE_KIND)
}

/// True when a stored block is a file's state block.
pub fn is_state_block(view: &BlockView) -> bool {
    has_kind(view.metadata_json, STATE_KIND)
}

/// Rebuilds a record from a stored state block and the content of its
/// file block. `Ok(None)` when the state has another version or does not
/// belong to the path and language it names (the file is then re-parsed).
pub fn record_from_block(
    view: &BlockView,
    content: Arc<str>,
) -> Result<Option<FileRecord>, String> {
    let meta: StateMeta =
        serde_json::from_str(view.metadata_json).map_err(|error| error.to_string())?;
    if meta.kind != STATE_KIND || meta.version != INGEST_STATE_VERSION {
        return Ok(None);
    }
    let language = Language::from_name(&meta.language)
        .ok_or_else(|| format!("unknown language {:?}", meta.language))?;
    if state_block_id(file_block_id(language, &meta.path)) != view.id {
        return Ok(None);
    }
    let content_hash = u128::from_str_radix(&meta.content_hash, 16)
        .map_err(|_| format!("bad content_hash {:?}", meta.content_hash))?;
    let summary = decode_summary(view.content)?;
    Ok(Some(FileRecord {
        path: meta.path.into_owned(),
        language,
        size: meta.size,
        mtime_ns: meta.mtime_ns,
        content_hash,
        content,
        summary,
    }))
}

/// Id of the state block of the file whose block is `file_id`.
pub fn state_block_id(file_id: BlockId) -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest file state v1")
        .field(file_id.as_bytes())
        .finish();
    BlockId::from_u128(hash.max(1))
}

/// Id of the file block of `path` (to check a stored record's identity).
pub fn file_block_id(language: Language, path: &str) -> BlockId {
    crate::naming::block_id(language, path, "", ItemKind::File, 0)
}

/// `Ok` when every block of `record` is within the storage engine's limits;
/// else why not, naming the block.
pub fn storable(record: &FileRecord) -> Result<(), String> {
    let names = name_file(record.language, &record.path, &record.summary);
    let blocks = file_blocks(record, &names)?;
    for block in &blocks {
        kausal_storage::validate_block_fields(
            block.id,
            &block.source_uri,
            &block.metadata_json,
            &block.content,
        )
        .map_err(|error| format!("cannot be stored: {error}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_SIGNATURE_BYTES;

    /// A record whose summary is `items` copies of one `#define`, each with
    /// a signature of the longest kept length.
    fn record_with_items(items: usize) -> FileRecord {
        let text = "#define REG_0 0x0\n";
        let mut parser = tree_sitter::Parser::new();
        let mut summary = crate::extract(Language::C, text, &mut parser).expect("extract");
        let template = summary.items[0].clone();
        summary.items = (0..items)
            .map(|index| {
                let mut item = template.clone();
                item.name = format!("REG_{index}");
                item.signature = "s".repeat(MAX_SIGNATURE_BYTES);
                item
            })
            .collect();
        FileRecord {
            path: "gen/regs.h".into(),
            language: Language::C,
            size: text.len() as u64,
            mtime_ns: 0,
            content_hash: crate::hash::hash_bytes(text.as_bytes()),
            content: Arc::from(text),
            summary,
        }
    }

    #[test]
    fn a_file_whose_state_would_break_a_storage_limit_is_not_storable() {
        assert_eq!(storable(&record_with_items(10)), Ok(()));
        // ~40,000 signatures of 512 bytes: a summary over the 16 MiB of
        // JSON a state may hold (compressed, it would fit a block).
        let reason = storable(&record_with_items(40_000)).expect_err("over the limit");
        assert!(
            reason.starts_with("cannot be stored: ") && reason.contains("bytes of JSON, limit is"),
            "{reason}"
        );
    }

    #[test]
    fn a_summary_round_trips_through_its_state_block_compressed() {
        let record = record_with_items(2_000);
        let names = name_file(record.language, &record.path, &record.summary);
        let blocks = file_blocks(&record, &names).expect("blocks");
        let state = blocks.last().expect("a state block");
        let json = serde_json::to_string(&record.summary).expect("json");
        assert!(
            state.content.len() * 4 < json.len(),
            "{} bytes stored for {} of JSON",
            state.content.len(),
            json.len()
        );
        let view = BlockView {
            id: state.id,
            sequence: 1,
            source_uri: &state.source_uri,
            metadata_json: &state.metadata_json,
            content: &state.content,
        };
        let read = record_from_block(&view, record.content.clone())
            .expect("readable")
            .expect("this version");
        assert_eq!(read, record);
    }

    #[test]
    fn a_damaged_or_inflated_summary_is_an_error_not_a_panic() {
        assert!(decode_summary("not base64 !").is_err());
        assert!(decode_summary(&BASE64.encode(b"not zstd")).is_err());
        // Valid zstd that inflates past the limit (a bomb) is refused.
        let zeros = vec![b' '; MAX_SUMMARY_JSON_BYTES + 1];
        let bomb = zstd::bulk::compress(&zeros, 1).expect("compress");
        let error = decode_summary(&BASE64.encode(bomb)).expect_err("too large");
        assert!(error.contains("not zstd within"), "{error}");
        // Also when the frame does not say its size (a streaming encoder).
        let unsized_bomb = zstd::stream::encode_all(&zeros[..], 1).expect("compress");
        assert!(matches!(
            zstd::zstd_safe::get_frame_content_size(&unsized_bomb),
            Ok(None)
        ));
        let error = decode_summary(&BASE64.encode(unsized_bomb)).expect_err("too large");
        assert!(error.contains("not zstd within"), "{error}");
    }
}
