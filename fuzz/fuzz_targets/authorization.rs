#![no_main]
//! Fuzz target `authorization`: the harness `pw_auth_fuzz::authorization`; a violation is a crash.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(v) = pw_auth_fuzz::authorization(data) {
        panic!("{v}");
    }
});
