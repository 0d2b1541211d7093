//! QEMU's `QemuOpts` syntax: `[value,]key=value,key=value,...`.
//!
//! A value runs to the next single comma; `,,` is a comma inside a value.
//! A first item without `=` is the value of the list's implied key when it
//! has one (`-chardev socket,...` is `backend=socket`); any other item
//! without `=` is a flag: `name` means `name=on`, `noname` means
//! `name=off` (both deprecated, with QEMU's warning), and `help` or `?`
//! asks for help. `id=` names the group and is kept apart from the other
//! options.

use std::fmt::Write;

/// The type of a QemuOpts option, for its value check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptType {
    /// Any string.
    Str,
    /// `on`/`off` (also `yes`/`no`, `true`/`false`, `y`/`n`).
    Bool,
    /// An unsigned number (`0x` hexadecimal and `0` octal accepted).
    Number,
    /// A size with an optional `k`/`M`/`G`/`T`/`P`/`E` suffix.
    Size,
}

/// The options one `QemuOptsList` knows: `None` accepts any name (as
/// QEMU's `-drive` and `-device` lists, whose options are checked later by
/// their consumer).
pub type OptDescs = Option<&'static [(&'static str, OptType)]>;

/// One parsed option group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QemuOpts {
    /// The `id=` value, if given.
    pub id: Option<String>,
    /// Every other `key=value`, in the order given (a key may repeat; the
    /// last one counts for [`get`](Self::get)).
    pub opts: Vec<(String, String)>,
    /// Deprecation warnings QEMU prints for short-form flags, one text each
    /// (the caller prints them with its `program: warning: ` prefix).
    pub warnings: Vec<String>,
}

impl QemuOpts {
    /// The value of `key` (the last one given), if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `key` as a boolean (QEMU's `qemu_opt_get_bool`): `default` when
    /// absent. The value was checked when it was parsed with a `Bool`
    /// description; anything else reads as `default`.
    pub fn get_bool(&self, key: &str, default: bool) -> bool {
        self.get(key).and_then(parse_bool).unwrap_or(default)
    }

    /// The keys given, in order, without repeats.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for (k, _) in &self.opts {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        keys
    }
}

/// What [`parse`] found: the options, or a request for help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The options.
    Opts(QemuOpts),
    /// A `help` (or `?`) flag: the caller lists what the option takes.
    Help,
}

/// `qapi_bool_parse`: QEMU's spellings of a boolean.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "on" | "yes" | "true" | "y" => Some(true),
        "off" | "no" | "false" | "n" => Some(false),
        _ => None,
    }
}

/// Whether `s` asks for help (`help` or `?`, QEMU's `is_help_option`).
pub fn is_help(s: &str) -> bool {
    s == "help" || s == "?"
}

/// An identifier QEMU accepts as an `id`: a letter, then letters, digits,
/// `-`, `.` and `_` (`id_wellformed`).
pub fn id_wellformed(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// Reads a value up to the next single comma (`get_opt_value`); returns
/// it and the rest after that comma.
fn value(p: &str) -> (String, &str) {
    let mut out = String::new();
    let mut rest = p;
    loop {
        match rest.find(',') {
            None => {
                out.push_str(rest);
                return (out, "");
            }
            Some(i) if rest[i + 1..].starts_with(',') => {
                out.push_str(&rest[..=i]);
                rest = &rest[i + 2..];
            }
            Some(i) => {
                out.push_str(&rest[..i]);
                return (out, &rest[i + 1..]);
            }
        }
    }
}

/// One item (`get_opt_name_value`): its name, value, whether it was a
/// flag asking for help, the deprecation warning of a short-form flag, and
/// the rest of the text.
struct Item<'a> {
    name: String,
    value: String,
    help: bool,
    warning: Option<String>,
    rest: &'a str,
}

