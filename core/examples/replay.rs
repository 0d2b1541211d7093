//! The scenario replayer of `scenarios/README.md`: `cargo run --release -p qjob --example
//! replay -- [--qemu 7.2|10.0] FILE…` replays each scenario on a fresh default world
//! (reproducing QEMU 7.2, or the version `--qemu` names) and prints its transcript on
//! standard output. With several files, each transcript is preceded by a `# FILE` line.

use qjob::QemuVersion;
use std::process::ExitCode;

const USAGE: &str = "usage: replay [--qemu 7.2|10.0] SCENARIO...\n\nReplays each scenario \
(format: scenarios/README.md) through qjob, reproducing QEMU 7.2 or the version given, and \
prints its transcript.";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|f| f == "-h" || f == "--help") {
        eprintln!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let mut qemu = QemuVersion::V7_2;
    if let Some(i) = args.iter().position(|a| a == "--qemu") {
        let Some(v) = args.get(i + 1).and_then(|v| v.parse().ok()) else {
            eprintln!("replay: --qemu takes 7.2 or 10.0\n{USAGE}");
            return ExitCode::from(2);
        };
        qemu = v;
        args.drain(i..i + 2);
    }
    let files = args;
    if files.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let mut status = ExitCode::SUCCESS;
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("replay: {f}: {e}");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        if files.len() > 1 {
            println!("# {f}");
        }
        match qjob::scenario::replay_version(&text, qemu) {
            Ok(t) => print!("{t}"),
            Err(e) => {
                eprintln!("replay: {f}: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
