//! JSON readers. [`parse`] accepts and refuses what QEMU's QMP parser does,
//! with its error texts: single-quoted strings are accepted, duplicate keys
//! are refused (`JSON parse error, duplicate key`), unknown words are
//! `invalid keyword`s. [`parse_strict`] reads standard JSON (RFC 8259) as
//! Python's `json.loads` does, for the scenario format and values handed over
//! by a binding. Both read a number as the double nearest to it.

use serde_json::{Map, Number, Value};

/// Parses one QMP message. The error is QEMU's description text.
pub fn parse(input: &str) -> Result<Value, String> {
    Parser::new(input, true).document()
}

/// Parses standard JSON: double-quoted strings only, JSON's number grammar,
/// a repeated key keeps its first position and takes its last value (as
/// Python's `json.loads`); `NaN` and `Infinity` are refused. Errors are
/// worded as [`parse`]'s.
pub fn parse_strict(input: &str) -> Result<Value, String> {
    Parser::new(input, false).document()
}

/// One step from a JSON document's root towards a value in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// The member of an object with this name.
    Key(String),
    /// The element of an array at this index.
    Index(usize),
}

/// An integer written in a document that does not fit 64 bits (read as a
/// double), with where it is and its text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigInteger {
    /// The steps from the root to the number.
    pub path: Vec<PathStep>,
    /// The literal as written (`18446744073709551616`).
    pub text: String,
}

/// [`parse_strict`], also listing the integers beyond 64 bits in document
/// order, for a caller that must write them back as written (the scenario
/// format echoes a command as Python's `json` module reads it, and Python's
/// integers have no limit).
pub fn parse_strict_keeping_big_integers(input: &str) -> Result<(Value, Vec<BigInteger>), String> {
    let mut p = Parser::new(input, false);
    p.big = Some(Vec::new());
    let v = p.document_ref()?;
    Ok((v, p.big.unwrap_or_default()))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    src: &'a str,
    depth: usize,
    /// QEMU's dialect (else standard JSON).
    qmp: bool,
    /// Where the value being read is (kept only while `big` is listed).
    path: Vec<PathStep>,
    /// The integers beyond 64 bits read so far, when asked for.
    big: Option<Vec<BigInteger>>,
}

/// QEMU's limit on nested objects and arrays (`MAX_NESTING`).
const MAX_NESTING: usize = 1024;

fn err(msg: &str) -> String {
    format!("JSON parse error, {msg}")
}

