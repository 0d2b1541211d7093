//! The QEMU 10.0 profile through the typed API: the members and the
//! command 10.0 added (refused by 7.2 as its visitor refuses an unknown
//! member, or as a command it does not have), and the drained sections of
//! 10.0's graph lock that other jobs see.

use qjob::{
    BackupOptions, EventKind, JobManager, JobOptions, JobStatus, NodeOptions, QemuVersion,
    StreamOptions, SyncMode,
};

fn manager(v: QemuVersion) -> JobManager {
    JobManager::with_default_world_version(v)
}

fn backup(id: &str, device: &str, target: &str) -> BackupOptions {
    BackupOptions {
        job: JobOptions::with_id(id),
        device: device.into(),
        target: target.into(),
        sync: SyncMode::Full,
        ..BackupOptions::default()
    }
}

fn null_co(name: &str) -> NodeOptions {
    NodeOptions::NullCo {
        node_name: Some(name.into()),
        size: 64 << 20,
        read_zeroes: false,
        strong_options: Vec::new(),
    }
}

fn desc(r: qjob::Result<()>) -> String {
    r.expect_err("refused").desc
}

/// The statuses job `id` went through, from the events taken so far.
fn statuses(m: &mut JobManager, id: &str) -> Vec<JobStatus> {
    m.drain_events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::JobStatusChange { id: i, status } if &*i == id => Some(status),
            _ => None,
        })
        .collect()
}

#[test]
fn qemu_7_2_refuses_the_members_10_0_added_as_unexpected() {
    let mut m = manager(QemuVersion::V7_2);
    let mut b = backup("b1", "src", "dst");
    b.discard_source = Some(false);
    assert_eq!(
        desc(m.blockdev_backup(b)),
        "Parameter 'discard-source' is unexpected"
    );
    let mut b = backup("b1", "src", "dst");
    b.min_cluster_size = Some(1 << 16);
    assert_eq!(
        desc(m.blockdev_backup(b)),
        "Parameter 'x-perf.min-cluster-size' is unexpected"
    );
    let s = StreamOptions {
        job: JobOptions::with_id("s1"),
        device: "src".into(),
        backing_mask_protocol: Some(true),
        ..StreamOptions::default()
    };
    assert_eq!(
        desc(m.block_stream(s)),
        "Parameter 'backing-mask-protocol' is unexpected"
    );
    assert_eq!(
        desc(m.blockdev_add_with(null_co("x"), false, Some(true))),
        "Parameter 'active' is unexpected"
    );
    assert_eq!(
        desc(m.blockdev_set_active(Some("src"), false)),
        "The command blockdev-set-active has not been found"
    );
    // Nothing happened.
    assert!(m.query_jobs().is_empty());
    assert!(!m.has_node("x"));
    // Through QMP the same members are unexpected, whatever their value.
    let r = m.execute(
        r#"{"execute":"blockdev-backup","arguments":{"job-id":"b1","device":"src","target":"dst","sync":"full","discard-source":"yes"}}"#,
    );
    assert!(
        r.contains("Parameter 'discard-source' is unexpected"),
        "{r}"
    );
}

#[test]
fn qemu_10_0_checks_min_cluster_size_and_copies_whole_clusters() {
    let mut m = manager(QemuVersion::V10_0);
    let mut b = backup("b1", "src", "dst");
    b.min_cluster_size = Some(u64::MAX);
    assert_eq!(
        desc(m.blockdev_backup(b)),
        "min-cluster-size too large: 18446744073709551615 > 9223372036854775807"
    );
    let mut b = backup("b1", "src", "dst");
    b.min_cluster_size = Some(65537);
    assert_eq!(
        desc(m.blockdev_backup(b)),
        "Could not create node: Cannot create block-copy-state: min-cluster-size needs to be a power of 2"
    );
    let mut b = backup("b1", "src", "dst");
    b.min_cluster_size = Some(4 << 20);
    b.max_chunk = 1 << 20;
    assert_eq!(
        desc(m.blockdev_backup(b)),
        "Required max-chunk (1048576) is less than backup cluster size (4194304)"
    );
    assert!(m.query_jobs().is_empty());
    // A speed-1 backup holds after its first (4 MiB) cluster.
    let mut b = backup("b1", "src", "dst");
    b.min_cluster_size = Some(4 << 20);
    b.discard_source = Some(true);
    b.job.speed = 1;
    m.blockdev_backup(b).unwrap();
    m.settle();
    assert_eq!(m.query_jobs()[0].current_progress, 4 << 20);
}

