//! WAL recovery: streams segments record by record through a bounded read
//! window (never the whole log in memory), tells a torn tail (truncated and
//! reported) from corruption in the middle (an error naming segment and
//! offset, or, with salvage enabled, a report of what was dropped).

use std::path::{Path, PathBuf};

use kausal_vfs::{Vfs, VfsFile};

use super::bitflip::{FlippedBit, locate_single_bit_error};
use super::{
    RECORD_ALIGN, RECORD_HEADER_BYTES, RecordHeader, SEGMENT_HEADER_BYTES, SEGMENT_VERSION,
    check_segment_header, encode_segment_header, segment_header_version, segment_path,
};
use crate::codec::u32_at;
use crate::limits::MAX_WAL_RECORD_BYTES;
use crate::{StorageError, StorageResult};

/// Bytes read from a segment at a time (a larger record widens the window
/// to that record only).
pub const READ_WINDOW_BYTES: usize = 1024 * 1024;

/// Something recovery dropped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DroppedWalRange {
    /// The WAL segment.
    pub file: PathBuf,
    /// Where the dropped range starts.
    pub offset: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// Why it was dropped (torn tail, checksum, salvage).
    pub reason: String,
}

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalReplayReport {
    /// Segments read, in order.
    pub segments: Vec<u64>,
    /// Records handed to the caller.
    pub records: u64,
    /// A partial last record that was truncated away (normal after a crash).
    pub torn_tail: Option<DroppedWalRange>,
    /// Corrupt ranges skipped because salvage was enabled.
    pub salvaged: Vec<DroppedWalRange>,
    /// Segments whose creation a crash or failure interrupted, or, after
    /// the last segment holding records, whose header is unusable with
    /// nothing after it: removed (no record was ever in them).
    pub removed_partial_segments: Vec<PathBuf>,
    /// Segments after the last one holding records, with a sound header
    /// and nothing written (created ahead of time, or rotated to just
    /// before a crash); also listed in `segments`.
    pub empty_segments: Vec<u64>,
    /// Records with one flipped bit that were repaired and replayed: the
    /// file and record offset, and which bit.
    pub repaired: Vec<(PathBuf, u64, String)>,
}

/// Decides whether a payload repaired by one bit is a well-formed record
/// (the second check that rules out a coincidental crc match).
pub type PayloadCheck<'a> = &'a dyn Fn(&[u8]) -> bool;

/// Where the replayed log ends: the last segment that held a record, the
/// sync point its last record claims, and the end of its last record.
/// Bytes of that segment before `synced_through`, and every earlier
/// segment (each synced whole before any byte went to the next), reached
/// the disk through a successful fsync; `synced_through..end` may exist
/// only in the page cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEnd {
    /// The segment's id.
    pub segment: u64,
    /// The largest `synced_through` its records claim.
    pub synced_through: u64,
    /// One past its last record (and its padding).
    pub end: u64,
}

enum Step {
    Record {
        offset: u64,
        header: RecordHeader,
        /// Set when one flipped bit was repaired: the repaired payload
        /// (`None` when only the header needed it) and what was flipped.
        repaired: Option<(Option<Vec<u8>>, String)>,
    },
    /// An all-zero record header: nothing was written here (or the page
    /// holding it never reached the disk).
    End {
        offset: u64,
    },
    Damaged {
        offset: u64,
        reason: String,
    },
}

/// Valid records found past a stopping point.
#[derive(Debug, Default)]
struct Forward {
    /// Offset of the first valid record after the stopping point.
    first_valid: Option<u64>,
    /// Valid records found.
    records: u64,
    /// The largest `synced_through` any of them carries.
    max_synced_through: u64,
    /// Whether any non-zero byte follows the stopping point's first 8
    /// bytes (for an all-zero header: whether anything follows at all).
    data_after: bool,
}

struct SegmentReader {
    file: Box<dyn VfsFile>,
    file_len: u64,
    window: Vec<u8>,
    window_start: u64,
}

impl SegmentReader {
    /// Segment `id` of the log in `dir`, opened for reading, and its path.
    fn open(vfs: &dyn Vfs, dir: &Path, id: u64) -> StorageResult<(PathBuf, Self)> {
        let path = segment_path(dir, id);
        let file = vfs.open_file(&path)?;
        let file_len = file.len()?;
        let reader = SegmentReader {
            file,
            file_len,
            window: Vec::new(),
            window_start: 0,
        };
        Ok((path, reader))
    }
}

