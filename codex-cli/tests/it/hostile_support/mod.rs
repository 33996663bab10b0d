//! Helpers for the hostile-input tests: run the real `codex` with nothing inherited and a
//! time limit, and a server whose answers never end.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{codex_bin, stderr};

/// Variables a test must not inherit from the machine it runs on.
pub const INHERITED: &[&str] = &[
    "CODEX_API_KEY",
    "OPENAI_API_KEY",
    "CODEX_ACCESS_TOKEN",
    "CODEX_AGENT_IDENTITY",
    "CODEX_ISSUER",
    "CODEX_CA_CERTIFICATE",
    "SSL_CERT_FILE",
    "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
    "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
    "RUST_LOG",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// `codex` with `CODEX_HOME=home`, no browser, nothing inherited, output piped.
pub fn codex(home: &Path) -> Command {
    let mut command = Command::new(codex_bin());
    command.env("CODEX_HOME", home).env("NO_BROWSER", "1");
    for name in INHERITED {
        command.env_remove(name);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` at most `limit`; a child still running then is killed and the test fails.
pub fn finish_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} still ran after {limit:?} (killed); stderr: {}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the child when a test fails before the child ended, so no process is left behind.
pub struct KillOnDrop(pub Option<Child>);

impl KillOnDrop {
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }

    pub fn take(mut self) -> Child {
        self.0.take().unwrap()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn run_within(mut command: Command, limit: Duration, what: &str) -> Output {
    finish_within(command.spawn().unwrap(), limit, what)
}

/// Asserts the process ended on its own with a clear error: not 0, not a panic (101), no signal.
pub fn assert_clean_failure(out: &Output, what: &str) {
    let text = stderr(out);
    let status = out.status.code();
    assert!(
        status.is_some_and(|code| code != 0 && code != 101),
        "{what}: expected a clean error exit, got {:?}; stderr: {text}",
        out.status
    );
    assert!(!text.contains("panicked"), "{what}: {text}");
}

pub fn write_config(home: &Path, text: &str) {
    std::fs::write(home.join("config.toml"), text).unwrap();
}

/// An HTTP/1.1 server on 127.0.0.1 that answers every request `200` with a chunked body that
/// never ends (it stops only when the client hangs up). Returns its base URL.
pub async fn endless_body_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            transfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    base
}
