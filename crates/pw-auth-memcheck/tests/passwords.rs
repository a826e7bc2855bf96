//! No freed heap block holds a password after a login body is read or written, on
//! every path: accepted, and refused for each reason. Before the body reader was
//! written for it, `LoginRequest::parse` left the password in freed memory when the
//! username was missing, a field unknown, repeated or of the wrong type, or the
//! password held `\u` escapes; `to_json` did for a body over ~100 bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use pw_auth_core::Password;
use pw_auth_http::{LoginRequest, LoginResponse, Session, SessionConfig};
use pw_auth_memcheck::{Scanning, freed_block_sizes_holding, freed_blocks_holding};

#[global_allocator]
static ALLOC: Scanning = Scanning;

/// The password, as it appears decoded in memory.
const SECRET: &[u8] = b"Tr0ub4dor&3-correct-horse";

/// Bodies holding the password (static bytes: the test's own data is not on the heap).
const BODIES: &[&[u8]] = &[
    br#"{"username":"ann","password":"Tr0ub4dor&3-correct-horse"}"#,
    br#"{"password":"Tr0ub4dor&3-correct-horse"}"#,
    br#"{"username":"ann","password":"Tr0ub4dor&3-correct-horse","remember":true}"#,
    br#"{"username":"ann","password":"Tr0ub4dor&3-correct-horse","password":"x"}"#,
    br#"{"username":"ann","password":"x","password":"Tr0ub4dor&3-correct-horse"}"#,
    br#"{"username":1,"password":"Tr0ub4dor&3-correct-horse"}"#,
    br#"{"username":"ann","password":["Tr0ub4dor&3-correct-horse"]}"#,
    br#"{"username":"ann","password":"Tr0ub4dor\u00263-correct-horse"}"#,
    br#"{"username":"ann","password":"Tr0ub4dor&3-correct-horse"} trailing"#,
    br#"{"username":"","password":"Tr0ub4dor&3-correct-horse"}"#,
    br#"{"Tr0ub4dor&3-correct-horse":"ann"}"#,
];

#[test]
fn reading_login_bodies_leaves_no_password_in_freed_memory() {
    for body in BODIES {
        let found = freed_blocks_holding(SECRET, || {
            let parsed = LoginRequest::parse(body);
            drop(std::hint::black_box(parsed));
        });
        assert_eq!(found, 0, "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn writing_login_bodies_leaves_no_password_in_freed_memory() {
    // Long enough that a growing buffer would have reallocated several times.
    let found = freed_blocks_holding(SECRET, || {
        let mut password = String::with_capacity(200);
        for _ in 0..6 {
            password.push_str("Tr0ub4dor&3-correct-horse");
        }
        let request = LoginRequest::new(
            "a-rather-long-username-for-this-test@example.com",
            Password::new(password).unwrap(),
        )
        .unwrap();
        let body = request.to_json();
        assert!(body.len() > 100);
        drop(std::hint::black_box(body));
        let mut s =
            Session::with_password("ann", request.password().clone(), SessionConfig::default())
                .unwrap();
        let next = s.next(time::OffsetDateTime::UNIX_EPOCH);
        drop(std::hint::black_box(next));
        drop(s);
        drop(request);
    });
    assert_eq!(found, 0);
}

#[test]
fn reading_and_writing_token_bodies_leaves_no_token_in_freed_memory() {
    const TOKEN: &[u8] = b"pwt_0123456789abcdef0123456789abcdef";
    let bodies: &[&[u8]] = &[
        br#"{"message":"ok","token":"pwt_0123456789abcdef0123456789abcdef","expires_in":60}"#,
        br#"{"message":"ok","token":"pwt_0123456789abcdef0123456789abcdef","expires_in":0}"#,
        br#"{"message":"ok","token":"pwt_0123456789abcdef0123456789abcdef","token":"x","expires_in":60}"#,
        br#"{"message":"ok","token":"pwt_0123456789abcdef\u0030123456789abcdef","expires_in":60}"#,
    ];
    for body in bodies {
        let found = freed_blocks_holding(TOKEN, || {
            if let Ok(r) = LoginResponse::parse(body) {
                drop(std::hint::black_box(r.to_json()));
            }
        });
        assert_eq!(found, 0, "{}", String::from_utf8_lossy(body));
    }
}

/// The scanner finds what is not wiped: a plain `String` holding the secret.
#[test]
fn the_scanner_finds_an_unwiped_secret() {
    let found = freed_blocks_holding(SECRET, || {
        let s = String::from_utf8(SECRET.to_vec()).unwrap();
        drop(std::hint::black_box(s));
    });
    assert_eq!(found, 1);
}

/// Only the whole secret is a finding: blocks holding all of it but its last byte,
/// all of it but its first, or its first byte alone are not, nor is a block shorter
/// than the secret; one holding it at its very end is.
#[test]
fn the_scanner_finds_the_whole_secret_and_nothing_less() {
    let last = SECRET.len() - 1;
    let sizes = freed_block_sizes_holding(SECRET, || {
        // Each built at its final capacity: no reallocation frees a copy on the way.
        let mut but_last = Vec::with_capacity(SECRET.len() + 5);
        but_last.extend_from_slice(b"xx");
        but_last.extend_from_slice(&SECRET[..last]);
        but_last.extend_from_slice(b"yyyy");
        let but_first = SECRET[1..].to_vec();
        let first_alone = vec![SECRET[0]; 64];
        let shorter = SECRET[..3].to_vec();
        let mut at_the_end = Vec::with_capacity(40 + SECRET.len());
        at_the_end.extend_from_slice(&[b'z'; 40]);
        at_the_end.extend_from_slice(SECRET);
        for block in [but_last, but_first, first_alone, shorter, at_the_end] {
            drop(std::hint::black_box(block));
        }
    });
    assert_eq!(sizes, [40 + SECRET.len()]);
}

/// Each block that held the secret is reported with its size.
#[test]
fn the_scanner_reports_the_size_of_each_block_found() {
    let sizes = freed_block_sizes_holding(SECRET, || {
        let mut small = Vec::with_capacity(100);
        small.extend_from_slice(SECRET);
        let mut large = Vec::with_capacity(5000);
        large.extend_from_slice(SECRET);
        drop(std::hint::black_box(small));
        drop(std::hint::black_box(large));
        drop(std::hint::black_box(vec![0u8; 300]));
    });
    assert_eq!(sizes, [100, 5000]);
}

/// Blocks freed on several threads at once are all scanned (a scanner that locked
/// its needle skipped those freed while another thread scanned).
#[test]
fn the_scanner_sees_blocks_freed_on_several_threads_at_once() {
    const THREADS: usize = 4;
    const EACH: usize = 2000;
    let found = freed_blocks_holding(SECRET, || {
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for _ in 0..EACH {
                        drop(std::hint::black_box(SECRET.to_vec()));
                    }
                });
            }
        });
    });
    assert_eq!(found, THREADS * EACH);
}
