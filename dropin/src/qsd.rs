//! `qjob-storage-daemon`: QEMU 7.2's `qemu-storage-daemon` command line over
//! qjob's core.
//!
//! As QEMU's does, it reads its options in two passes: first `--help`,
//! `--version`, `--daemonize`, `--pidfile` (and qjob's `--x-qjob-time` and
//! `--x-qjob-qemu`, read before the others so that `--help` and `--version`
//! speak for the QEMU chosen) and
//! any malformed option; then every other option in command-line order,
//! each applied at once (`--blockdev` becomes `blockdev-add`, `--object`
//! `object-add`, `--nbd-server` `nbd-server-start`, `--export`
//! `block-export-add`; `--chardev` opens a chardev, `--monitor` puts a QMP
//! monitor on it), so an option can only use what earlier ones made. Then
//! the PID file is written, a daemon tells its parent that it started, and
//! the monitors are served until `quit` or SIGTERM.

use qjob::QemuVersion;
use serde_json::{Map, Value};

use crate::chardev::{CHARDEV_OPTS, ChardevSpec};
use crate::clock::TimeMode;
use crate::cmdline::qsd::{self, Arg, QsdOption};
use crate::cmdline::{self, OptionError};
use crate::host::Host;
use crate::monitor;
use crate::opts::keyval;
use crate::opts::qemuopts::{self, Parsed};
use crate::process::{self, PidFile};
use crate::texts;

/// The program's name in its messages.
pub const PROGRAM: &str = "qemu-storage-daemon";

/// Runs the storage daemon with `args` (the program name first); returns
/// the exit status.
pub fn main(args: Vec<String>) -> i32 {
    let argv0 = args.first().map_or(PROGRAM, String::as_str);
    let parsed = qsd::parse(argv0, args.get(1..).unwrap_or_default());

    // The first pass: what concerns the process, and malformed options.
    let mut daemonize = false;
    let mut pidfile = None;
    let mut time = TimeMode::default();
    let mut qemu = QemuVersion::default();
    for arg in parsed.iter().map_while(|a| a.as_ref().ok()) {
        if arg.option == QsdOption::Qemu {
            match cmdline::qemu_version(arg.value.as_deref().unwrap_or_default()) {
                Ok(v) => qemu = v,
                Err(e) => return fail(&OptionError::at(&arg.loc, e)),
            }
        }
    }
    for item in &parsed {
        let arg = match item {
            Err(text) => {
                eprintln!("{text}");
                return 1;
            }
            Ok(a) => a,
        };
        match arg.option {
            QsdOption::Help => {
                print!("{}", texts::qsd_help());
                return 0;
            }
            QsdOption::Version => {
                print!("{}", texts::qsd_version(qemu));
                return 0;
            }
            QsdOption::Daemonize => daemonize = true,
            QsdOption::Pidfile => pidfile = arg.value.clone(),
            QsdOption::Time => match TimeMode::parse(arg.value.as_deref().unwrap_or_default()) {
                Ok(t) => time = t,
                Err(e) => return fail(&OptionError::at(&arg.loc, e)),
            },
            _ => {}
        }
    }
    let daemon = daemonize.then(process::daemonize);

    let mut host = Host::new(PROGRAM, time, false, qemu);
    if let Err(e) = host.install_signals() {
        return fail(&OptionError::bare(format!("cannot catch signals: {e}")));
    }
    // The second pass, in order.
    for arg in parsed.iter().flatten() {
        if let Err(e) = apply(&mut host, arg) {
            return fail(&OptionError::at(&arg.loc, e));
        }
    }
    if let Some(path) = pidfile {
        match PidFile::write(&path) {
            Ok(p) => host.set_pidfile(p),
            Err(e) => return fail(&OptionError::bare(format!("cannot create PID file: {e}"))),
        }
    }
    host.serve(daemon)
}

fn fail(e: &OptionError) -> i32 {
    e.report(PROGRAM)
}

/// One option of the second pass.
fn apply(host: &mut Host, arg: &Arg) -> Result<(), String> {
    let text = arg.value.as_deref().unwrap_or_default();
    match arg.option {
        QsdOption::Blockdev => qmp(host, "blockdev-add", text, Some("driver")),
        QsdOption::Object => {
            if qemuopts::is_help(text) {
                return Err("qjob has no help for --object".into());
            }
            qmp(host, "object-add", text, Some("qom-type"))
        }
        QsdOption::Export => qmp(host, "block-export-add", text, Some("type")),
        QsdOption::NbdServer => {
            let (map, keyval) = keyval::parse_str(text, None)?;
            host.command("nbd-server-start", &nbd_server_args(map), keyval)
                .map(drop)
        }
        QsdOption::Chardev => {
            let opts = match qemuopts::parse(text, Some("backend"), CHARDEV_OPTS)? {
                Parsed::Opts(o) => o,
                Parsed::Help => {
                    print!("{}", crate::texts::chardev_help());
                    std::process::exit(0);
                }
            };
            for w in &opts.warnings {
                eprintln!("{PROGRAM}: {}: warning: {w}", arg.loc);
            }
            host.add_chardev(&ChardevSpec::from_opts(&opts)?)
        }
        QsdOption::Monitor => {
            let chardev = monitor::qsd_monitor(text)?;
            host.add_monitor(&chardev)
        }
        QsdOption::Unexpected => Err(qsd::unexpected(arg).message),
        QsdOption::Help
        | QsdOption::Version
        | QsdOption::Daemonize
        | QsdOption::Pidfile
        | QsdOption::Time
        | QsdOption::Qemu => Ok(()),
    }
}

/// An option that is a QMP command with the same arguments.
fn qmp(host: &mut Host, name: &str, text: &str, implied: Option<&str>) -> Result<(), String> {
    let (map, keyval) = keyval::parse_str(text, implied)?;
    host.command(name, &map, keyval).map(drop)
}

/// `--nbd-server`'s `NbdServerOptions` as `nbd-server-start`'s arguments:
/// the address is a flat `SocketAddress` on the command line
/// (`addr.type=unix,addr.path=P`) and a `SocketAddressLegacy` in QMP
/// (`{"type": "unix", "data": {"path": P}}`).
fn nbd_server_args(mut map: Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::Object(addr)) = map.get_mut("addr")
        && let Some(kind) = addr.remove("type")
    {
        let data = std::mem::take(addr);
        addr.insert("type".into(), kind);
        addr.insert("data".into(), Value::Object(data));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nbd_server_address_becomes_legacy() {
        let Value::Object(m) =
            json!({"addr": {"type": "unix", "path": "/s"}, "max-connections": "2"})
        else {
            unreachable!()
        };
        assert_eq!(
            Value::Object(nbd_server_args(m)),
            json!({"addr": {"type": "unix", "data": {"path": "/s"}}, "max-connections": "2"})
        );
    }
}
