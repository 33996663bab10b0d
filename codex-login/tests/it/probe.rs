//! The cross-process probe: this test binary, re-executed as a child process, acting as one
//! more Codex process on a `CODEX_HOME`. It replaces the former
//! `codex-login/src/bin/codex-login-refresh-probe.rs`, so the library package ships no
//! test-only binary while the tests still run real, separate OS processes.
//!
//! [`command`] starts `current_exe()` with libtest arguments selecting only
//! [`refresh_probe_entry`] (`--exact probe::refresh_probe_entry --nocapture --test-threads=1
//! -q`), then `--`; callers append the probe's own arguments with `Command::arg`. libtest
//! takes everything after `--` as further name filters, which with `--exact` match no test.
//! The entry test does nothing unless [`RUN_ENV_VAR`] is set (so it is a no-op in the normal
//! test run); when set, it runs the command named after `--`, and ends the process with the
//! command's exit code (`std::process::exit`, before libtest prints its summary):
//!
//! - `refresh <CODEX_HOME> [START_AT_UNIX_MS]` loads credentials like any Codex process
//!   (file store; refresh URL from `CODEX_REFRESH_TOKEN_URL_OVERRIDE`;
//!   `CODEX_PROBE_STORE=keyring|auto` reads and writes the OS keyring instead), waits until
//!   the start time so many probes hit the expiry together, calls `AuthManager::try_auth`,
//!   and prints one JSON line with SHA-256 fingerprints (never the tokens) of the result.
//!   With `CODEX_PROBE_CLOCK_OFFSET_SECS=<n>` the manager's clock runs `n` seconds ahead of
//!   the system clock, so a test can let tokens expire without waiting.
//! - `hold-lock <CODEX_HOME>` takes the cross-process auth lock, prints `locked`, and sleeps
//!   until killed.
//! - `save-loop <CODEX_HOME> <DOC_A> <DOC_B> <COUNT>` saves the two `auth.json` documents
//!   alternately through `FileAuthStorage::save`, `COUNT` times, each with the extra
//!   top-level field `save_seq: <n>`, printing `saved <n> <a|b>` after each save returns
//!   (the crash-safety test kills it at random points).
//! - `read-loop <CODEX_HOME> <MILLIS>` reads `auth.json` as fast as it can for `MILLIS` ms
//!   and prints one JSON line counting the reads that parsed, that were missing, and that
//!   were invalid.
//!
//! Exit codes: 0 success, 1 failure, 2 usage; a panic ends the process with libtest's 101.
//!
//! Output protocol: libtest writes its own lines to stdout (`running 1 test`, and the
//! failure report after a panic), so every probe line starts with [`LINE_PREFIX`] and is
//! written with one `write` and flushed at once (a reader may read it while the probe runs,
//! or kill the probe right after). Readers take the probe's lines with [`stdout_lines`] or
//! [`read_line`]; diagnostics go to stderr.

use chrono::{DateTime, Utc};
use codex_login::auth_dot_json::AuthDotJson;
use codex_login::clock::Clock;
use codex_login::storage::AuthFileLock;
use codex_login::storage::{AuthStorage, CredentialStoreMode, FileAuthStorage};
use codex_login::{auth_manager::AuthManager, auth_manager::AuthManagerConfig};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Set (to `1`) in the probe's environment: only then does [`refresh_probe_entry`] act.
pub const RUN_ENV_VAR: &str = "CODEX_LOGIN_PROBE";
/// The start of every line the probe writes for its reader.
pub const LINE_PREFIX: &str = "codex-login-probe: ";
/// The full libtest name of [`refresh_probe_entry`].
const ENTRY_TEST: &str = "probe::refresh_probe_entry";

/// Environment variable moving the probe's clock ahead by this many seconds.
const CLOCK_OFFSET_ENV_VAR: &str = "CODEX_PROBE_CLOCK_OFFSET_SECS";
/// Environment variable naming the credential store (`file` when unset).
const STORE_ENV_VAR: &str = "CODEX_PROBE_STORE";

/// The probe as a child process inheriting this process's environment; append the probe's
/// arguments (`refresh <CODEX_HOME>`, ...) with `Command::arg`.
pub fn command() -> Command {
    let mut command = Command::new(test_binary());
    add_probe_args(&mut command);
    command
}

/// Like [`command`], but with an empty environment apart from the probe's switch; add what
/// the probe needs with `Command::env`.
pub fn command_with_empty_env() -> Command {
    let mut command = Command::new(test_binary());
    command.env_clear();
    add_probe_args(&mut command);
    command
}

fn test_binary() -> PathBuf {
    std::env::current_exe().expect("the test binary knows its own path")
}

