//! The scenario replayer of `scenarios/README.md`: `cargo run --release -p qjob --example
//! replay -- FILE…` replays each scenario on a fresh default world and prints
//! its transcript on standard output. With several files, each transcript is
//! preceded by a `# FILE` line.

use std::process::ExitCode;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() || files.iter().any(|f| f == "-h" || f == "--help") {
        eprintln!(
            "usage: replay SCENARIO...\n\nReplays each scenario (format: scenarios/README.md) through qjob and prints its transcript."
        );
        return if files.is_empty() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
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
        match qjob::scenario::replay(&text) {
            Ok(t) => print!("{t}"),
            Err(e) => {
                eprintln!("replay: {f}: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
