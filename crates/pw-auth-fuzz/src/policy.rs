//! The policy target: any text as a policy document.

use pw_auth_core::testing::{self, EXPIRES_AT, NOW};
use pw_auth_core::{
    ApiKeyId, CompanyId, CompanyRole, CustomRoleName, IdError, Policy, PolicyDocument, Principal,
    Reason, Request, Role, Tier, TokenId, UserId, authorize,
};

use crate::model::{ModelPrincipal, ModelRequest, reason_kind};
use crate::{Checked, Violation, ensure};

/// Actions of a fuzzed policy that are checked against the model (bounds the work).
const CHECKED_ACTIONS: usize = 32;

/// A principal of `role` in `home`, bearer unless it is the api-user, with an
/// optional custom role (never on the api-user). Bearers expire at [`EXPIRES_AT`].
pub(crate) fn principal(
    role: Role,
    custom: Option<&str>,
    home: &CompanyId,
) -> Result<Principal, IdError> {
    if role == Role::ApiUser {
        return Ok(testing::api_key_principal(
            UserId::new("u")?,
            home.clone(),
            ApiKeyId::new("k")?,
        ));
    }
    let bearer = testing::bearer_principal(
        UserId::new("u")?,
        home.clone(),
        role,
        TokenId::new("t")?,
        EXPIRES_AT,
    );
    let Some(p) = bearer else {
        return Ok(testing::principal(role, home));
    };
    Ok(match custom.map(CustomRoleName::new) {
        Some(Ok(name)) => testing::with_custom_role(p.clone(), name).unwrap_or(p),
        _ => p,
    })
}

/// Compares one decision with the model; returns whether the engine allowed it.
pub(crate) fn agree(
    policy: &Policy,
    doc: &PolicyDocument,
    p: &ModelPrincipal,
    r: &ModelRequest,
) -> Result<bool, Violation> {
    let bad_id = |e: IdError| Violation(format!("fixture id: {e}"));
    let home = CompanyId::new(&p.home).map_err(bad_id)?;
    let role: Role = p
        .role
        .parse()
        .map_err(|e| Violation(format!("fixture role: {e}")))?;
    let principal = principal(role, p.custom.as_deref(), &home).map_err(bad_id)?;
    let company = CompanyId::new(&r.company).map_err(bad_id)?;
    let parent = r
        .parent
        .as_deref()
        .map(CompanyId::new)
        .transpose()
        .map_err(bad_id)?;
    let grants = r
        .grants
        .iter()
        .map(|g| CompanyId::new(g))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad_id)?;
    let tier: Tier = r
        .tier
        .parse()
        .map_err(|e| Violation(format!("fixture tier: {e}")))?;
    let own = match &r.own_role {
        Some((of, spec)) => {
            let of = CompanyId::new(of).map_err(bad_id)?;
            Some(
                CompanyRole::from_record(of, spec)
                    .map_err(|e| Violation(format!("fixture role: {e}")))?,
            )
        }
        None => None,
    };
    let req = Request::new(&r.action, &company, tier)
        .with_grants(&grants)
        .with_parent(parent.as_ref())
        .with_custom_role(own.as_ref());
    let got = authorize(policy, &principal, &req, NOW);
    let kind = got.reason().kind();
    let want = reason_kind(doc, p, r);
    ensure(kind == want, || {
        format!("engine says {kind}, model says {want}: {p:?} {r:?}")
    })?;
    ensure(got.is_allowed() == want.starts_with("allowed"), || {
        format!("effect differs: {p:?} {r:?}")
    })?;
    // Once a bearer's token has expired, nothing is allowed, whatever the request.
    if role != Role::ApiUser {
        let late = authorize(policy, &principal, &req, EXPIRES_AT);
        ensure(
            late.reason() == (Reason::CredentialExpired { at: EXPIRES_AT }),
            || format!("an expired principal got {:?}: {p:?} {r:?}", late.reason()),
        )?;
    }
    Ok(got.is_allowed())
}

/// Policy documents: building never panics; a document that builds decides exactly
/// as the naive model over a grid of principals, tiers and companies.
pub fn policy(data: &[u8]) -> Checked {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let Ok(policy) = Policy::from_json(text) else {
        return Ok(());
    };
    let doc: PolicyDocument = serde_json::from_str(text)
        .map_err(|e| Violation(format!("built a policy from a document serde refuses: {e}")))?;
    let mut customs: Vec<Option<String>> = vec![None, Some("zz-not-defined".to_owned())];
    customs.extend(
        doc.custom_roles
            .iter()
            .take(2)
            .map(|c| Some(c.name.clone())),
    );
    let mut actions: Vec<String> = doc
        .actions
        .iter()
        .take(CHECKED_ACTIONS)
        .map(|a| a.id.clone())
        .collect();
    actions.push("zz.not-defined".to_owned());
    for role in ["administrator", "manager", "user", "read-only", "api-user"] {
        for custom in &customs {
            let p = ModelPrincipal {
                role,
                custom: custom.clone().filter(|_| role != "api-user"),
                home: "home".to_owned(),
                scope: None,
            };
            for tier in ["trial", "standard", "professional", "enterprise"] {
                for action in &actions {
                    for (company, parent, grants) in [
                        ("home", None, vec![]),
                        ("child", Some("home"), vec!["child"]),
                        ("child", Some("home"), vec![]),
                        ("other", None, vec!["other"]),
                    ] {
                        let r = ModelRequest {
                            action: action.clone(),
                            company: company.to_owned(),
                            tier,
                            parent: parent.map(str::to_owned),
                            grants: grants.into_iter().map(str::to_owned).collect(),
                            own_role: None,
                        };
                        agree(&policy, &doc, &p, &r)?;
                    }
                }
            }
        }
    }
    Ok(())
}
