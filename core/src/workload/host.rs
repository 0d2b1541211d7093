//! Host-driven jobs: the host (a hypervisor, a test harness) does the job's
//! work itself and qjob runs QEMU's lifecycle around it.
//!
//! The host reports what its job coroutine does — progress, pause points,
//! sleeps, I/O errors, readiness, the end of its run, the result of
//! `prepare` — through the `host_*` methods, and learns what the core wants
//! from [`JobManager::poll_action`]: start, resume or wake, pause at the
//! next pause point, cancel, complete, a new speed, and the finalization
//! hooks `prepare` / `commit` / `abort` / `clean` in QEMU's order. The core
//! never calls into the host.
//!
//! A host job is a job like the others: the same status table, verbs,
//! transactions, events and error policies apply, and a host job and a
//! simulated job in one transaction behave as two QEMU jobs do.

use crate::driver::{Cx, Entry, JobDriver, Prepared, Wait, Work};
use crate::error::{Error, Result};
use crate::event::IoOperation;
use crate::job::{Co, Job, JobRef, TxnRef};
use crate::manager::{JobManager, NewJob};
use crate::model::{ErrorAction, JobType, OnError};
use crate::slab::Slot;
use crate::timers::TimerKind;
use serde::{Deserialize, Serialize};

/// A job, as the host names it (internal jobs have no ID). Stale handles
/// (of jobs that are gone) are refused, never confused with newer jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobHandle {
    slot: u32,
    seq: u64,
}

impl JobHandle {
    /// The handle as one integer (for C and JavaScript).
    pub fn to_raw(self) -> u64 {
        (self.seq << 24) | u64::from(self.slot & 0xFF_FFFF)
    }

    /// A handle from [`JobHandle::to_raw`].
    pub fn from_raw(raw: u64) -> JobHandle {
        JobHandle {
            slot: (raw & 0xFF_FFFF) as u32,
            seq: raw >> 24,
        }
    }
}

/// A job transaction made by the host ([`JobManager::new_transaction`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxnHandle {
    slot: u32,
    serial: u64,
}

impl TxnHandle {
    /// The handle as one integer.
    pub fn to_raw(self) -> u64 {
        (self.serial << 24) | u64::from(self.slot & 0xFF_FFFF)
    }

    /// A handle from [`TxnHandle::to_raw`].
    pub fn from_raw(raw: u64) -> TxnHandle {
        TxnHandle {
            slot: (raw & 0xFF_FFFF) as u32,
            serial: raw >> 24,
        }
    }
}

/// How a host job is created: the options of QEMU's creation commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostJobOptions {
    /// Job ID; `None` makes an internal job (no events, unreachable by QMP).
    pub id: Option<String>,
    /// The type reported in queries and events.
    pub job_type: JobType,
    /// Finalize automatically.
    pub auto_finalize: bool,
    /// Dismiss automatically.
    pub auto_dismiss: bool,
    /// Initial speed limit (bytes/s, block job types only).
    pub speed: i64,
    /// Policy for read errors.
    pub on_source_error: OnError,
    /// Policy for write errors.
    pub on_target_error: OnError,
    /// Join this transaction (else the job has one of its own).
    pub transaction: Option<TxnHandle>,
    /// Mirror-like: the job can become ready and be completed, and a soft
    /// cancel while ready completes it.
    pub completable: bool,
    /// The host has a `prepare` step and reports its result.
    pub prepare: bool,
}

impl Default for HostJobOptions {
    fn default() -> Self {
        HostJobOptions {
            id: None,
            job_type: JobType::Backup,
            auto_finalize: true,
            auto_dismiss: true,
            speed: 0,
            on_source_error: OnError::Report,
            on_target_error: OnError::Report,
            transaction: None,
            completable: false,
            prepare: false,
        }
    }
}

/// What the host's job does after reporting a pause point or a sleep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostDirective {
    /// Go on working.
    Continue,
    /// The job is paused: wait for [`HostActionKind::Resume`].
    Paused,
    /// The job sleeps: wait for [`HostActionKind::Wake`] (at the deadline, or
    /// earlier if kicked).
    Sleeping,
    /// The job is hard-cancelled: end the run
    /// ([`JobManager::host_run_finished`]).
    Cancelled,
}

