//! The two binaries as a harness sees them: processes with QEMU's command
//! lines, monitors on sockets and on standard input and output, QEMU's
//! refusals and exit statuses, signals, the PID file, `--daemonize`, the
//! qtest socket, real image files. Times that matter are virtual and
//! manual (`x-qjob-time manual`); nothing here depends on how fast the
//! machine is.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use qjob_dropin::image::{self, CreateOptions, Format, Qcow2Options};

const QSD: &str = env!("CARGO_BIN_EXE_qjob-storage-daemon");
const SYSTEM: &str = env!("CARGO_BIN_EXE_qjob-system");

/// A fresh scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("qjob-bin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn str(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(prog: &str, args: &[&str]) -> Output {
    Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A QMP client on the socket a binary connected to.
struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Listens on `sock`, then waits for the binary to connect.
    fn accept(listener: &UnixListener) -> Client {
        let (s, _) = listener.accept().unwrap();
        Client {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        }
    }

    /// The next line; empty once the binary closed the connection (a
    /// reset counts: a binary that exits after `quit` may leave bytes
    /// unread).
    fn line(&mut self) -> String {
        let mut l = String::new();
        match self.reader.read_line(&mut l) {
            Ok(_) => l,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => String::new(),
            Err(e) => panic!("{e}"),
        }
    }

    /// Sends one message with its newline, in one write (a binary may
    /// answer a whole object before its newline comes, and exit after
    /// `quit`).
    fn send(&mut self, text: &str) {
        self.writer
            .write_all(format!("{text}\n").as_bytes())
            .unwrap();
    }

    /// Sends a command; returns the lines up to and with its reply.
    fn command(&mut self, text: &str) -> Vec<String> {
        self.send(text);
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            assert!(
                !l.is_empty(),
                "the monitor closed before replying to {text}"
            );
            let reply = l.starts_with("{\"return\"") || l.starts_with("{\"error\"");
            lines.push(l.trim_end().to_owned());
            if reply {
                return lines;
            }
        }
    }

    /// Negotiates capabilities after reading the greeting.
    fn negotiate(&mut self) -> String {
        let greeting = self.line();
        assert_eq!(
            self.command("{\"execute\": \"qmp_capabilities\"}"),
            ["{\"return\": {}}"]
        );
        greeting
    }
}

