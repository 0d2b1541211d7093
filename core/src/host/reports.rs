//! What the host tells the core about its jobs (the `host_*` reports) and
//! asks of it (creating host jobs and transactions, polling requests).

use super::driver::{PrepareState, running};
use super::{
    HostAction, HostActionKind, HostDirective, HostErrorAction, HostJob, HostJobOptions, JobHandle,
    TxnHandle,
};
use crate::driver::Work;
use crate::error::{Error, Result};
use crate::event::IoOperation;
use crate::job::{Co, JobRef, TxnRef};
use crate::manager::{JobManager, NewJob};
use crate::model::ErrorAction;
use crate::slab::Slot;
use crate::timers::TimerKind;

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
                // ASCII: a job's ID is well formed (`job_create`).
                self.name(j).to_ascii_lowercase(),
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
