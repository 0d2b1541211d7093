//! QEMU 7.2's JSON message stream: how a QMP monitor cuts the bytes it reads
//! into messages (`qobject/json-lexer.c`, `json-streamer.c`,
//! `json-parser.c`).
//!
//! [`JsonStreamer::feed`] takes bytes as they arrive and returns each
//! message that became complete, parsed, or the error QEMU answers in its
//! place (`JSON parse error, …`):
//! - several messages may come in one read and one message over several
//!   reads; a message ends where its outermost braces or brackets close, a
//!   top-level scalar (`42`, `"x"`, `null`) at the first byte that cannot
//!   continue it, and a stray `}` or `]` is a message of its own;
//! - strings may be single-quoted (`'…'`, where `\'` is an escape too), and
//!   are checked as QEMU checks them (modified UTF-8, `\u0000` allowed,
//!   surrogates and noncharacters refused);
//! - a byte that cannot start or continue a token (a control character in a
//!   string, a byte ≥ 0x80 outside one, `@`, …) ends the message with
//!   `JSON parse error, stray '…'` (the token so far), drops what the message
//!   had collected, and skips input up to the next structural character
//!   (`{}[]:,`), control character, or `0xFE`/`0xFF` byte: QEMU's recovery;
//! - a message deeper than [`MAX_NESTING`], longer than [`MAX_TOKEN_SIZE`]
//!   bytes or of more than [`MAX_TOKEN_COUNT`] tokens is refused at the
//!   token that crosses the limit, and the tokens after it start afresh.
//!
//! QEMU reads a number beyond the range of a double (`1e999`) as infinity;
//! qjob's values cannot hold one, so such a message is refused with
//! `JSON parse error, number out of range` instead.

use serde_json::{Map, Number, Value};

/// Largest token, and largest message, in bytes (QEMU's `MAX_TOKEN_SIZE`).
pub const MAX_TOKEN_SIZE: usize = 64 << 20;
/// Most tokens in one message (QEMU's `MAX_TOKEN_COUNT`).
pub const MAX_TOKEN_COUNT: usize = 2 << 20;
/// Deepest nesting of objects and arrays in one message (QEMU's
/// `MAX_NESTING`).
pub const MAX_NESTING: usize = 1024;

/// One message cut from the stream: its value, or the error text QEMU
/// replies with instead (`JSON parse error, …`, or one of the limits).
pub type Message = Result<Value, String>;

/// The lexer's states (QEMU's `json_lexer_state`, without interpolation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Start,
    Recovery,
    DqString,
    DqEscape,
    SqString,
    SqEscape,
    Zero,
    Sign,
    Digits,
    Mantissa,
    MantissaDigits,
    ExpE,
    ExpSign,
    ExpDigits,
    Keyword,
}

/// What a token is (QEMU's `JSONTokenType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    LCurly,
    RCurly,
    LSquare,
    RSquare,
    Colon,
    Comma,
    Integer,
    Float,
    Keyword,
    String,
}

/// What the lexer does with one byte in one state.
enum Step {
    /// Take the byte into the token and move to the state.
    Take(State),
    /// Take the byte; the token is complete.
    TakeEnd(Kind),
    /// The token ends before this byte, which is read again from `Start`.
    EndBefore(Kind),
    /// Drop the byte (white space between tokens).
    Skip,
    /// Take the byte; it cannot be part of any token.
    Error,
    /// Go back to `Start` and read this byte again (end of recovery).
    Resync,
}

