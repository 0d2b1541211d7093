//! The I/O shell around the core, in the shape of `quinn` around
//! `quinn-proto`: one single-threaded `poll(2)` loop that owns every socket,
//! standard input and output, the signals and real time, and hands bytes
//! and time to the core's [`QmpServer`] and [`JobManager`], which own every
//! behaviour. Nothing here knows a QMP command.
//!
//! Each chardev is a port: a listening socket (which accepts one client
//! at a time, as QEMU's socket chardev does), a connection (accepted,
//! connected out, or standard input and output), or nothing. A port's
//! front end is a QMP monitor, the qtest connection, or none (a chardev no
//! option uses). Each connection of a monitor is one monitor of the
//! server.

use std::io::{self, Read, Write};
use std::os::fd::RawFd;
use std::time::Duration;

use qjob::qmp::server::{MonitorId, QmpServer, ServerConfig};
use qjob::{FileRequest, JobManager, QemuVersion};

use crate::chardev::{ChardevSpec, Listener, Opened, Stream, strerror};
use crate::clock::{Clock, TimeMode};
use crate::files;
use crate::process::{PidFile, Signals};
use crate::qtest;

/// What reads and writes through a chardev.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frontend {
    /// Nothing yet: input is read and dropped.
    None,
    /// A QMP monitor.
    Monitor,
    /// The qtest protocol.
    Qtest,
}

/// How a connection reads and writes.
#[derive(Debug)]
enum Io {
    Stream(Stream),
    /// Standard input and output.
    Stdio,
    /// The `null` backend.
    Null,
}

/// One connected chardev.
#[derive(Debug)]
struct Conn {
    io: Io,
    frontend: Frontend,
    /// The server's monitor for this connection.
    monitor: Option<MonitorId>,
    /// Bytes not yet written.
    out: Vec<u8>,
    /// The listening port it was accepted from.
    listener: Option<usize>,
    /// Input ended (standard input: the monitor stays for output).
    eof: bool,
    /// The qtest protocol's unfinished line.
    line: Vec<u8>,
}

/// One chardev's I/O.
#[derive(Debug)]
enum Port {
    /// A listening socket; `busy` while its client is connected.
    Listener {
        listener: Listener,
        frontend: Frontend,
        busy: bool,
    },
    Conn(Conn),
    Closed,
}

/// The process's sockets, clock and signals around one [`QmpServer`] and
/// one [`JobManager`] (see the module docs).
#[derive(Debug)]
pub struct Host {
    /// The manager every monitor shares.
    pub manager: JobManager,
    /// The monitors.
    pub server: QmpServer,
    clock: Clock,
    /// The program name in messages (`qemu-storage-daemon`).
    program: &'static str,
    ports: Vec<Port>,
    /// Chardev ids and their ports.
    chardevs: Vec<(String, usize)>,
    signals: Option<Signals>,
    pidfile: Option<PidFile>,
    /// Bytes for standard output outside any monitor (before a stdio
    /// monitor exists, or without one).
    stdout_pending: Vec<u8>,
    /// The buffer reads go into (allocated once).
    buf: Vec<u8>,
}

/// Most rounds of file reading for one command-line option (a backing
/// chain this long is refused by the core long before).
const MAX_FILE_ROUNDS: usize = 4096;

/// Size of one read (from 128 KiB up, the zeroed buffer comes from `mmap`
/// without a `memset`).
const READ_SIZE: usize = 1 << 18;

impl Host {
    /// A host for `program` (its name in messages), with virtual time
    /// moving as `time` says, reproducing QEMU `qemu` (its behaviour, its
    /// greeting and `query-version`). `machine` makes it a system emulator
    /// (the VM-only commands, SHUTDOWN at quit).
    pub fn new(program: &'static str, time: TimeMode, machine: bool, qemu: QemuVersion) -> Host {
        let mut manager = JobManager::with_version(qemu);
        manager.set_machine(machine);
        manager.set_host_files(true);
        let clock = Clock::new(time, manager.now());
        let server = QmpServer::new(ServerConfig {
            epoch_ns: clock.epoch_ns(),
            ..ServerConfig::for_qemu(qemu)
        });
        Host {
            manager,
            server,
            clock,
            program,
            ports: Vec::new(),
            chardevs: Vec::new(),
            signals: None,
            pidfile: None,
            stdout_pending: Vec::new(),
            buf: vec![0; READ_SIZE],
        }
    }

