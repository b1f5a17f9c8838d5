//! Tests of the simulated disk: durability, writeback, directory
//! entries, bit flips, disk full, determinism and locks.

#![allow(clippy::unwrap_used)]

use kausal_vfs::{Vfs, VfsFile};

use super::*;

/// Creates `/d` and makes its entry durable, as an operator's directory.
/// A disk with `faults` whose directory `/d` is already durable.
fn disk_with(seed: u64, faults: FaultConfig) -> SimVfs {
    let vfs = SimVfs::new(seed, faults);
    vfs.create_dir_all(Path::new("/d")).unwrap();
    vfs.sync_dir(Path::new("/")).unwrap();
    vfs
}

fn no_faults() -> SimVfs {
    disk_with(1, FaultConfig::default())
}

fn read_all(vfs: &SimVfs, path: &Path) -> Vec<u8> {
    vfs.map_readonly(path).unwrap().to_vec()
}

#[test]
fn files_read_back_and_map() {
    let vfs = no_faults();
    let path = Path::new("/d/a");
    let mut file = vfs.create_file(path).unwrap();
    file.write_at(0, b"hello").unwrap();
    file.append(b" world").unwrap();
    let mut buf = [0u8; 20];
    assert_eq!(file.read_at(0, &mut buf).unwrap(), 11);
    assert_eq!(&buf[..11], b"hello world");
    assert_eq!(file.read_at(50, &mut buf).unwrap(), 0);
    assert_eq!(read_all(&vfs, path), b"hello world");
    assert_eq!(vfs.file_size(path).unwrap(), 11);
    assert_eq!(vfs.list_dir(Path::new("/d")).unwrap(), vec!["a"]);
    assert!(
        vfs.open_file(Path::new("/d/missing"))
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        vfs.map_readonly(Path::new("/d/missing"))
            .unwrap_err()
            .is_not_found()
    );
}

#[test]
fn crash_keeps_only_synced_data_and_synced_entries() {
    let vfs = no_faults();
    let synced = Path::new("/d/synced");
    let unsynced_entry = Path::new("/d/entry-not-synced");
    let mut file = vfs.create_file(synced).unwrap();
    file.write_at(0, b"durable").unwrap();
    file.sync_data().unwrap();
    vfs.sync_dir(Path::new("/d")).unwrap();
    file.write_at(7, b" and lost").unwrap();
    let mut other = vfs.create_file(unsynced_entry).unwrap();
    other.write_at(0, b"x").unwrap();
    other.sync_data().unwrap();
    vfs.crash();
    let vfs = vfs.restart();
    assert_eq!(read_all(&vfs, synced), b"durable");
    assert!(
        !vfs.exists(unsynced_entry).unwrap(),
        "entry needs a directory sync"
    );
    // Handles from before the crash are dead.
    assert!(file.write_at(0, b"zombie").is_err());
    assert!(file.sync_data().is_err());
}

#[test]
fn rename_and_remove_are_durable_only_after_directory_sync() {
    let vfs = no_faults();
    let dir = Path::new("/d");
    let (old, new) = (Path::new("/d/MANIFEST"), Path::new("/d/MANIFEST.tmp"));
    let mut file = vfs.create_file(old).unwrap();
    file.write_at(0, b"v1").unwrap();
    file.sync_data().unwrap();
    vfs.sync_dir(dir).unwrap();
    let mut temp = vfs.create_file(new).unwrap();
    temp.write_at(0, b"v2").unwrap();
    temp.sync_data().unwrap();
    vfs.rename(new, old).unwrap();
    assert_eq!(read_all(&vfs, old), b"v2");
    vfs.crash();
    let vfs = vfs.restart();
    assert_eq!(read_all(&vfs, old), b"v1", "rename not yet durable");
    let mut temp = vfs.create_file(new).unwrap();
    temp.write_at(0, b"v2").unwrap();
    temp.sync_data().unwrap();
    vfs.rename(new, old).unwrap();
    vfs.sync_dir(dir).unwrap();
    vfs.crash();
    let vfs = vfs.restart();
    assert_eq!(read_all(&vfs, old), b"v2");
    vfs.remove_file(old).unwrap();
    vfs.crash();
    let vfs = vfs.restart();
    assert!(vfs.exists(old).unwrap(), "removal not yet durable");
    vfs.remove_file(old).unwrap();
    vfs.sync_dir(dir).unwrap();
    vfs.crash();
    let vfs = vfs.restart();
    assert!(!vfs.exists(old).unwrap());
}

