//! `blockdev-backup`: QEMU 7.2's `backup_run` / `backup_loop` over a
//! block-copy engine.
//!
//! The job coroutine starts a *copy call* and yields until it finishes. The
//! call copies the dirty chunks (1 MiB each) in order; with a speed limit it
//! asks the rate limiter before each chunk and sleeps on its own timer when
//! the slice's quota is used up. Pausing cancels the call (the pause hook);
//! after the pause a new call copies what is still dirty. An injected error
//! fails its chunk while the other chunks go on (QEMU runs up to 64 copy
//! tasks at once and blkdebug completes failing requests later), then the
//! error policy decides: report, ignore (retry) or stop (pause, then retry).

use serde::{Deserialize, Serialize};

use super::Wait;
use crate::block::{NodeRef, add_extent};
use crate::job::JobRef;
use crate::manager::JobManager;
use crate::model::{ErrorAction, OnError};
use crate::ratelimit::RateLimit;
use crate::timers::TimerKind;

/// Default size of one copy chunk (`BLOCK_COPY_MAX_BUFFER`).
pub const CHUNK: u64 = 1 << 20;
/// Copy tasks in flight at most (`BLOCK_COPY_MAX_WORKERS`).
pub const MAX_WORKERS: u32 = 64;

/// Backup sync modes (QAPI `MirrorSyncMode`, as backup uses them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Sync {
    Full,
    Top,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Init,
    StartCall,
    WaitCall,
    SyncNone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum CallResult {
    Ok,
    Cancelled,
    Error { is_read: bool, errno: i32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum CallState {
    Running,
    Sleeping,
    Done(CallResult),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Call {
    pos: u64,
    state: CallState,
    failures: u32,
    first_error: Option<(bool, i32)>,
}

/// State of a backup job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Backup {
    pub source: NodeRef,
    pub target: NodeRef,
    pub filter: Option<NodeRef>,
    pub len: u64,
    pub chunk: u64,
    pub max_workers: u32,
    pub sync: Sync,
    pub on_source_error: OnError,
    pub on_target_error: OnError,
    dirty: Vec<(u64, u64)>,
    phase: Phase,
    call: Option<Call>,
    speed: u64,
    limit: RateLimit,
    /// Whether no I/O below source and target can fail (computed once: the
    /// nodes under a running backup do not change).
    trivial: Option<bool>,
    /// The source's dirty bitmap the backup uses (busy until the job ends).
    pub bitmap: Option<String>,
}

impl Backup {
    /// Checks a restored backup's own bookkeeping.
    pub(crate) fn check(&self, source_size: u64) -> Result<(), String> {
        if !(64 * 1024..=CHUNK).contains(&self.chunk) || self.max_workers == 0 {
            return Err("a backup with a chunk size or worker count it cannot have".into());
        }
        if self.len != source_size
            || self
                .dirty
                .iter()
                .any(|&(o, l)| o.checked_add(l).is_none_or(|end| end > self.len))
        {
            return Err("a backup whose length or dirty extents do not fit its source".into());
        }
        match &self.call {
            Some(c) if c.failures > 0 && c.first_error.is_none() => {
                Err("a backup counts failures but records no error".into())
            }
            _ => Ok(()),
        }
    }

    /// A backup of `len` bytes from `source` to `target`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: NodeRef,
        target: NodeRef,
        filter: Option<NodeRef>,
        len: u64,
        sync: Sync,
        on_source_error: OnError,
        on_target_error: OnError,
        speed: u64,
        max_chunk: u64,
        max_workers: u32,
    ) -> Backup {
        let mut limit = RateLimit::new();
        limit.set_speed(speed);
        // Block-copy rounds a chunk up to whole 64 KiB clusters.
        let chunk = if max_chunk == 0 {
            CHUNK
        } else {
            max_chunk
                .div_ceil(64 * 1024)
                .saturating_mul(64 * 1024)
                .clamp(64 * 1024, CHUNK)
        };
        Backup {
            source,
            target,
            filter,
            len,
            chunk,
            max_workers: if max_workers == 0 {
                MAX_WORKERS
            } else {
                max_workers
            },
            sync,
            on_source_error,
            on_target_error,
            dirty: Vec::new(),
            phase: Phase::Init,
            call: None,
            speed,
            limit,
            trivial: None,
            bitmap: None,
        }
    }
}

fn st(m: &JobManager, j: JobRef) -> &Backup {
    match &m.job(j).work {
        super::Work::Backup(b) => b,
        _ => unreachable!("not a backup job"),
    }
}

fn st_mut(m: &mut JobManager, j: JobRef) -> &mut Backup {
    match &mut m.job_mut(j).work {
        super::Work::Backup(b) => b,
        _ => unreachable!("not a backup job"),
    }
}

pub(crate) fn step(m: &mut JobManager, j: JobRef) -> Wait {
    loop {
        match st(m, j).phase {
            Phase::Init => {
                let b = st_mut(m, j);
                let len = b.len;
                b.dirty.clear();
                add_extent(&mut b.dirty, 0, len);
                let sync = b.sync;
                super::set_remaining(m, j, len);
                st_mut(m, j).phase = if sync == Sync::None {
                    Phase::SyncNone
                } else {
                    Phase::StartCall
                };
                if sync == Sync::Top {
                    // One pass over the allocation status, with a pause point.
                    return Wait::PausePoint;
                }
            }
            Phase::SyncNone => {
                if m.job(j).is_cancelled() {
                    return Wait::Done(0, None);
                }
                return Wait::Yield;
            }
            Phase::StartCall => {
                let b = st_mut(m, j);
                b.call = Some(Call {
                    pos: 0,
                    state: CallState::Running,
                    failures: 0,
                    first_error: None,
                });
                b.phase = Phase::WaitCall;
                run_call(m, j);
            }
            Phase::WaitCall => {
                let state = st(m, j).call.as_ref().map(|c| c.state);
                let finished = matches!(state, Some(CallState::Done(_)));
                if !finished {
                    if !m.job(j).is_cancelled() {
                        return Wait::Yield;
                    }
                    cancel_call(m, j);
                    return Wait::Done(0, None);
                }
                let Some(CallState::Done(result)) = state else {
                    unreachable!()
                };
                if m.job(j).is_cancelled() || result == CallResult::Ok {
                    return Wait::Done(0, None);
                }
                match result {
                    CallResult::Cancelled => st_mut(m, j).phase = Phase::StartCall,
                    CallResult::Error { is_read, errno } => {
                        let b = st(m, j);
                        let policy = if is_read {
                            b.on_source_error
                        } else {
                            b.on_target_error
                        };
                        match m.error_action(j, policy, is_read, errno) {
                            ErrorAction::Report => return Wait::Done(-errno, None),
                            ErrorAction::Stop => {
                                st_mut(m, j).phase = Phase::StartCall;
                                return Wait::Yield;
                            }
                            ErrorAction::Ignore => {
                                // Retry. QEMU's failing request completes on a
                                // later main-loop iteration, so the retry does
                                // too: the job yields once (an error that
                                // never stops then loops through the main
                                // loop, as in QEMU, instead of hanging it).
                                st_mut(m, j).phase = Phase::StartCall;
                                return Wait::Sleep(super::FAILED_IO_NS);
                            }
                        }
                    }
                    CallResult::Ok => unreachable!(),
                }
            }
        }
    }
}

/// Runs the copy call until it sleeps or finishes; when it finishes, its
/// completion callback kicks the job.
fn run_call(m: &mut JobManager, j: JobRef) {
    let trivial = match st(m, j).trivial {
        Some(t) => t,
        None => {
            let b = st(m, j);
            let t = m.graph.io_is_trivial(b.source) && m.graph.io_is_trivial(b.target);
            st_mut(m, j).trivial = Some(t);
            t
        }
    };
    loop {
        let now = m.now;
        let b = st_mut(m, j);
        let Some(call) = b.call.as_mut() else {
            return;
        };
        if matches!(call.state, CallState::Done(_)) {
            return;
        }
        call.state = CallState::Running;
        // Next dirty chunk at or after the call's position.
        let next = b.dirty.iter().find(|&&(o, l)| o + l > call.pos).copied();
        let Some((ext_off, ext_len)) = next else {
            let result = match call.first_error {
                Some((is_read, errno)) => CallResult::Error { is_read, errno },
                None => CallResult::Ok,
            };
            finish_call(m, j, result);
            return;
        };
        if b.speed == 0 && call.failures == 0 && trivial {
            // Fast path: nothing can fail or sleep, so every remaining dirty
            // chunk is copied now, as chunk-by-chunk copying would.
            let b = st_mut(m, j);
            let call = b.call.as_mut().expect("call");
            let pos = call.pos;
            let mut done = 0;
            b.dirty.retain(|&(o, l)| {
                if o + l > pos {
                    done += (o + l).min(b.len) - o.max(pos);
                    o < pos
                } else {
                    true
                }
            });
            if let Some(last) = b.dirty.last_mut()
                && last.0 + last.1 > pos
            {
                last.1 = pos - last.0;
            }
            call.pos = b.len;
            super::progress_update(m, j, done);
            continue;
        }
        if call.failures >= b.max_workers {
            let (is_read, errno) = call.first_error.expect("failures recorded");
            finish_call(m, j, CallResult::Error { is_read, errno });
            return;
        }
        if b.speed != 0 {
            let delay = b.limit.calculate_delay(now, 0);
            if delay > 0 {
                call.state = CallState::Sleeping;
                m.timers.arm(j, TimerKind::Driver, now + delay);
                return;
            }
        }
        // The chunk: from the call's position, aligned to the chunk size,
        // within the dirty extent.
        let (off, len) = {
            let start = ext_off.max(call.pos);
            let start = (start - start % b.chunk).max(ext_off);
            let end = (start - start % b.chunk + b.chunk)
                .min(ext_off + ext_len)
                .min(b.len);
            (start, end - start)
        };
        if b.speed != 0 {
            b.limit.calculate_delay(now, len);
        }
        call.pos = off + len;
        let (source, target) = (b.source, b.target);
        let zero = m.graph.reads_zeroes(source, off, len);
        let result = if zero {
            m.graph
                .write_zeroes(target, off, len)
                .map_err(|e| (false, e))
        } else {
            m.graph
                .read(source, off, len)
                .map_err(|e| (true, e))
                .and_then(|_| m.graph.write(target, off, len).map_err(|e| (false, e)))
        };
        match result {
            Ok(()) => {
                let b = st_mut(m, j);
                remove_extent(&mut b.dirty, off, len);
                super::progress_update(m, j, len);
            }
            Err((is_read, errno)) => {
                let call = st_mut(m, j).call.as_mut().expect("call");
                call.failures += 1;
                if call.first_error.is_none() {
                    call.first_error = Some((is_read, errno));
                }
            }
        }
    }
}

fn finish_call(m: &mut JobManager, j: JobRef, result: CallResult) {
    if let Some(call) = st_mut(m, j).call.as_mut() {
        call.state = CallState::Done(result);
    }
    // backup_block_copy_callback: wake the job.
    if m.job(j).busy {
        return;
    }
    m.enter(j);
}

/// `block_copy_call_cancel`: the call stops at once (its sleep is cut).
fn cancel_call(m: &mut JobManager, j: JobRef) {
    m.timers.stop(j, TimerKind::Driver);
    if let Some(call) = st_mut(m, j).call.as_mut()
        && !matches!(call.state, CallState::Done(_))
    {
        call.state = CallState::Done(CallResult::Cancelled);
    }
}

/// `backup_pause`: a running copy call is cancelled before the job parks.
pub(crate) fn pause_hook(m: &mut JobManager, j: JobRef) {
    let running = st(m, j)
        .call
        .as_ref()
        .is_some_and(|c| !matches!(c.state, CallState::Done(_)));
    if running {
        cancel_call(m, j);
    }
}

/// The copy call's rate-limit sleep ended.
pub(crate) fn timer_fired(m: &mut JobManager, j: JobRef) {
    run_call(m, j);
}

/// `backup_set_speed`: the copy engine takes the new speed and its sleeping
/// call is kicked to recompute its delay.
pub(crate) fn set_speed(m: &mut JobManager, j: JobRef, speed: u64) {
    let b = st_mut(m, j);
    b.speed = speed;
    if speed > 0 {
        b.limit.set_speed(speed);
    }
    let sleeping = b
        .call
        .as_ref()
        .is_some_and(|c| c.state == CallState::Sleeping);
    if sleeping {
        m.timers.stop(j, TimerKind::Driver);
        run_call(m, j);
    }
}

/// `backup_clean`: the job lets go of its nodes (its target is free for
/// other jobs while the job waits, concluded, for its dismiss), then the
/// copy-before-write filter leaves the graph.
pub(crate) fn clean(m: &mut JobManager, j: JobRef) {
    m.detach_job_links(j);
    if let Some(filter) = st_mut(m, j).filter.take() {
        m.drop_filter(filter);
    }
}

/// The job object is freed (early fail, or a cancelled job never cleaned).
pub(crate) fn free(m: &mut JobManager, j: JobRef) {
    clean(m, j);
}

fn remove_extent(extents: &mut Vec<(u64, u64)>, off: u64, len: u64) {
    let end = off + len;
    let mut out = Vec::with_capacity(extents.len() + 1);
    for &(o, l) in extents.iter() {
        let e = o + l;
        if e <= off || o >= end {
            out.push((o, l));
            continue;
        }
        if o < off {
            out.push((o, off - o));
        }
        if e > end {
            out.push((end, e - end));
        }
    }
    *extents = out;
}
