#![no_main]
//! Fuzz target `login`: the harness `pw_auth_fuzz::login`; a violation is a crash.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(v) = pw_auth_fuzz::login(data) {
        panic!("{v}");
    }
});
