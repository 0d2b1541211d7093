//! The human monitor through QMP's `human-monitor-command` (system
//! emulator only), as far as QEMU's iotests use it: the `qemu-io` HMP
//! command (`monitor/hmp.c`'s argument parsing, `hmp_qemu_io`,
//! `qemu-io-cmds.c`'s `write`, `aio_write`, `read`, `aio_read`, `flush`,
//! `aio_flush` and blkdebug's `break` / `remove_break` / `resume`).
//!
//! A `qemu-io` write marks data where it lands (a qcow2 node allocates it)
//! and dirties it for the jobs that track the node (a mirror copies it
//! again, a backup copies the old data first); no data is stored. What
//! qemu-io prints goes to the emulator's standard output
//! ([`JobManager::poll_output`]), as in QEMU; the HMP reply is what the
//! monitor printed (errors). A request takes no virtual time, so the timing
//! line reads `00.00 sec (inf EiB/sec and inf ops/sec)`.

use serde::{Deserialize, Serialize};

use crate::block::{Driver, NodeRef, Role};
use crate::driver::drive;
use crate::error::{Error, Result};
use crate::manager::JobManager;

/// Where text the emulator prints goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

crate::snapshot::codec::codec_enum!(OutputStream { Stdout, Stderr });

/// Text the emulator printed on one of its streams (not on a monitor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleOutput {
    /// Which stream.
    pub stream: OutputStream,
    /// The text, with its line ends (`\n`).
    pub text: String,
}

crate::snapshot::codec::codec_struct!(ConsoleOutput { stream, text });

/// `cvtstr`: a byte count as qemu-io prints it (`4 MiB`, `1.500 KiB`,
/// `512 bytes`, `inf EiB`).
fn cvtstr(value: f64) -> String {
    const UNITS: [(f64, &str); 6] = [
        (1152921504606846976.0, " EiB"),
        (1125899906842624.0, " PiB"),
        (1099511627776.0, " TiB"),
        (1073741824.0, " GiB"),
        (1048576.0, " MiB"),
        (1024.0, " KiB"),
    ];
    let (mut text, suffix) = match UNITS.iter().find(|(u, _)| value >= *u) {
        Some((u, s)) => (crate::decimal::fixed(value / u, 3), *s),
        None => (crate::decimal::fixed(value, 6), " bytes"),
    };
    if value.is_infinite() {
        text = "inf".into();
    }
    match text.find(".000") {
        Some(i) => text.replace_range(i.., suffix),
        None => text.push_str(suffix),
    }
    text
}

/// `print_report` for one request of `count` bytes at `offset` that took no
/// time.
fn report(op: &str, offset: u64, count: u64) -> String {
    format!(
        "{op} {count}/{count} bytes at offset {offset}\n{}, 1 ops; 00.00 sec (inf EiB/sec and inf ops/sec)\n",
        cvtstr(count as f64)
    )
}

/// `qemu_strtosz` as `cvtnum` uses it: a number with an optional binary
/// suffix (`4M`, `64k`).
fn cvtnum(arg: &str) -> std::result::Result<u64, String> {
    let bad = || {
        format!("Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- {arg}")
    };
    let (digits, shift) = match arg.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_lowercase() {
                'b' => 0,
                'k' => 10,
                'm' => 20,
                'g' => 30,
                't' => 40,
                'p' => 50,
                'e' => 60,
                _ => return Err(bad()),
            };
            (&arg[..i], shift)
        }
        _ => (arg, 0),
    };
    let value: f64 = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).map_err(|_| bad())? as f64
    } else {
        let v = crate::decimal::parse(digits).ok_or_else(bad)?;
        if !v.is_finite() || v < 0.0 || digits.starts_with(['+', '-']) {
            return Err(bad());
        }
        v
    };
    let bytes = value * (1u64 << shift) as f64;
    if bytes >= 9223372036854775807.0 {
        return Err(format!("Parsing error: argument too large -- {arg}"));
    }
    Ok(bytes as u64)
}

