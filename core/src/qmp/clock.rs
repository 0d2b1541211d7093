//! qjob's own commands (QEMU has none of these): they drive the virtual
//! clock from QMP, for clients that speak nothing else.

use super::args::Args;
use crate::error::Result;
use crate::manager::JobManager;
use crate::model::JobStatus;
use serde_json::{Value, json};

pub(super) fn x_qjob_clock(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    a.finish()?;
    Ok(json!({"now": m.now(), "next-deadline": m.next_deadline()}))
}

pub(super) fn x_qjob_advance(m: &mut JobManager, mut a: Args<'_>) -> Result<Value> {
    let ns = a.req_count("ns")?;
    a.finish()?;
    m.advance(ns);
    Ok(json!({"now": m.now()}))
}

pub(super) fn x_qjob_settle(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    a.finish()?;
    let steps = m.settle();
    Ok(json!({"steps": steps}))
}

pub(super) fn x_qjob_wait(m: &mut JobManager, mut a: Args<'_>) -> Result<Value> {
    let id = a.req_str("id")?;
    let status = a.req_enum("status", JobStatus::parse)?;
    let timeout = a
        .opt_count("timeout-ns")?
        .unwrap_or(crate::scenario::WAIT_LIMIT_NS);
    a.finish()?;
    let limit = m.now().saturating_add(timeout);
    let reached = m.run_until(limit, |m| match m.job_info(&id) {
        Some(j) => j.status == status,
        None => status == JobStatus::Null,
    });
    Ok(json!({"reached": reached, "now": m.now()}))
}