fn step(state: State, b: u8) -> Step {
    use Step::*;
    let digit = b.is_ascii_digit();
    match state {
        State::Start => match b {
            b'"' => Take(State::DqString),
            b'\'' => Take(State::SqString),
            b'0' => Take(State::Zero),
            b'1'..=b'9' => Take(State::Digits),
            b'-' => Take(State::Sign),
            b'{' => TakeEnd(Kind::LCurly),
            b'}' => TakeEnd(Kind::RCurly),
            b'[' => TakeEnd(Kind::LSquare),
            b']' => TakeEnd(Kind::RSquare),
            b',' => TakeEnd(Kind::Comma),
            b':' => TakeEnd(Kind::Colon),
            b'a'..=b'z' => Take(State::Keyword),
            b' ' | b'\t' | b'\r' | b'\n' => Skip,
            _ => Error,
        },
        State::Recovery => match b {
            b'\t' => Skip,
            0..=0x1f | 0xfe | 0xff | b'[' | b']' | b'{' | b'}' | b':' | b',' => Resync,
            _ => Skip,
        },
        State::DqString | State::SqString => {
            let quote = if state == State::DqString {
                b'"'
            } else {
                b'\''
            };
            let escape = if state == State::DqString {
                State::DqEscape
            } else {
                State::SqEscape
            };
            match b {
                b'\\' => Take(escape),
                _ if b == quote => TakeEnd(Kind::String),
                0x20..=0xfd => Take(state),
                _ => Error,
            }
        }
        State::DqEscape | State::SqEscape => match b {
            0x20..=0xfd => Take(if state == State::DqEscape {
                State::DqString
            } else {
                State::SqString
            }),
            _ => Error,
        },
        State::Zero => match b {
            b'0'..=b'9' => Error,
            b'.' => Take(State::Mantissa),
            _ => EndBefore(Kind::Integer),
        },
        State::Sign => match b {
            b'0' => Take(State::Zero),
            b'1'..=b'9' => Take(State::Digits),
            _ => Error,
        },
        State::Digits => match b {
            _ if digit => Take(State::Digits),
            b'e' | b'E' => Take(State::ExpE),
            b'.' => Take(State::Mantissa),
            _ => EndBefore(Kind::Integer),
        },
        State::Mantissa => match b {
            _ if digit => Take(State::MantissaDigits),
            _ => Error,
        },
        State::MantissaDigits => match b {
            _ if digit => Take(State::MantissaDigits),
            b'e' | b'E' => Take(State::ExpE),
            _ => EndBefore(Kind::Float),
        },
        State::ExpE => match b {
            b'-' | b'+' => Take(State::ExpSign),
            _ if digit => Take(State::ExpDigits),
            _ => Error,
        },
        State::ExpSign => match b {
            _ if digit => Take(State::ExpDigits),
            _ => Error,
        },
        State::ExpDigits => match b {
            _ if digit => Take(State::ExpDigits),
            _ => EndBefore(Kind::Float),
        },
        State::Keyword => match b {
            b'a'..=b'z' => Take(State::Keyword),
            _ => EndBefore(Kind::Keyword),
        },
    }
}

/// One token of the message being collected.
#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    /// Where its text is in the streamer's `text` (one buffer for the
    /// whole message, not an allocation per token).
    start: usize,
    end: usize,
}

/// What the lexer hands the streamer.
enum Lexed {
    Token(Kind),
    /// A byte no token can take (the token so far, with it, is the text).
    Error,
    /// A token grew past [`MAX_TOKEN_SIZE`].
    Oversized,
}

/// Cuts a byte stream into QMP messages exactly as QEMU 7.2's monitor does
/// (see the module docs). One streamer per connection: it keeps the
/// unfinished token and message between calls.
#[derive(Clone, Debug)]
pub struct JsonStreamer {
    state: State,
    /// The token being lexed.
    token: Vec<u8>,
    /// The tokens of the message being collected.
    tokens: Vec<Token>,
    /// Their text, one after the other.
    text: Vec<u8>,
    /// Bytes in `tokens`.
    size: usize,
    braces: i64,
    brackets: i64,
    limits: Limits,
}

/// The streamer's three limits.
#[derive(Clone, Copy, Debug)]
struct Limits {
    token_size: usize,
    token_count: usize,
    nesting: usize,
}

impl Default for JsonStreamer {
    fn default() -> Self {
        JsonStreamer::new()
    }
}

impl JsonStreamer {
    /// A streamer with QEMU's limits.
    pub fn new() -> JsonStreamer {
        JsonStreamer::with_limits(MAX_TOKEN_SIZE, MAX_TOKEN_COUNT, MAX_NESTING)
    }

    /// A streamer with other limits (message size in bytes, tokens per
    /// message, nesting depth); QEMU's are [`MAX_TOKEN_SIZE`],
    /// [`MAX_TOKEN_COUNT`] and [`MAX_NESTING`].
    pub fn with_limits(token_size: usize, token_count: usize, nesting: usize) -> JsonStreamer {
        JsonStreamer {
            state: State::Start,
            token: Vec::new(),
            tokens: Vec::new(),
            text: Vec::new(),
            size: 0,
            braces: 0,
            brackets: 0,
            limits: Limits {
                token_size,
                token_count,
                nesting,
            },
        }
    }

