//! `query-blockstats` with `query-nodes`: which writes move a node's
//! `wr_highest_offset` (the scenarios `blockstats-*` check the replies
//! against QEMU's; these check what they do not reach).

use qjob::{ImageFile, JobManager};
use serde_json::{Value, json};

fn hmp(m: &mut JobManager, line: &str) {
    let r = m.execute_value(&json!({"execute": "human-monitor-command",
        "arguments": {"command-line": line}}));
    assert_eq!(r, json!({"return": ""}), "{line}");
}

/// Each node's `wr_highest_offset`, by node name.
fn highest(m: &mut JobManager) -> Vec<(String, u64)> {
    let r = m
        .execute_value(&json!({"execute": "query-blockstats", "arguments": {"query-nodes": true}}));
    let Value::Array(list) = &r["return"] else {
        panic!("{r}")
    };
    list.iter()
        .map(|s| {
            (
                s["node-name"].as_str().unwrap().to_owned(),
                s["stats"]["wr_highest_offset"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn add(m: &mut JobManager, args: Value) {
    let r = m.execute_value(&json!({"execute": "blockdev-add", "arguments": args}));
    assert_eq!(r, json!({"return": {}}));
}

#[test]
fn writes_move_the_nodes_they_reach_but_not_a_qcow2_file() {
    let mut m = JobManager::with_default_world();
    m.set_machine(true);
    m.add_image(
        "t.qcow2",
        ImageFile {
            format: "qcow2".into(),
            size: 4 << 20,
            ..Default::default()
        },
    );
    add(
        &mut m,
        json!({"driver": "qcow2", "node-name": "disk",
            "file": {"driver": "file", "filename": "t.qcow2", "node-name": "disk-file"}}),
    );
    // A raw window 1 MiB into src2: its writes land 1 MiB further down.
    add(
        &mut m,
        json!({"driver": "raw", "node-name": "win", "file": "src2",
            "offset": 1048576, "size": 1048576}),
    );
    hmp(&mut m, "qemu-io disk \"write 1M 64k\"");
    hmp(&mut m, "qemu-io win \"write 4k 4k\"");
    hmp(&mut m, "qemu-io win \"write 0 512\"");
    let h = highest(&mut m);
    let get = |name: &str| h.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(get("disk"), (1 << 20) + (64 << 10));
    // Where qcow2 put the cluster in its file is not modelled.
    assert_eq!(get("disk-file"), 0);
    assert_eq!(get("win"), 8192);
    assert_eq!(get("src2"), (1 << 20) + 8192);
    assert_eq!(get("src"), 0);

    // Kept by snapshots.
    let mut restored = JobManager::from_snapshot_bytes(&m.to_snapshot_bytes()).unwrap();
    assert_eq!(highest(&mut restored), h);
}
