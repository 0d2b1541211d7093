//! `qjob-system`: takes the part of `qemu-system-x86_64` 7.2's command line
//! that QEMU's test harnesses pass, and serves QMP over qjob's core (see
//! `qjob_dropin::system`).

fn main() {
    let args = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(qjob_dropin::system::main(args));
}
