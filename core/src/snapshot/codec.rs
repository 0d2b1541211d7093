//! The binary snapshot's encoding: compact and positional. Values are
//! written in declaration order with no names or tags: unsigned integers as
//! LEB128 varints, signed ones zigzagged, floats as little-endian IEEE 754,
//! strings and sequences length-prefixed, `Option` as a 0/1 byte, an enum
//! variant as its index, then its fields. Reading back needs the same
//! types, which the format version guarantees.
//!
//! Each type says how it is written through [`Codec`], implemented by
//! [`codec_struct!`] and [`codec_enum!`] beside the type from a list of its
//! fields or variants (an exhaustive destructuring: a field left out of the
//! list does not compile), and by hand below for the standard types. This
//! is the encoding a non-self-describing serde format gives the types'
//! derived `Serialize` (the JSON form still goes through serde), written
//! without serde's visitors: a restoring program (a WebAssembly module)
//! carries one small decoder per type instead of serde's generic machinery.
//! A test checks it byte for byte against that serde encoding over every
//! scenario of the corpus.
//!
//! Hostile input is refused, never trusted: lengths beyond the remaining
//! input, over-long varints, out-of-range integers, bad UTF-8 and unknown
//! tags are errors.
//!
//! Decoding does not stop at the first error: the [`Reader`] keeps it and
//! from then on reads as an exhausted input (zeros, empty strings and
//! sequences, an enum's first variant), so every decoder builds its whole
//! value and [`decode`] drops it and returns that first error. Decoders
//! need no early returns, and a program carries none of the clean-up code
//! (dropping the fields read so far) that each early return out of the
//! middle of a struct would need: restoring a snapshot is about half the
//! code in a WebAssembly module.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt;
use std::sync::Arc;

/// A decoding failure (a message).
#[derive(Debug)]
pub(crate) struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// A value of the binary snapshot: how it is written and read back.
pub(crate) trait Codec: Sized {
    /// Appends the value's encoding.
    fn encode(&self, w: &mut Writer<'_>);
    /// Reads a value written by [`encode`](Codec::encode); after an error
    /// (kept by `r`), some value of the type.
    fn decode(r: &mut Reader<'_>) -> Self;
}

/// A 64-bit checksum of `b` against damage (not an adversary): eight bytes
/// at a time, each mixed in by a multiply and a rotation, the length last.
pub(crate) fn checksum(b: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().expect("eight bytes"));
        h = (h ^ x).wrapping_mul(K).rotate_left(29);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(last))
        .wrapping_mul(K)
        .rotate_left(29);
    (h ^ b.len() as u64).wrapping_mul(K) ^ (h >> 32)
}

/// Appends the encoding of `v` to `out`.
pub(crate) fn encode<T: Codec>(out: &mut Vec<u8>, v: &T) {
    v.encode(&mut Writer { out })
}

/// Decodes a `T` from all of `input`.
pub(crate) fn decode<T: Codec>(input: &[u8]) -> Result<T> {
    let mut r = Reader {
        b: input,
        i: 0,
        error: None,
    };
    let v = T::decode(&mut r);
    match r.error {
        Some(e) => Err(e),
        None if r.i != input.len() => Err(Error("trailing bytes".into())),
        None => Ok(v),
    }
}

// ----------------------------------------------------------------------
// Writing
// ----------------------------------------------------------------------

/// Where values are written.
pub(crate) struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    /// An unsigned integer (also a length, an enum variant's index).
    pub(crate) fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }

    fn signed(&mut self, n: i64) {
        self.varint(((n << 1) ^ (n >> 63)) as u64);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.out.extend_from_slice(b);
    }
}

// ----------------------------------------------------------------------
// Reading
// ----------------------------------------------------------------------

/// What values are read from: the input, the position in it, and the
/// first error met (after which the input reads as exhausted).
pub(crate) struct Reader<'de> {
    b: &'de [u8],
    i: usize,
    error: Option<Error>,
}

