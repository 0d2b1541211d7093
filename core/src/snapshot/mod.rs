//! Snapshot and restore: the whole manager (jobs, transactions, nodes, clock,
//! queued events and host actions, bottom halves, timers, rate limiters) in a
//! stable, versioned format, as JSON or as a compact binary form. A restored
//! manager continues byte-identically.
//!
//! Both forms carry the format name and [`SNAPSHOT_VERSION`]; a snapshot of
//! another version is refused with [`SnapshotError::Version`], never misread.
//! The JSON form is `{"format": "qjob-snapshot", "version", "checksum",
//! "manager"}`. The binary form is `QJOBSNAP`, a little-endian `u32` version, a
//! little-endian `u64` checksum of the rest, then the manager in a compact
//! positional encoding (`snapshot/codec.rs`). Both checksums are of that
//! encoding of the state; they make damage a refusal
//! (`SnapshotError::Corrupt`) rather than a different, inconsistent state. Version
//! 1 was a tagged copy of the JSON document; version 2 was about 7 times
//! smaller and 40 times faster to write and read; version 4 writes QAPI
//! enums as their index and the timers once (10,000 jobs: 0.62 MB in
//! 1.5 ms, restored in 3.9 ms; `cargo bench -p qjob --bench scale`);
//! version 5 adds the host-files state, BlockBackends and devices; version 6
//! the QEMU version reproduced; version 7 each job's node links with their
//! block permissions, NBD exports, throttle groups and the run state;
//! version 8 whether a node is inactive (QEMU 10.0's `active`); version 9
//! bitmap contents (dirty extents, successors, enabled) and a backup's bitmap
//! mode, filter nodes and `raw`'s window; version 10 each node's
//! `wr_highest_offset`.

use crate::manager::JobManager;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

pub(crate) mod codec;
pub(crate) mod json_text;
#[cfg(test)]
pub(crate) mod serde_codec;
mod validate;

/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 10;
const FORMAT: &str = "qjob-snapshot";
const MAGIC: &[u8; 8] = b"QJOBSNAP";
/// Magic, version, checksum: the payload starts here.
const HEADER: usize = 20;

