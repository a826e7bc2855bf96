//! A server walked through the cases of the seed page, end to end, sans-IO: every
//! record lives in memory (`MemoryRecords`, of the `test-support` feature), the clock is a variable, random bytes are fixed.
//!
//! Every request goes through the library's one server flow, `ServerFlow::serve`.
//!
//! Run it with `cargo run -p pw-auth-http --example server_walkthrough`.
#![expect(clippy::print_stdout, reason = "an example prints its walkthrough")]
#![expect(
    clippy::expect_used,
    reason = "an example stops loudly on a broken fixture"
)]

use pw_auth_core::*;
use pw_auth_http::{Responder, ServerFlow, format_authorization};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn step(
    store: &MemoryRecords,
    flow: &ServerFlow,
    title: &str,
    credential: &Credential,
    action: &str,
    now: OffsetDateTime,
) {
    let acme = CompanyId::new("acme").expect("valid id");
    println!("── {title}");
    let at = now.format(&Rfc3339).expect("formattable time");
    println!("   {credential:?} asks for `{action}` at {at}");
    let header = format_authorization(credential);
    let target = Request::new(action, &acme, Tier::Professional);
    let served = flow.serve([header.as_bytes()], store, target, None, now);
    let status = served.outcome().status();
    println!("   → {status}: {}", served.explanation());
    let json = serde_json::to_string(served.audit()).expect("audit records serialise");
    println!("   audit: {json}\n");
}

fn main() {
    let now = datetime!(2026-11-27 09:00 UTC);
    let flow = ServerFlow::new(
        Policy::default_policy(),
        Responder::new("patchworks").expect("a valid realm"),
    );
    let acme = CompanyId::new("acme").expect("valid id");
    let mut store = MemoryRecords::new();

    // Ann registered the company, so she is its administrator. She logs in: the
    // caller checked her password; the core issues a token from random bytes.
    let ann = UserRecord::active(
        UserId::new("ann").expect("valid id"),
        acme.clone(),
        Role::Administrator,
    );
    store.insert_user(ann.clone());
    let login = issue_token(
        &ann,
        &[
            0x5a, 0x17, 0x9c, 0x03, 0xee, 0x41, 0x88, 0x2d, 0x70, 0x0b, 0xc6, 0x91, 0x3f, 0xd2,
            0x64, 0xa8,
        ],
        now,
        ExpiresIn::DEFAULT,
    )
    .expect("token issued");
    store.insert_token(login.record.clone());
    let ann_token = Credential::Bearer(login.token);

    // She creates an API key for the ERP system: one new api-user per key.
    let minted = mint_api_key(
        &acme,
        KeyLabel::new("ERP connector").expect("label"),
        &[
            0xc4, 0x1e, 0x07, 0x9b, 0x52, 0xf3, 0x6a, 0x18, 0xdd, 0x20, 0x8f, 0x45, 0xb1, 0x7c,
            0x3e, 0x96,
        ],
        now,
    )
    .expect("key minted");
    println!(
        "Minted API key `{}` (shown once) for `{}`; api-user `{}`\n",
        minted.key.expose_secret(),
        minted.record.label.as_str(),
        minted.user.id
    );
    store.insert_minted(&minted);
    let erp_key = Credential::ApiKey(minted.key.clone());

    step(
        &store,
        &flow,
        "administrator's bearer token on blueprint management",
        &ann_token,
        "blueprints.publish",
        now,
    );
    step(
        &store,
        &flow,
        "API key on blueprint management",
        &erp_key,
        "blueprints.publish",
        now,
    );
    step(
        &store,
        &flow,
        "API key on process flows",
        &erp_key,
        "flows.deploy",
        now,
    );
    let later = now.checked_add(Duration::days(1)).expect("in range");
    step(
        &store,
        &flow,
        "the same token 24 hours later",
        &ann_token,
        "flows.view",
        later,
    );

    let record = store.key_mut(&minted.record.digest).expect("stored");
    record.revoke(later).expect("not yet revoked");
    step(
        &store,
        &flow,
        "the API key after it was revoked",
        &erp_key,
        "flows.view",
        later,
    );

    let typo = minted.key.expose_secret().replacen('a', "b", 1);
    println!("── a mistyped key is refused before any lookup");
    match ApiKey::new(typo) {
        Ok(_) => println!("   (the typo happened to keep the checksum)"),
        Err(e) => println!("   → malformed (401): {e}"),
    }
}
