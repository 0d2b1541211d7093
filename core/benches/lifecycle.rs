//! One full backup lifecycle (create → run → conclude → null) through the
//! typed API and through QMP JSON `execute`; a QMP error reply; a pause +
//! resume pair (criterion; `figures.rs` prints the README's table from the
//! same workloads).

mod workloads;

use criterion::{Criterion, criterion_group, criterion_main};
use qjob::JobManager;
use std::hint::black_box;
use workloads::*;

fn bench(c: &mut Criterion) {
    let mut m = JobManager::with_default_world();
    c.bench_function("backup lifecycle, typed API", |b| {
        b.iter(|| typed_lifecycle(black_box(&mut m)))
    });
    let mut m = JobManager::with_default_world();
    c.bench_function("backup lifecycle, QMP execute", |b| {
        b.iter(|| qmp_lifecycle(black_box(&mut m)))
    });
    let mut m = JobManager::with_default_world();
    c.bench_function("QMP execute, error reply", |b| {
        b.iter(|| {
            black_box(&mut m).execute(r#"{"execute":"job-pause","arguments":{"id":"nope"},"id":7}"#)
        })
    });
    let mut m = held_backup();
    c.bench_function("pause + resume pair, events drained into a Vec", |b| {
        b.iter(|| pair_drained(&mut m))
    });
    c.bench_function("pause + resume pair, events polled one at a time", |b| {
        b.iter(|| pair_polled(&mut m))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
