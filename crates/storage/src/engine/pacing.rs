//! Write pacing: a writer that outruns the flushes is slowed in short
//! pauses before it must stop.
//!
//! Once `MAX_FROZEN_MEMTABLES` frozen memtables wait, the writer has one
//! memtable of room left; if it fills that faster than the running flush
//! writes its table, it stalls for whatever the flush has left (35-200 ms
//! measured on the sustained put row), the slowest put by far. Pacing
//! spreads that wait instead: while that many wait, the writer is held to
//! `PACE_SHARE` of the last flush's rate (memtable bytes per second), by
//! one pause of at most `MAX_PACE_PAUSE` per `PACE_STEP_BYTES` of WAL
//! (about one put in a thousand of 1 KiB, each pause under the 5 ms a put
//! may take). A pause is taken after the write, outside the writer lock, so
//! other writers and the background steps never wait for it. Pacing cannot
//! go below `PACE_STEP_BYTES` per (`MAX_PACE_PAUSE` + the writer's own
//! time), about 200 MB/s for 1 KiB puts: a flush slower than that still
//! ends in a stall, as before, which stays the bound on memory.
//!
//! Only with the background worker: without one (the simulator's
//! deterministic mode) a stalled writer runs the flush itself, and no
//! decision here may depend on the clock.

use std::time::{Duration, Instant};

/// WAL bytes between two pauses (at most one pause per this many).
pub const PACE_STEP_BYTES: u64 = 1024 * 1024;
/// The longest pause.
pub const MAX_PACE_PAUSE: Duration = Duration::from_millis(4);
/// The share of the last flush's rate a paced writer is held to (a margin
/// for the flush slowing down).
pub const PACE_SHARE: f64 = 0.9;

/// The writer's pacing window (under the writer lock).
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    /// When the window started and the WAL bytes appended in it.
    window: Option<(Instant, u64)>,
}

impl Pacer {
    /// After `bytes` of WAL were appended: the pause to take, if any.
    /// `rate` is the flush rate (bytes per second) to stay under while the
    /// writer is ahead, `None` while it is not (which ends the window).
    pub fn after_append(&mut self, bytes: u64, rate: Option<f64>) -> Option<Duration> {
        let Some(rate) = rate else {
            self.window = None;
            return None;
        };
        // The clock is read when a window starts and when it ends, not on
        // every write (a read on each put raised their median 5%).
        let (start, sum) = self.window.get_or_insert_with(|| (Instant::now(), 0));
        *sum += bytes;
        if *sum < PACE_STEP_BYTES {
            return None;
        }
        let now = Instant::now();
        let pause = pause_for(*sum, now.duration_since(*start), rate * PACE_SHARE);
        // The next window starts when this pause ends.
        self.window = Some((now + pause, 0));
        (!pause.is_zero()).then_some(pause)
    }
}

/// How long a writer that appended `bytes` in `elapsed` pauses to stay
/// under `rate` bytes per second: the time those bytes take at that rate
/// minus the time they took, at most `MAX_PACE_PAUSE`.
pub fn pause_for(bytes: u64, elapsed: Duration, rate: f64) -> Duration {
    if rate <= 0.0 || !rate.is_finite() {
        return Duration::ZERO;
    }
    let due = Duration::from_secs_f64(bytes as f64 / rate);
    due.saturating_sub(elapsed).min(MAX_PACE_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn a_pause_makes_up_the_time_the_bytes_take_at_the_rate_up_to_the_cap() {
        // 1 MiB at 1 GiB/s takes about 1 ms.
        let gib = (1024 * MIB) as f64;
        let pause = pause_for(MIB, Duration::from_micros(200), gib);
        assert!((pause.as_secs_f64() - (1.0 / 1024.0 - 200e-6)).abs() < 1e-6);
        // Slower than the rate already: no pause.
        assert_eq!(
            pause_for(MIB, Duration::from_millis(2), gib),
            Duration::ZERO
        );
        // Far ahead of a slow flush: the cap.
        assert_eq!(pause_for(MIB, Duration::ZERO, MIB as f64), MAX_PACE_PAUSE);
        // No rate known: no pause.
        assert_eq!(pause_for(MIB, Duration::ZERO, 0.0), Duration::ZERO);
    }

    #[test]
    fn a_pacer_pauses_once_per_step_and_only_while_ahead() {
        let mut pacer = Pacer::default();
        // A rate no writer can outrun in a test: never a pause.
        let fast = Some(1e18);
        for _ in 0..3 * PACE_STEP_BYTES / 1024 {
            assert_eq!(pacer.after_append(1024, fast), None);
        }
        // A rate of one byte per second: one (capped) pause per step.
        let slow = Some(1.0);
        let mut pauses = 0;
        for _ in 0..3 * PACE_STEP_BYTES / 1024 {
            if let Some(pause) = pacer.after_append(1024, slow) {
                assert_eq!(pause, MAX_PACE_PAUSE);
                pauses += 1;
            }
        }
        assert_eq!(pauses, 3);
        // Not ahead: the window ends, nothing is carried over.
        assert_eq!(pacer.after_append(PACE_STEP_BYTES - 1, None), None);
        assert_eq!(pacer.after_append(PACE_STEP_BYTES - 1, slow), None);
    }
}
