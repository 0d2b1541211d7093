//! One job's state: the fields QEMU keeps per job (SPEC.md §1.1) plus the
//! position of its simulated coroutine.

use serde::{Deserialize, Serialize};

use crate::driver::Work;
use crate::model::{IoStatus, JobStatus, JobType};
use crate::ratelimit::RateLimit;

pub(crate) use crate::slab::{JobRef, TxnRef};

/// Where the job's coroutine stands (what will happen when it is entered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Co {
    /// `job_start` has not run.
    NotStarted,
    /// Running right now (between an enter and the next yield).
    Running,
    /// Parked at a pause point; `saved` is the status to return to.
    Parked { saved: JobStatus },
    /// In `job_sleep_ns`/`job_yield`: will pass a pause point when entered.
    Yielded,
    /// `run` returned: the completion is queued or done.
    Finished,
}

crate::snapshot::codec::codec_enum!(Co { NotStarted, Running, Parked { saved }, Yielded, Finished });

/// A job: generic fields, block-job fields and the simulated workload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Job {
    pub id: Option<std::sync::Arc<str>>,
    pub seq: u64,
    pub job_type: JobType,
    pub status: JobStatus,
    pub pause_count: u32,
    pub user_paused: bool,
    pub paused: bool,
    pub busy: bool,
    pub cancelled: bool,
    pub force_cancel: bool,
    pub deferred: bool,
    pub auto_finalize: bool,
    pub auto_dismiss: bool,
    pub current: u64,
    pub total: u64,
    pub ret: i32,
    pub err: Option<Box<str>>,
    /// The transaction the job belongs to.
    pub txn: TxnLink,
    pub co: Co,
    /// Block-job fields.
    pub speed: u64,
    /// The rate limiter, made when a speed limit is first set.
    pub limit: Option<Box<RateLimit>>,
    pub iostatus: IoStatus,
    /// The job's links to nodes, oldest first (a drained section over one
    /// of them pauses the job), with the permissions each takes; host jobs
    /// have none, so the list lives on the heap.
    #[allow(clippy::box_collection)] // one pointer in every job, not three
    pub nodes: Option<Box<Vec<crate::perm::JobLink>>>,
    pub work: Work,
}

crate::snapshot::codec::codec_struct!(Job {
    id,
    seq,
    job_type,
    status,
    pause_count,
    user_paused,
    paused,
    busy,
    cancelled,
    force_cancel,
    deferred,
    auto_finalize,
    auto_dismiss,
    current,
    total,
    ret,
    err,
    txn,
    co,
    speed,
    limit,
    iostatus,
    nodes,
    work
});

impl Job {
    pub fn started(&self) -> bool {
        self.co != Co::NotStarted
    }

    pub fn is_block_job(&self) -> bool {
        self.job_type.is_block_job()
    }

    /// `job_is_cancelled` (6.2+: hard-cancelled).
    pub fn is_cancelled(&self) -> bool {
        self.force_cancel
    }

    /// `ratelimit_calculate_delay` on the job's limiter (no limiter: no delay).
    pub fn rate_delay(&mut self, now: u64, n: u64) -> u64 {
        match &mut self.limit {
            Some(l) => l.calculate_delay(now, n),
            None => 0,
        }
    }

    /// `ratelimit_set_speed`. A job that never had a limit gets one only for
    /// a non-zero speed (an unused limiter at speed 0 changes nothing).
    pub fn set_limit(&mut self, speed: u64) {
        match &mut self.limit {
            Some(l) => l.set_speed(speed),
            None if speed != 0 => {
                let mut l = RateLimit::new();
                l.set_speed(speed);
                self.limit = Some(Box::new(l));
            }
            None => {}
        }
    }

    /// `job_should_pause`.
    pub fn should_pause(&self) -> bool {
        self.pause_count > 0
    }
}

/// Which transaction a job is in. Most jobs are alone in theirs (QEMU gives
/// each job without a transaction a private one); those need no `Txn` object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum TxnLink {
    /// A one-job transaction; `aborting` is its flag.
    Own { aborting: bool },
    /// A member of a shared transaction.
    Shared(TxnRef),
    /// Left its transaction (finalized or dismissed).
    Left,
}

crate::snapshot::codec::codec_enum!(TxnLink { Own { aborting }, Shared(x0), Left });

/// A transaction as the code that walks it sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxnKey {
    /// The private transaction of this job.
    Own(JobRef),
    /// A shared transaction.
    Shared(TxnRef),
}

/// A job transaction (`JobTxn`): members newest first.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Txn {
    pub aborting: bool,
    pub members: Vec<JobRef>,
    /// Distinguishes transactions that reuse a slot (for host handles).
    pub serial: u64,
    /// Made by the host and not joined yet: kept although empty.
    pub held_by_host: bool,
    /// An abort waits for a host job to end its run.
    pub abort_suspended: bool,
}

crate::snapshot::codec::codec_struct!(Txn {
    aborting,
    members,
    serial,
    held_by_host,
    abort_suspended
});
