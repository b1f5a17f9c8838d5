//! `Reader`: the one snapshot a command answers from, with the figures of
//! the database taken at the same moment, so every part of an answer (name
//! resolution, traversal, metrics) sees the same state. It holds no
//! database handle: a server may reopen its database while answers built
//! from earlier readers are still being written out.

use std::path::{Path, PathBuf};

use kausal_storage::{Database, Metrics, Snapshot};

/// A snapshot of a database and its figures.
#[derive(Debug, Clone)]
pub struct Reader {
    snapshot: Snapshot,
    dir: PathBuf,
    metrics: Metrics,
}

impl Reader {
    /// Takes a snapshot of `database` now.
    pub fn new(database: &Database) -> Self {
        Self {
            snapshot: database.snapshot(),
            dir: database.dir().to_path_buf(),
            metrics: database.metrics(),
        }
    }

    /// The snapshot every read of this command goes through.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The database directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database's counters and sizes when the snapshot was taken.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
