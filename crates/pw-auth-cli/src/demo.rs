//! `pw-auth demo`: the whole client ↔ server flow on the embedded demo company.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use pw_auth_core::{
    AccessToken, ApiKey, CompanyId, Credential, ExpiresIn, LimitDecision, LimitState, Policy,
    Quota, Tier,
};
use pw_auth_http::{
    Budget, Budgets, LoginRequest, LoginResponse, Next, Responder, Served, ServerFlow, Session,
    SessionConfig, format_authorization, rate_limit_fields,
};
use time::Duration;

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
    flow: ServerFlow,
    out: String,
    logins: u32,
}

impl Demo {
    /// The server's login endpoint: parse the body, check the password (in constant
    /// time), issue a token from fresh bytes, store only its record.
    fn serve_login(
        &mut self,
        body: &[u8],
        now: time::OffsetDateTime,
    ) -> Result<(u16, String), String> {
        let request = match self.flow.login_request(body, now) {
            Ok(r) => r,
            Err(refused) => return Ok((refused.outcome.status(), String::new())),
        };
        let person = self.world.person(request.username()).ok();
        let password_ok = person.is_some_and(|p| p.password == *request.password());
        self.logins = self.logins.saturating_add(1);
        let bytes = demo_bytes(&format!("login-{}-{}", request.username(), self.logins));
        let user = person.map(|p| &p.user);
        let served = self
            .flow
            .login(user, password_ok, &bytes, ExpiresIn::DEFAULT, now)
            .map_err(|e| e.to_string())?;
        match served {
            pw_auth_http::LoginServed::Issued(issued) => {
                self.world.directory.tokens.push(issued.record().clone());
                Ok((200, issued.body().to_string()))
            }
            pw_auth_http::LoginServed::Refused(refusal) => {
                Ok((refusal.outcome.status(), String::new()))
            }
        }
    }

    /// One request through the server flow, against the demo's directory.
    fn serve(
        &self,
        authorization: &[u8],
        action: &str,
        company: &CompanyId,
        budgets: Option<&mut dyn Budgets>,
        now: time::OffsetDateTime,
    ) -> Result<Served, String> {
        let request = self.world.directory.request(action, company)?;
        // The demo's directory changes as it goes (tokens issued): its records are
        // read afresh for each request.
        let records = self.world.directory.records();
        Ok(self
            .flow
            .serve([authorization], &records, request, budgets, now))
    }

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
        let e = self.serve(header.as_bytes(), action, &company, None, now)?;
        let mut out = String::new();
        let _ = writeln!(out, "── {title}");
        let _ = writeln!(out, "   Authorization: {}", shown(credential));
        let _ = writeln!(
            out,
            "   asks for `{action}` on `{company}` at {}",
            rfc3339(now)
        );
        if let Some(p) = e.principal() {
            let _ = writeln!(
                out,
                "   principal: {} of {} ({})",
                p.user(),
                p.company(),
                p.role()
            );
        }
        let _ = writeln!(out, "   → {} {}", e.outcome().status(), e.explanation());
        if let Some(o) = Some(e.outcome()).filter(|o| !o.is_proceed()) {
            if let Some(c) = o.header("www-authenticate") {
                let _ = writeln!(out, "   WWW-Authenticate: {c}");
            }
            let _ = writeln!(out, "   body: {}", o.body());
        }
        let audit = serde_json::to_string(e.audit()).map_err(|e| e.to_string())?;
        let _ = writeln!(out, "   audit: {audit}");
        self.line(&out);
        Ok(())
    }
}

/// Runs the demo and returns what it prints.
pub(crate) fn run() -> Result<String, String> {
    let world = build().map_err(|e| e.to_string())?;
    let responder = Responder::new("patchworks").map_err(|e| e.to_string())?;
    let mut d = Demo {
        world,
        flow: ServerFlow::new(Policy::default_policy(), responder),
        out: String::new(),
        logins: 0,
    };
    let now = DEMO_NOW;
    let id = d.flow.policy().id().to_owned();
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
    let (status, answer) = d.serve_login(body.as_bytes(), now)?;
    let parsed = LoginResponse::parse(answer.as_bytes()).map_err(|e| e.to_string())?;
    let lifetime = parsed.lifetime(now).map_err(|e| e.to_string())?;
    d.line(&format!(
        "   → {status} {{\"message\": \"{}\", \"token\": \"…\", \"expires_in\": {}}}",
        parsed.message(),
        parsed.expires_in().as_secs()
    ));
    d.line(&format!(
        "   the server stores only the token's digest; the client keeps the token until {}\n",
        rfc3339(lifetime.expires_at())
    ));
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
    client_session(&mut d, now)?;
    usage_limit(&mut d, now)?;
    Ok(d.out)
}

