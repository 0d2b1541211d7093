//! The QMP sessions (`qjob::qmp::server`) through their public API: bytes in,
//! bytes out, virtual time passed in. What QEMU 7.2 itself writes is pinned by
//! the recorded wire scripts (`tests/wire.rs`); these tests cover the rest:
//! the stream's limits at their real sizes, qjob's own `x-qjob-*` commands
//! and their per-monitor semantics, timestamps, driving the manager beside
//! the server, quit with a host-driven job, and misuse.

use qjob::qmp::server::{MonitorId, QmpServer, ServerConfig, UnknownMonitor};
use qjob::qmp::stream::{JsonStreamer, MAX_NESTING, MAX_TOKEN_COUNT, MAX_TOKEN_SIZE};
use qjob::{HostActionKind, HostJobOptions, JobManager, JobStatus};
use serde_json::{Value, json};

/// A manager, a server and helpers to talk to it as a client would.
struct World {
    manager: JobManager,
    server: QmpServer,
}

impl World {
    fn new() -> World {
        World {
            manager: JobManager::with_default_world(),
            server: QmpServer::new(ServerConfig::default()),
        }
    }

    /// A new connection, its greeting read.
    fn connect(&mut self) -> MonitorId {
        let m = self.server.handle_connect();
        assert!(
            self.server
                .poll_transmit(m)
                .unwrap()
                .starts_with(b"{\"QMP\": ")
        );
        m
    }

    /// A new connection that negotiated capabilities.
    fn client(&mut self) -> MonitorId {
        let m = self.connect();
        assert_eq!(
            self.send(m, "{\"execute\": \"qmp_capabilities\"}"),
            ["{\"return\": {}}"]
        );
        m
    }

    /// Sends bytes; returns the lines the monitor then has to read.
    fn send(&mut self, m: MonitorId, text: &str) -> Vec<String> {
        self.server
            .handle_input(&mut self.manager, m, text.as_bytes())
            .unwrap();
        self.read(m)
    }

    fn read(&mut self, m: MonitorId) -> Vec<String> {
        let bytes = self.server.poll_transmit(m).unwrap_or_default();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
        text.split_terminator("\r\n").map(str::to_owned).collect()
    }

    /// Runs one command; returns its reply (events on the way dropped).
    fn cmd(&mut self, m: MonitorId, name: &str, args: Value) -> Value {
        let text = json!({"execute": name, "arguments": args}).to_string();
        let lines = self.send(m, &text);
        replies(&lines).pop().expect("a reply")
    }
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap()
}

fn replies(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| parse(l))
        .filter(|v| v.get("event").is_none())
        .collect()
}

fn statuses(lines: &[String], job: &str) -> Vec<String> {
    lines
        .iter()
        .map(|l| parse(l))
        .filter(|v| v["event"] == "JOB_STATUS_CHANGE" && v["data"]["id"] == job)
        .map(|v| v["data"]["status"].as_str().unwrap().to_owned())
        .collect()
}

fn desc(reply: &Value) -> &str {
    reply["error"]["desc"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {reply}"))
}

#[test]
fn greeting_is_configurable() {
    let mut s = QmpServer::new(ServerConfig {
        version: (7, 2, 0),
        package: "qjob".into(),
        oob: false,
        ..ServerConfig::default()
    });
    let mut m = JobManager::new();
    let mon = s.handle_connect();
    assert_eq!(
        s.poll_transmit(mon).unwrap(),
        b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \
          \"package\": \"qjob\"}, \"capabilities\": []}}\r\n"
    );
    // Without oob offered, asking for it is refused, as QEMU refuses it on a
    // monitor that cannot run out of band.
    s.handle_input(
        &mut m,
        mon,
        b"{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
    )
    .unwrap();
    assert_eq!(
        s.poll_transmit(mon).unwrap(),
        b"{\"error\": {\"class\": \"GenericError\", \"desc\": \"Capability oob not available\"}}\r\n"
    );
    assert_eq!(s.is_negotiated(mon), Ok(false));
    // query-version says what the greeting says.
    s.handle_input(
        &mut m,
        mon,
        b"{\"execute\": \"qmp_capabilities\"}{\"execute\": \"query-version\"}",
    )
    .unwrap();
    assert_eq!(
        s.poll_transmit(mon).unwrap(),
        b"{\"return\": {}}\r\n{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \
          \"package\": \"qjob\"}}\r\n"
    );
}

#[test]
fn messages_across_reads_and_several_per_read() {
    let mut w = World::new();
    let a = w.client();
    let text = "{\"execute\": \"query-jobs\", \"id\": 1}{'execute': 'query-jobs', 'id': 2}";
    // Byte by byte: each reply comes exactly when its message is complete.
    let mut got = Vec::new();
    for (i, b) in text.bytes().enumerate() {
        let lines = w.send(a, std::str::from_utf8(&[b]).unwrap());
        if !lines.is_empty() {
            got.push((i, lines));
        }
    }
    assert_eq!(
        got,
        [
            (33, vec!["{\"return\": [], \"id\": 1}".to_owned()]),
            (
                text.len() - 1,
                vec!["{\"return\": [], \"id\": 2}".to_owned()]
            ),
        ]
    );
    // All at once, with a broken message between them.
    let lines = w.send(a, &format!("{text} {{\"execute\": @}} {text}"));
    assert_eq!(
        lines,
        [
            "{\"return\": [], \"id\": 1}",
            "{\"return\": [], \"id\": 2}",
            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '@'\"}}",
            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}",
            "{\"return\": [], \"id\": 1}",
            "{\"return\": [], \"id\": 2}",
        ]
    );
}