    /// Whether nothing is buffered: no token or message started and not
    /// finished.
    pub fn is_idle(&self) -> bool {
        self.state == State::Start && self.tokens.is_empty()
    }

    /// Forgets the unfinished token and message (QEMU resets its parser when
    /// a monitor's connection closes).
    pub fn reset(&mut self) {
        self.state = State::Start;
        self.token.clear();
        self.drop_message();
    }

    /// Reads `data`; returns the messages it completed, oldest first.
    pub fn feed(&mut self, data: &[u8]) -> Vec<Message> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            // Runs of plain bytes inside a string, or of white space between
            // tokens, move on at once.
            let run = match self.state {
                State::DqString | State::SqString => {
                    let quote = if self.state == State::DqString {
                        b'"'
                    } else {
                        b'\''
                    };
                    data[i..]
                        .iter()
                        .position(|&b| b == quote || b == b'\\' || !(0x20..=0xfd).contains(&b))
                        .unwrap_or(data.len() - i)
                }
                State::Start => data[i..]
                    .iter()
                    .position(|&b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    .unwrap_or(data.len() - i),
                _ => 0,
            };
            if run > 0 {
                if self.state != State::Start {
                    let room = self.limits.token_size + 1 - self.token.len();
                    let run = run.min(room);
                    self.token.extend_from_slice(&data[i..i + run]);
                    i += run;
                    self.check_token_size(&mut out);
                } else {
                    i += run;
                }
                continue;
            }
            self.feed_byte(data[i], &mut out);
            i += 1;
        }
        out
    }

    /// Ends the input: a token waiting for its next byte (`42` at the very
    /// end) is complete, an unfinished one is an error, and an unfinished
    /// message is parsed as it is (`premature EOI`). (QEMU's monitor does
    /// not do this when a connection closes: it drops what is unfinished,
    /// as [`reset`](Self::reset) does.)
    pub fn flush(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        while self.state != State::Start {
            match self.state {
                State::Zero | State::Digits => self.lexed(Lexed::Token(Kind::Integer), &mut out),
                State::MantissaDigits | State::ExpDigits => {
                    self.lexed(Lexed::Token(Kind::Float), &mut out)
                }
                State::Keyword => self.lexed(Lexed::Token(Kind::Keyword), &mut out),
                State::Recovery => {}
                _ => self.lexed(Lexed::Error, &mut out),
            }
            self.token.clear();
            self.state = State::Start;
        }
        if !self.tokens.is_empty() {
            let m = parse_tokens(&self.tokens, &self.text);
            self.drop_message();
            out.push(m);
        }
        out
    }

    fn feed_byte(&mut self, b: u8, out: &mut Vec<Message>) {
        loop {
            match step(self.state, b) {
                Step::Take(s) => {
                    self.token.push(b);
                    self.state = s;
                    self.check_token_size(out);
                    return;
                }
                Step::TakeEnd(kind) => {
                    self.token.push(b);
                    self.lexed(Lexed::Token(kind), out);
                    self.token.clear();
                    self.state = State::Start;
                    return;
                }
                Step::EndBefore(kind) => {
                    self.lexed(Lexed::Token(kind), out);
                    self.token.clear();
                    self.state = State::Start;
                }
                Step::Skip => return,
                Step::Error => {
                    self.token.push(b);
                    self.lexed(Lexed::Error, out);
                    self.token.clear();
                    self.state = State::Recovery;
                    return;
                }
                Step::Resync => self.state = State::Start,
            }
        }
    }

    /// QEMU's lexer hands over a token that grows past the limit, and the
    /// streamer refuses it.
    fn check_token_size(&mut self, out: &mut Vec<Message>) {
        if self.token.len() > self.limits.token_size {
            self.lexed(Lexed::Oversized, out);
            self.token.clear();
            self.state = State::Start;
        }
    }

    /// `json_message_process_token`.
    fn lexed(&mut self, what: Lexed, out: &mut Vec<Message>) {
        let kind = match what {
            Lexed::Error => {
                let text = &self.token[..];
                // QEMU prints the token with "%s": it ends at a NUL byte.
                let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
                let msg = format!("JSON parse error, stray '{}'", lossy(text));
                self.drop_message();
                out.push(Err(msg));
                return;
            }
            Lexed::Oversized => None,
            Lexed::Token(k) => Some(k),
        };
        match kind {
            Some(Kind::LCurly) => self.braces += 1,
            Some(Kind::RCurly) => self.braces -= 1,
            Some(Kind::LSquare) => self.brackets += 1,
            Some(Kind::RSquare) => self.brackets -= 1,
            _ => {}
        }
        let limit = if self.size + self.token.len() + 1 > self.limits.token_size {
            Some("JSON token size limit exceeded")
        } else if self.tokens.len() + 1 > self.limits.token_count {
            Some("JSON token count limit exceeded")
        } else if self.braces + self.brackets > self.limits.nesting as i64 {
            Some("JSON nesting depth limit exceeded")
        } else {
            None
        };
        if let Some(msg) = limit {
            self.drop_message();
            out.push(Err(msg.to_owned()));
            return;
        }
        let Some(kind) = kind else {
            // An oversized token always crosses the size limit above.
            return;
        };
        self.size += self.token.len();
        let start = self.text.len();
        self.text.extend_from_slice(&self.token);
        self.tokens.push(Token {
            kind,
            start,
            end: self.text.len(),
        });
        if (self.braces > 0 || self.brackets > 0) && self.braces >= 0 && self.brackets >= 0 {
            return;
        }
        let m = parse_tokens(&self.tokens, &self.text);
        self.drop_message();
        out.push(m);
    }

    fn drop_message(&mut self) {
        self.tokens.clear();
        self.text.clear();
        self.size = 0;
        self.braces = 0;
        self.brackets = 0;
    }
}

