//! The one invariant checker: [`Checker`] follows the events of one manager,
//! whichever runner drives it, and checks what must hold after every move.

use crate::ops::Command;
use qjob::model::{transition_allowed, verb_allowed};
use qjob::{EventKind, JobManager, JobStatus, JobVerb};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

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

/// One entry of `query-jobs`, as any runner (Rust, C) reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listed<'a> {
    /// The job ID.
    pub id: &'a str,
    /// Its status.
    pub status: JobStatus,
}

/// One entry of `query-block-jobs`, as any runner reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListedBlock<'a> {
    /// The job ID (QMP's `device`).
    pub device: &'a str,
    /// Its status.
    pub status: JobStatus,
    /// The `ready` flag.
    pub ready: bool,
}

/// Follows one manager's events and checks qjob's invariants:
///
/// - every status change is one the transition table allows
///   ([`Checker::follow`], or [`Checker::follow_json`] for an event read
///   in its QMP form);
/// - the events agree with `query-jobs` and `query-block-jobs`, job IDs are
///   unique, and a grouped transaction never ends half committed
///   ([`Checker::check_lists`]);
/// - [`JobManager::internal_errors`] is empty ([`Checker::check`]);
/// - a command is accepted exactly when the verb table allows it
///   ([`Checker::check_verdict`]);
/// - every QMP reply is one JSON object, a return or an error
///   ([`Checker::check_reply`]);
/// - a snapshot restores to the same state, in both forms
///   ([`Checker::snapshot_round_trip`]);
/// - every job can be driven to its end ([`Checker::wind_down`]).
///
/// Every failure is a panic whose message says what broke. Set `QJOB_DEBUG`
/// to print every event the checker follows.
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

/// Whether `QJOB_DEBUG` is set (read once).
fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("QJOB_DEBUG").is_some())
}

/// Whether a refusal is the verb table's.
fn is_verb_table_refusal(desc: &str) -> bool {
    desc.contains("cannot accept command verb")
}

