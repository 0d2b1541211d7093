//! Slot storage for jobs: stable `u32` indices, freed slots reused, and
//! memory grown in fixed chunks (no doubling of a million-entry vector).

use serde::{Deserialize, Serialize};

const CHUNK: usize = 1024;

/// Slots of `T` addressed by `u32`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(
    from = "SlabRepr<T>",
    into = "SlabRepr<T>",
    bound(
        serialize = "T: Serialize + Clone",
        deserialize = "T: Deserialize<'de>"
    )
)]
pub(crate) struct Slab<T> {
    chunks: Vec<Box<[Option<T>]>>,
    len: usize,
    free: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
struct SlabRepr<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            len: 0,
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    pub fn get(&self, i: u32) -> Option<&T> {
        let i = i as usize;
        self.chunks.get(i / CHUNK)?[i % CHUNK].as_ref()
    }

    pub fn get_mut(&mut self, i: u32) -> Option<&mut T> {
        let i = i as usize;
        self.chunks.get_mut(i / CHUNK)?[i % CHUNK].as_mut()
    }

    /// Stores `v` in a free slot and returns its index.
    pub fn insert(&mut self, v: T) -> u32 {
        if let Some(i) = self.free.pop() {
            let i = i as usize;
            self.chunks[i / CHUNK][i % CHUNK] = Some(v);
            return i as u32;
        }
        let i = self.len;
        if i / CHUNK == self.chunks.len() {
            self.chunks.push(
                (0..CHUNK)
                    .map(|_| None)
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            );
        }
        self.chunks[i / CHUNK][i % CHUNK] = Some(v);
        self.len += 1;
        i as u32
    }

    /// Takes the value out of slot `i`.
    pub fn remove(&mut self, i: u32) -> Option<T> {
        let idx = i as usize;
        let v = self.chunks.get_mut(idx / CHUNK)?[idx % CHUNK].take();
        if v.is_some() {
            self.free.push(i);
        }
        v
    }

    /// Occupied slots with their indices.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .take(self.len)
            .enumerate()
            .filter_map(|(i, x)| x.as_ref().map(|v| (i as u32, v)))
    }
}

impl<T> From<SlabRepr<T>> for Slab<T> {
    fn from(r: SlabRepr<T>) -> Self {
        let mut s = Slab::default();
        for v in r.slots {
            let i = s.len;
            if i / CHUNK == s.chunks.len() {
                s.chunks.push(
                    (0..CHUNK)
                        .map(|_| None)
                        .collect::<Vec<_>>()
                        .into_boxed_slice(),
                );
            }
            s.chunks[i / CHUNK][i % CHUNK] = v;
            s.len += 1;
        }
        s.free = r.free;
        s
    }
}

impl<T: Clone> From<Slab<T>> for SlabRepr<T> {
    fn from(s: Slab<T>) -> Self {
        SlabRepr {
            slots: s
                .chunks
                .into_iter()
                .flat_map(|c| c.into_vec())
                .take(s.len)
                .collect(),
            free: s.free,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_reuse_and_round_trip() {
        let mut s = Slab::default();
        let ids: Vec<u32> = (0..3000).map(|i| s.insert(i)).collect();
        assert_eq!(ids[2999], 2999);
        assert_eq!(s.remove(5), Some(5));
        assert_eq!(s.remove(5), None);
        assert_eq!(s.get(5), None);
        assert_eq!(s.insert(77), 5);
        assert_eq!(s.get(2048), Some(&2048));
        assert_eq!(s.iter().count(), 3000);
        let json = serde_json::to_string(&s).unwrap();
        let t: Slab<i32> = serde_json::from_str(&json).unwrap();
        assert_eq!(t.iter().collect::<Vec<_>>(), s.iter().collect::<Vec<_>>());
        assert_eq!(t.get(4000), None);
    }
}
