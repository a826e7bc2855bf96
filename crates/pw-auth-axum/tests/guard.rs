//! The guard's set-up and its failures: `PwAuth::require` checks its action against
//! the policy when the router is built (a mistyped action is an error then, not a
//! route that denies every request), and a failing store is a 503 that carries the
//! typed failure for the layer that logs it, and never lets the request through.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::error::Error as _;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use pw_auth_axum::{
    AuthStore, CompanyInfo, Loaded, MemoryStore, PwAuth, StoreError, StoreErrorKind, Unavailable,
};
use pw_auth_core::{AuditRecord, CompanyId, CredentialDigest, LimitState, Policy};
use pw_auth_http::{Responder, ServerFlow};
use tower::ServiceExt;

mod common;
use common::acme_and_its_key;

fn auth() -> PwAuth<MemoryStore> {
    let flow = ServerFlow::new(
        Policy::default_policy(),
        Responder::new("patchworks").unwrap(),
    );
    PwAuth::new(flow, MemoryStore::default())
}

#[test]
fn every_action_of_the_policy_can_be_required() {
    let auth = auth();
    for action in Policy::default_policy().actions() {
        assert!(auth.require(action.id()).is_ok(), "{}", action.id());
    }
}

#[test]
fn an_action_the_policy_does_not_define_is_refused_by_name() {
    let auth = auth();
    for typo in ["flows.veiw", "flows", "", "Flows.view", "flows.view "] {
        let e = auth.require(typo).err().expect(typo);
        assert_eq!(e.action(), typo);
        assert_eq!(e.to_string(), format!("the policy has no action `{typo}`"));
    }
}

#[test]
fn the_refusal_escapes_what_it_echoes() {
    let e = auth().require("flows.\u{1b}[2Jview\n").err().unwrap();
    assert_eq!(
        e.to_string(),
        "the policy has no action `flows.\\u{1b}[2Jview\\n`"
    );
}

/// A store whose every call fails as a locked database would.
struct Locked;

fn locked() -> StoreError {
    let cause = std::io::Error::new(std::io::ErrorKind::TimedOut, "database is locked");
    StoreError::new(StoreErrorKind::Busy, "sqlite").caused_by(cause)
}

impl AuthStore for Locked {
    async fn load(&self, _: &CredentialDigest) -> Result<std::sync::Arc<Loaded>, StoreError> {
        Err(locked())
    }

    async fn company(&self, _: &CompanyId) -> Result<Option<CompanyInfo>, StoreError> {
        Err(locked())
    }

    async fn with_budget<R, F>(
        &self,
        _: &CompanyId,
        _: Option<&pw_auth_core::ApiKeyId>,
        _: F,
    ) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState, Option<&mut LimitState>) -> R + Send + 'static,
    {
        Err(locked())
    }

    async fn with_failures<R, F>(&self, _: Vec<String>, _: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        Err(locked())
    }

    async fn audit(&self, _: &AuditRecord) -> Result<(), StoreError> {
        Err(locked())
    }
}

#[tokio::test]
async fn a_failing_store_is_a_503_that_carries_its_typed_cause() {
    let flow = ServerFlow::new(
        Policy::default_policy(),
        Responder::new("patchworks").unwrap(),
    );
    let auth = PwAuth::new(flow, Locked);
    let app: Router = Router::new().route(
        "/flows",
        get(|| async { "the handler ran" }).route_layer(auth.require("flows.view").unwrap()),
    );
    let key = "Bearer pwt_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for authorization in [Some(key), None] {
        let mut request = http::Request::builder().uri("/flows");
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{authorization:?}");
        assert_eq!(response.headers()["retry-after"], "1");
        let Unavailable(failure) = response.extensions().get::<Unavailable>().unwrap();
        assert_eq!(failure.kind(), StoreErrorKind::Busy);
        assert_eq!(
            failure.to_string(),
            "the record store failed (busy): sqlite"
        );
        assert_eq!(failure.source().unwrap().to_string(), "database is locked");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(
            &body[..],
            br#"{"message":"Service unavailable."}"#,
            "no cause sent"
        );
    }
}

