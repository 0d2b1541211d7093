//! Host files (`JobManager::set_host_files`): the folder as a cache of a
//! drop-in binary's files. The core names the files a request would open
//! (`files_wanted`, layer by layer down a backing chain), takes the host's
//! answers (`handle_file`), hands over the files it creates
//! (`poll_file_action`), and `QmpServer` holds a request until its files are
//! read (`poll_file_request`, `handle_files_ready`). A simulated "host" here
//! is a table of images by file name.

use qjob::qmp::server::{QmpServer, ServerConfig};
use qjob::{FileAction, FileRequest, ImageFile, ImageLayer, JobManager, NewImage};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

fn qcow2(size: u64, backing: Option<&str>, data: &[(u64, u64)]) -> ImageFile {
    ImageFile {
        format: "qcow2".into(),
        size,
        backing: backing.map(str::to_owned),
        backing_format: backing.map(|_| "qcow2".into()),
        data: data.to_vec(),
        ..Default::default()
    }
}

/// The host's files, and how often each was read.
struct Host {
    files: BTreeMap<String, ImageFile>,
    reads: Vec<String>,
}

impl Host {
    /// `/d/b.qcow2` ← `/d/m.qcow2` ← `/d/t.qcow2` (relative backing names).
    fn chain() -> Host {
        let mut files = BTreeMap::new();
        files.insert("/d/b.qcow2".into(), qcow2(1 << 20, None, &[]));
        files.insert("/d/m.qcow2".into(), qcow2(1 << 20, Some("b.qcow2"), &[]));
        files.insert("/d/t.qcow2".into(), qcow2(1 << 20, Some("m.qcow2"), &[]));
        Host {
            files,
            reads: Vec::new(),
        }
    }

    /// Answers what the manager wants until it wants nothing more; returns
    /// the rounds (the names asked each time; `create NAME` for a file the
    /// request would create).
    fn supply(&mut self, m: &mut JobManager, request: &Value) -> Vec<Vec<String>> {
        let Value::Object(request) = request else {
            panic!("a request object")
        };
        let mut rounds = Vec::new();
        loop {
            let wanted = m.files_wanted(request);
            if wanted.is_empty() {
                return rounds;
            }
            for r in &wanted {
                self.answer(m, r);
            }
            rounds.push(wanted.iter().map(asked).collect());
        }
    }

    fn answer(&mut self, m: &mut JobManager, request: &FileRequest) {
        let name = match request {
            FileRequest::Open(name) => name,
            FileRequest::Create(name) => {
                // A directory exists if a file is in it.
                let dir = &name[..=name.rfind('/').unwrap_or(0)];
                let answer = match self.files.keys().any(|f| f.starts_with(dir)) {
                    true => Ok(()),
                    false => Err(format!(
                        "Could not create '{name}': No such file or directory"
                    )),
                };
                self.reads.push(format!("create {name}"));
                m.handle_create(name, answer);
                return;
            }
        };
        self.reads.push(name.to_owned());
        let answer = self
            .files
            .get(name)
            .cloned()
            .ok_or_else(|| format!("Could not open '{name}': No such file or directory"));
        m.handle_file(name, answer);
    }
}

/// How a round shows a request: the name, or `create NAME`.
fn asked(r: &FileRequest) -> String {
    match r {
        FileRequest::Open(n) => n.clone(),
        FileRequest::Create(n) => format!("create {n}"),
    }
}

fn add_t(node: &str) -> Value {
    json!({"execute": "blockdev-add", "arguments": {"node-name": node, "driver": "qcow2",
        "file": {"driver": "file", "filename": "/d/t.qcow2"}}})
}

fn host_manager() -> JobManager {
    let mut m = JobManager::with_default_world();
    m.set_host_files(true);
    m
}

