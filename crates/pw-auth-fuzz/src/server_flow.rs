//! The server-flow target: the reference server's request path without its IO. The
//! `Authorization` field lines arrive in an `http::HeaderMap` (as axum hands them
//! over), are parsed once, the records are looked up by digest, the principal is
//! authenticated, authorised in the company it acts in and charged to its own
//! company's budget — `pw_auth_axum::PwAuth::check`, step for step.
#![expect(
    clippy::arithmetic_side_effects,
    reason = "remainders by non-zero list lengths, and at most 2^32 s added to 2026, far inside time's range"
)]

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use pw_auth_core::{
    CompanyId, ExpiresIn, KeyLabel, LimitState, MemoryRecords, Policy, Request, Role, Tier, UserId,
    UserRecord, UserStatus, authorize, issue_token, mint_api_key, usage_key,
};
use pw_auth_http::{Budget, Responder, Served, ServerFlow, ServerStore, credential_from_headers};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::{Checked, Violation, ensure};

const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

/// acme (professional) and its linked acme-eu; ann (administrator), max (manager
/// with a grant for acme-eu), off (disabled); a live key, a revoked key, a key with a
/// quota of its own (3 a minute), and tokens.
struct World {
    flow: ServerFlow,
    records: MemoryRecords,
    /// Header values that carry a real credential, and whether it is live.
    credentials: Vec<(String, bool)>,
    secrets: Vec<String>,
}

fn build() -> Result<World, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let acme = CompanyId::new("acme").map_err(|x| e(&x))?;
    let eu = CompanyId::new("acme-eu").map_err(|x| e(&x))?;
    let user = |s: &str| UserId::new(s).map_err(|x| e(&x));
    let ann = UserRecord::active(user("ann")?, acme.clone(), Role::Administrator);
    let max = UserRecord::active(user("max")?, acme.clone(), Role::Manager);
    let mut off = UserRecord::active(user("off")?, acme.clone(), Role::Manager);
    off.status = UserStatus::Disabled;
    let label = KeyLabel::new("erp").map_err(|x| e(&x))?;
    let live = mint_api_key(&acme, label.clone(), b"0123456789abcdef", NOW).map_err(|x| e(&x))?;
    let mut dead =
        mint_api_key(&acme, label.clone(), b"fedcba9876543210", NOW).map_err(|x| e(&x))?;
    // A key with a quota of its own, inside acme's.
    let limited = mint_api_key(&acme, label, b"0a1b2c3d4e5f6a7b", NOW)
        .map_err(|x| e(&x))?
        .limited(
            pw_auth_core::Quota::new(3, 60, 3).map_err(|x| e(&x))?,
            &pw_auth_core::Quota::DEFAULT,
        )
        .map_err(|x| e(&x))?;
    dead.record.revoke(NOW).map_err(|x| e(&x))?;
    let t =
        |u: &UserRecord, r: &[u8]| issue_token(u, r, NOW, ExpiresIn::DEFAULT).map_err(|x| e(&x));
    let t_ann = t(&ann, b"ann-token-random")?;
    let t_max = t(&max, b"max-token-random")?;
    let t_off = t(&off, b"off-token-random")?;
    let bearer = |s: &str| format!("Bearer {s}");
    let credentials = vec![
        (live.key.expose_secret().to_owned(), true),
        (bearer(t_ann.token.expose_secret()), true),
        (bearer(t_max.token.expose_secret()), true),
        (bearer(t_off.token.expose_secret()), false),
        (dead.key.expose_secret().to_owned(), false),
        (limited.key.expose_secret().to_owned(), true),
    ];
    let secrets = vec![
        live.key.expose_secret().to_owned(),
        dead.key.expose_secret().to_owned(),
        limited.key.expose_secret().to_owned(),
        t_ann.token.expose_secret().to_owned(),
        t_max.token.expose_secret().to_owned(),
        t_off.token.expose_secret().to_owned(),
    ];
    let mut records = MemoryRecords::new();
    records
        .insert_minted(&live)
        .insert_minted(&dead)
        .insert_minted(&limited)
        .insert_user(ann)
        .insert_user(off)
        .insert_user(max.clone())
        .insert_token(t_ann.record)
        .insert_token(t_max.record)
        .insert_token(t_off.record)
        .grant(max.id, eu);
    Ok(World {
        flow: ServerFlow::new(
            Policy::default_policy(),
            Responder::new("patchworks").map_err(|x| e(&x))?,
        ),
        records,
        credentials,
        secrets,
    })
}

fn world() -> Result<&'static World, Violation> {
    static WORLD: OnceLock<Result<World, String>> = OnceLock::new();
    WORLD
        .get_or_init(build)
        .as_ref()
        .map_err(|e| Violation(format!("the fixed world did not build: {e}")))
}

