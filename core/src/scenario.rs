//! The scenario replayer and the transcript format of `scenarios/README.md`, shared by
//! every qjob runner, and the transcript comparison.
//!
//! A scenario is one JSON object per line (`#` comments and blank lines are
//! skipped): a QMP command, or a directive (`wait`, `wait-event`, `settle`,
//! `send`, `image`, `machine`, `drive`). The transcript has one line per command
//! (`>`), reply (`<`), event (`!`) and directive (`~`). See
//! `scenarios/README.md` for the contract.

use crate::block::ImageFile;
use crate::event::Event;
use crate::manager::JobManager;
use crate::model::JobStatus;
use crate::profile::QemuVersion;
use crate::qmp::json::{BigInteger, PathStep, parse_strict, parse_strict_keeping_big_integers};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt;

/// How long a `wait` directive may advance virtual time: 30 s, the limit
/// the recorder gives real QEMU.
pub const WAIT_LIMIT_NS: u64 = 30_000_000_000;

/// A scenario line that could not be understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// JSON as Python's `json.dumps(v, sort_keys=True)` writes it: sorted keys,
/// `", "` and `": "` separators, non-ASCII escaped.
pub fn to_sorted_json(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, &mut None);
    out
}

/// A JSON text (standard JSON, read as [`parse_strict`]) rewritten as
/// [`to_sorted_json`] writes it, with integers beyond 64 bits kept as
/// written, as the `>` line of a command shows them (Python's reading).
pub fn sorted_json_text(text: &str) -> Result<String, String> {
    let (v, big) = parse_strict_keeping_big_integers(text)?;
    Ok(to_sorted_json_keeping(&v, &big))
}

/// [`to_sorted_json`] of a value read with its integers beyond 64 bits
/// (`big`): those are written as they were read, as Python keeps them.
fn to_sorted_json_keeping(v: &Value, big: &[BigInteger]) -> String {
    if big.is_empty() {
        return to_sorted_json(v);
    }
    let mut out = String::new();
    write_value(&mut out, v, &mut Some((big, Vec::new())));
    out
}

/// The integers to write as read, and the path of the value being written.
type Keeping<'a> = Option<(&'a [BigInteger], Vec<PathStep>)>;

fn write_nested(
    out: &mut String,
    v: &Value,
    keep: &mut Keeping<'_>,
    step: impl FnOnce() -> PathStep,
) {
    if let Some((_, path)) = keep {
        path.push(step());
        write_value(out, v, keep);
        if let Some((_, path)) = keep {
            path.pop();
        }
    } else {
        write_value(out, v, keep);
    }
}

fn write_value(out: &mut String, v: &Value, keep: &mut Keeping<'_>) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let as_read = keep
                .as_ref()
                .and_then(|(big, path)| big.iter().rev().find(|b| b.path == *path));
            if let Some(b) = as_read {
                out.push_str(&b.text);
            } else if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                out.push_str(&python_float(f));
            } else if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_nested(out, x, keep, || PathStep::Index(i));
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            crate::sort::sort_by(&mut keys, |a, b| a < b);
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k);
                out.push_str(": ");
                write_nested(out, &m[k.as_str()], keep, || PathStep::Key((*k).clone()));
            }
            out.push('}');
        }
    }
}

