//! `WalWriter`: appends records to the active segment through an in-memory
//! buffer, writes the buffer out when it fills or on `sync`, and rotates to
//! the next preallocated segment (the spare a background step made ready,
//! see `spare`, or one created inline) when the active one is full.
//!
//! A rotation does not fsync the segment it leaves (that fsync, 15-110 ms
//! while a table flush writes, was the slowest put). The segment is kept
//! as `retired` instead, and whoever writes the first bytes to the next
//! segment's file fsyncs it first: the WAL flusher (the first buffer handed
//! over after the rotation carries it), or the writer itself when it writes
//! inline, syncs, or trims. So on disk, as before, no byte reaches a
//! segment before every earlier segment is durable, and recovery's rules
//! are unchanged; what changes is that a rotation no longer makes the
//! writes before it durable (only `sync`, a flush, or a write to the next
//! segment's file does).

use std::path::Path;
use std::sync::{Arc, Mutex};

use kausal_vfs::Vfs;

use super::{RECORD_HEADER_BYTES, RecordHeader, SEGMENT_HEADER_BYTES, align_record};
use crate::StorageResult;

use super::flusher::{SegmentFile, WalFlusher, with_file};
use super::spare::{SpareSegment, create_segment, min_capacity_for};

/// Room past the buffer limit a buffer is made with, so that the record
/// which crosses the limit usually fits without growing it.
const BUFFER_SLACK_BYTES: usize = 64 * 1024;

/// The most a rotation writes itself (when the flusher is idle) rather
/// than hand to the flusher.
const INLINE_ROTATION_BYTES: usize = 64 * 1024;

/// The capacity buffers of a writer with `buffer_limit` are made with
/// (and shrunk back to).
fn buffer_capacity(buffer_limit: usize) -> usize {
    buffer_limit + BUFFER_SLACK_BYTES
}

/// An fsync of the active segment prepared under the writer lock and run
/// outside it (group commit): everything appended before `prepare_sync`
/// is durable once `run` succeeds.
#[derive(Debug)]
pub struct SyncJob {
    file: SegmentFile,
    /// (segment id, offset) that the fsync makes durable.
    pub position: (u64, u64),
}

impl SyncJob {
    /// Runs the fsync.
    pub fn run(&self) -> StorageResult<()> {
        with_file(&self.file, |file| file.sync_data())?;
        Ok(())
    }
}

/// Appender of the active WAL segment.
#[derive(Debug)]
pub struct WalWriter {
    /// The next segment, made ready ahead of time by a background step.
    spare: Arc<SpareSegment>,
    /// Buffered bytes that trigger a write to the file.
    buffer_limit: usize,
    segment_id: u64,
    /// Shared with a group-commit leader, which fsyncs it without holding
    /// the writer lock while writers keep appending to the buffer.
    file: SegmentFile,
    /// Offset in the segment file where the buffer's first byte belongs.
    file_offset: u64,
    /// Preallocated length of the active segment.
    capacity: u64,
    buffer: Vec<u8>,
    /// Segment offset up to which the active segment is known durable
    /// (the last successful fsync); every record carries it.
    synced_through: u64,
    unsynced_bytes: u64,
    bytes_appended: u64,
    /// Writes full buffers in the background; `None` writes them inline.
    flusher: Option<WalFlusher>,
    /// Segment offset at which [`WalWriter::presync_due`] next says yes.
    presync_signal_at: u64,
    /// The newest earlier segment that may hold bytes not yet durable: it
    /// is fsynced before any byte is written to the active segment's file.
    retired: Option<SegmentFile>,
}

impl WalWriter {
    /// Creates segment `segment_id` (durably: file, header, preallocation and
    /// directory entry are synced) and makes it the active segment.
    pub fn create(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        segment_id: u64,
        segment_bytes: u64,
        buffer_limit: usize,
        background_writes: bool,
    ) -> StorageResult<Self> {
        let file = create_segment(vfs.as_ref(), dir, segment_id, segment_bytes)?;
        let spare = Arc::new(SpareSegment::new(vfs, dir, segment_bytes, segment_id)?);
        let spare_presync_bytes = spare.presync_bytes();
        // A zero limit writes every record through: nothing to hand over.
        let buffer_capacity = buffer_capacity(buffer_limit);
        let flusher = (background_writes && buffer_limit > 0)
            .then(|| WalFlusher::start(buffer_capacity))
            .flatten();
        Ok(Self {
            spare,
            buffer_limit,
            segment_id,
            file: Arc::new(Mutex::new(file)),
            file_offset: SEGMENT_HEADER_BYTES as u64,
            capacity: segment_bytes,
            buffer: Vec::with_capacity(buffer_capacity),
            synced_through: SEGMENT_HEADER_BYTES as u64,
            unsynced_bytes: 0,
            bytes_appended: 0,
            flusher,
            presync_signal_at: SEGMENT_HEADER_BYTES as u64 + spare_presync_bytes,
            retired: None,
        })
    }

