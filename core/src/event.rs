//! QMP events with QEMU's names, fields and field order (SPEC.md §8).

use serde::{Deserialize, Serialize};

use crate::model::{ErrorAction, JobStatus, JobType};
use serde_json::{Map, Value, json};
use std::sync::Arc;

crate::model::qapi_enum! {
    /// Which way an I/O went (QAPI `IoOperationType`).
    IoOperation {
        /// A read (source side).
        Read = "read",
        /// A write (target side).
        Write = "write",
    }
}

/// What happened, with the event's data fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// `JOB_STATUS_CHANGE`: a job moved to a different status.
    JobStatusChange {
        /// Job ID.
        id: Arc<str>,
        /// The new status.
        status: JobStatus,
    },
    /// `BLOCK_JOB_READY`: a mirror-like job can now be completed.
    BlockJobReady {
        /// Job type.
        job_type: JobType,
        /// Job ID.
        device: Arc<str>,
        /// Total progress.
        len: u64,
        /// Current progress.
        offset: u64,
        /// Speed limit in bytes/s.
        speed: u64,
    },
    /// `BLOCK_JOB_PENDING`: a job with auto-finalize off waits for `job-finalize`.
    BlockJobPending {
        /// Job type.
        job_type: JobType,
        /// Job ID.
        id: Arc<str>,
    },
    /// `BLOCK_JOB_COMPLETED`: a block job finished (maybe with an error).
    BlockJobCompleted {
        /// Job type.
        job_type: JobType,
        /// Job ID.
        device: Arc<str>,
        /// Total progress.
        len: u64,
        /// Current progress.
        offset: u64,
        /// Speed limit in bytes/s.
        speed: u64,
        /// The error text, when the job failed.
        error: Option<String>,
    },
    /// `BLOCK_JOB_CANCELLED`: a block job was hard-cancelled.
    BlockJobCancelled {
        /// Job type.
        job_type: JobType,
        /// Job ID.
        device: Arc<str>,
        /// Total progress.
        len: u64,
        /// Current progress.
        offset: u64,
        /// Speed limit in bytes/s.
        speed: u64,
    },
    /// `BLOCK_JOB_ERROR`: a block job met an I/O error.
    BlockJobError {
        /// Job ID.
        device: Arc<str>,
        /// Read or write.
        operation: IoOperation,
        /// What the error policy decided.
        action: ErrorAction,
    },
    /// `STOP`: the (simulated) VM stopped (around snapshot jobs).
    Stop,
    /// `RESUME`: the (simulated) VM runs again.
    Resume,
    /// `SHUTDOWN`: a system emulator was asked to quit (`guest: false`,
    /// `reason: host-qmp-quit`).
    Shutdown,
    /// `BLOCK_EXPORT_DELETED`: a block export is gone.
    BlockExportDeleted {
        /// The export's ID.
        id: Arc<str>,
    },
}

/// One event, stamped with the virtual time at which it was emitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Virtual time of emission, in nanoseconds.
    pub timestamp_ns: u64,
    /// The event.
    pub kind: EventKind,
}

