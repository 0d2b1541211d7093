//! Cancel (SPEC.md §5): soft and hard requests, and how each status carries
//! them out.

use crate::driver::drive;
use crate::job::JobRef;
use crate::manager::JobManager;
use crate::model::JobStatus;

impl JobManager {
    /// `job_cancel_async`: records the request; the driver's cancel hook may
    /// turn a soft cancel into a hard one; a user pause is lifted.
    pub(crate) fn cancel_async(&mut self, j: JobRef, force: bool) {
        let force = drive!(self, j, |d, cx| d.cancel(cx, force)).unwrap_or(true);
        if self.job(j).user_paused {
            self.user_resume_hook(j);
            let job = self.job_mut(j);
            job.user_paused = false;
            debug_assert!(job.pause_count > 0);
            job.pause_count = job.pause_count.saturating_sub(1);
        }
        let job = self.job_mut(j);
        if force || !job.deferred {
            job.cancelled = true;
            job.force_cancel |= force;
        }
    }

    /// `job_cancel`.
    pub(crate) fn cancel(&mut self, j: JobRef, force: bool) {
        if self.job(j).status == JobStatus::Concluded {
            self.do_dismiss(j);
            return;
        }
        self.cancel_async(j, force);
        let job = self.job(j);
        if !job.started() {
            self.completed(j);
        } else if job.deferred {
            if job.is_cancelled() {
                self.txn_abort(j);
            }
        } else {
            self.enter(j);
        }
    }

    /// `job_cancel_sync(force)`: cancel, then run the main loop until the job
    /// has completed.
    pub(crate) fn cancel_sync(&mut self, j: JobRef, force: bool) {
        self.cancel(j, force);
        self.finish_sync(j);
    }

    /// `job_finish_sync`: kicks the job and runs the main loop until it has
    /// completed (or is gone).
    pub(crate) fn finish_sync(&mut self, j: JobRef) {
        let mut guard = 0u32;
        while self.job_alive(j) && !self.job(j).status.is_completed() {
            guard += 1;
            if guard > 1_000_000 {
                self.bugs.push("finish_sync: no progress".into());
                return;
            }
            if !self.job(j).started() {
                // Never started: nothing will run it; it completes now (as
                // a cancel of a created job does).
                self.completed(j);
                break;
            }
            self.enter(j);
            if !self.job_alive(j) || self.job(j).status.is_completed() {
                break;
            }
            if !self.has_ready_work() {
                match self.next_deadline() {
                    Some(d) => self.now = self.now.max(d),
                    None => {
                        self.bugs.push("finish_sync: job cannot finish".into());
                        return;
                    }
                }
            }
            self.step();
        }
    }
}
