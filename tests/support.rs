//! Shared helpers for the scenario tests in this directory.

use std::path::PathBuf;

/// A fresh temporary directory for one scenario; removed when dropped.
pub fn scratch_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create temporary directory");
    let path = dir.path().join("db");
    (dir, path)
}