/// Each setting of the builder takes effect, whatever was cloned before `build`:
/// the clock (the audit record's time), the company hook (a refusal it returns is
/// sent), the client (named in the audit record), and `without_limit` (no budget
/// charged, no `RateLimit` fields).
#[tokio::test]
async fn every_builder_setting_takes_effect() {
    use pw_auth_core::{KeyLabel, Tier, mint_api_key};
    use std::sync::Arc;
    let frozen = time::macros::datetime!(2026-11-27 12:00 UTC);
    let acme = CompanyId::new("acme").unwrap();
    let minted = mint_api_key(
        &acme,
        KeyLabel::new("k").unwrap(),
        b"0123456789abcdef",
        frozen,
    )
    .unwrap();
    let store = || {
        let store = MemoryStore::default();
        store.add_company(
            acme.clone(),
            CompanyInfo {
                tier: Tier::Professional,
                parent: None,
            },
        );
        store.add_minted(&minted);
        store
    };
    let flow = || {
        ServerFlow::new(
            Policy::default_policy(),
            Responder::new("patchworks").unwrap(),
        )
    };
    let get_flows = |auth: &PwAuth<MemoryStore>, teapot: bool| {
        let app: Router = Router::new().route(
            "/flows",
            get(|| async { "ok" }).route_layer(auth.require("flows.view").unwrap()),
        );
        let mut request = http::Request::builder()
            .uri("/flows")
            .header("authorization", minted.key.expose_secret());
        if teapot {
            request = request.header("x-teapot", "1");
        }
        app.oneshot(request.body(Body::empty()).unwrap())
    };

    // The defaults: the system clock, the budget charged, no client named.
    let auth = PwAuth::new(flow(), store());
    let response = get_flows(&auth, false).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("ratelimit"));
    let record = auth.store().audit_records().pop().unwrap();
    assert_ne!(record.time, frozen);
    assert_eq!(record.client, None);

    let client: std::net::IpAddr = "203.0.113.7".parse().unwrap();
    let responder = Responder::new("patchworks").unwrap();
    let auth = PwAuth::builder(flow(), store())
        .clock(Arc::new(move || frozen))
        .client(Arc::new(move |_: &http::request::Parts| {
            Some(pw_auth_http::ClientAddr::new(client))
        }))
        .company_hook(Arc::new(move |parts: &http::request::Parts, _: &_| {
            if parts.headers.contains_key("x-teapot") {
                Err(responder.bad_request("no tea here"))
            } else {
                Ok(None)
            }
        }))
        .without_limit()
        .build();
    let response = get_flows(&auth, false).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        !response.headers().contains_key("ratelimit"),
        "without_limit"
    );
    let record = auth.store().audit_records().pop().unwrap();
    assert_eq!(record.time, frozen, "the clock");
    assert_eq!(record.client, Some(client), "the client");
    let response = get_flows(&auth, true).await.unwrap();
    assert_eq!(response.status(), 400, "the company hook's refusal");
}

