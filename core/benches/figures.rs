//! Every figure of the README's Performance table, each with what it
//! measures and, when QEMU 7.2 is here, the same thing measured on QEMU 7.2
//! in the same run: `cargo bench -p qjob --bench figures` (`make bench` runs
//! it, then the WASM benchmark).
//!
//! - Times are medians over rounds (a shared machine drifts; the median of
//!   short rounds is steadier than one long run), each round long enough
//!   for the clock. With valgrind on PATH, the timed rows also get their
//!   instruction count per iteration from callgrind, which does not drift:
//!   this binary runs itself under callgrind twice (`--child run NAME N`)
//!   and takes the difference, so the setup cancels out.
//! - Memory is resident memory: this binary runs itself as a child
//!   (`--child idle N`) that creates N idle jobs and reads its own
//!   `VmRSS` before and after.
//! - QEMU 7.2 (`qemu-storage-daemon` from `$QEMU72_DIR`, else
//!   `.cache/qemu72`, where `tools/fetch-qemu72.sh` puts it) is driven over
//!   its QMP socket with the scenario format's default world, but with
//!   `read-zeroes=off` null-co nodes (with `read-zeroes=on` QEMU spends most
//!   of a backup zero-filling buffers, which says nothing about its job
//!   layer).
//!
//! `QJOB_FIGURES_QUICK=1` runs fewer and shorter rounds (a smoke run).

mod workloads;

use qjob::JobManager;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use workloads::*;

/// The timed workloads: name (for `--child run`), the figure's label, what
/// it measures, the setup, and one iteration.
struct Timed {
    name: &'static str,
    label: &'static str,
    what: &'static str,
    setup: fn() -> JobManager,
    iteration: fn(&mut JobManager),
}

const TIMED: &[Timed] = &[
    Timed {
        name: "lifecycle-typed",
        label: "backup lifecycle, typed API",
        what: "`blockdev_backup` of 64 MiB, `settle` (created → … → null), `drain_events` (9 events)",
        setup: JobManager::with_default_world,
        iteration: typed_lifecycle,
    },
    Timed {
        name: "lifecycle-qmp",
        label: "backup lifecycle, QMP `execute`",
        what: "the same, the command as QMP JSON text in and the reply as text out",
        setup: JobManager::with_default_world,
        iteration: qmp_lifecycle,
    },
    Timed {
        name: "pair-drained",
        label: "pause + resume pair, events drained",
        what: "`job_pause`, `job_resume` of a running backup, its 2 events taken with `drain_events()` (a new `Vec`)",
        setup: held_backup,
        iteration: pair_drained,
    },
    Timed {
        name: "pair-polled",
        label: "pause + resume pair, events polled",
        what: "the same, the events taken one at a time with `poll_event()` (no `Vec`)",
        setup: held_backup,
        iteration: pair_polled,
    },
    Timed {
        name: "qmp-pause",
        label: "one QMP `job-pause`",
        what: "`execute` of `job-pause` as text, then a typed `job_resume` and `drain_events`",
        setup: held_backup,
        iteration: qmp_pause,
    },
];

fn quick() -> bool {
    std::env::var_os("QJOB_FIGURES_QUICK").is_some()
}

/// Median time per call of `f` over rounds of about `round` each.
fn median_ns(round: Duration, mut f: impl FnMut()) -> f64 {
    let rounds = if quick() { 3 } else { 15 };
    // Calibrate: iterations per round.
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed() >= round / 4 || n >= 1 << 30 {
            break;
        }
        n *= 2;
    }
    let n = n * 4;
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn round() -> Duration {
    Duration::from_millis(if quick() { 10 } else { 40 })
}

/// `1000000` as `1,000,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

// ----------------------------------------------------------------------
// Children: one workload under callgrind, idle jobs for their memory
// ----------------------------------------------------------------------

/// `--child run NAME N`: the workload's setup, then N iterations.
fn child_run(name: &str, n: u64) {
    let w = TIMED.iter().find(|w| w.name == name).expect("a workload");
    let mut m = (w.setup)();
    for _ in 0..n {
        (w.iteration)(&mut m);
    }
    black_box(m);
}

