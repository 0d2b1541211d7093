//! The checker is checked: fabricated event streams, listings, outcomes and
//! replies that break an invariant must make it fail, with a message that
//! names what broke, and the same inputs without the break must pass.

use qjob::{EventKind, HostJobOptions, JobManager, JobStatus, JobType};
use qjob_tests::{Checker, Command, Listed, ListedBlock, Outcome};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// Runs `f`, which must panic; returns the panic message.
fn failure(f: impl FnOnce()) -> String {
    let p = catch_unwind(AssertUnwindSafe(f)).expect_err("the checker let a broken invariant pass");
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn status(c: &mut Checker, id: &str, s: JobStatus) {
    c.follow(&EventKind::JobStatusChange {
        id: Arc::from(id),
        status: s,
    });
}

use JobStatus::*;

/// A manager with one host-driven job `h0` of type `job_type`, and a checker
/// that has followed its creation.
fn host_job(job_type: JobType) -> (JobManager, Checker) {
    let mut m = JobManager::new();
    m.create_host_job(HostJobOptions {
        id: Some("h0".into()),
        job_type,
        ..Default::default()
    })
    .unwrap();
    let mut c = Checker::new();
    c.absorb(&mut m);
    (m, c)
}

#[test]
fn a_transition_outside_the_table_is_caught() {
    let mut c = Checker::new();
    for s in [Created, Running, Waiting, Pending, Concluded, Null] {
        status(&mut c, "j0", s);
    }
    let mut c = Checker::new();
    status(&mut c, "j0", Created);
    status(&mut c, "j0", Running);
    let msg = failure(|| status(&mut c, "j0", Concluded));
    assert!(
        msg.contains("j0: event running -> concluded is not in the transition table"),
        "{msg}"
    );
    let msg = failure(|| status(&mut Checker::new(), "j1", Running));
    assert!(msg.contains("undefined -> running"), "{msg}");
}

#[test]
fn events_that_disagree_with_the_listings_are_caught() {
    let mut c = Checker::new();
    status(&mut c, "j0", Created);
    status(&mut c, "j0", Running);
    let j0 = |status| Listed { id: "j0", status };
    let b0 = |status, ready| ListedBlock {
        device: "j0",
        status,
        ready,
    };
    c.check_lists(&[j0(Running)], &[b0(Running, false)]);
    let msg = failure(|| c.check_lists(&[j0(Paused)], &[]));
    assert!(
        msg.contains("query-jobs and events disagree on j0"),
        "{msg}"
    );
    let msg = failure(|| c.check_lists(&[], &[]));
    assert!(msg.contains("j0 emitted no null but is gone"), "{msg}");
    let msg = failure(|| c.check_lists(&[j0(Running), j0(Running)], &[]));
    assert!(msg.contains("duplicate ID j0 in query-jobs"), "{msg}");
    let msg = failure(|| c.check_lists(&[j0(Running)], &[b0(Paused, false)]));
    assert!(
        msg.contains("query-block-jobs and query-jobs disagree"),
        "{msg}"
    );
    let msg = failure(|| c.check_lists(&[j0(Running)], &[b0(Running, true)]));
    assert!(msg.contains("j0: ready flag"), "{msg}");
}

#[test]
fn a_job_unknown_to_the_event_stream_is_caught() {
    let mut m = JobManager::with_default_world();
    let r = m.execute(
        r#"{"execute":"blockdev-backup","arguments":{"job-id":"b0","device":"src","target":"dst","sync":"full","speed":1}}"#,
    );
    assert_eq!(r, r#"{"return":{}}"#);
    m.settle();
    m.drain_events(); // the checker never sees b0's events
    let c = Checker::new();
    let msg = failure(|| c.check(&m));
    assert!(
        msg.contains("query-jobs and events disagree on b0"),
        "{msg}"
    );
}

#[test]
fn a_half_committed_transaction_is_caught() {
    let mut c = Checker::new();
    c.expect_group(["a".to_string(), "b".to_string()]);
    for id in ["a", "b"] {
        status(&mut c, id, Created);
        status(&mut c, id, Running);
    }
    let listed = [
        Listed {
            id: "a",
            status: Running,
        },
        Listed {
            id: "b",
            status: Running,
        },
    ];
    c.ended("a", Outcome::Cancelled);
    c.check_lists(&listed, &[]);
    let mut both_cancelled = c.clone();
    both_cancelled.ended("b", Outcome::Cancelled);
    both_cancelled.check_lists(&listed, &[]);
    c.ended("b", Outcome::Ok);
    let msg = failure(|| c.check_lists(&listed, &[]));
    assert!(msg.contains("half-committed transaction"), "{msg}");
    // The same outcomes outside a group are fine.
    let mut alone = Checker::new();
    for id in ["a", "b"] {
        status(&mut alone, id, Created);
        status(&mut alone, id, Running);
    }
    alone.ended("a", Outcome::Cancelled);
    alone.ended("b", Outcome::Ok);
    alone.check_lists(&listed, &[]);
}

#[test]
fn a_verdict_against_the_verb_table_is_caught() {
    let refusal = "Job 'j0' in state 'running' cannot accept command verb 'dismiss'";
    Checker::check_verdict(
        Command::Dismiss,
        "j0",
        Some(Running),
        Some(false),
        Err(refusal),
    );
    Checker::check_verdict(Command::Pause, "j0", Some(Running), Some(true), Ok(()));
    Checker::check_verdict(Command::Pause, "j9", None, None, Err("Job not found"));
    // (command, status before, the API's own answer, outcome, expected failure)
    type Case = (
        Command,
        Option<JobStatus>,
        Option<bool>,
        Result<(), &'static str>,
        &'static str,
    );
    let cases: [Case; 6] = [
        (
            Command::Dismiss,
            Some(Running),
            None,
            Ok(()),
            "accepted in running",
        ),
        (
            Command::Pause,
            None,
            None,
            Ok(()),
            "on missing job j0 accepted",
        ),
        (
            Command::Pause,
            Some(Running),
            None,
            Err("Job 'j0' in state 'running' cannot accept command verb 'pause'"),
            "refused by the verb table in running, which allows it",
        ),
        (
            Command::Dismiss,
            Some(Running),
            None,
            Err("Job 'j0' in state 'paused' cannot accept command verb 'dismiss'"),
            "names another state than running",
        ),
        (
            Command::Finalize,
            Some(Running),
            None,
            Err("Job is already paused"),
            "refused with an unexpected error",
        ),
        (
            Command::Dismiss,
            Some(Running),
            Some(true),
            Err(refusal),
            "disagrees with the table in running",
        ),
    ];
    for (cmd, before, reported, outcome, expected) in cases {
        let msg = failure(|| Checker::check_verdict(cmd, "j0", before, reported, outcome));
        assert!(msg.contains(expected), "{cmd:?} in {before:?}: {msg}");
    }
}

#[test]
fn a_malformed_reply_is_caught() {
    assert_eq!(
        Checker::check_reply(r#"{"return":{}}"#),
        Ok(serde_json::json!({}))
    );
    assert_eq!(
        Checker::check_reply(r#"{"error":{"class":"GenericError","desc":"no"},"id":1}"#),
        Err("no".to_string())
    );
    for (reply, expected) in [
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        (
            r#"{"return":{},"error":{"class":"GenericError","desc":"no"}}"#,
            "not exactly one",
        ),
        ("{}", "not exactly one"),
        (r#"{"return":{},"extra":1}"#, "unexpected member"),
        (
            r#"{"error":{"class":"GenericError"}}"#,
            "without exactly a string class and desc",
        ),
    ] {
        let msg = failure(|| {
            let _ = Checker::check_reply(reply);
        });
        assert!(msg.contains(expected), "{reply}: {msg}");
    }
}

#[test]
fn a_job_that_never_ends_is_caught() {
    // A host-driven job only moves when its host reports; nobody does here.
    let (mut m, mut c) = host_job(JobType::Backup);
    let msg = failure(|| c.wind_down(&mut m));
    assert!(msg.contains("jobs left"), "{msg}");
}

#[test]
fn an_event_read_off_the_wire_is_followed_and_checked() {
    let mut c = Checker::new();
    let change = |id: &str, s: &str| {
        format!(
            r#"{{"timestamp":{{"seconds":0,"microseconds":5}},"event":"JOB_STATUS_CHANGE","data":{{"status":"{s}","id":"{id}"}}}}"#
        )
    };
    c.follow_json(&change("j0", "created"));
    c.follow_json(&change("j0", "running"));
    assert_eq!(c.statuses().get("j0"), Some(&Running));
    let msg = failure(|| c.clone().follow_json(&change("j0", "null")));
    assert!(
        msg.contains("running -> null is not in the transition table"),
        "{msg}"
    );
    for (text, expected) in [
        ("nope".to_string(), "not JSON"),
        (r#"{"event":"STOP"}"#.to_string(), "without a timestamp"),
        (change("j0", "busy"), "known data.status"),
        (
            r#"{"timestamp":{"seconds":0,"microseconds":0},"event":"BLOCK_JOB_CANCELLED","data":{}}"#.to_string(),
            "without data.device",
        ),
    ] {
        let msg = failure(|| c.clone().follow_json(&text));
        assert!(msg.contains(expected), "{text}: {msg}");
    }
}

#[test]
fn a_block_job_command_finds_only_block_jobs() {
    // A create job is no block job: `block-job-*` commands refuse it as
    // missing, whatever the verb table says, and the checker accepts that.
    let (mut m, mut c) = host_job(JobType::Create);
    let e = c.command(&mut m, Command::BlockPause, "h0").unwrap_err();
    assert_eq!(e.desc, "Block job 'h0' not found");
    c.command(&mut m, Command::Pause, "h0").unwrap();
    c.absorb(&mut m);
}

#[test]
fn an_event_is_followed_alike_in_both_forms() {
    let mut m = JobManager::with_default_world();
    let r = m.execute(
        r#"{"execute":"blockdev-backup","arguments":{"job-id":"b0","device":"src","target":"dst","sync":"full","auto-dismiss":false}}"#,
    );
    assert_eq!(r, r#"{"return":{}}"#);
    m.advance(1_000_000_000);
    let (mut typed, mut wire) = (Checker::new(), Checker::new());
    let events = m.drain_events();
    assert!(events.len() > 4, "{events:?}");
    for e in &events {
        typed.follow(&e.kind);
        wire.follow_json(&e.to_json());
        assert_eq!(typed, wire, "after {}", e.to_json());
    }
    assert_eq!(typed.statuses().get("b0"), Some(&Concluded));
}