/// The index of the first non-zero byte of `bytes`. Tests 64 bytes at a
/// time (an OR the compiler vectorizes): recovery reads tens of megabytes
/// of preallocated zeros at the end of the log.
fn first_non_zero(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(64);
    let mut start = 0;
    for chunk in chunks.by_ref() {
        if chunk.iter().fold(0u8, |any, byte| any | byte) != 0 {
            break;
        }
        start += 64;
    }
    bytes[start..]
        .iter()
        .position(|byte| *byte != 0)
        .map(|position| start + position)
}

fn describe_flip(flip: FlippedBit, region_start: u64, field: &str) -> String {
    match flip {
        FlippedBit::Message { byte, bit } => format!(
            "bit {bit} of byte {} ({field}) was flipped",
            region_start + byte as u64
        ),
        FlippedBit::StoredCrc { bit } => {
            format!("bit {bit} of the stored {field} checksum was flipped")
        }
    }
}

/// The header in `bytes` after repairing the one flipped bit that explains
/// its checksum mismatch, if one does.
fn repair_header(bytes: &[u8], offset: u64) -> Option<(RecordHeader, String)> {
    let flip = locate_single_bit_error(&bytes[4..RECORD_HEADER_BYTES], u32_at(bytes, 0))?;
    let mut repaired = [0u8; RECORD_HEADER_BYTES];
    repaired.copy_from_slice(&bytes[..RECORD_HEADER_BYTES]);
    match flip {
        FlippedBit::Message { byte, bit } => repaired[4 + byte] ^= 1 << bit,
        FlippedBit::StoredCrc { bit } => repaired[bit as usize / 8] ^= 1 << (bit % 8),
    }
    let header = RecordHeader::decode(&repaired)?;
    Some((header, describe_flip(flip, offset + 4, "record header")))
}

impl SegmentReader {
    /// The `len` bytes at `start`, or `None` when the file ends first.
    fn fetch(&mut self, start: u64, len: usize) -> StorageResult<Option<&[u8]>> {
        let end = start + len as u64;
        if end > self.file_len {
            return Ok(None);
        }
        let window_end = self.window_start + self.window.len() as u64;
        if start < self.window_start || end > window_end {
            let want = len
                .max(READ_WINDOW_BYTES)
                .min((self.file_len - start) as usize);
            self.window.resize(want, 0);
            self.file.read_exact_at(start, &mut self.window)?;
            self.window_start = start;
        }
        let from = (start - self.window_start) as usize;
        Ok(Some(&self.window[from..from + len]))
    }

    /// The offset of the first non-zero byte at or after `from`, if any.
    fn next_non_zero(&mut self, from: u64) -> StorageResult<Option<u64>> {
        let mut offset = from;
        while offset < self.file_len {
            let len = ((self.file_len - offset) as usize).min(READ_WINDOW_BYTES);
            let Some(bytes) = self.fetch(offset, len)? else {
                return Ok(None);
            };
            if let Some(position) = first_non_zero(bytes) {
                return Ok(Some(offset + position as u64));
            }
            offset += len as u64;
        }
        Ok(None)
    }

    /// True when every byte from `from` to the end of the file is zero.
    fn zero_from(&mut self, from: u64) -> StorageResult<bool> {
        Ok(self.next_non_zero(from)?.is_none())
    }

    /// True when the file holds nothing but a prefix of segment `id`'s
    /// header followed by zeros: a crash or failure interrupted its
    /// creation before any record could be written.
    fn is_torn_creation(&mut self, id: u64) -> StorageResult<bool> {
        let expected = encode_segment_header(id);
        let present = (self.file_len as usize).min(SEGMENT_HEADER_BYTES);
        let Some(head) = self.fetch(0, present)? else {
            return Ok(false);
        };
        let written = head
            .iter()
            .rposition(|byte| *byte != 0)
            .map_or(0, |last| last + 1);
        if head[..written] != expected[..written] {
            return Ok(false);
        }
        self.zero_from(present as u64)
    }

