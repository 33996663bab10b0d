//! The one integration-test binary of `codex-login` (ripgrep style): each former
//! `tests/<name>.rs` binary is a module here, and the `*_support` modules are shared by all
//! of them. Helpers that the tests of several crates need live in `codex-test-support`.
//!
//! Every test runs as a thread of this one process, so no test may change process-wide state
//! (environment variables, the global tracing subscriber, the current directory): child
//! processes get their environment through `Command::env`, and `flow_log_redaction`
//! captures logs through a dispatcher scoped to its own runtime's threads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod agent_support;
mod common;
mod core_support;
mod flow_support;
mod hostile_support;
mod probe;
mod reliability_support;
mod review_ca_bundle;

mod agent_chatgpt_opt_in;
mod agent_jwt_login;
mod agent_official_cli;
mod agent_recovery;
mod agent_stored_identity;
mod backend_client_factory;
mod core_auth_json;
mod core_codex_auth;
mod core_cross_process;
mod core_http_client;
mod core_official_cli;
mod core_profiles;
mod core_recovery;
mod core_refresh;
mod core_refresh_window;
mod core_reuse_adoption;
mod core_storage;
mod flow_api_key;
mod flow_browser;
mod flow_browser_chromium;
mod flow_device_code;
mod flow_log_redaction;
mod flow_logout;
mod flow_replaced_login;
mod flow_restrictions;
mod front_door;
mod host_tokens;
mod hostile_echo;
mod hostile_foreign_identity;
mod hostile_restrictions_on_use;
mod hostile_unsaved_refresh;
mod personal_access_token;
mod reliability_bad_input;
mod reliability_callback_server;
mod reliability_crash_safety;
mod reliability_fuzz_seeds;
mod reliability_login_cancel;
mod reliability_lost_response;
mod reliability_read_only_store;
mod reliability_refresh_storm;
mod reliability_secret_hygiene;
mod workload_identity;
