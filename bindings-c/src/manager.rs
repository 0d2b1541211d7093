//! The opaque `qjob_manager`: its lifetime, the last error, getters, and the
//! world the scenario format adds (image files, `machine` mode).
//!
//! Every other module reaches the manager through [`with_manager`] (mutable
//! calls) or [`with_manager_ref`] (getters), which hold the panic boundary,
//! the checked pointer access and the last-error bookkeeping in one place.

use crate::ffi::{
    Fail, FfiResult, byte_str, c_str, checked, opt_c_str, owned_string, require, write_opt,
    write_out,
};
use crate::types::{error_class_cstr, qjob_error_class, qjob_result};
use qjob_core::{ErrorClass, ImageFile, JobManager};
use std::ffi::{CString, c_char};

/// The entry of every function that takes a non-const `qjob_manager *`:
/// `manager_call!(m, |w| body)` runs `body` (an [`FfiResult`]) on the
/// manager through [`with_manager`] (panic boundary, checked pointer, last
/// error). The body's own unsafe operations keep their own `unsafe` blocks.
macro_rules! manager_call {
    ($m:expr, |$w:ident| $body:expr) => {{
        #[allow(unused_mut)]
        let f = |$w: &mut $crate::manager::qjob_manager| -> $crate::ffi::FfiResult { $body };
        // SAFETY: every entry point's contract requires its manager argument
        // to be NULL or a live manager that no other call is using, which
        // is with_manager's contract.
        unsafe { $crate::manager::with_manager($m, f) }
    }};
}

/// The entry of the getters that take a `const qjob_manager *`:
/// `manager_get!(m, default, |w| value)` through [`with_manager_ref`].
macro_rules! manager_get {
    ($m:expr, $default:expr, |$w:ident| $body:expr) => {{
        let f = |$w: &$crate::manager::qjob_manager| $body;
        // SAFETY: every getter's contract requires its manager argument to be
        // NULL or a live manager that no call is mutating, which is
        // with_manager_ref's contract.
        unsafe { $crate::manager::with_manager_ref($m, $default, f) }
    }};
}

/// A job manager: QEMU 7.2's job layer with its block nodes, jobs, events
/// and virtual clock (the core's `JobManager`), plus the last error and the
/// storage behind the pointers it lends to C.
///
/// Opaque to C: create it with `qjob_manager_new()` or
/// `qjob_manager_new_empty()`, free it with `qjob_manager_free()`. Use one
/// manager from one thread at a time.
pub struct qjob_manager {
    /// The core.
    pub(crate) core: JobManager,
    /// The last failure of a call on this manager (cleared by each call).
    last_error: Option<LastError>,
    /// True while a call runs; still true after a panic, which poisons the
    /// manager.
    in_call: bool,
    /// Storage behind borrowed pointers (events, queries).
    pub(crate) lent: Lent,
    /// The event the last `qjob_poll_event*()` popped (for
    /// `qjob_last_event_line()`).
    pub(crate) last_event: Option<qjob_core::Event>,
    /// The reply of the last `qjob_execute()` (for `qjob_last_reply_line()`).
    pub(crate) last_reply: Option<qjob_core::qmp::Reply>,
}

/// The last error, kept as C strings so that pointers to it can be lent.
struct LastError {
    code: qjob_result,
    class: Option<ErrorClass>,
    desc: CString,
}

/// Buffers behind the borrowed pointers of the last event and query.
#[derive(Default)]
pub(crate) struct Lent {
    /// `qjob_event.job_id`.
    pub event_id: Vec<u8>,
    /// `qjob_event.error`.
    pub event_error: Vec<u8>,
    /// Strings of the last query result.
    pub strings: Vec<CString>,
    /// `qjob_query_jobs` entries.
    pub jobs: Vec<crate::commands::qjob_job_info>,
    /// `qjob_query_block_jobs` entries.
    pub block_jobs: Vec<crate::commands::qjob_block_job_info>,
}

impl qjob_manager {
    /// Wraps a core manager.
    pub(crate) fn wrap(core: JobManager) -> qjob_manager {
        qjob_manager {
            core,
            last_error: None,
            in_call: false,
            lent: Lent::default(),
            last_event: None,
            last_reply: None,
        }
    }

    #[cold]
    fn set_error(&mut self, f: Fail) {
        self.last_error = Some(LastError {
            code: f.code,
            class: f.class,
            desc: crate::ffi::c_string(&f.desc),
        });
    }
}

fn boxed(core: JobManager) -> *mut qjob_manager {
    Box::into_raw(Box::new(qjob_manager::wrap(core)))
}