/// `f` as Python's `repr` writes it: the shortest digits that read back as
/// `f`, positional from 1e-4 to below 1e16 (always with a fraction), else
/// scientific with a signed exponent of at least two digits.
fn python_float(f: f64) -> String {
    let Some(n) = Number::from_f64(f) else {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    };
    // The same shortest digits as serde_json writes them (`1.5e-7`,
    // `0.00001`, `1e+16` or `100.0`: `json::float_text`), read back as digits
    // and a position.
    let text = crate::qmp::json::float_text(n.as_f64().unwrap_or(f));
    let (sign, body) = match text.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", text.as_str()),
    };
    let (mantissa, exp) = match body.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    // The value is 0.DIGITS × 10^point.
    let mut point = int.len() as i32 + exp;
    let trimmed = all.trim_start_matches('0');
    point -= (all.len() - trimmed.len()) as i32;
    let digits = trimmed.trim_end_matches('0');
    if digits.is_empty() {
        return format!("{sign}0.0");
    }
    let len = digits.len() as i32;
    if (-3..=16).contains(&point) {
        if point <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat(-point as usize))
        } else if point >= len {
            format!("{sign}{digits}{}.0", "0".repeat((point - len) as usize))
        } else {
            let (a, b) = digits.split_at(point as usize);
            format!("{sign}{a}.{b}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let e = point - 1;
        let esign = if e < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}{rest}e{esign}{:02}", e.unsigned_abs())
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A transcript's text from its lines: each line followed by `\n`.
pub fn transcript_text(lines: &[String]) -> String {
    let mut s = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// The transcript line of an event: `! NAME DATA`.
pub fn event_line(e: &Event) -> String {
    format!("! {} {}", e.kind.name(), to_sorted_json(&e.kind.data()))
}

/// The transcript line of a reply: `< REPLY`.
pub fn reply_line(reply: &Value) -> String {
    format!("< {}", to_sorted_json(reply))
}

/// Replays scenarios against a [`JobManager`] and writes the transcript.
///
/// [`run_line`](Self::run_line) hands back the events each line consumed,
/// typed and with the core's timestamps, so that a caller that also shows
/// them (the WASM binding's session) never reads them back from the
/// transcript.
#[derive(Debug)]
pub struct Replayer {
    /// The manager the scenario drives (starts as the default world).
    pub manager: JobManager,
    lines: Vec<String>,
    since_command: Vec<Event>,
    /// The format of each `image` directive's file.
    image_formats: crate::vecmap::VecMap<String, String>,
    /// The events taken from the manager by the line being run.
    consumed: Vec<Event>,
}

impl Default for Replayer {
    fn default() -> Self {
        Replayer::new()
    }
}

impl Replayer {
    /// A replayer over the default world (four 64 MiB `null-co` nodes).
    pub fn new() -> Replayer {
        Replayer::with_version(QemuVersion::V7_2)
    }

    /// A replayer over the default world of a manager reproducing QEMU `qemu`.
    pub fn with_version(qemu: QemuVersion) -> Replayer {
        Replayer {
            manager: JobManager::with_default_world_version(qemu),
            lines: Vec::new(),
            since_command: Vec::new(),
            image_formats: Default::default(),
            consumed: Vec::new(),
        }
    }

    /// The transcript so far, one item per line, each ending in `\n`.
    pub fn transcript(&self) -> String {
        transcript_text(&self.lines)
    }

    /// The transcript lines so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    fn flush_events(&mut self) {
        while let Some(e) = self.manager.poll_event() {
            self.lines.push(event_line(&e));
            self.consumed.push(e.clone());
            self.since_command.push(e);
        }
    }

    /// Runs a whole scenario text.
    pub fn run(&mut self, text: &str) -> Result<(), ScenarioError> {
        for (i, line) in text.lines().enumerate() {
            self.line(line).map_err(|message| ScenarioError {
                line: i + 1,
                message,
            })?;
        }
        Ok(())
    }

    /// Runs one scenario line (comments and blank lines do nothing) and
    /// returns the events it took from the manager, oldest first, with
    /// their virtual timestamps (each also has its `!` transcript line). A
    /// line that cannot be understood is refused before it does anything.
    pub fn run_line(&mut self, line: &str) -> Result<Vec<Event>, String> {
        self.consumed.clear();
        self.line(line)?;
        Ok(std::mem::take(&mut self.consumed))
    }

    fn line(&mut self, line: &str) -> Result<(), String> {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            return Ok(());
        }
        let (v, big) =
            parse_strict_keeping_big_integers(t).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(obj) = &v else {
            return Err("a scenario line must be a JSON object".into());
        };
        if obj.contains_key("execute") {
            self.since_command.clear();
            self.lines
                .push(format!("> {}", to_sorted_json_keeping(&v, &big)));
            let reply = self.manager.execute_value(&v);
            self.after_command(reply);
        } else if let Some(raw) = obj.get("send") {
            let raw = raw.as_str().ok_or("'send' takes a string")?;
            self.since_command.clear();
            self.lines.push(format!("> {raw}"));
            let reply = self.manager.execute_reply(raw).into_value();
            self.after_command(reply);
        } else if let Some(w) = obj.get("wait") {
            let id = w
                .get("id")
                .and_then(Value::as_str)
                .ok_or("wait needs 'id'")?;
            let status = w
                .get("status")
                .and_then(Value::as_str)
                .ok_or("wait needs 'status'")?;
            self.lines.push(format!("~ wait {}", to_sorted_json(w)));
            // A status that does not exist is never reached.
            let (id, status) = (id.to_owned(), JobStatus::parse(status));
            self.wait_for(|e| status.is_some_and(|s| e.kind.is_status_change(&id, s)));
        } else if let Some(name) = obj.get("wait-event") {
            let name = name.as_str().ok_or("'wait-event' takes an event name")?;
            let id = obj
                .get("id")
                .and_then(Value::as_str)
                .ok_or("wait-event needs 'id'")?;
            self.lines.push(format!("~ wait-event {name} {id}"));
            let (name, id) = (name.to_owned(), id.to_owned());
            self.wait_for(|e| e.kind.is_event_about(&name, &id));
        } else if obj.contains_key("settle") {
            self.lines.push("~ settle".into());
            self.manager.settle();
            self.flush_events();
        } else if let Some(img) = obj.get("image") {
            let file = img
                .get("file")
                .and_then(Value::as_str)
                .ok_or("image needs 'file'")?;
            let format = img
                .get("format")
                .and_then(Value::as_str)
                .ok_or("image needs 'format'")?;
            let size = img
                .get("size")
                .and_then(Value::as_u64)
                .ok_or("image needs 'size'")?;
            let backing = img
                .get("backing")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let mut data = Vec::new();
            if let Some(list) = img.get("data").and_then(Value::as_array) {
                for ext in list {
                    let o = ext
                        .get(0)
                        .and_then(Value::as_u64)
                        .ok_or("bad data extent")?;
                    let l = ext
                        .get(1)
                        .and_then(Value::as_u64)
                        .ok_or("bad data extent")?;
                    data.push((o, l));
                }
            }
            self.lines.push(format!("~ image {file}"));
            // The recorder names the backing file's format: the format of
            // the image directive that made it, qcow2 if none did.
            let backing_format = backing.as_ref().map(|b| {
                self.image_formats
                    .get(b)
                    .map_or("qcow2", String::as_str)
                    .to_owned()
            });
            self.image_formats
                .insert(file.to_owned(), format.to_owned());
            self.manager.add_image(
                file,
                ImageFile {
                    format: format.to_owned(),
                    size,
                    backing,
                    backing_format,
                    data,
                    ..Default::default()
                },
            );
        } else if let Some(machine) = obj.get("machine") {
            let machine = machine.as_str().ok_or("'machine' takes a name")?;
            match machine {
                "none" => self.manager.set_machine(true),
                "pc" => self.manager.set_pci_bus(true),
                _ => return Err(format!("unknown machine '{machine}' (none or pc)")),
            }
            self.lines.push(format!("~ machine {machine}"));
        } else if let Some(drive) = obj.get("drive") {
            let Value::Object(opts) = drive else {
                return Err("'drive' takes an object of -drive options".into());
            };
            self.lines
                .push(format!("~ drive {}", to_sorted_json(drive)));
            self.manager
                .drive_add(opts)
                .map_err(|e| format!("-drive refused: {}", e.desc))?;
        } else {
            return Err(format!("unknown scenario line: {t}"));
        }
        Ok(())
    }

    fn after_command(&mut self, reply: Value) {
        self.flush_events();
        self.lines.push(reply_line(&reply));
        self.manager.settle();
        self.flush_events();
    }

    fn wait_for(&mut self, pred: impl Fn(&Event) -> bool) {
        let limit = self.manager.now().saturating_add(WAIT_LIMIT_NS);
        let seen = self.since_command.iter().any(&pred)
            || self
                .manager
                .run_until(limit, |m| m.queued_events().any(&pred));
        self.flush_events();
        if !seen {
            self.lines.push("~ WAIT TIMEOUT".into());
        }
    }
}

