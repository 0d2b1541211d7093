//! The result code and the enums of the C API, their conversions to and from
//! the core's types, and their names.
//!
//! Enums the library returns are C enums. Enum values the caller passes in
//! (in arguments and option structs) are plain `uint32_t`s holding one of
//! those enums' values, so that an out-of-range number is refused with
//! `QJOB_INVALID_ARGUMENT` instead of being undefined behaviour.

use crate::ffi::Fail;
use qjob_core::{ErrorAction, ErrorClass, IoOperation, IoStatus, JobStatus, JobType, JobVerb};
use qjob_core::{OnError, SyncMode};
use std::ffi::{CStr, c_char};

/// The result of a call. `QJOB_OK` (0) and `QJOB_EMPTY` are not errors; every
/// other code is, and the manager (when there is one) keeps its text for
/// `qjob_last_error_desc()`.
/// cbindgen:rename-all=None
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_result {
    /// Success.
    QJOB_OK = 0,
    /// Nothing to return: no queued event or action, no armed timer. Not an error.
    QJOB_EMPTY = 1,
    /// A required pointer argument was NULL.
    QJOB_NULL_ARGUMENT = 2,
    /// A string argument was not valid UTF-8.
    QJOB_INVALID_UTF8 = 3,
    /// An argument was out of range (an enum value, a malformed JSON text for
    /// `qjob_json_sorted`, …).
    QJOB_INVALID_ARGUMENT = 4,
    /// The core refused the command, as QEMU would: the error class and
    /// QEMU's text are in `qjob_last_error_class()` / `qjob_last_error_desc()`.
    QJOB_QMP_ERROR = 5,
    /// No job with that ID or handle.
    QJOB_NOT_FOUND = 6,
    /// A snapshot could not be restored (corrupt, truncated, other version).
    QJOB_SNAPSHOT_ERROR = 7,
    /// A Rust panic was caught (a bug in qjob). The manager is poisoned: every
    /// later call on it returns `QJOB_PANIC`; free it.
    QJOB_PANIC = 99,
}

impl qjob_result {
    const fn name(self) -> &'static CStr {
        match self {
            qjob_result::QJOB_OK => c"QJOB_OK",
            qjob_result::QJOB_EMPTY => c"QJOB_EMPTY",
            qjob_result::QJOB_NULL_ARGUMENT => c"QJOB_NULL_ARGUMENT",
            qjob_result::QJOB_INVALID_UTF8 => c"QJOB_INVALID_UTF8",
            qjob_result::QJOB_INVALID_ARGUMENT => c"QJOB_INVALID_ARGUMENT",
            qjob_result::QJOB_QMP_ERROR => c"QJOB_QMP_ERROR",
            qjob_result::QJOB_NOT_FOUND => c"QJOB_NOT_FOUND",
            qjob_result::QJOB_SNAPSHOT_ERROR => c"QJOB_SNAPSHOT_ERROR",
            qjob_result::QJOB_PANIC => c"QJOB_PANIC",
        }
    }

    const ALL: [qjob_result; 9] = [
        qjob_result::QJOB_OK,
        qjob_result::QJOB_EMPTY,
        qjob_result::QJOB_NULL_ARGUMENT,
        qjob_result::QJOB_INVALID_UTF8,
        qjob_result::QJOB_INVALID_ARGUMENT,
        qjob_result::QJOB_QMP_ERROR,
        qjob_result::QJOB_NOT_FOUND,
        qjob_result::QJOB_SNAPSHOT_ERROR,
        qjob_result::QJOB_PANIC,
    ];
}

/// The name of a result code (`"QJOB_OK"`, …), a static string; NULL for a
/// number that is not a `qjob_result`.
#[unsafe(no_mangle)]
pub extern "C" fn qjob_result_name(result: u32) -> *const c_char {
    ffi_boundary!(std::ptr::null(), {
        qjob_result::ALL
            .iter()
            .find(|r| **r as u32 == result)
            .map_or(std::ptr::null(), |r| r.name().as_ptr())
    })
}