/// A qemu-io data command's usage line (`qemuio_command_usage`).
fn usage(name: &str) -> String {
    let (args, oneline) = match name {
        "write" => (
            "[-bcCfnquz] [-P pattern | -s source_file] off len",
            "writes a number of bytes at a specified offset",
        ),
        "aio_write" => (
            "[-Cfiquz] [-P pattern] off len [len..]",
            "asynchronously writes a number of bytes",
        ),
        "read" => (
            "[-abCqv] [-P pattern [-s off] [-l len]] off len",
            "reads a number of bytes at a specified offset",
        ),
        _ => (
            "[-Ciqv] [-P pattern] off len [len..]",
            "asynchronously reads a number of bytes",
        ),
    };
    format!("{name} {args} -- {oneline}\n")
}

/// One qemu-io data command, parsed: a write or a read of `len` bytes at
/// `offset`.
struct DataCommand {
    write: bool,
    aio: bool,
    quiet: bool,
    offset: u64,
    len: u64,
}

/// Parses the options and operands of `write`, `aio_write`, `read` and
/// `aio_read` (`getopt` with each command's letters, then `off len`);
/// `Err` carries what qemu-io prints (on standard output, or on standard
/// error for getopt's complaint).
fn parse_data(name: &str, args: &[&str]) -> std::result::Result<DataCommand, Vec<ConsoleOutput>> {
    let out = |t: String| {
        vec![ConsoleOutput {
            stream: OutputStream::Stdout,
            text: t,
        }]
    };
    let write = name.contains("write");
    let aio = name.starts_with("aio_");
    // (flag letters, letters that take a value)
    let (flags, valued) = match name {
        "write" => ("bcCfnpquz", "Ps"),
        "aio_write" => ("Cfiquz", "P"),
        "read" => ("abCqpv", "Psl"),
        _ => ("Ciqv", "P"),
    };
    let mut quiet = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if a == "--" {
            i += 1;
            break;
        }
        let Some(letters) = a.strip_prefix('-').filter(|l| !l.is_empty()) else {
            break;
        };
        for (k, c) in letters.char_indices() {
            if valued.contains(c) {
                let value = if k + 1 < letters.len() {
                    letters[k + 1..].to_owned()
                } else {
                    i += 1;
                    match args.get(i) {
                        Some(v) => (*v).to_owned(),
                        None => {
                            let mut v = vec![ConsoleOutput {
                                stream: OutputStream::Stderr,
                                text: format!("{name}: option requires an argument -- '{c}'\n"),
                            }];
                            v.extend(out(usage(name)));
                            return Err(v);
                        }
                    }
                };
                if c == 'P' {
                    let parsed = match value
                        .strip_prefix("0x")
                        .or_else(|| value.strip_prefix("0X"))
                    {
                        Some(h) => i64::from_str_radix(h, 16).ok(),
                        None => value.parse::<i64>().ok(),
                    };
                    if !parsed.is_some_and(|p| (0..=255).contains(&p)) {
                        return Err(out(format!("{value} is not a valid pattern byte\n")));
                    }
                }
                break;
            }
            if !flags.contains(c) {
                let mut v = vec![ConsoleOutput {
                    stream: OutputStream::Stderr,
                    text: format!("{name}: invalid option -- '{c}'\n"),
                }];
                v.extend(out(usage(name)));
                return Err(v);
            }
            if c == 'q' {
                quiet = true;
            }
        }
        i += 1;
    }
    let operands = &args[i..];
    // aio_* take several lengths (one vector); qjob takes the first.
    let enough = if aio {
        operands.len() >= 2
    } else {
        operands.len() == 2
    };
    if !enough {
        return Err(out(usage(name)));
    }
    let offset = cvtnum(operands[0]).map_err(|e| out(format!("{e}\n")))?;
    let mut len = 0;
    for l in &operands[1..] {
        len += cvtnum(l).map_err(|e| out(format!("{e}\n")))?;
    }
    Ok(DataCommand {
        write,
        aio,
        quiet,
        offset,
        len,
    })
}

