//! `blockdev-mirror` and active `block-commit`: QEMU 7.2's `mirror_run`.
//!
//! Each loop passes a pause point, recomputes the remaining work, copies one
//! batch of dirty data (up to the 16 MiB buffer, in 1 MiB requests), then
//! sleeps for the rate limiter's delay. Once nothing is dirty the job becomes
//! ready and wakes every 100 ms until it is completed or cancelled; a soft
//! cancel of a ready job finishes it without switching to the target.

use serde::{Deserialize, Serialize};

use crate::block::{Graph, NodeRef, Role, Status, add_extent, remove_extent};
use crate::driver::{Cx, Entry, JobDriver, Prepared, Wait};
use crate::error::{Error, Result};
use crate::model::{ErrorAction, IoStatus, OnError};
use crate::options::MirrorCopyMode;
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
    /// After a sleep for the rate limiter (QEMU 10.0 may sleep again).
    AfterRateSleep,
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

/// What becomes of the target's backing chain when the mirror ends
/// (`BlockMirrorBackingMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum BackingMode {
    /// As it is (`blockdev-mirror`, active commit).
    Leave,
    /// The node given (the source for sync `none`, the source's backing
    /// node for `top`, none for `full`), as `drive-mirror` creating its
    /// target does.
    Source(Option<NodeRef>),
    /// Opened from the target image's backing file (`drive-mirror` onto an
    /// existing target).
    Open,
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
    /// The target's backing chain at the end.
    pub backing_mode: BackingMode,
    len: u64,
    dirty: Vec<(u64, u64)>,
    iter_pos: u64,
    phase: Phase,
    should_complete: bool,
    prepared: bool,
    in_drain: bool,
    ret: i32,
    last_pause: u64,
    /// `copy-mode` (changed by `block-job-change`).
    pub copy_mode: MirrorCopyMode,
    /// `actively-synced` (QEMU 8.2+): a mirror in write-blocking mode
    /// that found nothing dirty and nothing in flight since its last error.
    actively_synced: bool,
}

impl Mirror {
    /// Bytes still dirty (what its dirty bitmap counts).
    pub fn dirty_bytes(&self) -> u64 {
        dirty_count(&self.dirty)
    }

    /// Checks a restored mirror's own bookkeeping: a granularity
    /// `blockdev-mirror` accepts and a buffer to copy with.
    fn check_state(&self) -> std::result::Result<(), String> {
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
            backing_mode: BackingMode::Leave,
            len: 0,
            dirty: Vec::new(),
            iter_pos: 0,
            phase: Phase::Init,
            should_complete: false,
            prepared: false,
            in_drain: false,
            ret: 0,
            last_pause: 0,
            copy_mode: MirrorCopyMode::Background,
            actively_synced: false,
        }
    }
}

fn dirty_count(extents: &[(u64, u64)]) -> u64 {
    extents.iter().map(|&(_, l)| l).sum()
}

