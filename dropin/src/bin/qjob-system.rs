//! `qjob-system`: takes the part of `qemu-system-x86_64` 7.2's command line
//! that QEMU's test harnesses pass, and serves QMP over qjob's core (see
//! `qjob_dropin::system`).

#![no_main]

qjob_dropin::c_main!(qjob_dropin::system::main);
