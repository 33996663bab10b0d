//! The one integration-test binary of `codex-backend-client` (ripgrep style): each former
//! `tests/<name>.rs` binary is a module here, and shared helpers live in `support`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod auth_header_contract;
mod emulator_flows;
mod http_behaviour;
mod log_redaction;
mod task_details_fixtures;
