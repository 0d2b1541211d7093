//! Host-driven jobs: the host (a hypervisor) does a job's work itself and
//! the core runs QEMU's lifecycle around it.
//!
//! The host reports what its job coroutine does with the `qjob_host_*`
//! functions (progress, pause points, sleeps, I/O errors, readiness, the end
//! of the run, the result of `prepare`) and pops what the core wants done
//! with `qjob_poll_action()` (start, resume, wake, pause, cancel, complete,
//! a new speed, and prepare / commit / abort / clean in QEMU's order). The
//! core never calls into the host.
//!
//! A report that does not fit the job's state (a job that is not running,
//! a stale handle, progress going backwards, …) is refused with
//! `QJOB_QMP_ERROR` and the core's explanation in the last error.

use crate::ffi::{Fail, byte_str, c_str, checked, opt_c_str, require, write_out};
use crate::manager::qjob_manager;
use crate::types::{qjob_io_operation, qjob_job_type, qjob_on_error, qjob_result};
use qjob_core::{
    HostActionKind, HostDirective, HostErrorAction, HostJobOptions, JobHandle, TxnHandle,
};
use std::ffi::c_char;

/// A job as the host names it (from `qjob_create_host_job()` or
/// `qjob_job_handle_of()`). A handle of a job that is gone is refused, never
/// confused with a newer job.
pub type qjob_job_handle = u64;

/// A job transaction made by `qjob_new_transaction()`.
pub type qjob_txn_handle = u64;

/// What the host's job does after `qjob_host_pause_point()` or
/// `qjob_host_sleep()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_host_directive {
    /// Go on working.
    Continue = 0,
    /// The job is paused: wait for a `QJOB_ACTION_KIND_RESUME` action.
    Paused = 1,
    /// The job sleeps: wait for a `QJOB_ACTION_KIND_WAKE` action (at the
    /// deadline, or earlier if kicked).
    Sleeping = 2,
    /// The job is hard-cancelled: end the run (`qjob_host_run_finished()`).
    Cancelled = 3,
}

impl From<HostDirective> for qjob_host_directive {
    fn from(d: HostDirective) -> Self {
        match d {
            HostDirective::Continue => qjob_host_directive::Continue,
            HostDirective::Paused => qjob_host_directive::Paused,
            HostDirective::Sleeping => qjob_host_directive::Sleeping,
            HostDirective::Cancelled => qjob_host_directive::Cancelled,
        }
    }
}

/// What the job's error policy decided about an I/O error reported with
/// `qjob_host_io_error()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_host_error_action {
    /// `ignore`: retry the request later.
    Retry = 0,
    /// `report`: end the run with the error (`qjob_host_run_finished()`).
    Fail = 1,
    /// `stop`: the job is paused as by the user; report a pause point, then
    /// retry after the resume.
    Pause = 2,
}

impl From<HostErrorAction> for qjob_host_error_action {
    fn from(a: HostErrorAction) -> Self {
        match a {
            HostErrorAction::Retry => qjob_host_error_action::Retry,
            HostErrorAction::Fail => qjob_host_error_action::Fail,
            HostErrorAction::Pause => qjob_host_error_action::Pause,
        }
    }
}

/// What the core asks of a host job.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_action_kind {
    /// Begin the run.
    Start = 0,
    /// Go on after being paused at a pause point.
    Resume = 1,
    /// Go on after a sleep (the deadline passed, or the job was kicked).
    Wake = 2,
    /// Reach a pause point soon: a pause was requested.
    Pause = 3,
    /// The job was cancelled; `force` tells a hard cancel (stop now) from a
    /// soft one (a completable job in ready: finish without switching over).
    Cancel = 4,
    /// The user completed the (ready, completable) job: finish and switch over.
    Complete = 5,
    /// The speed limit changed to `speed` bytes/s (0: unlimited).
    SetSpeed = 6,
    /// Run the prepare step and report with `qjob_host_prepare_done()`.
    Prepare = 7,
    /// Make the job's changes permanent.
    Commit = 8,
    /// Undo the job's changes.
    Abort = 9,
    /// Release what the job holds (after commit or abort).
    Clean = 10,
}