/// Runs `f` on the manager behind `m`: the entry path of every call that
/// takes a non-const `qjob_manager *`.
///
/// It checks `m`, refuses a poisoned manager,
/// clears the last error, runs `f` inside the panic boundary, and keeps `f`'s
/// failure as the last error.
/// A panic in `f` poisons the manager and returns `QJOB_PANIC`.
///
/// # Safety
/// `m` must be NULL or a pointer from `qjob_manager_new*` not yet freed, and
/// not in use by another call.
#[inline(always)]
pub unsafe fn with_manager(
    m: *mut qjob_manager,
    f: impl FnOnce(&mut qjob_manager) -> FfiResult,
) -> qjob_result {
    // SAFETY: the caller's contract: NULL or a live, unaliased manager.
    let Some(w) = (unsafe { m.as_mut() }) else {
        return qjob_result::QJOB_NULL_ARGUMENT;
    };
    if w.in_call {
        return qjob_result::QJOB_PANIC;
    }
    w.in_call = true;
    if w.last_error.is_some() {
        w.last_error = None;
    }
    match ffi_boundary!(None, Some(f(&mut *w))) {
        Some(Ok(code)) => {
            w.in_call = false;
            code
        }
        Some(Err(e)) => {
            w.in_call = false;
            let code = e.code;
            w.set_error(e);
            code
        }
        None => {
            // The panic leaves `in_call` set: the manager is poisoned. Say why.
            w.set_error(Fail::new(
                qjob_result::QJOB_PANIC,
                "internal error: qjob panicked; this manager is poisoned, free it",
            ));
            qjob_result::QJOB_PANIC
        }
    }
}

/// Runs a getter `f` on the manager behind a `const qjob_manager *`, inside
/// the panic boundary; `default` for NULL or a panic. Getters also work on a
/// poisoned manager (so that its last error can be read).
///
/// # Safety
/// `m` must be NULL or a live manager that no call is mutating.
pub unsafe fn with_manager_ref<T>(
    m: *const qjob_manager,
    default: T,
    f: impl FnOnce(&qjob_manager) -> T,
) -> T {
    // SAFETY: the caller's contract: NULL or a live manager.
    match unsafe { checked(m, "manager") } {
        Ok(w) => ffi_boundary!(default, f(w)),
        Err(_) => default,
    }
}

