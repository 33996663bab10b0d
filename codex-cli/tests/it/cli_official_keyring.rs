//! The official Codex CLI 0.169.0 and ours sharing one login in the Secret
//! Service (`cli_auth_credentials_store` = `keyring` and `auto`), both ways,
//! loopback only: each reads, refreshes and removes what the other wrote, and
//! nothing is left behind.
//!
//! Needs the official binary (`CODEX_OFFICIAL_BIN`) and a real Secret Service
//! (`.ci/run` starts gnome-keyring in `dbus-run-session`); each missing piece
//! prints a loud `SKIPPED:` line, or fails the test when CI requires it
//! (`CODEX_REQUIRE_OFFICIAL_CLI=1`, `CODEX_REQUIRE_SECRET_SERVICE=1`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;
use codex_test_support::keyring as keyring_support;

use codex_emulator::EmulatorConfig;
use codex_login::auth_dot_json::AuthDotJson;
use codex_login::storage::{
    AuthStorage, KEYRING_CHUNK_SIZE, KeyringAuthStorage, OsKeyring, store_key,
};
use keyring_support::{secret_service_items, secret_service_or_skip, the_secret_service_item};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::official::{all_output, official_bin, run_official};
use support::{Home, blocking, code, stderr};

const MODES: [&str; 2] = ["keyring", "auto"];

/// The official binary and a Secret Service, or `None` after a loud skip.
fn prerequisites(test: &str) -> Option<PathBuf> {
    let official = official_bin()?;
    secret_service_or_skip(test).then_some(official)
}

/// A CODEX_HOME on a fresh emulator (config.toml points both CLIs at it)
/// using the `mode` store.
async fn home_for(mode: &str) -> Arc<Home> {
    let home = Home::with_emulator(EmulatorConfig {
        auto_approve: true,
        device_poll_interval_secs: 1,
        ..EmulatorConfig::default()
    })
    .await;
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(home.path().join("config.toml"))
        .unwrap();
    writeln!(config, "cli_auth_credentials_store = \"{mode}\"").unwrap();
    Arc::new(home)
}

async fn ours(
    home: &Arc<Home>,
    args: &'static [&'static str],
    stdin: Option<&'static str>,
) -> std::process::Output {
    let h = home.clone();
    blocking(move || h.run(args, stdin)).await
}