/// The class of a QMP error (QAPI `QapiErrorClass`), as kept by the manager.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_error_class {
    /// No QMP error: the last call succeeded, or failed in the binding
    /// (NULL argument, bad UTF-8, …) rather than in the core.
    None = 0,
    /// `GenericError`: almost every error.
    GenericError = 1,
    /// `CommandNotFound`.
    CommandNotFound = 2,
    /// `DeviceNotActive`: a `block-job-*` command named no block job.
    DeviceNotActive = 3,
    /// `DeviceNotFound`.
    DeviceNotFound = 4,
}

impl From<Option<ErrorClass>> for qjob_error_class {
    fn from(c: Option<ErrorClass>) -> Self {
        match c {
            None => qjob_error_class::None,
            Some(ErrorClass::GenericError) => qjob_error_class::GenericError,
            Some(ErrorClass::CommandNotFound) => qjob_error_class::CommandNotFound,
            Some(ErrorClass::DeviceNotActive) => qjob_error_class::DeviceNotActive,
            Some(ErrorClass::DeviceNotFound) => qjob_error_class::DeviceNotFound,
        }
    }
}

/// Implements, for a C enum mirroring a core QAPI enum: the conversions
/// both ways, parsing from a `u32` argument, and the static NUL-terminated
/// QAPI names (the core's `as_c_str`). The enums themselves are written
/// out, because cbindgen does not expand macros; the conversions match on
/// every variant both ways, so a value added to the core enum does not
/// compile until it is added here.
macro_rules! c_enum_impl {
    ($name:ident <=> $core:ident, $what:literal { $( $variant:ident ),+ $(,)? }) => {
        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The QAPI spelling, NUL-terminated.
            pub const fn name(self) -> &'static CStr {
                match self { $($name::$variant => $core::$variant.as_c_str()),+ }
            }

            /// Reads a value passed by C as a number.
            pub fn from_u32(v: u32, arg: &str) -> Result<$name, Fail> {
                $name::ALL.iter().copied().find(|x| *x as u32 == v).ok_or_else(|| {
                    Fail::invalid(format!(concat!("'{}' = {} is not a ", $what), arg, v))
                })
            }

            /// Reads a core value passed by C as a number (an options
            /// struct's `uint32_t` field `arg`).
            pub fn parse(v: u32, arg: &str) -> Result<$core, Fail> {
                $name::from_u32(v, arg).map($core::from)
            }

            /// The number C holds for a core value (in an options struct).
            pub fn raw(c: $core) -> u32 {
                $name::from(c) as u32
            }
        }

        impl From<$core> for $name {
            fn from(c: $core) -> $name {
                match c { $($core::$variant => $name::$variant),+ }
            }
        }

        impl From<$name> for $core {
            fn from(c: $name) -> $core {
                match c { $($name::$variant => $core::$variant),+ }
            }
        }
    };
}

/// The status of a job (QAPI `JobStatus`), in QAPI order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_status {
    /// Zero value; never a job's status (also: "no status" in an event).
    Undefined = 0,
    /// Created, not started.
    Created = 1,
    /// Running.
    Running = 2,
    /// Paused (was running).
    Paused = 3,
    /// Running and ready to be completed.
    Ready = 4,
    /// Paused (was ready).
    Standby = 5,
    /// Work done; waiting for the other members of its transaction.
    Waiting = 6,
    /// Every member is done; waiting to be finalized.
    Pending = 7,
    /// Failing or cancelled; about to conclude with an error.
    Aborting = 8,
    /// Finished; visible until dismissed.
    Concluded = 9,
    /// Torn down; gone from every query.
    Null = 10,
}

c_enum_impl!(qjob_status <=> JobStatus, "qjob_status" {
    Undefined,
    Created,
    Running,
    Paused,
    Ready,
    Standby,
    Waiting,
    Pending,
    Aborting,
    Concluded,
    Null,
});

/// The type of a job (QAPI `JobType`), in QAPI order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_job_type {
    /// `block-commit` (and active commit).
    Commit = 0,
    /// `block-stream`.
    Stream = 1,
    /// `blockdev-mirror`.
    Mirror = 2,
    /// `blockdev-backup`.
    Backup = 3,
    /// `blockdev-create`.
    Create = 4,
    /// `x-blockdev-amend`.
    Amend = 5,
    /// `snapshot-load`.
    SnapshotLoad = 6,
    /// `snapshot-save`.
    SnapshotSave = 7,
    /// `snapshot-delete`.
    SnapshotDelete = 8,
}

