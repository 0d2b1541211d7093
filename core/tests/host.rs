//! Host-driven jobs: every report, every action, a full lifecycle, a failing
//! `prepare`, each error policy, transactions mixing host and simulated jobs,
//! and misuse.

use qjob::{
    BackupOptions, EventKind, HostActionKind as A, HostDirective as D, HostErrorAction,
    HostJobOptions, IoOperation, JobHandle, JobManager, JobOptions, JobStatus, OnError, SyncMode,
    TransactionAction,
};

fn opts(id: &str) -> HostJobOptions {
    HostJobOptions {
        id: Some(id.to_owned()),
        ..HostJobOptions::default()
    }
}

fn actions(m: &mut JobManager) -> Vec<A> {
    std::iter::from_fn(|| m.poll_action())
        .map(|a| a.kind)
        .collect()
}

/// Events as short strings: `status` for JOB_STATUS_CHANGE, else the name.
fn events(m: &mut JobManager) -> Vec<String> {
    m.drain_events()
        .into_iter()
        .map(|e| match &e.kind {
            EventKind::JobStatusChange { id, status } => format!("{id}:{status}"),
            k => format!("{}:{}", k.job_id(), k.name()),
        })
        .collect()
}

fn status(m: &JobManager, id: &str) -> Option<JobStatus> {
    m.job_info(id).map(|j| j.status)
}

#[test]
fn full_lifecycle() {
    let mut m = JobManager::new();
    let h = m.create_host_job(opts("h")).unwrap();
    assert_eq!(m.job_handle("h"), Some(h));
    assert_eq!(JobHandle::from_raw(h.to_raw()), h);
    assert_eq!(actions(&mut m), vec![A::Start]);
    assert_eq!(events(&mut m), ["h:created", "h:running"]);
    m.host_progress(h, 0, 100).unwrap();
    assert_eq!(m.host_pause_point(h).unwrap(), D::Continue);
    m.host_progress(h, 40, 100).unwrap();

    m.job_pause("h").unwrap();
    assert_eq!(actions(&mut m), vec![A::Pause]);
    assert_eq!(status(&m, "h"), Some(JobStatus::Running));
    assert_eq!(m.host_pause_point(h).unwrap(), D::Paused);
    assert_eq!(events(&mut m), ["h:paused"]);
    assert!(
        m.host_progress(h, 50, 100).is_err(),
        "paused jobs report nothing"
    );
    m.job_resume("h").unwrap();
    assert_eq!(actions(&mut m), vec![A::Resume]);
    assert_eq!(events(&mut m), ["h:running"]);

    m.host_progress(h, 100, 100).unwrap();
    m.host_run_finished(h, 0, None).unwrap();
    assert!(m.host_run_finished(h, 0, None).is_err(), "a run ends once");
    assert_eq!(
        status(&m, "h"),
        Some(JobStatus::Running),
        "completion is deferred"
    );
    m.settle();
    assert_eq!(actions(&mut m), vec![A::Commit, A::Clean]);
    assert_eq!(
        events(&mut m),
        [
            "h:waiting",
            "h:pending",
            "h:BLOCK_JOB_COMPLETED",
            "h:concluded",
            "h:null"
        ]
    );
    assert!(m.query_jobs().is_empty());
    assert!(m.host_progress(h, 100, 100).is_err(), "stale handle");
}

#[test]
fn failing_prepare_aborts() {
    let mut m = JobManager::new();
    let h = m
        .create_host_job(HostJobOptions {
            prepare: true,
            auto_dismiss: false,
            ..opts("p")
        })
        .unwrap();
    actions(&mut m);
    events(&mut m);
    assert!(m.host_prepare_done(h, 0).is_err(), "not asked yet");
    m.host_run_finished(h, 0, None).unwrap();
    m.settle();
    assert_eq!(actions(&mut m), vec![A::Prepare]);
    assert_eq!(events(&mut m), ["p:waiting", "p:pending"]);
    m.host_prepare_done(h, -5).unwrap();
    assert_eq!(actions(&mut m), vec![A::Abort, A::Clean]);
    assert_eq!(
        events(&mut m),
        ["p:aborting", "p:BLOCK_JOB_COMPLETED", "p:concluded"]
    );
    let info = m.job_info("p").unwrap();
    assert_eq!(info.error.as_deref(), Some("Input/output error"));
    m.job_dismiss("p").unwrap();
}

