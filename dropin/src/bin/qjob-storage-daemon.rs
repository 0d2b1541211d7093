//! `qjob-storage-daemon`: takes `qemu-storage-daemon` 7.2's command line
//! and serves QMP over qjob's core (see `qjob_dropin::qsd`).

#![no_main]

qjob_dropin::c_main!(qjob_dropin::qsd::main);
