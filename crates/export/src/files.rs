//! The rows of `files.parquet`: an ingested file's row comes from its
//! ingest state block (path, language, size, content hash: kausal-ingest
//! writes one per file, its metadata a JSON object with those fields)
//! and its file block (lines, syntax errors); a skipped file's row from
//! the walk record of the last ingest, which names the first
//! `MAX_RECORDED_SKIPPED_FILES` skipped files.

use serde::Deserialize;

use kausal_ingest::naming::block_id;
use kausal_ingest::summary::ItemKind;
use kausal_ingest::walk_record::walk_record_id;
use kausal_ingest::{BlockMeta, Language, WalkRecord};
use kausal_storage::{BlockView, Snapshot, StorageError};

use crate::rows::Value;

/// `files.status` of an ingested file.
pub(crate) const INGESTED: &str = "ingested";
/// `files.status` of a file the last ingest left out.
pub(crate) const SKIPPED: &str = "skipped";

/// The fields of a state block's metadata the export reads (the rest,
/// such as the modification time, is ingest's business).
#[derive(Debug, Deserialize)]
struct StateFields<'a> {
    #[serde(borrow)]
    path: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    language: std::borrow::Cow<'a, str>,
    size: u64,
    #[serde(borrow)]
    content_hash: std::borrow::Cow<'a, str>,
}

/// An ingested file, read from its state block and file block.
#[derive(Debug)]
pub(crate) struct IngestedFile {
    path: String,
    language: String,
    file_id: String,
    lines: Option<u32>,
    bytes: u64,
    content_hash: String,
    syntax_errors: Option<u32>,
}

impl IngestedFile {
    /// The file `state` (an ingest state block) describes; `None` when its
    /// metadata is not of the shape ingest writes.
    pub(crate) fn read(
        snapshot: &Snapshot,
        state: &BlockView<'_>,
    ) -> Result<Option<Self>, StorageError> {
        let Ok(fields) = serde_json::from_str::<StateFields>(state.metadata_json) else {
            return Ok(None);
        };
        let Some(language) = Language::from_name(&fields.language) else {
            return Ok(None);
        };
        let file_id = block_id(language, &fields.path, "", ItemKind::File, 0);
        let file_meta = snapshot.find_block(file_id)?;
        let meta = file_meta
            .as_ref()
            .and_then(|view| BlockMeta::parse(view.metadata_json));
        Ok(Some(Self {
            path: fields.path.into_owned(),
            language: fields.language.into_owned(),
            file_id: file_id.to_string(),
            lines: meta.as_ref().map(|meta| meta.end_line),
            bytes: fields.size,
            content_hash: fields.content_hash.into_owned(),
            syntax_errors: meta.and_then(|meta| meta.syntax_errors),
        }))
    }

    /// The row's values after `repo`.
    pub(crate) fn values<'a>(&'a self, repo: &'a str) -> [Value<'a>; 11] {
        [
            Value::Str(repo),
            Value::Str(&self.path),
            Value::Str(INGESTED),
            Value::Str(&self.language),
            Value::Str(&self.file_id),
            self.lines.map_or(Value::Null, Value::U32),
            Value::U64(self.bytes),
            Value::Str(&self.content_hash),
            self.syntax_errors.map_or(Value::Null, Value::U32),
            Value::Null,
            Value::Null,
        ]
    }
}

/// The last walk's record, if the database has one.
pub(crate) fn walk_record(snapshot: &Snapshot) -> Result<Option<WalkRecord>, StorageError> {
    Ok(snapshot
        .find_block(walk_record_id())?
        .and_then(|view| WalkRecord::from_block(&view)))
}

/// The row of a skipped file.
pub(crate) fn skipped_values<'a>(
    repo: &'a str,
    file: &'a kausal_ingest::SkippedFile,
) -> [Value<'a>; 11] {
    [
        Value::Str(repo),
        Value::Str(&file.path),
        Value::Str(SKIPPED),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Str(file.cause.name()),
        Value::Str(&file.reason),
    ]
}