#[test]
fn error_policies() {
    for (policy, errno, want, io) in [
        (OnError::Report, 5, HostErrorAction::Fail, "ok"),
        (OnError::Ignore, 5, HostErrorAction::Retry, "ok"),
        (OnError::Stop, 5, HostErrorAction::Pause, "failed"),
        (OnError::Enospc, 28, HostErrorAction::Pause, "nospace"),
        (OnError::Enospc, 5, HostErrorAction::Fail, "ok"),
        (OnError::Auto, 28, HostErrorAction::Pause, "nospace"),
        (OnError::Auto, 5, HostErrorAction::Fail, "ok"),
    ] {
        let mut m = JobManager::new();
        let h = m
            .create_host_job(HostJobOptions {
                on_target_error: policy,
                ..opts("e")
            })
            .unwrap();
        actions(&mut m);
        events(&mut m);
        assert_eq!(m.host_io_error(h, IoOperation::Write, errno).unwrap(), want);
        let bj = &m.query_block_jobs()[0];
        assert_eq!(bj.io_status.as_str(), io, "{policy:?} {errno}");
        let ev = events(&mut m);
        assert_eq!(ev, ["e:BLOCK_JOB_ERROR"]);
        match want {
            HostErrorAction::Fail => {
                m.host_run_finished(h, -errno, None).unwrap();
                m.settle();
                assert_eq!(
                    events(&mut m),
                    [
                        "e:aborting",
                        "e:BLOCK_JOB_COMPLETED",
                        "e:concluded",
                        "e:null"
                    ]
                );
            }
            HostErrorAction::Retry => assert_eq!(m.host_pause_point(h).unwrap(), D::Continue),
            HostErrorAction::Pause => {
                assert_eq!(m.job_pause("e").unwrap_err().desc, "Job is already paused");
                assert_eq!(m.host_pause_point(h).unwrap(), D::Paused);
                assert_eq!(events(&mut m), ["e:paused"]);
                assert!(m.query_block_jobs()[0].paused);
                m.job_resume("e").unwrap();
                assert_eq!(m.query_block_jobs()[0].io_status.as_str(), "ok");
                assert_eq!(actions(&mut m), vec![A::Resume]);
            }
        }
    }
}

#[test]
fn sleep_wake_and_pause_while_sleeping() {
    let mut m = JobManager::new();
    let h = m.create_host_job(opts("s")).unwrap();
    actions(&mut m);
    assert_eq!(m.host_sleep(h, 1_000).unwrap(), D::Sleeping);
    assert_eq!(m.next_deadline(), Some(1_000));
    assert!(
        m.host_progress(h, 1, 2).is_err(),
        "a sleeping job reports nothing"
    );
    m.advance(999);
    assert!(actions(&mut m).is_empty());
    m.advance(1);
    assert_eq!(actions(&mut m), vec![A::Wake]);
    assert_eq!(m.host_sleep(h, 5_000).unwrap(), D::Sleeping);
    events(&mut m);
    m.job_pause("s").unwrap();
    assert_eq!(
        events(&mut m),
        ["s:paused"],
        "a sleeping job is kicked to its pause point"
    );
    assert!(actions(&mut m).is_empty());
    assert_eq!(m.next_deadline(), None);
    m.job_resume("s").unwrap();
    assert_eq!(actions(&mut m), vec![A::Resume]);
    m.job_cancel("s").unwrap();
    assert_eq!(actions(&mut m), vec![A::Cancel { force: true }]);
    assert_eq!(m.host_pause_point(h).unwrap(), D::Cancelled);
    assert_eq!(m.host_sleep(h, 9_000).unwrap(), D::Cancelled);
    m.host_run_finished(h, 0, None).unwrap();
    m.settle();
    assert_eq!(actions(&mut m), vec![A::Abort, A::Clean]);
    let ev = events(&mut m);
    assert!(
        ev.ends_with(&[
            "s:aborting".into(),
            "s:BLOCK_JOB_CANCELLED".into(),
            "s:concluded".into(),
            "s:null".into()
        ]),
        "{ev:?}"
    );
}