    /// Reads the record at `offset`. A record damaged by exactly one
    /// flipped bit is repaired when the repaired record passes its checksum
    /// and `check`: whether the bit rotted at rest or a lost page held a
    /// single set bit, the repaired record is exactly the one written.
    fn step(&mut self, offset: u64, check: PayloadCheck<'_>) -> StorageResult<Step> {
        let damaged = |reason: String| Ok(Step::Damaged { offset, reason });
        let Some(bytes) = self.fetch(offset, RECORD_HEADER_BYTES)? else {
            return if self.zero_from(offset)? {
                Ok(Step::End { offset })
            } else {
                damaged("partial record header at end of segment".into())
            };
        };
        if bytes.iter().all(|byte| *byte == 0) {
            return Ok(Step::End { offset });
        }
        let (header, header_note) = match RecordHeader::decode(bytes) {
            Some(header) => (header, None),
            None => match repair_header(bytes, offset) {
                Some((header, note)) => (header, Some(note)),
                None => return damaged("record header checksum mismatch".into()),
            },
        };
        let len = header.payload_len as usize;
        if len == 0 || len > MAX_WAL_RECORD_BYTES {
            return damaged(format!("invalid record length {len}"));
        }
        if header.synced_through > offset {
            return damaged(format!(
                "record claims the log was synced through {}, past its own start",
                header.synced_through
            ));
        }
        let payload_start = offset + RECORD_HEADER_BYTES as u64;
        let Some(payload) = self.fetch(payload_start, len)? else {
            return damaged(format!(
                "record of {len} bytes extends past the end of the segment"
            ));
        };
        if crc32fast::hash(payload) == header.payload_crc {
            return Ok(Step::Record {
                offset,
                header,
                repaired: header_note.map(|note| (None, note)),
            });
        }
        // One repair per record: a repaired header plus a bad payload is
        // two errors.
        if header_note.is_none()
            && let Some(FlippedBit::Message { byte, bit }) =
                locate_single_bit_error(payload, header.payload_crc)
        {
            let mut repaired = payload.to_vec();
            repaired[byte] ^= 1 << bit;
            if check(&repaired) {
                let note = describe_flip(
                    FlippedBit::Message { byte, bit },
                    payload_start,
                    "record payload",
                );
                return Ok(Step::Record {
                    offset,
                    header,
                    repaired: Some((Some(repaired), note)),
                });
            }
        }
        damaged("record checksum mismatch".into())
    }

    /// Looks for intact records after a stopping point at `from`: at every
    /// record boundary whose header is not all zeros.
    fn scan_forward(&mut self, from: u64, check: PayloadCheck<'_>) -> StorageResult<Forward> {
        let mut forward = Forward::default();
        let mut offset = from + RECORD_ALIGN;
        while let Some(non_zero) = self.next_non_zero(offset)? {
            forward.data_after = true;
            // A record's length field is non-zero and sits in its first 8
            // bytes, so its start is the boundary at or below the first
            // non-zero byte.
            let candidate = (non_zero / RECORD_ALIGN * RECORD_ALIGN).max(offset);
            offset = candidate + RECORD_ALIGN;
            if let Step::Record {
                offset: at, header, ..
            } = self.step(candidate, check)?
            {
                forward.first_valid.get_or_insert(at);
                forward.records += 1;
                forward.max_synced_through = forward.max_synced_through.max(header.synced_through);
                offset = at + header.record_span();
            }
        }
        Ok(forward)
    }
}

