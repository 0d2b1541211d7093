//! # qjob-dropin — the pieces of qjob's drop-in QEMU binaries
//!
//! qjob's core is sans-I/O: it knows image files only as metadata in an
//! in-memory table. The drop-in binaries (which take QEMU's command line and
//! speak QMP on a socket) need the real files: this crate reads qcow2 and raw
//! images from disk into that metadata and writes the empty images that job
//! commands create, laid out as QEMU 7.2 lays them out. See [`image`].
//!
//! Data is never copied: a job in qjob moves no guest data, so the images
//! qjob creates hold metadata only, and reading an image looks at its
//! metadata (and, for raw files, which parts of the file are allocated).

#![deny(missing_docs)]

pub mod chardev;
pub mod clock;
pub mod cmdline;
pub mod files;
pub mod host;
pub mod image;
pub mod monitor;
pub mod opts;
pub mod process;
pub mod qsd;
pub mod qtest;
pub mod system;
pub mod texts;

/// Defines the C `main` of a binary as `$run(args)` (the arguments as
/// strings), instead of Rust's runtime start-up: that start-up's
/// stack-guard probe (it parses `/proc/self/maps`) and signal stacks were a
/// fifth of the instructions from `exec` to the QMP greeting. The binary
/// must be `#![no_main]`.
#[macro_export]
macro_rules! c_main {
    ($run:path) => {
        // SAFETY: the one `main` symbol of this executable, with C's
        // signature; glibc calls it once, on the main thread, after its own
        // start-up (which also hands the arguments to `std::env::args`).
        #[unsafe(no_mangle)]
        extern "C" fn main(
            _argc: std::ffi::c_int,
            _argv: *const *const std::ffi::c_char,
        ) -> std::ffi::c_int {
            let args = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            $run(args)
        }
    };
}