#[test]
fn completable_job_ready_complete_and_soft_cancel() {
    let mut m = JobManager::new();
    let h = m
        .create_host_job(HostJobOptions {
            job_type: qjob::JobType::Mirror,
            completable: true,
            ..opts("m")
        })
        .unwrap();
    actions(&mut m);
    events(&mut m);
    assert!(m.job_complete("m").is_err());
    m.host_ready(h).unwrap();
    assert!(m.host_ready(h).is_err());
    assert_eq!(events(&mut m), ["m:ready", "m:BLOCK_JOB_READY"]);
    m.job_complete("m").unwrap();
    assert_eq!(actions(&mut m), vec![A::Complete]);
    assert!(m.host_should_complete(h).unwrap());
    m.host_run_finished(h, 0, None).unwrap();
    m.settle();
    assert_eq!(events(&mut m).last().unwrap(), "m:null");

    let h = m
        .create_host_job(HostJobOptions {
            job_type: qjob::JobType::Mirror,
            completable: true,
            ..opts("m2")
        })
        .unwrap();
    m.host_ready(h).unwrap();
    actions(&mut m);
    events(&mut m);
    m.block_job_cancel("m2", false).unwrap();
    assert_eq!(actions(&mut m), vec![A::Cancel { force: false }]);
    assert_eq!(
        m.job_complete("m2").unwrap_err().desc,
        "The active block job 'm2' cannot be completed"
    );
    m.host_run_finished(h, 0, None).unwrap();
    m.settle();
    let ev = events(&mut m);
    assert!(ev.contains(&"m2:BLOCK_JOB_COMPLETED".to_owned()), "{ev:?}");
}

#[test]
fn transaction_of_host_and_simulated_jobs() {
    // Success: both finalize together, newest member first.
    let mut m = JobManager::with_default_world();
    let t = m.new_transaction();
    let h = m
        .create_host_job(HostJobOptions {
            transaction: Some(t),
            ..opts("h")
        })
        .unwrap();
    m.transaction_in(
        vec![TransactionAction::BlockdevBackup(BackupOptions {
            job: JobOptions::with_id("b"),
            device: "src".into(),
            target: "dst".into(),
            sync: SyncMode::Full,
            ..BackupOptions::default()
        })],
        t,
    )
    .unwrap();
    m.settle();
    assert_eq!(status(&m, "b"), Some(JobStatus::Waiting));
    events(&mut m);
    actions(&mut m);
    m.host_run_finished(h, 0, None).unwrap();
    m.settle();
    assert_eq!(
        events(&mut m),
        [
            "h:waiting",
            "b:pending",
            "h:pending",
            "b:BLOCK_JOB_COMPLETED",
            "b:concluded",
            "b:null",
            "h:BLOCK_JOB_COMPLETED",
            "h:concluded",
            "h:null"
        ]
    );
    assert_eq!(actions(&mut m), vec![A::Commit, A::Clean]);

    // Failure of the host job cancels the simulated one.
    let t = m.new_transaction();
    let h = m
        .create_host_job(HostJobOptions {
            transaction: Some(t),
            ..opts("h")
        })
        .unwrap();
    m.transaction_in(
        vec![TransactionAction::BlockdevBackup(BackupOptions {
            job: JobOptions {
                speed: 1,
                ..JobOptions::with_id("b")
            },
            device: "src".into(),
            target: "dst".into(),
            sync: SyncMode::Full,
            ..BackupOptions::default()
        })],
        t,
    )
    .unwrap();
    m.settle();
    events(&mut m);
    actions(&mut m);
    m.host_run_finished(h, -5, Some("disk on fire".into()))
        .unwrap();
    m.settle();
    assert_eq!(
        events(&mut m),
        [
            "h:aborting",
            "b:aborting",
            "b:BLOCK_JOB_CANCELLED",
            "b:concluded",
            "b:null",
            "h:BLOCK_JOB_COMPLETED",
            "h:concluded",
            "h:null"
        ]
    );
    assert_eq!(actions(&mut m), vec![A::Abort, A::Clean]);
    assert!(
        m.create_host_job(HostJobOptions {
            transaction: Some(t),
            ..opts("late")
        })
        .is_err()
    );
}

