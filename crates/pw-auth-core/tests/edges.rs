//! Limits and accessors as specifications: each cap tested exactly at the limit and
//! one past it, each accessor's value checked where it is part of the public contract
//! (what `cargo mutants` found unpinned).

use pw_auth_core::*;

use crate::support::*;

/// An access token may be 4,096 bytes long, not one more.
#[test]
fn access_tokens_up_to_4096_bytes() {
    assert_eq!(MAX_TOKEN_LEN, 4096);
    assert!(AccessToken::new("a".repeat(4096)).is_ok());
    assert_eq!(
        AccessToken::new("a".repeat(4097)).unwrap_err(),
        TokenError::TooLong { len: 4097 }
    );
}

/// Whether a key has the minted format: the `pwk_` prefix, nothing else.
#[test]
fn minted_format_is_the_prefix() {
    let m = mint_api_key(
        &company("acme"),
        KeyLabel::new("erp").unwrap(),
        b"0123456789abcdef",
        pw_auth_core::testing::NOW,
    )
    .unwrap();
    assert!(m.key.is_minted_format());
    assert!(m.key.expose_secret().starts_with(API_KEY_PREFIX));
    assert!(
        !ApiKey::new("a-legacy-key".into())
            .unwrap()
            .is_minted_format()
    );
}

/// A password gives back exactly what it holds, for verifying.
#[test]
fn a_password_exposes_itself_for_verifying() {
    let p = Password::new("correct horse".into()).unwrap();
    assert_eq!(p.expose_secret(), "correct horse");
}

/// A key label reads back as given, as text and as an owned string.
#[test]
fn key_labels_read_back() {
    let l = KeyLabel::new("Shopify connector").unwrap();
    assert_eq!(l.as_str(), "Shopify connector");
    assert_eq!(String::from(l.clone()), "Shopify connector");
    assert_eq!(serde_json::to_value(&l).unwrap(), "Shopify connector");
}

/// What kind of character was refused, in words.
#[test]
fn bad_characters_are_named() {
    let named: Vec<String> = [
        BadChar::Whitespace,
        BadChar::Control,
        BadChar::NonAscii,
        BadChar::NotAllowed,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        named,
        [
            "whitespace",
            "a control character",
            "a non-ASCII character",
            "a character that is not allowed"
        ]
    );
}

/// A quota writes its burst only when it differs from the limit.
#[test]
fn quotas_write_the_burst_only_when_it_differs() {
    let even = Quota::new(10, 60, 10).unwrap();
    assert_eq!(
        serde_json::to_value(even).unwrap(),
        serde_json::json!({"limit": 10, "period_secs": 60})
    );
    let bursty = Quota::new(10, 60, 3).unwrap();
    assert_eq!(
        serde_json::to_value(bursty).unwrap(),
        serde_json::json!({"limit": 10, "period_secs": 60, "burst": 3})
    );
}

/// A request names the parent of the company it acts in, when it has one.
#[test]
fn a_request_names_its_parent() {
    let (acme, eu) = (company("acme"), company("acme-eu"));
    let r = Request::new("flows.view", &eu, Tier::Professional);
    assert_eq!(r.parent(), None);
    assert_eq!(r.with_parent(&acme).parent(), Some(&acme));
    // An `Option` of a parent, as a company's record holds it.
    assert_eq!(r.with_parent(Some(&acme)).parent(), Some(&acme));
    assert_eq!(r.with_parent(&acme).with_parent(None).parent(), None);
}

/// The default policy's document, to change one thing in.
fn default_document() -> PolicyDocument {
    serde_json::from_str(Policy::default_document_json()).unwrap()
}

/// The kind of error compiling `doc` gives, if any.
fn compile_error(doc: &PolicyDocument) -> Option<PolicyErrorKind> {
    Policy::compile(doc).err().map(|e| e.kind().clone())
}

