//! QEMU 7.2's bytes on the wire: replays every wire script
//! (`core/tests/wire/*.wire`, recorded from real QEMU 7.2 by
//! `tools/record-wire.py`) through [`QmpServer`] and compares each byte the
//! monitors write, event timestamps aside.
//!
//! A script drives one process over one or more QMP connections: `connect A`,
//! `send A "BYTES"`, `eof A`, `close A`. After each step the recorder read
//! every connection until 0.3 s passed with nothing new (5 s at most) and
//! wrote what came as `recv A "LINE"` lines, then `exit` if the process had
//! exited. Here the same quiet rule runs on the virtual clock, as a driver's
//! poll loop would: wake the server at each deadline it asks for until 0.3 s
//! of virtual time pass without output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use qjob::JobManager;
use qjob::qmp::server::{MonitorId, QmpServer, ServerConfig};

const QUIET_NS: u64 = 300_000_000;
const QUIET_CAP_NS: u64 = 5_000_000_000;

fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wire");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("core/tests/wire")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wire"))
        .collect();
    v.sort();
    v
}

/// A `send`/`recv` operand: a JSON string whose characters U+0000..U+00FF
/// are the bytes.
fn bytes_of(text: &str) -> Vec<u8> {
    let s: String = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or_else(|_| panic!("{text}: not a byte")))
        .collect()
}

/// The bytes as a wire script writes them (for failure messages).
fn show(bytes: &[u8]) -> String {
    let s: String = bytes.iter().map(|&b| char::from(b)).collect();
    serde_json::to_string(&s).unwrap()
}

/// `"timestamp": {"seconds": N, "microseconds": M}` with the numbers masked.
fn mask_timestamp(line: &[u8]) -> Vec<u8> {
    const KEY: &[u8] = b"{\"seconds\": ";
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i..].starts_with(KEY) {
            out.extend_from_slice(b"{\"seconds\": S, \"microseconds\": U}");
            i = match line[i..].iter().position(|&b| b == b'}') {
                Some(p) => i + p + 1,
                None => line.len(),
            };
        } else {
            out.push(line[i]);
            i += 1;
        }
    }
    out
}

/// One connection's lines of one step as the corpus compares a window: the
/// replies in order, and each job's events in order (by `id`, else
/// `device`; events of no job as one more group), timestamps masked. Where
/// a reply falls among the events is free: QEMU 7.2 finishes some work
/// before its reply and some after.
type Window = (Vec<Vec<u8>>, BTreeMap<String, Vec<Vec<u8>>>);

fn window(lines: &[Vec<u8>]) -> Window {
    let mut replies = Vec::new();
    let mut events: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for line in lines {
        let masked = mask_timestamp(line);
        let event = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .filter(|v| v.get("event").is_some());
        match event {
            Some(v) => {
                let data = &v["data"];
                let job = data
                    .get("id")
                    .or_else(|| data.get("device"))
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("");
                events.entry(job.to_owned()).or_default().push(masked);
            }
            None => replies.push(masked),
        }
    }
    (replies, events)
}

#[derive(Default)]
struct Expected {
    recv: BTreeMap<String, Vec<Vec<u8>>>,
    exit: bool,
}

enum Step {
    Connect(String),
    Send(String, Vec<u8>),
    Eof(String),
    Close(String),
}

/// The steps of a script, each with what QEMU wrote after it.
fn parse(text: &str) -> (bool, Vec<(Step, Expected)>) {
    let mut machine = false;
    let mut steps: Vec<(Step, Expected)> = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let (word, rest) = t.split_once(' ').unwrap_or((t, ""));
        let (name, operand) = rest.split_once(' ').unwrap_or((rest, ""));
        let step = match word {
            "machine" => {
                machine = true;
                continue;
            }
            "connect" => Step::Connect(name.into()),
            "send" => Step::Send(name.into(), bytes_of(operand)),
            "eof" => Step::Eof(name.into()),
            "close" => Step::Close(name.into()),
            "recv" | "exit" => {
                let (_, expected) = steps
                    .last_mut()
                    .unwrap_or_else(|| panic!("line {}: {word} before any step", no + 1));
                if word == "exit" {
                    expected.exit = true;
                } else {
                    let line = bytes_of(operand);
                    expected.recv.entry(name.into()).or_default().push(line);
                }
                continue;
            }
            _ => panic!("line {}: unknown step {word}", no + 1),
        };
        steps.push((step, Expected::default()));
    }
    (machine, steps)
}