/// `get_str` of the monitor: a word, or a double-quoted string with `\n`,
/// `\r`, `\\`, `\'` and `\"` escapes. Returns it and the rest of the line.
fn get_str(line: &str) -> Option<(String, &str)> {
    let line = line.trim_start();
    if line.is_empty() {
        return None;
    }
    if let Some(rest) = line.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Some((out, &rest[i + 1..])),
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, c @ ('\\' | '\'' | '"'))) => out.push(c),
                    _ => return None,
                },
                c => out.push(c),
            }
        }
        return None;
    }
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    Some((line[..end].to_owned(), &line[end..]))
}

impl JobManager {
    /// Takes the oldest text the emulator printed on its standard output or
    /// error (qemu-io's reports). Text printed while a command ran comes
    /// before that command's reply.
    pub fn poll_output(&mut self) -> Option<ConsoleOutput> {
        self.output.pop_front()
    }

    fn print(&mut self, stream: OutputStream, text: String) {
        self.output.push_back(ConsoleOutput { stream, text });
    }

    /// `human-monitor-command` (system emulator only): runs one HMP command
    /// line and returns what the monitor printed. qjob's HMP has `qemu-io`
    /// only; another command is QEMU's `unknown command`. `cpu_index` is
    /// refused: qjob's VM has no CPU.
    pub fn human_monitor_command(&mut self, line: &str, cpu_index: Option<i64>) -> Result<String> {
        self.require_machine("human-monitor-command")?;
        if cpu_index.is_some() {
            return Err(Error::invalid_value("cpu-index", "a CPU number"));
        }
        let trimmed = line.trim_start();
        let name_len = trimmed
            .find(|c: char| c.is_whitespace())
            .unwrap_or(trimmed.len());
        let name = &trimmed[..name_len];
        if name.is_empty() {
            return Ok(String::new());
        }
        if name != "qemu-io" {
            let shown = &line[..line.len() - trimmed.len() + name_len];
            return Ok(format!("unknown command: '{shown}'\r\n"));
        }
        Ok(self.hmp_qemu_io(&trimmed[name_len..]))
    }

    /// `qemu-io [-d] DEVICE "COMMAND"`.
    fn hmp_qemu_io(&mut self, args: &str) -> String {
        let parse_error = |what: &str| {
            format!("qemu-io: {what}\r\nTry \"help qemu-io\" for more information\r\n")
        };
        let mut rest = args.trim_start();
        let mut qdev = false;
        if let Some(after) = rest.strip_prefix('-') {
            match after.chars().next() {
                Some('d') => {
                    qdev = true;
                    rest = &after[1..];
                }
                Some(c) => return parse_error(&format!("unsupported option -{c}")),
                None => return parse_error("unsupported option -"),
            }
        }
        let Some((device, rest)) = get_str(rest) else {
            return parse_error("block device name expected");
        };
        let Some((command, rest)) = get_str(rest) else {
            return parse_error("string expected");
        };
        if !rest.trim().is_empty() {
            return parse_error("extraneous characters at the end of line");
        }
        let (root, local) = match self.qemu_io_node(&device, qdev) {
            Ok(found) => found,
            Err(e) => return format!("Error: {}\r\n", e.desc),
        };
        self.qemuio_command(root, &command);
        // A node named directly got a BlockBackend of its own for the
        // command, which lets go of it now (draining it twice, as any
        // BlockBackend's detach does).
        if let (Some(n), true) = (root, local)
            && self.graph.alive(n)
        {
            for _ in 0..2 {
                self.drained_begin(n);
                self.drained_end(n);
            }
        }
        String::new()
    }

