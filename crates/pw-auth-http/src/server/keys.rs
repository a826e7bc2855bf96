//! The key endpoints' bodies: a key as listed, and a new key as shown once.

use pw_auth_core::{ApiKeyRecord, MintedApiKey};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

pub(super) fn rfc3339(t: OffsetDateTime) -> serde_json::Value {
    t.format(&Rfc3339)
        .map_or(serde_json::Value::Null, serde_json::Value::String)
}

/// An API key as the key endpoints list it: id, label, company, when it was created
/// and revoked. Never the key, nor its digest.
pub fn key_json(record: &ApiKeyRecord) -> serde_json::Value {
    serde_json::json!({
        "id": record.id,
        "label": record.label.as_str(),
        "company": record.company,
        "user": record.user,
        "created_at": rfc3339(record.created_at),
        "revoked_at": record.revoked_at.map_or(serde_json::Value::Null, rfc3339),
    })
}

/// The answer to creating a key: [`key_json`] plus `"key"`, the key itself, shown
/// this once. Zeroized on drop; never log it.
pub fn created_key_body(minted: &MintedApiKey) -> Zeroizing<String> {
    let mut v = key_json(&minted.record);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "key".to_owned(),
            serde_json::Value::String(minted.key.expose_secret().to_owned()),
        );
    }
    let body = Zeroizing::new(v.to_string());
    // The copy inside the JSON value is freed with it; clear it first.
    if let Some(serde_json::Value::String(s)) = v.get_mut("key") {
        zeroize::Zeroize::zeroize(s);
    }
    body
}
