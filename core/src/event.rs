//! QMP events with QEMU's names, fields and field order (SPEC.md §8).

use serde::{Deserialize, Serialize};

use crate::model::{ErrorAction, JobStatus, JobType};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Which way an I/O went (QAPI `IoOperationType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IoOperation {
    /// A read (source side).
    Read,
    /// A write (target side).
    Write,
}

impl IoOperation {
    /// The QAPI spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            IoOperation::Read => "read",
            IoOperation::Write => "write",
        }
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
        }
    }

    /// The job this event is about (`id` or `device`); empty for VM events.
    pub fn job_id(&self) -> &str {
        match self {
            EventKind::JobStatusChange { id, .. } | EventKind::BlockJobPending { id, .. } => id,
            EventKind::BlockJobReady { device, .. }
            | EventKind::BlockJobCompleted { device, .. }
            | EventKind::BlockJobCancelled { device, .. }
            | EventKind::BlockJobError { device, .. } => device,
            EventKind::Stop | EventKind::Resume => "",
        }
    }

    /// The event's `data` object, fields in QAPI order.
    pub fn data(&self) -> Value {
        match self {
            EventKind::JobStatusChange { id, status } => {
                json!({"id": id, "status": status.as_str()})
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
            } => json!({
                "type": job_type.as_str(), "device": &**device, "len": len, "offset": offset, "speed": speed
            }),
            EventKind::BlockJobPending { job_type, id } => {
                json!({"type": job_type.as_str(), "id": id})
            }
            EventKind::BlockJobCompleted {
                job_type,
                device,
                len,
                offset,
                speed,
                error,
            } => {
                let mut m = Map::new();
                m.insert("type".into(), job_type.as_str().into());
                m.insert("device".into(), (**device).into());
                m.insert("len".into(), (*len).into());
                m.insert("offset".into(), (*offset).into());
                m.insert("speed".into(), (*speed).into());
                if let Some(e) = error {
                    m.insert("error".into(), e.as_str().into());
                }
                Value::Object(m)
            }
            EventKind::BlockJobError {
                device,
                operation,
                action,
            } => json!({
                "device": &**device, "operation": operation.as_str(), "action": action.as_str()
            }),
            EventKind::Stop | EventKind::Resume => json!({}),
        }
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

    /// [`Event::to_qmp`] as a JSON string.
    pub fn to_json(&self) -> String {
        self.to_qmp().to_string()
    }
}
