//! Simulated workloads: what each job type's `run` does, step by step, on the
//! simulated block layer (SPEC.md §A5).
//!
//! A workload is a resumable state machine. [`step`] runs it until it must
//! wait and returns a [`Wait`] that the engine in `manager.rs` turns into a
//! pause point, a timed sleep, a yield, or the end of the run. The driver
//! hooks QEMU calls (`pause`, `cancel`, `complete`, `prepare`, `commit`,
//! `abort`, `clean`, `set_speed`) dispatch here too.

use serde::{Deserialize, Serialize};

pub(crate) mod backup;
pub(crate) mod host;
pub(crate) mod mirror;
pub(crate) mod oneshot;
pub(crate) mod stream;

use crate::block::NodeRef;
use crate::error::Result;
use crate::job::JobRef;
use crate::manager::JobManager;

/// Virtual time a failed request takes before the job retries it: blkdebug
/// completes an injected error asynchronously, and an error that never goes
/// away (`once: false` under `ignore`) then costs time instead of looping at
/// one instant (real QEMU spins on it in real time).
pub const FAILED_IO_NS: u64 = 1_000_000;

/// What a workload waits for when it returns control to the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Wait {
    /// `job_pause_point`.
    PausePoint,
    /// `job_sleep_ns(ns)`: a timed sleep, then a pause point.
    Sleep(u64),
    /// `job_yield`: wait for a kick, then a pause point.
    Yield,
    /// `run` returned `ret` (0 or a negative errno), maybe with an error text.
    Done(i32, Option<String>),
    /// The host runs the job's work now (host-driven jobs): the coroutine
    /// stays busy until the host reports back.
    Host,
}

/// How the job's coroutine was entered this time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `job_start`.
    Start,
    /// Re-entered at the pause point it was parked at.
    FromPause,
    /// Woken from a sleep or yield.
    FromYield,
    /// Going on within the same run of the coroutine.
    Continue,
}

/// The workload of a job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Work {
    /// `blockdev-backup`.
    Backup(Box<backup::Backup>),
    /// `blockdev-mirror` and active `block-commit`.
    Mirror(Box<mirror::Mirror>),
    /// `block-stream` and non-active `block-commit`.
    Stream(Box<stream::Stream>),
    /// `blockdev-create`, `x-blockdev-amend`, `snapshot-*`.
    Oneshot(Box<oneshot::Oneshot>),
    /// A job whose work the host does.
    Host(host::Host),
}

impl Work {
    /// Checks a restored workload's own bookkeeping.
    pub(crate) fn check(&self, graph: &crate::block::Graph) -> std::result::Result<(), String> {
        match self {
            Work::Backup(w) => w.check(graph.node(w.source).size),
            Work::Mirror(w) => w.check(),
            _ => Ok(()),
        }
    }

    /// The filter node the job inserted above its node, if any.
    pub(crate) fn filter(&self) -> Option<NodeRef> {
        match self {
            Work::Backup(w) => w.filter,
            Work::Mirror(w) => w.filter,
            Work::Stream(w) => w.filter,
            Work::Oneshot(_) | Work::Host(_) => None,
        }
    }

    /// The block nodes the workload refers to (for checking a restored
    /// snapshot: each must exist).
    pub(crate) fn node_refs(&self) -> Vec<NodeRef> {
        let (a, b, rest): (NodeRef, Option<NodeRef>, [Option<NodeRef>; 3]) = match self {
            Work::Backup(w) => (w.source, Some(w.target), [w.filter, None, None]),
            Work::Mirror(w) => {
                let base = match w.init {
                    mirror::DirtyInit::AllocatedAbove(b) => b,
                    _ => None,
                };
                (w.source, Some(w.target), [w.filter, base, None])
            }
            Work::Stream(w) => (w.top, w.base, [w.overlay, w.filter, None]),
            Work::Oneshot(_) | Work::Host(_) => return Vec::new(),
        };
        std::iter::once(a)
            .chain(b)
            .chain(rest.into_iter().flatten())
            .collect()
    }
}

/// Runs the job's workload until it waits.
pub(crate) fn step(m: &mut JobManager, j: JobRef, entry: Entry) -> Wait {
    match &m.job(j).work {
        Work::Backup(_) => backup::step(m, j),
        Work::Mirror(_) => mirror::step(m, j),
        Work::Stream(_) => stream::step(m, j),
        Work::Oneshot(_) => oneshot::step(m, j),
        Work::Host(_) => host::step(m, j, entry),
    }
}

