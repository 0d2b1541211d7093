//! QMP monitors, sans I/O: what QEMU 7.2's monitor does between the bytes a
//! client writes and the bytes it reads back, for any number of clients
//! sharing one [`JobManager`].
//!
//! [`QmpServer`] owns no socket, reads no clock and starts no thread; a
//! driver (the Python server, a native binary) owns those and calls it in
//! one loop:
//!
//! ```
//! use qjob::JobManager;
//! use qjob::qmp::server::{QmpServer, ServerConfig};
//!
//! let mut manager = JobManager::with_default_world();
//! let mut server = QmpServer::new(ServerConfig::default());
//! let mon = server.handle_connect();
//! let greeting = server.poll_transmit(mon).unwrap();
//! assert!(greeting.starts_with(br#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}"#));
//! server.handle_input(&mut manager, mon, b"{\"execute\": \"qmp_capabilities\"}\n{\"execute\": \"query-").unwrap();
//! assert_eq!(server.poll_transmit(mon).unwrap(), b"{\"return\": {}}\r\n");
//! server.handle_input(&mut manager, mon, b"jobs\", \"id\": 1}").unwrap();
//! assert_eq!(server.poll_transmit(mon).unwrap(), b"{\"return\": [], \"id\": 1}\r\n");
//! // Virtual time is the caller's: wake the server when it asks to be woken.
//! if let Some(deadline) = server.poll_timeout(&manager) {
//!     server.handle_timeout(&mut manager, deadline);
//! }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use serde_json::{Map, Value};

use super::stream::{JsonStreamer, Message};
use super::wire;
use super::{COMMANDS, Reply, args::Args, system};
use crate::error::{Error, ErrorClass, Result};
use crate::event::{Event, EventKind};
use crate::files::FileRequest;
use crate::manager::JobManager;
use crate::model::JobStatus;
use crate::profile::QemuVersion;
use crate::scenario::WAIT_LIMIT_NS;

/// How many recent events the server keeps for `x-qjob-wait`.
const EVENT_LOG: usize = 1 << 16;

/// What the monitors say about themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// The QEMU version in the greeting (`major`, `minor`, `micro`).
    pub version: (u32, u32, u32),
    /// The `package` string of the greeting.
    pub package: String,
    /// Whether monitors offer the `oob` capability (QEMU offers it on
    /// monitors whose character device can run in the monitor I/O thread:
    /// sockets).
    pub oob: bool,
    /// Whether `quit` exists; without it, `quit` is an unknown command.
    pub allow_quit: bool,
    /// The wall-clock time, in nanoseconds since the Unix epoch, at which the
    /// manager's virtual clock read 0: events are stamped `epoch_ns` plus
    /// their virtual time.
    pub epoch_ns: u64,
}

impl Default for ServerConfig {
    /// QEMU 7.2.22 as Debian 12 builds it: `7.2.22`,
    /// `Debian 1:7.2+dfsg-7+deb12u18+b3`, `oob` offered, `quit` allowed,
    /// epoch 0.
    fn default() -> Self {
        ServerConfig::for_qemu(QemuVersion::V7_2)
    }
}

impl ServerConfig {
    /// The monitors of QEMU `qemu` as Debian builds it (7.2.22, or 10.0.2 as
    /// `Debian 1:10.0.2+ds-2+deb13u1~bpo12+1`), `oob` offered, `quit`
    /// allowed, epoch 0. Serve a manager made for the same version.
    pub fn for_qemu(qemu: QemuVersion) -> Self {
        let (version, package) = qemu.greeting();
        ServerConfig {
            version,
            package: package.into(),
            oob: true,
            allow_quit: true,
            epoch_ns: 0,
        }
    }

