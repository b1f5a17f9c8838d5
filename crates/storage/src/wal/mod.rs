//! Write-ahead log: segmented, preallocated files of checksummed records.
//!
//! Segment file `wal-<id:020>.log` (see [`crate::files`]):
//!
//! ```text
//! header (24 bytes): magic "KAUSWAL1" | version u32 | segment id u64 | crc32 of the previous 20 bytes u32
//! record, starting at a multiple of 8:
//!   header (24 bytes): header crc u32 (crc32 of the next 20 bytes) | payload length u32
//!                      | synced through u64 | payload crc u32 | reserved u32 (zero)
//!   payload, then zeros up to the next multiple of 8
//! tail:              zeros up to the preallocated size
//! ```
//!
//! All integers are little-endian. An all-zero record header marks the end
//! of written data. The header has its own checksum, so a damaged length is
//! never trusted. `synced through` is the segment offset up to which the
//! writer had fsynced the segment when it appended the record: a later
//! record proves that everything before that offset was acknowledged as
//! durable, which is how recovery tells a torn tail from corruption (see
//! `reader`). Segments are preallocated to `Config::wal_segment_bytes` so
//! that appends overwrite zeros inside the file instead of growing it. A
//! background step creates the next segment (the spare, see `spare`)
//! durably ahead of time, so a rotation switches to it without creating a
//! file. A segment is fsynced before any byte is written to the next one's file
//! (a rotation leaves that fsync to the first such write, see `writer`), so
//! only the last segment that holds records can have a torn tail; segments
//! after it (a spare, or a segment rotated to just before a crash) hold
//! nothing written.

pub mod bitflip;
pub mod flusher;

pub mod reader;
#[cfg(test)]
mod retire_tests;
pub mod spare;
#[cfg(test)]
mod spare_tests;
pub mod writer;

use std::path::{Path, PathBuf};

use crate::files::segment_file_name;

/// Bytes of a segment header.
pub const SEGMENT_HEADER_BYTES: usize = 24;
/// Bytes of a record header.
pub const RECORD_HEADER_BYTES: usize = 24;
/// Records start at multiples of this many bytes.
pub const RECORD_ALIGN: u64 = 8;
/// Default bytes the writer buffers before writing them to the segment file.
pub const WAL_BUFFER_BYTES: usize = 1024 * 1024;

const SEGMENT_MAGIC: &[u8; 8] = b"KAUSWAL1";
/// WAL format version this build reads and writes.
pub const SEGMENT_VERSION: u32 = 2;

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

/// The WAL format version a checksum-valid segment header names.
pub fn segment_header_version(header: &[u8]) -> Option<u32> {
    (header.len() >= SEGMENT_HEADER_BYTES
        && &header[..8] == SEGMENT_MAGIC
        && crate::codec::u32_at(header, 20) == crc32fast::hash(&header[..20]))
    .then(|| crate::codec::u32_at(header, 8))
}

/// `offset` rounded up to the next record boundary.
pub fn align_record(offset: u64) -> u64 {
    offset.div_ceil(RECORD_ALIGN) * RECORD_ALIGN
}

/// A decoded record header whose own checksum matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Bytes of payload after the header.
    pub payload_len: u32,
    /// Segment offset the writer had fsynced when it appended this record.
    pub synced_through: u64,
    /// crc32 of the payload.
    pub payload_crc: u32,
}

impl RecordHeader {
    /// The 24 header bytes, header checksum included.
    pub fn encode(&self) -> [u8; RECORD_HEADER_BYTES] {
        let mut bytes = [0u8; RECORD_HEADER_BYTES];
        bytes[4..8].copy_from_slice(&self.payload_len.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.synced_through.to_le_bytes());
        bytes[16..20].copy_from_slice(&self.payload_crc.to_le_bytes());
        let crc = crc32fast::hash(&bytes[4..]);
        bytes[..4].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// The header in `bytes` (at least 24), or `None` when its checksum or
    /// reserved field is wrong.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes = bytes.get(..RECORD_HEADER_BYTES)?;
        if crate::codec::u32_at(bytes, 0) != crc32fast::hash(&bytes[4..])
            || crate::codec::u32_at(bytes, 20) != 0
        {
            return None;
        }
        Some(Self {
            payload_len: crate::codec::u32_at(bytes, 4),
            synced_through: crate::codec::u64_at(bytes, 8),
            payload_crc: crate::codec::u32_at(bytes, 16),
        })
    }

    /// Bytes from this record's start to the next record boundary.
    pub fn record_span(&self) -> u64 {
        align_record((RECORD_HEADER_BYTES + self.payload_len as usize) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_headers() {
        let header = encode_segment_header(9);
        assert!(check_segment_header(&header, 9).is_ok());
        assert!(check_segment_header(&header, 8).is_err());
        let mut flipped = header;
        flipped[13] ^= 1;
        assert!(check_segment_header(&flipped, 9).is_err());
        assert!(check_segment_header(&[0u8; 24], 9).is_err());
        assert_eq!(segment_header_version(&header), Some(SEGMENT_VERSION));
    }

    #[test]
    fn record_headers_check_their_own_bytes() {
        let header = RecordHeader {
            payload_len: 100,
            synced_through: 4096,
            payload_crc: 0xdead_beef,
        };
        let bytes = header.encode();
        assert_eq!(RecordHeader::decode(&bytes), Some(header));
        assert_eq!(header.record_span(), 128);
        for bit in 0..RECORD_HEADER_BYTES * 8 {
            let mut flipped = bytes;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(RecordHeader::decode(&flipped), None, "bit {bit}");
        }
        assert_eq!(RecordHeader::decode(&[0u8; RECORD_HEADER_BYTES]), None);
    }
}
