//! The manifest: which SSTables are live (oldest first), the highest
//! sequence they hold, and the next table id. Replaced atomically: write
//! `MANIFEST.tmp`, sync it, rename over `MANIFEST`, sync the directory.
//!
//! ```text
//! magic "KAUSMAN1" | version u32 | body length u32 | crc32 of (version, body length, body) u32 | body
//! body: next_table_id u64 | flushed_sequence u64 | table count u32
//!       | per table: id u64 | size u64 | blocks u64 | edges u64 | min seq u64 | max seq u64
//! ```

use std::path::{Path, PathBuf};

use kausal_vfs::Vfs;

use crate::codec::{PutBytes, Reader, u32_at};
use crate::files::{MANIFEST_FILE, MANIFEST_TEMP_FILE};
use crate::sstable::TableMeta;
use crate::{StorageError, StorageResult};

const MAGIC: &[u8; 8] = b"KAUSMAN1";
/// Manifest format version this build reads and writes. Every version keeps
/// the header layout above, so the version can be trusted once the checksum
/// (which covers it) matches.
pub const MANIFEST_VERSION: u32 = 2;
const HEADER_BYTES: usize = 20;

/// The durable list of live tables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// Id the next table file gets.
    pub next_table_id: u64,
    /// Every write with a sequence up to this one is in the tables.
    pub flushed_sequence: u64,
    /// Live tables, oldest first; their sequence ranges do not overlap.
    pub tables: Vec<TableMeta>,
}

impl Manifest {
    /// Path of the manifest in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(MANIFEST_FILE)
    }

    /// Encodes header and body.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(20 + self.tables.len() * 48);
        body.put_u64(self.next_table_id);
        body.put_u64(self.flushed_sequence);
        body.put_u32(self.tables.len() as u32);
        for table in &self.tables {
            for value in [
                table.id,
                table.size,
                table.block_count,
                table.edge_count,
                table.min_sequence,
                table.max_sequence,
            ] {
                body.put_u64(value);
            }
        }
        let mut out = Vec::with_capacity(HEADER_BYTES + body.len());
        out.extend_from_slice(MAGIC);
        out.put_u32(MANIFEST_VERSION);
        out.put_u32(body.len() as u32);
        let crc = checksum(&out[8..16], &body);
        out.put_u32(crc);
        out.extend_from_slice(&body);
        out
    }

    /// Decodes a manifest read from `path`.
    pub fn decode(path: &Path, bytes: &[u8]) -> StorageResult<Self> {
        let corrupt =
            |offset: usize, reason: &str| StorageError::corruption(path, offset as u64, reason);
        if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC {
            return Err(corrupt(0, "not a kausal manifest (bad magic or too short)"));
        }
        let body_len = u32_at(bytes, 12) as usize;
        if bytes.len() != HEADER_BYTES + body_len {
            return Err(corrupt(12, "manifest length disagrees with its header"));
        }
        let body = &bytes[HEADER_BYTES..];
        let version = u32_at(bytes, 8);
        let stored_crc = u32_at(bytes, 16);
        // Version 1 checksummed the body alone.
        let legacy = version == 1 && crc32fast::hash(body) == stored_crc;
        if !legacy && checksum(&bytes[8..16], body) != stored_crc {
            return Err(corrupt(HEADER_BYTES, "manifest checksum mismatch"));
        }
        if version != MANIFEST_VERSION {
            return Err(StorageError::UnsupportedFormat {
                file: path.to_path_buf(),
                what: "manifest",
                found: version,
                supported: &[MANIFEST_VERSION],
            });
        }
        let mut reader = Reader::new(body);
        let parse = |reader: &mut Reader<'_>| -> Result<Self, crate::codec::DecodeError> {
            let next_table_id = reader.u64("next table id")?;
            let flushed_sequence = reader.u64("flushed sequence")?;
            let count = reader.u32("table count")? as usize;
            let mut tables = Vec::with_capacity(count.min(body.len() / 48));
            for _ in 0..count {
                tables.push(TableMeta {
                    id: reader.u64("table id")?,
                    size: reader.u64("table size")?,
                    block_count: reader.u64("block count")?,
                    edge_count: reader.u64("edge count")?,
                    min_sequence: reader.u64("min sequence")?,
                    max_sequence: reader.u64("max sequence")?,
                });
            }
            Ok(Self {
                next_table_id,
                flushed_sequence,
                tables,
            })
        };
        let manifest =
            parse(&mut reader).map_err(|error| corrupt(HEADER_BYTES + error.at, error.what))?;
        if reader.remaining() != 0 {
            return Err(corrupt(HEADER_BYTES + reader.position(), "trailing bytes"));
        }
        if manifest
            .tables
            .iter()
            .any(|table| table.id >= manifest.next_table_id)
        {
            return Err(corrupt(
                HEADER_BYTES,
                "a table id is not below next_table_id",
            ));
        }
        Ok(manifest)
    }

    /// Reads the manifest of `dir`; `None` when there is none.
    pub fn load(vfs: &dyn Vfs, dir: &Path) -> StorageResult<Option<Self>> {
        let path = Self::path(dir);
        if !vfs.exists(&path)? {
            return Ok(None);
        }
        let file = vfs.open_file(&path)?;
        let len = file.len()? as usize;
        let mut bytes = vec![0u8; len];
        file.read_exact_at(0, &mut bytes)?;
        Self::decode(&path, &bytes).map(Some)
    }

    /// Durably replaces the manifest of `dir` with this one.
    pub fn store(&self, vfs: &dyn Vfs, dir: &Path) -> StorageResult<()> {
        self.write_temp(vfs, dir)?;
        Self::commit_temp(vfs, dir)
    }

    /// First step of `store`: writes and syncs `MANIFEST.tmp`. A failure
    /// here leaves `MANIFEST` untouched (the temp file is removed, best
    /// effort; open removes a leftover one).
    pub fn write_temp(&self, vfs: &dyn Vfs, dir: &Path) -> StorageResult<()> {
        let temp = dir.join(MANIFEST_TEMP_FILE);
        let written = vfs.create_file(&temp).and_then(|mut file| {
            file.write_at(0, &self.encode())?;
            file.sync_data()
        });
        if let Err(error) = written {
            let _ = vfs.remove_file(&temp);
            return Err(error.into());
        }
        Ok(())
    }

    /// Second step of `store`: renames `MANIFEST.tmp` over `MANIFEST` and
    /// syncs the directory. After a failure here, which manifest a crash
    /// would leave is unknown.
    pub fn commit_temp(vfs: &dyn Vfs, dir: &Path) -> StorageResult<()> {
        vfs.rename(&dir.join(MANIFEST_TEMP_FILE), &Self::path(dir))?;
        vfs.sync_dir(dir)?;
        Ok(())
    }
}

