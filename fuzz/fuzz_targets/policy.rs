#![no_main]
//! Fuzz target `policy`: the harness `pw_auth_fuzz::policy`; a violation is a crash.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(v) = pw_auth_fuzz::policy(data) {
        panic!("{v}");
    }
});
