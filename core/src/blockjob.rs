//! What block jobs add to jobs (QEMU's `blockjob.c`): the speed and its rate
//! limiter, the error policy with `BLOCK_JOB_ERROR` and `io-status`, and the
//! `BLOCK_JOB_READY` event.

use crate::driver::drive;
use crate::error::{Error, Result};
use crate::event::{EventKind, IoOperation};
use crate::job::JobRef;
use crate::manager::JobManager;
use crate::model::{ENOSPC, ErrorAction, IoStatus, JobStatus, JobVerb, OnError};

impl JobManager {
    /// `block_job_set_speed`: verb check, then the value check, then the new
    /// limit; a sleeping job is woken when the limit was lifted or raised.
    pub(crate) fn set_speed(&mut self, j: JobRef, speed: i64) -> Result<()> {
        self.apply_verb(j, JobVerb::SetSpeed)?;
        if speed < 0 {
            return Err(Error::invalid_value("speed", "a non-negative value"));
        }
        let speed = speed as u64;
        let old = self.job(j).speed;
        let job = self.job_mut(j);
        job.set_limit(speed);
        job.speed = speed;
        drive!(self, j, |d, cx| d.set_speed(cx, speed));
        if speed != 0 && speed <= old {
            return Ok(());
        }
        if self.job_alive(j) {
            self.enter_if_timer_pending(j);
        }
        Ok(())
    }

    /// `block_job_error_action`: applies the policy to an I/O error with
    /// positive errno `errno`, emits `BLOCK_JOB_ERROR`, and for `stop` pauses
    /// the job as a user pause and records the I/O status.
    pub(crate) fn error_action(
        &mut self,
        j: JobRef,
        policy: OnError,
        is_read: bool,
        errno: i32,
    ) -> ErrorAction {
        let action = policy.action(errno);
        if let Some(device) = self.job(j).id.clone() {
            self.emit(EventKind::BlockJobError {
                device,
                operation: if is_read {
                    IoOperation::Read
                } else {
                    IoOperation::Write
                },
                action,
            });
        }
        if action == ErrorAction::Stop {
            if !self.job(j).user_paused {
                self.pause_job(j);
                self.job_mut(j).user_paused = true;
            }
            let job = self.job_mut(j);
            if job.iostatus == IoStatus::Ok {
                job.iostatus = if errno == ENOSPC {
                    IoStatus::Nospace
                } else {
                    IoStatus::Failed
                };
            }
        }
        action
    }

    /// `job_transition_to_ready`: running → ready, then `BLOCK_JOB_READY`.
    pub(crate) fn transition_to_ready(&mut self, j: JobRef) {
        self.set_status(j, JobStatus::Ready);
        self.emit_block(j, |job, device| EventKind::BlockJobReady {
            job_type: job.job_type,
            device,
            len: job.total,
            offset: job.current,
            speed: job.speed,
        });
    }
}
