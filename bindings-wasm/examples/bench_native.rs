//! The native half of the WASM benchmark (`bench/bench.mjs` runs the same workloads on
//! the WebAssembly module in node, through the binding and inside the module): the
//! workloads of `src/workloads.rs` (the binding's Rust side over the core, no
//! JavaScript), compiled natively. Prints one JSON object per line:
//! `{"name": …, "iterations": …, "ns_per_iter": …}`.
//!
//! `cargo run --release -p qjob-wasm --example bench_native [ITERATIONS]`
//! (the pair runs ten times as many iterations as the backup lifecycles).

// The binding's own Rust side, compiled natively: the workloads make the
// calls its methods make on a `Session` (only some of whose methods they use).
#[allow(dead_code)]
#[path = "../src/session.rs"]
mod session;
#[path = "../src/workloads.rs"]
mod workloads;

use serde_json::json;
use std::time::Instant;
use workloads::{NAMES, Workload};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    for name in NAMES {
        let iterations = if name.starts_with("pause") { n * 10 } else { n };
        let mut w = Workload::new(name).expect("a workload of NAMES");
        w.run(iterations / 10); // warm-up
        let start = Instant::now();
        w.run(iterations);
        let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations);
        println!(
            "{}",
            json!({"name": name, "iterations": iterations, "ns_per_iter": ns})
        );
    }
}
