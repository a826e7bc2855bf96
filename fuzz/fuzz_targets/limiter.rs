#![no_main]
//! Fuzz target `limiter`: the harness `pw_auth_fuzz::limiter_bytes`; a violation is a crash.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(v) = pw_auth_fuzz::limiter_bytes(data) {
        panic!("{v}");
    }
});