impl<'a> Parser<'a> {
    fn new(input: &'a str, qmp: bool) -> Parser<'a> {
        Parser {
            s: input.as_bytes(),
            i: 0,
            src: input,
            depth: 0,
            qmp,
            path: Vec::new(),
            big: None,
        }
    }

    /// One value and nothing after it but whitespace.
    fn document(mut self) -> Result<Value, String> {
        self.document_ref()
    }

    fn document_ref(&mut self) -> Result<Value, String> {
        self.ws();
        if self.i >= self.s.len() {
            return Err(err("expecting value"));
        }
        let v = self.value()?;
        self.ws();
        if self.i < self.s.len() {
            return Err(format!(
                "JSON parse error, stray '{}'",
                self.src[self.i..].chars().next().unwrap_or(' ')
            ));
        }
        Ok(v)
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\r' | b'\n') {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            None => Err(err("premature EOI")),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'\'') if self.qmp => Ok(Value::String(self.string()?)),
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_lowercase() => self.keyword(),
            Some(b'}') | Some(b']') | Some(b',') | Some(b':') => Err(err("expecting value")),
            Some(_) => Err(format!(
                "JSON parse error, stray '{}'",
                self.src[self.i..].chars().next().unwrap_or(' ')
            )),
        }
    }

    /// A member's or element's value, one `step` below the current path.
    fn nested(&mut self, step: PathStep) -> Result<Value, String> {
        if self.big.is_none() {
            return self.value();
        }
        self.path.push(step);
        let v = self.value();
        self.path.pop();
        v
    }

    fn keyword(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_lowercase() {
            self.i += 1;
        }
        let word = &self.src[start..self.i];
        match word {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            _ => Err(format!("JSON parse error, invalid keyword '{word}'")),
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        let digits = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i == digits {
            return Err(err("stray '-'"));
        }
        let mut float = false;
        if self.i < self.s.len() && self.s[self.i] == b'.' {
            float = true;
            self.i += 1;
            while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                self.i += 1;
            }
        }
        if self.i < self.s.len() && matches!(self.s[self.i], b'e' | b'E') {
            float = true;
            self.i += 1;
            if self.i < self.s.len() && matches!(self.s[self.i], b'+' | b'-') {
                self.i += 1;
            }
            while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                self.i += 1;
            }
        }
        let text = &self.src[start..self.i];
        if !self.qmp && !json_number(text) {
            return Err(err("invalid number"));
        }
        if !float {
            if let Ok(v) = text.parse::<i64>() {
                return Ok(Value::Number(v.into()));
            }
            if let Ok(v) = text.parse::<u64>() {
                return Ok(Value::Number(v.into()));
            }
            if let Some(big) = &mut self.big {
                big.push(BigInteger {
                    path: self.path.clone(),
                    text: text.to_owned(),
                });
            }
        }
        let f = crate::decimal::parse(text).ok_or_else(|| err("invalid number"))?;
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| err("invalid number"))
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = String::new();
        loop {
            // Plain text up to the next quote, backslash or control
            // character (all ASCII, so `i` stays on a character boundary).
            let run = self.s[self.i..]
                .iter()
                .position(|&b| b == quote || b == b'\\' || b < 0x20)
                .ok_or_else(|| err("premature EOI"))?;
            out.push_str(&self.src[self.i..self.i + run]);
            self.i += run;
            let c = self.s[self.i];
            self.i += 1;
            if c == quote {
                return Ok(out);
            }
            if c < 0x20 {
                return Err(format!("JSON parse error, stray '{}'", c as char));
            }
            let Some(e) = self.s.get(self.i).copied() else {
                return Err(err("premature EOI"));
            };
            self.i += 1;
            match e {
                b'"' => out.push('"'),
                b'\'' if self.qmp => out.push('\''),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let cp = self.hex4()?;
                    if (0xD800..0xDC00).contains(&cp) {
                        if self.s.get(self.i) == Some(&b'\\')
                            && self.s.get(self.i + 1) == Some(&b'u')
                        {
                            self.i += 2;
                            let lo = self.hex4()?;
                            if (0xDC00..0xE000).contains(&lo) {
                                let c = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                                continue;
                            }
                        }
                        return Err(err("invalid UTF-16 surrogate pair"));
                    }
                    match char::from_u32(cp) {
                        // QEMU refuses "\u0000"; JSON has it.
                        Some(ch) if cp != 0 || !self.qmp => out.push(ch),
                        _ => return Err(err("invalid escape")),
                    }
                }
                _ => return Err(format!("JSON parse error, stray '\\{}'", e as char)),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .src
            .get(self.i..self.i + 4)
            .ok_or_else(|| err("premature EOI"))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| err("invalid escape"))?;
        self.i += 4;
        Ok(v)
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err("JSON nesting depth limit exceeded".into());
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, String> {
        self.enter()?;
        let v = self.object_inner();
        self.depth -= 1;
        v
    }

    fn object_inner(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut map = Map::new();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(map));
        }
        loop {
            let key = match self.value()? {
                Value::String(k) => k,
                _ => return Err(err("key is not a string in object")),
            };
            match self.peek() {
                Some(b':') => self.i += 1,
                None => return Err(err("premature EOI")),
                Some(_) => return Err(err("missing : in object pair")),
            }
            let v = self.nested(PathStep::Key(key.clone()))?;
            if self.qmp && map.contains_key(&key) {
                return Err(err("duplicate key"));
            }
            map.insert(key, v);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(map));
                }
                None => return Err(err("premature EOI")),
                Some(_) => return Err(err("expected separator in dict")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, String> {
        self.enter()?;
        let v = self.array_inner();
        self.depth -= 1;
        v
    }

    fn array_inner(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut v = Vec::new();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(v));
        }
        loop {
            v.push(self.nested(PathStep::Index(v.len()))?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(v));
                }
                None => return Err(err("premature EOI")),
                Some(_) => return Err(err("expected separator in list")),
            }
        }
    }
}

/// Whether `t` follows JSON's number grammar:
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn json_number(t: &str) -> bool {
    fn digits(b: &[u8]) -> usize {
        b.iter().take_while(|c| c.is_ascii_digit()).count()
    }
    let b = t.strip_prefix('-').unwrap_or(t).as_bytes();
    let int = digits(b);
    if int == 0 || (int > 1 && b[0] == b'0') {
        return false;
    }
    let mut rest = &b[int..];
    if let Some(r) = rest.strip_prefix(b".") {
        let n = digits(r);
        if n == 0 {
            return false;
        }
        rest = &r[n..];
    }
    if let Some(r) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let r = r
            .strip_prefix(b"+")
            .or_else(|| r.strip_prefix(b"-"))
            .unwrap_or(r);
        let n = digits(r);
        if n == 0 {
            return false;
        }
        rest = &r[n..];
    }
    rest.is_empty()
}