/// This process's resident memory, in bytes (`VmRSS` of /proc/self/status).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}

/// `--child idle N`: prints the resident bytes that N idle jobs with IDs
/// added to this process.
fn child_idle(n: usize) {
    let before = rss_bytes();
    let m = sleeping(n, true);
    let after = rss_bytes();
    println!("{}", after - before);
    black_box(m);
}

fn myself() -> PathBuf {
    std::env::current_exe().expect("the bench binary")
}

/// Resident bytes per idle job, its ID's bytes not counted.
fn resident_per_idle_job(n: usize) -> f64 {
    let out = Command::new(myself())
        .args(["--child", "idle", &n.to_string()])
        .output()
        .expect("run the child");
    let grown: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the child's figure");
    (grown - id_bytes(n) as f64) / n as f64
}

/// Instructions per iteration of workload `name` (callgrind), when
/// valgrind is on PATH.
fn instructions(name: &str) -> Option<f64> {
    let (a, b) = if quick() { (100, 1100) } else { (1000, 21000) };
    let count = |n: u64| -> Option<f64> {
        let out = Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(myself())
            .args(["--child", "run", name, &n.to_string()])
            .output()
            .ok()?;
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().find(|l| l.contains("Collected :"))?;
        line.rsplit(':').next()?.trim().parse().ok()
    };
    Some((count(b)? - count(a)?) / (b - a) as f64)
}

// ----------------------------------------------------------------------
// QEMU 7.2 over QMP
// ----------------------------------------------------------------------

/// A `qemu-storage-daemon` 7.2 with the default world's four nodes
/// (`read-zeroes=off`), and a QMP connection to it.
struct Qemu {
    child: Child,
    dir: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Events read with the last command's reply (QEMU sends those the
    /// command caused before its reply).
    events: std::collections::VecDeque<serde_json::Value>,
}

fn find_qemu() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("QEMU72_DIR") {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(root.join(".cache/qemu72"));
    dirs.into_iter()
        .map(|d| d.join("usr/bin/qemu-storage-daemon"))
        .find(|qsd| {
            Command::new(qsd)
                .arg("--version")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("version 7.2"))
        })
}