/// The refusals QEMU makes before, or besides, the verb table.
fn is_precheck_refusal(cmd: Command, desc: &str) -> bool {
    match cmd.verb() {
        JobVerb::Pause => desc == "Job is already paused",
        JobVerb::Resume => desc == "Can't resume a job that was not paused",
        JobVerb::Cancel => cmd == Command::SoftCancel && desc.ends_with("is currently paused"),
        JobVerb::Complete => desc.ends_with("cannot be completed"),
        JobVerb::SetSpeed => desc.contains("non-negative"),
        // `block-job-change` (QEMU 10.0 only): the driver's refusals.
        JobVerb::Change => {
            desc == "Job type does not support change" || desc.starts_with("Change to copy mode")
        }
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

    // ---- following the event stream ----

    /// Follows one event: checks a status change against the transition
    /// table, and records the end of a grouped transaction's member.
    pub fn follow(&mut self, e: &EventKind) {
        match e {
            EventKind::JobStatusChange { id, status } => self.status_changed(id, *status),
            EventKind::BlockJobCompleted { device, error, .. } => self.ended(
                device,
                if error.is_some() {
                    Outcome::Failed
                } else {
                    Outcome::Ok
                },
            ),
            EventKind::BlockJobCancelled { device, .. } => self.ended(device, Outcome::Cancelled),
            _ => {}
        }
    }

    /// Follows one event in its QMP form, as a runner reads it off the wire
    /// (`{"timestamp":{"seconds":…,"microseconds":…},"event":…,"data":{…}}`),
    /// and checks that form.
    pub fn follow_json(&mut self, text: &str) {
        let v: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("event is not JSON ({e}): {text}"));
        let stamp = &v["timestamp"];
        assert!(
            stamp["seconds"].is_u64()
                && stamp["microseconds"]
                    .as_u64()
                    .is_some_and(|u| u < 1_000_000),
            "event without a timestamp: {text}"
        );
        let data = &v["data"];
        let job = |key: &str| {
            data[key]
                .as_str()
                .unwrap_or_else(|| panic!("event without data.{key}: {text}"))
        };
        match v["event"].as_str() {
            Some("JOB_STATUS_CHANGE") => {
                let status = data["status"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("event without a known data.status: {text}"));
                self.status_changed(job("id"), status);
            }
            Some("BLOCK_JOB_COMPLETED") => self.ended(
                job("device"),
                if data.get("error").is_some() {
                    Outcome::Failed
                } else {
                    Outcome::Ok
                },
            ),
            Some("BLOCK_JOB_CANCELLED") => self.ended(job("device"), Outcome::Cancelled),
            Some(_) => {}
            None => panic!("event without a name: {text}"),
        }
    }

    /// Follows a `JOB_STATUS_CHANGE` of job `id` to `status`.
    pub fn status_changed(&mut self, id: &str, status: JobStatus) {
        let from = self.last.get(id).copied().unwrap_or(JobStatus::Undefined);
        assert!(
            transition_allowed(from, status),
            "{id}: event {from} -> {status} is not in the transition table"
        );
        if status == JobStatus::Created
            && let Some(g) = self.expected.remove(id)
        {
            self.owner.insert(id.to_string(), g);
        }
        if status == JobStatus::Null {
            self.last.remove(id);
            self.owner.remove(id);
        } else {
            self.last.insert(id.to_string(), status);
        }
    }

    /// Follows the final event (`BLOCK_JOB_COMPLETED` or `_CANCELLED`) of
    /// job `id`.
    pub fn ended(&mut self, id: &str, outcome: Outcome) {
        if let Some(&g) = self.owner.get(id) {
            let slot = self.groups[g].get_mut(id).expect("member");
            if *slot == Outcome::Open {
                *slot = outcome;
            }
        }
    }

    /// Drains `m`'s events, follows them, and checks every invariant on `m`.
    /// Returns the events as JSON, one a line.
    pub fn absorb(&mut self, m: &mut JobManager) -> String {
        let mut out = String::new();
        for e in m.drain_events() {
            let json = e.to_json();
            if debug() {
                eprintln!("{json}");
            }
            self.follow(&e.kind);
            out += &json;
            out.push('\n');
        }
        self.check(m);
        out
    }

    // ---- checking a state ----

    /// Checks every invariant on `m` against the events followed so far
    /// (call with `m`'s event queue drained).
    pub fn check(&self, m: &JobManager) {
        assert!(
            m.internal_errors().is_empty(),
            "internal errors: {:?}",
            m.internal_errors()
        );
        let jobs = m.query_jobs();
        let block = m.query_block_jobs();
        let jobs: Vec<Listed<'_>> = jobs
            .iter()
            .map(|j| Listed {
                id: &j.id,
                status: j.status,
            })
            .collect();
        let block: Vec<ListedBlock<'_>> = block
            .iter()
            .map(|b| ListedBlock {
                device: &b.device,
                status: b.status,
                ready: b.ready,
            })
            .collect();
        self.check_lists(&jobs, &block);
    }

    /// Checks what a runner read from `query-jobs` and `query-block-jobs`
    /// against the events followed so far (every queued event followed):
    /// IDs unique in each; each job's status the last one it announced;
    /// every job that announced no `null` listed; each block job listed by
    /// `query-jobs` with the same status, `ready` exactly in ready and
    /// standby; no grouped transaction half committed.
    pub fn check_lists(&self, jobs: &[Listed<'_>], block: &[ListedBlock<'_>]) {
        Self::check_unique(jobs.iter().map(|j| j.id), "query-jobs");
        for j in jobs {
            assert_eq!(
                self.last.get(j.id),
                Some(&j.status),
                "query-jobs and events disagree on {}",
                j.id
            );
        }
        for id in self.last.keys() {
            assert!(
                jobs.iter().any(|j| j.id == id),
                "{id} emitted no null but is gone from query-jobs"
            );
        }
        Self::check_unique(block.iter().map(|b| b.device), "query-block-jobs");
        for b in block {
            let j = jobs.iter().find(|j| j.id == b.device);
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

    /// Checks that a listing names no job twice.
    pub fn check_unique<'a>(ids: impl IntoIterator<Item = &'a str>, what: &str) {
        let mut seen = BTreeSet::new();
        for id in ids {
            assert!(seen.insert(id), "duplicate ID {id} in {what}");
        }
    }

    // ---- commands and replies ----

    /// Checks the outcome of `cmd` on job `id`: accepted only if the verb
    /// table allows it in `before` (the job's status before, `None` for no
    /// such job; for a `block-job-*` command, no such block job); refused by the verb table exactly when it does not, with
    /// the refusal naming that status; any other refusal one of QEMU's own
    /// pre-checks (already paused, not paused, soft cancel of a paused job,
    /// cannot be completed, negative speed). `reported`, when given, is what
    /// the API said beforehand about whether the verb is allowed; it must
    /// be the table's answer.
    pub fn check_verdict(
        cmd: Command,
        id: &str,
        before: Option<JobStatus>,
        reported: Option<bool>,
        outcome: Result<(), &str>,
    ) {
        let verb = cmd.verb();
        if let (Some(s), Some(a)) = (before, reported) {
            assert_eq!(
                a,
                verb_allowed(verb, s),
                "verb_allowed({id}, {verb}) disagrees with the table in {s}"
            );
        }
        match (outcome, before) {
            (Ok(()), None) => panic!("{cmd:?} on missing job {id} accepted"),
            (Ok(()), Some(s)) => {
                assert!(verb_allowed(verb, s), "{cmd:?} on {id} accepted in {s}")
            }
            (Err(_), None) => {}
            (Err(desc), Some(s)) => {
                if is_verb_table_refusal(desc) {
                    assert!(
                        !verb_allowed(verb, s),
                        "{cmd:?} on {id} refused by the verb table in {s}, which allows it: {desc}"
                    );
                    assert!(
                        desc.contains(&format!("in state '{s}'")),
                        "{cmd:?} refusal names another state than {s}: {desc}"
                    );
                } else {
                    assert!(
                        is_precheck_refusal(cmd, desc),
                        "{cmd:?} on {id} in {s} refused with an unexpected error: {desc}"
                    );
                    // A pre-check may hide the verb table only where QEMU
                    // checks before it (resume, soft cancel).
                    if !verb_allowed(verb, s) {
                        assert!(
                            matches!(verb, JobVerb::Resume) || cmd == Command::SoftCancel,
                            "{cmd:?} on {id} in {s}: the table forbids it, but the refusal is {desc}"
                        );
                    }
                }
            }
        }
    }

    /// Runs `cmd` on job `id` through the typed API and checks its outcome
    /// ([`Checker::check_verdict`], with [`JobManager::verb_allowed`] as the
    /// API's own answer). Returns the result.
    pub fn command(&mut self, m: &mut JobManager, cmd: Command, id: &str) -> qjob::Result<()> {
        let before = Self::status_for(m, cmd, id);
        let reported = m.verb_allowed(id, cmd.verb());
        let r = cmd.run(m, id);
        Self::check_verdict(
            cmd,
            id,
            before,
            reported,
            r.as_ref().map(|_| ()).map_err(|e| e.desc.as_str()),
        );
        r
    }

    /// The status of job `id` as `cmd` finds it: a `block-job-*` command
    /// finds only block jobs.
    fn status_for(m: &JobManager, cmd: Command, id: &str) -> Option<JobStatus> {
        if cmd.is_block() {
            let block = m.query_block_jobs();
            block.into_iter().find(|b| b.device == id).map(|b| b.status)
        } else {
            m.job_info(id).map(|j| j.status)
        }
    }

    /// Sends `cmd` on job `id` as a QMP message and checks the reply
    /// ([`Checker::check_reply`]) and the outcome
    /// ([`Checker::check_verdict`]). Returns the result (the refusal's
    /// `desc`).
    pub fn command_qmp(
        &mut self,
        m: &mut JobManager,
        cmd: Command,
        id: &str,
    ) -> Result<(), String> {
        let before = Self::status_for(m, cmd, id);
        let reply = m.execute(&cmd.request(id));
        let r = Self::check_reply(&reply).map(|_| ());
        Self::check_verdict(
            cmd,
            id,
            before,
            None,
            r.as_ref().map_err(String::as_str).copied(),
        );
        r
    }

    /// Checks that a QMP reply is one JSON object holding either `return`
    /// or an `error` with a string `class` and `desc`, besides at most the
    /// echoed `id`. Returns the returned value, or the error's `desc`.
    pub fn check_reply(reply: &str) -> Result<Value, String> {
        let v: Value = serde_json::from_str(reply)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {reply}"));
        let Value::Object(o) = v else {
            panic!("reply is not a JSON object: {reply}");
        };
        assert!(
            o.keys()
                .all(|k| matches!(k.as_str(), "return" | "error" | "id")),
            "reply has an unexpected member: {reply}"
        );
        match (o.get("return"), o.get("error")) {
            (Some(r), None) => Ok(r.clone()),
            (None, Some(e)) => {
                let class = e.get("class").and_then(Value::as_str);
                let desc = e.get("desc").and_then(Value::as_str);
                assert!(
                    class.is_some()
                        && desc.is_some()
                        && e.as_object().is_some_and(|e| e.len() == 2),
                    "error reply without exactly a string class and desc: {reply}"
                );
                Err(desc.unwrap_or_default().to_string())
            }
            _ => panic!("reply has not exactly one of return and error: {reply}"),
        }
    }

    /// Executes one QMP message on `m` and checks the reply
    /// ([`Checker::check_reply`]). Returns the reply.
    pub fn execute(&mut self, m: &mut JobManager, request: &str) -> String {
        let reply = m.execute(request);
        let _ = Self::check_reply(&reply);
        reply
    }

    // ---- whole-manager checks ----

    /// Saves `m` in both snapshot forms and restores each: both must
    /// restore, to a manager that saves the same bytes. Returns the manager
    /// restored from JSON (`from_json`) or from bytes.
    pub fn snapshot_round_trip(m: &JobManager, from_json: bool) -> JobManager {
        let bytes = m.to_snapshot_bytes();
        let restored = JobManager::from_snapshot_bytes(&bytes).expect("own snapshot restores");
        assert_eq!(
            restored.to_snapshot_bytes(),
            bytes,
            "snapshot round trip changed the state"
        );
        let json = m.to_snapshot_json();
        let from_json_form =
            JobManager::from_snapshot_json(&json).expect("own JSON snapshot restores");
        assert_eq!(
            from_json_form.to_snapshot_bytes(),
            bytes,
            "JSON and binary snapshots disagree"
        );
        if from_json { from_json_form } else { restored }
    }

    /// Drives every job of `m` to its end, as a user would (resume, remove
    /// the speed limit, complete, finalize, dismiss, then a virtual second),
    /// checking every invariant on the way; then no job may be left, not
    /// even an internal one.
    pub fn wind_down(&mut self, m: &mut JobManager) {
        const ROUNDS: usize = 8;
        for _ in 0..ROUNDS {
            if m.job_count() == 0 {
                break;
            }
            for j in m.query_jobs() {
                for cmd in [
                    Command::Resume,
                    Command::SetSpeed(0),
                    Command::Complete,
                    Command::Finalize,
                    Command::Dismiss,
                ] {
                    let _ = self.command(m, cmd, &j.id);
                }
            }
            m.advance(1_000_000_000);
            self.absorb(m);
        }
        assert!(
            m.query_jobs().is_empty(),
            "jobs left after {ROUNDS} rounds of winding down: {:?}",
            m.query_jobs()
        );
        assert_eq!(m.job_count(), 0, "internal jobs left");
    }
}
