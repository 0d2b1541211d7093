//! QMP JSON in, QMP JSON out, and the transcript form of JSON.

use crate::ffi::{Fail, byte_str, owned_string, require, write_opt, write_out};
use crate::manager::qjob_manager;
use crate::types::qjob_result;
use std::ffi::c_char;

/// Executes one QMP message (`len` bytes of UTF-8 JSON at `json`, no NUL
/// needed) exactly as QEMU 7.2 would, and returns the reply in `*reply`:
/// `{"return": …}` or `{"error": {"class": …, "desc": …}}`, with the
/// request's `id` echoed, as compact JSON.
///
/// Work QEMU does after its reply (a job's next steps) is left for
/// `qjob_step()` / `qjob_settle()`; events are queued for `qjob_poll_event()`.
///
/// Returns `QJOB_OK` for a `return` reply and `QJOB_QMP_ERROR` for an `error`
/// reply (its class and text are then also the manager's last error). In
/// both cases `*reply` is an owned string: free it with `qjob_string_free()`.
/// On any other code `*reply` is set to NULL (when `reply` is not NULL).
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8` (the message is not
/// UTF-8; malformed JSON is not an error of this function but a QMP error
/// reply, as QEMU gives).
///
/// # Safety
/// `m` must be NULL or a live manager; `json` NULL or valid for `len` bytes;
/// `reply` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_execute(
    m: *mut qjob_manager,
    json: *const c_char,
    len: usize,
    reply: *mut *mut c_char,
) -> qjob_result {
    // SAFETY: `reply` is NULL or writable, by the caller's contract.
    unsafe { write_opt(reply, std::ptr::null_mut()) };
    manager_call!(m, |w| {
        require(reply.cast_const(), "reply")?;
        // SAFETY: NULL or `len` readable bytes, by the caller's contract.
        let request = unsafe { byte_str(json, len, "json") }?;
        let answer = w.core.execute_reply(request);
        // SAFETY: non-NULL (checked above) and writable by the contract.
        unsafe { write_out(reply, "reply", owned_string(answer.to_json())) }?;
        let code = match answer.error() {
            None => Ok(qjob_result::QJOB_OK),
            Some(e) => Err(e.clone().into()),
        };
        w.last_reply = Some(answer);
        code
    })
}

/// The scenario transcript line of the reply of the last successful
/// `qjob_execute()`: `< REPLY`, REPLY with sorted keys as
/// scenarios/README.md prints it (the core's `qjob::scenario::reply_line`),
/// in `*line` (owned: free it with `qjob_string_free()`). For a replayer
/// that prints transcripts without reading the reply's JSON back.
///
/// Returns `QJOB_OK`, or `QJOB_EMPTY` (not an error; `*line` set to NULL)
/// when nothing was executed yet.
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `m` must be NULL or a live manager; `line` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_last_reply_line(
    m: *mut qjob_manager,
    line: *mut *mut c_char,
) -> qjob_result {
    // SAFETY: the caller's contract is owned_line's.
    unsafe {
        crate::manager::owned_line(m, line, |w| {
            let r = w.last_reply.as_ref()?;
            Some(qjob_core::scenario::reply_line(&r.to_value()))
        })
    }
}

/// Rewrites a JSON text (`len` bytes of UTF-8 at `json`) as the scenario
/// transcripts print JSON: Python's `json.dumps(value, sort_keys=True)`,
/// that is sorted keys, `", "` and `": "` separators and non-ASCII escaped
/// and integers beyond 64 bits kept as written, as Python keeps them (the
/// core's `qjob::scenario::sorted_json_text`). Needs no manager.
///
/// `*out` is an owned string (free it with `qjob_string_free()`), or NULL on
/// error.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_INVALID_ARGUMENT`
/// (not one JSON value), `QJOB_PANIC`.
///
/// # Safety
/// `json` must be NULL or valid for `len` bytes; `out` NULL or valid for
/// writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_json_sorted(
    json: *const c_char,
    len: usize,
    out: *mut *mut c_char,
) -> qjob_result {
    ffi_boundary!(qjob_result::QJOB_PANIC, {
        // SAFETY: `out` is NULL or writable, by the caller's contract.
        unsafe { write_opt(out, std::ptr::null_mut()) };
        let r = (|| {
            // SAFETY: NULL or `len` readable bytes, by the caller's contract.
            let text = unsafe { byte_str(json, len, "json") }?;
            let s = qjob_core::scenario::sorted_json_text(text)
                .map_err(|e| Fail::invalid(format!("not one JSON value: {e}")))?;
            require(out.cast_const(), "out")?;
            // SAFETY: non-NULL and writable by the caller's contract.
            unsafe { write_out(out, "out", owned_string(s)) }
        })();
        match r {
            Ok(()) => qjob_result::QJOB_OK,
            Err(e) => e.code,
        }
    })
}
