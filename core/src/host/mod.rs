//! Host-driven jobs: the host (a hypervisor, a test harness) does the job's
//! work itself and qjob runs QEMU's lifecycle around it.
//!
//! The host reports what its job coroutine does — progress, pause points,
//! sleeps, I/O errors, readiness, the end of its run, the result of
//! `prepare` — through the `host_*` methods, and learns what the core wants
//! from [`JobManager::poll_action`](crate::JobManager::poll_action): start,
//! resume or wake, pause at the next pause point, cancel, complete, a new
//! speed, and the finalization hooks `prepare` / `commit` / `abort` /
//! `clean` in QEMU's order. The core never calls into the host.
//!
//! The public types are here; `reports.rs` has the manager's methods for
//! host jobs, `driver.rs` the job driver that turns QEMU's callbacks into
//! requests.
//!
//! A host job is a job like the others: the same status table, verbs,
//! transactions, events and error policies apply, and a host job and a
//! simulated job in one transaction behave as two QEMU jobs do.

use crate::model::{JobType, OnError};
use serde::{Deserialize, Serialize};

mod driver;
mod reports;

pub(crate) use driver::HostJob;

/// A job, as the host names it (internal jobs have no ID). Stale handles
/// (of jobs that are gone) are refused, never confused with newer jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobHandle {
    slot: u32,
    seq: u64,
}

crate::snapshot::codec::codec_struct!(JobHandle { slot, seq });

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

/// A job transaction made by the host
/// ([`JobManager::new_transaction`](crate::JobManager::new_transaction)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxnHandle {
    slot: u32,
    serial: u64,
}

crate::snapshot::codec::codec_struct!(TxnHandle { slot, serial });

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
    /// ([`JobManager::host_run_finished`](crate::JobManager::host_run_finished)).
    Cancelled,
}

crate::snapshot::codec::codec_enum!(HostDirective {
    Continue,
    Paused,
    Sleeping,
    Cancelled
});

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

crate::snapshot::codec::codec_enum!(HostErrorAction { Retry, Fail, Pause });

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
    /// Run the `prepare` step and report with
    /// [`JobManager::host_prepare_done`](crate::JobManager::host_prepare_done).
    Prepare,
    /// Make the job's changes permanent.
    Commit,
    /// Undo the job's changes.
    Abort,
    /// Release what the job holds (after commit or abort).
    Clean,
}

crate::snapshot::codec::codec_enum!(HostActionKind { Start, Resume, Wake, Pause, Cancel { force }, Complete, SetSpeed(x0), Prepare, Commit, Abort, Clean });

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

crate::snapshot::codec::codec_struct!(HostAction { job, kind });
