//! QMP messages as QEMU 7.2 writes them on the wire (`qobject/json-writer.c`,
//! `qobject/qdict.c`, `qobject/qnum.c`).
//!
//! - `": "` after a member's name, `", "` between members and elements, no
//!   other white space;
//! - the members of an object in the order QEMU's `QDict` iterates them: by
//!   hash bucket (`tdb_hash % 512`), and within one bucket the member
//!   inserted last first. A [`Value`] object's own order (qjob keeps
//!   insertion order) is taken as the order QEMU would have inserted the
//!   members in: the QAPI member order the core builds its objects in, the
//!   text order of a parsed request;
//! - strings with `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other characters
//!   below U+0020 and every one from U+007F up as `\uXXXX` (upper-case hex,
//!   a surrogate pair beyond U+FFFF), noncharacters as `\uFFFD`;
//! - integers in decimal, other numbers as C's `%.17g`;
//! - each message followed by `\r\n` ([`message`]).

use super::qdict_bucket;
use crate::event::{Event, Scalar};
use serde_json::{Map, Number, Value};
use std::fmt::Write as _;

/// `v` as QEMU writes it (no line end).
pub fn to_string(v: &Value) -> String {
    let mut out = String::with_capacity(64);
    write_value(&mut out, v);
    out
}

/// One whole message: `v` as QEMU writes it, then `\r\n`.
pub fn message(v: &Value) -> Vec<u8> {
    let mut out = to_string(v);
    out.push_str("\r\n");
    out.into_bytes()
}

/// Appends `v` as QEMU writes it to `out`.
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(list) => {
            out.push('[');
            for (i, x) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, x);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, x)) in qdict_order(map).into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k);
                out.push_str(": ");
                write_value(out, x);
            }
            out.push('}');
        }
    }
}

/// The members of `map` in QEMU's `QDict` iteration order, taking `map`'s
/// order as the insertion order.
pub fn qdict_order(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut members: Vec<(u32, usize, &String, &Value)> = map
        .iter()
        .enumerate()
        .map(|(i, (k, v))| (qdict_bucket(k), usize::MAX - i, k, v))
        .collect();
    crate::sort::sort_by(&mut members, |a, b| (a.0, a.1) < (b.0, b.1));
    members.into_iter().map(|(_, _, k, v)| (k, v)).collect()
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else {
        out.push_str(&format_g17(n.as_f64().unwrap_or(f64::NAN)));
    }
}

/// `f` as C's `printf("%.17g", f)` writes it: 17 significant digits without
/// trailing zeros, in exponent form when the exponent is below -4 or from
/// 17 up (`e+XX`, at least two digits).
pub fn format_g17(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // 17 digits rounded exactly, ties to even, as glibc does.
    let (digits, exp) = crate::decimal::significant(f.abs(), 17);
    let digits = std::str::from_utf8(&digits).unwrap_or("0");
    let digits = digits.trim_end_matches('0');
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..17).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.unsigned_abs());
    }
    // Fixed form: the point goes after digit exp + 1.
    if exp < 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..point], &digits[point..])
        }
    }
}

/// Appends `s` as a JSON string, escaped as QEMU's `quoted_str` does.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let plain = (' '..'\u{7f}').contains(&c) && c != '"' && c != '\\';
        if plain {
            continue;
        }
        out.push_str(&s[start..i]);
        start = i + c.len_utf8();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => {
                let cp = c as u32;
                let cp = if super::stream::valid_codepoint(cp) {
                    cp
                } else {
                    0xFFFD
                };
                if cp > 0xFFFF {
                    let v = cp - 0x10000;
                    let _ = write!(
                        out,
                        "\\u{:04X}\\u{:04X}",
                        0xD800 + (v >> 10),
                        0xDC00 + (v & 0x3FF)
                    );
                } else {
                    let _ = write!(out, "\\u{cp:04X}");
                }
            }
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// An event as QEMU builds it (`qmp_event_build_dict`): `event`, then
/// `timestamp` (`seconds`, `microseconds` of the wall-clock time
/// `epoch_ns + event.timestamp_ns`), then `data` unless the event has none.
pub fn event_value(e: &Event, epoch_ns: u64) -> Value {
    let data = match e.kind.data() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    event_object(e.kind.name(), data, e.timestamp_ns, epoch_ns)
}

/// One whole event message of any name (an event the job layer does not
/// emit, such as a system emulator's `SHUTDOWN`): `data` members in QAPI
/// order, none for an event without data.
pub fn event_message(
    name: &str,
    data: &[(&str, Value)],
    timestamp_ns: u64,
    epoch_ns: u64,
) -> Vec<u8> {
    let data = data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    message(&event_object(name, data, timestamp_ns, epoch_ns))
}

/// [`message`]`(&`[`event_value`]`(e, epoch_ns))`, written directly: the
/// same bytes without building the objects (events are most of what a
/// monitor writes).
pub fn event_line(e: &Event, epoch_ns: u64) -> Vec<u8> {
    let mut out = String::with_capacity(192);
    write_event_line(&mut out, e, epoch_ns);
    out.into_bytes()
}

