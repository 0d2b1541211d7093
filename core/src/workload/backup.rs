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

use crate::block::{Driver, Graph, NodeRef, add_extent, remove_extent};

/// Block-copy's cluster size for every node qjob simulates.
const CLUSTER: u64 = 64 * 1024;
use crate::driver::{Cx, Entry, JobDriver, Wait};
use crate::model::{ErrorAction, OnError};
use crate::options::BitmapSyncMode;
use crate::ratelimit::RateLimit;

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
    /// What the job's dirty bitmap has dirty (`bitmap`, `incremental`).
    Bitmap,
}

crate::snapshot::codec::codec_enum!(Sync {
    Full,
    Top,
    None,
    Bitmap
});

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Init,
    StartCall,
    WaitCall,
    SyncNone,
}

crate::snapshot::codec::codec_enum!(Phase {
    Init,
    StartCall,
    WaitCall,
    SyncNone
});

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum CallResult {
    Ok,
    Cancelled,
    Error { is_read: bool, errno: i32 },
}

crate::snapshot::codec::codec_enum!(CallResult { Ok, Cancelled, Error { is_read, errno } });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum CallState {
    Running,
    Sleeping,
    Done(CallResult),
}

crate::snapshot::codec::codec_enum!(CallState { Running, Sleeping, Done(x0) });

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Call {
    pos: u64,
    state: CallState,
    failures: u32,
    first_error: Option<(bool, i32)>,
}

crate::snapshot::codec::codec_struct!(Call {
    pos,
    state,
    failures,
    first_error
});

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
    /// When the bitmap is synchronised (with a bitmap only).
    #[serde(default)]
    pub bitmap_mode: Option<BitmapSyncMode>,
}

crate::snapshot::codec::codec_struct!(Backup {
    source,
    target,
    filter,
    len,
    chunk,
    max_workers,
    sync,
    on_source_error,
    on_target_error,
    dirty,
    phase,
    call,
    speed,
    limit,
    trivial,
    bitmap,
    bitmap_mode
});

impl Backup {
    /// Checks a restored backup's own bookkeeping.
    fn check_state(&self, source_size: u64) -> Result<(), String> {
        // A chunk is 64 KiB to 1 MiB, or one larger cluster (a power of 2).
        let chunk_ok = (64 * 1024..=CHUNK).contains(&self.chunk)
            || (self.chunk > CHUNK && self.chunk.is_power_of_two());
        if !chunk_ok || self.max_workers == 0 {
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
            bitmap_mode: None,
        }
    }
}