/// A client session keeps max logged in across a day, renewing before expiry.
fn client_session(d: &mut Demo, start: time::OffsetDateTime) -> Result<(), String> {
    d.line("── a client session keeps max logged in (renewal margin: a tenth of the lifetime, at most 5 minutes)");
    let password = d.person("max")?.password.clone();
    let mut session = Session::with_password("max", password, SessionConfig::default())
        .map_err(|e| e.to_string())?;
    let acme = CompanyId::new("acme").map_err(|e| e.to_string())?;
    let moments = [
        (Duration::ZERO, "first request"),
        (Duration::ZERO, "second request"),
        (Duration::hours(12), "12 hours later"),
        (
            Duration::minutes(23 * 60 + 56),
            "23 h 56 min after login: inside the margin",
        ),
        (Duration::minutes(23 * 60 + 56), "the next request"),
        (Duration::hours(24), "24 hours after the first login"),
    ];
    for (offset, what) in moments {
        let now = start.checked_add(offset).ok_or("time out of range")?;
        let line = match session.next(now) {
            Next::LogIn { body, .. } => {
                let (status, answer) = d.serve_login(body.as_bytes(), now)?;
                session
                    .on_login_response(status, answer.as_bytes(), now)
                    .map_err(|e| e.to_string())?;
                format!("logs in → {status}")
            }
            Next::Send {
                authorization,
                generation,
            } => {
                let e = d.serve(authorization.as_bytes(), "flows.view", &acme, None, now)?;
                let headers: Vec<&[u8]> = e
                    .outcome()
                    .header("www-authenticate")
                    .map(str::as_bytes)
                    .into_iter()
                    .collect();
                let status = e.outcome().status();
                let reaction = session.on_response(generation, status, &headers);
                format!("sends token #{generation} for `flows.view` → {status} ({reaction:?})")
            }
            Next::Wait { until } => format!("waits until {}", rfc3339(until)),
            Next::Failed(e) => format!("stopped: {e}"),
        };
        d.line(&format!("   {}  {what:<43} {line}", rfc3339(now)));
    }
    d.line("");
    Ok(())
}

/// Each demo company's tier and limiter state.
struct DemoBudgets {
    tiers: BTreeMap<CompanyId, Tier>,
    states: BTreeMap<CompanyId, LimitState>,
}

impl Budgets for DemoBudgets {
    fn budget(
        &mut self,
        company: &CompanyId,
        _: Option<&pw_auth_core::ApiKeyId>,
    ) -> Option<Budget<'_>> {
        let tier = *self.tiers.get(company)?;
        Some(Budget::new(
            tier,
            self.states.entry(company.clone()).or_default(),
        ))
    }
}

/// acme spends its usage budget with an API key and a bearer token alike: every
/// request is authenticated and authorised, then counted against its usage key.
fn usage_limit(d: &mut Demo, now: time::OffsetDateTime) -> Result<(), String> {
    let acme = CompanyId::new("acme").map_err(|e| e.to_string())?;
    let globex = CompanyId::new("globex").map_err(|e| e.to_string())?;
    let key = Credential::ApiKey(d.world.erp_key.clone());
    let ann = Credential::Bearer(d.person("ann")?.token.clone());
    let gail = Credential::Bearer(d.person("gail")?.token.clone());
    let mut budgets = DemoBudgets {
        tiers: [&acme, &globex]
            .into_iter()
            .filter_map(|c| Some((c.clone(), d.world.directory.company(c)?.tier)))
            .collect(),
        states: BTreeMap::new(),
    };
    // One request through the server flow: authenticate, authorise, then spend the
    // budget of the caller's own company (`usage_key`).
    let mut serve =
        |d: &Demo, credential: &Credential, company: &CompanyId, at: time::OffsetDateTime| {
            let header = format_authorization(credential);
            let e = d.serve(
                header.as_bytes(),
                "flows.view",
                company,
                Some(&mut budgets),
                at,
            )?;
            let refused_for_limit = matches!(e.limit(), Some(LimitDecision::Deny { .. }));
            if !e.is_allowed() && !refused_for_limit {
                return Err(format!("unexpected refusal: {}", e.explanation()));
            }
            let tier = d
                .world
                .directory
                .company(company)
                .map(|c| c.tier)
                .ok_or("no company")?;
            let limit = e.limit().ok_or("no limit decision")?;
            Ok::<_, String>((d.flow.policy().quota(tier), limit, e))
        };
    let quota = d.flow.policy().quota(Tier::Professional);
    d.line(&format!(
        "── acme's usage budget: {} requests per {} s (professional tier); one budget per company, whichever credential",
        quota.limit(),
        quota.period_secs()
    ));
    let fields = |q: &Quota, dec: &LimitDecision| rate_limit_fields(q, dec).limit;
    let mut admitted = 0u32;
    let mut summary = Vec::new();
    for i in 0..quota.limit() {
        let credential = if i % 2 == 0 { &key } else { &ann };
        let (q, decision, _) = serve(d, credential, &acme, now)?;
        if decision.is_allowed() {
            admitted = admitted.saturating_add(1);
        }
        if i == 0 || i.saturating_add(1) == quota.limit() {
            summary.push(fields(&q, &decision));
        }
    }
    let first = summary.first().cloned().unwrap_or_default();
    let last = summary.last().cloned().unwrap_or_default();
    d.line(&format!(
        "   request 1 (the ERP API key):           200, RateLimit: {first}"
    ));
    d.line(&format!(
        "   requests 1–{} (key and ann's token):  {admitted} admitted, the last with RateLimit: {last}",
        quota.limit()
    ));
    let (_, _, over) = serve(d, &ann, &acme, now)?;
    if let Some(o) = Some(over.outcome()).filter(|o| o.status() == 429) {
        let h = |n: &str| o.header(n).unwrap_or("").to_owned();
        d.line(&format!(
            "   request {} (ann's token):             {} Retry-After: {}, RateLimit: {}",
            quota.limit().saturating_add(1),
            o.status(),
            h("retry-after"),
            h("ratelimit")
        ));
    }
    let later = now
        .checked_add(Duration::milliseconds(250))
        .ok_or("time out of range")?;
    let (_, again, _) = serve(d, &key, &acme, later)?;
    d.line(&format!(
        "   250 ms later (the API key):            {}",
        if again.is_allowed() {
            "200 — the budget refills at one request per 250 ms"
        } else {
            "still refused"
        }
    ));
    let (q, other, _) = serve(d, &gail, &globex, now)?;
    d.line(&format!(
        "   meanwhile gail at globex:              200, RateLimit: {} (globex's own budget)",
        fields(&q, &other)
    ));
    Ok(())
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