/// Replays a scenario text on a fresh default world; returns the transcript.
pub fn replay(text: &str) -> Result<String, ScenarioError> {
    replay_version(text, QemuVersion::V7_2)
}

/// Replays a scenario text on a fresh default world reproducing QEMU
/// `qemu`; returns the transcript.
pub fn replay_version(text: &str, qemu: QemuVersion) -> Result<String, ScenarioError> {
    let mut r = Replayer::with_version(qemu);
    r.run(text)?;
    Ok(r.transcript())
}

/// Compares two transcripts as `scenarios/README.md` says: window by window (from one
/// `>` line to the next), the same command, the same reply, the same
/// directive lines, and for each job the same sequence of events. Returns
/// the first difference, worded as `tools/compare.py` words it (the window,
/// the line where it starts on each side, what differs, both sides' lines).
pub fn compare(expected: &str, actual: &str) -> Result<(), String> {
    let (we, wa) = (windows(expected), windows(actual));
    for i in 0..we.len().max(wa.len()) {
        let (Some(x), Some(y)) = (we.get(i), wa.get(i)) else {
            let (who, extra) = match we.get(i) {
                Some(w) => ("expected", w),
                None => ("actual", &wa[i]),
            };
            return Err(format!(
                "only {who} has window {} (line {}): {}",
                i + 1,
                extra.line,
                extra.command.unwrap_or("None")
            ));
        };
        let at = format!(
            "window {} (expected line {}, actual line {})",
            i + 1,
            x.line,
            y.line
        );
        if x.command != y.command {
            return Err(format!(
                "{at}: commands differ\n  expected: {}\n  actual: {}",
                x.command.unwrap_or("None"),
                y.command.unwrap_or("None")
            ));
        }
        let differ = |what: &str, a: &[Cow<'_, str>], b: &[Cow<'_, str>]| {
            let after = x.command.map(|c| format!("\n  after: {c}"));
            format!(
                "{at}: {what} differ{}\n  expected:\n{}\n  actual:\n{}",
                after.unwrap_or_default(),
                show(a),
                show(b)
            )
        };
        if x.replies != y.replies {
            return Err(differ("replies", &x.replies, &y.replies));
        }
        if x.directives != y.directives {
            return Err(differ("directive lines", &x.directives, &y.directives));
        }
        // Every job of either window, in order, once.
        let mut jobs: Vec<&String> = x.events.keys().chain(y.events.keys()).collect();
        crate::sort::sort_by(&mut jobs, |a, b| a < b);
        jobs.dedup();
        for job in jobs {
            let (a, b) = (
                x.events.get(job).map_or(&[][..], Vec::as_slice),
                y.events.get(job).map_or(&[][..], Vec::as_slice),
            );
            if a != b {
                let job = if job.is_empty() { "(none)" } else { job };
                return Err(differ(&format!("events of job {job}"), a, b));
            }
        }
    }
    Ok(())
}

