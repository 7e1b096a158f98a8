//! C's `atoi`, as distcc reads its environment variables: optional
//! leading white space, an optional sign, then decimal digits; anything else ends the number,
//! and no digits at all is 0. Two forms, because our callers have always read numbers in two
//! slightly different ways and a change would show (a value that saturates differently, a
//! space that stops being skipped):
//!
//! - [`atoi_i64`]: into 64 bits, saturating at `i64`'s ends; skips C's `isspace` set only
//!   (space, `\t`, `\n`, `\v`, `\f`, `\r`). The client's variables, lsdistcc, the zeroconf
//!   TXT records.
//! - [`atoi_i32`]: into a C `int`, saturating at `i32`'s ends; skips any Unicode white space.
//!   distccmon's `UNCACHED_ERR_FD`.

/// C `atoi` into 64 bits: C white space, sign, digits; saturates instead of overflowing.
pub fn atoi_i64(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = sign(s);
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -n } else { n }
}

/// C `atoi` into an `int`: any Unicode white space, sign, digits; saturates at `i32`'s ends.
pub fn atoi_i32(s: &str) -> i32 {
    let (neg, digits) = sign(s.trim_start());
    let mut n: i64 = 0;
    for c in digits.bytes().take_while(u8::is_ascii_digit) {
        n = (n * 10 + i64::from(c - b'0')).min(i64::from(i32::MAX) + 1);
    }
    let n = if neg { -n } else { n };
    i32::try_from(n).unwrap_or(if neg { i32::MIN } else { i32::MAX })
}

/// Split off an optional sign: (negative, rest).
fn sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_i64_is_cs() {
        assert_eq!(atoi_i64("42"), 42);
        assert_eq!(atoi_i64("  -7x"), -7);
        assert_eq!(atoi_i64("+3"), 3);
        assert_eq!(atoi_i64("abc"), 0);
        assert_eq!(atoi_i64(""), 0);
        assert_eq!(atoi_i64("99999999999999999999999"), i64::MAX);
        assert_eq!(atoi_i64("-99999999999999999999999"), -i64::MAX);
    }

    #[test]
    fn atoi_i32_is_cs_in_an_int() {
        assert_eq!(atoi_i32("12"), 12);
        assert_eq!(atoi_i32(" -3x"), -3);
        assert_eq!(atoi_i32("x"), 0);
        assert_eq!(atoi_i32("99999999999"), i32::MAX);
        assert_eq!(atoi_i32("-99999999999"), i32::MIN);
    }

    /// The one place the two differ besides the width: white space outside C's set.
    #[test]
    fn only_atoi_i32_skips_unicode_space() {
        assert_eq!(atoi_i32("\u{a0}5"), 5);
        assert_eq!(atoi_i64("\u{a0}5"), 0);
    }

    proptest::proptest! {
        #[test]
        fn atoi_i64_reads_any_decimal_and_never_panics(n: i64, pad in "[ \t]{0,3}", junk in "[a-z.]{0,3}", any in ".*") {
            proptest::prop_assert_eq!(atoi_i64(&format!("{pad}{n}{junk}")), n);
            let _ = atoi_i64(&any);
        }

        #[test]
        fn atoi_i32_reads_any_int_and_never_panics(n: i32, pad in "[ \t]{0,3}", junk in "[a-z.]{0,3}", any in ".*") {
            proptest::prop_assert_eq!(atoi_i32(&format!("{pad}{n}{junk}")), n);
            let _ = atoi_i32(&any);
        }
    }
}