/// One `Authorization` field line.
#[derive(Debug, Clone, Arbitrary)]
pub enum Line {
    /// Arbitrary bytes.
    Raw(Vec<u8>),
    /// A real credential's header value (see `World::credentials`), cut short by
    /// `cut` bytes, with `extra` appended.
    Real {
        /// Which one.
        which: u8,
        /// Bytes dropped from its end.
        cut: u8,
        /// Bytes appended.
        extra: Vec<u8>,
    },
}

/// A structured server-flow input.
#[derive(Debug, Clone, Arbitrary)]
pub struct ServerFlowInput {
    lines: Vec<Line>,
    action: Result<u8, String>,
    company: u8,
    /// Seconds after the credentials were issued.
    later_secs: u32,
    /// Requests already charged to acme's budget.
    spent: u8,
    /// Requests already charged to the limited key's own budget.
    key_spent: u8,
}

/// Never panics. An allowed request carries exactly one live credential's value,
/// its principal is authorised by `authorize` on its own, and only then is the
/// caller's own company charged, and its key's own budget with it when the key has
/// a quota (both admitted it). Every refusal is 400, 401, 403 or 429 and leaves
/// both budgets as they were; a 429 comes only when a budget was spent. No secret appears in the `Served` value's `Debug`, the
/// audit record's JSON or the response body (unless the input put it in the action
/// id, which the audit record names).
pub fn server_flow(input: &ServerFlowInput) -> Checked {
    served_status(input).map(|_| ())
}

/// [`server_flow`], answering the status it served (for the harness's own tests).
fn served_status(input: &ServerFlowInput) -> Result<u16, Violation> {
    let w = world()?;
    let mut headers = http::HeaderMap::new();
    let mut texts = Vec::new();
    for line in input.lines.iter().take(4) {
        let bytes = match line {
            Line::Raw(b) => b.clone(),
            Line::Real { which, cut, extra } => {
                let (value, _) = w
                    .credentials
                    .get(usize::from(*which) % w.credentials.len())
                    .ok_or_else(|| Violation("no credential".into()))?;
                let keep = value.len().saturating_sub(usize::from(*cut));
                let mut b = value.as_bytes().get(..keep).unwrap_or_default().to_vec();
                b.extend_from_slice(extra);
                b
            }
        };
        // What the HTTP layer would not deliver never reaches the flow.
        if let Ok(v) = http::HeaderValue::from_bytes(&bytes) {
            headers.append(http::header::AUTHORIZATION, v);
            texts.push(bytes);
        }
    }
    let actions: Vec<&str> = w.flow.policy().actions().map(|a| a.id()).collect();
    let action: &str = match &input.action {
        Ok(i) => actions
            .get(usize::from(*i) % actions.len().max(1))
            .copied()
            .unwrap_or("flows.view"),
        Err(s) => s.as_str(),
    };
    let companies = ["acme", "acme-eu", "globex"];
    let company_name = companies
        .get(usize::from(input.company) % companies.len())
        .copied()
        .unwrap_or("acme");
    let company = CompanyId::new(company_name).map_err(|e| Violation(e.to_string()))?;
    let acme = CompanyId::new("acme").map_err(|e| Violation(e.to_string()))?;
    let now = NOW + Duration::seconds(i64::from(input.later_secs));
    let parent = (company_name == "acme-eu").then_some(&acme);
    let target = Request::new(action, &company, Tier::Professional).with_parent(parent);

    let parsed = credential_from_headers(&headers);
    let served = match w
        .flow
        .authenticate_parsed(parsed, &w.records, Some(target), now)
    {
        Err(refused) => Served::Refused(*refused),
        Ok(principal) => {
            let mut state = LimitState::default();
            let quota = w.flow.policy().quota(Tier::Professional);
            for _ in 0..input.spent {
                state = pw_auth_core::check_limit(state, &quota, now).1;
            }
            let before = state;
            let key_quota = principal.key_quota().copied();
            let mut key_state = LimitState::default();
            if let Some(kq) = &key_quota {
                for _ in 0..input.key_spent {
                    key_state = pw_auth_core::check_limit(key_state, kq, now).1;
                }
            }
            let key_before = key_state;
            // Whether each budget alone would admit one more.
            let company_room = pw_auth_core::check_limit(state, &quota, now).0.is_allowed();
            let key_room = key_quota
                .as_ref()
                .is_none_or(|kq| pw_auth_core::check_limit(key_state, kq, now).0.is_allowed());
            ensure(usage_key(&principal) == &acme, || {
                format!("a principal of {} authenticated", usage_key(&principal))
            })?;
            let grants = w.records.grants(principal.user());
            let request = Request::new(action, &company, Tier::Professional)
                .with_grants(&grants)
                .with_parent(parent);
            let alone = authorize(w.flow.policy(), &principal, &request, now);
            let budget = Budget::new(Tier::Professional, &mut state);
            let budget = match key_quota {
                Some(_) => budget.with_key(&mut key_state),
                None => budget,
            };
            let served = w.flow.decide(principal, &grants, target, Some(budget), now);
            if served.is_allowed() {
                ensure(alone.is_allowed(), || {
                    format!("allowed by the flow, denied alone: {alone:?}")
                })?;
                ensure(state != before, || {
                    "allowed without charging the budget".into()
                })?;
                ensure(key_quota.is_none() || key_state != key_before, || {
                    "allowed without charging the key's own budget".into()
                })?;
                ensure(company_room && key_room, || {
                    "allowed past a spent budget".into()
                })?;
            } else {
                let over = served.outcome().status() == 429;
                ensure(state == before && key_state == key_before, || {
                    "a refusal was charged".into()
                })?;
                ensure(!over || alone.is_allowed(), || {
                    "429 for a denied request".into()
                })?;
                ensure(!(over && company_room && key_room), || {
                    "429 with room in both budgets".into()
                })?;
            }
            served
        }
    };
    let status = served.outcome().status();
    if served.is_allowed() {
        ensure(status == 200, || format!("allowed with {status}"))?;
        ensure(texts.len() == 1, || {
            format!("allowed with {} lines", texts.len())
        })?;
        let sent = texts
            .first()
            .map(|t| String::from_utf8_lossy(t).trim().to_owned());
        ensure(
            w.credentials
                .iter()
                .any(|(c, live)| *live && Some(c.as_str()) == sent.as_deref()),
            || "allowed without a live credential, exactly".into(),
        )?;
    } else {
        ensure([400, 401, 403, 429].contains(&status), || {
            format!("refused with {status}")
        })?;
    }
    let debug = format!("{served:?}");
    let audit = serde_json::to_string(served.audit())
        .map_err(|e| Violation(format!("audit record not writable: {e}")))?;
    // A secret the input put in the action id itself is the caller's echo, not a
    // leak (libFuzzer learns the secrets from comparisons and tries them anywhere).
    for secret in w.secrets.iter().filter(|s| !action.contains(s.as_str())) {
        for (what, text) in [("Debug", &debug), ("audit", &audit)] {
            ensure(!text.contains(secret.as_str()), || {
                format!("a secret in the {what}")
            })?;
        }
        ensure(!served.outcome().body().contains(secret.as_str()), || {
            "a secret in the body".into()
        })?;
    }
    Ok(status)
}