/// A daemon whose monitor connects to the test's socket.
fn qsd_with_client(dir: &Scratch, extra: &[&str]) -> (Child, Client) {
    let sock = dir.path("m.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let mut args = vec!["--x-qjob-time".to_owned(), "manual".to_owned()];
    for n in ["src", "dst"] {
        args.push("--blockdev".into());
        args.push(format!("null-co,node-name={n},size=67108864"));
    }
    args.extend(extra.iter().map(|&s| s.to_owned()));
    args.push("--chardev".into());
    args.push(format!("socket,id=m0,path={}", sock.display()));
    args.push("--monitor".into());
    args.push("chardev=m0".into());
    let child = Command::new(QSD)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = Client::accept(&listener);
    (child, client)
}

fn statuses(lines: &[String], id: &str) -> Vec<String> {
    let tag = format!("\"id\": \"{id}\"");
    lines
        .iter()
        .filter(|l| l.contains("JOB_STATUS_CHANGE") && l.contains(&tag))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["data"]["status"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn a_socket_monitor_greets_negotiates_and_quits() {
    let dir = Scratch::new("socket");
    let (mut child, mut c) = qsd_with_client(&dir, &[]);
    let greeting = c.negotiate();
    assert_eq!(
        greeting,
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \
         \"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n"
    );
    let lines = c.command(
        r#"{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full", "speed": 1}}"#,
    );
    assert_eq!(statuses(&lines, "b0")[..2], ["created", "running"]);
    // Manual time: after its first chunk the job waits for time to move.
    assert_eq!(
        c.command(r#"{"execute": "query-jobs"}"#).last().unwrap(),
        r#"{"return": [{"current-progress": 1048576, "status": "running", "total-progress": 67108864, "type": "backup", "id": "b0"}]}"#
    );
    let lines = c.command(r#"{"execute": "quit"}"#);
    assert_eq!(lines.last().unwrap(), "{\"return\": {}}");
    assert_eq!(
        statuses(&lines, "b0"),
        ["paused", "running", "aborting", "concluded", "null"]
    );
    assert!(child.wait().unwrap().success());
    assert_eq!(c.line(), "", "the monitor closes after quit");
}

#[test]
fn x_qjob_qemu_makes_the_programs_qemu_10() {
    // The greeting, query-version and the commands are QEMU 10.0's.
    let dir = Scratch::new("qemu10");
    let (mut child, mut c) = qsd_with_client(&dir, &["--x-qjob-qemu", "10.0"]);
    let greeting = c.negotiate();
    assert_eq!(
        greeting,
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \
         \"package\": \"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"}, \"capabilities\": [\"oob\"]}}\r\n"
    );
    assert_eq!(
        c.command(r#"{"execute": "query-version"}"#),
        [
            r#"{"return": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1"}}"#
        ]
    );
    // block-job-change exists in 10.0 (7.2: CommandNotFound), with its refusal
    // as scenarios/qemu10/block-job-change.qemu10.txt records it.
    assert_eq!(
        c.command(r#"{"execute": "block-job-change", "arguments": {"id": "nope", "type": "mirror", "copy-mode": "write-blocking"}}"#),
        [r#"{"error": {"class": "DeviceNotActive", "desc": "Block job 'nope' not found"}}"#]
    );
    c.command(r#"{"execute": "quit"}"#);
    assert!(child.wait().unwrap().success());
    // --version and -version speak for the QEMU chosen, wherever the option is.
    let o = run(QSD, &["--version", "--x-qjob-qemu=10.0"]);
    assert_eq!(
        stdout(&o),
        "qemu-storage-daemon version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\n\
         Copyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers\n"
    );
    let o = run(SYSTEM, &["-version", "-x-qjob-qemu", "10.0"]);
    assert!(stdout(&o).starts_with("QEMU emulator version 10.0.2 (Debian "));
    assert!(run(QSD, &["--help"]).stdout.starts_with(b"Usage:"));
    assert!(stdout(&run(QSD, &["--help"])).contains("--x-qjob-qemu 7.2|10.0"));
    // An unknown version is refused before anything runs.
    let o = run(QSD, &["--x-qjob-qemu", "9.2", "--version"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "qemu-storage-daemon: --x-qjob-qemu 9.2: x-qjob-qemu: '9.2' is not 7.2 or 10.0\n"
    );
    let o = run(SYSTEM, &["-x-qjob-qemu", "10", "-version"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "qemu-system-x86_64: -x-qjob-qemu 10: x-qjob-qemu: '10' is not 7.2 or 10.0\n"
    );
}

#[test]
fn a_stdio_monitor_reads_everything_at_once() {
    let mut child = Command::new(QSD)
        .args(["--chardev", "stdio,id=s", "--monitor", "chardev=s"])
        .args(["--blockdev", "null-co,node-name=n0,size=1048576"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"{\"execute\": \"qmp_capabilities\"}\n{\"execute\": \"query-jobs\", \"id\": 1}\n\
              {\"execute\": \"quit\"}\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(lines[0].starts_with("{\"QMP\": "));
    assert_eq!(
        lines[1..],
        [
            "{\"return\": {}}",
            "{\"return\": [], \"id\": 1}",
            "{\"return\": {}}",
            ""
        ]
    );
}

#[test]
fn options_are_refused_in_qemus_words() {
    let o = run(QSD, &["--foo"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), format!("{QSD}: unrecognized option '--foo'\n"));
    let o = run(QSD, &["--trace", "x"]);
    assert_eq!(
        stderr(&o),
        format!("{QSD}: unrecognized option '--trace'\n")
    );
    let o = run(QSD, &["x"]);
    assert_eq!(stderr(&o), "qemu-storage-daemon: x: Unexpected argument\n");
    let o = run(QSD, &["--blockdev", "null-co,node-name=a,size=foo"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "qemu-storage-daemon: --blockdev null-co,node-name=a,size=foo: Parameter 'size' expects integer\n"
    );
    let o = run(QSD, &["--monitor", "nope"]);
    assert_eq!(
        stderr(&o),
        "qemu-storage-daemon: --monitor nope: chardev \"nope\" not found\n"
    );
    let o = run(
        QSD,
        &["--chardev", "null,id=a", "--monitor", "a,mode=readline"],
    );
    assert_eq!(
        stderr(&o),
        "qemu-storage-daemon: --monitor a,mode=readline: Only QMP is supported\n"
    );
    // The system emulator: an option QEMU has and qjob does not model reads
    // as an unknown one, before any other option is applied.
    let o = run(SYSTEM, &["-drive", "bad", "-smp", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "qemu-system-x86_64: -smp: invalid option\n");
    let o = run(SYSTEM, &["-M", "none", "-accel", "kvm"]);
    assert_eq!(
        stderr(&o),
        "qemu-system-x86_64: -accel kvm: invalid accelerator kvm\n"
    );
    let o = run(SYSTEM, &["-M", "isapc"]);
    assert_eq!(
        stderr(&o),
        "qemu-system-x86_64: unsupported machine type\nUse -machine help to list supported machines\n"
    );
    let o = run(SYSTEM, &["-M", "none", "-display", "gtk"]);
    assert_eq!(
        stderr(&o),
        "qemu-system-x86_64: Display 'gtk' is not available.\n"
    );
}

#[test]
fn what_the_harness_reads_before_it_starts_a_vm() {
    let o = run(SYSTEM, &["-machine", "help"]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("\npc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)\n")
    );
    let base = ["-nodefaults", "-display", "none", "-accel", "qtest"];
    let o = run(SYSTEM, &[&base[..], &["-drive", "format=help"]].concat());
    assert!(o.status.success());
    let first = stdout(&o).lines().next().unwrap().to_owned();
    let formats: Vec<&str> = first
        .split(':')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    for f in ["qcow2", "raw", "null-co", "file", "blkdebug"] {
        assert!(formats.contains(&f), "{f} in {first}");
    }
    let o = run(
        SYSTEM,
        &[&base[..], &["-M", "none", "-device", "help"]].concat(),
    );
    assert!(o.status.success());
    assert!(stdout(&o).contains("virtio-blk"));
    let o = run(SYSTEM, &["-accel", "help"]);
    assert_eq!(
        stdout(&o),
        "Accelerators supported in QEMU binary:\nqtest\n"
    );
    let o = run(SYSTEM, &["--version"]);
    assert!(
        stdout(&o).starts_with("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n")
    );
    let o = run(QSD, &["-V"]);
    assert!(stdout(&o).starts_with("qemu-storage-daemon version 7.2.22 "));
    let o = run(QSD, &["--help"]);
    assert!(stdout(&o).starts_with("Usage: qemu-storage-daemon [options]\n"));
}

#[test]
fn sigterm_ends_the_jobs_and_the_process() {
    let dir = Scratch::new("sigterm");
    let pidfile = dir.str("qsd.pid");
    let (child, mut c) = qsd_with_client(&dir, &["--pidfile", &pidfile]);
    c.negotiate();
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid as u32, child.id());
    c.command(
        r#"{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full", "speed": 1}}"#,
    );
    // SAFETY: sending a signal to our own child, whose pid we hold.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let mut rest = String::new();
    c.reader.read_to_string(&mut rest).unwrap();
    let lines: Vec<String> = rest.lines().map(str::to_owned).collect();
    assert_eq!(
        statuses(&lines, "b0")[2..],
        ["aborting", "concluded", "null"]
    );
    assert!(!rest.contains("\"return\""), "no reply to a signal: {rest}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(!Path::new(&pidfile).exists(), "the PID file goes at exit");
}

#[test]
fn the_system_emulator_reports_its_shutdown() {
    let dir = Scratch::new("shutdown");
    let sock = dir.path("m.sock");
    let qtest = dir.path("q.sock");
    let mon_listener = UnixListener::bind(&sock).unwrap();
    let qtest_listener = UnixListener::bind(&qtest).unwrap();
    let mut child = Command::new(SYSTEM)
        .args(["-display", "none", "-vga", "none", "-chardev"])
        .arg(format!("socket,id=mon,path={}", sock.display()))
        .args(["-mon", "chardev=mon,mode=control", "-qtest"])
        .arg(format!("unix:path={}", qtest.display()))
        .args([
            "-accel",
            "qtest",
            "-nodefaults",
            "-display",
            "none",
            "-accel",
            "qtest",
        ])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    // The harness's order: the monitor first, then the qtest socket.
    let mut c = Client::accept(&mon_listener);
    let (mut q, _) = qtest_listener.accept().unwrap();
    c.negotiate();
    q.write_all(b"endianness\nreadb 0\n").unwrap();
    let want = b"OK little\nFAIL Unknown command 'readb'\n";
    let mut answers = vec![0u8; want.len()];
    q.read_exact(&mut answers).unwrap();
    assert_eq!(answers, want);
    let lines = c.command(r#"{"execute": "quit"}"#);
    let shutdown: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(shutdown["event"], "SHUTDOWN");
    assert_eq!(
        shutdown["data"],
        serde_json::json!({"guest": false, "reason": "host-qmp-quit"})
    );
    assert!(child.wait().unwrap().success());
}

#[test]
fn daemonize_returns_once_the_daemon_is_up() {
    let dir = Scratch::new("daemon");
    let pidfile = dir.str("d.pid");
    let sock = dir.str("m.sock");
    let o = Command::new(QSD)
        .args(["--chardev"])
        .arg(format!("socket,id=m0,path={sock},server=on,wait=off"))
        .args([
            "--monitor",
            "chardev=m0",
            "--daemonize",
            "--pidfile",
            &pidfile,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // The parent exited after the daemon wrote its PID file and listens.
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let s = UnixStream::connect(&sock).unwrap();
    let mut c = Client {
        reader: BufReader::new(s.try_clone().unwrap()),
        writer: s,
    };
    c.negotiate();
    assert_eq!(c.command(r#"{"execute": "quit"}"#), ["{\"return\": {}}"]);
    assert_eq!(c.line(), "", "the daemon exits after quit");
    assert!(pid > 0);
    // A daemon that fails makes its parent fail.
    let o = run(QSD, &["--daemonize", "--blockdev", "null-co,size=foo"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Parameter 'size' expects integer"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn created_images_are_real_and_formatted_before_the_reply() {
    let dir = Scratch::new("files");
    let top = dir.str("t.qcow2");
    image::create(&top, &CreateOptions::Qcow2(Qcow2Options::new(1 << 20))).unwrap();
    let target = dir.str("o.qcow2");
    let mut child = Command::new(SYSTEM)
        .args([
            "-nodefaults",
            "-display",
            "none",
            "-accel",
            "qtest",
            "-machine",
            "none",
        ])
        .args(["-x-qjob-time", "manual", "-qmp", "stdio", "-blockdev"])
        .arg(format!(
            "qcow2,node-name=drv0,file.driver=file,file.filename={top}"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = format!(
        "{{\"execute\": \"qmp_capabilities\"}}\n\
         {{\"execute\": \"drive-backup\", \"arguments\": {{\"job-id\": \"j\", \"device\": \"drv0\", \
         \"target\": \"{target}\", \"format\": \"qcow2\", \"sync\": \"none\"}}}}\n\
         {{\"execute\": \"quit\"}}\n"
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    let formatting = text.find("Formatting '").expect("the Formatting line");
    let created = text.find("\"status\": \"created\"").unwrap();
    assert!(
        formatting < created,
        "the line comes while the command runs: {text}"
    );
    assert!(text.contains(&format!(
        "Formatting '{target}', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib \
         size=1048576 backing_file={top} backing_fmt=qcow2 lazy_refcounts=off refcount_bits=16\n"
    )));
    let info = image::read(&target, Format::Qcow2).unwrap();
    assert_eq!(info.virtual_size, 1 << 20);
    assert_eq!(info.backing_file.as_deref(), Some(top.as_str()));
    assert!(info.data.is_empty(), "a sync=none backup copies no data");
}

/// A pattern no two 512-byte sectors of which are alike.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i / 512 * 7 + i % 251) as u8).collect()
}

/// A finished `sync=full` backup leaves the source's data in the target:
/// a qcow2 image over a raw file into a new raw image.
#[test]
fn a_full_backup_copies_the_data_into_its_target() {
    let dir = Scratch::new("backup-data");
    let (base, top, target) = (dir.str("base.raw"), dir.str("top.qcow2"), dir.str("o.raw"));
    let data = pattern(1 << 20);
    std::fs::write(&base, &data).unwrap();
    let opts = Qcow2Options::new(1 << 20).with_backing(base.as_str(), "raw");
    image::create(&top, &CreateOptions::Qcow2(opts)).unwrap();
    let mut child = Command::new(SYSTEM)
        .args(["-nodefaults", "-display", "none", "-accel", "qtest"])
        .args([
            "-machine",
            "none",
            "-x-qjob-time",
            "manual",
            "-qmp",
            "stdio",
        ])
        .arg("-blockdev")
        .arg(format!(
            "qcow2,node-name=drv0,file.driver=file,file.filename={top}"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = format!(
        "{{\"execute\": \"qmp_capabilities\"}}\n\
         {{\"execute\": \"drive-backup\", \"arguments\": {{\"job-id\": \"j\", \"device\": \"drv0\", \
         \"target\": \"{target}\", \"format\": \"raw\", \"sync\": \"full\"}}}}\n\
         {{\"execute\": \"x-qjob-advance\", \"arguments\": {{\"ns\": 1000000000}}}}\n\
         {{\"execute\": \"quit\"}}\n"
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("BLOCK_JOB_COMPLETED"), "{text}");
    assert!(
        std::fs::read(&target).unwrap() == data,
        "the target holds the source's data"
    );
}

/// A stream down to the bottom of the chain leaves the data of the layers
/// below in the top, which then reads the same without its backing file.
#[test]
fn a_stream_copies_the_data_into_the_top() {
    let dir = Scratch::new("stream-data");
    let (base, top, out) = (
        dir.str("base.raw"),
        dir.str("top.qcow2"),
        dir.str("out.raw"),
    );
    let data = pattern(1 << 20);
    std::fs::write(&base, &data).unwrap();
    let opts = Qcow2Options::new(1 << 20).with_backing(base.as_str(), "raw");
    image::create(&top, &CreateOptions::Qcow2(opts)).unwrap();
    let top_node = format!("driver=qcow2,node-name=top,file.driver=file,file.filename={top}");
    let (mut child, mut c) = qsd_with_client(&dir, &["--blockdev", &top_node]);
    c.negotiate();
    c.command(
        "{\"execute\": \"block-stream\", \"arguments\": {\"job-id\": \"s\", \"device\": \"top\"}}",
    );
    let mut lines =
        c.command("{\"execute\": \"x-qjob-advance\", \"arguments\": {\"ns\": 1000000000}}");
    while !lines.iter().any(|l| l.contains("\"status\": \"null\"")) {
        lines = vec![c.line()];
        assert!(
            !lines[0].is_empty(),
            "the monitor closed before the job ended"
        );
    }
    c.send("{\"execute\": \"quit\"}");
    assert!(child.wait().unwrap().success());
    let info = image::read(&top, Format::Qcow2).unwrap();
    assert_eq!(info.backing_file, None);
    assert_eq!(info.data, [(0, 1 << 20)]);
    // Read back through a copy into a raw file.
    image::create(
        &out,
        &CreateOptions::Raw(image::RawOptions {
            size: 1 << 20,
            preallocation: None,
        }),
    )
    .unwrap();
    image::copy_data(
        &[(Path::new(&top), Format::Qcow2)],
        (Path::new(&out), Format::Raw),
        false,
    )
    .unwrap();
    assert!(
        std::fs::read(&out).unwrap() == data,
        "the top holds the base's data"
    );
}

#[test]
fn a_stream_rewrites_the_backing_file_on_disk() {
    let dir = Scratch::new("stream-backing");
    let (base, mid, top) = (
        dir.str("base.qcow2"),
        dir.str("mid.qcow2"),
        dir.str("top.qcow2"),
    );
    image::create(&base, &CreateOptions::Qcow2(Qcow2Options::new(1 << 20))).unwrap();
    for (img, below) in [(&mid, &base), (&top, &mid)] {
        let opts = Qcow2Options::new(1 << 20).with_backing(below.as_str(), "qcow2");
        image::create(img, &CreateOptions::Qcow2(opts)).unwrap();
    }
    let top_node = format!("driver=qcow2,node-name=top,file.driver=file,file.filename={top}");
    let (mut child, mut c) = qsd_with_client(&dir, &["--blockdev", &top_node]);
    c.negotiate();
    let nodes = c.command("{\"execute\": \"query-named-block-nodes\"}");
    let nodes: serde_json::Value = serde_json::from_str(nodes.last().unwrap()).unwrap();
    let base_node = nodes["return"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["drv"] == "qcow2" && n["file"] == base.as_str())
        .expect("the base's format node")["node-name"]
        .as_str()
        .unwrap()
        .to_owned();
    c.command(&format!(
        "{{\"execute\": \"block-stream\", \"arguments\": {{\"job-id\": \"s\", \"device\": \"top\", \
         \"base-node\": \"{base_node}\"}}}}"
    ));
    // Manual time: run the job to its end.
    let mut lines =
        c.command("{\"execute\": \"x-qjob-advance\", \"arguments\": {\"ns\": 1000000000}}");
    while !lines.iter().any(|l| l.contains("\"status\": \"null\"")) {
        lines = vec![c.line()];
        assert!(
            !lines[0].is_empty(),
            "the monitor closed before the job ended"
        );
    }
    c.send("{\"execute\": \"quit\"}");
    assert!(child.wait().unwrap().success());
    let info = image::read(&top, Format::Qcow2).unwrap();
    assert_eq!(info.backing_file.as_deref(), Some(base.as_str()));
    assert_eq!(info.backing_format.as_deref(), Some("qcow2"));
}