#[test]
fn the_streams_nesting_limit() {
    // Nesting: 1024 levels are a message, 1025 are refused at the bracket
    // that crosses the limit.
    let mut s = JsonStreamer::new();
    let ok = format!("{}{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
    assert!(s.feed(ok.as_bytes())[0].is_ok());
    let deep = "[".repeat(MAX_NESTING + 1);
    assert_eq!(
        s.feed(deep.as_bytes()),
        [Err("JSON nesting depth limit exceeded".to_owned())]
    );
    assert!(s.is_idle());
}

/// The size and token-count limits through a monitor, with what QEMU 7.2
/// answered to the same bytes (sent once each to `qemu-storage-daemon`
/// 7.2.22; too large to keep as wire scripts).
#[test]
fn the_streams_size_and_count_limits_as_qemu_answers_them() {
    let error = |desc: &str| {
        format!("{{\"error\": {{\"class\": \"GenericError\", \"desc\": \"{desc}\"}}}}")
    };
    let not_object = error("QMP input must be a JSON object");
    let mut w = World::new();
    let a = w.client();
    let bytes = |parts: &[&[u8]]| parts.concat();
    let send = |w: &mut World, data: Vec<u8>| {
        w.server.handle_input(&mut w.manager, a, &data).unwrap();
        w.read(a)
    };

    // One string of 64 MiB: the token crosses the limit at its last byte;
    // the lexer starts afresh, so the closing quote opens a new string that
    // a newline breaks, and recovery skips the rest of the line.
    let x = vec![b'x'; MAX_TOKEN_SIZE];
    assert_eq!(
        send(&mut w, bytes(&[b"[\"", &x, b"\"]\n42 "])),
        [
            error("JSON token size limit exceeded"),
            error("JSON parse error, stray '\\\"]\\n'"),
        ]
    );
    // Two strings of 32 MiB: the message crosses the limit at the second;
    // what follows it is read afresh.
    let half = vec![b'y'; MAX_TOKEN_SIZE / 2];
    assert_eq!(
        send(
            &mut w,
            bytes(&[b"[\"", &half, b"\", \"", &half, b"\"] 43 "])
        ),
        [
            error("JSON token size limit exceeded"),
            error("JSON parse error, expecting value"),
            not_object.clone(),
        ]
    );
    // 2^21 tokens are a message; one more is refused.
    let pairs = b"0,".repeat((MAX_TOKEN_COUNT - 4) / 2);
    assert_eq!(send(&mut w, bytes(&[b"[", &pairs, b"[]]"])), [not_object]);
    assert_eq!(
        send(&mut w, bytes(&[b"[", &pairs, b"[0]]"])),
        [error("JSON token count limit exceeded")]
    );
}

#[test]
fn events_reach_every_negotiated_monitor_only() {
    let mut w = World::new();
    let a = w.client();
    let b = w.client();
    let c = w.connect();
    let lines = w.send(
        a,
        r#"{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full"}}"#,
    );
    let all = [
        "created",
        "running",
        "paused",
        "running",
        "waiting",
        "pending",
        "concluded",
        "null",
    ];
    assert_eq!(statuses(&lines, "b0"), all);
    let seen_by_b = w.read(b);
    assert_eq!(statuses(&seen_by_b, "b0"), all);
    // B got the same event lines, and no reply.
    assert_eq!(replies(&seen_by_b), Vec::<Value>::new());
    assert_eq!(w.read(c), Vec::<String>::new());
    // C negotiates: later events reach it too.
    assert_eq!(
        w.send(c, "{\"execute\": \"qmp_capabilities\"}"),
        ["{\"return\": {}}"]
    );
    w.cmd(
        a,
        "blockdev-backup",
        json!({"job-id": "b1", "device": "src", "target": "dst", "sync": "full"}),
    );
    assert_eq!(statuses(&w.read(c), "b1"), all);
}

#[test]
fn event_timestamps_are_epoch_plus_virtual_time() {
    let mut w = World::new();
    w.server.set_epoch_ns(1_700_000_000_123_456_789);
    let a = w.client();
    w.cmd(a, "x-qjob-advance", json!({"ns": 2_000_000_500}));
    let lines = w.send(
        a,
        r#"{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full"}}"#,
    );
    assert_eq!(
        lines[0],
        "{\"timestamp\": {\"seconds\": 1700000002, \"microseconds\": 123457}, \
         \"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"status\": \"created\", \"id\": \"b0\"}}"
    );
}

#[test]
fn virtual_time_commands_and_their_errors() {
    let mut w = World::new();
    let a = w.client();
    let args = json!({"job-id": "b0", "device": "src", "target": "dst", "sync": "full", "speed": 10 << 20});
    assert_eq!(w.cmd(a, "blockdev-backup", args), json!({"return": {}}));
    assert_eq!(w.server.poll_timeout(&w.manager), w.manager.next_deadline());
    assert_eq!(
        w.send(
            a,
            r#"{"execute": "x-qjob-advance", "arguments": {"ns": 1000000000}, "id": 1}"#
        ),
        ["{\"return\": {\"now-ns\": 1000000000}, \"id\": 1}"]
    );
    let settled = w.cmd(a, "x-qjob-settle", json!({}));
    assert_eq!(
        settled,
        json!({"return": {"now-ns": 1_000_000_000u64, "steps": 0}})
    );
    for (name, args, text) in [
        ("x-qjob-advance", json!({}), "Parameter 'ns' is missing"),
        (
            "x-qjob-advance",
            json!({"ns": "1"}),
            "Invalid parameter type for 'ns', expected: integer",
        ),
        (
            "x-qjob-advance",
            json!({"ns": -1}),
            "Invalid parameter type for 'ns', expected: integer",
        ),
        (
            "x-qjob-advance",
            json!({"ns": 1, "x": 2}),
            "Parameter 'x' is unexpected",
        ),
        (
            "x-qjob-settle",
            json!({"x": 1}),
            "Parameter 'x' is unexpected",
        ),
        (
            "x-qjob-wait",
            json!({"status": "null"}),
            "Parameter 'id' is missing",
        ),
        (
            "x-qjob-wait",
            json!({"id": 1, "status": "null"}),
            "Invalid parameter type for 'id', expected: string",
        ),
        (
            "x-qjob-wait",
            json!({"id": "b0"}),
            "Parameter 'status' is missing",
        ),
        (
            "x-qjob-wait",
            json!({"id": "b0", "status": "sideways"}),
            "Parameter 'status' does not accept value 'sideways'",
        ),
        (
            "x-qjob-wait",
            json!({"id": "b0", "event": 5}),
            "Invalid parameter type for 'event', expected: string",
        ),
        (
            "x-qjob-wait",
            json!({"id": "b0", "status": "null", "event": "X"}),
            "Parameter 'event' is unexpected",
        ),
        (
            "x-qjob-wait",
            json!({"id": "b0", "status": "null", "timeout-ns": 1.5}),
            "Invalid parameter type for 'timeout-ns', expected: integer",
        ),
    ] {
        let now = w.manager.now();
        assert_eq!(desc(&w.cmd(a, name, args.clone())), text, "{name} {args}");
        assert_eq!(w.manager.now(), now, "a refused command changes nothing");
    }
    // x-qjob-* do not run out of band either.
    let c = w.connect();
    w.send(
        c,
        r#"{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}"#,
    );
    assert_eq!(
        w.send(c, r#"{"exec-oob": "x-qjob-settle"}"#),
        [
            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"The command x-qjob-settle does not support OOB\"}}"
        ]
    );
}

#[test]
fn x_qjob_wait_looks_at_this_monitors_window() {
    let mut w = World::new();
    let a = w.client();
    let b = w.client();
    let args = json!({"job-id": "b0", "device": "src", "target": "dst", "sync": "full", "speed": 10 << 20});
    w.cmd(a, "blockdev-backup", args);
    // A waits: virtual time runs until the job is gone.
    let r = w.cmd(a, "x-qjob-wait", json!({"id": "b0", "status": "null"}));
    assert_eq!(r["return"]["reached"], true);
    let end = r["return"]["now-ns"].as_u64().unwrap();
    assert!(end > 6_000_000_000, "{end}");
    // Still in A's window: satisfied at once, by status or by event.
    assert_eq!(
        w.cmd(a, "x-qjob-wait", json!({"id": "b0", "status": "concluded"}))["return"]["reached"],
        true
    );
    let r = w.cmd(
        a,
        "x-qjob-wait",
        json!({"id": "b0", "event": "BLOCK_JOB_COMPLETED"}),
    );
    assert_eq!(r["return"], json!({"now-ns": end, "reached": true}));
    // B's last command came before those events: they are in its window too.
    assert_eq!(
        w.cmd(b, "x-qjob-wait", json!({"id": "b0", "status": "running"}))["return"]["reached"],
        true
    );
    // A new command on A starts a new window; a gone job counts as null.
    w.cmd(a, "query-jobs", json!({}));
    let r = w.cmd(
        a,
        "x-qjob-wait",
        json!({"id": "b0", "status": "running", "timeout-ns": 1000}),
    );
    // A wait that times out ends at its limit.
    assert_eq!(r["return"], json!({"now-ns": end + 1000, "reached": false}));
    let r = w.cmd(
        a,
        "x-qjob-wait",
        json!({"id": "b0", "event": "BLOCK_JOB_READY", "timeout-ns": 1000}),
    );
    assert_eq!(r["return"]["reached"], false);
    assert_eq!(
        w.cmd(
            a,
            "x-qjob-wait",
            json!({"id": "b0", "status": "null", "timeout-ns": 0})
        )["return"]["reached"],
        true
    );
    // B's window is still open: x-qjob-wait does not move it.
    assert_eq!(
        w.cmd(b, "x-qjob-wait", json!({"id": "b0", "status": "pending"}))["return"]["reached"],
        true
    );
}

#[test]
fn manager_driven_beside_the_server() {
    let mut w = World::new();
    let a = w.client();
    let reply = w.manager.execute(
        r#"{"execute": "blockdev-backup", "arguments": {"job-id": "t0", "device": "src", "target": "dst", "sync": "full", "speed": 1}}"#,
    );
    assert_eq!(reply, r#"{"return":{}}"#);
    assert_eq!(
        w.read(a),
        Vec::<String>::new(),
        "nothing sent before the server is told"
    );
    w.server.handle_manager_events(&mut w.manager);
    assert_eq!(statuses(&w.read(a), "t0")[..2], ["created", "running"]);
    // The deadline the server asks for is the job's rate limit.
    let t = w.server.poll_timeout(&w.manager).expect("a deadline");
    w.manager.job_pause("t0").unwrap();
    w.server.handle_timeout(&mut w.manager, t);
    assert_eq!(statuses(&w.read(a), "t0"), ["paused"]);
}

#[test]
fn quit_ends_every_job_then_replies_then_exits() {
    let mut w = World::new();
    let a = w.client();
    let b = w.client();
    let h = w
        .manager
        .create_host_job(HostJobOptions {
            id: Some("host0".into()),
            ..Default::default()
        })
        .unwrap();
    w.cmd(
        a,
        "blockdev-backup",
        json!({"job-id": "slow", "device": "src", "target": "dst", "sync": "full", "speed": 1}),
    );
    w.read(b);
    let lines = w.send(b, r#"{"execute": "quit", "id": "q"}"#);
    assert_eq!(lines.last().unwrap(), "{\"return\": {}, \"id\": \"q\"}");
    assert_eq!(
        statuses(&lines, "slow"),
        ["paused", "running", "aborting", "concluded", "null"]
    );
    assert_eq!(
        statuses(&w.read(a), "slow"),
        ["paused", "running", "aborting", "concluded", "null"]
    );
    assert!(w.server.exit_requested());
    // The host job is told to cancel; it ends when the host reports back.
    let kinds: Vec<_> = std::iter::from_fn(|| w.manager.poll_action())
        .map(|x| x.kind)
        .collect();
    assert!(
        kinds.contains(&HostActionKind::Cancel { force: true }),
        "{kinds:?}"
    );
    assert_eq!(
        w.manager.job_info("host0").map(|j| j.status),
        Some(JobStatus::Running)
    );
    w.manager.host_run_finished(h, -125, None).unwrap();
    w.manager.settle();
    assert_eq!(w.manager.job_info("host0"), None);
    // After quit nothing more is read, on any monitor.
    assert_eq!(
        w.send(a, "{\"execute\": \"query-jobs\"}"),
        Vec::<String>::new()
    );
}

#[test]
fn a_signal_ends_the_jobs_without_a_reply() {
    // The storage daemon: the jobs end as at quit, and nothing replies.
    let mut w = World::new();
    let a = w.client();
    w.cmd(
        a,
        "blockdev-backup",
        json!({"job-id": "slow", "device": "src", "target": "dst", "sync": "full", "speed": 1}),
    );
    w.server.handle_signal(&mut w.manager);
    let lines = w.read(a);
    assert!(replies(&lines).is_empty(), "{lines:?}");
    assert_eq!(
        statuses(&lines, "slow")[2..],
        ["aborting", "concluded", "null"]
    );
    assert!(w.server.exit_requested());
    // A second signal changes nothing.
    w.server.handle_signal(&mut w.manager);
    assert!(w.read(a).is_empty());

    // A system emulator first reports its shutdown, caused by a host signal.
    let mut w = World::new();
    w.manager.set_machine(true);
    let a = w.client();
    w.server.handle_signal(&mut w.manager);
    let lines = w.read(a);
    let first = parse(&lines[0]);
    assert_eq!(first["event"], "SHUTDOWN");
    assert_eq!(
        first["data"],
        json!({"guest": false, "reason": "host-signal"})
    );
}

#[test]
fn quit_can_be_left_out() {
    let mut w = World {
        manager: JobManager::with_default_world(),
        server: QmpServer::new(ServerConfig {
            allow_quit: false,
            ..ServerConfig::default()
        }),
    };
    let a = w.client();
    assert_eq!(
        desc(&w.cmd(a, "quit", json!({}))),
        "The command quit has not been found"
    );
    assert!(!w.server.exit_requested());
    // ... and is not listed.
    let listed = w.cmd(a, "query-commands", json!({}));
    let names: Vec<&str> = listed["return"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"query-jobs") && !names.contains(&"quit"));
}

#[test]
fn eof_disconnect_and_unknown_monitors() {
    let mut w = World::new();
    let a = w.client();
    let b = w.client();
    // Half a message, then the input ends: the half is dropped, the monitor
    // still receives events.
    assert_eq!(w.send(a, "{\"execute\": \"query-"), Vec::<String>::new());
    w.server.handle_eof(a).unwrap();
    assert_eq!(w.send(a, "jobs\"}"), Vec::<String>::new());
    w.cmd(
        b,
        "blockdev-backup",
        json!({"job-id": "b0", "device": "src", "target": "dst", "sync": "full"}),
    );
    assert_eq!(statuses(&w.read(a), "b0").len(), 8);
    // Gone: its output is dropped and its id is refused from then on.
    w.server.handle_disconnect(a).unwrap();
    assert_eq!(w.server.monitors().collect::<Vec<_>>(), [b]);
    assert_eq!(w.server.handle_disconnect(a), Err(UnknownMonitor(a)));
    assert_eq!(
        w.server.handle_input(&mut w.manager, a, b"{}"),
        Err(UnknownMonitor(a))
    );
    assert_eq!(w.server.pending_output(a), Err(UnknownMonitor(a)));
    assert_eq!(w.server.poll_transmit(a), None);
    assert_eq!(
        UnknownMonitor(a).to_string(),
        format!("no such QMP monitor: monitor {}", a.get())
    );
    // Ids are not reused.
    let c = w.connect();
    assert!(c.get() > b.get());
}

#[test]
fn a_qemu_10_0_server_greets_as_10_0_and_has_block_job_change() {
    let mut w = World {
        manager: JobManager::with_default_world_version(qjob::QemuVersion::V10_0),
        server: QmpServer::new(ServerConfig::for_qemu(qjob::QemuVersion::V10_0)),
    };
    let mon = w.server.handle_connect();
    let greeting = String::from_utf8(w.server.poll_transmit(mon).unwrap()).unwrap();
    let g = parse(greeting.trim_end());
    assert_eq!(
        g["QMP"]["version"]["qemu"],
        json!({"major": 10, "minor": 0, "micro": 2})
    );
    assert_eq!(
        w.send(mon, "{\"execute\": \"qmp_capabilities\"}"),
        ["{\"return\": {}}"]
    );
    let r = w.cmd(
        mon,
        "block-job-change",
        json!({"id": "x", "type": "mirror", "copy-mode": "write-blocking"}),
    );
    assert_eq!(desc(&r), "Block job 'x' not found");
    // The same command on a 7.2 server does not exist.
    let mut old = World::new();
    let mon = old.client();
    let r = old.cmd(
        mon,
        "block-job-change",
        json!({"id": "x", "type": "mirror", "copy-mode": "write-blocking"}),
    );
    assert_eq!(r["error"]["class"], "CommandNotFound");
}
