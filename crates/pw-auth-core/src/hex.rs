//! Lowercase hexadecimal, for digests and minted credentials. Encoding, not cryptography.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends the lowercase hex form of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len().saturating_mul(2));
    for &b in bytes {
        out.extend(encode_array::<1, 2>([b]).map(char::from));
    }
}

/// The lowercase hex form of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut s = String::new();
    encode_into(bytes, &mut s);
    s
}

/// The lowercase hex form of `N` bytes, as `M = 2 N` ASCII bytes, without allocating.
pub(crate) fn encode_array<const N: usize, const M: usize>(bytes: [u8; N]) -> [u8; M] {
    let mut out = [b'0'; M];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        for (slot, nibble) in pair.iter_mut().zip([b >> 4, b & 0x0f]) {
            if let Some(&d) = DIGITS.get(usize::from(nibble)) {
                *slot = d;
            }
        }
    }
    out
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => c.checked_sub(b'0'),
        b'a'..=b'f' => c.checked_sub(b'a').and_then(|v| v.checked_add(10)),
        _ => None,
    }
}

/// Decodes exactly `N` bytes from lowercase hex; `None` on any other input.
pub(crate) fn decode_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let bytes = s.as_bytes();
    if bytes.len() != N.checked_mul(2)? {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        // Both nibbles are at most 15, so this is at most 255.
        *slot = nibble(*hi)?.saturating_mul(16).saturating_add(nibble(*lo)?);
    }
    Some(out)
}

/// Whether `s` is non-empty lowercase hex. Each byte is tested without a branch and
/// the results folded, so the compiler checks many bytes at once.
pub(crate) fn is_lower_hex(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter().fold(true, |all, &c| {
            all & ((c.wrapping_sub(b'0') < 10) | (c.wrapping_sub(b'a') < 6))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = [0x00, 0x7f, 0x80, 0xff, 0x12];
        assert_eq!(encode(&bytes), "007f80ff12");
        assert_eq!(decode_array::<5>("007f80ff12"), Some(bytes));
        assert_eq!(decode_array::<5>("007F80ff12"), None);
        assert_eq!(decode_array::<5>("007f80ff1"), None);
        assert_eq!(decode_array::<2>("zz00"), None);
        assert!(is_lower_hex(b"0af9") && !is_lower_hex(b"") && !is_lower_hex(b"0g"));
        for c in 0..=u8::MAX {
            assert_eq!(is_lower_hex(&[c]), nibble(c).is_some(), "{c:#04x}");
            assert_eq!(
                nibble(c).is_some(),
                b"0123456789abcdef".contains(&c),
                "{c:#04x}"
            );
        }
        assert_eq!(&encode_array::<3, 6>([0x00, 0x9a, 0xff]), b"009aff");
    }
}
