//! Power loss: what of the unsynced writes and directory changes reaches
//! the disk, page by page or as a torn prefix, and the bits that flip at
//! rest while the power is off.

use std::collections::BTreeSet;
use std::path::PathBuf;

use kausal_storage::files::{FileKind, classify_path};

use super::disk::{Inode, PendingWrite, State, file_name};
use super::faults::{BitFlip, CrashReport};
use super::{PAGE_BYTES, SECTOR_BYTES, SECTORS_PER_PAGE, is_wal_segment};

/// How a crash treats one file's unsynced writes.
enum Writeback {
    Nothing,
    Pages,
    Prefix,
}

impl State {
    /// Power loss; see [`SimVfs::crash`]. A no-op while the power is
    /// already off: nothing has been written since the last one.
    pub(super) fn crash(&mut self) {
        if self.running.take().is_none() {
            return;
        }
        self.counts.crashes += 1;
        self.locks.clear();
        let mut report = CrashReport::default();
        self.crash_directories(&mut report);
        self.drop_unreferenced_inodes();
        // Chosen before writeback: the flip lands in bytes that were synced.
        let wal_flip = self.pick_wal_flip();
        let ids: Vec<u64> = self.inodes.keys().copied().collect();
        for id in ids {
            self.crash_file(id, &mut report);
        }
        if !wal_flip.is_empty() {
            for flip in wal_flip {
                if self.flip(&flip) {
                    report.bit_flips.push(flip);
                }
            }
            if !report.bit_flips.is_empty() {
                self.counts.wal_bit_flips += 1;
            }
        } else if let Some(flip) = self.pick_table_flip()
            && self.flip(&flip)
        {
            self.counts.bit_flips += 1;
            report.bit_flips.push(flip);
        }
        self.last_crash = report;
    }

    /// Keeps or rolls back each unsynced directory change, in order.
    fn crash_directories(&mut self, report: &mut CrashReport) {
        let mut names = self.durable.clone();
        let persist = self.faults.dir_entry_persist;
        let counted = self.faults_enabled && persist > 0.0;
        for op in std::mem::take(&mut self.dir_ops) {
            if self.chance(persist) {
                names.apply(&op);
                report.kept.push(op.describe());
            } else {
                if counted {
                    self.counts.dir_entry_rollbacks += 1;
                }
                report.rolled_back.push(op.describe());
            }
        }
        names.prune();
        self.current = names.clone();
        self.durable = names;
    }

    /// Decides what of one file's unsynced writes reached the disk.
    fn crash_file(&mut self, id: u64, report: &mut CrashReport) {
        let Some(inode) = self.inodes.get(&id).cloned() else {
            return;
        };
        let mode = if inode.pending.is_empty() {
            Writeback::Nothing
        } else if self.roll(|faults| faults.reordered_writeback) {
            Writeback::Pages
        } else if self.roll(|faults| faults.torn_write) {
            Writeback::Prefix
        } else {
            Writeback::Nothing
        };
        let name = || {
            self.current
                .files
                .iter()
                .find(|(_, inode)| **inode == id)
                .map_or_else(|| format!("inode {id}"), |(path, _)| file_name(path))
        };
        let bytes = match mode {
            Writeback::Nothing => inode.durable.clone(),
            Writeback::Prefix => {
                let label = name();
                self.counts.torn_writes += 1;
                report.partial_files.push(format!("{label}: prefix"));
                self.prefix_writeback(&inode)
            }
            Writeback::Pages => {
                let label = name();
                let (bytes, written, dropped, torn) = self.page_writeback(&inode);
                if written > 0 && dropped > 0 {
                    self.counts.reordered_writebacks += 1;
                }
                self.counts.torn_pages += torn;
                if dropped > 0 || torn > 0 {
                    report.partial_files.push(format!(
                        "{label}: pages written {written}, dropped {dropped}, torn {torn}"
                    ));
                }
                bytes
            }
        };
        if let Some(inode) = self.inodes.get_mut(&id) {
            inode.current = bytes.clone();
            inode.durable = bytes;
            inode.pending.clear();
        }
    }

    /// Whole writes up to a point survive, then part of the next.
    fn prefix_writeback(&mut self, inode: &Inode) -> Vec<u8> {
        let mut bytes = inode.durable.clone();
        let keep = self.below(inode.pending.len() + 1);
        for write in &inode.pending[..keep] {
            Inode::apply(&mut bytes, write);
        }
        if let Some(PendingWrite::Write { offset, data }) = inode.pending.get(keep) {
            let part = self.below(data.len());
            Inode::apply(
                &mut bytes,
                &PendingWrite::Write {
                    offset: *offset,
                    data: data[..part].to_vec(),
                },
            );
        }
        bytes
    }

