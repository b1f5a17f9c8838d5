//! `BatchWriter`: ops gathered into storage batches, committed at the
//! end of each file and whenever the next op would pass the batch limits.

use kausal_storage::{Database, StorageError, WriteBatch};

use crate::error::IngestError;

/// Accumulates ops into a batch, committing when it would exceed the
/// storage limits and at the end of each file.
pub(super) struct BatchWriter<'e> {
    engine: &'e Database,
    batch: WriteBatch,
    /// The file the ops belong to, for errors.
    pub(super) path: String,
    /// Batches committed.
    pub(super) batches: u64,
}

impl<'e> BatchWriter<'e> {
    pub(super) fn new(engine: &'e Database) -> Self {
        Self {
            engine,
            batch: WriteBatch::new(),
            path: String::new(),
            batches: 0,
        }
    }

    pub(super) fn push(
        &mut self,
        op: impl Fn(&mut WriteBatch) -> Result<(), StorageError>,
    ) -> Result<(), IngestError> {
        match op(&mut self.batch) {
            Ok(()) => Ok(()),
            Err(StorageError::BatchTooLarge { .. }) if !self.batch.is_empty() => {
                self.commit()?;
                op(&mut self.batch).map_err(|source| self.error(source))
            }
            Err(source) => Err(self.error(source)),
        }
    }

    fn error(&self, source: StorageError) -> IngestError {
        IngestError::Write {
            path: self.path.clone(),
            source,
        }
    }

    pub(super) fn commit(&mut self) -> Result<(), IngestError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.engine
            .write_batch(&self.batch)
            .map_err(|source| IngestError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.batches += 1;
        self.batch.clear();
        Ok(())
    }
}
