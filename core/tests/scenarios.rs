//! Replays every scenario of the corpus (`scenarios/*.scn`) through qjob and
//! compares the transcript with the one recorded from real QEMU 7.2
//! (`scenarios/*.qemu72.txt`), as `scenarios/README.md` describes.

use std::path::PathBuf;

fn corpus() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_scenario_matches_qemu_7_2() {
    let mut failures = Vec::new();
    let files = corpus();
    assert!(
        files.len() >= 30,
        "the corpus has {} scenarios",
        files.len()
    );
    for scn in &files {
        let expected_path = scn.with_extension("qemu72.txt");
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let text = std::fs::read_to_string(scn).unwrap();
        let mut r = qjob::scenario::Replayer::new();
        r.run(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", scn.display()));
        assert!(
            r.manager.internal_errors().is_empty(),
            "{}: {:?}",
            scn.display(),
            r.manager.internal_errors()
        );
        if let Err(d) = qjob::scenario::compare(&expected, &r.transcript()) {
            failures.push(format!(
                "{}: {d}",
                scn.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ from QEMU 7.2:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
