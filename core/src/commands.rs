//! The typed command API: one method per QMP command, with QEMU's checks in
//! QEMU's order and QEMU's error texts.
//!
//! The job verbs (`job-*`, `block-job-*`) and the queries are here; job
//! creation (`blockdev-backup`, `blockdev-mirror`, …) is in `create/`, the
//! QMP `transaction` command in `actions.rs`, bitmaps in `bitmap.rs` and the
//! block-node commands in `nodes.rs`.

use crate::driver::drive;
use crate::error::{Error, Result};
use crate::job::JobRef;
use crate::manager::JobManager;
use crate::model::{IoStatus, JobStatus, JobType, JobVerb};
use crate::options::MirrorCopyMode;

/// One entry of `query-jobs` (QAPI `JobInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JobInfo {
    /// The job ID.
    pub id: String,
    /// The job type.
    pub job_type: JobType,
    /// The status.
    pub status: JobStatus,
    /// Progress made so far.
    pub current_progress: u64,
    /// Estimated progress at the end.
    pub total_progress: u64,
    /// The error text, once the job has failed.
    pub error: Option<String>,
}

/// One entry of `query-block-jobs` (QAPI `BlockJobInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlockJobInfo {
    /// The job type.
    pub job_type: JobType,
    /// The job ID.
    pub device: String,
    /// Total progress.
    pub len: u64,
    /// Current progress.
    pub offset: u64,
    /// Whether the job's coroutine is running right now.
    pub busy: bool,
    /// Whether a pause is requested (`pause_count > 0`), user or internal.
    pub paused: bool,
    /// Speed limit in bytes per second (0: unlimited).
    pub speed: u64,
    /// I/O status.
    pub io_status: IoStatus,
    /// Whether the status is `ready` or `standby`.
    pub ready: bool,
    /// The status.
    pub status: JobStatus,
    /// Finalize automatically.
    pub auto_finalize: bool,
    /// Dismiss automatically.
    pub auto_dismiss: bool,
    /// The error text, when the job's return value is an error.
    pub error: Option<String>,
    /// `actively-synced` (QEMU 10.0, mirror jobs only): whether a
    /// write-blocking mirror is in sync.
    pub actively_synced: Option<bool>,
}

impl JobManager {
    // ----------------------------------------------------------------
    // Queries
    // ----------------------------------------------------------------

    /// `query-jobs`: every job with an ID, newest first.
    pub fn query_jobs(&self) -> Vec<JobInfo> {
        self.jobs_newest_first()
            .filter_map(|j| self.job_info_of(j))
            .collect()
    }

    /// `query-block-jobs`: every block job with an ID, newest first.
    pub fn query_block_jobs(&self) -> Vec<BlockJobInfo> {
        self.jobs_newest_first()
            .filter_map(|j| self.block_job_info_of(j))
            .collect()
    }

    /// The `query-jobs` entry of one job, by ID.
    pub fn job_info(&self, id: &str) -> Option<JobInfo> {
        self.find_job(id).and_then(|j| self.job_info_of(j))
    }

    /// Whether the job `id` has reached `status`: it is in it now (a job
    /// that does not exist counts as `null`), or a `JOB_STATUS_CHANGE` of
    /// it to `status` is among the queued events. What a wait for a status
    /// checks (`x-qjob-wait`, Python's `wait`), with
    /// [`run_until`](Self::run_until).
    pub fn status_reached(&self, id: &str, status: JobStatus) -> bool {
        let now = self
            .find_job(id)
            .map_or(JobStatus::Null, |j| self.job(j).status);
        now == status
            || self
                .queued_events()
                .any(|e| e.kind.is_status_change(id, status))
    }

    /// Whether an event named `name` about job `id` is among the queued
    /// events: what a wait for an event checks (`x-qjob-wait`, Python's
    /// `wait_event`), with [`run_until`](Self::run_until).
    pub fn event_queued(&self, name: &str, id: &str) -> bool {
        self.queued_events()
            .any(|e| e.kind.is_event_about(name, id))
    }

