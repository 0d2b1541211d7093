//! The model check at depth 3 under `cargo test` (the release binary
//! `modelcheck` runs depth 6 in `tests/ci.sh` and depth 8 in `tests/long.sh`).

use qjob_tests::modelcheck::{WORLDS, explore};

#[test]
fn every_world_keeps_the_invariants_to_depth_3() {
    for w in WORLDS {
        let levels = explore(w, 3, |_| {})
            .unwrap_or_else(|f| panic!("{}: {} after {:?}", f.world, f.message, f.path));
        assert!(levels.last().unwrap().total_states > 5, "{}", w.name);
    }
}

#[test]
fn the_checker_notices_events_that_disagree_with_query_jobs() {
    let mut m = qjob::JobManager::with_default_world();
    let r = m.execute(
        r#"{"execute":"blockdev-backup","arguments":{"job-id":"b0","device":"src","target":"dst","sync":"full","speed":1}}"#,
    );
    assert_eq!(r, r#"{"return":{}}"#);
    m.settle();
    m.drain_events(); // the checker never sees b0's events
    let c = qjob_tests::Checker::new();
    let caught = std::panic::catch_unwind(|| c.check(&m));
    assert!(
        caught.is_err(),
        "a job unknown to the event stream went unnoticed"
    );
}
