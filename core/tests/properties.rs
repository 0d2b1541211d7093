//! Property tests: random sequences of commands, steps and clock moves keep
//! qjob's invariants.
//!
//! - every status change is one the transition table allows (checked on the
//!   event stream, and by the manager itself);
//! - a verb that succeeds was allowed by the verb table in the job's status;
//! - the events agree with `query-jobs` (each listed job's status is the last
//!   `JOB_STATUS_CHANGE` it emitted; a job whose last event is `null` is gone);
//! - a grouped transaction never ends half committed;
//! - job IDs in `query-jobs` are unique;
//! - nothing panics.

use proptest::prelude::*;
use qjob::model::{transition_allowed, verb_allowed};
use qjob::{EventKind, JobManager, JobStatus, JobVerb};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
enum Op {
    Backup {
        id: u8,
        src: u8,
        dst: u8,
        speed: u8,
        af: bool,
        ad: bool,
    },
    Mirror {
        id: u8,
        src: u8,
        dst: u8,
        speed: u8,
        af: bool,
    },
    Grouped {
        a: u8,
        b: u8,
        err: bool,
        af: bool,
    },
    Verb {
        id: u8,
        verb: u8,
    },
    Step,
    Settle,
    Advance(u32),
}

const NODES: [&str; 4] = ["src", "dst", "src2", "dst2"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..5u8, 0..4u8, 0..4u8, 0..3u8, any::<bool>(), any::<bool>()).prop_map(
            |(id, src, dst, speed, af, ad)| Op::Backup {
                id,
                src,
                dst,
                speed,
                af,
                ad
            }
        ),
        (0..5u8, 0..4u8, 0..4u8, 0..3u8, any::<bool>()).prop_map(|(id, src, dst, speed, af)| {
            Op::Mirror {
                id,
                src,
                dst,
                speed,
                af,
            }
        }),
        (0..5u8, 0..5u8, any::<bool>(), any::<bool>()).prop_map(|(a, b, err, af)| Op::Grouped {
            a,
            b,
            err,
            af
        }),
        (0..5u8, 0..11u8).prop_map(|(id, verb)| Op::Verb { id, verb }),
        (0..5u8, 0..11u8).prop_map(|(id, verb)| Op::Verb { id, verb }),
        Just(Op::Step),
        Just(Op::Settle),
        (0..3_000_000_000u32).prop_map(Op::Advance),
    ]
}

fn jid(i: u8) -> String {
    format!("j{i}")
}

struct Checker {
    last: BTreeMap<String, JobStatus>,
    /// Grouped transactions: members → outcome per member (None while running).
    groups: Vec<BTreeMap<String, Option<&'static str>>>,
    /// Which group the live job with an ID belongs to (IDs are reused).
    owner: BTreeMap<String, usize>,
}

impl Checker {
    fn outcome(&mut self, id: &str, outcome: &'static str) {
        if let Some(&g) = self.owner.get(id) {
            let slot = self.groups[g].get_mut(id).expect("member");
            if slot.is_none() {
                *slot = Some(outcome);
            }
        }
    }
}

impl Checker {
    fn absorb(&mut self, m: &mut JobManager) {
        for e in m.drain_events() {
            if std::env::var("QJOB_DEBUG").is_ok() {
                eprintln!("{}", e.to_json());
            }
            match &e.kind {
                EventKind::JobStatusChange { id, status } => {
                    let from = self
                        .last
                        .get(&**id)
                        .copied()
                        .unwrap_or(JobStatus::Undefined);
                    assert!(
                        transition_allowed(from, *status),
                        "{id}: event {from} -> {status}"
                    );
                    if *status == JobStatus::Created
                        && let Some(g) = self
                            .groups
                            .iter()
                            .rposition(|g| g.get(&**id) == Some(&None))
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
                EventKind::BlockJobCompleted { device, error, .. } => {
                    self.outcome(device, if error.is_some() { "failed" } else { "ok" });
                }
                EventKind::BlockJobCancelled { device, .. } => self.outcome(device, "cancelled"),
                _ => {}
            }
        }
        assert!(m.internal_errors().is_empty(), "{:?}", m.internal_errors());
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
                "{id} emitted no null but is gone"
            );
        }
        for g in &self.groups {
            let ok = g.values().filter(|o| **o == Some("ok")).count();
            let bad = g
                .values()
                .filter(|o| matches!(o, Some("failed") | Some("cancelled")))
                .count();
            assert!(
                ok == 0 || bad == 0,
                "half-committed transaction: {g:?} in {:?}",
                self.groups
            );
        }
    }
}

fn backup_args(id: &str, src: &str, dst: &str, speed: u8, af: bool, ad: bool) -> String {
    format!(
        r#"{{"job-id":"{id}","device":"{src}","target":"{dst}","sync":"full","speed":{speed},"auto-finalize":{af},"auto-dismiss":{ad}}}"#
    )
}

