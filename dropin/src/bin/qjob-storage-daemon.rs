//! `qjob-storage-daemon`: takes `qemu-storage-daemon` 7.2's command line
//! and serves QMP over qjob's core (see `qjob_dropin::qsd`).
//!
//! The C `main` is the entry point, not Rust's runtime start-up: that
//! start-up's stack-guard probe (it parses `/proc/self/maps`) and signal
//! stacks were a fifth of the instructions from `exec` to the QMP greeting.

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
    qjob_dropin::qsd::main(args)
}
