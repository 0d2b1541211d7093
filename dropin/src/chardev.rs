//! Character devices: where a monitor (or the qtest connection) reads and
//! writes. The kinds qjob has: `socket` (Unix or TCP, listening with
//! `server=on` or connecting out, or an inherited descriptor with `fd=N`),
//! `stdio` and `null`.
//!
//! [`ChardevSpec`] is what the command line says (from `-chardev` options or
//! the legacy `-qmp stdio` / `-qtest unix:path=...` spellings), with QEMU's
//! refusals; [`ChardevSpec::open`] opens it: binds and listens, or
//! connects, as QEMU does when it creates the chardev. A listening socket
//! with `wait=on` (the default for `server=on`) blocks until its first
//! client connects, as QEMU does.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use crate::opts::qemuopts::{self, OptDescs, OptType, QemuOpts};

/// QEMU's `-chardev` options (every name it knows, so an unknown one is
/// `Invalid parameter`; those qjob does not model are refused by
/// [`ChardevSpec::from_opts`]).
pub const CHARDEV_OPTS: OptDescs = Some(&[
    ("backend", OptType::Str),
    ("path", OptType::Str),
    ("host", OptType::Str),
    ("port", OptType::Str),
    ("fd", OptType::Str),
    ("localaddr", OptType::Str),
    ("localport", OptType::Str),
    ("to", OptType::Number),
    ("ipv4", OptType::Bool),
    ("ipv6", OptType::Bool),
    ("wait", OptType::Bool),
    ("server", OptType::Bool),
    ("delay", OptType::Bool),
    ("nodelay", OptType::Bool),
    ("reconnect", OptType::Number),
    ("telnet", OptType::Bool),
    ("tn3270", OptType::Bool),
    ("tls-creds", OptType::Str),
    ("tls-authz", OptType::Str),
    ("websocket", OptType::Bool),
    ("width", OptType::Number),
    ("height", OptType::Number),
    ("cols", OptType::Number),
    ("rows", OptType::Number),
    ("mux", OptType::Bool),
    ("signal", OptType::Bool),
    ("name", OptType::Str),
    ("debug", OptType::Number),
    ("size", OptType::Size),
    ("chardev", OptType::Str),
    ("append", OptType::Bool),
    ("logfile", OptType::Str),
    ("logappend", OptType::Bool),
    ("mouse", OptType::Bool),
    ("clipboard", OptType::Bool),
    ("tight", OptType::Bool),
    ("abstract", OptType::Bool),
]);

/// The backends qjob has, as `-chardev help` lists them.
pub const BACKENDS: &[&str] = &["null", "socket", "stdio"];

/// A socket's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    /// A Unix socket path.
    Unix(PathBuf),
    /// A TCP host and port.
    Inet {
        /// Host name or address (empty: any).
        host: String,
        /// Port number.
        port: String,
    },
    /// An inherited file descriptor (a connected socket, or a listening one
    /// with `server=on`).
    Fd(String),
}

impl Addr {
    /// As QEMU names the address in its messages (`unix:PATH`,
    /// `HOST:PORT`).
    fn describe(&self) -> String {
        match self {
            Addr::Unix(p) => format!("unix:{}", p.display()),
            Addr::Inet { host, port } => format!("tcp:{host}:{port}"),
            Addr::Fd(fd) => format!("fd:{fd}"),
        }
    }
}

/// What a chardev is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A socket.
    Socket {
        /// Where.
        addr: Addr,
        /// Listen (`server=on`) rather than connect.
        server: bool,
        /// With `server=on`: wait for the first client before going on.
        wait: bool,
    },
    /// Standard input and output.
    Stdio,
    /// Nothing: reads nothing, writes go nowhere.
    Null,
}

/// One chardev as the command line describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChardevSpec {
    /// Its id (`compat_monitor0` for `-qmp stdio`, `qtest` for `-qtest`).
    pub id: String,
    /// Its backend.
    pub backend: Backend,
}

