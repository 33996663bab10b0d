#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    codex_auth_fuzz::entry_points::agent_assertion(data);
});