/// Replays segments `ids` of `dir` in order, calling `apply(path, offset,
/// payload)` for each intact record. A record damaged by one flipped bit is
/// repaired when the repaired payload passes `check` (see
/// `SegmentReader::step`) and listed in the report's `repaired`.
///
/// Where the records of a segment stop (an all-zero header, or a damaged
/// record), recovery decides between the end of the log and corruption:
///
/// * segments after the last one that holds records (a sound header and
///   zeros: created ahead of time, see `spare`) hold nothing written; the
///   segment before them counts as the last;
/// * outside the last segment, anything but zeros to the end is corruption
///   (a segment is synced before any byte goes to the next one);
/// * in the last segment, the intact records further on are found by
///   scanning record boundaries. If any of them records that the log was
///   synced past the stopping point, acknowledged data is damaged:
///   corruption. Otherwise the damage is a write a crash interrupted
///   (pages past the last sync reach the disk in any order, so intact
///   records may follow a hole): the log ends there, and the tail is
///   truncated and reported, with the unsynced records it held.
///
/// With `mutate` false (a read-only open) nothing is changed on disk: a torn
/// tail and half-created segments are reported and skipped, not removed.
///
/// With `salvage`, corruption is reported in the returned report instead:
/// the damaged range is skipped up to the next intact record (or the rest
/// of the segment is dropped).
///
/// Before the first record, `sizes` gets the bytes of the segments that
/// hold records (their file lengths: an upper bound on the log's bytes).
///
/// Returns the report and where the replayed log ends (`None` when no
/// segment held a record).
#[allow(clippy::too_many_arguments)]
pub fn replay_segments(
    vfs: &dyn Vfs,
    dir: &Path,
    ids: &[u64],
    salvage: bool,
    mutate: bool,
    check: PayloadCheck<'_>,
    sizes: impl FnOnce(u64),
    apply: impl FnMut(&Path, u64, &[u8]) -> StorageResult<()>,
) -> StorageResult<(WalReplayReport, Option<LogEnd>)> {
    let mut replay = Replay {
        vfs,
        dir,
        salvage,
        mutate,
        check,
        apply,
        report: WalReplayReport::default(),
        segment_end: None,
        log_end: None,
    };
    let (records_end, trailing) = records_end(vfs, dir, ids)?;
    let mut log_bytes = 0;
    for id in &ids[..records_end] {
        // Only an estimate: a segment it cannot size counts nothing.
        log_bytes += vfs.file_size(&segment_path(dir, *id)).unwrap_or(0);
    }
    sizes(log_bytes);
    for (index, id) in ids.iter().copied().enumerate() {
        if index >= records_end {
            // After the last segment that holds records: a segment created
            // ahead of time (the spare) or rotated to just before a crash,
            // with nothing written in it.
            replay.trailing_segment(id, trailing[index - records_end])?;
            continue;
        }
        replay.segment(id, index + 1 == records_end)?;
    }
    Ok((replay.report, replay.log_end))
}

/// What a segment at the end of the log holds.
#[derive(Debug, Clone, Copy)]
enum Content {
    /// Records, or anything else that is not a creation with nothing
    /// written (damage included: the replay judges it).
    Records,
    /// A sound header and nothing but zeros after it.
    Nothing,
    /// A prefix of its header and zeros (its creation was interrupted), or
    /// an unusable header and zeros (bits rotted in a spare never used):
    /// no record can be in it.
    Unusable,
}

fn segment_content(vfs: &dyn Vfs, dir: &Path, id: u64) -> StorageResult<Content> {
    let (path, mut reader) = SegmentReader::open(vfs, dir, id)?;
    if header_problem(&mut reader, &path, id)?.is_some() {
        return Ok(
            if reader.is_torn_creation(id)? || reader.zero_from(SEGMENT_HEADER_BYTES as u64)? {
                Content::Unusable
            } else {
                Content::Records
            },
        );
    }
    Ok(if reader.zero_from(SEGMENT_HEADER_BYTES as u64)? {
        Content::Nothing
    } else {
        Content::Records
    })
}

/// One past the index in `ids` of the last segment that holds records (0
/// when none does): only that segment may end in a torn tail. Segments
/// after it were created ahead of time or just rotated to and hold nothing
/// written; a segment is synced before any byte is written to the next, so
/// the one before them was the active segment or was synced whole. Reads
/// segments from the end up to the first non-zero byte after a header (one
/// record's worth for the usual log, whose last segment holds records).
/// Also returns what each segment after it holds, in order (so that each
/// is read once: a spare is tens of megabytes of zeros).
fn records_end(vfs: &dyn Vfs, dir: &Path, ids: &[u64]) -> StorageResult<(usize, Vec<Content>)> {
    let mut trailing = Vec::new();
    for (index, id) in ids.iter().copied().enumerate().rev() {
        match segment_content(vfs, dir, id)? {
            Content::Records => {
                trailing.reverse();
                return Ok((index + 1, trailing));
            }
            content => trailing.push(content),
        }
    }
    trailing.reverse();
    Ok((0, trailing))
}

/// Where the log ends inside the last segment read: what follows is
/// truncated away (or, read-only, only reported).
struct Tail {
    /// Where the log ends.
    at: u64,
    /// Why, for the report.
    why: String,
}

/// One replay of segments (see [`replay_segments`]) and what it found.
struct Replay<'a, F> {
    vfs: &'a dyn Vfs,
    dir: &'a Path,
    salvage: bool,
    mutate: bool,
    check: PayloadCheck<'a>,
    apply: F,
    report: WalReplayReport,
    /// In the segment being replayed: the end of its last record so far
    /// and the sync point that record claims.
    segment_end: Option<(u64, u64)>,
    /// The last segment that held a record, as far as replayed.
    log_end: Option<LogEnd>,
}

