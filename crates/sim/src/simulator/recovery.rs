//! Crash, restart and recovery: opening the engine (retrying through
//! faults), a simulated power loss or killed process, the read-only open
//! of a crashed disk, and the check of the recovered state.

use std::sync::Arc;

use kausal_storage::{Database, StorageError};

use crate::model::ModelState;

use super::{Runner, Stop};

/// Every crash at an action number divisible by this also opens the
/// crashed disk read-only first: it must write nothing and show what the
/// writable open then shows.
const READ_ONLY_CHECK_EVERY: usize = 3;

impl Runner {
    pub(super) fn open_engine(&mut self) -> Result<(), Stop> {
        for attempt in 0..12 {
            if attempt >= 8 {
                // Keep injecting until late: recovery must cope with faults,
                // but a run should not stall on an unlucky streak.
                self.vfs.set_faults_enabled(false);
            }
            let result =
                Database::open_with(Arc::new(self.vfs.clone()), &self.dir, self.config.clone());
            self.vfs.set_faults_enabled(true);
            match result {
                Ok(engine) => {
                    let sequence = engine.snapshot().sequence();
                    self.last_sequence = sequence;
                    self.last_snapshot_sequence = sequence;
                    self.engine = Some(engine);
                    return Ok(());
                }
                Err(StorageError::Io(_)) => continue,
                Err(error @ StorageError::Corruption { .. }) => {
                    return Err(self.read_error(&error, "open"));
                }
                Err(error) => {
                    return Err(self.fail(format!("open failed: {error}{}", self.crash_context())));
                }
            }
        }
        Err(self.fail("open kept failing with faults disabled"))
    }

    /// Drops the engine (after a simulated power loss when `crash`), reopens
    /// it, and checks the recovered state against the model.
    pub fn restart(&mut self, crash: bool) -> Result<(), Stop> {
        if crash {
            self.vfs.crash();
        }
        self.reopen_after(crash)
    }

    /// Drops the engine and its snapshots (after a power loss that already
    /// happened when `crash`), reopens it, and checks the recovered state.
    pub(super) fn reopen_after(&mut self, crash: bool) -> Result<(), Stop> {
        self.retire_engine();
        // A new process: whatever the old one still holds (a clone of the
        // engine, a handle, a lock) can no longer reach the disk.
        self.vfs = self.vfs.restart();
        let read_only = if crash && self.op.is_multiple_of(READ_ONLY_CHECK_EVERY) {
            self.read_only_view()?
        } else {
            None
        };
        self.open_engine()?;
        self.recoveries += 1;
        if self.trace {
            let report = self
                .engine
                .as_ref()
                .map(|engine| engine.recovery_report().clone());
            if crash {
                eprintln!("    {}", self.vfs.last_crash().summary());
            }
            eprintln!("    restart (crash: {crash}): {report:?}");
        }
        let observed = self.observe()?;
        if let Some(seen) = read_only
            && seen != observed
        {
            return Err(self.fail(format!(
                "a read-only open showed {} blocks / {} edges, the writable open after it {} / {}{}",
                seen.blocks.len(),
                seen.edges.len(),
                observed.blocks.len(),
                observed.edges.len(),
                self.crash_context()
            )));
        }
        self.model.recover(&observed).map_err(|message| {
            self.fail(format!(
                "after {}: {message}{}",
                if crash { "crash" } else { "reopen" },
                if crash {
                    self.crash_context()
                } else {
                    String::new()
                }
            ))
        })?;
        Ok(())
    }

    /// Drops the snapshots and the engine, keeping its stall count.
    fn retire_engine(&mut self) {
        self.snapshots.iter_mut().for_each(|slot| *slot = None);
        if let Some(engine) = self.engine.take() {
            self.stats.write_stalls += engine.metrics().write_stalls;
        }
    }

    /// Opens the crashed disk read-only (faults off, so the run's fault
    /// stream is untouched) and returns what it shows; checks that it wrote
    /// nothing. `None` when there is no database to open yet.
    fn read_only_view(&mut self) -> Result<Option<ModelState>, Stop> {
        self.vfs.set_faults_enabled(false);
        let result = self.read_only_view_inner();
        self.vfs.set_faults_enabled(true);
        result
    }

    fn read_only_view_inner(&mut self) -> Result<Option<ModelState>, Stop> {
        let writes_before = self.vfs.mutating_ops();
        let opened = Database::open_read_only_with(
            Arc::new(self.vfs.clone()),
            &self.dir,
            self.config.clone(),
        );
        let engine = match opened {
            Ok(engine) => engine,
            // The crash took the database's first files (nothing durable
            // yet): the writable open and the model check judge that.
            Err(StorageError::NotADatabase { .. }) => return Ok(None),
            Err(error @ StorageError::Corruption { .. }) => {
                return Err(self.read_error(&error, "read-only open"));
            }
            Err(error) => {
                return Err(self.fail(format!(
                    "read-only open failed: {error}{}",
                    self.crash_context()
                )));
            }
        };
        let seen = self.observe_engine(&engine)?;
        drop(engine);
        let writes = self.vfs.mutating_ops() - writes_before;
        if writes > 0 {
            return Err(self.fail(format!(
                "a read-only open and close made {writes} mutating file operations"
            )));
        }
        self.read_only_opens += 1;
        Ok(Some(seen))
    }
}
