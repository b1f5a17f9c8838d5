//! Where the database lives: `--db`, else `$KAUSAL_DB`, else `.kausal/` in
//! the nearest ancestor directory that has one (like `.git`).

use std::path::{Path, PathBuf};

/// Name of the database directory inside a repository.
pub const DB_DIR_NAME: &str = ".kausal";

/// The database directory to use, if one is named or found.
pub fn find_db(explicit: Option<&Path>, from: &Path) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("KAUSAL_DB").filter(|value| !value.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    from.ancestors()
        .map(|ancestor| ancestor.join(DB_DIR_NAME))
        .find(|candidate| candidate.is_dir())
}
