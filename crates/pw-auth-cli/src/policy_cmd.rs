//! `pw-auth policy matrix` and `pw-auth policy check`.

use std::collections::BTreeMap;

use pw_auth_core::{
    Authenticator, CompanyId, ExpiresIn, KeyLabel, KeyScope, Lookup, Policy, PolicyError,
    Principal, Request, Role, Tier, UserId, UserRecord, authorize, issue_token, mint_api_key,
};
use time::OffsetDateTime;
use time::macros::datetime;

/// The instant the matrix is decided at: its principals are freshly authenticated.
const MATRIX_NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

/// Fixed bytes for the matrix's credentials (the matrix prints none of them).
const MATRIX_RANDOM: [u8; 16] = [
    0x3c, 0x91, 0x0e, 0x5a, 0xd7, 0x42, 0x68, 0xb1, 0x1f, 0xa3, 0x7c, 0x05, 0xe9, 0x26, 0x84, 0x5b,
];

/// A principal of `role` in `home`, made the only way there is: by authenticating a
/// freshly minted key (api-user) or a freshly issued token (the others).
fn principal(role: Role, home: &CompanyId) -> Result<Principal, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let a = Authenticator::default();
    if role == Role::ApiUser {
        let label = KeyLabel::new("matrix").map_err(|e| err(&e))?;
        let m = mint_api_key(home, label, &MATRIX_RANDOM, MATRIX_NOW).map_err(|e| err(&e))?;
        return a
            .api_key(&m.key, Lookup::Found(&m.record), Some(&m.user), MATRIX_NOW)
            .map_err(|e| err(&e));
    }
    let id = UserId::new(role.as_str()).map_err(|e| err(&e))?;
    let user = UserRecord::active(id, home.clone(), role);
    let t =
        issue_token(&user, &MATRIX_RANDOM, MATRIX_NOW, ExpiresIn::DEFAULT).map_err(|e| err(&e))?;
    a.bearer(&t.token, Lookup::Found(&t.record), Some(&user), MATRIX_NOW)
        .map_err(|e| err(&e))
}

/// Named key scopes from `text` (a JSON object: name → `{"actions", "view",
/// "edit"}`), each checked against `policy` as a key's would be when minted; in name
/// order.
pub(crate) fn key_scopes(
    path: &str,
    text: &str,
    policy: &Policy,
) -> Result<Vec<(String, KeyScope)>, String> {
    let scopes: BTreeMap<String, KeyScope> =
        serde_json::from_str(text).map_err(|e| format!("{path}: {e}"))?;
    for (name, scope) in &scopes {
        scope
            .check(policy)
            .map_err(|e| format!("{path}: scope `{name}`: {e}"))?;
    }
    Ok(scopes.into_iter().collect())
}

/// An API key of `home` narrowed to `scope`, minted and authenticated.
fn scoped_principal(scope: &KeyScope, home: &CompanyId) -> Result<Principal, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let label = KeyLabel::new("matrix").map_err(|e| err(&e))?;
    let m = mint_api_key(home, label, &MATRIX_RANDOM, MATRIX_NOW)
        .map_err(|e| err(&e))?
        .scoped(scope.clone());
    Authenticator::default()
        .api_key(&m.key, Lookup::Found(&m.record), Some(&m.user), MATRIX_NOW)
        .map_err(|e| err(&e))
}