fn item<'a>(params: &'a str, firstname: Option<&str>) -> Item<'a> {
    let len = params.find(['=', ',']).unwrap_or(params.len());
    if params[len..].starts_with('=') {
        let (value, rest) = value(&params[len + 1..]);
        return Item {
            name: params[..len].to_owned(),
            value,
            help: false,
            warning: None,
            rest,
        };
    }
    if let Some(first) = firstname {
        let (value, rest) = value(params);
        return Item {
            name: first.to_owned(),
            value,
            help: false,
            warning: None,
            rest,
        };
    }
    let flag = &params[..len];
    let rest = params[len..].strip_prefix(',').unwrap_or(&params[len..]);
    let (name, value, prefix) = match flag.strip_prefix("no") {
        Some(n) => (n.to_owned(), "off", "no"),
        None => (flag.to_owned(), "on", ""),
    };
    let help = prefix.is_empty() && is_help(&name);
    let warning = (!help).then(|| {
        let mut w = format!("short-form boolean option '{prefix}{name}' deprecated\n");
        if name == "delay" {
            let v = if prefix.is_empty() { "off" } else { "on" };
            let _ = write!(w, "Please use nodelay={v} instead");
        } else {
            let _ = write!(w, "Please use {name}={value} instead");
        }
        w
    });
    Item {
        name,
        value: value.to_owned(),
        help,
        warning,
        rest,
    }
}

/// `qemu_opts_parse_noisily`: parses `params` for a list whose implied
/// first key is `implied` and whose options are `descs`. Errors are
/// QEMU's texts (`Invalid parameter 'x'`, `Parameter 'x' expects 'on' or
/// 'off'`, `Parameter 'id' expects an identifier` with its hint line).
pub fn parse(params: &str, implied: Option<&str>, descs: OptDescs) -> Result<Parsed, String> {
    // The id is looked for first, reading every item as a flag or a pair.
    let mut id = None;
    let mut p = params;
    while !p.is_empty() {
        let it = item(p, None);
        if it.name == "id" {
            id = Some(it.value);
            break;
        }
        p = it.rest;
    }
    if let Some(id) = &id
        && !id_wellformed(id)
    {
        return Err("Parameter 'id' expects an identifier\n\
                    Identifiers consist of letters, digits, '-', '.', '_', starting with a letter."
            .into());
    }
    let mut opts = QemuOpts {
        id,
        ..QemuOpts::default()
    };
    let mut first = implied;
    let mut p = params;
    while !p.is_empty() {
        let it = item(p, first);
        first = None;
        p = it.rest;
        // A list that takes any option has no help (QEMU passes no
        // help_wanted for it): `help` is then a flag like another.
        if it.help && descs.is_some() {
            return Ok(Parsed::Help);
        }
        if let Some(w) = it.warning {
            opts.warnings.push(w);
        }
        if it.name == "id" {
            continue;
        }
        if let Some(descs) = descs {
            let Some(&(_, ty)) = descs.iter().find(|(n, _)| *n == it.name) else {
                return Err(format!("Invalid parameter '{}'", it.name));
            };
            check_value(&it.name, &it.value, ty)?;
        }
        opts.opts.push((it.name, it.value));
    }
    Ok(Parsed::Opts(opts))
}

/// `qemu_opt_parse`: the value check of an option of type `ty`.
fn check_value(name: &str, value: &str, ty: OptType) -> Result<(), String> {
    match ty {
        OptType::Str => Ok(()),
        OptType::Bool => parse_bool(value)
            .map(drop)
            .ok_or_else(|| format!("Parameter '{name}' expects 'on' or 'off'")),
        OptType::Number => match parse_number(value) {
            Some(_) => Ok(()),
            None if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => Err(format!(
                "Value '{value}' is too large for parameter '{name}'"
            )),
            None => Err(format!("Parameter '{name}' expects a number")),
        },
        OptType::Size => parse_size(value).map(drop).ok_or_else(|| {
            format!(
                "Parameter '{name}' expects a non-negative number below 2^64\n\
                 Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n\
                 and exabytes, respectively."
            )
        }),
    }
}

