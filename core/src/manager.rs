//! The job manager: the struct and its four groups of methods, the job
//! registry (creation, lookup, dismissal), the event queue, and the two
//! doors of QEMU's `job.c` (SPEC.md §2): [`JobManager::set_status`], the one
//! place a status changes, and [`JobManager::apply_verb`], the one place a
//! verb is refused.
//!
//! The rest of the job layer has a file per concept: the coroutine engine
//! (`coroutine.rs`), the main loop and virtual time (`mainloop.rs`), the
//! timers (`timers.rs`), drained sections and graph changes (`drain.rs`),
//! pause and resume (`pause.rs`), cancel (`cancel.rs`), transactions,
//! completion and finalization (`txn.rs`), and the drivers' interface
//! (`driver.rs`).

use crate::block::Graph;
use crate::driver::{Work, drive};
use crate::error::{Error, Result};
use crate::event::{Event, EventKind};
use crate::job::{Co, Job, JobRef, Txn, TxnLink, TxnRef};
use crate::model::{IoStatus, JobStatus, JobType, JobVerb, transition_allowed};
use crate::profile::{Profile, QemuVersion};
use crate::timers::TimerTable;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Work queued on the simulated main loop (QEMU's bottom halves).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Bh {
    /// `job_exit`: the completion of a job whose `run` returned.
    JobExit(JobRef),
}

crate::snapshot::codec::codec_enum!(Bh { JobExit(x0) });

/// Options every job takes at creation (QEMU's `job_create` arguments).
#[derive(Clone, Debug)]
pub(crate) struct NewJob {
    pub id: Option<String>,
    pub job_type: JobType,
    pub auto_finalize: bool,
    pub auto_dismiss: bool,
    pub txn: Option<TxnRef>,
    pub work: Work,
}

/// QEMU 7.2's job layer over a simulated block layer, driven by the caller.
///
/// `JobManager` does no I/O, reads no clock and starts no thread: everything
/// happens inside its methods, and the same calls give the same results, byte
/// for byte. Its methods come in four groups, as in quinn-proto:
///
/// - **getters** (`&self`): [`query_jobs`](Self::query_jobs),
///   [`query_block_jobs`](Self::query_block_jobs), [`now`](Self::now),
///   [`next_deadline`](Self::next_deadline), …
/// - **commands** (typed, one method per QMP command, e.g.
///   [`job_pause`](Self::job_pause), [`blockdev_backup`](Self::blockdev_backup)),
///   and [`execute`](Self::execute) for QMP JSON;
/// - **input from the world**: [`step`](Self::step) runs one unit of ready
///   work, [`settle`](Self::settle) runs what is ready (bounded), [`tick`](Self::tick) and
///   [`advance`](Self::advance) move the virtual clock and run what became
///   due; host-driven jobs report through the `host_*` methods
///   ([`host_progress`](Self::host_progress),
///   [`host_run_finished`](Self::host_run_finished), …);
/// - **output**: [`poll_event`](Self::poll_event) drains the QMP events and
///   [`poll_action`](Self::poll_action) the requests to host-driven jobs.
///
/// The whole manager can be saved and restored
/// ([`to_snapshot_bytes`](Self::to_snapshot_bytes),
/// [`from_snapshot_bytes`](Self::from_snapshot_bytes)).
///
/// Commands do what QEMU does before it replies, then return; what QEMU does
/// later (a job's completion, a timer) happens on later steps.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobManager {
    pub(crate) now: u64,
    pub(crate) jobs: crate::slab::Slab<JobRef, Job>,
    #[serde(skip)]
    pub(crate) by_id: crate::ids::IdIndex,
    /// Registry order: creation sequence → job (newest = last).
    pub(crate) order: BTreeMap<u64, JobRef>,
    pub(crate) txns: Vec<Option<Txn>>,
    pub(crate) free_txns: Vec<TxnRef>,
    pub(crate) graph: Graph,
    pub(crate) events: VecDeque<Event>,
    pub(crate) bhs: VecDeque<Bh>,
    /// Every armed timer.
    pub(crate) timers: TimerTable,
    pub(crate) job_seq: u64,
    /// Whether VM-only commands (`snapshot-*`) exist: false for the storage
    /// daemon, true for a system emulator (`machine` directive).
    pub(crate) machine: bool,
    /// Internal errors (a transition the table forbids): always empty unless
    /// qjob has a bug.
    pub(crate) bugs: Vec<String>,
    /// Transactions kept alive by their creator or by an abort in progress.
    pub(crate) txn_held: Vec<TxnRef>,
    /// The simulated VM's run state (machine mode only).
    pub(crate) run_state: crate::vm::RunState,
    /// Whether the machine has a PCI bus (for `virtio-blk` devices).
    pub(crate) pci: bool,
    /// Requests for host-driven jobs, oldest first.
    pub(crate) actions: VecDeque<crate::host::HostAction>,
    /// What the emulator printed on its standard output and error, oldest
    /// first ([`poll_output`](Self::poll_output)).
    pub(crate) output: VecDeque<crate::hmp::ConsoleOutput>,
    pub(crate) txn_serial: u64,
    /// The QEMU reproduced (kept last: a version 5 snapshot is this
    /// encoding without it, read as 7.2).
    #[serde(default)]
    pub(crate) qemu: QemuVersion,
}

