//! `block-stream` and non-active `block-commit`: QEMU 7.2's `stream_run` and
//! `commit_run`.
//!
//! Both walk the image from start to end in chunks (512 KiB), sleeping for
//! the rate limiter's delay (a pause point) before each one, copy the chunks
//! that hold data in the part of the backing chain they work on, count every
//! chunk as progress, and change the backing chain when they are finalized.

use serde::{Deserialize, Serialize};

use super::Wait;
use crate::block::{NodeRef, Role, add_extent};
use crate::job::JobRef;
use crate::manager::JobManager;
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Init,
    Sleeping,
    Chunk,
    Finished,
}

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
    len: u64,
    offset: u64,
    delay: u64,
    error: i32,
    phase: Phase,
}

impl Stream {
    /// A new stream or commit.
    pub fn new(
        mode: Mode,
        top: NodeRef,
        base: Option<NodeRef>,
        overlay: Option<NodeRef>,
        filter: Option<NodeRef>,
        on_error: OnError,
    ) -> Stream {
        Stream {
            mode,
            top,
            base,
            overlay,
            filter,
            on_error,
            len: 0,
            offset: 0,
            delay: 0,
            error: 0,
            phase: Phase::Init,
        }
    }
}

fn st(m: &JobManager, j: JobRef) -> &Stream {
    match &m.job(j).work {
        super::Work::Stream(b) => b,
        _ => unreachable!("not a stream job"),
    }
}

fn st_mut(m: &mut JobManager, j: JobRef) -> &mut Stream {
    match &mut m.job_mut(j).work {
        super::Work::Stream(b) => b,
        _ => unreachable!("not a stream job"),
    }
}

/// The backing child of a node, looking through job filters.
fn backing_of(m: &JobManager, n: NodeRef) -> Option<NodeRef> {
    let mut cur = m.graph.child(n, Role::Backing)?;
    while matches!(m.graph.node(cur).driver, crate::block::Driver::JobFilter) {
        cur = m.graph.child(cur, Role::Backing)?;
    }
    Some(cur)
}

pub(crate) fn step(m: &mut JobManager, j: JobRef) -> Wait {
    loop {
        match st(m, j).phase {
            Phase::Init => {
                let (mode, top, base) = {
                    let s = st(m, j);
                    (s.mode, s.top, s.base)
                };
                // `stream_run`: nothing between the top and its base (no
                // backing file, or the base is the backing file) is nothing
                // to stream, and the progress is never set.
                if mode == Mode::Stream && backing_of(m, top) == base {
                    st_mut(m, j).phase = Phase::Finished;
                    continue;
                }
                let len = m.graph.node(top).size;
                super::set_remaining(m, j, len);
                let s = st_mut(m, j);
                s.len = len;
                s.phase = Phase::Sleeping;
            }
            Phase::Sleeping => {
                let s = st_mut(m, j);
                if s.offset >= s.len {
                    s.phase = Phase::Finished;
                    continue;
                }
                s.phase = Phase::Chunk;
                return Wait::Sleep(s.delay);
            }
            Phase::Chunk => {
                if m.job(j).is_cancelled() {
                    st_mut(m, j).phase = Phase::Finished;
                    continue;
                }
                let (mode, top, base, off, len) = {
                    let s = st(m, j);
                    (s.mode, s.top, s.base, s.offset, s.len)
                };
                let n = CHUNK.min(len - off);
                let copy = match mode {
                    Mode::Stream => {
                        !m.graph.allocated_above(top, backing_of(m, top), off, n)
                            && backing_of(m, top)
                                .is_some_and(|b| m.graph.allocated_above(b, base, off, n))
                    }
                    Mode::Commit => m.graph.allocated_above(top, base, off, n),
                };
                let mut res = Ok(());
                if copy {
                    let (src, dst) = match mode {
                        Mode::Stream => (backing_of(m, top).unwrap_or(top), top),
                        Mode::Commit => (top, base.unwrap_or(top)),
                    };
                    res = m
                        .graph
                        .read(src, off, n)
                        .map_err(|e| (true, e))
                        .and_then(|_| m.graph.write(dst, off, n).map_err(|e| (false, e)));
                    if res.is_ok() {
                        // The data now lives in the destination as well.
                        add_extent(&mut m.graph.node_mut(dst).allocated, off, n);
                    }
                }
                let mut advance = n;
                if let Err((is_read, errno)) = res {
                    let policy = st(m, j).on_error;
                    let action = m.error_action(j, policy, is_read, errno);
                    match (mode, action) {
                        (_, ErrorAction::Stop) => {
                            st_mut(m, j).phase = Phase::Sleeping;
                            st_mut(m, j).delay = 0;
                            continue;
                        }
                        (Mode::Commit, ErrorAction::Report) => {
                            return Wait::Done(-errno, None);
                        }
                        (Mode::Commit, ErrorAction::Ignore) => {
                            st_mut(m, j).phase = Phase::Sleeping;
                            st_mut(m, j).delay = super::FAILED_IO_NS;
                            continue;
                        }
                        (Mode::Stream, ErrorAction::Report) => {
                            let s = st_mut(m, j);
                            if s.error == 0 {
                                s.error = -errno;
                            }
                            s.phase = Phase::Finished;
                            continue;
                        }
                        (Mode::Stream, ErrorAction::Ignore) => {
                            let s = st_mut(m, j);
                            if s.error == 0 {
                                s.error = -errno;
                            }
                            advance = n;
                        }
                    }
                }
                super::progress_update(m, j, advance);
                let now = m.now;
                let delay = if copy {
                    m.job_mut(j).rate_delay(now, advance)
                } else {
                    0
                };
                let s = st_mut(m, j);
                s.offset += advance;
                s.delay = delay;
                s.phase = Phase::Sleeping;
            }
            Phase::Finished => {
                let e = st(m, j).error;
                return Wait::Done(e, None);
            }
        }
    }
}

/// `stream_prepare` / `commit_prepare`: the backing chain loses the nodes
/// whose data was copied.
pub(crate) fn prepare(m: &mut JobManager, j: JobRef) -> i32 {
    let (mode, top, base, overlay) = {
        let s = st(m, j);
        (s.mode, s.top, s.base, s.overlay)
    };
    match mode {
        Mode::Stream => set_backing(m, top, base),
        Mode::Commit => {
            if let Some(ov) = overlay {
                set_backing(m, ov, base);
            }
        }
    }
    0
}

/// Points `n`'s backing link at `base`, dropping what was in between.
fn set_backing(m: &mut JobManager, n: NodeRef, base: Option<NodeRef>) {
    if let Some(old) = m.graph.child(n, Role::Backing) {
        m.graph.detach_child(n, old);
    }
    if let Some(b) = base {
        m.graph.attach_child(n, Role::Backing, b);
    }
}

/// `commit_abort`: nothing visible beyond the filter removal in `clean`.
pub(crate) fn abort(_m: &mut JobManager, _j: JobRef) {}

/// `stream_clean` / `commit_clean`: the job's filter leaves the graph.
pub(crate) fn clean(m: &mut JobManager, j: JobRef) {
    remove_filter(m, j);
}

pub(crate) fn free(m: &mut JobManager, j: JobRef) {
    remove_filter(m, j);
}

fn remove_filter(m: &mut JobManager, j: JobRef) {
    if let Some(f) = st_mut(m, j).filter.take() {
        m.drop_filter(f);
    }
}