impl<'de> Reader<'de> {
    /// Keeps `e` unless an error came first, and exhausts the input: what
    /// follows reads as zeros and empty sequences.
    #[cold]
    #[inline(never)]
    pub(crate) fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.i = self.b.len();
    }

    /// Whether an error was met.
    pub(crate) fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn byte(&mut self) -> u8 {
        match self.b.get(self.i) {
            Some(&x) => {
                self.i += 1;
                x
            }
            None => {
                if !self.failed() {
                    self.fail(truncated());
                }
                0
            }
        }
    }

    /// An unsigned integer written by [`Writer::varint`].
    pub(crate) fn varint(&mut self) -> u64 {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte();
            let part = (b & 0x7f) as u64;
            if shift == 63 && part > 1 {
                self.fail(Error("varint out of range".into()));
                return 0;
            }
            n |= part << shift;
            if b & 0x80 == 0 {
                return n;
            }
        }
        self.fail(Error("varint too long".into()));
        0
    }

    fn signed(&mut self) -> i64 {
        let z = self.varint();
        ((z >> 1) as i64) ^ -((z & 1) as i64)
    }

    /// A length prefix; every element takes at least one byte, so a length
    /// beyond the remaining input is damage, not a reason to allocate.
    pub(crate) fn len(&mut self) -> usize {
        let n = self.varint();
        if n > (self.b.len() - self.i) as u64 {
            self.fail(Error("length beyond the end".into()));
            return 0;
        }
        n as usize
    }

    /// The next `n` bytes (after an error, or beyond the end: none).
    fn take(&mut self, n: usize) -> &'de [u8] {
        match self.i.checked_add(n).filter(|&e| e <= self.b.len()) {
            Some(end) => {
                let s = &self.b[self.i..end];
                self.i = end;
                s
            }
            None => {
                self.fail(truncated());
                &[]
            }
        }
    }

    fn str(&mut self) -> &'de str {
        let n = self.len();
        match std::str::from_utf8(self.take(n)) {
            Ok(s) => s,
            Err(_) => {
                self.fail(Error("invalid UTF-8".into()));
                ""
            }
        }
    }

    /// An enum variant's index, below `count` (an index beyond is an
    /// error, read as the first variant).
    pub(crate) fn variant(&mut self, what: &str, count: usize) -> usize {
        let i = self.varint();
        if i >= count as u64 {
            self.fail(no_such_variant(what, i));
            return 0;
        }
        i as usize
    }
}

// The error constructors are out of line and not generic: a message
// formatted in each of the many decoders would be code carried many times.

#[cold]
#[inline(never)]
fn truncated() -> Error {
    Error("truncated".into())
}

#[cold]
#[inline(never)]
fn out_of_range(n: u64) -> Error {
    Error(format!("integer {n} out of range"))
}

#[cold]
#[inline(never)]
fn signed_out_of_range(n: i64) -> Error {
    Error(format!("integer {n} out of range"))
}

#[cold]
#[inline(never)]
fn bad_tag(what: &str, b: u8) -> Error {
    Error(format!("invalid {what} {b}"))
}

/// An enum variant index the enum does not have.
#[cold]
#[inline(never)]
fn no_such_variant(what: &str, index: u64) -> Error {
    Error(format!("no variant {index} of {what}"))
}

/// How many elements of `T` a length prefix may make room for at once (at
/// most 1 MiB): a damaged length is refused when the input runs out, before
/// it has reserved much.
fn cautious<T>(n: usize) -> usize {
    n.min((1 << 20) / std::mem::size_of::<T>().max(1))
}

// ----------------------------------------------------------------------
// The standard types
// ----------------------------------------------------------------------

macro_rules! unsigned {
    ($($t:ty),+) => {$(
        impl Codec for $t {
            #[inline]
            fn encode(&self, w: &mut Writer<'_>) {
                w.varint(*self as u64);
            }
            #[inline]
            fn decode(r: &mut Reader<'_>) -> Self {
                let n = r.varint();
                <$t>::try_from(n).unwrap_or_else(|_| {
                    r.fail(out_of_range(n));
                    0
                })
            }
        }
    )+};
}

unsigned!(u8, u16, u32, usize);