    /// The program name in messages.
    pub fn program(&self) -> &'static str {
        self.program
    }

    /// Catches SIGTERM, SIGINT and SIGHUP from now on (they end the process
    /// as QEMU ends: jobs cancelled, SHUTDOWN in a system emulator).
    pub fn install_signals(&mut self) -> io::Result<()> {
        self.signals = Some(Signals::install()?);
        Ok(())
    }

    /// Keeps the PID file until exit, then removes it.
    pub fn set_pidfile(&mut self, pidfile: PidFile) {
        self.pidfile = Some(pidfile);
    }

    // ------------------------------------------------------------------
    // Chardevs and their front ends
    // ------------------------------------------------------------------

    /// Creates a chardev (`-chardev`, `--chardev`, or a legacy spelling):
    /// opens it as QEMU does. Refusals are QEMU's texts.
    pub fn add_chardev(&mut self, spec: &ChardevSpec) -> Result<(), String> {
        if matches!(spec.backend, crate::chardev::Backend::Stdio)
            && self
                .ports
                .iter()
                .any(|p| matches!(p, Port::Conn(c) if matches!(c.io, Io::Stdio)))
        {
            return Err("cannot use stdio by multiple character devices".into());
        }
        if self.chardevs.iter().any(|(id, _)| *id == spec.id) {
            return Err(format!("Chardev with id '{}' already exists", spec.id));
        }
        let program = self.program;
        let mut info = |text: &str| eprintln!("{program}: info: {text}");
        let port = match spec.open(&mut info)? {
            Opened::Listener { listener, first } => {
                listener.set_nonblocking().map_err(|e| strerror(&e))?;
                match first {
                    Some(stream) => {
                        let idx = self.ports.len();
                        self.ports.push(Port::Listener {
                            listener,
                            frontend: Frontend::None,
                            busy: true,
                        });
                        self.chardevs.push((spec.id.clone(), idx));
                        stream.set_nonblocking(true).map_err(|e| strerror(&e))?;
                        self.ports
                            .push(Port::Conn(Conn::new(Io::Stream(stream), Some(idx))));
                        return Ok(());
                    }
                    None => Port::Listener {
                        listener,
                        frontend: Frontend::None,
                        busy: false,
                    },
                }
            }
            Opened::Stream(stream) => {
                stream.set_nonblocking(true).map_err(|e| strerror(&e))?;
                Port::Conn(Conn::new(Io::Stream(stream), None))
            }
            Opened::Stdio => Port::Conn(Conn::new(Io::Stdio, None)),
            Opened::Null => Port::Conn(Conn::new(Io::Null, None)),
        };
        self.chardevs.push((spec.id.clone(), self.ports.len()));
        self.ports.push(port);
        Ok(())
    }

    /// Puts a QMP monitor on the chardev `id` (`--monitor`, `-mon`,
    /// `-qmp`): a connected chardev gets its greeting now, a listening one
    /// for each client it accepts.
    pub fn add_monitor(&mut self, id: &str) -> Result<(), String> {
        self.attach(id, Frontend::Monitor)
    }

    /// Connects the qtest protocol to the chardev `id` (`-qtest`).
    pub fn add_qtest(&mut self, id: &str) -> Result<(), String> {
        self.attach(id, Frontend::Qtest)
    }

    fn attach(&mut self, id: &str, frontend: Frontend) -> Result<(), String> {
        let Some(&(_, idx)) = self.chardevs.iter().find(|(c, _)| c == id) else {
            return Err(format!("chardev \"{id}\" not found"));
        };
        let in_use = |f: Frontend| f != Frontend::None;
        match &mut self.ports[idx] {
            Port::Listener { frontend: f, .. } => {
                if in_use(*f) {
                    return Err(format!("Device '{id}' is in use"));
                }
                *f = frontend;
                // A client accepted while QEMU waited at startup.
                for i in 0..self.ports.len() {
                    if let Port::Conn(c) = &mut self.ports[i]
                        && c.listener == Some(idx)
                    {
                        c.frontend = frontend;
                        if frontend == Frontend::Monitor {
                            c.monitor = Some(self.server.handle_connect());
                        }
                    }
                }
            }
            Port::Conn(c) => {
                if in_use(c.frontend) {
                    return Err(format!("Device '{id}' is in use"));
                }
                c.frontend = frontend;
                if frontend == Frontend::Monitor {
                    c.monitor = Some(self.server.handle_connect());
                }
            }
            Port::Closed => return Err(format!("chardev \"{id}\" not found")),
        }
        Ok(())
    }

    /// Runs a QMP command given on the command line (`--blockdev` is
    /// `blockdev-add`, `--object` `object-add`, ...), its arguments in
    /// keyval form (every scalar a string) or JSON form, after reading the
    /// files it opens; then writes the files it created. The error is the
    /// command's, as QEMU prints it after the option.
    pub fn command(
        &mut self,
        name: &str,
        args: &serde_json::Map<String, serde_json::Value>,
        keyval: bool,
    ) -> Result<serde_json::Value, String> {
        let mut request = serde_json::Map::new();
        request.insert("execute".into(), name.into());
        request.insert("arguments".into(), serde_json::Value::Object(args.clone()));
        self.supply_files(|m| m.files_wanted(&request));
        let r = if keyval {
            self.manager.dispatch_keyval(name, args)
        } else {
            self.manager.dispatch(name, args)
        };
        self.after_command_line();
        r.map_err(|e| e.desc)
    }

    /// `-drive`: QEMU's `drive_new` over the options as strings (`id`
    /// included), after reading the files it opens.
    pub fn drive_add(
        &mut self,
        opts: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), String> {
        self.supply_files(|m| m.drive_files_wanted(opts));
        let r = self.manager.drive_add(opts);
        self.after_command_line();
        r.map_err(|e| e.desc)
    }

    /// Reads the files `wanted` names until it names none (each answer may
    /// name the next layer of a backing chain).
    fn supply_files(&mut self, wanted: impl Fn(&JobManager) -> Vec<FileRequest>) {
        // Each round supplies at least one new file; a chain ends.
        for _ in 0..MAX_FILE_ROUNDS {
            let names = wanted(&self.manager);
            if names.is_empty() {
                return;
            }
            for request in names {
                files::answer(&mut self.manager, &request);
            }
        }
    }

    /// After a command-line option ran: what became ready runs, the files
    /// it created are written, its events go nowhere (no monitor yet sees
    /// them).
    fn after_command_line(&mut self) {
        self.manager.settle();
        self.write_created_files();
        self.server.handle_manager_events(&mut self.manager);
    }

    /// Writes the files the core created, printing QEMU's `Formatting`
    /// line for those it prints one for.
    fn write_created_files(&mut self) {
        while let Some(action) = self.manager.poll_file_action() {
            match files::write(&action) {
                Ok(Some(line)) => self.print_stdout(&line),
                Ok(None) => {}
                Err(e) => {
                    eprintln!("{}: {}: {e}", self.program, action.filename());
                }
            }
        }
    }

    /// The host's part of the monitors' file handling: reads the files a
    /// held request needs, writes those the last request created (its
    /// `Formatting` line before its reply, as QEMU prints them), and lets
    /// the server go on, until it holds nothing.
    fn service_files(&mut self) {
        loop {
            while let Some(request) = self.server.poll_file_request() {
                files::answer(&mut self.manager, &request);
            }
            self.write_created_files();
            if !self.server.is_holding() {
                return;
            }
            // The replies so far go out before what the next request says.
            self.transmit();
            self.server.handle_files_ready(&mut self.manager);
        }
    }

    /// Writes `text` to standard output where QEMU prints it (the
    /// `Formatting ...` line of an image it creates): after the monitor
    /// output already queued for a stdio monitor, so the order of the two
    /// on one stream is QEMU's.
    pub fn print_stdout(&mut self, text: &str) {
        let conn = self.ports.iter_mut().find_map(|p| match p {
            Port::Conn(c) if matches!(c.io, Io::Stdio) && c.monitor.is_some() => Some(c),
            _ => None,
        });
        match conn {
            Some(c) => c.out.extend_from_slice(text.as_bytes()),
            None => self.stdout_pending.extend_from_slice(text.as_bytes()),
        }
    }

    // ------------------------------------------------------------------
    // The loop
    // ------------------------------------------------------------------

    /// Start-up is done: a daemon tells its waiting parent (QEMU's
    /// `os_setup_post`), then the monitors are served ([`run`](Self::run)).
    /// Returns the exit status.
    pub fn serve(&mut self, daemon: Option<crate::process::Daemon>) -> i32 {
        if let Some(d) = daemon
            && let Err(e) = d.ready()
        {
            return crate::cmdline::OptionError::bare(e).report(self.program);
        }
        self.run()
    }

    /// Runs until a client sends `quit` or a signal ends the process; then
    /// writes what is left to write, removes the PID file and returns the
    /// exit status (0).
    pub fn run(&mut self) -> i32 {
        // Events of the command-line options have no monitor to go to.
        self.server.handle_manager_events(&mut self.manager);
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut owners: Vec<Option<usize>> = Vec::new();
        loop {
            self.catch_up();
            self.transmit();
            if self.server.exit_requested() {
                break;
            }
            fds.clear();
            owners.clear();
            if let Some(s) = &self.signals {
                fds.push(pollfd(s.fd(), libc::POLLIN));
                owners.push(None);
            }
            for (i, p) in self.ports.iter().enumerate() {
                if let Some((fd, events)) = p.interest() {
                    fds.push(pollfd(fd, events));
                    owners.push(Some(i));
                }
            }
            let timeout = self.poll_timeout();
            if let Err(e) = ppoll(&mut fds, timeout) {
                eprintln!("{}: poll failed: {}", self.program, strerror(&e));
                return 1;
            }
            for (k, fd) in fds.iter().enumerate() {
                if fd.revents == 0 {
                    continue;
                }
                match owners[k] {
                    None => {
                        if self.signals.as_mut().is_some_and(Signals::take) {
                            self.catch_up();
                            self.server.handle_signal(&mut self.manager);
                        }
                    }
                    Some(i) => self.ready(i, fd.revents),
                }
            }
        }
        self.finish();
        0
    }

    /// Virtual time catches up with real time: what became due runs and its
    /// events go out.
    fn catch_up(&mut self) {
        let target = self.clock.target(self.manager.now());
        if target > self.manager.now() || self.manager.has_ready_work() {
            self.server.handle_timeout(&mut self.manager, target);
            self.service_files();
        }
    }

    /// How long `poll` may sleep: until the next deadline in real time
    /// (`None`: until something happens).
    fn poll_timeout(&self) -> Option<Duration> {
        if !self.stdout_pending.is_empty() {
            return Some(Duration::ZERO);
        }
        let deadline = self.server.poll_timeout(&self.manager)?;
        let now = self.clock.target(self.manager.now());
        if deadline <= now {
            return Some(Duration::ZERO);
        }
        self.clock.until(deadline, now)
    }

    /// Port `i` is ready for what `revents` says.
    fn ready(&mut self, i: usize, revents: libc::c_short) {
        match &mut self.ports[i] {
            Port::Listener { .. } => self.accept(i),
            Port::Conn(c) => {
                if revents & libc::POLLOUT != 0 && c.write_some().is_err() {
                    self.close(i);
                    return;
                }
                if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                    self.read(i);
                }
            }
            Port::Closed => {}
        }
    }

    fn accept(&mut self, i: usize) {
        let Port::Listener {
            listener,
            frontend,
            busy,
        } = &mut self.ports[i]
        else {
            return;
        };
        let Ok(stream) = listener.accept() else {
            return;
        };
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        *busy = true;
        let mut conn = Conn::new(Io::Stream(stream), Some(i));
        conn.frontend = *frontend;
        if conn.frontend == Frontend::Monitor {
            conn.monitor = Some(self.server.handle_connect());
        }
        self.ports.push(Port::Conn(conn));
    }

    fn read(&mut self, i: usize) {
        let mut buf = std::mem::take(&mut self.buf);
        self.read_into(i, &mut buf);
        self.buf = buf;
    }

    fn read_into(&mut self, i: usize, buf: &mut [u8]) {
        let Port::Conn(c) = &mut self.ports[i] else {
            return;
        };
        let got = match &mut c.io {
            Io::Stream(s) => s.read(buf),
            Io::Stdio => io::stdin().read(buf),
            Io::Null => Ok(0),
        };
        let n = match got {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                return;
            }
            Err(_) => 0,
        };
        let (frontend, monitor) = (c.frontend, c.monitor);
        if n == 0 {
            if matches!(c.io, Io::Stdio) {
                // QEMU keeps running when its standard input ends; the
                // monitor still writes.
                c.eof = true;
                if let Some(m) = monitor {
                    let _ = self.server.handle_eof(m);
                }
            } else {
                self.close(i);
            }
            return;
        }
        let data = &buf[..n];
        match (frontend, monitor) {
            (Frontend::Monitor, Some(m)) => {
                self.catch_up();
                let _ = self.server.handle_input(&mut self.manager, m, data);
                self.service_files();
                self.clock.rebase_if_ahead(self.manager.now());
            }
            (Frontend::Qtest, _) => {
                c.line.extend_from_slice(data);
                while let Some(nl) = c.line.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = c.line.drain(..=nl).collect();
                    let answer = qtest::answer(&String::from_utf8_lossy(&line));
                    c.out.extend_from_slice(answer.as_bytes());
                }
            }
            _ => {}
        }
    }

    /// A connection closed: its monitor goes, its listener accepts again.
    fn close(&mut self, i: usize) {
        let Port::Conn(c) = std::mem::replace(&mut self.ports[i], Port::Closed) else {
            return;
        };
        if let Some(m) = c.monitor {
            let _ = self.server.handle_disconnect(m);
        }
        if let Some(l) = c.listener
            && let Port::Listener { busy, .. } = &mut self.ports[l]
        {
            *busy = false;
        }
    }

    /// Moves the server's output into the connections and writes what the
    /// sockets take now.
    fn transmit(&mut self) {
        if !self.stdout_pending.is_empty() {
            let mut out = io::stdout().lock();
            let _ = out.write_all(&self.stdout_pending);
            let _ = out.flush();
            self.stdout_pending.clear();
        }
        for i in 0..self.ports.len() {
            let Port::Conn(c) = &mut self.ports[i] else {
                continue;
            };
            if let Some(m) = c.monitor
                && let Some(bytes) = self.server.poll_transmit(m)
            {
                if c.out.is_empty() {
                    c.out = bytes;
                } else {
                    c.out.extend_from_slice(&bytes);
                }
            }
            if !c.out.is_empty() && c.write_some().is_err() {
                self.close(i);
            }
        }
    }

    /// After `quit`: everything queued is written (blocking), the PID file
    /// removed.
    fn finish(&mut self) {
        self.transmit();
        for p in &mut self.ports {
            if let Port::Conn(c) = p
                && !c.out.is_empty()
            {
                if let Io::Stream(s) = &c.io {
                    let _ = s.set_nonblocking(false);
                }
                let _ = c.write_all();
            }
        }
        if let Some(p) = &self.pidfile {
            p.remove();
        }
    }
}