c_enum_impl!(qjob_job_type <=> JobType, "qjob_job_type" {
    Commit,
    Stream,
    Mirror,
    Backup,
    Create,
    Amend,
    SnapshotLoad,
    SnapshotSave,
    SnapshotDelete,
});

/// A verb that can be applied to a job (QAPI `JobVerb`), in QAPI order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_verb {
    /// `job-cancel`, `block-job-cancel`.
    Cancel = 0,
    /// `job-pause`, `block-job-pause`.
    Pause = 1,
    /// `job-resume`, `block-job-resume`.
    Resume = 2,
    /// `block-job-set-speed`.
    SetSpeed = 3,
    /// `job-complete`, `block-job-complete`.
    Complete = 4,
    /// `job-dismiss`, `block-job-dismiss`.
    Dismiss = 5,
    /// `job-finalize`, `block-job-finalize`.
    Finalize = 6,
    /// `block-job-change` (QEMU 10.0 managers only).
    Change = 7,
}

c_enum_impl!(qjob_verb <=> JobVerb, "qjob_verb" {
    Cancel,
    Pause,
    Resume,
    SetSpeed,
    Complete,
    Dismiss,
    Finalize,
    Change,
});

/// Error policy of a block job (QAPI `BlockdevOnError`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_on_error {
    /// Fail the job (the default).
    Report = 0,
    /// Ignore the error and retry later.
    Ignore = 1,
    /// Stop on `ENOSPC`, report anything else.
    Enospc = 2,
    /// Pause the job as if the user had paused it.
    Stop = 3,
    /// Like `enospc` in the job layer.
    Auto = 4,
}

c_enum_impl!(qjob_on_error <=> OnError, "qjob_on_error" {
    Report,
    Ignore,
    Enospc,
    Stop,
    Auto,
});

/// What a block job did about an I/O error (QAPI `BlockErrorAction`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_error_action {
    /// The job fails.
    Report = 0,
    /// The job goes on.
    Ignore = 1,
    /// The job pauses until resumed.
    Stop = 2,
}

c_enum_impl!(qjob_error_action <=> ErrorAction, "qjob_error_action" {
    Report,
    Ignore,
    Stop,
});

/// Which way an I/O went (QAPI `IoOperationType`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_io_operation {
    /// A read (source side).
    Read = 0,
    /// A write (target side).
    Write = 1,
}

c_enum_impl!(qjob_io_operation <=> IoOperation, "qjob_io_operation" {
    Read,
    Write,
});

/// I/O status of a block job (QAPI `BlockDeviceIoStatus`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_io_status {
    /// No error.
    Ok = 0,
    /// An error other than `ENOSPC` stopped the job.
    Failed = 1,
    /// `ENOSPC` stopped the job.
    Nospace = 2,
}

c_enum_impl!(qjob_io_status <=> IoStatus, "qjob_io_status" {
    Ok,
    Failed,
    Nospace,
});

/// Sync mode of a backup or mirror (QAPI `MirrorSyncMode`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum qjob_sync_mode {
    /// Only what is allocated in the top image.
    Top = 0,
    /// Everything (the default).
    Full = 1,
    /// Only new writes.
    None = 2,
    /// Incremental, from a dirty bitmap.
    Incremental = 3,
    /// From a dirty bitmap.
    Bitmap = 4,
}

c_enum_impl!(qjob_sync_mode <=> SyncMode, "qjob_sync_mode" {
    Top,
    Full,
    None,
    Incremental,
    Bitmap,
});

/// The QAPI name of a `qjob_status` value (`"running"`, …): a static string,
/// or NULL for a number that is not a `qjob_status`.
#[unsafe(no_mangle)]
pub extern "C" fn qjob_status_name(status: u32) -> *const c_char {
    ffi_boundary!(std::ptr::null(), {
        qjob_status::from_u32(status, "status").map_or(std::ptr::null(), |s| s.name().as_ptr())
    })
}