/// Lines of a difference, indented; `(nothing)` for none.
fn show(lines: &[Cow<'_, str>]) -> String {
    if lines.is_empty() {
        return "    (nothing)".into();
    }
    let indented: Vec<String> = lines.iter().map(|l| format!("    {l}")).collect();
    indented.join("\n")
}

/// One command's window of a transcript: its `>` line (none for lines
/// before the first command), where it starts (1-based), its replies, its
/// directive lines (and any other line, which must match exactly), and its
/// events by job (the data's `id`, else `device`, as JSON; `""` for none).
struct Window<'a> {
    command: Option<&'a str>,
    line: usize,
    replies: Vec<Cow<'a, str>>,
    directives: Vec<Cow<'a, str>>,
    events: std::collections::BTreeMap<String, Vec<Cow<'a, str>>>,
}

/// A line with the node names QEMU generates (`#block` and digits, two of
/// them drawn at random) as `#block`: they compare equal, as QEMU's
/// iotests filter them.
fn generated_names(line: &str) -> Cow<'_, str> {
    if !line.contains("#block") {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("#block") {
        out.push_str(&rest[..i + "#block".len()]);
        rest = rest[i + "#block".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn windows(t: &str) -> Vec<Window<'_>> {
    let mut out: Vec<Window<'_>> = Vec::new();
    for (no, line) in t.lines().enumerate() {
        let is_command = line.starts_with("> ") || line == ">";
        if is_command || out.is_empty() {
            out.push(Window {
                command: is_command.then_some(line),
                line: no + 1,
                replies: Vec::new(),
                directives: Vec::new(),
                events: Default::default(),
            });
            if is_command {
                continue;
            }
        }
        let cur = out.last_mut().expect("a window was just pushed");
        if line.starts_with('<') {
            cur.replies.push(generated_names(line));
        } else if line.starts_with('!') {
            let mut parts = line.splitn(3, ' ');
            let key = match (parts.next(), parts.next(), parts.next()) {
                (_, Some(_), Some(data)) => event_job(data),
                _ => String::new(),
            };
            cur.events
                .entry(key)
                .or_default()
                .push(generated_names(line));
        } else {
            cur.directives.push(Cow::Borrowed(line));
        }
    }
    out
}

/// The job an event's data names (its `id`, else its `device`), as JSON
/// text; `""` for none or for data that is not a JSON object.
fn event_job(data: &str) -> String {
    match parse_strict(data) {
        Ok(Value::Object(d)) => d
            .get("id")
            .or_else(|| d.get("device"))
            .filter(|k| !k.is_null())
            .map(to_sorted_json)
            .unwrap_or_default(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each line hands back the events it took, typed, one per `!` line it
    /// wrote, in order, with the core's timestamps.
    #[test]
    fn run_line_hands_back_the_events_of_its_lines() {
        let mut r = Replayer::new();
        let script = [
            r#"{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full", "speed": 4194304}}"#,
            r#"{"wait": {"id": "b0", "status": "null"}}"#,
            r#"{"send": "{'execute': 'query-jobs'}"}"#,
            "# a comment",
        ];
        let mut all = Vec::new();
        for line in script {
            let before = r.lines().len();
            let events = r.run_line(line).unwrap();
            let written: Vec<&String> = r.lines()[before..]
                .iter()
                .filter(|l| l.starts_with("! "))
                .collect();
            assert_eq!(events.len(), written.len(), "{line}");
            for (e, l) in events.iter().zip(written) {
                assert_eq!(&event_line(e), l);
            }
            all.extend(events);
        }
        assert!(all.len() > 6);
        assert!(
            all.windows(2)
                .all(|w| w[0].timestamp_ns <= w[1].timestamp_ns)
        );
        // At 4 MiB/s the 64 MiB backup ends some 16 s in.
        assert!(
            all.last()
                .unwrap()
                .kind
                .is_status_change("b0", JobStatus::Null)
        );
        assert!(all.last().unwrap().timestamp_ns > 15_000_000_000);
        assert!(r.run_line("{\"wait\": {}}").is_err());
    }

    #[test]
    fn python_style_json() {
        let v = json!({"b": [1, 2.5, "é"], "a": {"y": null, "x": true}});
        assert_eq!(
            to_sorted_json(&v),
            r#"{"a": {"x": true, "y": null}, "b": [1, 2.5, "\u00e9"]}"#
        );
        let v = json!([1e20, 1.5e-7, 3.0, 0.0001, -0.5]);
        assert_eq!(to_sorted_json(&v), "[1e+20, 1.5e-07, 3.0, 0.0001, -0.5]");
    }

    #[test]
    fn integers_beyond_64_bits_echoed_as_written() {
        let mut r = Replayer::new();
        r.run_line(r#"{"id": [1, {"b": -99999999999999999999, "a": 18446744073709551616}], "execute": "query-jobs"}"#)
            .unwrap();
        assert_eq!(
            r.lines()[0],
            r#"> {"execute": "query-jobs", "id": [1, {"a": 18446744073709551616, "b": -99999999999999999999}]}"#
        );
        // QEMU reads them as doubles, and so does the reply.
        assert_eq!(
            r.lines()[1],
            r#"< {"id": [1, {"a": 1.8446744073709552e+19, "b": -1e+20}], "return": []}"#
        );
    }

    #[test]
    fn floats_as_python_repr() {
        // Python's own `repr` of each (bindings-py's test_replay.py checks
        // thousands more against Python itself).
        let table = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.0001, "0.0001"),
            (9.999e-05, "9.999e-05"),
            (1e+16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1000000000000000.0, "1000000000000000.0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e+308, "1.7976931348623157e+308"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            // Exactly between …562.2 and …562.3: ties go to the even digit.
            (1658206780088562.2, "1658206780088562.2"),
            (0.1, "0.1"),
            (2.5e-05, "2.5e-05"),
            (1.5e-07, "1.5e-07"),
            (1e+22, "1e+22"),
            (-1.5432835417340557e+88, "-1.5432835417340557e+88"),
            (123.456, "123.456"),
            (100.0, "100.0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (f, text) in table {
            assert_eq!(python_float(f), text);
        }
    }

    #[test]
    fn compare_ignores_reply_position_and_cross_job_order() {
        let a = "> x\n! E {\"id\": \"a\"}\n! E {\"id\": \"b\"}\n< {}\n";
        let b = "> x\n< {}\n! E {\"id\": \"b\"}\n! E {\"id\": \"a\"}\n";
        assert!(compare(a, b).is_ok());
        let c = "> x\n< {}\n! E {\"id\": \"a\"}\n! F {\"id\": \"a\"}\n";
        let d = "> x\n< {}\n! F {\"id\": \"a\"}\n! E {\"id\": \"a\"}\n";
        assert!(compare(c, d).is_err());
    }

    #[test]
    fn compare_words_the_difference_as_compare_py() {
        let e = "~ machine none\n> {\"execute\": \"x\"}\n< {\"return\": {}}\n";
        let a = "~ machine none\n> {\"execute\": \"x\"}\n< {\"return\": 1}\n";
        assert_eq!(
            compare(e, a).unwrap_err(),
            "window 2 (expected line 2, actual line 2): replies differ\n  \
             after: > {\"execute\": \"x\"}\n  expected:\n    < {\"return\": {}}\n  \
             actual:\n    < {\"return\": 1}"
        );
        let e = "> x\n! E {\"id\": \"a\"}\n! F {\"device\": \"b\"}\n";
        let a = "> x\n! E {\"id\": \"a\"}\n";
        assert_eq!(
            compare(e, a).unwrap_err(),
            "window 1 (expected line 1, actual line 1): events of job \"b\" differ\n  \
             after: > x\n  expected:\n    ! F {\"device\": \"b\"}\n  actual:\n    (nothing)"
        );
        assert_eq!(
            compare("> x\n> y\n", "> x\n").unwrap_err(),
            "only expected has window 2 (line 2): > y"
        );
        assert_eq!(
            compare("> x\n", "> z\n").unwrap_err(),
            "window 1 (expected line 1, actual line 1): commands differ\n  \
             expected: > x\n  actual: > z"
        );
        // Of several jobs whose events differ, the first in job order is
        // named, whichever transcript has it.
        let e = "> x\n! E {\"id\": \"c\"}\n! E {\"id\": \"a\"}\n";
        let a = "> x\n! F {\"id\": \"c\"}\n! E {\"id\": \"a\"}\n! F {\"id\": \"b\"}\n";
        let err = compare(e, a).unwrap_err();
        assert!(err.contains("events of job \"b\" differ"), "{err}");
        let err = compare(a, e).unwrap_err();
        assert!(err.contains("events of job \"b\" differ"), "{err}");
        // A line of no known kind must match exactly, as a directive line.
        assert!(compare("> x\nodd\n", "> x\n").is_err());
        assert!(compare("> x\nodd\n", "> x\nodd\n").is_ok());
    }
}