/// crc32 of the header fields it protects (version and body length) and
/// the body.
fn checksum(header_fields: &[u8], body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header_fields);
    hasher.update(body);
    hasher.finalize()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            next_table_id: 9,
            flushed_sequence: 1234,
            tables: vec![TableMeta {
                id: 4,
                size: 4096,
                block_count: 10,
                edge_count: 3,
                min_sequence: 1,
                max_sequence: 1234,
            }],
        }
    }

    #[test]
    fn round_trip_and_corruption() {
        let path = Path::new("MANIFEST");
        let bytes = sample().encode();
        assert_eq!(Manifest::decode(path, &bytes).unwrap(), sample());
        for position in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[position] ^= 0x10;
            let error = Manifest::decode(path, &flipped).unwrap_err();
            assert!(error.to_string().contains("MANIFEST"), "{error}");
        }
        assert!(Manifest::decode(path, &bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn a_newer_or_older_version_is_unsupported_not_corrupt() {
        let path = Path::new("MANIFEST");
        let mut newer = sample().encode();
        newer[8..12].copy_from_slice(&3u32.to_le_bytes());
        let crc = checksum(&newer[8..16], &newer[HEADER_BYTES..]);
        newer[16..20].copy_from_slice(&crc.to_le_bytes());
        match Manifest::decode(path, &newer).unwrap_err() {
            StorageError::UnsupportedFormat {
                found, supported, ..
            } => assert_eq!((found, supported), (3, &[MANIFEST_VERSION][..])),
            other => panic!("expected UnsupportedFormat, got {other}"),
        }
        let mut legacy = sample().encode();
        legacy[8..12].copy_from_slice(&1u32.to_le_bytes());
        let crc = crc32fast::hash(&legacy[HEADER_BYTES..]);
        legacy[16..20].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            Manifest::decode(path, &legacy).unwrap_err(),
            StorageError::UnsupportedFormat { found: 1, .. }
        ));
        // A flipped version bit is corruption: the checksum covers it.
        let mut flipped = sample().encode();
        flipped[9] ^= 0x01;
        assert!(matches!(
            Manifest::decode(path, &flipped).unwrap_err(),
            StorageError::Corruption { .. }
        ));
    }
}
