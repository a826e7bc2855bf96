//! What every server test starts from: its records ([`Stores`]: a private SQLite file,
//! or a PostgreSQL and a Redis of its own), a clock it moves ([`TestClock`]), and a
//! demo-seeded server on 127.0.0.1:0 with them ([`Fixture`]), plus the calls most tests
//! make first (ann logs in, ann makes a key).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use pw_auth_core::Password;
use pw_auth_http::SessionConfig;
use pw_auth_reqwest::AuthClient;
use pw_auth_server::{Config, RecordsAt, Running, start};
use time::OffsetDateTime;

use crate::services::{self, Pg, Redis};

/// Which store a test runs on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
    /// PostgreSQL with Redis for the budgets and the records' generation (each server
    /// keeping what it read: `db/shared.rs`).
    PostgresRedis,
}

/// A test's records: a private directory (removed when dropped) holding a SQLite file,
/// or a PostgreSQL database (and a Redis for the budgets) of the test's own, stopped
/// when dropped.
pub(crate) struct Stores {
    dir: PathBuf,
    pg: Option<(Pg, String)>,
    redis: Option<Redis>,
}

impl Stores {
    /// A SQLite file in a private directory.
    pub(crate) fn sqlite(name: &str) -> Stores {
        Stores {
            dir: services::temp_dir(name),
            pg: None,
            redis: None,
        }
    }

    /// A PostgreSQL of the test's own, and a Redis for the budgets if `with_redis`.
    pub(crate) fn postgres(name: &str, with_redis: bool) -> Stores {
        let pg = Pg::start();
        let url = pg.database();
        Stores {
            dir: services::temp_dir(name),
            pg: Some((pg, url)),
            redis: with_redis.then(Redis::start),
        }
    }

    /// The records on `backend` (PostgreSQL without Redis).
    pub(crate) fn on(backend: Backend, name: &str) -> Stores {
        match backend {
            Backend::Sqlite => Stores::sqlite(name),
            Backend::Postgres => Stores::postgres(name, false),
            Backend::PostgresRedis => Stores::postgres(name, true),
        }
    }

    /// The test's private directory (the SQLite file's).
    pub(crate) fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The SQLite file (made by the first server started on it).
    pub(crate) fn sqlite_path(&self) -> PathBuf {
        self.dir.join("records.sqlite")
    }

    /// The PostgreSQL database's URL, if the records are there.
    pub(crate) fn postgres_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|(_, url)| url.as_str())
    }

    /// The PostgreSQL instance, if the records are there (to crash or restart it).
    pub(crate) fn pg_mut(&mut self) -> Option<&mut Pg> {
        self.pg.as_mut().map(|(pg, _)| pg)
    }

    /// Whether the budgets are on Redis.
    pub(crate) fn has_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// The Redis instance, if the budgets are there.
    pub(crate) fn redis_mut(&mut self) -> Option<&mut Redis> {
        self.redis.as_mut()
    }

    /// Where a server finds these records.
    pub(crate) fn records(&self) -> RecordsAt {
        match self.postgres_url() {
            Some(url) => RecordsAt::Postgres(url.to_owned()),
            None => RecordsAt::Sqlite(self.sqlite_path()),
        }
    }

    /// A server's configuration on these records, its budgets on Redis if there is
    /// one, seeded with the demo records (on a fresh store), at real time.
    pub(crate) fn config(&self) -> Config {
        let mut c = Config::on(self.records(), "127.0.0.1:0".parse().unwrap());
        c.redis = self.redis.as_ref().map(Redis::url);
        c.seed_demo = true;
        c
    }

    /// [`Stores::config`] on `clock`.
    pub(crate) fn config_on(&self, clock: &TestClock) -> Config {
        let mut c = self.config();
        c.clock = clock.shared();
        c
    }

    /// The first column of what `sql` selects, read straight from the store.
    pub(crate) async fn texts(&self, sql: &str) -> Vec<String> {
        match self.postgres_url() {
            None => {
                let conn = rusqlite::Connection::open(self.sqlite_path()).unwrap();
                let mut q = conn.prepare(sql).unwrap();
                q.query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            Some(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                let rows = client.query(sql, &[]).await.unwrap();
                rows.iter().map(|r| r.get(0)).collect()
            }
        }
    }
}

impl Drop for Stores {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A clock the test moves: real time plus an offset, or frozen at a fixed instant
/// (then the budgets never refill unless the test says so).
#[derive(Clone, Default)]
pub(crate) struct TestClock {
    offset_secs: Arc<AtomicI64>,
    frozen_unix: Arc<AtomicI64>,
}

/// The instant frozen clocks start at.
pub(crate) const FROZEN_AT: i64 = 1_795_000_000;

impl TestClock {
    /// A clock frozen at `at` (Unix seconds).
    pub(crate) fn frozen(at: i64) -> TestClock {
        let c = TestClock::default();
        c.frozen_unix.store(at, Ordering::SeqCst);
        c
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        let frozen = self.frozen_unix.load(Ordering::SeqCst);
        let base = if frozen != 0 {
            OffsetDateTime::from_unix_timestamp(frozen).unwrap()
        } else {
            OffsetDateTime::now_utc()
        };
        base + time::Duration::seconds(self.offset_secs.load(Ordering::SeqCst))
    }

    /// Moves the clock `secs` seconds on.
    pub(crate) fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }

    /// The clock as a server or a client reads it.
    pub(crate) fn shared(&self) -> Arc<dyn Fn() -> OffsetDateTime + Send + Sync> {
        let c = self.clone();
        Arc::new(move || c.now())
    }
}

