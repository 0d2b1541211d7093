//! Job drivers behind one interface: QEMU's `JobDriver` (with the
//! `BlockJobDriver` additions) as the [`JobDriver`] trait, and the narrow
//! context [`Cx`] through which a driver acts on the manager.
//!
//! Each job type has a driver: the simulated workloads (`workload/`) and
//! host-driven jobs (`host/`). Its state is stored in the job as [`Work`],
//! the form snapshots keep. A callback runs through [`drive!`], the one
//! place that dispatches on the kind of driver (statically: callbacks run on
//! every step of every job); [`Work::driver`] answers the read-only
//! questions. While a callback runs, the state is taken out of the job
//! ([`JobManager::drive_with`]), so a driver holds its own state and the
//! context holds the manager, with no borrow shared between them.
//!
//! A driver never re-enters its own job's coroutine while one of its
//! callbacks runs: it asks for that with [`Cx::kick`], and the manager
//! enters the job once the callback has returned (the last thing each of
//! QEMU's callbacks does when it wakes its job).

use crate::block::{Driver, Graph, NodeRef, Parent, Role};
use crate::error::Result;
use crate::host::{HostActionKind, HostJob};
use crate::job::{Job, JobRef};
use crate::manager::JobManager;
use crate::model::{ErrorAction, OnError};
use crate::options::MirrorCopyMode;
use crate::timers::TimerKind;
use crate::workload::{backup::Backup, mirror::Mirror, oneshot::Oneshot, stream::Stream};
use serde::{Deserialize, Serialize};

/// Runs one callback of job `$j`'s driver on the manager `$m`:
/// `drive!(m, j, |d, cx| d.pause(cx))` gives `Some` of what the callback
/// returns, or `None` when one of the driver's callbacks is running already
/// (see [`JobManager::drive_with`]). Each arm calls the driver's own method.
macro_rules! drive {
    ($m:expr, $j:expr, |$d:ident, $cx:ident| $body:expr) => {
        $m.drive_with($j, |work, $cx| {
            #[allow(unused_imports)]
            use $crate::driver::JobDriver as _;
            match work {
                $crate::driver::Work::Backup($d) => Some($body),
                $crate::driver::Work::Mirror($d) => Some($body),
                $crate::driver::Work::Stream($d) => Some($body),
                $crate::driver::Work::Oneshot($d) => Some($body),
                $crate::driver::Work::Host($d) => Some($body),
                $crate::driver::Work::Running => None,
            }
        })
    };
}
pub(crate) use drive;

/// What a driver's coroutine waits for when it returns control.
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

crate::snapshot::codec::codec_enum!(Wait { PausePoint, Sleep(x0), Yield, Done(x0, x1), Host });

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

/// What a `prepare` callback gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prepared {
    /// The driver has no `prepare`.
    NoHook,
    /// The new `ret`.
    Ret(i32),
    /// The host was asked; finalization waits for its answer.
    Pending,
}

