//! Output: the QMP events, popped one at a time as a plain struct or as QMP
//! JSON.

use crate::ffi::{lend_str, owned_string, require, write_opt, write_out};
use crate::manager::{Lent, qjob_manager};
use crate::types::{qjob_error_action, qjob_io_operation, qjob_job_type, qjob_result, qjob_status};
use qjob_core::{Event, EventField, EventKind};
use std::ffi::{CStr, c_char};

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
    /// The job the event is about (data `id` or `device`); `""` for `STOP`
    /// and `RESUME`.
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
        w.last_event = Some(e);
        Ok(qjob_result::QJOB_OK)
    })
}

/// The C enum of each core event kind and its static name, made from the
/// core's list (`for_each_event_kind!`): a kind added in the core without
/// its `qjob_event_kind` here does not compile.
macro_rules! c_event_kinds {
    ($($variant:ident = $name:literal [$($member:ident),*]),+ $(,)?) => {
        impl qjob_event_kind {
            /// The C kind of a core event and its QMP name, NUL-terminated.
            #[inline(always)]
            fn of(kind: &EventKind) -> (qjob_event_kind, &'static CStr) {
                match kind {
                    $(EventKind::$variant { .. } => {
                        const NAME: &CStr = match CStr::from_bytes_with_nul(concat!($name, "\0").as_bytes()) {
                            Ok(c) => c,
                            Err(_) => panic!("an event name with a NUL"),
                        };
                        (qjob_event_kind::$variant, NAME)
                    }),+
                }
            }
        }
    };
}

qjob_core::for_each_event_kind!(c_event_kinds);

/// The struct form of an event, in one pass over the core's field visitor;
/// `job_id` and `error` point into the manager's lent buffers. Each member
/// of the event's `data` lands in its field (the match is exhaustive over
/// the core's `EventField`, so a new member does not compile until it has
/// one); fields the event does not carry keep their zero value.
#[inline(always)]
fn to_c_event(e: &Event, lent: &mut Lent) -> qjob_event {
    let (kind, name) = qjob_event_kind::of(&e.kind);
    let mut c = qjob_event {
        kind,
        name: name.as_ptr(),
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
    e.kind.for_each_field(
        #[inline(always)]
        |f| match f {
            EventField::Id(id) | EventField::Device(id) => {
                c.job_id = lend_str(&mut lent.event_id, id);
            }
            EventField::Status(s) => c.status = s.into(),
            EventField::Type(t) => c.job_type = t.into(),
            EventField::Len(n) => c.total_progress = n,
            EventField::Offset(n) => c.current_progress = n,
            EventField::Speed(n) => c.speed = n,
            EventField::Error(text) => c.error = lend_str(&mut lent.event_error, text),
            EventField::Operation(o) => c.operation = o.into(),
            EventField::Action(a) => c.action = a.into(),
        },
    );
    c
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
        w.last_event = Some(e);
        Ok(qjob_result::QJOB_OK)
    })
}

/// The scenario transcript line of the event the last successful
/// `qjob_poll_event()` or `qjob_poll_event_json()` popped:
/// `! NAME DATA`, DATA with sorted keys as scenarios/README.md prints it
/// (the core's `qjob::scenario::event_line`), in `*line` (owned: free it
/// with `qjob_string_free()`). For a replayer that prints transcripts
/// without reading the event's JSON back.
///
/// Returns `QJOB_OK`, or `QJOB_EMPTY` (not an error; `*line` set to NULL)
/// when no event was popped yet.
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `m` must be NULL or a live manager; `line` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_last_event_line(
    m: *mut qjob_manager,
    line: *mut *mut c_char,
) -> qjob_result {
    // SAFETY: the caller's contract is owned_line's.
    unsafe {
        crate::manager::owned_line(m, line, |w| {
            w.last_event.as_ref().map(qjob_core::scenario::event_line)
        })
    }
}

/// Number of events queued for `qjob_poll_event()` (0 for NULL).
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_pending_events(m: *const qjob_manager) -> usize {
    manager_get!(m, 0, |w| w.core.pending_events())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qjob_core::{ErrorAction, IoOperation, JobStatus, JobType};
    use serde_json::{Map, Value};

    /// The `data` object read back from the C struct: each member the core
    /// lists for the kind (`EventKind::FIELDS`), from the field that holds
    /// it. A member with no field here fails the test: `qjob_event` must
    /// grow a field for it.
    fn data_of(c: &qjob_event) -> Value {
        let s = |p: *const c_char| {
            // SAFETY: non-NULL pointers of a qjob_event are NUL-terminated
            // strings lent by the manager, alive until its next call.
            unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
        };
        let mut data = Map::new();
        for &member in EventKind::FIELDS[c.kind as usize] {
            let v: Value = match member {
                "id" | "device" => s(c.job_id).into(),
                "status" => JobStatus::from(c.status).as_str().into(),
                "type" => JobType::from(c.job_type).as_str().into(),
                "len" => c.total_progress.into(),
                "offset" => c.current_progress.into(),
                "speed" => c.speed.into(),
                "error" if c.error.is_null() => continue,
                "error" => s(c.error).into(),
                "operation" => IoOperation::from(c.operation).as_str().into(),
                "action" => ErrorAction::from(c.action).as_str().into(),
                other => panic!("qjob_event has no field for the member '{other}'"),
            };
            data.insert(member.into(), v);
        }
        Value::Object(data)
    }

    #[test]
    fn the_struct_holds_every_member_the_visitor_gives() {
        let (t, d) = (JobType::Mirror, std::sync::Arc::<str>::from("j0"));
        let completed = |error| EventKind::BlockJobCompleted {
            job_type: JobType::Stream,
            device: d.clone(),
            len: 30,
            offset: 20,
            speed: 10,
            error,
        };
        let kinds = [
            EventKind::JobStatusChange {
                id: d.clone(),
                status: JobStatus::Standby,
            },
            EventKind::BlockJobReady {
                job_type: t,
                device: d.clone(),
                len: 3,
                offset: 2,
                speed: 1,
            },
            EventKind::BlockJobPending {
                job_type: JobType::Backup,
                id: d.clone(),
            },
            completed(None),
            completed(Some("No space left on device".into())),
            EventKind::BlockJobCancelled {
                job_type: JobType::Commit,
                device: d.clone(),
                len: 7,
                offset: 5,
                speed: 4,
            },
            EventKind::BlockJobError {
                device: d.clone(),
                operation: IoOperation::Write,
                action: ErrorAction::Stop,
            },
            EventKind::Stop,
            EventKind::Resume,
        ];
        let mut lent = Lent::default();
        let mut seen = vec![false; EventKind::NAMES.len()];
        for (i, kind) in kinds.into_iter().enumerate() {
            let e = Event {
                timestamp_ns: 1000 + i as u64,
                kind,
            };
            let c = to_c_event(&e, &mut lent);
            assert_eq!(c.kind as usize, e.kind.index());
            // SAFETY: `name` is a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(c.name) };
            assert_eq!(name.to_str(), Ok(e.kind.name()));
            assert_eq!(c.timestamp_ns, e.timestamp_ns);
            assert_eq!(data_of(&c), e.kind.data(), "{}", e.kind.name());
            if e.kind.job_id().is_empty() {
                // SAFETY: as in data_of.
                assert_eq!(unsafe { CStr::from_ptr(c.job_id) }.to_bytes(), b"");
            }
            seen[e.kind.index()] = true;
        }
        assert!(seen.iter().all(|&s| s), "an event kind is not tested");
    }
}
