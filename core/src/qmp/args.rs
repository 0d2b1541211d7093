//! A QAPI-style argument visitor: reads the members of an arguments object
//! in schema order and refuses what QEMU's input visitor refuses, with its
//! texts (`Parameter 'x' is missing`, `Invalid parameter type for 'x',
//! expected: string`, `Parameter 'x' is unexpected`, `Parameter 'x' does not
//! accept value 'y'`).

use super::ghash::StrTable;
use super::wire::qdict_order;
use crate::error::{Error, Result};
use crate::profile::QemuVersion;
use serde_json::{Map, Value};

/// Reads one QAPI struct.
pub(crate) struct Args<'a> {
    obj: &'a Map<String, Value>,
    seen: Vec<&'a str>,
    prefix: String,
    /// QEMU's keyval visitor (options from the command line): numbers and
    /// booleans may come as strings.
    keyval: bool,
    /// With `keyval`: integers may carry a size suffix (`64M`), as the
    /// block layer's options from `-drive` take them; `--blockdev` and the
    /// like (QEMU's keyval input visitor proper) take plain integers.
    suffixes: bool,
    /// The QEMU whose schema is read: members a later QEMU added are read
    /// only when it has them ([`has_member`](Self::has_member)), and are
    /// unexpected otherwise.
    qemu: QemuVersion,
}

impl<'a> Args<'a> {
    pub fn new(obj: &'a Map<String, Value>, prefix: &str) -> Args<'a> {
        Args {
            obj,
            seen: Vec::new(),
            prefix: prefix.to_owned(),
            keyval: false,
            suffixes: false,
            qemu: QemuVersion::V7_2,
        }
    }

    /// This visitor reading `qemu`'s schema.
    pub fn with_qemu(mut self, qemu: QemuVersion) -> Args<'a> {
        self.qemu = qemu;
        self
    }

    /// The QEMU whose schema this visitor reads.
    pub fn qemu(&self) -> QemuVersion {
        self.qemu
    }

    /// Whether the schema read has the member `name` (one a later QEMU
    /// added: see [`QemuVersion::has_member`]).
    pub fn has_member(&self, name: &str) -> bool {
        self.qemu.has_member(name)
    }

    /// An optional `bool` member that only some QEMU versions have: left
    /// unread (so unexpected) by the others.
    pub fn opt_bool_since(&mut self, name: &'a str) -> Result<Option<bool>> {
        if self.has_member(name) {
            self.opt_bool(name)
        } else {
            Ok(None)
        }
    }

