//! `block-stream` and non-active `block-commit`: QEMU 7.2's `stream_run` and
//! `commit_run`.
//!
//! Both walk the image from start to end in chunks (512 KiB), sleeping for
//! the rate limiter's delay (a pause point) before each one, copy the chunks
//! that hold data in the part of the backing chain they work on, count every
//! chunk as progress, and change the backing chain when they are finalized.

use serde::{Deserialize, Serialize};

use crate::block::{Driver, Graph, NodeRef, Role, add_extent};
use crate::driver::{Cx, Entry, JobDriver, Prepared, Wait};
use crate::model::{ErrorAction, OnError};

/// Chunk of one loop (`STREAM_CHUNK`, `COMMIT_BUFFER_SIZE`).
pub const CHUNK: u64 = 512 * 1024;

/// Stream or commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Mode {
    /// Copy data from the backing chain (down to `base`) into `top`.
    Stream,
    /// Copy data of `top` … `base_overlay` into `base`.
    Commit,
}

crate::snapshot::codec::codec_enum!(Mode { Stream, Commit });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Init,
    Sleeping,
    Chunk,
    Finished,
}

crate::snapshot::codec::codec_enum!(Phase {
    Init,
    Sleeping,
    Chunk,
    Finished
});

/// State of a stream or commit job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Stream {
    pub mode: Mode,
    /// The node whose data is copied into (stream) or from (commit).
    pub top: NodeRef,
    /// The base node (kept), or none for the whole chain.
    pub base: Option<NodeRef>,
    /// The node above `top` whose backing link changes (commit), and the
    /// inserted filter node.
    pub overlay: Option<NodeRef>,
    pub filter: Option<NodeRef>,
    pub on_error: OnError,
    /// A read-only node the job opened read-write (a commit's base, a
    /// stream's top), read-only again when the job is cleaned up.
    pub reopened: Option<NodeRef>,
    /// The nodes its own BlockBackends are on: a commit's top and base
    /// (the base's goes at prepare or abort), a stream's filter; all go
    /// at clean.
    #[serde(default)]
    backends: Vec<NodeRef>,
    /// A stream's filter has left the graph (at clean) but stays, held by
    /// the job, until the job is freed.
    #[serde(default)]
    filter_unlinked: bool,
    len: u64,
    offset: u64,
    delay: u64,
    error: i32,
    phase: Phase,
}

crate::snapshot::codec::codec_struct!(Stream {
    mode,
    top,
    base,
    overlay,
    filter,
    on_error,
    reopened,
    backends,
    filter_unlinked,
    len,
    offset,
    delay,
    error,
    phase
});

impl Stream {
    /// In host-files mode, the host copies the data: a commit's layers from
    /// the top down to the base (exclusive) into the base; a stream's
    /// layers below the top down to the base (exclusive) into the top,
    /// where the top holds nothing itself.
    fn copy_data(&self, cx: &mut Cx<'_>) {
        let g = cx.graph_mut();
        match self.mode {
            Mode::Commit => {
                if let Some(base) = self.base {
                    g.copy_data(self.top, None, Some(base), base, false);
                }
            }
            Mode::Stream => {
                if let Some(below) = g.backing_chain_next(self.top) {
                    g.copy_data(below, None, self.base, self.top, true);
                }
            }
        }
    }

    /// A new stream or commit.
    pub fn new(
        mode: Mode,
        top: NodeRef,
        base: Option<NodeRef>,
        overlay: Option<NodeRef>,
        filter: Option<NodeRef>,
        on_error: OnError,
    ) -> Stream {
        let backends = match mode {
            Mode::Commit => [Some(top), base].into_iter().flatten().collect(),
            Mode::Stream => filter.into_iter().collect(),
        };
        Stream {
            mode,
            backends,
            filter_unlinked: false,
            top,
            base,
            overlay,
            filter,
            on_error,
            reopened: None,
            len: 0,
            offset: 0,
            delay: 0,
            error: 0,
            phase: Phase::Init,
        }
    }
}

/// The backing child of a node, looking through job filters.
fn backing_of(g: &Graph, n: NodeRef) -> Option<NodeRef> {
    let mut cur = g.child(n, Role::Backing)?;
    while matches!(g.node(cur).driver, Driver::JobFilter { .. }) {
        cur = g.child(cur, Role::Backing)?;
    }
    Some(cur)
}

