//! Interoperability with the official Codex CLI 0.169.0: files it writes
//! load here and are rewritten byte for byte, and files written here are
//! accepted by it. Needs `CODEX_OFFICIAL_BIN`; prints a loud skip notice
//! without it (and fails when `CODEX_REQUIRE_OFFICIAL_CLI=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use codex_login::storage::{AuthStorage, FileAuthStorage};
use codex_login::{auth_dot_json::AuthMode, codex_auth::CodexAuth};
use core_support::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use codex_test_support::official::official_bin;

fn run_official(
    bin: &Path,
    home: &Path,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> (bool, String) {
    let mut command = Command::new(bin);
    command
        .args(args)
        .env("CODEX_HOME", home)
        .env_remove("OPENAI_API_KEY")
        .env_remove("CODEX_API_KEY")
        .env_remove("CODEX_ACCESS_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
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
}

/// Loads the file, checks the snapshot, rewrites it and expects identical bytes.
fn load_and_rewrite_identically(home: &Path) -> CodexAuth {
    let storage = FileAuthStorage::new(home);
    let original = std::fs::read(home.join("auth.json")).unwrap();
    let document = storage.load().unwrap().unwrap();
    let auth = CodexAuth::from_auth_dot_json(document.clone()).unwrap();
    storage.save(&document).unwrap();
    assert_eq!(
        String::from_utf8(std::fs::read(home.join("auth.json")).unwrap()).unwrap(),
        String::from_utf8(original).unwrap(),
        "rewrite must be byte-identical"
    );
    auth
}

#[test]
fn reads_and_rewrites_the_official_api_key_file() {
    let Some(bin) = official_bin() else {
        return;
    };
    let home = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (ok, out) = run_official(
        &bin,
        home.path(),
        &["login", "--with-api-key"],
        "sk-official-test-1234567\n",
        &[],
    );
    assert!(ok, "{out}");
    let auth = load_and_rewrite_identically(home.path());
    assert_eq!(auth.auth_mode(), AuthMode::ApiKey);
    assert_eq!(auth.api_key().unwrap().expose(), "sk-official-test-1234567");
    let (ok, out) = run_official(&bin, home.path(), &["login", "status"], "", &[]);
    assert!(ok && out.contains("API key configured"), "{out}");
}

#[tokio::test]
async fn reads_and_rewrites_the_official_access_token_file() {
    let Some(bin) = official_bin() else {
        return;
    };
    let emu = emulator().await;
    let minted = emu.mint_agent_identity_jwt();
    let home = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    // The official CLI appends `/wham/agent-identities/jwks` to a base containing
    // `/backend-api`, so it is given the ChatGPT base, not the emulator's `jwks_base_url`.
    let jwks = emu.urls().chatgpt_base_url.clone();
    let authapi = emu.urls().authapi_base_url.clone();
    let jwt = format!("{}\n", minted.jwt);
    let (ok, out) = tokio::task::spawn_blocking({
        let home = home.path().to_path_buf();
        move || {
            run_official(
                &bin,
                &home,
                &["login", "--with-access-token"],
                &jwt,
                &[
                    ("CODEX_AGENT_IDENTITY_JWKS_BASE_URL", jwks.as_str()),
                    ("CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL", authapi.as_str()),
                ],
            )
        }
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    let auth = load_and_rewrite_identically(home.path());
    assert_eq!(auth.auth_mode(), AuthMode::AgentIdentity);
    let identity = auth.agent_identity().unwrap();
    assert_eq!(identity.agent_runtime_id, minted.agent_runtime_id);
    assert_eq!(
        identity.agent_private_key.expose(),
        minted.private_key_pkcs8_base64
    );
    assert_eq!(
        auth.account_id(),
        Some(codex_emulator::SeedAccount::default().account_id.as_str())
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn official_cli_accepts_a_file_we_refreshed() {
    let Some(bin) = official_bin() else {
        return;
    };
    let emu = emulator().await;
    let home = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    seed_home(home.path(), &issue(&emu, -60));
    let manager = manager(home.path(), &emu);
    manager.auth().await.unwrap();
    assert_eq!(emu.stats().refresh_ok, 1);
    let (ok, out) = tokio::task::spawn_blocking({
        let home = home.path().to_path_buf();
        move || run_official(&bin, &home, &["login", "status"], "", &[])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("Logged in using ChatGPT"), "{out}");
    emu.shutdown().await;
}
