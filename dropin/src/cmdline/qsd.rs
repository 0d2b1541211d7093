//! `qemu-storage-daemon`'s command line: GNU `getopt_long` over QEMU 7.2's
//! option table (long options may be abbreviated to a unique prefix and
//! take their argument as `--opt ARG` or `--opt=ARG`; short options `-h`
//! and `-V`), with glibc's error texts. `--trace`/`-T` is QEMU's but not
//! qjob's: it is refused as an unknown option. qjob adds `--x-qjob-time`
//! (see [`crate::clock`]) and `--x-qjob-qemu` (the QEMU reproduced).

use super::OptionError;

/// An option of the storage daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QsdOption {
    /// `--blockdev`: `blockdev-add`.
    Blockdev,
    /// `--chardev`.
    Chardev,
    /// `--daemonize`.
    Daemonize,
    /// `--export`: `block-export-add`.
    Export,
    /// `-h`, `--help`.
    Help,
    /// `--monitor`.
    Monitor,
    /// `--nbd-server`: `nbd-server-start`.
    NbdServer,
    /// `--object`: `object-add`.
    Object,
    /// `--pidfile`.
    Pidfile,
    /// `-V`, `--version`.
    Version,
    /// qjob's `--x-qjob-time`.
    Time,
    /// qjob's `--x-qjob-qemu`: the QEMU reproduced (7.2 or 10.0).
    Qemu,
    /// A non-option argument (QEMU refuses it when it gets to it).
    Unexpected,
}

/// Long options: name, whether it takes an argument, the option.
const LONG: &[(&str, bool, QsdOption)] = &[
    ("blockdev", true, QsdOption::Blockdev),
    ("chardev", true, QsdOption::Chardev),
    ("daemonize", false, QsdOption::Daemonize),
    ("export", true, QsdOption::Export),
    ("help", false, QsdOption::Help),
    ("monitor", true, QsdOption::Monitor),
    ("nbd-server", true, QsdOption::NbdServer),
    ("object", true, QsdOption::Object),
    ("pidfile", true, QsdOption::Pidfile),
    ("version", false, QsdOption::Version),
    ("x-qjob-qemu", true, QsdOption::Qemu),
    ("x-qjob-time", true, QsdOption::Time),
];

/// One option of the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    /// Which option.
    pub option: QsdOption,
    /// Its argument.
    pub value: Option<String>,
    /// The option as written (`--blockdev ARG`), for messages.
    pub loc: String,
}

/// Reads the command line (without the program name) as `getopt_long`
/// with QEMU's option string `-hT:V` (non-options returned in place).
/// Every option is returned in order; the first malformed one is an
/// error, whose text glibc prints as `ARGV0: ...` (the caller adds
/// `ARGV0: `).
pub fn parse(argv0: &str, args: &[String]) -> Vec<Result<Arg, String>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            break;
        }
        if let Some(body) = a.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let exact = LONG.iter().find(|(n, _, _)| *n == name);
            let matches: Vec<_> = LONG
                .iter()
                .filter(|(n, _, _)| n.starts_with(name))
                .collect();
            let found = match (exact, matches.as_slice()) {
                (Some(e), _) => e,
                (None, [one]) => one,
                (None, []) => {
                    out.push(Err(format!("{argv0}: unrecognized option '{a}'")));
                    return out;
                }
                (None, many) => {
                    let list: String = many.iter().map(|(n, _, _)| format!(" '--{n}'")).collect();
                    out.push(Err(format!(
                        "{argv0}: option '--{name}' is ambiguous; possibilities:{list}"
                    )));
                    return out;
                }
            };
            let (full, has_arg, option) = *found;
            let value = match (has_arg, inline) {
                (false, Some(_)) => {
                    out.push(Err(format!(
                        "{argv0}: option '--{full}' doesn't allow an argument"
                    )));
                    return out;
                }
                (false, None) => None,
                (true, Some(v)) => Some(v),
                (true, None) => match args.get(i) {
                    Some(v) => {
                        i += 1;
                        Some(v.clone())
                    }
                    None => {
                        out.push(Err(format!(
                            "{argv0}: option '--{full}' requires an argument"
                        )));
                        return out;
                    }
                },
            };
            let loc = if value.is_some() && !a.contains('=') {
                format!("{a} {}", value.as_deref().unwrap_or_default())
            } else {
                a.clone()
            };
            out.push(Ok(Arg { option, value, loc }));
        } else if a.len() > 1 && a.starts_with('-') {
            for c in a[1..].chars() {
                let option = match c {
                    'h' => QsdOption::Help,
                    'V' => QsdOption::Version,
                    _ => {
                        out.push(Err(format!("{argv0}: invalid option -- '{c}'")));
                        return out;
                    }
                };
                out.push(Ok(Arg {
                    option,
                    value: None,
                    loc: a.clone(),
                }));
            }
        } else {
            out.push(Ok(Arg {
                option: QsdOption::Unexpected,
                value: Some(a.clone()),
                loc: a.clone(),
            }));
        }
    }
    out
}

/// The refusal of a non-option argument.
pub fn unexpected(arg: &Arg) -> OptionError {
    OptionError::at(&arg.loc, "Unexpected argument")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|&a| a.to_owned()).collect()
    }

    #[test]
    fn options_in_order_with_their_locations() {
        let got = parse(
            "qsd",
            &args(&[
                "--blockdev",
                "null-co,node-name=a",
                "--chardev=stdio,id=s",
                "--mon",
                "s",
                "-V",
                "x",
            ]),
        );
        let got: Vec<Arg> = got.into_iter().map(Result::unwrap).collect();
        assert_eq!(got[0].option, QsdOption::Blockdev);
        assert_eq!(got[0].loc, "--blockdev null-co,node-name=a");
        assert_eq!(got[1].value.as_deref(), Some("stdio,id=s"));
        assert_eq!(got[1].loc, "--chardev=stdio,id=s");
        assert_eq!(got[2].option, QsdOption::Monitor);
        assert_eq!(got[3].option, QsdOption::Version);
        assert_eq!(got[4].option, QsdOption::Unexpected);
        assert_eq!(
            unexpected(&got[4]).render("qemu-storage-daemon"),
            "qemu-storage-daemon: x: Unexpected argument"
        );
    }

    #[test]
    fn glibc_refusals() {
        let err = |s: &[&str]| parse("/bin/qsd", &args(s)).pop().unwrap().unwrap_err();
        // As glibc words them for QEMU 7.2's storage daemon.
        assert_eq!(err(&["--foo"]), "/bin/qsd: unrecognized option '--foo'");
        assert_eq!(err(&["-foo"]), "/bin/qsd: invalid option -- 'f'");
        assert_eq!(
            err(&["--blockdev"]),
            "/bin/qsd: option '--blockdev' requires an argument"
        );
        assert_eq!(
            err(&["--daemonize=1"]),
            "/bin/qsd: option '--daemonize' doesn't allow an argument"
        );
        assert_eq!(
            err(&["--trace", "x"]),
            "/bin/qsd: unrecognized option '--trace'"
        );
        assert_eq!(err(&["-T", "x"]), "/bin/qsd: invalid option -- 'T'");
    }
}