#[test]
fn blockdev_set_active_refuses_a_node_an_active_node_uses() {
    let mut m = manager(QemuVersion::V10_0);
    m.blockdev_add_with(null_co("idle"), false, Some(false))
        .unwrap();
    let mut b = backup("b1", "idle", "dst");
    b.filter_node_name = Some("cbw".into());
    assert_eq!(
        desc(m.blockdev_backup(b)),
        "Could not create node: Inactive 'idle' can't be a file child of active 'cbw'"
    );
    let mut b = backup("b1", "src", "idle");
    b.filter_node_name = Some("cbw".into());
    assert_eq!(
        desc(m.blockdev_backup(b)),
        "Could not create node: Inactive 'idle' can't be a target child of active 'cbw'"
    );
    assert!(!m.has_node("cbw"));
    m.blockdev_set_active(Some("idle"), true).unwrap();
    let mut b = backup("b1", "src", "idle");
    b.job.speed = 1;
    m.blockdev_backup(b).unwrap();
    assert_eq!(
        desc(m.blockdev_set_active(Some("idle"), false)),
        "Node has active parent node"
    );
    assert_eq!(
        desc(m.blockdev_set_active(Some("nowhere"), false)),
        "Failed to find node with node-name='nowhere'"
    );
    m.blockdev_set_active(Some("src2"), false).unwrap();
    let r = m.execute(
        r#"{"execute":"blockdev-mirror","arguments":{"job-id":"m1","device":"src2","target":"dst2","sync":"full","filter-node-name":"mtop"}}"#,
    );
    assert!(
        r.contains("Inactive 'src2' can't be a backing child of active 'mtop'"),
        "{r}"
    );
}

#[test]
fn other_jobs_see_the_drained_sections_of_10_0s_graph_lock() {
    for (v, pairs) in [(QemuVersion::V7_2, 0), (QemuVersion::V10_0, 3)] {
        let mut m = manager(v);
        let mut w = backup("w", "src", "dst");
        w.job.speed = 1;
        m.blockdev_backup(w).unwrap();
        m.settle();
        statuses(&mut m, "w");
        // A qcow2 node over a file: a graph change per child and two more.
        m.add_image(
            "a.qcow2",
            qjob::ImageFile {
                format: "qcow2".into(),
                size: 1 << 20,
                ..Default::default()
            },
        );
        m.execute(
            r#"{"execute":"blockdev-add","arguments":{"driver":"qcow2","node-name":"a","file":{"driver":"file","filename":"a.qcow2"}}}"#,
        );
        m.settle();
        let seen = statuses(&mut m, "w");
        let expected: Vec<JobStatus> = [JobStatus::Paused, JobStatus::Running]
            .into_iter()
            .cycle()
            .take(2 * pairs)
            .collect();
        assert_eq!(seen, expected, "{v}");
        // A user-paused job sees none.
        m.job_pause("w").unwrap();
        m.settle();
        statuses(&mut m, "w");
        m.blockdev_add(null_co("n")).unwrap();
        m.blockdev_del("n").unwrap();
        m.settle();
        assert_eq!(statuses(&mut m, "w"), [], "{v}");
    }
}

#[test]
fn an_inactive_node_stays_inactive_across_snapshots() {
    let mut m = manager(QemuVersion::V10_0);
    m.blockdev_add_with(null_co("idle"), false, Some(false))
        .unwrap();
    let restored = [
        JobManager::from_snapshot_bytes(&m.to_snapshot_bytes()).unwrap(),
        JobManager::from_snapshot_json(&m.to_snapshot_json()).unwrap(),
    ];
    for mut r in restored {
        assert_eq!(r.version(), QemuVersion::V10_0);
        let mut b = backup("b1", "idle", "dst");
        b.filter_node_name = Some("cbw".into());
        assert_eq!(
            desc(r.blockdev_backup(b)),
            "Could not create node: Inactive 'idle' can't be a file child of active 'cbw'"
        );
    }
}