/// `v` as compact JSON text, exactly as serde_json's `to_string` writes it
/// (members in the map's order, `"\u001f"`-style escapes for control
/// characters only, a float as its shortest digits: `1.0`, `1.5e-7`,
/// `1e+16`), without serde_json's writer and float formatter.
pub fn to_text(v: &Value) -> String {
    let mut out = String::new();
    write_text(&mut out, v);
    out
}

/// Appends [`to_text`]'s text of `v` to `out`.
pub(crate) fn write_text(out: &mut String, v: &Value) {
    use std::fmt::Write as _;
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                out.push_str(&float_text(n.as_f64().unwrap_or(0.0)));
            }
        }
        Value::String(s) => write_text_str(out, s),
        Value::Array(list) => {
            out.push('[');
            for (i, x) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_text(out, x);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_text_str(out, k);
                out.push(':');
                write_text(out, x);
            }
            out.push('}');
        }
    }
}

/// Appends `s`, a short text (a job ID, a status's name).
///
/// In WebAssembly it goes in pieces of 8, 4, 2 and 1 bytes, each a
/// fixed-size move: a copy whose length is known only at run time is a
/// `memory.copy`, which engines run as a call (8–10 ns in node 20's V8,
/// `bindings-wasm/bench/memcopy.mjs`; more than a short ID's pieces). Natively the library's
/// copy is the faster one.
#[inline(always)]
pub(crate) fn push_short(out: &mut String, s: &str) {
    #[cfg(target_family = "wasm")]
    push_in_pieces(out, s);
    #[cfg(not(target_family = "wasm"))]
    out.push_str(s);
}

/// [`push_short`]'s WebAssembly form: `s` in pieces of 8, 4, 2 and 1 bytes,
/// whole where a piece would split a character.
#[inline(always)]
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
fn push_in_pieces(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some((piece, tail)) = rest.split_at_checked(8) {
        out.push_str(piece);
        rest = tail;
    }
    for n in [4, 2, 1] {
        if let Some((piece, tail)) = rest.split_at_checked(n) {
            out.push_str(piece);
            rest = tail;
        }
    }
    if !rest.is_empty() {
        out.push_str(rest);
    }
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it (`\"`,
/// `\\`, the short escapes, `\u00XX` for other control characters).
///
/// Inlined where it is called, the escaping loop kept out of line: a call
/// per job ID made the pause + resume pair about 7% slower in WebAssembly
/// (natively no difference; issue 18, `bindings-wasm/bench/ab.mjs`).
#[inline(always)]
pub(crate) fn write_text_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        // Job IDs and node names, nearly always: one copy.
        out.reserve(s.len() + 2);
        out.push('"');
        push_short(out, s);
        out.push('"');
    } else {
        write_escaped_str(out, s);
    }
}