#[test]
fn a_backing_chain_is_asked_for_layer_by_layer() {
    let mut m = host_manager();
    let mut host = Host::chain();
    let req = add_t("top");
    assert_eq!(
        host.supply(&mut m, &req),
        [["/d/t.qcow2"], ["/d/m.qcow2"], ["/d/b.qcow2"]],
        "backing names are relative to their overlay's directory"
    );
    assert_eq!(m.execute_value(&req), json!({"return": {}}));
    // Files a node has open are current: nothing to read for a new request
    // that names them.
    let again = json!({"execute": "blockdev-add", "arguments": {"node-name": "f2",
        "driver": "file", "filename": "/d/t.qcow2"}});
    assert!(m.files_wanted(again.as_object().unwrap()).is_empty());
    // Closed, the files are read afresh: a change on disk in between is seen.
    assert_eq!(
        m.execute_value(&json!({"execute": "blockdev-del", "arguments": {"node-name": "top"}})),
        json!({"return": {}})
    );
    host.files.insert(
        "/d/m.qcow2".into(),
        qcow2(1 << 20, Some("b.qcow2"), &[(0, 1 << 20)]),
    );
    host.reads.clear();
    host.supply(&mut m, &req);
    assert_eq!(host.reads, ["/d/t.qcow2", "/d/m.qcow2", "/d/b.qcow2"]);
    assert_eq!(m.execute_value(&req), json!({"return": {}}));
    // The middle layer now holds data: a commit of it has 1 MiB to copy.
    let commit = json!({"execute": "block-commit", "arguments": {"job-id": "c",
        "device": "top", "top": "/d/m.qcow2", "speed": 1}});
    assert_eq!(m.execute_value(&commit), json!({"return": {}}));
    m.settle();
    let job = &m.query_jobs()[0];
    assert_eq!(
        (job.current_progress, job.total_progress),
        (512 * 1024, 1 << 20)
    );
}

#[test]
fn the_hosts_error_is_the_commands_error_and_changes_nothing() {
    let mut m = host_manager();
    let mut host = Host::chain();
    host.files.remove("/d/b.qcow2");
    let req = add_t("top");
    host.supply(&mut m, &req);
    assert_eq!(
        m.execute_value(&req),
        json!({"error": {"class": "GenericError",
            "desc": "Could not open '/d/b.qcow2': No such file or directory"}})
    );
    assert!(!m.has_node("top"));
    // The error held for that command only: the next one asks again.
    assert_eq!(
        m.files_wanted(req.as_object().unwrap()),
        [FileRequest::Open("/d/t.qcow2".into())]
    );
}

#[test]
fn created_targets_are_handed_to_the_host_with_their_options() {
    let mut m = host_manager();
    let mut host = Host::chain();
    host.supply(&mut m, &add_t("drv0"));
    assert_eq!(m.execute_value(&add_t("drv0")), json!({"return": {}}));
    let backup = json!({"execute": "drive-backup", "arguments": {"job-id": "j",
        "device": "drv0", "target": "/d/o.qcow2", "format": "qcow2", "sync": "none"}});
    assert_eq!(
        host.supply(&mut m, &backup),
        [["create /d/o.qcow2"]],
        "a created target is only checked"
    );
    assert_eq!(m.execute_value(&backup), json!({"return": {}}));
    assert_eq!(
        m.poll_file_action(),
        Some(FileAction::Create(NewImage {
            filename: "/d/o.qcow2".into(),
            format: "qcow2".into(),
            size: 1 << 20,
            backing_file: Some("/d/t.qcow2".into()),
            backing_format: Some("qcow2".into()),
            formatting_line: true,
            ..NewImage::default()
        }))
    );
    assert_eq!(m.poll_file_action(), None);
    // The source is the target's backing node: QEMU's refusal names the
    // target's generated node name.
    let del = json!({"execute": "blockdev-del", "arguments": {"node-name": "drv0"}});
    let desc = m.execute_value(&del)["error"]["desc"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        desc.starts_with("Node 'drv0' is busy: node is used as backing hd of '#block"),
        "{desc}"
    );
    // blockdev-create: a file (no Formatting line), then a qcow2 image over
    // the node that opened it.
    let create = |m: &mut JobManager, id: &str, opts: Value| {
        let r = m.execute_value(&json!({"execute": "blockdev-create",
            "arguments": {"job-id": id, "options": opts}}));
        assert_eq!(r, json!({"return": {}}));
        m.settle();
    };
    create(
        &mut m,
        "c1",
        json!({"driver": "file", "filename": "/d/n.img", "size": 4096}),
    );
    assert_eq!(
        m.poll_file_action(),
        Some(FileAction::Create(NewImage {
            filename: "/d/n.img".into(),
            format: "file".into(),
            size: 4096,
            ..NewImage::default()
        }))
    );
    let add = json!({"execute": "blockdev-add", "arguments": {"node-name": "nf",
        "driver": "file", "filename": "/d/n.img"}});
    host.files.insert(
        "/d/n.img".into(),
        ImageFile {
            format: "raw".into(),
            size: 4096,
            ..Default::default()
        },
    );
    // Not open: read afresh (the host wrote it meanwhile).
    assert_eq!(host.supply(&mut m, &add), [["/d/n.img"]]);
    assert_eq!(m.execute_value(&add), json!({"return": {}}));
    create(
        &mut m,
        "c2",
        json!({"driver": "qcow2", "file": "nf", "size": 1048576, "cluster-size": 4096,
            "lazy-refcounts": true}),
    );
    let FileAction::Format(image) = m.poll_file_action().unwrap() else {
        panic!("a format in place")
    };
    assert_eq!(
        (
            image.filename.as_str(),
            image.size,
            image.cluster_size,
            image.lazy_refcounts,
            image.formatting_line
        ),
        ("/d/n.img", 1 << 20, Some(4096), Some(true), false)
    );
}