/// The QAPI name of a `qjob_job_type` value (`"backup"`, …): a static
/// string, or NULL for a number that is not a `qjob_job_type`.
#[unsafe(no_mangle)]
pub extern "C" fn qjob_job_type_name(job_type: u32) -> *const c_char {
    ffi_boundary!(std::ptr::null(), {
        qjob_job_type::from_u32(job_type, "job_type")
            .map_or(std::ptr::null(), |s| s.name().as_ptr())
    })
}

/// The QAPI name of a `qjob_verb` value (`"set-speed"`, …): a static string,
/// or NULL for a number that is not a `qjob_verb`.
#[unsafe(no_mangle)]
pub extern "C" fn qjob_verb_name(verb: u32) -> *const c_char {
    ffi_boundary!(std::ptr::null(), {
        qjob_verb::from_u32(verb, "verb").map_or(std::ptr::null(), |s| s.name().as_ptr())
    })
}

/// The QMP spelling of a `qjob_error_class` value (`"GenericError"`, …): a
/// static string; `""` for `QJOB_ERROR_CLASS_NONE`; NULL for a number that is
/// not a `qjob_error_class`.
#[unsafe(no_mangle)]
pub extern "C" fn qjob_error_class_name(class: u32) -> *const c_char {
    ffi_boundary!(std::ptr::null(), {
        if class == qjob_error_class::None as u32 {
            return c"".as_ptr();
        }
        ErrorClass::ALL
            .iter()
            .find(|&&c| qjob_error_class::from(Some(c)) as u32 == class)
            .map_or(std::ptr::null(), |c| c.as_c_str().as_ptr())
    })
}

/// The static NUL-terminated spelling of an error class (`""` for none).
pub(crate) const fn error_class_cstr(c: Option<ErrorClass>) -> &'static CStr {
    match c {
        None => c"",
        Some(c) => c.as_c_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(p: *const c_char) -> &'static str {
        assert!(!p.is_null());
        // SAFETY: the name functions return static NUL-terminated strings.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap()
    }

    #[test]
    fn names_match_the_core() {
        // Each C enum has the core's values, numbered in QAPI order (the
        // header says so), named as the core names them.
        macro_rules! same {
            ($($c:ident <=> $core:ident),+ $(,)?) => {$(
                assert_eq!($c::ALL.len(), $core::ALL.len());
                for &v in $core::ALL {
                    assert_eq!($c::from(v) as usize, v.index());
                    assert_eq!($core::from($c::from(v)), v);
                    assert_eq!($c::from(v).name().to_str(), Ok(v.as_str()));
                }
            )+};
        }
        same!(
            qjob_status <=> JobStatus,
            qjob_job_type <=> JobType,
            qjob_verb <=> JobVerb,
            qjob_on_error <=> OnError,
            qjob_error_action <=> ErrorAction,
            qjob_io_operation <=> IoOperation,
            qjob_io_status <=> IoStatus,
            qjob_sync_mode <=> SyncMode,
        );
        for &st in JobStatus::ALL {
            let v = qjob_status::from(st) as u32;
            assert_eq!(s(qjob_status_name(v)), st.as_str());
        }
        for &t in JobType::ALL {
            let v = qjob_job_type::from(t) as u32;
            assert_eq!(s(qjob_job_type_name(v)), t.as_str());
        }
        for &v in JobVerb::ALL {
            assert_eq!(s(qjob_verb_name(qjob_verb::from(v) as u32)), v.as_str());
        }
        for &c in ErrorClass::ALL {
            let v = qjob_error_class::from(Some(c)) as u32;
            assert_eq!(s(qjob_error_class_name(v)), c.as_str());
        }
        assert_eq!(s(qjob_error_class_name(0)), "");
        assert!(qjob_error_class_name(ErrorClass::ALL.len() as u32 + 1).is_null());
        assert!(qjob_status_name(11).is_null());
        for r in qjob_result::ALL {
            assert!(s(qjob_result_name(r as u32)).starts_with("QJOB_"));
        }
        assert!(qjob_result_name(1000).is_null());
    }
}
