//! Secret hygiene of the real `codex` binary: API-key, device-code and access-token logins,
//! a refresh, `whoami` (offline and `--check`), `login status` and `logout`, all with
//! `RUST_LOG=trace`, against the emulator. Everything the processes print (stdout and stderr)
//! and every file they leave in CODEX_HOME other than `auth.json` is searched for every secret
//! created on the way: API key, id/access/refresh tokens before and after the refresh, the
//! agent identity JWT and its private key. No secret is ever passed in argv (keys and tokens
//! go through stdin).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_emulator::EmulatorConfig;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use support::{Home, blocking, code, stderr, stdout};

const TRACE: &[(&str, &str)] = &[("RUST_LOG", "trace")];

/// Pieces of `secret` that must not show either: the whole, and its start, middle and end.
fn fragments(secret: &str) -> Vec<&str> {
    const PIECE: usize = 16;
    let mut pieces = vec![secret];
    if secret.len() > 2 * PIECE && secret.is_ascii() {
        let middle = secret.len() / 2 - PIECE / 2;
        pieces.push(&secret[..PIECE]);
        pieces.push(&secret[middle..middle + PIECE]);
        pieces.push(&secret[secret.len() - PIECE..]);
    }
    pieces
}

fn stored_tokens(home: &Path) -> Vec<String> {
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join("auth.json")).unwrap()).unwrap();
    ["id_token", "access_token", "refresh_token"]
        .iter()
        .map(|field| stored["tokens"][field].as_str().unwrap().to_owned())
        .collect()
}

/// Every file under `dir` except `auth.json`, as text.
fn files_except_auth_json(dir: &Path, into: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_except_auth_json(&path, into);
        } else if path.file_name().is_some_and(|name| name != "auth.json") {
            into.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
            into.push('\n');
        }
    }
}

struct Session {
    home: Arc<Home>,
    captured: String,
    commands: usize,
}

impl Session {
    async fn run(&mut self, args: &'static [&'static str], stdin: Option<String>) -> Output {
        let home = self.home.clone();
        let out = blocking(move || home.run_with_env(args, stdin.as_deref(), TRACE)).await;
        self.captured.push_str(&stdout(&out));
        self.captured.push_str(&stderr(&out));
        self.commands += 1;
        out
    }

    async fn ok(&mut self, args: &'static [&'static str], stdin: Option<String>) {
        let out = self.run(args, stdin).await;
        assert_eq!(code(&out), 0, "codex {args:?} failed:\n{}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_output_of_every_command_holds_no_secret() {
    let home = Arc::new(
        Home::with_emulator(EmulatorConfig {
            auto_approve: true,
            ..EmulatorConfig::default()
        })
        .await,
    );
    let mut session = Session {
        home: home.clone(),
        captured: String::new(),
        commands: 0,
    };
    let mut secrets: Vec<String> = Vec::new();

    // API key.
    let api_key = format!("sk-proj-{}", "7f3c9a1e5b2d4c6f8a0e1d3b5c7a9f2e");
    secrets.push(api_key.clone());
    session
        .ok(&["login", "--with-api-key"], Some(format!("{api_key}\n")))
        .await;
    session.ok(&["login", "status"], None).await;
    session.ok(&["whoami"], None).await;
    session.ok(&["whoami", "--json"], None).await;
    session.ok(&["logout"], None).await;

    // Device code; the tokens it gets are already expired, so `whoami --check` refreshes.
    home.emulator().set_access_token_ttl(-60);
    session.ok(&["login", "--device-auth"], None).await;
    secrets.extend(stored_tokens(home.path()));
    home.emulator().set_access_token_ttl(3600);
    let before = home.emulator().stats();
    session.ok(&["whoami", "--check", "--json"], None).await;
    let after = home.emulator().stats();
    assert_eq!(
        after.refresh_ok,
        before.refresh_ok + 1,
        "whoami --check refreshed"
    );
    secrets.extend(stored_tokens(home.path()));
    session.ok(&["whoami"], None).await;
    session.ok(&["login", "status"], None).await;
    session.ok(&["logout"], None).await;
    assert_eq!(home.emulator().stats().revoked, after.revoked + 1);

    // Access token (agent identity JWT): task registration and an AgentAssertion on --check.
    let minted = home.emulator().mint_agent_identity_jwt();
    secrets.push(minted.jwt.clone());
    secrets.push(minted.private_key_pkcs8_base64.clone());
    session
        .ok(
            &["login", "--with-access-token"],
            Some(format!("{}\n", minted.jwt)),
        )
        .await;
    session.ok(&["whoami", "--check", "--json"], None).await;
    assert!(home.emulator().stats().assertions_ok >= 1);
    session.ok(&["logout"], None).await;

    files_except_auth_json(home.path(), &mut session.captured);
    let trace_lines = session
        .captured
        .lines()
        .filter(|line| line.contains("TRACE") || line.contains("DEBUG"))
        .count();
    assert!(
        trace_lines > 50,
        "expected a real TRACE capture, got {trace_lines} TRACE/DEBUG lines"
    );
    for secret in &secrets {
        assert!(secret.len() >= 16, "secret too short to search for");
        for piece in fragments(secret) {
            assert!(
                !session.captured.contains(piece),
                "a secret ({} chars) leaked into the output or a file in CODEX_HOME",
                secret.len()
            );
        }
    }
    eprintln!(
        "RELIABILITY-FIGURES cli-trace commands={} captured_bytes={} trace_or_debug_lines={trace_lines} secrets={}",
        session.commands,
        session.captured.len(),
        secrets.len()
    );
}