#[test]
fn failed_sync_loses_the_pending_writes_forever() {
    let vfs = SimVfs::new(
        3,
        FaultConfig {
            sync_error: 1.0,
            ..FaultConfig::default()
        },
    );
    vfs.set_faults_enabled(false);
    vfs.create_dir_all(Path::new("/d")).unwrap();
    vfs.sync_dir(Path::new("/")).unwrap();
    let path = Path::new("/d/wal");
    let mut file = vfs.create_file(path).unwrap();
    file.sync_data().unwrap();
    vfs.sync_dir(Path::new("/d")).unwrap();
    file.write_at(0, b"record").unwrap();
    vfs.set_faults_enabled(true);
    assert!(file.sync_data().is_err());
    vfs.set_faults_enabled(false);
    // Reads still see the bytes, and a later sync "succeeds"...
    assert_eq!(read_all(&vfs, path), b"record");
    file.write_at(6, b"!").unwrap();
    file.sync_data().unwrap();
    assert_eq!(vfs.counts().sync_errors, 1);
    // ...yet after a crash only the write made after the failure survives.
    vfs.crash();
    let vfs = vfs.restart();
    assert_eq!(read_all(&vfs, path), b"\0\0\0\0\0\0!");
}

#[test]
fn torn_write_keeps_a_prefix_of_pending_writes() {
    let vfs = disk_with(
        7,
        FaultConfig {
            torn_write: 1.0,
            ..FaultConfig::default()
        },
    );
    let path = Path::new("/d/f");
    let mut file = vfs.create_file(path).unwrap();
    file.sync_data().unwrap();
    vfs.sync_dir(Path::new("/d")).unwrap();
    file.write_at(0, &[1u8; 100]).unwrap();
    file.write_at(100, &[2u8; 100]).unwrap();
    vfs.crash();
    let vfs = vfs.restart();
    let after = read_all(&vfs, path);
    let intended: Vec<u8> = [[1u8; 100], [2u8; 100]].concat();
    assert!(after.len() <= 200);
    assert_eq!(after, intended[..after.len()], "only a prefix survives");
    assert_eq!(vfs.counts().torn_writes, 1);
}

/// A synced, dir-synced file of `pages` zero pages in `/d`.
fn synced_zero_file(vfs: &SimVfs, path: &Path, pages: usize) -> Box<dyn VfsFile> {
    let mut file = vfs.create_file(path).unwrap();
    file.set_len((pages * PAGE_BYTES) as u64).unwrap();
    file.sync_data().unwrap();
    vfs.sync_dir(Path::new("/d")).unwrap();
    file
}

#[test]
fn reordered_writeback_writes_whole_pages_in_any_order() {
    const PAGES: usize = 4;
    let mut later_page_without_earlier = 0;
    for seed in 0..64 {
        let vfs = disk_with(
            seed,
            FaultConfig {
                reordered_writeback: 1.0,
                ..FaultConfig::default()
            },
        );
        let path = Path::new("/d/wal");
        let mut file = synced_zero_file(&vfs, path, PAGES);
        for page in 0..PAGES {
            file.write_at((page * PAGE_BYTES) as u64, &[page as u8 + 1; PAGE_BYTES])
                .unwrap();
        }
        vfs.crash();
        let vfs = vfs.restart();
        let after = read_all(&vfs, path);
        assert_eq!(after.len(), PAGES * PAGE_BYTES, "seed {seed}");
        let written: Vec<bool> = after
            .chunks(PAGE_BYTES)
            .enumerate()
            .map(|(page, bytes)| {
                let new = bytes.iter().all(|byte| *byte == page as u8 + 1);
                let old = bytes.iter().all(|byte| *byte == 0);
                assert!(new || old, "seed {seed}: page {page} is old or new, whole");
                new
            })
            .collect();
        let partial = written.contains(&true) && written.contains(&false);
        assert_eq!(vfs.counts().reordered_writebacks, u64::from(partial));
        if written.windows(2).any(|pair| !pair[0] && pair[1]) {
            later_page_without_earlier += 1;
        }
    }
    assert!(
        later_page_without_earlier > 5,
        "some pages, not a prefix: {later_page_without_earlier}"
    );
}

#[test]
fn torn_page_keeps_a_prefix_of_its_sectors() {
    let mut torn = 0;
    for seed in 0..32 {
        let vfs = disk_with(
            seed,
            FaultConfig {
                reordered_writeback: 1.0,
                torn_page: 1.0,
                ..FaultConfig::default()
            },
        );
        let path = Path::new("/d/f");
        let mut file = synced_zero_file(&vfs, path, 1);
        file.write_at(0, &[0xAA; PAGE_BYTES]).unwrap();
        vfs.crash();
        let vfs = vfs.restart();
        let after = read_all(&vfs, path);
        let new = after.iter().take_while(|byte| **byte == 0xAA).count();
        assert!(after[new..].iter().all(|byte| *byte == 0), "seed {seed}");
        assert_eq!(new % SECTOR_BYTES, 0, "seed {seed}: torn at a sector");
        assert!(new < PAGE_BYTES, "seed {seed}: a written page is torn");
        if new > 0 {
            torn += 1;
            assert_eq!(vfs.counts().torn_pages, 1);
        }
    }
    assert!(torn > 3, "{torn}");
}

