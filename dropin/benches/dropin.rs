//! The drop-in binaries against QEMU 7.2, side by side in one run, with one
//! raw client (a Unix socket, no JSON library on the hot path):
//!
//! - **backup lifecycle**: `blockdev-backup` over QMP until the job's
//!   `JOB_STATUS_CHANGE` to `null`, on null-co nodes with `read-zeroes=off`
//!   (with `read-zeroes=on` QEMU spends most of a backup zero-filling
//!   buffers, which says nothing about its job layer), against
//!   `qemu-storage-daemon` 7.2 and `qjob-storage-daemon`. Goal: qjob at
//!   least 50 times faster. Measured twice: with the client and the daemon
//!   where the scheduler puts them (on a quiet virtual machine each reply
//!   then waits for an idle virtual CPU to wake, tens of µs that belong to
//!   neither program), and with the client and the daemon (all of QEMU's
//!   threads too) confined to one CPU, where a reply hands the CPU straight
//!   to the reader: the programs' own cost.
//! - **start to greeting**: from spawning the process until its QMP
//!   greeting arrives on the socket. The bench listens; the daemon connects
//!   to it as its monitor chardev (`--chardev socket,path=...`, as QEMU's
//!   iotests harness has `qemu-system-x86_64` connect), so nothing polls.
//!   Goal: qjob at most 1 ms. Measured in both placements too.
//!
//! `bash dropin/build.sh --bench` (`make bench` runs it: the binaries linked as
//! `dropin/build.sh` links them). QEMU
//! 7.2 is `qemu-storage-daemon` from `$QEMU72_DIR/usr/bin`, else
//! `.cache/qemu72/usr/bin` or `.cache/qemu72-full/bin` (where
//! `tools/fetch-qemu72.sh` and the iotests' `fetch-qemu72.sh` put it); its
//! column is skipped when there is none. `QJOB_BENCH_QUICK=1` runs fewer
//! rounds.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NODES: [&str; 4] = ["src", "dst", "src2", "dst2"];
const SIZE: u64 = 64 << 20;

fn quick() -> bool {
    std::env::var_os("QJOB_BENCH_QUICK").is_some()
}

/// A daemon with the four nodes and a QMP monitor that connects to the
/// bench's socket, and the client's end of that connection.
struct Daemon {
    child: Child,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    line: String,
}

fn argv(sock: &Path) -> Vec<String> {
    let mut a = Vec::new();
    for n in NODES {
        a.push("--blockdev".into());
        a.push(format!("null-co,node-name={n},size={SIZE},read-zeroes=off"));
    }
    a.push("--chardev".into());
    a.push(format!("socket,id=m0,path={}", sock.display()));
    a.push("--monitor".into());
    a.push("chardev=m0".into());
    a
}

impl Daemon {
    /// Starts `prog`; returns it once its greeting arrived, and the time
    /// from spawning it to the greeting.
    fn start(prog: &Path, dir: &Path) -> (Daemon, Duration) {
        let sock = dir.join("m.sock");
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock).expect("bind the bench socket");
        let t = Instant::now();
        let child = Command::new(prog)
            .args(argv(&sock))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the daemon");
        let (stream, _) = listener.accept().expect("the daemon connects");
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let took = t.elapsed();
        assert!(line.contains("\"QMP\""), "no greeting: {line:?}");
        let mut d = Daemon {
            child,
            reader,
            writer: stream,
            line,
        };
        d.command(r#"{"execute":"qmp_capabilities"}"#);
        (d, took)
    }

    /// Sends a command and reads up to its reply.
    fn command(&mut self, c: &str) {
        self.writer.write_all(c.as_bytes()).unwrap();
        self.writer.write_all(b"\n").unwrap();
        loop {
            self.next();
            if self.line.starts_with("{\"return\"") {
                return;
            }
            assert!(!self.line.starts_with("{\"error\""), "{c}: {}", self.line);
        }
    }

    fn next(&mut self) {
        self.line.clear();
        let n = self.reader.read_line(&mut self.line).unwrap();
        assert!(n > 0, "the daemon closed its monitor");
    }

    /// Reads until the job's JOB_STATUS_CHANGE to `null`.
    fn until_null(&mut self, id: &str) {
        let want = format!("\"status\": \"null\", \"id\": \"{id}\"");
        loop {
            self.next();
            if self.line.contains(&want) {
                return;
            }
        }
    }

    /// One backup lifecycle, start to `null`.
    fn lifecycle(&mut self) {
        self.writer
            .write_all(
                b"{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":\"b0\",\"device\":\"src\",\"target\":\"dst\",\"sync\":\"full\"}}\n",
            )
            .unwrap();
        self.until_null("b0");
    }

