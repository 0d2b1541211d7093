//! Host-driven jobs in JavaScript: the `JobManager` methods that let a host
//! (a hypervisor written in JS, a test harness) do a job's work itself while
//! the core runs QEMU's lifecycle around it. Every behaviour is the core's
//! (`host/` in the core crate); this module converts arguments and results.
//!
//! Conversions:
//! - handles ([`JobHandle`], [`TxnHandle`]) cross as `BigInt`s, their
//!   `to_raw()` value (a 64-bit integer that can exceed 2^53, so never a
//!   number); a handle argument that is not a `BigInt` in `[0, 2^64)` is a
//!   `TypeError`;
//! - requests ([`HostAction`]) are plain objects discriminated on `kind`
//!   (the core's names: `"start"`, `"set-speed"`, …): `{kind, job}`, plus
//!   `force` for `"cancel"` and `speed` (bytes/s, a number) for
//!   `"set-speed"`;
//! - directives and error decisions are the core's names as strings
//!   (`"continue"`, `"paused"`, `"sleeping"`, `"cancelled"`; `"retry"`,
//!   `"fail"`, `"pause"`);
//! - quantities (progress, virtual nanoseconds, bytes) are non-negative
//!   safe-integer numbers; `errno` and `ret` are 32-bit integers whose sign
//!   the core checks.
//!
//! A refusal by the core is a thrown `QmpError`; a malformed argument is a
//! `TypeError` thrown before the core is called, so nothing changes.

use crate::JsJobManager;
use crate::convert::{
    boolean, count, from_js, int32, options, qapi_name, qmp_error, safe_integer, string,
    type_error, unit,
};
use js_sys::{Array, Object, Reflect};
use qjob::{
    HostAction, HostActionKind, HostJobOptions, IoOperation, JobHandle, JobType, OnError, TxnHandle,
};
use serde_json::Value;
use wasm_bindgen::prelude::*;

// ----------------------------------------------------------------------
// Argument conversions (each a TypeError when malformed)
// ----------------------------------------------------------------------

/// A handle's raw value: a `BigInt` in `[0, 2^64)`.
fn raw_handle(v: &JsValue, what: &str, from: &str) -> Result<u64, JsValue> {
    u64::try_from(v.clone()).map_err(|_| {
        type_error(&format!(
            "{what} must be a handle: a BigInt from {from} (0 to 2^64 - 1)"
        ))
    })
}

fn job_handle(v: &JsValue) -> Result<JobHandle, JsValue> {
    raw_handle(v, "job", "createHostJob or jobHandle").map(JobHandle::from_raw)
}

fn txn_handle(v: &JsValue, what: &str) -> Result<TxnHandle, JsValue> {
    raw_handle(v, what, "newTransaction").map(TxnHandle::from_raw)
}

fn on_error(v: &JsValue, what: &str) -> Result<OnError, JsValue> {
    qapi_name(v, what, OnError::ALL, OnError::as_str)
}

fn io_operation(v: &JsValue) -> Result<IoOperation, JsValue> {
    qapi_name(v, "operation", IoOperation::ALL, IoOperation::as_str)
}

/// The keys of `createHostJob`'s options object.
const HOST_JOB_OPTIONS: &[&str] = &[
    "id",
    "jobType",
    "autoFinalize",
    "autoDismiss",
    "speed",
    "onSourceError",
    "onTargetError",
    "transaction",
    "completable",
    "prepare",
];