#[test]
fn internal_jobs_are_silent_and_unreachable() {
    let mut m = JobManager::new();
    let h = m.create_host_job(HostJobOptions::default()).unwrap();
    assert!(m.query_jobs().is_empty());
    assert_eq!(m.job_count(), 1);
    assert_eq!(actions(&mut m), vec![A::Start]);
    m.host_run_finished(h, 0, None).unwrap();
    m.settle();
    assert!(m.drain_events().is_empty());
    assert_eq!(m.job_count(), 0);
}

#[test]
fn misuse_is_refused_and_changes_nothing() {
    let mut m = JobManager::new();
    let h = m.create_host_job(opts("x")).unwrap();
    m.host_progress(h, 10, 20).unwrap();
    let before = m.to_snapshot_json();
    assert!(
        m.host_progress(h, 5, 20)
            .unwrap_err()
            .desc
            .contains("backwards")
    );
    assert!(m.host_progress(h, 30, 20).is_err());
    assert!(m.host_io_error(h, IoOperation::Read, 0).is_err());
    assert!(m.host_ready(h).is_err(), "not completable");
    assert!(m.host_run_finished(h, 3, None).is_err());
    assert!(m.host_run_finished(h, 0, Some("?".into())).is_err());
    assert!(m.host_prepare_done(h, 0).is_err());
    assert!(m.host_pause_point(JobHandle::from_raw(12345)).is_err());
    assert_eq!(m.to_snapshot_json(), before);
    assert_eq!(
        m.create_host_job(opts("x")).unwrap_err().desc,
        "Job ID 'x' already in use"
    );
    assert_eq!(
        m.create_host_job(opts("9x")).unwrap_err().desc,
        "Invalid job ID '9x'"
    );
    assert_eq!(
        m.create_host_job(HostJobOptions {
            speed: -1,
            ..opts("y")
        })
        .unwrap_err()
        .desc,
        "Parameter 'speed' expects a non-negative value"
    );
}

#[test]
fn rate_limiter_answers_the_host() {
    let mut m = JobManager::new();
    let h = m
        .create_host_job(HostJobOptions {
            speed: 1 << 20,
            ..opts("r")
        })
        .unwrap();
    assert_eq!(m.host_rate_delay(h, 0).unwrap(), 0);
    // 1 MiB/s: a quota of 104857 bytes per 100 ms slice (QEMU truncates).
    let d = m.host_rate_delay(h, 1 << 20).unwrap();
    assert_eq!(d, (1_048_576f64 / 104_857f64 * 1e8) as u64);
    m.block_job_set_speed("r", 0).unwrap();
    assert_eq!(actions(&mut m).last(), Some(&A::SetSpeed(0)));
    assert_eq!(m.host_rate_delay(h, 1 << 30).unwrap(), 0);
}

