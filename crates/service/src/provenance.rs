//! `resolved_by`: how the ingester resolved a call edge, read from the
//! call provenance block of the calling block's file (kausal-ingest's
//! `provenance`: one internal block per file). Each block is read and
//! parsed once per answer; a call edge without a record (a database
//! written before provenance was recorded) is `unrecorded`, a
//! `calls_candidate` edge is `candidate`.

use std::collections::HashMap;

use kausal_ingest::BlockMeta;
use kausal_ingest::provenance::{
    CANDIDATE, CallRule, UNRECORDED, provenance_block_id_of, read_provenance,
};
use kausal_storage::{BlockId, EdgeType, GraphEdge, StorageError};

use crate::reader::Reader;

/// The provenance blocks one answer has read.
pub(crate) struct Provenance<'r> {
    reader: &'r Reader,
    /// The provenance block id of each source block looked up (`None`:
    /// the block is missing or of no known language).
    sources: HashMap<BlockId, Option<BlockId>>,
    /// Records of each provenance block read, by its id (empty when the
    /// file has none).
    files: HashMap<BlockId, HashMap<GraphEdge, CallRule>>,
}

impl<'r> Provenance<'r> {
    pub(crate) fn new(reader: &'r Reader) -> Self {
        Self {
            reader,
            sources: HashMap::new(),
            files: HashMap::new(),
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
        let Some(file) = self.provenance_of(edge.source)? else {
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

    /// The provenance block of the file `source` lives in.
    fn provenance_of(&mut self, source: BlockId) -> Result<Option<BlockId>, StorageError> {
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
            provenance_block_id_of(&meta.language, path)
        });
        self.sources.insert(source, found);
        Ok(found)
    }
}