/// One process: the server, its manager and the connections by name.
struct Process {
    manager: JobManager,
    server: QmpServer,
    conns: BTreeMap<String, MonitorId>,
    /// Bytes written to each connection and not yet cut into lines.
    partial: BTreeMap<String, Vec<u8>>,
    exited: bool,
}

impl Process {
    fn new(machine: bool) -> Process {
        let mut manager = JobManager::with_default_world();
        manager.set_machine(machine);
        Process {
            manager,
            server: QmpServer::new(ServerConfig::default()),
            conns: BTreeMap::new(),
            partial: BTreeMap::new(),
            exited: false,
        }
    }

    fn monitor(&self, name: &str) -> MonitorId {
        *self
            .conns
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not connected"))
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Connect(name) => {
                let id = self.server.handle_connect();
                self.conns.insert(name.clone(), id);
            }
            Step::Send(name, data) => {
                let m = self.monitor(name);
                self.server
                    .handle_input(&mut self.manager, m, data)
                    .unwrap();
            }
            Step::Eof(name) => {
                let m = self.monitor(name);
                self.server.handle_eof(m).unwrap();
            }
            Step::Close(name) => {
                let m = self.monitor(name);
                self.conns.remove(name);
                self.server.handle_disconnect(m).unwrap();
            }
        }
    }

    fn pending(&self) -> usize {
        self.conns
            .values()
            .map(|&m| self.server.pending_output(m).unwrap_or(0))
            .sum()
    }

    /// The recorder's quiet rule on the virtual clock.
    fn run_until_quiet(&mut self) {
        let start = self.manager.now();
        let mut last_output = start;
        let mut written = self.pending();
        while let Some(t) = self.server.poll_timeout(&self.manager) {
            if t > last_output.saturating_add(QUIET_NS) || t > start + QUIET_CAP_NS {
                break;
            }
            self.server.handle_timeout(&mut self.manager, t);
            let now = self.pending();
            if now != written {
                written = now;
                last_output = self.manager.now();
            }
        }
    }

    /// What each connection received since the last call, as whole lines.
    fn received(&mut self) -> BTreeMap<String, Vec<Vec<u8>>> {
        let mut got = BTreeMap::new();
        for (name, &m) in &self.conns {
            let buf = self.partial.entry(name.clone()).or_default();
            if let Some(bytes) = self.server.poll_transmit(m) {
                buf.extend_from_slice(&bytes);
            }
            let mut lines = Vec::new();
            while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                lines.push(buf.drain(..=nl).collect::<Vec<u8>>());
            }
            if !lines.is_empty() {
                got.insert(name.clone(), lines);
            }
        }
        got
    }
}

fn replay(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (machine, steps) = parse(&text);
    let mut p = Process::new(machine);
    for (i, (step, expected)) in steps.iter().enumerate() {
        p.step(step);
        p.run_until_quiet();
        let got = p.received();
        let names: std::collections::BTreeSet<&String> =
            got.keys().chain(expected.recv.keys()).collect();
        for name in names {
            let want = expected.recv.get(name).map_or(&[][..], Vec::as_slice);
            let have = got.get(name).map_or(&[][..], Vec::as_slice);
            if window(want) != window(have) {
                let fmt = |ls: &[Vec<u8>]| {
                    ls.iter()
                        .map(|l| format!("    recv {name} {}", show(l)))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                return Err(format!(
                    "step {} ({}): connection {name}\n  QEMU 7.2 wrote:\n{}\n  qjob wrote:\n{}",
                    i + 1,
                    describe(step),
                    fmt(want),
                    fmt(have)
                ));
            }
        }
        let exit = p.server.exit_requested() && !p.exited;
        if exit != expected.exit {
            return Err(format!(
                "step {} ({}): QEMU 7.2 {} exit, qjob {}",
                i + 1,
                describe(step),
                if expected.exit { "did" } else { "did not" },
                if exit { "did" } else { "did not" }
            ));
        }
        p.exited |= exit;
        if !p.manager.internal_errors().is_empty() {
            return Err(format!(
                "internal errors: {:?}",
                p.manager.internal_errors()
            ));
        }
    }
    Ok(())
}

fn describe(step: &Step) -> String {
    match step {
        Step::Connect(n) => format!("connect {n}"),
        Step::Send(n, d) => format!("send {n} {}", show(d)),
        Step::Eof(n) => format!("eof {n}"),
        Step::Close(n) => format!("close {n}"),
    }
}

#[test]
fn every_wire_script_matches_qemu_7_2() {
    let files = scripts();
    assert!(!files.is_empty(), "no wire scripts");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            replay(f)
                .err()
                .map(|e| format!("{}: {e}", f.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} wire scripts differ from QEMU 7.2:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
