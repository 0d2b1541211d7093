//! Snapshot and restore: the whole manager (jobs, transactions, nodes, clock,
//! queued events and host actions, bottom halves, timers, rate limiters) in a
//! stable, versioned format, as JSON or as a compact binary form. A restored
//! manager continues byte-identically.
//!
//! Both forms carry the format name and [`SNAPSHOT_VERSION`]; a snapshot of
//! another version is refused with [`SnapshotError::Version`], never misread.
//! The binary form is the same document encoded as tagged values
//! (`QJOBSNAP`, a little-endian `u32` version, then the value tree).

use crate::manager::JobManager;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::fmt;

/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;
const FORMAT: &str = "qjob-snapshot";
const MAGIC: &[u8; 8] = b"QJOBSNAP";

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
    manager: &'a JobManager,
}

#[derive(Deserialize)]
struct DocIn {
    format: String,
    version: u32,
    manager: Value,
}

impl JobManager {
    /// The whole manager as a JSON snapshot.
    pub fn to_snapshot_json(&self) -> String {
        serde_json::to_string(&self.snapshot_value()).expect("a manager always serializes")
    }

    fn snapshot_value(&self) -> Value {
        serde_json::to_value(DocOut {
            format: FORMAT,
            version: SNAPSHOT_VERSION,
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
        debug_assert_eq!(doc.version, SNAPSHOT_VERSION);
        let mut m: JobManager = serde_json::from_value(doc.manager)
            .map_err(|e| SnapshotError::Corrupt(e.to_string()))?;
        m.rebuild_index().map_err(SnapshotError::Corrupt)?;
        Ok(m)
    }

    /// The whole manager as a compact binary snapshot.
    pub fn to_snapshot_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        encode(&mut out, &self.snapshot_value());
        out
    }

    /// Restores a manager from [`to_snapshot_bytes`](Self::to_snapshot_bytes).
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
        let mut r = Reader { b, i: 12, depth: 0 };
        let v = r.value().map_err(SnapshotError::Corrupt)?;
        if r.i != b.len() {
            return Err(SnapshotError::Corrupt("trailing bytes".into()));
        }
        Self::from_snapshot_value(v)
    }
}

// Tags of the binary encoding.
const T_NULL: u8 = 0;
const T_FALSE: u8 = 1;
const T_TRUE: u8 = 2;
const T_UINT: u8 = 3;
const T_NEG: u8 = 4;
const T_F64: u8 = 5;
const T_STR: u8 = 6;
const T_ARR: u8 = 7;
const T_OBJ: u8 = 8;

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn encode(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(T_NULL),
        Value::Bool(false) => out.push(T_FALSE),
        Value::Bool(true) => out.push(T_TRUE),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(T_UINT);
                varint(out, u);
            } else if let Some(i) = n.as_i64() {
                out.push(T_NEG);
                varint(out, (-(i + 1)) as u64);
            } else {
                out.push(T_F64);
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_le_bytes());
            }
        }
        Value::String(s) => {
            out.push(T_STR);
            varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(a) => {
            out.push(T_ARR);
            varint(out, a.len() as u64);
            for x in a {
                encode(out, x);
            }
        }
        Value::Object(m) => {
            out.push(T_OBJ);
            varint(out, m.len() as u64);
            for (k, x) in m {
                varint(out, k.len() as u64);
                out.extend_from_slice(k.as_bytes());
                encode(out, x);
            }
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    depth: u32,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let x = *self.b.get(self.i).ok_or("truncated")?;
        self.i += 1;
        Ok(x)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("varint too long".into())
    }

    fn len(&mut self) -> Result<usize, String> {
        let n = self.varint()?;
        if n > (self.b.len() - self.i) as u64 {
            return Err("length beyond the end".into());
        }
        Ok(n as usize)
    }

    fn str(&mut self) -> Result<String, String> {
        let n = self.len()?;
        let s = std::str::from_utf8(&self.b[self.i..self.i + n]).map_err(|e| e.to_string())?;
        self.i += n;
        Ok(s.to_owned())
    }

    fn value(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > 256 {
            return Err("nested too deeply".into());
        }
        let v = match self.byte()? {
            T_NULL => Value::Null,
            T_FALSE => Value::Bool(false),
            T_TRUE => Value::Bool(true),
            T_UINT => Value::Number(self.varint()?.into()),
            T_NEG => {
                let n = self.varint()?;
                let i = i64::try_from(n).map_err(|_| "integer out of range")?;
                Value::Number((-i - 1).into())
            }
            T_F64 => {
                let end = self.i + 8;
                let bytes: [u8; 8] = self
                    .b
                    .get(self.i..end)
                    .ok_or("truncated")?
                    .try_into()
                    .map_err(|_| "truncated")?;
                self.i = end;
                Number::from_f64(f64::from_le_bytes(bytes))
                    .map(Value::Number)
                    .ok_or("not a finite number")?
            }
            T_STR => Value::String(self.str()?),
            T_ARR => {
                let n = self.len()?;
                let mut a = Vec::with_capacity(n);
                for _ in 0..n {
                    a.push(self.value()?);
                }
                Value::Array(a)
            }
            T_OBJ => {
                let n = self.len()?;
                let mut m = Map::new();
                for _ in 0..n {
                    let k = self.str()?;
                    let x = self.value()?;
                    m.insert(k, x);
                }
                Value::Object(m)
            }
            t => return Err(format!("unknown tag {t}")),
        };
        self.depth -= 1;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_versions() {
        let mut m = JobManager::with_default_world();
        m.execute(r#"{"execute":"blockdev-backup","arguments":{"job-id":"b","device":"src","target":"dst","sync":"full","speed":1}}"#);
        m.settle();
        let json = m.to_snapshot_json();
        let bin = m.to_snapshot_bytes();
        assert!(bin.len() < json.len());
        let a = JobManager::from_snapshot_json(&json).unwrap();
        let b = JobManager::from_snapshot_bytes(&bin).unwrap();
        assert_eq!(a.to_snapshot_json(), json);
        assert_eq!(b.to_snapshot_json(), json);
        let old = json.replace("\"version\":1", "\"version\":0");
        assert_eq!(
            JobManager::from_snapshot_json(&old).unwrap_err(),
            SnapshotError::Version {
                found: 0,
                supported: 1
            }
        );
        let mut bad = bin.clone();
        bad[8] = 7;
        assert!(matches!(
            JobManager::from_snapshot_bytes(&bad),
            Err(SnapshotError::Version { found: 7, .. })
        ));
        assert!(JobManager::from_snapshot_bytes(b"nonsense").is_err());
        assert!(JobManager::from_snapshot_bytes(&bin[..bin.len() - 3]).is_err());
        assert!(JobManager::from_snapshot_json("{}").is_err());
    }
}