    /// True (once per `SpareSegment::presync_bytes` handed to the file)
    /// when a background step should fsync the active segment ahead of
    /// its rotation.
    pub fn presync_due(&mut self) -> bool {
        if self.file_offset < self.presync_signal_at {
            return false;
        }
        self.presync_signal_at = self.file_offset + self.spare.presync_bytes();
        true
    }

    /// The spare segment, for the background step that prepares it.
    pub fn spare(&self) -> Arc<SpareSegment> {
        Arc::clone(&self.spare)
    }

    /// Id of the active segment.
    pub fn segment_id(&self) -> u64 {
        self.segment_id
    }

    /// Bytes appended since the last successful sync.
    pub fn unsynced_bytes(&self) -> u64 {
        self.unsynced_bytes
    }

    /// (segment id, offset) just past the last appended record.
    pub fn position(&self) -> (u64, u64) {
        (self.segment_id, self.file_offset + self.buffer.len() as u64)
    }

    /// Writes the buffer out and returns the fsync that makes every record
    /// appended so far durable, to be run without the writer lock.
    pub fn prepare_sync(&mut self) -> StorageResult<SyncJob> {
        self.write_buffer()?;
        Ok(SyncJob {
            file: Arc::clone(&self.file),
            position: self.position(),
        })
    }

    /// Records that a [`SyncJob`] ending at `position` succeeded: later
    /// records claim it in `synced_through`.
    pub fn mark_synced(&mut self, position: (u64, u64)) {
        let (segment, offset) = position;
        if segment != self.segment_id || offset <= self.synced_through {
            // A rotation left that segment meanwhile: later records'
            // `synced_through` is about the new one.
            return;
        }
        self.unsynced_bytes = self
            .unsynced_bytes
            .saturating_sub(offset - self.synced_through);
        self.synced_through = offset;
    }

    /// Record bytes appended since open.
    pub fn bytes_appended(&self) -> u64 {
        self.bytes_appended
    }