/// [`write_text_str`] for a string with something to escape.
#[inline(never)]
fn write_escaped_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        start = i + 1;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A finite `f` as serde_json writes it: its shortest digits, positional
/// when the first digit's exponent is from -5 to 15 (`0.00001`, `100.0`),
/// else `1.5e-7`, `1e+16`.
pub fn float_text(f: f64) -> String {
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    let (digits, exp) = crate::decimal::shortest(f);
    let d = std::str::from_utf8(&digits).unwrap_or("0");
    let n = d.len() as i32;
    if !(-5..=15).contains(&exp) {
        let (first, rest) = d.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{}", exp.unsigned_abs());
    }
    if n - 1 <= exp {
        format!("{sign}{d}{}.0", "0".repeat((exp + 1 - n) as usize))
    } else if exp >= 0 {
        let (int, frac) = d.split_at(exp as usize + 1);
        format!("{sign}{int}.{frac}")
    } else {
        format!("{sign}0.{}{d}", "0".repeat((-exp - 1) as usize))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_texts_in_pieces_are_copied_whole() {
        let texts = [
            "",
            "b",
            "b0",
            "job",
            "job1",
            "job12",
            "job-123",
            "job-1234",
            "job-12345",
            "a-longer-job-id-of-27-bytes",
            "é",
            "bé",
            "ééé",
            "1234567é",
            "123é5678é",
            "😀",
            "x😀yz",
            "12345678😀",
            "ünïcödé-jöb-ïd",
        ];
        for t in texts {
            let mut out = String::from("[");
            super::push_in_pieces(&mut out, t);
            assert_eq!(out, format!("[{t}"), "{t:?}");
            let mut out = String::new();
            super::push_short(&mut out, t);
            assert_eq!(out, t);
        }
    }

    #[test]
    fn big_integers_listed_with_their_paths() {
        let (v, big) = parse_strict_keeping_big_integers(
            r#"{"a": [7, 18446744073709551616], "b": -1e30, "c": 18446744073709551615}"#,
        )
        .unwrap();
        assert_eq!(v["a"][1].as_f64(), Some(18446744073709551616.0));
        assert_eq!(
            big,
            [BigInteger {
                path: vec![PathStep::Key("a".into()), PathStep::Index(1)],
                text: "18446744073709551616".into(),
            }]
        );
    }

    use super::*;

    #[test]
    fn qemu_errors() {
        assert_eq!(
            parse(r#"{"execute": nonsense}"#).unwrap_err(),
            "JSON parse error, invalid keyword 'nonsense'"
        );
        assert_eq!(
            parse(r#"{"execute": ]"#).unwrap_err(),
            "JSON parse error, expecting value"
        );
        assert_eq!(
            parse(r#"{"execute": "query-jobs",}"#).unwrap_err(),
            "JSON parse error, expecting value"
        );
        assert_eq!(
            parse(r#"{"a": 1, "a": 2}"#).unwrap_err(),
            "JSON parse error, duplicate key"
        );
        assert_eq!(parse("").unwrap_err(), "JSON parse error, expecting value");
        assert!(parse("{\"a\": 1").is_err());
        assert!(parse("\u{0}").is_err());
        let deep = "[".repeat(100_000);
        assert_eq!(
            parse(&deep).unwrap_err(),
            "JSON nesting depth limit exceeded"
        );
        let ok = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn accepts_single_quotes_and_numbers() {
        let v = parse(r#"{'id': 'x', "n": -5, "u": 18446744073709551615, "f": 1.5}"#).unwrap();
        assert_eq!(v["id"], "x");
        assert_eq!(v["n"], -5);
        assert_eq!(v["u"], u64::MAX);
        assert_eq!(v["f"], 1.5);
    }

    #[test]
    fn strict_json_as_python_reads_it() {
        let v = parse_strict(r#"{"a": 1, "b": "\u0000x", "a": [2.5e-3, -0, 1E2]}"#).unwrap();
        // A repeated key keeps its first place and takes its last value.
        assert_eq!(v.to_string(), r#"{"a":[0.0025,0,100.0],"b":"\u0000x"}"#);
        for bad in [
            "{'id': 'x'}",
            r#""\'""#,
            "01",
            "1.",
            ".5",
            "1e",
            "-",
            "+1",
            "NaN",
            "Infinity",
            "[1,]",
            "",
            "1 2",
        ] {
            assert!(parse_strict(bad).is_err(), "{bad}");
        }
        // The double nearest to the decimal, where a quick reader is one ulp off.
        assert_eq!(
            parse_strict("-1.5432835417340557e+88").unwrap().as_f64(),
            Some(-1.5432835417340557e+88)
        );
        let text = "\"plain é \\n text\"";
        assert_eq!(parse_strict(text).unwrap(), "plain é \n text");
    }

    /// The same text as serde_json's `to_string`, floats and escapes
    /// included.
    #[test]
    fn to_text_writes_as_serde_json_does() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut floats = vec![
            0.0,
            -0.0,
            1.0,
            0.1,
            1e16,
            1e15,
            123456789012345680.0,
            1.5e-7,
            1e-5,
            1e-6,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            9007199254740993.0,
            2f64.powi(60),
            2f64.powi(-1074 + 52),
        ];
        for e in -330..310 {
            floats.push(format!("1e{e}").parse().unwrap());
            floats.push(format!("3.25e{e}").parse().unwrap());
        }
        for e in -1074..1024 {
            floats.push(2f64.powi(e));
        }
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            floats.push(f64::from_bits(x));
            floats.push((x >> 11) as f64 / 1e6);
        }
        for f in floats.into_iter().filter(|f| f.is_finite()) {
            let v = Value::from(f);
            assert_eq!(to_text(&v), v.to_string(), "{f:e}");
        }
        let v = serde_json::json!({
            "a": [1, -2, 18446744073709551615u64, -9223372036854775808i64, null, true, false],
            "s\u{1}\u{1f}\u{7f}\"\\\n\r\t\u{8}\u{c}é\u{10000}": "x\u{0}y",
            "nested": {"b": {}, "c": [], "d": 2.5}
        });
        assert_eq!(to_text(&v), v.to_string());
    }
}
