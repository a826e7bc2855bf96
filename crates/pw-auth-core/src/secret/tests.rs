//! The secrets' unit tests.

use super::api_key::legacy_checksum;
use super::*;
use crate::digest::{MINTED_KEY_DIGEST_LABEL, sha256};
use crate::grammar::is_b64token_char;

fn minted(body: &str) -> String {
    let sum = checksum(body.as_bytes());
    format!("pwk_{body}{}", std::str::from_utf8(&sum).unwrap())
}

fn legacy(body: &str) -> String {
    let sum = legacy_checksum(body.as_bytes());
    format!("pwk_{body}_{}", std::str::from_utf8(&sum).unwrap())
}

#[test]
fn api_key_accepts_opaque_and_minted() {
    assert!(ApiKey::new("abc".into()).is_ok());
    assert!(ApiKey::new("!~".repeat(128)).is_ok());
    let k = ApiKey::new(minted("00112233445566778899aabbccddeeff")).unwrap();
    assert!(k.is_minted_format());
}

#[test]
fn api_key_rejections() {
    use ApiKeyError::*;
    let cases: &[(&str, ApiKeyError)] = &[
        ("", Empty),
        (
            "a b",
            InvalidChar {
                kind: BadChar::Whitespace,
                position: 1,
            },
        ),
        (
            "a\tb",
            InvalidChar {
                kind: BadChar::Whitespace,
                position: 1,
            },
        ),
        (
            "ab\r\n",
            InvalidChar {
                kind: BadChar::Control,
                position: 2,
            },
        ),
        (
            "\0",
            InvalidChar {
                kind: BadChar::Control,
                position: 0,
            },
        ),
        (
            "clé",
            InvalidChar {
                kind: BadChar::NonAscii,
                position: 2,
            },
        ),
        ("Bearer", SchemeName),
        ("bEaReR", SchemeName),
        ("pwk_", MalformedMinted),
        ("pwk_abc", MalformedMinted),
        ("pwk_ABCD_00000000", MalformedMinted),
        ("pwk_abcd_0000000", MalformedMinted),
        ("pwk_abcd_00000000", BadChecksum),
        ("pwk__00000000", MalformedMinted),
        ("pwk_00112233445566778899aabbccddeeff00000000", BadChecksum),
        (
            "pwk_00112233445566778899aabbccddeeff0000000g",
            MalformedMinted,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            &ApiKey::new((*input).into()).unwrap_err(),
            want,
            "{input:?}"
        );
    }
    assert_eq!(
        ApiKey::new("a".repeat(257)).unwrap_err(),
        TooLong { len: 257 }
    );
}

#[test]
fn a_single_typo_fails_the_checksum() {
    let good = minted("00112233445566778899aabbccddeeff");
    let typo = good.replacen("0011", "0021", 1);
    assert_eq!(ApiKey::new(typo).unwrap_err(), ApiKeyError::BadChecksum);
    let truncated = good.get(..good.len() - 1).unwrap().to_owned();
    assert_eq!(
        ApiKey::new(truncated).unwrap_err(),
        ApiKeyError::MalformedMinted
    );
}

/// Keys minted before the CRC-32 checksum keep working, digested as they were;
/// keys minted now are digested under the short label, in one SHA-256 block.
#[test]
fn both_minted_shapes_and_their_digests() {
    let body = "00112233445566778899aabbccddeeff";
    // Both checksums computed independently, with Python's `zlib.crc32` and
    // `hashlib.sha256(b"pw-auth/api-key-checksum/v1\0" + body).digest()[:4]`.
    assert_eq!(minted(body), "pwk_00112233445566778899aabbccddeeff90482470");
    assert_eq!(
        legacy(body),
        "pwk_00112233445566778899aabbccddeeff_b2cb1933"
    );
    let old = ApiKey::new(legacy(body)).unwrap();
    assert_eq!(
        old.digest().as_bytes(),
        &sha256(b"pw-auth/api-key/v1\0", old.expose_secret().as_bytes())
    );
    let new = ApiKey::new(minted(body)).unwrap();
    assert_eq!(new.expose_secret().len(), 44);
    assert_eq!(MINTED_KEY_DIGEST_LABEL.len() + 44, 55, "one SHA-256 block");
    assert_eq!(
        new.digest().as_bytes(),
        &sha256(b"pw-auth/k2\0", new.expose_secret().as_bytes())
    );
    let opaque = ApiKey::new("opaque".into()).unwrap();
    assert_eq!(
        opaque.digest().as_bytes(),
        &sha256(b"pw-auth/api-key/v1\0", b"opaque")
    );
    // The legacy checksum is not accepted in the new shape, nor the reverse.
    let old_sum = legacy(body);
    let swapped = old_sum.replacen('_', "", 2).replacen("pwk", "pwk_", 1);
    assert_eq!(ApiKey::new(swapped).unwrap_err(), ApiKeyError::BadChecksum);
    let new_sum = minted(body);
    let with_sep = format!("{}_{}", &new_sum[..36], &new_sum[36..]);
    assert_eq!(ApiKey::new(with_sep).unwrap_err(), ApiKeyError::BadChecksum);
    // The body of a key minted now: 32 to 128 hex digits, an even number.
    for len in [30, 33, 130] {
        let k = minted(&"a".repeat(len));
        assert_eq!(
            ApiKey::new(k).unwrap_err(),
            ApiKeyError::MalformedMinted,
            "{len}"
        );
    }
    for len in [32, 34, 128] {
        assert!(ApiKey::new(minted(&"a".repeat(len))).is_ok(), "{len}");
    }
    let upper = minted(body).to_uppercase().replacen("PWK_", "pwk_", 1);
    assert_eq!(
        ApiKey::new(upper).unwrap_err(),
        ApiKeyError::MalformedMinted
    );
}