#[test]
fn x_qjob_commands_drive_virtual_time() {
    let mut m = JobManager::with_default_world();
    m.execute(r#"{"execute":"blockdev-mirror","arguments":{"job-id":"m","device":"src","target":"dst","sync":"full"}}"#);
    let r = m.execute(r#"{"execute":"x-qjob-wait","arguments":{"id":"m","status":"ready"}}"#);
    assert!(r.contains(r#""reached":true"#), "{r}");
    let r = m.execute(r#"{"execute":"x-qjob-clock"}"#);
    assert!(r.contains(r#""next-deadline":100000000"#), "{r}");
    assert_eq!(
        m.execute(r#"{"execute":"x-qjob-advance","arguments":{"ns":250000000}}"#),
        r#"{"return":{"now":250000000}}"#
    );
    assert_eq!(
        m.execute(r#"{"execute":"x-qjob-wait","arguments":{"id":"m","status":"bogus"}}"#),
        r#"{"error":{"class":"GenericError","desc":"Parameter 'status' does not accept value 'bogus'"}}"#
    );
    m.job_complete("m").unwrap();
    let r = m.execute(
        r#"{"execute":"x-qjob-wait","arguments":{"id":"m","status":"null","timeout-ns":0}}"#,
    );
    assert!(r.contains(r#""reached":true"#), "{r}");
}

#[test]
fn a_wait_that_times_out_ends_at_its_limit() {
    let mut m = JobManager::with_default_world();
    // Nothing to run at all: the clock still ends at the limit.
    assert!(!m.run_until(5_000, |_| false));
    assert_eq!(m.now(), 5_000);
    // At 1 B/s the backup's next slice is far beyond the wait's limit.
    m.execute(r#"{"execute":"blockdev-backup","arguments":{"job-id":"b","device":"src","target":"dst","sync":"full","speed":1}}"#);
    assert!(m.next_deadline().unwrap() > 2_000_005_000);
    assert_eq!(
        m.execute(r#"{"execute":"x-qjob-wait","arguments":{"id":"b","status":"null","timeout-ns":2000000000}}"#),
        r#"{"return":{"reached":false,"now":2000005000}}"#
    );
    // A wait that is satisfied stops where it was: a mirror is ready at its
    // first batch, long before the limit.
    m.execute(r#"{"execute":"blockdev-mirror","arguments":{"job-id":"m","device":"src2","target":"dst2","sync":"full"}}"#);
    let r = m.execute(r#"{"execute":"x-qjob-wait","arguments":{"id":"m","status":"ready","timeout-ns":60000000000}}"#);
    assert_eq!(r, r#"{"return":{"reached":true,"now":2000005000}}"#);
}

#[test]
fn a_failing_host_job_cancels_a_running_host_partner() {
    let mut m = JobManager::new();
    let t = m.new_transaction();
    let a = m
        .create_host_job(HostJobOptions {
            transaction: Some(t),
            ..opts("ta")
        })
        .unwrap();
    let b = m
        .create_host_job(HostJobOptions {
            transaction: Some(t),
            ..opts("tb")
        })
        .unwrap();
    assert_eq!(m.host_sleep(b, 1_000_000).unwrap(), D::Sleeping);
    actions(&mut m);
    events(&mut m);
    m.host_run_finished(a, -5, None).unwrap();
    m.settle();
    // tb is hard-cancelled and woken; the abort waits for its run to end.
    assert_eq!(actions(&mut m), vec![A::Cancel { force: true }, A::Wake]);
    assert_eq!(events(&mut m), ["ta:aborting"]);
    assert_eq!(m.host_pause_point(b).unwrap(), D::Cancelled);
    m.host_run_finished(b, 0, None).unwrap();
    m.settle();
    assert_eq!(
        events(&mut m),
        [
            "tb:aborting",
            "tb:BLOCK_JOB_CANCELLED",
            "tb:concluded",
            "tb:null",
            "ta:BLOCK_JOB_COMPLETED",
            "ta:concluded",
            "ta:null"
        ]
    );
    assert_eq!(
        actions(&mut m),
        vec![A::Abort, A::Clean, A::Abort, A::Clean]
    );
    assert!(m.internal_errors().is_empty(), "{:?}", m.internal_errors());
    assert_eq!(m.job_count(), 0);
}

/// An I/O error that never stops, under `ignore`, loops through the main loop
/// (as QEMU does) without hanging `settle`, `advance` or QMP; the job can
/// still be cancelled. (Found by fuzzing: it used to hang in one settle.)
#[test]
fn an_ignored_error_that_never_stops_does_not_hang() {
    let mut m = JobManager::with_default_world();
    let r = m.execute(r#"{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"errsrc","file":{"driver":"blkdebug","inject-error":[{"event":"read_aio","errno":5,"once":false}],"image":{"driver":"null-co","size":67108864,"read-zeroes":false}}}}"#);
    assert_eq!(r, r#"{"return":{}}"#);
    let r = m.execute(r#"{"execute":"blockdev-backup","arguments":{"job-id":"e","device":"errsrc","target":"dst","sync":"full","on-source-error":"ignore"}}"#);
    assert_eq!(r, r#"{"return":{}}"#);
    // Each retry takes FAILED_IO_NS of virtual time.
    m.settle();
    m.advance(2_000 * qjob::FAILED_IO_NS);
    let errors = m
        .drain_events()
        .iter()
        .filter(|e| e.kind.name() == "BLOCK_JOB_ERROR")
        .count();
    assert!((1_900..=2_100).contains(&errors), "{errors}");
    // A huge move of the clock is bounded work.
    m.advance(u64::MAX / 4);
    m.job_cancel("e").unwrap();
    m.settle();
    assert!(m.query_jobs().is_empty());
}