/// Bytes as QEMU's JSON writer reads a C string: each complete, valid
/// modified-UTF-8 sequence is its character (`C0 80` is U+0000), anything
/// else one U+FFFD per sequence QEMU's decoder gives up on.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (cp, len) = mod_utf8_codepoint(&bytes[i..]);
        s.push(cp.and_then(char::from_u32).unwrap_or('\u{FFFD}'));
        i += len;
    }
    s
}

/// QEMU's `is_valid_codepoint`: Unicode scalar values that are not
/// noncharacters.
pub(crate) fn valid_codepoint(cp: u32) -> bool {
    cp <= 0x10_FFFF
        && !(0xFDD0..=0xFDEF).contains(&cp)
        && cp & 0xFFFE != 0xFFFE
        && !(0xD800..=0xDFFF).contains(&cp)
}

/// QEMU's `mod_utf8_codepoint` over the start of `s` (never empty): the
/// code point, or `None` for an invalid sequence, and how many bytes it
/// took.
fn mod_utf8_codepoint(s: &[u8]) -> (Option<u32>, usize) {
    const MIN: [u32; 5] = [0x80, 0x800, 0x10000, 0x20_0000, 0x400_0000];
    let first = s[0];
    if first < 0x80 {
        return (Some(first as u32), 1);
    }
    if first >= 0xFE || first & 0x40 == 0 {
        return (None, 1);
    }
    let len = first.leading_ones() as usize;
    let mut cp = (first & (0x7f >> len)) as u32;
    for i in 1..len {
        match s.get(i) {
            Some(&b) if b & 0xC0 == 0x80 => cp = (cp << 6) | (b & 0x3F) as u32,
            _ => return (None, i),
        }
    }
    let ok = valid_codepoint(cp) && (cp >= MIN[len - 2] || (cp == 0 && len == 2));
    (ok.then_some(cp), len)
}

fn parse_error(msg: impl std::fmt::Display) -> String {
    format!("JSON parse error, {msg}")
}

/// `json_parser_parse` over one message's tokens.
fn parse_tokens(tokens: &[Token], text: &[u8]) -> Message {
    let mut p = Parser { tokens, text, i: 0 };
    p.value()
}

