//! `qjob-storage-daemon`: takes `qemu-storage-daemon` 7.2's command line
//! and serves QMP over qjob's core (see `qjob_dropin::qsd`).

fn main() {
    std::process::exit(qjob_dropin::qsd::main(
        std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    ));
}
