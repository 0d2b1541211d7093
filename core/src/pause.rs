//! Pause and resume (SPEC.md §4): the internal pause count, the user pause,
//! and the commands built on them.

use crate::driver::drive;
use crate::error::{Error, Result};
use crate::job::JobRef;
use crate::manager::JobManager;
use crate::model::{IoStatus, JobVerb};
use crate::timers::TimerKind;

impl JobManager {
    /// `job_pause` (internal): one more pause request; a job not parked at a
    /// pause point is kicked so that it reaches one.
    pub(crate) fn pause_job(&mut self, j: JobRef) {
        let job = self.job_mut(j);
        job.pause_count += 1;
        if !job.paused {
            drive!(self, j, |d, cx| d.pause_requested(cx));
            self.enter(j);
        }
    }

    /// `job_resume` (internal): one pause request less; at zero the job is
    /// kicked unless its sleep timer will wake it anyway.
    pub(crate) fn resume_job(&mut self, j: JobRef) {
        let job = self.job_mut(j);
        if job.pause_count == 0 {
            self.bugs.push("job_resume without a pause".into());
            return;
        }
        job.pause_count -= 1;
        if job.pause_count > 0 {
            return;
        }
        if !self.timers.is_armed(j, TimerKind::Sleep) {
            self.enter(j);
        }
    }

    /// The `user_resume` driver hook: block jobs reset their I/O status.
    pub(crate) fn user_resume_hook(&mut self, j: JobRef) {
        let job = self.job_mut(j);
        if job.is_block_job() {
            job.iostatus = IoStatus::Ok;
        }
    }

    /// `job_user_pause`.
    pub(crate) fn user_pause(&mut self, j: JobRef) -> Result<()> {
        self.apply_verb(j, JobVerb::Pause)?;
        let job = self.job_mut(j);
        if job.user_paused {
            return Err(Error::generic("Job is already paused"));
        }
        job.user_paused = true;
        self.pause_job(j);
        Ok(())
    }

    /// `job_user_resume`: the "not paused" check comes before the verb table.
    pub(crate) fn user_resume(&mut self, j: JobRef) -> Result<()> {
        let job = self.job(j);
        if !job.user_paused || job.pause_count == 0 {
            return Err(Error::generic("Can't resume a job that was not paused"));
        }
        self.apply_verb(j, JobVerb::Resume)?;
        let job = self.job_mut(j);
        if job.is_block_job() {
            // The `user_resume` hook of block jobs.
            job.iostatus = IoStatus::Ok;
        }
        job.user_paused = false;
        self.resume_job(j);
        Ok(())
    }
}
