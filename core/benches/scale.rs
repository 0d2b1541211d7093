//! Scale benchmarks (issue "Core, part 2"): `tick` among 1,000,000 sleeping
//! jobs, snapshot and restore of 10,000 jobs, and one QMP `job-pause`
//! (criterion; `figures.rs` prints the README's table, resident memory per
//! idle job included, from the same workloads).

mod workloads;

use criterion::{Criterion, criterion_group, criterion_main};
use qjob::JobManager;
use std::hint::black_box;
use workloads::*;

fn bench(c: &mut Criterion) {
    let (mut m, h) = sleeping_and_one_due(1_000_000);
    c.bench_function("tick, 1M sleeping jobs, one due", |b| {
        b.iter(|| tick_one_due(&mut m, h))
    });
    drop(m);

    let mut m = sleeping(10_000, true);
    let bytes = m.to_snapshot_bytes();
    let json = m.to_snapshot_json();
    println!(
        "snapshot of 10,000 jobs: {} bytes binary, {} bytes JSON",
        bytes.len(),
        json.len()
    );
    c.bench_function("snapshot 10,000 jobs (binary)", |b| {
        b.iter(|| black_box(m.to_snapshot_bytes()))
    });
    c.bench_function("restore 10,000 jobs (binary)", |b| {
        b.iter(|| black_box(JobManager::from_snapshot_bytes(&bytes).unwrap()))
    });
    c.bench_function("snapshot 10,000 jobs (JSON)", |b| {
        b.iter(|| black_box(m.to_snapshot_json()))
    });
    c.bench_function("restore 10,000 jobs (JSON)", |b| {
        b.iter(|| black_box(JobManager::from_snapshot_json(&json).unwrap()))
    });
    m.drain_events();

    let mut m = held_backup();
    c.bench_function("QMP execute job-pause (+ typed resume)", |b| {
        b.iter(|| qmp_pause(&mut m))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
