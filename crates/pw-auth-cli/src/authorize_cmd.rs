//! `pw-auth authorize`: one request as JSON, decided against a directory and a policy.

use pw_auth_core::{CompanyId, Policy};
use pw_auth_http::{Responder, Served, ServerFlow};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::directory::Directory;

/// The HTTP part of a served request, for JSON output.
#[derive(Serialize)]
struct HttpJson<'a> {
    status: u16,
    headers: Vec<(&'a str, &'a str)>,
    body: serde_json::Value,
}

fn http_json(e: &Served) -> HttpJson<'_> {
    let o = e.outcome();
    HttpJson {
        status: o.status(),
        headers: o.headers().iter().map(|(n, v)| (*n, v.as_str())).collect(),
        body: serde_json::from_str(o.body()).unwrap_or(serde_json::Value::Null),
    }
}

/// The request, as read from a file or stdin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizeInput {
    /// The `Authorization` value, or null when none was sent.
    authorization: Option<String>,
    action: String,
    company: String,
    /// RFC 3339; defaults to the directory's clock.
    #[serde(default)]
    time: Option<String>,
}

/// What the command prints, and its exit status: 0 allow, 2 deny
/// ([`crate::output::EXIT_DENY`]).
pub(crate) fn run(
    input: &str,
    directory: &Directory,
    default_now: OffsetDateTime,
    policy: &Policy,
    json: bool,
) -> Result<(String, u8), String> {
    let input: AuthorizeInput = crate::output::from_json("invalid request", input)?;
    let company = CompanyId::new(&input.company).map_err(|e| format!("invalid request: {e}"))?;
    let now = match &input.time {
        // `time`'s own message for a year past 9999 is "a character literal was not
        // valid"; say what is expected instead.
        Some(t) => OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
            "invalid request: `time` must be an RFC 3339 date-time with a four-digit year, e.g. 2026-11-27T12:00:00Z".to_owned()
        })?,
        None => default_now,
    };
    let responder = Responder::new("patchworks").map_err(|e| e.to_string())?;
    let flow = ServerFlow::new(policy.clone(), responder);
    let request = directory.request(&input.action, &company)?;
    let headers = input.authorization.iter().map(|a| a.as_bytes());
    let records = directory.records();
    let e = flow.serve(headers, &records, request, None, now);
    let code = if e.is_allowed() {
        crate::output::EXIT_OK
    } else {
        crate::output::EXIT_DENY
    };
    let audit = serde_json::to_value(e.audit()).map_err(|e| e.to_string())?;
    if json {
        let reason = match (e.decision(), e.failure()) {
            (Some(d), _) => serde_json::to_value(d.reason()),
            (None, Some(f)) => serde_json::to_value(f),
            (None, None) => Ok(serde_json::Value::Null),
        }
        .map_err(|e| e.to_string())?;
        let v = serde_json::json!({
            "decision": if e.is_allowed() { "allow" } else { "deny" },
            "reason": reason,
            "explanation": e.explanation(),
            "http": http_json(&e),
            "audit": audit,
        });
        return Ok((format!("{v}\n"), code));
    }
    let mut out = String::new();
    out.push_str(&format!(
        "decision: {}\n",
        if e.is_allowed() { "allow" } else { "deny" }
    ));
    out.push_str(&format!("reason:   {}\n", e.explanation()));
    out.push_str(&format!("http:     {}\n", e.outcome().status()));
    if let Some(o) = Some(e.outcome()).filter(|o| !o.is_proceed()) {
        for (name, value) in o.headers() {
            out.push_str(&format!("          {name}: {value}\n"));
        }
        out.push_str(&format!("          {}\n", o.body()));
    }
    let pretty = serde_json::to_string_pretty(&audit).map_err(|e| e.to_string())?;
    out.push_str("audit:\n");
    for line in pretty.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    Ok((out, code))
}
