//! Snapshot/restore at every line of every recorded scenario: a manager
//! restored from a snapshot taken after line k continues with exactly the
//! transcript of the original (JSON and binary snapshots alternate).

use qjob::JobManager;
use qjob::scenario::Replayer;
use std::path::PathBuf;

#[test]
fn restored_managers_continue_byte_identically() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    files.sort();
    let mut checked = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .collect();
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
