//! The native half of the WASM benchmark (`bench/bench.mjs` runs the same workloads on
//! the WebAssembly module in node): the core called directly, with the same inputs and
//! outputs (events as QMP JSON text) as the binding. Prints one JSON object per line:
//! `{"name": …, "iterations": …, "ns_per_iter": …}`.
//!
//! `cargo run --release -p qjob-wasm --example bench_native [ITERATIONS]`

use qjob::JobManager;
use serde_json::{Map, Value, json};
use std::hint::black_box;
use std::time::Instant;

fn bench(name: &str, iterations: u32, mut f: impl FnMut(u32)) {
    for i in 0..iterations / 10 {
        f(i); // warm-up
    }
    let start = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    let ns = start.elapsed().as_nanos() as f64 / iterations as f64;
    println!(
        "{}",
        json!({"name": name, "iterations": iterations, "ns_per_iter": ns})
    );
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let args: Map<String, Value> =
        json!({"job-id": "b0", "device": "src", "target": "dst", "sync": "full"})
            .as_object()
            .unwrap()
            .clone();

    // 1. A whole backup lifecycle through a typed creation call: created … null, events out as QMP JSON text.
    let mut m = JobManager::with_default_world();
    bench("backup lifecycle, typed", n, |_| {
        m.dispatch("blockdev-backup", &args).unwrap();
        m.settle();
        black_box(
            m.drain_events()
                .iter()
                .map(|e| e.to_json())
                .collect::<Vec<_>>(),
        );
    });

    // 2. The same through QMP JSON text, events out as JSON text.
    let text = r#"{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full"}}"#;
    let mut m = JobManager::with_default_world();
    bench("backup lifecycle, QMP JSON text", n, |_| {
        black_box(m.execute(text));
        m.settle();
        black_box(
            m.drain_events()
                .iter()
                .map(|e| e.to_json())
                .collect::<Vec<_>>(),
        );
    });

    // 3. A pause + resume pair on a held (speed 1) backup.
    let mut m = JobManager::with_default_world();
    let mut held = args.clone();
    held.insert("speed".into(), 1.into());
    m.dispatch("blockdev-backup", &held).unwrap();
    m.settle();
    m.drain_events();
    bench("pause + resume pair", n * 10, |_| {
        m.job_pause("b0").unwrap();
        m.job_resume("b0").unwrap();
        m.settle();
        black_box(
            m.drain_events()
                .iter()
                .map(|e| e.to_json())
                .collect::<Vec<_>>(),
        );
    });
}