/// A request to the host, from `qjob_poll_action()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct qjob_action {
    /// The job it is for.
    pub job: qjob_job_handle,
    /// What to do.
    pub kind: qjob_action_kind,
    /// `QJOB_ACTION_KIND_CANCEL`: true for a hard cancel. False otherwise.
    pub force: bool,
    /// `QJOB_ACTION_KIND_SET_SPEED`: the new limit in bytes/s. 0 otherwise.
    pub speed: u64,
}

/// How a host job is created. Initialise with `qjob_host_job_options_init()`,
/// then set the fields you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct qjob_host_job_options {
    /// Job ID (NUL-terminated), or NULL for an internal job (no events,
    /// unreachable by QMP).
    pub id: *const c_char,
    /// A `qjob_job_type` value: the type queries and events report
    /// (default `QJOB_JOB_TYPE_BACKUP`).
    pub job_type: u32,
    /// Finalize automatically (default true).
    pub auto_finalize: bool,
    /// Dismiss automatically (default true).
    pub auto_dismiss: bool,
    /// Initial speed limit in bytes/s (block job types only; default 0).
    pub speed: i64,
    /// A `qjob_on_error` value for read errors (default report).
    pub on_source_error: u32,
    /// A `qjob_on_error` value for write errors (default report).
    pub on_target_error: u32,
    /// Whether `transaction` is set (default false: the job has a
    /// transaction of its own).
    pub has_transaction: bool,
    /// The transaction to join, from `qjob_new_transaction()`.
    pub transaction: qjob_txn_handle,
    /// Mirror-like: the job can become ready and be completed, and a soft
    /// cancel while ready completes it (default false).
    pub completable: bool,
    /// The host has a prepare step and reports its result (default false).
    pub prepare: bool,
}

impl qjob_host_job_options {
    /// The core's defaults (`HostJobOptions::default()`): no ID (NULL), no
    /// transaction.
    pub(crate) fn defaults() -> qjob_host_job_options {
        let d = HostJobOptions::default();
        qjob_host_job_options {
            id: std::ptr::null(),
            job_type: qjob_job_type::raw(d.job_type),
            auto_finalize: d.auto_finalize,
            auto_dismiss: d.auto_dismiss,
            speed: d.speed,
            on_source_error: qjob_on_error::raw(d.on_source_error),
            on_target_error: qjob_on_error::raw(d.on_target_error),
            has_transaction: d.transaction.is_some(),
            transaction: d.transaction.map_or(0, TxnHandle::to_raw),
            completable: d.completable,
            prepare: d.prepare,
        }
    }

    /// The core's options.
    ///
    /// # Safety
    /// `id` NULL or NUL-terminated.
    pub(crate) unsafe fn to_core(self) -> Result<HostJobOptions, Fail> {
        Ok(HostJobOptions {
            // SAFETY: NULL or NUL-terminated, by the caller's contract.
            id: unsafe { opt_c_str(self.id, "id") }?.map(str::to_owned),
            job_type: qjob_job_type::parse(self.job_type, "job_type")?,
            auto_finalize: self.auto_finalize,
            auto_dismiss: self.auto_dismiss,
            speed: self.speed,
            on_source_error: qjob_on_error::parse(self.on_source_error, "on_source_error")?,
            on_target_error: qjob_on_error::parse(self.on_target_error, "on_target_error")?,
            transaction: self
                .has_transaction
                .then(|| TxnHandle::from_raw(self.transaction)),
            completable: self.completable,
            prepare: self.prepare,
        })
    }
}

/// Fills `*options` with the core's defaults: no ID, type backup,
/// auto-finalize and auto-dismiss on, speed 0, `report` policies, no
/// transaction, not completable, no prepare step.
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `options` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_host_job_options_init(
    options: *mut qjob_host_job_options,
) -> qjob_result {
    // SAFETY: NULL or writable, by the caller's contract.
    unsafe { crate::commands::init(options, qjob_host_job_options::defaults) }
}