impl Qemu {
    fn start(qsd: &Path) -> Qemu {
        let dir = std::env::temp_dir().join(format!("qjob-figures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("qmp.sock");
        let mut cmd = Command::new(qsd);
        for n in ["src", "dst", "src2", "dst2"] {
            cmd.arg("--blockdev").arg(format!(
                "null-co,node-name={n},size={},read-zeroes=off",
                qjob::DEFAULT_NODE_SIZE
            ));
        }
        cmd.arg("--chardev")
            .arg(format!(
                "socket,id=m0,path={},server=on,wait=off",
                sock.display()
            ))
            .args(["--monitor", "chardev=m0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("start qemu-storage-daemon");
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match UnixStream::connect(&sock) {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("QEMU's QMP socket: {e}"),
            }
        };
        let mut q = Qemu {
            child,
            dir,
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            events: Default::default(),
        };
        q.line(); // the greeting
        q.command(r#"{"execute":"qmp_capabilities"}"#);
        q
    }

    /// The next message from QEMU.
    fn line(&mut self) -> serde_json::Value {
        let mut l = String::new();
        self.reader.read_line(&mut l).expect("read from QEMU");
        assert!(!l.is_empty(), "QEMU closed its QMP socket");
        serde_json::from_str(&l).expect("QMP JSON")
    }

    /// Sends a command and reads up to its reply, keeping the events that
    /// came before it (and dropping older ones); panics on an error reply.
    fn command(&mut self, c: &str) {
        self.events.clear();
        self.writer.write_all(c.as_bytes()).unwrap();
        self.writer.write_all(b"\n").unwrap();
        loop {
            let v = self.line();
            assert!(v.get("error").is_none(), "QEMU refused {c}: {v}");
            if v.get("return").is_some() {
                return;
            }
            self.events.push_back(v);
        }
    }

    /// Reads until job `id` changes to `status` (maybe already seen with the
    /// last reply).
    fn until_status(&mut self, id: &str, status: &str) {
        let is_it = |v: &serde_json::Value| {
            v["event"] == "JOB_STATUS_CHANGE"
                && v["data"]["id"] == id
                && v["data"]["status"] == status
        };
        while let Some(v) = self.events.pop_front() {
            if is_it(&v) {
                return;
            }
        }
        while !is_it(&self.line()) {}
    }

    /// The daemon's resident memory, in bytes.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb * 1024
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Median of per-iteration times.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// QEMU's figures for the rows that have a counterpart, by row name.
fn qemu_figures(qsd: &Path) -> Vec<(&'static str, String)> {
    let n = if quick() { 20 } else { 200 };
    let mut out = Vec::new();
    let mut q = Qemu::start(qsd);

    // The backup lifecycle: the command until the job's JOB_STATUS_CHANGE to null.
    let mut times = Vec::new();
    for i in 0..n + 10 {
        let t = Instant::now();
        q.command(BACKUP_QMP);
        q.until_status("b0", "null");
        if i >= 10 {
            times.push(t.elapsed().as_nanos() as f64);
        }
    }
    let life = format!(
        "{} (`blockdev-backup` over QMP until the job's `null`)",
        fmt_ns(median(times))
    );
    out.push(("lifecycle-typed", life.clone()));
    out.push(("lifecycle-qmp", life));

    // A held backup (1 B/s), paused and resumed.
    q.command(r#"{"execute":"blockdev-backup","arguments":{"job-id":"p","device":"src","target":"dst","sync":"full","speed":1}}"#);
    q.until_status("p", "running");
    let (mut pairs, mut pauses) = (Vec::new(), Vec::new());
    for i in 0..n + 10 {
        let t = Instant::now();
        q.command(PAUSE_QMP);
        let paused = t.elapsed().as_nanos() as f64;
        q.until_status("p", "paused");
        q.command(r#"{"execute":"job-resume","arguments":{"id":"p"}}"#);
        q.until_status("p", "running");
        if i >= 10 {
            pauses.push(paused);
            pairs.push(t.elapsed().as_nanos() as f64);
        }
    }
    let pair = format!(
        "{} (`job-pause`, `job-resume` over QMP, each until its event)",
        fmt_ns(median(pairs))
    );
    out.push(("pair-drained", pair.clone()));
    out.push(("pair-polled", pair));
    out.push((
        "qmp-pause",
        format!("{} (`job-pause`'s reply over QMP)", fmt_ns(median(pauses))),
    ));
    drop(q);

    // Resident memory of idle jobs: backups held at 1 B/s (each with its own
    // target node, added first and not counted).
    let k = if quick() { 50 } else { 500 };
    let mut q = Qemu::start(qsd);
    for i in 0..k {
        q.command(&format!(
            r#"{{"execute":"blockdev-add","arguments":{{"driver":"null-co","node-name":"t{i}","size":{},"read-zeroes":false}}}}"#,
            qjob::DEFAULT_NODE_SIZE
        ));
    }
    let before = q.rss();
    for i in 0..k {
        q.command(&format!(
            r#"{{"execute":"blockdev-backup","arguments":{{"job-id":"job{i}","device":"src","target":"t{i}","sync":"full","speed":1}}}}"#
        ));
    }
    std::thread::sleep(Duration::from_millis(200));
    let per_job = (q.rss() - before) as f64 / k as f64;
    let mem = format!(
        "{:.1} KiB ({k} backups held at 1 B/s: their nodes not counted)",
        per_job / 1024.0
    );
    out.push(("idle-100k", mem.clone()));
    out.push(("idle-1m", mem));
    out
}

// ----------------------------------------------------------------------
// The table
// ----------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        match args[2].as_str() {
            "run" => child_run(&args[3], args[4].parse().unwrap()),
            "idle" => child_idle(args[3].parse().unwrap()),
            other => panic!("no child '{other}'"),
        }
        return;
    }
    // `cargo test --benches` runs bench targets with `--test`: a smoke run
    // of each workload is enough there.
    if args.iter().any(|a| a == "--test") || args.iter().any(|a| a == "--list") {
        for w in TIMED {
            child_run(w.name, 3);
        }
        return;
    }

    let qemu = match find_qemu() {
        Some(qsd) => {
            let figures = qemu_figures(&qsd);
            let version = Command::new(&qsd)
                .arg("--version")
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_owned()
                })
                .unwrap_or_default();
            Ok((version, figures))
        }
        None => Err(
            "QEMU 7.2 not found: its anchors are skipped (`tools/fetch-qemu72.sh` fetches it into .cache/qemu72, or set QEMU72_DIR)",
        ),
    };
    let anchor = |name: &str| -> String {
        match &qemu {
            Ok((_, f)) => f
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("no counterpart".to_owned(), |(_, s)| s.clone()),
            Err(_) => "skipped".to_owned(),
        }
    };
    let valgrind = Command::new("valgrind").arg("--version").output().is_ok();

    println!(
        "qjob figures ({} cores; times are medians of rounds, instructions from callgrind)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    match &qemu {
        Ok((v, _)) => println!(
            "QEMU anchors: {v}, measured now over its QMP socket (null-co nodes with read-zeroes=off)"
        ),
        Err(why) => println!("{why}"),
    }
    println!();
    println!("| figure | what it measures | qjob | instructions | QEMU 7.2 |");
    println!("|---|---|---|---|---|");
    let mut goals = Vec::new();
    for w in TIMED {
        let mut m = (w.setup)();
        let ns = median_ns(round(), || (w.iteration)(&mut m));
        if w.name.starts_with("pair-") {
            goals.push((format!("{} ≤ 100 ns", w.label), fmt_ns(ns), ns <= 100.0));
        }
        let ir = if valgrind {
            instructions(w.name).map_or("–".to_owned(), |i| format!("{i:.0}"))
        } else {
            "(no valgrind)".to_owned()
        };
        println!(
            "| {} | {} | {} | {ir} | {} |",
            w.label,
            w.what,
            fmt_ns(ns),
            anchor(w.name)
        );
    }

    // tick among a million sleeping jobs.
    {
        let n = if quick() { 100_000 } else { 1_000_000 };
        let (mut m, h) = sleeping_and_one_due(n);
        let ns = median_ns(round(), || tick_one_due(&mut m, h));
        println!(
            "| `tick`, {} sleeping jobs, one due | `tick` to the due job's deadline, its wake request taken, the job put back to sleep | {} | | no counterpart (QEMU's jobs cost KiB each, see below) |",
            thousands(n),
            fmt_ns(ns)
        );
    }

    // Resident memory per idle job.
    for (name, n) in [("idle-100k", 100_000), ("idle-1m", 1_000_000)] {
        let n = if quick() { n / 10 } else { n };
        let b = resident_per_idle_job(n);
        let n = thousands(n);
        goals.push((
            format!("memory per idle job, {n} jobs ≤ 256 bytes plus its ID"),
            format!("{b:.0} bytes"),
            b <= 256.0,
        ));
        println!(
            "| memory per idle job, {n} jobs | resident memory of a process creating {n} host jobs with IDs (`job0`…), asleep, minus its memory before, per job, minus the ID's bytes | {b:.0} bytes plus its ID | | {} |",
            anchor(name)
        );
    }

    // Binary snapshot and restore of 10,000 jobs.
    {
        let m = sleeping(10_000, true);
        let bytes = m.to_snapshot_bytes();
        let save = median_ns(round(), || {
            black_box(m.to_snapshot_bytes());
        });
        let restore = median_ns(round(), || {
            black_box(JobManager::from_snapshot_bytes(&bytes).unwrap());
        });
        println!(
            "| binary snapshot / restore of 10,000 jobs | `to_snapshot_bytes` / `from_snapshot_bytes` of 10,000 idle host jobs with IDs | {:.2} MB, {} / {} | | no counterpart |",
            bytes.len() as f64 / 1e6,
            fmt_ns(save),
            fmt_ns(restore)
        );
    }

    println!("\ngoals:");
    for (goal, got, met) in goals {
        println!("- {goal}: {got}, {}", if met { "met" } else { "NOT met" });
    }
}
