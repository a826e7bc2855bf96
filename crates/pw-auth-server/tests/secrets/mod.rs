//! The whole-server scenarios of the memcheck tests: a login, then a key created with
//! its token, over loopback against a server in a runtime of its own, with a needle
//! armed in the scanning allocator from the first request to the runtime's end. The
//! client writes from static bytes or stack buffers and reads into stack buffers, so
//! only the server's (and hyper's) frees can hold a secret.
//!
//! The token and the key are not known before they are issued, so
//! [`issued_secrets_in_freed_blocks`] runs the scenario three times on fresh servers
//! with the same frozen clock and the same random bytes: the first run learns the
//! secrets (with the password armed), the next two are armed with them.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use pw_auth_memcheck::freed_block_sizes_holding;
use pw_auth_server::{Config, RecordsAt, start};
use time::OffsetDateTime;

use crate::temp_dir::temp_dir;

pub(crate) const PASSWORD: &[u8] = b"ann-demo-password";
/// A login that asks the server to close the connection after answering.
pub(crate) const CLOSING: &[u8] = b"POST /fabric/api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 62\r\nConnection: close\r\n\r\n{\"username\":\"ann@acme.example\",\"password\":\"ann-demo-password\"}";
/// The same login on a connection kept alive: hyper keeps its read buffer (which the
/// body was a slice of) until the server shuts down.
pub(crate) const KEPT_ALIVE: &[u8] = b"POST /fabric/api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 62\r\n\r\n{\"username\":\"ann@acme.example\",\"password\":\"ann-demo-password\"}";

/// One scenario at a time in a test binary, from its server's start to its end: the
/// scanner counts blocks freed by any thread, and a server starting beside an armed
/// run (seeding the demo users hashes their passwords) would be counted with it.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A server on a fresh database in its own runtime, with a frozen clock and random
/// bytes that are the same on every run with the same `seed`: byte `n` of the `k`-th
/// draw is `seed + k * 31 + n`. The two scenarios use different seeds, so that what one
/// leaves behind is never the secret the other is armed with.
fn server(
    dir: &std::path::Path,
    seed: u8,
    adjust: impl FnOnce(&mut Config),
) -> (tokio::runtime::Runtime, pw_auth_server::Running) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = Config::on(
        RecordsAt::Sqlite(dir.join("records.sqlite")),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.seed_demo = true;
    let now = OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
    config.clock = Arc::new(move || now);
    let draws = AtomicU8::new(0);
    config.random = Arc::new(move || {
        let k = draws.fetch_add(1, Ordering::SeqCst);
        let mut b = [0u8; 32];
        for (n, byte) in (0u8..).zip(b.iter_mut()) {
            *byte = seed.wrapping_add(k.wrapping_mul(31)).wrapping_add(n);
        }
        Ok(b)
    });
    adjust(&mut config);
    let running = runtime.block_on(start(config)).unwrap();
    (runtime, running)
}

/// Reads one answer (a JSON object) from `s` into `buf`; returns its length.
fn read_answer(s: &mut std::net::TcpStream, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while !buf[..got].ends_with(b"}") {
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}

/// The string value of `"field":"…"` in `answer`, as a slice of it (no copy).
pub(crate) fn field<'a>(answer: &'a [u8], field: &[u8]) -> &'a [u8] {
    let at = answer
        .windows(field.len())
        .position(|w| w == field)
        .unwrap_or_else(|| {
            panic!(
                "no {} in {}",
                String::from_utf8_lossy(field),
                String::from_utf8_lossy(answer)
            )
        });
    let rest = &answer[at + field.len()..];
    let end = rest.iter().position(|&b| b == b'"').unwrap();
    &rest[..end]
}

