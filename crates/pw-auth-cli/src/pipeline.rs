//! One request through a server: header bytes → credential → records → principal →
//! decision → HTTP outcome and audit record. Shared by `demo` and `authorize`.

use pw_auth_core::{
    AuditRecord, AuthnFailure, CompanyId, Decision, Policy, Principal, Request, authorize,
};
use pw_auth_http::{Outcome, Responder, parse_authorization_fields};
use serde::Serialize;
use time::OffsetDateTime;

use crate::directory::Directory;

/// What the server decided and sends.
pub(crate) struct Evaluation {
    pub(crate) principal: Option<Principal>,
    pub(crate) decision: Option<Decision>,
    pub(crate) failure: Option<AuthnFailure>,
    /// `None` when the request may proceed (the handler answers 200).
    pub(crate) refusal: Option<Outcome>,
    pub(crate) audit: AuditRecord,
}

impl Evaluation {
    pub(crate) fn allowed(&self) -> bool {
        self.refusal.is_none()
    }

    pub(crate) fn status(&self) -> u16 {
        self.refusal.as_ref().map_or(200, Outcome::status)
    }

    /// The reason as a sentence.
    pub(crate) fn reason_text(&self) -> String {
        match (&self.decision, &self.failure) {
            (Some(d), _) => d.reason().to_string(),
            (None, Some(f)) => format!("unauthenticated: {f}"),
            (None, None) => String::new(),
        }
    }
}

/// The HTTP part of an evaluation, for JSON output.
#[derive(Serialize)]
pub(crate) struct HttpJson<'a> {
    status: u16,
    headers: Vec<(&'a str, &'a str)>,
    body: serde_json::Value,
}

pub(crate) fn http_json(e: &Evaluation) -> HttpJson<'_> {
    match &e.refusal {
        None => HttpJson {
            status: 200,
            headers: Vec::new(),
            body: serde_json::Value::Null,
        },
        Some(o) => HttpJson {
            status: o.status(),
            headers: o.headers().iter().map(|(n, v)| (*n, v.as_str())).collect(),
            body: serde_json::from_str(o.body()).unwrap_or(serde_json::Value::Null),
        },
    }
}

/// Evaluates one request. `authorization` is every `Authorization` value sent.
pub(crate) fn evaluate(
    directory: &Directory,
    policy: &Policy,
    responder: &Responder,
    authorization: &[&[u8]],
    action: &str,
    company: &CompanyId,
    now: OffsetDateTime,
) -> Result<Evaluation, String> {
    let target = directory
        .company(company)
        .ok_or_else(|| format!("company `{company}` is not in the directory"))?;
    let request = Request::new(action, company, target.tier);
    let unauthenticated = |failure: AuthnFailure, refusal: Outcome| Evaluation {
        principal: None,
        decision: None,
        failure: Some(failure),
        refusal: Some(refusal),
        audit: AuditRecord::unauthenticated(policy, failure, Some(&request), now),
    };
    let credential = match parse_authorization_fields(authorization.iter().copied()) {
        Ok(Some(c)) => c,
        Ok(None) => {
            let f = AuthnFailure::Missing;
            return Ok(unauthenticated(f, responder.unauthenticated(f)));
        }
        Err(e) => {
            let f = e.failure();
            return Ok(unauthenticated(f, responder.authorization_error(&e)));
        }
    };
    let principal = match directory.authenticate(&credential, now) {
        Ok(p) => p,
        Err(f) => return Ok(unauthenticated(f, responder.unauthenticated(f))),
    };
    let grants = directory.grants_of(principal.user());
    let mut request = request.with_grants(&grants);
    if let Some(parent) = &target.parent {
        request = request.with_parent(parent);
    }
    let decision = authorize(policy, &principal, &request, now);
    Ok(Evaluation {
        audit: AuditRecord::decision(policy, &principal, &request, decision, now),
        refusal: responder.forbidden(&decision),
        principal: Some(principal),
        decision: Some(decision),
        failure: None,
    })
}
