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

use pw_auth_core::{ActionDef, Feature, Level, Policy, Requirement, Role, Tier};

/// Roles whose level meets the action's requirement, less the api-user where only a
/// person may do it.
fn admitted(action: &ActionDef) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| action.admits(*r) && !(action.human_only() && *r == Role::ApiUser))
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

/// How the default policy is written in Cedar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CedarStyle {
    /// One `permit` per action, with its role set and tier gate as conditions (about
    /// fifty policies): the literal translation of the table.
    PerAction,
    /// As Cedar's users write it: role groups (`principal in Level::"manager"`, each
    /// level a member of the one below), action groups (each action in the group of
    /// its requirement, its feature and whether only a person may do it) and the
    /// company's tier as an attribute — one `permit` per group, eight in all.
    Grouped,
}

/// The policy as Cedar, in either style; users and companies as entities.
pub struct CedarPeer {
    authorizer: cedar_policy::Authorizer,
    policies: cedar_policy::PolicySet,
    entities: cedar_policy::Entities,
    /// The Cedar source, for reading.
    pub source: String,
}

impl CedarPeer {
    /// Encodes `policy`, one `permit` per action ([`CedarStyle::PerAction`]).
    pub fn new(policy: &Policy) -> Result<CedarPeer, PeerError> {
        CedarPeer::with_style(policy, CedarStyle::PerAction)
    }

    /// Encodes `policy` in `style`.
    pub fn with_style(policy: &Policy, style: CedarStyle) -> Result<CedarPeer, PeerError> {
        match style {
            CedarStyle::PerAction => CedarPeer::per_action(policy),
            CedarStyle::Grouped => CedarPeer::grouped(policy),
        }
    }

    fn per_action(policy: &Policy) -> Result<CedarPeer, PeerError> {
        let mut source = String::new();
        for a in policy.actions() {
            if a.grant_required() || a.requirement() == Requirement::Nobody {
                continue; // never allowed in the principal's own company
            }
            let roles = quoted(admitted(a).iter().map(|r| r.as_str().to_owned()));
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
        CedarPeer::build(source, Vec::new(), false)
    }

    fn grouped(policy: &Policy) -> Result<CedarPeer, PeerError> {
        // The group of an action: its lowest level, its feature, and whether only a
        // person may do it.
        let group = |level: Level, feature: Option<Feature>, human: bool| {
            format!(
                "{}+{}{}",
                level.as_str(),
                feature.map_or("any", Feature::as_str),
                if human { "+people" } else { "" }
            )
        };
        let mut groups: Vec<(Level, Option<Feature>, bool)> = Vec::new();
        let mut extra = Vec::new();
        for a in policy.actions() {
            let Requirement::AtLeast(level) = a.requirement() else {
                continue; // never allowed in the principal's own company
            };
            if a.grant_required() {
                continue;
            }
            let key = (level, a.feature(), a.human_only());
            if !groups.contains(&key) {
                groups.push(key);
            }
            extra.push(serde_json::json!({
                "uid": {"type": "Action", "id": a.id()},
                "attrs": {},
                "parents": [{"type": "Action", "id": group(key.0, key.1, key.2)}]
            }));
        }
        let mut source = String::new();
        for &(level, feature, human) in &groups {
            extra.push(serde_json::json!({
                "uid": {"type": "Action", "id": group(level, feature, human)},
                "attrs": {},
                "parents": []
            }));
            let people = if human {
                " && principal.role != \"api-user\""
            } else {
                ""
            };
            let tiers = match feature {
                None => String::new(),
                Some(f) => format!(
                    " && {}.contains(resource.tier)",
                    quoted(tiers_with(Some(f)).iter().map(|t| t.as_str().to_owned()))
                ),
            };
            source.push_str(&format!(
                "permit(principal in Level::\"{}\", action in Action::\"{}\", resource)\n  when {{ principal.company == resource{tiers}{people} }};\n",
                level.as_str(),
                group(level, feature, human)
            ));
        }
        // Each level is a member of the one below it: `in Level::"user"` admits
        // managers and administrators too.
        for pair in Level::ALL.windows(2) {
            if let [lower, higher] = pair {
                extra.push(serde_json::json!({
                    "uid": {"type": "Level", "id": higher.as_str()},
                    "attrs": {},
                    "parents": [{"type": "Level", "id": lower.as_str()}]
                }));
            }
        }
        extra.push(serde_json::json!({
            "uid": {"type": "Level", "id": Level::ReadOnly.as_str()},
            "attrs": {},
            "parents": []
        }));
        CedarPeer::build(source, extra, true)
    }

    /// The policies, the companies and a user per role and tier (in its level's group
    /// when `grouped`), and `extra` entities.
    fn build(
        source: String,
        mut entities: Vec<serde_json::Value>,
        grouped: bool,
    ) -> Result<CedarPeer, PeerError> {
        let policies = cedar_policy::PolicySet::from_str(&source).map_err(err)?;
        for tier in Tier::ALL {
            entities.push(serde_json::json!({
                "uid": {"type": "Company", "id": tier.as_str()},
                "attrs": {"tier": tier.as_str()},
                "parents": []
            }));
            for role in Role::ALL {
                let parents = if grouped {
                    serde_json::json!([{"type": "Level", "id": role.level().as_str()}])
                } else {
                    serde_json::json!([])
                };
                entities.push(serde_json::json!({
                    "uid": {"type": "User", "id": format!("{role}@{tier}")},
                    "attrs": {"role": role.as_str(), "company": {"__entity": {"type": "Company", "id": tier.as_str()}}},
                    "parents": parents
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

    /// How many policies the encoding has.
    pub fn policy_count(&self) -> usize {
        self.policies.policies().count()
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
            for role in admitted(a) {
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