struct Parser<'a> {
    tokens: &'a [Token],
    text: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.i)
    }

    fn pop(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.i);
        self.i += 1;
        t
    }

    fn value(&mut self) -> Message {
        let Some(t) = self.peek() else {
            return Err(parse_error("premature EOI"));
        };
        match t.kind {
            Kind::LCurly => self.object(),
            Kind::LSquare => self.array(),
            Kind::Integer | Kind::Float | Kind::String | Kind::Keyword => {
                let t = &self.tokens[self.i];
                self.i += 1;
                literal(t.kind, &self.text[t.start..t.end])
            }
            _ => Err(parse_error("expecting value")),
        }
    }

    fn pair(&mut self, map: &mut Map<String, Value>) -> Result<(), String> {
        if self.peek().is_none() {
            return Err(parse_error("premature EOI"));
        }
        let Value::String(key) = self.value()? else {
            return Err(parse_error("key is not a string in object"));
        };
        match self.pop() {
            None => return Err(parse_error("premature EOI")),
            Some(t) if t.kind != Kind::Colon => {
                return Err(parse_error("missing : in object pair"));
            }
            Some(_) => {}
        }
        let value = self.value()?;
        if map.contains_key(&key) {
            return Err(parse_error("duplicate key"));
        }
        map.insert(key, value);
        Ok(())
    }

    fn object(&mut self) -> Message {
        self.i += 1;
        let mut map = Map::new();
        match self.peek() {
            None => return Err(parse_error("premature EOI")),
            Some(t) if t.kind == Kind::RCurly => {
                self.i += 1;
                return Ok(Value::Object(map));
            }
            Some(_) => {}
        }
        self.pair(&mut map)?;
        loop {
            match self.pop().map(|t| t.kind) {
                None => return Err(parse_error("premature EOI")),
                Some(Kind::RCurly) => return Ok(Value::Object(map)),
                Some(Kind::Comma) => self.pair(&mut map)?,
                Some(_) => return Err(parse_error("expected separator in dict")),
            }
        }
    }

    fn array(&mut self) -> Message {
        self.i += 1;
        let mut list = Vec::new();
        match self.peek() {
            None => return Err(parse_error("premature EOI")),
            Some(t) if t.kind == Kind::RSquare => {
                self.i += 1;
                return Ok(Value::Array(list));
            }
            Some(_) => {}
        }
        list.push(self.value()?);
        loop {
            match self.pop().map(|t| t.kind) {
                None => return Err(parse_error("premature EOI")),
                Some(Kind::RSquare) => return Ok(Value::Array(list)),
                Some(Kind::Comma) => list.push(self.value()?),
                Some(_) => return Err(parse_error("expected separator in list")),
            }
        }
    }
}

/// `parse_literal` and `parse_keyword`.
fn literal(kind: Kind, bytes: &[u8]) -> Message {
    // Number and keyword tokens are ASCII.
    let text = std::str::from_utf8(bytes).unwrap_or("");
    match kind {
        Kind::String => parse_string(bytes).map(Value::String),
        Kind::Keyword => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            _ => Err(parse_error(format_args!("invalid keyword '{text}'"))),
        },
        _ => {
            // An integer is an int64 if it fits, else (if not negative) a
            // uint64, else a double, as QEMU reads it.
            if kind == Kind::Integer {
                if let Ok(v) = text.parse::<i64>() {
                    return Ok(Value::Number(v.into()));
                }
                if !text.starts_with('-')
                    && let Ok(v) = text.parse::<u64>()
                {
                    return Ok(Value::Number(v.into()));
                }
            }
            crate::decimal::parse(text)
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| parse_error("number out of range"))
        }
    }
}

/// Up to four hex digits at the start of `s` (QEMU's `cvt4hex`): the value,
/// or `None` at the first byte that is not one.
fn hex4(s: &[u8]) -> Option<u32> {
    let mut cp = 0;
    for i in 0..4 {
        let d = (*s.get(i)? as char).to_digit(16)?;
        cp = cp << 4 | d;
    }
    Some(cp)
}