/// Logs in with `request` and stops the server, all with the password armed; returns
/// the answer and the sizes of the freed blocks that held the password. With
/// `abort`, the server stops with no grace: connections still open are aborted.
pub(crate) fn log_in_and_stop(
    kind: &str,
    request: &'static [u8],
    abort: bool,
) -> (String, Vec<usize>) {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = temp_dir(kind);
    let (runtime, server) = server(&dir, 128, |c| {
        if abort {
            c.connections.shutdown_grace = std::time::Duration::ZERO;
        }
    });
    let addr = server.addr();
    let mut answer = [0u8; 4096];
    let mut got = 0;
    // Everything the server frees from the request on is scanned: the exchange, then
    // its shutdown and the runtime's, so a block freed late is not missed.
    let found = freed_block_sizes_holding(PASSWORD, || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(request).unwrap();
        got = read_answer(&mut s, &mut answer);
        runtime.block_on(server.stop()).unwrap();
        drop(runtime);
        drop(s);
    });
    let _ = std::fs::remove_dir_all(&dir);
    (String::from_utf8_lossy(&answer[..got]).into_owned(), found)
}

/// Logs in (the connection kept alive), creates a key with the token on a second
/// connection and stops the server, with `needle` armed from the first request on;
/// returns both answers and the sizes of the freed blocks that held `needle`.
pub(crate) fn log_in_create_a_key_and_stop(kind: &str, needle: &[u8]) -> ([String; 2], Vec<usize>) {
    const KEY_BODY: &[u8] = br#"{"label":"memcheck"}"#;
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = temp_dir(kind);
    let (runtime, server) = server(&dir, 0, |_| {});
    let addr = server.addr();
    let mut login = [0u8; 4096];
    let mut created = [0u8; 4096];
    let (mut got_login, mut got_created) = (0, 0);
    let found = freed_block_sizes_holding(needle, || {
        let mut first = std::net::TcpStream::connect(addr).unwrap();
        first.write_all(KEPT_ALIVE).unwrap();
        got_login = read_answer(&mut first, &mut login);
        let token = field(&login[..got_login], br#""token":""#);
        // The key request, written into a stack buffer.
        let mut request = [0u8; 1024];
        let mut w = &mut request[..];
        write!(
            w,
            "POST /fabric/api/api-keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nAuthorization: Bearer ",
            KEY_BODY.len()
        )
        .unwrap();
        w.write_all(token).unwrap();
        w.write_all(b"\r\n\r\n").unwrap();
        w.write_all(KEY_BODY).unwrap();
        let len = 1024 - w.len();
        let mut second = std::net::TcpStream::connect(addr).unwrap();
        second.write_all(&request[..len]).unwrap();
        got_created = read_answer(&mut second, &mut created);
        request.fill(0);
        runtime.block_on(server.stop()).unwrap();
        drop(runtime);
        drop((first, second));
    });
    let _ = std::fs::remove_dir_all(&dir);
    let answers = [
        String::from_utf8_lossy(&login[..got_login]).into_owned(),
        String::from_utf8_lossy(&created[..got_created]).into_owned(),
    ];
    (answers, found)
}

/// The sizes of the freed blocks that held the password, the token and the key in a
/// login and a key creation (each run armed with one of them).
pub(crate) struct Found {
    pub(crate) password: Vec<usize>,
    pub(crate) token: Vec<usize>,
    pub(crate) key: Vec<usize>,
}

/// Learns the token and the key in a first run, then finds the blocks holding each
/// in a run of its own; see the module's documentation.
pub(crate) fn issued_secrets_in_freed_blocks() -> Found {
    let ([login, created], password) = log_in_create_a_key_and_stop("memcheck-learn", PASSWORD);
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let token = field(login.as_bytes(), br#""token":""#).to_vec();
    let key = field(created.as_bytes(), br#""key":""#).to_vec();
    let mut found = [Vec::new(), Vec::new()];
    for (n, (name, secret)) in [(&br#""token":""#[..], &token), (&br#""key":""#[..], &key)]
        .into_iter()
        .enumerate()
    {
        let (answers, sizes) = log_in_create_a_key_and_stop("memcheck-secret", secret);
        // The same random bytes and clock: the same secret issued again.
        let again = field(answers[n].as_bytes(), name);
        assert_eq!(again, &secret[..], "the secret was issued again");
        found[n] = sizes;
    }
    let [token, key] = found;
    Found {
        password,
        token,
        key,
    }
}
