//! Write-ahead log: segmented, preallocated files of checksummed records.
//!
//! Segment file `wal-<id:020>.log`:
//!
//! ```text
//! header (24 bytes): magic "KAUSWAL1" | version u32 | segment id u64 | crc32 of the previous 20 bytes u32
//! record:            crc32 u32 | payload length u32 | payload
//!                    (the crc covers the length field and the payload)
//! tail:              zeros up to the preallocated size
//! ```
//!
//! An all-zero record header marks the end of written data. Segments are
//! preallocated to `Config::wal_segment_bytes` so that appends overwrite
//! inside the file instead of growing it. The writer syncs a segment before
//! starting the next one, so only the last segment can have a torn tail.

pub mod reader;
pub mod writer;

use std::path::{Path, PathBuf};

/// Bytes of a segment header.
pub const SEGMENT_HEADER_BYTES: usize = 24;
/// Bytes of a record header (crc and length).
pub const RECORD_HEADER_BYTES: usize = 8;
/// Default bytes the writer buffers before writing them to the segment file.
pub const WAL_BUFFER_BYTES: usize = 1024 * 1024;

const SEGMENT_MAGIC: &[u8; 8] = b"KAUSWAL1";
const SEGMENT_VERSION: u32 = 1;

/// File name of segment `id`.
pub fn segment_file_name(id: u64) -> String {
    format!("wal-{id:020}.log")
}

/// The segment id of a WAL file name, if it is one.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Path of segment `id` in `dir`.
pub fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(segment_file_name(id))
}

/// The header bytes of segment `id`.
pub fn encode_segment_header(id: u64) -> [u8; SEGMENT_HEADER_BYTES] {
    let mut header = [0u8; SEGMENT_HEADER_BYTES];
    header[..8].copy_from_slice(SEGMENT_MAGIC);
    header[8..12].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    header[12..20].copy_from_slice(&id.to_le_bytes());
    let crc = crc32fast::hash(&header[..20]);
    header[20..24].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Checks a segment header; the error says what is wrong.
pub fn check_segment_header(header: &[u8], id: u64) -> Result<(), String> {
    if header.len() < SEGMENT_HEADER_BYTES {
        return Err(format!(
            "segment header is {} bytes, expected 24",
            header.len()
        ));
    }
    if &header[..8] != SEGMENT_MAGIC {
        return Err("not a kausal WAL segment (bad magic)".into());
    }
    let crc = crate::codec::u32_at(header, 20);
    if crc != crc32fast::hash(&header[..20]) {
        return Err("segment header checksum mismatch".into());
    }
    let version = crate::codec::u32_at(header, 8);
    if version != SEGMENT_VERSION {
        return Err(format!("unsupported WAL format version {version}"));
    }
    let header_id = crate::codec::u64_at(header, 12);
    if header_id != id {
        return Err(format!(
            "header names segment {header_id}, file name says {id}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_headers() {
        assert_eq!(segment_file_name(7), "wal-00000000000000000007.log");
        assert_eq!(parse_segment_file_name(&segment_file_name(7)), Some(7));
        assert_eq!(parse_segment_file_name("wal-7.log"), None);
        assert_eq!(parse_segment_file_name("MANIFEST"), None);
        let header = encode_segment_header(9);
        assert!(check_segment_header(&header, 9).is_ok());
        assert!(check_segment_header(&header, 8).is_err());
        let mut flipped = header;
        flipped[13] ^= 1;
        assert!(check_segment_header(&flipped, 9).is_err());
        assert!(check_segment_header(&[0u8; 24], 9).is_err());
    }
}
