//! The one integration-test binary of `codex-agent-identity` (ripgrep style): each former
//! `tests/<name>.rs` binary is a module here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod emulator_flow;
mod jwt_verification;
mod official_cli_interop;
mod registration_retry;
mod review_jwt_header;
mod vectors;
