//! Interop with the official Codex CLI 0.169.0: its agent identity login must accept the JWT
//! and JWKS the emulator serves, and `login status` must register a task here.
//!
//! Reads the binary path from `CODEX_OFFICIAL_BIN`; without it the test prints a loud SKIPPED
//! notice, unless `CODEX_REQUIRE_OFFICIAL_CLI=1`, which turns the skip into a failure.
//! The CLI runs with a temporary `CODEX_HOME` and `HOME` and only loopback URLs.

// Test code: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use codex_emulator::{EmulatorConfig, EmulatorHandle};
use serde_json::json;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use codex_test_support::official::official_bin as official_binary;

/// Output of one CLI run.
struct Run {
    success: bool,
    output: String,
}

/// Runs the official CLI with a clean environment that points only at the emulator.
async fn run_cli(
    bin: &Path,
    home: &Path,
    codex_home: &Path,
    emulator: &EmulatorHandle,
    jwks_base: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Run {
    let urls = emulator.urls();
    let mut command = Command::new(bin);
    command
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("CODEX_HOME", codex_home)
        .env("CODEX_AGENT_IDENTITY_JWKS_BASE_URL", jwks_base)
        .env(
            "CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL",
            &urls.authapi_base_url,
        )
        .env("CODEX_AUTHAPI_BASE_URL", &urls.authapi_base_url)
        .env(
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            format!("{}/oauth/token", urls.issuer),
        )
        .env(
            "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
            format!("{}/oauth/revoke", urls.issuer),
        )
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("official codex starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).await.unwrap();
        pipe.write_all(b"\n").await.unwrap();
        drop(pipe);
    }
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("official codex finishes within 120 s")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("$ codex {} -> {}\n{text}", args.join(" "), output.status);
    Run {
        success: output.status.success(),
        output: text,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_cli_accepts_minted_agent_identity_and_registers_a_task() {
    let Some(bin) = official_binary() else { return };
    let emulator = common::start(EmulatorConfig::default()).await;
    let urls = emulator.urls().clone();

    // Both spellings of the JWKS base work: the CLI appends `/wham/agent-identities/jwks` to a
    // base containing `/backend-api`.
    for jwks_base in [urls.jwks_base_url.clone(), urls.chatgpt_base_url.clone()] {
        let home = tempfile::tempdir().unwrap();
        let codex_home = tempfile::tempdir().unwrap();
        let client = common::client();
        let (_, minted) = common::post_json(
            &client,
            &format!("{}/_emulator/agent-identity-jwt", urls.issuer),
            &json!({}),
        )
        .await;
        let jwt = minted["jwt"].as_str().unwrap().to_owned();
        let before = emulator.stats();

        let login = run_cli(
            &bin,
            home.path(),
            codex_home.path(),
            &emulator,
            &jwks_base,
            &["login", "--with-access-token"],
            Some(&jwt),
        )
        .await;
        assert!(login.success, "login failed: {}", login.output);
        assert!(
            login.output.contains("Successfully logged in"),
            "{}",
            login.output
        );
        let stored: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(codex_home.path().join("auth.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(stored["auth_mode"], "agentIdentity");
        assert_eq!(stored["agent_identity"], jwt.as_str());
        let after_login = emulator.stats();
        assert!(
            after_login.jwks_requests > before.jwks_requests,
            "login verified the JWT against our JWKS"
        );

        let status = run_cli(
            &bin,
            home.path(),
            codex_home.path(),
            &emulator,
            &jwks_base,
            &["login", "status"],
            None,
        )
        .await;
        assert!(status.success, "status failed: {}", status.output);
        assert!(
            status.output.contains("Logged in using access token"),
            "{}",
            status.output
        );
        let after_status = emulator.stats();
        assert_eq!(
            after_status.task_registrations - before.task_registrations,
            1,
            "exactly one task registration for this identity"
        );
        assert_eq!(after_status.task_registrations_rejected, 0);
    }

    // A JWT whose kid is not in the JWKS is refused and nothing is written.
    let home = tempfile::tempdir().unwrap();
    let codex_home = tempfile::tempdir().unwrap();
    let good = emulator.mint_agent_identity_jwt();
    let claims = common::jwt_claims(&good.jwt);
    let untrusted = emulator.agent_identity_jwt_with_claims(claims, Some("not-in-jwks"));
    let login = run_cli(
        &bin,
        home.path(),
        codex_home.path(),
        &emulator,
        &urls.jwks_base_url,
        &["login", "--with-access-token"],
        Some(&untrusted),
    )
    .await;
    assert!(
        !login.success,
        "an untrusted kid must be refused: {}",
        login.output
    );
    assert!(!codex_home.path().join("auth.json").exists());
}
