//! # pw-auth-bench
//!
//! The default policy written for peer engines, so that pw-auth can be measured side
//! by side with them on the same decisions: as Cedar policies (cedar-policy) and as an
//! RBAC-with-domains model (casbin). `tests/equivalence.rs` proves the encodings give
//! the same allow/deny as pw-auth for every role × action × tier; `benches/compare.rs`
//! measures them.
//!
//! The peers model a principal acting in its own company (tiers included); grants and
//! custom roles have no counterpart in them and are measured for pw-auth alone.

#![forbid(unsafe_code)]

use std::str::FromStr;

use pw_auth_core::{Feature, Policy, Requirement, Role, Tier};

/// Roles whose level meets `requirement`.
fn admitted(requirement: Requirement) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| requirement.admits(r.level()))
        .collect()
}

/// The tiers that include `feature` (all tiers for none).
fn tiers_with(feature: Option<Feature>) -> Vec<Tier> {
    Tier::ALL
        .into_iter()
        .filter(|t| feature.is_none_or(|f| t.includes(f)))
        .collect()
}

fn quoted(items: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", v.join(", "))
}

/// An error while building a peer (they are fallible APIs; never expected here).
#[derive(Debug)]
pub struct PeerError(pub String);

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PeerError {}

fn err(e: impl std::fmt::Display) -> PeerError {
    PeerError(e.to_string())
}

/// The policy as Cedar: one `permit` per action that someone in a company may do,
/// with the role set and the tier gate as conditions; users and companies as entities.
pub struct CedarPeer {
    authorizer: cedar_policy::Authorizer,
    policies: cedar_policy::PolicySet,
    entities: cedar_policy::Entities,
    /// The Cedar source, for reading.
    pub source: String,
}

impl CedarPeer {
    /// Encodes `policy`.
    pub fn new(policy: &Policy) -> Result<CedarPeer, PeerError> {
        let mut source = String::new();
        for a in policy.actions() {
            if a.grant_required() || a.requirement() == Requirement::Nobody {
                continue; // never allowed in the principal's own company
            }
            let roles = quoted(
                admitted(a.requirement())
                    .iter()
                    .map(|r| r.as_str().to_owned()),
            );
            let tiers = quoted(
                tiers_with(a.feature())
                    .iter()
                    .map(|t| t.as_str().to_owned()),
            );
            source.push_str(&format!(
                "permit(principal, action == Action::\"{}\", resource)\n  when {{ principal.company == resource && {roles}.contains(principal.role) && {tiers}.contains(resource.tier) }};\n",
                a.id()
            ));
        }
        let policies = cedar_policy::PolicySet::from_str(&source).map_err(err)?;
        let mut entities = Vec::new();
        for tier in Tier::ALL {
            entities.push(serde_json::json!({
                "uid": {"type": "Company", "id": tier.as_str()},
                "attrs": {"tier": tier.as_str()},
                "parents": []
            }));
            for role in Role::ALL {
                entities.push(serde_json::json!({
                    "uid": {"type": "User", "id": format!("{role}@{tier}")},
                    "attrs": {"role": role.as_str(), "company": {"__entity": {"type": "Company", "id": tier.as_str()}}},
                    "parents": []
                }));
            }
        }
        let entities =
            cedar_policy::Entities::from_json_value(serde_json::Value::Array(entities), None)
                .map_err(err)?;
        Ok(CedarPeer {
            authorizer: cedar_policy::Authorizer::new(),
            policies,
            entities,
            source,
        })
    }

    /// The request "a `role` of a company on `tier` does `action` in it".
    pub fn request(
        &self,
        role: Role,
        action: &str,
        tier: Tier,
    ) -> Result<cedar_policy::Request, PeerError> {
        let uid = |s: String| cedar_policy::EntityUid::from_str(&s).map_err(err);
        cedar_policy::Request::new(
            uid(format!("User::\"{role}@{tier}\""))?,
            uid(format!("Action::\"{action}\""))?,
            uid(format!("Company::\"{tier}\""))?,
            cedar_policy::Context::empty(),
            None,
        )
        .map_err(err)
    }