    /// The greeting a monitor so configured sends first:
    /// `{"QMP": {"version": {"qemu": {…}, "package": …}, "capabilities": […]}}`
    /// (`["oob"]` when `oob` is offered).
    pub fn greeting(&self) -> Value {
        let caps: Vec<Value> = if self.oob {
            vec!["oob".into()]
        } else {
            Vec::new()
        };
        let mut qmp = Map::new();
        qmp.insert(
            "version".into(),
            system::version_info(self.version, &self.package),
        );
        qmp.insert("capabilities".into(), Value::Array(caps));
        let mut m = Map::new();
        m.insert("QMP".into(), Value::Object(qmp));
        Value::Object(m)
    }
}

/// One monitor (one client connection) of a [`QmpServer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonitorId(u64);

impl MonitorId {
    /// The monitor's number (never reused by its server).
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for MonitorId {
    fn from(n: u64) -> Self {
        MonitorId(n)
    }
}

impl fmt::Display for MonitorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "monitor {}", self.0)
    }
}

/// A [`MonitorId`] the server does not have (never connected, or
/// disconnected).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownMonitor(pub MonitorId);

impl fmt::Display for UnknownMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no such QMP monitor: {}", self.0)
    }
}

impl std::error::Error for UnknownMonitor {}

#[derive(Debug)]
struct Monitor {
    streamer: JsonStreamer,
    out: Vec<u8>,
    /// Capabilities negotiated: commands and events.
    negotiated: bool,
    /// `oob` enabled by the negotiation.
    oob: bool,
    /// Event sequence number at the monitor's last command (`x-qjob-wait`
    /// looks at the events after it).
    mark: u64,
    /// Input ended (`handle_eof`): output still goes out.
    eof: bool,
}

/// The QMP monitors of one QEMU process, sans I/O, in the shape of
/// quinn-proto's `Connection`: bytes in, bytes out, timers out.
///
/// Each monitor is one client connection: its greeting, its capabilities
/// negotiation, its JSON stream ([`JsonStreamer`]: several messages per
/// read, one message over several reads), its replies with `id` echoed, and
/// the events it receives once negotiated. All monitors share the one
/// [`JobManager`] passed to the methods that need it; pass the same manager
/// every time. Messages are written as QEMU 7.2 writes them ([`wire`]).
///
/// The methods come in four groups:
///
/// - **getters** (`&self`): [`config`](Self::config),
///   [`monitors`](Self::monitors), [`is_negotiated`](Self::is_negotiated),
///   [`oob_enabled`](Self::oob_enabled),
///   [`pending_output`](Self::pending_output), [`greeting`](Self::greeting);
/// - **input from the world**: [`handle_connect`](Self::handle_connect) (a
///   client connected), [`handle_input`](Self::handle_input) (bytes it
///   sent), [`handle_eof`](Self::handle_eof) (its input ended),
///   [`handle_disconnect`](Self::handle_disconnect),
///   [`handle_timeout`](Self::handle_timeout) (virtual time reached a
///   deadline), [`handle_manager_events`](Self::handle_manager_events)
///   (the caller drove the manager directly),
///   [`handle_files_ready`](Self::handle_files_ready) (the host read the
///   files a held request needs) and
///   [`handle_signal`](Self::handle_signal) (SIGTERM and the like);
/// - **commands**: [`set_epoch_ns`](Self::set_epoch_ns);
/// - **output**: [`poll_transmit`](Self::poll_transmit) (bytes for a
///   client), [`poll_timeout`](Self::poll_timeout) (when to call
///   `handle_timeout`), [`exit_requested`](Self::exit_requested) (a client
///   sent `quit`: the process should exit once its output is written),
///   [`poll_file_request`](Self::poll_file_request) (a file the host must
///   read before a held request runs, in host-files mode).
///
/// Commands: every command of [`JobManager::dispatch`], plus what the
/// monitor itself answers: `qmp_capabilities`, `quit` (its jobs' events,
/// then the reply, then [`exit_requested`](Self::exit_requested)), and
/// qjob's own per-monitor commands for virtual time:
/// - `x-qjob-advance {"ns": N}` moves the clock N ns on; returns
///   `{"now-ns"}`;
/// - `x-qjob-settle` runs the work ready now; returns `{"now-ns", "steps"}`;
/// - `x-qjob-wait {"id", "status"}` (or `{"id", "event"}`), optional
///   `"timeout-ns"` (default 30 s of virtual time): satisfied at once if
///   the event was sent since this monitor's previous command, else runs
///   virtual time until it comes; returns `{"reached", "now-ns"}`.
///
/// After a message, the server runs the work ready at the current virtual
/// instant (what QEMU's main loop does between two commands) and sends
/// the events it causes.
#[derive(Debug)]
pub struct QmpServer {
    config: ServerConfig,
    monitors: BTreeMap<MonitorId, Monitor>,
    next_id: u64,
    /// Recent events with their sequence numbers, for `x-qjob-wait`.
    log: VecDeque<(u64, Event)>,
    seq: u64,
    exit: bool,
    /// A request waiting for the host's files (host-files mode).
    held: Option<(MonitorId, Message)>,
    /// Messages that came while a request was held, in order.
    backlog: VecDeque<(MonitorId, Message)>,
    /// The last request created files the host has yet to write (and, for
    /// a system emulator or storage daemon, print the `Formatting` line
    /// of): the next messages wait, so that the line comes between that
    /// request's reply and the next one's, as QEMU prints it.
    writing: bool,
    /// Files to ask the host for, oldest first.
    file_requests: VecDeque<FileRequest>,
}

