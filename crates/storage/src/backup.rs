//! Online backup: a consistent copy of a database directory, taken while a
//! writer may be working in it (from another process), without its lock.
//!
//! Tables are immutable once a manifest names them, and the WAL only grows,
//! so a copy of the manifest, the tables it names, and then the WAL
//! segments is a crash image of the database, provided no flush or
//! compaction replaced the manifest meanwhile (checked by reading it again)
//! and the WAL copy ends in a clean or torn tail (checked by opening the
//! copy read-only and reading every block). Either check failing means the
//! writer moved under the copy: it is thrown away and taken again, at most
//! `MAX_BACKUP_ATTEMPTS` times. The copy recovers like a crash image: to a
//! prefix of the acknowledged history that includes everything synced
//! before the copy began.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_vfs::Vfs;

use crate::config::Config;
use crate::files::MANIFEST_FILE;
use crate::files::{FileKind, classify};
use crate::manifest::Manifest;
use crate::sstable::table_path;
use crate::{Database, StorageError, StorageResult};

/// Copies taken before giving up on a database that keeps changing.
pub const MAX_BACKUP_ATTEMPTS: usize = 20;
/// Bytes copied per read.
const COPY_CHUNK_BYTES: usize = 1024 * 1024;

/// What a backup copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupReport {
    /// Files copied (manifest, tables, WAL segments).
    pub files: Vec<PathBuf>,
    /// Bytes written to the copy.
    pub bytes: u64,
    /// Copies thrown away because the database changed under them.
    pub retries: usize,
    /// Blocks the copy holds (counted while verifying it).
    pub blocks: u64,
}

/// What [`copy_file`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copied {
    /// The whole file, this many bytes written.
    Bytes(u64),
    /// The source is gone (a compaction or a flush removed it).
    Vanished,
    /// The source shrank while it was read (a writer's clean close trims a
    /// WAL segment's preallocated tail): the database moved under the copy.
    Shrank,
}

/// Copies `from` to `to`. A WAL segment's preallocated zero tail is not
/// copied (recovery reads a shorter segment the same way).
fn copy_file(vfs: &dyn Vfs, from: &Path, to: &Path, trim_zeros: bool) -> StorageResult<Copied> {
    let source = match vfs.open_file(from) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Copied::Vanished),
        Err(error) => return Err(error.into()),
    };
    let len = source.len()?;
    let mut target = vfs.create_file(to)?;
    let mut buffer = vec![0u8; COPY_CHUNK_BYTES];
    let mut offset = 0u64;
    let mut end = 0u64;
    while offset < len {
        let chunk = ((len - offset) as usize).min(COPY_CHUNK_BYTES);
        match source.read_exact_at(offset, &mut buffer[..chunk]) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(Copied::Shrank);
            }
            Err(error) => return Err(error.into()),
        }
        let data = &buffer[..chunk];
        if trim_zeros {
            if let Some(last) = data.iter().rposition(|byte| *byte != 0) {
                target.write_at(offset, data)?;
                end = offset + last as u64 + 1;
            }
        } else {
            target.write_at(offset, data)?;
            end = offset + chunk as u64;
        }
        offset += chunk as u64;
    }
    target.set_len(end)?;
    target.sync_data()?;
    Ok(Copied::Bytes(end))
}

