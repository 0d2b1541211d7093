//! Snapshot/restore at every line of every recorded scenario: a manager
//! restored from a snapshot taken after line k continues with exactly the
//! transcript of the original (JSON and binary snapshots alternate).

use qjob::JobManager;
use qjob::scenario::Replayer;
use std::path::PathBuf;

/// Every scenario of the corpus, sorted, with its lines (no blanks, no comments).
fn scenarios() -> Vec<(PathBuf, Vec<String>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let lines = std::fs::read_to_string(&f)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .map(str::to_owned)
                .collect();
            (f, lines)
        })
        .collect()
}

#[test]
fn restored_managers_continue_byte_identically() {
    let mut checked = 0;
    for (f, lines) in scenarios() {
        let mut full = Replayer::new();
        for l in &lines {
            full.run_line(l).unwrap();
        }
        let expected = full.transcript();
        for k in 0..=lines.len() {
            let mut r = Replayer::new();
            for l in &lines[..k] {
                r.run_line(l).unwrap();
            }
            r.manager = if k % 2 == 0 {
                JobManager::from_snapshot_bytes(&r.manager.to_snapshot_bytes()).unwrap()
            } else {
                JobManager::from_snapshot_json(&r.manager.to_snapshot_json()).unwrap()
            };
            for l in &lines[k..] {
                r.run_line(l).unwrap();
            }
            assert_eq!(
                r.transcript(),
                expected,
                "{}: restored after line {k}",
                f.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} restore points");
}

/// Damaged binary snapshots: every scenario's state halfway through, with
/// one to three bits changed at pseudo-random places (header or payload), is
/// refused with an error — never restored to a different state.
#[test]
fn damaged_binary_snapshots_are_refused() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut refused = 0;
    for (_, lines) in scenarios() {
        let mut r = Replayer::new();
        for l in &lines[..lines.len() / 2] {
            r.run_line(l).unwrap();
        }
        let good = r.manager.to_snapshot_bytes();
        for _ in 0..60 {
            let mut bad = good.clone();
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % bad.len();
                bad[at] ^= 1 << (next() % 8);
            }
            if bad == good {
                continue;
            }
            let e = JobManager::from_snapshot_bytes(&bad).expect_err("damage must be refused");
            assert!(!e.to_string().is_empty());
            refused += 1;
        }
        let mut cut = good.clone();
        cut.truncate(good.len() - 1 - (next() as usize) % (good.len() - 1));
        assert!(JobManager::from_snapshot_bytes(&cut).is_err());
    }
    assert!(refused > 3000, "only {refused} damaged snapshots");
}
