//! (b) Structured sequences of the one operation alphabet (`qjob_tests::Op`:
//! job creations, user commands typed or as QMP, steps, clock moves, snapshot
//! round trips), decoded from the input by `qjob_tests::ops_from_bytes` and
//! run by `qjob_tests::run_sequence`: every invariant of `qjob_tests::Checker`
//! after each operation, and every job driven to its end afterwards. The
//! property tests generate and run sequences the same way, and replay this
//! target's seeds under `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qjob_tests::{ops_from_bytes, run_sequence};

fuzz_target!(|data: &[u8]| run_sequence(&ops_from_bytes(data)));
