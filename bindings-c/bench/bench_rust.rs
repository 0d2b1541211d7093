//! The Rust side of the C API benchmark (`bench/bench.c` runs this and
//! prints both side by side): the same three loops as the C program, through
//! the core's Rust API, timed the same way (best of 5 batches; `bench.c`
//! runs it once per round, between its own rounds).
//!
//! Output: one line per measurement, `NAME NS_PER_ITERATION`.

use qjob_core::{BackupOptions, JobManager, JobOptions, SyncMode};
use std::hint::black_box;
use std::time::Instant;

const BATCHES: usize = 5;
const ITERS: usize = 10_000;

/// Runs `f` ITERS times per batch, BATCHES batches; the best batch's time per
/// iteration in ns.
fn measure(mut f: impl FnMut()) -> f64 {
    for _ in 0..ITERS / 10 {
        f();
    }
    let mut best = f64::INFINITY;
    for _ in 0..BATCHES {
        let t = Instant::now();
        for _ in 0..ITERS {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / ITERS as f64);
    }
    best
}

fn drain(m: &mut JobManager) {
    while let Some(e) = m.poll_event() {
        black_box(&e);
    }
}

fn main() {
    let mut m = JobManager::with_default_world();
    let r = m.execute(
        r#"{"execute":"blockdev-backup","arguments":{"job-id":"p","device":"src","target":"dst","sync":"full","speed":1}}"#,
    );
    assert_eq!(r, r#"{"return":{}}"#);
    m.settle();
    drain(&mut m);
    let pair = measure(|| {
        m.job_pause(black_box("p")).unwrap();
        m.job_resume(black_box("p")).unwrap();
        drain(&mut m);
    });
    println!("pause+resume {pair:.1}");

    let mut m = JobManager::with_default_world();
    let typed = measure(|| {
        m.blockdev_backup(BackupOptions {
            job: JobOptions::with_id(black_box("b0")),
            device: "src".into(),
            target: "dst".into(),
            sync: SyncMode::Full,
            ..BackupOptions::default()
        })
        .unwrap();
        m.settle();
        drain(&mut m);
    });
    println!("lifecycle-typed {typed:.1}");

    let mut m = JobManager::with_default_world();
    let json = measure(|| {
        let r = m.execute(black_box(
            r#"{"execute":"blockdev-backup","arguments":{"job-id":"b0","device":"src","target":"dst","sync":"full"}}"#,
        ));
        black_box(r);
        m.settle();
        drain(&mut m);
    });
    println!("lifecycle-json {json:.1}");
}
