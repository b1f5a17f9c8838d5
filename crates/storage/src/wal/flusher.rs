//! `WalFlusher`: writes full WAL buffers to their segment on a background
//! thread, so the writer that fills a buffer does not pay for the write
//! syscall (hundreds of microseconds for a megabyte, more while the kernel
//! throttles dirty pages): that cost was the put latency's 99.9th
//! percentile.
//!
//! The writer hands a full buffer over with its segment file and offset
//! and carries on with a spare one. Buffers are written in hand-over order
//! by one thread. The first buffer of a segment after a rotation carries
//! the previous segment's file (`sync_first`): the flusher fsyncs that
//! file before it writes the buffer, so no byte reaches a segment before
//! every earlier segment is durable (what recovery relies on) while the
//! writer never waits for that fsync. At most `pending_limit` buffers
//! (`MAX_PENDING_WAL_BYTES` worth, and at least `MAX_PENDING_WAL_BUFFERS`)
//! wait; beyond that the writer writes inline (bounded memory, and
//! back-pressure when the disk is slower than the writes). Anything that
//! needs the bytes in the file (a sync, a trim) first drains the queue; a
//! write or fsync error is handed to the next caller, which poisons the
//! engine like any WAL write error, and the buffers queued after it are
//! dropped unwritten (they may not reach a later segment before an earlier
//! one is durable). Unwritten buffers are unsynced data: a crash may lose
//! them, as it may lose unsynced page-cache pages. Without the background
//! worker (the simulator's deterministic mode) no flusher exists and
//! buffers are written inline.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use kausal_vfs::{VfsError, VfsFile};

/// Full WAL buffers that may always wait for the flusher before the writer
/// writes inline (and that are allocated when it starts).
pub const MAX_PENDING_WAL_BUFFERS: usize = 4;

/// Bytes of full WAL buffers that may wait for the flusher (when that is
/// more than `MAX_PENDING_WAL_BUFFERS` buffers). A rotation's fsync of the
/// previous segment runs on the flusher, ahead of the next segment's
/// buffers: 15-110 ms measured while a table flush was writing (ext4 makes
/// an fsync wait for other files' writeback), in which a writer at 400 MB/s
/// hands over up to 44 MiB. The extra buffers are allocated the first time
/// they are needed and then reused.
pub const MAX_PENDING_WAL_BYTES: usize = 32 * 1024 * 1024;

/// How many full buffers of `capacity` bytes may wait.
pub fn pending_limit(capacity: usize) -> usize {
    (MAX_PENDING_WAL_BYTES / capacity.max(1)).max(MAX_PENDING_WAL_BUFFERS)
}

/// A segment file shared between the appender, the flusher and an fsync in
/// flight.
pub type SegmentFile = Arc<Mutex<Box<dyn VfsFile>>>;

/// Runs `f` on the file under its lock.
pub fn with_file<T>(file: &SegmentFile, f: impl FnOnce(&mut dyn VfsFile) -> T) -> T {
    let mut guard = file.lock().unwrap_or_else(PoisonError::into_inner);
    f(guard.as_mut())
}

struct Job {
    file: SegmentFile,
    offset: u64,
    bytes: Vec<u8>,
    /// The previous segment, fsynced before `bytes` are written.
    sync_first: Option<SegmentFile>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    in_flight: usize,
    /// Emptied buffers, handed back to the writer (no allocation per swap).
    spare: Vec<Vec<u8>>,
    /// Buffers made so far (at most `pending_limit`).
    made: usize,
    error: Option<VfsError>,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
    /// The capacity buffers are made with; one that grew past twice it (a
    /// record larger than the buffer limit: a batch of up to
    /// `MAX_BATCH_BYTES`) is shrunk back before it is reused.
    capacity: usize,
    /// Full buffers that may wait (`pending_limit(capacity)`).
    limit: usize,
}

/// `bytes`, emptied, at no more than twice `capacity`: a buffer that held
/// one large record would otherwise keep its tens of megabytes for as
/// long as the engine runs, once per pending slot (a cold ingest of the
/// Linux tree had 142 MB of WAL buffers at its peak on `drivers/net`).
pub(super) fn emptied(mut bytes: Vec<u8>, capacity: usize) -> Vec<u8> {
    bytes.clear();
    if bytes.capacity() > capacity.saturating_mul(2) {
        bytes.shrink_to(capacity);
    }
    bytes
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, Queue>) -> MutexGuard<'a, Queue> {
        self.changed
            .wait(guard)
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The background writer of full WAL buffers.
pub struct WalFlusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for WalFlusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = self.shared.lock();
        f.debug_struct("WalFlusher")
            .field("pending", &queue.jobs.len())
            .field("in_flight", &queue.in_flight)
            .finish()
    }
}

