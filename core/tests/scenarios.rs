//! Replays every scenario of the corpus through qjob and compares the
//! transcript with the ones recorded from real QEMU, as `scenarios/README.md`
//! describes: `scenarios/*.scn` with `NAME.qemu72.txt` under the QEMU 7.2
//! profile and, where it exists, with `NAME.qemu10.txt` under the QEMU 10.0
//! profile; `scenarios/qemu10/*.scn` (what QEMU 10.0 adds) under both.
//!
//! A scenario that still differs under 10.0 is named, with the reason, in
//! `scenarios/qemu10-known-differences.txt`; the test fails for a scenario
//! that differs and is not listed, and for one that is listed and agrees
//! (so the list can only shrink).

use qjob::QemuVersion;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn scenarios_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scenarios folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    v.sort();
    v
}

/// The scenario's name as the allow-list writes it (`qemu10/NAME` for the
/// 10.0 additions).
fn name(scn: &Path) -> String {
    let stem = scn.file_stem().unwrap().to_string_lossy().into_owned();
    if scn
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "qemu10")
    {
        format!("qemu10/{stem}")
    } else {
        stem
    }
}

/// Replays `scn` under `qemu` and compares with `expected_path`: `Some` of
/// the first difference.
fn differs(scn: &Path, expected_path: &Path, qemu: QemuVersion) -> Option<String> {
    let expected = std::fs::read_to_string(expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    let text = std::fs::read_to_string(scn).unwrap();
    let mut r = qjob::scenario::Replayer::with_version(qemu);
    r.run(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", scn.display()));
    assert!(
        r.manager.internal_errors().is_empty(),
        "{}: {:?}",
        scn.display(),
        r.manager.internal_errors()
    );
    qjob::scenario::compare(&expected, &r.transcript()).err()
}

#[test]
fn every_scenario_matches_qemu_7_2() {
    let mut failures = Vec::new();
    let mut files = scenarios_in(&scenarios_dir());
    assert!(
        files.len() >= 30,
        "the corpus has {} scenarios",
        files.len()
    );
    files.extend(scenarios_in(&scenarios_dir().join("qemu10")));
    for scn in &files {
        if let Some(d) = differs(scn, &scn.with_extension("qemu72.txt"), QemuVersion::V7_2) {
            failures.push(format!("{}: {d}", name(scn)));
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

/// `scenarios/qemu10-known-differences.txt`: scenario name → reason.
fn known_differences() -> BTreeMap<String, String> {
    reasons("qemu10-known-differences.txt")
}

/// A list of `NAME: reason` lines in `scenarios/` (`#` comments): name →
/// reason.
fn reasons(file: &str) -> BTreeMap<String, String> {
    let path = scenarios_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut known = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (scn, reason) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{}: no reason in {line:?}", path.display()));
        assert!(
            !reason.trim().is_empty(),
            "{}: no reason for {scn}",
            path.display()
        );
        known.insert(scn.trim().to_owned(), reason.trim().to_owned());
    }
    known
}

/// `scenarios/qemu10-not-recorded.txt` (scenarios QEMU 10.0.2 aborts in,
/// which `tools/record.py --qemu 10.0` skips) names scenarios that exist
/// and have no 10.0 recording: one recorded after all must leave the list.
#[test]
fn scenarios_not_recorded_from_qemu_10_have_no_recording() {
    let mut files = scenarios_in(&scenarios_dir());
    files.extend(scenarios_in(&scenarios_dir().join("qemu10")));
    for n in reasons("qemu10-not-recorded.txt").keys() {
        let scn = files.iter().find(|f| &name(f) == n).unwrap_or_else(|| {
            panic!("qemu10-not-recorded.txt names {n}, which is not a scenario")
        });
        assert!(
            !scn.with_extension("qemu10.txt").exists(),
            "{n} is in qemu10-not-recorded.txt but has a QEMU 10.0 recording"
        );
    }
}

#[test]
fn every_scenario_with_a_qemu_10_recording_matches_it() {
    let known = known_differences();
    let mut files = scenarios_in(&scenarios_dir());
    files.extend(scenarios_in(&scenarios_dir().join("qemu10")));
    let mut unexpected = Vec::new();
    let mut agreeing_but_listed = Vec::new();
    let mut replayed = 0;
    for scn in &files {
        let expected = scn.with_extension("qemu10.txt");
        if !expected.exists() {
            continue;
        }
        replayed += 1;
        let n = name(scn);
        match (
            differs(scn, &expected, QemuVersion::V10_0),
            known.contains_key(&n),
        ) {
            (Some(d), false) => unexpected.push(format!("{n}: {d}")),
            (None, true) => agreeing_but_listed.push(n),
            _ => {}
        }
    }
    assert!(
        replayed >= 80,
        "{replayed} scenarios have a QEMU 10.0 recording"
    );
    for n in known.keys() {
        assert!(
            files.iter().any(|f| &name(f) == n),
            "qemu10-known-differences.txt names {n}, which is not a scenario"
        );
    }
    assert!(
        unexpected.is_empty() && agreeing_but_listed.is_empty(),
        "{} scenarios differ from QEMU 10.0 and are not in qemu10-known-differences.txt:\n{}\n\
         {} are listed there but agree now (remove them): {:?}",
        unexpected.len(),
        unexpected.join("\n"),
        agreeing_but_listed.len(),
        agreeing_but_listed
    );
}