    /// The node `qemu-io` works on: a BlockBackend's (by name, or with
    /// `-d` by its device's QOM path below `/machine/peripheral`), else a
    /// node's (`true`: through a BlockBackend made for the command).
    fn qemu_io_node(&self, device: &str, qdev: bool) -> Result<(Option<NodeRef>, bool)> {
        let g = &self.graph;
        if qdev {
            let absolute = |path: &str| {
                if path.starts_with('/') {
                    path.to_owned()
                } else {
                    format!("/machine/peripheral/{path}")
                }
            };
            let wanted = absolute(device);
            let Some(d) = g
                .devices
                .iter()
                .position(|d| d.path == wanted || format!("{}/virtio-backend", d.path) == wanted)
            else {
                return Err(Error::generic(format!("Device '{device}' not found")));
            };
            // A virtio-blk device's BlockBackend is its inner device's; a
            // SCSI controller has none.
            let backend = g.backends.iter().find(|b| b.device == Some(d));
            if backend.is_none() || (g.devices[d].path == wanted && g.devices[d].is_virtio()) {
                return Err(Error::generic(
                    "Device does not have a block device backend",
                ));
            }
            return Ok((backend.and_then(|b| b.root), false));
        }
        if let Some(b) = g.backend_by_name(device) {
            return Ok((g.backend(b).root, false));
        }
        match g.lookup(device) {
            Some(n) => Ok((Some(n), true)),
            None => Err(Error::generic(format!(
                "Cannot find device='' nor node-name='{device}'"
            ))),
        }
    }

    /// `qemuio_command`: one qemu-io command line on `root` (`None`: a
    /// BlockBackend without a medium).
    fn qemuio_command(&mut self, root: Option<NodeRef>, command: &str) {
        let words: Vec<&str> = command
            .split([' ', '\t'])
            .filter(|w| !w.is_empty())
            .collect();
        let Some(&name) = words.first() else {
            return;
        };
        let name = match name {
            "w" => "write",
            "r" => "read",
            n => n,
        };
        let args = &words[1..];
        let expected = |min: usize, max: usize, out: &mut Self| {
            if (min..=max).contains(&args.len()) {
                return true;
            }
            let text = if min == max {
                format!(
                    "bad argument count {} to {name}, expected {min} arguments\n",
                    args.len()
                )
            } else {
                format!(
                    "bad argument count {} to {name}, expected between {min} and {max} arguments\n",
                    args.len()
                )
            };
            out.print(OutputStream::Stderr, text);
            false
        };
        match name {
            "write" | "aio_write" | "read" | "aio_read" => {
                if args.len() < 2 {
                    let text = format!(
                        "bad argument count {} to {name}, expected at least 2 arguments\n",
                        args.len()
                    );
                    self.print(OutputStream::Stderr, text);
                    return;
                }
                match parse_data(name, args) {
                    Ok(cmd) => self.qemu_io_data(root, name, &cmd),
                    Err(outputs) => self.output.extend(outputs),
                }
            }
            "flush" | "aio_flush" => {
                expected(0, 0, self);
            }
            "break" => {
                if expected(2, 2, self) && !self.has_blkdebug(root) {
                    let text = "Could not set breakpoint: Operation not supported\n".into();
                    self.print(OutputStream::Stdout, text);
                }
            }
            "remove_break" | "resume" => {
                if expected(1, 1, self) && !self.has_blkdebug(root) {
                    let text = if name == "resume" {
                        "Could not resume request: Operation not supported\n".to_owned()
                    } else {
                        format!(
                            "Could not remove breakpoint {}: Operation not supported\n",
                            args[0]
                        )
                    };
                    self.print(OutputStream::Stdout, text);
                }
            }
            _ => {
                let text = format!("command \"{}\" not found\n", words[0]);
                self.print(OutputStream::Stderr, text);
            }
        }
    }

    /// Whether a `blkdebug` node is on the I/O path below `root` (where
    /// breakpoints go; qjob accepts them and does not suspend requests).
    fn has_blkdebug(&self, root: Option<NodeRef>) -> bool {
        let mut cur = root;
        while let Some(n) = cur {
            let node = self.graph.node(n);
            if matches!(node.driver, Driver::Blkdebug { .. }) {
                return true;
            }
            cur = node
                .children
                .iter()
                .find(|(r, _)| {
                    *r != Role::Backing || matches!(node.driver, Driver::JobFilter { .. })
                })
                .map(|&(_, c)| c);
        }
        false
    }

