//! Coalesced `(offset, length)` extents of a virtual disk.

/// Builds a sorted list of disjoint extents from ranges given in increasing
/// order, joining ranges that touch (as `qemu-img map` joins its entries).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Extents {
    list: Vec<(u64, u64)>,
}

impl Extents {
    /// Adds `[offset, offset + len)`; `offset` is at or after the end of
    /// every range added before. Empty ranges are ignored.
    pub fn push(&mut self, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        if let Some(last) = self.list.last_mut() {
            debug_assert!(offset >= last.0 + last.1, "extents out of order");
            if last.0 + last.1 == offset {
                last.1 += len;
                return;
            }
        }
        self.list.push((offset, len));
    }

    /// The extents, each cut to end at `limit` at the latest.
    pub fn clipped(mut self, limit: u64) -> Vec<(u64, u64)> {
        self.list.retain(|&(o, _)| o < limit);
        if let Some(last) = self.list.last_mut() {
            last.1 = last.1.min(limit - last.0);
        }
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_ranges_join_and_the_limit_cuts() {
        let mut e = Extents::default();
        e.push(0, 10);
        e.push(10, 5);
        e.push(20, 0);
        e.push(30, 10);
        e.push(50, 10);
        assert_eq!(e.clone().clipped(100), vec![(0, 15), (30, 10), (50, 10)]);
        assert_eq!(e.clipped(35), vec![(0, 15), (30, 5)]);
    }
}