/// `qemu_strtou64(s, NULL, 0, …)` without a sign: decimal, `0x`
/// hexadecimal, `0` octal, nothing after the digits.
pub fn parse_number(s: &str) -> Option<u64> {
    let (radix, body) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, h)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(body, radix).ok()
}

/// `qemu_strtosz`: a number with an optional binary suffix (`k`, `M`,
/// `G`, `T`, `P`, `E`; `b`/`B` for bytes), below 2^64.
pub fn parse_size(s: &str) -> Option<u64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let shift = match suffix {
        "" | "b" | "B" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        "p" | "P" => 50,
        "e" | "E" => 60,
        _ => return None,
    };
    if num.contains('.') {
        let f: f64 = num.parse().ok()?;
        let v = f * (1u64 << shift) as f64;
        return (v.is_finite() && v < 18446744073709551616.0).then_some(v as u64);
    }
    let n: u64 = num.parse().ok()?;
    n.checked_mul(1u64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHARDEV: OptDescs = Some(&[
        ("backend", OptType::Str),
        ("path", OptType::Str),
        ("server", OptType::Bool),
        ("wait", OptType::Bool),
        ("reconnect", OptType::Number),
    ]);

    fn opts(p: &str, implied: Option<&str>, d: OptDescs) -> QemuOpts {
        match parse(p, implied, d).unwrap() {
            Parsed::Opts(o) => o,
            Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn implied_key_id_and_escaped_commas() {
        let o = opts(
            "socket,id=mon,path=/a,,b,server=on",
            Some("backend"),
            CHARDEV,
        );
        assert_eq!(o.id.as_deref(), Some("mon"));
        assert_eq!(o.get("backend"), Some("socket"));
        assert_eq!(o.get("path"), Some("/a,b"));
        assert!(o.get_bool("server", false));
        assert!(o.warnings.is_empty());
    }

    #[test]
    fn short_form_flags_warn() {
        let o = opts("socket,id=m,path=x,server,nowait", Some("backend"), CHARDEV);
        assert!(o.get_bool("server", false));
        assert!(!o.get_bool("wait", true));
        assert_eq!(
            o.warnings,
            [
                "short-form boolean option 'server' deprecated\nPlease use server=on instead",
                "short-form boolean option 'nowait' deprecated\nPlease use wait=off instead"
            ]
        );
    }

    #[test]
    fn refusals() {
        let e = |p: &str| parse(p, Some("backend"), CHARDEV).unwrap_err();
        assert_eq!(e("socket,bogus=1"), "Invalid parameter 'bogus'");
        assert_eq!(
            e("socket,server=maybe"),
            "Parameter 'server' expects 'on' or 'off'"
        );
        assert_eq!(
            e("socket,reconnect=x"),
            "Parameter 'reconnect' expects a number"
        );
        assert_eq!(
            e("socket,reconnect=99999999999999999999"),
            "Value '99999999999999999999' is too large for parameter 'reconnect'"
        );
        assert!(e("socket,id=1x").starts_with("Parameter 'id' expects an identifier\n"));
    }

    #[test]
    fn help_and_any_option_lists() {
        assert_eq!(
            parse("socket,help", Some("backend"), CHARDEV),
            Ok(Parsed::Help)
        );
        // A list that takes anything reads `help` as a flag.
        let o = opts("file=x,help", None, None);
        assert_eq!(o.get("help"), Some("on"));
        let o = opts("format=help", None, None);
        assert_eq!(o.get("format"), Some("help"));
    }

    #[test]
    fn numbers_and_sizes() {
        assert_eq!(parse_number("0x10"), Some(16));
        assert_eq!(parse_number("010"), Some(8));
        assert_eq!(parse_number("-1"), None);
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("1.5k"), Some(1536));
        assert_eq!(parse_size("16E"), None);
    }
}
