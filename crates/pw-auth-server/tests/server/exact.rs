//! What the fast path must not weaken (`db/batch.rs`, `db/local.rs`): a change made
//! through the API is seen by the very next request however warm the records are; an
//! answered request's audit record and budget charge are on disk when it is answered;
//! a SQLite file has one server.

use pw_auth_core::Tier;
use pw_auth_server::{AuditSync, Config, RecordsAt, start};

use crate::fixture::{Backend, FROZEN_AT, Fixture, Stores, TestClock, bearer};

on_both_stores!(
    changes_are_seen_by_the_next_request_however_warm,
    a_credentials_lookup_reads_its_user_grants_and_deletion,
);

/// The same on PostgreSQL with Redis, where each server keeps what it read under the
/// records' generation (`db/shared.rs`).
mod postgres_redis {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changes_are_seen_by_the_next_request_however_warm() {
        super::changes_are_seen_by_the_next_request_however_warm(super::Backend::PostgresRedis)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_credentials_lookup_reads_its_user_grants_and_deletion() {
        super::a_credentials_lookup_reads_its_user_grants_and_deletion(
            super::Backend::PostgresRedis,
        )
        .await;
    }
}

/// `GET /fabric/api/flows` with `authorization`; its status.
async fn flows(fx: &Fixture, http: &reqwest::Client, authorization: &str) -> u16 {
    http.get(fx.url("/fabric/api/flows"))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Revoking a key, deleting one and logging out each answer, and the next request
/// with that credential — sent after the answer, on a warm server — is refused: the
/// records kept in memory were forgotten before the change was answered.
async fn changes_are_seen_by_the_next_request_however_warm(backend: Backend) {
    let fx = Fixture::start(backend, "warm").await;
    let admin = fx.ann();
    let http = reqwest::Client::new();
    let revoked = fx.key(&admin, "revoked").await;
    let deleted = fx.key(&admin, "deleted").await;
    let token = bearer(&http, &fx.server, "max@acme.example", "max-demo-password").await;
    // Warm: each credential and its company read, and read again.
    for credential in [&revoked, &deleted, &token] {
        for _ in 0..3 {
            assert_eq!(flows(&fx, &http, credential).await, 200);
        }
    }
    let revoked_id = fx.key_id(&admin, "revoked").await;
    let deleted_id = fx.key_id(&admin, "deleted").await;

    let revoke = fx.url(&format!("/fabric/api/api-keys/{revoked_id}/revoke"));
    assert_eq!(admin.send(|h| h.post(&revoke)).await.unwrap().status(), 200);
    assert_eq!(
        flows(&fx, &http, &revoked).await,
        401,
        "revoked: refused at once"
    );

    let delete = fx.url(&format!("/fabric/api/api-keys/{deleted_id}"));
    assert_eq!(
        admin.send(|h| h.delete(&delete)).await.unwrap().status(),
        204
    );
    assert_eq!(
        flows(&fx, &http, &deleted).await,
        401,
        "deleted: refused at once"
    );

    let logout = http
        .post(fx.url("/fabric/api/logout"))
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(
        flows(&fx, &http, &token).await,
        401,
        "logged out: refused at once"
    );

    // A token issued after the warm-up is found too (nothing stale is kept for it).
    let fresh = bearer(&http, &fx.server, "max@acme.example", "max-demo-password").await;
    assert_eq!(flows(&fx, &http, &fresh).await, 200);
    fx.stop().await;
}

/// The failures named in the audit log, newest last.
async fn failures(fx: &Fixture) -> Vec<String> {
    fx.server
        .db()
        .audit_records()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| r["reason"]["failure"].as_str().map(str::to_owned))
        .collect()
}

/// One lookup reads a credential's record, its user, that user's grants, and whether
/// a key with that digest was deleted: max (a manager with a grant for acme-eu) acts
/// in acme-eu, ann (no grant) may not, an api-user (a key's, never granted) may not;
/// a deleted key is told apart from one never made.
async fn a_credentials_lookup_reads_its_user_grants_and_deletion(backend: Backend) {
    let fx = Fixture::start(backend, "lookup").await;
    let http = reqwest::Client::new();
    let max = bearer(&http, &fx.server, "max@acme.example", "max-demo-password").await;
    let ann = bearer(&http, &fx.server, "ann@acme.example", "ann-demo-password").await;
    let admin = fx.ann();
    let key = fx.key(&admin, "lookup").await;
    let in_eu = |authorization: String| {
        let http = http.clone();
        let url = fx.url("/fabric/api/flows");
        async move {
            http.get(url)
                .header("authorization", authorization)
                .header("x-company", "acme-eu")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Twice each: the second read may come from memory, and must agree.
    for _ in 0..2 {
        assert_eq!(
            in_eu(max.clone()).await,
            200,
            "max holds a grant for acme-eu"
        );
        assert_eq!(in_eu(ann.clone()).await, 403, "ann holds none");
        assert_eq!(in_eu(key.clone()).await, 403, "nor does an api-user");
        assert_eq!(flows(&fx, &http, &max).await, 200, "max in his own company");
    }
    // The records carry their user's company, read in the same statement, and a
    // changed tier is read by the next lookup (the cache forgotten at the change).
    let digest = pw_auth_http::parse_authorization(key.as_bytes())
        .unwrap()
        .digest();
    let company = || async {
        let loaded = pw_auth_axum::AuthStore::load(fx.server.db(), &digest)
            .await
            .unwrap();
        loaded.company.clone().map(|c| (c.tier, c.parent))
    };
    assert_eq!(company().await, Some((Tier::Professional, None)));
    let acme = pw_auth_core::CompanyId::new("acme").unwrap();
    assert!(
        fx.server
            .db()
            .set_tier(acme, Tier::Enterprise)
            .await
            .unwrap()
    );
    assert_eq!(company().await, Some((Tier::Enterprise, None)));

    let id = fx.key_id(&admin, "lookup").await;
    let delete = fx.url(&format!("/fabric/api/api-keys/{id}"));
    assert_eq!(
        admin.send(|h| h.delete(&delete)).await.unwrap().status(),
        204
    );
    assert_eq!(flows(&fx, &http, &key).await, 401);
    assert_eq!(failures(&fx).await.last().unwrap(), "deleted");
    // A well-formed key that was never stored: unknown, not deleted.
    let never = pw_auth_core::mint_api_key(
        &pw_auth_core::CompanyId::new("acme").unwrap(),
        pw_auth_core::KeyLabel::new("never stored").unwrap(),
        &std::array::from_fn::<u8, 32, _>(|i| (i as u8).wrapping_mul(37).wrapping_add(11)),
        fx.clock.now(),
    )
    .unwrap();
    assert_eq!(flows(&fx, &http, never.key.expose_secret()).await, 401);
    assert_eq!(failures(&fx).await.last().unwrap(), "unknown");
    fx.stop().await;
}

/// Copies the SQLite file and its write-ahead log from `from` into `to`: what is on
/// disk at this instant, as a crash would leave it.
fn copy_on_disk(from: &std::path::Path, to: &std::path::Path) {
    for suffix in ["", "-wal"] {
        let name = format!("records.sqlite{suffix}");
        if from.join(&name).exists() {
            std::fs::copy(from.join(&name), to.join(&name)).unwrap();
        }
    }
}

/// Every answered request's audit record and budget charge are on disk when it is
/// answered, in both sync modes: the file as a crash would leave it right after the
/// answers holds every record, and a server started on that copy admits exactly what
/// is left of the budget — no charge given back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_request_is_on_disk_with_its_charge() {
    for sync in [AuditSync::Normal, AuditSync::Full] {
        let fx = Fixture::with(
            Stores::sqlite("durable"),
            TestClock::frozen(FROZEN_AT),
            |c| {
                c.audit_sync = sync;
                // 100 connections from one address at once: over the default cap.
                c.connections.max_connections_per_client = 1024;
            },
        )
        .await;
        let admin = fx.ann();
        let key = fx.key(&admin, "durable").await;
        let http = reqwest::Client::new();
        let audit_before = fx.stores.texts("SELECT record FROM audit").await.len();
        // 100 answered at once (they share commits), then the copy.
        let mut answers = Vec::new();
        for _ in 0..100 {
            let (http, url, key) = (http.clone(), fx.url("/fabric/api/flows"), key.clone());
            answers.push(tokio::spawn(async move {
                http.get(url)
                    .header("authorization", key)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        for a in answers {
            assert_eq!(a.await.unwrap(), 200, "{sync:?}");
        }
        let audit_after = fx.stores.texts("SELECT record FROM audit").await.len();
        assert_eq!(
            audit_after - audit_before,
            100,
            "{sync:?}: every record on disk"
        );

        let crashed = Stores::sqlite("durable-copy");
        copy_on_disk(fx.stores.dir(), crashed.dir());
        let (stores, clock) = fx.stop().await;
        drop(stores);
        let fx = Fixture::with(crashed, clock, |_| {}).await;
        // acme's 240 a minute, the clock frozen: the key's creation and the 100 are
        // spent; exactly 139 more are admitted.
        let mut admitted = 0;
        for _ in 0..150 {
            match flows(&fx, &http, &key).await {
                200 => admitted += 1,
                429 => {}
                other => panic!("{sync:?}: {other}"),
            }
        }
        assert_eq!(admitted, 139, "{sync:?}: no charge given back by the crash");
        fx.stop().await;
    }
}

/// One server per SQLite file: a second one on the same file is refused at start
/// (its budgets and the records it keeps in memory would go stale), and starts once
/// the first has stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_one_sqlite_file_is_refused() {
    let stores = Stores::sqlite("one-server");
    let first = start(stores.config()).await.unwrap();
    let second = Config::on(
        RecordsAt::Sqlite(stores.sqlite_path()),
        "127.0.0.1:0".parse().unwrap(),
    );
    let e = start(second.clone()).await.unwrap_err();
    assert!(e.to_string().contains("open in another server"), "{e}");
    first.stop().await.unwrap();
    let second = start(second).await.unwrap();
    second.stop().await.unwrap();
}
