//! Refresh storm: 8 OS processes (the probe binary) on one `CODEX_HOME`, round after round of
//! access-token expiry, against the emulator with reuse detection and family revocation on.
//! Every round must cost exactly one successful refresh and zero reuse rejections, and every
//! process must end up with the stored (newest) token, which the backend accepts.
//!
//! Three variants: no delay; the issuer delaying each refresh by 500 ms; and 500 ms with the
//! process holding the refresh lock SIGKILLed while its request is in flight, every round.
//! The first also runs with the login in the OS keyring (the Secret Service on Linux) instead
//! of `auth.json`; it skips loudly without one (fails with `CODEX_REQUIRE_SECRET_SERVICE=1`).
//!
//! Expiry without waiting: round `r` runs the probes with their clock `r` hours ahead
//! (`CODEX_PROBE_CLOCK_OFFSET_SECS`) while the emulator issues access tokens living
//! `r + 1` hours, so the previous round's token is inside the refresh window and the new one
//! is not.
//!
//! Rounds: `CODEX_RELIABILITY_STORM_ROUNDS`, else 20 with `CODEX_RELIABILITY_FULL=1`, else 5.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::reliability_support;
use codex_test_support::keyring as keyring_support;

use codex_emulator::{EmulatorHandle, EmulatorStats, Faults};
use codex_login::storage::{CredentialStoreMode, storage_for_mode};
use reliability_support::*;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

const PROCESSES: usize = 8;
const HOUR: i64 = 3600;

/// The storms are heavy for a 2-core machine; they run one at a time.
static ONE_STORM_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Plain,
    SlowIssuer,
    KillLockHolder,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::SlowIssuer => "refresh-delay-500ms",
            Self::KillLockHolder => "sigkill-lock-holder-mid-refresh",
        }
    }

    fn refresh_delay_ms(self) -> u64 {
        match self {
            Self::Plain => 0,
            Self::SlowIssuer | Self::KillLockHolder => 500,
        }
    }
}

fn delta(after: &EmulatorStats, before: &EmulatorStats) -> EmulatorStats {
    EmulatorStats {
        token_requests: after.token_requests - before.token_requests,
        refresh_ok: after.refresh_ok - before.refresh_ok,
        refresh_reused: after.refresh_reused - before.refresh_reused,
        refresh_rejected: after.refresh_rejected - before.refresh_rejected,
        refresh_dropped: after.refresh_dropped - before.refresh_dropped,
        ..EmulatorStats::default()
    }
}

fn spawn_probes(
    emu: &EmulatorHandle,
    home: &std::path::Path,
    offset: i64,
    mode: CredentialStoreMode,
) -> Vec<Child> {
    let start_at = chrono::Utc::now().timestamp_millis() + 1200;
    (0..PROCESSES)
        .map(|_| {
            probe_command(emu)
                .env("CODEX_PROBE_CLOCK_OFFSET_SECS", offset.to_string())
                .env("CODEX_PROBE_STORE", mode.as_str())
                .arg("refresh")
                .arg(home)
                .arg(start_at.to_string())
                .spawn()
                .expect("probe starts")
        })
        .collect()
}

async fn wait_all(children: Vec<Child>) -> Vec<(u32, Output)> {
    tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| (child.id(), child.wait_with_output().expect("probe ends")))
            .collect()
    })
    .await
    .unwrap()
}

