//! Test-only helpers that the integration tests of several workspace crates used to copy
//! (`publish = false`; a dev-dependency only):
//!
//! - [`official`]: finding the official Codex CLI 0.169.0 (`CODEX_OFFICIAL_BIN`), or a loud
//!   skip notice (a failure under `CODEX_REQUIRE_OFFICIAL_CLI=1`);
//! - [`auth_json`]: reading a `CODEX_HOME`'s `auth.json` as JSON;
//! - [`jwt`]: unsigned (`alg: none`) JWTs for claims-only tests;
//! - `keyring` (feature `keyring`, which pulls in `codex-login`): whether the OS keyring (Secret Service) is usable, and what `secret-tool`
//!   sees in it.
//!
//! This is test code: a failed precondition is a test failure, so it may unwrap and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod auth_json;
pub mod jwt;
#[cfg(feature = "keyring")]
pub mod keyring;
pub mod official;