/// A new job transaction for host jobs, in `*txn`. It lives while it has
/// members; an unused one stays until a job joins it.
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `m` must be NULL or a live manager; `txn` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_new_transaction(
    m: *mut qjob_manager,
    txn: *mut qjob_txn_handle,
) -> qjob_result {
    manager_call!(m, |w| {
        require(txn.cast_const(), "txn")?;
        let t = w.core.new_transaction().to_raw();
        // SAFETY: non-NULL (checked above), writable by the contract.
        unsafe { write_out(txn, "txn", t) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// A QMP `transaction` whose jobs join the transaction `txn` (from
/// `qjob_new_transaction()`, where host jobs may be members too), as
/// `completion-mode: grouped` does: the members fail and finalize as a
/// unit. `actions_json` is the command's `actions` array as `len` bytes of
/// UTF-8 JSON (no NUL needed), e.g.
/// `[{"type": "blockdev-backup", "data": {"job-id": "b", "device": "src",
/// "target": "dst", "sync": "full"}}]`, read with QEMU's JSON rules.
///
/// Like QEMU's `transaction`, it prepares every action, stopping at the
/// first error, then commits them all. Actions that cannot be read are
/// refused before anything happens; an action refused after others were
/// prepared rolls them back: their jobs are cancelled, and with them the
/// transaction `txn` fails (its other members are aborted too).
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`,
/// `QJOB_INVALID_ARGUMENT` (`actions_json` is not one JSON value, or not an
/// array), `QJOB_QMP_ERROR` with QEMU's class and text (an invalid action,
/// its argument errors, a refused action such as an unknown device or a
/// used job ID, a transaction handle that is stale or whose transaction
/// has failed).
///
/// # Safety
/// `m` must be NULL or a live manager; `actions_json` NULL or valid for
/// `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_transaction_in(
    m: *mut qjob_manager,
    txn: qjob_txn_handle,
    actions_json: *const c_char,
    len: usize,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or `len` readable bytes, by the caller's contract.
        let text = unsafe { byte_str(actions_json, len, "actions_json") }?;
        let value = qjob_core::qmp::json::parse(text)
            .map_err(|e| Fail::invalid(format!("'actions_json' is not one JSON value: {e}")))?;
        if !value.is_array() {
            return Err(Fail::invalid(
                "'actions_json' must be a JSON array of transaction actions",
            ));
        }
        let actions = qjob_core::qmp::parse_transaction_actions_in(&value, w.core.version())?;
        w.core.transaction_in(actions, TxnHandle::from_raw(txn))?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// Creates and starts a job whose work the host does; its handle in
/// `*job`. The first action queued for it is `QJOB_ACTION_KIND_START` (or
/// `RESUME` later, if a drained section holds it).
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_INVALID_ARGUMENT`
/// (an enum field out of range), `QJOB_QMP_ERROR` (refused as QEMU refuses a
/// job: `Invalid job ID`, `Job ID 'x' already in use`, a negative speed, a
/// transaction that is gone or has failed).
///
/// # Safety
/// `m` must be NULL or a live manager; `options` NULL or a valid struct whose
/// `id` is NULL or NUL-terminated; `job` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_create_host_job(
    m: *mut qjob_manager,
    options: *const qjob_host_job_options,
    job: *mut qjob_job_handle,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or valid, by the caller's contract.
        let o = unsafe { checked(options, "options") }?;
        require(job.cast_const(), "job")?;
        // SAFETY: `id` is NULL or NUL-terminated, by the caller's contract.
        let opts = unsafe { o.to_core() }?;
        let h = w.core.create_host_job(opts)?;
        // SAFETY: non-NULL (checked above), writable by the contract.
        unsafe { write_out(job, "job", h.to_raw()) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// The handle of the job with ID `id` (any job, host-driven or not), in
/// `*job`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_NOT_FOUND`.
///
/// # Safety
/// `m` must be NULL or a live manager; `id` NULL or NUL-terminated; `job`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_job_handle_of(
    m: *mut qjob_manager,
    id: *const c_char,
    job: *mut qjob_job_handle,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or NUL-terminated, by the caller's contract.
        let id = unsafe { c_str(id, "id") }?;
        let h = w
            .core
            .job_handle(id)
            .ok_or_else(|| Fail::new(qjob_result::QJOB_NOT_FOUND, format!("no job '{id}'")))?;
        // SAFETY: NULL or writable, by the caller's contract.
        unsafe { write_out(job, "job", h.to_raw()) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// Pops the oldest request for the host into `*action`.
///
/// Returns `QJOB_OK` with the action, or `QJOB_EMPTY` (not an error;
/// `*action` untouched) when none is queued.
///
/// Errors: `QJOB_NULL_ARGUMENT` (nothing is popped).
///
/// # Safety
/// `m` must be NULL or a live manager; `action` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_poll_action(
    m: *mut qjob_manager,
    action: *mut qjob_action,
) -> qjob_result {
    manager_call!(m, |w| {
        require(action.cast_const(), "action")?;
        let Some(a) = w.core.poll_action() else {
            return Ok(qjob_result::QJOB_EMPTY);
        };
        let (kind, force, speed) = match a.kind {
            HostActionKind::Start => (qjob_action_kind::Start, false, 0),
            HostActionKind::Resume => (qjob_action_kind::Resume, false, 0),
            HostActionKind::Wake => (qjob_action_kind::Wake, false, 0),
            HostActionKind::Pause => (qjob_action_kind::Pause, false, 0),
            HostActionKind::Cancel { force } => (qjob_action_kind::Cancel, force, 0),
            HostActionKind::Complete => (qjob_action_kind::Complete, false, 0),
            HostActionKind::SetSpeed(s) => (qjob_action_kind::SetSpeed, false, s),
            HostActionKind::Prepare => (qjob_action_kind::Prepare, false, 0),
            HostActionKind::Commit => (qjob_action_kind::Commit, false, 0),
            HostActionKind::Abort => (qjob_action_kind::Abort, false, 0),
            HostActionKind::Clean => (qjob_action_kind::Clean, false, 0),
        };
        let out = qjob_action {
            job: a.job.to_raw(),
            kind,
            force,
            speed,
        };
        // SAFETY: non-NULL (checked above), writable by the contract.
        unsafe { write_out(action, "action", out) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// Number of actions queued for `qjob_poll_action()` (0 for NULL).
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_pending_actions(m: *const qjob_manager) -> usize {
    manager_get!(m, 0, |w| w.core.pending_actions())
}

/// The host reports progress of its running job: `current` of `total` (the
/// host's units; bytes for block jobs). Progress never goes backwards.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_QMP_ERROR` (the job is not running,
/// the handle is stale, progress goes backwards, `total < current`).
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_host_progress(
    m: *mut qjob_manager,
    job: qjob_job_handle,
    current: u64,
    total: u64,
) -> qjob_result {
    manager_call!(m, |w| {
        w.core
            .host_progress(JobHandle::from_raw(job), current, total)?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// The host's running job reached a pause point (QEMU's `job_pause_point`);
/// what to do next in `*directive`: continue, paused (wait for a resume
/// action), or cancelled (end the run).
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_QMP_ERROR` (the job is not running).
///
/// # Safety
/// `m` must be NULL or a live manager; `directive` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_host_pause_point(
    m: *mut qjob_manager,
    job: qjob_job_handle,
    directive: *mut qjob_host_directive,
) -> qjob_result {
    manager_call!(m, |w| {
        require(directive.cast_const(), "directive")?;
        let d = w.core.host_pause_point(JobHandle::from_raw(job))?;
        // SAFETY: non-NULL (checked above), writable by the contract.
        unsafe { write_out(directive, "directive", d.into()) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// The host's running job sleeps until virtual time `until_ns` (QEMU's
/// `job_sleep_ns`); in `*directive`: sleeping (wait for a wake action),
/// paused (a pause was pending), or cancelled.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_QMP_ERROR` (the job is not running).
///
/// # Safety
/// `m` must be NULL or a live manager; `directive` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_host_sleep(
    m: *mut qjob_manager,
    job: qjob_job_handle,
    until_ns: u64,
    directive: *mut qjob_host_directive,
) -> qjob_result {
    manager_call!(m, |w| {
        require(directive.cast_const(), "directive")?;
        let d = w.core.host_sleep(JobHandle::from_raw(job), until_ns)?;
        // SAFETY: non-NULL (checked above), writable by the contract.
        unsafe { write_out(directive, "directive", d.into()) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// The host's running job met an I/O error: `operation` is a
/// `qjob_io_operation` value, `err` a positive errno. The job's error policy
/// decides (a block job emits `BLOCK_JOB_ERROR`); the decision in `*action`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_ARGUMENT` (`operation`),
/// `QJOB_QMP_ERROR` (the job is not running, `err <= 0`).
///
/// # Safety
/// `m` must be NULL or a live manager; `action` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_host_io_error(
    m: *mut qjob_manager,
    job: qjob_job_handle,
    operation: u32,
    err: i32,
    action: *mut qjob_host_error_action,
) -> qjob_result {
    manager_call!(m, |w| {
        require(action.cast_const(), "action")?;
        let op = qjob_io_operation::from_u32(operation, "operation")?;
        let a = w
            .core
            .host_io_error(JobHandle::from_raw(job), op.into(), err)?;
        // SAFETY: non-NULL (checked above), writable by the contract.
        unsafe { write_out(action, "action", a.into()) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// The host's running, completable job is in sync: running → ready, with
/// `BLOCK_JOB_READY`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_QMP_ERROR` (not running, not
/// completable, already ready).
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_host_ready(
    m: *mut qjob_manager,
    job: qjob_job_handle,
) -> qjob_result {
    manager_call!(m, |w| {
        w.core.host_ready(JobHandle::from_raw(job))?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// The host's run ended with `ret` (0, or a negative errno) and, for a
/// failure, an optional error text (`error` may be NULL; it is copied). The
/// completion follows on the main loop (`qjob_settle()`).
///
/// Errors: `QJOB_NULL_ARGUMENT` (`m`), `QJOB_INVALID_UTF8`, `QJOB_QMP_ERROR`
/// (not running, `ret > 0`, an error text with `ret == 0`).
///
/// # Safety
/// `m` must be NULL or a live manager; `error` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_host_run_finished(
    m: *mut qjob_manager,
    job: qjob_job_handle,
    ret: i32,
    error: *const c_char,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or NUL-terminated, by the caller's contract.
        let error = unsafe { opt_c_str(error, "error") }?.map(str::to_owned);
        w.core
            .host_run_finished(JobHandle::from_raw(job), ret, error)?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// The result of the host's prepare step (0 or a negative errno), after a
/// `QJOB_ACTION_KIND_PREPARE` action; finalization goes on.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_QMP_ERROR` (not asked to prepare,
/// `ret > 0`, stale handle).
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_host_prepare_done(
    m: *mut qjob_manager,
    job: qjob_job_handle,
    ret: i32,
) -> qjob_result {
    manager_call!(m, |w| {
        w.core.host_prepare_done(JobHandle::from_raw(job), ret)?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// How long (virtual ns, in `*delay_ns`) the host's job must wait after
/// doing `bytes` of work, by QEMU's rate limiter and the job's speed (0 when
/// unlimited). Sleep that long with `qjob_host_sleep()`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_QMP_ERROR` (stale handle).
///
/// # Safety
/// `m` must be NULL or a live manager; `delay_ns` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_host_rate_delay(
    m: *mut qjob_manager,
    job: qjob_job_handle,
    bytes: u64,
    delay_ns: *mut u64,
) -> qjob_result {
    manager_call!(m, |w| {
        require(delay_ns.cast_const(), "delay_ns")?;
        let d = w.core.host_rate_delay(JobHandle::from_raw(job), bytes)?;
        // SAFETY: non-NULL (checked above), writable by the contract.
        unsafe { write_out(delay_ns, "delay_ns", d) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// Whether the host's completable job was asked to complete (also announced
/// by a `QJOB_ACTION_KIND_COMPLETE` action), in `*complete`.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_QMP_ERROR` (stale handle, not a host job).
///
/// # Safety
/// `m` must be NULL or a live manager; `complete` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_host_should_complete(
    m: *mut qjob_manager,
    job: qjob_job_handle,
    complete: *mut bool,
) -> qjob_result {
    manager_call!(m, |w| {
        require(complete.cast_const(), "complete")?;
        let c = w.core.host_should_complete(JobHandle::from_raw(job))?;
        // SAFETY: non-NULL (checked above), writable by the contract.
        unsafe { write_out(complete, "complete", c) }?;
        Ok(qjob_result::QJOB_OK)
    })
}
