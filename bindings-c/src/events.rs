//! Output: the QMP events, popped one at a time as a plain struct or as QMP
//! JSON.

use crate::ffi::{lend_str, owned_string, require, write_opt, write_out};
use crate::manager::{Lent, qjob_manager};
use crate::types::{qjob_error_action, qjob_io_operation, qjob_job_type, qjob_result, qjob_status};
use qjob_core::{Event, EventKind};
use std::ffi::c_char;

/// Which QMP event an event is.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_event_kind {
    /// `JOB_STATUS_CHANGE`: a job moved to another status (`status`).
    JobStatusChange = 0,
    /// `BLOCK_JOB_READY`: a mirror-like job can now be completed.
    BlockJobReady = 1,
    /// `BLOCK_JOB_PENDING`: a job with auto-finalize off waits for finalize.
    BlockJobPending = 2,
    /// `BLOCK_JOB_COMPLETED`: a block job finished (`error` set if it failed).
    BlockJobCompleted = 3,
    /// `BLOCK_JOB_CANCELLED`: a block job was cancelled.
    BlockJobCancelled = 4,
    /// `BLOCK_JOB_ERROR`: a block job met an I/O error (`operation`, `action`).
    BlockJobError = 5,
    /// `STOP`: the simulated VM stopped (around snapshot jobs).
    Stop = 6,
    /// `RESUME`: the simulated VM runs again.
    Resume = 7,
    /// `SHUTDOWN`: a system emulator was asked to quit.
    Shutdown = 8,
    /// `BLOCK_EXPORT_DELETED`: a block export is gone (its ID in `job_id`).
    BlockExportDeleted = 9,
}

/// One QMP event as a plain struct. Fields that the event does not carry
/// are zero (NULL for `error`).
///
/// Its strings are borrowed from the manager: valid until the next
/// non-const call on it. `name` is static.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct qjob_event {
    /// Which event.
    pub kind: qjob_event_kind,
    /// The QMP event name (`"JOB_STATUS_CHANGE"`, …); static.
    pub name: *const c_char,
    /// The job the event is about (data `id` or `device`; the export's `id`
    /// for `BLOCK_EXPORT_DELETED`); `""` for `STOP`, `RESUME` and
    /// `SHUTDOWN`.
    pub job_id: *const c_char,
    /// `JOB_STATUS_CHANGE`: the new status; `QJOB_STATUS_UNDEFINED` otherwise.
    pub status: qjob_status,
    /// The job type (`BLOCK_JOB_READY`, `_PENDING`, `_COMPLETED`,
    /// `_CANCELLED`); `QJOB_JOB_TYPE_COMMIT` (0) for the other events.
    pub job_type: qjob_job_type,
    /// Progress made (data `offset` of `BLOCK_JOB_READY`, `_COMPLETED`,
    /// `_CANCELLED`); 0 otherwise.
    pub current_progress: u64,
    /// Progress at the end (data `len` of those events); 0 otherwise.
    pub total_progress: u64,
    /// Speed limit (data `speed` of those events); 0 otherwise.
    pub speed: u64,
    /// `BLOCK_JOB_COMPLETED` of a failed job: the error text; NULL otherwise.
    pub error: *const c_char,
    /// `BLOCK_JOB_ERROR`: read or write (`QJOB_IO_OPERATION_READ` otherwise).
    pub operation: qjob_io_operation,
    /// `BLOCK_JOB_ERROR`: what the policy decided (`REPORT` otherwise).
    pub action: qjob_error_action,
    /// Virtual time at which the event was emitted, in nanoseconds.
    pub timestamp_ns: u64,
}

/// Pops the oldest queued event into `*event`.
///
/// Returns `QJOB_OK` with the event, or `QJOB_EMPTY` (not an error; `*event`
/// untouched) when none is queued. Typical loop:
/// `while (qjob_poll_event(m, &ev) == QJOB_OK) { … }`.
///
/// Errors: `QJOB_NULL_ARGUMENT` (nothing is popped).
///
/// # Safety
/// `m` must be NULL or a live manager; `event` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_poll_event(
    m: *mut qjob_manager,
    event: *mut qjob_event,
) -> qjob_result {
    manager_call!(m, |w| {
        require(event.cast_const(), "event")?;
        let Some(e) = w.core.poll_event() else {
            return Ok(qjob_result::QJOB_EMPTY);
        };
        // SAFETY: checked non-NULL above; writable by the caller's contract.
        unsafe { event.write(to_c_event(&e, &mut w.lent)) };
        Ok(qjob_result::QJOB_OK)
    })
}