impl JobDriver for Stream {
    /// `stream_run` / `commit_run`.
    fn run(&mut self, cx: &mut Cx<'_>, _entry: Entry) -> Wait {
        loop {
            match self.phase {
                Phase::Init => {
                    // `stream_run`: nothing between the top and its base (no
                    // backing file, or the base is the backing file) is
                    // nothing to stream, and the progress is never set.
                    if self.mode == Mode::Stream && backing_of(cx.graph(), self.top) == self.base {
                        self.phase = Phase::Finished;
                        continue;
                    }
                    self.len = cx.graph().node(self.top).size;
                    cx.set_remaining(self.len);
                    self.phase = Phase::Sleeping;
                }
                Phase::Sleeping => {
                    if self.offset >= self.len {
                        self.phase = Phase::Finished;
                        continue;
                    }
                    self.phase = Phase::Chunk;
                    return Wait::Sleep(self.delay);
                }
                Phase::Chunk => {
                    if let Some(left) = cx.rate_sleep_left() {
                        return Wait::Sleep(left);
                    }
                    if cx.job().is_cancelled() {
                        self.phase = Phase::Finished;
                        continue;
                    }
                    if let Some(wait) = self.chunk(cx) {
                        return wait;
                    }
                }
                Phase::Finished => {
                    if self.error == 0 && !cx.job().is_cancelled() {
                        self.copy_data(cx);
                    }
                    return Wait::Done(self.error, None);
                }
            }
        }
    }

    /// `stream_prepare` / `commit_prepare`: the backing chain loses the
    /// nodes whose data was copied.
    fn prepare(&mut self, cx: &mut Cx<'_>) -> Prepared {
        match self.mode {
            Mode::Stream => {
                // `stream_prepare`: the filter leaves first, then the backing
                // link changes inside a drained section: over the subtree of
                // the node above the base (7.2), or over the top and its
                // backing node (10.0).
                self.unlink_filter(cx);
                let drained = if cx.prepare_subtree_drains() {
                    let above_base = self.above_base(cx.graph());
                    cx.subtree_drained_begin(above_base);
                    vec![above_base]
                } else {
                    let mut v = vec![self.top];
                    v.extend(cx.graph().child(self.top, Role::Backing));
                    for &n in &v {
                        cx.drained_begin(n);
                    }
                    v
                };
                if cx.graph().child(self.top, Role::Backing).is_some() {
                    cx.set_backing_hd(self.top, self.base);
                    cx.change_backing_file(self.top, self.base);
                }
                if cx.prepare_subtree_drains() {
                    cx.subtree_drained_end(drained[0]);
                } else {
                    for &n in drained.iter().rev() {
                        if cx.graph().alive(n) {
                            cx.drained_end(n);
                        }
                    }
                }
            }
            Mode::Commit => {
                self.release_base_backend();
                // `bdrv_drop_intermediate`: the overlay's link moves from the
                // commit filter to the base inside a drained section over
                // the filter's whole subtree (7.2: down to the base's
                // children, pausing the jobs there), or over the base and
                // its parents (10.0).
                let filter = self.filter.filter(|&f| cx.graph().alive(f));
                let subtree = cx.prepare_subtree_drains();
                let drained = if subtree {
                    filter
                } else {
                    self.base.filter(|&b| cx.graph().alive(b))
                };
                if let Some(n) = drained {
                    if subtree {
                        cx.subtree_drained_begin(n);
                    } else {
                        cx.drained_begin(n);
                    }
                }
                if let Some(ov) = self.overlay {
                    cx.set_backing(ov, self.base);
                    cx.change_backing_file(ov, self.base);
                }
                if let Some(n) = drained {
                    if subtree {
                        cx.subtree_drained_end(n);
                    } else {
                        cx.drained_end(n);
                    }
                }
            }
        }
        Prepared::Ret(0)
    }

    /// `commit_abort`: the base's BlockBackend goes (nothing more shows).
    fn abort(&mut self, _cx: &mut Cx<'_>) {
        self.release_base_backend();
    }

    /// `stream_clean` / `commit_clean`: the job's filter leaves the graph,
    /// its BlockBackends go.
    fn clean(&mut self, cx: &mut Cx<'_>) {
        match self.mode {
            Mode::Stream => {
                self.unlink_filter(cx);
                // The job's BlockBackend followed the filter's parents onto
                // the top node (`child_root` does not stay at its node).
                if self.backends.drain(..).next().is_some() && cx.graph().alive(self.top) {
                    cx.unref_backend(self.top);
                }
            }
            Mode::Commit => {
                self.backends.clear();
                if let Some(f) = self.filter.take() {
                    cx.drop_filter(f);
                }
            }
        }
        if let Some(n) = self.reopened.take()
            && cx.graph().alive(n)
        {
            cx.graph_mut().reopen(n, true);
        }
    }