/// The body of the functions that hand over a line of text the manager
/// makes (`qjob_last_reply_line()`, `qjob_last_event_line()`): `*line` is
/// set to NULL, then to the owned text `text` makes, or the result is
/// `QJOB_EMPTY` when it makes none.
///
/// # Safety
/// `m` must be NULL or a live manager; `line` NULL or writable.
pub(crate) unsafe fn owned_line(
    m: *mut qjob_manager,
    line: *mut *mut c_char,
    text: impl FnOnce(&qjob_manager) -> Option<String>,
) -> qjob_result {
    // SAFETY: NULL or writable, by the caller's contract.
    unsafe { write_opt(line, std::ptr::null_mut()) };
    manager_call!(m, |w| {
        require(line.cast_const(), "line")?;
        let Some(t) = text(w) else {
            return Ok(qjob_result::QJOB_EMPTY);
        };
        // SAFETY: checked non-NULL above; writable by the caller's contract.
        unsafe { write_out(line, "line", owned_string(t)) }?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// A new manager with the default world of the scenario format: four
/// 64 MiB `null-co` nodes reading zeroes, `src`, `dst`, `src2`, `dst2`, no
/// jobs, virtual time 0.
///
/// Returns an owned pointer (free it with `qjob_manager_free()`), or NULL if
/// the allocation failed inside a caught panic.
#[unsafe(no_mangle)]
pub extern "C" fn qjob_manager_new() -> *mut qjob_manager {
    ffi_boundary!(
        std::ptr::null_mut(),
        boxed(JobManager::with_default_world())
    )
}

/// A new manager with the default world (as `qjob_manager_new()`)
/// reproducing the QEMU named by `qemu`: `"7.2"` (what `qjob_manager_new()`
/// makes) or `"10.0"`.
///
/// Returns an owned pointer (free it with `qjob_manager_free()`), or NULL if
/// `qemu` is NULL or names no version qjob reproduces.
///
/// # Safety
/// `qemu` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_manager_new_with_version(
    qemu: *const std::ffi::c_char,
) -> *mut qjob_manager {
    ffi_boundary!(std::ptr::null_mut(), {
        if qemu.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: non-NULL and NUL-terminated, by the caller's contract.
        let name = unsafe { std::ffi::CStr::from_ptr(qemu) };
        match name.to_str().ok().and_then(qjob_core::QemuVersion::parse) {
            Some(v) => boxed(JobManager::with_default_world_version(v)),
            None => std::ptr::null_mut(),
        }
    })
}

/// A new manager with no block nodes and no jobs (add nodes with
/// `blockdev-add` through `qjob_execute()`).
///
/// Returns an owned pointer (free it with `qjob_manager_free()`), or NULL if
/// the allocation failed inside a caught panic.
#[unsafe(no_mangle)]
pub extern "C" fn qjob_manager_new_empty() -> *mut qjob_manager {
    ffi_boundary!(std::ptr::null_mut(), boxed(JobManager::new()))
}

/// Frees a manager and everything it lent (event and query strings, error
/// texts). NULL is ignored. Owned strings and buffers returned earlier stay
/// valid (free them separately).
///
/// # Safety
/// `m` must be NULL or a pointer from `qjob_manager_new*` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_manager_free(m: *mut qjob_manager) {
    ffi_boundary!((), {
        if !m.is_null() {
            // SAFETY: the caller guarantees `m` came from `Box::into_raw` in
            // `qjob_manager_new*` and is freed once.
            drop(unsafe { Box::from_raw(m) });
        }
    })
}

/// The code of the last failed call on `m` (`QJOB_OK` if the last call
/// succeeded, or `m` is NULL).
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_last_error_code(m: *const qjob_manager) -> qjob_result {
    manager_get!(m, qjob_result::QJOB_OK, |w| w
        .last_error
        .as_ref()
        .map_or(qjob_result::QJOB_OK, |e| e.code))
}

/// The QMP error class of the last failed call on `m`:
/// `QJOB_ERROR_CLASS_NONE` when the last call succeeded, when it failed in
/// the binding (NULL argument, bad UTF-8, …), or when `m` is NULL.
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_last_error_class(m: *const qjob_manager) -> qjob_error_class {
    manager_get!(m, qjob_error_class::None, |w| qjob_error_class::from(
        w.last_error.as_ref().and_then(|e| e.class)
    ))
}

/// The QMP spelling of `qjob_last_error_class()` (`"GenericError"`, …), a
/// static string; `""` when there is no QMP error class.
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_last_error_class_name(m: *const qjob_manager) -> *const c_char {
    manager_get!(m, c"".as_ptr(), |w| error_class_cstr(
        w.last_error.as_ref().and_then(|e| e.class)
    )
    .as_ptr())
}

/// The text of the last failed call on `m`: QEMU's `desc` for a
/// `QJOB_QMP_ERROR`, the binding's explanation otherwise; `""` when the last
/// call succeeded or `m` is NULL.
///
/// Borrowed: valid until the next non-const call on `m`.
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_last_error_desc(m: *const qjob_manager) -> *const c_char {
    manager_get!(m, c"".as_ptr(), |w| w
        .last_error
        .as_ref()
        .map_or(c"".as_ptr(), |e| e.desc.as_ptr()))
}

/// The virtual clock, in nanoseconds (0 for NULL).
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_now(m: *const qjob_manager) -> u64 {
    manager_get!(m, 0, |w| w.core.now())
}

/// Makes the VM-only commands (`snapshot-save`, `snapshot-load`,
/// `snapshot-delete`) available, as in `qemu-system-*` (the scenario
/// directive `{"machine": "none"}`).
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_set_machine(m: *mut qjob_manager, machine: bool) -> qjob_result {
    manager_call!(m, |w| {
        w.core.set_machine(machine);
        Ok(qjob_result::QJOB_OK)
    })
}

/// Gives the machine a PCI bus, as QEMU's default `pc` machine has (the
/// scenario directive `{"machine": "pc"}`); implies `qjob_set_machine(m,
/// true)` when `pci` is true. `virtio-blk` devices need it.
///
/// Errors: `QJOB_NULL_ARGUMENT`.
///
/// # Safety
/// `m` must be NULL or a live manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_set_pci_bus(m: *mut qjob_manager, pci: bool) -> qjob_result {
    manager_call!(m, |w| {
        w.core.set_pci_bus(pci);
        Ok(qjob_result::QJOB_OK)
    })
}

