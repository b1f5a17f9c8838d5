//! `Reader`: the one snapshot a command answers from, so every part of an
//! answer (name resolution, traversal, sizes) sees the same state. It holds
//! no database handle and takes no engine lock beyond the snapshot's
//! pointer swap: a query never waits for a writer, and a server may reopen
//! its database while answers built from earlier readers are still being
//! written out.

use std::path::{Path, PathBuf};

use kausal_storage::{Database, Snapshot};

/// A snapshot of a database and the directory it came from.
#[derive(Debug, Clone)]
pub struct Reader {
    snapshot: Snapshot,
    dir: PathBuf,
}

impl Reader {
    /// Takes a snapshot of `database` now.
    pub fn new(database: &Database) -> Self {
        Self {
            snapshot: database.snapshot(),
            dir: database.dir().to_path_buf(),
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
}
