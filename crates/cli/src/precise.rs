//! Reading the SCIP indexes that `kausal ingest --scip` and `kausal index`
//! merge (precise mode, kausal-ingest's `precise`): each file's size is
//! checked against [`MAX_SCIP_BYTES`] before it is read, and every file is
//! decoded and checked in full before the database is opened, so a bad
//! index leaves the database untouched.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use kausal_ingest::precise::{MAX_SCIP_BYTES, PreciseError, PreciseIndex};
use kausal_vfs::{OsVfs, Vfs};

use crate::error::CliError;

/// Nanoseconds since the Unix epoch of `time` (0 before it; saturated far
/// after it).
pub fn epoch_ns(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    })
}

/// Reads and decodes the SCIP index `path` (errors name it as given; it
/// is read from `cwd.join(path)`), shown in reports as `origin`, made at
/// `indexed_at_ns`; `None` takes the file's modification time (an index
/// file is written when its indexer finishes, so files changed while it
/// ran count as changed after it).
pub fn load_index(
    cwd: &Path,
    path: &Path,
    origin: &str,
    indexed_at_ns: Option<u64>,
) -> Result<PreciseIndex, CliError> {
    let bad = |reason: String| CliError::BadIndex {
        path: path.to_path_buf(),
        reason,
    };
    let full = cwd.join(path);
    let vfs = OsVfs::new();
    let size = vfs.file_size(&full).map_err(|error| {
        bad(if error.is_not_found() {
            "no such file".to_string()
        } else {
            format!("cannot read its size: {}", error.source)
        })
    })?;
    if size > MAX_SCIP_BYTES {
        return Err(bad(format!(
            "{size} bytes, over the limit of {MAX_SCIP_BYTES} bytes"
        )));
    }
    // The Vfs has no modification times; the ingest's walk takes them
    // from the file system's metadata too.
    let indexed_at_ns = indexed_at_ns.or_else(|| {
        full.metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .map(epoch_ns)
    });
    // At most one byte over the limit: a file that grew since is refused
    // without reading it all.
    let bytes = vfs
        .read_file(&full, MAX_SCIP_BYTES)
        .map_err(|error| bad(format!("cannot read: {}", error.source)))?;
    if bytes.len() as u64 > MAX_SCIP_BYTES {
        return Err(bad(format!(
            "grew over the limit of {MAX_SCIP_BYTES} bytes while it was read"
        )));
    }
    PreciseIndex::decode(&bytes, origin, indexed_at_ns).map_err(|error| match error {
        PreciseError::Corrupt { reason, .. } => bad(format!("not a usable SCIP index: {reason}")),
    })
}

/// Reads and decodes every file of `paths` (relative to `cwd`), in order,
/// each made at its modification time; the first bad one is the error.
pub fn load_indexes(
    cwd: &Path,
    paths: &[std::path::PathBuf],
) -> Result<Vec<PreciseIndex>, CliError> {
    paths
        .iter()
        .map(|path| load_index(cwd, path, &path.display().to_string(), None))
        .collect()
}