crate::snapshot::codec::codec_struct!(JobManager { now, jobs, order, txns, free_txns, graph, events, bhs, timers, job_seq, machine, bugs, txn_held, run_state, pci, actions, output, txn_serial, qemu } skip { by_id });

impl Default for JobManager {
    fn default() -> Self {
        JobManager::new()
    }
}

/// Most units of work one [`JobManager::settle`] runs.
pub const SETTLE_LIMIT: usize = 65_536;

/// Most units of work one [`JobManager::tick`] runs before it moves the clock
/// to its target regardless (work still due stays ready).
pub const TICK_LIMIT: usize = 65_536;

/// Size of each default-world node: 64 MiB.
pub const DEFAULT_NODE_SIZE: u64 = 64 * 1024 * 1024;

impl JobManager {
    /// An empty manager: no nodes, no jobs, virtual time 0.
    pub fn new() -> JobManager {
        JobManager {
            now: 0,
            jobs: crate::slab::Slab::default(),
            by_id: crate::ids::IdIndex::default(),
            order: BTreeMap::new(),
            txns: Vec::new(),
            free_txns: Vec::new(),
            graph: Graph::default(),
            events: VecDeque::new(),
            bhs: VecDeque::new(),
            timers: TimerTable::default(),
            job_seq: 0,
            machine: false,
            bugs: Vec::new(),
            txn_held: Vec::new(),
            run_state: crate::vm::RunState::Running,
            pci: false,
            actions: VecDeque::new(),
            output: VecDeque::new(),
            txn_serial: 0,
            qemu: QemuVersion::V7_2,
        }
    }

    /// An empty manager reproducing QEMU `qemu` (see [`QemuVersion`]; [`new`](Self::new)
    /// is QEMU 7.2).
    pub fn with_version(qemu: QemuVersion) -> JobManager {
        JobManager {
            qemu,
            ..JobManager::new()
        }
    }

    /// The default world (see [`with_default_world`](Self::with_default_world))
    /// in a manager reproducing QEMU `qemu`.
    pub fn with_default_world_version(qemu: QemuVersion) -> JobManager {
        JobManager {
            qemu,
            ..JobManager::with_default_world()
        }
    }

    /// The QEMU this manager reproduces.
    pub fn version(&self) -> QemuVersion {
        self.qemu
    }

