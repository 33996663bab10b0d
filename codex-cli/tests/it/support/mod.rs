//! Shared helpers for the CLI tests: a temporary CODEX_HOME pointed at an
//! in-process emulator, and running the real `codex` binary in it.

#![allow(dead_code)]

pub mod official;
pub mod pty;

use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle, IssueTokens, IssuedTokens};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `codex` binary under test.
pub fn codex_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_codex"))
}

/// A CODEX_HOME whose config points at an emulator.
pub struct Home {
    pub dir: tempfile::TempDir,
    pub emulator: Option<EmulatorHandle>,
}

impl Home {
    /// A home with no emulator (offline commands only).
    pub fn offline() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            emulator: None,
        }
    }

    /// A home pointed at a fresh emulator.
    pub async fn with_emulator(config: EmulatorConfig) -> Self {
        let emulator = Emulator::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let urls = emulator.urls();
        std::fs::write(
            dir.path().join("config.toml"),
            format!(
                "issuer = \"{}\"\nchatgpt_base_url = \"{}\"\n",
                urls.issuer, urls.chatgpt_base_url
            ),
        )
        .unwrap();
        Self {
            dir,
            emulator: Some(emulator),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn auth_file(&self) -> PathBuf {
        self.path().join("auth.json")
    }

    pub fn emulator(&self) -> &EmulatorHandle {
        self.emulator.as_ref().unwrap()
    }

    /// Runs `codex <args>` with this CODEX_HOME and a clean credential environment.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_with_env(args, stdin, &[])
    }

    /// Like [`Home::run`], with extra environment variables.
    pub fn run_with_env(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(codex_bin());
        command
            .args(args)
            .env("CODEX_HOME", self.path())
            .env("NO_BROWSER", "1");
        for name in [
            "CODEX_API_KEY",
            "OPENAI_API_KEY",
            "CODEX_ACCESS_TOKEN",
            "CODEX_AGENT_IDENTITY",
            "CODEX_ISSUER",
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
            "OPENAI_BASE_URL",
            "RUST_LOG",
            "NO_COLOR",
            "CLICOLOR",
            "CLICOLOR_FORCE",
        ] {
            command.env_remove(name);
        }
        if let Some(emulator) = &self.emulator {
            let urls = emulator.urls();
            command
                .env(
                    "CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL",
                    &urls.authapi_base_url,
                )
                .env("CODEX_AGENT_IDENTITY_JWKS_BASE_URL", &urls.chatgpt_base_url);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        command.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            // The command may exit before reading stdin (a refused login).
            if let Err(err) = pipe.write_all(text.as_bytes()) {
                assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
            }
        }
        child.wait_with_output().unwrap()
    }

    /// Writes a managed ChatGPT auth.json holding `tokens`.
    pub fn write_chatgpt_login(&self, tokens: &IssuedTokens) {
        let document = serde_json::json!({
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": null,
            "tokens": {
                "id_token": tokens.id_token,
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "account_id": tokens.account_id,
            },
            "last_refresh": "2026-01-01T00:00:00Z",
        });
        std::fs::write(
            self.auth_file(),
            serde_json::to_string_pretty(&document).unwrap(),
        )
        .unwrap();
    }

    /// Issues a token set at the emulator and stores it as a ChatGPT login.
    pub fn seed_chatgpt_login(&self, access_token_ttl_secs: i64) -> IssuedTokens {
        let tokens = self.emulator().issue_chatgpt_tokens(IssueTokens {
            access_token_ttl_secs,
            ..IssueTokens::default()
        });
        self.write_chatgpt_login(&tokens);
        tokens
    }

    /// [`Home::seed_chatgpt_login`] with the id token's `iss` rewritten to `issuer` (id token
    /// signatures are not checked), for tests that refresh at another server on purpose:
    /// tokens only ever go back to the issuer that minted them.
    pub fn seed_chatgpt_login_minted_by(
        &self,
        access_token_ttl_secs: i64,
        issuer: &str,
    ) -> IssuedTokens {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut tokens = self.emulator().issue_chatgpt_tokens(IssueTokens {
            access_token_ttl_secs,
            ..IssueTokens::default()
        });
        let parts: Vec<&str> = tokens.id_token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        claims["iss"] = serde_json::Value::String(issuer.to_owned());
        tokens.id_token = format!(
            "{}.{}.{}",
            parts[0],
            engine.encode(claims.to_string()),
            parts[2]
        );
        self.write_chatgpt_login(&tokens);
        tokens
    }
}

/// stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code (-1 for a signal).
pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// Runs a blocking closure off the async runtime, so the in-process emulator keeps serving.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}
