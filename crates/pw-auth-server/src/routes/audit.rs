//! `GET /fabric/api/audit-logs`: the company's audit log, newest first, a page at a
//! time, filtered by time, kind and decision id.

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use http::StatusCode;
use pw_auth_axum::{ActingIn, UnknownAction, outcome_response};
use pw_auth_core::{CompanyId, DecisionId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ApiError, App, Handled, json_response};
use crate::db::AuditQuery;

/// Records a page holds unless `limit` says otherwise.
pub(crate) const DEFAULT_PAGE: usize = 50;
/// The most records a page holds.
pub(crate) const MAX_PAGE: usize = 200;

pub(super) fn router(app: &App) -> Result<Router<App>, UnknownAction> {
    Ok(Router::new().route(
        "/fabric/api/audit-logs",
        get(list).route_layer(app.auth.require("audit-logs.view")?),
    ))
}

/// The query of a page, or each parameter's error.
fn query_of(
    company: CompanyId,
    params: &HashMap<String, String>,
) -> Result<AuditQuery, BTreeMap<String, Vec<String>>> {
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut error = |field: &str, message: &str| {
        errors
            .entry(field.to_owned())
            .or_default()
            .push(message.to_owned());
    };
    for name in params.keys() {
        if !["limit", "cursor", "since", "until", "kind", "decision_id"].contains(&name.as_str()) {
            error(name, "is not a parameter of this route");
        }
    }
    let get = |name: &str| params.get(name).map(String::as_str);
    let limit = match get("limit").map(str::parse::<usize>) {
        None => DEFAULT_PAGE,
        Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            error("limit", "must be a whole number from 1 to 200");
            DEFAULT_PAGE
        }
    };
    let before = match get("cursor").map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => {
            error("cursor", "must be a cursor this route answered with");
            None
        }
    };
    let mut time = |name: &str| match get(name).map(|t| OffsetDateTime::parse(t, &Rfc3339)) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => {
            error(name, "must be an RFC 3339 time, e.g. 2026-12-07T12:00:00Z");
            None
        }
    };
    let (since, until) = (time("since"), time("until"));
    let kind = match get("kind") {
        None => None,
        Some(k)
            if (1..=40).contains(&k.len())
                && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            Some(k.to_owned())
        }
        Some(_) => {
            error("kind", "must be a reason kind, e.g. role_too_low");
            None
        }
    };
    let decision = match get("decision_id").map(str::parse::<DecisionId>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(e)) => {
            error("decision_id", &e.to_string());
            None
        }
    };
    // A decision id holds its time: its record is within that second (the store
    // finds it by the time index, then compares the id).
    let (since, until) = match decision.map(second_of) {
        Some((from, to)) => (
            Some(since.map_or(from, |s| s.max(from))),
            Some(until.map_or(to, |u| u.min(to))),
        ),
        None => (since, until),
    };
    let decision_id = decision.map(|id| id.to_string());
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(AuditQuery {
        company,
        before,
        since,
        until,
        kind,
        decision_id,
        limit,
    })
}

/// The second a decision id's time falls in: from its start to the next one's.
fn second_of(id: DecisionId) -> (OffsetDateTime, OffsetDateTime) {
    let secs = i64::try_from(id.unix_millis() / 1000).unwrap_or(i64::MAX);
    let from = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    (from, from.saturating_add(time::Duration::SECOND))
}

async fn list(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Query(params): Query<HashMap<String, String>>,
) -> Handled {
    let query = query_of(company, &params).map_err(|errors| {
        ApiError::Answer(outcome_response(
            &app.auth
                .flow()
                .responder()
                .validation("The given data was invalid.", &errors),
        ))
    })?;
    let page = app.store.records().audit_page(query).await?;
    let body = serde_json::json!({
        "data": page.records,
        "next_cursor": page.next.map(|n| n.to_string()),
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<AuditQuery, BTreeMap<String, Vec<String>>> {
        let params = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        query_of(CompanyId::new("acme").unwrap(), &params)
    }

    #[test]
    fn the_defaults_and_each_parameter() {
        let q = query(&[]).unwrap();
        assert_eq!((q.limit, q.before, q.since, q.kind), (50, None, None, None));
        let q = query(&[
            ("limit", "200"),
            ("cursor", "17"),
            ("since", "2026-12-07T12:00:00Z"),
            ("until", "2026-12-08T00:00:00+01:00"),
            ("kind", "role_too_low"),
            ("decision_id", "01a25060060007070707070707070707"),
        ])
        .unwrap();
        assert_eq!(q.limit, 200);
        assert_eq!(q.before, Some(17));
        // The decision id's second narrows the window (its time: 1,796,644,800,000 ms).
        assert_eq!(q.since.unwrap().unix_timestamp(), 1_796_644_800);
        assert_eq!(q.until.unwrap().unix_timestamp(), 1_796_644_801);
        let window = query(&[
            ("since", "2026-12-07T12:00:00Z"),
            ("until", "2026-12-08T00:00:00+01:00"),
        ])
        .unwrap();
        assert_eq!(window.until.unwrap().unix_timestamp(), 1_796_684_400);
        let by_id = query(&[("decision_id", "01a25060060007070707070707070707")]).unwrap();
        assert_eq!(
            (
                by_id.since.unwrap().unix_timestamp(),
                by_id.until.unwrap().unix_timestamp()
            ),
            (1_796_644_800, 1_796_644_801)
        );
        assert_eq!(q.kind.as_deref(), Some("role_too_low"));
        assert_eq!(
            q.decision_id.as_deref(),
            Some("01a25060060007070707070707070707")
        );
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let errors = query(&[
            ("limit", "0"),
            ("cursor", "-3"),
            ("since", "yesterday"),
            ("kind", "DROP TABLE"),
            ("decision_id", "nope"),
            ("company", "globex"),
        ])
        .unwrap_err();
        let named: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            named,
            ["company", "cursor", "decision_id", "kind", "limit", "since"]
        );
        assert!(query(&[("limit", "201")]).is_err());
        assert!(query(&[("limit", "1")]).is_ok());
    }
}
