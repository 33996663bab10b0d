#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    codex_auth_fuzz::entry_points::jwt_shape(data);
});
