//! The job commands: the queries (`query-jobs`, `query-block-jobs`) with
//! their QAPI output, and the arguments of the `job-*` and `block-job-*`
//! verbs.

use super::args::Args;
use crate::commands::{BlockJobInfo, JobInfo};
use crate::error::Result;
use crate::manager::JobManager;
use crate::model::JobType;
use crate::options::MirrorCopyMode;
use serde_json::{Map, Value};

impl JobInfo {
    /// The QMP `JobInfo` object (fields in QAPI order).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("type".into(), self.job_type.as_str().into());
        m.insert("status".into(), self.status.as_str().into());
        m.insert("current-progress".into(), self.current_progress.into());
        m.insert("total-progress".into(), self.total_progress.into());
        if let Some(e) = &self.error {
            m.insert("error".into(), e.clone().into());
        }
        Value::Object(m)
    }
}

impl BlockJobInfo {
    /// The QMP `BlockJobInfo` object (fields in QAPI order).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), self.job_type.as_str().into());
        m.insert("device".into(), self.device.clone().into());
        m.insert("len".into(), self.len.into());
        m.insert("offset".into(), self.offset.into());
        m.insert("busy".into(), self.busy.into());
        m.insert("paused".into(), self.paused.into());
        m.insert("speed".into(), self.speed.into());
        m.insert("io-status".into(), self.io_status.as_str().into());
        m.insert("ready".into(), self.ready.into());
        m.insert("status".into(), self.status.as_str().into());
        m.insert("auto-finalize".into(), self.auto_finalize.into());
        m.insert("auto-dismiss".into(), self.auto_dismiss.into());
        if let Some(e) = &self.error {
            m.insert("error".into(), e.clone().into());
        }
        if let Some(s) = self.actively_synced {
            m.insert("actively-synced".into(), s.into());
        }
        Value::Object(m)
    }
}

pub(super) fn query_jobs(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    a.finish()?;
    Ok(Value::Array(
        m.query_jobs().iter().map(JobInfo::to_json).collect(),
    ))
}

pub(super) fn query_block_jobs(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    a.finish()?;
    Ok(Value::Array(
        m.query_block_jobs()
            .iter()
            .map(BlockJobInfo::to_json)
            .collect(),
    ))
}

/// A job named by `id` (the `job-*` verbs, `block-job-finalize` and
/// `block-job-dismiss`).
pub(super) fn id(a: &mut Args<'_>) -> Result<String> {
    a.req_str("id")
}

/// `block-job-change`: `id`, `type`, and for `mirror` its `copy-mode`
/// (any other type's branch has no members: it reads as background).
pub(super) fn parse_change(a: &mut Args<'_>) -> Result<(String, MirrorCopyMode)> {
    let id = a.req_str("id")?;
    let job_type = a.req_enum("type", JobType::parse)?;
    let copy_mode = if job_type == JobType::Mirror {
        a.req_enum("copy-mode", MirrorCopyMode::parse)?
    } else {
        MirrorCopyMode::Background
    };
    Ok((id, copy_mode))
}

/// A block job named by `device`.
pub(super) fn device(a: &mut Args<'_>) -> Result<String> {
    a.req_str("device")
}

/// `block-job-cancel`: device and `force`.
pub(super) fn parse_cancel(a: &mut Args<'_>) -> Result<(String, bool)> {
    let device = a.req_str("device")?;
    let force = a.opt_bool("force")?.unwrap_or(false);
    Ok((device, force))
}

/// `block-job-set-speed`: device and speed.
pub(super) fn parse_set_speed(a: &mut Args<'_>) -> Result<(String, i64)> {
    let device = a.req_str("device")?;
    let speed = a.req_int("speed")?;
    Ok((device, speed))
}