impl WalFlusher {
    /// Starts the flusher thread with `MAX_PENDING_WAL_BUFFERS` spare
    /// buffers of `capacity` bytes (so handing over never allocates: when no
    /// spare is left, every buffer is queued and the writer writes inline);
    /// `None` when the thread cannot be spawned (the writer then writes
    /// inline).
    pub fn start(capacity: usize) -> Option<Self> {
        let shared = Arc::new(Shared {
            capacity,
            limit: pending_limit(capacity),
            ..Shared::default()
        });
        {
            let mut queue = shared.lock();
            queue.spare = (0..MAX_PENDING_WAL_BUFFERS)
                .map(|_| Vec::with_capacity(capacity))
                .collect();
            queue.made = MAX_PENDING_WAL_BUFFERS;
        }
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("kausal-wal".into())
            .spawn(move || run(&worker))
            .ok()?;
        Some(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues `bytes` for `file` at `offset`, to be written once
    /// `sync_first` (the previous segment, if given) is fsynced. Gives the
    /// buffer back when the queue is full, or when an earlier write or
    /// fsync failed: the caller then writes inline, which drains first and
    /// so meets the failure at once (a rotation no longer drains, so this
    /// is where a writer that never syncs learns of it).
    pub fn submit(
        &self,
        file: &SegmentFile,
        offset: u64,
        bytes: Vec<u8>,
        sync_first: Option<&SegmentFile>,
    ) -> Result<(), Vec<u8>> {
        let mut queue = self.shared.lock();
        if queue.error.is_some() || queue.jobs.len() + queue.in_flight >= self.shared.limit {
            return Err(bytes);
        }
        queue.jobs.push_back(Job {
            file: Arc::clone(file),
            offset,
            bytes,
            sync_first: sync_first.map(Arc::clone),
        });
        drop(queue);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// True when nothing is queued or being written.
    pub fn is_idle(&self) -> bool {
        let queue = self.shared.lock();
        queue.jobs.is_empty() && queue.in_flight == 0
    }

    /// An emptied buffer to fill next: one that came back, or a new one
    /// while fewer than `pending_limit` were made.
    pub fn spare(&self) -> Option<Vec<u8>> {
        let mut queue = self.shared.lock();
        if let Some(spare) = queue.spare.pop() {
            return Some(spare);
        }
        if queue.made >= self.shared.limit {
            return None;
        }
        queue.made += 1;
        Some(Vec::with_capacity(self.shared.capacity))
    }

    /// Returns an unused spare buffer.
    pub fn give_back(&self, bytes: Vec<u8>) {
        let bytes = emptied(bytes, self.shared.capacity);
        self.shared.lock().spare.push(bytes);
    }

    /// Waits until every queued buffer is in its file; returns the first
    /// write error since the last call, if any.
    pub fn drain(&self) -> Result<(), VfsError> {
        let mut queue = self.shared.lock();
        while !queue.jobs.is_empty() || queue.in_flight > 0 {
            queue = self.shared.wait(queue);
        }
        match queue.error.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
impl WalFlusher {
    /// Waits until every queued buffer was handled, leaving any error to
    /// the next `drain`.
    fn settle(&self) {
        let mut queue = self.shared.lock();
        while !queue.jobs.is_empty() || queue.in_flight > 0 {
            queue = self.shared.wait(queue);
        }
    }
}

impl Drop for WalFlusher {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The flusher thread: writes queued buffers in order until stopped and
/// the queue is empty.
fn run(shared: &Shared) {
    loop {
        let job = {
            let mut queue = shared.lock();
            while queue.jobs.is_empty() && !queue.stop {
                queue = shared.wait(queue);
            }
            let Some(job) = queue.jobs.pop_front() else {
                return;
            };
            queue.in_flight += 1;
            // After a failure nothing more is written until the writer has
            // seen it (and poisoned the engine): a later buffer may belong
            // to a segment whose predecessor is not durable.
            (job, queue.error.is_some())
        };
        let (job, failed) = job;
        let written = if failed {
            Ok(())
        } else {
            let synced = match &job.sync_first {
                Some(previous) => with_file(previous, |file| file.sync_data()),
                None => Ok(()),
            };
            synced.and_then(|()| with_file(&job.file, |file| file.write_at(job.offset, &job.bytes)))
        };
        let bytes = emptied(job.bytes, shared.capacity);
        let mut queue = shared.lock();
        queue.in_flight -= 1;
        if let Err(error) = written
            && queue.error.is_none()
        {
            queue.error = Some(error);
        }
        queue.spare.push(bytes);
        drop(queue);
        shared.changed.notify_all();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use kausal_vfs::{OsVfs, Vfs};

    use super::*;

    fn segment(dir: &Path) -> SegmentFile {
        Arc::new(Mutex::new(
            OsVfs::new().create_file(&dir.join("seg")).unwrap(),
        ))
    }

    #[test]
    fn buffers_land_in_order_and_drain_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = segment(dir.path());
        let flusher = WalFlusher::start(1000).unwrap();
        let mut offset = 0;
        for round in 0..20u8 {
            let bytes = vec![round; 1000];
            if let Err(bytes) = flusher.submit(&file, offset, bytes, None) {
                with_file(&file, |file| file.write_at(offset, &bytes)).unwrap();
            }
            offset += 1000;
        }
        flusher.drain().unwrap();
        let mut back = vec![0u8; 20_000];
        with_file(&file, |file| file.read_exact_at(0, &mut back)).unwrap();
        for (round, chunk) in back.chunks(1000).enumerate() {
            assert!(
                chunk.iter().all(|byte| *byte == round as u8),
                "round {round}"
            );
        }
        // Emptied buffers come back for reuse.
        assert!(flusher.spare().is_some_and(|spare| spare.is_empty()));
    }

    #[test]
    fn a_buffer_grown_by_a_large_record_comes_back_shrunk() {
        let dir = tempfile::tempdir().unwrap();
        let file = segment(dir.path());
        let flusher = WalFlusher::start(1000).unwrap();
        // Take every spare so the one that comes back is the large one.
        while flusher.spare().is_some() {}
        let large = vec![7u8; 100_000];
        assert!(flusher.submit(&file, 0, large, None).is_ok());
        flusher.drain().unwrap();
        let back = flusher.spare().unwrap();
        assert!(back.is_empty());
        assert!(back.capacity() <= 2000, "kept {} bytes", back.capacity());
        flusher.give_back(Vec::with_capacity(50_000));
        assert!(flusher.spare().unwrap().capacity() <= 2000);
        // A buffer of the usual size keeps its allocation.
        let usual = Vec::with_capacity(1000);
        let address = usual.as_ptr();
        flusher.give_back(usual);
        let reused = flusher.spare().unwrap();
        assert_eq!(reused.as_ptr(), address);
    }

    #[test]
    fn a_write_error_reaches_the_next_drain_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        drop(OsVfs::new().create_file(&path).unwrap());
        // A file opened read-only through std refuses writes.
        #[derive(Debug)]
        struct ReadOnly(std::fs::File);
        impl VfsFile for ReadOnly {
            fn path(&self) -> &Path {
                Path::new("seg")
            }
            fn read_at(&self, _: u64, _: &mut [u8]) -> kausal_vfs::VfsResult<usize> {
                Ok(0)
            }
            fn write_at(&mut self, offset: u64, data: &[u8]) -> kausal_vfs::VfsResult<()> {
                use std::os::unix::fs::FileExt;
                self.0
                    .write_all_at(data, offset)
                    .map_err(|error| VfsError::new("write", Path::new("seg"), error))
            }
            fn set_len(&mut self, _: u64) -> kausal_vfs::VfsResult<()> {
                Ok(())
            }
            fn sync_data(&mut self) -> kausal_vfs::VfsResult<()> {
                Ok(())
            }
            fn len(&self) -> kausal_vfs::VfsResult<u64> {
                Ok(0)
            }
        }
        let file: SegmentFile = Arc::new(Mutex::new(Box::new(ReadOnly(
            std::fs::File::open(&path).unwrap(),
        ))));
        let flusher = WalFlusher::start(10).unwrap();
        assert!(flusher.submit(&file, 0, vec![1; 10], None).is_ok());
        flusher.settle();
        // Refused while the failure waits to be seen: the writer then
        // writes inline, whose drain reports it.
        assert_eq!(
            flusher.submit(&file, 10, vec![2; 10], None),
            Err(vec![2; 10])
        );
        assert!(flusher.drain().is_err());
        assert!(
            flusher.drain().is_ok(),
            "reported once; the engine is poisoned by then"
        );
    }
}
