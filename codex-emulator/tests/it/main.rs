//! The one integration-test binary of `codex-emulator` (ripgrep style): each former
//! `tests/<name>.rs` binary is a module here, and shared helpers live in `common`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod agent_identity;
mod backend;
mod binary;
mod browser_login;
mod device_code;
mod federation;
mod official_cli;
mod pat_whoami;
mod refresh;