/// Why segment `id`'s header is unusable (`None` when it is sound). A
/// segment of a format this build does not read is an error.
fn header_problem(
    reader: &mut SegmentReader,
    path: &Path,
    id: u64,
) -> StorageResult<Option<String>> {
    let file_len = reader.file_len;
    let problem = match reader.fetch(0, SEGMENT_HEADER_BYTES)? {
        Some(header) => {
            if let Some(found) = segment_header_version(header)
                && found != SEGMENT_VERSION
            {
                return Err(StorageError::UnsupportedFormat {
                    file: path.to_path_buf(),
                    what: "WAL segment",
                    found,
                    supported: &[SEGMENT_VERSION],
                });
            }
            check_segment_header(header, id).err()
        }
        None => Some(format!(
            "segment is {file_len} bytes, shorter than its header"
        )),
    };
    Ok(problem)
}

/// Whether the records stopping at `at` (`reason` when a record there is
/// damaged, `None` at an all-zero header) are corruption, given what
/// `forward` found after it: why, or `None` for the end of the log.
fn stop_is_corruption(
    is_last: bool,
    at: u64,
    reason: Option<&str>,
    forward: &Forward,
) -> Option<String> {
    if !is_last {
        match reason {
            None if !forward.data_after => None,
            None => Some("data after the end-of-log marker in a sealed segment".to_string()),
            Some(reason) => Some(format!(
                "{reason} in a sealed segment (later segments exist)"
            )),
        }
    } else if forward.max_synced_through > at {
        let what = reason.unwrap_or("zeros where records were");
        Some(format!(
            "{what}; a later intact record at offset {} shows the log was synced through offset {}",
            forward.first_valid.unwrap_or(at),
            forward.max_synced_through
        ))
    } else {
        None
    }
}

