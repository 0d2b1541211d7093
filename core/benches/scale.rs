//! Scale benchmarks (issue "Core, part 2"): `tick` among 1,000,000 sleeping
//! jobs, bytes per idle job, snapshot and restore of 10,000 jobs, a
//! pause+resume pair and one QMP `job-pause`.

use criterion::{Criterion, criterion_group, criterion_main};
use qjob::{HostActionKind, HostJobOptions, JobManager};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts live heap bytes, to measure the memory of idle jobs.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged and only
// keeps a running total of the sizes asked for.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const FAR: u64 = 1 << 62;

/// `n` host jobs, each asleep until far in the future.
fn sleeping(n: usize, ids: bool) -> JobManager {
    let mut m = JobManager::new();
    for i in 0..n {
        let h = m
            .create_host_job(HostJobOptions {
                id: ids.then(|| format!("job{i}")),
                ..HostJobOptions::default()
            })
            .unwrap();
        m.host_sleep(h, FAR).unwrap();
    }
    while m.poll_action().is_some() {}
    m.drain_events();
    m
}

fn bytes_per_idle_job() {
    let n = 100_000;
    let before = LIVE.load(Ordering::Relaxed);
    let m = sleeping(n, true);
    let after = LIVE.load(Ordering::Relaxed);
    let id_bytes: usize = (0..n).map(|i| format!("job{i}").len()).sum();
    let per_job = (after - before) as f64 / n as f64;
    // Each ID is stored once, shared by the job, its events and the ID index.
    let ids = id_bytes as f64 / n as f64;
    println!(
        "memory: {per_job:.1} bytes per idle job with its ID ({:.1} bytes plus the {ids:.1} bytes of the ID); {n} jobs",
        per_job - ids
    );
    black_box(m);
}

fn bench(c: &mut Criterion) {
    bytes_per_idle_job();

    // tick among 1,000,000 sleeping jobs, one of which is due.
    let mut m = sleeping(1_000_000, false);
    let h = m.create_host_job(HostJobOptions::default()).unwrap();
    m.poll_action();
    m.host_sleep(h, m.now() + 1).unwrap();
    c.bench_function("tick, 1M sleeping jobs, one due", |b| {
        b.iter(|| {
            let now = m.now() + 1;
            m.tick(black_box(now));
            let a = m.poll_action().unwrap();
            debug_assert_eq!(a.kind, HostActionKind::Wake);
            m.host_sleep(h, now + 1).unwrap();
        })
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

    let mut m = JobManager::with_default_world();
    m.execute(r#"{"execute":"blockdev-backup","arguments":{"job-id":"p","device":"src","target":"dst","sync":"full","speed":1}}"#);
    m.settle();
    m.drain_events();
    c.bench_function("pause + resume pair, typed API", |b| {
        b.iter(|| {
            m.job_pause(black_box("p")).unwrap();
            m.job_resume(black_box("p")).unwrap();
            while m.poll_event().is_some() {}
        })
    });
    c.bench_function("QMP execute job-pause (+ typed resume)", |b| {
        b.iter(|| {
            black_box(m.execute(black_box(
                r#"{"execute":"job-pause","arguments":{"id":"p"}}"#,
            )));
            m.job_resume("p").unwrap();
            m.drain_events();
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