impl QmpServer {
    /// A server with no monitors.
    pub fn new(config: ServerConfig) -> QmpServer {
        QmpServer {
            config,
            monitors: BTreeMap::new(),
            next_id: 0,
            log: VecDeque::new(),
            seq: 0,
            exit: false,
            held: None,
            backlog: VecDeque::new(),
            writing: false,
            file_requests: VecDeque::new(),
        }
    }

    // ------------------------------------------------------------------
    // Getters
    // ------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The connected monitors, oldest first.
    pub fn monitors(&self) -> impl Iterator<Item = MonitorId> + '_ {
        self.monitors.keys().copied()
    }

    /// Whether the monitor has negotiated capabilities (it takes commands and
    /// receives events).
    pub fn is_negotiated(&self, monitor: MonitorId) -> std::result::Result<bool, UnknownMonitor> {
        Ok(self.monitor(monitor)?.negotiated)
    }

    /// Whether the monitor enabled `oob` when it negotiated.
    pub fn oob_enabled(&self, monitor: MonitorId) -> std::result::Result<bool, UnknownMonitor> {
        Ok(self.monitor(monitor)?.oob)
    }

    /// Bytes waiting for [`poll_transmit`](Self::poll_transmit).
    pub fn pending_output(&self, monitor: MonitorId) -> std::result::Result<usize, UnknownMonitor> {
        Ok(self.monitor(monitor)?.out.len())
    }

    /// The greeting a monitor sends first:
    /// `{"QMP": {"version": {"qemu": {…}, "package": …}, "capabilities": […]}}`.
    pub fn greeting(&self) -> Value {
        self.config.greeting()
    }

    fn monitor(&self, id: MonitorId) -> std::result::Result<&Monitor, UnknownMonitor> {
        self.monitors.get(&id).ok_or(UnknownMonitor(id))
    }

    // ------------------------------------------------------------------
    // Input
    // ------------------------------------------------------------------

    /// A client connected: a new monitor, with its greeting queued.
    pub fn handle_connect(&mut self) -> MonitorId {
        let id = MonitorId(self.next_id);
        self.next_id += 1;
        let out = wire::message(&self.greeting());
        self.monitors.insert(
            id,
            Monitor {
                streamer: JsonStreamer::new(),
                out,
                negotiated: false,
                oob: false,
                mark: self.seq,
                eof: false,
            },
        );
        id
    }

    /// Bytes a client sent: each message they complete is answered in turn
    /// (the reply, and the events of what it did, to
    /// [`poll_transmit`](Self::poll_transmit)). After `quit`, nothing more
    /// is read.
    pub fn handle_input(
        &mut self,
        manager: &mut JobManager,
        monitor: MonitorId,
        data: &[u8],
    ) -> std::result::Result<(), UnknownMonitor> {
        let mon = self
            .monitors
            .get_mut(&monitor)
            .ok_or(UnknownMonitor(monitor))?;
        if mon.eof || self.exit {
            return Ok(());
        }
        let messages = mon.streamer.feed(data);
        for msg in messages {
            if self.exit || !self.monitors.contains_key(&monitor) {
                break;
            }
            if self.held.is_some() || self.writing {
                self.backlog.push_back((monitor, msg));
            } else {
                self.handle_message(manager, monitor, msg);
            }
        }
        Ok(())
    }

    /// The host answered the files [`poll_file_request`](Self::poll_file_request)
    /// named ([`JobManager::handle_file`]): the held request runs now (or
    /// asks for the next files it needs, such as backing files), then the
    /// messages that came meanwhile, until one is held again.
    pub fn handle_files_ready(&mut self, manager: &mut JobManager) {
        self.writing = false;
        if let Some((monitor, msg)) = self.held.take() {
            self.handle_message(manager, monitor, msg);
        }
        while self.held.is_none() && !self.writing && !self.exit {
            let Some((monitor, msg)) = self.backlog.pop_front() else {
                break;
            };
            if self.monitors.contains_key(&monitor) {
                self.handle_message(manager, monitor, msg);
            }
        }
    }

    /// The client's input ended: an unfinished message is dropped (as QEMU
    /// does when a connection closes). The monitor stays: it still receives
    /// events until [`handle_disconnect`](Self::handle_disconnect).
    pub fn handle_eof(&mut self, monitor: MonitorId) -> std::result::Result<(), UnknownMonitor> {
        let mon = self
            .monitors
            .get_mut(&monitor)
            .ok_or(UnknownMonitor(monitor))?;
        mon.streamer.reset();
        mon.eof = true;
        Ok(())
    }

    /// The client is gone: the monitor and its unsent output are dropped.
    pub fn handle_disconnect(
        &mut self,
        monitor: MonitorId,
    ) -> std::result::Result<(), UnknownMonitor> {
        self.monitors
            .remove(&monitor)
            .map(drop)
            .ok_or(UnknownMonitor(monitor))
    }

    /// Virtual time reached `now_ns` (never backwards): runs what became due
    /// and sends its events.
    pub fn handle_timeout(&mut self, manager: &mut JobManager, now_ns: u64) {
        manager.tick(now_ns);
        self.handle_manager_events(manager);
    }

    /// The process got a signal that ends it (SIGTERM, SIGINT, SIGHUP):
    /// what `quit` does, without a reply; in a system emulator SHUTDOWN's
    /// reason is `host-signal`. Afterwards
    /// [`exit_requested`](Self::exit_requested) is true.
    pub fn handle_signal(&mut self, manager: &mut JobManager) {
        if self.exit {
            return;
        }
        if manager.machine {
            // `SHUTDOWN` with the signal's reason (the manager's own event
            // is `quit`'s), before the cleanup's events.
            let data = [("guest", false.into()), ("reason", "host-signal".into())];
            let line = wire::event_message("SHUTDOWN", &data, manager.now(), self.config.epoch_ns);
            self.broadcast(&line);
        }
        manager.end_all();
        self.exit = true;
        self.handle_manager_events(manager);
    }

    /// Sends the events the manager has queued to every negotiated monitor
    /// (after the caller drove the manager directly: a typed command, a
    /// host report, [`JobManager::tick`]).
    pub fn handle_manager_events(&mut self, manager: &mut JobManager) {
        let mut line = String::with_capacity(256);
        while let Some(e) = manager.poll_event() {
            self.seq += 1;
            line.clear();
            wire::write_event_line(&mut line, &e, self.config.epoch_ns);
            self.broadcast(line.as_bytes());
            if self.log.len() == EVENT_LOG {
                self.log.pop_front();
            }
            self.log.push_back((self.seq, e));
        }
    }

    /// Queues an event line for every negotiated monitor (QEMU sends
    /// events only to monitors out of capabilities negotiation).
    fn broadcast(&mut self, line: &[u8]) {
        for mon in self.monitors.values_mut().filter(|m| m.negotiated) {
            mon.out.extend_from_slice(line);
        }
    }

    // ------------------------------------------------------------------
    // Commands
    // ------------------------------------------------------------------

    /// Sets the wall-clock time (ns since the Unix epoch) at which virtual
    /// time was 0, for the timestamps of later events.
    pub fn set_epoch_ns(&mut self, epoch_ns: u64) {
        self.config.epoch_ns = epoch_ns;
    }

    // ------------------------------------------------------------------
    // Output
    // ------------------------------------------------------------------

    /// Takes the bytes waiting for the client (`None` when there are none).
    pub fn poll_transmit(&mut self, monitor: MonitorId) -> Option<Vec<u8>> {
        let mon = self.monitors.get_mut(&monitor)?;
        // The next output is likely as long: room for it up front (up to
        // 64 KiB) rather than growing it from nothing line by line.
        let room = mon.out.len().min(64 << 10);
        (!mon.out.is_empty()).then(|| std::mem::replace(&mut mon.out, Vec::with_capacity(room)))
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: now if
    /// work is ready, else the manager's next deadline; `None` when nothing
    /// is scheduled.
    pub fn poll_timeout(&self, manager: &JobManager) -> Option<u64> {
        if manager.has_ready_work() {
            Some(manager.now())
        } else {
            manager.next_deadline()
        }
    }

    /// Whether a client sent `quit`: the process should exit once the
    /// output is written (the reply is the last thing queued).
    pub fn exit_requested(&self) -> bool {
        self.exit
    }

    /// The next file the host must read (or say whether it can create)
    /// before the held request can run (host-files mode,
    /// [`JobManager::set_host_files`]): answer each with
    /// [`JobManager::handle_file`] or [`JobManager::handle_create`], then
    /// call
    /// [`handle_files_ready`](Self::handle_files_ready). While a request is
    /// held, every monitor's input waits behind it, as QEMU's monitors wait
    /// while a command opens its files.
    pub fn poll_file_request(&mut self) -> Option<FileRequest> {
        self.file_requests.pop_front()
    }

    /// Whether a request is held until the host has read its files, or the
    /// next messages wait until the host has written the files the last one
    /// created ([`JobManager::poll_file_action`]): either way, call
    /// [`handle_files_ready`](Self::handle_files_ready) once done.
    pub fn is_holding(&self) -> bool {
        self.held.is_some() || self.writing
    }

    // ------------------------------------------------------------------
    // One message
    // ------------------------------------------------------------------

    fn handle_message(&mut self, manager: &mut JobManager, monitor: MonitorId, msg: Message) {
        let Some(mon) = self.monitors.get(&monitor) else {
            return;
        };
        if let Ok(Value::Object(dict)) = &msg
            && mon.negotiated
            && check_obj(dict, mon.oob).is_ok_and(|(_, oob)| !oob)
        {
            let wanted = manager.files_wanted(dict);
            if !wanted.is_empty() {
                self.file_requests.extend(wanted);
                self.held = Some((monitor, msg));
                return;
            }
        }
        let reply = match msg {
            Err(desc) => Reply::refused(Error::generic(desc)),
            Ok(request) => Reply {
                id: request.get("id").filter(|_| request.is_object()).cloned(),
                result: self.request(manager, monitor, &request),
            },
        };
        // Events of what the command did come before its reply; what QEMU's
        // main loop does next comes after it.
        self.handle_manager_events(manager);
        if let Some(mon) = self.monitors.get_mut(&monitor) {
            mon.out
                .extend_from_slice(&wire::message(&reply.into_value()));
        }
        if !self.exit {
            manager.settle();
            self.handle_manager_events(manager);
        }
        self.writing = manager.has_file_actions();
    }

    /// `qmp_dispatch` for one request of one monitor.
    fn request(
        &mut self,
        manager: &mut JobManager,
        monitor: MonitorId,
        request: &Value,
    ) -> Result<Value> {
        let Some(mon) = self.monitors.get(&monitor) else {
            return Err(Error::generic("monitor gone"));
        };
        let (negotiated, oob) = (mon.negotiated, mon.oob);
        let framed = match request {
            Value::Object(dict) => check_obj(dict, oob),
            _ => Err(Error::generic("QMP input must be a JSON object")),
        };
        if negotiated && !matches!(&framed, Ok((name, false)) if name == "x-qjob-wait") {
            let seq = self.seq;
            if let Some(mon) = self.monitors.get_mut(&monitor) {
                mon.mark = seq;
            }
        }
        let (name, exec_oob) = framed?;
        let empty = Map::new();
        let args = match request.get("arguments") {
            Some(Value::Object(a)) => a,
            _ => &empty,
        };
        if !negotiated {
            if name != "qmp_capabilities" {
                return Err(Error {
                    class: ErrorClass::CommandNotFound,
                    desc: "Expecting capabilities negotiation with 'qmp_capabilities'".into(),
                });
            }
            let enable_oob = capabilities_args(args)?;
            if enable_oob && !self.config.oob {
                return Err(Error::generic("Capability oob not available"));
            }
            let seq = self.seq;
            if let Some(mon) = self.monitors.get_mut(&monitor) {
                mon.negotiated = true;
                mon.oob = enable_oob;
                mon.mark = seq;
            }
            return Ok(Value::Object(Map::new()));
        }
        if !self.has_command(manager, &name) {
            return Err(Error::command_not_found(&name));
        }
        if exec_oob {
            // No command qjob has may run out of band.
            return Err(Error::generic(format!(
                "The command {name} does not support OOB"
            )));
        }
        match name.as_str() {
            "qmp_capabilities" => {
                capabilities_args(args)?;
                Err(Error {
                    class: ErrorClass::CommandNotFound,
                    desc: "Capabilities negotiation is already complete, command ignored".into(),
                })
            }
            "x-qjob-advance" => {
                let mut a = Args::new(args, "");
                let ns = nonneg_arg(&mut a, "ns")?.ok_or_else(|| Error::missing_parameter("ns"))?;
                a.finish()?;
                manager.advance(ns);
                Ok(now_result(manager, Map::new()))
            }
            "x-qjob-settle" => {
                Args::new(args, "").finish()?;
                let steps = manager.settle();
                let mut m = Map::new();
                m.insert("steps".into(), steps.into());
                Ok(now_result(manager, m))
            }
            "x-qjob-wait" => {
                let mark = self.monitors.get(&monitor).map_or(self.seq, |m| m.mark);
                let reached = self.wait(manager, mark, args)?;
                let mut m = Map::new();
                m.insert("reached".into(), reached.into());
                Ok(now_result(manager, m))
            }
            // The monitor's own version and command list (its
            // configuration may differ from the defaults the manager
            // answers with).
            "query-version" => {
                Args::new(args, "").finish()?;
                Ok(system::version_info(
                    self.config.version,
                    &self.config.package,
                ))
            }
            "query-commands" => {
                Args::new(args, "").finish()?;
                let names = system::listed_commands(manager.version(), manager.machine())
                    .filter(|&n| n != "quit" || self.config.allow_quit);
                Ok(system::command_list(names))
            }
            "quit" => {
                Args::new(args, "").finish()?;
                manager.quit();
                self.exit = true;
                Ok(Value::Object(Map::new()))
            }
            _ => manager.dispatch(&name, args),
        }
    }

    /// Whether the monitor knows a command (the VM's commands exist in a
    /// system emulator only).
    fn has_command(&self, manager: &JobManager, name: &str) -> bool {
        match name {
            "quit" => self.config.allow_quit,
            _ => {
                COMMANDS.contains(&name)
                    && system::available(name, manager.machine())
                    && manager.version().has_command(name)
            }
        }
    }

    /// `x-qjob-wait`: `id`, optional `timeout-ns`, and `status` or else
    /// `event` (read in that order, then unexpected members refused).
    fn wait(&self, manager: &mut JobManager, mark: u64, args: &Map<String, Value>) -> Result<bool> {
        let mut a = Args::new(args, "");
        let id = a.req_str("id")?;
        let timeout = nonneg_arg(&mut a, "timeout-ns")?.unwrap_or(WAIT_LIMIT_NS);
        let limit = manager.now().saturating_add(timeout);
        let since_mark = self.log.iter().filter(|(s, _)| *s > mark).map(|(_, e)| e);
        if args.contains_key("status") {
            let status: JobStatus = a.req_enum("status", |s| s.parse().ok())?;
            a.finish()?;
            if since_mark
                .clone()
                .any(|e| e.kind.is_status_change(&id, status))
            {
                return Ok(true);
            }
            return Ok(manager.run_until(limit, |m| m.status_reached(&id, status)));
        }
        let event = a
            .opt_enum("event", |s| {
                EventKind::NAMES.iter().find(|&&n| n == s).copied()
            })?
            .ok_or_else(|| Error::missing_parameter("status"))?;
        a.finish()?;
        if since_mark
            .clone()
            .any(|e| e.kind.is_event_about(event, &id))
        {
            return Ok(true);
        }
        Ok(manager.run_until(limit, |m| m.event_queued(event, &id)))
    }
}

