#![no_main]
//! Fuzz target `server_flow`: the harness `pw_auth_fuzz::server_flow_bytes`; a violation is a crash.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(v) = pw_auth_fuzz::server_flow_bytes(data) {
        panic!("{v}");
    }
});
