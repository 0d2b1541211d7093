//! The benchmark's lifecycle workloads in plain Rust, making the calls the
//! binding's methods make on its [`Session`] (the core manager, its
//! undelivered events, no transcript), so that one definition runs in two
//! places: natively (`examples/bench_native.rs`) and inside WebAssembly with
//! no JS boundary crossed (the `BenchWorkload` class of a module built with
//! the `bench` feature). `bench/bench.mjs` compares both with the same
//! workloads driven from JavaScript through the binding: what the binding
//! adds to "inside" is the price of the JS/WASM boundary alone.
//!
//! Each iteration ends with the events taken out as QMP JSON text
//! ([`Session::drain_events`], what `drainEventsJson` hands to JavaScript).

use crate::session::Session;
use serde_json::{Map, Value};
use std::hint::black_box;

/// The workload names, in the order the benchmark prints them.
/// Each writes its events as QMP JSON text (what `drainEventsJson` hands
/// to JavaScript), which the core's own benchmarks of the same lifecycle do
/// not: these figures are the binding's, not the README's headline ones.
pub const NAMES: [&str; 3] = [
    "backup lifecycle, typed, events as JSON text",
    "backup lifecycle, QMP text, events as JSON text",
    "pause + resume pair, settle, events as JSON text",
];

/// The arguments of the benchmark's backup.
pub const BACKUP_ARGS: &str =
    r#"{"job-id": "b0", "device": "src", "target": "dst", "sync": "full"}"#;

/// The same backup as one QMP command.
pub const BACKUP_COMMAND: &str = r#"{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full"}}"#;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Typed,
    Text,
    Pair,
}

/// One workload, ready to run: its session and arguments.
#[derive(Debug)]
pub struct Workload {
    kind: Kind,
    session: Session,
    args: Map<String, Value>,
}

fn backup_args() -> Map<String, Value> {
    match qjob::qmp::json::parse_strict(BACKUP_ARGS) {
        Ok(Value::Object(m)) => m,
        _ => unreachable!("BACKUP_ARGS is a JSON object"),
    }
}

impl Workload {
    /// The workload called `name` (one of [`NAMES`]) over a fresh session
    /// of the default world without a transcript (as `new JobManager()`);
    /// the pair's backup (held at speed 1) is already running.
    pub fn new(name: &str) -> Option<Workload> {
        let kind = match NAMES.iter().position(|n| *n == name)? {
            0 => Kind::Typed,
            1 => Kind::Text,
            _ => Kind::Pair,
        };
        let mut session = Session::new(true);
        session.set_recording(false);
        let mut w = Workload {
            kind,
            session,
            args: backup_args(),
        };
        if let Kind::Pair = kind {
            let mut held = w.args.clone();
            held.insert("speed".into(), 1.into());
            w.session
                .with(|m| m.dispatch("blockdev-backup", &held))
                .expect("the default world has src and dst");
            w.session.settle();
            w.session.drain_events();
        }
        Some(w)
    }

    /// Runs `iterations` iterations: a whole backup lifecycle (typed or
    /// through QMP text), or a pause + resume pair; each ends with `settle`
    /// and the events written as QMP JSON text. Returns the number of events.
    pub fn run(&mut self, iterations: u32) -> usize {
        let s = &mut self.session;
        let args = &self.args;
        let mut count = 0;
        for _ in 0..iterations {
            match self.kind {
                Kind::Typed => {
                    black_box(s.with(|m| m.dispatch("blockdev-backup", args))).ok();
                }
                Kind::Text => {
                    black_box(s.execute_json(BACKUP_COMMAND));
                }
                Kind::Pair => {
                    black_box(s.with(|m| m.job_pause("b0"))).ok();
                    black_box(s.with(|m| m.job_resume("b0"))).ok();
                }
            }
            s.settle();
            count += s.pending_len();
            black_box(s.drain_events());
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qjob::JobStatus;

    #[test]
    fn each_workload_runs_its_lifecycle() {
        for name in NAMES {
            let mut w = Workload::new(name).unwrap();
            let events = w.run(3);
            let jobs = w.session.manager().query_jobs();
            if name.starts_with("pause") {
                // The held backup is still running after every pair.
                assert_eq!(jobs.len(), 1, "{name}");
                assert_eq!(jobs[0].status, JobStatus::Running, "{name}");
                assert_eq!(events, 3 * 2, "{name}: paused, running");
            } else {
                // Each backup ran to its end and was dismissed: created, running,
                // paused, running (the drained section of its start, as in QEMU 7.2),
                // waiting, pending, BLOCK_JOB_COMPLETED, concluded, null.
                assert!(jobs.is_empty(), "{name}");
                assert_eq!(events, 3 * 9, "{name}");
            }
            assert!(w.session.manager().internal_errors().is_empty(), "{name}");
        }
        assert!(Workload::new("no such workload").is_none());
    }
}