impl HostDirective {
    /// The name every binding uses: `continue`, `paused`, `sleeping`, `cancelled`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HostDirective::Continue => "continue",
            HostDirective::Paused => "paused",
            HostDirective::Sleeping => "sleeping",
            HostDirective::Cancelled => "cancelled",
        }
    }
}

/// What the error policy decided about a host job's I/O error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostErrorAction {
    /// `ignore`: retry the request later.
    Retry,
    /// `report`: end the run with the error.
    Fail,
    /// `stop`: the job is paused as by the user; report a pause point, then
    /// retry after the resume.
    Pause,
}

impl HostErrorAction {
    /// The name every binding uses: `retry`, `fail`, `pause`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HostErrorAction::Retry => "retry",
            HostErrorAction::Fail => "fail",
            HostErrorAction::Pause => "pause",
        }
    }
}

/// What the core asks of a host job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostActionKind {
    /// Begin the run.
    Start,
    /// Go on after being paused at a pause point.
    Resume,
    /// Go on after a sleep (the deadline passed, or the job was kicked).
    Wake,
    /// Reach a pause point soon: a pause was requested.
    Pause,
    /// The job was cancelled; `force` tells whether it is a hard cancel
    /// (stop now) or a soft one (a completable job in ready: finish without
    /// switching over).
    Cancel {
        /// Hard cancel.
        force: bool,
    },
    /// The user completed the (ready, completable) job: finish and switch over.
    Complete,
    /// The speed limit changed (bytes/s; 0 = unlimited).
    SetSpeed(u64),
    /// Run the `prepare` step and report with [`JobManager::host_prepare_done`].
    Prepare,
    /// Make the job's changes permanent.
    Commit,
    /// Undo the job's changes.
    Abort,
    /// Release what the job holds (after commit or abort).
    Clean,
}

impl HostActionKind {
    /// The name every binding uses: `start`, `resume`, `wake`, `pause`,
    /// `cancel`, `complete`, `set-speed`, `prepare`, `commit`, `abort`, `clean`.
    pub const fn name(self) -> &'static str {
        match self {
            HostActionKind::Start => "start",
            HostActionKind::Resume => "resume",
            HostActionKind::Wake => "wake",
            HostActionKind::Pause => "pause",
            HostActionKind::Cancel { .. } => "cancel",
            HostActionKind::Complete => "complete",
            HostActionKind::SetSpeed(_) => "set-speed",
            HostActionKind::Prepare => "prepare",
            HostActionKind::Commit => "commit",
            HostActionKind::Abort => "abort",
            HostActionKind::Clean => "clean",
        }
    }
}

/// A request to the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostAction {
    /// The job it is for.
    pub job: JobHandle,
    /// What to do.
    pub kind: HostActionKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum PrepareState {
    NotAsked,
    Asked,
    Done(i32),
}

/// State of a host job: its driver.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct HostJob {
    completable: bool,
    wants_prepare: bool,
    on_source_error: OnError,
    on_target_error: OnError,
    should_complete: bool,
    pause_hinted: bool,
    prepare: PrepareState,
}

/// Whether the job's coroutine runs right now (the host holds it).
fn running(job: &Job) -> bool {
    job.busy && job.co == Co::Running && !job.deferred
}

impl JobDriver for HostJob {
    /// The coroutine was entered: the host runs the job from here.
    fn run(&mut self, cx: &mut Cx<'_>, entry: Entry) -> Wait {
        self.pause_hinted = false;
        let kind = match entry {
            Entry::Start => HostActionKind::Start,
            Entry::FromPause => HostActionKind::Resume,
            Entry::FromYield | Entry::Continue => HostActionKind::Wake,
        };
        cx.host_action(kind);
        Wait::Host
    }

    /// A running job is told to reach a pause point (once until it does).
    fn pause_requested(&mut self, cx: &mut Cx<'_>) {
        if running(cx.job()) && !self.pause_hinted {
            self.pause_hinted = true;
            cx.host_action(HostActionKind::Pause);
        }
    }

    fn cancel(&mut self, cx: &mut Cx<'_>, force: bool) -> bool {
        let force = if self.completable {
            force || !cx.job().status.is_ready()
        } else {
            true
        };
        let job = cx.job();
        if job.started() && !job.deferred {
            cx.host_action(HostActionKind::Cancel { force });
        }
        force
    }

