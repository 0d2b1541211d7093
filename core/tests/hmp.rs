//! `human-monitor-command` with `qemu-io`: what qemu-io prints goes to the
//! emulator's output (not into the reply), as iotests 185 and 056 read it;
//! writes land in the image (a later job sees them) and move the
//! `wr_highest_offset` (`query-blockstats`) of the nodes they reach (the
//! scenarios `blockstats-*` check the replies against QEMU's; these check
//! what they do not reach).

use qjob::{ConsoleOutput, ImageFile, JobManager, OutputStream};
use serde_json::{Value, json};

fn hmp(m: &mut JobManager, line: &str) -> Value {
    m.execute_value(&json!({"execute": "human-monitor-command",
        "arguments": {"command-line": line}}))
}

fn output(m: &mut JobManager) -> Vec<ConsoleOutput> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

fn machine() -> JobManager {
    let mut m = JobManager::with_default_world();
    m.set_machine(true);
    m.add_image(
        "t.qcow2",
        ImageFile {
            format: "qcow2".into(),
            size: 64 << 20,
            ..Default::default()
        },
    );
    let r = m.execute_value(&json!({"execute": "blockdev-add", "arguments": {
        "driver": "qcow2", "node-name": "disk",
        "file": {"driver": "file", "filename": "t.qcow2"}}}));
    assert_eq!(r, json!({"return": {}}));
    m
}

fn stdout(text: &str) -> ConsoleOutput {
    ConsoleOutput {
        stream: OutputStream::Stdout,
        text: text.into(),
    }
}

#[test]
fn qemu_io_reports_go_to_stdout_and_the_reply_is_empty() {
    let mut m = machine();
    assert_eq!(
        hmp(&mut m, "qemu-io disk \"write 0 4M\""),
        json!({"return": ""})
    );
    assert_eq!(
        output(&mut m),
        [stdout(
            "wrote 4194304/4194304 bytes at offset 0\n\
             4 MiB, 1 ops; 00.00 sec (inf EiB/sec and inf ops/sec)\n"
        )]
    );
    hmp(&mut m, "qemu-io disk \"aio_write -q -P 0x5a 4M 64k\"");
    hmp(&mut m, "qemu-io disk \"read -P 0x5a 0 512\"");
    hmp(&mut m, "qemu-io disk \"write 64M 512\"");
    hmp(&mut m, "qemu-io disk \"write -P 300 0 512\"");
    hmp(&mut m, "qemu-io disk \"frob\"");
    hmp(&mut m, "qemu-io disk \"write 0\"");
    let out = output(&mut m);
    assert_eq!(
        out,
        [
            stdout(
                "read 512/512 bytes at offset 0\n\
                 512 bytes, 1 ops; 00.00 sec (inf EiB/sec and inf ops/sec)\n"
            ),
            stdout("write failed: Input/output error\n"),
            stdout("300 is not a valid pattern byte\n"),
            ConsoleOutput {
                stream: OutputStream::Stderr,
                text: "command \"frob\" not found\n".into()
            },
            ConsoleOutput {
                stream: OutputStream::Stderr,
                text: "bad argument count 1 to write, expected at least 2 arguments\n".into()
            },
        ]
    );
}

#[test]
fn written_data_is_what_a_later_commit_copies() {
    let mut m = machine();
    m.add_image(
        "o.qcow2",
        ImageFile {
            format: "qcow2".into(),
            size: 64 << 20,
            backing: Some("t.qcow2".into()),
            ..Default::default()
        },
    );
    let snap = m.execute_value(&json!({"execute": "blockdev-add", "arguments": {
        "driver": "qcow2", "node-name": "top", "backing": "disk",
        "file": {"driver": "file", "filename": "o.qcow2"}}}));
    assert_eq!(snap, json!({"return": {}}));
    hmp(&mut m, "qemu-io top \"write -q 0 4M\"");
    let r = m.execute_value(&json!({"execute": "block-commit", "arguments": {
        "job-id": "c", "device": "top"}}));
    assert_eq!(r, json!({"return": {}}));
    m.settle();
    let job = &m.query_jobs()[0];
    assert_eq!(
        (job.current_progress, job.total_progress),
        (4 << 20, 4 << 20)
    );
}

#[test]
fn the_storage_daemon_has_no_human_monitor() {
    let mut m = JobManager::with_default_world();
    let r = hmp(&mut m, "qemu-io src \"write 0 512\"");
    assert_eq!(r["error"]["class"], "CommandNotFound");
    assert!(m.poll_output().is_none());
}

/// Each node's `query-blockstats` entry (`query-nodes`), by node name.
fn node_stats(m: &mut JobManager) -> Vec<(String, Value)> {
    let r = m
        .execute_value(&json!({"execute": "query-blockstats", "arguments": {"query-nodes": true}}));
    let Value::Array(list) = &r["return"] else {
        panic!("{r}")
    };
    list.iter()
        .map(|s| (s["node-name"].as_str().unwrap_or("").to_owned(), s.clone()))
        .collect()
}

fn add(m: &mut JobManager, args: Value) {
    let r = m.execute_value(&json!({"execute": "blockdev-add", "arguments": args}));
    assert_eq!(r, json!({"return": {}}));
}

#[test]
fn writes_move_the_nodes_they_reach_but_not_a_qcow2_file() {
    let mut m = machine();
    m.add_image(
        "u.qcow2",
        ImageFile {
            format: "qcow2".into(),
            size: 4 << 20,
            ..Default::default()
        },
    );
    // A qcow2 image over blkdebug over its file: nothing below the image
    // moves either.
    add(
        &mut m,
        json!({"driver": "qcow2", "node-name": "dbg-disk",
            "file": {"driver": "blkdebug", "node-name": "dbg",
                "image": {"driver": "file", "filename": "u.qcow2", "node-name": "dbg-file"}}}),
    );
    // A raw window 1 MiB into src2: its writes land 1 MiB further down.
    add(
        &mut m,
        json!({"driver": "raw", "node-name": "win", "file": "src2",
            "offset": 1048576, "size": 1048576}),
    );
    for line in [
        "qemu-io disk \"write 1M 64k\"",
        "qemu-io dbg-disk \"write 2M 4k\"",
        "qemu-io win \"write 4k 4k\"",
        "qemu-io win \"write 0 512\"",
    ] {
        assert_eq!(hmp(&mut m, line), json!({"return": ""}), "{line}");
    }
    let stats = node_stats(&mut m);
    let get = |name: &str| {
        let (_, s) = stats.iter().find(|(n, _)| n == name).unwrap();
        s["stats"]["wr_highest_offset"].as_u64().unwrap()
    };
    assert_eq!(get("disk"), (1 << 20) + (64 << 10));
    // Where qcow2 put the cluster in its file is not modelled.
    let (_, disk) = stats.iter().find(|(n, _)| n == "disk").unwrap();
    assert_eq!(disk["parent"]["stats"]["wr_highest_offset"], 0);
    assert_eq!(get("dbg-disk"), (2 << 20) + 4096);
    assert_eq!(get("dbg"), 0);
    assert_eq!(get("dbg-file"), 0);
    assert_eq!(get("win"), 8192);
    assert_eq!(get("src2"), (1 << 20) + 8192);
    assert_eq!(get("src"), 0);

    // Kept by snapshots.
    let mut restored = JobManager::from_snapshot_bytes(&m.to_snapshot_bytes()).unwrap();
    assert_eq!(node_stats(&mut restored), stats);
}