    /// Appends one record whose payload `encode` writes (exactly
    /// `payload_len` bytes) to the buffer. On success the record is in the
    /// WAL buffer; it is durable after the next successful `sync`.
    pub fn append(
        &mut self,
        payload_len: usize,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> StorageResult<()> {
        let record_len = align_record((RECORD_HEADER_BYTES + payload_len) as u64);
        let end = self.file_offset + self.buffer.len() as u64 + record_len;
        if end > self.capacity {
            self.rotate_for(record_len)?;
        }
        let start = self.buffer.len();
        self.buffer.extend_from_slice(&[0u8; RECORD_HEADER_BYTES]);
        encode(&mut self.buffer);
        assert_eq!(
            self.buffer.len() - start - RECORD_HEADER_BYTES,
            payload_len,
            "encoded payload length differs from the declared length"
        );
        let header = RecordHeader {
            payload_len: payload_len as u32,
            synced_through: self.synced_through,
            payload_crc: crc32fast::hash(&self.buffer[start + RECORD_HEADER_BYTES..]),
        };
        self.buffer[start..start + RECORD_HEADER_BYTES].copy_from_slice(&header.encode());
        self.buffer.resize(start + record_len as usize, 0);
        self.unsynced_bytes += record_len;
        self.bytes_appended += record_len;
        if self.buffer.len() >= self.buffer_limit {
            self.hand_off_buffer()?;
        }
        Ok(())
    }

    /// Gives the full buffer to the flusher and carries on with a spare
    /// one; writes it inline without a flusher or when the flusher is
    /// behind.
    fn hand_off_buffer(&mut self) -> StorageResult<()> {
        let Some(flusher) = self.flusher.as_ref() else {
            return self.write_buffer();
        };
        // No spare means every buffer is queued: the flusher is behind.
        let Some(spare) = flusher.spare() else {
            return self.write_buffer();
        };
        let full = std::mem::replace(&mut self.buffer, spare);
        let len = full.len() as u64;
        match flusher.submit(&self.file, self.file_offset, full, self.retired.as_ref()) {
            Ok(()) => {
                // The flusher fsyncs it before it writes this buffer.
                self.retired = None;
                self.file_offset += len;
                self.spare.note_handed(self.file_offset);
                Ok(())
            }
            Err(full) => {
                // The flusher is behind: write in order, inline.
                let spare = std::mem::replace(&mut self.buffer, full);
                flusher.give_back(spare);
                self.write_buffer()
            }
        }
    }

    /// Writes every handed-over buffer and then the current one to the
    /// segment file (not yet durable), fsyncing the retired segment first.
    pub fn write_buffer(&mut self) -> StorageResult<()> {
        if let Some(flusher) = self.flusher.as_ref() {
            flusher.drain()?;
        }
        self.sync_retired()?;
        if self.buffer.is_empty() {
            return Ok(());
        }
        with_file(&self.file, |file| {
            file.write_at(self.file_offset, &self.buffer)
        })?;
        self.file_offset += self.buffer.len() as u64;
        self.spare.note_handed(self.file_offset);
        let buffer = std::mem::take(&mut self.buffer);
        self.buffer = super::flusher::emptied(buffer, buffer_capacity(self.buffer_limit));
        Ok(())
    }

    /// Fsyncs the retired segment, if one waits: before any byte goes to
    /// the active segment's file, and before a sync counts as covering
    /// everything appended.
    fn sync_retired(&mut self) -> StorageResult<()> {
        if let Some(retired) = self.retired.take() {
            with_file(&retired, |file| file.sync_data())?;
        }
        Ok(())
    }

    /// True while a retired segment waits for its fsync (tests).
    #[cfg(test)]
    pub fn has_retired(&self) -> bool {
        self.retired.is_some()
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> StorageResult<()> {
        self.write_buffer()?;
        with_file(&self.file, |file| file.sync_data())?;
        self.synced_through = self.file_offset;
        self.unsynced_bytes = 0;
        Ok(())
    }

    /// Syncs, then cuts the active segment's preallocated zero tail and
    /// syncs again: for a clean close, so that the next open does not read
    /// (and scan) tens of megabytes of zeros. A crash before or after
    /// leaves a valid segment either way.
    pub fn trim_preallocation(&mut self) -> StorageResult<()> {
        self.sync()?;
        with_file(&self.file, |file| {
            file.set_len(self.file_offset)?;
            file.sync_data()
        })?;
        self.capacity = self.file_offset;
        Ok(())
    }

    /// Starts the next segment; returns its id. Records appended before
    /// the call live in segments with smaller ids. The old segment is not
    /// fsynced here: it is retired (see the module documentation).
    pub fn rotate(&mut self) -> StorageResult<u64> {
        self.rotate_for(0)?;
        Ok(self.segment_id)
    }

    fn rotate_for(&mut self, record_len: u64) -> StorageResult<()> {
        // The old segment's last records go to its file (through the
        // flusher when there is one), after the segment retired before it
        // is durable.
        if !self.buffer.is_empty() {
            // A small last buffer is written here when the flusher is idle:
            // waking the flusher for it cost a flush of a small memtable
            // 15% (the KausalDB workload's flush of 100 blocks), and with
            // nothing queued there is no drain to wait for.
            let idle = self.flusher.as_ref().is_none_or(WalFlusher::is_idle);
            if idle && self.buffer.len() <= INLINE_ROTATION_BYTES {
                self.write_buffer()?;
            } else {
                self.hand_off_buffer()?;
            }
        }
        let next_id = self.segment_id + 1;
        let (file, capacity) = self
            .spare
            .take_or_create(next_id, min_capacity_for(record_len))?;
        let old = std::mem::replace(&mut self.file, Arc::new(Mutex::new(file)));
        if self.file_offset > SEGMENT_HEADER_BYTES as u64 {
            // Anything handed to the old segment's file becomes durable
            // before the new one's first byte is written. A segment that
            // got no record needs no fsync (its header was synced when it
            // was created), and the segment retired before it, if still
            // waiting, stays the one to sync.
            debug_assert!(self.retired.is_none(), "a write synced the retired segment");
            self.retired = Some(old);
        }
        self.segment_id = next_id;
        self.file_offset = SEGMENT_HEADER_BYTES as u64;
        self.presync_signal_at = SEGMENT_HEADER_BYTES as u64 + self.spare.presync_bytes();
        self.synced_through = SEGMENT_HEADER_BYTES as u64;
        self.capacity = capacity;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use kausal_vfs::OsVfs;

    use super::*;

    #[test]
    fn the_buffer_a_large_record_grew_is_shrunk_once_written() {
        let dir = tempfile::tempdir().unwrap();
        let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
        for background in [false, true] {
            let path = dir.path().join(format!("{background}"));
            vfs.create_dir_all(&path).unwrap();
            let mut wal =
                WalWriter::create(vfs.clone(), &path, 1, 64 << 20, 4096, background).unwrap();
            let large = 1 << 20;
            wal.append(large, |buffer| buffer.resize(buffer.len() + large, 9))
                .unwrap();
            wal.sync().unwrap();
            let bound = 2 * buffer_capacity(4096);
            assert!(
                wal.buffer.capacity() <= bound,
                "background {background}: kept {} bytes",
                wal.buffer.capacity()
            );
            // Small records reuse the buffer as before.
            wal.append(100, |buffer| buffer.resize(buffer.len() + 100, 1))
                .unwrap();
            wal.sync().unwrap();
        }
    }
}
