//! One small sort for the short lists qjob orders (an object's members, the
//! block nodes, a bitmap's extents): an insertion sort, stable, a few dozen
//! bytes of code per element type where the standard library's sorts are
//! some 3 KB each in the WebAssembly module. Linear on a list already (or
//! nearly) in order, quadratic at worst: the lists are short.

/// Sorts `v` stably: `less(a, b)` says whether `a` goes before `b`.
pub(crate) fn sort_by<T>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    /// The same order as the standard library's stable sort, equal keys
    /// included.
    #[test]
    fn sorts_stably() {
        let mut x: u32 = 12345;
        for len in 0..60 {
            let v: Vec<(u32, usize)> = (0..len)
                .map(|i| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    ((x >> 16) % 7, i)
                })
                .collect();
            let (mut ours, mut std) = (v.clone(), v);
            super::sort_by(&mut ours, |a, b| a.0 < b.0);
            std.sort_by_key(|p| p.0);
            assert_eq!(ours, std);
        }
    }
}