impl JobDriver for Backup {
    /// `backup_run` / `backup_loop`.
    fn run(&mut self, cx: &mut Cx<'_>, _entry: Entry) -> Wait {
        loop {
            match self.phase {
                Phase::Init => {
                    self.dirty.clear();
                    let top = cx.graph().skip_filters(self.source);
                    if self.sync == Sync::Top
                        && let Driver::Qcow2 = cx.graph().node(top).driver
                    {
                        // block_copy_reset_unallocated: only the clusters the
                        // top layer (below the source's filters) holds stay to
                        // copy.
                        let allocated = cx.graph().node(top).allocated.clone();
                        for (o, l) in allocated {
                            let start = o - o % CLUSTER;
                            let end = (o + l).next_multiple_of(CLUSTER).min(self.len);
                            add_extent(&mut self.dirty, start, end.saturating_sub(start));
                        }
                    } else if self.sync != Sync::Bitmap {
                        add_extent(&mut self.dirty, 0, self.len);
                    }
                    // The job's bitmap is frozen (a successor records the
                    // writes from now on); a bitmap backup copies what it
                    // has dirty, in whole clusters (backup_init_bcs_bitmap).
                    let frozen = match &self.bitmap {
                        Some(name) => cx.graph_mut().freeze_bitmap(self.source, name),
                        None => Vec::new(),
                    };
                    if self.sync == Sync::Bitmap {
                        for (o, l) in frozen {
                            let start = o - o % CLUSTER;
                            let end = (o + l).next_multiple_of(CLUSTER).min(self.len);
                            add_extent(&mut self.dirty, start, end.saturating_sub(start));
                        }
                    }
                    let remaining = self.dirty.iter().map(|&(_, l)| l).sum();
                    cx.set_remaining(remaining);
                    self.phase = if self.sync == Sync::None {
                        Phase::SyncNone
                    } else {
                        Phase::StartCall
                    };
                    if self.sync == Sync::Top {
                        // One pass over the allocation status, with a pause point.
                        return Wait::PausePoint;
                    }
                }
                Phase::SyncNone => {
                    if cx.job().is_cancelled() {
                        return Wait::Done(0, None);
                    }
                    return Wait::Yield;
                }
                Phase::StartCall => {
                    self.call = Some(Call {
                        pos: 0,
                        state: CallState::Running,
                        failures: 0,
                        first_error: None,
                    });
                    self.phase = Phase::WaitCall;
                    self.run_call(cx);
                }
                Phase::WaitCall => {
                    let state = self.call.as_ref().map(|c| c.state);
                    let Some(CallState::Done(result)) = state else {
                        if !cx.job().is_cancelled() {
                            return Wait::Yield;
                        }
                        self.cancel_call(cx);
                        return Wait::Done(0, None);
                    };
                    if cx.job().is_cancelled() {
                        return Wait::Done(0, None);
                    }
                    match result {
                        CallResult::Ok => {
                            // The copy is done: in host-files mode the host
                            // copies the data (a bitmap backup's dirty
                            // clusters are not on disk: nothing).
                            let layers = match self.sync {
                                Sync::Full => Some(None),
                                Sync::Top => Some(Some(1)),
                                Sync::None | Sync::Bitmap => None,
                            };
                            if let Some(layers) = layers {
                                let (source, target) = (self.source, self.target);
                                cx.graph_mut()
                                    .copy_data(source, layers, None, target, false);
                            }
                            return Wait::Done(0, None);
                        }
                        CallResult::Cancelled => self.phase = Phase::StartCall,
                        CallResult::Error { is_read, errno } => {
                            let policy = if is_read {
                                self.on_source_error
                            } else {
                                self.on_target_error
                            };
                            match cx.error_action(policy, is_read, errno) {
                                ErrorAction::Report => return Wait::Done(-errno, None),
                                ErrorAction::Stop => {
                                    self.phase = Phase::StartCall;
                                    return Wait::Yield;
                                }
                                ErrorAction::Ignore => {
                                    // Retry. QEMU's failing request completes
                                    // on a later main-loop iteration, so the
                                    // retry does too: the job yields once (an
                                    // error that never stops then loops
                                    // through the main loop, as in QEMU,
                                    // instead of hanging it).
                                    self.phase = Phase::StartCall;
                                    return Wait::Sleep(super::FAILED_IO_NS);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `backup_pause`: a running copy call is cancelled before the job parks.
    fn pause(&mut self, cx: &mut Cx<'_>) {
        let running = self
            .call
            .as_ref()
            .is_some_and(|c| !matches!(c.state, CallState::Done(_)));
        if running {
            self.cancel_call(cx);
        }
    }

    /// The copy call's rate-limit sleep ended.
    fn timer_fired(&mut self, cx: &mut Cx<'_>) {
        self.run_call(cx);
    }

    /// `backup_set_speed`: the copy engine takes the new speed and its
    /// sleeping call is kicked to recompute its delay.
    fn set_speed(&mut self, cx: &mut Cx<'_>, speed: u64) {
        self.speed = speed;
        if speed > 0 {
            self.limit.set_speed(speed);
        }
        let sleeping = self
            .call
            .as_ref()
            .is_some_and(|c| c.state == CallState::Sleeping);
        if sleeping {
            cx.stop_timer();
            self.run_call(cx);
        }
    }

    /// `backup_commit`: the bitmap is synchronised (its successor takes its
    /// place) unless its mode is `never`.
    fn commit(&mut self, cx: &mut Cx<'_>) {
        self.cleanup_sync_bitmap(cx, true);
    }

    /// `backup_abort`: the bitmap gets its successor merged back, or with
    /// mode `always` is synchronised and keeps what was not copied.
    fn abort(&mut self, cx: &mut Cx<'_>) {
        self.cleanup_sync_bitmap(cx, false);
    }

    /// `backup_clean`: the job lets go of its nodes (its target is free for
    /// other jobs while the job waits, concluded, for its dismiss), then the
    /// copy-before-write filter leaves the graph.
    fn clean(&mut self, cx: &mut Cx<'_>) {
        cx.detach_nodes();
        if let Some(filter) = self.filter.take() {
            cx.drop_filter(filter);
        }
    }

    /// The job object is freed (early fail, or a cancelled job never cleaned).
    fn free(&mut self, cx: &mut Cx<'_>) {
        self.clean(cx);
    }

    fn check(&self, graph: &Graph) -> Result<(), String> {
        self.check_state(graph.node(self.source).size)
    }

    fn filter(&self) -> Option<NodeRef> {
        self.filter
    }

    fn node_refs(&self) -> Vec<NodeRef> {
        [Some(self.source), Some(self.target), self.filter]
            .into_iter()
            .flatten()
            .collect()
    }

    fn bitmap(&self) -> Option<(NodeRef, &str)> {
        Some((self.source, self.bitmap.as_deref()?))
    }

    /// Copy-before-write: a guest write to the source over clusters still
    /// to copy copies them first (their old data), which counts as the
    /// job's progress and leaves nothing to copy there.
    fn guest_write(&mut self, cx: &mut Cx<'_>, path: &[NodeRef], off: u64, len: u64) {
        if path.contains(&self.source) {
            self.copy_before_write(cx, off, len);
        }
    }

    /// Another job's write through the backup's filter: copied first, as a
    /// guest write is.
    fn copy_before_write(&mut self, cx: &mut Cx<'_>, off: u64, len: u64) {
        if self.sync == Sync::None {
            return;
        }
        let start = off - off % CLUSTER;
        let end = (off + len)
            .div_ceil(CLUSTER)
            .saturating_mul(CLUSTER)
            .min(self.len);
        // The clusters still to copy there: their old data goes to the
        // target first (a write that dirties the target's bitmaps).
        let copied: Vec<(u64, u64)> = self
            .dirty
            .iter()
            .filter(|&&(o, l)| o < end && start < o + l)
            .map(|&(o, l)| (o.max(start), (o + l).min(end) - o.max(start)))
            .collect();
        remove_extent(&mut self.dirty, start, end.saturating_sub(start));
        let done: u64 = copied.iter().map(|&(_, l)| l).sum();
        for (o, l) in copied {
            cx.graph_mut().mark_written(self.target, o, l);
        }
        if done > 0 {
            cx.progress(done);
        }
    }
}

impl Backup {
    /// `backup_cleanup_sync_bitmap`.
    fn cleanup_sync_bitmap(&mut self, cx: &mut Cx<'_>, success: bool) {
        let Some(name) = &self.bitmap else { return };
        let mode = self.bitmap_mode.unwrap_or(BitmapSyncMode::OnSuccess);
        let sync = (success || mode == BitmapSyncMode::Always) && mode != BitmapSyncMode::Never;
        let left = (!success && mode == BitmapSyncMode::Always).then_some(&self.dirty[..]);
        cx.graph_mut()
            .thaw_bitmap(self.source, name, sync, left.unwrap_or(&[]));
    }

    /// Runs the copy call until it sleeps or finishes; when it finishes,
    /// its completion callback kicks the job.
    fn run_call(&mut self, cx: &mut Cx<'_>) {
        let trivial = *self.trivial.get_or_insert_with(|| {
            cx.graph().io_is_trivial(self.source) && cx.graph().io_is_trivial(self.target)
        });
        loop {
            let now = cx.now();
            let Some(call) = self.call.as_mut() else {
                return;
            };
            if matches!(call.state, CallState::Done(_)) {
                return;
            }
            // A failed request completes while the call yields (a sleep):
            // from then on the task pool reports the failure and the call
            // starts no more tasks (`block_copy_dirty_clusters`).
            if call.state == CallState::Sleeping
                && let Some((is_read, errno)) = call.first_error
            {
                self.finish_call(cx, CallResult::Error { is_read, errno });
                return;
            }
            call.state = CallState::Running;
            // Next dirty chunk at or after the call's position.
            let next = self.dirty.iter().find(|&&(o, l)| o + l > call.pos).copied();
            let Some((ext_off, ext_len)) = next else {
                let result = match call.first_error {
                    Some((is_read, errno)) => CallResult::Error { is_read, errno },
                    None => CallResult::Ok,
                };
                self.finish_call(cx, result);
                return;
            };
            if self.speed == 0 && call.failures == 0 && trivial {
                // Fast path: nothing can fail or sleep, so every remaining
                // dirty chunk is copied now, as chunk-by-chunk copying would.
                let pos = call.pos;
                let len = self.len;
                let mut done = 0;
                let mut copied = Vec::new();
                self.dirty.retain(|&(o, l)| {
                    if o + l > pos {
                        let start = o.max(pos);
                        done += (o + l).min(len) - start;
                        copied.push((start, (o + l).min(len) - start));
                        o < pos
                    } else {
                        true
                    }
                });
                if let Some(last) = self.dirty.last_mut()
                    && last.0 + last.1 > pos
                {
                    last.1 = pos - last.0;
                }
                call.pos = len;
                // The writes to the target (which cannot fail here) dirty
                // its bitmaps.
                for (o, l) in copied {
                    cx.graph_mut().mark_written(self.target, o, l);
                }
                cx.progress(done);
                continue;
            }
            if call.failures >= self.max_workers {
                let (is_read, errno) = call.first_error.expect("failures recorded");
                self.finish_call(cx, CallResult::Error { is_read, errno });
                return;
            }
            if self.speed != 0 {
                let delay = self.limit.calculate_delay(now, 0);
                if delay > 0 {
                    call.state = CallState::Sleeping;
                    cx.arm_timer(now + delay);
                    return;
                }
            }
            // The chunk: from the call's position, aligned to the chunk
            // size, within the dirty extent.
            let (off, len) = {
                let start = ext_off.max(call.pos);
                let start = (start - start % self.chunk).max(ext_off);
                let end = (start - start % self.chunk + self.chunk)
                    .min(ext_off + ext_len)
                    .min(self.len);
                // block_copy_block_status: a task stops where the source's
                // status turns (in whole clusters).
                let mut len = end - start;
                if !trivial {
                    let run = cx.graph().status_run(self.source, start, len);
                    let run = if start + run == self.len {
                        run.next_multiple_of(CLUSTER)
                    } else {
                        run - run % CLUSTER
                    };
                    len = len.min(run.max(CLUSTER));
                }
                (start, len)
            };
            if self.speed != 0 {
                self.limit.calculate_delay(now, len);
            }
            call.pos = off + len;
            let (source, target) = (self.source, self.target);
            let g = cx.graph_mut();
            let result = if g.reads_zeroes(source, off, len) {
                g.write_zeroes(target, off, len).map_err(|e| (false, e))
            } else {
                g.read(source, off, len)
                    .map_err(|e| (true, e))
                    .and_then(|_| g.write(target, off, len).map_err(|e| (false, e)))
            };
            match result {
                Ok(()) => {
                    remove_extent(&mut self.dirty, off, len);
                    cx.progress(len);
                }
                Err((is_read, errno)) => {
                    call.failures += 1;
                    if call.first_error.is_none() {
                        call.first_error = Some((is_read, errno));
                    }
                    // A request that fails at once sets the task pool's
                    // status before the next task would start.
                    if cx.graph().failed_immediately {
                        let (is_read, errno) = call.first_error.expect("just recorded");
                        self.finish_call(cx, CallResult::Error { is_read, errno });
                        return;
                    }
                }
            }
            // A request held by a throttle group: the call waits for it.
            let wait = cx.throttle_delay();
            if wait > 0 {
                if let Some(call) = self.call.as_mut() {
                    call.state = CallState::Sleeping;
                }
                cx.arm_timer(now + wait);
                return;
            }
        }
    }

    fn finish_call(&mut self, cx: &mut Cx<'_>, result: CallResult) {
        if let Some(call) = self.call.as_mut() {
            call.state = CallState::Done(result);
        }
        // backup_block_copy_callback: wake the job.
        if !cx.job().busy {
            cx.kick();
        }
    }

    /// `block_copy_call_cancel`: the call stops at once (its sleep is cut).
    fn cancel_call(&mut self, cx: &mut Cx<'_>) {
        cx.stop_timer();
        if let Some(call) = self.call.as_mut()
            && !matches!(call.state, CallState::Done(_))
        {
            call.state = CallState::Done(CallResult::Cancelled);
        }
    }
}