fn add_probe_args(command: &mut Command) {
    command
        .args([
            "--exact",
            ENTRY_TEST,
            "--nocapture",
            "--test-threads=1",
            "-q",
            "--",
        ])
        .env(RUN_ENV_VAR, "1");
}

/// The probe's lines in `stdout` (prefix removed, libtest's own lines dropped), joined by
/// newlines.
pub fn stdout_lines(stdout: &[u8]) -> String {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| line.strip_prefix(LINE_PREFIX))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The next probe line from a running probe's stdout (prefix removed), skipping libtest's
/// lines; empty at end of output.
pub fn read_line(reader: &mut impl BufRead) -> String {
    loop {
        let mut line = String::new();
        if reader
            .read_line(&mut line)
            .expect("probe stdout is readable")
            == 0
        {
            return String::new();
        }
        if let Some(rest) = line.strip_prefix(LINE_PREFIX) {
            return rest.trim_end_matches('\n').to_owned();
        }
    }
}

/// The probe's entry point: a no-op in the normal test run; in a probe process, runs the
/// command given after `--` and exits with its code.
#[test]
fn refresh_probe_entry() {
    if std::env::var_os(RUN_ENV_VAR).is_none() {
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip_while(|arg| arg != "--")
        .skip(1)
        .collect();
    let code = run(&args);
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code);
}

/// Writes one probe line (prefixed, one `write`, flushed); false when stdout is gone.
fn emit(line: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(format!("{LINE_PREFIX}{line}\n").as_bytes())
        .and_then(|()| stdout.flush())
        .is_ok()
}

fn usage() -> i32 {
    eprintln!(
        "usage: probe (refresh <CODEX_HOME> [START_AT_UNIX_MS] \
         | hold-lock <CODEX_HOME> | save-loop <CODEX_HOME> <DOC_A> <DOC_B> <COUNT> \
         | read-loop <CODEX_HOME> <MILLIS>)"
    );
    2
}

fn run(args: &[String]) -> i32 {
    match args {
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

fn hold_lock(home: PathBuf) -> i32 {
    match AuthFileLock::acquire_blocking(&home, Duration::from_secs(30)) {
        Ok(_lock) => {
            emit("locked");
            std::thread::sleep(Duration::from_secs(600));
            0
        }
        Err(err) => {
            eprintln!("{err}");
            1
        }
    }
}

fn refresh(home: PathBuf, start_at_ms: Option<i64>) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start tokio: {err}");
            return 1;
        }
    };
    let offset_secs = match std::env::var(CLOCK_OFFSET_ENV_VAR) {
        Ok(text) => match text.trim().parse::<i64>() {
            Ok(secs) => Some(secs),
            Err(_) => {
                eprintln!("{CLOCK_OFFSET_ENV_VAR} must be a whole number of seconds");
                return 2;
            }
        },
        Err(_) => None,
    };
    let store_mode = match std::env::var(STORE_ENV_VAR) {
        Ok(text) => match CredentialStoreMode::parse(text.trim()) {
            Some(mode) => mode,
            None => {
                eprintln!("{STORE_ENV_VAR} must be file, keyring, auto or ephemeral");
                return 2;
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
        let written = emit(&line.to_string());
        if written && line["ok"] == true { 0 } else { 1 }
    })
}

/// The variant name of a refresh error, for assertions in tests.
fn refresh_error_kind(err: &codex_login::auth_manager::RefreshTokenError) -> &'static str {
    use codex_login::auth_manager::RefreshTokenError as E;
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

fn save_loop(home: &Path, doc_a: &Path, doc_b: &Path, count: u64) -> i32 {
    let documents = match (read_document(doc_a), read_document(doc_b)) {
        (Ok(a), Ok(b)) => [(a, "a"), (b, "b")],
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("{err}");
            return 2;
        }
    };
    let storage = FileAuthStorage::new(home);
    for n in 0..count {
        let (document, name) = &documents[usize::from(n % 2 == 1)];
        let mut document = document.clone();
        document
            .extra
            .insert("save_seq".to_owned(), serde_json::Value::from(n));
        if let Err(err) = storage.save(&document) {
            eprintln!("save {n} failed: {err}");
            return 1;
        }
        if !emit(&format!("saved {n} {name}")) {
            return 1;
        }
    }
    0
}

fn read_loop(home: &Path, run_for: Duration) -> i32 {
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
    let line = serde_json::json!({
        "parsed": parsed,
        "missing": missing,
        "invalid": invalid,
        "first_problem": first_problem,
    });
    if emit(&line.to_string()) { 0 } else { 1 }
}
