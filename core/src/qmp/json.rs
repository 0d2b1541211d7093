//! A JSON reader that accepts and refuses what QEMU's QMP parser does, with
//! its error texts: single-quoted strings are accepted, duplicate keys are
//! refused (`JSON parse error, duplicate key`), unknown words are `invalid
//! keyword`s.

use serde_json::{Map, Number, Value};

/// Parses one QMP message. The error is QEMU's description text.
pub fn parse(input: &str) -> Result<Value, String> {
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
        src: input,
        depth: 0,
    };
    p.ws();
    if p.i >= p.s.len() {
        return Err("JSON parse error, expecting value".into());
    }
    let v = p.value()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(format!(
            "JSON parse error, stray '{}'",
            p.src[p.i..].chars().next().unwrap_or(' ')
        ));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    src: &'a str,
    depth: usize,
}

/// QEMU's limit on nested objects and arrays (`MAX_NESTING`).
const MAX_NESTING: usize = 1024;

fn err(msg: &str) -> String {
    format!("JSON parse error, {msg}")
}

impl Parser<'_> {
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
            Some(b'"') | Some(b'\'') => Ok(Value::String(self.string()?)),
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_lowercase() => self.keyword(),
            Some(b'}') | Some(b']') | Some(b',') | Some(b':') => Err(err("expecting value")),
            Some(_) => Err(format!(
                "JSON parse error, stray '{}'",
                self.src[self.i..].chars().next().unwrap_or(' ')
            )),
        }
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
        if !float {
            if let Ok(v) = text.parse::<i64>() {
                return Ok(Value::Number(v.into()));
            }
            if let Ok(v) = text.parse::<u64>() {
                return Ok(Value::Number(v.into()));
            }
        }
        let f: f64 = text.parse().map_err(|_| err("invalid number"))?;
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| err("invalid number"))
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(rest) = self.src.get(self.i..) else {
                return Err(err("premature EOI"));
            };
            let Some(c) = rest.chars().next() else {
                return Err(err("premature EOI"));
            };
            self.i += c.len_utf8();
            if c as u32 == quote as u32 {
                return Ok(out);
            }
            if (c as u32) < 0x20 {
                return Err(format!("JSON parse error, stray '{c}'"));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.s.get(self.i).copied() else {
                return Err(err("premature EOI"));
            };
            self.i += 1;
            match e {
                b'"' => out.push('"'),
                b'\'' => out.push('\''),
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
                        Some(ch) if cp != 0 => out.push(ch),
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
            let v = self.value()?;
            if map.contains_key(&key) {
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
            v.push(self.value()?);
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

#[cfg(test)]
mod tests {
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
}