impl JobDriver for Mirror {
    /// `mirror_run`.
    fn run(&mut self, cx: &mut Cx<'_>, _entry: Entry) -> Wait {
        loop {
            match self.phase {
                Phase::Init => {
                    let len = cx.graph().node(self.source).size;
                    // mirror_run: only an active commit, whose target is its
                    // base, may have a target of another size.
                    let into_base =
                        matches!(self.init, DirtyInit::AllocatedAbove(Some(b)) if b == self.target);
                    if !into_base && cx.graph().node(self.target).size != len {
                        self.phase = Phase::LoopTop;
                        return Wait::Done(
                            -crate::model::EINVAL,
                            Some("Source and target image have different sizes".into()),
                        );
                    }
                    let mut dirty = Vec::new();
                    match self.init {
                        DirtyInit::All => add_extent(&mut dirty, 0, len),
                        DirtyInit::AllocatedAbove(base) => {
                            let mut off = 0;
                            while off < len {
                                let n = self.granularity.min(len - off);
                                if cx.graph().allocated_above(self.source, base, off, n) {
                                    add_extent(&mut dirty, off, n);
                                }
                                off += n;
                            }
                        }
                        DirtyInit::Nothing => {}
                    }
                    self.len = len;
                    self.dirty = dirty;
                    // An empty source is in sync from the start, in any mode.
                    self.actively_synced = len == 0;
                    self.last_pause = cx.now();
                    self.phase = Phase::LoopTop;
                }
                Phase::LoopTop => {
                    if self.ret < 0 {
                        return Wait::Done(self.ret, None);
                    }
                    self.phase = Phase::LoopBody;
                    return Wait::PausePoint;
                }
                Phase::LoopBody => {
                    if cx.job().is_cancelled() {
                        return Wait::Done(0, None);
                    }
                    let cnt = dirty_count(&self.dirty);
                    cx.set_remaining(cnt);
                    let mut delay = 0;
                    let delta = cx.now().saturating_sub(self.last_pause);
                    if delta < SLICE_TIME_NS && cx.job().iostatus == IoStatus::Ok && cnt != 0 {
                        delay = self.iteration(cx);
                    }
                    let mut should_complete = false;
                    let mut cnt_now = cnt;
                    if cnt == 0 {
                        if !cx.job().status.is_ready() {
                            cx.transition_to_ready();
                        }
                        if self.copy_mode != MirrorCopyMode::Background {
                            self.actively_synced = true;
                        }
                        should_complete = self.should_complete || cx.job().cancelled;
                        cnt_now = dirty_count(&self.dirty);
                    }
                    if cnt_now == 0 && should_complete {
                        self.in_drain = true;
                        cx.drained_begin(self.source);
                        return Wait::Done(0, None);
                    }
                    self.phase = Phase::AfterSleep;
                    if cx.job().status.is_ready() && !should_complete {
                        if cnt_now == 0 {
                            return Wait::Sleep(SLICE_TIME_NS);
                        }
                    } else {
                        self.phase = Phase::AfterRateSleep;
                        return Wait::Sleep(delay);
                    }
                }
                Phase::AfterRateSleep => {
                    if let Some(left) = cx.rate_sleep_left() {
                        return Wait::Sleep(left);
                    }
                    self.phase = Phase::AfterSleep;
                }
                Phase::AfterSleep => {
                    self.last_pause = cx.now();
                    self.phase = Phase::LoopTop;
                }
            }
        }
    }

    /// `mirror_cancel`: a soft cancel of a ready mirror completes it without
    /// switching to the target.
    fn cancel(&mut self, cx: &mut Cx<'_>, force: bool) -> bool {
        force || !cx.job().status.is_ready()
    }

    /// `mirror_complete`.
    fn complete(&mut self, cx: &mut Cx<'_>) -> Option<Result<()>> {
        if !cx.job().status.is_ready() {
            return Some(Err(Error::generic(format!(
                "The active block job '{}' cannot be completed",
                cx.job().id.as_deref().unwrap_or("")
            ))));
        }
        self.should_complete = true;
        if !cx.job().paused {
            cx.kick();
        }
        Some(Ok(()))
    }

    fn prepare(&mut self, cx: &mut Cx<'_>) -> Prepared {
        Prepared::Ret(self.exit_common(cx))
    }

    fn abort(&mut self, cx: &mut Cx<'_>) {
        self.exit_common(cx);
    }

    fn free(&mut self, cx: &mut Cx<'_>) {
        if self.in_drain {
            cx.drained_end(self.source);
        }
        if let Some(f) = self.filter.take() {
            if let Some(c) = cx.filter_child(f) {
                cx.replace_node(f, c, &[]);
            }
            cx.remove_filter_node(f);
        }
    }

    /// The mirror's requests need not be waited for: a drained section
    /// over its nodes pauses it at its next pause point.
    fn drained_poll(&self) -> bool {
        false
    }

    fn check(&self, _graph: &Graph) -> std::result::Result<(), String> {
        self.check_state()
    }

    fn filter(&self) -> Option<NodeRef> {
        self.filter
    }

    /// A guest write to the source dirties the chunks it touches: the
    /// mirror copies them again (a ready mirror within its next 100 ms).
    fn guest_write(&mut self, _cx: &mut Cx<'_>, path: &[NodeRef], off: u64, len: u64) {
        // Before the job starts its dirty map is made from the whole image.
        if !path.contains(&self.source) || self.phase == Phase::Init {
            return;
        }
        let g = self.granularity;
        let start = off - off % g;
        let end = (off + len).div_ceil(g).saturating_mul(g).min(self.len);
        add_extent(&mut self.dirty, start, end - start);
    }