fn run(ops: Vec<Op>) {
    let mut m = JobManager::with_default_world();
    m.execute(r#"{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"errsrc","file":{"driver":"blkdebug","inject-error":[{"event":"read_aio","errno":5,"once":true}],"image":{"driver":"null-co","size":67108864,"read-zeroes":false}}}}"#);
    let mut c = Checker {
        last: BTreeMap::new(),
        groups: Vec::new(),
        owner: BTreeMap::new(),
    };
    for op in ops {
        match op {
            Op::Backup {
                id,
                src,
                dst,
                speed,
                af,
                ad,
            } => {
                let args = backup_args(
                    &jid(id),
                    NODES[src as usize],
                    NODES[dst as usize],
                    speed,
                    af,
                    ad,
                );
                m.execute(&format!(
                    r#"{{"execute":"blockdev-backup","arguments":{args}}}"#
                ));
            }
            Op::Mirror {
                id,
                src,
                dst,
                speed,
                af,
            } => {
                m.execute(&format!(
                    r#"{{"execute":"blockdev-mirror","arguments":{{"job-id":"{}","device":"{}","target":"{}","sync":"full","speed":{speed},"auto-finalize":{af}}}}}"#,
                    jid(id),
                    NODES[src as usize],
                    NODES[dst as usize]
                ));
            }
            Op::Grouped { a, b, err, af } => {
                let (ia, ib) = (jid(a), jid(b));
                let src_b = if err { "errsrc" } else { "src2" };
                let reply = m.execute(&format!(
                    r#"{{"execute":"transaction","arguments":{{"actions":[{{"type":"blockdev-backup","data":{}}},{{"type":"blockdev-backup","data":{}}}],"properties":{{"completion-mode":"grouped"}}}}}}"#,
                    backup_args(&ia, "src", "dst", 1, af, true),
                    backup_args(&ib, src_b, "dst2", 0, true, true),
                ));
                if reply.contains("\"return\"") {
                    let mut g = BTreeMap::new();
                    g.insert(ia, None);
                    g.insert(ib, None);
                    c.groups.push(g);
                }
            }
            Op::Verb { id, verb } => {
                let id = jid(id);
                let before = m.job_info(&id).map(|j| j.status);
                let (v, r) = match verb {
                    0 => (Some(JobVerb::Pause), m.job_pause(&id)),
                    1 => (None, m.job_resume(&id)),
                    2 => (Some(JobVerb::Cancel), m.job_cancel(&id)),
                    3 => (Some(JobVerb::Complete), m.job_complete(&id)),
                    4 => (Some(JobVerb::Finalize), m.job_finalize(&id)),
                    5 => (Some(JobVerb::Dismiss), m.job_dismiss(&id)),
                    6 => (None, m.block_job_cancel(&id, false)),
                    7 => (Some(JobVerb::SetSpeed), m.block_job_set_speed(&id, 0)),
                    8 => (Some(JobVerb::SetSpeed), m.block_job_set_speed(&id, 1)),
                    9 => (Some(JobVerb::Pause), m.block_job_pause(&id)),
                    _ => (Some(JobVerb::Resume), m.block_job_resume(&id)),
                };
                if let (Ok(()), Some(v), Some(s)) = (&r, v, before) {
                    assert!(verb_allowed(v, s), "{v} accepted in {s}");
                }
            }
            Op::Step => {
                m.step();
            }
            Op::Settle => {
                m.settle();
            }
            Op::Advance(ns) => m.advance(ns as u64),
        }
        c.absorb(&mut m);
    }
    // Let everything finish that can: complete and finalize what waits.
    for _ in 0..4 {
        for j in m.query_jobs() {
            let _ = m.job_resume(&j.id);
            let _ = m.block_job_set_speed(&j.id, 0);
            let _ = m.job_complete(&j.id);
            let _ = m.job_finalize(&j.id);
            let _ = m.job_dismiss(&j.id);
        }
        m.advance(1_000_000_000);
        c.absorb(&mut m);
    }
    assert!(m.query_jobs().is_empty(), "jobs left: {:?}", m.query_jobs());
    assert_eq!(m.job_count(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_the_invariants(ops in prop::collection::vec(op(), 1..40)) {
        run(ops);
    }
}

#[test]
fn garbage_qmp_never_panics() {
    let mut m = JobManager::with_default_world();
    for input in [
        "",
        "{",
        "}",
        "[",
        "\"",
        "{\"execute\"",
        "{\"execute\": \"job-pause\", \"arguments\": {\"id\": {}}}",
        "\u{0}",
        "{'a': 'b'}",
        "nul",
        "-",
        "1e999",
        "{\"execute\": \"transaction\", \"arguments\": {\"actions\": [1]}}",
        "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"raw\", \"file\": {\"driver\": \"raw\", \"file\": \"x\"}}}",
        "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"qcow2\", \"node-name\": \"q\", \"file\": \"src\"}}",
    ] {
        let reply = m.execute(input);
        assert!(
            reply.contains("\"error\"") || reply.contains("\"return\""),
            "{input:?} -> {reply}"
        );
    }
}

#[test]
fn regression_reused_id_across_groups() {
    run(vec![
        Op::Grouped {
            a: 0,
            b: 3,
            err: true,
            af: false,
        },
        Op::Grouped {
            a: 1,
            b: 3,
            err: false,
            af: false,
        },
    ]);
}

/// Applies one operation and returns a trace of what it produced (replies,
/// events, query results), for comparing two managers.
fn apply(m: &mut JobManager, op: &Op) -> String {
    let mut out = String::new();
    match *op {
        Op::Backup {
            id,
            src,
            dst,
            speed,
            af,
            ad,
        } => {
            let args = backup_args(
                &jid(id),
                NODES[src as usize],
                NODES[dst as usize],
                speed,
                af,
                ad,
            );
            out += &m.execute(&format!(
                r#"{{"execute":"blockdev-backup","arguments":{args}}}"#
            ));
        }
        Op::Mirror {
            id,
            src,
            dst,
            speed,
            af,
        } => {
            out += &m.execute(&format!(
                r#"{{"execute":"blockdev-mirror","arguments":{{"job-id":"{}","device":"{}","target":"{}","sync":"full","speed":{speed},"auto-finalize":{af}}}}}"#,
                jid(id),
                NODES[src as usize],
                NODES[dst as usize]
            ));
        }
        Op::Grouped { a, b, err, af } => {
            let src_b = if err { "errsrc" } else { "src2" };
            out += &m.execute(&format!(
                r#"{{"execute":"transaction","arguments":{{"actions":[{{"type":"blockdev-backup","data":{}}},{{"type":"blockdev-backup","data":{}}}],"properties":{{"completion-mode":"grouped"}}}}}}"#,
                backup_args(&jid(a), "src", "dst", 1, af, true),
                backup_args(&jid(b), src_b, "dst2", 0, true, true),
            ));
        }
        Op::Verb { id, verb } => {
            let id = jid(id);
            let name = [
                "job-pause",
                "job-resume",
                "job-cancel",
                "job-complete",
                "job-finalize",
                "job-dismiss",
                "block-job-cancel",
                "block-job-set-speed",
                "block-job-set-speed",
                "block-job-pause",
                "block-job-resume",
            ][verb as usize];
            let args = match verb {
                0..=5 => format!(r#"{{"id":"{id}"}}"#),
                7 => format!(r#"{{"device":"{id}","speed":0}}"#),
                8 => format!(r#"{{"device":"{id}","speed":1}}"#),
                _ => format!(r#"{{"device":"{id}"}}"#),
            };
            out += &m.execute(&format!(r#"{{"execute":"{name}","arguments":{args}}}"#));
        }
        Op::Step => out += &format!("step {}", m.step()),
        Op::Settle => out += &format!("settle {}", m.settle()),
        Op::Advance(ns) => m.advance(ns as u64),
    }
    for e in m.drain_events() {
        out += &e.to_json();
    }
    out += &m.execute(r#"{"execute":"query-block-jobs"}"#);
    out += &format!("{:?} {}", m.next_deadline(), m.now());
    out
}

fn fresh() -> JobManager {
    let mut m = JobManager::with_default_world();
    m.execute(r#"{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"errsrc","file":{"driver":"blkdebug","inject-error":[{"event":"read_aio","errno":5,"once":true}],"image":{"driver":"null-co","size":67108864,"read-zeroes":false}}}}"#);
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Snapshot and restore at a random point of a random command sequence
    /// changes nothing that follows.
    #[test]
    fn snapshot_restore_at_a_random_point_changes_nothing(
        ops in prop::collection::vec(op(), 1..40),
        at in any::<prop::sample::Index>(),
        binary in any::<bool>(),
    ) {
        let k = at.index(ops.len() + 1);
        let mut a = fresh();
        for op in &ops[..k] {
            apply(&mut a, op);
        }
        let mut b = if binary {
            JobManager::from_snapshot_bytes(&a.to_snapshot_bytes()).unwrap()
        } else {
            JobManager::from_snapshot_json(&a.to_snapshot_json()).unwrap()
        };
        for op in &ops[k..] {
            prop_assert_eq!(apply(&mut a, op), apply(&mut b, op));
        }
        prop_assert_eq!(a.to_snapshot_json(), b.to_snapshot_json());
    }
}
