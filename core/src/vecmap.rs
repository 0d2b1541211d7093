//! A map kept as a vector sorted by key: the same operations, order and
//! serialized forms as a `BTreeMap`, for the few small maps of the block
//! layer (nodes by name, images by file name, the host's file errors). A
//! `BTreeMap` costs some 5 KB of code per key and value type in the
//! WebAssembly module (its node splitting, merging and stealing); this costs
//! a binary search and a vector insert.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

/// A map sorted by key (see the module).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub(crate) fn new() -> Self {
        VecMap(Vec::new())
    }

    fn find<Q: Ord + ?Sized>(&self, k: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.0.binary_search_by(|(x, _)| x.borrow().cmp(k))
    }

    pub(crate) fn get<Q: Ord + ?Sized>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(k).ok().map(|i| &self.0[i].1)
    }

    pub(crate) fn get_mut<Q: Ord + ?Sized>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(k).ok().map(|i| &mut self.0[i].1)
    }

    /// Sets `k`'s value; the old one if `k` was there (the key kept, as a
    /// `BTreeMap` keeps it).
    pub(crate) fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }

    pub(crate) fn remove<Q: Ord + ?Sized>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.find(k).ok().map(|i| self.0.remove(i).1)
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The entries in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<'a, K: Ord, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// As a `BTreeMap` serializes: a map of the entries in key order.
impl<K: Serialize + Ord, V: Serialize> Serialize for VecMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// As a `BTreeMap` deserializes: any map, a repeated key's last value kept.
impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Deserialize<'de> for VecMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Visitor<'de> for Entries<K, V> {
            type Value = VecMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut m = VecMap::new();
                while let Some((k, v)) = a.next_entry()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }
        d.deserialize_map(Entries(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::VecMap;
    use std::collections::BTreeMap;

    /// The same contents, order and JSON as a `BTreeMap` after the same
    /// inserts and removals.
    #[test]
    fn behaves_as_a_btreemap() {
        let (mut ours, mut btree) = (VecMap::new(), BTreeMap::new());
        let mut x: u32 = 7;
        for step in 0..2000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let k = format!("k{}", (x >> 16) % 50);
            if step % 3 == 0 {
                assert_eq!(ours.remove(k.as_str()), btree.remove(k.as_str()));
            } else {
                assert_eq!(ours.insert(k.clone(), step), btree.insert(k.clone(), step));
            }
            assert_eq!(ours.get(k.as_str()), btree.get(k.as_str()));
            assert_eq!(ours.len(), btree.len());
        }
        assert!(ours.iter().eq(btree.iter()));
        let json = serde_json::to_string(&btree).unwrap();
        assert_eq!(serde_json::to_string(&ours).unwrap(), json);
        let back: VecMap<String, i32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ours);
        let e = serde_json::from_str::<VecMap<String, i32>>("[1]").unwrap_err();
        let b = serde_json::from_str::<BTreeMap<String, i32>>("[1]").unwrap_err();
        assert_eq!(e.to_string(), b.to_string());
    }
}
