//! Property tests: random sequences of the one alphabet of operations
//! (`qjob_tests::Op`: job creations, user commands typed or as QMP, steps,
//! clock moves, snapshot round trips) keep every invariant of
//! `qjob_tests::Checker`, and every job can be driven to its end afterwards.
//!
//! Proptest generates bytes, decoded into operations by
//! `qjob_tests::ops_from_bytes`, the fuzz target `sequences`' own decoder:
//! one generator for both, and a fuzz input replays here
//! (`fuzz_seeds_of_sequences_keep_the_invariants`).

use proptest::prelude::*;
use qjob::JobManager;
use qjob_tests::{Checker, Command, IDS, NewJob, Op, ops_from_bytes, run_sequence, sandbox};

/// Up to about 40 operations (an operation takes 4 to 11 bytes).
fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(any::<u8>(), 1..320).prop_map(|b| ops_from_bytes(&b))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_keep_the_invariants(ops in ops()) {
        run_sequence(&ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Snapshot and restore at a random point of a random sequence changes
    /// nothing that follows: the same replies, results and events, the same
    /// `query-block-jobs`, clock and deadline after each operation, and the
    /// same state at the end.
    #[test]
    fn snapshot_restore_at_a_random_point_changes_nothing(
        ops in ops(),
        at in any::<prop::sample::Index>(),
        from_json in any::<bool>(),
    ) {
        let k = at.index(ops.len() + 1);
        let (mut a, mut ca) = (sandbox(), Checker::new());
        for op in &ops[..k] {
            op.apply(&mut a, &mut ca, &IDS);
        }
        let mut b = Checker::snapshot_round_trip(&a, from_json);
        let mut cb = ca.clone();
        let observe = |m: &mut JobManager| {
            format!("{} {:?} {}", m.execute(r#"{"execute":"query-block-jobs"}"#), m.next_deadline(), m.now())
        };
        for op in &ops[k..] {
            let ta = op.apply(&mut a, &mut ca, &IDS) + &observe(&mut a);
            let tb = op.apply(&mut b, &mut cb, &IDS) + &observe(&mut b);
            prop_assert_eq!(ta, tb);
        }
        prop_assert_eq!(a.to_snapshot_json(), b.to_snapshot_json());
    }
}

/// Every committed seed of the fuzz target `sequences` (decoded as the
/// target decodes it) keeps the invariants.
#[test]
fn fuzz_seeds_of_sequences_keep_the_invariants() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/seeds/sequences");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("fuzz/seeds/sequences") {
        let path = entry.expect("seed").path();
        let data = std::fs::read(&path).expect("seed readable");
        let ops = ops_from_bytes(&data);
        let r = std::panic::catch_unwind(|| run_sequence(&ops));
        assert!(r.is_ok(), "{} failed: {ops:?}", path.display());
        n += 1;
    }
    assert!(n > 0, "no seeds in {dir}");
}

/// Malformed or refused QMP gets one well-formed reply (checked by
/// `Checker::execute`) and breaks no invariant.
#[test]
fn garbage_qmp_never_panics() {
    let mut m = JobManager::with_default_world();
    let mut c = Checker::new();
    for input in [
        "",
        "{",
        "}",
        "[",
        "\"",
        "{\"execute\"",
        "{\"execute\": \"job-pause\", \"arguments\": {\"id\": {}}}",
        "\u{0}",
        "{'a': 'b'}",
        "nul",
        "-",
        "1e999",
        "{\"execute\": \"transaction\", \"arguments\": {\"actions\": [1]}}",
        "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"raw\", \"file\": {\"driver\": \"raw\", \"file\": \"x\"}}}",
        "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"qcow2\", \"node-name\": \"q\", \"file\": \"src\"}}",
    ] {
        c.execute(&mut m, input);
        c.absorb(&mut m);
    }
}

/// Proptest's shrunk failures (tests/properties.proptest-regressions keeps
/// their seeds; the operations they decoded to then are these).
#[test]
fn regression_reused_id_across_groups() {
    let grouped = |a, b, failing_b| Op::Grouped {
        a,
        b,
        failing_b,
        speed_a: 1,
        speed_b: 0,
        auto_finalize: false,
        auto_dismiss: true,
    };
    run_sequence(&[grouped(0, 3, true), grouped(1, 3, false)]);
}

#[test]
fn regression_backup_beside_a_grouped_transaction() {
    run_sequence(&[
        Op::Grouped {
            a: 2,
            b: 3,
            failing_b: false,
            speed_a: 1,
            speed_b: 0,
            auto_finalize: true,
            auto_dismiss: true,
        },
        Op::Backup {
            new: NewJob {
                job: 0,
                src: 2,
                dst: 0,
                speed: 0,
                auto_finalize: false,
                auto_dismiss: false,
            },
            on_source_error: 0,
        },
    ]);
}

/// Three backups of one node stack three filters on it; soft-cancelling the
/// middle one, then winding down, drops a filter while the drained section of
/// another's drop finishes the job whose filter was below it. The filter's
/// child must be read inside that drained section (it used to be read before,
/// and then named a node that was gone: a panic in `replace_node`).
#[test]
fn regression_stacked_filters_dropped_in_a_drain() {
    let backup = |job, dst, auto_finalize| Op::Backup {
        new: NewJob {
            job,
            src: 2,
            dst,
            speed: 1,
            auto_finalize,
            auto_dismiss: false,
        },
        on_source_error: 0,
    };
    run_sequence(&[
        backup(1, 0, false),
        backup(0, 3, false),
        backup(2, 1, true),
        Op::Cmd {
            cmd: Command::SoftCancel,
            job: 0,
            qmp: false,
        },
    ]);
}
