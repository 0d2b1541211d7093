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
