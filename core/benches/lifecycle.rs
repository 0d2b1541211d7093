//! One full backup lifecycle (create → run → conclude → null) through the
//! typed API and through QMP JSON `execute`; a QMP error reply; a pause and
//! resume pair.

use criterion::{Criterion, criterion_group, criterion_main};
use qjob::{BackupOptions, JobManager, JobOptions, SyncMode};
use std::hint::black_box;

fn typed(m: &mut JobManager) {
    m.blockdev_backup(BackupOptions {
        job: JobOptions::with_id("b0"),
        device: "src".into(),
        target: "dst".into(),
        sync: SyncMode::Full,
        ..BackupOptions::default()
    })
    .unwrap();
    m.settle();
    m.drain_events();
}

fn qmp(m: &mut JobManager) {
    let r = m.execute(
        r#"{"execute":"blockdev-backup","arguments":{"job-id":"b0","device":"src","target":"dst","sync":"full"}}"#,
    );
    debug_assert_eq!(r, r#"{"return":{}}"#);
    m.settle();
    m.drain_events();
}

fn bench(c: &mut Criterion) {
    let mut m = JobManager::with_default_world();
    c.bench_function("backup lifecycle, typed API", |b| {
        b.iter(|| typed(black_box(&mut m)))
    });
    let mut m = JobManager::with_default_world();
    c.bench_function("backup lifecycle, QMP execute", |b| {
        b.iter(|| qmp(black_box(&mut m)))
    });
    let mut m = JobManager::with_default_world();
    c.bench_function("QMP execute, error reply", |b| {
        b.iter(|| {
            black_box(&mut m).execute(r#"{"execute":"job-pause","arguments":{"id":"nope"},"id":7}"#)
        })
    });
    let mut m = JobManager::with_default_world();
    m.execute(r#"{"execute":"blockdev-backup","arguments":{"job-id":"p","device":"src","target":"dst","sync":"full","speed":1}}"#);
    m.settle();
    m.drain_events();
    c.bench_function("pause + resume pair, typed API", |b| {
        b.iter(|| {
            m.job_pause("p").unwrap();
            m.job_resume("p").unwrap();
            m.drain_events();
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