    fn job_info_of(&self, j: JobRef) -> Option<JobInfo> {
        let job = self.job(j);
        Some(JobInfo {
            id: job.id.as_deref()?.to_owned(),
            job_type: job.job_type,
            status: job.status,
            current_progress: job.current,
            total_progress: job.total,
            error: job.err.as_deref().map(str::to_owned),
        })
    }

    fn block_job_info_of(&self, j: JobRef) -> Option<BlockJobInfo> {
        let job = self.job(j);
        if !job.is_block_job() {
            return None;
        }
        Some(BlockJobInfo {
            job_type: job.job_type,
            device: job.id.as_deref()?.to_owned(),
            len: job.total,
            offset: job.current,
            busy: job.busy,
            paused: job.pause_count > 0,
            speed: job.speed,
            io_status: job.iostatus,
            ready: job.status.is_ready(),
            status: job.status,
            auto_finalize: job.auto_finalize,
            auto_dismiss: job.auto_dismiss,
            error: if job.ret != 0 {
                Some(
                    job.err
                        .as_deref()
                        .map(str::to_owned)
                        .unwrap_or_else(|| crate::model::strerror(-job.ret)),
                )
            } else {
                None
            },
            actively_synced: if self.profile().actively_synced && job.job_type == JobType::Mirror {
                job.work.driver().and_then(|d| d.actively_synced())
            } else {
                None
            },
        })
    }

    /// The refusal the verb table gives `verb` on the job `id` right now
    /// (`Ok(())` when allowed; `None` when there is no such job): QEMU's
    /// `Job 'x' in state 'y' cannot accept command verb 'z'`.
    pub fn verb_refusal(&self, id: &str, verb: JobVerb) -> Option<Result<()>> {
        let j = self.find_job(id)?;
        Some(self.apply_verb(j, verb))
    }

    /// Whether the verb table allows `verb` on the job `id` right now
    /// (`None` when there is no such job). User interfaces use this to enable
    /// their buttons; the commands themselves check the same table.
    pub fn verb_allowed(&self, id: &str, verb: JobVerb) -> Option<bool> {
        let j = self.find_job(id)?;
        Some(self.apply_verb(j, verb).is_ok())
    }

    // ----------------------------------------------------------------
    // job-* verbs
    // ----------------------------------------------------------------

    /// `job-pause`: refused by the verb table, or with `Job is already
    /// paused`; the job pauses at its next pause point.
    pub fn job_pause(&mut self, id: &str) -> Result<()> {
        let j = self.lookup_job(id)?;
        self.user_pause(j)
    }

    /// `job-resume`: refused with `Can't resume a job that was not paused`
    /// (checked before the verb table).
    pub fn job_resume(&mut self, id: &str) -> Result<()> {
        let j = self.lookup_job(id)?;
        self.user_resume(j)
    }

    /// `job-cancel`: always a hard cancel.
    pub fn job_cancel(&mut self, id: &str) -> Result<()> {
        let j = self.lookup_job(id)?;
        self.apply_verb(j, JobVerb::Cancel)?;
        self.cancel(j, true);
        Ok(())
    }

    /// `job-complete`: only mirror and active commit, in `ready`/`standby`,
    /// and not after a cancel request.
    pub fn job_complete(&mut self, id: &str) -> Result<()> {
        let j = self.lookup_job(id)?;
        self.complete(j)
    }

    /// `job-finalize`: finalizes the whole transaction of a pending job.
    pub fn job_finalize(&mut self, id: &str) -> Result<()> {
        let j = self.lookup_job(id)?;
        self.finalize(j)
    }

    /// `job-dismiss`: a concluded job goes to null and frees its ID.
    pub fn job_dismiss(&mut self, id: &str) -> Result<()> {
        let j = self.lookup_job(id)?;
        self.apply_verb(j, JobVerb::Dismiss)?;
        self.do_dismiss(j);
        Ok(())
    }

    // ----------------------------------------------------------------
    // block-job-* verbs
    // ----------------------------------------------------------------

    /// `block-job-pause`.
    pub fn block_job_pause(&mut self, device: &str) -> Result<()> {
        let j = self.lookup_block_job(device)?;
        self.user_pause(j)
    }

    /// `block-job-resume`.
    pub fn block_job_resume(&mut self, device: &str) -> Result<()> {
        let j = self.lookup_block_job(device)?;
        self.user_resume(j)
    }