/// The borrowed types accept and refuse exactly what the owned ones do, with the
/// same digests, and copy out to equal owned values.
#[test]
fn borrowed_and_owned_agree() {
    for k in [
        "abc".to_owned(),
        minted("00112233445566778899aabbccddeeff"),
        legacy("abcd"),
        "pwk_abcd_00000000".to_owned(),
        "a b".to_owned(),
        "Bearer".to_owned(),
        String::new(),
    ] {
        let owned = ApiKey::new(k.clone());
        let borrowed = ApiKeyRef::new(&k);
        assert_eq!(
            owned.clone().err(),
            borrowed.as_ref().err().cloned(),
            "{k:?}"
        );
        if let (Ok(o), Ok(b)) = (owned, borrowed) {
            assert_eq!(o.digest(), b.digest());
            assert_eq!(o.borrowed().digest(), b.digest());
            assert_eq!(b.to_api_key(), o);
            assert_eq!(b.to_api_key().digest(), o.digest());
            let c = Credential::ApiKey(o);
            assert_eq!(c.borrowed().to_credential(), c);
            assert_eq!(c.digest(), CredentialDigest::ApiKey(b.digest()));
        }
    }
    for t in ["a", "abc==", "a=b", "", "ä", "=", "A-._~+/9"] {
        let owned = AccessToken::new(t.to_owned());
        assert_eq!(owned.clone().err(), AccessTokenRef::new(t).err(), "{t:?}");
        assert_eq!(
            owned.clone().err(),
            AccessTokenRef::from_bytes(t.as_bytes()).err(),
            "{t:?}"
        );
        if let Ok(o) = owned {
            let b = AccessTokenRef::new(t).unwrap();
            assert_eq!(o.digest(), b.digest());
            assert_eq!(b.to_access_token(), o);
            let c = Credential::Bearer(o);
            assert_eq!(c.borrowed().to_credential(), c);
            assert_eq!(c.digest(), CredentialDigest::Bearer(b.digest()));
        }
    }
    assert_eq!(
        format!(
            "{:?}",
            CredentialRef::ApiKey(ApiKeyRef::new("s3cr3t").unwrap())
        ),
        "ApiKey(ApiKeyRef(<redacted>))"
    );
    assert_eq!(
        format!("{:?}", AccessTokenRef::new("s3cr3t").unwrap()),
        "AccessTokenRef(<redacted>)"
    );
}

/// The chunked scan finds the first failing byte wherever it is: in a full chunk,
/// at a chunk's edge, or in the tail.
#[test]
fn prefix_len_finds_the_first_failure_anywhere() {
    for len in 0..70 {
        for bad in 0..=len {
            let mut v = vec![b'a'; len];
            if let Some(b) = v.get_mut(bad) {
                *b = b' ';
            }
            let naive = v.iter().position(|&b| !is_visible(b)).unwrap_or(len);
            assert_eq!(prefix_len(&v, is_visible), naive, "{len} {bad}");
            assert_eq!(prefix_len(&v, is_b64token_char), naive, "{len} {bad}");
        }
    }
    for b in 0..=u8::MAX {
        assert_eq!(is_visible(b), (0x21..=0x7e).contains(&b), "{b:#04x}");
    }
}

#[test]
fn token_grammar_is_b64token() {
    for ok in [
        "a",
        "abc==",
        "A-._~+/9",
        "x=",
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
    ] {
        assert!(AccessToken::new(ok.into()).is_ok(), "{ok:?}");
    }
    use TokenError::*;
    let cases: &[(&str, TokenError)] = &[
        ("", Empty),
        ("=", OnlyPadding),
        ("==", OnlyPadding),
        ("a=b", MisplacedPadding { position: 1 }),
        ("ab==c", MisplacedPadding { position: 2 }),
        (
            "a b",
            InvalidChar {
                kind: BadChar::Whitespace,
                position: 1,
            },
        ),
        (
            "a,b",
            InvalidChar {
                kind: BadChar::NotAllowed,
                position: 1,
            },
        ),
        (
            "a=,",
            InvalidChar {
                kind: BadChar::NotAllowed,
                position: 2,
            },
        ),
        (
            "a\"",
            InvalidChar {
                kind: BadChar::NotAllowed,
                position: 1,
            },
        ),
        (
            "ä",
            InvalidChar {
                kind: BadChar::NonAscii,
                position: 0,
            },
        ),
        (
            "a\n",
            InvalidChar {
                kind: BadChar::Control,
                position: 1,
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            &AccessToken::new((*input).into()).unwrap_err(),
            want,
            "{input:?}"
        );
    }
    assert_eq!(
        AccessToken::new("a".repeat(4097)).unwrap_err(),
        TooLong { len: 4097 }
    );
}

#[test]
fn secrets_are_redacted_and_compared_by_value() {
    let a = ApiKey::new("s3cr3t-key".into()).unwrap();
    assert_eq!(format!("{a:?}"), "ApiKey(<redacted>)");
    assert_eq!(format!("{a:#?}"), "ApiKey(<redacted>)");
    assert_eq!(a, ApiKey::new("s3cr3t-key".into()).unwrap());
    assert_ne!(a, ApiKey::new("s3cr3t-kez".into()).unwrap());
    let p = Password::new("hunter2".into()).unwrap();
    assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    assert_eq!(
        Password::new(String::new()).unwrap_err(),
        PasswordError::Empty
    );
}

#[test]
fn key_and_token_digests_differ_for_the_same_text() {
    let k = ApiKey::new("same".into()).unwrap().digest();
    let t = AccessToken::new("same".into()).unwrap().digest();
    assert_ne!(k.as_bytes(), t.as_bytes());
}
