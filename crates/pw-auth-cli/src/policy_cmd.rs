//! `pw-auth policy matrix` and `pw-auth policy check`.

use std::collections::BTreeMap;

use pw_auth_core::{
    ApiKeyId, CompanyId, Policy, PolicyError, PolicyLoadError, Principal, Reason, Request, Role,
    Tier, TokenId, UserId, authorize,
};
use time::OffsetDateTime;

fn principal(role: Role, home: &CompanyId) -> Result<Principal, String> {
    let id = |s: &str| UserId::new(s).map_err(|e| e.to_string());
    Ok(match role {
        Role::ApiUser => Principal::api_key(
            id("api-user")?,
            home.clone(),
            ApiKeyId::new("key").map_err(|e| e.to_string())?,
        ),
        r => Principal::bearer(
            id(r.as_str())?,
            home.clone(),
            r,
            TokenId::new("token").map_err(|e| e.to_string())?,
            OffsetDateTime::UNIX_EPOCH,
        ),
    })
}

/// A short label for a reason, for the table.
fn label(r: Reason) -> String {
    match r {
        Reason::Allowed { .. } => "allow".into(),
        Reason::AdministratorOnly { .. } => "no: administrator only".into(),
        Reason::RoleTooLow { required, .. } => format!("no: needs {required}"),
        Reason::TierExcludes { feature, .. } => format!("no: tier lacks {feature}"),
        Reason::PlatformSupportOnly => "no: platform support only".into(),
        Reason::GrantRequired => "no: only by grant".into(),
        other => format!("no: {}", other.to_string().trim_start_matches("denied: ")),
    }
}

/// The role × action table for every tier: markdown, or JSON.
pub(crate) fn matrix(policy: &Policy, json: bool) -> Result<String, String> {
    let home = CompanyId::new("company").map_err(|e| e.to_string())?;
    let principals: Vec<(Role, Principal)> = Role::ALL
        .into_iter()
        .map(|r| principal(r, &home).map(|p| (r, p)))
        .collect::<Result<_, _>>()?;
    if json {
        let mut tiers = BTreeMap::new();
        for tier in Tier::ALL {
            let mut actions = BTreeMap::new();
            for a in policy.actions() {
                let mut roles = BTreeMap::new();
                for (role, p) in &principals {
                    let d = authorize(policy, p, &Request::new(a.id(), &home, tier));
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
                let d = authorize(policy, p, &Request::new(a.id(), &home, tier));
                out.push_str(&format!(" {} |", label(d.reason())));
            }
            out.push('\n');
        }
    }
    Ok(out)
}

/// Where in the JSON text the `index`-th element of the top-level array `key` starts,
/// as a 1-based (line, column).
fn locate(text: &str, key: &str, index: usize) -> Option<(usize, usize)> {
    let (mut line, mut col) = (1usize, 0usize);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start = 0usize;
    let mut last_key: Option<&str> = None;
    let mut in_target = false;
    let mut count = 0usize;
    let mut expect_element = false;
    for (i, ch) in text.char_indices() {
        if ch == '\n' {
            line = line.saturating_add(1);
            col = 0;
            continue;
        }
        col = col.saturating_add(1);
        if in_string {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
                if depth == 1 {
                    last_key = text.get(string_start..i);
                }
            }
            continue;
        }
        if in_target && depth == 2 && expect_element && !ch.is_whitespace() && ch != ']' {
            if count == index {
                return Some((line, col));
            }
            count = count.saturating_add(1);
            expect_element = false;
        }
        match ch {
            '"' => {
                in_string = true;
                string_start = i.saturating_add(1);
            }
            '{' | '[' => {
                depth = depth.saturating_add(1);
                if depth == 2 && ch == '[' && last_key == Some(key) {
                    in_target = true;
                    expect_element = true;
                }
            }
            '}' | ']' => {
                if depth == 2 && in_target {
                    in_target = false;
                }
                depth = depth.saturating_sub(1);
            }
            ',' if in_target && depth == 2 => expect_element = true,
            _ => {}
        }
    }
    None
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

/// Compiles a policy file's text; errors come as `FILE:line:col: message`.
pub(crate) fn load(path: &str, text: &str) -> Result<Policy, String> {
    match Policy::from_json(text) {
        Ok(p) => Ok(p),
        Err(PolicyLoadError::Syntax {
            line,
            column,
            message,
        }) => Err(format!("{path}:{line}:{column}: {message}")),
        Err(PolicyLoadError::Invalid(e)) => {
            let place = match &e {
                PolicyError::InvalidActionId { index, .. }
                | PolicyError::DuplicateAction { index, .. }
                | PolicyError::UnknownRole { index, .. }
                | PolicyError::ApiUserLevel { index, .. }
                | PolicyError::UnknownFeature { index, .. }
                | PolicyError::GrantBelowManager { index, .. } => locate(text, "actions", *index),
                PolicyError::CustomRoleName { index, .. }
                | PolicyError::DuplicateCustomRole { index, .. }
                | PolicyError::UnknownArea { index, .. }
                | PolicyError::DuplicateArea { index, .. }
                | PolicyError::EditWithoutView { index, .. } => {
                    locate(text, "custom_roles", *index)
                }
                _ => None,
            };
            let (line, column) = place.unwrap_or((1, 1));
            Err(format!("{path}:{line}:{column}: {e}"))
        }
        Err(other) => Err(format!("{path}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_array_elements() {
        let text = "{\n  \"name\": \"x, [y]\",\n  \"actions\": [\n    {\"id\": \"a.b\"},\n    {\"id\": \"c.d\", \"x\": [1, 2]},\n    {\"id\": \"e\\\"f\"}\n  ]\n}";
        assert_eq!(locate(text, "actions", 0), Some((4, 5)));
        assert_eq!(locate(text, "actions", 1), Some((5, 5)));
        assert_eq!(locate(text, "actions", 2), Some((6, 5)));
        assert_eq!(locate(text, "actions", 3), None);
        assert_eq!(locate(text, "custom_roles", 0), None);
    }
}