impl EventKind {
    /// Every QMP event name qjob emits, as [`name`](Self::name) spells them,
    /// in the order of the variants: what a binding checks an event name
    /// given by its caller against.
    pub const NAMES: &'static [&'static str] = &[
        "JOB_STATUS_CHANGE",
        "BLOCK_JOB_READY",
        "BLOCK_JOB_PENDING",
        "BLOCK_JOB_COMPLETED",
        "BLOCK_JOB_CANCELLED",
        "BLOCK_JOB_ERROR",
        "STOP",
        "RESUME",
        "SHUTDOWN",
        "BLOCK_EXPORT_DELETED",
    ];

    /// The variant's place in [`NAMES`](Self::NAMES): 0 for
    /// `JOB_STATUS_CHANGE` up to 9 for `BLOCK_EXPORT_DELETED` (for a
    /// binding's table of event classes).
    pub const fn index(&self) -> usize {
        match self {
            EventKind::JobStatusChange { .. } => 0,
            EventKind::BlockJobReady { .. } => 1,
            EventKind::BlockJobPending { .. } => 2,
            EventKind::BlockJobCompleted { .. } => 3,
            EventKind::BlockJobCancelled { .. } => 4,
            EventKind::BlockJobError { .. } => 5,
            EventKind::Stop => 6,
            EventKind::Resume => 7,
            EventKind::Shutdown => 8,
            EventKind::BlockExportDeleted { .. } => 9,
        }
    }

    /// The QMP event name, e.g. `JOB_STATUS_CHANGE`.
    pub const fn name(&self) -> &'static str {
        match self {
            EventKind::JobStatusChange { .. } => "JOB_STATUS_CHANGE",
            EventKind::BlockJobReady { .. } => "BLOCK_JOB_READY",
            EventKind::BlockJobPending { .. } => "BLOCK_JOB_PENDING",
            EventKind::BlockJobCompleted { .. } => "BLOCK_JOB_COMPLETED",
            EventKind::BlockJobCancelled { .. } => "BLOCK_JOB_CANCELLED",
            EventKind::BlockJobError { .. } => "BLOCK_JOB_ERROR",
            EventKind::Stop => "STOP",
            EventKind::Resume => "RESUME",
            EventKind::Shutdown => "SHUTDOWN",
            EventKind::BlockExportDeleted { .. } => "BLOCK_EXPORT_DELETED",
        }
    }

    /// The job this event is about (`id` or `device`; an export's `id` for
    /// `BLOCK_EXPORT_DELETED`); empty for VM events.
    pub fn job_id(&self) -> &str {
        match self {
            EventKind::JobStatusChange { id, .. }
            | EventKind::BlockJobPending { id, .. }
            | EventKind::BlockExportDeleted { id } => id,
            EventKind::BlockJobReady { device, .. }
            | EventKind::BlockJobCompleted { device, .. }
            | EventKind::BlockJobCancelled { device, .. }
            | EventKind::BlockJobError { device, .. } => device,
            EventKind::Stop | EventKind::Resume | EventKind::Shutdown => "",
        }
    }

    /// The event's `data` object, fields in QAPI order.
    pub fn data(&self) -> Value {
        let mut m = Map::new();
        self.visit_data(&mut m);
        Value::Object(m)
    }

    /// Hands the `data` members to `sink` in QAPI order: the one place
    /// that knows each event's fields.
    pub(crate) fn visit_data(&self, sink: &mut impl DataSink) {
        match self {
            EventKind::JobStatusChange { id, status } => {
                sink.str("id", id);
                sink.name("status", status.as_str());
            }
            EventKind::BlockJobReady {
                job_type,
                device,
                len,
                offset,
                speed,
            }
            | EventKind::BlockJobCancelled {
                job_type,
                device,
                len,
                offset,
                speed,
            }
            | EventKind::BlockJobCompleted {
                job_type,
                device,
                len,
                offset,
                speed,
                ..
            } => {
                sink.name("type", job_type.as_str());
                sink.str("device", device);
                sink.num("len", *len);
                sink.num("offset", *offset);
                sink.num("speed", *speed);
                if let EventKind::BlockJobCompleted { error: Some(e), .. } = self {
                    sink.str("error", e);
                }
            }
            EventKind::BlockJobPending { job_type, id } => {
                sink.name("type", job_type.as_str());
                sink.str("id", id);
            }
            EventKind::BlockJobError {
                device,
                operation,
                action,
            } => {
                sink.str("device", device);
                sink.name("operation", operation.as_str());
                sink.name("action", action.as_str());
            }
            EventKind::Shutdown => {
                sink.boolean("guest", false);
                sink.name("reason", "host-qmp-quit");
            }
            EventKind::BlockExportDeleted { id } => sink.str("id", id),
            EventKind::Stop | EventKind::Resume => {}
        }
    }
}

/// Receives an event's `data` members (see `EventKind::visit_data`).
pub(crate) trait DataSink {
    /// A string member whose value is a QAPI name (needs no escaping).
    fn name(&mut self, k: &'static str, v: &'static str);
    /// A string member.
    fn str(&mut self, k: &'static str, v: &str);
    /// An integer member.
    fn num(&mut self, k: &'static str, v: u64);
    /// A boolean member.
    fn boolean(&mut self, k: &'static str, v: bool);
}

impl DataSink for Map<String, Value> {
    fn name(&mut self, k: &'static str, v: &'static str) {
        self.insert(k.into(), v.into());
    }
    fn str(&mut self, k: &'static str, v: &str) {
        self.insert(k.into(), v.into());
    }
    fn num(&mut self, k: &'static str, v: u64) {
        self.insert(k.into(), v.into());
    }
    fn boolean(&mut self, k: &'static str, v: bool) {
        self.insert(k.into(), v.into());
    }
}

impl Event {
    /// The whole QMP event message:
    /// `{"timestamp": {"seconds": …, "microseconds": …}, "event": …, "data": …}`.
    pub fn to_qmp(&self) -> Value {
        json!({
            "timestamp": {
                "seconds": self.timestamp_ns / 1_000_000_000,
                "microseconds": (self.timestamp_ns % 1_000_000_000) / 1_000,
            },
            "event": self.kind.name(),
            "data": self.kind.data(),
        })
    }

    /// [`Event::to_qmp`] as a JSON string (compact, as `serde_json` writes
    /// it), written directly without building a [`Value`].
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(128);
        self.write_json(&mut out);
        out
    }

    /// Appends [`Event::to_json`]'s text to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"timestamp\":{\"seconds\":");
        push_u64(out, self.timestamp_ns / 1_000_000_000);
        out.push_str(",\"microseconds\":");
        push_u64(out, (self.timestamp_ns % 1_000_000_000) / 1_000);
        out.push_str("},\"event\":\"");
        out.push_str(self.kind.name());
        out.push_str("\",\"data\":{");
        let mut w = Fields { out, first: true };
        self.kind.visit_data(&mut w);
        w.out.push_str("}}");
    }
}

/// Writes the members of a JSON object: `"key":value`, comma-separated.
struct Fields<'a> {
    out: &'a mut String,
    first: bool,
}

