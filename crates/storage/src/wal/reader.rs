//! WAL recovery: streams segments record by record through a bounded read
//! window (never the whole log in memory), tells a torn tail (truncated and
//! reported) from corruption in the middle (an error naming segment and
//! offset, or, with salvage enabled, a report of what was dropped).

use std::path::{Path, PathBuf};

use kausal_vfs::{Vfs, VfsFile};

use super::{
    RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, check_segment_header, encode_segment_header,
    segment_path,
};
use crate::codec::u32_at;
use crate::limits::MAX_WAL_RECORD_BYTES;
use crate::{StorageError, StorageResult};

/// Bytes read from a segment at a time (a larger record widens the window
/// to that record only).
pub const READ_WINDOW_BYTES: usize = 1024 * 1024;

/// Something recovery dropped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedWalRange {
    pub file: PathBuf,
    pub offset: u64,
    pub bytes: u64,
    pub reason: String,
}

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalReplayReport {
    /// Segments read, in order.
    pub segments: Vec<u64>,
    /// Records handed to the caller.
    pub records: u64,
    /// A partial last record that was truncated away (normal after a crash).
    pub torn_tail: Option<DroppedWalRange>,
    /// Corrupt ranges skipped because salvage was enabled.
    pub salvaged: Vec<DroppedWalRange>,
    /// Segments whose creation a crash or failure interrupted, removed.
    pub removed_partial_segments: Vec<PathBuf>,
}

enum Step {
    Record {
        offset: u64,
        len: usize,
    },
    End {
        offset: u64,
    },
    Bad {
        offset: u64,
        reason: String,
        claimed_end: u64,
    },
}

struct SegmentReader {
    file: Box<dyn VfsFile>,
    file_len: u64,
    window: Vec<u8>,
    window_start: u64,
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

    /// True when every byte from `from` to the end of the file is zero.
    fn zero_from(&mut self, from: u64) -> StorageResult<bool> {
        let mut offset = from;
        while offset < self.file_len {
            let len = ((self.file_len - offset) as usize).min(READ_WINDOW_BYTES);
            let Some(bytes) = self.fetch(offset, len)? else {
                return Ok(true);
            };
            if bytes.iter().any(|byte| *byte != 0) {
                return Ok(false);
            }
            offset += len as u64;
        }
        Ok(true)
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

    fn step(&mut self, offset: u64) -> StorageResult<Step> {
        let available = self.file_len.saturating_sub(offset);
        if available < RECORD_HEADER_BYTES as u64 {
            return Ok(if self.zero_from(offset)? {
                Step::End { offset }
            } else {
                Step::Bad {
                    offset,
                    reason: "partial record header at end of segment".into(),
                    claimed_end: offset,
                }
            });
        }
        let Some(header) = self.fetch(offset, RECORD_HEADER_BYTES)? else {
            unreachable!("bounds checked above");
        };
        let crc = u32_at(header, 0);
        let len = u32_at(header, 4) as usize;
        if crc == 0 && len == 0 {
            return Ok(Step::End { offset });
        }
        let header_end = offset + RECORD_HEADER_BYTES as u64;
        if len == 0 || len > MAX_WAL_RECORD_BYTES {
            return Ok(Step::Bad {
                offset,
                reason: format!("invalid record length {len}"),
                claimed_end: header_end,
            });
        }
        let Some(record) = self.fetch(offset, RECORD_HEADER_BYTES + len)? else {
            return Ok(Step::Bad {
                offset,
                reason: format!("record of {len} bytes extends past the end of the segment"),
                claimed_end: header_end,
            });
        };
        if crc32fast::hash(&record[4..]) != crc {
            return Ok(Step::Bad {
                offset,
                reason: "record checksum mismatch".into(),
                claimed_end: header_end + len as u64,
            });
        }
        Ok(Step::Record { offset, len })
    }
}

/// Replays segments `ids` of `dir` in order, calling `apply(path, offset,
/// payload)` for each intact record. Only the last segment may end in a torn
/// record, which is truncated away; a bad record anywhere else is corruption.
pub fn replay_segments(
    vfs: &dyn Vfs,
    dir: &Path,
    ids: &[u64],
    salvage: bool,
    mut apply: impl FnMut(&Path, u64, &[u8]) -> StorageResult<()>,
) -> StorageResult<WalReplayReport> {
    let mut report = WalReplayReport::default();
    for (index, id) in ids.iter().copied().enumerate() {
        let is_last = index + 1 == ids.len();
        let path = segment_path(dir, id);
        let file = vfs.open_file(&path)?;
        let file_len = file.len()?;
        let mut reader = SegmentReader {
            file,
            file_len,
            window: Vec::new(),
            window_start: 0,
        };
        report.segments.push(id);
        let header_problem = match reader.fetch(0, SEGMENT_HEADER_BYTES)? {
            Some(header) => check_segment_header(header, id).err(),
            None => Some(format!(
                "segment is {file_len} bytes, shorter than its header"
            )),
        };
        if let Some(problem) = header_problem {
            // A segment is only written to after its creation was synced,
            // so one whose header never became durable never held records,
            // wherever it sits in the log.
            if reader.is_torn_creation(id)? {
                // A crash or failed write interrupted the creation of this
                // segment before any record could be written to it.
                drop(reader);
                vfs.remove_file(&path)?;
                vfs.sync_dir(dir)?;
                report.removed_partial_segments.push(path);
                continue;
            }
            if salvage {
                report.salvaged.push(DroppedWalRange {
                    file: path,
                    offset: 0,
                    bytes: file_len,
                    reason: problem,
                });
                continue;
            }
            return Err(StorageError::corruption(path, 0, problem));
        }
        let mut offset = SEGMENT_HEADER_BYTES as u64;
        loop {
            match reader.step(offset)? {
                Step::Record { offset: at, len } => {
                    let Some(record) = reader.fetch(at, RECORD_HEADER_BYTES + len)? else {
                        unreachable!("record was just read");
                    };
                    apply(&path, at, &record[RECORD_HEADER_BYTES..])?;
                    report.records += 1;
                    offset = at + (RECORD_HEADER_BYTES + len) as u64;
                }
                Step::End { offset: at } => {
                    if !reader.zero_from(at)? {
                        let reason = "data after the end-of-log marker".to_string();
                        if !salvage {
                            return Err(StorageError::corruption(path, at, reason));
                        }
                        report.salvaged.push(DroppedWalRange {
                            file: path.clone(),
                            offset: at,
                            bytes: file_len - at,
                            reason,
                        });
                    }
                    break;
                }
                Step::Bad {
                    offset: at,
                    reason,
                    claimed_end,
                } => {
                    let torn = is_last && reader.zero_from(claimed_end)?;
                    let dropped = DroppedWalRange {
                        file: path.clone(),
                        offset: at,
                        bytes: file_len - at,
                        reason,
                    };
                    if torn {
                        drop(reader);
                        let mut file = vfs.open_file(&path)?;
                        file.set_len(at)?;
                        file.sync_data()?;
                        report.torn_tail = Some(dropped);
                    } else if salvage {
                        report.salvaged.push(dropped);
                    } else {
                        let why = if is_last {
                            "non-zero data follows it"
                        } else {
                            "later segments exist"
                        };
                        return Err(StorageError::corruption(
                            path,
                            at,
                            format!("{}; not a torn tail: {why}", dropped.reason),
                        ));
                    }
                    break;
                }
            }
        }
    }
    Ok(report)
}