/// Appends [`event_line`]'s text to `out`: the data members are put in
/// `QDict` order and written straight into `out`, with no text of their own.
pub fn write_event_line(out: &mut String, e: &Event, epoch_ns: u64) {
    // The data members, at most 8 (an event has 6 at most), in `QDict`
    // order: by bucket, a later insertion first within a bucket.
    let mut data: [(u32, usize, &'static str, Scalar<'_>); 8] =
        [(0, 0, "", Scalar::Bool(false)); 8];
    let mut len = 0;
    e.kind.for_each_field(|f| {
        if len < data.len() {
            let k = f.key();
            data[len] = (qdict_bucket(k), usize::MAX - len, k, f.json_member().1);
            len += 1;
        }
    });
    let data = &mut data[..len];
    data.sort_unstable_by_key(|&(bucket, rev, ..)| (bucket, rev));
    let us = epoch_ns.saturating_add(e.timestamp_ns) / 1_000;
    out.push('{');
    for (n, top) in TOP_ORDER.iter().enumerate() {
        if *top == Top::Data && data.is_empty() {
            continue;
        }
        if n > 0 {
            out.push_str(", ");
        }
        match top {
            Top::Event => {
                out.push_str("\"event\": \"");
                out.push_str(e.kind.name());
                out.push('"');
            }
            Top::Timestamp => {
                // `QDict` order of `seconds` and `microseconds` (checked
                // by a test).
                out.push_str("\"timestamp\": {\"seconds\": ");
                crate::event::push_u64(out, us / 1_000_000);
                out.push_str(", \"microseconds\": ");
                crate::event::push_u64(out, us % 1_000_000);
                out.push('}');
            }
            Top::Data => {
                out.push_str("\"data\": {");
                for (i, &(_, _, k, v)) in data.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push('"');
                    out.push_str(k);
                    out.push_str("\": ");
                    match v {
                        Scalar::Name(v) => {
                            out.push('"');
                            out.push_str(v);
                            out.push('"');
                        }
                        Scalar::Str(v) => write_str(out, v),
                        Scalar::Num(v) => crate::event::push_u64(out, v),
                        Scalar::Bool(v) => out.push_str(if v { "true" } else { "false" }),
                    }
                }
                out.push('}');
            }
        }
    }
    out.push_str("}\r\n");
}

/// The members of an event message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Top {
    Event,
    Timestamp,
    Data,
}

/// An event message's members in `QDict` order (`timestamp`, `event`,
/// `data`; checked against `qdict_bucket` by a test).
const TOP_ORDER: [Top; 3] = [Top::Timestamp, Top::Event, Top::Data];

fn event_object(name: &str, data: Map<String, Value>, timestamp_ns: u64, epoch_ns: u64) -> Value {
    let us = epoch_ns.saturating_add(timestamp_ns) / 1_000;
    let mut ts = Map::new();
    ts.insert("seconds".into(), (us / 1_000_000).into());
    ts.insert("microseconds".into(), (us % 1_000_000).into());
    let mut m = Map::new();
    m.insert("event".into(), name.into());
    m.insert("timestamp".into(), Value::Object(ts));
    if !data.is_empty() {
        m.insert("data".into(), Value::Object(data));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn g17_as_printf() {
        for (f, text) in [
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (100.0, "100"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1.8446744073709552e19, "1.8446744073709552e+19"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (-2.5e-300, "-2.5e-300"),
            (5e-324, "4.9406564584124654e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9.313225746154785e-10, "9.3132257461547852e-10"),
            (0.3, "0.29999999999999999"),
            (-0.0, "-0"),
            (123456789.125, "123456789.125"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(format_g17(f), text, "{f}");
        }
    }

    #[test]
    fn strings_as_quoted_str() {
        let mut s = String::new();
        write_str(&mut s, "a\"\\/\u{8}\u{c}\n\r\t\u{1}\u{7f}é😀\u{fffe}\0");
        assert_eq!(
            s,
            r#""a\"\\/\b\f\n\r\t\u0001\u007F\u00E9\uD83D\uDE00\uFFFD\u0000""#
        );
    }

    #[test]
    fn event_message_members_in_qdict_order() {
        let bucket = |k| crate::qmp::qdict_bucket(k);
        assert!(bucket("timestamp") < bucket("event"));
        assert!(bucket("event") < bucket("data"));
        assert!(bucket("seconds") < bucket("microseconds"));
    }

    #[test]
    fn event_lines_are_event_messages() {
        use crate::event::EventKind;
        use crate::model::{JobStatus, JobType};
        let kinds = [
            EventKind::JobStatusChange {
                id: "j\"0".into(),
                status: JobStatus::Running,
            },
            EventKind::BlockJobCompleted {
                job_type: JobType::Backup,
                device: "dev".into(),
                len: 1 << 40,
                offset: 0,
                speed: 7,
                error: Some("Input/output error".into()),
            },
            EventKind::Stop,
            EventKind::Shutdown,
            EventKind::BlockExportDeleted { id: "exp".into() },
        ];
        for kind in kinds {
            let e = Event {
                timestamp_ns: 1_234_567_891,
                kind,
            };
            let epoch = 1_796_000_000_123_456_789;
            assert_eq!(event_line(&e, epoch), message(&event_value(&e, epoch)));
        }
    }

    #[test]
    fn members_in_qdict_order() {
        // Recorded from QEMU 7.2: JobInfo's members as it writes them.
        let v = json!({"id": "b0", "type": "backup", "status": "running",
                       "current-progress": 1, "total-progress": 2});
        assert_eq!(
            to_string(&v),
            r#"{"current-progress": 1, "status": "running", "total-progress": 2, "type": "backup", "id": "b0"}"#
        );
        assert_eq!(
            to_string(&json!([1, {}, [], null, true])),
            "[1, {}, [], null, true]"
        );
    }
}
