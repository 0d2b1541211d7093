//! The binary snapshot's encoding as a compact, non-self-describing serde
//! format over the types' derived `Serialize`/`Deserialize`: what
//! `codec.rs` writes and reads without serde, kept (for tests only) as
//! the reference it is checked against byte for byte.
//!
//! The format: Values are written in declaration order with no names or tags:
//! unsigned integers as LEB128 varints, signed ones zigzagged, floats as
//! little-endian IEEE 754, strings and sequences length-prefixed, `Option`
//! as a 0/1 byte, an enum variant as its index. Reading back needs the same
//! types, which the format version guarantees.
//!
//! Going straight from the manager's types to bytes (no intermediate value
//! tree) keeps snapshots fast and keeps the decoder small: only sequential
//! visitors are instantiated, not the by-name ones a JSON reader needs.
//!
//! Hostile input is refused, never trusted: lengths beyond the remaining
//! input, over-long varints, out-of-range integers, bad UTF-8 and unknown
//! tags are errors.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use std::fmt;

/// An encoding or decoding failure (a message).
#[derive(Debug)]
pub(crate) struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
    // What was found is left out of these two: the binary form has no types
    // to show (only bytes), and describing it would link float formatting
    // into every program that restores snapshots (a WebAssembly module pays
    // for that in size).
    fn invalid_type(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Error(format!("invalid type, expected {expected}"))
    }
    fn invalid_value(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Error(format!("invalid value, expected {expected}"))
    }
}

type Result<T> = std::result::Result<T, Error>;

/// Appends the encoding of `v` to `out`.
pub(crate) fn encode<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<()> {
    v.serialize(&mut Writer { out })
}

/// Decodes a `T` from all of `input`.
pub(crate) fn decode<'de, T: de::Deserialize<'de>>(input: &'de [u8]) -> Result<T> {
    let mut r = Reader { b: input, i: 0 };
    let v = T::deserialize(&mut r)?;
    if r.i != input.len() {
        return Err(Error("trailing bytes".into()));
    }
    Ok(v)
}

// ----------------------------------------------------------------------
// Writing
// ----------------------------------------------------------------------

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }

    fn signed(&mut self, n: i64) {
        self.varint(((n << 1) ^ (n >> 63)) as u64);
    }

    /// Floats as little-endian IEEE 754 (an `f32` is widened: exact).
    fn float(&mut self, v: f64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.out.extend_from_slice(b);
    }

    fn len(&mut self, len: Option<usize>) -> Result<()> {
        let n = len.ok_or_else(|| Error("a sequence of unknown length".into()))?;
        self.varint(n as u64);
        Ok(())
    }
}

macro_rules! write_numbers {
    ($($method:ident($t:ty) => $how:ident),+ $(,)?) => {$(
        fn $method(self, v: $t) -> Result<()> {
            self.$how(v.into());
            Ok(())
        }
    )+};
}

macro_rules! read_numbers {
    ($($method:ident => $visit:ident($how:ident)),+ $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
            v.$visit(self.$how()?)
        }
    )+};
}

