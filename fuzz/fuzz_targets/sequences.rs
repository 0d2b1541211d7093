//! (b) Structured sequences of job creations, user commands, steps and clock
//! moves (the `arbitrary` crate), with every invariant of `qjob_tests::Checker`
//! checked after each: only table transitions, verbs accepted exactly when the
//! verb table allows, events agree with `query-jobs`, grouped transactions
//! all-or-nothing, unique IDs, no internal error, no panic. A snapshot
//! round trip is one of the operations: the restored manager must serialize
//! to the same bytes and replace the original.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qjob::JobManager;
use qjob_tests::{Checker, Command};

const NODES: [&str; 5] = ["src", "dst", "src2", "dst2", "errsrc"];
const IDS: [&str; 4] = ["j0", "j1", "j2", "j3"];

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Cmd {
    Pause,
    Resume,
    Cancel,
    SoftCancel,
    ForceCancel,
    Complete,
    Finalize,
    Dismiss,
    SetSpeed(i8),
    BlockPause,
    BlockResume,
    BlockComplete,
    BlockFinalize,
    BlockDismiss,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Backup {
        id: u8,
        src: u8,
        dst: u8,
        speed: u8,
        af: bool,
        ad: bool,
        err_policy: u8,
    },
    Mirror {
        id: u8,
        src: u8,
        dst: u8,
        speed: u8,
        af: bool,
        ad: bool,
    },
    Grouped {
        a: u8,
        b: u8,
        src_b: u8,
        speed_a: u8,
        speed_b: u8,
        af: bool,
        ad: bool,
    },
    Cmd {
        id: u8,
        cmd: Cmd,
    },
    Step,
    Settle,
    NextDeadline,
    Advance(u32),
    Snapshot,
}

fn cmd(c: Cmd) -> Command {
    match c {
        Cmd::Pause => Command::Pause,
        Cmd::Resume => Command::Resume,
        Cmd::Cancel => Command::Cancel,
        Cmd::SoftCancel => Command::SoftCancel,
        Cmd::ForceCancel => Command::ForceCancel,
        Cmd::Complete => Command::Complete,
        Cmd::Finalize => Command::Finalize,
        Cmd::Dismiss => Command::Dismiss,
        Cmd::SetSpeed(s) => Command::SetSpeed(i64::from(s)),
        Cmd::BlockPause => Command::BlockPause,
        Cmd::BlockResume => Command::BlockResume,
        Cmd::BlockComplete => Command::BlockComplete,
        Cmd::BlockFinalize => Command::BlockFinalize,
        Cmd::BlockDismiss => Command::BlockDismiss,
    }
}

const POLICIES: [&str; 5] = ["report", "ignore", "enospc", "stop", "auto"];

fn node(i: u8) -> &'static str {
    NODES[i as usize % NODES.len()]
}

fn id(i: u8) -> &'static str {
    IDS[i as usize % IDS.len()]
}

fn backup_args(id: &str, src: &str, dst: &str, speed: u8, af: bool, ad: bool, pol: &str) -> String {
    format!(
        r#"{{"job-id":"{id}","device":"{src}","target":"{dst}","sync":"full","speed":{speed},"auto-finalize":{af},"auto-dismiss":{ad},"on-source-error":"{pol}"}}"#
    )
}

fuzz_target!(|ops: Vec<Op>| {
    let mut m = JobManager::with_default_world();
    let r = m.execute(r#"{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"errsrc","file":{"driver":"blkdebug","inject-error":[{"event":"read_aio","errno":5,"once":true}],"image":{"driver":"null-co","size":67108864,"read-zeroes":false}}}}"#);
    assert_eq!(r, r#"{"return":{}}"#);
    let mut c = Checker::new();
    for op in ops.into_iter().take(200) {
        match op {
            Op::Backup {
                id: i,
                src,
                dst,
                speed,
                af,
                ad,
                err_policy,
            } => {
                let args = backup_args(
                    id(i),
                    node(src),
                    node(dst),
                    speed % 3,
                    af,
                    ad,
                    POLICIES[err_policy as usize % POLICIES.len()],
                );
                m.execute(&format!(
                    r#"{{"execute":"blockdev-backup","arguments":{args}}}"#
                ));
            }
            Op::Mirror {
                id: i,
                src,
                dst,
                speed,
                af,
                ad,
            } => {
                m.execute(&format!(
                    r#"{{"execute":"blockdev-mirror","arguments":{{"job-id":"{}","device":"{}","target":"{}","sync":"full","speed":{},"auto-finalize":{af},"auto-dismiss":{ad}}}}}"#,
                    id(i), node(src), node(dst), speed % 3
                ));
            }
            Op::Grouped {
                a,
                b,
                src_b,
                speed_a,
                speed_b,
                af,
                ad,
            } => {
                let (ia, ib) = (id(a), id(b));
                let sb = if src_b % 2 == 0 { "src2" } else { "errsrc" };
                c.expect_group([ia.to_string(), ib.to_string()]);
                let reply = m.execute(&format!(
                    r#"{{"execute":"transaction","arguments":{{"actions":[{{"type":"blockdev-backup","data":{}}},{{"type":"blockdev-backup","data":{}}}],"properties":{{"completion-mode":"grouped"}}}}}}"#,
                    backup_args(ia, "src", "dst", speed_a % 3, af, ad, "report"),
                    backup_args(ib, sb, "dst2", speed_b % 3, true, true, "report"),
                ));
                if !reply.contains("\"return\"") {
                    // Nothing of a refused transaction may survive: the
                    // checker still follows the torn-down members' events.
                    c.absorb(&mut m);
                    c.group_failed();
                }
            }
            Op::Cmd { id: i, cmd: k } => {
                let _ = c.command(&mut m, cmd(k), id(i));
            }
            Op::Step => {
                m.step();
            }
            Op::Settle => {
                m.settle();
            }
            Op::NextDeadline => {
                if let Some(d) = m.next_deadline() {
                    m.tick(d);
                }
            }
            Op::Advance(ns) => m.advance(u64::from(ns)),
            Op::Snapshot => {
                let bytes = m.to_snapshot_bytes();
                let restored =
                    JobManager::from_snapshot_bytes(&bytes).expect("own snapshot restores");
                assert_eq!(
                    restored.to_snapshot_bytes(),
                    bytes,
                    "snapshot round trip changed the state"
                );
                let json = m.to_snapshot_json();
                let from_json =
                    JobManager::from_snapshot_json(&json).expect("own JSON snapshot restores");
                assert_eq!(
                    from_json.to_snapshot_bytes(),
                    bytes,
                    "JSON and binary snapshots disagree"
                );
                m = restored;
            }
        }
        c.absorb(&mut m);
    }
});
