//! Input: the virtual clock and the main loop. The host owns time: it runs
//! ready work with `qjob_step()` / `qjob_settle()`, moves the clock with
//! `qjob_tick()` / `qjob_advance()`, and asks `qjob_next_deadline()` when to
//! call again.

use crate::ffi::write_opt;
use crate::manager::qjob_manager;
use crate::types::qjob_result;

/// Runs one unit of ready work (the oldest bottom half, else the earliest
/// due timer). `*more` (optional, may be NULL) tells whether more work is
/// ready at the current virtual time.
///
/// Errors: `QJOB_NULL_ARGUMENT` (`m`).
///
/// # Safety
/// `m` must be NULL or a live manager; `more` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_step(m: *mut qjob_manager, more: *mut bool) -> qjob_result {
    manager_call!(m, |w| {
        let r = w.core.step();
        // SAFETY: NULL or writable, by the caller's contract.
        unsafe { write_opt(more, r) };
        Ok(qjob_result::QJOB_OK)
    })
}

/// Runs the work that is ready at the current virtual time, without moving
/// the clock (what QEMU's main loop does between two QMP commands), at most
/// 65536 units per call (the core's `SETTLE_LIMIT`; what is left stays ready).
/// `*steps` (optional, may be NULL) receives the number of units run.
///
/// Errors: `QJOB_NULL_ARGUMENT` (`m`).
///
/// # Safety
/// `m` must be NULL or a live manager; `steps` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_settle(m: *mut qjob_manager, steps: *mut usize) -> qjob_result {
    manager_call!(m, |w| {
        let n = w.core.settle();
        // SAFETY: NULL or writable, by the caller's contract.
        unsafe { write_opt(steps, n) };
        Ok(qjob_result::QJOB_OK)
    })
}

/// Moves the virtual clock to `now_ns` (never backwards: an earlier time
/// only settles) and runs the work due by then, timer by timer, at most
/// 65536 units per call (the core's `TICK_LIMIT`; what is left stays ready).
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_tick(m: *mut qjob_manager, now_ns: u64) -> qjob_result {
    manager_call!(m, |w| {
        w.core.tick(now_ns);
        Ok(qjob_result::QJOB_OK)
    })
}

/// `qjob_tick()` to `qjob_now() + ns` (saturating).
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_advance(m: *mut qjob_manager, ns: u64) -> qjob_result {
    manager_call!(m, |w| {
        w.core.advance(ns);
        Ok(qjob_result::QJOB_OK)
    })
}

/// The earliest armed timer, in `*deadline_ns`: call `qjob_tick()` with it
/// (a speed-limited job sleeps on the rate limiter; a ready mirror wakes
/// every 100 ms). A getter: it keeps borrowed pointers valid.
///
/// Returns `QJOB_OK`, or `QJOB_EMPTY` (not an error; `*deadline_ns`
/// untouched) when no timer is armed.
///
/// Errors: `QJOB_NULL_ARGUMENT` (not kept as the last error: this function
/// does not change the manager).
///
/// # Safety
/// `m` must be NULL or a live manager; `deadline_ns` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_next_deadline(
    m: *const qjob_manager,
    deadline_ns: *mut u64,
) -> qjob_result {
    if m.is_null() || deadline_ns.is_null() {
        return qjob_result::QJOB_NULL_ARGUMENT;
    }
    match manager_get!(m, Err(qjob_result::QJOB_PANIC), |w| Ok(w
        .core
        .next_deadline()))
    {
        Ok(Some(d)) => {
            // SAFETY: non-NULL (checked above), writable by the contract.
            unsafe { deadline_ns.write(d) };
            qjob_result::QJOB_OK
        }
        Ok(None) => qjob_result::QJOB_EMPTY,
        Err(code) => code,
    }
}

/// Whether `qjob_step()` would do something now (false for NULL).
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_has_ready_work(m: *const qjob_manager) -> bool {
    manager_get!(m, false, |w| w.core.has_ready_work())
}
