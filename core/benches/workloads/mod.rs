//! The workloads of the core's benchmarks, defined once: the criterion
//! benches (`lifecycle.rs`, `scale.rs`) and the figures of the README's
//! Performance table (`figures.rs`, what `make bench` prints) run these.
//! Each function is one iteration (or the setup) of one figure.

#![allow(dead_code)] // each bench uses some of them

use qjob::{BackupOptions, HostActionKind, HostJobOptions, JobManager, JobOptions, SyncMode};
use std::hint::black_box;

/// The backup every lifecycle runs: 64 MiB from `src` to `dst`, as QMP text.
pub const BACKUP_QMP: &str = r#"{"execute":"blockdev-backup","arguments":{"job-id":"b0","device":"src","target":"dst","sync":"full"}}"#;

/// `job-pause` of the held backup `p`, as QMP text.
pub const PAUSE_QMP: &str = r#"{"execute":"job-pause","arguments":{"id":"p"}}"#;

/// One whole backup lifecycle through the typed API: `blockdev_backup`,
/// `settle` (created → running → … → concluded → null), the events taken
/// (`drain_events`).
pub fn typed_lifecycle(m: &mut JobManager) {
    m.blockdev_backup(BackupOptions {
        job: JobOptions::with_id("b0"),
        device: "src".into(),
        target: "dst".into(),
        sync: SyncMode::Full,
        ..BackupOptions::default()
    })
    .unwrap();
    m.settle();
    black_box(m.drain_events());
}

/// The same lifecycle through QMP JSON text (`execute`).
pub fn qmp_lifecycle(m: &mut JobManager) {
    let r = m.execute(black_box(BACKUP_QMP));
    debug_assert_eq!(r, r#"{"return":{}}"#);
    black_box(r);
    m.settle();
    black_box(m.drain_events());
}

/// A default world with backup `p` running, held at 1 B/s (for the verbs).
pub fn held_backup() -> JobManager {
    let mut m = JobManager::with_default_world();
    m.execute(r#"{"execute":"blockdev-backup","arguments":{"job-id":"p","device":"src","target":"dst","sync":"full","speed":1}}"#);
    m.settle();
    m.drain_events();
    m
}

/// A pause + resume pair of the held backup as a user calls it, the two
/// events (`paused`, `running`) drained into a new `Vec`.
pub fn pair_drained(m: &mut JobManager) {
    m.job_pause(black_box("p")).unwrap();
    m.job_resume(black_box("p")).unwrap();
    black_box(m.drain_events());
}

/// The same pair, the events taken one at a time (`poll_event`, no `Vec`).
pub fn pair_polled(m: &mut JobManager) {
    m.job_pause(black_box("p")).unwrap();
    m.job_resume(black_box("p")).unwrap();
    while let Some(e) = m.poll_event() {
        black_box(e);
    }
}

/// One QMP `job-pause` as text, then a typed resume and the events taken.
pub fn qmp_pause(m: &mut JobManager) {
    black_box(m.execute(black_box(PAUSE_QMP)));
    m.job_resume("p").unwrap();
    black_box(m.drain_events());
}

/// Far in the future: idle jobs sleep until then.
pub const FAR: u64 = 1 << 62;

/// `n` host jobs, each asleep until far in the future; with `ids`, job
/// `i` is called `job{i}`. Their requests and events are taken.
pub fn sleeping(n: usize, ids: bool) -> JobManager {
    let mut m = JobManager::new();
    for i in 0..n {
        let h = m
            .create_host_job(HostJobOptions {
                id: ids.then(|| format!("job{i}")),
                ..HostJobOptions::default()
            })
            .unwrap();
        m.host_sleep(h, FAR).unwrap();
        if i % 1024 == 1023 {
            while m.poll_action().is_some() {}
            m.drain_events();
        }
    }
    while m.poll_action().is_some() {}
    m.drain_events();
    m
}

/// The bytes of the IDs `sleeping(n, true)` gives its jobs.
pub fn id_bytes(n: usize) -> usize {
    (0..n).map(|i| format!("job{i}").len()).sum()
}

/// `sleeping(n, false)` plus one more host job, asleep until the next
/// nanosecond: the job each [`tick_one_due`] wakes.
pub fn sleeping_and_one_due(n: usize) -> (JobManager, qjob::JobHandle) {
    let mut m = sleeping(n, false);
    let h = m.create_host_job(HostJobOptions::default()).unwrap();
    m.poll_action();
    m.host_sleep(h, m.now() + 1).unwrap();
    (m, h)
}

/// `tick` to the one due job's deadline among the sleeping ones, its wake
/// request taken, and the job put back to sleep until the next nanosecond.
pub fn tick_one_due(m: &mut JobManager, h: qjob::JobHandle) {
    let now = m.now() + 1;
    m.tick(black_box(now));
    let a = m.poll_action().unwrap();
    debug_assert_eq!(a.kind, HostActionKind::Wake);
    m.host_sleep(h, now + 1).unwrap();
}
