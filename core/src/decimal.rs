//! Decimal text to and from binary64, computed exactly with a small big
//! integer: what `str::parse::<f64>` and `format!("{:.N}")` /
//! `format!("{:.Ne}")` give (correct rounding, ties to even), in a few
//! hundred bytes of code and no tables. The standard library's fast paths
//! carry about 20 KB of power tables and code into the WebAssembly module;
//! the numbers qjob reads and writes as floats (QMP doubles, qemu-io sizes)
//! are rare, so speed does not matter here.

use std::cmp::Ordering;

/// A non-negative integer: little-endian base-2³² limbs, no zero limb on top.
#[derive(Clone)]
struct Big(Vec<u32>);

impl Big {
    fn new(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// `self = self * m + a`.
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = a as u64;
        for l in &mut self.0 {
            let t = *l as u64 * m as u64 + carry;
            *l = t as u32;
            carry = t >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn shl(&mut self, n: u32) {
        if self.0.is_empty() {
            return;
        }
        let bits = n % 32;
        if bits > 0 {
            let mut carry = 0;
            for l in &mut self.0 {
                let v = *l;
                *l = (v << bits) | carry;
                carry = v >> (32 - bits);
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        self.0
            .splice(0..0, std::iter::repeat_n(0, (n / 32) as usize));
    }

    fn bits(&self) -> i64 {
        self.0
            .last()
            .map_or(0, |h| self.0.len() as i64 * 32 - h.leading_zeros() as i64)
    }

    fn cmp(&self, o: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }

    /// `self -= o`, `o` being at most `self`.
    fn sub(&mut self, o: &Big) {
        let mut borrow = false;
        for (i, l) in self.0.iter_mut().enumerate() {
            let (d, b1) = l.overflowing_sub(o.0.get(i).copied().unwrap_or(0));
            let (d, b2) = d.overflowing_sub(borrow as u32);
            *l = d;
            borrow = b1 || b2;
        }
        self.trim();
    }

    /// `self /= d`, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for l in self.0.iter_mut().rev() {
            let t = (rem << 32) | *l as u64;
            *l = (t / d as u64) as u32;
            rem = t % d as u64;
        }
        self.trim();
        rem as u32
    }
}

/// Significant digits kept when reading; any nonzero digit past them only
/// sets a sticky digit (a value halfway between two doubles has at most 767
/// significant digits, so the rounding is still exact).
const KEPT_DIGITS: usize = 800;

/// Reads `s` as `str::parse::<f64>` does: an optional sign, then `inf`,
/// `infinity` or `nan` (any case), or digits with an optional point and an
/// optional exponent (`1.`, `.5`, `1e5`, `2.5E-3`); the nearest double,
/// ties to even. `None` where `parse` fails.
pub(crate) fn parse(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if body.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else {
        unsigned(body.as_bytes())?
    };
    Some(if neg { -v } else { v })
}

fn unsigned(b: &[u8]) -> Option<f64> {
    let mut digits = Big::new(0);
    let (mut kept, mut exp, mut i) = (0usize, 0i64, 0usize);
    let (mut seen, mut point, mut sticky) = (false, false, false);
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                seen = true;
                exp -= point as i64;
                if kept < KEPT_DIGITS {
                    if kept > 0 || c != b'0' {
                        digits.mul_add(10, (c - b'0') as u32);
                        kept += 1;
                    }
                } else {
                    exp += 1;
                    sticky |= c != b'0';
                }
            }
            b'.' if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    if !seen {
        return None;
    }
    if i < b.len() {
        if b[i] | 0x20 != b'e' {
            return None;
        }
        i += 1;
        let eneg = b.get(i) == Some(&b'-');
        i += matches!(b.get(i), Some(b'+' | b'-')) as usize;
        if i == b.len() {
            return None;
        }
        let mut e = 0i64;
        for &c in &b[i..] {
            if !c.is_ascii_digit() {
                return None;
            }
            e = (e * 10 + (c - b'0') as i64).min(1 << 40);
        }
        exp += if eneg { -e } else { e };
    }
    if sticky {
        digits.mul_add(10, 1);
        exp -= 1;
        kept += 1;
    }
    // The value is digits × 10^exp, below 10^(kept + exp).
    if digits.0.is_empty() || kept as i64 + exp <= -324 {
        return Some(0.0);
    }
    if kept as i64 + exp > 310 {
        return Some(f64::INFINITY);
    }
    let (mut num, mut den) = (digits, Big::new(1));
    for _ in 0..exp.unsigned_abs() {
        if exp > 0 { &mut num } else { &mut den }.mul_add(10, 0);
    }
    // q = ⌊num / den / 2^e2⌋ with 53 bits (fewer for a subnormal).
    let mut e2 = (num.bits() - den.bits() - 53).max(-1074);
    let (q, half) = loop {
        let (mut n, mut d) = (num.clone(), den.clone());
        if e2 >= 0 {
            d.shl(e2 as u32);
        } else {
            n.shl((-e2) as u32);
        }
        let mut q = 0u64;
        for bit in (0..55).rev() {
            let mut t = d.clone();
            t.shl(bit);
            if n.cmp(&t) != Ordering::Less {
                n.sub(&t);
                q |= 1 << bit;
            }
        }
        if q >> 53 != 0 {
            e2 += 1;
            continue;
        }
        n.shl(1);
        break (q, n.cmp(&d));
    };
    let mut q = q + (half == Ordering::Greater || (half == Ordering::Equal && q & 1 == 1)) as u64;
    if q >> 53 != 0 {
        q >>= 1;
        e2 += 1;
    }
    // q × 2^e2, q from 2^52 (normal) or below it with e2 = -1074 (subnormal:
    // the exponent field is then 0).
    let biased = e2 + 1075;
    if biased >= 2047 {
        return Some(f64::INFINITY);
    }
    Some(f64::from_bits(((biased as u64) << 52) + q - (1 << 52)))
}

/// The exact decimal digits of a finite, nonzero `|f|` (no trailing zeros)
/// and the position of the point: `|f| = 0.DIGITS × 10^point`.
fn exact_digits(f: f64) -> (Vec<u8>, i32) {
    let bits = f.to_bits();
    let (field, frac) = ((bits >> 52) & 0x7ff, bits & ((1 << 52) - 1));
    let (m, e) = if field == 0 {
        (frac, -1074)
    } else {
        (frac | 1 << 52, field as i32 - 1075)
    };
    let mut n = Big::new(m);
    if e >= 0 {
        n.shl(e as u32);
    } else {
        // m / 2^-e = m × 5^-e / 10^-e.
        for _ in 0..-e {
            n.mul_add(5, 0);
        }
    }
    let mut digits = Vec::new();
    while !n.0.is_empty() {
        let mut chunk = n.div_small(1_000_000_000);
        for _ in 0..9 {
            digits.push(b'0' + (chunk % 10) as u8);
            chunk /= 10;
        }
    }
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    digits.reverse();
    let point = digits.len() as i32 + e.min(0);
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    (digits, point)
}

/// `digits` (of `0.DIGITS × 10^point`) rounded to `keep` digits (none or
/// more), ties to even; the point moves up where the rounding carries out.
fn round(mut digits: Vec<u8>, mut point: i32, keep: i32) -> (Vec<u8>, i32) {
    if keep < 0 {
        return (Vec::new(), point);
    }
    let keep = keep as usize;
    if digits.len() <= keep {
        return (digits, point);
    }
    let first = digits[keep];
    let rest_zero = digits[keep + 1..].iter().all(|&d| d == b'0');
    let odd = keep > 0 && digits[keep - 1] & 1 == 1;
    digits.truncate(keep);
    if first > b'5' || (first == b'5' && (!rest_zero || odd)) {
        let mut i = keep;
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                digits.truncate(keep.max(1));
                point += 1;
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    (digits, point)
}

/// `|f|` (finite, nonzero) with `sig` significant digits, ties to even: the
/// digits (`sig` of them, zeros included) and the decimal exponent of the
/// first, as `format!("{:.(sig-1)e}")` writes them.
pub(crate) fn significant(f: f64, sig: usize) -> (Vec<u8>, i32) {
    let (digits, point) = exact_digits(f);
    let (mut digits, point) = round(digits, point, sig as i32);
    digits.resize(sig, b'0');
    (digits, point - 1)
}

/// The shortest digits that read back as `f` (finite, nonzero), the nearest
/// to `f` of that many (as Ryu, Schubfach and zmij choose them), without
/// trailing zeros, and the decimal exponent of the first digit.
pub(crate) fn shortest(f: f64) -> (Vec<u8>, i32) {
    let f = f.abs();
    let (exact, point) = exact_digits(f);
    let reads_back = |digits: &[u8], point: i32| {
        let text = format!("0.{}e{point}", std::str::from_utf8(digits).unwrap_or("0"));
        parse(&text) == Some(f)
    };
    for keep in 1..=17 {
        let nearest = round(exact.clone(), point, keep);
        let truncated = (exact[..exact.len().min(keep as usize)].to_vec(), point);
        let other = if nearest == truncated {
            // One unit of the last digit up.
            let mut up = exact.clone();
            up.truncate(keep as usize);
            up.push(b'9');
            up.extend(std::iter::repeat_n(b'9', 2));
            round(up, point, keep)
        } else {
            truncated
        };
        for (mut digits, point) in [nearest, other] {
            if reads_back(&digits, point) {
                while digits.last() == Some(&b'0') {
                    digits.pop();
                }
                return (digits, point - 1);
            }
        }
    }
    significant(f, 17)
}

/// `f` with `frac` digits after the point, as `format!("{f:.frac$}")` writes
/// it (`NaN`, `inf` and `-inf` too).
pub(crate) fn fixed(f: f64, frac: usize) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    if f.is_infinite() {
        out.push_str("inf");
        return out;
    }
    let (digits, point) = if f == 0.0 {
        (Vec::new(), 0)
    } else {
        let (d, p) = exact_digits(f);
        round(d, p, p + frac as i32)
    };
    // Digit k (from 0) stands for 10^(point - 1 - k).
    let digit = |k: i32| -> char {
        match usize::try_from(k).ok().and_then(|k| digits.get(k)) {
            Some(&d) => d as char,
            None => '0',
        }
    };
    if point <= 0 {
        out.push('0');
    }
    for k in 0..point {
        out.push(digit(k));
    }
    if frac > 0 {
        out.push('.');
        for k in point..point + frac as i32 {
            out.push(digit(k));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic spread of doubles: every exponent, random mantissas,
    /// powers of two and ten, subnormals, and the edges.
    fn samples() -> Vec<f64> {
        let mut out = vec![
            0.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            5e-324,
            1e-323,
            // The largest subnormal.
            f64::from_bits((1 << 52) - 1),
            0.1,
            0.125,
            0.375,
            2.5,
            1e23,
            9007199254740993.0,
            // Halfway at the 17th digit (18 digits, the last a 5).
            (1u64 << 50) as f64 + 0.25,
            (1u64 << 50) as f64 + 0.75,
            (1u64 << 50) as f64 - 0.75,
            1152921504606846976.0,
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..4000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = f64::from_bits(x >> 1);
            if f.is_finite() {
                out.push(f);
            }
            out.push(f64::from_bits((x >> 12) | 0x4330_0000_0000_0000) / 1024.0);
        }
        for e in -1074..1024 {
            out.push(2f64.powi(e));
        }
        for e in -330..310 {
            out.push(format!("1e{e}").parse().unwrap());
        }
        out.retain(|f| f.is_finite());
        out
    }

    #[test]
    fn fixed_writes_what_is_not_finite_as_std_does() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(fixed(f, 3), format!("{f:.3}"));
        }
    }

    #[test]
    fn reads_as_std_does() {
        for f in samples() {
            for text in [
                format!("{f:e}"),
                format!("{f}"),
                format!("{f:.20e}"),
                format!("{f:.3e}"),
                format!("{:.40e}", f),
            ] {
                let want: f64 = text.parse().unwrap();
                assert_eq!(
                    parse(&text).map(f64::to_bits),
                    Some(want.to_bits()),
                    "{text}"
                );
            }
        }
        let texts = [
            "1.",
            ".5",
            "-.5",
            "+1.5",
            "1e",
            "1e+",
            ".",
            "",
            "-",
            "e5",
            "1.e5",
            "1E5",
            "1e-400",
            "1e400",
            "-0",
            "-0.0",
            "inf",
            "-Infinity",
            "NaN",
            "nan",
            "1x",
            "1.5.5",
            "0x10",
            "00012",
            "1e99999999999999999999",
            "1e-99999999999999999999",
            "4.9e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
        ];
        for text in texts {
            let want = text.parse::<f64>().ok();
            let got = parse(text);
            assert_eq!(
                got.map(|v| if v.is_nan() { 1 } else { v.to_bits() }),
                want.map(|v| if v.is_nan() { 1 } else { v.to_bits() }),
                "{text}"
            );
        }
        // Past the digits kept: only the sticky digit decides.
        let halfway = String::from(
            "2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125X",
        );
        for tail in ["", "0", "0001", "1"] {
            let text = halfway.replace('X', tail);
            assert_eq!(parse(&text), text.parse().ok(), "{tail}");
        }
    }

    #[test]
    fn writes_as_std_does() {
        for f in samples() {
            if f != 0.0 {
                for sig in [1, 3, 17] {
                    let (digits, exp) = significant(f, sig);
                    let text = String::from_utf8(digits).unwrap();
                    let want = format!("{:.*e}", sig - 1, f.abs());
                    let (m, e) = want.split_once('e').unwrap();
                    assert_eq!(text, m.replace('.', ""), "{f:e}");
                    assert_eq!(exp.to_string(), e, "{f:e}");
                }
            }
            for frac in [0, 3, 6] {
                if f.abs() < 1e30 || f.is_infinite() {
                    assert_eq!(fixed(f, frac), format!("{f:.frac$}"), "{f:e}");
                    assert_eq!(fixed(-f, frac), format!("{:.frac$}", -f), "{f:e}");
                }
            }
        }
    }
}
