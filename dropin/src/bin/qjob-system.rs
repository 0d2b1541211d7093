//! `qjob-system`: takes the part of `qemu-system-x86_64` 7.2's command line
//! that QEMU's test harnesses pass, and serves QMP over qjob's core (see
//! `qjob_dropin::system`).
//!
//! The C `main` is the entry point, as in `qjob-storage-daemon` (a shorter
//! start-up than Rust's runtime gives).

#![no_main]

// SAFETY: the one `main` symbol of this executable, with C's signature;
// glibc calls it once, on the main thread, after its own start-up (which
// also hands the arguments to `std::env::args`).
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    let args = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    qjob_dropin::system::main(args)
}
