//! `human-monitor-command` with `qemu-io`: what qemu-io prints goes to the
//! emulator's output (not into the reply), as iotests 185 and 056 read it;
//! writes land in the image (a later job sees them).

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