#[tokio::test]
async fn every_answer_carries_the_verdict_its_audit_record_states() {
    use pw_auth_axum::Verdict;
    use pw_auth_core::Effect;
    let (store, minted) = acme_and_its_key(time::OffsetDateTime::now_utc());
    let acme = CompanyId::new("acme").unwrap();
    let auth = PwAuth::new(
        ServerFlow::new(
            Policy::default_policy(),
            Responder::new("patchworks").unwrap(),
        ),
        store,
    );
    let app: Router = Router::new()
        .route(
            "/flows",
            get(|| async { "ok" }).route_layer(auth.require("flows.view").unwrap()),
        )
        .route(
            "/publish",
            get(|| async { "ok" }).route_layer(auth.require("blueprints.publish").unwrap()),
        );
    let call = |path: &'static str, key: Option<&str>| {
        let mut request = http::Request::builder().uri(path);
        if let Some(k) = key {
            request = request.header("authorization", k);
        }
        app.clone().oneshot(request.body(Body::empty()).unwrap())
    };
    let verdict = |r: &axum::response::Response| r.extensions().get::<Verdict>().cloned().unwrap();

    let allowed = call("/flows", Some(minted.key.expose_secret()))
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    let v = verdict(&allowed);
    assert_eq!(
        (v.effect, v.kind, v.detail),
        (Effect::Allow, "allowed", None)
    );
    assert_eq!(v.user.as_ref(), Some(&minted.user.id));
    assert_eq!(v.company.as_ref(), Some(&acme));
    assert_eq!(v.acting_in.as_ref(), Some(&acme));
    assert_eq!(v.key.as_ref(), Some(&minted.record.id), "the key, by id");
    assert_eq!(v, Verdict::of(&auth.store().audit_records().pop().unwrap()));

    let forbidden = call("/publish", Some(minted.key.expose_secret()))
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let v = verdict(&forbidden);
    assert_eq!((v.effect, v.kind), (Effect::Deny, "administrator_only"));
    assert_eq!(v.user.as_ref(), Some(&minted.user.id));

    let unknown = "pwk_00000000000000000000000000000000000000000000000000000000000000000000000";
    let refused = call("/flows", Some(unknown)).await.unwrap();
    assert_eq!(refused.status(), 401);
    let v = verdict(&refused);
    assert_eq!(v.kind, "unauthenticated");
    assert!(v.detail.is_some() && v.user.is_none(), "{v:?}");

    let missing = call("/flows", None).await.unwrap();
    let v = verdict(&missing);
    assert_eq!((v.kind, v.detail), ("unauthenticated", Some("missing")));
}

#[tokio::test]
async fn with_decision_ids_each_answer_and_its_record_share_one() {
    use pw_auth_axum::{DECISION_ID, Verdict};
    use pw_auth_core::DecisionId;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU8, Ordering};
    let (store, minted) = acme_and_its_key(time::OffsetDateTime::now_utc());
    let n = Arc::new(AtomicU8::new(0));
    let auth = PwAuth::builder(
        ServerFlow::new(
            Policy::default_policy(),
            Responder::new("patchworks").unwrap(),
        ),
        store,
    )
    .decision_ids(Arc::new(move |at| {
        DecisionId::new(at, [n.fetch_add(1, Ordering::SeqCst); 10])
    }))
    .build();
    let app: Router = Router::new().route(
        "/flows",
        get(|| async { "ok" }).route_layer(auth.require("flows.view").unwrap()),
    );
    let mut seen = Vec::new();
    for key in [Some(minted.key.expose_secret()), None] {
        let mut request = http::Request::builder().uri("/flows");
        if let Some(k) = key {
            request = request.header("authorization", k);
        }
        let r = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let header: DecisionId = r.headers()[DECISION_ID].to_str().unwrap().parse().unwrap();
        let record = auth.store().audit_records().pop().unwrap();
        assert_eq!(record.decision_id, Some(header), "{}", r.status());
        assert_eq!(
            r.extensions().get::<Verdict>().unwrap().decision_id,
            Some(header)
        );
        seen.push(header);
    }
    assert_ne!(seen[0], seen[1], "one id a decision");

    // Without an id source: no field, no id in the record.
    let plain = PwAuth::new(
        ServerFlow::new(
            Policy::default_policy(),
            Responder::new("patchworks").unwrap(),
        ),
        MemoryStore::default(),
    );
    let app: Router = Router::new().route(
        "/flows",
        get(|| async { "ok" }).route_layer(plain.require("flows.view").unwrap()),
    );
    let r = app
        .oneshot(
            http::Request::builder()
                .uri("/flows")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get(DECISION_ID).is_none());
    assert_eq!(
        plain.store().audit_records().pop().unwrap().decision_id,
        None
    );
}