/// Why a snapshot could not be restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// Not a qjob snapshot (wrong magic, format name or structure).
    NotASnapshot(String),
    /// A snapshot of another format version.
    Version {
        /// The version found.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The snapshot is damaged or inconsistent.
    Corrupt(String),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::NotASnapshot(why) => write!(f, "not a qjob snapshot: {why}"),
            SnapshotError::Version { found, supported } => write!(
                f,
                "qjob snapshot format version {found} is not supported (this build reads version {supported})"
            ),
            SnapshotError::Corrupt(why) => write!(f, "damaged qjob snapshot: {why}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

#[derive(Serialize)]
struct DocOut<'a> {
    format: &'static str,
    version: u32,
    checksum: String,
    manager: &'a JobManager,
}

#[derive(Deserialize)]
struct DocIn {
    format: String,
    checksum: String,
    manager: Value,
}

impl JobManager {
    /// The whole manager as a JSON snapshot.
    pub fn to_snapshot_json(&self) -> String {
        crate::qmp::json::to_text(&self.snapshot_value())
    }

    fn snapshot_value(&self) -> Value {
        serde_json::to_value(DocOut {
            format: FORMAT,
            version: SNAPSHOT_VERSION,
            checksum: format!("{:016x}", self.state_checksum()),
            manager: self,
        })
        .expect("a manager always serializes")
    }

    /// Restores a manager from [`to_snapshot_json`](Self::to_snapshot_json).
    pub fn from_snapshot_json(s: &str) -> Result<JobManager, SnapshotError> {
        let v: Value =
            serde_json::from_str(s).map_err(|e| SnapshotError::NotASnapshot(e.to_string()))?;
        Self::from_snapshot_value(v)
    }

    fn from_snapshot_value(v: Value) -> Result<JobManager, SnapshotError> {
        let version = v.get("version").and_then(Value::as_u64);
        if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(SnapshotError::NotASnapshot(
                "no \"format\": \"qjob-snapshot\" member".into(),
            ));
        }
        match version {
            Some(n) if n == SNAPSHOT_VERSION as u64 => {}
            Some(n) => {
                return Err(SnapshotError::Version {
                    found: n.min(u32::MAX as u64) as u32,
                    supported: SNAPSHOT_VERSION,
                });
            }
            None => return Err(SnapshotError::NotASnapshot("no version".into())),
        }
        let doc: DocIn =
            serde_json::from_value(v).map_err(|e| SnapshotError::Corrupt(e.to_string()))?;
        debug_assert_eq!(doc.format, FORMAT);
        let mut m: JobManager = serde_json::from_value(doc.manager)
            .map_err(|e| SnapshotError::Corrupt(e.to_string()))?;
        if doc.checksum != format!("{:016x}", m.state_checksum()) {
            return Err(SnapshotError::Corrupt("checksum mismatch".into()));
        }
        m.rebuild_index().map_err(SnapshotError::Corrupt)?;
        Ok(m)
    }

    /// The checksum of the state: of its binary encoding, which both forms
    /// share (the JSON form carries it as 16 hex digits).
    fn state_checksum(&self) -> u64 {
        let mut payload = Vec::with_capacity(4096);
        codec::encode(&mut payload, self);
        codec::checksum(&payload)
    }

    /// The whole manager as a compact binary snapshot.
    pub fn to_snapshot_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        codec::encode(&mut out, self);
        let sum = codec::checksum(&out[HEADER..]);
        out[12..HEADER].copy_from_slice(&sum.to_le_bytes());
        out
    }

    /// Restores a manager from [`to_snapshot_bytes`](Self::to_snapshot_bytes).
    ///
    /// Refused: another magic or version, a checksum mismatch (damage),
    /// undecodable data, or a state whose references do not hold together
    /// (missing jobs, nodes or transactions, one-sided graph links, a cycle
    /// in the graph, a filter node that is not the job's own). A snapshot
    /// edited on purpose can pass these checks and still hold bookkeeping
    /// QEMU never reaches; such a state is not supported.
    pub fn from_snapshot_bytes(b: &[u8]) -> Result<JobManager, SnapshotError> {
        if b.len() < 12 || &b[..8] != MAGIC {
            return Err(SnapshotError::NotASnapshot("bad magic".into()));
        }
        let version = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        if version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version {
                found: version,
                supported: SNAPSHOT_VERSION,
            });
        }
        let (sum, payload) = b[12..]
            .split_first_chunk::<8>()
            .ok_or_else(|| SnapshotError::Corrupt("truncated".into()))?;
        if u64::from_le_bytes(*sum) != codec::checksum(payload) {
            return Err(SnapshotError::Corrupt("checksum mismatch".into()));
        }
        let mut m: JobManager = codec::decode(payload).map_err(|e| SnapshotError::Corrupt(e.0))?;
        m.rebuild_index().map_err(SnapshotError::Corrupt)?;
        Ok(m)
    }
}