#[test]
fn the_simulated_folder_wants_nothing() {
    let mut m = JobManager::with_default_world();
    assert!(!m.host_files());
    assert!(m.files_wanted(add_t("t").as_object().unwrap()).is_empty());
    let r = m.execute_value(
        &json!({"execute": "blockdev-create", "arguments": {"job-id": "c",
        "options": {"driver": "file", "filename": "n.img", "size": 512}}}),
    );
    assert_eq!(r, json!({"return": {}}));
    m.settle();
    assert_eq!(m.poll_file_action(), None);
}

#[test]
fn a_drive_asks_for_its_probed_image_and_its_chain() {
    let mut m = host_manager();
    m.set_pci_bus(true);
    let mut host = Host::chain();
    let mut opts = Map::new();
    for (k, v) in [
        ("file", "/d/t.qcow2"),
        ("if", "virtio"),
        ("cache", "writeback"),
        ("aio", "threads"),
    ] {
        opts.insert(k.into(), v.into());
    }
    let mut rounds = Vec::new();
    loop {
        let wanted = m.drive_files_wanted(&opts);
        if wanted.is_empty() {
            break;
        }
        for r in &wanted {
            host.answer(&mut m, r);
        }
        rounds.push(wanted.iter().map(asked).collect::<Vec<_>>());
    }
    assert_eq!(rounds, [["/d/t.qcow2"], ["/d/m.qcow2"], ["/d/b.qcow2"]]);
    m.drive_add(&opts).unwrap();
    // The drive is `virtio0`; a job on it takes that name as its ID.
    let r = m.execute_value(&json!({"execute": "block-stream",
        "arguments": {"device": "virtio0", "speed": 1}}));
    assert_eq!(r, json!({"return": {}}));
    assert_eq!(m.query_jobs()[0].id, "virtio0");
}

#[test]
fn the_server_holds_a_request_until_its_files_are_read() {
    let mut m = host_manager();
    let mut host = Host::chain();
    let mut server = QmpServer::new(ServerConfig::default());
    let a = server.handle_connect();
    let b = server.handle_connect();
    for mon in [a, b] {
        server.poll_transmit(mon);
        server
            .handle_input(&mut m, mon, b"{\"execute\": \"qmp_capabilities\"}")
            .unwrap();
        assert_eq!(server.poll_transmit(mon).unwrap(), b"{\"return\": {}}\r\n");
    }
    let mut add = add_t("top");
    add["id"] = json!(1);
    let input = format!("{add}{{\"execute\": \"query-jobs\", \"id\": 2}}");
    server.handle_input(&mut m, a, input.as_bytes()).unwrap();
    // Held: no reply yet, and the other monitor waits too.
    assert!(server.is_holding());
    assert_eq!(server.poll_transmit(a), None);
    server
        .handle_input(&mut m, b, b"{\"execute\": \"query-jobs\", \"id\": \"b\"}")
        .unwrap();
    assert_eq!(server.poll_transmit(b), None);
    let mut rounds = 0;
    while server.is_holding() {
        let mut any = false;
        while let Some(name) = server.poll_file_request() {
            host.answer(&mut m, &name);
            any = true;
        }
        assert!(any, "a held request names what it waits for");
        server.handle_files_ready(&mut m);
        rounds += 1;
    }
    assert_eq!(rounds, 3, "one round per layer of the chain");
    assert_eq!(
        server.poll_transmit(a).unwrap(),
        b"{\"return\": {}, \"id\": 1}\r\n{\"return\": [], \"id\": 2}\r\n"
    );
    assert_eq!(
        server.poll_transmit(b).unwrap(),
        b"{\"return\": [], \"id\": \"b\"}\r\n"
    );
    assert!(m.has_node("top"));
}