/// The role × action table for every tier, with a column for a key narrowed by each
/// of `scopes`: markdown, or JSON.
pub(crate) fn matrix(
    policy: &Policy,
    scopes: &[(String, KeyScope)],
    json: bool,
) -> Result<String, String> {
    let home = CompanyId::new("company").map_err(|e| e.to_string())?;
    let principals: Vec<(String, Principal)> = Role::ALL
        .into_iter()
        .map(|r| principal(r, &home).map(|p| (r.as_str().to_owned(), p)))
        .chain(scopes.iter().map(|(name, scope)| {
            scoped_principal(scope, &home).map(|p| (format!("key:{name}"), p))
        }))
        .collect::<Result<_, _>>()?;
    if json {
        let mut tiers = BTreeMap::new();
        for tier in Tier::ALL {
            let mut actions = BTreeMap::new();
            for a in policy.actions() {
                let mut roles = BTreeMap::new();
                for (role, p) in &principals {
                    let d = authorize(policy, p, &Request::new(a.id(), &home, tier), MATRIX_NOW);
                    roles.insert(
                        role.as_str(),
                        serde_json::json!({"effect": d.effect(), "reason": d.reason()}),
                    );
                }
                actions.insert(a.id(), roles);
            }
            tiers.insert(tier.as_str(), actions);
        }
        let v = serde_json::json!({"policy": policy.id(), "tiers": tiers});
        return serde_json::to_string_pretty(&v)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string());
    }
    let mut out = format!(
        "# Decision matrix of {}\n\nIn the principal's own company; api-user is an API key, the others bearer tokens.\n",
        policy.id()
    );
    for tier in Tier::ALL {
        out.push_str(&format!("\n## Tier: {tier}\n\n| action |"));
        for (role, _) in &principals {
            out.push_str(&format!(" {role} |"));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(principals.len()));
        out.push('\n');
        for a in policy.actions() {
            out.push_str(&format!("| `{}` |", a.id()));
            for (_, p) in &principals {
                let d = authorize(policy, p, &Request::new(a.id(), &home, tier), MATRIX_NOW);
                out.push_str(&format!(" {} |", d.reason().code()));
            }
            out.push('\n');
        }
    }
    Ok(out)
}

/// `policy diff`: the cells whose decision or reason differ between two policies
/// (keys narrowed by `scopes` included), as markdown for people or JSON for tools, and
/// the exit status: 0 when they decide the same, [`crate::output::EXIT_CHANGED`] when
/// they do not.
pub(crate) fn diff(
    before: &Policy,
    after: &Policy,
    scopes: &[(String, KeyScope)],
    json: bool,
) -> (String, u8) {
    let changes = before.diff_with_scopes(after, scopes);
    let code = if changes.is_empty() {
        crate::output::EXIT_OK
    } else {
        crate::output::EXIT_CHANGED
    };
    if json {
        let v = serde_json::json!({
            "before": before.id(),
            "after": after.id(),
            "changes": changes,
        });
        return (format!("{v}\n"), code);
    }
    let mut out = format!("# Policy diff: `{}` → `{}`\n\n", before.id(), after.id());
    if changes.is_empty() {
        out.push_str("No decision changed.\n");
        return (out, code);
    }
    let n = changes.len();
    out.push_str(&format!(
        "{n} {} changed.\n\n| action | subject | place | tier | before | after |\n|---|---|---|---|---|---|\n",
        if n == 1 { "cell" } else { "cells" }
    ));
    for c in &changes {
        let (before, after) = c.sides();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {before} | {after} |\n",
            c.action, c.subject, c.place, c.tier
        ));
    }
    (out, code)
}

/// `policy test`: the failing cases and a summary, and the exit status (0 every case
/// held, [`crate::output::EXIT_CHANGED`] some failed); a case that cannot be run is
/// an error naming its line.
pub(crate) fn test(policy: &Policy, path: &str, cases: &str) -> Result<(String, u8), String> {
    let report = policy
        .run_cases(cases)
        .map_err(|e| format!("{path}: {e}"))?;
    let mut out = String::new();
    for f in &report.failures {
        out.push_str(&format!("{path}: {f}\n"));
    }
    let failed = report.failures.len();
    out.push_str(&format!(
        "{} cases, {} passed, {failed} failed ({})\n",
        report.cases,
        report.cases.saturating_sub(failed),
        policy.id()
    ));
    let code = if report.passed() {
        crate::output::EXIT_OK
    } else {
        crate::output::EXIT_CHANGED
    };
    Ok((out, code))
}

/// Checks a policy file: `Ok(summary)` or `Err("FILE:line:col: message")`.
pub(crate) fn check(path: &str, text: &str) -> Result<String, String> {
    let p = load(path, text)?;
    Ok(format!(
        "{path}: ok — {}, {} actions, {} custom roles\n",
        p.id(),
        p.actions().len(),
        p.custom_roles().len()
    ))
}

/// Compiles a policy file's text; an error comes as `FILE:line:col: message`, with
/// its help on the next line.
pub(crate) fn load(path: &str, text: &str) -> Result<Policy, String> {
    Policy::from_json(text).map_err(|e| located(path, &e))
}

fn located(path: &str, e: &PolicyError) -> String {
    let mut out = match e.location() {
        Some(at) => format!("{path}:{}:{}: {}", at.line(), at.column(), e.kind()),
        None => format!("{path}: {}", e.kind()),
    };
    if let Some(help) = e.help() {
        out.push_str(&format!("\n  help: {help}"));
    }
    out
}
