//! The one integration-test binary of `codex-cli` (ripgrep style): each former
//! `tests/<name>.rs` binary is a module here, sharing `support` (a temporary `CODEX_HOME`
//! against an in-process emulator, running the real `codex`, the official CLI, a
//! pseudo-terminal) and `hostile_support`. Helpers that the tests of several crates need live
//! in `codex-test-support`. insta snapshots are in `snapshots/`, named
//! `it__<module>__<name>.snap`.
//!
//! Every test runs as a thread of this one process, so no test may change process-wide state
//! (environment variables, the current directory): the `codex` child processes get their
//! environment through `Command::env`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The binary's exit codes, read from its source so that a renumbering is picked up here.
#[allow(dead_code)]
#[path = "../../src/exit.rs"]
mod exit;
mod hostile_support;
mod support;

mod cli_agent_identity;
mod cli_completion;
mod cli_differential;
mod cli_doctor;
mod cli_hostile;
mod cli_keyring;
mod cli_login;
mod cli_official_interop;
mod cli_official_keyring;
mod cli_personal_access_token;
mod cli_personal_access_token_keyring;
mod cli_profiles;
mod cli_scripting;
mod cli_terminal;
mod cli_token;
mod cli_whoami;
mod cli_whoami_refresh;
mod cli_workload_identity;
mod cli_workload_identity_differential;
mod reliability_hostile_files;
mod reliability_hostile_servers;
mod reliability_secrets;
mod review_chain_env_vars;
