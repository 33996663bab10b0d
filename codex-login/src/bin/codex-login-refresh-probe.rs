//! Test helper for the cross-process tests of `codex-login`.
//!
//! `codex-login-refresh-probe refresh <CODEX_HOME> [START_AT_UNIX_MS]`
//! loads credentials like any Codex process (file store; refresh URL from
//! `CODEX_REFRESH_TOKEN_URL_OVERRIDE`; `CODEX_PROBE_STORE=keyring|auto`
//! reads and writes the OS keyring instead), waits until the start time so many
//! probes hit the expiry together, calls `AuthManager::try_auth`, and prints
//! one JSON line with SHA-256 fingerprints (never the tokens) of the result.
//! With `CODEX_PROBE_CLOCK_OFFSET_SECS=<n>` the manager's clock runs `n`
//! seconds ahead of the system clock, so a test can let tokens expire
//! without waiting.
//!
//! `codex-login-refresh-probe hold-lock <CODEX_HOME>` takes the
//! cross-process auth lock, prints `locked`, and sleeps until killed.
//!
//! `codex-login-refresh-probe save-loop <CODEX_HOME> <DOC_A> <DOC_B> <COUNT>`
//! saves the two `auth.json` documents alternately through
//! `FileAuthStorage::save`, `COUNT` times, each with the extra top-level field
//! `save_seq: <n>`, printing `saved <n> <a|b>` after each save returns (the
//! crash-safety test kills it at random points).
//!
//! `codex-login-refresh-probe read-loop <CODEX_HOME> <MILLIS>` reads
//! `auth.json` as fast as it can for `MILLIS` ms and prints one JSON line
//! counting the reads that parsed, that were missing, and that were invalid.

use chrono::{DateTime, Utc};
use codex_login::auth_dot_json::AuthDotJson;
use codex_login::auth_lock::AuthFileLock;
use codex_login::clock::Clock;
use codex_login::storage::{AuthStorage, CredentialStoreMode, FileAuthStorage};
use codex_login::{AuthManager, AuthManagerConfig};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Environment variable moving the probe's clock ahead by this many seconds.
const CLOCK_OFFSET_ENV_VAR: &str = "CODEX_PROBE_CLOCK_OFFSET_SECS";
/// Environment variable naming the credential store (`file` when unset).
const STORE_ENV_VAR: &str = "CODEX_PROBE_STORE";

/// The system clock moved by a fixed number of seconds.
#[derive(Debug)]
struct OffsetClock {
    offset: chrono::Duration,
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

fn fingerprint(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: codex-login-refresh-probe (refresh <CODEX_HOME> [START_AT_UNIX_MS] \
         | hold-lock <CODEX_HOME> | save-loop <CODEX_HOME> <DOC_A> <DOC_B> <COUNT> \
         | read-loop <CODEX_HOME> <MILLIS>)"
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
        [command, home, a, b, count] if command == "save-loop" => match count.parse::<u64>() {
            Ok(count) => save_loop(Path::new(home), Path::new(a), Path::new(b), count),
            Err(_) => usage(),
        },
        [command, home, millis] if command == "read-loop" => match millis.parse::<u64>() {
            Ok(millis) => read_loop(Path::new(home), Duration::from_millis(millis)),
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
    let offset_secs = match std::env::var(CLOCK_OFFSET_ENV_VAR) {
        Ok(text) => match text.trim().parse::<i64>() {
            Ok(secs) => Some(secs),
            Err(_) => {
                eprintln!("{CLOCK_OFFSET_ENV_VAR} must be a whole number of seconds");
                return ExitCode::from(2);
            }
        },
        Err(_) => None,
    };
    let store_mode = match std::env::var(STORE_ENV_VAR) {
        Ok(text) => match CredentialStoreMode::parse(text.trim()) {
            Some(mode) => mode,
            None => {
                eprintln!("{STORE_ENV_VAR} must be file, keyring, auto or ephemeral");
                return ExitCode::from(2);
            }
        },
        Err(_) => CredentialStoreMode::File,
    };
    runtime.block_on(async move {
        let mut config = AuthManagerConfig::new(home);
        config.store_mode = store_mode;
        if let Some(secs) = offset_secs {
            config.clock = Arc::new(OffsetClock {
                offset: chrono::Duration::seconds(secs),
            });
        }
        let manager = AuthManager::new(config);
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
            Err(err) => serde_json::json!({
                "ok": false,
                "error": err.to_string(),
                "requires_new_login": err.requires_new_login(),
                "kind": refresh_error_kind(&err),
            }),
        };
        println!("{line}");
        if line["ok"] == true {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}

/// The variant name of a refresh error, for assertions in tests.
fn refresh_error_kind(err: &codex_login::RefreshTokenError) -> &'static str {
    use codex_login::RefreshTokenError as E;
    match err {
        E::Permanent { .. } => "permanent",
        E::Transient(_) => "transient",
        E::OutcomeUnknown(_) => "outcome_unknown",
        E::Storage(_) => "storage",
        E::Lock(_) => "lock",
        E::Config(_) => "config",
        _ => "other",
    }
}

fn read_document(path: &Path) -> Result<AuthDotJson, String> {
    let bytes =
        std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    AuthDotJson::from_json_bytes(&bytes)
        .map_err(|err| format!("{} is not a valid auth.json: {err}", path.display()))
}

fn save_loop(home: &Path, doc_a: &Path, doc_b: &Path, count: u64) -> ExitCode {
    let documents = match (read_document(doc_a), read_document(doc_b)) {
        (Ok(a), Ok(b)) => [(a, "a"), (b, "b")],
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let storage = FileAuthStorage::new(home);
    let mut stdout = std::io::stdout().lock();
    for n in 0..count {
        let (document, name) = &documents[usize::from(n % 2 == 1)];
        let mut document = document.clone();
        document
            .extra
            .insert("save_seq".to_owned(), serde_json::Value::from(n));
        if let Err(err) = storage.save(&document) {
            eprintln!("save {n} failed: {err}");
            return ExitCode::FAILURE;
        }
        if writeln!(stdout, "saved {n} {name}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn read_loop(home: &Path, run_for: Duration) -> ExitCode {
    let path = home.join(codex_login::storage::AUTH_FILE_NAME);
    let started = Instant::now();
    let (mut parsed, mut missing, mut invalid) = (0u64, 0u64, 0u64);
    let mut first_problem: Option<String> = None;
    while started.elapsed() < run_for {
        match std::fs::read(&path) {
            Ok(bytes) => match AuthDotJson::from_json_bytes(&bytes) {
                Ok(_) => parsed += 1,
                Err(problem) => {
                    invalid += 1;
                    first_problem.get_or_insert_with(|| problem.to_string());
                }
            },
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => missing += 1,
            Err(err) => {
                invalid += 1;
                first_problem.get_or_insert_with(|| err.to_string());
            }
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "parsed": parsed,
            "missing": missing,
            "invalid": invalid,
            "first_problem": first_problem,
        })
    );
    ExitCode::SUCCESS
}