/// Options of QEMU's chardevs that qjob does not model, refused by name
/// rather than ignored.
const UNMODELED: &[&str] = &[
    "localaddr",
    "localport",
    "to",
    "ipv4",
    "ipv6",
    "reconnect",
    "telnet",
    "tn3270",
    "tls-creds",
    "tls-authz",
    "websocket",
    "width",
    "height",
    "cols",
    "rows",
    "mux",
    "signal",
    "name",
    "debug",
    "size",
    "chardev",
    "append",
    "logfile",
    "logappend",
    "mouse",
    "clipboard",
    "tight",
    "abstract",
];

impl ChardevSpec {
    /// A chardev from `-chardev` / `--chardev` options (parsed with
    /// [`CHARDEV_OPTS`] and implied key `backend`).
    pub fn from_opts(opts: &QemuOpts) -> Result<ChardevSpec, String> {
        let Some(backend) = opts.get("backend") else {
            return Err(match &opts.id {
                Some(id) => format!("chardev: \"{id}\" missing backend"),
                None => "chardev: no id specified".into(),
            });
        };
        if !BACKENDS.contains(&backend) {
            return Err(format!("'{backend}' is not a valid char driver name"));
        }
        let Some(id) = opts.id.clone() else {
            return Err("chardev: no id specified".into());
        };
        let backend = match backend {
            "socket" => socket_backend(opts)?,
            "stdio" => Backend::Stdio,
            _ => Backend::Null,
        };
        if let Some(k) = opts.keys().into_iter().find(|k| {
            UNMODELED.contains(k)
                || (!matches!(backend, Backend::Socket { .. })
                    && matches!(*k, "path" | "host" | "port" | "fd" | "server" | "wait"))
        }) {
            // "reconnect" with server=on is QEMU's own refusal.
            if k == "reconnect" && opts.get_bool("server", false) {
                return Err(
                    "'reconnect' option is incompatible with socket in server listen mode".into(),
                );
            }
            return Err(format!("qjob does not model the chardev option '{k}'"));
        }
        Ok(ChardevSpec { id, backend })
    }

    /// A chardev from QEMU's legacy spelling (`qemu_chr_parse_compat`), as
    /// `-qmp`, `-monitor`, `-serial` and `-qtest` take it: `stdio`, `null`,
    /// `unix:PATH[,server=on,wait=off]` (also `unix:path=PATH`),
    /// `tcp:HOST:PORT[,server=on,...]`.
    pub fn from_compat(label: &str, filename: &str) -> Result<ChardevSpec, String> {
        let backend = match filename {
            "stdio" => Backend::Stdio,
            "null" => Backend::Null,
            _ => {
                if let Some(rest) = filename.strip_prefix("unix:") {
                    const UNIX: OptDescs = Some(&[
                        ("path", OptType::Str),
                        ("server", OptType::Bool),
                        ("wait", OptType::Bool),
                    ]);
                    let opts = compat_opts(rest, Some("path"), UNIX)?;
                    socket_backend(&opts)?
                } else if let Some(rest) = filename.strip_prefix("tcp:") {
                    let (hostport, more) = rest.split_once(',').unwrap_or((rest, ""));
                    let (host, port) = hostport
                        .rsplit_once(':')
                        .ok_or_else(|| format!("'{filename}' is not a valid char driver"))?;
                    const TCP: OptDescs = Some(&[
                        ("server", OptType::Bool),
                        ("wait", OptType::Bool),
                        ("nodelay", OptType::Bool),
                    ]);
                    let mut opts = compat_opts(more, None, TCP)?;
                    opts.opts.push(("host".into(), host.into()));
                    opts.opts.push(("port".into(), port.into()));
                    socket_backend(&opts)?
                } else if filename.starts_with("mon:") {
                    return Err(format!(
                        "qjob does not model multiplexed chardevs ('{filename}')"
                    ));
                } else {
                    return Err(format!("'{filename}' is not a valid char driver"));
                }
            }
        };
        Ok(ChardevSpec {
            id: label.to_owned(),
            backend,
        })
    }