fn read_manifest_bytes(vfs: &dyn Vfs, dir: &Path) -> StorageResult<Option<Vec<u8>>> {
    let path = dir.join(MANIFEST_FILE);
    let file = match vfs.open_file(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let mut bytes = vec![0u8; file.len()? as usize];
    file.read_exact_at(0, &mut bytes)?;
    Ok(Some(bytes))
}

fn clear_dir(vfs: &dyn Vfs, dir: &Path) -> StorageResult<()> {
    for name in vfs.list_dir(dir)? {
        vfs.remove_file(&dir.join(name))?;
    }
    Ok(())
}

/// One attempt; `Ok(None)` when the database moved under the copy.
fn attempt(vfs: &dyn Vfs, from: &Path, to: &Path) -> StorageResult<Option<BackupReport>> {
    let mut report = BackupReport::default();
    let Some(manifest_bytes) = read_manifest_bytes(vfs, from)? else {
        return Err(StorageError::NotADatabase {
            dir: from.to_path_buf(),
            reason: "it has no MANIFEST".into(),
        });
    };
    let manifest = Manifest::decode(&from.join(MANIFEST_FILE), &manifest_bytes)?;
    for meta in &manifest.tables {
        let source = table_path(from, meta.id);
        let target = table_path(to, meta.id);
        match copy_file(vfs, &source, &target, false)? {
            Copied::Bytes(bytes) => report.bytes += bytes,
            Copied::Vanished | Copied::Shrank => return Ok(None),
        }
        report.files.push(target);
    }
    let mut segments: Vec<u64> = vfs
        .list_dir(from)?
        .iter()
        .filter_map(|name| match classify(name) {
            Some(FileKind::WalSegment { id }) => Some(id),
            _ => None,
        })
        .collect();
    segments.sort_unstable();
    for id in segments {
        let source = crate::wal::segment_path(from, id);
        let target = crate::wal::segment_path(to, id);
        match copy_file(vfs, &source, &target, true)? {
            Copied::Bytes(bytes) => report.bytes += bytes,
            // Removed after a flush: the manifest check below retries.
            Copied::Vanished => continue,
            Copied::Shrank => return Ok(None),
        }
        report.files.push(target);
    }
    if read_manifest_bytes(vfs, from)?.as_deref() != Some(&manifest_bytes[..]) {
        return Ok(None);
    }
    let manifest_copy = to.join(MANIFEST_FILE);
    let mut file = vfs.create_file(&manifest_copy)?;
    file.write_at(0, &manifest_bytes)?;
    file.sync_data()?;
    drop(file);
    report.bytes += manifest_bytes.len() as u64;
    report.files.push(manifest_copy);
    vfs.sync_dir(to)?;
    Ok(Some(report))
}

/// Verifies a copy by opening it read-only and reading every block;
/// returns the block count, or `None` when the copy is not consistent.
fn verify_copy(vfs: &Arc<dyn Vfs>, to: &Path) -> StorageResult<Option<u64>> {
    let engine = match Database::open_read_only_with(Arc::clone(vfs), to, Config::default()) {
        Ok(engine) => engine,
        Err(StorageError::Corruption { .. }) => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut blocks = 0;
    let snapshot = engine.snapshot();
    if !snapshot.verify_tables()?.is_empty() {
        return Ok(None);
    }
    for block in snapshot.iterate_blocks()? {
        match block {
            Ok(_) => blocks += 1,
            Err(StorageError::Corruption { .. }) => return Ok(None),
            Err(error) => return Err(error),
        }
    }
    Ok(Some(blocks))
}

/// Copies the database in `from` into the new or empty directory `to`, while
/// writers may keep working in `from` (see the module documentation).
pub fn backup(vfs: Arc<dyn Vfs>, from: &Path, to: &Path) -> StorageResult<BackupReport> {
    if vfs.exists(to)? && !vfs.list_dir(to)?.is_empty() {
        return Err(StorageError::InvalidConfig {
            reason: format!("backup target {} is not empty", to.display()),
        });
    }
    vfs.create_dir_all(to)?;
    if let Some(parent) = to.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        vfs.sync_dir(parent)?;
    }
    for retries in 0..MAX_BACKUP_ATTEMPTS {
        clear_dir(vfs.as_ref(), to)?;
        let Some(mut report) = attempt(vfs.as_ref(), from, to)? else {
            continue;
        };
        let Some(blocks) = verify_copy(&vfs, to)? else {
            continue;
        };
        report.retries = retries;
        report.blocks = blocks;
        return Ok(report);
    }
    Err(StorageError::corruption(
        from,
        0,
        format!(
            "the database changed under {MAX_BACKUP_ATTEMPTS} backup attempts in a row; try again when it is quieter"
        ),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kausal_vfs::OsVfs;
    use kausal_vfs::testing::{HookVfs, OpKind};

    /// A writer's clean close trims a WAL segment while the backup reads
    /// it: that is the database moving under the copy (retry), not an
    /// error (it failed "file ends after 24 of 1048576 bytes" before).
    #[test]
    fn a_source_that_shrinks_while_copied_is_a_retry_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("wal"), dir.path().join("copy"));
        let os = OsVfs::new();
        let mut file = os.create_file(&from).unwrap();
        file.write_at(0, &vec![7u8; 3 * COPY_CHUNK_BYTES]).unwrap();
        drop(file);
        let shrink = from.clone();
        let vfs = HookVfs::new(Arc::new(OsVfs::new()), move |op| {
            if op.kind == OpKind::Read && op.path == shrink && op.offset == Some(0) {
                OsVfs::new().open_file(&shrink)?.set_len(24)?;
            }
            Ok(())
        });
        assert_eq!(copy_file(&vfs, &from, &to, true).unwrap(), Copied::Shrank);
        assert_eq!(
            copy_file(&os, &dir.path().join("gone"), &to, true).unwrap(),
            Copied::Vanished
        );
        assert_eq!(copy_file(&os, &from, &to, true).unwrap(), Copied::Bytes(24));
    }
}
