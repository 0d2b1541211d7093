//! The job manager: registry, status changes, the coroutine engine, the main
//! loop (bottom halves and timers) and virtual time.
//!
//! This file holds the generic job layer of QEMU's `job.c` (SPEC.md §2–§7):
//! [`JobManager::set_status`] is the one place a status changes, the pause
//! point / sleep / yield engine is [`JobManager::enter`], and completion runs
//! through `job_exit` → `completed` → transaction success or abort →
//! `finalize_single`. Pause/resume live in `pause.rs`, cancel in `cancel.rs`,
//! transactions and finalization in `txn.rs`.

use crate::block::{Graph, NodeRef, Parent, Role};
use crate::error::{Error, Result};
use crate::event::{Event, EventKind};
use crate::job::{Co, Job, JobRef, Txn, TxnKey, TxnLink, TxnRef};
use crate::model::{IoStatus, JobStatus, JobType, JobVerb, transition_allowed, verb_allowed};
use crate::workload::{Entry, Wait, Work};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

/// Work queued on the simulated main loop (QEMU's bottom halves).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Bh {
    /// `job_exit`: the completion of a job whose `run` returned.
    JobExit(JobRef),
}

/// Which timer of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum TimerKind {
    /// The job coroutine's sleep timer.
    Sleep,
    /// A driver-internal timer (backup's copy engine rate-limit sleep).
    Driver,
}

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
    pub(crate) jobs: crate::slab::Slab<Job>,
    #[serde(skip)]
    pub(crate) by_id: HashMap<std::sync::Arc<str>, JobRef, BuildFnv>,
    /// Registry order: creation sequence → job (newest = last).
    pub(crate) order: BTreeMap<u64, JobRef>,
    pub(crate) txns: Vec<Option<Txn>>,
    free_txns: Vec<TxnRef>,
    pub(crate) graph: Graph,
    events: VecDeque<Event>,
    bhs: VecDeque<Bh>,
    /// Armed timers: a min-heap of `(deadline, arming sequence, job | kind
    /// bit)`; equal deadlines fire in the order they were armed. Cancelled
    /// timers are dropped lazily: an entry is live while its job still
    /// records it, and the top entry is always live.
    timers: BinaryHeap<Reverse<(u64, u32, u32)>>,
    /// Entries of `timers` that are no longer live.
    stale_timers: usize,
    timer_seq: u32,
    job_seq: u64,
    /// Whether VM-only commands (`snapshot-*`) exist: false for the storage
    /// daemon, true for a system emulator (`machine` directive).
    pub(crate) machine: bool,
    /// Internal errors (a transition the table forbids): always empty unless
    /// qjob has a bug.
    pub(crate) bugs: Vec<String>,
    /// Transactions kept alive by their creator or by an abort in progress.
    pub(crate) txn_held: Vec<TxnRef>,
    /// Whether the simulated VM runs (machine mode only).
    pub(crate) vm_running: bool,
    /// Requests for host-driven jobs, oldest first.
    pub(crate) actions: VecDeque<crate::workload::host::HostAction>,
    txn_serial: u64,
}

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
            by_id: HashMap::default(),
            order: BTreeMap::new(),
            txns: Vec::new(),
            free_txns: Vec::new(),
            graph: Graph::default(),
            events: VecDeque::new(),
            bhs: VecDeque::new(),
            timers: BinaryHeap::new(),
            stale_timers: 0,
            timer_seq: 0,
            job_seq: 0,
            machine: false,
            bugs: Vec::new(),
            txn_held: Vec::new(),
            vm_running: true,
            actions: VecDeque::new(),
            txn_serial: 0,
        }
    }

    /// The default world of the scenario format (ORACLE.md): four `null-co`
    /// nodes `src`, `dst`, `src2`, `dst2` of 64 MiB reading zeroes.
    pub fn with_default_world() -> JobManager {
        let mut m = JobManager::new();
        for name in ["src", "dst", "src2", "dst2"] {
            m.graph.add(
                name.to_owned(),
                crate::block::Driver::NullCo { read_zeroes: true },
                DEFAULT_NODE_SIZE,
                true,
            );
        }
        m
    }

    /// Makes the VM-only commands (`snapshot-save`, `snapshot-load`,
    /// `snapshot-delete`) available, as in `qemu-system-*` (the storage
    /// daemon does not have them).
    pub fn set_machine(&mut self, machine: bool) {
        self.machine = machine;
    }

    /// Rebuilds the ID index after a restore and checks that the snapshot's
    /// references hold together.
    pub(crate) fn rebuild_index(&mut self) -> std::result::Result<(), String> {
        self.by_id.clear();
        let mut filters = std::collections::BTreeSet::new();
        for (i, job) in self.jobs.iter() {
            if let Some(id) = &job.id
                && self.by_id.insert(id.clone(), i as JobRef).is_some()
            {
                return Err(format!("job ID '{id}' used twice"));
            }
            if let TxnLink::Shared(t) = job.txn
                && !self
                    .txns
                    .get(t as usize)
                    .and_then(|x| x.as_ref())
                    .is_some_and(|x| x.members.contains(&(i as JobRef)))
            {
                return Err(format!("job {i} names a transaction that does not hold it"));
            }
            // A block job lets go of its nodes when it ends (backup_clean,
            // mirror's exit), just before it concludes; it never touches
            // its workload's nodes again, and they may be gone since: only
            // an attached job's are checked.
            if job.nodes.is_none() {
                if !job.work.node_refs().is_empty() && job.status != JobStatus::Concluded {
                    return Err(format!("job {i} holds no nodes before its end"));
                }
                continue;
            }
            if job
                .nodes
                .iter()
                .flat_map(|v| v.iter())
                .copied()
                .chain(job.work.node_refs())
                .any(|n| !self.graph.alive(n))
            {
                return Err(format!("job {i} names a missing node"));
            }
            job.work.check(&self.graph)?;
            if let Some(f) = job.work.filter() {
                // Its own filter: a job-filter node no other job claims.
                let own = matches!(self.graph.node(f).driver, crate::block::Driver::JobFilter)
                    && filters.insert(f);
                if !own {
                    return Err(format!("job {i} names a filter node that is not its own"));
                }
            }
        }
        for (&seq, &j) in &self.order {
            if self.jobs.get(j).is_none_or(|job| job.seq != seq) {
                return Err("registry order names a missing job".into());
            }
        }
        self.graph.validate(|j| self.jobs.get(j).is_some())?;
        // A job above a node lists the node, so that its end detaches it.
        for (n, node) in self.graph.nodes.iter().enumerate() {
            let Some(node) = node else { continue };
            for p in &node.parents {
                if let crate::block::Parent::Job(j) = *p
                    && !self.jobs.get(j).is_some_and(|job| {
                        job.nodes
                            .as_ref()
                            .is_some_and(|v| v.contains(&(n as NodeRef)))
                    })
                {
                    return Err(format!(
                        "node {n} names job {j} as a parent that does not hold it"
                    ));
                }
            }
        }
        for (t, txn) in self.txns.iter().enumerate() {
            let Some(txn) = txn else { continue };
            let t = t as TxnRef;
            if txn.members.iter().any(|&j| {
                self.jobs
                    .get(j)
                    .is_none_or(|job| job.txn != TxnLink::Shared(t))
            }) {
                return Err(format!(
                    "transaction {t} names a job that is not its member"
                ));
            }
        }
        if self.bhs.iter().any(|b| match *b {
            Bh::JobExit(j) => self.jobs.get(j).is_none(),
        }) {
            return Err("a queued completion names a missing job".into());
        }
        let stale = self.timers.iter().filter(|t| !self.timer_live(t.0)).count();
        if stale != self.stale_timers {
            return Err("timer bookkeeping does not add up".into());
        }
        Ok(())
    }

    // ----------------------------------------------------------------
    // Getters
    // ----------------------------------------------------------------

    /// The virtual clock, in nanoseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The earliest armed timer, if any: call [`tick`](Self::tick) with it.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timers.peek().map(|t| t.0.0)
    }

    /// Whether [`step`](Self::step) would do something now.
    pub fn has_ready_work(&self) -> bool {
        !self.bhs.is_empty() || self.timers.peek().is_some_and(|t| t.0.0 <= self.now)
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

    pub(crate) fn job(&self, j: JobRef) -> &Job {
        self.jobs.get(j).expect("live job")
    }

    pub(crate) fn job_mut(&mut self, j: JobRef) -> &mut Job {
        self.jobs.get_mut(j).expect("live job")
    }

    pub(crate) fn job_alive(&self, j: JobRef) -> bool {
        self.jobs.get(j).is_some()
    }

    /// The transaction of a job that is still a member of one.
    pub(crate) fn txn_of(&self, j: JobRef) -> TxnKey {
        match self.job(j).txn {
            TxnLink::Own { .. } => TxnKey::Own(j),
            TxnLink::Shared(t) => TxnKey::Shared(t),
            TxnLink::Left => panic!("job is not a member of a transaction"),
        }
    }

    /// Members of a transaction, newest first.
    pub(crate) fn txn_members(&self, k: TxnKey) -> Vec<JobRef> {
        match k {
            TxnKey::Own(j) => {
                if self.job_alive(j) && matches!(self.job(j).txn, TxnLink::Own { .. }) {
                    vec![j]
                } else {
                    Vec::new()
                }
            }
            TxnKey::Shared(t) => self.txn(t).members.clone(),
        }
    }

    /// The newest member of a transaction.
    pub(crate) fn txn_first(&self, k: TxnKey) -> Option<JobRef> {
        match k {
            TxnKey::Own(_) => self.txn_members(k).first().copied(),
            TxnKey::Shared(t) => self.txn(t).members.first().copied(),
        }
    }

    /// Whether the transaction is being aborted.
    pub(crate) fn txn_aborting(&self, k: TxnKey) -> bool {
        match k {
            TxnKey::Own(j) => matches!(self.job(j).txn, TxnLink::Own { aborting: true }),
            TxnKey::Shared(t) => self.txn(t).aborting,
        }
    }

    pub(crate) fn txn(&self, t: TxnRef) -> &Txn {
        self.txns[t as usize].as_ref().expect("live txn")
    }

    pub(crate) fn txn_mut(&mut self, t: TxnRef) -> &mut Txn {
        self.txns[t as usize].as_mut().expect("live txn")
    }

    /// Jobs newest first (QEMU's registry order).
    pub(crate) fn jobs_newest_first(&self) -> impl Iterator<Item = JobRef> + '_ {
        self.order.values().rev().copied()
    }

    /// `job_get`: a job with this ID (any type, any status).
    pub(crate) fn find_job(&self, id: &str) -> Option<JobRef> {
        self.by_id.get(id).copied()
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
        let v = self.events.drain(..).collect();
        shrink_idle(&mut self.events);
        v
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
            let msg = format!(
                "job '{}': forbidden transition {from} -> {to}",
                self.job(j).id.as_deref().unwrap_or("<internal>")
            );
            debug_assert!(false, "{msg}");
            self.bugs.push(msg);
        }
        if let Some(id) = id {
            self.emit(EventKind::JobStatusChange { id, status: to });
        }
    }

    /// `job_apply_verb`: refuses a verb the table forbids in the job's status.
    pub(crate) fn apply_verb(&self, j: JobRef, verb: JobVerb) -> Result<()> {
        let job = self.job(j);
        if verb_allowed(verb, job.status) {
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
    // Creation
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

    pub(crate) fn new_txn(&mut self) -> TxnRef {
        self.txn_serial += 1;
        let txn = Txn {
            serial: self.txn_serial,
            ..Txn::default()
        };
        if let Some(t) = self.free_txns.pop() {
            self.txns[t as usize] = Some(txn);
            t
        } else {
            self.txns.push(Some(txn));
            (self.txns.len() - 1) as TxnRef
        }
    }

    pub(crate) fn maybe_free_txn(&mut self, t: TxnRef) {
        if self.txns[t as usize]
            .as_ref()
            .is_some_and(|x| x.members.is_empty() && !x.held_by_host)
            && !self.txn_held.contains(&t)
        {
            self.txns[t as usize] = None;
            self.free_txns.push(t);
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
            timer: None,
            speed: 0,
            limit: None,
            iostatus: IoStatus::Ok,
            nodes: None,
            work: opts.work,
        };
        let j = self.jobs.insert(job);
        self.set_status(j, JobStatus::Created);
        if let Some(id) = self.job(j).id.clone() {
            self.by_id.insert(id, j);
        }
        self.order.insert(self.job_seq, j);
        if let TxnLink::Shared(t) = txn {
            let t = self.txn_mut(t);
            t.members.insert(0, j);
            t.held_by_host = false;
        }
        Ok(j)
    }

    /// Attaches a job to a node (`block_job_add_bdrv`): drained sections over
    /// the node (or below it) pause the job. A node that is drained right now
    /// passes its drain on to the new parent.
    pub(crate) fn attach_job(&mut self, j: JobRef, n: NodeRef) {
        self.graph.node_mut(n).parents.insert(0, Parent::Job(j));
        self.graph.node_mut(n).blockers.insert(0, j);
        self.job_mut(j)
            .nodes
            .get_or_insert_with(Default::default)
            .push(n);
        let q = self.graph.node(n).quiesce;
        for _ in 0..q {
            self.pause_job(j);
        }
    }

    /// Detaches a job from all its nodes (at `null`), ending the drains it
    /// inherited from them.
    /// A link leaving a drained node ends that node's drains for the job.
    fn detach_job(&mut self, j: JobRef) {
        let nodes = self.job_mut(j).nodes.take().map(|b| *b).unwrap_or_default();
        for n in nodes {
            let mut quiesce = 0;
            if let Some(Some(node)) = self.graph.nodes.get_mut(n as usize) {
                if let Some(i) = node.parents.iter().position(|&p| p == Parent::Job(j)) {
                    node.parents.remove(i);
                }
                node.blockers.retain(|&b| b != j);
                quiesce = node.quiesce;
            }
            for _ in 0..quiesce {
                if self.job(j).pause_count > 0 {
                    self.resume_job(j);
                }
            }
        }
    }

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

    /// `job_early_fail`: a job whose creation failed goes straight to null.
    pub(crate) fn early_fail(&mut self, j: JobRef) {
        debug_assert_eq!(self.job(j).status, JobStatus::Created);
        self.do_dismiss(j);
    }

    // ----------------------------------------------------------------
    // The coroutine engine
    // ----------------------------------------------------------------

    /// `job_enter`: re-enters a started, idle job whose run has not finished.
    pub(crate) fn enter(&mut self, j: JobRef) {
        let Some(job) = self.jobs.get(j) else {
            return;
        };
        if !job.started() || job.deferred || job.busy {
            return;
        }
        if job.timer.is_some() {
            self.cancel_timer(j, TimerKind::Sleep);
        }
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
        if self.job(j).timer.is_some() {
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
                self.driver_resume_hook(j);
                false
            }
        };
        loop {
            if need_pause_point && self.pause_point(j) {
                return;
            }
            let wait = crate::workload::step(self, j, entry);
            entry = Entry::Continue;
            match wait {
                Wait::Host => return,
                Wait::PausePoint => need_pause_point = true,
                Wait::Sleep(ns) => {
                    let deadline = self.now.saturating_add(ns);
                    let job = self.job(j);
                    if job.is_cancelled() {
                        need_pause_point = false;
                        continue;
                    }
                    if !job.should_pause() {
                        self.arm_timer(j, TimerKind::Sleep, deadline);
                        let job = self.job_mut(j);
                        job.busy = false;
                        job.co = Co::Yielded;
                        return;
                    }
                    need_pause_point = true;
                }
                Wait::Yield => {
                    let job = self.job(j);
                    if job.is_cancelled() {
                        need_pause_point = false;
                        continue;
                    }
                    if !job.should_pause() {
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
        self.driver_pause_hook(j);
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
        self.driver_resume_hook(j);
        false
    }

    fn driver_pause_hook(&mut self, j: JobRef) {
        crate::workload::pause_hook(self, j);
    }

    fn driver_resume_hook(&mut self, _j: JobRef) {}

    // ----------------------------------------------------------------
    // Timers and the main loop
    // ----------------------------------------------------------------

    pub(crate) fn arm_timer(&mut self, j: JobRef, kind: TimerKind, deadline: u64) {
        self.cancel_timer(j, kind);
        self.timer_seq = self.timer_seq.wrapping_add(1);
        self.timers
            .push(Reverse((deadline, self.timer_seq, timer_key(j, kind))));
        match kind {
            TimerKind::Sleep => self.job_mut(j).timer = Some((deadline, self.timer_seq)),
            TimerKind::Driver => {
                crate::workload::set_driver_timer(self, j, Some((deadline, self.timer_seq)))
            }
        }
    }

    pub(crate) fn cancel_timer(&mut self, j: JobRef, kind: TimerKind) {
        let had = match kind {
            TimerKind::Sleep => self.job_mut(j).timer.take().is_some(),
            TimerKind::Driver => {
                let had = crate::workload::driver_timer(self, j).is_some();
                if had {
                    crate::workload::set_driver_timer(self, j, None);
                }
                had
            }
        };
        if had {
            self.stale_timers += 1;
            self.prune_timers();
        }
    }

    /// Whether a heap entry is still the timer its job records.
    fn timer_live(&self, (deadline, seq, key): (u64, u32, u32)) -> bool {
        let (j, kind) = timer_unkey(key);
        if !self.job_alive(j) {
            return false;
        }
        let rec = match kind {
            TimerKind::Sleep => self.job(j).timer,
            TimerKind::Driver => crate::workload::driver_timer(self, j),
        };
        rec == Some((deadline, seq))
    }

    /// Drops dead entries from the top of the heap, and compacts the heap
    /// when most of it is dead.
    fn prune_timers(&mut self) {
        while let Some(&Reverse(t)) = self.timers.peek() {
            if self.timer_live(t) {
                break;
            }
            self.timers.pop();
            self.stale_timers -= 1;
        }
        if self.stale_timers > 64 && self.stale_timers * 2 > self.timers.len() {
            let all = std::mem::take(&mut self.timers).into_vec();
            let live: Vec<_> = all.into_iter().filter(|t| self.timer_live(t.0)).collect();
            self.timers = BinaryHeap::from(live);
            self.stale_timers = 0;
        }
    }

    /// Runs one unit of ready work: the oldest queued bottom half, else the
    /// earliest due timer. Returns whether more work is ready at the current
    /// virtual time.
    pub fn step(&mut self) -> bool {
        if let Some(bh) = self.bhs.pop_front() {
            match bh {
                Bh::JobExit(j) => self.job_exit(j),
            }
        } else if let Some(&Reverse(t)) = self.timers.peek()
            && t.0 <= self.now
        {
            self.timers.pop();
            let (j, kind) = timer_unkey(t.2);
            match kind {
                TimerKind::Sleep => {
                    self.job_mut(j).timer = None;
                    self.prune_timers();
                    self.enter(j);
                }
                TimerKind::Driver => {
                    crate::workload::set_driver_timer(self, j, None);
                    self.prune_timers();
                    crate::workload::driver_timer_fired(self, j);
                }
            }
        }
        self.has_ready_work()
    }

    /// Runs the work that is ready at the current virtual time (what QEMU's
    /// main loop does between two QMP commands), at most [`SETTLE_LIMIT`]
    /// units: a job that never stops producing work at one instant (an I/O
    /// error ignored forever, as QEMU also loops on it) cannot hang the
    /// caller. Returns the number of units run.
    pub fn settle(&mut self) -> usize {
        let mut n = 0;
        while n < SETTLE_LIMIT && self.has_ready_work() {
            self.step();
            n += 1;
        }
        n
    }

    /// Moves the virtual clock to `now_ns` (never backwards) and runs the
    /// work that is due by then, timer by timer in deadline order (at most
    /// [`TICK_LIMIT`] units; what is left stays ready).
    pub fn tick(&mut self, now_ns: u64) {
        let mut units = 0;
        loop {
            units += self.settle();
            if units >= TICK_LIMIT {
                // Periodic work over a huge span of time: the clock moves on
                // and what is left stays ready for later calls.
                break;
            }
            match self.next_deadline() {
                Some(d) if d <= now_ns && d > self.now => self.now = d,
                _ => break,
            }
        }
        self.now = self.now.max(now_ns);
        self.settle();
    }

    /// [`tick`](Self::tick) to `now() + ns`.
    pub fn advance(&mut self, ns: u64) {
        self.tick(self.now.saturating_add(ns));
    }

    /// Runs ready work and moves virtual time from deadline to deadline until
    /// `done` holds or the clock would pass `limit_ns`. Returns whether `done`
    /// held. (What the scenario `wait` directive and the bindings' `wait`
    /// use.)
    pub fn run_until(&mut self, limit_ns: u64, mut done: impl FnMut(&JobManager) -> bool) -> bool {
        loop {
            self.settle();
            if done(self) {
                return true;
            }
            match self.next_deadline() {
                // Work still due now after a full settle: a job loops at one
                // instant, and time cannot move on.
                Some(d) if d <= self.now => return false,
                Some(d) if d <= limit_ns => self.tick(d),
                _ => return false,
            }
        }
    }

    /// Runs the main loop until `done` holds (QEMU's `AIO_WAIT_WHILE`); if no
    /// work is ready, time jumps to the next timer, as a blocking poll would
    /// wait for it. Gives up when nothing is left to run.
    pub(crate) fn poll_until(&mut self, mut done: impl FnMut(&JobManager) -> bool) {
        let mut guard = 0u32;
        while !done(self) {
            guard += 1;
            if guard > 1_000_000 {
                self.bugs.push("poll_until: no progress".into());
                return;
            }
            if !self.has_ready_work() {
                match self.next_deadline() {
                    Some(d) => self.now = self.now.max(d),
                    None => return,
                }
            }
            self.step();
        }
    }

    // ----------------------------------------------------------------
    // Drained sections
    // ----------------------------------------------------------------

    /// `bdrv_drained_begin(node)`: pauses every job above the node and waits
    /// until none of them is still finishing its run.
    pub(crate) fn drained_begin(&mut self, n: NodeRef) {
        let mut affected = Vec::new();
        self.drained_begin_no_poll(n, &mut affected);
        self.poll_until(|m| {
            !affected.iter().any(|&j| {
                m.job_alive(j) && {
                    let job = m.job(j);
                    job.busy && !job.status.is_completed() && crate::workload::drained_poll(m, j)
                }
            })
        });
    }

    fn drained_begin_no_poll(&mut self, n: NodeRef, affected: &mut Vec<JobRef>) {
        self.graph.node_mut(n).quiesce += 1;
        let mut i = 0;
        while let Some(&p) = self.graph.nodes[n as usize]
            .as_ref()
            .and_then(|node| node.parents.get(i))
        {
            i += 1;
            match p {
                Parent::Node(pn) => self.drained_begin_no_poll(pn, affected),
                Parent::Job(j) => {
                    affected.push(j);
                    self.pause_job(j);
                }
            }
        }
    }

    /// `bdrv_drained_end(node)`.
    pub(crate) fn drained_end(&mut self, n: NodeRef) {
        {
            let node = self.graph.node_mut(n);
            debug_assert!(node.quiesce > 0);
            node.quiesce = node.quiesce.saturating_sub(1);
        }
        let mut i = 0;
        while let Some(&p) = self.graph.nodes[n as usize]
            .as_ref()
            .and_then(|node| node.parents.get(i))
        {
            i += 1;
            match p {
                Parent::Node(pn) => self.drained_end(pn),
                Parent::Job(j) => {
                    if self.job_alive(j) {
                        self.resume_job(j)
                    }
                }
            }
        }
    }

    /// `bdrv_drain_all()`: a drained section over every node, begun and ended
    /// at once. Each job is paused once per node it is attached to.
    pub(crate) fn drain_all(&mut self) {
        let live = self.drain_all_begin();
        self.drain_all_end(&live);
    }

    /// `bdrv_drain_all_begin()`: begins a drained section over every node
    /// and waits until no job is busy; returns the nodes, for
    /// [`drain_all_end`](Self::drain_all_end).
    pub(crate) fn drain_all_begin(&mut self) -> Vec<NodeRef> {
        let live: Vec<NodeRef> = (0..self.graph.nodes.len() as NodeRef)
            .filter(|&n| self.graph.nodes[n as usize].is_some())
            .collect();
        let mut affected = Vec::new();
        for &n in &live {
            self.graph.node_mut(n).quiesce += 1;
            let mut i = 0;
            while let Some(&p) = self.graph.nodes[n as usize]
                .as_ref()
                .and_then(|node| node.parents.get(i))
            {
                i += 1;
                if let Parent::Job(j) = p {
                    affected.push(j);
                    self.pause_job(j);
                }
            }
        }
        self.poll_until(|m| {
            !affected.iter().any(|&j| {
                m.job_alive(j) && {
                    let job = m.job(j);
                    job.busy && !job.status.is_completed() && crate::workload::drained_poll(m, j)
                }
            })
        });
        live
    }

    /// `bdrv_drain_all_end()` over the nodes
    /// [`drain_all_begin`](Self::drain_all_begin) returned (those still
    /// present).
    pub(crate) fn drain_all_end(&mut self, live: &[NodeRef]) {
        for &n in live {
            if self.graph.nodes[n as usize].is_none() {
                continue;
            }
            self.graph.node_mut(n).quiesce -= 1;
            for p in self.graph.node(n).parents.clone() {
                if let Parent::Job(j) = p
                    && self.job_alive(j)
                {
                    self.resume_job(j);
                }
            }
        }
    }

    /// Moves every node parent of `from` (but `except`) to `to`, the way
    /// `bdrv_replace_node` does, and lets the moved parents leave or enter
    /// drained sections to match their new child. Job links stay where they
    /// are (`stay_at_node`).
    pub(crate) fn replace_node(&mut self, from: NodeRef, to: NodeRef, except: Option<NodeRef>) {
        let parents = self.graph.node(from).parents.clone();
        let q_from = self.graph.node(from).quiesce;
        let q_to = self.graph.node(to).quiesce;
        for p in parents.into_iter().rev() {
            if let Parent::Node(pn) = p {
                if Some(pn) == except || pn == to {
                    continue;
                }
                // Re-point pn's child link from `from` to `to`.
                let role = self
                    .graph
                    .node(pn)
                    .children
                    .iter()
                    .find(|&&(_, c)| c == from)
                    .map(|&(r, _)| r)
                    .unwrap_or(Role::File);
                self.graph.detach_child(pn, from);
                self.graph.attach_child(pn, role, to);
                for _ in q_to..q_from {
                    self.parent_drained_end(Parent::Node(pn));
                }
                for _ in q_from..q_to {
                    let mut v = Vec::new();
                    self.parent_drained_begin(Parent::Node(pn), &mut v);
                }
            }
        }
    }

    /// Links `child` under `parent`; a drained child drains its new parent.
    pub(crate) fn attach_child(&mut self, parent: NodeRef, role: Role, child: NodeRef) {
        self.graph.attach_child(parent, role, child);
        let q = self.graph.node(child).quiesce;
        for _ in 0..q {
            let mut v = Vec::new();
            self.parent_drained_begin(Parent::Node(parent), &mut v);
        }
    }

    /// Inserts a job filter node above `below` (`bdrv_append`): the filter
    /// takes over every parent of `below`.
    pub(crate) fn insert_filter(&mut self, below: NodeRef, name: Option<&str>) -> NodeRef {
        let name = match name {
            Some(n) => n.to_owned(),
            None => self.graph.implicit_name(),
        };
        let size = self.graph.node(below).size;
        let f = self
            .graph
            .add(name, crate::block::Driver::JobFilter, size, false);
        self.drained_begin(below);
        self.attach_child(f, Role::Backing, below);
        self.replace_node(below, f, Some(f));
        self.drained_end(below);
        f
    }

    /// Removes a job filter from the graph (`bdrv_drop_filter`): its parents
    /// go back to its child inside a drained section over the filter.
    pub(crate) fn drop_filter(&mut self, filter: NodeRef) {
        if !self.graph.alive(filter) {
            return;
        }
        let Some(&(_, child)) = self.graph.node(filter).children.first() else {
            self.graph.remove(filter);
            return;
        };
        self.drained_begin(filter);
        self.replace_node(filter, child, None);
        self.drained_end(filter);
        self.remove_filter_node(filter);
    }

    /// The node below a filter.
    pub(crate) fn filter_child(&self, filter: NodeRef) -> Option<NodeRef> {
        if !self.graph.alive(filter) {
            return None;
        }
        self.graph.node(filter).children.first().map(|&(_, c)| c)
    }

    /// Deletes a filter node (its node parents must have left already).
    pub(crate) fn remove_filter_node(&mut self, filter: NodeRef) {
        if !self.graph.alive(filter) {
            return;
        }
        let children: Vec<NodeRef> = self
            .graph
            .node(filter)
            .children
            .iter()
            .map(|&(_, c)| c)
            .collect();
        for c in children {
            self.graph.detach_child(filter, c);
        }
        let parents = self.graph.node(filter).parents.clone();
        for p in parents {
            match p {
                Parent::Job(j) => {
                    if self.job_alive(j)
                        && let Some(v) = &mut self.job_mut(j).nodes
                    {
                        v.retain(|&n| n != filter);
                    }
                }
                Parent::Node(pn) => {
                    // Should not happen: node parents were moved away.
                    if self.graph.alive(pn) {
                        self.graph
                            .node_mut(pn)
                            .children
                            .retain(|&(_, c)| c != filter);
                    }
                }
            }
        }
        self.graph.remove(filter);
    }

    /// `block_job_remove_all_bdrv`: the job leaves every node it used.
    pub(crate) fn detach_job_links(&mut self, j: JobRef) {
        self.detach_job(j);
    }

    fn parent_drained_begin(&mut self, p: Parent, affected: &mut Vec<JobRef>) {
        match p {
            Parent::Node(n) => self.drained_begin_no_poll(n, affected),
            Parent::Job(j) => {
                affected.push(j);
                self.pause_job(j)
            }
        }
    }

    fn parent_drained_end(&mut self, p: Parent) {
        match p {
            Parent::Node(n) => self.drained_end(n),
            Parent::Job(j) => {
                if self.job_alive(j) {
                    self.resume_job(j)
                }
            }
        }
    }

    // ----------------------------------------------------------------
    // Completion
    // ----------------------------------------------------------------

    /// `job_exit`: the bottom half queued when `run` returned.
    fn job_exit(&mut self, j: JobRef) {
        if !self.job_alive(j) {
            return;
        }
        self.job_mut(j).busy = false;
        self.completed(j);
    }

    /// `job_update_rc`.
    pub(crate) fn update_rc(&mut self, j: JobRef) {
        let job = self.job_mut(j);
        if job.ret == 0 && job.is_cancelled() {
            job.ret = -crate::model::ECANCELED;
        }
        if job.ret != 0 {
            if job.err.is_none() {
                job.err = Some(crate::model::strerror(-job.ret).into_boxed_str());
            }
            self.set_status(j, JobStatus::Aborting);
        }
    }

    /// `job_completed`.
    pub(crate) fn completed(&mut self, j: JobRef) {
        debug_assert!(!self.job(j).status.is_completed());
        self.update_rc(j);
        if self.job(j).ret != 0 {
            self.txn_abort(j);
        } else {
            self.txn_success(j);
        }
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
        self.cancel_timer(j, TimerKind::Sleep);
        self.cancel_timer(j, TimerKind::Driver);
        self.bhs.retain(|b| *b != Bh::JobExit(j));
        self.detach_job(j);
        crate::workload::free_hook(self, j);
        let job = self.jobs.remove(j).expect("live job");
        if let Some(id) = &job.id {
            self.by_id.remove(id);
        }
        self.order.remove(&job.seq);
    }

    /// Removes a job from its transaction (`job_txn_del_job`).
    pub(crate) fn txn_del_job(&mut self, j: JobRef) {
        let link = std::mem::replace(&mut self.job_mut(j).txn, TxnLink::Left);
        if let TxnLink::Shared(t) = link {
            if let Some(txn) = self.txns[t as usize].as_mut() {
                txn.members.retain(|&m| m != j);
            }
            self.maybe_free_txn(t);
        }
    }
}

/// FNV-1a: a fast, deterministic hash for the short job IDs of the index
/// (lookups only; nothing iterates the index).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BuildFnv;

/// The state of one FNV-1a hash.
pub(crate) struct Fnv(u64);

impl std::hash::BuildHasher for BuildFnv {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A job's timer as one `u32`: the job's slot, and the kind in the top bit.
fn timer_key(j: JobRef, kind: TimerKind) -> u32 {
    debug_assert!(j < 1 << 31);
    j | match kind {
        TimerKind::Sleep => 0,
        TimerKind::Driver => 1 << 31,
    }
}

fn timer_unkey(key: u32) -> (JobRef, TimerKind) {
    let kind = if key & (1 << 31) == 0 {
        TimerKind::Sleep
    } else {
        TimerKind::Driver
    };
    (key & !(1 << 31), kind)
}

/// Gives back the memory of a queue that grew large and is now empty.
pub(crate) fn shrink_idle<T>(q: &mut VecDeque<T>) {
    if q.is_empty() && q.capacity() > 1024 {
        q.shrink_to(16);
    }
}

/// Why a coroutine is being entered.
#[derive(Clone, Copy, Debug)]
enum Resume {
    Start,
    FromPause(JobStatus),
    FromYield,
}
