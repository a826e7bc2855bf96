//! TLS to PostgreSQL and to Redis, for real: a CA and server certificates made by the
//! test (rcgen), a PostgreSQL that accepts TCP only over TLS (`hostssl`) and a Redis
//! that speaks TLS only, both started by the test on loopback. The server connects,
//! verifying the certificate against the named CA; it refuses a certificate from an
//! unknown CA and one for another host name.

use std::path::PathBuf;

use crate::services::{self, Pg, Redis};
use pw_auth_server::{Chain, Config, RecordsAt, Running, start};
use rcgen::{CertificateParams, CertifiedIssuer, KeyPair, SanType};

/// A CA, and server certificates it signed.
struct Pki {
    dir: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pw-auth test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Pki {
            dir: services::temp_dir("pki"),
            ca,
        }
    }

    /// The CA's certificate, as a PEM file.
    fn ca_file(&self) -> PathBuf {
        let path = self.dir.join("ca.pem");
        std::fs::write(&path, self.ca.pem()).unwrap();
        path
    }

    /// A server certificate and key (PEM) for `names` (IP addresses or DNS names).
    fn server(&self, names: &[&str]) -> (String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*n).try_into().unwrap()),
            })
            .collect();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn on(url: String, redis: Option<String>, ca: Option<PathBuf>) -> Config {
    let mut c = Config::on(RecordsAt::Postgres(url), "127.0.0.1:0".parse().unwrap());
    c.redis = redis;
    c.tls_ca = ca;
    c.seed_demo = true;
    c
}

/// A login, a key made with its token, and a request with the key: the records and
/// the budget both went through.
async fn works(server: &Running) {
    let http = reqwest::Client::new();
    let r = http
        .post(server.url("/fabric/api/login"))
        .json(&serde_json::json!({"username": "ann@acme.example", "password": "ann-demo-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let r = http
        .get(server.url("/fabric/api/flows"))
        .header(
            "authorization",
            format!("Bearer {}", v["token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("ratelimit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_is_verified() {
    let pki = Pki::new();
    let (cert, key) = pki.server(&["127.0.0.1", "localhost"]);
    let pg = Pg::start_tls(&cert, &key);
    let url = format!("{}?sslmode=require", pg.database());
    let server = start(on(url.clone(), None, Some(pki.ca_file())))
        .await
        .unwrap();
    works(&server).await;
    server.stop().await.unwrap();
    // Plaintext is refused by this PostgreSQL (hostssl only): TLS was really used.
    let plain = format!("{}?sslmode=disable", pg.database());
    let e = start(on(plain, None, Some(pki.ca_file())))
        .await
        .unwrap_err();
    let e = Chain(&e).to_string();
    assert!(e.contains("db error"), "{e}");
    // The system's roots do not hold the test's CA: refused.
    let e = start(on(url.clone(), None, None)).await.unwrap_err();
    let e = Chain(&e).to_string();
    assert!(e.contains("TLS handshake"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_certificate_for_another_name_is_refused() {
    let pki = Pki::new();
    let (cert, key) = pki.server(&["db.example"]);
    let pg = Pg::start_tls(&cert, &key);
    let url = format!("{}?sslmode=require", pg.database());
    let e = start(on(url, None, Some(pki.ca_file()))).await.unwrap_err();
    let e = Chain(&e).to_string();
    assert!(e.contains("TLS handshake"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_over_tls_is_verified() {
    let pki = Pki::new();
    let (cert, key) = pki.server(&["127.0.0.1"]);
    let pg = Pg::start_tls(&cert, &key);
    let url = format!("{}?sslmode=require", pg.database());
    let redis = Redis::start_tls(&cert, &key);
    assert!(redis.url().starts_with("rediss://"));
    let server = start(on(url.clone(), Some(redis.url()), Some(pki.ca_file())))
        .await
        .unwrap();
    works(&server).await;
    server.stop().await.unwrap();
    // Another CA: the Redis certificate is refused.
    let other = Pki::new();
    let other_ca = other.ca_file();
    let mut config = on(url, Some(redis.url()), Some(other_ca));
    // PostgreSQL would fail first with the other CA; give it a plaintext-free path by
    // keeping its records on SQLite.
    config.records = RecordsAt::Sqlite(pki.dir.join("records.sqlite"));
    let e = start(config).await.unwrap_err();
    let e = Chain(&e).to_string();
    assert!(e.contains("invalid peer certificate"), "{e}");
}
