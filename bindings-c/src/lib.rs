//! # qjob-c — the C API of qjob
//!
//! This crate builds `libqjob.a` and `libqjob.so`, whose interface is
//! `include/qjob.h` (generated from this crate by cbindgen in `build.rs`). It
//! translates, and nothing else: every behaviour lives in the `qjob` core
//! crate; this crate converts C strings, structs and enums to the core's
//! types and back, turns the core's errors into [`qjob_result`] codes, and
//! owns the memory it lends to C.
//!
//! The rules every function follows (also at the top of `qjob.h`):
//!
//! - every entry point runs inside one panic boundary ([`ffi_boundary!`]):
//!   a panic becomes [`qjob_result::QJOB_PANIC`] (or a safe default for the
//!   few functions that return no code) and poisons the manager;
//! - every pointer argument goes through one checked-pointer helper
//!   (`ffi::checked` / `ffi::checked_mut`, and the string readers built on
//!   them), so NULL becomes [`qjob_result::QJOB_NULL_ARGUMENT`] and bad
//!   UTF-8 [`qjob_result::QJOB_INVALID_UTF8`];
//! - there is no global state: the last error and the storage behind every
//!   borrowed pointer live in the [`qjob_manager`];
//! - strings handed to C are owned by C and freed with
//!   [`qjob_string_free`]; byte buffers with [`qjob_bytes_free`].
//!
//! The functions are grouped as the core's `JobManager` groups its methods:
//! lifetime and getters ([`manager`]), commands ([`commands`], QMP JSON in
//! [`qmp`]), input from the host and the clock ([`clock`], [`host`]), and
//! output drained by `qjob_poll_*` ([`events`], [`host`]).

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
// The types and enum variants are named as C sees them (`qjob_manager`,
// `QJOB_OK`), as rustls-ffi does.
#![allow(non_camel_case_types)]

#[macro_use]
pub mod ffi;
#[macro_use]
pub mod manager;
pub mod clock;
pub mod commands;
pub mod events;
pub mod host;
pub mod qmp;
pub mod snapshot;
pub mod types;

pub use clock::*;
pub use commands::*;
pub use events::*;
pub use ffi::{qjob_bytes_free, qjob_string_free};
pub use host::*;
pub use manager::*;
pub use qmp::*;
pub use snapshot::*;
pub use types::*;

/// Major version of the library this header belongs to.
pub const QJOB_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to.
pub const QJOB_VERSION_MINOR: u32 = 1;
/// Patch version of the library this header belongs to.
pub const QJOB_VERSION_PATCH: u32 = 0;

/// The library's version, `"MAJOR.MINOR.PATCH"`.
///
/// Returns a static string (never NULL, never freed). Compare it with the
/// `QJOB_VERSION_*` macros to check that the header and the library match.
#[unsafe(no_mangle)]
pub extern "C" fn qjob_version() -> *const std::ffi::c_char {
    const V: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"?",
    };
    V.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_the_package() {
        let v = format!("{QJOB_VERSION_MAJOR}.{QJOB_VERSION_MINOR}.{QJOB_VERSION_PATCH}");
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
        // SAFETY: qjob_version returns a static NUL-terminated string.
        let s = unsafe { std::ffi::CStr::from_ptr(qjob_version()) };
        assert_eq!(s.to_str().unwrap(), v);
    }
}
