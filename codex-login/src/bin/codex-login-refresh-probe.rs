//! Test helper for the cross-process tests of `codex-login`.
//!
//! `codex-login-refresh-probe refresh <CODEX_HOME> [START_AT_UNIX_MS]`
//! loads credentials like any Codex process (file store; refresh URL from
//! `CODEX_REFRESH_TOKEN_URL_OVERRIDE`), waits until the start time so many
//! probes hit the expiry together, calls `AuthManager::try_auth`, and prints
//! one JSON line with SHA-256 fingerprints (never the tokens) of the result.
//!
//! `codex-login-refresh-probe hold-lock <CODEX_HOME>` takes the
//! cross-process auth lock, prints `locked`, and sleeps until killed.

use codex_login::auth_lock::AuthFileLock;
use codex_login::{AuthManager, AuthManagerConfig};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn fingerprint(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: codex-login-refresh-probe (refresh <CODEX_HOME> [START_AT_UNIX_MS] | hold-lock <CODEX_HOME>)"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, home] if command == "hold-lock" => hold_lock(PathBuf::from(home)),
        [command, home] if command == "refresh" => refresh(PathBuf::from(home), None),
        [command, home, start] if command == "refresh" => match start.parse::<i64>() {
            Ok(start) => refresh(PathBuf::from(home), Some(start)),
            Err(_) => usage(),
        },
        _ => usage(),
    }
}

fn hold_lock(home: PathBuf) -> ExitCode {
    match AuthFileLock::acquire_blocking(&home, Duration::from_secs(30)) {
        Ok(_lock) => {
            println!("locked");
            let _ = std::io::stdout().flush();
            std::thread::sleep(Duration::from_secs(600));
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}

fn refresh(home: PathBuf, start_at_ms: Option<i64>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start tokio: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let manager = AuthManager::new(AuthManagerConfig::new(home));
        if let Some(start) = start_at_ms {
            let wait = start - chrono::Utc::now().timestamp_millis();
            if wait > 0 {
                tokio::time::sleep(Duration::from_millis(wait.unsigned_abs())).await;
            }
        }
        let line = match manager.try_auth().await {
            Ok(Some(auth)) => serde_json::json!({
                "ok": true,
                "access_token_sha256": auth.bearer_token().map(|t| fingerprint(t.expose())),
                "refresh_token_sha256": auth.refresh_token().map(|t| fingerprint(t.expose())),
            }),
            Ok(None) => serde_json::json!({"ok": false, "error": "not logged in"}),
            Err(err) => serde_json::json!({"ok": false, "error": err.to_string()}),
        };
        println!("{line}");
        if line["ok"] == true {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}
