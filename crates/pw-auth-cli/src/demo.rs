//! `pw-auth demo`: the whole client ↔ server flow on the embedded demo company.

use std::fmt::Write as _;

use pw_auth_core::{AccessToken, ApiKey, CompanyId, Credential, ExpiresIn, Policy, issue_token};
use pw_auth_http::{LoginRequest, LoginResponse, Responder, format_authorization};
use time::Duration;

use crate::pipeline::evaluate;
use crate::world::{DEMO_NOW, World, build, demo_bytes};

/// A credential as the demo prints it: its kind and recognisable prefix only.
fn shown(c: &Credential) -> String {
    let secret = match c {
        Credential::ApiKey(k) => k.expose_secret(),
        Credential::Bearer(t) => t.expose_secret(),
    };
    let prefix = ["pwk_", "pwt_"]
        .into_iter()
        .find(|p| secret.starts_with(p))
        .unwrap_or("");
    match c {
        Credential::ApiKey(_) => format!("<api key {prefix}…, redacted>"),
        Credential::Bearer(_) => format!("Bearer <{prefix}…, redacted>"),
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// The demo's server side, and what it has printed so far.
struct Demo {
    world: World,
    policy: Policy,
    responder: Responder,
    out: String,
}

impl Demo {
    fn person(&self, id: &str) -> Result<&crate::world::Person, String> {
        self.world.person(id).map_err(|e| e.to_string())
    }

    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// One request through the server, printed.
    fn step(
        &mut self,
        title: &str,
        credential: &Credential,
        action: &str,
        company: &str,
        now: time::OffsetDateTime,
    ) -> Result<(), String> {
        let company = CompanyId::new(company).map_err(|e| e.to_string())?;
        let header = format_authorization(credential);
        let e = evaluate(
            &self.world.directory,
            &self.policy,
            &self.responder,
            &[header.as_bytes()],
            action,
            &company,
            now,
        )?;
        let mut out = String::new();
        let _ = writeln!(out, "── {title}");
        let _ = writeln!(out, "   Authorization: {}", shown(credential));
        let _ = writeln!(
            out,
            "   asks for `{action}` on `{company}` at {}",
            rfc3339(now)
        );
        if let Some(p) = &e.principal {
            let _ = writeln!(
                out,
                "   principal: {} of {} ({})",
                p.user(),
                p.company(),
                p.role()
            );
        }
        let _ = writeln!(out, "   → {} {}", e.status(), e.reason_text());
        if let Some(o) = &e.refusal {
            if let Some(c) = o.header("www-authenticate") {
                let _ = writeln!(out, "   WWW-Authenticate: {c}");
            }
            let _ = writeln!(out, "   body: {}", o.body());
        }
        let audit = serde_json::to_string(&e.audit).map_err(|e| e.to_string())?;
        let _ = writeln!(out, "   audit: {audit}");
        self.line(&out);
        Ok(())
    }
}

/// Runs the demo and returns what it prints.
pub(crate) fn run() -> Result<String, String> {
    let world = build().map_err(|e| e.to_string())?;
    let mut d = Demo {
        world,
        policy: Policy::default_policy(),
        responder: Responder::new("patchworks").map_err(|e| e.to_string())?,
        out: String::new(),
    };
    let now = DEMO_NOW;
    let id = d.policy.id().to_owned();
    d.line(&format!("pw-auth demo — policy {id}"));
    d.line("companies: acme (professional), acme-eu (professional, linked to acme), globex (standard), initech (enterprise)");
    d.line(&format!(
        "the clock reads {}; secrets are shown redacted\n",
        rfc3339(now)
    ));

    // Log in: the client sends the body, the server checks the password and issues a
    // token from fresh random bytes, the client reads the answer.
    let ann = d.person("ann")?;
    let body = LoginRequest::new("ann", ann.password.clone())
        .map_err(|e| e.to_string())?
        .to_json();
    d.line(
        "── ann logs in: POST /fabric/api/login with {\"username\": \"ann\", \"password\": \"…\"}",
    );
    let request = LoginRequest::parse(body.as_bytes()).map_err(|e| e.to_string())?;
    let user = d.person(request.username())?;
    let verified = user.password == *request.password();
    let issued = issue_token(
        &user.user,
        &demo_bytes("fresh-login-ann"),
        now,
        ExpiresIn::DEFAULT,
    )
    .map_err(|e| e.to_string())?;
    let response = LoginResponse::new(issued.token.clone(), ExpiresIn::DEFAULT);
    let parsed = LoginResponse::parse(response.to_json().as_bytes()).map_err(|e| e.to_string())?;
    let lifetime = parsed.lifetime(now).map_err(|e| e.to_string())?;
    d.line(&format!("   password verified: {verified}"));
    d.line(&format!(
        "   → 200 {{\"message\": \"{}\", \"token\": \"…\", \"expires_in\": {}}}",
        parsed.message(),
        parsed.expires_in().as_secs()
    ));
    d.line(&format!(
        "   the server stores only the token's digest; the client keeps the token until {}\n",
        rfc3339(lifetime.expires_at())
    ));
    d.world.directory.tokens.push(issued.record);
    let ann_token = Credential::Bearer(parsed.token().clone());
    let key = Credential::ApiKey(d.world.erp_key.clone());
    let revoked = Credential::ApiKey(d.world.revoked_key.clone());
    let token_of = |d: &Demo, id: &str| -> Result<Credential, String> {
        Ok(Credential::Bearer(d.person(id)?.token.clone()))
    };
    let (gail, max, mia, eve) = (
        token_of(&d, "gail")?,
        token_of(&d, "max")?,
        token_of(&d, "mia")?,
        token_of(&d, "eve")?,
    );

    d.step(
        "ann's bearer token on blueprint management",
        &ann_token,
        "blueprints.publish",
        "acme",
        now,
    )?;
    d.step(
        "the ERP connector's API key (its api-user is manager-level) on process flows",
        &key,
        "flows.deploy",
        "acme",
        now,
    )?;
    d.step(
        "the same API key on blueprint management",
        &key,
        "blueprints.publish",
        "acme",
        now,
    )?;
    let expiry = lifetime.expires_at();
    let just_before = expiry
        .checked_sub(Duration::seconds(1))
        .ok_or("time out of range")?;
    d.step(
        "ann's token one second before it expires",
        &ann_token,
        "flows.view",
        "acme",
        just_before,
    )?;
    d.step(
        "the same token at its expiry, 24 hours after login (valid on [issued, expires))",
        &ann_token,
        "flows.view",
        "acme",
        expiry,
    )?;
    d.step(
        "the old web shop's API key, revoked",
        &revoked,
        "flows.view",
        "acme",
        now,
    )?;
    d.step(
        "gail, a manager on the standard tier, creating a script",
        &gail,
        "scripts.create",
        "globex",
        now,
    )?;
    d.step(
        "gail viewing scripts (tier trumps role only for editing)",
        &gail,
        "scripts.view",
        "globex",
        now,
    )?;
    d.step(
        "max, an acme manager with a grant for acme-eu, deploying a flow there",
        &max,
        "flows.deploy",
        "acme-eu",
        now,
    )?;
    d.step(
        "mia, an acme manager without a grant, doing the same",
        &mia,
        "flows.deploy",
        "acme-eu",
        now,
    )?;
    d.step(
        "eve, acme-eu's own administrator, reaching into the parent",
        &eve,
        "flows.view",
        "acme",
        now,
    )?;
    let forged = Credential::Bearer(
        AccessToken::new("pwt_not-a-real-token".into()).map_err(|e| e.to_string())?,
    );
    d.step(
        "a token the server never issued",
        &forged,
        "flows.view",
        "acme",
        now,
    )?;
    Ok(d.out)
}

/// The demo's fixture credentials, for trying `pw-auth authorize` by hand.
pub(crate) fn credentials() -> Result<String, String> {
    let world = build().map_err(|e| e.to_string())?;
    let mut out = String::from(
        "demo fixture credentials (valid from 2026-11-27T09:00Z for 24 hours; demo only):\n",
    );
    for p in &world.people {
        let _ = writeln!(
            out,
            "  {:<5} {:<14} {:<8} Bearer {}",
            p.user.id,
            p.user.role.as_str(),
            p.user.company.as_str(),
            p.token.expose_secret()
        );
    }
    let key = |k: &ApiKey| k.expose_secret().to_owned();
    let _ = writeln!(
        out,
        "  api key, acme, ERP connector:          {}",
        key(&world.erp_key)
    );
    let _ = writeln!(
        out,
        "  api key, acme, Old web shop (revoked): {}",
        key(&world.revoked_key)
    );
    Ok(out)
}
