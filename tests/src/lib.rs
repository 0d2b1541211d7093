//! # qjob-tests — invariants checked everywhere
//!
//! The pieces shared by qjob's exhaustive model check (`modelcheck` binary,
//! [`modelcheck`]) and its fuzz targets (`fuzz/`):
//!
//! - [`Checker`] follows the event stream of one [`JobManager`] and checks,
//!   after every action, that
//!   - every status change is one the transition table allows,
//!   - the events agree with `query-jobs` (and `query-block-jobs`),
//!   - a grouped transaction never ends half committed,
//!   - job IDs are unique,
//!   - [`JobManager::internal_errors`] is empty;
//! - [`Command`] is one user command on a job, run through the typed API by
//!   [`Checker::command`], which checks that it was accepted exactly when
//!   the verb table allows it;
//! - [`Action`] is one move of the model check's alphabet (a command, a step,
//!   a settle or a clock move).
//!
//! Every check failure is a panic whose message says what broke.

#![deny(missing_docs)]

pub mod modelcheck;

use qjob::model::{transition_allowed, verb_allowed};
use qjob::{Error, EventKind, JobManager, JobStatus, JobVerb};
use std::collections::{BTreeMap, BTreeSet};

/// Outcome of one member of a grouped transaction, from its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// No final event yet.
    Open,
    /// `BLOCK_JOB_COMPLETED` without an error.
    Ok,
    /// `BLOCK_JOB_COMPLETED` with an error.
    Failed,
    /// `BLOCK_JOB_CANCELLED`.
    Cancelled,
}

/// Follows one manager's events and checks qjob's invariants.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Checker {
    /// Last status each live job announced (`JOB_STATUS_CHANGE`).
    last: BTreeMap<String, JobStatus>,
    /// Grouped transactions: member ID → outcome.
    groups: Vec<BTreeMap<String, Outcome>>,
    /// Which group the live job with an ID belongs to (IDs are reused).
    owner: BTreeMap<String, usize>,
    /// IDs of grouped members announced but not yet created.
    expected: BTreeMap<String, usize>,
}

/// One user command on a job, through the typed API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// `job-pause`.
    Pause,
    /// `job-resume`.
    Resume,
    /// `job-cancel` (always hard).
    Cancel,
    /// `block-job-cancel` with `force: false`.
    SoftCancel,
    /// `block-job-cancel` with `force: true`.
    ForceCancel,
    /// `job-complete`.
    Complete,
    /// `job-finalize`.
    Finalize,
    /// `job-dismiss`.
    Dismiss,
    /// `block-job-set-speed` to the given speed.
    SetSpeed(i64),
    /// `block-job-pause`.
    BlockPause,
    /// `block-job-resume`.
    BlockResume,
    /// `block-job-complete`.
    BlockComplete,
    /// `block-job-finalize`.
    BlockFinalize,
    /// `block-job-dismiss`.
    BlockDismiss,
}

impl Command {
    /// The verb of the verb table this command applies.
    pub fn verb(self) -> JobVerb {
        match self {
            Command::Pause | Command::BlockPause => JobVerb::Pause,
            Command::Resume | Command::BlockResume => JobVerb::Resume,
            Command::Cancel | Command::SoftCancel | Command::ForceCancel => JobVerb::Cancel,
            Command::Complete | Command::BlockComplete => JobVerb::Complete,
            Command::Finalize | Command::BlockFinalize => JobVerb::Finalize,
            Command::Dismiss | Command::BlockDismiss => JobVerb::Dismiss,
            Command::SetSpeed(_) => JobVerb::SetSpeed,
        }
    }

    /// Whether this is a `block-job-*` command.
    pub fn is_block(self) -> bool {
        matches!(
            self,
            Command::SoftCancel
                | Command::ForceCancel
                | Command::SetSpeed(_)
                | Command::BlockPause
                | Command::BlockResume
                | Command::BlockComplete
                | Command::BlockFinalize
                | Command::BlockDismiss
        )
    }

