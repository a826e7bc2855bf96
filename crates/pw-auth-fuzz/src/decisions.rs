//! The decisions target: arbitrary principals, requests, tiers and grants against
//! the default policy (with two custom roles), and a company's own custom role handed
//! over with the request (any company's, any of the names).

use arbitrary::{Arbitrary, Unstructured};
use pw_auth_core::{ActionDef, CustomRoleSpec, Level, Policy, PolicyDocument, Role};

use crate::model::{ModelPrincipal, ModelRequest};
use crate::policy::agree;
use crate::{Checked, Violation, ensure};

const ROLES: [&str; 5] = ["administrator", "manager", "user", "read-only", "api-user"];
const COMPANIES: [&str; 4] = ["acme", "acme-eu", "acme-us", "globex"];
const TIERS: [&str; 4] = ["trial", "standard", "professional", "enterprise"];
const CUSTOM: [&str; 3] = ["integration-lead", "auditor", "undefined-role"];

/// A structured decision input.
#[derive(Debug, Clone, Arbitrary)]
pub struct DecisionInput {
    role: u8,
    custom: Option<u8>,
    home: u8,
    target: u8,
    parent: Option<u8>,
    grants: Vec<u8>,
    action: ActionChoice,
    tier: u8,
    own_role: Option<OwnRole>,
}

/// A company's own custom role handed over with the request: whose (a company by
/// index), which name (by index), and its toggles (areas of the policy by index, each
/// viewed and perhaps edited).
#[derive(Debug, Clone, Arbitrary)]
pub struct OwnRole {
    company: u8,
    name: u8,
    areas: Vec<(u8, bool)>,
}

/// An action of the policy by index, or any text.
#[derive(Debug, Clone, Arbitrary)]
pub enum ActionChoice {
    /// The n-th action of the policy (modulo their number).
    Known(u8),
    /// Any text.
    Raw(String),
}

fn pick<T: Copy>(items: &[T], i: u8) -> Option<T> {
    items.get(usize::from(i).checked_rem(items.len())?).copied()
}

/// The document and its compiled policy, built once per process.
fn fixture() -> Result<&'static (PolicyDocument, Policy), Violation> {
    static FIXTURE: std::sync::OnceLock<Result<(PolicyDocument, Policy), Violation>> =
        std::sync::OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let doc = document()?;
            let policy = Policy::compile(&doc).map_err(|e| Violation(format!("policy: {e}")))?;
            Ok((doc, policy))
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn document() -> Result<PolicyDocument, Violation> {
    let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json())
        .map_err(|e| Violation(format!("default policy: {e}")))?;
    doc.custom_roles = serde_json::from_value(serde_json::json!([
        {"name": "integration-lead", "view": ["flows", "connectors", "scripts"], "edit": ["flows", "scripts"]},
        {"name": "auditor", "view": ["company", "users", "flows", "audit-logs"]},
    ]))
    .map_err(|e| Violation(format!("custom roles: {e}")))?;
    Ok(doc)
}

/// Decisions never allow an api-user an administrator-only or human-only action, never cross
/// companies without a link, a grant and manager level, never allow an unknown
/// action, and always agree with the naive model.
pub fn decisions(input: &DecisionInput) -> Checked {
    let (doc, policy) = fixture()?;
    let missing = || Violation("empty table".to_owned());
    let role = pick(&ROLES, input.role).ok_or_else(missing)?;
    let p = ModelPrincipal {
        role,
        custom: input
            .custom
            .and_then(|c| pick(&CUSTOM, c))
            .filter(|_| role != "api-user")
            .map(str::to_owned),
        home: pick(&COMPANIES, input.home).ok_or_else(missing)?.to_owned(),
        scope: None,
    };
    let action = match &input.action {
        ActionChoice::Known(i) => {
            let ids: Vec<&str> = doc.actions.iter().map(|a| a.id.as_str()).collect();
            pick(&ids, *i).ok_or_else(missing)?.to_owned()
        }
        ActionChoice::Raw(s) => s.clone(),
    };
    let r = ModelRequest {
        action,
        company: pick(&COMPANIES, input.target)
            .ok_or_else(missing)?
            .to_owned(),
        tier: pick(&TIERS, input.tier).ok_or_else(missing)?,
        parent: input
            .parent
            .and_then(|i| pick(&COMPANIES, i))
            .map(str::to_owned),
        grants: input
            .grants
            .iter()
            .filter_map(|&i| pick(&COMPANIES, i))
            .map(str::to_owned)
            .collect(),
        own_role: match &input.own_role {
            Some(own) => Some(own_role(own, policy).ok_or_else(missing)?),
            None => None,
        },
    };
    let allowed = agree(policy, doc, &p, &r)?;

    // The laws, stated directly on the engine's verdict.
    let def = policy.action(&r.action);
    if def.is_none() {
        ensure(!allowed, || {
            format!("unknown action {:?} allowed", r.action)
        })?;
    }
    if role == "api-user" && def.is_some_and(|d| !d.requirement().admits(Level::Manager)) {
        ensure(!allowed, || {
            format!("api-user allowed administrator-only {:?}", r.action)
        })?;
    }
    if role == "api-user" && def.is_some_and(ActionDef::human_only) {
        ensure(!allowed, || {
            format!("api-user allowed human-only {:?}", r.action)
        })?;
    }
    if allowed && r.company != p.home {
        let level = role
            .parse::<Role>()
            .map(Role::level)
            .unwrap_or(Level::ReadOnly);
        ensure(
            r.parent.as_deref() == Some(p.home.as_str())
                && r.grants.contains(&r.company)
                && level >= Level::Manager
                && role != "api-user"
                && p.custom.is_none()
                && def.is_none_or(|d| !d.own_company_only()),
            || format!("crossed companies: {p:?} {r:?}"),
        )?;
    }
    Ok(())
}

/// The company and definition of `own`: distinct areas of `policy`, each viewed, the
/// ones marked edited too.
fn own_role(own: &OwnRole, policy: &Policy) -> Option<(String, CustomRoleSpec)> {
    let areas: Vec<&str> = policy.areas().collect();
    let (mut view, mut edit) = (Vec::new(), Vec::new());
    for &(i, edited) in &own.areas {
        let area = pick(&areas, i)?.to_owned();
        if view.contains(&area) {
            continue;
        }
        if edited {
            edit.push(area.clone());
        }
        view.push(area);
    }
    let spec = CustomRoleSpec {
        name: pick(&CUSTOM, own.name)?.to_owned(),
        view,
        edit,
    };
    Some((pick(&COMPANIES, own.company)?.to_owned(), spec))
}

/// [`decisions`] on raw bytes, decoded with `arbitrary`.
pub fn decisions_bytes(data: &[u8]) -> Checked {
    match DecisionInput::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(input) => decisions(&input),
        Err(_) => Ok(()),
    }
}
