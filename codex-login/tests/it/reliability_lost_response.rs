//! Lost response across processes: the issuer rotates the refresh token, then drops the
//! connection without answering. The process that sent it re-reads the store instead of
//! replaying; the processes queued behind it on `auth.json.lock`, and any process started
//! later, see the recorded outcome and send nothing either. Everyone gets the clear "refresh
//! outcome unknown" message, the store is left byte for byte as it was, and the token family
//! is never revoked for reuse. (`core_refresh::lost_answer_is_not_resent_and_reported_as_
//! outcome_unknown` covers the single-process case.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::reliability_support;

use codex_emulator::Faults;
use codex_login::refresh::REFRESH_OUTCOME_UNKNOWN_MESSAGE;
use reliability_support::*;
use std::time::Duration;

const PROCESSES: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_refresh_response_is_never_replayed_by_any_process() {
    let emu = strict_emulator().await;
    emu.set_faults(Faults {
        refresh_delay_ms: 300,
        drop_connection_after_refresh: 1,
        ..Faults::default()
    });
    let home = tempfile::tempdir().unwrap();
    let seeded = issue(&emu, -60);
    seed_home(home.path(), &seeded);
    let auth_json_before = std::fs::read(home.path().join("auth.json")).unwrap();

    let start_at = chrono::Utc::now().timestamp_millis() + 1200;
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            probe_command(&emu)
                .arg("refresh")
                .arg(home.path())
                .arg(start_at.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| child.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();

    let stats = emu.stats();
    assert_eq!(
        (
            stats.token_requests,
            stats.refresh_ok,
            stats.refresh_dropped
        ),
        (1, 1, 1),
        "one refresh was sent, processed and its answer dropped: {stats:?}"
    );
    assert_eq!(
        stats.refresh_reused, 0,
        "no process replayed the spent token"
    );
    assert_eq!(stats.refresh_rejected, 0, "{stats:?}");
    for output in &outputs {
        let line = probe_line(output);
        assert_eq!(line["ok"], false, "{line}");
        assert_eq!(line["kind"], "outcome_unknown", "{line}");
        let error = line["error"].as_str().unwrap();
        assert!(
            error.starts_with(REFRESH_OUTCOME_UNKNOWN_MESSAGE),
            "clear outcome-unknown message: {error}"
        );
        assert!(!error.contains(&seeded.refresh_token));
    }
    assert_eq!(
        std::fs::read(home.path().join("auth.json")).unwrap(),
        auth_json_before,
        "auth.json is left exactly as it was"
    );

    // A process started later still does not spend the token.
    let output = probe_command(&emu)
        .arg("refresh")
        .arg(home.path())
        .output()
        .unwrap();
    let line = probe_line(&output);
    assert_eq!(line["kind"], "outcome_unknown", "{line}");
    assert_eq!(emu.stats().token_requests, 1, "still exactly one request");
    assert_eq!(emu.stats().refresh_reused, 0);

    // Signing in again (new tokens in the store) works at once: the record only covers the
    // spent token.
    let relogin = issue(&emu, -60);
    seed_home(home.path(), &relogin);
    let output = probe_command(&emu)
        .arg("refresh")
        .arg(home.path())
        .output()
        .unwrap();
    let line = probe_line(&output);
    assert_eq!(line["ok"], true, "{line}");
    assert_eq!(emu.stats().refresh_ok, 2);
    assert_eq!(emu.stats().refresh_reused, 0);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_is_not_retried_by_other_processes() {
    let emu = strict_emulator().await;
    let home = tempfile::tempdir().unwrap();
    let seeded = issue(&emu, -60);
    seed_home(home.path(), &seeded);
    emu.set_faults(Faults {
        status_overrides: vec![codex_emulator::StatusOverride {
            path_prefix: "/oauth/token".to_owned(),
            status: 401,
            body: r#"{"error":{"code":"refresh_token_expired","message":"expired"}}"#.to_owned(),
            times: 0,
        }],
        ..Faults::default()
    });
    let auth_json_before = std::fs::read(home.path().join("auth.json")).unwrap();
    for attempt in 0..3 {
        let output = probe_command(&emu)
            .arg("refresh")
            .arg(home.path())
            .output()
            .unwrap();
        let line = probe_line(&output);
        assert_eq!(line["kind"], "permanent", "attempt {attempt}: {line}");
        assert_eq!(line["requires_new_login"], true);
        assert!(
            line["error"]
                .as_str()
                .unwrap()
                .contains("refresh token has expired"),
            "{line}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        emu.stats().faults_injected,
        1,
        "only the first process asked; the others read the recorded refusal"
    );
    assert_eq!(
        std::fs::read(home.path().join("auth.json")).unwrap(),
        auth_json_before
    );
    emu.shutdown().await;
}