#[test]
fn size_after_a_crash_is_the_size_after_some_prefix_of_the_writes() {
    let mut sizes = BTreeSet::new();
    for seed in 0..32 {
        let vfs = disk_with(
            seed,
            FaultConfig {
                reordered_writeback: 1.0,
                ..FaultConfig::default()
            },
        );
        let path = Path::new("/d/f");
        let mut file = synced_zero_file(&vfs, path, 0);
        file.write_at(0, &[1; 100]).unwrap();
        file.write_at(100, &[2; 100]).unwrap();
        vfs.crash();
        let vfs = vfs.restart();
        let after = read_all(&vfs, path);
        assert!([0, 100, 200].contains(&after.len()), "seed {seed}");
        sizes.insert(after.len());
    }
    assert_eq!(sizes.len(), 3, "{sizes:?}");
}

#[test]
fn a_new_directory_is_durable_only_after_its_parent_is_synced() {
    let vfs = SimVfs::new(1, FaultConfig::default());
    let (outer, inner) = (Path::new("/a"), Path::new("/a/db"));
    let path = Path::new("/a/db/f");
    // Each round ends in a power loss and returns the next process.
    let make = |vfs: SimVfs, sync_parents: &[&str]| -> SimVfs {
        vfs.create_dir_all(inner).unwrap();
        let mut file = vfs.create_file(path).unwrap();
        file.write_at(0, b"data").unwrap();
        file.sync_data().unwrap();
        vfs.sync_dir(inner).unwrap();
        for parent in sync_parents {
            vfs.sync_dir(Path::new(parent)).unwrap();
        }
        vfs.crash();
        vfs.restart()
    };
    let vfs = make(vfs, &[]);
    assert!(!vfs.exists(inner).unwrap(), "mkdir needs its parent synced");
    assert!(
        !vfs.exists(path).unwrap(),
        "the file goes with its directory"
    );
    let vfs = make(vfs, &["/a"]);
    assert!(
        !vfs.exists(outer).unwrap(),
        "/a itself was never synced in /"
    );
    assert!(!vfs.exists(path).unwrap());
    let vfs = make(vfs, &["/a", "/"]);
    assert_eq!(read_all(&vfs, path), b"data");
    assert!(
        vfs.sync_dir(Path::new("/missing"))
            .unwrap_err()
            .is_not_found()
    );
}

#[test]
fn unsynced_entry_changes_are_each_kept_or_rolled_back() {
    const FILES: usize = 8;
    let mut mixed = 0;
    for seed in 0..16 {
        let vfs = disk_with(
            seed,
            FaultConfig {
                dir_entry_persist: 0.5,
                ..FaultConfig::default()
            },
        );
        for n in 0..FILES {
            let mut file = vfs
                .create_file(&Path::new("/d").join(n.to_string()))
                .unwrap();
            file.write_at(0, b"x").unwrap();
            file.sync_data().unwrap();
        }
        vfs.crash();
        let vfs = vfs.restart();
        let kept = vfs.list_dir(Path::new("/d")).unwrap().len();
        assert_eq!(vfs.counts().dir_entry_rollbacks, (FILES - kept) as u64);
        assert_eq!(vfs.last_crash().kept.len(), kept);
        if kept > 0 && kept < FILES {
            mixed += 1;
        }
    }
    assert!(mixed > 10, "{mixed}");
}

#[test]
fn an_unsynced_rename_leaves_the_old_file_or_the_new_one_never_none() {
    let mut outcomes = BTreeSet::new();
    for seed in 0..32 {
        let vfs = disk_with(
            seed,
            FaultConfig {
                dir_entry_persist: 0.5,
                ..FaultConfig::default()
            },
        );
        let (manifest, temp) = (Path::new("/d/MANIFEST"), Path::new("/d/MANIFEST.tmp"));
        let mut file = vfs.create_file(manifest).unwrap();
        file.write_at(0, b"v1").unwrap();
        file.sync_data().unwrap();
        vfs.sync_dir(Path::new("/d")).unwrap();
        let mut file = vfs.create_file(temp).unwrap();
        file.write_at(0, b"v2").unwrap();
        file.sync_data().unwrap();
        vfs.rename(temp, manifest).unwrap();
        vfs.crash();
        let vfs = vfs.restart();
        let content = read_all(&vfs, manifest);
        assert!(content == b"v1" || content == b"v2", "seed {seed}");
        outcomes.insert(content);
    }
    assert_eq!(outcomes.len(), 2, "both outcomes happen");
}

