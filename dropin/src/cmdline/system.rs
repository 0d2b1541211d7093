//! `qemu-system-x86_64`'s command line: `-option [ARG]` (also spelled
//! `--option`), looked up in QEMU 7.2's way (`lookup_opt`): every option
//! is checked before any is applied, and an unknown one is `-foo: invalid
//! option`. The table holds the options qjob models; any other option of
//! QEMU's is refused with the same words.

use super::OptionError;

/// An option of the system emulator qjob models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemOption {
    /// `-accel`.
    Accel,
    /// `-blockdev`.
    Blockdev,
    /// `-chardev`.
    Chardev,
    /// `-daemonize`.
    Daemonize,
    /// `-device`.
    Device,
    /// `-display`.
    Display,
    /// `-drive`.
    Drive,
    /// `-h`, `-help`.
    Help,
    /// `-machine`, `-M`.
    Machine,
    /// `-mon`.
    Mon,
    /// `-monitor`.
    Monitor,
    /// `-nodefaults`.
    Nodefaults,
    /// `-nographic`.
    Nographic,
    /// `-object`.
    Object,
    /// `-pidfile`.
    Pidfile,
    /// `-qmp`.
    Qmp,
    /// `-qtest`.
    Qtest,
    /// `-S`.
    NoStart,
    /// `-serial`.
    Serial,
    /// `-version`.
    Version,
    /// `-vga`.
    Vga,
    /// qjob's `-x-qjob-time`.
    Time,
    /// qjob's `-x-qjob-qemu`: the QEMU reproduced (7.2 or 10.0).
    Qemu,
    /// A disk image given without an option.
    DiskImage,
}

/// The table: name, whether it takes an argument, the option.
const TABLE: &[(&str, bool, SystemOption)] = &[
    ("accel", true, SystemOption::Accel),
    ("blockdev", true, SystemOption::Blockdev),
    ("chardev", true, SystemOption::Chardev),
    ("daemonize", false, SystemOption::Daemonize),
    ("device", true, SystemOption::Device),
    ("display", true, SystemOption::Display),
    ("drive", true, SystemOption::Drive),
    ("h", false, SystemOption::Help),
    ("help", false, SystemOption::Help),
    ("M", true, SystemOption::Machine),
    ("machine", true, SystemOption::Machine),
    ("mon", true, SystemOption::Mon),
    ("monitor", true, SystemOption::Monitor),
    ("nodefaults", false, SystemOption::Nodefaults),
    ("nographic", false, SystemOption::Nographic),
    ("object", true, SystemOption::Object),
    ("pidfile", true, SystemOption::Pidfile),
    ("qmp", true, SystemOption::Qmp),
    ("qtest", true, SystemOption::Qtest),
    ("S", false, SystemOption::NoStart),
    ("serial", true, SystemOption::Serial),
    ("version", false, SystemOption::Version),
    ("vga", true, SystemOption::Vga),
    ("x-qjob-qemu", true, SystemOption::Qemu),
    ("x-qjob-time", true, SystemOption::Time),
];

/// The names of the options qjob's system emulator takes, for its help.
pub fn option_names() -> impl Iterator<Item = (&'static str, bool)> {
    TABLE.iter().map(|(n, a, _)| (*n, *a))
}

/// One option of the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    /// Which option.
    pub option: SystemOption,
    /// Its argument.
    pub value: Option<String>,
    /// The option as written (`-drive ARG`), for messages.
    pub loc: String,
}

/// Reads the whole command line (without the program name); the first
/// unknown option, or one missing its argument, is refused before anything
/// is applied, as QEMU's first pass does.
pub fn parse(args: &[String]) -> Result<Vec<Arg>, OptionError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if !a.starts_with('-') {
            out.push(Arg {
                option: SystemOption::DiskImage,
                value: Some(a.clone()),
                loc: a.clone(),
            });
            continue;
        }
        let name = a.strip_prefix("--").unwrap_or(&a[1..]);
        let Some(&(_, has_arg, option)) = TABLE.iter().find(|(n, _, _)| *n == name) else {
            return Err(OptionError::at(a, "invalid option"));
        };
        let value = if has_arg {
            let Some(v) = args.get(i) else {
                return Err(OptionError::at(a, "requires an argument"));
            };
            i += 1;
            Some(v.clone())
        } else {
            None
        };
        let loc = match &value {
            Some(v) => format!("{a} {v}"),
            None => a.clone(),
        };
        out.push(Arg { option, value, loc });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|&a| a.to_owned()).collect()
    }

    #[test]
    fn table_lookup() {
        let got = parse(&args(&[
            "-M",
            "none",
            "--nodefaults",
            "-qmp",
            "stdio",
            "-S",
        ]))
        .unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].option, SystemOption::Machine);
        assert_eq!(got[0].loc, "-M none");
        assert_eq!(got[1].option, SystemOption::Nodefaults);
        assert_eq!(got[2].value.as_deref(), Some("stdio"));
        assert_eq!(got[3].option, SystemOption::NoStart);
    }

    #[test]
    fn qemus_refusals() {
        let e = |s: &[&str]| parse(&args(s)).unwrap_err().render("qemu-system-x86_64");
        assert_eq!(e(&["-foo"]), "qemu-system-x86_64: -foo: invalid option");
        assert_eq!(e(&["--foo"]), "qemu-system-x86_64: --foo: invalid option");
        // An option QEMU has that qjob does not model reads the same.
        assert_eq!(
            e(&["-smp", "2"]),
            "qemu-system-x86_64: -smp: invalid option"
        );
        assert_eq!(
            e(&["-drive"]),
            "qemu-system-x86_64: -drive: requires an argument"
        );
        // The whole line is checked before any option is applied.
        assert_eq!(
            e(&["-drive", "bad", "-foo"]),
            "qemu-system-x86_64: -foo: invalid option"
        );
    }
}