    fn free(&mut self, cx: &mut Cx<'_>) {
        self.clean(cx);
        if let Some(f) = self.filter.take() {
            cx.remove_filter_node(f);
        }
    }

    fn filter(&self) -> Option<NodeRef> {
        self.filter
    }

    /// A commit's BlockBackends on top and base; a stream's job
    /// BlockBackend on its copy-on-read filter (`stream_start` creates the
    /// job on the filter node).
    fn backend_nodes(&self) -> Vec<NodeRef> {
        self.backends.clone()
    }

    fn node_refs(&self) -> Vec<NodeRef> {
        [
            Some(self.top),
            self.base,
            self.overlay,
            self.filter,
            self.reopened,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

impl Stream {
    /// `bdrv_cor_filter_drop`: a stream's filter leaves the graph (once).
    fn unlink_filter(&mut self, cx: &mut Cx<'_>) {
        if let Some(f) = self.filter.filter(|_| !self.filter_unlinked) {
            cx.unlink_filter(f);
            self.filter_unlinked = true;
        }
    }

    /// `above_base`: the node right above the base in the top's chain
    /// (filters included), or the chain's bottom when it is streamed whole.
    fn above_base(&self, g: &Graph) -> NodeRef {
        let mut n = self.top;
        while let Some(next) = g.filter_or_cow_child(n).filter(|&c| Some(c) != self.base) {
            n = next;
        }
        n
    }

    /// `blk_unref(s->base)` of `commit_prepare` / `commit_abort`.
    fn release_base_backend(&mut self) {
        if self.mode == Mode::Commit
            && let Some(b) = self.base
        {
            self.backends.retain(|&n| n != b);
        }
    }

    /// One chunk of the loop: copies it if it holds data in the part of the
    /// chain the job works on, applies the error policy, and counts it.
    /// Returns what the coroutine waits for when it ends the run.
    fn chunk(&mut self, cx: &mut Cx<'_>) -> Option<Wait> {
        let (top, base, off) = (self.top, self.base, self.offset);
        let n = CHUNK.min(self.len - off);
        let g = cx.graph_mut();
        let copy = match self.mode {
            Mode::Stream => {
                !g.allocated_above(top, backing_of(g, top), off, n)
                    && backing_of(g, top).is_some_and(|b| g.allocated_above(b, base, off, n))
            }
            Mode::Commit => g.allocated_above(top, base, off, n),
        };
        let mut res = Ok(());
        if copy {
            let (src, dst) = match self.mode {
                Mode::Stream => (backing_of(g, top).unwrap_or(top), top),
                Mode::Commit => (top, base.unwrap_or(top)),
            };
            res = g
                .read(src, off, n)
                .map_err(|e| (true, e))
                .and_then(|_| g.write(dst, off, n).map_err(|e| (false, e)));
            if res.is_ok() {
                // The data now lives in the destination as well.
                add_extent(&mut g.node_mut(dst).allocated, off, n);
            }
        }
        if let Err((is_read, errno)) = res {
            let action = cx.error_action(self.on_error, is_read, errno);
            match (self.mode, action) {
                (_, ErrorAction::Stop) => {
                    self.phase = Phase::Sleeping;
                    self.delay = 0;
                    return None;
                }
                (Mode::Commit, ErrorAction::Report) => return Some(Wait::Done(-errno, None)),
                (Mode::Commit, ErrorAction::Ignore) => {
                    self.phase = Phase::Sleeping;
                    self.delay = super::FAILED_IO_NS;
                    return None;
                }
                (Mode::Stream, ErrorAction::Report) => {
                    if self.error == 0 {
                        self.error = -errno;
                    }
                    self.phase = Phase::Finished;
                    return None;
                }
                (Mode::Stream, ErrorAction::Ignore) => {
                    if self.error == 0 {
                        self.error = -errno;
                    }
                }
            }
        }
        cx.progress(n);
        self.delay = if copy { cx.rate_delay(n) } else { 0 };
        self.delay = self.delay.max(cx.throttle_delay());
        self.offset += n;
        self.phase = Phase::Sleeping;
        None
    }
}
