//! Parsing never allocates without bound: peak memory is a small multiple of the
//! (length-capped) input, whatever the input. A separate binary, since the counting
//! allocator is global.
#![allow(
    clippy::unwrap_used,
    clippy::arithmetic_side_effects,
    reason = "test code"
)]

use proptest::prelude::*;
use pw_auth_http::*;

/// Peak bytes held while running `f`.
fn peak(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).bytes_max
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn authorization_peak_is_bounded(v in prop::collection::vec(any::<u8>(), 0..20_000)) {
        let p = peak(|| {
            let _ = std::hint::black_box(parse_authorization(std::hint::black_box(&v)));
        });
        // One copy of the (at most 8 KiB) value, plus slack.
        prop_assert!(p <= (MAX_AUTHORIZATION_LEN as u64) + 256, "peak {p} for {} bytes", v.len());
    }

    #[test]
    fn challenge_peak_is_bounded(v in "[A-Za-z0-9=, \"\\\\]{0,20000}") {
        let p = peak(|| {
            let _ = std::hint::black_box(parse_challenges([std::hint::black_box(v.as_bytes())]));
        });
        // Parsed challenges hold at most the input's text, in at most 256 elements
        // of a few words each; never more than a fixed multiple of the input cap.
        prop_assert!(p <= 8 * (MAX_CHALLENGE_INPUT_LEN as u64), "peak {p} for {} bytes", v.len());
    }
}

#[test]
fn the_largest_accepted_inputs() {
    let bearer = format!("Bearer {}", "a".repeat(4096));
    let p = peak(|| {
        parse_authorization(bearer.as_bytes()).unwrap();
    });
    assert!(p <= 4096 + 256, "peak {p}");
    let many = "Basic, ".repeat(100);
    let p = peak(|| {
        parse_challenges([many.as_bytes()]).unwrap();
    });
    assert!(p <= 64 * 1024, "peak {p}");
}
