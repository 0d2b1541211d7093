//! `blockdev-mirror` and active `block-commit`: QEMU 7.2's `mirror_run`.
//!
//! Each loop passes a pause point, recomputes the remaining work, copies one
//! batch of dirty data (up to the 16 MiB buffer, in 1 MiB requests), then
//! sleeps for the rate limiter's delay. Once nothing is dirty the job becomes
//! ready and wakes every 100 ms until it is completed or cancelled; a soft
//! cancel of a ready job finishes it without switching to the target.

use serde::{Deserialize, Serialize};

use super::Wait;
use crate::block::{NodeRef, Status, add_extent};
use crate::error::{Error, Result};
use crate::job::JobRef;
use crate::manager::JobManager;
use crate::model::{ErrorAction, IoStatus, OnError};
use crate::ratelimit::SLICE_TIME_NS;

/// Mirror's default buffer (`DEFAULT_MIRROR_BUF_SIZE`).
pub const BUF_SIZE: u64 = 16 << 20;
/// Largest single request (`MAX_IO_BYTES`).
pub const MAX_IO_BYTES: u64 = 1 << 20;
/// Default granularity of the dirty bitmap.
pub const GRANULARITY: u64 = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Init,
    LoopTop,
    LoopBody,
    AfterSleep,
}

/// How the initial dirty map is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum DirtyInit {
    /// Everything (sync `full` onto a target that must be zeroed).
    All,
    /// What is allocated above `base` (sync `top`, active commit).
    AllocatedAbove(Option<NodeRef>),
    /// Nothing (sync `none`).
    Nothing,
}

/// State of a mirror job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Mirror {
    pub source: NodeRef,
    pub target: NodeRef,
    pub filter: Option<NodeRef>,
    pub init: DirtyInit,
    pub buf_size: u64,
    pub granularity: u64,
    pub on_source_error: OnError,
    pub on_target_error: OnError,
    len: u64,
    dirty: Vec<(u64, u64)>,
    iter_pos: u64,
    phase: Phase,
    should_complete: bool,
    prepared: bool,
    in_drain: bool,
    ret: i32,
    last_pause: u64,
}

impl Mirror {
    /// Checks a restored mirror's own bookkeeping: a granularity
    /// `blockdev-mirror` accepts and a buffer to copy with.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        if !self.granularity.is_power_of_two()
            || !(512..=64 * 1024 * 1024).contains(&self.granularity)
            || self.buf_size == 0
        {
            return Err("a mirror with a granularity or buffer size it cannot have".into());
        }
        Ok(())
    }
    /// A mirror from `source` to `target`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: NodeRef,
        target: NodeRef,
        filter: Option<NodeRef>,
        init: DirtyInit,
        buf_size: u64,
        granularity: u64,
        on_source_error: OnError,
        on_target_error: OnError,
    ) -> Mirror {
        let granularity = if granularity == 0 {
            GRANULARITY
        } else {
            granularity
        };
        // As QEMU's mirror_start_job: the buffer is a whole number of
        // granularity chunks (`buf-size: 1` copies one chunk per batch).
        let buf_size = if buf_size == 0 { BUF_SIZE } else { buf_size };
        Mirror {
            source,
            target,
            filter,
            init,
            buf_size: buf_size.div_ceil(granularity) * granularity,
            granularity,
            on_source_error,
            on_target_error,
            len: 0,
            dirty: Vec::new(),
            iter_pos: 0,
            phase: Phase::Init,
            should_complete: false,
            prepared: false,
            in_drain: false,
            ret: 0,
            last_pause: 0,
        }
    }
}

fn st(m: &JobManager, j: JobRef) -> &Mirror {
    match &m.job(j).work {
        super::Work::Mirror(b) => b,
        _ => unreachable!("not a mirror job"),
    }
}

fn st_mut(m: &mut JobManager, j: JobRef) -> &mut Mirror {
    match &mut m.job_mut(j).work {
        super::Work::Mirror(b) => b,
        _ => unreachable!("not a mirror job"),
    }
}

