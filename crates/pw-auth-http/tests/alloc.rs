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

/// What the hot path allocates. Parsing borrowed, hashing and authenticating allocate
/// nothing; a whole served request allocates only for the outcome it hands back (its
/// header list and the rate-limit values), a number pinned here so that no change
/// adds one unnoticed.
#[test]
fn the_request_path_allocates_only_for_its_results() {
    use pw_auth_core::*;
    let now = time::macros::datetime!(2026-11-27 12:00 UTC);
    let acme = CompanyId::new("acme").unwrap();
    let minted =
        mint_api_key(&acme, KeyLabel::new("k").unwrap(), b"0123456789abcdef", now).unwrap();
    let header = minted.key.expose_secret().as_bytes().to_vec();
    let mut store = MemoryRecords::new();
    store.insert_minted(&minted);
    let count = |f: &mut dyn FnMut()| allocation_counter::measure(f).count_total;

    assert_eq!(
        count(&mut || {
            let c = parse_authorization_ref(std::hint::black_box(&header)).unwrap();
            std::hint::black_box(c.digest());
        }),
        0
    );
    let digest = parse_authorization_ref(&header).unwrap().digest();
    assert_eq!(
        count(&mut || {
            let p = Authenticator::default()
                .authenticate_digest(&digest, &store, now)
                .unwrap();
            std::hint::black_box(p);
        }),
        0
    );

    let flow = ServerFlow::new(Policy::default_policy(), Responder::new("r").unwrap());
    struct One(LimitState);
    impl Budgets for One {
        fn budget(&mut self, _: &CompanyId, _: Option<&ApiKeyId>) -> Option<Budget<'_>> {
            Some(Budget::new(Tier::Professional, &mut self.0))
        }
    }
    let mut budget = One(LimitState::default());
    let served = count(&mut || {
        let target = Request::new("flows.deploy", &acme, Tier::Professional);
        let s = flow.serve([&header[..]], &store, target, Some(&mut budget), now);
        assert!(s.is_allowed());
        let _ = std::hint::black_box(s);
    });
    // The outcome's header list and its two rate-limit values. (The audit record
    // shares the policy's text for the action and the policy id.)
    assert_eq!(served, 3, "allocations of one allowed request");
    let denied = count(&mut || {
        let target = Request::new("blueprints.publish", &acme, Tier::Professional);
        let s = flow.serve([&header[..]], &store, target, Some(&mut budget), now);
        assert_eq!(s.outcome().status(), 403);
        let _ = std::hint::black_box(s);
    });
    // The header list and its two values (the prepared challenge copied, the
    // content type), and the body: one buffer, the reason's sentence written into it
    // as the body is serialised.
    assert_eq!(denied, 4, "allocations of one denied request");
}