impl<F: FnMut(&Path, u64, &[u8]) -> StorageResult<()>> Replay<'_, F> {
    /// Replays segment `id`, the log's last when `is_last`.
    fn segment(&mut self, id: u64, is_last: bool) -> StorageResult<()> {
        let (path, mut reader) = SegmentReader::open(self.vfs, self.dir, id)?;
        let file_len = reader.file_len;
        self.report.segments.push(id);
        if let Some(problem) = header_problem(&mut reader, &path, id)? {
            return self.bad_header(reader, path, id, problem);
        }
        self.segment_end = None;
        let tail = self.records(&mut reader, &path, is_last)?;
        if let Some((end, synced_through)) = self.segment_end.take() {
            self.log_end = Some(LogEnd {
                segment: id,
                synced_through,
                end,
            });
        }
        let Some(tail) = tail else {
            return Ok(());
        };
        drop(reader);
        if self.mutate {
            let mut file = self.vfs.open_file(&path)?;
            file.set_len(tail.at)?;
            file.sync_data()?;
        }
        self.report.torn_tail = Some(DroppedWalRange {
            file: path.clone(),
            offset: tail.at,
            bytes: file_len - tail.at,
            reason: tail.why,
        });
        Ok(())
    }

    /// A segment after the last one that holds records: sound and empty,
    /// or holding nothing after an unusable header (a creation a crash
    /// interrupted, or a bit rotted in a spare never used), which is
    /// removed: no record was ever in it.
    fn trailing_segment(&mut self, id: u64, content: Content) -> StorageResult<()> {
        match content {
            Content::Nothing => {
                self.report.segments.push(id);
                self.report.empty_segments.push(id);
                Ok(())
            }
            Content::Unusable => {
                self.report.segments.push(id);
                let path = segment_path(self.dir, id);
                if self.mutate {
                    self.vfs.remove_file(&path)?;
                    self.vfs.sync_dir(self.dir)?;
                }
                self.report.removed_partial_segments.push(path);
                Ok(())
            }
            // Not after the last segment holding records.
            Content::Records => self.segment(id, true),
        }
    }

    /// A segment whose header is unusable: a creation a crash interrupted
    /// is removed (or, read-only, skipped), anything else is corruption
    /// (salvaged whole with `salvage`).
    fn bad_header(
        &mut self,
        mut reader: SegmentReader,
        path: PathBuf,
        id: u64,
        problem: String,
    ) -> StorageResult<()> {
        let file_len = reader.file_len;
        // A segment is only written to after its creation was synced,
        // so one whose header never became durable never held records,
        // wherever it sits in the log.
        if reader.is_torn_creation(id)? {
            // A crash or failed write interrupted the creation of this
            // segment before any record could be written to it.
            drop(reader);
            if self.mutate {
                self.vfs.remove_file(&path)?;
                self.vfs.sync_dir(self.dir)?;
            }
            self.report.removed_partial_segments.push(path);
            return Ok(());
        }
        if self.salvage {
            self.report.salvaged.push(DroppedWalRange {
                file: path,
                offset: 0,
                bytes: file_len,
                reason: problem,
            });
            return Ok(());
        }
        Err(StorageError::corruption(path, 0, problem))
    }

    /// Replays the records of a segment whose header is sound, up to where
    /// they stop; returns the tail to truncate, if there is one.
    fn records(
        &mut self,
        reader: &mut SegmentReader,
        path: &Path,
        is_last: bool,
    ) -> StorageResult<Option<Tail>> {
        let mut offset = SEGMENT_HEADER_BYTES as u64;
        loop {
            let (at, reason) = match reader.step(offset, self.check)? {
                Step::Record {
                    offset: at,
                    header,
                    repaired,
                } => {
                    self.record(reader, path, at, header, repaired)?;
                    offset = at + header.record_span();
                    let synced = self.segment_end.map_or(0, |(_, synced)| synced);
                    self.segment_end = Some((offset, synced.max(header.synced_through)));
                    continue;
                }
                Step::End { offset: at } => (at, None),
                Step::Damaged { offset: at, reason } => (at, Some(reason)),
            };
            let forward = reader.scan_forward(at, self.check)?;
            if let Some(reason) = stop_is_corruption(is_last, at, reason.as_deref(), &forward) {
                if !self.salvage {
                    return Err(StorageError::corruption(path, at, reason));
                }
                let resume = forward.first_valid;
                self.report.salvaged.push(DroppedWalRange {
                    file: path.to_path_buf(),
                    offset: at,
                    bytes: resume.unwrap_or(reader.file_len) - at,
                    reason,
                });
                match resume {
                    Some(next) => {
                        offset = next;
                        continue;
                    }
                    None => return Ok(None),
                }
            }
            if reason.is_some() || forward.data_after {
                // The log ends at `at`: what follows never became durable
                // as a whole (a write the crash interrupted, and any later
                // unsynced records that reached the disk out of order).
                let mut why = reason.unwrap_or_else(|| "end of log".to_string());
                if forward.records > 0 {
                    why.push_str(&format!(
                        "; {} later unsynced records dropped to keep a prefix of the history",
                        forward.records
                    ));
                }
                return Ok(Some(Tail { at, why }));
            }
            return Ok(None);
        }
    }

    /// Hands the intact (or repaired) record at `at` to `apply`.
    fn record(
        &mut self,
        reader: &mut SegmentReader,
        path: &Path,
        at: u64,
        header: RecordHeader,
        repaired: Option<(Option<Vec<u8>>, String)>,
    ) -> StorageResult<()> {
        let len = header.payload_len as usize;
        match repaired {
            Some((Some(payload), note)) => {
                (self.apply)(path, at, &payload)?;
                self.report.repaired.push((path.to_path_buf(), at, note));
            }
            repaired => {
                let payload_start = at + RECORD_HEADER_BYTES as u64;
                let Some(payload) = reader.fetch(payload_start, len)? else {
                    unreachable!("record was just read");
                };
                (self.apply)(path, at, payload)?;
                if let Some((_, note)) = repaired {
                    self.report.repaired.push((path.to_path_buf(), at, note));
                }
            }
        }
        self.report.records += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::first_non_zero;

    #[test]
    fn first_non_zero_finds_the_first_set_byte_anywhere() {
        for len in [0, 1, 63, 64, 65, 128, 200, 1000] {
            let zeros = vec![0u8; len];
            assert_eq!(first_non_zero(&zeros), None, "{len} zeros");
            for at in 0..len {
                let mut bytes = zeros.clone();
                bytes[at] = 0x10;
                // A later set byte never hides the first.
                if at + 1 < len {
                    bytes[len - 1] = 1;
                }
                assert_eq!(first_non_zero(&bytes), Some(at), "len {len}, at {at}");
            }
        }
    }
}
