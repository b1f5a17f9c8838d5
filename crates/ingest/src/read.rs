//! Reading one source file through `Vfs` and deciding whether it can be
//! ingested: size limit (checked again after the read, since a file can
//! grow after the walk), binary content, UTF-8.

use std::path::Path;

use kausal_vfs::Vfs;

use crate::limits::BINARY_SNIFF_BYTES;
use crate::report::SkipCause;

/// A file's text, or why it is skipped.
pub fn read_source(
    vfs: &dyn Vfs,
    path: &Path,
    max_bytes: u64,
) -> Result<String, (SkipCause, String)> {
    let bytes = match vfs.read_file(path, max_bytes) {
        Ok(bytes) => bytes,
        Err(error) => {
            let kind = error.source.kind();
            return Err((
                SkipCause::Unreadable,
                match kind {
                    std::io::ErrorKind::NotFound => format!("vanished during the walk: {error}"),
                    std::io::ErrorKind::PermissionDenied => format!("unreadable: {error}"),
                    _ => format!("read failed: {error}"),
                },
            ));
        }
    };
    if bytes.len() as u64 > max_bytes {
        return Err((
            SkipCause::TooLarge,
            format!("larger than {max_bytes} bytes (--max-filesize)"),
        ));
    }
    let sniff = &bytes[..bytes.len().min(BINARY_SNIFF_BYTES)];
    if sniff.contains(&0) {
        return Err((
            SkipCause::NotText,
            "binary (NUL byte in the first 8 KiB)".into(),
        ));
    }
    String::from_utf8(bytes).map_err(|error| {
        (
            SkipCause::NotText,
            format!(
                "not UTF-8 (invalid byte at offset {})",
                error.utf8_error().valid_up_to()
            ),
        )
    })
}