/// [`server_flow`] on raw bytes.
pub fn server_flow_bytes(data: &[u8]) -> Checked {
    match ServerFlowInput::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(input) => server_flow(&input),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(lines: Vec<Line>, action: &str, company: u8) -> ServerFlowInput {
        ServerFlowInput {
            lines,
            action: Err(action.to_owned()),
            company,
            later_secs: 0,
            spent: 0,
            key_spent: 0,
        }
    }

    /// The harness reaches every outcome, so its oracles are exercised: a live key
    /// allowed, a revoked one refused, garbage refused, a denied action, a spent budget,
    /// a limited key allowed and refused by its own spent budget.
    #[test]
    fn the_harness_reaches_every_outcome() {
        let real = |which| Line::Real {
            which,
            cut: 0,
            extra: vec![],
        };
        let cases = [
            (input(vec![real(0)], "flows.view", 0), 200),
            (input(vec![real(1)], "flows.view", 0), 200),
            (input(vec![real(2)], "flows.deploy", 1), 200),
            (input(vec![real(4)], "flows.view", 0), 401),
            (
                input(vec![Line::Raw(b"Bearer nope".to_vec())], "flows.view", 0),
                401,
            ),
            (input(vec![real(0), real(1)], "flows.view", 0), 400),
            (input(vec![real(0)], "blueprints.publish", 0), 403),
            (input(vec![real(0)], "flows.view", 2), 403),
        ];
        for (i, want) in cases {
            assert_eq!(served_status(&i), Ok(want), "{i:?}");
        }
        let mut spent = input(vec![real(0)], "flows.view", 0);
        spent.spent = 250;
        assert_eq!(served_status(&spent), Ok(429));
        let mut limited = input(vec![real(5)], "flows.view", 0);
        limited.key_spent = 2;
        assert_eq!(served_status(&limited), Ok(200));
        limited.key_spent = 3;
        assert_eq!(served_status(&limited), Ok(429));
        // The company's budget spent refuses the limited key too.
        limited.key_spent = 0;
        limited.spent = 250;
        assert_eq!(served_status(&limited), Ok(429));
    }
}