/// `createHostJob`'s options object (camelCase keys, every one optional;
/// an unknown key is refused, so that a misspelt option is not ignored).
fn host_job_options(v: &JsValue) -> Result<HostJobOptions, JsValue> {
    let mut o = HostJobOptions::default();
    options(v, "host job option", HOST_JOB_OPTIONS, |name, v| {
        match name {
            "id" if v.is_null() => o.id = None,
            "id" => o.id = Some(string(&v, "id")?),
            "jobType" => o.job_type = qapi_name(&v, "jobType", JobType::ALL, JobType::as_str)?,
            "autoFinalize" => o.auto_finalize = boolean(&v, "autoFinalize")?,
            "autoDismiss" => o.auto_dismiss = boolean(&v, "autoDismiss")?,
            "speed" => o.speed = safe_integer(&v, "speed")?,
            "onSourceError" => o.on_source_error = on_error(&v, "onSourceError")?,
            "onTargetError" => o.on_target_error = on_error(&v, "onTargetError")?,
            "transaction" if v.is_null() => o.transaction = None,
            "transaction" => o.transaction = Some(txn_handle(&v, "transaction")?),
            "completable" => o.completable = boolean(&v, "completable")?,
            "prepare" => o.prepare = boolean(&v, "prepare")?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(o)
}

/// `createHostJob`'s defaults: every key of its options object, with the
/// value the core's `HostJobOptions::default()` gives it (`id` and
/// `transaction` null: an internal job, a transaction of its own).
#[wasm_bindgen(js_name = hostJobDefaults)]
pub fn host_job_defaults() -> JsValue {
    let d = HostJobOptions::default();
    let v = serde_json::json!({
        "id": d.id,
        "jobType": d.job_type.as_str(),
        "autoFinalize": d.auto_finalize,
        "autoDismiss": d.auto_dismiss,
        "speed": d.speed,
        "onSourceError": d.on_source_error.as_str(),
        "onTargetError": d.on_target_error.as_str(),
        "transaction": d.transaction.map(TxnHandle::to_raw),
        "completable": d.completable,
        "prepare": d.prepare,
    });
    crate::convert::to_js(&v)
}

/// A request as a plain object: `{kind, job}` (+ `force` or `speed`).
fn action_to_js(a: HostAction) -> JsValue {
    let o = Object::new();
    let set = |k: &str, v: JsValue| {
        // Defining a property of a fresh plain object cannot fail.
        let _ = Reflect::set(&o, &k.into(), &v);
    };
    set("kind", a.kind.name().into());
    set("job", a.job.to_raw().into());
    match a.kind {
        HostActionKind::Cancel { force } => set("force", force.into()),
        HostActionKind::SetSpeed(speed) => set("speed", (speed as f64).into()),
        _ => {}
    }
    o.into()
}

// ----------------------------------------------------------------------
// JobManager: host-driven jobs
// ----------------------------------------------------------------------

#[wasm_bindgen(js_class = JobManager)]
impl JsJobManager {
    /// A new job transaction (a `BigInt` handle) that host jobs join with
    /// `createHostJob({transaction})` and simulated backups with
    /// [`transactionIn`](Self::transaction_in); its members fail and
    /// finalize as a unit. It lives while it has members.
    #[wasm_bindgen(js_name = newTransaction)]
    pub fn new_transaction(&mut self) -> u64 {
        self.s.with(|m| m.new_transaction()).to_raw()
    }

    /// Creates and starts a job whose work the host does; returns its handle
    /// (a `BigInt`). `options`: `{id, jobType, autoFinalize, autoDismiss,
    /// speed, onSourceError, onTargetError, transaction, completable,
    /// prepare}`, all optional (no `id`: an internal job, silent and
    /// unreachable by QMP). The first request is `{kind: "start"}`. Throws a
    /// `QmpError` where QEMU refuses a job (invalid or used ID, negative
    /// speed, a failed transaction), a `TypeError` for a malformed option.
    #[wasm_bindgen(js_name = createHostJob)]
    pub fn create_host_job(&mut self, options: JsValue) -> Result<u64, JsValue> {
        let opts = host_job_options(&options)?;
        match self.s.with(|m| m.create_host_job(opts)) {
            Ok(h) => Ok(h.to_raw()),
            Err(e) => Err(qmp_error(&e)),
        }
    }

    /// The handle of the job with this ID (host or simulated), or
    /// `undefined`.
    #[wasm_bindgen(js_name = jobHandle)]
    pub fn job_handle(&self, id: &str) -> Option<u64> {
        self.s.manager().job_handle(id).map(JobHandle::to_raw)
    }

    /// A `transaction` (QMP `actions`, as in
    /// [`transaction`](Self::transaction)) whose jobs join the transaction
    /// `txn` from [`newTransaction`](Self::new_transaction), where host jobs
    /// may be members too (as `completion-mode: grouped` does).
    #[wasm_bindgen(js_name = transactionIn)]
    pub fn transaction_in(&mut self, txn: JsValue, actions: JsValue) -> Result<(), JsValue> {
        let t = txn_handle(&txn, "txn")?;
        let actions = match from_js(&actions)? {
            a @ Value::Array(_) => a,
            _ => {
                return Err(type_error(
                    "actions must be an array of transaction actions",
                ));
            }
        };
        let version = self.s.with(|m| m.version());
        let list = qjob::qmp::parse_transaction_actions_in(&actions, version)
            .map_err(|e| qmp_error(&e))?;
        unit(self.s.with(|m| m.transaction_in(list, t)))
    }

    /// Takes the oldest request for the host (`{kind, job, force?,
    /// speed?}`), or `undefined`.
    #[wasm_bindgen(js_name = pollAction)]
    pub fn poll_action(&mut self) -> JsValue {
        match self.s.with(|m| m.poll_action()) {
            Some(a) => action_to_js(a),
            None => JsValue::UNDEFINED,
        }
    }

    /// Takes every queued request for the host, oldest first.
    #[wasm_bindgen(js_name = drainActions)]
    pub fn drain_actions(&mut self) -> Array {
        self.s.with(|m| {
            std::iter::from_fn(|| m.poll_action())
                .map(action_to_js)
                .collect()
        })
    }

    /// Number of queued requests for the host.
    #[wasm_bindgen(js_name = pendingActions)]
    pub fn pending_actions(&self) -> usize {
        self.s.manager().pending_actions()
    }

    /// The host's job made progress: `current` of `total` (bytes for block
    /// jobs). Refused when the job is not running or progress goes
    /// backwards.
    #[wasm_bindgen(js_name = hostProgress)]
    pub fn host_progress(
        &mut self,
        job: JsValue,
        current: JsValue,
        total: JsValue,
    ) -> Result<(), JsValue> {
        let h = job_handle(&job)?;
        let current = count(&current, "current")?;
        let total = count(&total, "total")?;
        unit(self.s.with(|m| m.host_progress(h, current, total)))
    }

    /// The host's job reached a pause point; returns what it does next:
    /// `"continue"`, `"paused"` (wait for `resume`) or `"cancelled"` (end
    /// the run).
    #[wasm_bindgen(js_name = hostPausePoint)]
    pub fn host_pause_point(&mut self, job: JsValue) -> Result<String, JsValue> {
        let h = job_handle(&job)?;
        self.s
            .with(|m| m.host_pause_point(h))
            .map(|d| d.as_str().to_owned())
            .map_err(|e| qmp_error(&e))
    }

    /// The host's job sleeps until virtual time `untilNs`; returns
    /// `"sleeping"` (wait for `wake`), or `"paused"` / `"cancelled"` when
    /// a pause or a hard cancel comes first.
    #[wasm_bindgen(js_name = hostSleep)]
    pub fn host_sleep(&mut self, job: JsValue, until_ns: JsValue) -> Result<String, JsValue> {
        let h = job_handle(&job)?;
        let until = count(&until_ns, "untilNs")?;
        self.s
            .with(|m| m.host_sleep(h, until))
            .map(|d| d.as_str().to_owned())
            .map_err(|e| qmp_error(&e))
    }

    /// The host's job met an I/O error (`operation` `"read"` or `"write"`,
    /// a positive `errno`); the job's error policy answers `"retry"`,
    /// `"fail"` (end the run with the error) or `"pause"` (report a pause
    /// point, retry after the resume). Emits `BLOCK_JOB_ERROR`.
    #[wasm_bindgen(js_name = hostIoError)]
    pub fn host_io_error(
        &mut self,
        job: JsValue,
        operation: JsValue,
        errno: JsValue,
    ) -> Result<String, JsValue> {
        let h = job_handle(&job)?;
        let op = io_operation(&operation)?;
        let errno = int32(&errno, "errno", None)?;
        self.s
            .with(|m| m.host_io_error(h, op, errno))
            .map(|a| a.as_str().to_owned())
            .map_err(|e| qmp_error(&e))
    }

    /// The host's completable job is in sync: running → ready, with
    /// `BLOCK_JOB_READY`.
    #[wasm_bindgen(js_name = hostReady)]
    pub fn host_ready(&mut self, job: JsValue) -> Result<(), JsValue> {
        let h = job_handle(&job)?;
        unit(self.s.with(|m| m.host_ready(h)))
    }

    /// The host's run ended with `ret` (0, the default, or a negative
    /// errno) and maybe an error text; the completion follows on the main
    /// loop (`settle`).
    #[wasm_bindgen(js_name = hostRunFinished)]
    pub fn host_run_finished(
        &mut self,
        job: JsValue,
        ret: JsValue,
        error: JsValue,
    ) -> Result<(), JsValue> {
        let h = job_handle(&job)?;
        let ret = int32(&ret, "ret", Some(0))?;
        let error = if error.is_undefined() || error.is_null() {
            None
        } else {
            Some(string(&error, "error")?)
        };
        unit(self.s.with(|m| m.host_run_finished(h, ret, error)))
    }

    /// The result of the host's `prepare` step (0, the default, or a
    /// negative errno); finalization goes on.
    #[wasm_bindgen(js_name = hostPrepareDone)]
    pub fn host_prepare_done(&mut self, job: JsValue, ret: JsValue) -> Result<(), JsValue> {
        let h = job_handle(&job)?;
        let ret = int32(&ret, "ret", Some(0))?;
        unit(self.s.with(|m| m.host_prepare_done(h, ret)))
    }

    /// How long (virtual ns, a number) the host's job must wait after
    /// `bytes` of work, by QEMU's rate limiter at the job's speed.
    #[wasm_bindgen(js_name = hostRateDelay)]
    pub fn host_rate_delay(&mut self, job: JsValue, bytes: JsValue) -> Result<f64, JsValue> {
        let h = job_handle(&job)?;
        let bytes = count(&bytes, "bytes")?;
        match self.s.with(|m| m.host_rate_delay(h, bytes)) {
            Ok(d) => Ok(d as f64),
            Err(e) => Err(qmp_error(&e)),
        }
    }

    /// Whether the host's completable job was asked to complete.
    #[wasm_bindgen(js_name = hostShouldComplete)]
    pub fn host_should_complete(&self, job: JsValue) -> Result<bool, JsValue> {
        let h = job_handle(&job)?;
        self.s
            .manager()
            .host_should_complete(h)
            .map_err(|e| qmp_error(&e))
    }
}