    /// Each dirty page independently reaches the disk with its latest
    /// content (maybe torn at a sector boundary) or keeps its durable
    /// content; the size is the size after some prefix of the writes.
    /// Returns the bytes and the pages written, dropped and torn.
    fn page_writeback(&mut self, inode: &Inode) -> (Vec<u8>, u64, u64, u64) {
        let mut latest = inode.durable.clone();
        let mut sizes = vec![latest.len()];
        let mut dirty = BTreeSet::new();
        for write in &inode.pending {
            let before = latest.len();
            let (start, end) = match write {
                PendingWrite::Write { offset, data } => {
                    (*offset as usize, *offset as usize + data.len())
                }
                PendingWrite::SetLen(len) => {
                    let len = *len as usize;
                    (before.min(len), before.max(len))
                }
            };
            if end > start {
                dirty.extend(start / PAGE_BYTES..=(end - 1) / PAGE_BYTES);
            }
            Inode::apply(&mut latest, write);
            sizes.push(latest.len());
        }
        let size = sizes[self.below(sizes.len())];
        // How much the kernel managed to write back before the power went:
        // anything from nothing to everything, in any order.
        let share = self.unit();
        let mut bytes = inode.durable.clone();
        bytes.resize(bytes.len().max(latest.len()), 0);
        let (mut written, mut dropped, mut torn) = (0, 0, 0);
        for page in dirty {
            let start = page * PAGE_BYTES;
            if start >= bytes.len() {
                continue;
            }
            if !self.chance(share) {
                dropped += 1;
                continue;
            }
            written += 1;
            let mut end = (start + PAGE_BYTES).min(bytes.len());
            if self.roll(|faults| faults.torn_page) {
                torn += 1;
                let sectors = 1 + self.below(SECTORS_PER_PAGE - 1);
                end = end.min(start + sectors * SECTOR_BYTES);
            }
            for (offset, byte) in bytes.iter_mut().enumerate().take(end).skip(start) {
                // Past the latest size the page was truncated away: zeros.
                *byte = latest.get(offset).copied().unwrap_or(0);
            }
        }
        bytes.resize(size, 0);
        (bytes, written, dropped, torn)
    }

    /// The bits in the synced bytes of a WAL segment this crash flips (none,
    /// or `wal_flip_bits` distinct bits within one sector).
    fn pick_wal_flip(&mut self) -> Vec<BitFlip> {
        if !self.roll(|faults| faults.wal_bit_flip) {
            return Vec::new();
        }
        // Synced data ends at the last non-zero durable byte: segments are
        // preallocated with zeros and written front to back.
        let candidates: Vec<(PathBuf, usize)> = self
            .current
            .files
            .iter()
            .filter(|(path, _)| is_wal_segment(path))
            .filter_map(|(path, id)| {
                let inode = self.inodes.get(id)?;
                let synced = inode.durable.iter().rposition(|byte| *byte != 0)? + 1;
                Some((path.clone(), synced))
            })
            .collect();
        if candidates.is_empty() {
            return Vec::new();
        }
        let (path, synced) = candidates[self.below(candidates.len())].clone();
        let first = self.below(synced);
        let mut bits = BTreeSet::from([(first, self.below(8) as u8)]);
        let wanted = (self.faults.wal_flip_bits.max(1) as usize).min(SECTOR_BYTES * 8);
        let sector_end = (first / SECTOR_BYTES + 1) * SECTOR_BYTES;
        let sector = first / SECTOR_BYTES * SECTOR_BYTES..sector_end.min(synced);
        while bits.len() < wanted.min(sector.len() * 8) {
            let offset = sector.start + self.below(sector.len());
            bits.insert((offset, self.below(8) as u8));
        }
        bits.into_iter()
            .map(|(offset, bit)| BitFlip {
                path: path.clone(),
                offset: offset as u64,
                bit,
            })
            .collect()
    }

    /// A bit anywhere in a table or the manifest, if this crash flips one.
    fn pick_table_flip(&mut self) -> Option<BitFlip> {
        if !self.roll(|faults| faults.bit_flip) {
            return None;
        }
        let candidates: Vec<(PathBuf, usize)> = self
            .current
            .files
            .iter()
            .filter(|(path, _)| {
                classify_path(path)
                    .is_some_and(|kind| kind.is_table() || kind == FileKind::Manifest)
            })
            .filter_map(|(path, id)| {
                let len = self.inodes.get(id)?.current.len();
                (len > 0).then(|| (path.clone(), len))
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let (path, len) = candidates[self.below(candidates.len())].clone();
        let offset = self.below(len) as u64;
        let bit = self.below(8) as u8;
        Some(BitFlip { path, offset, bit })
    }

    /// Flips the bit at rest; false when the byte is no longer there.
    fn flip(&mut self, flip: &BitFlip) -> bool {
        let Some(id) = self.current.files.get(&flip.path).copied() else {
            return false;
        };
        let Some(inode) = self.inodes.get_mut(&id) else {
            return false;
        };
        let at = flip.offset as usize;
        if at >= inode.durable.len() {
            return false;
        }
        inode.durable[at] ^= 1 << flip.bit;
        inode.current = inode.durable.clone();
        self.flipped_files.insert(flip.path.clone());
        self.flips.push(flip.clone());
        true
    }
}