    /// Whether Cedar allows the request.
    pub fn is_allowed(&self, request: &cedar_policy::Request) -> bool {
        self.authorizer
            .is_authorized(request, &self.policies, &self.entities)
            .decision()
            == cedar_policy::Decision::Allow
    }
}

/// The casbin model: RBAC with domains, the domain being a company on a tier.
pub const CASBIN_MODEL: &str = "\
[request_definition]
r = sub, dom, act

[policy_definition]
p = sub, dom, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.act == p.act
";

/// The policy as casbin RBAC with domains: `p, role, tier, action` for each allowed
/// combination, and a user per role and tier (`g, user, role, tier`).
pub struct CasbinPeer {
    enforcer: casbin::Enforcer,
}

impl CasbinPeer {
    /// Encodes `policy` (casbin's constructors are async; a current-thread runtime
    /// drives them once, outside any measurement).
    pub fn new(policy: &Policy) -> Result<CasbinPeer, PeerError> {
        use casbin::{CoreApi, MgmtApi};
        let mut p_rules = Vec::new();
        let mut g_rules = Vec::new();
        for a in policy.actions() {
            if a.grant_required() {
                continue;
            }
            for role in admitted(a.requirement()) {
                for tier in tiers_with(a.feature()) {
                    p_rules.push(vec![
                        role.as_str().to_owned(),
                        tier.as_str().to_owned(),
                        a.id().to_owned(),
                    ]);
                }
            }
        }
        for tier in Tier::ALL {
            for role in Role::ALL {
                g_rules.push(vec![
                    format!("{role}@{tier}"),
                    role.as_str().to_owned(),
                    tier.as_str().to_owned(),
                ]);
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(err)?;
        let enforcer = runtime.block_on(async {
            let model = casbin::DefaultModel::from_str(CASBIN_MODEL)
                .await
                .map_err(err)?;
            let mut e = casbin::Enforcer::new(model, casbin::MemoryAdapter::default())
                .await
                .map_err(err)?;
            e.add_policies(p_rules).await.map_err(err)?;
            e.add_grouping_policies(g_rules).await.map_err(err)?;
            Ok::<_, PeerError>(e)
        })?;
        Ok(CasbinPeer { enforcer })
    }

    /// Whether casbin allows `role` of a company on `tier` to do `action`.
    pub fn is_allowed(&self, role: Role, action: &str, tier: Tier) -> bool {
        use casbin::CoreApi;
        self.enforcer
            .enforce((format!("{role}@{tier}"), tier.as_str(), action))
            .unwrap_or(false)
    }

    /// The same, with the request strings prepared by the caller.
    pub fn is_allowed_prepared(&self, user: &str, tier: &str, action: &str) -> bool {
        use casbin::CoreApi;
        self.enforcer.enforce((user, tier, action)).unwrap_or(false)
    }
}

/// `Authorization: Bearer` decoded by the `headers` crate, including building the
/// `HeaderValue` from raw bytes: the token's length, or `None`.
pub fn headers_bearer(raw: &[u8]) -> Option<usize> {
    use headers::Header;
    let value = http::HeaderValue::from_bytes(raw).ok()?;
    let auth = headers::Authorization::<headers::authorization::Bearer>::decode(
        &mut std::iter::once(&value),
    )
    .ok()?;
    Some(auth.token().len())
}

/// `WWW-Authenticate` parsed by `http-auth`: the number of challenges, or `None`.
pub fn http_auth_challenges(value: &str) -> Option<usize> {
    http_auth::parser::ChallengeParser::new(value)
        .map(|c| c.ok())
        .collect::<Option<Vec<_>>>()
        .map(|v| v.len())
}

/// A policy `factor` times the size of the default one: its actions, plus copies in
/// areas `xNarea` (`x1flows.view`…) — for measuring how cost grows with the policy.
pub fn scaled_policy(factor: usize) -> Result<Policy, PeerError> {
    let mut doc: pw_auth_core::PolicyDocument =
        serde_json::from_str(Policy::default_document_json()).map_err(err)?;
    let originals = doc.actions.clone();
    for n in 1..factor {
        for a in &originals {
            let mut copy = a.clone();
            copy.id = format!("x{n}{}", a.id);
            doc.actions.push(copy);
        }
    }
    Policy::compile(&doc).map_err(err)
}
