//! `qjob-system`: the part of QEMU 7.2's `qemu-system-x86_64` command line
//! that QEMU's iotests harness and `qemu.machine` pass, over qjob's core. No
//! guest runs; the machine exists for its monitors, block devices and jobs.
//!
//! The options are read as QEMU reads them: every option is looked up
//! first (an unknown one is `invalid option`); then each is parsed in order
//! (syntax errors, `-machine help`, `-accel help`, `-version`); then, as
//! QEMU builds the machine: `-device help`, `--daemonize` and the PID file,
//! the machine type and accelerator, objects, chardevs, `-blockdev`s,
//! `-drive`s, the qtest connection, the monitors, the devices; then the
//! monitors are served until `quit` or a signal.

use qjob::QemuVersion;
use serde_json::{Map, Value};

use crate::chardev::{CHARDEV_OPTS, ChardevSpec};
use crate::clock::TimeMode;
use crate::cmdline::system::{self, Arg, SystemOption};
use crate::cmdline::{self, OptionError};
use crate::host::Host;
use crate::monitor;
use crate::opts::keyval;
use crate::opts::qemuopts::{self, Parsed, QemuOpts};
use crate::process::{self, PidFile};
use crate::texts;

/// The program's name in its messages.
pub const PROGRAM: &str = "qemu-system-x86_64";

