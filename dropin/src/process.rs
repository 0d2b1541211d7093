//! The process around the monitors: the PID file, `--daemonize`, and the
//! signals that end QEMU (SIGTERM, SIGINT, SIGHUP), all as QEMU 7.2 does
//! them.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::chardev::strerror;

/// The PID file, locked and holding our PID; removed when the process
/// exits normally (QEMU's `atexit` cleanup).
#[derive(Debug)]
pub struct PidFile {
    /// The resolved path, removed on [`remove`](Self::remove).
    path: PathBuf,
    /// Kept open: the lock lasts as long as the process.
    _file: File,
}

impl PidFile {
    /// `qemu_write_pidfile`: creates (or reuses) `path`, takes a write lock
    /// on it, and writes the PID and a newline. The error is QEMU's text
    /// after `cannot create PID file: `.
    pub fn write(path: &str) -> Result<PidFile, String> {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        loop {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("Could not create '{path}': {}", strerror(&e)))?;
            let ino = file
                .metadata()
                .map_err(|e| format!("Cannot stat file: {}", strerror(&e)))?
                .ino();
            let lock = libc::flock {
                l_type: libc::F_WRLCK as libc::c_short,
                l_whence: libc::SEEK_SET as libc::c_short,
                l_start: 0,
                l_len: 0,
                l_pid: 0,
            };
            // SAFETY: F_SETLK reads the `flock` it is given, which lives
            // through the call; the descriptor is open (owned by `file`).
            if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lock) } != 0 {
                let e = io::Error::last_os_error();
                return Err(format!("Cannot lock pid file: {}", strerror(&e)));
            }
            // Someone may have replaced the file between open and lock.
            match std::fs::metadata(path) {
                Ok(m) if m.ino() == ino => {}
                _ => continue,
            }
            let mut file = file;
            file.set_len(0)
                .map_err(|e| format!("Failed to truncate pid file: {}", strerror(&e)))?;
            if file
                .write_all(format!("{}\n", std::process::id()).as_bytes())
                .is_err()
            {
                let _ = std::fs::remove_file(path);
                return Err("Failed to write pid file".into());
            }
            let resolved = std::fs::canonicalize(path).map_err(|e| {
                let _ = std::fs::remove_file(path);
                format!("cannot resolve PID file path: {path}: {}", strerror(&e))
            })?;
            return Ok(PidFile {
                path: resolved,
                _file: file,
            });
        }
    }

    /// Removes the file (at exit).
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `--daemonize`, between its two halves: the pipe to the parent that
/// waits for startup to finish.
#[derive(Debug)]
pub struct Daemon {
    to_parent: OwnedFd,
}

/// Forks off a daemon (QEMU's `os_daemonize`): the original process waits
/// until the daemon reports that startup finished ([`Daemon::ready`]) and
/// exits 0, or exits 1 if the daemon failed (or died) first. Returns in the
/// daemon, a session leader's child. Must be called while the process has
/// one thread.
pub fn daemonize() -> Daemon {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        std::process::exit(1);
    }
    // SAFETY: both descriptors were just created and are owned here alone.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the process has a single thread (the caller's contract), so
    // the child may go on running Rust code after fork.
    match unsafe { libc::fork() } {
        pid if pid > 0 => {
            drop(wr);
            let mut reader = File::from(rd);
            let mut status = [1u8; 1];
            let ok = loop {
                match reader.read(&mut status) {
                    Ok(1) => break status[0] == 0,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    _ => break false,
                }
            };
            std::process::exit(if ok { 0 } else { 1 });
        }
        0 => {}
        _ => std::process::exit(1),
    }
    drop(rd);
    // SAFETY: setsid and fork take no pointers; still one thread.
    unsafe {
        libc::setsid();
        match libc::fork() {
            pid if pid > 0 => libc::_exit(0),
            0 => {}
            _ => libc::_exit(1),
        }
        libc::umask(0o027);
        libc::signal(libc::SIGTSTP, libc::SIG_IGN);
        libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        libc::signal(libc::SIGTTIN, libc::SIG_IGN);
    }
    Daemon { to_parent: wr }
}

impl Daemon {
    /// Startup finished (QEMU's `os_setup_post`): the working directory
    /// becomes `/`, standard input, output and error go to `/dev/null`, and
    /// the waiting parent exits 0.
    pub fn ready(self) -> Result<(), String> {
        std::env::set_current_dir("/")
            .map_err(|e| format!("not able to chdir to /: {}", strerror(&e)))?;
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| strerror(&e))?;
        for target in 0..3 {
            // SAFETY: dup2 onto the standard descriptors of this process;
            // `null` stays open through the calls.
            unsafe { libc::dup2(null.as_raw_fd(), target) };
        }
        let mut to_parent = File::from(self.to_parent);
        to_parent.write_all(&[0]).map_err(|e| strerror(&e))
    }
}

/// The write end of the signal pipe, for the handler (−1: none).
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signo: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = signo as u8;
        // SAFETY: write(2) is async-signal-safe; the byte lives on this
        // stack frame through the call. A full pipe just drops it (one byte
        // waiting is enough to wake the loop).
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
}

/// SIGTERM, SIGINT and SIGHUP as bytes on a pipe the poll loop watches (the
/// self-pipe trick); SIGPIPE ignored, so a write to a closed socket is an
/// error, not death (as in QEMU).
#[derive(Debug)]
pub struct Signals {
    read: File,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> io::Result<Signals> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2 writes two descriptors into the array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the read end was just created and is owned here alone; the
        // write end is kept for the life of the process (the handler's).
        let read = unsafe { File::from_raw_fd(fds[0]) };
        SIGNAL_PIPE.store(fds[1], Ordering::Relaxed);
        for signo in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the
            // handler only calls write(2), which is async-signal-safe.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigaction(signo, &sa, std::ptr::null_mut());
            }
        }
        // SAFETY: setting SIGPIPE's disposition to "ignore" takes no pointers.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        Ok(Signals { read })
    }

    /// The descriptor to poll for readability.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Whether a terminating signal came since the last call.
    pub fn take(&mut self) -> bool {
        let mut buf = [0u8; 64];
        let mut got = false;
        while let Ok(n) = self.read.read(&mut buf) {
            if n == 0 {
                break;
            }
            got = true;
        }
        got
    }
}