/// A manager with a running backup `b` held at speed 1 (so a filter node,
/// job parents and an armed timer), for the tests below.
#[cfg(test)]
fn running_backup() -> JobManager {
    let mut m = JobManager::with_default_world();
    let r = m.execute(r#"{"execute":"blockdev-backup","arguments":{"job-id":"b","device":"src","target":"dst","sync":"full","speed":1}}"#);
    assert_eq!(r, r#"{"return":{}}"#);
    m.settle();
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::QemuVersion;

    #[test]
    fn round_trips_and_refuses_other_versions() {
        let m = running_backup();
        let json = m.to_snapshot_json();
        let bin = m.to_snapshot_bytes();
        assert!(bin.len() < json.len());
        let a = JobManager::from_snapshot_json(&json).unwrap();
        let b = JobManager::from_snapshot_bytes(&bin).unwrap();
        assert_eq!(a.to_snapshot_json(), json);
        assert_eq!(b.to_snapshot_json(), json);
        let old = json.replace(&format!("\"version\":{SNAPSHOT_VERSION}"), "\"version\":0");
        assert_eq!(
            JobManager::from_snapshot_json(&old).unwrap_err(),
            SnapshotError::Version {
                found: 0,
                supported: SNAPSHOT_VERSION
            }
        );
        let mut bad = bin.clone();
        bad[8] = 99;
        assert!(matches!(
            JobManager::from_snapshot_bytes(&bad),
            Err(SnapshotError::Version { found: 99, .. })
        ));
        assert!(JobManager::from_snapshot_bytes(b"nonsense").is_err());
        assert!(JobManager::from_snapshot_bytes(&bin[..bin.len() - 3]).is_err());
        assert!(JobManager::from_snapshot_json("{}").is_err());
    }

    #[test]
    fn the_qemu_version_is_kept() {
        let mut m = running_backup();
        let a = JobManager::from_snapshot_bytes(&m.to_snapshot_bytes()).unwrap();
        assert_eq!(a.version(), QemuVersion::V7_2);
        m.qemu = QemuVersion::V10_0;
        let b = JobManager::from_snapshot_bytes(&m.to_snapshot_bytes()).unwrap();
        let j = JobManager::from_snapshot_json(&m.to_snapshot_json()).unwrap();
        assert_eq!(
            (b.version(), j.version()),
            (QemuVersion::V10_0, QemuVersion::V10_0)
        );
    }
}

#[cfg(test)]
mod json_checksum {
    use super::*;

    #[test]
    fn an_edited_json_snapshot_is_refused() {
        let mut m = running_backup();
        m.advance(5);
        let json = m.to_snapshot_json();
        assert!(JobManager::from_snapshot_json(&json).is_ok());
        let edited = json.replacen("\"now\":5", "\"now\":6", 1);
        assert_ne!(edited, json);
        assert_eq!(
            JobManager::from_snapshot_json(&edited).unwrap_err(),
            SnapshotError::Corrupt("checksum mismatch".into())
        );
        let unsigned = json.replacen("\"checksum\"", "\"chksum\"", 1);
        assert!(matches!(
            JobManager::from_snapshot_json(&unsigned),
            Err(SnapshotError::Corrupt(_))
        ));
    }
}

#[cfg(test)]
mod checks {
    use super::*;
    use crate::block::{Parent, Role};

    fn refusal(m: &JobManager) -> String {
        match JobManager::from_snapshot_bytes(&m.to_snapshot_bytes()) {
            Err(SnapshotError::Corrupt(why)) => why,
            other => panic!("not refused as corrupt: {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn a_consistent_state_restores() {
        let m = running_backup();
        assert!(JobManager::from_snapshot_bytes(&m.to_snapshot_bytes()).is_ok());
    }

    #[test]
    fn a_cycle_in_the_graph_is_refused() {
        // Edited state: dst becomes a child of src and src a child of dst.
        let mut m = running_backup();
        let (src, dst) = (
            m.graph.lookup("src").unwrap(),
            m.graph.lookup("dst").unwrap(),
        );
        m.graph.attach_child(src, Role::Backing, dst);
        m.graph.attach_child(dst, Role::Backing, src);
        assert!(refusal(&m).contains("cycle"), "{}", refusal(&m));
    }

    #[test]
    fn one_sided_links_are_refused() {
        let mut m = running_backup();
        let dst = m.graph.lookup("dst").unwrap();
        m.graph.nodes[dst.pos()]
            .as_mut()
            .unwrap()
            .parents
            .push(Parent::Node(crate::slab::Slot::at(0)));
        assert!(refusal(&m).contains("parent"), "{}", refusal(&m));
        let mut m = running_backup();
        let src = m.graph.lookup("src").unwrap();
        m.graph.nodes[src.pos()]
            .as_mut()
            .unwrap()
            .children
            .push((Role::File, dst));
        assert!(refusal(&m).contains("child"), "{}", refusal(&m));
    }

    #[test]
    fn only_a_concluded_job_may_hold_no_nodes() {
        // Edited state: the running backup lets go of its nodes.
        let mut m = running_backup();
        let j = m.find_job("b").unwrap();
        m.jobs.get_mut(j).unwrap().nodes = None;
        for n in m.graph.nodes.iter_mut().flatten() {
            n.parents.retain(|&p| p != Parent::Job(j));
            n.blockers.retain(|&b| b != j);
        }
        assert!(refusal(&m).contains("holds no nodes"), "{}", refusal(&m));
        // A concluded backup whose target was deleted since restores.
        let mut m = JobManager::with_default_world();
        let r = m.execute(r#"{"execute":"blockdev-backup","arguments":{"job-id":"b","device":"src","target":"dst","sync":"full","auto-dismiss":false}}"#);
        assert_eq!(r, r#"{"return":{}}"#);
        m.settle();
        let r = m.execute(r#"{"execute":"blockdev-del","arguments":{"node-name":"dst"}}"#);
        assert_eq!(r, r#"{"return":{}}"#);
        assert!(JobManager::from_snapshot_bytes(&m.to_snapshot_bytes()).is_ok());
    }

    #[test]
    fn a_filter_that_is_not_the_jobs_own_is_refused() {
        let mut m = running_backup();
        let src = m.graph.lookup("src").unwrap();
        let j = m.find_job("b").unwrap();
        match &mut m.jobs.get_mut(j).unwrap().work {
            crate::driver::Work::Backup(b) => b.filter = Some(src),
            _ => unreachable!(),
        }
        assert!(refusal(&m).contains("filter"), "{}", refusal(&m));
    }
}

/// The positional codec (`codec.rs`) writes exactly what the serde form
/// over the derived impls (`serde_codec.rs`) writes, and reads it back to
/// the same state: after every line of every scenario (the corpus and
/// `qemu10/`, under both QEMU versions).
#[cfg(test)]
mod same_bytes_as_serde {
    use super::*;
    use crate::profile::QemuVersion;
    use crate::scenario::Replayer;
    use std::path::PathBuf;

    fn scenarios() -> Vec<PathBuf> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let mut files = Vec::new();
        for dir in [root.clone(), root.join("qemu10")] {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "scn") {
                    files.push(p);
                }
            }
        }
        files.sort();
        files
    }

    fn check(m: &JobManager, what: &str) {
        let mut ours = Vec::new();
        codec::encode(&mut ours, m);
        let mut theirs = Vec::new();
        serde_codec::encode(&mut theirs, m).unwrap();
        assert!(ours == theirs, "{what}: the encodings differ");
        let back: JobManager = codec::decode(&theirs).unwrap();
        let old: JobManager = serde_codec::decode(&ours).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        codec::encode(&mut a, &back);
        codec::encode(&mut b, &old);
        assert!(a == ours && b == ours, "{what}: read back differently");
    }

    #[test]
    fn after_every_line_of_every_scenario() {
        let mut checked = 0;
        let mut bytes = 0;
        for f in scenarios() {
            let text = std::fs::read_to_string(&f).unwrap();
            for qemu in [QemuVersion::V7_2, QemuVersion::V10_0] {
                let mut r = Replayer::with_version(qemu);
                check(&r.manager, "a new manager");
                for (n, l) in text.lines().enumerate() {
                    if l.trim().is_empty() || l.trim_start().starts_with('#') {
                        continue;
                    }
                    // A line a version refuses (a 10.0-only command) changes nothing.
                    let _ = r.run_line(l);
                    check(&r.manager, &format!("{}:{} ({qemu})", f.display(), n + 1));
                    bytes += r.manager.to_snapshot_bytes().len();
                    checked += 1;
                }
            }
        }
        assert!(checked > 3000, "only {checked} states");
        assert!(bytes > 1_000_000, "only {bytes} bytes compared");
    }
}