#[test]
fn the_server_waits_while_the_host_writes_what_a_request_created() {
    // Two drive-backups in one read: the second waits until the host has
    // written the first one's target (and printed its Formatting line), so
    // that the line comes between the two replies, as QEMU prints it.
    let mut m = host_manager();
    let mut host = Host::chain();
    host.supply(&mut m, &add_t("drv0"));
    assert_eq!(m.execute_value(&add_t("drv0")), json!({"return": {}}));
    let mut server = QmpServer::new(ServerConfig::default());
    let a = server.handle_connect();
    server.poll_transmit(a);
    server
        .handle_input(&mut m, a, b"{\"execute\": \"qmp_capabilities\"}")
        .unwrap();
    server.poll_transmit(a);
    let backup = |job: &str, target: &str| {
        json!({"execute": "drive-backup", "id": job, "arguments": {"job-id": job,
            "device": "drv0", "target": target, "format": "qcow2", "sync": "none"}})
    };
    let input = format!(
        "{}{}",
        backup("j1", "/d/o1.qcow2"),
        backup("j2", "/d/o2.qcow2")
    );
    server.handle_input(&mut m, a, input.as_bytes()).unwrap();
    // Each asks first whether its target can be created.
    let mut check = |server: &mut QmpServer, m: &mut JobManager, name: &str| {
        assert_eq!(
            server.poll_file_request(),
            Some(FileRequest::Create(name.into()))
        );
        assert_eq!(server.poll_file_request(), None);
        host.answer(m, &FileRequest::Create(name.into()));
        server.handle_files_ready(m);
    };
    assert!(server.poll_transmit(a).is_none());
    check(&mut server, &mut m, "/d/o1.qcow2");
    let first = String::from_utf8(server.poll_transmit(a).unwrap()).unwrap();
    assert!(
        first.contains("\"id\": \"j1\"") && !first.contains("\"id\": \"j2\""),
        "{first}"
    );
    assert!(server.is_holding());
    assert_eq!(
        server.poll_file_request(),
        None,
        "nothing to read, one file to write"
    );
    let created = m.poll_file_action().unwrap();
    assert_eq!(created.image().unwrap().filename, "/d/o1.qcow2");
    assert_eq!(m.poll_file_action(), None);
    server.handle_files_ready(&mut m);
    check(&mut server, &mut m, "/d/o2.qcow2");
    let second = String::from_utf8(server.poll_transmit(a).unwrap()).unwrap();
    assert!(second.contains("\"id\": \"j2\""), "{second}");
    assert_eq!(
        m.poll_file_action().unwrap().image().unwrap().filename,
        "/d/o2.qcow2"
    );
    server.handle_files_ready(&mut m);
    assert!(!server.is_holding());
}

/// A target in a directory the host does not have: QEMU's refusal before
/// anything is created, also for a `transaction` whose first action would
/// have started a job.
#[test]
fn a_target_that_cannot_be_created_refuses_the_command() {
    let mut m = host_manager();
    let mut host = Host::chain();
    host.supply(&mut m, &add_t("drv0"));
    assert_eq!(m.execute_value(&add_t("drv0")), json!({"return": {}}));
    let backup = |job: &str, target: &str| {
        json!({"type": "drive-backup", "data": {"job-id": job, "device": "drv0",
            "target": target, "format": "qcow2", "sync": "full"}})
    };
    let txn = json!({"execute": "transaction", "arguments": {"actions": [
        backup("t1", "/d/t1.qcow2"), backup("t2", "/nosuch/t2.qcow2")]}});
    assert_eq!(
        host.supply(&mut m, &txn),
        [["create /d/t1.qcow2", "create /nosuch/t2.qcow2"]]
    );
    assert_eq!(
        m.execute_value(&txn)["error"]["desc"],
        "Could not create '/nosuch/t2.qcow2': No such file or directory"
    );
    m.settle();
    assert_eq!(
        m.execute_value(&json!({"execute": "query-jobs"})),
        json!({"return": []})
    );
    // The answer held for that command only.
    let one =
        json!({"execute": "drive-backup", "arguments": backup("j", "/nosuch/j.qcow2")["data"]});
    assert_eq!(host.supply(&mut m, &one), [["create /nosuch/j.qcow2"]]);
}