/// A test's records, its clock, and a server on them.
pub(crate) struct Fixture {
    pub(crate) stores: Stores,
    pub(crate) clock: TestClock,
    pub(crate) server: Running,
}

impl Fixture {
    /// A server on fresh records on `backend`, on a clock at real time.
    pub(crate) async fn start(backend: Backend, name: &str) -> Fixture {
        Fixture::with(Stores::on(backend, name), TestClock::default(), |_| {}).await
    }

    /// A server on `stores` and `clock`, its configuration changed by `adjust` first.
    pub(crate) async fn with(
        stores: Stores,
        clock: TestClock,
        adjust: impl FnOnce(&mut Config),
    ) -> Fixture {
        let mut config = stores.config_on(&clock);
        adjust(&mut config);
        let server = start(config).await.unwrap();
        Fixture {
            stores,
            clock,
            server,
        }
    }

    /// Stops the server; the records and the clock stay, to start another on.
    pub(crate) async fn stop(self) -> (Stores, TestClock) {
        self.server.stop().await.unwrap();
        (self.stores, self.clock)
    }

    /// The URL of `path` on the server.
    pub(crate) fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// ann (acme's admin) as the reqwest adapter's client, on the test's clock.
    pub(crate) fn ann(&self) -> AuthClient {
        ann(&self.server, &self.clock)
    }

    /// An API key `client` creates, labelled `label`.
    pub(crate) async fn key(&self, client: &AuthClient, label: &str) -> String {
        let url = self.url("/fabric/api/api-keys");
        let body = format!(r#"{{"label": "{label}"}}"#);
        let r = client
            .send(|http| {
                http.post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
            })
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: serde_json::Value = r.json().await.unwrap();
        v["key"].as_str().unwrap().to_owned()
    }
}

impl Fixture {
    /// The id of the key labelled `label` in the listing `client` is shown.
    pub(crate) async fn key_id(&self, client: &AuthClient, label: &str) -> String {
        let list: serde_json::Value = client
            .send(|h| h.get(self.url("/fabric/api/api-keys")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["label"] == label);
        key.unwrap()["id"].as_str().unwrap().to_owned()
    }
}

/// ann (acme's admin) on `server` as the reqwest adapter's client, on `clock`.
pub(crate) fn ann(server: &Running, clock: &TestClock) -> AuthClient {
    AuthClient::with_password(
        reqwest::Client::new(),
        &server.url("/fabric/api/login"),
        "ann@acme.example",
        Password::new("ann-demo-password".to_owned()).unwrap(),
        SessionConfig::default(),
    )
    .unwrap()
    .with_clock(clock.shared())
}

/// A login with `user` and `password` as raw JSON.
pub(crate) async fn login(
    http: &reqwest::Client,
    server: &Running,
    user: &str,
    password: &str,
) -> reqwest::Response {
    http.post(server.url("/fabric/api/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
}

/// `Bearer <token>` from a login with `user` and `password`, which must succeed.
pub(crate) async fn bearer(
    http: &reqwest::Client,
    server: &Running,
    user: &str,
    password: &str,
) -> String {
    let r = login(http, server, user, password).await;
    assert_eq!(r.status(), 200, "{user} logs in");
    let v: serde_json::Value = r.json().await.unwrap();
    format!("Bearer {}", v["token"].as_str().unwrap())
}

/// A bearer token for ann (`Bearer …`), and an API key she created, over raw HTTP.
pub(crate) async fn ann_token_and_key(server: &Running) -> (String, String) {
    let http = reqwest::Client::new();
    let token = bearer(&http, server, "ann@acme.example", "ann-demo-password").await;
    let r = http
        .post(server.url("/fabric/api/api-keys"))
        .header("authorization", &token)
        .header("content-type", "application/json")
        .body(r#"{"label": "hostile"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    (token, v["key"].as_str().unwrap().to_owned())
}

/// `method` on `path` with the `Authorization` value `who` and an optional JSON body:
/// the status, and the answer as JSON (`null` when it is not).
pub(crate) async fn send(
    http: &reqwest::Client,
    f: &Fixture,
    who: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut r = http
        .request(method, f.url(path))
        .header("authorization", who);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// `tasks` callers, each sending `each` `GET`s of `url[task % urls.len()]` with the
/// `Authorization` value `key` at once: how many answers were 200, 429 and anything
/// else, and how many 200s each URL gave.
pub(crate) async fn spread(
    http: &reqwest::Client,
    urls: &[String],
    key: &str,
    tasks: usize,
    each: usize,
) -> ([usize; 3], Vec<usize>) {
    let n = urls.len();
    let mut running = Vec::new();
    for t in 0..tasks {
        let (http, url, key) = (http.clone(), urls[t % n].clone(), key.to_owned());
        running.push(tokio::spawn(async move {
            let mut counts = [0usize; 3];
            for _ in 0..each {
                let r = http
                    .get(&url)
                    .header("authorization", &key)
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    200 => counts[0] += 1,
                    429 => counts[1] += 1,
                    _ => counts[2] += 1,
                }
            }
            (t % n, counts)
        }));
    }
    let mut total = [0usize; 3];
    let mut admitted_by = vec![0usize; n];
    for task in running {
        let (server, counts) = task.await.unwrap();
        admitted_by[server] += counts[0];
        for (sum, n) in total.iter_mut().zip(counts) {
            *sum += n;
        }
    }
    (total, admitted_by)
}