    pub(crate) fn profile(&self) -> &'static Profile {
        self.qemu.profile()
    }

    /// The default world of the scenario format (`scenarios/README.md`): four `null-co`
    /// nodes `src`, `dst`, `src2`, `dst2` of 64 MiB reading zeroes.
    pub fn with_default_world() -> JobManager {
        let mut m = JobManager::new();
        for name in ["src", "dst", "src2", "dst2"] {
            let n = m.graph.add(
                name.to_owned(),
                crate::block::Driver::NullCo { read_zeroes: true },
                DEFAULT_NODE_SIZE,
                true,
            );
            let node = m.graph.node_mut(n);
            node.monitor = true;
            // As the recorder's --blockdev gives them.
            node.strong_options = vec![
                ("size".into(), DEFAULT_NODE_SIZE.into()),
                ("read-zeroes".into(), true.into()),
            ];
        }
        m
    }

    /// Makes the VM-only commands (`snapshot-save`, `snapshot-load`,
    /// `snapshot-delete`) available, as in `qemu-system-*` (the storage
    /// daemon does not have them).
    pub fn set_machine(&mut self, machine: bool) {
        self.machine = machine;
    }

    /// Whether the VM-only commands are available (see
    /// [`set_machine`](Self::set_machine)).
    pub fn machine(&self) -> bool {
        self.machine
    }

    // ----------------------------------------------------------------
    // Getters
    // ----------------------------------------------------------------

    /// The virtual clock, in nanoseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Number of jobs that exist (any status before `null`), internal ones included.
    pub fn job_count(&self) -> usize {
        self.order.len()
    }

    /// Internal errors seen (transitions the status table forbids). Always
    /// empty unless qjob itself has a bug; tests assert it.
    pub fn internal_errors(&self) -> &[String] {
        &self.bugs
    }

    // `job` and `job_mut` are inlined everywhere: LLVM left some of their
    // calls in place, and a call costs more in WebAssembly than natively
    // (the pair of bindings-wasm/bench 4-6% faster inside, natively the same).
    #[inline(always)]
    pub(crate) fn job(&self, j: JobRef) -> &Job {
        self.jobs.get(j).expect("live job")
    }

    #[inline(always)]
    pub(crate) fn job_mut(&mut self, j: JobRef) -> &mut Job {
        self.jobs.get_mut(j).expect("live job")
    }

    pub(crate) fn job_alive(&self, j: JobRef) -> bool {
        self.jobs.get(j).is_some()
    }

    /// Jobs newest first (QEMU's registry order).
    pub(crate) fn jobs_newest_first(&self) -> impl Iterator<Item = JobRef> + '_ {
        self.order.values().rev().copied()
    }

    /// `job_get`: a job with this ID (any type, any status).
    pub(crate) fn find_job(&self, id: &str) -> Option<JobRef> {
        self.by_id.get(&self.jobs, id)
    }

    /// Lookup for `job-*` commands.
    pub(crate) fn lookup_job(&self, id: &str) -> Result<JobRef> {
        self.find_job(id).ok_or_else(Error::job_not_found)
    }

    /// Lookup for `block-job-*` commands: block jobs only.
    pub(crate) fn lookup_block_job(&self, id: &str) -> Result<JobRef> {
        match self.find_job(id) {
            Some(j) if self.job(j).is_block_job() => Ok(j),
            _ => Err(Error::block_job_not_found(id)),
        }
    }

    // ----------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------

    /// Takes the oldest queued event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front();
        if e.is_none() {
            shrink_idle(&mut self.events);
        }
        e
    }

    /// Takes every queued event, oldest first.
    pub fn drain_events(&mut self) -> Vec<Event> {
        // The queue's own buffer becomes the `Vec` (no copy unless the
        // queue wrapped around); the new queue has room for as many events
        // (up to 64), as the next batch is likely the same size.
        let room = self.events.len().min(64);
        Vec::from(std::mem::replace(
            &mut self.events,
            VecDeque::with_capacity(room),
        ))
    }

    /// Drops every queued event (after reading them with
    /// [`JobManager::queued_events`]: a caller that writes each event where
    /// it lies, instead of taking them one by one).
    pub fn clear_events(&mut self) {
        self.events.clear();
        shrink_idle(&mut self.events);
    }

    /// The queued events, oldest first, without taking them.
    pub fn queued_events(&self) -> impl Iterator<Item = &Event> + '_ {
        self.events.iter()
    }

    /// Number of queued events.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    pub(crate) fn emit(&mut self, kind: EventKind) {
        self.events.push_back(Event {
            timestamp_ns: self.now,
            kind,
        });
    }

    /// Emits a block-job event for a named block job (internal and non-block
    /// jobs emit none).
    pub(crate) fn emit_block(
        &mut self,
        j: JobRef,
        f: impl FnOnce(&Job, std::sync::Arc<str>) -> EventKind,
    ) {
        let job = self.job(j);
        if !job.is_block_job() {
            return;
        }
        if let Some(id) = job.id.clone() {
            let kind = f(job, id);
            self.emit(kind);
        }
    }

    // ----------------------------------------------------------------
    // Status changes and the verb table
    // ----------------------------------------------------------------

    /// `job_state_transition`: the one place a status changes. Checks the
    /// transition table and emits `JOB_STATUS_CHANGE` when the status differs.
    pub(crate) fn set_status(&mut self, j: JobRef, to: JobStatus) {
        let job = self.jobs.get_mut(j).expect("live job");
        let from = job.status;
        job.status = to;
        let id = match &job.id {
            Some(id) if from != to => Some(id.clone()),
            _ => None,
        };
        if !transition_allowed(from, to) {
            self.forbidden_transition(j, from, to);
        }
        if let Some(id) = id {
            self.emit(EventKind::JobStatusChange { id, status: to });
        }
    }

    /// Records a transition the status table forbids (a bug in qjob), out
    /// of line: [`set_status`](Self::set_status) runs on every change.
    #[cold]
    #[inline(never)]
    fn forbidden_transition(&mut self, j: JobRef, from: JobStatus, to: JobStatus) {
        let msg = format!(
            "job '{}': forbidden transition {from} -> {to}",
            self.job(j).id.as_deref().unwrap_or("<internal>")
        );
        debug_assert!(false, "{msg}");
        self.bugs.push(msg);
    }

    /// `job_apply_verb`: refuses a verb the table forbids in the job's status.
    pub(crate) fn apply_verb(&self, j: JobRef, verb: JobVerb) -> Result<()> {
        let job = self.job(j);
        if self.qemu.verb_allowed(verb, job.status) {
            return Ok(());
        }
        Err(Error::generic(format!(
            "Job '{}' in state '{}' cannot accept command verb '{}'",
            job.id.as_deref().unwrap_or(""),
            job.status,
            verb
        )))
    }

    // ----------------------------------------------------------------
    // Creation and the end of a job
    // ----------------------------------------------------------------

    /// `job_create`'s ID checks, in QEMU's order.
    pub(crate) fn check_new_id(&self, id: Option<&str>, internal: bool) -> Result<()> {
        match id {
            Some(_) if internal => Err(Error::generic("Cannot specify job ID for internal job")),
            Some(id) => {
                if !crate::model::id_wellformed(id) {
                    Err(Error::generic(format!("Invalid job ID '{id}'")))
                } else if self.find_job(id).is_some() {
                    Err(Error::generic(format!("Job ID '{id}' already in use")))
                } else {
                    Ok(())
                }
            }
            None if !internal => Err(Error::generic("An explicit job ID is required")),
            None => Ok(()),
        }
    }

    /// `job_create`: validates the ID, creates the job in `created` (event),
    /// inserts it at the head of the registry and of its transaction.
    pub(crate) fn create_job(&mut self, opts: NewJob) -> Result<JobRef> {
        self.check_new_id(opts.id.as_deref(), opts.id.is_none())?;
        let txn = match opts.txn {
            Some(t) => TxnLink::Shared(t),
            None => TxnLink::Own { aborting: false },
        };
        self.job_seq += 1;
        let job = Job {
            id: opts.id.as_deref().map(std::sync::Arc::from),
            seq: self.job_seq,
            job_type: opts.job_type,
            status: JobStatus::Undefined,
            pause_count: 1,
            user_paused: false,
            paused: true,
            busy: false,
            cancelled: false,
            force_cancel: false,
            deferred: false,
            auto_finalize: opts.auto_finalize,
            auto_dismiss: opts.auto_dismiss,
            current: 0,
            total: 0,
            ret: 0,
            err: None,
            txn,
            co: Co::NotStarted,
            speed: 0,
            limit: None,
            iostatus: IoStatus::Ok,
            nodes: None,
            work: opts.work,
        };
        let j = self.jobs.insert(job);
        self.set_status(j, JobStatus::Created);
        if self.job(j).id.is_some() {
            self.by_id.insert(&self.jobs, j);
        }
        self.order.insert(self.job_seq, j);
        if let TxnLink::Shared(t) = txn {
            let t = self.txn_mut(t);
            t.members.insert(0, j);
            t.held_by_host = false;
        }
        Ok(j)
    }

    /// `job_early_fail`: a job whose creation failed goes straight to null.
    pub(crate) fn early_fail(&mut self, j: JobRef) {
        debug_assert_eq!(self.job(j).status, JobStatus::Created);
        self.do_dismiss(j);
    }

    /// `job_do_dismiss`: → null, out of the transaction and the registry.
    pub(crate) fn do_dismiss(&mut self, j: JobRef) {
        {
            let job = self.job_mut(j);
            job.paused = false;
            job.deferred = true;
        }
        self.txn_del_job(j);
        self.set_status(j, JobStatus::Null);
        self.free_job(j);
    }

    fn free_job(&mut self, j: JobRef) {
        self.timers.stop_all(j);
        self.bhs.retain(|b| *b != Bh::JobExit(j));
        self.detach_job(j);
        drive!(self, j, |d, cx| d.free(cx));
        self.job_graph_drains(j, crate::profile::GraphChange::Freed);
        if self.job(j).id.is_some() {
            self.by_id.remove(&self.jobs, j);
        }
        let job = self.jobs.remove(j).expect("live job");
        self.order.remove(&job.seq);
    }
}

/// Gives back the memory of a queue that grew large and is now empty.
pub(crate) fn shrink_idle<T>(q: &mut VecDeque<T>) {
    if q.is_empty() && q.capacity() > 1024 {
        q.shrink_to(16);
    }
}
