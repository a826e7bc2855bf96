//! Two reference servers, one state: both on one PostgreSQL database (the records)
//! and one Redis (the budgets), each started by the test on loopback in a temporary
//! directory (`.ci/run` installs the distribution's packages; the test installs
//! nothing). What one server writes, the other sees at its next request; the company's
//! budget is one budget across both, to the request; losing Redis or PostgreSQL
//! refuses requests and loses no record. Loops are bounded.

use pw_auth_core::{CompanyId, LimitDecision, LimitState, Quota, check_limit};
use pw_auth_server::{RedisLimits, Running, start};
use time::OffsetDateTime;

use crate::fixture::{FROZEN_AT, Stores, TestClock};
use crate::services::Redis;

/// acme's burst at the Professional tier: 240 requests, then 429.
const ACME_BURST: usize = 240;

/// One server on `stores` (PostgreSQL and Redis) and `clock`, frozen: the budget never
/// refills during a test, so exactly its burst is admitted.
async fn serve(stores: &Stores, clock: &TestClock) -> Running {
    start(stores.config_on(clock)).await.unwrap()
}

/// A raw HTTP client, and a count of the requests that spent acme's budget.
struct Caller {
    http: reqwest::Client,
    spent: usize,
}

impl Caller {
    fn new() -> Caller {
        Caller {
            http: reqwest::Client::new(),
            spent: 0,
        }
    }

    async fn send(&mut self, r: reqwest::RequestBuilder) -> (u16, String) {
        let r = self.http.execute(r.build().unwrap()).await.unwrap();
        let status = r.status().as_u16();
        if (200..300).contains(&status) {
            self.spent += 1;
        }
        (status, r.text().await.unwrap())
    }

