//! A QAPI-style argument visitor: reads the members of an arguments object
//! in schema order and refuses what QEMU's input visitor refuses, with its
//! texts (`Parameter 'x' is missing`, `Invalid parameter type for 'x',
//! expected: string`, `Parameter 'x' is unexpected`, `Parameter 'x' does not
//! accept value 'y'`).
//!
//! The same visitor reads options given on a command line in QEMU's keyval
//! syntax ([`Args::keyval`]): every scalar is a string there, converted to
//! the member's type as QEMU's keyval input visitor converts it
//! (`size=1024` an integer, `read-only=on` a boolean), with its texts
//! (`Parameter 'size' expects integer`).

use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// Reads one QAPI struct.
pub(crate) struct Args<'a> {
    obj: &'a Map<String, Value>,
    seen: Vec<&'a str>,
    prefix: String,
    /// Scalars are strings, as `keyval_parse` makes them.
    keyval: bool,
}

impl<'a> Args<'a> {
    pub fn new(obj: &'a Map<String, Value>, prefix: &str) -> Args<'a> {
        Args {
            obj,
            seen: Vec::new(),
            prefix: prefix.to_owned(),
            keyval: false,
        }
    }

    /// A visitor of options in keyval form (QEMU's
    /// `qobject_input_visitor_new_keyval`): integers and booleans are read
    /// from strings; a nested struct or list is visited the same way.
    pub fn keyval(obj: &'a Map<String, Value>) -> Args<'a> {
        Args {
            keyval: true,
            ..Args::new(obj, "")
        }
    }

    /// The visitor of a nested struct `name` (in the same form, keyval or
    /// not).
    pub fn nested(&self, obj: &'a Map<String, Value>, name: &str) -> Args<'a> {
        Args {
            keyval: self.keyval,
            ..Args::new(obj, &self.full(name))
        }
    }

    /// In keyval form, the string a scalar member is written as (QEMU's
    /// `qobject_input_get_keyval`); `None` for a JSON-form visitor.
    fn keyval_str(&self, name: &str, v: &'a Value) -> Result<Option<&'a str>> {
        if !self.keyval {
            return Ok(None);
        }
        match v {
            Value::String(s) => Ok(Some(s)),
            Value::Object(_) | Value::Array(_) => Err(Error::generic(format!(
                "Parameters '{}.*' are unexpected",
                self.full(name)
            ))),
            _ => Err(Error::generic(format!(
                "Internal error: parameter {} invalid",
                self.full(name)
            ))),
        }
    }

    /// `prefix.name`, as QEMU names nested members.
    pub fn full(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{}", self.prefix, name)
        }
    }

    fn get(&mut self, name: &'a str) -> Option<&'a Value> {
        let (k, v) = self.obj.get_key_value(name)?;
        self.seen.push(k.as_str());
        Some(v)
    }

    fn required(&mut self, name: &'a str) -> Result<&'a Value> {
        self.get(name)
            .ok_or_else(|| Error::missing_parameter(&self.full(name)))
    }

    fn as_str(&self, name: &str, v: &'a Value) -> Result<&'a str> {
        v.as_str()
            .ok_or_else(|| Error::invalid_type(&self.full(name), "string"))
    }

    /// A mandatory `str`.
    pub fn req_str(&mut self, name: &'a str) -> Result<String> {
        let v = self.required(name)?;
        Ok(self.as_str(name, v)?.to_owned())
    }

    /// An optional `str`.
    pub fn opt_str(&mut self, name: &'a str) -> Result<Option<String>> {
        match self.get(name) {
            Some(v) => Ok(Some(self.as_str(name, v)?.to_owned())),
            None => Ok(None),
        }
    }

    fn as_int(&self, name: &str, v: &'a Value) -> Result<i64> {
        if let Some(s) = self.keyval_str(name, v)? {
            return parse_i64(s).ok_or_else(|| Error::invalid_value(&self.full(name), "integer"));
        }
        v.as_i64()
            .ok_or_else(|| Error::invalid_type(&self.full(name), "integer"))
    }

    /// A mandatory `int`.
    pub fn req_int(&mut self, name: &'a str) -> Result<i64> {
        let v = self.required(name)?;
        self.as_int(name, v)
    }

    /// An optional `int`.
    pub fn opt_int(&mut self, name: &'a str) -> Result<Option<i64>> {
        match self.get(name) {
            Some(v) => Ok(Some(self.as_int(name, v)?)),
            None => Ok(None),
        }
    }

    /// QEMU's `uint64` visitor: a negative integer is taken as its two's
    /// complement (QEMU keeps that for compatibility); anything else that
    /// is not an integer "expects uint64".
    fn as_uint(&self, name: &str, v: &'a Value) -> Result<u64> {
        if let Some(s) = self.keyval_str(name, v)? {
            return parse_u64(s).ok_or_else(|| Error::invalid_value(&self.full(name), "integer"));
        }
        v.as_u64()
            .or_else(|| v.as_i64().map(|i| i as u64))
            .ok_or_else(|| Error::invalid_value(&self.full(name), "uint64"))
    }

    /// A mandatory count for qjob's own commands: a `uint64` that, unlike
    /// QEMU's, refuses negative integers.
    pub fn req_count(&mut self, name: &'a str) -> Result<u64> {
        let v = self.required(name)?;
        v.as_u64()
            .ok_or_else(|| Error::invalid_value(&self.full(name), "uint64"))
    }

    /// An optional [`req_count`](Self::req_count).
    pub fn opt_count(&mut self, name: &'a str) -> Result<Option<u64>> {
        if self.get(name).is_none() {
            return Ok(None);
        }
        self.req_count(name).map(Some)
    }

    /// An optional `uint32`: read as a `uint64`, then range-checked (QEMU
    /// names the bare member in this error).
    pub fn opt_u32(&mut self, name: &'a str) -> Result<Option<u32>> {
        match self.opt_uint(name)? {
            Some(v) => u32::try_from(v)
                .map(Some)
                .map_err(|_| Error::invalid_value(name, "uint32_t")),
            None => Ok(None),
        }
    }

    /// A mandatory `size` / `uint64`.
    pub fn req_uint(&mut self, name: &'a str) -> Result<u64> {
        let v = self.required(name)?;
        self.as_uint(name, v)
    }

    /// An optional `size` / `uint64`.
    pub fn opt_uint(&mut self, name: &'a str) -> Result<Option<u64>> {
        match self.get(name) {
            Some(v) => Ok(Some(self.as_uint(name, v)?)),
            None => Ok(None),
        }
    }

    /// An optional `bool`.
    pub fn opt_bool(&mut self, name: &'a str) -> Result<Option<bool>> {
        let v = self.get(name);
        if let Some(s) = v.map(|v| self.keyval_str(name, v)).transpose()?.flatten() {
            return match s {
                "on" | "yes" | "true" | "y" => Ok(Some(true)),
                "off" | "no" | "false" | "n" => Ok(Some(false)),
                _ => Err(Error::invalid_value(&self.full(name), "'on' or 'off'")),
            };
        }
        match v {
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| Error::invalid_type(&self.full(name), "boolean")),
            None => Ok(None),
        }
    }

    /// A mandatory enum value, parsed by `parse`.
    pub fn req_enum<T>(&mut self, name: &'a str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
        let v = self.required(name)?;
        let s = self.as_str(name, v)?;
        parse(s).ok_or_else(|| Error::bad_enum_value(name, s))
    }

    /// An optional enum value.
    pub fn opt_enum<T>(
        &mut self,
        name: &'a str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.get(name) {
            Some(v) => {
                let s = self.as_str(name, v)?;
                parse(s)
                    .map(Some)
                    .ok_or_else(|| Error::bad_enum_value(name, s))
            }
            None => Ok(None),
        }
    }

    /// A member that must be an object: its visitor.
    pub fn req_obj(&mut self, name: &'a str) -> Result<Args<'a>> {
        let v = self.required(name)?;
        self.obj_of(name, v)
    }

    /// An optional object member.
    pub fn opt_obj(&mut self, name: &'a str) -> Result<Option<Args<'a>>> {
        match self.get(name) {
            Some(v) => Ok(Some(self.obj_of(name, v)?)),
            None => Ok(None),
        }
    }

    fn obj_of(&self, name: &str, v: &'a Value) -> Result<Args<'a>> {
        match v {
            Value::Object(o) => Ok(self.nested(o, name)),
            _ => Err(Error::invalid_type(&self.full(name), "object")),
        }
    }

    /// A member that is any value (for alternates such as `BlockdevRef`).
    pub fn req_any(&mut self, name: &'a str) -> Result<&'a Value> {
        self.required(name)
    }

    /// An optional member of any type.
    pub fn opt_any(&mut self, name: &'a str) -> Option<&'a Value> {
        self.get(name)
    }

    /// A mandatory list.
    pub fn req_list(&mut self, name: &'a str) -> Result<&'a Vec<Value>> {
        let v = self.required(name)?;
        v.as_array()
            .ok_or_else(|| Error::invalid_type(&self.full(name), "array"))
    }

    /// An optional list.
    pub fn opt_list(&mut self, name: &'a str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(name) {
            Some(v) => v
                .as_array()
                .map(Some)
                .ok_or_else(|| Error::invalid_type(&self.full(name), "array")),
            None => Ok(None),
        }
    }

    /// A mandatory list of strings.
    pub fn req_str_list(&mut self, name: &'a str) -> Result<Vec<String>> {
        let full = self.full(name);
        let list = self.req_list(name)?;
        list.iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::invalid_type(&format!("{full}[{i}]"), "string"))
            })
            .collect()
    }

    /// Accepts members that qjob reads but does not simulate.
    pub fn ignore(&mut self, names: &[&'a str]) {
        for n in names {
            let _ = self.get(n);
        }
    }

    /// `visit_check_struct`: any member not read is unexpected.
    pub fn finish(self) -> Result<()> {
        self.check_unexpected()
    }

    /// Refuses the first member not read so far, as [`finish`](Self::finish)
    /// does, without ending the visit.
    pub fn check_unexpected(&self) -> Result<()> {
        for k in self.obj.keys() {
            if !self.seen.contains(&k.as_str()) {
                return Err(Error::unexpected_parameter(&self.full(k)));
            }
        }
        Ok(())
    }
}

/// Visitor over one element of a list (`name[i]`).
pub(crate) fn list_elem<'a>(list_name: &str, i: usize, v: &'a Value) -> Result<Args<'a>> {
    match v {
        Value::Object(o) => Ok(Args::new(o, &format!("{list_name}[{i}]"))),
        _ => Err(Error::invalid_type(&format!("{list_name}[{i}]"), "object")),
    }
}

impl<'a> Args<'a> {
    /// Visitor over one element of the list member `list` (`list[i]`, or
    /// `list.i` in keyval form, as QEMU names them), in the same form.
    pub fn elem(&self, list: &str, i: usize, v: &'a Value) -> Result<Args<'a>> {
        let full = if self.keyval {
            format!("{}.{i}", self.full(list))
        } else {
            format!("{}[{i}]", self.full(list))
        };
        match v {
            Value::Object(o) => Ok(Args {
                keyval: self.keyval,
                ..Args::new(o, &full)
            }),
            _ => Err(Error::invalid_type(&full, "object")),
        }
    }
}

/// `qemu_strtoi64(s, NULL, 0, …)`: decimal, `0x` hexadecimal or `0`
/// octal, an optional sign, nothing after the number.
fn parse_i64(s: &str) -> Option<i64> {
    let (neg, digits) = match s.trim_start().as_bytes().first() {
        Some(b'-') => (true, &s.trim_start()[1..]),
        Some(b'+') => (false, &s.trim_start()[1..]),
        _ => (false, s.trim_start()),
    };
    let magnitude = parse_radix(digits)?;
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// `qemu_strtou64(s, NULL, 0, …)`: as [`parse_i64`], and a negative number
/// wraps around as `strtoull` makes it.
fn parse_u64(s: &str) -> Option<u64> {
    let t = s.trim_start();
    match t.as_bytes().first() {
        Some(b'-') => parse_radix(&t[1..]).map(u64::wrapping_neg),
        Some(b'+') => parse_radix(&t[1..]),
        _ => parse_radix(t),
    }
}

fn parse_radix(digits: &str) -> Option<u64> {
    let (radix, body) = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, h)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(body, radix).ok()
}
