//! (a) Arbitrary bytes into QMP `execute`: the input is split into lines, each
//! line (as lossy UTF-8) is one QMP message; after each the manager settles and
//! the invariants that need no knowledge of the commands are checked (table
//! transitions in the event stream, events agree with `query-jobs`, unique IDs,
//! no internal error, no panic, every reply one JSON object).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qjob::JobManager;
use qjob_tests::Checker;

fuzz_target!(|data: &[u8]| {
    let mut m = JobManager::with_default_world();
    let mut c = Checker::new();
    for line in data.split(|&b| b == b'\n').take(64) {
        let text = String::from_utf8_lossy(line);
        let reply = m.execute(&text);
        assert!(
            reply.starts_with('{') && reply.ends_with('}'),
            "reply is not a JSON object: {reply}"
        );
        m.settle();
        c.absorb(&mut m);
    }
});