/// Waits until the issuer has received a refresh request this round, then SIGKILLs the probe
/// holding `auth.json.lock` (the one whose request is in flight). Returns its pid.
async fn kill_lock_holder_mid_refresh(
    emu: &EmulatorHandle,
    home: &std::path::Path,
    before: &EmulatorStats,
    children: &mut [Child],
) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    while emu.stats().token_requests == before.token_requests {
        assert!(Instant::now() < deadline, "no refresh request arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let lock = home.join("auth.json.lock");
    let holder = flock_holder(&lock).expect("the sender holds auth.json.lock during its request");
    let child = children
        .iter_mut()
        .find(|child| child.id() == holder)
        .unwrap_or_else(|| panic!("lock holder {holder} is not one of our probes"));
    assert_eq!(
        emu.stats().refresh_ok,
        before.refresh_ok,
        "the kill must land before the issuer answers"
    );
    child.kill().unwrap(); // SIGKILL: no destructor, no cleanup, lock released by the kernel.
    holder
}

async fn backend_accepts(emu: &EmulatorHandle, access_token: &str, account_id: &str) -> u16 {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/wham/usage", emu.urls().chatgpt_base_url))
        .bearer_auth(access_token)
        .header("chatgpt-account-id", account_id)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn storm(variant: Variant, mode: CredentialStoreMode) {
    let _one_at_a_time = ONE_STORM_AT_A_TIME.lock().await;
    let rounds = count_from_env("CODEX_RELIABILITY_STORM_ROUNDS", 5, 20);
    let emu = strict_emulator().await;
    emu.set_faults(Faults {
        refresh_delay_ms: variant.refresh_delay_ms(),
        ..Faults::default()
    });
    let home = tempfile::tempdir().unwrap();
    let seeded = issue(&emu, -60);
    seed_store(home.path(), &seeded, mode);
    let started = Instant::now();
    let first = emu.stats();
    let mut previous_refresh = seeded.refresh_token.clone();
    let mut killed = 0u64;
    let mut slowest_round = Duration::ZERO;

    for round in 0..rounds {
        let round_started = Instant::now();
        let offset = i64::try_from(round).unwrap() * HOUR;
        emu.set_access_token_ttl(offset + HOUR);
        let before = emu.stats();
        let mut children = spawn_probes(&emu, home.path(), offset, mode);
        let killed_pid = if variant == Variant::KillLockHolder {
            killed += 1;
            Some(kill_lock_holder_mid_refresh(&emu, home.path(), &before, &mut children).await)
        } else {
            None
        };
        let outputs = wait_all(children).await;
        let round_stats = delta(&emu.stats(), &before);

        let stored_refresh = stored_token_in(home.path(), "refresh_token", mode);
        let stored_access = fingerprint(&stored_token_in(home.path(), "access_token", mode));
        assert_ne!(
            stored_refresh, previous_refresh,
            "round {round}: the store holds the rotated refresh token"
        );
        previous_refresh = stored_refresh;
        for (pid, output) in &outputs {
            if Some(*pid) == killed_pid {
                assert!(
                    !output.status.success(),
                    "round {round}: the killed probe died"
                );
                continue;
            }
            let line = probe_line(output);
            assert_eq!(line["ok"], true, "round {round}, pid {pid}: {line}");
            assert_eq!(
                line["access_token_sha256"],
                stored_access.as_str(),
                "round {round}, pid {pid}: every process ends with the stored token"
            );
        }
        assert_eq!(round_stats.refresh_ok, 1, "round {round}: {round_stats:?}");
        assert_eq!(
            round_stats.refresh_reused, 0,
            "round {round}: {round_stats:?}"
        );
        assert_eq!(
            round_stats.refresh_rejected, 0,
            "round {round}: {round_stats:?}"
        );
        let expected_requests = if killed_pid.is_some() { 2 } else { 1 };
        assert_eq!(
            round_stats.token_requests, expected_requests,
            "round {round}: one request per expiry (plus the one abandoned by the killed process)"
        );
        slowest_round = slowest_round.max(round_started.elapsed());
    }

    let total = delta(&emu.stats(), &first);
    assert_eq!(total.refresh_ok, rounds, "{total:?}");
    assert_eq!(total.refresh_reused, 0, "{total:?}");

    // Every process is authenticated at the end: 8 more probes on the last round's clock use
    // the stored token without a request, and the backend accepts it.
    let before = emu.stats();
    let offset = i64::try_from(rounds - 1).unwrap() * HOUR;
    let outputs = wait_all(spawn_probes(&emu, home.path(), offset, mode)).await;
    let stored_access = stored_token_in(home.path(), "access_token", mode);
    for (pid, output) in &outputs {
        let line = probe_line(output);
        assert_eq!(line["ok"], true, "final check, pid {pid}: {line}");
        assert_eq!(line["access_token_sha256"], fingerprint(&stored_access));
    }
    assert_eq!(emu.stats().token_requests, before.token_requests);
    let account_id = read_store(home.path(), mode)["tokens"]["account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        backend_accepts(&emu, &stored_access, &account_id).await,
        200,
        "the final stored access token authenticates at the backend"
    );
    let stats = emu.stats();
    if mode != CredentialStoreMode::File {
        assert!(
            !home.path().join("auth.json").exists(),
            "a {mode} login never lands in auth.json"
        );
        assert!(storage_for_mode(home.path(), mode).delete().unwrap());
    }
    eprintln!(
        "RELIABILITY-FIGURES refresh-storm variant={} store={mode} processes={PROCESSES} rounds={rounds} \
         token_requests={} refresh_ok={} refresh_reused={} refresh_rejected={} killed={killed} \
         bearer_ok={} bearer_rejected={} elapsed_ms={} slowest_round_ms={}",
        variant.name(),
        total.token_requests,
        total.refresh_ok,
        total.refresh_reused,
        total.refresh_rejected,
        stats.bearer_ok,
        stats.bearer_rejected,
        started.elapsed().as_millis(),
        slowest_round.as_millis(),
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_storm_eight_processes_one_refresh_per_expiry() {
    storm(Variant::Plain, CredentialStoreMode::File).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_storm_in_the_os_keyring_eight_processes_one_refresh_per_expiry() {
    if !keyring_support::secret_service_or_skip(
        "refresh_storm_in_the_os_keyring_eight_processes_one_refresh_per_expiry",
    ) {
        return;
    }
    storm(Variant::Plain, CredentialStoreMode::Keyring).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_storm_with_500ms_issuer_delay() {
    storm(Variant::SlowIssuer, CredentialStoreMode::File).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_storm_with_lock_holder_sigkilled_mid_refresh() {
    storm(Variant::KillLockHolder, CredentialStoreMode::File).await;
}