impl<'a, 'b> ser::Serializer for &'a mut Writer<'b> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out.push(v as u8);
        Ok(())
    }
    write_numbers! {
        serialize_i8(i8) => signed,
        serialize_i16(i16) => signed,
        serialize_i32(i32) => signed,
        serialize_i64(i64) => signed,
        serialize_u8(u8) => varint,
        serialize_u16(u16) => varint,
        serialize_u32(u32) => varint,
        serialize_u64(u64) => varint,
        serialize_f32(f32) => float,
        serialize_f64(f64) => float,
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.varint(v as u64);
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        self.bytes(v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.bytes(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<()> {
        self.out.push(0);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<()> {
        self.out.push(1);
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, index: u32, _: &'static str) -> Result<()> {
        self.varint(index.into());
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        v: &T,
    ) -> Result<()> {
        self.varint(index.into());
        v.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self> {
        self.len(len)?;
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self> {
        self.varint(index.into());
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self> {
        self.len(len)?;
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self> {
        self.varint(index.into());
        Ok(self)
    }
}

macro_rules! compound {
    ($($trait:ident :: $method:ident),+) => {$(
        impl ser::$trait for &mut Writer<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<()> {
                Ok(())
            }
        }
    )+};
}

compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for &mut Writer<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<()> {
        k.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<()> {
        Ok(())
    }
}

macro_rules! fields {
    ($($trait:ident),+) => {$(
        impl ser::$trait for &mut Writer<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &'static str, v: &T) -> Result<()> {
                v.serialize(&mut **self)
            }
            // Fields are positional: a field left out would shift the rest.
            fn skip_field(&mut self, key: &'static str) -> Result<()> {
                Err(Error(format!("field `{key}` cannot be skipped in the binary form")))
            }
            fn end(self) -> Result<()> {
                Ok(())
            }
        }
    )+};
}

fields!(SerializeStruct, SerializeStructVariant);

// ----------------------------------------------------------------------
// Reading
// ----------------------------------------------------------------------

struct Reader<'de> {
    b: &'de [u8],
    i: usize,
}

impl<'de> Reader<'de> {
    fn byte(&mut self) -> Result<u8> {
        let x = *self
            .b
            .get(self.i)
            .ok_or_else(|| Error("truncated".into()))?;
        self.i += 1;
        Ok(x)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let part = (b & 0x7f) as u64;
            if shift == 63 && part > 1 {
                return Err(Error("varint out of range".into()));
            }
            n |= part << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(Error("varint too long".into()))
    }

    fn signed(&mut self) -> Result<i64> {
        let z = self.varint()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn uint<T: TryFrom<u64>>(&mut self) -> Result<T> {
        let n = self.varint()?;
        T::try_from(n).map_err(|_| out_of_range(&n))
    }

    fn int<T: TryFrom<i64>>(&mut self) -> Result<T> {
        let n = self.signed()?;
        T::try_from(n).map_err(|_| out_of_range(&n))
    }

    /// A length prefix; every element takes at least one byte, so a length
    /// beyond the remaining input is damage, not a reason to allocate.
    fn len(&mut self) -> Result<usize> {
        let n = self.varint()?;
        if n > (self.b.len() - self.i) as u64 {
            return Err(Error("length beyond the end".into()));
        }
        Ok(n as usize)
    }

    fn take(&mut self, n: usize) -> Result<&'de [u8]> {
        let end = self
            .i
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| Error("truncated".into()))?;
        let s = &self.b[self.i..end];
        self.i = end;
        Ok(s)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn float<T: FloatFrom>(&mut self) -> Result<T> {
        T::from_f64(f64::from_le_bytes(self.fixed()?))
    }

    fn str(&mut self) -> Result<&'de str> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|e| Error(e.to_string()))
    }
}

/// A float read back from its `f64` form.
trait FloatFrom: Sized {
    fn from_f64(v: f64) -> Result<Self>;
}

impl FloatFrom for f64 {
    fn from_f64(v: f64) -> Result<f64> {
        Ok(v)
    }
}

impl FloatFrom for f32 {
    fn from_f64(v: f64) -> Result<f32> {
        let f = v as f32;
        if f as f64 == v || v.is_nan() {
            Ok(f)
        } else {
            Err(Error(format!("{v} is not an f32")))
        }
    }
}

// The error constructors below are out of line and not generic: the reading
// methods are instantiated once per visited type, and a message formatted in
// each copy is code the decoder carries many times over.

#[cold]
#[inline(never)]
fn out_of_range(n: &dyn fmt::Display) -> Error {
    Error(format!("integer {n} out of range"))
}

#[cold]
#[inline(never)]
fn bad_tag(what: &str, b: u8) -> Error {
    Error(format!("invalid {what} {b}"))
}

#[cold]
#[inline(never)]
fn not_self_describing() -> Error {
    Error("the binary snapshot form is not self-describing".into())
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Error;

    fn is_human_readable(&self) -> bool {
        false
    }
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(not_self_describing())
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(not_self_describing())
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(not_self_describing())
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        match self.byte()? {
            0 => v.visit_bool(false),
            1 => v.visit_bool(true),
            b => Err(bad_tag("boolean", b)),
        }
    }
    read_numbers! {
        deserialize_i8 => visit_i8(int),
        deserialize_i16 => visit_i16(int),
        deserialize_i32 => visit_i32(int),
        deserialize_i64 => visit_i64(signed),
        deserialize_u8 => visit_u8(uint),
        deserialize_u16 => visit_u16(uint),
        deserialize_u32 => visit_u32(uint),
        deserialize_u64 => visit_u64(varint),
        deserialize_f32 => visit_f32(float),
        deserialize_f64 => visit_f64(float),
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let n: u32 = self.uint()?;
        v.visit_char(char::from_u32(n).ok_or_else(|| Error(format!("invalid char {n}")))?)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        v.visit_borrowed_str(self.str()?)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        v.visit_borrowed_str(self.str()?)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let n = self.len()?;
        v.visit_borrowed_bytes(self.take(n)?)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.deserialize_bytes(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        match self.byte()? {
            0 => v.visit_none(),
            1 => v.visit_some(self),
            b => Err(bad_tag("option tag", b)),
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let n = self.len()?;
        v.visit_seq(Items { r: self, left: n })
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value> {
        v.visit_seq(Fields { r: self, left: len })
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value> {
        v.visit_seq(Fields { r: self, left: len })
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let n = self.len()?;
        v.visit_map(Items { r: self, left: n })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        v.visit_seq(Fields {
            r: self,
            left: fields.len(),
        })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        v.visit_enum(self)
    }
}

/// The fields of a struct, tuple or variant: as many as the type declares,
/// every one present in the input (`left` still to read).
///
/// Unlike [`Items`] it never answers "no more elements": a derived visitor
/// asks for exactly the declared fields, so its "too few elements" branch is
/// dead, and with this method inlined the compiler removes it, with its
/// error message and clean-up, from every field of every type (a large part
/// of the decoder's code). A visitor asking past the declared count gets an
/// error.
struct Fields<'a, 'de> {
    r: &'a mut Reader<'de>,
    left: usize,
}

#[cold]
#[inline(never)]
fn past_the_fields() -> Error {
    Error("more fields read than declared".into())
}

impl<'de> de::SeqAccess<'de> for Fields<'_, 'de> {
    type Error = Error;
    #[inline(always)]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Err(past_the_fields());
        }
        self.left -= 1;
        seed.deserialize(&mut *self.r).map(Some)
    }
    // What derived visitors call: inlined too, so that the `Some` is seen.
    #[inline(always)]
    fn next_element<T: de::Deserialize<'de>>(&mut self) -> Result<Option<T>> {
        if self.left == 0 {
            return Err(past_the_fields());
        }
        self.left -= 1;
        T::deserialize(&mut *self.r).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The elements of a sequence or map: `left` still to read.
struct Items<'a, 'de> {
    r: &'a mut Reader<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.r).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.r).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.r)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::EnumAccess<'de> for &mut Reader<'de> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let index: u32 = self.uint()?;
        let v = seed.deserialize(IntoDeserializer::<Error>::into_deserializer(index))?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut Reader<'de> {
    type Error = Error;
    fn unit_variant(self) -> Result<()> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value> {
        v.visit_seq(Fields { r: self, left: len })
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        v.visit_seq(Fields {
            r: self,
            left: fields.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum E {
        Unit,
        New(i32),
        Tup(u8, String),
        Rec { a: Option<u64>, b: bool },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        id: Arc<str>,
        n: i64,
        f: f64,
        c: char,
        v: Vec<E>,
        m: BTreeMap<u32, (u16, Option<String>)>,
        unit: (),
    }

    fn sample() -> S {
        S {
            id: "job-é".into(),
            n: i64::MIN,
            f: -0.5,
            c: '∑',
            v: vec![
                E::Unit,
                E::New(-7),
                E::Tup(255, "x".into()),
                E::Rec {
                    a: Some(u64::MAX),
                    b: true,
                },
                E::Rec { a: None, b: false },
            ],
            m: [(1, (2, None)), (u32::MAX, (0, Some(String::new())))].into(),
            unit: (),
        }
    }

    #[test]
    fn round_trips() {
        let mut out = Vec::new();
        encode(&mut out, &sample()).unwrap();
        assert_eq!(decode::<S>(&out).unwrap(), sample());
    }

    #[test]
    fn refuses_damage_without_panicking() {
        let mut good = Vec::new();
        encode(&mut good, &sample()).unwrap();
        // Every truncation and every single-byte change is either refused or
        // decodes to some value; none panics or allocates wildly.
        for n in 0..good.len() {
            assert!(decode::<S>(&good[..n]).is_err());
        }
        for i in 0..good.len() {
            for b in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                let _ = decode::<S>(&bad);
            }
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode::<S>(&trailing).is_err());
        // A huge length prefix is refused before anything is allocated.
        assert!(decode::<Vec<u8>>(&[0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(decode::<u8>(&[0x80, 0x02]).is_err());
        assert!(decode::<u64>(&[0xff; 11]).is_err());
        assert!(decode::<bool>(&[2]).is_err());
    }

    /// A struct's fields are all present: a visitor that asks for more
    /// than the count it declared gets an error, not "no more elements",
    /// and one that reads the declared count decodes.
    #[test]
    fn fields_past_the_declared_count_are_an_error() {
        struct Greedy(usize);
        impl<'de> Visitor<'de> for Greedy {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                for _ in 0..self.0 {
                    out.push(seq.next_element()?.expect("a field is never missing"));
                }
                Ok(out)
            }
        }
        let input = [7u8, 8, 9];
        let mut r = Reader { b: &input, i: 0 };
        let two = de::Deserializer::deserialize_struct(&mut r, "T", &["a", "b"], Greedy(2));
        assert_eq!(two.unwrap(), [7, 8]);
        let mut r = Reader { b: &input, i: 0 };
        let three = de::Deserializer::deserialize_tuple(&mut r, 2, Greedy(3));
        assert_eq!(three.unwrap_err().0, "more fields read than declared");
    }

    /// QAPI enums travel as their index: one byte, and an index the enum
    /// does not have is refused.
    #[test]
    fn qapi_enums_are_their_index() {
        use crate::model::{JobStatus, OnError};
        let mut out = Vec::new();
        encode(&mut out, &(OnError::Auto, JobStatus::Null)).unwrap();
        assert_eq!(out, [4, 10]);
        assert_eq!(
            decode::<(OnError, JobStatus)>(&out).unwrap(),
            (OnError::Auto, JobStatus::Null)
        );
        assert!(decode::<OnError>(&[5]).is_err());
    }
}