/// The struct form of an event, in one pass over it; `job_id` and `error`
/// point into the manager's lent buffers.
#[inline(always)]
fn to_c_event(e: &Event, lent: &mut Lent) -> qjob_event {
    let base = qjob_event {
        kind: qjob_event_kind::JobStatusChange,
        name: c"".as_ptr(),
        job_id: c"".as_ptr(),
        status: qjob_status::Undefined,
        job_type: qjob_job_type::Commit,
        current_progress: 0,
        total_progress: 0,
        speed: 0,
        error: std::ptr::null(),
        operation: qjob_io_operation::Read,
        action: qjob_error_action::Report,
        timestamp_ns: e.timestamp_ns,
    };
    let id = &mut lent.event_id;
    match &e.kind {
        EventKind::JobStatusChange { id: job, status } => qjob_event {
            name: c"JOB_STATUS_CHANGE".as_ptr(),
            job_id: lend_str(id, job),
            status: (*status).into(),
            ..base
        },
        EventKind::BlockJobReady {
            job_type,
            device,
            len,
            offset,
            speed,
        } => qjob_event {
            kind: qjob_event_kind::BlockJobReady,
            name: c"BLOCK_JOB_READY".as_ptr(),
            job_id: lend_str(id, device),
            job_type: (*job_type).into(),
            current_progress: *offset,
            total_progress: *len,
            speed: *speed,
            ..base
        },
        EventKind::BlockJobPending { job_type, id: job } => qjob_event {
            kind: qjob_event_kind::BlockJobPending,
            name: c"BLOCK_JOB_PENDING".as_ptr(),
            job_id: lend_str(id, job),
            job_type: (*job_type).into(),
            ..base
        },
        EventKind::BlockJobCompleted {
            job_type,
            device,
            len,
            offset,
            speed,
            error,
        } => qjob_event {
            kind: qjob_event_kind::BlockJobCompleted,
            name: c"BLOCK_JOB_COMPLETED".as_ptr(),
            job_id: lend_str(id, device),
            job_type: (*job_type).into(),
            current_progress: *offset,
            total_progress: *len,
            speed: *speed,
            error: error
                .as_deref()
                .map_or(std::ptr::null(), |t| lend_str(&mut lent.event_error, t)),
            ..base
        },
        EventKind::BlockJobCancelled {
            job_type,
            device,
            len,
            offset,
            speed,
        } => qjob_event {
            kind: qjob_event_kind::BlockJobCancelled,
            name: c"BLOCK_JOB_CANCELLED".as_ptr(),
            job_id: lend_str(id, device),
            job_type: (*job_type).into(),
            current_progress: *offset,
            total_progress: *len,
            speed: *speed,
            ..base
        },
        EventKind::BlockJobError {
            device,
            operation,
            action,
        } => qjob_event {
            kind: qjob_event_kind::BlockJobError,
            name: c"BLOCK_JOB_ERROR".as_ptr(),
            job_id: lend_str(id, device),
            operation: (*operation).into(),
            action: (*action).into(),
            ..base
        },
        EventKind::Stop => qjob_event {
            kind: qjob_event_kind::Stop,
            name: c"STOP".as_ptr(),
            ..base
        },
        EventKind::Resume => qjob_event {
            kind: qjob_event_kind::Resume,
            name: c"RESUME".as_ptr(),
            ..base
        },
        EventKind::Shutdown => qjob_event {
            kind: qjob_event_kind::Shutdown,
            name: c"SHUTDOWN".as_ptr(),
            ..base
        },
        EventKind::BlockExportDeleted { id: export } => qjob_event {
            kind: qjob_event_kind::BlockExportDeleted,
            name: c"BLOCK_EXPORT_DELETED".as_ptr(),
            job_id: lend_str(id, export),
            ..base
        },
    }
}

/// Pops the oldest queued event as QEMU sends it on a QMP monitor:
/// `{"timestamp": {"seconds": …, "microseconds": …}, "event": …, "data": …}`,
/// compact JSON, in `*json` (owned: free it with `qjob_string_free()`).
///
/// Returns `QJOB_OK` with the event, or `QJOB_EMPTY` (not an error; `*json`
/// set to NULL) when none is queued.
///
/// Errors: `QJOB_NULL_ARGUMENT` (nothing is popped).
///
/// # Safety
/// `m` must be NULL or a live manager; `json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_poll_event_json(
    m: *mut qjob_manager,
    json: *mut *mut c_char,
) -> qjob_result {
    // SAFETY: NULL or writable, by the caller's contract.
    unsafe { write_opt(json, std::ptr::null_mut()) };
    manager_call!(m, |w| {
        require(json.cast_const(), "json")?;
        let Some(e) = w.core.poll_event() else {
            return Ok(qjob_result::QJOB_EMPTY);
        };
        // SAFETY: checked non-NULL above; writable by the caller's contract.
        unsafe { write_out(json, "json", owned_string(e.to_json())) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// Number of events queued for `qjob_poll_event()` (0 for NULL).
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_pending_events(m: *const qjob_manager) -> usize {
    manager_get!(m, 0, |w| w.core.pending_events())
}