    fn quit(mut self) {
        let _ = self.writer.write_all(b"{\"execute\":\"quit\"}\n");
        let _ = self.child.wait();
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Time per lifecycle (µs) over one round of `n`.
fn round(d: &mut Daemon, n: usize) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        d.lifecycle();
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// Medians of the lifecycle time (µs) of each program, their rounds
/// interleaved so that both see the same machine (a shared machine's load
/// drifts): one round of each in turn, each round about as long.
fn lifecycles(progs: &[(&Path, usize)], dir: &Path, rounds: usize) -> Vec<f64> {
    let mut daemons: Vec<Daemon> = progs
        .iter()
        .enumerate()
        .map(|(i, (p, _))| {
            let sub = dir.join(i.to_string());
            std::fs::create_dir_all(&sub).unwrap();
            Daemon::start(p, &sub).0
        })
        .collect();
    for (d, (_, n)) in daemons.iter_mut().zip(progs) {
        round(d, (*n / 4).max(1));
    }
    let mut times = vec![Vec::new(); progs.len()];
    for _ in 0..rounds {
        for (i, (d, (_, n))) in daemons.iter_mut().zip(progs).enumerate() {
            times[i].push(round(d, *n));
        }
    }
    for d in daemons {
        d.quit();
    }
    times.into_iter().map(median).collect()
}

/// Medians of the time from spawn to greeting (ms) of each program,
/// started in turn.
fn startups(progs: &[&Path], dir: &Path, n: usize) -> Vec<f64> {
    let mut times = vec![Vec::new(); progs.len()];
    for _ in 0..n {
        for (i, p) in progs.iter().enumerate() {
            let (d, took) = Daemon::start(p, dir);
            times[i].push(took.as_secs_f64() * 1e3);
            d.quit();
        }
    }
    times.into_iter().map(median).collect()
}

/// Confines this process (and so the daemons it starts from now on) to the
/// CPU it runs on; returns the previous set, for [`restore_cpus`].
fn confine_to_one_cpu() -> libc::cpu_set_t {
    // SAFETY: a zeroed cpu_set_t is a valid (empty) set; sched_getaffinity
    // and sched_setaffinity read or write exactly one such set, which lives
    // on this stack frame through each call; sched_getcpu takes nothing.
    unsafe {
        let mut old: libc::cpu_set_t = std::mem::zeroed();
        libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut old);
        let cpu = libc::sched_getcpu().max(0) as usize;
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one),
            0,
            "confine the bench to CPU {cpu}"
        );
        old
    }
}

/// Gives this process back the CPUs [`confine_to_one_cpu`] took away.
fn restore_cpus(old: &libc::cpu_set_t) {
    // SAFETY: `old` is a valid set that lives through the call.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), old) };
}

fn find_qemu(root: &Path) -> Option<PathBuf> {
    let mut c = Vec::new();
    if let Some(d) = std::env::var_os("QEMU72_DIR") {
        c.push(PathBuf::from(d).join("usr/bin/qemu-storage-daemon"));
    }
    c.push(root.join(".cache/qemu72/usr/bin/qemu-storage-daemon"));
    c.push(root.join(".cache/qemu72-full/bin/qemu-storage-daemon"));
    c.into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("version 7.2"))
    })
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let qjob = PathBuf::from(env!("CARGO_BIN_EXE_qjob-storage-daemon"));
    let dir = std::env::temp_dir().join(format!("qjob-dropin-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (rounds, per_round, starts) = if quick() {
        (5, 400, 10)
    } else {
        (31, 4000, 101)
    };
    let qemu = find_qemu(&root);
    // QEMU's rounds are shorter in count, about as long in time.
    let mut progs: Vec<(&Path, usize)> = vec![(&qjob, per_round)];
    if let Some(p) = &qemu {
        progs.push((p, per_round / 40));
    }
    let spread = lifecycles(&progs, &dir, rounds);
    let paths: Vec<&Path> = progs.iter().map(|(p, _)| *p).collect();
    let spread_start = startups(&paths, &dir, starts);
    let old = confine_to_one_cpu();
    let one_cpu = lifecycles(&progs, &dir, rounds);
    let one_cpu_start = startups(&paths, &dir, starts);
    restore_cpus(&old);
    let _ = std::fs::remove_dir_all(&dir);

    println!("drop-in binaries vs QEMU 7.2 (one raw client over a Unix socket, medians)");
    println!("| figure | qjob-storage-daemon | qemu-storage-daemon 7.2 | ratio | goal |");
    println!("|---|---|---|---|---|");
    let ratio = |q: f64, e: Option<f64>| e.map_or("".into(), |e| format!("{:.0}x faster", e / q));
    for (place, l) in [
        ("client and daemon where the scheduler puts them", &spread),
        ("client and daemon on one CPU", &one_cpu),
    ] {
        let (q_life, e_life) = (l[0], l.get(1).copied());
        println!(
            "| backup lifecycle over QMP (`blockdev-backup` until `null`, read-zeroes=off), {place} | {:.1} µs | {} | {} | qjob >= 50x faster |",
            q_life,
            e_life.map_or("not found".into(), |e| format!("{e:.1} µs")),
            ratio(q_life, e_life)
        );
    }
    for (place, s) in [
        ("the daemon where the scheduler puts it", &spread_start),
        ("the bench and the daemon on one CPU", &one_cpu_start),
    ] {
        let (q_start, e_start) = (s[0], s.get(1).copied());
        println!(
            "| process start to QMP greeting on its socket, {place} | {:.2} ms | {} | {} | qjob <= 1 ms |",
            q_start,
            e_start.map_or("not found".into(), |e| format!("{e:.2} ms")),
            ratio(q_start, e_start)
        );
    }
    if qemu.is_none() {
        println!(
            "QEMU 7.2 not found: its column is empty (tools/fetch-qemu72.sh fetches it, or set QEMU72_DIR)"
        );
    }
}
