//! Simulated workloads: the drivers of the job types QEMU runs itself, each
//! a resumable state machine on the simulated block layer (SPEC.md §A5)
//! behind the [`JobDriver`](crate::driver::JobDriver) interface.

pub(crate) mod backup;
pub(crate) mod mirror;
pub(crate) mod oneshot;
pub(crate) mod stream;

/// Virtual time a failed request takes before the job retries it: blkdebug
/// completes an injected error asynchronously, and an error that never goes
/// away (`once: false` under `ignore`) then costs time instead of looping at
/// one instant (real QEMU spins on it in real time).
pub const FAILED_IO_NS: u64 = 1_000_000;
