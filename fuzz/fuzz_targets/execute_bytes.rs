//! (a) Arbitrary bytes into QMP `execute`: the input is split into lines, each
//! line (as lossy UTF-8) is one QMP message; after each the manager settles and
//! `qjob_tests::Checker` checks every invariant that needs no knowledge of the
//! commands: each reply one JSON object (a return or an error), table
//! transitions in the event stream, events agree with `query-jobs` and
//! `query-block-jobs`, unique IDs, no internal error, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qjob::JobManager;
use qjob_tests::Checker;

fuzz_target!(|data: &[u8]| {
    let mut m = JobManager::with_default_world();
    let mut c = Checker::new();
    for line in data.split(|&b| b == b'\n').take(64) {
        c.execute(&mut m, &String::from_utf8_lossy(line));
        m.settle();
        c.absorb(&mut m);
    }
});