    /// Opens the chardev as QEMU does when it creates it. A listening
    /// socket with `wait` blocks until a client connects, after printing
    /// QEMU's `QEMU waiting for connection on: ...` line through `info`.
    pub fn open(&self, info: &mut dyn FnMut(&str)) -> Result<Opened, String> {
        match &self.backend {
            Backend::Stdio => Ok(Opened::Stdio),
            Backend::Null => Ok(Opened::Null),
            Backend::Socket { addr, server, wait } => {
                if *server {
                    let listener = listen(addr)?;
                    let first = if *wait {
                        info(&format!(
                            "QEMU waiting for connection on: disconnected:{},server=on",
                            addr.describe()
                        ));
                        let s = listener.accept().map_err(|e| {
                            format!("Failed to accept connection: {}", strerror(&e))
                        })?;
                        Some(s)
                    } else {
                        None
                    };
                    Ok(Opened::Listener { listener, first })
                } else {
                    connect(addr).map(Opened::Stream)
                }
            }
        }
    }
}

fn compat_opts(text: &str, implied: Option<&str>, descs: OptDescs) -> Result<QemuOpts, String> {
    match qemuopts::parse(text, implied, descs)? {
        qemuopts::Parsed::Opts(o) => Ok(o),
        qemuopts::Parsed::Help => Err("Help is not available for this option".into()),
    }
}

fn socket_backend(opts: &QemuOpts) -> Result<Backend, String> {
    let (path, host, port, fd) = (
        opts.get("path"),
        opts.get("host"),
        opts.get("port"),
        opts.get("fd"),
    );
    if path.is_some() as u8 + host.is_some() as u8 + fd.is_some() as u8 > 1 {
        return Err("None or one of 'path', 'fd' or 'host' option required.".into());
    }
    if host.is_some() && port.is_none() {
        return Err("chardev: socket: no port given".into());
    }
    let addr = match (path, host) {
        (Some(p), _) => Addr::Unix(PathBuf::from(p)),
        (None, Some(h)) => Addr::Inet {
            host: h.to_owned(),
            port: port.unwrap_or_default().to_owned(),
        },
        (None, None) => Addr::Fd(fd.unwrap_or_default().to_owned()),
    };
    let server = opts.get_bool("server", false);
    Ok(Backend::Socket {
        addr,
        server,
        wait: server && opts.get_bool("wait", true),
    })
}

/// A chardev once opened.
#[derive(Debug)]
pub enum Opened {
    /// A listening socket, and the first client when `wait` made QEMU
    /// wait for one.
    Listener {
        /// The socket.
        listener: Listener,
        /// The client accepted at startup.
        first: Option<Stream>,
    },
    /// A connected socket.
    Stream(Stream),
    /// Standard input and output.
    Stdio,
    /// Nothing.
    Null,
}

/// A listening socket.
#[derive(Debug)]
pub enum Listener {
    /// Unix.
    Unix(UnixListener),
    /// TCP.
    Tcp(TcpListener),
}

/// A connected socket.
#[derive(Debug)]
pub enum Stream {
    /// Unix.
    Unix(UnixStream),
    /// TCP.
    Tcp(TcpStream),
}

impl Listener {
    /// Accepts one client (blocking unless the listener is non-blocking).
    pub fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
            Listener::Tcp(l) => l.accept().map(|(s, _)| Stream::Tcp(s)),
        }
    }

    /// Its descriptor, for `poll`.
    pub fn raw_fd(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Listener::Unix(l) => l.as_raw_fd(),
            Listener::Tcp(l) => l.as_raw_fd(),
        }
    }

    /// Makes `accept` return at once when no client waits.
    pub fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Listener::Unix(l) => l.set_nonblocking(true),
            Listener::Tcp(l) => l.set_nonblocking(true),
        }
    }
}

