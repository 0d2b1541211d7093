//! Jobs through a `throttle` node, as iotests 218 and 129 meet them: a
//! throttled mirror never converges but `quit` ends it at once; `stop`
//! drains without finishing a throttled job (it keeps running, not ready).
//! The throttle group's rates are QEMU's leaky buckets on the virtual clock.

use qjob::{ImageFile, JobManager, JobStatus};
use serde_json::{Value, json};

fn exec(m: &mut JobManager, name: &str, args: Value) -> Value {
    m.execute_value(&json!({"execute": name, "arguments": args}))
}

/// A 64 MiB raw image full of data, behind a throttle group of `limits`.
fn throttled(limits: Value) -> JobManager {
    let mut m = JobManager::with_default_world();
    m.add_image(
        "src.img",
        ImageFile {
            format: "raw".into(),
            size: 64 << 20,
            data: vec![(0, 64 << 20)],
            ..Default::default()
        },
    );
    let ok = json!({"return": {}});
    let tg = json!({"qom-type": "throttle-group", "id": "tg", "limits": limits});
    assert_eq!(exec(&mut m, "object-add", tg), ok);
    let raw = json!({"node-name": "source", "driver": "raw",
        "file": {"driver": "file", "filename": "src.img"}});
    assert_eq!(exec(&mut m, "blockdev-add", raw), ok);
    let thr = json!({"node-name": "throttled", "driver": "throttle",
        "throttle-group": "tg", "file": "source"});
    assert_eq!(exec(&mut m, "blockdev-add", thr), ok);
    m
}

#[test]
fn a_throttled_mirror_never_converges_and_quit_ends_it() {
    let mut m = throttled(json!({"bps-read": 4096}));
    let r = exec(
        &mut m,
        "blockdev-mirror",
        json!({"job-id": "mirror",
        "device": "throttled", "target": "dst", "sync": "full"}),
    );
    assert_eq!(r, json!({"return": {}}));
    // An hour of virtual time: at 4 KiB/s the mirror stays far from done.
    m.advance(3_600_000_000_000);
    let job = &m.query_jobs()[0];
    assert_eq!(job.status, JobStatus::Running);
    assert!(job.current_progress < job.total_progress);
    let before = m.now();
    m.quit();
    assert_eq!(m.now(), before, "quit takes no virtual time");
    assert!(m.query_jobs().is_empty());
}

#[test]
fn the_group_s_rate_bounds_the_progress() {
    // 1 MiB/s in total: about 1 MiB of progress a second, whatever the
    // job's own speed.
    let mut m = throttled(json!({"bps-total": 1048576}));
    let r = exec(
        &mut m,
        "blockdev-backup",
        json!({"job-id": "b", "device": "throttled",
        "target": "dst", "sync": "full"}),
    );
    assert_eq!(r, json!({"return": {}}));
    m.advance(10_000_000_000);
    let done = m.query_jobs()[0].current_progress;
    assert!((9 << 20..=12 << 20).contains(&done), "{done}");
    // Without the throttle node the same backup is over at once.
    let r = exec(
        &mut m,
        "blockdev-backup",
        json!({"job-id": "c", "device": "source",
        "target": "dst2", "sync": "full"}),
    );
    assert_eq!(r, json!({"return": {}}));
    m.settle();
    assert!(m.query_jobs().iter().all(|j| j.id != "c"));
}

#[test]
fn stop_does_not_finish_a_throttled_job() {
    for cmd in ["blockdev-mirror", "blockdev-backup"] {
        let mut m = throttled(json!({"bps-total": 1024}));
        m.set_machine(true);
        let mut args = json!({"job-id": "j", "device": "throttled", "target": "dst",
            "sync": "full"});
        if cmd == "blockdev-mirror" {
            args["buf-size"] = json!(65536);
        }
        assert_eq!(exec(&mut m, cmd, args), json!({"return": {}}));
        m.settle();
        assert_eq!(exec(&mut m, "stop", json!({})), json!({"return": {}}));
        m.settle();
        let jobs = exec(&mut m, "query-block-jobs", json!({}));
        assert_eq!(jobs["return"][0]["status"], "running", "{cmd}");
        assert_eq!(jobs["return"][0]["ready"], false, "{cmd}");
        m.quit();
        assert!(m.query_jobs().is_empty());
    }
}