    fn complete(&mut self, cx: &mut Cx<'_>) -> Option<Result<()>> {
        if !self.completable {
            return None;
        }
        if !cx.job().status.is_ready() {
            return Some(Err(Error::generic(format!(
                "The active block job '{}' cannot be completed",
                cx.job().id.as_deref().unwrap_or("")
            ))));
        }
        self.should_complete = true;
        cx.host_action(HostActionKind::Complete);
        if !cx.job().paused {
            cx.kick();
        }
        Some(Ok(()))
    }

    fn prepare(&mut self, cx: &mut Cx<'_>) -> Prepared {
        if !self.wants_prepare {
            return Prepared::NoHook;
        }
        match self.prepare {
            PrepareState::NotAsked => {
                self.prepare = PrepareState::Asked;
                cx.host_action(HostActionKind::Prepare);
                Prepared::Pending
            }
            PrepareState::Asked => Prepared::Pending,
            PrepareState::Done(ret) => Prepared::Ret(ret),
        }
    }

    fn commit(&mut self, cx: &mut Cx<'_>) {
        cx.host_action(HostActionKind::Commit);
    }

    fn abort(&mut self, cx: &mut Cx<'_>) {
        cx.host_action(HostActionKind::Abort);
    }

    fn clean(&mut self, cx: &mut Cx<'_>) {
        cx.host_action(HostActionKind::Clean);
    }

    fn set_speed(&mut self, cx: &mut Cx<'_>, speed: u64) {
        if cx.job().started() {
            cx.host_action(HostActionKind::SetSpeed(speed));
        }
    }

    /// The host's requests are its own: a drained section pauses the job at
    /// its next reported pause point and does not wait for it.
    fn drained_poll(&self) -> bool {
        false
    }
}

impl JobManager {
    /// Queues a request for the host about job `j`.
    pub(crate) fn host_action(&mut self, j: JobRef, kind: HostActionKind) {
        let job = self.handle_of(j);
        self.actions.push_back(HostAction { job, kind });
    }

    pub(crate) fn handle_of(&self, j: JobRef) -> JobHandle {
        JobHandle {
            slot: j.index(),
            seq: self.job(j).seq,
        }
    }

    /// The job a handle names, if it still exists.
    fn resolve(&self, h: JobHandle) -> Result<JobRef> {
        let j = JobRef::at(h.slot);
        match self.jobs.get(j) {
            Some(job) if job.seq == h.seq => Ok(j),
            _ => Err(Error::generic("Job handle does not name an existing job")),
        }
    }

    fn name(&self, j: JobRef) -> String {
        match &self.job(j).id {
            Some(id) => format!("Job '{id}'"),
            None => "Internal job".to_owned(),
        }
    }

    /// The driver state of a host job.
    fn host_job(&self, j: JobRef) -> Result<&HostJob> {
        match &self.job(j).work {
            Work::Host(h) => Ok(h),
            _ => Err(Error::generic(format!(
                "{} is not driven by the host",
                self.name(j)
            ))),
        }
    }

    /// [`host_job`](Self::host_job), to change it.
    fn host_job_mut(&mut self, j: JobRef) -> Result<&mut HostJob> {
        self.host_job(j)?;
        match &mut self.job_mut(j).work {
            Work::Host(h) => Ok(h),
            _ => Err(Error::generic("Job is not driven by the host")),
        }
    }

    /// A host job whose run is going on right now (the host holds it).
    fn running_host_job(&self, h: JobHandle) -> Result<JobRef> {
        let j = self.resolve(h)?;
        self.host_job(j)?;
        let job = self.job(j);
        if !running(job) {
            let why = if job.deferred {
                "its run has ended".to_owned()
            } else if job.paused {
                "it is paused".to_owned()
            } else if job.co == Co::Yielded {
                "it is sleeping".to_owned()
            } else {
                format!("it is in state '{}'", job.status)
            };
            return Err(Error::generic(format!(
                "{} is not running: {why}",
                self.name(j)
            )));
        }
        Ok(j)
    }