/// A job type's driver: QEMU's callbacks, each with what QEMU does when a
/// driver leaves it out as its default.
pub(crate) trait JobDriver {
    /// `run`, entered or re-entered: works until the coroutine must wait.
    fn run(&mut self, cx: &mut Cx<'_>, entry: Entry) -> Wait;

    /// `pause`: the coroutine is about to park at a pause point.
    fn pause(&mut self, _cx: &mut Cx<'_>) {}

    /// A pause was requested (`job_pause`) while the job may be running.
    fn pause_requested(&mut self, _cx: &mut Cx<'_>) {}

    /// `cancel(force)`: whether the cancel is a hard one.
    fn cancel(&mut self, _cx: &mut Cx<'_>, _force: bool) -> bool {
        true
    }

    /// `complete`; `None` when the driver has none (the job cannot be
    /// completed).
    fn complete(&mut self, _cx: &mut Cx<'_>) -> Option<Result<()>> {
        None
    }

    /// `prepare`.
    fn prepare(&mut self, _cx: &mut Cx<'_>) -> Prepared {
        Prepared::NoHook
    }

    /// `commit`.
    fn commit(&mut self, _cx: &mut Cx<'_>) {}

    /// `abort`.
    fn abort(&mut self, _cx: &mut Cx<'_>) {}

    /// `clean`.
    fn clean(&mut self, _cx: &mut Cx<'_>) {}

    /// `free`: the job object goes away.
    fn free(&mut self, _cx: &mut Cx<'_>) {}

    /// `set_speed` (block jobs): the job's limit is already changed.
    fn set_speed(&mut self, _cx: &mut Cx<'_>, _speed: u64) {}

    /// `change` (`block-job-change`, QEMU 8.2 and later); `None` when the
    /// driver has none ("Job type does not support change"). The union's
    /// members are read as the command's `type` says: a `copy-mode` for
    /// `mirror`, the default (background) for any other type.
    fn change(&mut self, _copy_mode: MirrorCopyMode) -> Option<Result<()>> {
        None
    }

    /// `query`'s `actively-synced` (mirror's only member, QEMU 8.2 and later).
    fn actively_synced(&self) -> Option<bool> {
        None
    }

    /// `drained_poll`: whether a busy job still has requests in flight that
    /// a drained section must wait for.
    fn drained_poll(&self) -> bool {
        true
    }

    /// A guest write of `[off, off+len)` went through the nodes of `path`
    /// (top first): a job that tracks one of them sees it dirty.
    fn guest_write(&mut self, _cx: &mut Cx<'_>, _path: &[NodeRef], _off: u64, _len: u64) {}

    /// A write of `[off, off+len)` by another job went through the job's
    /// own copy-before-write filter (taken from [`Graph::cbw_writes`]).
    fn copy_before_write(&mut self, _cx: &mut Cx<'_>, _off: u64, _len: u64) {}

    /// The driver's own timer ([`Cx::arm_timer`]) fired.
    fn timer_fired(&mut self, _cx: &mut Cx<'_>) {}

    /// Checks a restored driver's own bookkeeping.
    fn check(&self, _graph: &Graph) -> std::result::Result<(), String> {
        Ok(())
    }

    /// The filter node the job inserted above its node, if any.
    fn filter(&self) -> Option<NodeRef> {
        None
    }

    /// The block nodes the driver refers to (each must exist in a restored
    /// snapshot while the job is attached).
    fn node_refs(&self) -> Vec<NodeRef> {
        Vec::new()
    }

    /// The dirty bitmap the job uses: its node and name (busy until the
    /// job ends).
    fn bitmap(&self) -> Option<(NodeRef, &str)> {
        None
    }

    /// The nodes the job holds through a BlockBackend of its own (a
    /// mirror's target, a commit's top and base): `blockdev-del` finds
    /// them in use.
    fn backend_nodes(&self) -> Vec<NodeRef> {
        Vec::new()
    }
}

/// A job's driver state, as the job stores it and snapshots keep it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Work {
    /// `blockdev-backup`.
    Backup(Box<Backup>),
    /// `blockdev-mirror` and active `block-commit`.
    Mirror(Box<Mirror>),
    /// `block-stream` and non-active `block-commit`.
    Stream(Box<Stream>),
    /// `blockdev-create`, `x-blockdev-amend`, `snapshot-*`.
    Oneshot(Box<Oneshot>),
    /// A job whose work the host does.
    Host(HostJob),
    /// The state is out of the job: one of its driver's callbacks is
    /// running ([`JobManager::drive_with`]). Never seen between two calls into
    /// the manager, so never in a snapshot.
    #[serde(skip)]
    Running,
}

/// A job's work in the binary snapshot: the variant's index among those
/// written (`Running` is never in a snapshot), then its state.
impl crate::snapshot::codec::Codec for Work {
    fn encode(&self, w: &mut crate::snapshot::codec::Writer<'_>) {
        match self {
            Work::Backup(b) => (w.varint(0), b.encode(w)),
            Work::Mirror(m) => (w.varint(1), m.encode(w)),
            Work::Stream(s) => (w.varint(2), s.encode(w)),
            Work::Oneshot(o) => (w.varint(3), o.encode(w)),
            Work::Host(h) => (w.varint(4), h.encode(w)),
            Work::Running => unreachable!("a running job's work is never snapshotted"),
        };
    }
    fn decode(r: &mut crate::snapshot::codec::Reader<'_>) -> Self {
        use crate::snapshot::codec::Codec;
        match r.variant("Work", 5) {
            0 => Work::Backup(Codec::decode(r)),
            1 => Work::Mirror(Codec::decode(r)),
            2 => Work::Stream(Codec::decode(r)),
            3 => Work::Oneshot(Codec::decode(r)),
            _ => Work::Host(Codec::decode(r)),
        }
    }
}

impl Work {
    /// The driver, for its read-only answers (`None` while one of its
    /// callbacks runs).
    pub fn driver(&self) -> Option<&dyn JobDriver> {
        Some(match self {
            Work::Backup(d) => &**d,
            Work::Mirror(d) => &**d,
            Work::Stream(d) => &**d,
            Work::Oneshot(d) => &**d,
            Work::Host(d) => d,
            Work::Running => return None,
        })
    }
}

impl JobManager {
    /// Runs one callback of job `j`'s driver ([`drive!`]): takes the
    /// driver's state out of the job, runs `f` on it with a context for `j`,
    /// puts it back, then enters the job if the driver kicked it. `f` gives
    /// `None` for [`Work::Running`]: one of the driver's callbacks is running
    /// already, and this one was reached from inside it (a drained section a
    /// mirror begins over its own source pauses the mirror itself).
    pub(crate) fn drive_with<R>(
        &mut self,
        j: JobRef,
        f: impl FnOnce(&mut Work, &mut Cx<'_>) -> Option<R>,
    ) -> Option<R> {
        let job = self.job_mut(j);
        let seq = job.seq;
        let mut work = std::mem::replace(&mut job.work, Work::Running);
        let mut cx = Cx {
            m: self,
            j,
            kick: false,
        };
        let r = f(&mut work, &mut cx);
        let kick = cx.kick;
        if let Some(job) = self.jobs.get_mut(j)
            && job.seq == seq
        {
            // The slot holds `Running` (nothing to drop) since the take.
            let running = std::mem::replace(&mut job.work, work);
            debug_assert!(matches!(running, Work::Running));
            std::mem::forget(running);
        }
        self.deliver_cbw_writes();
        if kick {
            self.enter(j);
        }
        r
    }

    /// Hands the writes that went through copy-before-write filters to the
    /// backups owning the filters; a filter no job owns any more (a job
    /// being torn down) copies nothing. The check, after every driver
    /// callback, is inlined; the delivery, which itself runs driver
    /// callbacks, is not (a call costs more in WebAssembly than natively).
    #[inline(always)]
    fn deliver_cbw_writes(&mut self) {
        if !self.graph.cbw_writes.is_empty() {
            self.deliver_queued_cbw_writes();
        }
    }

    /// [`deliver_cbw_writes`](Self::deliver_cbw_writes) when there are some.
    #[inline(never)]
    fn deliver_queued_cbw_writes(&mut self) {
        for (f, off, len) in std::mem::take(&mut self.graph.cbw_writes) {
            let owner = self.jobs_newest_first().find(|&b| {
                self.job(b)
                    .work
                    .driver()
                    .is_some_and(|d| d.filter() == Some(f))
            });
            if let Some(b) = owner {
                drive!(self, b, |d, cx| d.copy_before_write(cx, off, len));
            }
        }
    }

    /// The driver's `drained_poll` for a busy job. A job whose driver is
    /// running is not waited for: it began the drained section itself, and
    /// waiting for itself would never end (QEMU's mirror makes the same
    /// exception for its own drains).
    pub(crate) fn drained_poll(&self, j: JobRef) -> bool {
        self.job(j).work.driver().is_some_and(|d| d.drained_poll())
    }
}

/// What a driver may do to the manager, for its own job, while one of its
/// callbacks runs.
pub(crate) struct Cx<'a> {
    m: &'a mut JobManager,
    j: JobRef,
    kick: bool,
}

impl Cx<'_> {
    /// The virtual clock.
    pub fn now(&self) -> u64 {
        self.m.now
    }

    /// The job's generic fields (status, cancel and pause state, ID, …).
    pub fn job(&self) -> &Job {
        self.m.job(self.j)
    }

    /// The simulated block layer.
    pub fn graph(&self) -> &Graph {
        &self.m.graph
    }

    /// The simulated block layer, for I/O and for links no job is above.
    pub fn graph_mut(&mut self) -> &mut Graph {
        &mut self.m.graph
    }

    /// `job_progress_set_remaining`.
    pub fn set_remaining(&mut self, remaining: u64) {
        let job = self.m.job_mut(self.j);
        job.total = job.current.saturating_add(remaining);
    }

    /// `job_progress_update`: `done` more units of work.
    pub fn progress(&mut self, done: u64) {
        let job = self.m.job_mut(self.j);
        job.current = job.current.saturating_add(done);
    }

    /// How long the job waits for the requests it issued through `throttle`
    /// nodes since it last asked (0 when none waits).
    pub fn throttle_delay(&mut self) -> u64 {
        self.m.throttle_delay()
    }

    /// The job's rate limiter: how long to wait after `n` bytes of work.
    pub fn rate_delay(&mut self, n: u64) -> u64 {
        let now = self.m.now;
        self.m.job_mut(self.j).rate_delay(now, n)
    }

    /// After a rate-limit sleep: how much longer the job must sleep, when its
    /// QEMU sleeps out the limiter's delay after an early wake-up
    /// (`block_job_ratelimit_sleep`, QEMU 8.1 and later) and the job is not
    /// cancelled; `None` when it goes on (QEMU 7.2 always does).
    pub fn rate_sleep_left(&mut self) -> Option<u64> {
        if !self.m.profile().sleeps_out_rate_limit || self.job().is_cancelled() {
            return None;
        }
        Some(self.rate_delay(0)).filter(|&d| d != 0)
    }

    /// `block_job_error_action` for an I/O error with positive `errno`.
    pub fn error_action(&mut self, policy: OnError, is_read: bool, errno: i32) -> ErrorAction {
        self.m.error_action(self.j, policy, is_read, errno)
    }

    /// `job_transition_to_ready`.
    pub fn transition_to_ready(&mut self) {
        self.m.transition_to_ready(self.j);
    }

    /// Arms the driver's own timer ([`JobDriver::timer_fired`]).
    pub fn arm_timer(&mut self, deadline: u64) {
        self.m.timers.arm(self.j, TimerKind::Driver, deadline);
    }

    /// Stops the driver's own timer.
    pub fn stop_timer(&mut self) {
        self.m.timers.stop(self.j, TimerKind::Driver);
    }

    /// `job_enter`, once the callback has returned.
    pub fn kick(&mut self) {
        self.kick = true;
    }

    /// `bdrv_drained_begin` over node `n`.
    pub fn drained_begin(&mut self, n: NodeRef) {
        self.m.drained_begin(n);
    }

    /// `bdrv_drained_end` over node `n`.
    pub fn drained_end(&mut self, n: NodeRef) {
        self.m.drained_end(n);
    }

    /// Whether this QEMU's stream and commit prepare drain whole subtrees
    /// ([`Profile::prepare_subtree_drains`](crate::profile::Profile::prepare_subtree_drains)).
    pub(crate) fn prepare_subtree_drains(&self) -> bool {
        self.m.profile().prepare_subtree_drains
    }

    /// `bdrv_subtree_drained_begin` over node `n`.
    pub fn subtree_drained_begin(&mut self, n: NodeRef) {
        self.m.subtree_drained_begin(n);
    }

    /// `bdrv_subtree_drained_end` over node `n`.
    pub fn subtree_drained_end(&mut self, n: NodeRef) {
        self.m.subtree_drained_end(n);
    }

    /// `bdrv_set_backing_hd`: points `n`'s backing link at `base` inside a
    /// drained section over `n`, the link carrying drained sections.
    pub fn set_backing_hd(&mut self, n: NodeRef, base: Option<NodeRef>) {
        self.m.set_backing_hd(n, base);
    }

    /// `blk_unref` of a job's own BlockBackend on `n`: drained twice
    /// (`blk_drain`, then again as `blk_remove_bs` detaches it).
    pub fn unref_backend(&mut self, n: NodeRef) {
        self.m.unref_backend(n);
    }

    /// `block_job_remove_all_bdrv`: the job leaves every node it uses.
    pub fn detach_nodes(&mut self) {
        self.m.detach_job(self.j);
    }

    /// The node below filter `f`.
    pub fn filter_child(&self, f: NodeRef) -> Option<NodeRef> {
        self.m.filter_child(f)
    }

    /// Moves the parents of `from` (but `except`) to `to` (`bdrv_replace_node`).
    pub fn replace_node(&mut self, from: NodeRef, to: NodeRef, except: &[NodeRef]) {
        self.m.replace_node(from, to, except);
    }

    /// Removes filter `f` from the graph (`bdrv_drop_filter`).
    pub fn drop_filter(&mut self, f: NodeRef) {
        self.m.drop_filter(f);
    }

    /// Takes filter `f` out of the graph but keeps the node, which the job
    /// still holds (`bdrv_drop_filter` of a stream's filter).
    pub fn unlink_filter(&mut self, f: NodeRef) {
        self.m.unlink_filter(f);
    }

    /// Deletes filter node `f`, whose node parents have left.
    pub fn remove_filter_node(&mut self, f: NodeRef) {
        self.m.remove_filter_node(f);
    }

    /// Points `n`'s backing link at `base`, dropping what was between.
    pub fn set_backing(&mut self, n: NodeRef, base: Option<NodeRef>) {
        let g = &mut self.m.graph;
        if let Some(old) = g.child(n, Role::Backing) {
            g.detach_child(n, old);
        }
        if let Some(b) = base {
            g.attach_child(n, Role::Backing, b);
        }
    }

    /// `bdrv_change_backing_file`: `n`'s image names `base` (its file
    /// name and format) as its backing file from now on, or none.
    pub fn change_backing_file(&mut self, n: NodeRef, base: Option<NodeRef>) {
        self.m.graph.change_backing_file(n, base);
    }

    /// Opens `n`'s backing chain from its image's backing file
    /// (`bdrv_open_backing_file`; an image that cannot be opened leaves
    /// `n` without, as QEMU only reports it).
    pub fn open_backing(&mut self, n: NodeRef) {
        self.m.open_backing_file(n);
    }

    /// Moves the BlockBackends (a drive's, an export's) of `from`, and of
    /// the filters above it, to `to` (what `bdrv_replace_node` does for
    /// them when a mirror completes).
    pub fn replace_backends(&mut self, from: NodeRef, to: NodeRef) {
        let g = &mut self.m.graph;
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            let parents = g.node(n).parents.clone();
            for p in parents {
                match p {
                    Parent::Backend(b) => g.move_backend(b, to),
                    Parent::Export(e) => g.move_export(e, n, to),
                    Parent::Node(pn) if matches!(g.node(pn).driver, Driver::JobFilter { .. }) => {
                        stack.push(pn)
                    }
                    _ => {}
                }
            }
        }
    }

    /// Stops the simulated VM (`STOP`) into `state`; returns whether it
    /// was running.
    pub fn vm_stop(&mut self, state: crate::vm::RunState) -> bool {
        self.m.vm_stop(state)
    }

    /// Starts the simulated VM again (`RESUME`).
    pub fn vm_start(&mut self) {
        self.m.vm_start();
    }

    /// Queues a request for the host (host-driven jobs).
    pub fn host_action(&mut self, kind: HostActionKind) {
        self.m.host_action(self.j, kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manager with a mirror `m` that is ready and sleeping.
    fn ready_mirror() -> (JobManager, JobRef) {
        let mut m = JobManager::with_default_world();
        let r = m.execute(
            r#"{"execute":"blockdev-mirror","arguments":{"job-id":"m","device":"src","target":"dst","sync":"full"}}"#,
        );
        assert_eq!(r, r#"{"return":{}}"#);
        m.settle();
        let j = m.find_job("m").unwrap();
        assert!(m.job(j).status.is_ready());
        (m, j)
    }

    #[test]
    fn a_driver_reached_from_inside_itself_is_not_run_again() {
        let (mut m, j) = ready_mirror();
        let inner = drive!(m, j, |d, cx| {
            assert!(!d.drained_poll());
            assert!(!cx.m.drained_poll(j), "its own drain does not wait for it");
            drive!(cx.m, j, |_d, _cx| ())
        });
        assert_eq!(inner, Some(None));
        assert!(
            matches!(m.job(j).work, Work::Mirror(_)),
            "the state is back"
        );
        assert!(m.internal_errors().is_empty());
    }

    #[test]
    fn a_kick_enters_the_job_once_its_callback_returned() {
        let (mut m, j) = ready_mirror();
        m.advance(1000);
        assert!(!m.job(j).busy);
        let events = m.pending_events();
        drive!(m, j, |_d, cx| cx.kick());
        // The mirror was woken early: it ran one loop with its state back in
        // place and sleeps a whole slice from now.
        assert!(!m.job(j).busy);
        assert_eq!(
            m.next_deadline(),
            Some(m.now() + crate::ratelimit::SLICE_TIME_NS)
        );
        assert_eq!(m.pending_events(), events);
        assert!(matches!(m.job(j).work, Work::Mirror(_)));
        assert!(m.internal_errors().is_empty());
    }
}