    /// Runs the command on job `id` through the typed API.
    pub fn run(self, m: &mut JobManager, id: &str) -> qjob::Result<()> {
        match self {
            Command::Pause => m.job_pause(id),
            Command::Resume => m.job_resume(id),
            Command::Cancel => m.job_cancel(id),
            Command::SoftCancel => m.block_job_cancel(id, false),
            Command::ForceCancel => m.block_job_cancel(id, true),
            Command::Complete => m.job_complete(id),
            Command::Finalize => m.job_finalize(id),
            Command::Dismiss => m.job_dismiss(id),
            Command::SetSpeed(s) => m.block_job_set_speed(id, s),
            Command::BlockPause => m.block_job_pause(id),
            Command::BlockResume => m.block_job_resume(id),
            Command::BlockComplete => m.block_job_complete(id),
            Command::BlockFinalize => m.block_job_finalize(id),
            Command::BlockDismiss => m.block_job_dismiss(id),
        }
    }
}

/// One move of the model check's (and the structured fuzzer's) alphabet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// A user command on the job with the given index in the world's ID list.
    Cmd(Command, usize),
    /// [`JobManager::step`].
    Step,
    /// [`JobManager::settle`].
    Settle,
    /// [`JobManager::tick`] to [`JobManager::next_deadline`] (nothing if none).
    NextDeadline,
    /// [`JobManager::advance`] by the given nanoseconds.
    Advance(u64),
}

/// Whether an error is the verb table's refusal.
fn is_verb_table_refusal(e: &Error) -> bool {
    e.desc.contains("cannot accept command verb")
}

/// The refusals QEMU makes before, or besides, the verb table.
fn is_precheck_refusal(cmd: Command, e: &Error) -> bool {
    let d = e.desc.as_str();
    match cmd.verb() {
        JobVerb::Pause => d == "Job is already paused",
        JobVerb::Resume => d == "Can't resume a job that was not paused",
        JobVerb::Cancel => cmd == Command::SoftCancel && d.ends_with("is currently paused"),
        JobVerb::Complete => d.ends_with("cannot be completed"),
        JobVerb::SetSpeed => d.contains("non-negative"),
        JobVerb::Finalize | JobVerb::Dismiss => false,
    }
}

impl Checker {
    /// A checker for a manager that has emitted no events yet.
    pub fn new() -> Checker {
        Checker::default()
    }

    /// Announces a grouped transaction whose members have these IDs (call
    /// before it is created, e.g. before the `transaction` command).
    pub fn expect_group<I: IntoIterator<Item = String>>(&mut self, ids: I) {
        let g = self.groups.len();
        let mut members = BTreeMap::new();
        for id in ids {
            self.expected.insert(id.clone(), g);
            members.insert(id, Outcome::Open);
        }
        self.groups.push(members);
    }

    /// Forgets an announced group whose creation failed.
    pub fn group_failed(&mut self) {
        if let Some(g) = self.groups.len().checked_sub(1) {
            self.expected.retain(|_, v| *v != g);
            for id in self.groups[g].keys() {
                if self.owner.get(id) == Some(&g) {
                    self.owner.remove(id);
                }
            }
            self.groups[g].clear();
        }
    }

    /// The status each live job last announced.
    pub fn statuses(&self) -> &BTreeMap<String, JobStatus> {
        &self.last
    }

    /// Runs `cmd` on job `id` and checks that it was accepted exactly when
    /// the verb table allows it: accepted only if allowed; refused by the
    /// verb table exactly when not allowed; any other refusal one of QEMU's
    /// own pre-checks (already paused, not paused, soft cancel of a paused
    /// job, cannot be completed, negative speed). Returns the result.
    pub fn command(&mut self, m: &mut JobManager, cmd: Command, id: &str) -> qjob::Result<()> {
        let verb = cmd.verb();
        let before = m.job_info(id).map(|j| j.status);
        let allowed = m.verb_allowed(id, verb);
        if let (Some(s), Some(a)) = (before, allowed) {
            assert_eq!(
                a,
                verb_allowed(verb, s),
                "JobManager::verb_allowed({id}, {verb}) disagrees with the table in {s}"
            );
        }
        let r = cmd.run(m, id);
        match (&r, before) {
            (Ok(()), None) => panic!("{cmd:?} on missing job {id} accepted"),
            (Ok(()), Some(s)) => {
                assert!(verb_allowed(verb, s), "{cmd:?} on {id} accepted in {s}")
            }
            (Err(_), None) => {}
            (Err(e), Some(s)) => {
                if is_verb_table_refusal(e) {
                    assert!(
                        !verb_allowed(verb, s),
                        "{cmd:?} on {id} refused by the verb table in {s}, which allows it: {}",
                        e.desc
                    );
                    assert!(
                        e.desc.contains(&format!("in state '{s}'")),
                        "{cmd:?} refusal names another state than {s}: {}",
                        e.desc
                    );
                } else {
                    assert!(
                        is_precheck_refusal(cmd, e),
                        "{cmd:?} on {id} in {s} refused with an unexpected error: {}",
                        e.desc
                    );
                    // A pre-check may hide the verb table only where QEMU
                    // checks before it (resume, soft cancel).
                    if !verb_allowed(verb, s) {
                        assert!(
                            matches!(verb, JobVerb::Resume) || cmd == Command::SoftCancel,
                            "{cmd:?} on {id} in {s}: the table forbids it, but the refusal is {}",
                            e.desc
                        );
                    }
                }
            }
        }
        r
    }

