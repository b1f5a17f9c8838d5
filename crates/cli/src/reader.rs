//! `Reader`: an open database and the one snapshot a command answers from,
//! so every part of an answer (name resolution, traversal, metrics) sees
//! the same state.

use std::path::Path;

use kausal_storage::{Database, Metrics, Snapshot};

/// A database handle with the snapshot a command reads.
#[derive(Debug, Clone)]
pub struct Reader {
    database: Database,
    snapshot: Snapshot,
}

impl Reader {
    /// Takes a snapshot of `database` now.
    pub fn new(database: Database) -> Self {
        let snapshot = database.snapshot();
        Self { database, snapshot }
    }

    /// The snapshot every read of this command goes through.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The database directory.
    pub fn dir(&self) -> &Path {
        self.database.dir()
    }

    /// The database's counters and sizes.
    pub fn metrics(&self) -> Metrics {
        self.database.metrics()
    }

    /// The database handle.
    pub fn database(&self) -> &Database {
        &self.database
    }
}
