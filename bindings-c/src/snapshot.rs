//! Snapshot and restore: the whole manager (jobs, transactions, nodes,
//! clock, queued events and host actions, timers, rate limiters) as bytes or
//! JSON, in the core's stable, versioned format. A restored manager goes on
//! byte-identically.

use crate::ffi::{Fail, byte_str, bytes, owned_bytes, owned_string};
use crate::manager::qjob_manager;
use crate::types::qjob_result;
use qjob_core::{JobManager, SnapshotError};
use std::ffi::c_char;

/// The whole manager as a compact binary snapshot: `*bytes` points to
/// `*len` bytes, owned by the caller (free them with
/// `qjob_bytes_free(*bytes, *len)`). A getter: borrowed pointers stay valid.
/// The last error and lent strings are not part of the snapshot.
///
/// Errors: `QJOB_NULL_ARGUMENT` (not kept as the last error), `QJOB_PANIC`.
///
/// # Safety
/// `m` must be NULL or a live manager; `bytes` and `len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_snapshot(
    m: *const qjob_manager,
    bytes: *mut *mut u8,
    len: *mut usize,
) -> qjob_result {
    if m.is_null() || bytes.is_null() || len.is_null() {
        return qjob_result::QJOB_NULL_ARGUMENT;
    }
    match manager_get!(m, None, |w| Some(owned_bytes(w.core.to_snapshot_bytes()))) {
        Some((p, n)) => {
            // SAFETY: both non-NULL (checked above) and writable by the
            // caller's contract.
            unsafe {
                bytes.write(p);
                len.write(n);
            }
            qjob_result::QJOB_OK
        }
        None => qjob_result::QJOB_PANIC,
    }
}

/// The whole manager as a JSON snapshot, in `*json` (owned: free it with
/// `qjob_string_free()`). A getter, like `qjob_snapshot()`.
///
/// Errors: `QJOB_NULL_ARGUMENT` (not kept as the last error), `QJOB_PANIC`.
///
/// # Safety
/// `m` must be NULL or a live manager; `json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_snapshot_json(
    m: *const qjob_manager,
    json: *mut *mut c_char,
) -> qjob_result {
    if m.is_null() || json.is_null() {
        return qjob_result::QJOB_NULL_ARGUMENT;
    }
    match manager_get!(m, None, |w| Some(owned_string(w.core.to_snapshot_json()))) {
        Some(p) => {
            // SAFETY: non-NULL (checked above), writable by the contract.
            unsafe { json.write(p) };
            qjob_result::QJOB_OK
        }
        None => qjob_result::QJOB_PANIC,
    }
}

fn restored(r: Result<JobManager, SnapshotError>, w: &mut qjob_manager) -> crate::ffi::FfiResult {
    let core = r.map_err(|e| Fail::new(qjob_result::QJOB_SNAPSHOT_ERROR, e.to_string()))?;
    w.core = core;
    Ok(qjob_result::QJOB_OK)
}

/// Replaces the state of `m` with a binary snapshot from `qjob_snapshot()`
/// (`len` bytes at `bytes_in`, only read during the call). On failure `m` is
/// unchanged.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_SNAPSHOT_ERROR` (not a snapshot,
/// another format version, damaged; the reason in `qjob_last_error_desc()`).
///
/// # Safety
/// `m` must be NULL or a live manager; `bytes_in` NULL or valid for `len`
/// bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_restore(
    m: *mut qjob_manager,
    bytes_in: *const u8,
    len: usize,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or `len` readable bytes, by the caller's contract.
        let b = unsafe { bytes(bytes_in, len, "bytes") }?;
        restored(JobManager::from_snapshot_bytes(b), w)
    })
}

/// Replaces the state of `m` with a JSON snapshot from
/// `qjob_snapshot_json()` (`len` bytes at `json`, only read during the
/// call). On failure `m` is unchanged.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`, `QJOB_SNAPSHOT_ERROR`.
///
/// # Safety
/// `m` must be NULL or a live manager; `json` NULL or valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_restore_json(
    m: *mut qjob_manager,
    json: *const c_char,
    len: usize,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or `len` readable bytes, by the caller's contract.
        let text = unsafe { byte_str(json, len, "json") }?;
        restored(JobManager::from_snapshot_json(text), w)
    })
}