    /// `mirror_change`: only background → write-blocking changes anything
    /// (the job sees it at its next loop pass; it is not woken).
    fn change(&mut self, copy_mode: MirrorCopyMode) -> Option<Result<()>> {
        if copy_mode == self.copy_mode {
            return Some(Ok(()));
        }
        if copy_mode != MirrorCopyMode::WriteBlocking {
            return Some(Err(Error::generic(format!(
                "Change to copy mode '{copy_mode}' is not implemented"
            ))));
        }
        self.copy_mode = copy_mode;
        Some(Ok(()))
    }

    fn actively_synced(&self) -> Option<bool> {
        Some(self.actively_synced)
    }

    fn backend_nodes(&self) -> Vec<NodeRef> {
        vec![self.target]
    }

    fn node_refs(&self) -> Vec<NodeRef> {
        let base = match self.init {
            DirtyInit::AllocatedAbove(b) => b,
            _ => None,
        };
        [Some(self.source), Some(self.target), self.filter, base]
            .into_iter()
            .flatten()
            .collect()
    }
}

impl Mirror {
    /// `mirror_iteration`: copies one batch of consecutive dirty data
    /// starting at the dirty iterator; returns the rate limiter's delay.
    fn iteration(&mut self, cx: &mut Cx<'_>) -> u64 {
        let first = self
            .dirty
            .iter()
            .find(|&&(o, l)| o + l > self.iter_pos)
            .or_else(|| self.dirty.first())
            .copied();
        let Some((o, l)) = first else {
            return 0;
        };
        let start = o.max(if o + l > self.iter_pos {
            self.iter_pos
        } else {
            o
        });
        let start = (start - start % self.granularity).max(o);
        let batch_end = (start + self.buf_size).min(o + l);
        let (source, target) = (self.source, self.target);
        let mut delay = 0;
        let mut off = start;
        let mut errors: Vec<(bool, i32)> = Vec::new();
        while off < batch_end {
            let n = MAX_IO_BYTES.min(batch_end - off);
            let g = cx.graph_mut();
            let res = match g.status(source, off, n) {
                Status::Zero => g.write_zeroes(target, off, n).map_err(|e| (false, e)),
                Status::Unallocated => g.discard(target, off, n).map_err(|e| (false, e)),
                Status::Data => g
                    .read(source, off, n)
                    .map_err(|e| (true, e))
                    .and_then(|_| g.write(target, off, n).map_err(|e| (false, e))),
            };
            match res {
                Ok(()) => {
                    remove_extent(&mut self.dirty, off, n);
                    cx.progress(n);
                }
                Err(e) => errors.push(e),
            }
            delay = cx.rate_delay(n);
            off += n;
        }
        self.iter_pos = batch_end;
        // Requests held by a throttle group keep the job waiting.
        delay = delay.max(cx.throttle_delay());
        if !errors.is_empty() {
            delay = delay.max(super::FAILED_IO_NS);
            self.actively_synced = false;
        }
        for (is_read, errno) in errors {
            let policy = if is_read {
                self.on_source_error
            } else {
                self.on_target_error
            };
            if cx.error_action(policy, is_read, errno) == ErrorAction::Report && self.ret >= 0 {
                self.ret = -errno;
            }
        }
        delay
    }

    /// `mirror_exit_common` (the `prepare` and `abort` callbacks): the
    /// filter leaves the graph inside drained sections; on success the
    /// target would take the source's place.
    fn exit_common(&mut self, cx: &mut Cx<'_>) -> i32 {
        if self.prepared {
            return 0;
        }
        self.prepared = true;
        let abort = cx.job().ret < 0;
        let filter = self.filter;
        if let Some(f) = filter {
            cx.drained_begin(f);
        }
        if !abort {
            match self.backing_mode {
                BackingMode::Leave => {}
                BackingMode::Source(base) => {
                    if cx.graph().child(self.target, Role::Backing) != base {
                        cx.set_backing(self.target, base);
                    }
                }
                BackingMode::Open => cx.open_backing(self.target),
            }
        }
        if self.should_complete && !abort {
            cx.drained_begin(self.target);
            // The target takes the source's place for its BlockBackends.
            cx.replace_backends(self.source, self.target);
            cx.drained_end(self.target);
        }
        cx.detach_nodes();
        if let Some(f) = filter
            && let Some(c) = cx.filter_child(f)
        {
            cx.replace_node(f, c, &[]);
        }
        if self.in_drain {
            cx.drained_end(self.source);
            self.in_drain = false;
        }
        if let Some(f) = filter {
            cx.drained_end(f);
            cx.remove_filter_node(f);
            self.filter = None;
        }
        0
    }
}