fn dirty_count(extents: &[(u64, u64)]) -> u64 {
    extents.iter().map(|&(_, l)| l).sum()
}

pub(crate) fn step(m: &mut JobManager, j: JobRef) -> Wait {
    loop {
        match st(m, j).phase {
            Phase::Init => {
                let (source, target, init, gran) = {
                    let s = st(m, j);
                    (s.source, s.target, s.init, s.granularity)
                };
                let len = m.graph.node(source).size;
                // mirror_run: only an active commit, whose target is its
                // base, may have a target of another size.
                let into_base = matches!(init, DirtyInit::AllocatedAbove(Some(b)) if b == target);
                if !into_base && m.graph.node(target).size != len {
                    st_mut(m, j).phase = Phase::LoopTop;
                    return Wait::Done(
                        -crate::model::EINVAL,
                        Some("Source and target image have different sizes".into()),
                    );
                }
                let mut dirty = Vec::new();
                match init {
                    DirtyInit::All => add_extent(&mut dirty, 0, len),
                    DirtyInit::AllocatedAbove(base) => {
                        let mut off = 0;
                        while off < len {
                            let n = gran.min(len - off);
                            if m.graph.allocated_above(source, base, off, n) {
                                add_extent(&mut dirty, off, n);
                            }
                            off += n;
                        }
                    }
                    DirtyInit::Nothing => {}
                }
                let now = m.now;
                let s = st_mut(m, j);
                s.len = len;
                s.dirty = dirty;
                s.last_pause = now;
                s.phase = Phase::LoopTop;
            }
            Phase::LoopTop => {
                let s = st_mut(m, j);
                if s.ret < 0 {
                    return Wait::Done(s.ret, None);
                }
                s.phase = Phase::LoopBody;
                return Wait::PausePoint;
            }
            Phase::LoopBody => {
                if m.job(j).is_cancelled() {
                    return Wait::Done(0, None);
                }
                let cnt = dirty_count(&st(m, j).dirty);
                super::set_remaining(m, j, cnt);
                let mut delay = 0;
                let delta = m.now.saturating_sub(st(m, j).last_pause);
                if delta < SLICE_TIME_NS && m.job(j).iostatus == IoStatus::Ok && cnt != 0 {
                    delay = iteration(m, j);
                    if !m.job_alive(j) {
                        return Wait::Done(0, None);
                    }
                }
                let mut should_complete = false;
                let mut cnt_now = cnt;
                if cnt == 0 {
                    if !m.job(j).status.is_ready() {
                        m.transition_to_ready(j);
                    }
                    should_complete = st(m, j).should_complete || m.job(j).cancelled;
                    cnt_now = dirty_count(&st(m, j).dirty);
                }
                if cnt_now == 0 && should_complete {
                    let source = st(m, j).source;
                    st_mut(m, j).in_drain = true;
                    m.drained_begin(source);
                    return Wait::Done(0, None);
                }
                st_mut(m, j).phase = Phase::AfterSleep;
                if m.job(j).status.is_ready() && !should_complete {
                    if cnt_now == 0 {
                        return Wait::Sleep(SLICE_TIME_NS);
                    }
                } else {
                    return Wait::Sleep(delay);
                }
            }
            Phase::AfterSleep => {
                let now = m.now;
                let s = st_mut(m, j);
                s.last_pause = now;
                s.phase = Phase::LoopTop;
            }
        }
    }
}

