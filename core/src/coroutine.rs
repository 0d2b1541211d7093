//! The coroutine engine (SPEC.md §3–§4): how a job's coroutine starts,
//! is entered, runs its driver until it waits, passes pause points, sleeps,
//! yields and returns. QEMU runs `run` as a coroutine; qjob runs the
//! driver's resumable `run` and turns each [`Wait`] into what the coroutine
//! would do there.

use crate::driver::{Entry, Wait, drive};
use crate::job::{Co, JobRef};
use crate::manager::{Bh, JobManager};
use crate::model::JobStatus;
use crate::timers::TimerKind;

/// Why a coroutine is being entered.
#[derive(Clone, Copy, Debug)]
enum Resume {
    Start,
    FromPause(JobStatus),
    FromYield,
}

impl JobManager {
    /// `job_start`: created → running, and the coroutine runs to its first
    /// yield.
    pub(crate) fn start_job(&mut self, j: JobRef) {
        let job = self.job_mut(j);
        debug_assert!(!job.started() && job.paused);
        job.pause_count -= 1;
        job.busy = true;
        job.paused = false;
        job.co = Co::Running;
        self.set_status(j, JobStatus::Running);
        self.run_coroutine(j, Resume::Start);
    }

    /// `job_enter`: re-enters a started, idle job whose run has not finished.
    pub(crate) fn enter(&mut self, j: JobRef) {
        let Some(job) = self.jobs.get(j) else {
            return;
        };
        if !job.started() || job.deferred || job.busy {
            return;
        }
        self.timers.stop(j, TimerKind::Sleep);
        let job = self.job_mut(j);
        job.busy = true;
        let resume = match job.co {
            Co::Parked { saved } => Resume::FromPause(saved),
            Co::Yielded => Resume::FromYield,
            Co::NotStarted | Co::Running | Co::Finished => return,
        };
        job.co = Co::Running;
        self.run_coroutine(j, resume);
    }

    /// `job_enter_cond(job, job_timer_pending)`.
    pub(crate) fn enter_if_timer_pending(&mut self, j: JobRef) {
        if self.timers.is_armed(j, TimerKind::Sleep) {
            self.enter(j);
        }
    }

    /// Runs a job's coroutine until it yields, sleeps, parks or finishes.
    fn run_coroutine(&mut self, j: JobRef, resume: Resume) {
        let mut entry = match resume {
            Resume::Start => Entry::Start,
            Resume::FromYield => Entry::FromYield,
            Resume::FromPause(_) => Entry::FromPause,
        };
        let mut need_pause_point = match resume {
            Resume::Start | Resume::FromYield => true,
            Resume::FromPause(saved) => {
                let job = self.job_mut(j);
                job.paused = false;
                self.set_status(j, saved);
                false
            }
        };
        loop {
            if need_pause_point && self.pause_point(j) {
                return;
            }
            let Some(wait) = drive!(self, j, |d, cx| d.run(cx, entry)) else {
                self.bugs
                    .push("a job's coroutine was entered inside its own driver".into());
                return;
            };
            entry = Entry::Continue;
            match wait {
                Wait::Host => return,
                Wait::PausePoint => need_pause_point = true,
                // `job_sleep_ns` / `job_yield`: a cancelled job goes on at
                // once, a job to be paused passes its pause point instead.
                Wait::Sleep(_) | Wait::Yield => {
                    let job = self.job(j);
                    if job.is_cancelled() {
                        need_pause_point = false;
                        continue;
                    }
                    if !job.should_pause() {
                        if let Wait::Sleep(ns) = wait {
                            let deadline = self.now.saturating_add(ns);
                            self.timers.arm(j, TimerKind::Sleep, deadline);
                        }
                        let job = self.job_mut(j);
                        job.busy = false;
                        job.co = Co::Yielded;
                        return;
                    }
                    need_pause_point = true;
                }
                Wait::Done(ret, err) => {
                    self.run_returned(j, ret, err);
                    return;
                }
            }
        }
    }

    /// `run` returned: the job is deferred and its completion (`job_exit`)
    /// is queued on the main loop.
    pub(crate) fn run_returned(&mut self, j: JobRef, ret: i32, err: Option<String>) {
        let job = self.job_mut(j);
        job.ret = ret;
        if err.is_some() {
            job.err = err.map(String::into_boxed_str);
        }
        job.deferred = true;
        job.busy = true;
        job.co = Co::Finished;
        self.bhs.push_back(Bh::JobExit(j));
    }

    /// `job_pause_point`. Returns true when the job parked (the coroutine
    /// yielded).
    pub(crate) fn pause_point(&mut self, j: JobRef) -> bool {
        let job = self.job(j);
        if !job.should_pause() || job.is_cancelled() {
            return false;
        }
        drive!(self, j, |d, cx| d.pause(cx));
        let job = self.job_mut(j);
        if job.should_pause() && !job.is_cancelled() {
            let saved = job.status;
            job.paused = true;
            job.busy = false;
            job.co = Co::Parked { saved };
            let to = if saved == JobStatus::Ready {
                JobStatus::Standby
            } else {
                JobStatus::Paused
            };
            self.set_status(j, to);
            return true;
        }
        false
    }
}
