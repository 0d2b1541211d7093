//! The slot order of GLib's string-keyed hash table, as QEMU's input visitor
//! meets it.
//!
//! QEMU 7.2's `qobject_input_push` (`qapi/qobject-input-visitor.c`) copies
//! the member names of an object, in its `QDict`'s iteration order, into a
//! GLib 2.74 `GHashTable` keyed by `g_str_hash`; each member the visitor
//! reads is removed, and `qobject_input_check_struct` names the first name a
//! `GHashTableIter` still yields: "Parameter 'x' is unexpected". Which of
//! several unexpected members QEMU names is therefore the first slot of that
//! table. [`StrTable`] keeps the slots as GLib does (written from GLib's
//! documented behaviour and checked against it):
//! - the hash is djb2 over the bytes taken as signed chars; 0 and 1 mark
//!   free and deleted slots, so a real hash below 2 becomes 2;
//! - a table of `2^shift` slots (at least 8) starts its probe at
//!   `hash * 11 % p`, `p` the largest prime below `2^shift`, then steps 1,
//!   2, 3, … slots further (wrapping), inserting into the first deleted slot
//!   it passed if the name is not found;
//! - after an insertion or a removal the table is rebuilt when it has more
//!   than four slots per name (and more than 8 slots), or when names and
//!   deleted slots fill 15/16 of it; the new size is the power of two above
//!   `names * 4 / 3`; the rebuild moves names in slot order, each to the
//!   first free slot of its probe sequence, displacing a name not yet moved
//!   into the next free slot of that one's own sequence.

/// `prime_mod[shift]`: the modulus of a table of `2^shift` slots.
const PRIME_MOD: [u32; 16] = [
    1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749,
];

/// The smallest shift a table has (8 slots).
const MIN_SHIFT: usize = 3;

const UNUSED: u32 = 0;
const TOMBSTONE: u32 = 1;

/// `g_str_hash`: djb2 over the bytes as signed chars.
fn str_hash(key: &str) -> u32 {
    let h = key.bytes().fold(5381u32, |h, b| {
        h.wrapping_mul(33).wrapping_add(b as i8 as i32 as u32)
    });
    h.max(2)
}

/// A set of names with GLib's slot layout.
pub(crate) struct StrTable<'a> {
    hashes: Vec<u32>,
    keys: Vec<Option<&'a str>>,
    shift: usize,
    nnodes: usize,
    noccupied: usize,
}

impl<'a> StrTable<'a> {
    /// An empty table (`g_hash_table_new`).
    pub fn new() -> StrTable<'a> {
        StrTable {
            hashes: vec![UNUSED; 1 << MIN_SHIFT],
            keys: vec![None; 1 << MIN_SHIFT],
            shift: MIN_SHIFT,
            nnodes: 0,
            noccupied: 0,
        }
    }

    fn size(&self) -> usize {
        1 << self.shift
    }

    fn home(&self, hash: u32) -> usize {
        (hash.wrapping_mul(11) % PRIME_MOD[self.shift]) as usize
    }

    fn next(&self, i: usize, step: usize) -> usize {
        (i + step) & (self.size() - 1)
    }

    /// The slot holding `key`, if any.
    fn find(&self, key: &str, hash: u32) -> Option<usize> {
        let (mut i, mut step) = (self.home(hash), 0);
        while self.hashes[i] != UNUSED {
            if self.hashes[i] == hash && self.keys[i] == Some(key) {
                return Some(i);
            }
            step += 1;
            i = self.next(i, step);
        }
        None
    }

    /// Adds `key` (`g_hash_table_insert`; a name already in is kept).
    pub fn insert(&mut self, key: &'a str) {
        let hash = str_hash(key);
        let (mut i, mut step, mut tombstone) = (self.home(hash), 0, None);
        while self.hashes[i] != UNUSED {
            if self.hashes[i] == hash && self.keys[i] == Some(key) {
                return;
            }
            if self.hashes[i] == TOMBSTONE && tombstone.is_none() {
                tombstone = Some(i);
            }
            step += 1;
            i = self.next(i, step);
        }
        match tombstone {
            Some(t) => i = t,
            None => self.noccupied += 1,
        }
        self.hashes[i] = hash;
        self.keys[i] = Some(key);
        self.nnodes += 1;
        self.maybe_resize();
    }

    /// Removes `key` if it is in (`g_hash_table_remove`).
    pub fn remove(&mut self, key: &str) {
        if let Some(i) = self.find(key, str_hash(key)) {
            self.hashes[i] = TOMBSTONE;
            self.keys[i] = None;
            self.nnodes -= 1;
            self.maybe_resize();
        }
    }

    /// The first name in slot order (what a `GHashTableIter` yields first).
    pub fn first(&self) -> Option<&'a str> {
        self.keys.iter().flatten().next().copied()
    }

    fn maybe_resize(&mut self) {
        let size = self.size();
        let occ = self.noccupied;
        if (size > self.nnodes * 4 && size > 1 << MIN_SHIFT) || size <= occ + occ / 16 {
            self.resize();
        }
    }

    fn resize(&mut self) {
        let old_size = self.size();
        // GLib sizes by `nnodes * 1.333` truncated to an integer.
        let mut want = self.nnodes * 1333 / 1000;
        let mut shift = 0;
        while want > 0 {
            want >>= 1;
            shift += 1;
        }
        self.shift = shift.max(MIN_SHIFT);
        let size = self.size();
        if size > old_size {
            self.hashes.resize(size, UNUSED);
            self.keys.resize(size, None);
        }
        let mut placed = vec![false; size.max(old_size)];
        for i in 0..old_size {
            let mut hash = self.hashes[i];
            if hash < 2 {
                self.hashes[i] = UNUSED;
                continue;
            }
            if placed[i] {
                continue;
            }
            self.hashes[i] = UNUSED;
            let mut key = self.keys[i].take();
            loop {
                let (mut j, mut step) = (self.home(hash), 0);
                while placed[j] {
                    step += 1;
                    j = self.next(j, step);
                }
                placed[j] = true;
                let displaced = std::mem::replace(&mut self.hashes[j], hash);
                let displaced_key = std::mem::replace(&mut self.keys[j], key);
                if displaced < 2 {
                    break;
                }
                hash = displaced;
                key = displaced_key;
            }
        }
        self.hashes.truncate(size);
        self.keys.truncate(size);
        self.noccupied = self.nnodes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserts `keys` in order, removes `removed`, returns the slot order.
    fn order<'a>(keys: &[&'a str], removed: &[&str]) -> Vec<&'a str> {
        let mut t = StrTable::new();
        keys.iter().for_each(|k| t.insert(k));
        removed.iter().for_each(|k| t.remove(k));
        t.keys.iter().flatten().copied().collect()
    }

    #[test]
    fn small_tables_as_glib_lays_them_out() {
        // Orders GLib 2.74 gives for the same insertions.
        assert_eq!(order(&["a", "b"], &[]), ["b", "a"]);
        assert_eq!(order(&["zz", "aa", "mm"], &[]), ["aa", "mm", "zz"]);
    }

    #[test]
    fn growing_and_shrinking_keeps_every_name() {
        let names: Vec<String> = (0..40).map(|i| format!("member-{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut t = StrTable::new();
        refs.iter().for_each(|k| t.insert(k));
        assert_eq!(t.size(), 64);
        refs[..38].iter().for_each(|k| t.remove(k));
        assert_eq!(t.size(), 8);
        let mut left = order(&refs, &refs[..38]);
        left.sort_unstable();
        assert_eq!(left, ["member-38", "member-39"]);
        assert!(t.first().is_some());
    }
}