    /// A new job transaction for host jobs (and simulated backups, see
    /// [`JobManager::transaction_in`]). It lives while it has members; an
    /// unused one stays until a job joins it.
    pub fn new_transaction(&mut self) -> TxnHandle {
        let t = self.new_txn();
        let txn = self.txn_mut(t);
        txn.held_by_host = true;
        TxnHandle {
            slot: t.index(),
            serial: txn.serial,
        }
    }

    pub(crate) fn resolve_txn(&self, t: TxnHandle) -> Result<TxnRef> {
        match self.txns.get(t.slot as usize) {
            Some(Some(txn)) if txn.serial == t.serial && !txn.aborting => Ok(TxnRef::at(t.slot)),
            Some(Some(txn)) if txn.serial == t.serial => Err(Error::generic(
                "The transaction has failed and takes no new jobs",
            )),
            _ => Err(Error::generic(
                "Transaction handle does not name an existing transaction",
            )),
        }
    }

    /// Creates and starts a job whose work the host does. The first request
    /// is [`HostActionKind::Start`] (or `Resume` later, if the job starts
    /// paused by a drained section). Refused as QEMU refuses a job
    /// (`Invalid job ID`, `Job ID … already in use`, a negative speed).
    pub fn create_host_job(&mut self, opts: HostJobOptions) -> Result<JobHandle> {
        let txn = match opts.transaction {
            Some(t) => Some(self.resolve_txn(t)?),
            None => None,
        };
        let internal = opts.id.is_none();
        self.check_new_id(opts.id.as_deref(), internal)?;
        if opts.speed < 0 {
            return Err(Error::invalid_value("speed", "a non-negative value"));
        }
        let work = Work::Host(HostJob {
            completable: opts.completable,
            wants_prepare: opts.prepare,
            on_source_error: opts.on_source_error,
            on_target_error: opts.on_target_error,
            should_complete: false,
            pause_hinted: false,
            prepare: PrepareState::NotAsked,
        });
        let j = self.create_job(NewJob {
            id: opts.id,
            job_type: opts.job_type,
            auto_finalize: opts.auto_finalize,
            auto_dismiss: opts.auto_dismiss,
            txn,
            work,
        })?;
        if opts.job_type.is_block_job()
            && let Err(e) = self.set_speed(j, opts.speed)
        {
            self.early_fail(j);
            return Err(e);
        }
        let h = self.handle_of(j);
        self.start_job(j);
        Ok(h)
    }

    /// The handle of the job with this ID.
    pub fn job_handle(&self, id: &str) -> Option<JobHandle> {
        self.find_job(id).map(|j| self.handle_of(j))
    }

    /// Takes the oldest request for the host, if any.
    pub fn poll_action(&mut self) -> Option<HostAction> {
        let a = self.actions.pop_front();
        if a.is_none() {
            crate::manager::shrink_idle(&mut self.actions);
        }
        a
    }

    /// Number of queued host requests.
    pub fn pending_actions(&self) -> usize {
        self.actions.len()
    }

    /// The host reports progress: `current` of `total` (units are the
    /// host's; bytes for block jobs). Progress never goes backwards.
    pub fn host_progress(&mut self, h: JobHandle, current: u64, total: u64) -> Result<()> {
        let j = self.running_host_job(h)?;
        let job = self.job(j);
        if current < job.current {
            return Err(Error::generic(format!(
                "Progress of {} cannot go backwards ({current} < {})",
                self.name(j).to_lowercase(),
                job.current
            )));
        }
        if total < current {
            return Err(Error::generic(format!(
                "Total progress {total} is less than the current progress {current}"
            )));
        }
        let job = self.job_mut(j);
        job.current = current;
        job.total = total;
        Ok(())
    }

    /// The host's job reached a pause point (`job_pause_point`).
    pub fn host_pause_point(&mut self, h: JobHandle) -> Result<HostDirective> {
        let j = self.running_host_job(h)?;
        if self.pause_point(j) {
            return Ok(HostDirective::Paused);
        }
        Ok(if self.job(j).is_cancelled() {
            HostDirective::Cancelled
        } else {
            HostDirective::Continue
        })
    }