/// `parse_string`: the token's text, quotes included.
fn parse_string(tok: &[u8]) -> Result<String, String> {
    let quote = tok[0];
    let mut out = String::new();
    let mut i = 1;
    while i < tok.len() && tok[i] != quote {
        if tok[i] != b'\\' {
            let (cp, len) = mod_utf8_codepoint(&tok[i..]);
            match cp.and_then(char::from_u32) {
                Some(c) => out.push(c),
                None => return Err(parse_error("invalid UTF-8 sequence in string")),
            }
            i += len;
            continue;
        }
        let begin = i;
        i += 1;
        let e = tok.get(i).copied().unwrap_or(0);
        i += 1;
        let c = match e {
            b'"' => '"',
            b'\'' => '\'',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let mut cp = hex4(&tok[i..]);
                i += 4;
                if let Some(lead @ 0xD800..=0xDBFF) = cp
                    && tok.get(i) == Some(&b'\\')
                    && tok.get(i + 1) == Some(&b'u')
                {
                    cp = match hex4(&tok[i + 2..]) {
                        Some(trail @ 0xDC00..=0xDFFF) => {
                            i += 6;
                            Some(0x10000 + ((lead & 0x3FF) << 10 | trail & 0x3FF))
                        }
                        _ => None,
                    };
                }
                match cp.filter(|&c| valid_codepoint(c)).and_then(char::from_u32) {
                    Some(c) => c,
                    None => {
                        // QEMU prints the escape as far as it read it, but
                        // not past the end of the token.
                        let shown = &tok[begin..i.min(tok.len())];
                        return Err(parse_error(format_args!(
                            "{} is not a valid Unicode character",
                            lossy(shown)
                        )));
                    }
                }
            }
            _ => return Err(parse_error("invalid escape sequence in string")),
        };
        out.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &mut JsonStreamer, data: &[u8]) -> Vec<String> {
        s.feed(data)
            .into_iter()
            .map(|m| match m {
                Ok(v) => v.to_string(),
                Err(e) => format!("ERR {e}"),
            })
            .collect()
    }

    #[test]
    fn messages_are_cut_where_qemu_cuts_them() {
        let mut s = JsonStreamer::new();
        assert_eq!(
            feed(&mut s, br#"{"a": "}"} [1, [2]] 42 "x y" "#),
            [r#"{"a":"}"}"#, "[1,[2]]", "42", r#""x y""#]
        );
        assert_eq!(feed(&mut s, br#"{"a": "\"#), Vec::<String>::new());
        assert_eq!(feed(&mut s, br#""", "b": 1}"#), [r#"{"a":"\"","b":1}"#]);
        assert_eq!(feed(&mut s, "{'é': 1}".as_bytes()), [r#"{"é":1}"#]);
        assert_eq!(feed(&mut s, b"nul"), Vec::<String>::new());
        assert_eq!(feed(&mut s, b"l\n"), ["null"]);
        // A scalar ends at the first byte that cannot continue it.
        assert_eq!(feed(&mut s, b"1[2]"), ["1", "[2]"]);
        assert_eq!(
            feed(&mut s, b"truefalse "),
            ["ERR JSON parse error, invalid keyword 'truefalse'"]
        );
        assert_eq!(
            feed(&mut s, b"}"),
            ["ERR JSON parse error, expecting value"]
        );
        assert_eq!(
            feed(&mut s, b"[}"),
            ["ERR JSON parse error, expecting value"]
        );
        assert!(s.is_idle());
    }

    #[test]
    fn lexical_errors_and_recovery() {
        let mut s = JsonStreamer::new();
        // The bad byte is part of the token shown; what follows up to the
        // next structural character is skipped.
        assert_eq!(
            feed(&mut s, b"{\"a\": @xyz, 1}"),
            [
                "ERR JSON parse error, stray '@'",
                "ERR JSON parse error, expecting value",
                "1",
                "ERR JSON parse error, expecting value"
            ]
        );
        // Recovery skips values too, up to a control character.
        assert_eq!(
            feed(&mut s, b"\"ab\ncd\" 5 \t6\n7 "),
            ["ERR JSON parse error, stray '\"ab\n'", "7"]
        );
        assert_eq!(
            feed(&mut s, b"\x00 7\r8 "),
            ["ERR JSON parse error, stray ''", "8"]
        );
        assert_eq!(
            feed(&mut s, b"\xff 8\xfe9 "),
            [
                "ERR JSON parse error, stray '\u{FFFD}'",
                "ERR JSON parse error, stray '\u{FFFD}'"
            ]
        );
        assert_eq!(
            feed(&mut s, b"\n012 "),
            ["ERR JSON parse error, stray '01'"]
        );
        assert_eq!(feed(&mut s, b"\n-x "), ["ERR JSON parse error, stray '-x'"]);
    }

    #[test]
    fn strings_as_qemu_reads_them() {
        let one = |text: &[u8]| JsonStreamer::new().feed(text).remove(0);
        assert_eq!(one(br#""\u0000\u00e9\uD83D\uDE00\'""#).unwrap(), "\0é😀'");
        assert_eq!(one("'\\\"é'".as_bytes()).unwrap(), "\"é");
        assert_eq!(
            one(br#""\uD800x""#).unwrap_err(),
            "JSON parse error, \\uD800 is not a valid Unicode character"
        );
        assert_eq!(
            one(br#""\uFFFE""#).unwrap_err(),
            "JSON parse error, \\uFFFE is not a valid Unicode character"
        );
        assert_eq!(
            one(br#""\u12""#).unwrap_err(),
            "JSON parse error, \\u12\" is not a valid Unicode character"
        );
        assert_eq!(
            one(br#""\q""#).unwrap_err(),
            "JSON parse error, invalid escape sequence in string"
        );
        assert_eq!(
            one(b"\"\xc3\"").unwrap_err(),
            "JSON parse error, invalid UTF-8 sequence in string"
        );
        assert_eq!(
            one(b"\"\xed\xa0\x80\"").unwrap_err(),
            "JSON parse error, invalid UTF-8 sequence in string"
        );
        assert_eq!(one(b"\"\xc0\x80\"").unwrap(), "\0");
    }

    #[test]
    fn numbers_as_qemu_reads_them() {
        let one = |text: &[u8]| JsonStreamer::new().feed(text).remove(0);
        assert_eq!(one(b"-0 ").unwrap(), 0);
        assert_eq!(one(b"18446744073709551615 ").unwrap(), u64::MAX);
        assert!(one(b"18446744073709551616 ").unwrap().is_f64());
        assert!(one(b"-9223372036854775809 ").unwrap().is_f64());
        assert_eq!(one(b"1.5e3 ").unwrap(), 1500.0);
        assert_eq!(
            one(b"1e999 ").unwrap_err(),
            "JSON parse error, number out of range"
        );
    }

    #[test]
    fn limits() {
        let mut s = JsonStreamer::new();
        let deep = format!("{}{}", "[".repeat(1024), "]".repeat(1024));
        assert_eq!(s.feed(deep.as_bytes()).len(), 1);
        assert_eq!(
            feed(&mut s, "[".repeat(1025).as_bytes()),
            ["ERR JSON nesting depth limit exceeded"]
        );
        // The limit dropped the message; the next bracket starts a new one.
        assert_eq!(feed(&mut s, b"[]"), ["[]"]);
        let mut s = JsonStreamer::with_limits(16, 4, 1024);
        assert_eq!(
            feed(&mut s, b"[1, 2]"),
            ["ERR JSON token count limit exceeded"]
        );
        assert_eq!(feed(&mut s, b" 1 "), ["1"]);
        // A token is cut where it crosses the limit; the lexer starts afresh
        // after it (here the closing quote opens a new string).
        assert_eq!(
            feed(&mut s, b"\"0123456789abcdef\" "),
            ["ERR JSON token size limit exceeded"]
        );
        assert_eq!(feed(&mut s, b"\n"), ["ERR JSON parse error, stray '\" \n'"]);
        assert_eq!(feed(&mut s, b"\n[\"0123456789a\"]"), ["[\"0123456789a\"]"]);
        assert_eq!(
            feed(&mut s, b"[\"0123456789ab\"]"),
            ["ERR JSON token size limit exceeded"]
        );
    }

    #[test]
    fn flush_and_reset() {
        let mut s = JsonStreamer::new();
        assert!(s.feed(b"{\"a\": 42").is_empty());
        assert_eq!(
            s.flush(),
            [Err("JSON parse error, premature EOI".to_owned())]
        );
        assert!(s.feed(b"42").is_empty());
        assert_eq!(s.flush(), [Ok(Value::from(42))]);
        assert!(s.feed(b"[1, \"x").is_empty());
        s.reset();
        assert!(s.is_idle());
        assert_eq!(feed(&mut s, b"3 "), ["3"]);
    }

    #[test]
    fn lossy_is_qemus_decoder() {
        assert_eq!(lossy(b"a\xed\xa0\x80b"), "a\u{FFFD}b");
        assert_eq!(lossy(b"\xc3x"), "\u{FFFD}x");
        assert_eq!(lossy(b"\xef\xbf\xbe"), "\u{FFFD}");
        assert_eq!(lossy("é".as_bytes()), "é");
    }
}