    async fn login(&self, server: &Running, user: &str, password: &str) -> (u16, String) {
        let r = self
            .http
            .post(server.url("/fabric/api/login"))
            .json(&serde_json::json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        let token = v["token"].as_str().unwrap_or_default();
        (status, format!("Bearer {token}"))
    }

    async fn new_key(&mut self, server: &Running, admin: &str, label: &str) -> (u16, String) {
        let req = self
            .http
            .post(server.url("/fabric/api/api-keys"))
            .header("authorization", admin)
            .json(&serde_json::json!({ "label": label }));
        let (status, body) = self.send(req).await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        (status, v["key"].as_str().unwrap_or_default().to_owned())
    }

    /// The id of the key labelled `label`, as `admin` lists them on `server`.
    async fn key_id(&mut self, server: &Running, admin: &str, label: &str) -> String {
        let req = self
            .http
            .get(server.url("/fabric/api/api-keys"))
            .header("authorization", admin);
        let list: serde_json::Value = serde_json::from_str(&self.send(req).await.1).unwrap();
        let keys = list["data"].as_array().unwrap();
        let key = keys.iter().find(|k| k["label"] == label).unwrap();
        key["id"].as_str().unwrap().to_owned()
    }

    /// The first answer other than 503 to `flows` (asked every 100 ms, at most 50
    /// times, while a store comes back).
    async fn flows_once_back(&mut self, server: &Running, authorization: &str) -> u16 {
        let mut status = 503;
        for _ in 0..50 {
            status = self.flows(server, authorization).await;
            if status != 503 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        status
    }

    async fn flows(&mut self, server: &Running, authorization: &str) -> u16 {
        let req = self
            .http
            .get(server.url("/fabric/api/flows"))
            .header("authorization", authorization);
        self.send(req).await.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_records_and_one_budget() {
    let stores = Stores::postgres("two-servers", true);
    let clock = TestClock::frozen(FROZEN_AT);
    let a = serve(&stores, &clock).await;
    let b = serve(&stores, &clock).await;
    let mut caller = Caller::new();

    // A key minted on A works on B.
    let (_, ann) = caller
        .login(&a, "ann@acme.example", "ann-demo-password")
        .await;
    let (status, kept) = caller.new_key(&a, &ann, "kept").await;
    assert_eq!(status, 201);
    assert_eq!(caller.flows(&b, &kept).await, 200, "minted on A, used on B");

    // A key revoked on A is refused on B at the next request.
    let (_, doomed) = caller.new_key(&a, &ann, "doomed").await;
    assert_eq!(caller.flows(&b, &doomed).await, 200);
    let id = caller.key_id(&a, &ann, "doomed").await;
    let revoke = a.url(&format!("/fabric/api/api-keys/{id}/revoke"));
    let req = caller.http.post(revoke).header("authorization", &ann);
    assert_eq!(caller.send(req).await.0, 200);
    assert_eq!(
        caller.flows(&b, &doomed).await,
        401,
        "revoked on A, refused on B"
    );

    // A token issued on B survives A's restart, and works on the new A.
    let (status, max) = caller
        .login(&b, "max@acme.example", "max-demo-password")
        .await;
    assert_eq!(status, 200);
    a.stop().await.unwrap();
    let a = serve(&stores, &clock).await;
    assert_eq!(
        caller.flows(&a, &max).await,
        200,
        "issued on B, used on a new A"
    );
    let spent_before = caller.spent;
    let audit_before = a.db().audit_count().await.unwrap();

    // One budget across both: 40 callers, half on each server, 1,000 requests in all;
    // exactly what is left of acme's burst is admitted, the rest get 429.
    const TASKS: usize = 40;
    const EACH: usize = 25;
    let urls = [a.url("/fabric/api/flows"), b.url("/fabric/api/flows")];
    let (total, admitted_by) =
        crate::fixture::spread(&caller.http, &urls, &kept, TASKS, EACH).await;
    let left = ACME_BURST - spent_before;
    assert_eq!(
        total,
        [left, TASKS * EACH - left, 0],
        "[200, 429, other] across both servers"
    );
    assert!(
        admitted_by[0] > 0 && admitted_by[1] > 0,
        "both servers admitted some: {admitted_by:?}"
    );
    let audit_after = b.db().audit_count().await.unwrap();
    assert_eq!(
        audit_after - audit_before,
        (TASKS * EACH) as u64,
        "one audit record per request, kept by either server, none lost"
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_redis_or_postgres_refuses_and_loses_nothing() {
    let mut stores = Stores::postgres("losing", true);
    let clock = TestClock::frozen(FROZEN_AT);
    let a = serve(&stores, &clock).await;
    let b = serve(&stores, &clock).await;
    let mut caller = Caller::new();
    let (_, ann) = caller
        .login(&a, "ann@acme.example", "ann-demo-password")
        .await;
    let (status, key) = caller.new_key(&a, &ann, "steady").await;
    assert_eq!(status, 201);

    // Redis killed: every request is refused (503), on both servers; nothing is let
    // through unlimited.
    stores.redis_mut().unwrap().kill();
    for server in [&a, &b, &a, &b] {
        assert_eq!(caller.flows(server, &key).await, 503, "Redis down: refused");
    }
    // Back (same data): the budget is where it was, not a fresh one.
    stores.redis_mut().unwrap().run();
    assert_eq!(
        caller.flows_once_back(&b, &key).await,
        200,
        "Redis back: served again"
    );
    while caller.spent < ACME_BURST {
        assert_eq!(caller.flows(&a, &key).await, 200);
    }
    assert_eq!(caller.flows(&a, &key).await, 429, "the burst is spent");
    stores.redis_mut().unwrap().kill();
    stores.redis_mut().unwrap().run();
    assert_eq!(
        caller.flows_once_back(&b, &key).await,
        429,
        "a Redis restart does not refill the budget"
    );
    let audit_before = a.db().audit_count().await.unwrap();

    // PostgreSQL crashes: logins and requests are refused (503), never allowed.
    stores.pg_mut().unwrap().crash();
    for server in [&a, &b] {
        assert_eq!(caller.flows(server, &key).await, 503, "PostgreSQL down");
        let (status, _) = caller
            .login(server, "max@acme.example", "max-demo-password")
            .await;
        assert_eq!(status, 503, "no token issued that could not be stored");
    }
    // Back: every record acknowledged before the crash is there.
    stores.pg_mut().unwrap().run();
    let mut audit_after = None;
    for _ in 0..50 {
        if let Ok(n) = b.db().audit_count().await {
            audit_after = Some(n);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(audit_after, Some(audit_before), "no audit record lost");
    assert_eq!(caller.flows(&a, &key).await, 429, "the key is still there");
    let (status, max) = caller
        .login(&b, "max@acme.example", "max-demo-password")
        .await;
    assert_eq!(status, 200, "logins work again");
    assert_eq!(
        caller.flows(&a, &max).await,
        429,
        "and share the spent budget"
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// The limiter's clock rule holds across servers: a server whose clock runs half an
/// hour fast charges the shared budget, and a server with the right time waits at most
/// one emission interval (a quarter second at 240 a minute: `Retry-After: 1`), not the
/// half hour. (Half an hour: ann's token, issued by the right clock, is still valid on
/// the fast one.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_clock_on_one_server_costs_the_other_one_interval() {
    let stores = Stores::postgres("fast-clock", true);
    let right = TestClock::frozen(FROZEN_AT);
    let fast = TestClock::frozen(FROZEN_AT + 1800);
    let a = serve(&stores, &fast).await;
    let b = serve(&stores, &right).await;
    let mut caller = Caller::new();
    let (_, ann) = caller
        .login(&b, "ann@acme.example", "ann-demo-password")
        .await;
    assert_eq!(
        caller.flows(&a, &ann).await,
        200,
        "charged half an hour ahead"
    );
    let r = caller
        .http
        .get(b.url("/fabric/api/flows"))
        .header("authorization", &ann)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.headers()["retry-after"],
        "1",
        "one interval, not half an hour"
    );
    right.advance(1);
    assert_eq!(caller.flows(&b, &ann).await, 200, "a second later");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// Two servers' limiters on `redis`, with one prefix.
async fn two_limiters(redis: &Redis) -> [RedisLimits; 2] {
    [
        RedisLimits::connect(&redis.url(), "t:").await.unwrap(),
        RedisLimits::connect(&redis.url(), "t:").await.unwrap(),
    ]
}

/// A charge of a company's budget under `quota` at `now`, as the guard makes it: the
/// core's `check_limit`, its new state kept.
fn charge(
    quota: Quota,
    now: OffsetDateTime,
) -> impl FnMut(&mut LimitState, Option<&mut LimitState>) -> LimitDecision + Send + 'static {
    move |state, _| {
        let (decision, next) = check_limit(*state, &quota, now);
        *state = next;
        decision
    }
}

/// The shared limiter decides exactly as the core does: two servers' limiters on one
/// Redis, 3,000 charges in a random order (which server, which of three companies, each
/// server's clock moving on its own, sometimes back), give the same decisions —
/// `Retry-After` included — as `check_limit` applied to one state per company in the
/// same order. This is what the remembered value (tried without a read) must not
/// change when the other server wrote in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_limiter_decides_as_the_core_does() {
    let redis = Redis::start();
    let servers = two_limiters(&redis).await;
    let companies = ["acme", "globex", "initech"].map(|c| CompanyId::new(c).unwrap());
    let quota = Quota::new(20, 10, 5).unwrap();
    let mut model = [LimitState::default(); 3];
    let mut clocks = [1_795_000_000_000i64; 2]; // milliseconds
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut allowed, mut denied) = (0, 0);
    for _ in 0..3_000 {
        let server = (next() % 2) as usize;
        let company = (next() % 3) as usize;
        // Mostly forward by up to 400 ms; one step in ten back by up to 2 s.
        let step = (next() % 400) as i64;
        clocks[server] += if next() % 10 == 0 { -5 * step } else { step };
        let now = OffsetDateTime::from_unix_timestamp_nanos(i128::from(clocks[server]) * 1_000_000)
            .unwrap();
        let got: LimitDecision = servers[server]
            .with_budget(&companies[company], None, charge(quota, now))
            .await
            .unwrap();
        let (expected, next_state) = check_limit(model[company], &quota, now);
        model[company] = next_state;
        assert_eq!(
            got, expected,
            "server {server}, company {company}, at {now}"
        );
        if got.is_allowed() {
            allowed += 1;
        } else {
            denied += 1;
        }
    }
    // The schedule exercised both answers, often.
    assert!(
        allowed > 500 && denied > 500,
        "{allowed} allowed, {denied} denied"
    );
}

/// Charges that arrive together are stored together, and each is still charged as if
/// alone: two servers' limiters on one Redis, 150 charges of one company on each at
/// once, all at one instant — exactly as many are admitted as `check_limit` admits
/// applied 300 times, the state left is the one it leaves, and the 300 charges took
/// far fewer compare-and-sets than 300 (a server stores the charges that queued while
/// its last compare-and-set was on its way with one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charges_made_at_once_share_round_trips_and_are_each_exact() {
    let redis = Redis::start();
    let servers = two_limiters(&redis).await;
    let acme = CompanyId::new("acme").unwrap();
    let quota = Quota::new(60, 60, 100).unwrap();
    let now = OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let server = servers[i % 2].clone();
        let acme = acme.clone();
        tasks.push(tokio::spawn(async move {
            server
                .with_budget(&acme, None, charge(quota, now))
                .await
                .unwrap()
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        if task.await.unwrap().is_allowed() {
            admitted += 1;
        }
    }
    let (mut model, mut expected) = (LimitState::default(), 0);
    for _ in 0..300 {
        let (decision, next) = check_limit(model, &quota, now);
        model = next;
        if decision.is_allowed() {
            expected += 1;
        }
    }
    assert_eq!(expected, 100, "the model admits the burst");
    assert_eq!(admitted, expected);
    let stored = servers[0]
        .with_budget(&acme, None, |state, _| *state)
        .await
        .unwrap();
    assert_eq!(
        stored, model,
        "the state left is the core's after 300 checks"
    );
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    let scripts: u64 = stats
        .lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert!(
        (1..=150).contains(&scripts),
        "{scripts} compare-and-sets for 300 charges"
    );
}

/// One server on a PostgreSQL and a Redis of the test's own, its clock frozen, and
/// ann (acme's administrator) logged in through it.
struct OneServer {
    stores: Stores,
    clock: TestClock,
    server: Running,
    caller: Caller,
    ann: String,
}

impl OneServer {
    async fn start(name: &str) -> OneServer {
        let stores = Stores::postgres(name, true);
        let clock = TestClock::frozen(FROZEN_AT);
        let server = serve(&stores, &clock).await;
        let caller = Caller::new();
        let (_, ann) = caller
            .login(&server, "ann@acme.example", "ann-demo-password")
            .await;
        OneServer {
            stores,
            clock,
            server,
            caller,
            ann,
        }
    }
}

/// What a server read of the records is used while Redis's generation says it is
/// current: a change made by a writer that tells Redis (another server, or `admin`
/// with `--redis`) is read at the next request; one made where Redis is not told
/// (`admin` without `--redis`) is read once what was kept is a second old by the
/// server's clock — and until then what was kept is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_server_keeps_is_used_while_the_generation_holds_for_a_second_at_most() {
    use pw_auth_core::ApiKeyId;
    use pw_auth_server::{AuditSync, REDIS_PREFIX, open_records};
    let OneServer {
        stores,
        clock,
        server: a,
        mut caller,
        ann,
    } = OneServer::start("generation").await;
    let (_, quiet_key) = caller.new_key(&a, &ann, "quiet").await;
    let (_, told_key) = caller.new_key(&a, &ann, "told").await;
    let quiet_id = ApiKeyId::new(&caller.key_id(&a, &ann, "quiet").await).unwrap();
    let told_id = ApiKeyId::new(&caller.key_id(&a, &ann, "told").await).unwrap();
    let acme = CompanyId::new("acme").unwrap();

    // Revoked where Redis is not told: the server uses what it read, for up to a
    // second, and then reads the revocation.
    assert_eq!(caller.flows(&a, &quiet_key).await, 200, "read and kept");
    let quiet = open_records(&stores.records(), None, AuditSync::Normal)
        .await
        .unwrap();
    let revoked = quiet
        .revoke_key(acme.clone(), quiet_id, clock.now())
        .await
        .unwrap();
    assert_eq!(revoked, Some(true));
    assert_eq!(
        caller.flows(&a, &quiet_key).await,
        200,
        "Redis not told: what was kept is used while it is under a second old"
    );
    clock.advance(1);
    assert_eq!(
        caller.flows(&a, &quiet_key).await,
        401,
        "a second old: read again"
    );

    // Revoked by a writer that tells Redis: refused at the next request.
    assert_eq!(caller.flows(&a, &told_key).await, 200, "read and kept");
    let redis = RedisLimits::connect(&stores.config().redis.unwrap(), REDIS_PREFIX)
        .await
        .unwrap();
    let told = quiet.with_records_generation(&redis, clock.shared());
    let revoked = told.revoke_key(acme, told_id, clock.now()).await.unwrap();
    assert_eq!(revoked, Some(true));
    assert_eq!(
        caller.flows(&a, &told_key).await,
        401,
        "Redis told: read at the next request"
    );
    // The generation is where `docs/scaling.md` says, under the deployment's prefix.
    let client = redis::Client::open(stores.config().redis.unwrap()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let generation: Option<u64> = redis::cmd("GET")
        .arg(format!("{REDIS_PREFIX}records-generation"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(generation.is_some(), "bumped by every change");
    a.stop().await.unwrap();
}

/// `admin` on PostgreSQL with `--redis` tells the servers of its change: a company
/// disabled from the command line is refused at the next request of a server that
/// had read its key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_command_told_of_redis_is_read_at_the_next_request() {
    let OneServer {
        stores,
        server: a,
        mut caller,
        ann,
        ..
    } = OneServer::start("admin-generation").await;
    let (_, key) = caller.new_key(&a, &ann, "k").await;
    assert_eq!(caller.flows(&a, &key).await, 200, "read and kept");
    let postgres = stores.postgres_url().unwrap().to_owned();
    let redis = stores.config().redis.unwrap();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_pw-auth-server"))
            .args(["admin", "--postgres", &postgres, "--redis", &redis])
            .args(["disable-company", "acme"])
            .env_remove("PW_AUTH_POSTGRES_URL")
            .env_remove("PW_AUTH_REDIS_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        caller.flows(&a, &key).await,
        401,
        "disabled from the command line, refused at the next request"
    );
    a.stop().await.unwrap();
}
