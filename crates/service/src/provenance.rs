//! `resolved_by`: how the ingester resolved a call edge, read from the
//! call provenance block of the calling block's file (kausal-ingest's
//! `provenance`: one internal block per file). Each block is read and
//! parsed once per answer; a call edge without a record (a database
//! written before provenance was recorded) is `unrecorded`, a
//! `calls_candidate` edge is `candidate`.
//!
//! `precise_file`: whether the calling block's file has a precise-calls
//! block (kausal-ingest's `precise::stored`: a SCIP index covered it), so
//! its call edges other than `precise` ones are heuristic although an
//! index exists (the file was edited since). One existence check per file
//! per answer.

use std::collections::HashMap;

use kausal_ingest::naming::block_id;
use kausal_ingest::precise::stored::precise_block_id;
use kausal_ingest::provenance::{
    CANDIDATE, CallRule, UNRECORDED, parse_record, provenance_block_id, rule_in, stored_record_text,
};
use kausal_ingest::summary::ItemKind;
use kausal_ingest::{BlockMeta, Language};
use kausal_storage::{BlockId, EdgeType, GraphEdge, StorageError};

use crate::reader::Reader;

/// The internal blocks of the file a source block lives in.
#[derive(Debug, Clone, Copy)]
struct SourceFile {
    /// Its call provenance block.
    provenance: BlockId,
    /// Its precise-calls block (present only when an index covered it).
    precise: BlockId,
}

/// Lookups of one file's records answered by scanning its text before
/// they are parsed into a map: `kausal callers` of a function called
/// from thousands of files needs one record of most of them, and parsing
/// each file's every record was most of the answer (0.13-0.19 s for
/// `kmalloc` on the Linux tree).
const SCANS_BEFORE_PARSE: u32 = 8;

/// One provenance block's records, as text until looked up often.
enum FileRecords {
    /// No block, or not a readable one.
    None,
    /// The record lines, and how many lookups scanned them.
    Text(String, u32),
    Parsed(HashMap<GraphEdge, CallRule>),
}

/// The provenance blocks one answer has read.
pub(crate) struct Provenance<'r> {
    reader: &'r Reader,
    /// The file of each source block looked up (`None`: the block is
    /// missing or of no known language).
    sources: HashMap<BlockId, Option<SourceFile>>,
    /// Records of each provenance block read, by its id.
    files: HashMap<BlockId, FileRecords>,
    /// Whether each precise-calls block looked up exists.
    precise: HashMap<BlockId, bool>,
}

impl<'r> Provenance<'r> {
    pub(crate) fn new(reader: &'r Reader) -> Self {
        Self {
            reader,
            sources: HashMap::new(),
            files: HashMap::new(),
            precise: HashMap::new(),
        }
    }

    /// `resolved_by` of `edge`: its rule for a `calls` / `calls_method`
    /// edge (`unrecorded` without a record), `candidate` for a
    /// `calls_candidate` edge, `None` for any other edge.
    pub(crate) fn resolved_by(
        &mut self,
        edge: &GraphEdge,
    ) -> Result<Option<&'static str>, StorageError> {
        match edge.edge_type {
            EdgeType::CallsCandidate => return Ok(Some(CANDIDATE)),
            EdgeType::Calls | EdgeType::CallsMethod => {}
            _ => return Ok(None),
        }
        let Some(SourceFile {
            provenance: file, ..
        }) = self.file_of(edge.source)?
        else {
            return Ok(Some(UNRECORDED));
        };
        if !self.files.contains_key(&file) {
            let records = match self.reader.snapshot().find_block(file)? {
                Some(view) => stored_record_text(&view).map_or(FileRecords::None, |text| {
                    FileRecords::Text(text.to_string(), 0)
                }),
                None => FileRecords::None,
            };
            self.files.insert(file, records);
        }
        let Some(records) = self.files.get_mut(&file) else {
            return Ok(Some(UNRECORDED));
        };
        if let FileRecords::Text(text, scans) = records {
            if *scans < SCANS_BEFORE_PARSE {
                *scans += 1;
                let rule = rule_in(text, edge);
                return Ok(Some(rule.map_or(UNRECORDED, |rule| rule.name())));
            }
            let parsed = text
                .lines()
                .filter_map(parse_record)
                .map(|record| (record.edge, record.rule))
                .collect();
            *records = FileRecords::Parsed(parsed);
        }
        let rule = match records {
            FileRecords::Parsed(records) => records.get(edge).copied(),
            FileRecords::Text(..) | FileRecords::None => None,
        };
        Ok(Some(rule.map_or(UNRECORDED, |rule| rule.name())))
    }

    /// Whether the file `source` lives in has precise calls from a SCIP
    /// index (fresh or stale): its edges not resolved by `precise` are
    /// then heuristic where an index exists.
    pub(crate) fn precise_file(&mut self, source: BlockId) -> Result<bool, StorageError> {
        let Some(file) = self.file_of(source)? else {
            return Ok(false);
        };
        if let Some(&known) = self.precise.get(&file.precise) {
            return Ok(known);
        }
        let exists = self.reader.snapshot().block_exists(file.precise)?;
        self.precise.insert(file.precise, exists);
        Ok(exists)
    }

    /// The internal blocks of the file `source` lives in.
    fn file_of(&mut self, source: BlockId) -> Result<Option<SourceFile>, StorageError> {
        if let Some(found) = self.sources.get(&source) {
            return Ok(*found);
        }
        let found = self.reader.snapshot().find_block(source)?.and_then(|view| {
            let meta = BlockMeta::parse(view.metadata_json)?;
            let path = if meta.path.is_empty() {
                view.source_uri
            } else {
                meta.path.as_ref()
            };
            let file = file_block_id(Language::from_name(&meta.language)?, path);
            Some(SourceFile {
                provenance: provenance_block_id(file),
                precise: precise_block_id(file),
            })
        });
        self.sources.insert(source, found);
        Ok(found)
    }
}

/// Id of the file block of `path`, as kausal-ingest names it (a file is
/// the item of kind `file` with an empty qualified name).
pub(crate) fn file_block_id(language: Language, path: &str) -> BlockId {
    block_id(language, path, "", ItemKind::File, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_block_id_is_the_one_ingest_derives_its_blocks_from() {
        use kausal_ingest::provenance::provenance_block_id_of;
        for (language, path) in [(Language::Rust, "src/a.rs"), (Language::Python, "x/y.py")] {
            assert_eq!(
                Some(provenance_block_id(file_block_id(language, path))),
                provenance_block_id_of(language.name(), path)
            );
        }
    }
}