/// An action id may be 64 bytes long, not one more; each of its two parts must be
/// well formed, the area as much as the verb.
#[test]
fn action_ids_up_to_64_bytes_both_parts_checked() {
    assert_eq!(MAX_ACTION_ID_LEN, 64);
    let with_first_id = |id: &str| {
        let mut doc = default_document();
        doc.actions[0].id = id.to_owned();
        doc
    };
    let at_cap = format!("flows.{}", "v".repeat(64 - "flows.".len()));
    assert_eq!(at_cap.len(), 64);
    assert_eq!(compile_error(&with_first_id(&at_cap)), None);
    let past_cap = format!("{at_cap}v");
    assert!(matches!(
        compile_error(&with_first_id(&past_cap)),
        Some(PolicyErrorKind::InvalidActionId { index: 0, .. })
    ));
    let far_past = format!("flows.{}", "v".repeat(200));
    assert!(compile_error(&with_first_id(&far_past)).is_some());
    for bad in [
        "Flows.view",
        "flows.View",
        "1flows.view",
        "flows.-view",
        "flows",
    ] {
        assert!(
            matches!(
                compile_error(&with_first_id(bad)),
                Some(PolicyErrorKind::InvalidActionId { index: 0, .. })
            ),
            "{bad}"
        );
    }
}

/// A policy may list 16,384 actions, not one more.
#[test]
fn policies_up_to_16384_actions() {
    assert_eq!(MAX_ACTIONS, 16_384);
    let with_actions = |n: usize| {
        let mut doc = default_document();
        let template = doc.actions[0].clone();
        let mut extra = (doc.actions.len()..n).map(|i| {
            let mut a = template.clone();
            a.id = format!("generated.a{i}");
            a
        });
        doc.actions.extend(&mut extra);
        doc
    };
    assert_eq!(compile_error(&with_actions(MAX_ACTIONS)), None);
    assert_eq!(
        compile_error(&with_actions(MAX_ACTIONS + 1)),
        Some(PolicyErrorKind::TooManyActions {
            count: MAX_ACTIONS + 1
        })
    );
}

/// Revoking a token marks it revoked once: authentication then refuses it, and a
/// second revocation is refused.
#[test]
fn a_token_is_revoked_once() {
    let ann = UserRecord::active(UserId::new("ann").unwrap(), company("acme"), Role::Manager);
    let now = pw_auth_core::testing::NOW;
    let mut issued = issue_token(&ann, b"0123456789abcdef", now, ExpiresIn::DEFAULT).unwrap();
    let authn = Authenticator::default();
    assert!(
        authn
            .bearer(
                &issued.token,
                Lookup::Found(&issued.record),
                Some(&ann),
                now
            )
            .is_ok()
    );
    assert_eq!(issued.record.revoke(now), Ok(()));
    assert_eq!(
        authn.bearer(
            &issued.token,
            Lookup::Found(&issued.record),
            Some(&ann),
            now
        ),
        Err(AuthnFailure::Revoked { at: now })
    );
    assert!(issued.record.revoke(now).is_err(), "revoked twice");
}

/// A request made from an action's definition is decided exactly as one made from
/// its id, for every action, role, tier and company standing; a definition from
/// another policy, even an identical one, is an unknown action.
#[test]
fn requests_for_a_looked_up_action_decide_as_by_id() {
    let policy = Policy::default_policy();
    let acme = company("acme");
    let globex = company("globex");
    let now = pw_auth_core::testing::NOW;
    let mut checked = 0;
    for def in policy.actions() {
        for role in Role::ALL {
            let p = pw_auth_core::testing::principal(role, &acme);
            for tier in Tier::ALL {
                for target in [&acme, &globex] {
                    let by_id = authorize(&policy, &p, &Request::new(def.id(), target, tier), now);
                    let by_def =
                        authorize(&policy, &p, &Request::for_action(def, target, tier), now);
                    assert_eq!(by_id, by_def, "{} {role:?} {tier:?} {target}", def.id());
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    let other = Policy::default_policy();
    let foreign = other.action("flows.view").unwrap();
    let p = pw_auth_core::testing::principal(Role::Administrator, &acme);
    let d = authorize(
        &policy,
        &p,
        &Request::for_action(foreign, &acme, Tier::Enterprise),
        now,
    );
    assert_eq!(d.reason(), Reason::UnknownAction);
    assert!(
        authorize(
            &other,
            &p,
            &Request::for_action(foreign, &acme, Tier::Enterprise),
            now
        )
        .is_allowed()
    );
    let req = Request::for_action(foreign, &acme, Tier::Enterprise);
    assert_eq!(req.action(), "flows.view");
}