impl Stream {
    /// Its descriptor, for `poll`.
    pub fn raw_fd(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        }
    }

    /// Sets or clears non-blocking mode.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_nonblocking(on),
            Stream::Tcp(s) => s.set_nonblocking(on),
        }
    }
}

impl io::Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl io::Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The text of an I/O error as C's `strerror` gives it (without Rust's
/// ` (os error N)`).
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => s[..i].to_owned(),
        _ => s,
    }
}

/// A descriptor number given as `fd=N`, checked to be an open socket;
/// `server` tells whether it should be listening.
fn inherited_fd(text: &str) -> Result<RawFd, String> {
    let fd: RawFd = text
        .parse()
        .ok()
        .filter(|n: &RawFd| *n >= 0)
        .ok_or_else(|| format!("Unable to parse FD number {text}"))?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `struct stat` into the buffer it is given and
    // reads nothing else; the buffer is only read after it returned 0.
    let rc = unsafe { libc::fstat(fd, st.as_mut_ptr()) };
    // SAFETY: fstat succeeded, so it filled the whole struct.
    if rc != 0 || unsafe { st.assume_init() }.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(format!("File descriptor '{text}' is not a socket"));
    }
    Ok(fd)
}

fn is_inet_family(fd: RawFd) -> bool {
    let mut addr = std::mem::MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into `addr`, which is
    // that large, and updates `len`; both live through the call.
    let rc = unsafe { libc::getsockname(fd, addr.as_mut_ptr().cast(), &mut len) };
    // SAFETY: the storage was zeroed, so its family field is initialised
    // whether or not getsockname wrote it.
    let family = unsafe { addr.assume_init() }.ss_family as i32;
    rc == 0 && (family == libc::AF_INET || family == libc::AF_INET6)
}

fn listen(addr: &Addr) -> Result<Listener, String> {
    match addr {
        Addr::Unix(path) => {
            // QEMU removes a stale socket file before binding.
            if std::fs::symlink_metadata(path)
                .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
            {
                let _ = std::fs::remove_file(path);
            }
            UnixListener::bind(path).map(Listener::Unix).map_err(|e| {
                format!(
                    "Failed to bind socket to {}: {}",
                    path.display(),
                    strerror(&e)
                )
            })
        }
        Addr::Inet { host, port } => {
            let host = if host.is_empty() { "0.0.0.0" } else { host };
            let port: u16 = port
                .parse()
                .map_err(|_| format!("can't convert to a number: {port}"))?;
            TcpListener::bind((host, port))
                .map(Listener::Tcp)
                .map_err(|e| format!("Failed to bind socket: {}", strerror(&e)))
        }
        Addr::Fd(text) => {
            let fd = inherited_fd(text)?;
            // SAFETY: the descriptor was inherited for this chardev alone (the
            // command line gave it to us): we own it from here on.
            Ok(if is_inet_family(fd) {
                Listener::Tcp(unsafe { TcpListener::from_raw_fd(fd) })
            } else {
                Listener::Unix(unsafe { UnixListener::from_raw_fd(fd) })
            })
        }
    }
}