#[tokio::test]
async fn a_key_with_its_own_quota_spends_it_and_its_companys_together() {
    use pw_auth_axum::Verdict;
    use pw_auth_core::{KeyLabel, Quota, Tier, mint_api_key};
    let now = time::OffsetDateTime::now_utc();
    let acme = CompanyId::new("acme").unwrap();
    let label = || KeyLabel::new("k").unwrap();
    let limited = mint_api_key(&acme, label(), b"0123456789abcdef", now)
        .unwrap()
        .limited(Quota::new(2, 3600, 2).unwrap(), &Quota::DEFAULT)
        .unwrap();
    let plain = mint_api_key(&acme, label(), b"fedcba9876543210", now).unwrap();
    let store = MemoryStore::default();
    store.add_company(
        acme.clone(),
        CompanyInfo {
            tier: Tier::Professional,
            parent: None,
        },
    );
    for m in [&limited, &plain] {
        store.add_user(m.user.clone());
        store.add_key(m.record.clone());
    }
    let auth = PwAuth::new(
        ServerFlow::new(
            Policy::default_policy(),
            Responder::new("patchworks").unwrap(),
        ),
        store,
    );
    let app: Router = Router::new().route(
        "/flows",
        get(|| async { "ok" }).route_layer(auth.require("flows.view").unwrap()),
    );
    let call = |key: &str| {
        let request = http::Request::builder()
            .uri("/flows")
            .header("authorization", key)
            .body(Body::empty())
            .unwrap();
        app.clone().oneshot(request)
    };
    let header = |r: &axum::response::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    for left in [1, 0] {
        let ok = call(limited.key.expose_secret()).await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(
            header(&ok, "ratelimit-policy").as_deref(),
            Some(r#""default";q=240;w=60, "key";q=2;w=3600"#)
        );
        let limit = header(&ok, "ratelimit").unwrap();
        assert!(limit.contains(&format!(r#""key";r={left};"#)), "{limit}");
    }
    let over = call(limited.key.expose_secret()).await.unwrap();
    assert_eq!(over.status(), 429);
    assert_eq!(header(&over, "retry-after").as_deref(), Some("1800"));
    let v = over.extensions().get::<Verdict>().cloned().unwrap();
    assert_eq!((v.kind, v.detail), ("over_limit", Some("key")));
    // The company was charged twice, not three times; the other key goes on.
    let other = call(plain.key.expose_secret()).await.unwrap();
    assert_eq!(other.status(), 200);
    assert_eq!(
        header(&other, "ratelimit").as_deref(),
        Some(r#""default";r=237;t=1"#)
    );
}

/// A user under a custom role is decided by their company's own definition of it,
/// from the store, from the next request after it changes; another company's role of
/// the same name is never theirs; without a definition, the policy's (none here).
#[tokio::test]
async fn a_custom_role_is_the_one_its_company_defines_in_the_store() {
    use pw_auth_axum::Verdict;
    use pw_auth_core::{CustomRoleName, ExpiresIn, Role, Tier, UserId, UserRecord, issue_token};
    let now = time::OffsetDateTime::now_utc();
    let policy = Policy::default_policy();
    let (acme, globex) = (
        CompanyId::new("acme").unwrap(),
        CompanyId::new("globex").unwrap(),
    );
    let store = MemoryStore::default();
    for c in [&acme, &globex] {
        let tier = Tier::Enterprise;
        store.add_company(c.clone(), CompanyInfo { tier, parent: None });
    }
    let mut ann = UserRecord::active(UserId::new("ann").unwrap(), acme.clone(), Role::Manager);
    ann.custom_role = Some(CustomRoleName::new("lead").unwrap());
    store.add_user(ann.clone());
    let token = issue_token(
        &ann,
        b"0123456789abcdef0123456789abcdef",
        now,
        ExpiresIn::DEFAULT,
    )
    .unwrap();
    store.add_token(token.record.clone());
    let role =
        |company: &CompanyId, text: &str| policy.company_role_from_json(company, text).unwrap();
    store.put_custom_role(role(
        &globex,
        r#"{"name": "lead", "view": ["flows", "connectors"]}"#,
    ));
    let auth = PwAuth::new(
        ServerFlow::new(policy.clone(), Responder::new("patchworks").unwrap()),
        store,
    );
    let app: Router = Router::new()
        .route(
            "/flows",
            get(|| async { "ok" }).route_layer(auth.require("flows.view").unwrap()),
        )
        .route(
            "/connectors",
            get(|| async { "ok" }).route_layer(auth.require("connectors.view").unwrap()),
        );
    let bearer = format!("Bearer {}", token.token.expose_secret());
    let call = |path: &'static str| {
        let request = http::Request::builder()
            .uri(path)
            .header("authorization", &bearer)
            .body(Body::empty())
            .unwrap();
        let app = app.clone();
        async move {
            let r = app.oneshot(request).await.unwrap();
            let kind = r.extensions().get::<Verdict>().unwrap().kind;
            (r.status().as_u16(), kind)
        }
    };
    // Only globex defines `lead`: not ann's.
    assert_eq!(call("/flows").await, (403, "unknown_custom_role"));
    auth.store()
        .put_custom_role(role(&acme, r#"{"name": "lead", "view": ["flows"]}"#));
    assert_eq!(call("/flows").await, (200, "allowed_by_custom_role"));
    assert_eq!(call("/connectors").await, (403, "custom_role_lacks"));
    // Edited: the next request decides by the new toggles.
    auth.store()
        .put_custom_role(role(&acme, r#"{"name": "lead", "view": ["connectors"]}"#));
    assert_eq!(call("/flows").await, (403, "custom_role_lacks"));
    assert_eq!(call("/connectors").await, (200, "allowed_by_custom_role"));
    assert!(
        auth.store()
            .remove_custom_role(&acme, &CustomRoleName::new("lead").unwrap())
    );
    assert_eq!(call("/connectors").await, (403, "unknown_custom_role"));
}

/// A memory store that notes each company the guard asks it for, and can hide the
/// company it reads with a credential's records.
struct Asking {
    inner: MemoryStore,
    asked: std::sync::Mutex<Vec<String>>,
    hide: std::sync::atomic::AtomicBool,
}

impl Asking {
    fn asked(&self) -> Vec<String> {
        std::mem::take(&mut *self.asked.lock().unwrap())
    }
}

impl AuthStore for Asking {
    async fn load(&self, d: &CredentialDigest) -> Result<std::sync::Arc<Loaded>, StoreError> {
        let loaded = self.inner.load(d).await?;
        if !self.hide.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(loaded);
        }
        let mut hidden = (*loaded).clone();
        hidden.company = None;
        Ok(std::sync::Arc::new(hidden))
    }

    async fn company(&self, id: &CompanyId) -> Result<Option<CompanyInfo>, StoreError> {
        self.asked.lock().unwrap().push(id.as_str().to_owned());
        self.inner.company(id).await
    }

    async fn with_budget<R, F>(
        &self,
        company: &CompanyId,
        key: Option<&pw_auth_core::ApiKeyId>,
        f: F,
    ) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState, Option<&mut LimitState>) -> R + Send + 'static,
    {
        self.inner.with_budget(company, key, f).await
    }

    async fn with_failures<R, F>(&self, keys: Vec<String>, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        self.inner.with_failures(keys, f).await
    }

    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.inner.audit(record).await
    }
}

/// The user's own company read with the records (`Loaded::company`) decides and
/// charges a request in it without another lookup, and is as fresh as the records (a
/// tier changed is read by the next request); a store that does not read it is asked,
/// as is any other company a request acts in — whose member still pays at their own
/// company's tier, known from the records.
#[tokio::test]
async fn the_users_company_read_with_the_records_is_not_asked_again() {
    use pw_auth_core::{ExpiresIn, PolicyDocument, Role, Tier, UserId, UserRecord, issue_token};
    use std::sync::Arc;
    let now = time::OffsetDateTime::now_utc();
    let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json()).unwrap();
    doc.quotas = serde_json::from_value(serde_json::json!({
        "professional": {"limit": 7, "period_secs": 60},
        "standard": {"limit": 3, "period_secs": 60}
    }))
    .unwrap();
    let policy = Policy::compile(&doc).unwrap();
    let (acme, eu) = (
        CompanyId::new("acme").unwrap(),
        CompanyId::new("acme-eu").unwrap(),
    );
    let inner = MemoryStore::default();
    let info = |tier, parent: Option<&CompanyId>| CompanyInfo {
        tier,
        parent: parent.cloned(),
    };
    inner.add_company(acme.clone(), info(Tier::Professional, None));
    inner.add_company(eu.clone(), info(Tier::Professional, Some(&acme)));
    let max = UserRecord::active(UserId::new("max").unwrap(), acme.clone(), Role::Manager);
    inner.add_user(max.clone());
    inner.grant(max.id.clone(), eu.clone());
    let issued = issue_token(
        &max,
        b"0123456789abcdef0123456789abcdef",
        now,
        ExpiresIn::DEFAULT,
    )
    .unwrap();
    inner.add_token(issued.record.clone());
    let named = eu.clone();
    let auth = PwAuth::builder(
        ServerFlow::new(policy, Responder::new("patchworks").unwrap()),
        Asking {
            inner,
            asked: std::sync::Mutex::default(),
            hide: std::sync::atomic::AtomicBool::new(false),
        },
    )
    .company_hook(Arc::new(move |parts: &http::request::Parts, _: &_| {
        Ok(parts.headers.contains_key("x-in-eu").then(|| named.clone()))
    }))
    .build();
    let app: Router = Router::new().route(
        "/flows",
        get(|| async { "ok" }).route_layer(auth.require("flows.view").unwrap()),
    );
    let bearer = format!("Bearer {}", issued.token.expose_secret());
    let call = |in_eu: bool| {
        let mut request = http::Request::builder()
            .uri("/flows")
            .header("authorization", &bearer);
        if in_eu {
            request = request.header("x-in-eu", "1");
        }
        let app = app.clone();
        async move {
            let r = app
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let policy = r.headers().get("ratelimit-policy").cloned();
            (
                r.status().as_u16(),
                policy.map(|v| v.to_str().unwrap().to_owned()),
            )
        }
    };
    let quota = |q: u32| Some(format!(r#""default";q={q};w=60"#));

    assert_eq!(call(false).await, (200, quota(7)));
    assert_eq!(
        auth.store().asked(),
        Vec::<String>::new(),
        "read with the records"
    );

    auth.store()
        .hide
        .store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(call(false).await, (200, quota(7)));
    assert_eq!(auth.store().asked(), ["acme"], "not read with them: asked");
    auth.store()
        .hide
        .store(false, std::sync::atomic::Ordering::Relaxed);

    auth.store()
        .inner
        .add_company(acme.clone(), info(Tier::Standard, None));
    assert_eq!(call(false).await, (200, quota(3)), "the new tier, at once");
    assert_eq!(auth.store().asked(), Vec::<String>::new());

    // In the linked company (professional) max pays at acme's tier (standard now).
    assert_eq!(call(true).await, (200, quota(3)));
    assert_eq!(auth.store().asked(), ["acme-eu"], "only the other company");
}

/// A guarded handler reads who is calling and where from the request the guard let
/// through; the same extractors on a route without a guard refuse it (500), so a
/// handler never runs as nobody.
#[tokio::test]
async fn a_guarded_handler_reads_who_and_where_and_an_unguarded_one_is_refused() {
    use pw_auth_axum::{ActingIn, Authenticated};
    let (store, minted) = acme_and_its_key(time::OffsetDateTime::now_utc());
    let auth = PwAuth::new(
        ServerFlow::new(
            Policy::default_policy(),
            Responder::new("patchworks").unwrap(),
        ),
        store,
    );
    let who = |Authenticated(p): Authenticated, ActingIn(c): ActingIn| async move {
        format!("{} of {} in {c}", p.user(), p.company())
    };
    let app: Router = Router::new()
        .route(
            "/guarded",
            get(who).route_layer(auth.require("flows.view").unwrap()),
        )
        .route("/open", get(who))
        .route(
            "/open-who",
            get(|Authenticated(_): Authenticated| async { "ran" }),
        )
        .route("/open-where", get(|ActingIn(_): ActingIn| async { "ran" }));
    let call = |path: &str| {
        let request = http::Request::get(path)
            .header("authorization", minted.key.expose_secret())
            .body(Body::empty())
            .unwrap();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    assert_eq!(
        call("/guarded").await,
        (
            http::StatusCode::OK,
            format!("{} of acme in acme", minted.user.id)
        )
    );
    for path in ["/open", "/open-who", "/open-where"] {
        assert_eq!(
            call(path).await,
            (
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "the route has no pw-auth guard".to_owned()
            ),
            "{path}"
        );
    }
}