impl Codec for u64 {
    #[inline]
    fn encode(&self, w: &mut Writer<'_>) {
        w.varint(*self);
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Self {
        r.varint()
    }
}

impl Codec for i32 {
    fn encode(&self, w: &mut Writer<'_>) {
        w.signed((*self).into());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        let n = r.signed();
        i32::try_from(n).unwrap_or_else(|_| {
            r.fail(signed_out_of_range(n));
            0
        })
    }
}

impl Codec for i64 {
    fn encode(&self, w: &mut Writer<'_>) {
        w.signed(*self);
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        r.signed()
    }
}

impl Codec for f64 {
    fn encode(&self, w: &mut Writer<'_>) {
        w.out.extend_from_slice(&self.to_le_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        r.take(8).try_into().map_or(0.0, f64::from_le_bytes)
    }
}

impl Codec for bool {
    #[inline]
    fn encode(&self, w: &mut Writer<'_>) {
        w.out.push(*self as u8);
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Self {
        match r.byte() {
            0 => false,
            1 => true,
            b => {
                r.fail(bad_tag("boolean", b));
                false
            }
        }
    }
}

impl Codec for String {
    fn encode(&self, w: &mut Writer<'_>) {
        w.bytes(self.as_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        r.str().to_owned()
    }
}

impl Codec for Box<str> {
    fn encode(&self, w: &mut Writer<'_>) {
        w.bytes(self.as_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        Box::from(r.str())
    }
}

impl Codec for Arc<str> {
    fn encode(&self, w: &mut Writer<'_>) {
        w.bytes(self.as_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        Arc::from(r.str())
    }
}

/// A JSON value (a node's options as given) as its JSON text, read back
/// with the core's own reader (already linked for QMP: no second JSON
/// reader in a WebAssembly module), which reads serde_json's text to the
/// same values.
impl Codec for serde_json::Value {
    fn encode(&self, w: &mut Writer<'_>) {
        w.bytes(crate::qmp::json::to_text(self).as_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        let text = r.str();
        if r.failed() {
            return serde_json::Value::Null;
        }
        crate::qmp::json::parse_strict(text).unwrap_or_else(|e| {
            r.fail(Error(format!("an option's JSON: {e}")));
            serde_json::Value::Null
        })
    }
}

impl<T: Codec> Codec for Option<T> {
    fn encode(&self, w: &mut Writer<'_>) {
        match self {
            None => w.out.push(0),
            Some(v) => {
                w.out.push(1);
                v.encode(w);
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        match r.byte() {
            0 => None,
            1 => Some(T::decode(r)),
            b => {
                r.fail(bad_tag("option tag", b));
                None
            }
        }
    }
}

impl<T: Codec> Codec for Box<T> {
    fn encode(&self, w: &mut Writer<'_>) {
        (**self).encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        Box::new(T::decode(r))
    }
}

impl<T: Codec> Codec for Reverse<T> {
    fn encode(&self, w: &mut Writer<'_>) {
        self.0.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        Reverse(T::decode(r))
    }
}

/// Writes a length, then each element.
fn encode_seq<'a, T: Codec + 'a>(
    w: &mut Writer<'_>,
    len: usize,
    items: impl Iterator<Item = &'a T>,
) {
    w.varint(len as u64);
    for x in items {
        x.encode(w);
    }
}

impl<T: Codec> Codec for Vec<T> {
    fn encode(&self, w: &mut Writer<'_>) {
        encode_seq(w, self.len(), self.iter());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        let n = r.len();
        let mut v = Vec::with_capacity(cautious::<T>(n));
        for _ in 0..n {
            v.push(T::decode(r));
        }
        v
    }
}

impl<T: Codec> Codec for VecDeque<T> {
    fn encode(&self, w: &mut Writer<'_>) {
        encode_seq(w, self.len(), self.iter());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        VecDeque::from(Vec::decode(r))
    }
}

impl<T: Codec + Ord> Codec for BTreeSet<T> {
    fn encode(&self, w: &mut Writer<'_>) {
        encode_seq(w, self.len(), self.iter());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        let n = r.len();
        let mut s = BTreeSet::new();
        for _ in 0..n {
            s.insert(T::decode(r));
        }
        s
    }
}

/// A heap as its elements in the heap's own order, pushed back one by one
/// (which rebuilds the same order).
impl<T: Codec + Ord> Codec for BinaryHeap<T> {
    fn encode(&self, w: &mut Writer<'_>) {
        encode_seq(w, self.len(), self.iter());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        let n = r.len();
        let mut h = BinaryHeap::with_capacity(cautious::<T>(n));
        for _ in 0..n {
            h.push(T::decode(r));
        }
        h
    }
}

/// A map's bytes: its length, then each key and value, in key order.
fn encode_map<'a, K: Codec + 'a, V: Codec + 'a>(
    w: &mut Writer<'_>,
    len: usize,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
) {
    w.varint(len as u64);
    for (k, v) in entries {
        k.encode(w);
        v.encode(w);
    }
}

/// Reads [`encode_map`]'s bytes, each entry given to `insert`.
fn decode_map<K: Codec, V: Codec>(r: &mut Reader<'_>, mut insert: impl FnMut(K, V)) {
    for _ in 0..r.len() {
        let k = K::decode(r);
        insert(k, V::decode(r));
    }
}

/// A sorted-vector map as a `BTreeMap` (the same bytes).
impl<K: Codec + Ord, V: Codec> Codec for crate::vecmap::VecMap<K, V> {
    fn encode(&self, w: &mut Writer<'_>) {
        encode_map(w, self.len(), self.into_iter());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        let mut m = Self::new();
        decode_map(r, |k, v| {
            m.insert(k, v);
        });
        m
    }
}

impl<K: Codec + Ord, V: Codec> Codec for BTreeMap<K, V> {
    fn encode(&self, w: &mut Writer<'_>) {
        encode_map(w, self.len(), self.iter());
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        let mut m = BTreeMap::new();
        decode_map(r, |k, v| {
            m.insert(k, v);
        });
        m
    }
}

/// A fixed-size array: its elements, no length.
impl<T: Codec + Copy + Default, const N: usize> Codec for [T; N] {
    fn encode(&self, w: &mut Writer<'_>) {
        for x in self {
            x.encode(w);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        let mut a = [T::default(); N];
        for x in &mut a {
            *x = T::decode(r);
        }
        a
    }
}

macro_rules! tuple {
    ($($t:ident),+) => {
        #[allow(non_snake_case)]
        impl<$($t: Codec),+> Codec for ($($t,)+) {
            fn encode(&self, w: &mut Writer<'_>) {
                let ($($t,)+) = self;
                $($t.encode(w);)+
            }
            fn decode(r: &mut Reader<'_>) -> Self {
                ($($t::decode(r),)+)
            }
        }
    };
}

tuple!(A, B);
tuple!(A, B, C);

// ----------------------------------------------------------------------
// The crate's types
// ----------------------------------------------------------------------

/// Implements [`Codec`] for a struct from the list of its fields, in
/// declaration order (the fields of a tuple struct by position: `Name(0)`
/// for a one-field newtype written as its field). Fields after `skip` are
/// not written and read back as their default.
///
/// ```ignore
/// codec_struct!(Call { pos, state, failures, first_error });
/// codec_struct!(Bitmap { name, granularity } skip { removing });
/// codec_struct!(Perm(0));
/// ```
macro_rules! codec_struct {
    ($name:ident { $($field:ident),* $(,)? } $(skip { $($skip:ident),* $(,)? })?) => {
        impl $crate::snapshot::codec::Codec for $name {
            fn encode(&self, w: &mut $crate::snapshot::codec::Writer<'_>) {
                let $name { $($field,)* $($($skip: _,)*)? } = self;
                $($crate::snapshot::codec::Codec::encode($field, w);)*
            }
            fn decode(r: &mut $crate::snapshot::codec::Reader<'_>) -> Self {
                // A struct expression's fields are evaluated in the order written.
                $name {
                    $($field: $crate::snapshot::codec::Codec::decode(r),)*
                    $($($skip: ::std::default::Default::default(),)*)?
                }
            }
        }
    };
    ($name:ident(0)) => {
        impl $crate::snapshot::codec::Codec for $name {
            #[inline]
            fn encode(&self, w: &mut $crate::snapshot::codec::Writer<'_>) {
                $crate::snapshot::codec::Codec::encode(&self.0, w);
            }
            #[inline]
            fn decode(r: &mut $crate::snapshot::codec::Reader<'_>) -> Self {
                $name($crate::snapshot::codec::Codec::decode(r))
            }
        }
    };
}
pub(crate) use codec_struct;

/// Implements [`Codec`] for an enum from the list of its variants, in
/// declaration order: the variant's index, then its fields (a tuple
/// variant's named by the list, in order). An index the enum does not have
/// is an error (read as the first variant).
///
/// ```ignore
/// codec_enum!(Wait { PausePoint, Sleep(ns), Yield, Done(ret, err), Host });
/// codec_enum!(TxnLink { Own { aborting }, Shared(t), Left });
/// ```
macro_rules! codec_enum {
    ($name:ident {
        $($variant:ident $(($($t:ident),+))? $({ $($f:ident),+ $(,)? })?),+ $(,)?
    }) => {
        impl $crate::snapshot::codec::Codec for $name {
            fn encode(&self, w: &mut $crate::snapshot::codec::Writer<'_>) {
                // The variants' indices, by name.
                #[allow(dead_code, clippy::enum_variant_names)]
                enum Index { $($variant),+ }
                match self {
                    $($name::$variant $(($($t),+))? $({ $($f),+ })? => {
                        w.varint(Index::$variant as u64);
                        $($($crate::snapshot::codec::Codec::encode($t, w);)+)?
                        $($($crate::snapshot::codec::Codec::encode($f, w);)+)?
                    })+
                }
            }
            fn decode(r: &mut $crate::snapshot::codec::Reader<'_>) -> Self {
                #[allow(dead_code, clippy::enum_variant_names)]
                enum Index { $($variant),+ }
                let count = [$(Index::$variant),+].len();
                let i = r.variant(stringify!($name), count);
                $(if i == Index::$variant as usize {
                    $($(let $t = $crate::snapshot::codec::Codec::decode(r);)+)?
                    $($(let $f = $crate::snapshot::codec::Codec::decode(r);)+)?
                    return $name::$variant $(($($t),+))? $({ $($f),+ })?;
                })+
                unreachable!("Reader::variant gives an index below the count")
            }
        }
    };
}
pub(crate) use codec_enum;

// The events' types (public fields) are listed here rather than beside them.
mod events {
    use crate::event::{Event, EventKind};
    codec_enum!(EventKind {
        JobStatusChange { id, status },
        BlockJobReady { job_type, device, len, offset, speed },
        BlockJobPending { job_type, id },
        BlockJobCompleted { job_type, device, len, offset, speed, error },
        BlockJobCancelled { job_type, device, len, offset, speed },
        BlockJobError { device, operation, action },
        Stop,
        Resume,
        Shutdown,
        BlockExportDeleted { id },
    });
    codec_struct!(Event { timestamp_ns, kind });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum E {
        Unit,
        New(i32),
        Tup(u8, String),
        Rec { a: Option<u64>, b: bool },
    }
    codec_enum!(E { Unit, New(n), Tup(a, b), Rec { a, b } });

