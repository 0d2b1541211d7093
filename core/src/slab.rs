//! Slot storage for jobs: stable indices, freed slots reused, and memory
//! grown in fixed chunks (no doubling of a million-entry vector); and the
//! typed slot references (`JobRef`, `TxnRef`, `NodeRef`) of the manager's
//! registries.

use crate::snapshot::codec::{Codec, Reader, Writer};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

const CHUNK: usize = 1024;

/// A typed index of a slot: a job, a transaction or a node.
pub(crate) trait Slot: Copy {
    /// The slot at `index`.
    fn at(index: u32) -> Self;
    /// The slot's index.
    fn index(self) -> u32;
}

/// Declares a slot reference: a `u32` newtype that serializes as the bare
/// number and prints as it (in the snapshot checks' messages).
macro_rules! slot_ref {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub(crate) struct $name(u32);

        $crate::snapshot::codec::codec_struct!($name(0));

        impl $crate::slab::Slot for $name {
            fn at(index: u32) -> Self {
                $name(index)
            }
            fn index(self) -> u32 {
                self.0
            }
        }

        impl $name {
            /// The slot's position in its registry.
            #[allow(dead_code)]
            pub(crate) fn pos(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

slot_ref!(
    /// A job's slot in the manager.
    JobRef
);
slot_ref!(
    /// A transaction's slot in the manager.
    TxnRef
);
slot_ref!(
    /// A node's slot in the graph.
    NodeRef
);
slot_ref!(
    /// A BlockBackend's slot in the graph.
    BackendRef
);

/// Slots of `T` addressed by `K`.
/// Serialized as a `SlabRepr` (the slots up to the last one used, then the
/// free list), written straight from the chunks.
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "SlabRepr<T>", bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct Slab<K, T> {
    /// Fixed-size chunks: an index within one needs no bounds check.
    chunks: Vec<Box<[Option<T>; CHUNK]>>,
    len: usize,
    free: Vec<u32>,
    key: PhantomData<K>,
}

#[derive(Deserialize)]
struct SlabRepr<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

/// What a [`SlabRepr`] serializes as, borrowed from the slab: no copy of
/// the slots is made to write them.
#[derive(Serialize)]
#[serde(rename = "SlabRepr", bound = "T: Serialize")]
struct SlabReprRef<'a, K, T> {
    slots: SlotsRef<'a, K, T>,
    free: &'a [u32],
}

/// The slots of a slab up to the last one used, as a sequence of options.
struct SlotsRef<'a, K, T>(&'a Slab<K, T>);

impl<K, T: Serialize> Serialize for SlotsRef<'_, K, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let slab = self.0;
        let mut seq = s.serialize_seq(Some(slab.len))?;
        for slot in slab.chunks.iter().flat_map(|c| c.iter()).take(slab.len) {
            seq.serialize_element(slot)?;
        }
        seq.end()
    }
}

impl<K, T: Serialize> Serialize for Slab<K, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SlabReprRef {
            slots: SlotsRef(self),
            free: &self.free,
        }
        .serialize(s)
    }
}

/// A chunk of empty slots, made on the heap (a million-byte array would
/// not fit on the stack).
fn empty_chunk<T>() -> Box<[Option<T>; CHUNK]> {
    let slots: Box<[Option<T>]> = (0..CHUNK).map(|_| None).collect();
    match slots.try_into() {
        Ok(chunk) => chunk,
        Err(_) => unreachable!("CHUNK slots were made"),
    }
}

impl<K, T> Default for Slab<K, T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            len: 0,
            free: Vec::new(),
            key: PhantomData,
        }
    }
}

impl<K: Slot, T> Slab<K, T> {
    pub fn get(&self, k: K) -> Option<&T> {
        let i = k.index() as usize;
        self.chunks.get(i / CHUNK)?[i % CHUNK].as_ref()
    }

    pub fn get_mut(&mut self, k: K) -> Option<&mut T> {
        let i = k.index() as usize;
        self.chunks.get_mut(i / CHUNK)?[i % CHUNK].as_mut()
    }

    /// Stores `v` in a free slot and returns its key.
    pub fn insert(&mut self, v: T) -> K {
        if let Some(i) = self.free.pop() {
            let k = K::at(i);
            let i = i as usize;
            self.chunks[i / CHUNK][i % CHUNK] = Some(v);
            return k;
        }
        let i = self.len;
        if i / CHUNK == self.chunks.len() {
            self.chunks.push(empty_chunk());
        }
        self.chunks[i / CHUNK][i % CHUNK] = Some(v);
        self.len += 1;
        K::at(i as u32)
    }

    /// Takes the value out of slot `k`.
    pub fn remove(&mut self, k: K) -> Option<T> {
        let idx = k.index() as usize;
        let v = self.chunks.get_mut(idx / CHUNK)?[idx % CHUNK].take();
        if v.is_some() {
            self.free.push(k.index());
        }
        v
    }

    /// Occupied slots with their keys.
    pub fn iter(&self) -> impl Iterator<Item = (K, &T)> + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .take(self.len)
            .enumerate()
            .filter_map(|(i, x)| x.as_ref().map(|v| (K::at(i as u32), v)))
    }
}

impl<K, T> From<SlabRepr<T>> for Slab<K, T> {
    fn from(r: SlabRepr<T>) -> Self {
        let mut s = Slab::default();
        for v in r.slots {
            let i = s.len;
            if i / CHUNK == s.chunks.len() {
                s.chunks.push(empty_chunk());
            }
            s.chunks[i / CHUNK][i % CHUNK] = v;
            s.len += 1;
        }
        s.free = r.free;
        s
    }
}

/// The binary snapshot's form of a slab: what its serde form gives, the
/// slots up to the last one used (each an `Option`), then the free list;
/// read straight into chunks.
impl<K, T: Codec> Codec for Slab<K, T> {
    fn encode(&self, w: &mut Writer<'_>) {
        w.varint(self.len as u64);
        for slot in self.chunks.iter().flat_map(|c| c.iter()).take(self.len) {
            slot.encode(w);
        }
        self.free.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Self {
        let n = r.len();
        let mut s = Slab::default();
        for _ in 0..n {
            let v = Option::<T>::decode(r);
            let i = s.len;
            if i / CHUNK == s.chunks.len() {
                s.chunks.push(empty_chunk());
            }
            s.chunks[i / CHUNK][i % CHUNK] = v;
            s.len += 1;
        }
        s.free = Vec::decode(r);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    slot_ref!(
        /// A test key.
        Key
    );

    #[test]
    fn insert_remove_reuse_and_round_trip() {
        let mut s: Slab<Key, i32> = Slab::default();
        let ids: Vec<Key> = (0..3000).map(|i| s.insert(i)).collect();
        assert_eq!(ids[2999], Key(2999));
        assert_eq!(s.remove(Key(5)), Some(5));
        assert_eq!(s.remove(Key(5)), None);
        assert_eq!(s.get(Key(5)), None);
        assert_eq!(s.insert(77), Key(5));
        assert_eq!(s.get(Key(2048)), Some(&2048));
        assert_eq!(s.iter().count(), 3000);
        let json = serde_json::to_string(&s).unwrap();
        let t: Slab<Key, i32> = serde_json::from_str(&json).unwrap();
        assert_eq!(t.iter().collect::<Vec<_>>(), s.iter().collect::<Vec<_>>());
        assert_eq!(t.get(Key(4000)), None);
    }
}
