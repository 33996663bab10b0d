//! Agent identity interoperability with the official Codex CLI 0.169.0:
//! `--with-access-token` writes the same bytes here and there, its file is
//! readied and used here, and ours is accepted there. Needs
//! `CODEX_OFFICIAL_BIN`; prints a loud skip notice without it (and fails when
//! `CODEX_REQUIRE_OFFICIAL_CLI=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::agent_support;

use agent_support::*;
use codex_auth_provider::SecretString;
use codex_emulator::EmulatorHandle;
use codex_login::flows::login_with_access_token;
use codex_login::{auth_dot_json::AuthMode, auth_manager::AuthManager};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use codex_test_support::official::official_bin;

/// Runs the official CLI against `emulator` only (loopback), with `home` as CODEX_HOME.
async fn run_official(
    bin: &Path,
    home: &Path,
    emulator: &EmulatorHandle,
    args: &[&str],
    stdin: &str,
) -> (bool, String) {
    let mut command = Command::new(bin);
    command
        .args(args)
        .env("CODEX_HOME", home)
        .env_remove("OPENAI_API_KEY")
        .env_remove("CODEX_API_KEY")
        .env_remove("CODEX_ACCESS_TOKEN")
        .env_remove("CODEX_AGENT_IDENTITY")
        // The official CLI appends `/wham/agent-identities/jwks` to a base with `/backend-api`.
        .env(
            "CODEX_AGENT_IDENTITY_JWKS_BASE_URL",
            &emulator.urls().chatgpt_base_url,
        )
        .env(
            "CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL",
            &emulator.urls().authapi_base_url,
        )
        .env(
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            format!("{}/oauth/token", emulator.urls().issuer),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("official CLI starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn access_token_login_writes_the_same_bytes_as_the_official_cli() {
    let Some(bin) = official_bin() else {
        return;
    };
    let emulator = emulator().await;
    let minted = emulator.mint_agent_identity_jwt();
    let theirs = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (ok, out) = run_official(
        &bin,
        theirs.path(),
        &emulator,
        &["login", "--with-access-token"],
        &format!("{}\n", minted.jwt),
    )
    .await;
    assert!(ok, "{out}");

    let ours = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    login_with_access_token(
        &file_target(ours.path()),
        &SecretString::new(format!("{}\n", minted.jwt)),
        &login_options(&emulator),
    )
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8(auth_json_bytes(ours.path()).unwrap()).unwrap(),
        String::from_utf8(auth_json_bytes(theirs.path()).unwrap()).unwrap()
    );

    // The official CLI reads ours as an access-token login.
    let (ok, out) = run_official(&bin, ours.path(), &emulator, &["login", "status"], "").await;
    assert!(ok && out.contains("Logged in using access token"), "{out}");
}

#[tokio::test]
async fn the_official_access_token_file_is_readied_and_used_here() {
    let Some(bin) = official_bin() else {
        return;
    };
    let emulator = emulator().await;
    let minted = emulator.mint_agent_identity_jwt();
    let home = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (ok, out) = run_official(
        &bin,
        home.path(),
        &emulator,
        &["login", "--with-access-token"],
        &format!("{}\n", minted.jwt),
    )
    .await;
    assert!(ok, "{out}");
    let before = auth_json_bytes(home.path());
    let tasks_before = emulator.stats().task_registrations;

    let manager = AuthManager::shared(manager_config(home.path(), &emulator));
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(auth.auth_mode(), AuthMode::AgentIdentity);
    assert_eq!(emulator.stats().task_registrations, tasks_before + 1);
    assert_eq!(usage_status(&emulator, &auth).await, 200);
    assert_eq!(auth_json_bytes(home.path()), before);
}
