//! Secrets never appear in Debug, errors or serialised records.

use proptest::prelude::*;
use pw_auth_core::*;

use crate::support::*;

fn key_text() -> impl Strategy<Value = String> {
    "[!-~]{1,256}".prop_filter("not the scheme word", |s| {
        !s.eq_ignore_ascii_case("bearer") && !s.starts_with("pwk_")
    })
}

fn token_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~+/-]{1,300}={0,2}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn debug_of_a_secret_is_a_fixed_placeholder(k in key_text(), t in token_text(), p in "\\PC{1,64}") {
        let key = ApiKey::new(k).unwrap();
        prop_assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        prop_assert_eq!(format!("{key:#?}"), "ApiKey(<redacted>)");
        let token = AccessToken::new(t).unwrap();
        prop_assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
        let pw = Password::new(p).unwrap();
        prop_assert_eq!(format!("{pw:?}"), "Password(<redacted>)");
    }

    #[test]
    fn errors_never_contain_the_rejected_secret(s in "[ -~]{6,40}[\\x00-\\x1f ][ -~]{0,10}") {
        // Every such string is invalid as both a key and a token; the error text must
        // not quote it.
        let key_err = ApiKey::new(s.clone()).unwrap_err();
        let token_err = AccessToken::new(s.clone()).unwrap_err();
        let texts = [
            key_err.to_string(),
            format!("{key_err:?}"),
            token_err.to_string(),
            format!("{token_err:?}"),
        ];
        for text in texts {
            prop_assert!(!text.contains(&s), "leaked in {}", text);
        }
    }

    #[test]
    fn minted_credentials_never_reach_records_or_audit(random in prop::collection::vec(any::<u8>(), 16..=64)) {
        prop_assume!(random.windows(2).any(|w| w[0] != w[1]));
        let acme = company("acme");
        let m = mint_api_key(&acme, KeyLabel::new("erp").unwrap(), &random, NOW).unwrap();
        let secret_part = &m.key.expose_secret()[4..]; // everything after `pwk_`
        let policy = policy();
        let p = Authenticator::default().api_key(&m.key, Lookup::Found(&m.record), Some(&m.user), NOW).unwrap();
        let req = Request::new("flows.view", &acme, Tier::Standard);
        let audit = AuditRecord::decision(policy, &p, &req, authorize(policy, &p, &req, NOW), NOW);
        let texts = [
            serde_json::to_string(&m.record).unwrap(),
            serde_json::to_string(&m.user).unwrap(),
            serde_json::to_string(&audit).unwrap(),
            format!("{m:?}"),
            format!("{p:?}"),
            format!("{audit:?}"),
        ];
        for text in texts {
            prop_assert!(!text.contains(secret_part), "leaked in {}", text);
        }

        let u = UserRecord::active(user("ann"), acme.clone(), Role::Manager);
        let t = issue_token(&u, &random, NOW, ExpiresIn::DEFAULT).unwrap();
        let token_part = &t.token.expose_secret()[4..];
        for text in [serde_json::to_string(&t.record).unwrap(), format!("{t:?}")] {
            prop_assert!(!text.contains(token_part), "leaked in {}", text);
        }
    }
}

/// Labels that look like something they are not are refused: only a byte-order mark
/// (once accepted as non-empty), a right-to-left override, a zero-width space, a line
/// separator.
#[test]
fn labels_refuse_invisible_and_bidi_characters() {
    for (label, c) in [
        ("\u{feff}", '\u{feff}'),
        ("erp\u{202e}gnp.exe", '\u{202e}'),
        ("e\u{200b}rp", '\u{200b}'),
        ("erp\u{2028}", '\u{2028}'),
    ] {
        assert_eq!(
            KeyLabel::new(label),
            Err(LabelError::Invisible(c)),
            "{label:?}"
        );
    }
    assert_eq!(
        KeyLabel::new("erp\u{202e}").unwrap_err().to_string(),
        "key label contains an invisible or direction-changing character (\\u{202e})"
    );
    assert!(KeyLabel::new("Shopify connector — EU 😀").is_ok());
}