fn layer(name: &str) -> ImageLayer {
    ImageLayer {
        filename: name.into(),
        format: "qcow2".into(),
    }
}

/// The actions after the target's creation: what the host is asked to copy
/// once the job has run as far as it goes.
fn copies(m: &mut JobManager) -> Vec<FileAction> {
    m.settle();
    let mut out = Vec::new();
    while let Some(a) = m.poll_file_action() {
        if matches!(a, FileAction::CopyData { .. }) {
            out.push(a);
        }
    }
    out
}

/// A backup that finished its copy asks the host to copy the data: `full`
/// the source's whole chain, `top` its top layer; `none`, a cancelled or a
/// failed backup copy nothing.
#[test]
fn finished_backups_ask_the_host_to_copy_their_data() {
    let mut host = Host::chain();
    // 64 MiB: at 1 byte/s the backup stops after its first 1 MiB chunk.
    for f in host.files.values_mut() {
        f.size = 64 << 20;
    }
    for (sync, cancel, expect) in [
        (
            "full",
            false,
            Some(vec![
                layer("/d/t.qcow2"),
                layer("/d/m.qcow2"),
                layer("/d/b.qcow2"),
            ]),
        ),
        ("top", false, Some(vec![layer("/d/t.qcow2")])),
        ("full", true, None),
        ("none", false, None),
    ] {
        let mut m = host_manager();
        host.supply(&mut m, &add_t("drv0"));
        assert_eq!(m.execute_value(&add_t("drv0")), json!({"return": {}}));
        let backup = json!({"execute": "drive-backup", "arguments": {"job-id": "j",
            "device": "drv0", "target": "/d/o.qcow2", "format": "qcow2", "sync": sync,
            "speed": if cancel { 1 } else { 0 }}});
        host.supply(&mut m, &backup);
        assert_eq!(m.execute_value(&backup), json!({"return": {}}));
        if cancel {
            let c = json!({"execute": "block-job-cancel", "arguments": {"device": "j"}});
            assert_eq!(m.execute_value(&c), json!({"return": {}}));
        }
        let want: Vec<FileAction> = expect
            .into_iter()
            .map(|from| FileAction::CopyData {
                from,
                to: layer("/d/o.qcow2"),
                only_unallocated: false,
            })
            .collect();
        assert_eq!(copies(&mut m), want, "sync {sync}, cancelled {cancel}");
    }
}

/// A commit copies the committed layers into the base; a stream the layers
/// below the top into the top, where the top holds nothing.
#[test]
fn finished_commits_and_streams_ask_the_host_to_copy_their_data() {
    let mut host = Host::chain();
    let mut m = host_manager();
    host.supply(&mut m, &add_t("top"));
    assert_eq!(m.execute_value(&add_t("top")), json!({"return": {}}));
    let commit = json!({"execute": "block-commit", "arguments": {"job-id": "c",
        "device": "top", "top": "/d/m.qcow2"}});
    assert_eq!(m.execute_value(&commit), json!({"return": {}}));
    let copy = FileAction::CopyData {
        from: vec![layer("/d/m.qcow2")],
        to: layer("/d/b.qcow2"),
        only_unallocated: false,
    };
    assert_eq!(copies(&mut m), [copy]);

    let mut m = host_manager();
    host.supply(&mut m, &add_t("top"));
    assert_eq!(m.execute_value(&add_t("top")), json!({"return": {}}));
    let stream = json!({"execute": "block-stream", "arguments": {"job-id": "s",
        "device": "top"}});
    assert_eq!(m.execute_value(&stream), json!({"return": {}}));
    let copy = FileAction::CopyData {
        from: vec![layer("/d/m.qcow2"), layer("/d/b.qcow2")],
        to: layer("/d/t.qcow2"),
        only_unallocated: true,
    };
    assert_eq!(copies(&mut m), [copy]);
}