fn connect(addr: &Addr) -> Result<Stream, String> {
    match addr {
        Addr::Unix(path) => UnixStream::connect(path).map(Stream::Unix).map_err(|e| {
            format!(
                "Failed to connect to '{}': {}",
                path.display(),
                strerror(&e)
            )
        }),
        Addr::Inet { host, port } => {
            let p: u16 = port
                .parse()
                .map_err(|_| format!("can't convert to a number: {port}"))?;
            TcpStream::connect((host.as_str(), p))
                .map(Stream::Tcp)
                .map_err(|e| format!("Failed to connect to '{host}:{port}': {}", strerror(&e)))
        }
        Addr::Fd(text) => {
            let fd = inherited_fd(text)?;
            // SAFETY: as in `listen`: an inherited descriptor given to this
            // chardev, owned from here on.
            Ok(if is_inet_family(fd) {
                Stream::Tcp(unsafe { TcpStream::from_raw_fd(fd) })
            } else {
                Stream::Unix(unsafe { UnixStream::from_raw_fd(fd) })
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(p: &str) -> Result<ChardevSpec, String> {
        match qemuopts::parse(p, Some("backend"), CHARDEV_OPTS)? {
            qemuopts::Parsed::Opts(o) => ChardevSpec::from_opts(&o),
            qemuopts::Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn specs() {
        assert_eq!(
            spec("socket,id=mon,path=/tmp/m.sock"),
            Ok(ChardevSpec {
                id: "mon".into(),
                backend: Backend::Socket {
                    addr: Addr::Unix("/tmp/m.sock".into()),
                    server: false,
                    wait: false
                }
            })
        );
        let s = spec("socket,id=m0,path=/x,server=on,wait=off").unwrap();
        assert!(matches!(
            s.backend,
            Backend::Socket {
                server: true,
                wait: false,
                ..
            }
        ));
        let s = spec("socket,id=m0,path=/x,server=on").unwrap();
        assert!(matches!(
            s.backend,
            Backend::Socket {
                server: true,
                wait: true,
                ..
            }
        ));
        assert_eq!(spec("stdio,id=s").unwrap().backend, Backend::Stdio);
    }

    #[test]
    fn refusals_are_qemus() {
        // As qemu-storage-daemon 7.2.22 words them.
        assert_eq!(
            spec("socket,id=m,path=/a,host=x"),
            Err("None or one of 'path', 'fd' or 'host' option required.".into())
        );
        assert_eq!(
            spec("socket,id=m,host=h"),
            Err("chardev: socket: no port given".into())
        );
        assert_eq!(
            spec("foo,id=x"),
            Err("'foo' is not a valid char driver name".into())
        );
        assert_eq!(
            spec("socket,path=/x"),
            Err("chardev: no id specified".into())
        );
        assert_eq!(
            spec("socket,id=b,path=/x,server=on,wait=off,reconnect=1"),
            Err("'reconnect' option is incompatible with socket in server listen mode".into())
        );
        assert_eq!(
            spec("socket,id=b,path=/x,tls-creds=t"),
            Err("qjob does not model the chardev option 'tls-creds'".into())
        );
        let mut info = |_: &str| {};
        assert_eq!(
            spec("socket,id=m").unwrap().open(&mut info).unwrap_err(),
            "Unable to parse FD number "
        );
        assert_eq!(
            spec("socket,id=m,fd=0")
                .unwrap()
                .open(&mut info)
                .unwrap_err(),
            "File descriptor '0' is not a socket"
        );
        assert_eq!(
            spec("socket,id=m,path=/nonexistent/x")
                .unwrap()
                .open(&mut info)
                .unwrap_err(),
            "Failed to connect to '/nonexistent/x': No such file or directory"
        );
    }

    #[test]
    fn legacy_spellings() {
        assert_eq!(
            ChardevSpec::from_compat("compat_monitor0", "stdio")
                .unwrap()
                .backend,
            Backend::Stdio
        );
        let q = ChardevSpec::from_compat("qtest", "unix:path=/s/q.sock").unwrap();
        assert_eq!(
            q.backend,
            Backend::Socket {
                addr: Addr::Unix("/s/q.sock".into()),
                server: false,
                wait: false
            }
        );
        let q = ChardevSpec::from_compat("m", "unix:/s/m.sock,server=on,wait=off").unwrap();
        assert!(matches!(
            q.backend,
            Backend::Socket {
                server: true,
                wait: false,
                ..
            }
        ));
        let t = ChardevSpec::from_compat("m", "tcp:127.0.0.1:4444,server=on,wait=off").unwrap();
        assert_eq!(
            t.backend,
            Backend::Socket {
                addr: Addr::Inet {
                    host: "127.0.0.1".into(),
                    port: "4444".into()
                },
                server: true,
                wait: false
            }
        );
        assert_eq!(
            ChardevSpec::from_compat("m", "bogus").unwrap_err(),
            "'bogus' is not a valid char driver"
        );
    }
}
