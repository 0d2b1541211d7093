//! QEMU's rate limiter (`include/qemu/ratelimit.h`, SPEC.md §9.2) on the
//! virtual clock.
//!
//! Work is accounted in time slices of [`SLICE_TIME_NS`]; once a slice's quota
//! is used up, the caller is told how long to wait before going on.

use serde::{Deserialize, Serialize};

/// Length of one accounting slice: 100 ms (`BLOCK_JOB_SLICE_TIME`).
pub const SLICE_TIME_NS: u64 = 100_000_000;

/// A rate limiter: `speed` bytes per second, enforced per time slice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    slice_quota: u64,
    slice_ns: u64,
    slice_start: u64,
    slice_end: u64,
    dispatched: u64,
}

crate::snapshot::codec::codec_struct!(RateLimit {
    slice_quota,
    slice_ns,
    slice_start,
    slice_end,
    dispatched
});

impl RateLimit {
    /// An unlimited limiter.
    pub const fn new() -> RateLimit {
        RateLimit {
            slice_quota: 0,
            slice_ns: SLICE_TIME_NS,
            slice_start: 0,
            slice_end: 0,
            dispatched: 0,
        }
    }

    /// Sets the speed in bytes per second; 0 means unlimited.
    ///
    /// The quota per slice is `max(speed × slice, 1)` bytes, computed in
    /// floating point and truncated, as QEMU does (262144 B/s → 26214).
    pub fn set_speed(&mut self, speed: u64) {
        self.slice_ns = SLICE_TIME_NS;
        self.slice_quota = if speed == 0 {
            0
        } else {
            let q = (speed as f64 * self.slice_ns as f64) / 1_000_000_000f64;
            q.max(1.0) as u64
        };
    }

    /// Bytes allowed per slice (0 = unlimited).
    pub fn quota(&self) -> u64 {
        self.slice_quota
    }

    /// Records `n` bytes of work done at `now` and returns how many
    /// nanoseconds the caller must wait before the next piece of work.
    pub fn calculate_delay(&mut self, now: u64, n: u64) -> u64 {
        if self.slice_quota == 0 {
            return 0;
        }
        if self.slice_end < now {
            self.slice_start = now;
            self.slice_end = now + self.slice_ns;
            self.dispatched = 0;
        }
        self.dispatched = self.dispatched.saturating_add(n);
        if self.dispatched < self.slice_quota {
            return 0;
        }
        let delay_slices = self.dispatched as f64 / self.slice_quota as f64;
        self.slice_end = self
            .slice_start
            .saturating_add((delay_slices * self.slice_ns as f64) as u64);
        self.slice_end.saturating_sub(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_delays() {
        let mut rl = RateLimit::new();
        assert_eq!(rl.calculate_delay(5, 1 << 30), 0);
        rl.set_speed(0);
        assert_eq!(rl.calculate_delay(5, 1 << 30), 0);
    }

    #[test]
    fn quota_truncates_like_qemu() {
        let mut rl = RateLimit::new();
        rl.set_speed(262_144);
        assert_eq!(rl.quota(), 26_214);
        rl.set_speed(1);
        assert_eq!(rl.quota(), 1);
        rl.set_speed(9);
        assert_eq!(rl.quota(), 1);
        rl.set_speed(10);
        assert_eq!(rl.quota(), 1);
        rl.set_speed(20);
        assert_eq!(rl.quota(), 2);
    }

    #[test]
    fn iotest_219_example() {
        // 64 KiB at 256 KiB/s: the slice stretches to 2.5 slices.
        let mut rl = RateLimit::new();
        rl.set_speed(262_144);
        let now = 1_000;
        assert_eq!(rl.calculate_delay(now, 0), 0);
        let d = rl.calculate_delay(now, 65_536);
        // dispatched/quota = 65536/26214 = 2.50004 slices
        assert_eq!(d, (65_536f64 / 26_214f64 * 1e8) as u64);
        // Before the slice ends, a zero-byte probe reports the remaining wait.
        assert_eq!(rl.calculate_delay(now + 10, 0), d - 10);
        // After it ends, a new slice starts.
        assert_eq!(rl.calculate_delay(now + d + 1, 0), 0);
    }

    #[test]
    fn one_byte_per_second_holds_one_mebibyte_for_long() {
        let mut rl = RateLimit::new();
        rl.set_speed(1);
        assert_eq!(rl.calculate_delay(1, 0), 0);
        rl.calculate_delay(1, 1 << 20);
        let wait = rl.calculate_delay(1, 0);
        assert_eq!(wait, (1u64 << 20) * SLICE_TIME_NS);
    }
}