/// QEMU's `-drive` with its options as a JSON object of strings (`len`
/// bytes of UTF-8 at `opts_json`; the scenario directive `drive`), e.g.
/// `{"if": "none", "id": "d0", "driver": "null-co"}`: a BlockBackend
/// (and, for `if=virtio`, its device) over the nodes the options describe.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`,
/// `QJOB_INVALID_ARGUMENT` (`opts_json` is not a JSON object),
/// `QJOB_QMP_ERROR` (QEMU refuses the drive: its text is the last error;
/// nothing is left behind).
///
/// # Safety
/// `m` must be NULL or a live manager; `opts_json` NULL or valid for `len`
/// bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_drive_add(
    m: *mut qjob_manager,
    opts_json: *const c_char,
    len: usize,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or `len` readable bytes, by the caller's contract.
        let text = unsafe { byte_str(opts_json, len, "opts_json") }?;
        let value = qjob_core::qmp::json::parse_strict(text)
            .map_err(|e| Fail::invalid(format!("'opts_json' is not one JSON value: {e}")))?;
        let serde_json::Value::Object(opts) = value else {
            return Err(Fail::invalid("'opts_json' is not a JSON object"));
        };
        w.core.drive_add(&opts)?;
        Ok(qjob_result::QJOB_OK)
    })
}

/// One extent of data in a simulated image file.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct qjob_extent {
    /// Offset in bytes.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// A simulated image file (the scenario directive `image`): what a `file`
/// node opened on `file` will find.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct qjob_image {
    /// File name (relative, as commands name it). Required.
    pub file: *const c_char,
    /// `"qcow2"` or `"raw"`. Required.
    pub format: *const c_char,
    /// Virtual size in bytes.
    pub size: u64,
    /// Backing file name, or NULL for none.
    pub backing: *const c_char,
    /// Extents holding data (`data_len` of them); may be NULL when `data_len` is 0.
    pub data: *const qjob_extent,
    /// Number of extents in `data`.
    pub data_len: usize,
}

/// Adds (or replaces) a simulated image file. The image is copied; `image`
/// and its strings are only read during the call.
///
/// Errors: `QJOB_NULL_ARGUMENT`, `QJOB_INVALID_UTF8`.
///
/// # Safety
/// `m` must be NULL or a live manager; `image` NULL or a valid `qjob_image`
/// whose pointers are NULL or valid (`data` for `data_len` extents).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qjob_add_image(
    m: *mut qjob_manager,
    image: *const qjob_image,
) -> qjob_result {
    manager_call!(m, |w| {
        // SAFETY: NULL or a valid qjob_image, by the caller's contract.
        let img = unsafe { checked(image, "image") }?;
        // SAFETY: the image's strings are NULL or NUL-terminated (contract).
        let file = unsafe { c_str(img.file, "image.file") }?;
        // SAFETY: as above.
        let format = unsafe { c_str(img.format, "image.format") }?;
        // SAFETY: as above.
        let backing = unsafe { opt_c_str(img.backing, "image.backing") }?;
        let data: &[qjob_extent] = if img.data_len == 0 {
            &[]
        } else {
            if img.data.is_null() {
                return Err(Fail::new(
                    qjob_result::QJOB_NULL_ARGUMENT,
                    "'image.data' is NULL",
                ));
            }
            if img.data_len > isize::MAX as usize / size_of::<qjob_extent>() {
                return Err(Fail::invalid("'image.data_len' is too large"));
            }
            // SAFETY: non-NULL, and the caller guarantees `data_len` valid
            // extents.
            unsafe { std::slice::from_raw_parts(img.data, img.data_len) }
        };
        w.core.add_image(
            file,
            ImageFile {
                format: format.to_owned(),
                size: img.size,
                backing: backing.map(str::to_owned),
                data: data.iter().map(|e| (e.offset, e.length)).collect(),
                ..Default::default()
            },
        );
        Ok(qjob_result::QJOB_OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn a_panic_poisons_the_manager() {
        let m = qjob_manager_new();
        let r = manager_call!(m, |w| {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            let _ = w;
            Ok(qjob_result::QJOB_OK)
        });
        assert_eq!(r, qjob_result::QJOB_PANIC);
        // SAFETY: m is live.
        let desc = unsafe { CStr::from_ptr(qjob_last_error_desc(m)) };
        assert!(desc.to_str().unwrap().contains("poisoned"));
        // Every later call is refused.
        let r = manager_call!(m, |_w| Ok(qjob_result::QJOB_OK));
        assert_eq!(r, qjob_result::QJOB_PANIC);
        // SAFETY: m is live.
        assert_eq!(unsafe { qjob_last_error_code(m) }, qjob_result::QJOB_PANIC);
        // SAFETY: m is live and freed once.
        unsafe { qjob_manager_free(m) };
    }
}
