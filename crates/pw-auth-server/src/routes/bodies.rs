//! The key endpoints' bodies: a key as listed, and a new key as shown once. The
//! reference server's own format (the platform documents the actions, not these
//! bodies).

use pw_auth_core::{ApiKey, ApiKeyRecord};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

fn rfc3339(t: OffsetDateTime) -> serde_json::Value {
    t.format(&Rfc3339)
        .map_or(serde_json::Value::Null, serde_json::Value::String)
}

/// An optional time as JSON: RFC 3339, or `null`.
pub(crate) fn maybe(t: Option<OffsetDateTime>) -> serde_json::Value {
    t.map_or(serde_json::Value::Null, rfc3339)
}

/// An API key as the key endpoints list it: id, label, company, api-user, when it was
/// created, revoked, expires and retires, its scope and its own quota (`null` for
/// none). Never the key, nor its digest.
pub(crate) fn key_json(record: &ApiKeyRecord) -> serde_json::Value {
    listed_key_json(record, None)
}

/// [`key_json`] as the listing shows it, with `last_used_at`: the start of the minute
/// the key was last used in (`null`: never, or not yet written).
pub(crate) fn listed_key_json(
    record: &ApiKeyRecord,
    last_used: Option<OffsetDateTime>,
) -> serde_json::Value {
    serde_json::json!({
        "id": record.id,
        "label": record.label.as_str(),
        "company": record.company,
        "user": record.user,
        "created_at": rfc3339(record.created_at),
        "revoked_at": maybe(record.revoked_at),
        "expires_at": maybe(record.expires_at),
        "retires_at": maybe(record.retires_at),
        "scope": record.scope.as_ref().map_or(serde_json::Value::Null, |s| serde_json::json!(s)),
        "quota": record.quota.map_or(serde_json::Value::Null, |q| serde_json::json!(q)),
        "last_used_at": maybe(last_used),
    })
}

/// The answer to creating a key: [`key_json`] of its `record` plus `"key"`, the key
/// itself, shown this once, and `extra` fields (a rotation's `replaces`). Zeroized on
/// drop; never log it.
pub(crate) fn created_key_body(
    key: &ApiKey,
    record: &ApiKeyRecord,
    extra: &[(&str, serde_json::Value)],
) -> Zeroizing<String> {
    let mut v = key_json(record);
    if let Some(o) = v.as_object_mut() {
        for (name, value) in extra {
            o.insert((*name).to_owned(), value.clone());
        }
        o.insert(
            "key".to_owned(),
            serde_json::Value::String(key.expose_secret().to_owned()),
        );
    }
    let body = Zeroizing::new(v.to_string());
    // The copy inside the JSON value is freed with it; clear it first.
    if let Some(serde_json::Value::String(s)) = v.get_mut("key") {
        zeroize::Zeroize::zeroize(s);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use pw_auth_core::{CompanyId, KeyLabel, mint_api_key};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

    #[test]
    fn key_bodies_show_the_key_once_and_never_the_digest() {
        let acme = CompanyId::new("acme").unwrap();
        let m = mint_api_key(
            &acme,
            KeyLabel::new("erp").unwrap(),
            b"0123456789abcdef",
            NOW,
        )
        .unwrap();
        let listed = key_json(&m.record).to_string();
        let created = created_key_body(&m.key, &m.record, &[]);
        let digest = serde_json::to_value(m.record.digest).unwrap();
        let digest = digest.as_str().unwrap();
        assert!(!listed.contains(m.key.expose_secret()));
        assert!(!listed.contains(digest) && !created.contains(digest));
        let v: serde_json::Value = serde_json::from_str(&created).unwrap();
        assert_eq!(v["key"], m.key.expose_secret());
        assert_eq!(v["id"], m.record.id.as_str());
        assert_eq!(v["label"], "erp");
        assert_eq!(v["company"], "acme");
        assert_eq!(v["user"], m.user.id.as_str());
        assert_eq!(v["created_at"], "2026-11-27T12:00:00Z");
        assert_eq!(v["revoked_at"], serde_json::Value::Null);
        assert_eq!(v["expires_at"], serde_json::Value::Null);
        assert_eq!(v["retires_at"], serde_json::Value::Null);
        let mut revoked = m.record.clone();
        revoked.revoke(NOW + time::Duration::hours(1)).unwrap();
        assert_eq!(key_json(&revoked)["revoked_at"], "2026-11-27T13:00:00Z");
        let mut dated = m.record.clone();
        dated.expires_at = Some(NOW + time::Duration::days(90));
        dated.retires_at = Some(NOW + time::Duration::days(1));
        assert_eq!(key_json(&dated)["expires_at"], "2027-02-25T12:00:00Z");
        assert_eq!(key_json(&dated)["retires_at"], "2026-11-28T12:00:00Z");
        let extra = [("replaces", serde_json::json!("key_old"))];
        let v: serde_json::Value =
            serde_json::from_str(&created_key_body(&m.key, &dated, &extra)).unwrap();
        assert_eq!(v["replaces"], "key_old");
        assert_eq!(v["key"], m.key.expose_secret());
    }
}