    /// A visitor that also takes numbers and booleans as strings, as
    /// QEMU's keyval visitor reads command-line options (`size=64M`,
    /// `read-zeroes=on`).
    pub fn keyval(obj: &'a Map<String, Value>, prefix: &str) -> Args<'a> {
        Args {
            keyval: true,
            suffixes: true,
            ..Args::new(obj, prefix)
        }
    }

    /// QEMU's keyval input visitor proper (`--blockdev`, `--object`,
    /// `--export`, ... on a command line): numbers and booleans as strings,
    /// integers without size suffixes (`size=1M` is `Parameter 'size'
    /// expects integer`).
    pub fn command_line(obj: &'a Map<String, Value>) -> Args<'a> {
        Args {
            keyval: true,
            ..Args::new(obj, "")
        }
    }

    /// `qemu_strtou64`/`qemu_strtoi64` of a keyval string: a plain
    /// integer, or with [`suffixes`](Self::keyval) a size.
    fn keyval_u64(&self, s: &str) -> Option<u64> {
        if self.suffixes {
            return keyval_number(s);
        }
        let (radix, digits) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => (16, h),
            None if s.len() > 1 && s.starts_with('0') => (8, &s[1..]),
            None => (10, s),
        };
        if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
            return None;
        }
        u64::from_str_radix(digits, radix).ok()
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

    /// In keyval form a scalar member that is a sub-object or a list
    /// (`size.x=1`): QEMU's `qobject_input_get_keyval` refusal.
    fn keyval_scalar(&self, name: &str, v: &Value) -> Result<()> {
        if self.keyval && (v.is_object() || v.is_array()) {
            return Err(Error::generic(format!(
                "Parameters '{}.*' are unexpected",
                self.full(name)
            )));
        }
        Ok(())
    }

    fn as_int(&self, name: &str, v: &Value) -> Result<i64> {
        self.keyval_scalar(name, v)?;
        if let (true, Value::String(s)) = (self.keyval, v) {
            return self
                .keyval_u64(s)
                .and_then(|n| i64::try_from(n).ok())
                .or_else(|| {
                    s.strip_prefix('-')
                        .and_then(|d| self.keyval_u64(d))
                        .map(|n| (n as i64).wrapping_neg())
                })
                .ok_or_else(|| Error::invalid_value(&self.full(name), "integer"));
        }
        v.as_i64()
            .ok_or_else(|| Error::invalid_type(&self.full(name), "integer"))
    }

    /// An optional `int` whose name is made at run time.
    pub fn opt_int_owned(&mut self, name: &str) -> Result<Option<i64>> {
        let Some((k, v)) = self.obj.get_key_value(name) else {
            return Ok(None);
        };
        self.seen.push(k.as_str());
        self.as_int(name, v).map(Some)
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
    fn as_uint(&self, name: &str, v: &Value) -> Result<u64> {
        self.keyval_scalar(name, v)?;
        if let (true, Value::String(s)) = (self.keyval, v) {
            return self
                .keyval_u64(s)
                .ok_or_else(|| Error::invalid_value(&self.full(name), "integer"));
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

    /// A mandatory `bool`.
    pub fn req_bool(&mut self, name: &'a str) -> Result<bool> {
        if self.obj.get(name).is_none() {
            return Err(Error::missing_parameter(&self.full(name)));
        }
        Ok(self.opt_bool(name)?.unwrap_or_default())
    }

    /// An optional `bool`.
    pub fn opt_bool(&mut self, name: &'a str) -> Result<Option<bool>> {
        if let Some(v) = self.obj.get(name) {
            self.keyval_scalar(name, v)?;
        }
        match self.get(name) {
            Some(Value::String(s)) if self.keyval => match s.as_str() {
                "on" | "yes" | "true" | "y" => Ok(Some(true)),
                "off" | "no" | "false" | "n" => Ok(Some(false)),
                _ => Err(Error::invalid_value(&self.full(name), "'on' or 'off'")),
            },
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

    /// A visitor of a nested object, in this visitor's mode.
    pub fn nested(&self, name: &str, o: &'a Map<String, Value>) -> Args<'a> {
        Args {
            keyval: self.keyval,
            suffixes: self.suffixes,
            qemu: self.qemu,
            ..Args::new(o, &self.full(name))
        }
    }

    fn obj_of(&self, name: &str, v: &'a Value) -> Result<Args<'a>> {
        match v {
            Value::Object(o) => Ok(self.nested(name, o)),
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

    /// A member as the visitor reads it, without taking it as read: from
    /// QEMU's keyval input visitor proper (`--blockdev`), strings of the
    /// members named in `ints` and `bools` (at any depth) become the
    /// integers and booleans QEMU reads them as, so the value is what its
    /// QAPI object holds; otherwise (JSON, or `-drive`'s QemuOpts, which
    /// keep strings) the member as given.
    pub fn peek_read(&self, name: &str, ints: &[&str], bools: &[&str]) -> Option<Value> {
        let v = self.obj.get(name)?;
        if !self.keyval || self.suffixes {
            return Some(v.clone());
        }
        Some(self.typed(name, v, ints, bools))
    }

    fn typed(&self, name: &str, v: &Value, ints: &[&str], bools: &[&str]) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), self.typed(k, v, ints, bools)))
                    .collect(),
            ),
            Value::Array(l) => {
                Value::Array(l.iter().map(|v| self.typed(name, v, ints, bools)).collect())
            }
            Value::String(s) if ints.contains(&name) => match self.keyval_u64(s) {
                Some(n) => n.into(),
                None => v.clone(),
            },
            Value::String(s) if bools.contains(&name) && (s == "on" || s == "off") => {
                Value::Bool(s == "on")
            }
            _ => v.clone(),
        }
    }

    /// Every member, all taken as read (for commands whose arguments are
    /// free-form, such as `device_add`'s properties).
    pub fn all(&mut self) -> &'a Map<String, Value> {
        self.seen = self.obj.keys().map(String::as_str).collect();
        self.obj
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
    ///
    /// Of several unread members, the one QEMU names: its visitor keeps the
    /// names in a GLib hash table filled in the `QDict`'s order, removes each
    /// member as it reads it, and names the table's first ([`StrTable`]).
    pub fn check_unexpected(&self) -> Result<()> {
        let mut table = StrTable::new();
        for (k, _) in qdict_order(self.obj) {
            table.insert(k);
        }
        for k in &self.seen {
            table.remove(k);
        }
        match table.first() {
            Some(k) => Err(Error::unexpected_parameter(&self.full(k))),
            None => Ok(()),
        }
    }
}

/// A command-line number: decimal, `0x` hexadecimal or `0` octal, with an
/// optional size suffix (`k`, `M`, `G`, `T`, `P`, `E`: powers of 1024,
/// `B`: bytes), as QEMU's option parsers read sizes.
pub(crate) fn keyval_number(s: &str) -> Option<u64> {
    let (digits, shift) = match s.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() && !s.starts_with("0x") && !s.starts_with("0X") => {
            let shift = match c.to_ascii_uppercase() {
                'B' => 0,
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                'P' => 50,
                'E' => 60,
                _ => return None,
            };
            (&s[..i], shift)
        }
        _ => (s, 0),
    };
    let n = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(h, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    n.checked_mul(1u64 << shift)
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
                suffixes: self.suffixes,
                qemu: self.qemu,
                ..Args::new(o, &full)
            }),
            _ => Err(Error::invalid_type(&full, "object")),
        }
    }
}

/// Visitor over one element of a list (`name[i]`).
pub(crate) fn list_elem<'a>(list_name: &str, i: usize, v: &'a Value) -> Result<Args<'a>> {
    match v {
        Value::Object(o) => Ok(Args::new(o, &format!("{list_name}[{i}]"))),
        _ => Err(Error::invalid_type(&format!("{list_name}[{i}]"), "object")),
    }
}
