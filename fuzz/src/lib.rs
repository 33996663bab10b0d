//! Fuzz entry points for the parsers that take untrusted input. The same file
//! (`entry_points.rs`) is compiled into `codex-login`'s `reliability_fuzz_seeds` test, which
//! runs every seed corpus file through it on stable Rust.

pub mod entry_points;