/// What the second pass collected, to apply in QEMU's order.
#[derive(Default)]
struct Plan<'a> {
    machine: Map<String, Value>,
    accels: Vec<(&'a Arg, String)>,
    objects: Vec<(&'a Arg, Map<String, Value>, bool)>,
    chardevs: Vec<(&'a Arg, ChardevSpec)>,
    blockdevs: Vec<(&'a Arg, Map<String, Value>, bool)>,
    drives: Vec<(&'a Arg, QemuOpts)>,
    qtest: Option<(&'a Arg, ChardevSpec)>,
    monitors: Vec<(&'a Arg, String)>,
    devices: Vec<(&'a Arg, QemuOpts)>,
    device_help: bool,
    no_start: bool,
    daemonize: bool,
    pidfile: Option<String>,
    time: TimeMode,
    qemu: QemuVersion,
}

/// Runs the system emulator with `args` (the program name first); returns
/// the exit status.
pub fn main(args: Vec<String>) -> i32 {
    let parsed = match system::parse(args.get(1..).unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let mut plan = Plan::default();
    // qjob's -x-qjob-qemu first, so that -help and -version speak for the
    // QEMU chosen.
    for arg in parsed.iter().filter(|a| a.option == SystemOption::Qemu) {
        let text = arg.value.as_deref().unwrap_or_default();
        match cmdline::qemu_version(text) {
            Ok(v) => plan.qemu = v,
            Err(e) => return fail(&OptionError::at(&arg.loc, e)),
        }
    }
    let mut compat_monitors = 0;
    for arg in &parsed {
        match read(&mut plan, arg, &mut compat_monitors) {
            Ok(Some(text)) => {
                print!("{text}");
                return 0;
            }
            Ok(None) => {}
            Err(e) => return fail(&e),
        }
    }
    if plan.device_help {
        print!("{}", texts::device_help());
        return 0;
    }
    let daemon = plan.daemonize.then(process::daemonize);
    let mut host = Host::new(PROGRAM, plan.time, true, plan.qemu);
    if let Err(e) = build(&mut host, &plan) {
        return fail(&e);
    }
    host.serve(daemon)
}

fn fail(e: &OptionError) -> i32 {
    e.report(PROGRAM)
}

fn opts(
    arg: &Arg,
    implied: Option<&str>,
    descs: qemuopts::OptDescs,
) -> Result<Parsed, OptionError> {
    let text = arg.value.as_deref().unwrap_or_default();
    let parsed = qemuopts::parse(text, implied, descs).map_err(|e| OptionError::at(&arg.loc, e))?;
    if let Parsed::Opts(o) = &parsed {
        for w in &o.warnings {
            eprintln!("{PROGRAM}: {}: warning: {w}", arg.loc);
        }
    }
    Ok(parsed)
}

/// The second pass over one option: checks its syntax and records it.
/// Returns a text to print before exiting 0 (`-version`, `-machine help`,
/// `-accel help`, `-drive format=help`).
fn read<'a>(
    plan: &mut Plan<'a>,
    arg: &'a Arg,
    compat: &mut usize,
) -> Result<Option<String>, OptionError> {
    let at = |e: String| OptionError::at(&arg.loc, e);
    let text = arg.value.as_deref().unwrap_or_default();
    match arg.option {
        SystemOption::Help => return Ok(Some(texts::system_help(plan.qemu))),
        SystemOption::Version => return Ok(Some(texts::system_version(plan.qemu))),
        SystemOption::Machine => {
            let kv = keyval::parse(text, Some("type")).map_err(at)?;
            if kv.help {
                return Ok(Some(texts::machine_help()));
            }
            plan.machine.extend(kv.map);
        }
        SystemOption::Accel => {
            let o = match opts(arg, Some("accel"), None)? {
                Parsed::Opts(o) => o,
                Parsed::Help => return Ok(Some(texts::accel_help())),
            };
            match o.get("accel") {
                None => return Ok(Some(texts::accel_help())),
                Some(a) if qemuopts::is_help(a) => return Ok(Some(texts::accel_help())),
                Some(a) => plan.accels.push((arg, a.to_owned())),
            }
        }
        SystemOption::Qtest => {
            let spec = ChardevSpec::from_compat("qtest", text).map_err(at)?;
            plan.qtest = Some((arg, spec));
        }
        SystemOption::Nodefaults | SystemOption::Nographic => {}
        SystemOption::Display => {
            let kind = text.split(',').next().unwrap_or_default();
            if kind != "none" {
                return Err(OptionError::bare(format!(
                    "Display '{kind}' is not available."
                )));
            }
        }
        SystemOption::Vga => {
            if text != "none" {
                return Err(at(
                    "qjob runs no guest and models no display device: use -vga none".into(),
                ));
            }
        }
        SystemOption::Serial => {
            if text != "none" && text != "null" {
                return Err(at(
                    "qjob runs no guest and models no serial port: use -serial none".into(),
                ));
            }
        }
        SystemOption::Monitor => {
            if !text.starts_with("none") {
                return Err(at(
                    "qjob models QMP monitors only: use -qmp, or -mon with mode=control".into(),
                ));
            }
        }
        SystemOption::Chardev => {
            match opts(arg, Some("backend"), CHARDEV_OPTS)? {
                Parsed::Opts(o) => {
                    let spec = ChardevSpec::from_opts(&o).map_err(at)?;
                    plan.chardevs.push((arg, spec));
                }
                Parsed::Help => return Ok(Some(texts::chardev_help())),
            };
        }
        SystemOption::Mon => {
            let chardev = monitor::system_mon(text).map_err(at)?;
            plan.monitors.push((arg, chardev));
        }
        SystemOption::Qmp => {
            let label = format!("compat_monitor{compat}");
            *compat += 1;
            let spec = ChardevSpec::from_compat(&label, text)
                .map_err(|e| OptionError::bare(format!("parse error: {text}: {e}")))?;
            plan.chardevs.push((arg, spec));
            plan.monitors.push((arg, label));
        }
        SystemOption::Blockdev => {
            let (map, kv) = keyval::parse_str(text, Some("driver")).map_err(at)?;
            plan.blockdevs.push((arg, map, kv));
        }
        SystemOption::Object => {
            let (map, kv) = keyval::parse_str(text, Some("qom-type")).map_err(at)?;
            plan.objects.push((arg, map, kv));
        }
        SystemOption::Drive => {
            if let Parsed::Opts(o) = opts(arg, None, None)? {
                plan.drives.push((arg, o));
            }
        }
        SystemOption::Device => match opts(arg, Some("driver"), None)? {
            Parsed::Opts(o) if o.get("driver").is_some_and(qemuopts::is_help) => {
                plan.device_help = true
            }
            Parsed::Opts(o) => plan.devices.push((arg, o)),
            Parsed::Help => plan.device_help = true,
        },
        SystemOption::NoStart => plan.no_start = true,
        SystemOption::Daemonize => plan.daemonize = true,
        SystemOption::Pidfile => plan.pidfile = Some(text.to_owned()),
        SystemOption::Time => plan.time = TimeMode::parse(text).map_err(at)?,
        SystemOption::Qemu => {} // read before the others (main)
        SystemOption::DiskImage => {
            return Err(at(
                "qjob takes disks through -drive and -blockdev only".into()
            ));
        }
    }
    Ok(None)
}

/// QemuOpts as a QMP arguments object of strings (`id` included).
fn opts_map(o: &QemuOpts) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(id) = &o.id {
        m.insert("id".into(), Value::String(id.clone()));
    }
    for (k, v) in &o.opts {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    m
}

/// Builds the machine from the plan, in QEMU's order.
fn build(host: &mut Host, plan: &Plan<'_>) -> Result<(), OptionError> {
    if let Some(path) = &plan.pidfile {
        let p = PidFile::write(path)
            .map_err(|e| OptionError::bare(format!("cannot create PID file: {e}")))?;
        host.set_pidfile(p);
    }
    host.install_signals()
        .map_err(|e| OptionError::bare(format!("cannot catch signals: {e}")))?;
    let machine = match plan.machine.get("type") {
        None => texts::DEFAULT_MACHINE,
        Some(Value::String(t)) => texts::machine_type(t).ok_or_else(|| {
            OptionError::bare(
                "unsupported machine type\nUse -machine help to list supported machines",
            )
        })?,
        Some(_) => return Err(OptionError::bare("Parameters 'type.*' used inconsistently")),
    };
    host.manager.set_pci_bus(machine != "none");
    if let Some(k) = plan
        .machine
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "accel"))
    {
        return Err(OptionError::bare(format!(
            "qjob does not model the machine property '{k}'"
        )));
    }
    for (arg, accel) in &plan.accels {
        if accel != "qtest" {
            return Err(OptionError::at(
                &arg.loc,
                format!("invalid accelerator {accel}"),
            ));
        }
    }
    if let Some(Value::String(a)) = plan.machine.get("accel")
        && a != "qtest"
    {
        return Err(OptionError::bare(format!("invalid accelerator {a}")));
    }
    for (arg, map, kv) in &plan.objects {
        host.command("object-add", map, *kv)
            .map_err(|e| OptionError::at(&arg.loc, e))?;
    }
    for (arg, spec) in &plan.chardevs {
        host.add_chardev(spec)
            .map_err(|e| OptionError::at(&arg.loc, e))?;
    }
    for (arg, map, kv) in &plan.blockdevs {
        host.command("blockdev-add", map, *kv)
            .map_err(|e| OptionError::at(&arg.loc, e))?;
    }
    for (arg, o) in &plan.drives {
        if o.get("format").is_some_and(qemuopts::is_help) {
            print!("{}", texts::format_help());
            std::process::exit(0);
        }
        host.drive_add(&opts_map(o))
            .map_err(|e| OptionError::at(&arg.loc, e))?;
    }
    if let Some((arg, spec)) = &plan.qtest {
        host.add_chardev(spec)
            .map_err(|e| OptionError::at(&arg.loc, e))?;
        host.add_qtest(&spec.id)
            .map_err(|e| OptionError::at(&arg.loc, e))?;
    }
    for (arg, chardev) in &plan.monitors {
        host.add_monitor(chardev)
            .map_err(|e| OptionError::at(&arg.loc, e))?;
    }
    for (arg, o) in &plan.devices {
        host.command("device_add", &opts_map(o), false)
            .map_err(|e| OptionError::at(&arg.loc, e))?;
    }
    if plan.no_start {
        host.command("stop", &Map::new(), false)
            .map_err(OptionError::bare)?;
    }
    Ok(())
}