    /// `block-job-cancel`: without `force`, refused for a user-paused job
    /// (before the verb table); a soft cancel of a ready mirror completes it.
    pub fn block_job_cancel(&mut self, device: &str, force: bool) -> Result<()> {
        let j = self.lookup_block_job(device)?;
        if self.job(j).user_paused && !force {
            return Err(Error::generic(format!(
                "The block job for device '{device}' is currently paused"
            )));
        }
        self.apply_verb(j, JobVerb::Cancel)?;
        self.cancel(j, force);
        Ok(())
    }

    /// `block-job-complete`.
    pub fn block_job_complete(&mut self, device: &str) -> Result<()> {
        let j = self.lookup_block_job(device)?;
        self.complete(j)
    }

    /// `block-job-finalize`.
    pub fn block_job_finalize(&mut self, id: &str) -> Result<()> {
        let j = self.lookup_block_job(id)?;
        self.finalize(j)
    }

    /// `block-job-dismiss`.
    pub fn block_job_dismiss(&mut self, id: &str) -> Result<()> {
        let j = self.lookup_block_job(id)?;
        self.apply_verb(j, JobVerb::Dismiss)?;
        self.do_dismiss(j);
        Ok(())
    }

    /// `block-job-set-speed`: verb table, then `Parameter 'speed' expects a
    /// non-negative value`.
    pub fn block_job_set_speed(&mut self, device: &str, speed: i64) -> Result<()> {
        let j = self.lookup_block_job(device)?;
        self.set_speed(j, speed)
    }

    /// `block-job-change` (QEMU 10.0): a mirror's copy mode, from
    /// background to write-blocking (a change to the mode it has does
    /// nothing). Refused by the verb table (`change`), then for jobs of other
    /// types ("Job type does not support change"); QEMU 7.2 has no such
    /// command.
    pub fn block_job_change(&mut self, id: &str, copy_mode: MirrorCopyMode) -> Result<()> {
        self.require_command("block-job-change")?;
        let j = self.lookup_block_job(id)?;
        self.apply_verb(j, JobVerb::Change)?;
        // Only the mirror job driver has the hook; an active commit runs
        // mirror's code under the commit job driver, which has none.
        if self.job(j).job_type != crate::model::JobType::Mirror {
            return Err(Error::generic("Job type does not support change"));
        }
        match drive!(self, j, |d, _cx| d.change(copy_mode)).flatten() {
            Some(r) => r,
            None => Err(Error::generic("Job type does not support change")),
        }
    }

    /// QEMU's visitor's refusal of a member the manager's QEMU does not
    /// have (`Parameter 'x' is unexpected`), when it was `given` (through
    /// the typed API: the QMP parser leaves such members unread).
    pub(crate) fn require_member(&self, full_name: &str, given: bool) -> Result<()> {
        let own = full_name.rsplit('.').next().unwrap_or(full_name);
        if given && !self.qemu.has_member(own) {
            return Err(Error::unexpected_parameter(full_name));
        }
        Ok(())
    }

    /// `CommandNotFound` for a command the manager's QEMU does not have.
    pub(crate) fn require_command(&self, name: &str) -> Result<()> {
        if self.qemu.has_command(name) {
            Ok(())
        } else {
            Err(Error::command_not_found(name))
        }
    }

    // ----------------------------------------------------------------
    // Shared bodies
    // ----------------------------------------------------------------

    /// `job_complete`.
    pub(crate) fn complete(&mut self, j: JobRef) -> Result<()> {
        self.apply_verb(j, JobVerb::Complete)?;
        let cannot = Error::generic(format!(
            "The active block job '{}' cannot be completed",
            self.job(j).id.as_deref().unwrap_or("")
        ));
        if self.job(j).cancelled {
            return Err(cannot);
        }
        match drive!(self, j, |d, cx| d.complete(cx)).flatten() {
            Some(r) => r,
            None => Err(cannot),
        }
    }

    /// `job_finalize`.
    pub(crate) fn finalize(&mut self, j: JobRef) -> Result<()> {
        self.apply_verb(j, JobVerb::Finalize)?;
        self.do_finalize(j);
        Ok(())
    }
}
