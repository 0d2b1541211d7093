//! `modelcheck [DEPTH] [WORLD…]`: the exhaustive model check of qjob's job
//! lifecycle (see `qjob_tests::modelcheck`). Prints the number of distinct
//! states per world and depth; exits 1 with a reproducer on the first
//! violated invariant.

use qjob_tests::modelcheck::{WORLDS, World, explore, world};
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let depth: usize = match args.next().map(|a| a.parse()) {
        None => 6,
        Some(Ok(d)) => d,
        Some(Err(_)) => {
            eprintln!("usage: modelcheck [DEPTH] [WORLD…]  (worlds: txn, mirror, backup-mirror)");
            return ExitCode::from(2);
        }
    };
    let names: Vec<String> = args.collect();
    let worlds: Vec<&World> = if names.is_empty() {
        WORLDS.iter().collect()
    } else {
        match names.iter().map(|n| world(n)).collect::<Option<Vec<_>>>() {
            Some(w) => w,
            None => {
                eprintln!("unknown world in {names:?} (worlds: txn, mirror, backup-mirror)");
                return ExitCode::from(2);
            }
        }
    };
    // Failures are reported with their path below; keep the hook quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let mut total = 0;
    for w in worlds {
        println!("world {}: {}", w.name, w.description);
        let t = Instant::now();
        match explore(w, depth, |l| {
            println!(
                "  depth {:>2}: {:>9} new states, {:>10} distinct states in all ({} actions tried)",
                l.depth, l.new_states, l.total_states, l.transitions
            )
        }) {
            Ok(levels) => {
                let n = levels.last().map_or(0, |l| l.total_states);
                total += n;
                println!(
                    "  {}: {} distinct states to depth {}, all invariants hold ({:.1} s)",
                    w.name,
                    n,
                    depth,
                    t.elapsed().as_secs_f64()
                );
            }
            Err(f) => {
                println!("FAILED in world {}: {}", f.world, f.message);
                println!("  reproducer (from the initial state):");
                for a in &f.path {
                    println!("    {a:?}");
                }
                return ExitCode::FAILURE;
            }
        }
    }
    println!("modelcheck: {total} distinct states in all, depth {depth}: ok");
    ExitCode::SUCCESS
}
