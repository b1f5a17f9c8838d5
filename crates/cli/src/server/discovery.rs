//! `server.json`: how a running `kausal serve` is found. The server writes
//! its address, bearer token, pid and paths into `<db>/server.json` (mode
//! 0600: the token is a secret of the user's) and removes it on shutdown;
//! the CLI reads it to send its queries to the server. A file left by a
//! killed server is recognised (its pid is gone, or nothing answers) and
//! ignored. The one server file allowed to use `std::fs` (xtask checks).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Name of the file in the database directory.
pub const SERVER_FILE: &str = "server.json";
/// Bytes of randomness in a bearer token (hex-encoded: twice as many chars).
pub const TOKEN_BYTES: usize = 32;
/// Largest `server.json` the CLI reads.
pub const MAX_SERVER_FILE_BYTES: u64 = 64 * 1024;

/// What `server.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// Process id of the server; a file naming a dead process is ignored.
    pub pid: u32,
    /// The database directory served.
    pub db: String,
    /// The repository root that the server's ingests read.
    pub root: String,
}

/// Writing or reading `server.json` failed.
#[derive(Debug, Error)]
pub enum DiscoveryError {
    /// `server.json` could not be written, read or removed.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done (`create`, `write`, `rename into place`, ...), as the message's
        /// verb.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The OS had no randomness for a bearer token; holds the OS's error text.
    #[error("no entropy for a token: {0}")]
    Entropy(String),
}

/// A fresh random bearer token (hex) from the OS's entropy source.
pub fn new_token() -> Result<String, DiscoveryError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| DiscoveryError::Entropy(error.to_string()))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Path of `server.json` for the database `db`.
pub fn server_file(db: &Path) -> PathBuf {
    db.join(SERVER_FILE)
}

/// Writes `info` to `<db>/server.json`, mode 0600, atomically (a reader
/// sees the old file or the whole new one).
pub fn write(db: &Path, info: &ServerInfo) -> Result<(), DiscoveryError> {
    let path = server_file(db);
    let tmp = db.join(format!("{SERVER_FILE}.tmp"));
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| DiscoveryError::Io { what, path, source }
    };
    let text = serde_json::to_string_pretty(info).unwrap_or_default();
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("create", &tmp))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("rename into place", &path))?;
    Ok(())
}

/// Removes `server.json` if it still names this process.
pub fn remove(db: &Path) {
    let path = server_file(db);
    if read(db).is_some_and(|info| info.pid == std::process::id()) {
        let _ = std::fs::remove_file(path);
    }
}

/// The server `server.json` names, if the file exists, parses and names a
/// live process (not necessarily a responsive one).
pub fn read(db: &Path) -> Option<ServerInfo> {
    let path = server_file(db);
    let metadata = std::fs::metadata(&path).ok()?;
    if metadata.len() > MAX_SERVER_FILE_BYTES {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let info: ServerInfo = serde_json::from_str(&text).ok()?;
    process_alive(info.pid).then_some(info)
}

/// True when a process with `pid` exists (Linux: `/proc/PID`).
fn process_alive(pid: u32) -> bool {
    pid != 0 && Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn server_json_is_private_and_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let info = ServerInfo {
            address: "127.0.0.1:1".into(),
            url: "http://127.0.0.1:1".into(),
            token: new_token()?,
            pid: std::process::id(),
            db: dir.path().display().to_string(),
            root: "/".into(),
        };
        assert_eq!(info.token.len(), TOKEN_BYTES * 2);
        assert_ne!(info.token, new_token()?);
        write(dir.path(), &info)?;
        let mode = std::fs::metadata(server_file(dir.path()))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read(dir.path()), Some(info.clone()));
        // A file naming a dead process is ignored.
        write(
            dir.path(),
            &ServerInfo {
                pid: u32::MAX - 1,
                ..info.clone()
            },
        )?;
        assert_eq!(read(dir.path()), None);
        write(dir.path(), &info)?;
        remove(dir.path());
        assert!(!server_file(dir.path()).exists());
        Ok(())
    }
}