/// `mirror_iteration`: copies one batch of consecutive dirty data starting
/// at the dirty iterator; returns the rate limiter's delay.
fn iteration(m: &mut JobManager, j: JobRef) -> u64 {
    let (start, batch_end) = {
        let s = st(m, j);
        let first = s
            .dirty
            .iter()
            .find(|&&(o, l)| o + l > s.iter_pos)
            .or_else(|| s.dirty.first())
            .copied();
        let Some((o, l)) = first else {
            return 0;
        };
        let start = o.max(if o + l > s.iter_pos { s.iter_pos } else { o });
        let start = start - start % s.granularity;
        let start = start.max(o);
        (start, (start + s.buf_size).min(o + l))
    };
    let (source, target) = (st(m, j).source, st(m, j).target);
    let mut delay = 0;
    let mut off = start;
    let mut errors: Vec<(bool, i32)> = Vec::new();
    while off < batch_end {
        let n = MAX_IO_BYTES.min(batch_end - off);
        let res = match m.graph.status(source, off, n) {
            Status::Zero => m.graph.write_zeroes(target, off, n).map_err(|e| (false, e)),
            Status::Unallocated => m.graph.discard(target, off, n).map_err(|e| (false, e)),
            Status::Data => m
                .graph
                .read(source, off, n)
                .map_err(|e| (true, e))
                .and_then(|_| m.graph.write(target, off, n).map_err(|e| (false, e))),
        };
        match res {
            Ok(()) => {
                remove(&mut st_mut(m, j).dirty, off, n);
                super::progress_update(m, j, n);
            }
            Err(e) => errors.push(e),
        }
        let now = m.now;
        delay = m.job_mut(j).rate_delay(now, n);
        off += n;
    }
    st_mut(m, j).iter_pos = batch_end;
    if !errors.is_empty() {
        delay = delay.max(super::FAILED_IO_NS);
    }
    for (is_read, errno) in errors {
        let policy = if is_read {
            st(m, j).on_source_error
        } else {
            st(m, j).on_target_error
        };
        if m.error_action(j, policy, is_read, errno) == ErrorAction::Report && st(m, j).ret >= 0 {
            st_mut(m, j).ret = -errno;
        }
    }
    delay
}

fn remove(extents: &mut Vec<(u64, u64)>, off: u64, len: u64) {
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

/// `mirror_complete`.
pub(crate) fn complete_hook(m: &mut JobManager, j: JobRef) -> Result<()> {
    if !m.job(j).status.is_ready() {
        return Err(Error::generic(format!(
            "The active block job '{}' cannot be completed",
            m.job(j).id.as_deref().unwrap_or("")
        )));
    }
    st_mut(m, j).should_complete = true;
    if !m.job(j).paused {
        m.enter(j);
    }
    Ok(())
}

/// `mirror_exit_common` (the `prepare` and `abort` hooks): the filter leaves
/// the graph inside drained sections; on success the target would take the
/// source's place.
pub(crate) fn exit_common(m: &mut JobManager, j: JobRef) -> i32 {
    if st(m, j).prepared {
        return 0;
    }
    st_mut(m, j).prepared = true;
    let abort = m.job(j).ret < 0;
    let (source, target, filter, should_complete, in_drain) = {
        let s = st(m, j);
        (s.source, s.target, s.filter, s.should_complete, s.in_drain)
    };
    if let Some(f) = filter {
        m.drained_begin(f);
    }
    if should_complete && !abort {
        m.drained_begin(target);
        m.drained_end(target);
    }
    m.detach_job_links(j);
    if let Some(f) = filter
        && let Some(c) = m.filter_child(f)
    {
        m.replace_node(f, c, None);
    }
    if in_drain {
        m.drained_end(source);
        st_mut(m, j).in_drain = false;
    }
    if let Some(f) = filter {
        m.drained_end(f);
        m.remove_filter_node(f);
        st_mut(m, j).filter = None;
    }
    0
}

pub(crate) fn free(m: &mut JobManager, j: JobRef) {
    let (source, filter, in_drain) = {
        let s = st(m, j);
        (s.source, s.filter, s.in_drain)
    };
    if in_drain {
        m.drained_end(source);
    }
    if let Some(f) = filter {
        st_mut(m, j).filter = None;
        if let Some(c) = m.filter_child(f) {
            m.replace_node(f, c, None);
        }
        m.remove_filter_node(f);
    }
}