async fn official(
    bin: &Path,
    home: &Arc<Home>,
    args: Vec<String>,
    stdin: Option<&'static str>,
) -> std::process::Output {
    let (bin, path) = (bin.to_path_buf(), home.path().to_path_buf());
    blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_official(&bin, &path, &args, stdin)
    })
    .await
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Nothing of the login remains: no item (main or chunk) and no file.
fn nothing_left(home: &Home, context: &str) {
    let account = store_key(home.path());
    for name in [account.clone(), format!("{account}:1")] {
        assert_eq!(secret_service_items(&name), Vec::new(), "{context}: {name}");
    }
    assert!(!home.auth_file().exists(), "{context}: auth.json remains");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_api_key_login_in_the_secret_service_is_read_and_removed_by_ours() {
    let Some(bin) =
        prerequisites("official_api_key_login_in_the_secret_service_is_read_and_removed_by_ours")
    else {
        return;
    };
    for mode in MODES {
        let home = home_for(mode).await;
        let out = official(
            &bin,
            &home,
            args(&["login", "--with-api-key"]),
            Some("sk-proj-official01ABCDE\n"),
        )
        .await;
        assert!(out.status.success(), "{mode}: {}", all_output(&out));
        let item = the_secret_service_item(&store_key(home.path()));
        assert_eq!(
            item.secret,
            r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-proj-official01ABCDE"}"#
        );
        assert!(!home.auth_file().exists(), "{mode}");

        let out = ours(&home, &["login", "status"], None).await;
        assert_eq!(code(&out), 0, "{mode}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("sk-proj-***ABCDE"),
            "{mode}: {}",
            stderr(&out)
        );
        let out = ours(&home, &["whoami", "--json"], None).await;
        assert_eq!(code(&out), 0, "{mode}: {}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["source"], "keyring", "{mode}");
        assert_eq!(report["api_key"], "sk-proj-***ABCDE", "{mode}");

        let out = ours(&home, &["logout"], None).await;
        assert_eq!(code(&out), 0, "{mode}: {}", stderr(&out));
        nothing_left(&home, mode);
        let out = official(&bin, &home, args(&["login", "status"]), None).await;
        assert!(!out.status.success(), "{mode}: {}", all_output(&out));
        assert!(
            all_output(&out).contains("Not logged in"),
            "{mode}: {}",
            all_output(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_api_key_login_in_the_secret_service_is_read_and_removed_by_the_official_cli() {
    let Some(bin) = prerequisites(
        "our_api_key_login_in_the_secret_service_is_read_and_removed_by_the_official_cli",
    ) else {
        return;
    };
    for mode in MODES {
        let home = home_for(mode).await;
        let out = ours(
            &home,
            &["login", "--with-api-key"],
            Some("sk-proj-ourkey001ABCDE\n"),
        )
        .await;
        assert_eq!(code(&out), 0, "{mode}: {}", stderr(&out));
        the_secret_service_item(&store_key(home.path()));
        assert!(!home.auth_file().exists(), "{mode}");

        let out = official(&bin, &home, args(&["login", "status"]), None).await;
        assert!(out.status.success(), "{mode}: {}", all_output(&out));
        assert!(
            all_output(&out).contains("API key configured - sk-proj-***ABCDE"),
            "{mode}: {}",
            all_output(&out)
        );
        let out = official(&bin, &home, args(&["logout"]), None).await;
        assert!(out.status.success(), "{mode}: {}", all_output(&out));
        nothing_left(&home, mode);
        let out = ours(&home, &["login", "status"], None).await;
        assert_eq!(stderr(&out), "Not logged in\n", "{mode}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_chatgpt_login_in_the_secret_service_is_read_refreshed_and_logged_out_by_ours() {
    let Some(bin) = prerequisites(
        "official_chatgpt_login_in_the_secret_service_is_read_refreshed_and_logged_out_by_ours",
    ) else {
        return;
    };
    for mode in MODES {
        let home = home_for(mode).await;
        let emulator = home.emulator();
        // The official login gets an access token that has already expired.
        emulator.set_access_token_ttl(-60);
        let issuer = emulator.urls().issuer.clone();
        let out = official(
            &bin,
            &home,
            args(&["login", "--device-auth", "--experimental_issuer", &issuer]),
            None,
        )
        .await;
        assert!(out.status.success(), "{mode}: {}", all_output(&out));
        emulator.set_access_token_ttl(3600);
        let account = store_key(home.path());
        let written = the_secret_service_item(&account);
        let document: serde_json::Value = serde_json::from_str(&written.secret).unwrap();
        assert_eq!(document["auth_mode"], "chatgpt", "{mode}");
        assert!(!home.auth_file().exists(), "{mode}");

        let out = ours(&home, &["login", "status"], None).await;
        assert_eq!(stderr(&out), "Logged in using ChatGPT\n", "{mode}");

        // A live check refreshes first, and the new tokens go back to the item.
        let before = emulator.stats();
        let out = ours(&home, &["whoami", "--check", "--json"], None).await;
        assert_eq!(code(&out), 0, "{mode}: {}", stderr(&out));
        assert_eq!(emulator.stats().refresh_ok, before.refresh_ok + 1, "{mode}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["source"], "keyring", "{mode}");
        assert_eq!(report["account_id"], "acct-emulator-0001", "{mode}");
        let refreshed = the_secret_service_item(&account);
        let refreshed_doc: serde_json::Value = serde_json::from_str(&refreshed.secret).unwrap();
        assert_ne!(
            refreshed_doc["tokens"]["refresh_token"], document["tokens"]["refresh_token"],
            "{mode}: the rotated refresh token was saved"
        );
        assert!(!home.auth_file().exists(), "{mode}");

        // The official CLI reads what our refresh wrote.
        let out = official(&bin, &home, args(&["login", "status"]), None).await;
        assert!(
            all_output(&out).contains("Logged in using ChatGPT"),
            "{mode}: {}",
            all_output(&out)
        );

        let before = emulator.stats();
        let out = ours(&home, &["logout"], None).await;
        assert_eq!(stderr(&out), "Successfully logged out\n", "{mode}");
        assert_eq!(emulator.stats().revoked, before.revoked + 1, "{mode}");
        nothing_left(&home, mode);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_large_chatgpt_login_round_trips_through_the_secret_service_to_the_official_cli() {
    let Some(bin) = prerequisites(
        "our_large_chatgpt_login_round_trips_through_the_secret_service_to_the_official_cli",
    ) else {
        return;
    };
    for mode in MODES {
        let home = home_for(mode).await;
        let out = ours(&home, &["login", "--device-auth"], None).await;
        assert_eq!(code(&out), 0, "{mode}: {}", stderr(&out));
        let account = store_key(home.path());
        let item = the_secret_service_item(&account);
        // Realistic JWTs: well over the size at which chunking would start, yet
        // one item, as the official CLI writes and reads on Linux.
        assert!(
            item.secret.len() > 2 * KEYRING_CHUNK_SIZE,
            "{mode}: {} bytes",
            item.secret.len()
        );
        assert!(!item.secret.starts_with("CODEX_CHUNKED:"), "{mode}");
        eprintln!(
            "{mode}: the ChatGPT login is one Secret Service item of {} bytes",
            item.secret.len()
        );
        let document: serde_json::Value = serde_json::from_str(&item.secret).unwrap();
        assert_eq!(document["auth_mode"], "chatgpt", "{mode}");
        assert_eq!(secret_service_items(&format!("{account}:1")), Vec::new());
        assert!(!home.auth_file().exists(), "{mode}");

        let out = official(&bin, &home, args(&["login", "status"]), None).await;
        assert!(out.status.success(), "{mode}: {}", all_output(&out));
        assert!(
            all_output(&out).contains("Logged in using ChatGPT"),
            "{mode}: {}",
            all_output(&out)
        );
        let out = ours(&home, &["whoami", "--json"], None).await;
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["source"], "keyring", "{mode}");

        let out = official(&bin, &home, args(&["logout"]), None).await;
        assert!(out.status.success(), "{mode}: {}", all_output(&out));
        nothing_left(&home, mode);
    }
}

/// A compact JWT with these claims and an RS256-sized signature (never
/// checked when a login is read).
fn jwt(claims: &serde_json::Value) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signature: Vec<u8> = (0..256u16).map(|i| (i * 7 % 251) as u8).collect();
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD
            .encode(br#"{"alg":"RS256","kid":"b1a8d6a0-6c3f-4b8e-9a53-2f0e7d1c9b44","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// Id and access tokens the size of real ChatGPT ones (each over 2 KB):
/// several organizations, scopes and session claims.
fn realistic_tokens(issuer: &str) -> (String, String) {
    let now = chrono::Utc::now().timestamp();
    let organizations: Vec<serde_json::Value> = (0..6)
        .map(|i| {
            serde_json::json!({
                "id": format!("org-{i}Xq7bN2vK9sT4wR8yL3mP6dF1"),
                "is_default": i == 0,
                "role": if i == 0 { "owner" } else { "reader" },
                "title": format!("Workspace number {i} of the research group"),
            })
        })
        .collect();
    let auth = serde_json::json!({
        "chatgpt_account_id": "acct-emulator-0001",
        "chatgpt_plan_type": "pro",
        "chatgpt_subscription_active_start": "2026-01-01T00:00:00+00:00",
        "chatgpt_subscription_active_until": "2027-01-01T00:00:00+00:00",
        "chatgpt_subscription_last_checked": "2026-11-30T12:00:00.000000+00:00",
        "chatgpt_user_id": "user-Zk3Jt8WqLm4Rb7Yc2Vn6Hd9S",
        "groups": [],
        "organizations": organizations,
        "user_id": "user-Zk3Jt8WqLm4Rb7Yc2Vn6Hd9S",
    });
    let id_token = jwt(&serde_json::json!({
        "amr": ["pwd", "otp", "mfa"],
        "at_hash": "Yk2Jq8Xw3Lm9Rb4Tc7Vn1H",
        "aud": ["app_EMoamEEZ73f0CkXaXp7hrann"],
        "auth_provider": "password",
        "auth_time": now - 60,
        "email": "realistic.user@example.com",
        "email_verified": true,
        "exp": now + 3600,
        "https://api.openai.com/auth": auth,
        "iat": now,
        "iss": issuer,
        "jti": "5f0b8e6c-2d4a-4f7e-9b1c-8a3d6e2f4c7b",
        "rat": now - 120,
        "sid": "a2c4e6f8-1b3d-5f7a-9c2e-4d6f8a1b3c5d",
        "sub": "auth0|Zk3Jt8WqLm4Rb7Yc2Vn6Hd9S",
    }));
    let access_token = jwt(&serde_json::json!({
        "aud": ["https://api.openai.com/v1"],
        "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
        "exp": now + 3600,
        "https://api.openai.com/auth": auth,
        "https://api.openai.com/profile": {
            "email": "realistic.user@example.com",
            "email_verified": true,
        },
        "iat": now,
        "iss": issuer,
        "jti": "9d7c5b3a-1f2e-4d6c-8b0a-7e5f3d1c9b2a",
        "nbf": now,
        "pwd_auth_time": (now - 60) * 1000,
        "scp": ["openid", "profile", "email", "offline_access", "api.connectors.read", "api.connectors.invoke"],
        "session_id": "authsess_Qm8Xk2Lw7Rt4Yb9Vc3Nj6Hd1Sf5",
        "sub": "auth0|Zk3Jt8WqLm4Rb7Yc2Vn6Hd9S",
    }));
    (id_token, access_token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_with_realistic_jwts_over_2_kb_saved_by_us_is_read_by_the_official_cli() {
    let Some(bin) = prerequisites(
        "a_login_with_realistic_jwts_over_2_kb_saved_by_us_is_read_by_the_official_cli",
    ) else {
        return;
    };
    let home = home_for("keyring").await;
    let (id_token, access_token) = realistic_tokens(&home.emulator().urls().issuer);
    assert!(
        id_token.len() > 2048 && access_token.len() > 2048,
        "{} / {}",
        id_token.len(),
        access_token.len()
    );
    let text = serde_json::json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": id_token,
            "access_token": access_token,
            "refresh_token": "rt_realistic-refresh-token-Qm8Xk2Lw7Rt4Yb9Vc3Nj6Hd1Sf5.Ab3Cd5Ef7Gh9",
            "account_id": "acct-emulator-0001",
        },
        "last_refresh": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
    .to_string();
    let document = AuthDotJson::from_json_bytes(text.as_bytes()).unwrap();
    let path = home.path().to_path_buf();
    let saved = document.clone();
    blocking(move || KeyringAuthStorage::new(&path, Arc::new(OsKeyring)).save(&saved))
        .await
        .unwrap();

    let item = the_secret_service_item(&store_key(home.path()));
    assert_eq!(item.secret, document.to_compact_json());
    eprintln!(
        "the login is one Secret Service item of {} bytes",
        item.secret.len()
    );

    let out = official(&bin, &home, args(&["login", "status"]), None).await;
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("Logged in using ChatGPT"),
        "{}",
        all_output(&out)
    );
    let out = ours(&home, &["whoami", "--json"], None).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["email"], "realistic.user@example.com");
    assert_eq!(report["plan_type"], "pro");
    assert_eq!(report["source"], "keyring");

    let out = official(&bin, &home, args(&["logout"]), None).await;
    assert!(out.status.success(), "{}", all_output(&out));
    nothing_left(&home, "after the official logout");
}