/// The driver's `pause` hook (called at a pause point before parking).
pub(crate) fn pause_hook(m: &mut JobManager, j: JobRef) {
    if let Work::Backup(_) = m.job(j).work {
        backup::pause_hook(m, j)
    }
}

/// The driver's `cancel(force)` hook: whether the cancel is effectively hard.
pub(crate) fn cancel_hook(m: &mut JobManager, j: JobRef, force: bool) -> bool {
    match &m.job(j).work {
        Work::Mirror(_) => force || !m.job(j).status.is_ready(),
        Work::Host(_) => host::cancel_hook(m, j, force),
        _ => true,
    }
}

/// The driver's `complete` hook (mirror and active commit only).
pub(crate) fn complete_hook(m: &mut JobManager, j: JobRef) -> Option<Result<()>> {
    match &m.job(j).work {
        Work::Mirror(_) => Some(mirror::complete_hook(m, j)),
        Work::Host(_) => host::complete_hook(m, j),
        _ => None,
    }
}

/// What a `prepare` hook gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prepared {
    /// The driver has no prepare hook.
    NoHook,
    /// The new `ret`.
    Ret(i32),
    /// The host was asked; finalization waits for its answer.
    Pending,
}

/// The driver's `prepare` hook.
pub(crate) fn prepare_hook(m: &mut JobManager, j: JobRef) -> Prepared {
    match &m.job(j).work {
        Work::Mirror(_) => Prepared::Ret(mirror::exit_common(m, j)),
        Work::Stream(_) => Prepared::Ret(stream::prepare(m, j)),
        Work::Host(_) => host::prepare_hook(m, j),
        _ => Prepared::NoHook,
    }
}

/// The driver's `commit` hook.
pub(crate) fn commit_hook(m: &mut JobManager, j: JobRef) {
    if let Work::Host(_) = m.job(j).work {
        host::action(m, j, host::HostActionKind::Commit);
    }
}

/// The driver's `abort` hook.
pub(crate) fn abort_hook(m: &mut JobManager, j: JobRef) {
    match &m.job(j).work {
        Work::Mirror(_) => {
            mirror::exit_common(m, j);
        }
        Work::Stream(_) => stream::abort(m, j),
        Work::Host(_) => host::action(m, j, host::HostActionKind::Abort),
        _ => {}
    }
}

/// The driver's `clean` hook.
pub(crate) fn clean_hook(m: &mut JobManager, j: JobRef) {
    match &m.job(j).work {
        Work::Backup(_) => backup::clean(m, j),
        Work::Stream(_) => stream::clean(m, j),
        Work::Host(_) => host::action(m, j, host::HostActionKind::Clean),
        _ => {}
    }
}

/// Called when the job object is freed.
pub(crate) fn free_hook(m: &mut JobManager, j: JobRef) {
    match &m.job(j).work {
        Work::Backup(_) => backup::free(m, j),
        Work::Mirror(_) => mirror::free(m, j),
        Work::Stream(_) => stream::free(m, j),
        Work::Oneshot(_) | Work::Host(_) => {}
    }
}

/// The driver's `set_speed` hook.
pub(crate) fn set_speed_hook(m: &mut JobManager, j: JobRef, speed: u64) {
    match m.job(j).work {
        Work::Backup(_) => backup::set_speed(m, j, speed),
        Work::Host(_) if m.job(j).started() => {
            host::action(m, j, host::HostActionKind::SetSpeed(speed))
        }
        _ => {}
    }
}

/// A pause was requested (`job_pause`): a host job that is running is told
/// to reach a pause point.
pub(crate) fn pause_requested(m: &mut JobManager, j: JobRef) {
    if let Work::Host(_) = m.job(j).work {
        host::pause_requested(m, j)
    }
}

/// `child_job_drained_poll`'s driver part: whether a busy job still has
/// requests in flight that a drained section must wait for.
pub(crate) fn drained_poll(m: &JobManager, j: JobRef) -> bool {
    !matches!(m.job(j).work, Work::Mirror(_) | Work::Host(_))
}

/// The driver-internal timer fired.
pub(crate) fn driver_timer_fired(m: &mut JobManager, j: JobRef) {
    if let Work::Backup(_) = m.job(j).work {
        backup::timer_fired(m, j)
    }
}

/// Advances a job's progress meter (`job_progress_update`).
pub(crate) fn progress_update(m: &mut JobManager, j: JobRef, done: u64) {
    let job = m.job_mut(j);
    job.current = job.current.saturating_add(done);
}

/// `job_progress_set_remaining`.
pub(crate) fn set_remaining(m: &mut JobManager, j: JobRef, remaining: u64) {
    let job = m.job_mut(j);
    job.total = job.current.saturating_add(remaining);
}
