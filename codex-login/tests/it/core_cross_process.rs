//! No refresh races: 100 tasks in one process, 8 OS processes on one
//! CODEX_HOME (5 rounds) against an issuer with reuse detection, and a lock
//! holder killed with SIGKILL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;
use crate::probe;

use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Faults};
use codex_login::codex_auth::CodexAuth;
use codex_login::storage::{AuthStorage, FileAuthStorage};
use core_support::*;
use sha2::{Digest, Sha256};
use std::io::BufReader;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fingerprint(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn probe_command(home: &Path, emu: &EmulatorHandle) -> Command {
    let mut command = probe::command();
    command
        .env(
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            format!("{}/oauth/token", emu.urls().issuer),
        )
        .env_remove("CODEX_API_KEY")
        .env_remove("CODEX_ACCESS_TOKEN")
        .env_remove("CODEX_AGENT_IDENTITY")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let _ = home;
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_tasks_on_an_expired_token_send_one_refresh() {
    let emu = emulator().await;
    emu.set_faults(Faults {
        refresh_delay_ms: 100,
        ..Faults::default()
    });
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, -60);
    seed_home(home.path(), &tokens);
    let manager = manager(home.path(), &emu);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let manager = manager.clone();
        tasks.push(tokio::spawn(async move { manager.auth().await }));
    }
    let mut tokens_seen = std::collections::HashSet::new();
    for task in tasks {
        let auth = task.await.unwrap().expect("logged in");
        tokens_seen.insert(auth.bearer_token().unwrap().expose().to_owned());
    }
    let stats = emu.stats();
    assert_eq!(stats.token_requests, 1, "{stats:?}");
    assert_eq!((stats.refresh_ok, stats.refresh_reused), (1, 0));
    assert_eq!(tokens_seen.len(), 1, "every task got the same token");
    let new_token = tokens_seen.into_iter().next().unwrap();
    assert_ne!(new_token, tokens.access_token);
    assert_eq!(new_token, stored_access_token(home.path()));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_on_one_home_refresh_exactly_once_for_five_rounds() {
    let emu = Emulator::start(EmulatorConfig {
        revoke_family_on_reuse: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    // As in the observed experiment: 200 ms per refresh, so the processes overlap.
    emu.set_faults(Faults {
        refresh_delay_ms: 200,
        ..Faults::default()
    });
    for round in 0..5 {
        let home = tempfile::tempdir().unwrap();
        let tokens = issue(&emu, -60);
        seed_home(home.path(), &tokens);
        let before = emu.stats();
        let start_at = chrono::Utc::now().timestamp_millis() + 1500;
        let children: Vec<_> = (0..8)
            .map(|_| {
                probe_command(home.path(), &emu)
                    .arg("refresh")
                    .arg(home.path())
                    .arg(start_at.to_string())
                    .spawn()
                    .expect("probe starts")
            })
            .collect();
        let outputs: Vec<_> = tokio::task::spawn_blocking(move || {
            children
                .into_iter()
                .map(|child| child.wait_with_output().expect("probe ends"))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        let after = emu.stats();
        let stored = FileAuthStorage::new(home.path())
            .load()
            .unwrap()
            .expect("auth.json valid");
        let stored = CodexAuth::from_auth_dot_json(stored).unwrap();
        let stored_access = fingerprint(stored.bearer_token().unwrap().expose());
        assert_ne!(
            stored.refresh_token().unwrap().expose(),
            tokens.refresh_token
        );
        for output in &outputs {
            let stdout = probe::stdout_lines(&output.stdout);
            let line: serde_json::Value =
                serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
                    panic!(
                        "round {round}: bad probe output {stdout:?} / {}",
                        String::from_utf8_lossy(&output.stderr)
                    )
                });
            assert_eq!(line["ok"], true, "round {round}: {line}");
            assert_eq!(
                line["access_token_sha256"],
                stored_access.as_str(),
                "round {round}: every process ends with the new token"
            );
        }
        assert_eq!(
            after.refresh_ok - before.refresh_ok,
            1,
            "round {round}: {after:?}"
        );
        assert_eq!(
            after.refresh_reused - before.refresh_reused,
            0,
            "round {round}"
        );
        assert_eq!(
            after.refresh_rejected - before.refresh_rejected,
            0,
            "round {round}"
        );
        assert_eq!(
            after.token_requests - before.token_requests,
            1,
            "round {round}"
        );
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_lock_holder_does_not_wedge_a_refresh() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, -60));

    let mut holder = probe_command(home.path(), &emu)
        .arg("hold-lock")
        .arg(home.path())
        .spawn()
        .unwrap();
    let mut holder_out = BufReader::new(holder.stdout.take().unwrap());
    let line = probe::read_line(&mut holder_out);
    assert_eq!(line.trim(), "locked");

    // A refresh in another process has to wait for the holder.
    let started = Instant::now();
    let waiter = probe_command(home.path(), &emu)
        .arg("refresh")
        .arg(home.path())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        emu.stats().token_requests,
        0,
        "nothing is sent while the lock is held"
    );

    holder.kill().unwrap(); // SIGKILL on Unix: no cleanup runs in the holder.
    let killed_at = Instant::now();
    holder.wait().unwrap();
    let output = tokio::task::spawn_blocking(move || waiter.wait_with_output().unwrap())
        .await
        .unwrap();
    let finished = Instant::now();
    let stdout = probe::stdout_lines(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The lock died with the holder; the waiter finished well inside its
    // 30 s wait bound (+1 s).
    assert!(
        finished - killed_at < Duration::from_secs(5),
        "{:?}",
        finished - killed_at
    );
    assert!(finished - started < Duration::from_secs(31));
    assert_eq!(emu.stats().refresh_ok, 1);
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        line["access_token_sha256"],
        fingerprint(&stored_access_token(home.path()))
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn lock_wait_is_bounded_with_a_clear_error() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, -60));
    let _held = codex_login::storage::AuthFileLock::try_acquire(home.path())
        .unwrap()
        .unwrap();
    let mut config = manager_config(home.path(), &emu);
    config.lock_wait = Duration::from_millis(300);
    let manager = codex_login::auth_manager::AuthManager::new(config);
    let started = Instant::now();
    let err = manager.try_auth().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(err, codex_login::auth_manager::RefreshTokenError::Lock(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("auth.json.lock"), "{err}");
    assert_eq!(emu.stats().token_requests, 0);
    emu.shutdown().await;
}
