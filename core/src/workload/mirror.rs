//! `blockdev-mirror` and active `block-commit`: QEMU 7.2's `mirror_run`.
//!
//! Each loop passes a pause point, recomputes the remaining work, copies one
//! batch of dirty data (up to the 16 MiB buffer; data in requests of at most
//! 1 MiB, a run of zeroes as one request), then sleeps for the rate
//! limiter's delay. Requests through `file` nodes complete later (QEMU's
//! thread pool): their failures show once the job waits for its requests. Once nothing is dirty the job becomes
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
/// Largest data request with the default buffer (`MAX_IO_BYTES`; a larger
/// buffer allows a sixteenth of it).
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

crate::snapshot::codec::codec_enum!(Phase {
    Init,
    LoopTop,
    LoopBody,
    AfterSleep,
    AfterRateSleep
});

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

crate::snapshot::codec::codec_enum!(DirtyInit { All, AllocatedAbove(x0), Nothing });

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

crate::snapshot::codec::codec_enum!(BackingMode { Leave, Source(x0), Open });

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
    /// Requests issued through `file` nodes that have not completed yet.
    #[serde(default)]
    in_flight: Vec<InFlight>,
}

crate::snapshot::codec::codec_struct!(Mirror {
    source,
    target,
    filter,
    init,
    buf_size,
    granularity,
    on_source_error,
    on_target_error,
    backing_mode,
    len,
    dirty,
    iter_pos,
    phase,
    should_complete,
    prepared,
    in_drain,
    ret,
    last_pause,
    copy_mode,
    actively_synced,
    in_flight
});

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
        if self
            .in_flight
            .iter()
            .any(|op| op.len == 0 || op.off.checked_add(op.len).is_none_or(|end| end > self.len))
        {
            return Err("a mirror with a request in flight outside its source".into());
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
            in_flight: Vec::new(),
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
                        // immediate_exit waits for the requests in flight.
                        self.land(cx);
                        return Wait::Done(self.ret, None);
                    }
                    self.phase = Phase::LoopBody;
                    return Wait::PausePoint;
                }
                Phase::LoopBody => {
                    if cx.job().is_cancelled() {
                        self.land(cx);
                        return Wait::Done(0, None);
                    }
                    let cnt = dirty_count(&self.dirty);
                    cx.set_remaining(self.failing_bytes_in_flight() + cnt);
                    let mut delay = 0;
                    let delta = cx.now().saturating_sub(self.last_pause);
                    if delta < SLICE_TIME_NS && cx.job().iostatus == IoStatus::Ok {
                        let buf_full =
                            self.buf_chunks_in_flight() >= self.buf_size / self.granularity;
                        if !self.in_flight.is_empty()
                            && (self.in_flight.len() >= MAX_IN_FLIGHT || buf_full || cnt == 0)
                        {
                            // mirror_wait_for_free_in_flight_slot, then the
                            // loop starts over.
                            self.phase = Phase::LoopTop;
                            if self.land(cx) {
                                if self.ret < 0 {
                                    continue;
                                }
                                return Wait::Sleep(super::FAILED_IO_NS);
                            }
                            continue;
                        } else if cnt != 0 {
                            delay = self.iteration(cx);
                        }
                    }
                    let mut should_complete = false;
                    let mut cnt_now = cnt;
                    if cnt == 0 && self.in_flight.is_empty() {
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
                        // In sync (completed, or cancelled once ready, which
                        // leaves the target a copy too): in host-files mode
                        // the host copies the data.
                        let base = match self.init {
                            DirtyInit::All => Some(None),
                            DirtyInit::AllocatedAbove(base) => Some(base),
                            DirtyInit::Nothing => None,
                        };
                        if let Some(base) = base {
                            let (source, target) = (self.source, self.target);
                            cx.graph_mut().copy_data(source, None, base, target, false);
                        }
                        self.in_drain = true;
                        cx.drained_begin(self.source);
                        return Wait::Done(0, None);
                    }
                    self.phase = Phase::AfterSleep;
                    if cx.job().status.is_ready() && !should_complete {
                        if cnt_now == 0 && self.in_flight.is_empty() {
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

    /// The coroutine parks at a pause point: meanwhile its requests in
    /// flight complete.
    fn pause(&mut self, cx: &mut Cx<'_>) {
        self.land(cx);
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

/// How many of its requests a mirror keeps in flight (`MAX_IN_FLIGHT`).
pub const MAX_IN_FLIGHT: usize = 16;

/// One of the mirror's requests still in flight: one that went through a
/// `file` node, which completes in a later turn of the main loop (see
/// [`Graph::reaches_file`]). Its success was counted when it was issued;
/// a failure is seen when the request completes ([`Mirror::land`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct InFlight {
    off: u64,
    len: u64,
    /// A copy (it holds buffer space until it completes).
    copy: bool,
    /// The failure it completes with: a read (else a write) and its errno.
    error: Option<(bool, i32)>,
}

crate::snapshot::codec::codec_struct!(InFlight {
    off,
    len,
    copy,
    error
});

/// How a failed request's error reaches the mirror (`mirror_read_complete`,
/// `mirror_write_complete`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Completion {
    /// Within `mirror_perform`: nothing yielded before the failure
    /// (blkdebug's `immediately` on a path without thread-pool I/O), so the
    /// iteration sees it before its next request.
    AtOnce,
    /// After one yield (blkdebug without `immediately`): a bottom half,
    /// before the job's next zero-length sleep ends.
    NextTurn,
    /// After thread-pool I/O (a copy whose read went to a file): once the
    /// job waits for its requests or really sleeps.
    Later,
}

impl Mirror {
    /// Bytes of the requests in flight that will fail: with the dirty bytes,
    /// what is left to copy (`bytes_in_flight` counts the successful ones
    /// too, but qjob counted those as done when it issued them).
    fn failing_bytes_in_flight(&self) -> u64 {
        self.in_flight
            .iter()
            .filter(|op| op.error.is_some())
            .map(|op| op.len)
            .sum()
    }

    /// Granularity chunks of buffer the copies in flight hold.
    fn buf_chunks_in_flight(&self) -> u64 {
        self.in_flight
            .iter()
            .filter(|op| op.copy)
            .map(|op| op.len.div_ceil(self.granularity))
            .sum()
    }

    /// A failed request completes: its range is dirty again and the error
    /// policy acts (`mirror_write_complete` / `mirror_read_complete`).
    fn fail_request(&mut self, cx: &mut Cx<'_>, off: u64, len: u64, is_read: bool, errno: i32) {
        add_extent(&mut self.dirty, off, len);
        self.actively_synced = false;
        let policy = if is_read {
            self.on_source_error
        } else {
            self.on_target_error
        };
        if cx.error_action(policy, is_read, errno) == ErrorAction::Report && self.ret >= 0 {
            self.ret = -errno;
        }
    }

    /// The requests in flight complete (the job waited for them, slept,
    /// or parked); returns whether any of them failed.
    fn land(&mut self, cx: &mut Cx<'_>) -> bool {
        let mut failed = false;
        for op in std::mem::take(&mut self.in_flight) {
            if let Some((is_read, errno)) = op.error {
                self.fail_request(cx, op.off, op.len, is_read, errno);
                failed = true;
            }
        }
        failed
    }

    /// `mirror_iteration`: copies one batch of consecutive dirty data
    /// starting at the dirty iterator, one request per run of one block
    /// status (data in requests of at most `max_io_bytes`; zeroes or
    /// unallocated runs as one write-zeroes or discard); returns the rate
    /// limiter's delay.
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
        let gran = self.granularity;
        let max_io = (self.buf_size / MAX_IN_FLIGHT as u64).max(MAX_IO_BYTES);
        let buf_chunks = self.buf_size / gran;
        let source_late = cx.graph().reaches_file(source);
        let target_late = cx.graph().reaches_file(target);
        let mut delay = 0;
        let mut off = start;
        let mut next_turn: Vec<(u64, u64, bool, i32)> = Vec::new();
        let mut failed = false;
        self.iter_pos = batch_end;
        while off < batch_end {
            let g = cx.graph();
            let run = g.status_run(source, off, batch_end - off);
            let status = g.status(source, off, run);
            let mut n = if status == Status::Data {
                run.min(max_io)
            } else {
                run
            };
            n -= n % gran;
            let status = if n < gran {
                n = gran;
                Status::Data
            } else {
                status
            };
            let n = n.min(self.len.saturating_sub(off));
            if n == 0 {
                break;
            }
            let copy = status == Status::Data;
            // The iteration waits for a free slot, and a copy for buffer
            // space, while its earlier requests are in flight.
            if self.in_flight.len() >= MAX_IN_FLIGHT
                || (copy && self.buf_chunks_in_flight() + n.div_ceil(gran) > buf_chunks)
            {
                failed |= self.land(cx);
            }
            if self.ret < 0 {
                delay = 0;
                break;
            }
            let g = cx.graph_mut();
            let res = match status {
                Status::Zero => g.write_zeroes(target, off, n).map_err(|e| (false, e)),
                Status::Unallocated => g.discard(target, off, n).map_err(|e| (false, e)),
                Status::Data => g
                    .read(source, off, n)
                    .map_err(|e| (true, e))
                    .and_then(|_| g.write(target, off, n).map_err(|e| (false, e))),
            };
            let immediately = g.failed_immediately;
            remove_extent(&mut self.dirty, off, n);
            match res {
                Ok(()) => {
                    cx.progress(n);
                    if target_late || (copy && source_late) {
                        self.in_flight.push(InFlight {
                            off,
                            len: n,
                            copy,
                            error: None,
                        });
                    }
                }
                Err((is_read, errno)) => {
                    let completion = if copy && !is_read && source_late {
                        Completion::Later
                    } else if immediately {
                        Completion::AtOnce
                    } else {
                        Completion::NextTurn
                    };
                    match completion {
                        Completion::AtOnce => {
                            self.fail_request(cx, off, n, is_read, errno);
                            failed = true;
                        }
                        Completion::NextTurn => next_turn.push((off, n, is_read, errno)),
                        Completion::Later => self.in_flight.push(InFlight {
                            off,
                            len: n,
                            copy,
                            error: Some((is_read, errno)),
                        }),
                    }
                }
            }
            delay = cx.rate_delay(n);
            off += n;
        }
        // Requests held by a throttle group keep the job waiting.
        delay = delay.max(cx.throttle_delay());
        for &(off, n, is_read, errno) in &next_turn {
            self.fail_request(cx, off, n, is_read, errno);
        }
        if failed || !next_turn.is_empty() {
            delay = delay.max(super::FAILED_IO_NS);
        }
        // While the job sleeps, the thread pool's requests complete.
        if delay > 0 && self.land(cx) {
            delay = delay.max(super::FAILED_IO_NS);
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
