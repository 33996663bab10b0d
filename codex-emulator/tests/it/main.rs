//! The one integration-test binary of `codex-emulator` (ripgrep style): each former
//! `tests/<name>.rs` binary is a module here, and shared helpers live in `common`.

mod common;

mod agent_identity;
mod backend;
mod binary;
mod browser_login;
mod device_code;
mod official_cli;
mod refresh;