/// `qmp_dispatch_check_obj`: the request's members in QEMU's order; the
/// command's name and whether it came as `exec-oob` (which only a monitor
/// with `oob` enabled takes).
pub(crate) fn check_obj(dict: &Map<String, Value>, allow_oob: bool) -> Result<(String, bool)> {
    let mut exec: Option<(&str, &str)> = None;
    for (key, v) in super::wire::qdict_order(dict) {
        match key.as_str() {
            k @ ("execute" | "exec-oob") if k == "execute" || allow_oob => {
                let Value::String(name) = v else {
                    return Err(Error::generic(format!(
                        "QMP input member '{k}' must be a string"
                    )));
                };
                if let Some((first, _)) = exec {
                    return Err(Error::generic(format!(
                        "QMP input member '{k}' clashes with '{first}'"
                    )));
                }
                exec = Some((k, name));
            }
            "arguments" => {
                if !v.is_object() {
                    return Err(Error::generic(
                        "QMP input member 'arguments' must be an object",
                    ));
                }
            }
            "id" => {}
            other => {
                return Err(Error::generic(format!(
                    "QMP input member '{other}' is unexpected"
                )));
            }
        }
    }
    match exec {
        Some((key, name)) => Ok((name.to_owned(), key == "exec-oob")),
        None => Err(Error::generic("QMP input lacks member 'execute'")),
    }
}

/// `qmp_capabilities`'s arguments: whether `enable` asks for `oob`.
fn capabilities_args(args: &Map<String, Value>) -> Result<bool> {
    let mut a = Args::new(args, "");
    let mut oob = false;
    if let Some(list) = a.opt_list("enable")? {
        for (i, v) in list.iter().enumerate() {
            match v.as_str() {
                Some("oob") => oob = true,
                // QEMU's visitor names a list's enum element 'null'.
                Some(s) => return Err(Error::bad_enum_value("null", s)),
                None => return Err(Error::invalid_type(&format!("enable[{i}]"), "string")),
            }
        }
    }
    a.finish()?;
    Ok(oob)
}

/// An optional non-negative integer of qjob's own commands (refused as
/// QAPI refuses a non-integer for an `int` member).
fn nonneg_arg(a: &mut Args<'_>, name: &'static str) -> Result<Option<u64>> {
    a.opt_any(name)
        .map(|v| {
            v.as_u64()
                .ok_or_else(|| Error::invalid_type(name, "integer"))
        })
        .transpose()
}

/// A result object with `now-ns` first.
fn now_result(manager: &JobManager, rest: Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert("now-ns".into(), manager.now().into());
    m.extend(rest);
    Value::Object(m)
}