    /// One read or write of a qemu-io command, with its report.
    fn qemu_io_data(&mut self, root: Option<NodeRef>, name: &str, cmd: &DataCommand) {
        let failed = match root {
            None => Some(crate::model::ENOMEDIUM),
            Some(n) => self.guest_io(n, cmd.write, cmd.offset, cmd.len).err(),
        };
        let (done, verb) = if cmd.write {
            ("wrote", "write")
        } else {
            ("read", "read")
        };
        let text = match failed {
            Some(errno) => {
                let what = if cmd.aio { name } else { verb };
                format!("{what} failed: {}\n", crate::model::strerror(errno))
            }
            None if cmd.quiet => return,
            None => report(done, cmd.offset, cmd.len),
        };
        self.print(OutputStream::Stdout, text);
    }

    /// A guest request through node `root` (a device's write, qemu-io's):
    /// refused beyond the end of the node (`EIO`) or as blkdebug fails it;
    /// a write allocates where it lands and dirties what the jobs above
    /// track. Requests through throttle nodes count towards their groups.
    pub(crate) fn guest_io(
        &mut self,
        root: NodeRef,
        write: bool,
        off: u64,
        len: u64,
    ) -> std::result::Result<(), i32> {
        if off
            .checked_add(len)
            .is_none_or(|end| end > self.graph.node(root).size)
        {
            return Err(crate::model::EIO);
        }
        let res = if write {
            self.graph.write(root, off, len)
        } else {
            self.graph.read(root, off, len)
        };
        self.throttle_delay();
        // The jobs hear of a guest write through `guest_write` below.
        self.graph.cbw_writes.clear();
        res?;
        if write && len > 0 {
            // The nodes the write goes through, down to where it lands.
            let mut path = vec![root];
            let mut cur = root;
            while let Some(&(_, c)) = {
                let node = self.graph.node(cur);
                match node.driver {
                    Driver::Qcow2 | Driver::NullCo { .. } | Driver::File { .. } => None,
                    _ => node.children.iter().find(|(r, _)| *r != Role::Target),
                }
            } {
                path.push(c);
                cur = c;
            }
            let jobs: Vec<_> = self.jobs_newest_first().collect();
            for j in jobs {
                if self.job_alive(j) {
                    drive!(self, j, |d, cx| d.guest_write(cx, &path, off, len));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_qemu_io_prints_them() {
        assert_eq!(cvtstr(4194304.0), "4 MiB");
        assert_eq!(cvtstr(65536.0), "64 KiB");
        assert_eq!(cvtstr(512.0), "512 bytes");
        assert_eq!(cvtstr(1536.0), "1.500 KiB");
        assert_eq!(cvtstr(f64::INFINITY), "inf EiB");
        assert_eq!(
            report("wrote", 0, 4194304),
            "wrote 4194304/4194304 bytes at offset 0\n4 MiB, 1 ops; 00.00 sec (inf EiB/sec and inf ops/sec)\n"
        );
    }

    #[test]
    fn numbers_with_suffixes() {
        assert_eq!(cvtnum("4M"), Ok(4 << 20));
        assert_eq!(cvtnum("64k"), Ok(65536));
        assert_eq!(cvtnum("1088k"), Ok(1088 << 10));
        assert_eq!(cvtnum("512512"), Ok(512512));
        assert!(cvtnum("4X").is_err());
        assert!(cvtnum("-1").is_err());
    }

    #[test]
    fn monitor_strings() {
        assert_eq!(
            get_str(" \"write 0 4M\" x"),
            Some(("write 0 4M".into(), " x"))
        );
        assert_eq!(get_str("drive0 \"x\""), Some(("drive0".into(), " \"x\"")));
        assert_eq!(get_str("\"a\\\"b\""), Some(("a\"b".into(), "")));
        assert_eq!(get_str("\"open"), None);
        assert_eq!(get_str("   "), None);
    }
}