impl Fields<'_> {
    fn key(&mut self, k: &str) {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
    }
}

impl DataSink for Fields<'_> {
    fn name(&mut self, k: &'static str, v: &'static str) {
        self.key(k);
        self.out.push('"');
        self.out.push_str(v);
        self.out.push('"');
    }

    fn str(&mut self, k: &'static str, v: &str) {
        self.key(k);
        write_json_str(self.out, v);
    }

    fn num(&mut self, k: &'static str, v: u64) {
        self.key(k);
        push_u64(self.out, v);
    }

    fn boolean(&mut self, k: &'static str, v: bool) {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
    }
}

/// Appends the decimal digits of `n` (without the formatting machinery:
/// events are written on every step of every job).
pub(crate) fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it.
pub(crate) fn write_json_str(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_every_variant_s_name_at_its_index() {
        let (t, d) = (JobType::Backup, Arc::<str>::from("j"));
        let kinds = [
            EventKind::JobStatusChange {
                id: d.clone(),
                status: JobStatus::Running,
            },
            EventKind::BlockJobReady {
                job_type: t,
                device: d.clone(),
                len: 0,
                offset: 0,
                speed: 0,
            },
            EventKind::BlockJobPending {
                job_type: t,
                id: d.clone(),
            },
            EventKind::BlockJobCompleted {
                job_type: t,
                device: d.clone(),
                len: 0,
                offset: 0,
                speed: 0,
                error: None,
            },
            EventKind::BlockJobCancelled {
                job_type: t,
                device: d.clone(),
                len: 0,
                offset: 0,
                speed: 0,
            },
            EventKind::BlockJobError {
                device: d,
                operation: IoOperation::Read,
                action: ErrorAction::Report,
            },
            EventKind::Stop,
            EventKind::Resume,
            EventKind::Shutdown,
            EventKind::BlockExportDeleted { id: "e".into() },
        ];
        assert_eq!(kinds.len(), EventKind::NAMES.len());
        for (i, k) in kinds.iter().enumerate() {
            assert_eq!(k.index(), i);
            assert_eq!(EventKind::NAMES[i], k.name());
        }
    }

    #[test]
    fn direct_json_text_equals_the_value_form() {
        let odd: Arc<str> = Arc::from("a\"b\\c\nd\u{1}\u{7f}é\t\u{8}\u{c}\r");
        let kinds = [
            EventKind::JobStatusChange {
                id: odd.clone(),
                status: JobStatus::Running,
            },
            EventKind::BlockJobReady {
                job_type: JobType::Mirror,
                device: odd.clone(),
                len: u64::MAX,
                offset: 0,
                speed: 7,
            },
            EventKind::BlockJobCancelled {
                job_type: JobType::Backup,
                device: "b".into(),
                len: 1,
                offset: 2,
                speed: 3,
            },
            EventKind::BlockJobPending {
                job_type: JobType::Commit,
                id: odd.clone(),
            },
            EventKind::BlockJobCompleted {
                job_type: JobType::Stream,
                device: "s".into(),
                len: 4,
                offset: 4,
                speed: 0,
                error: None,
            },
            EventKind::BlockJobCompleted {
                job_type: JobType::Stream,
                device: "s".into(),
                len: 4,
                offset: 3,
                speed: 0,
                error: Some("Input/output \"error\"".into()),
            },
            EventKind::BlockJobError {
                device: odd,
                operation: IoOperation::Write,
                action: ErrorAction::Stop,
            },
            EventKind::Stop,
            EventKind::Resume,
            EventKind::Shutdown,
            EventKind::BlockExportDeleted { id: "x\"1".into() },
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            let e = Event {
                timestamp_ns: 1_234_567_891_011 * i as u64,
                kind,
            };
            assert_eq!(e.to_json(), e.to_qmp().to_string());
        }
        // QEMU's member order, spelled out.
        let e = Event {
            timestamp_ns: 3_000_004_000,
            kind: EventKind::BlockJobCompleted {
                job_type: JobType::Backup,
                device: "b\"0".into(),
                len: 10,
                offset: 5,
                speed: 0,
                error: Some("Input/output error".into()),
            },
        };
        assert_eq!(
            e.to_json(),
            r#"{"timestamp":{"seconds":3,"microseconds":4},"event":"BLOCK_JOB_COMPLETED","data":{"type":"backup","device":"b\"0","len":10,"offset":5,"speed":0,"error":"Input/output error"}}"#
        );
    }
}