    /// The host's job sleeps until virtual time `until_ns` (`job_sleep_ns`):
    /// a hard-cancelled job does not sleep; a job with a pause pending pauses
    /// instead.
    pub fn host_sleep(&mut self, h: JobHandle, until_ns: u64) -> Result<HostDirective> {
        let j = self.running_host_job(h)?;
        if self.job(j).is_cancelled() {
            return Ok(HostDirective::Cancelled);
        }
        if !self.job(j).should_pause() {
            let deadline = until_ns.max(self.now);
            self.timers.arm(j, TimerKind::Sleep, deadline);
            let job = self.job_mut(j);
            job.busy = false;
            job.co = Co::Yielded;
            return Ok(HostDirective::Sleeping);
        }
        self.host_pause_point(h)
    }

    /// The host's job met an I/O error (positive `errno`); the job's error
    /// policy decides (`BLOCK_JOB_ERROR` is emitted for block jobs).
    pub fn host_io_error(
        &mut self,
        h: JobHandle,
        op: IoOperation,
        errno: i32,
    ) -> Result<HostErrorAction> {
        let j = self.running_host_job(h)?;
        if errno <= 0 {
            return Err(Error::generic(format!(
                "An I/O error needs a positive errno, not {errno}"
            )));
        }
        let host = self.host_job_mut(j)?;
        let policy = match op {
            IoOperation::Read => host.on_source_error,
            IoOperation::Write => host.on_target_error,
        };
        // A `stop` pauses the job; the host learns it from the answer, so no
        // separate Pause request is queued.
        host.pause_hinted = true;
        Ok(
            match self.error_action(j, policy, op == IoOperation::Read, errno) {
                ErrorAction::Ignore => HostErrorAction::Retry,
                ErrorAction::Report => HostErrorAction::Fail,
                ErrorAction::Stop => HostErrorAction::Pause,
            },
        )
    }

    /// The host's (completable) job is in sync: running → ready with
    /// `BLOCK_JOB_READY`.
    pub fn host_ready(&mut self, h: JobHandle) -> Result<()> {
        let j = self.running_host_job(h)?;
        if !self.host_job(j)?.completable {
            return Err(Error::generic(format!(
                "{} was not created completable and cannot become ready",
                self.name(j)
            )));
        }
        if self.job(j).status.is_ready() {
            return Err(Error::generic(format!("{} is already ready", self.name(j))));
        }
        self.transition_to_ready(j);
        Ok(())
    }

    /// The host's run ended with `ret` (0, or a negative errno) and maybe an
    /// error text; the completion follows on the main loop.
    pub fn host_run_finished(
        &mut self,
        h: JobHandle,
        ret: i32,
        error: Option<String>,
    ) -> Result<()> {
        let j = self.running_host_job(h)?;
        if ret > 0 {
            return Err(Error::generic(format!(
                "A run ends with 0 or a negative errno, not {ret}"
            )));
        }
        if ret == 0 && error.is_some() {
            return Err(Error::generic("A run that succeeded carries no error text"));
        }
        self.run_returned(j, ret, error);
        Ok(())
    }

    /// The result of the host's `prepare` step (0 or a negative errno);
    /// finalization goes on.
    pub fn host_prepare_done(&mut self, h: JobHandle, ret: i32) -> Result<()> {
        let j = self.resolve(h)?;
        if self.host_job(j)?.prepare != PrepareState::Asked {
            return Err(Error::generic(format!(
                "{} was not asked to prepare",
                self.name(j)
            )));
        }
        if ret > 0 {
            return Err(Error::generic(format!(
                "prepare ends with 0 or a negative errno, not {ret}"
            )));
        }
        self.host_job_mut(j)?.prepare = PrepareState::Done(ret);
        if self.job(j).status == crate::model::JobStatus::Pending
            && self.job(j).txn != crate::job::TxnLink::Left
            && !self.txn_aborting(self.txn_of(j))
        {
            self.do_finalize(j);
        }
        Ok(())
    }

    /// How long (virtual ns) the host's job must wait after doing `bytes` of
    /// work, by QEMU's rate limiter and the job's speed.
    pub fn host_rate_delay(&mut self, h: JobHandle, bytes: u64) -> Result<u64> {
        let j = self.resolve(h)?;
        let now = self.now;
        Ok(self.job_mut(j).rate_delay(now, bytes))
    }

    /// Whether the host's completable job was asked to complete.
    pub fn host_should_complete(&self, h: JobHandle) -> Result<bool> {
        let j = self.resolve(h)?;
        Ok(self.host_job(j)?.should_complete)
    }
}