    /// Runs one [`Action`] on `m` (jobs named by index into `ids`) and checks
    /// every invariant afterwards.
    pub fn act(&mut self, m: &mut JobManager, ids: &[&str], a: Action) {
        match a {
            Action::Cmd(c, i) => {
                let _ = self.command(m, c, ids[i % ids.len()]);
            }
            Action::Step => {
                m.step();
            }
            Action::Settle => {
                m.settle();
            }
            Action::NextDeadline => {
                if let Some(d) = m.next_deadline() {
                    m.tick(d);
                }
            }
            Action::Advance(ns) => m.advance(ns),
        }
        self.absorb(m);
    }

    fn outcome(&mut self, id: &str, outcome: Outcome) {
        if let Some(&g) = self.owner.get(id) {
            let slot = self.groups[g].get_mut(id).expect("member");
            if *slot == Outcome::Open {
                *slot = outcome;
            }
        }
    }

    /// Drains `m`'s events, follows them, and checks every invariant.
    pub fn absorb(&mut self, m: &mut JobManager) {
        for e in m.drain_events() {
            match &e.kind {
                EventKind::JobStatusChange { id, status } => {
                    let from = self
                        .last
                        .get(&**id)
                        .copied()
                        .unwrap_or(JobStatus::Undefined);
                    assert!(
                        transition_allowed(from, *status),
                        "{id}: event {from} -> {status} is not in the transition table"
                    );
                    if *status == JobStatus::Created
                        && let Some(g) = self.expected.remove(&**id)
                    {
                        self.owner.insert(id.to_string(), g);
                    }
                    if *status == JobStatus::Null {
                        self.last.remove(&**id);
                        self.owner.remove(&**id);
                    } else {
                        self.last.insert(id.to_string(), *status);
                    }
                }
                EventKind::BlockJobCompleted { device, error, .. } => self.outcome(
                    device,
                    if error.is_some() {
                        Outcome::Failed
                    } else {
                        Outcome::Ok
                    },
                ),
                EventKind::BlockJobCancelled { device, .. } => {
                    self.outcome(device, Outcome::Cancelled)
                }
                _ => {}
            }
        }
        self.check(m);
    }

    /// Checks every invariant on `m` against the events absorbed so far.
    pub fn check(&self, m: &JobManager) {
        assert!(
            m.internal_errors().is_empty(),
            "internal errors: {:?}",
            m.internal_errors()
        );
        let listed = m.query_jobs();
        let ids: BTreeSet<&str> = listed.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids.len(), listed.len(), "duplicate IDs in query-jobs");
        for j in &listed {
            assert_eq!(
                self.last.get(&j.id),
                Some(&j.status),
                "query-jobs and events disagree on {}",
                j.id
            );
        }
        for id in self.last.keys() {
            assert!(
                ids.contains(id.as_str()),
                "{id} emitted no null but is gone from query-jobs"
            );
        }
        let block = m.query_block_jobs();
        let bids: BTreeSet<&str> = block.iter().map(|j| j.device.as_str()).collect();
        assert_eq!(bids.len(), block.len(), "duplicate IDs in query-block-jobs");
        for b in &block {
            let j = listed.iter().find(|j| j.id == b.device);
            assert_eq!(
                j.map(|j| j.status),
                Some(b.status),
                "query-block-jobs and query-jobs disagree on {}",
                b.device
            );
            assert_eq!(b.ready, b.status.is_ready(), "{}: ready flag", b.device);
        }
        for g in &self.groups {
            let ok = g.values().filter(|o| **o == Outcome::Ok).count();
            let bad = g
                .values()
                .filter(|o| matches!(o, Outcome::Failed | Outcome::Cancelled))
                .count();
            assert!(ok == 0 || bad == 0, "half-committed transaction: {g:?}");
        }
    }
}