    #[derive(Debug, PartialEq)]
    struct S {
        id: Arc<str>,
        n: i64,
        f: f64,
        v: Vec<E>,
        m: BTreeMap<u32, (u16, Option<String>)>,
        q: VecDeque<[u32; 2]>,
        skipped: bool,
    }
    codec_struct!(S { id, n, f, v, m, q } skip { skipped });

    fn sample() -> S {
        S {
            id: "job-é".into(),
            n: i64::MIN,
            f: -0.5,
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
            q: [[1, u32::MAX]].into(),
            skipped: false,
        }
    }

    #[test]
    fn round_trips() {
        let mut out = Vec::new();
        encode(&mut out, &sample());
        assert_eq!(decode::<S>(&out).unwrap(), sample());
        let mut s = sample();
        s.skipped = true;
        let mut again = Vec::new();
        encode(&mut again, &s);
        assert_eq!(again, out, "a skipped field is not written");
    }

    #[test]
    fn refuses_damage_without_panicking() {
        let mut good = Vec::new();
        encode(&mut good, &sample());
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
        assert!(decode::<E>(&[4]).is_err());
        assert!(decode::<Option<u8>>(&[2, 0]).is_err());
    }

    /// Decoding goes on after an error, reading the input as exhausted,
    /// and the first error is the one returned (as when decoding stopped
    /// there): later fields, out of range only because of it, do not
    /// replace it.
    #[test]
    fn the_first_error_is_returned() {
        let err = |b: &[u8]| decode::<(bool, u8, E)>(b).unwrap_err().0;
        assert_eq!(err(&[2, 0x80, 0x02, 9]), "invalid boolean 2");
        assert_eq!(err(&[1, 0x80, 0x02, 9]), "integer 256 out of range");
        assert_eq!(err(&[1, 7, 9]), "no variant 9 of E");
        assert_eq!(err(&[1, 7, 2, 1]), "truncated");
        assert_eq!(err(&[1, 7, 2, 1, 5, 0]), "length beyond the end");
        assert_eq!(err(&[1, 7, 0, 0]), "trailing bytes");
        // An error inside a sequence ends it: what was read is dropped.
        let e = decode::<Vec<String>>(&[3, 1, b'a', 1, 0xff, 1, b'c'])
            .unwrap_err()
            .0;
        assert_eq!(e, "invalid UTF-8");
    }

    /// QAPI enums travel as their index: one byte, and an index the enum
    /// does not have is refused.
    #[test]
    fn qapi_enums_are_their_index() {
        use crate::model::{JobStatus, OnError};
        let mut out = Vec::new();
        encode(&mut out, &(OnError::Auto, JobStatus::Null));
        assert_eq!(out, [4, 10]);
        assert_eq!(
            decode::<(OnError, JobStatus)>(&out).unwrap(),
            (OnError::Auto, JobStatus::Null)
        );
        assert!(decode::<OnError>(&[5]).is_err());
    }
}
