//! The job commands: the queries (`query-jobs`, `query-block-jobs`) with
//! their QAPI output, and the `job-*` and `block-job-*` verbs.

use super::args::Args;
use crate::commands::{BlockJobInfo, JobInfo};
use crate::error::Result;
use crate::manager::JobManager;
use serde_json::{Map, Value, json};

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

/// A verb on a job named by `id` (the `job-*` commands, and the
/// `block-job-*` ones whose member is `id`).
fn by_id(
    m: &mut JobManager,
    mut a: Args<'_>,
    verb: fn(&mut JobManager, &str) -> Result<()>,
) -> Result<Value> {
    let id = a.req_str("id")?;
    a.finish()?;
    verb(m, &id)?;
    Ok(json!({}))
}

/// A verb on a block job named by `device`.
fn by_device(
    m: &mut JobManager,
    mut a: Args<'_>,
    verb: fn(&mut JobManager, &str) -> Result<()>,
) -> Result<Value> {
    let device = a.req_str("device")?;
    a.finish()?;
    verb(m, &device)?;
    Ok(json!({}))
}

pub(super) fn job_pause(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_id(m, a, JobManager::job_pause)
}

pub(super) fn job_resume(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_id(m, a, JobManager::job_resume)
}

pub(super) fn job_cancel(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_id(m, a, JobManager::job_cancel)
}

pub(super) fn job_complete(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_id(m, a, JobManager::job_complete)
}

pub(super) fn job_finalize(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_id(m, a, JobManager::job_finalize)
}

pub(super) fn job_dismiss(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_id(m, a, JobManager::job_dismiss)
}

pub(super) fn block_job_pause(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_device(m, a, JobManager::block_job_pause)
}

pub(super) fn block_job_resume(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_device(m, a, JobManager::block_job_resume)
}

pub(super) fn block_job_complete(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_device(m, a, JobManager::block_job_complete)
}

pub(super) fn block_job_finalize(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_id(m, a, JobManager::block_job_finalize)
}

pub(super) fn block_job_dismiss(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    by_id(m, a, JobManager::block_job_dismiss)
}

pub(super) fn block_job_cancel(m: &mut JobManager, mut a: Args<'_>) -> Result<Value> {
    let device = a.req_str("device")?;
    let force = a.opt_bool("force")?.unwrap_or(false);
    a.finish()?;
    m.block_job_cancel(&device, force)?;
    Ok(json!({}))
}

pub(super) fn block_job_set_speed(m: &mut JobManager, mut a: Args<'_>) -> Result<Value> {
    let device = a.req_str("device")?;
    let speed = a.req_int("speed")?;
    a.finish()?;
    m.block_job_set_speed(&device, speed)?;
    Ok(json!({}))
}
