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
    CANDIDATE, CallRule, UNRECORDED, provenance_block_id, read_provenance,
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

/// The provenance blocks one answer has read.
pub(crate) struct Provenance<'r> {
    reader: &'r Reader,
    /// The file of each source block looked up (`None`: the block is
    /// missing or of no known language).
    sources: HashMap<BlockId, Option<SourceFile>>,
    /// Records of each provenance block read, by its id (empty when the
    /// file has none).
    files: HashMap<BlockId, HashMap<GraphEdge, CallRule>>,
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
                Some(view) => read_provenance(&view)
                    .map(|stored| {
                        stored
                            .records
                            .into_iter()
                            .map(|record| (record.edge, record.rule))
                            .collect()
                    })
                    .unwrap_or_default(),
                None => HashMap::new(),
            };
            self.files.insert(file, records);
        }
        let rule = self.files.get(&file).and_then(|records| records.get(edge));
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
