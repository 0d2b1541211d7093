//! The getters a front end (the simulator) asks instead of re-deriving what
//! the core knows: the named nodes and whether a job holds them, machine
//! mode.

use qjob::{ImageFile, JobManager, NodeInfo};

fn backup(m: &mut JobManager, id: &str, device: &str, target: &str) -> String {
    m.execute(&format!(
        r#"{{"execute": "blockdev-backup", "arguments": {{"job-id": "{id}", "device": "{device}", "target": "{target}", "sync": "full", "speed": 1}}}}"#
    ))
}

fn free(m: &JobManager) -> Vec<String> {
    m.named_nodes()
        .into_iter()
        .filter(|n| n.root && !n.busy)
        .map(|n| n.name)
        .collect()
}

#[test]
fn named_nodes_follow_jobs_and_blockdev_add() {
    let mut m = JobManager::with_default_world();
    let nodes = m.named_nodes();
    assert_eq!(
        nodes[0],
        NodeInfo {
            name: "src".into(),
            driver: "null-co",
            size: 64 << 20,
            root: true,
            busy: false,
            backing: None,
        }
    );
    assert_eq!(free(&m), ["src", "dst", "src2", "dst2"]);

    assert_eq!(backup(&mut m, "b0", "src", "dst"), r#"{"return":{}}"#);
    assert_eq!(free(&m), ["src2", "dst2"]);
    // The backup's filter sits above its source (no longer a root node) and
    // its target is held: QEMU refuses the busy node, as the getter says.
    let src = &m.named_nodes()[0];
    assert_eq!((src.root, src.busy), (false, false));
    assert!(m.named_nodes()[1].busy);
    let r = backup(&mut m, "b1", "src2", "dst");
    assert!(
        r.contains("Node 'dst' is busy: block device is in use by block job: backup"),
        "{r}"
    );
    m.job_cancel("b0").unwrap();
    m.settle();
    assert_eq!(free(&m), ["src", "dst", "src2", "dst2"]);

    m.add_image(
        "base.qcow2",
        ImageFile {
            format: "qcow2".into(),
            size: 1 << 20,
            backing: None,
            ..Default::default()
        },
    );
    m.add_image(
        "top.qcow2",
        ImageFile {
            format: "qcow2".into(),
            size: 1 << 20,
            backing: Some("base.qcow2".into()),
            ..Default::default()
        },
    );
    for (name, backing) in [("base", ""), ("top", r#", "backing": "base""#)] {
        let r = m.execute(&format!(
            r#"{{"execute": "blockdev-add", "arguments": {{"driver": "qcow2", "node-name": "{name}", "file": {{"driver": "file", "filename": "{name}.qcow2"}}{backing}}}}}"#
        ));
        assert_eq!(r, r#"{"return":{}}"#);
    }
    let nodes = m.named_nodes();
    let top = nodes.iter().find(|n| n.name == "top").unwrap();
    assert_eq!((top.driver, top.root), ("qcow2", true));
    assert_eq!(top.backing.as_deref(), Some("base"));
    let base = nodes.iter().find(|n| n.name == "base").unwrap();
    assert!(!base.root, "a backing node has a parent");
    // Implicit (unnamed) protocol nodes are not listed.
    assert!(nodes.iter().all(|n| !n.name.is_empty()));

    m.blockdev_del("src2").unwrap();
    assert!(m.named_nodes().iter().all(|n| n.name != "src2"));
}

#[test]
fn machine_mode_is_readable() {
    let mut m = JobManager::new();
    assert!(!m.machine());
    m.set_machine(true);
    assert!(m.machine());
}

#[test]
fn sync_modes_are_listed_in_qapi_order() {
    let names: Vec<&str> = qjob::SyncMode::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["top", "full", "none", "incremental", "bitmap"]);
    for s in qjob::SyncMode::ALL {
        assert_eq!(qjob::SyncMode::parse(s.as_str()), Some(*s));
    }
}
