//! One small sort for the lists qjob orders (an object's members, the block
//! nodes, a bitmap's extents). The standard library's sorts are some 3 KB of
//! WebAssembly per element type; here the element type only gathers the
//! comparisons, and one non-generic merge sort over indices does the work:
//! stable, `O(n log n)` comparisons whatever the input, then the elements are
//! moved into place with at most `n - 1` swaps. Short lists, the usual case,
//! are ordered by insertion with their indices on the stack, without
//! allocating.

/// Lists this long or shorter are ordered by insertion on the stack (at
/// most `SHORT²/2` comparisons); longer ones by the merge sort.
const SHORT: usize = 16;

/// Sorts `v` stably: `less(a, b)` says whether `a` goes before `b`.
pub(crate) fn sort_by<T>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    let n = v.len();
    if n < 2 {
        return;
    }
    if n <= SHORT {
        // Short lists (nearly all of them): on the stack, no allocation.
        let (mut order, mut dest) = ([0; SHORT], [0; SHORT]);
        insertion_order(&mut order[..n], &mut |a, b| less(&v[a], &v[b]));
        permute(v, &order[..n], &mut dest[..n]);
        return;
    }
    let order = sorted_order(n, &mut |a, b| less(&v[a], &v[b]));
    permute(v, &order, &mut vec![0; n]);
}

/// Fills `order` with the indices `0..order.len()` in the order `less`
/// gives them, by insertion (stable).
fn insertion_order(order: &mut [usize], less: &mut dyn FnMut(usize, usize) -> bool) {
    for (i, slot) in order.iter_mut().enumerate() {
        *slot = i;
    }
    for i in 1..order.len() {
        let mut j = i;
        while j > 0 && less(order[j], order[j - 1]) {
            order.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// The indices `0..n` in the order `less` gives them (a bottom-up merge sort,
/// stable: of two equal elements the one with the lower index comes first).
fn sorted_order(n: usize, less: &mut dyn FnMut(usize, usize) -> bool) -> Vec<usize> {
    let mut from: Vec<usize> = (0..n).collect();
    let mut to = vec![0; n];
    let mut width = 1;
    while width < n {
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j) = (lo, mid);
            for slot in &mut to[lo..hi] {
                // The right run's element goes first only when strictly less.
                if j < hi && (i >= mid || less(from[j], from[i])) {
                    *slot = from[j];
                    j += 1;
                } else {
                    *slot = from[i];
                    i += 1;
                }
            }
            lo = hi;
        }
        std::mem::swap(&mut from, &mut to);
        width *= 2;
    }
    from
}

/// Rearranges `v` so that position `k` holds what was at `order[k]`
/// (`dest`: scratch of `v`'s length).
fn permute<T>(v: &mut [T], order: &[usize], dest: &mut [usize]) {
    // `dest[i]`: where the element now at `i` must go.
    for (k, &i) in order.iter().enumerate() {
        dest[i] = k;
    }
    for i in 0..v.len() {
        // Each swap puts one element where it belongs.
        while dest[i] != i {
            let t = dest[i];
            v.swap(i, t);
            dest.swap(i, t);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The same order as the standard library's stable sort, equal keys
    /// included, on short lists and on long ones in every shape.
    #[test]
    fn sorts_stably() {
        let mut x: u32 = 12345;
        let mut lists: Vec<Vec<(u32, usize)>> = (0..60)
            .map(|len| {
                (0..len)
                    .map(|i| {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        ((x >> 16) % 7, i)
                    })
                    .collect()
            })
            .collect();
        lists.push((0..5000).map(|i| (5000 - i as u32, i)).collect());
        lists.push((0..5000).map(|i| (i as u32, i)).collect());
        lists.push((0..4097).map(|i| ((i as u32 * 7919) % 1000, i)).collect());
        for v in lists {
            let (mut ours, mut std) = (v.clone(), v);
            super::sort_by(&mut ours, |a, b| a.0 < b.0);
            std.sort_by_key(|p| p.0);
            assert_eq!(ours, std);
        }
    }

    /// A reversed list of 100,000 costs about `n log n` comparisons, not
    /// `n²/2`.
    #[test]
    fn long_lists_cost_n_log_n_comparisons() {
        let mut v: Vec<u32> = (0..100_000).rev().collect();
        let mut comparisons = 0u64;
        super::sort_by(&mut v, |a, b| {
            comparisons += 1;
            a < b
        });
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        assert!(comparisons <= 100_000 * 17, "{comparisons}");
    }
}
