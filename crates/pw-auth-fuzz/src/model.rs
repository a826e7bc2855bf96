//! A deliberately naive reference evaluator, written from `docs/policy.md` over the
//! raw [`PolicyDocument`] — strings and linear scans, no compiled form — so that the
//! compiled engine can be checked against it (as Cedar checks its engine against a
//! model).

use pw_auth_core::{ActionKind, CustomRoleSpec, KeyScope, PolicyDocument};

/// A principal, as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPrincipal {
    /// A standard role name: `administrator`, `manager`, `user`, `read-only`, `api-user`.
    pub role: &'static str,
    /// A custom role name, if one is assigned.
    pub custom: Option<String>,
    /// The principal's own company.
    pub home: String,
    /// For an API key, the scope it was narrowed to (read as data: its lists).
    pub scope: Option<KeyScope>,
}

/// A request, as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRequest {
    /// The action id.
    pub action: String,
    /// The company owning the target.
    pub company: String,
    /// That company's tier name.
    pub tier: &'static str,
    /// That company's parent, if linked.
    pub parent: Option<String>,
    /// The principal's grants.
    pub grants: Vec<String>,
    /// A company's own custom role handed over with the request: the company, and
    /// the role's definition.
    pub own_role: Option<(String, CustomRoleSpec)>,
}

fn level(name: &str) -> u8 {
    match name {
        "read-only" => 0,
        "user" => 1,
        "manager" | "api-user" => 2,
        "administrator" => 3,
        _ => u8::MAX, // "nobody": no one reaches it
    }
}

fn tier_has(tier: &str, feature: &str) -> bool {
    matches!(
        (tier, feature),
        ("trial" | "enterprise", _) | ("professional", "advanced")
    )
}

/// The kind of the reason the rules in `docs/policy.md` give, as the `kind` field of
/// a serialised `Reason` (`allowed`, `unknown_action`, `other_company`, …).
pub fn reason_kind(doc: &PolicyDocument, p: &ModelPrincipal, r: &ModelRequest) -> &'static str {
    let Some(a) = doc.actions.iter().find(|a| a.id == r.action) else {
        return "unknown_action";
    };
    let by_grant = if r.company == p.home {
        false
    } else {
        if r.parent.as_deref() != Some(p.home.as_str()) {
            return "other_company";
        }
        if p.role == "api-user" {
            return "api_user_own_company_only";
        }
        if !r.grants.contains(&r.company) {
            return "missing_grant";
        }
        if p.custom.is_some() {
            return "custom_role_in_linked_company";
        }
        if level(p.role) < level("manager") {
            return "linked_role_too_low";
        }
        true
    };
    if a.grant_required && !by_grant {
        return "grant_required";
    }
    if a.own_company_only && by_grant {
        return "own_company_only";
    }
    let feature_missing = a.feature.as_deref().is_some_and(|f| !tier_has(r.tier, f));
    if let Some(c) = &p.custom {
        // The company's own role of that name, when it is the request's company's;
        // else the document's.
        let own = r
            .own_role
            .as_ref()
            .filter(|(company, spec)| *company == r.company && spec.name == *c)
            .map(|(_, spec)| spec);
        let Some(role) = own.or_else(|| doc.custom_roles.iter().find(|x| &x.name == c)) else {
            return "unknown_custom_role";
        };
        if !tier_has(r.tier, "role-manager") {
            return "tier_excludes";
        }
        if a.min_role == "nobody" || a.min_role == "administrator" {
            return "not_grantable_by_custom_role";
        }
        let area = a.id.split('.').next().unwrap_or("");
        let list = match a.kind {
            ActionKind::View => &role.view,
            ActionKind::Edit => &role.edit,
        };
        if !list.iter().any(|x| x == area) {
            return "custom_role_lacks";
        }
        if feature_missing {
            return "tier_excludes";
        }
        return "allowed_by_custom_role";
    }
    if a.min_role == "nobody" {
        return "platform_support_only";
    }
    if level(p.role) < level(&a.min_role) {
        return if a.min_role == "administrator" {
            "administrator_only"
        } else {
            "role_too_low"
        };
    }
    if a.human_only && p.role == "api-user" {
        return "human_only";
    }
    if feature_missing {
        return "tier_excludes";
    }
    // docs/policy.md step 6: a key's scope, last — an action it names, or a view
    // (edit) action of an area it lists under `view` (`edit`).
    if let Some(scope) = &p.scope {
        let area = a.id.split('.').next().unwrap_or("");
        let areas = match a.kind {
            ActionKind::View => &scope.view,
            ActionKind::Edit => &scope.edit,
        };
        if !scope.actions.contains(&a.id) && !areas.iter().any(|x| x == area) {
            return "outside_key_scope";
        }
    }
    "allowed"
}