impl Conn {
    fn new(io: Io, listener: Option<usize>) -> Conn {
        Conn {
            io,
            frontend: Frontend::None,
            monitor: None,
            out: Vec::new(),
            listener,
            eof: false,
            line: Vec::new(),
        }
    }

    /// Writes as much of `out` as the socket takes now (standard output
    /// blocks, as QEMU's does). An error means the peer is gone.
    fn write_some(&mut self) -> io::Result<()> {
        match &mut self.io {
            Io::Stream(s) => {
                while !self.out.is_empty() {
                    match s.write(&self.out) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => {
                            self.out.drain(..n);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Io::Stdio | Io::Null => self.write_all(),
        }
    }

    fn write_all(&mut self) -> io::Result<()> {
        let r = match &mut self.io {
            Io::Stream(s) => s.write_all(&self.out),
            Io::Stdio => {
                let mut out = io::stdout().lock();
                out.write_all(&self.out).and_then(|()| out.flush())
            }
            Io::Null => Ok(()),
        };
        self.out.clear();
        r
    }
}

impl Port {
    /// The descriptor to poll and for what, if any.
    fn interest(&self) -> Option<(RawFd, libc::c_short)> {
        match self {
            Port::Listener { listener, busy, .. } => {
                (!busy).then(|| (listener.raw_fd(), libc::POLLIN))
            }
            Port::Conn(c) => {
                let fd = match &c.io {
                    Io::Stream(s) => s.raw_fd(),
                    Io::Stdio if !c.eof => 0,
                    _ => return None,
                };
                let mut events = libc::POLLIN;
                if !c.out.is_empty() && matches!(c.io, Io::Stream(_)) {
                    events |= libc::POLLOUT;
                }
                Some((fd, events))
            }
            Port::Closed => None,
        }
    }
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// `ppoll(2)` with a nanosecond timeout (`None`: no timeout).
fn ppoll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<()> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs that
    // ppoll may write `revents` into; `tsp` is null or points at a timespec
    // on this stack frame; a null signal mask leaves the mask unchanged.
    let rc = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            tsp,
            std::ptr::null(),
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            for f in fds.iter_mut() {
                f.revents = 0;
            }
            return Ok(());
        }
        return Err(e);
    }
    Ok(())
}