#[test]
fn wal_bit_flip_lands_in_synced_bytes() {
    for seed in 0..16 {
        let vfs = disk_with(
            seed,
            FaultConfig {
                wal_bit_flip: 1.0,
                ..FaultConfig::default()
            },
        );
        let path = Path::new("/d/wal-00000000000000000001.log");
        let mut file = synced_zero_file(&vfs, path, 2);
        let synced: Vec<u8> = (1..=100).collect();
        file.write_at(0, &synced).unwrap();
        file.sync_data().unwrap();
        file.write_at(100, &[7; 100]).unwrap();
        vfs.crash();
        let vfs = vfs.restart();
        let after = read_all(&vfs, path);
        let differing: Vec<usize> = (0..after.len())
            .filter(|&at| after[at] != synced.get(at).copied().unwrap_or(0))
            .collect();
        assert_eq!(differing.len(), 1, "seed {seed}: one byte differs");
        let at = differing[0];
        assert!(at < synced.len(), "seed {seed}: in the synced bytes");
        assert_eq!((after[at] ^ synced[at]).count_ones(), 1);
        assert_eq!(vfs.counts().wal_bit_flips, 1);
        assert!(vfs.flipped_files().contains(path));
        let flips = vfs.last_crash().bit_flips;
        assert_eq!(flips.len(), 1);
        assert_eq!(flips[0].offset, at as u64);
    }
}

#[test]
fn a_multi_bit_wal_flip_damages_one_sector_of_synced_bytes() {
    for seed in 0..16 {
        let vfs = disk_with(
            seed,
            FaultConfig {
                wal_bit_flip: 1.0,
                wal_flip_bits: 3,
                ..FaultConfig::default()
            },
        );
        let path = Path::new("/d/wal-00000000000000000001.log");
        let mut file = synced_zero_file(&vfs, path, 2);
        let synced = vec![0x5A; 3000];
        file.write_at(0, &synced).unwrap();
        file.sync_data().unwrap();
        vfs.crash();
        let vfs = vfs.restart();
        let after = read_all(&vfs, path);
        let flipped: u32 = after
            .iter()
            .zip(synced.iter().chain(std::iter::repeat(&0)))
            .map(|(now, was)| (now ^ was).count_ones())
            .sum();
        assert_eq!(flipped, 3, "seed {seed}");
        let flips = vfs.last_crash().bit_flips;
        assert_eq!(flips.len(), 3);
        let sectors: BTreeSet<u64> = flips
            .iter()
            .map(|flip| flip.offset / SECTOR_BYTES as u64)
            .collect();
        assert_eq!(sectors.len(), 1, "seed {seed}: one sector");
        assert!(flips.iter().all(|flip| flip.offset < 3000));
        assert_eq!(vfs.counts().wal_bit_flips, 1);
    }
}

#[test]
fn disk_full_rejects_growth() {
    let vfs = SimVfs::new(
        1,
        FaultConfig {
            capacity_bytes: Some(100),
            ..FaultConfig::default()
        },
    );
    vfs.create_dir_all(Path::new("/d")).unwrap();
    let mut file = vfs.create_file(Path::new("/d/f")).unwrap();
    file.write_at(0, &[0u8; 100]).unwrap();
    let error = file.write_at(100, &[0u8; 1]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    file.write_at(0, &[9u8; 100]).unwrap();
    assert_eq!(vfs.counts().disk_full, 1);
}

#[test]
fn same_seed_same_faults() {
    let run = |seed| {
        let vfs = SimVfs::new(
            seed,
            FaultConfig {
                write_error: 0.3,
                short_write: 0.2,
                ..FaultConfig::default()
            },
        );
        vfs.create_dir_all(Path::new("/d")).unwrap();
        let mut file = vfs.create_file(Path::new("/d/f")).unwrap();
        let outcomes: Vec<bool> = (0..200)
            .map(|i| file.write_at(i * 10, &[1u8; 10]).is_ok())
            .collect();
        (outcomes, read_all(&vfs, Path::new("/d/f")))
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42).0, run(43).0);
}

#[test]
fn locks_are_exclusive_and_die_with_a_crash() {
    let vfs = no_faults();
    let path = Path::new("/d/LOCK");
    let lock = vfs.lock_file(path).unwrap();
    assert_eq!(
        vfs.lock_file(path).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    vfs.crash();
    let vfs = vfs.restart();
    let second = vfs.lock_file(path).unwrap();
    drop(lock); // a stale guard must not release the new holder's lock
    assert!(vfs.lock_file(path).is_err());
    drop(second);
    vfs.lock_file(path).unwrap();
}
