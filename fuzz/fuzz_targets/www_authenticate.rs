#![no_main]
//! Fuzz target `www_authenticate`: the harness `pw_auth_fuzz::www_authenticate`; a violation is a crash.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(v) = pw_auth_fuzz::www_authenticate(data) {
        panic!("{v}");
    }
});
