//! Issue 13 against the real `codex` binary: administrator restrictions enforced by
//! `whoami --check` before any request (point 5), the spent refresh token never replayed after
//! a save fails on a full disk (point 2), and an echoing token endpoint during a browser login
//! (point 1: the page, stderr and `codex-login.log` hold none of the sent secrets).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_emulator::{EmulatorConfig, SeedAccount};
use std::sync::Arc;
use support::{Home, blocking, code, stderr};

fn add_config(home: &Home, line: &str) {
    let path = home.path().join("config.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(line);
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_check_refuses_a_login_outside_the_forced_workspace_before_any_request() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    // Expired: a careless check would refresh before calling the backend.
    home.seed_chatgpt_login(-60);
    add_config(&home, "forced_chatgpt_workspace_id = \"ws-allowed\"");
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check"], None)).await;
    assert_eq!(
        stderr(&out),
        format!(
            "Login is restricted to workspace(s) ws-allowed, but current credentials belong to {}. Logging out.\n",
            SeedAccount::default().account_id
        )
    );
    assert_eq!(code(&out), 5, "5: stored credentials need a new login");
    assert!(!home.auth_file().exists(), "logged out");
    let stats = home.emulator().stats();
    assert_eq!(stats.token_requests, 0, "{stats:?}");
    assert_eq!(stats.backend_requests, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_check_refuses_a_forbidden_login_method_before_any_request() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    home.seed_chatgpt_login(-60);
    add_config(&home, "forced_login_method = \"api\"");
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check"], None)).await;
    assert_eq!(
        stderr(&out),
        "API key login is required, but ChatGPT is currently being used. Logging out.\n"
    );
    assert_eq!(code(&out), 5, "5: stored credentials need a new login");

    // ChatGPT forced and CODEX_API_KEY set.
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    add_config(&home, "forced_login_method = \"chatgpt\"");
    let h = home.clone();
    let out = blocking(move || {
        h.run_with_env(
            &["whoami", "--check"],
            None,
            &[("CODEX_API_KEY", "sk-proj-forced-0123456789abcdef")],
        )
    })
    .await;
    assert_eq!(
        stderr(&out),
        "ChatGPT login is required, but an API key is currently being used. Logging out.\n"
    );
    assert_eq!(code(&out), 5, "5: stored credentials need a new login");
    let stats = home.emulator().stats();
    assert_eq!(
        stats.token_requests + stats.backend_requests,
        0,
        "{stats:?}"
    );
}

/// Runs `script` with `sh` in a private mount namespace (`unshare -m`), with `env` set and the
/// credential variables of the test's own environment removed. `None` when namespaces or
/// mounts are not allowed here.
fn in_private_mount_namespace(script: &str, env: &[(&str, &str)]) -> Option<std::process::Output> {
    let mut command = std::process::Command::new("unshare");
    command.arg("-m").arg("sh").arg("-c").arg(script);
    for name in [
        "CODEX_API_KEY",
        "OPENAI_API_KEY",
        "CODEX_ACCESS_TOKEN",
        "CODEX_AGENT_IDENTITY",
        "CODEX_ISSUER",
        "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
        "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
        "RUST_LOG",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = command.output().ok()?;
    // Exit 97 is the script's way of saying the tmpfs could not be mounted.
    (output.status.code() != Some(97) && !stderr(&output).starts_with("unshare:")).then_some(output)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_cannot_be_saved_on_a_full_disk_never_replays_the_spent_token() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let seeded = home.seed_chatgpt_login(-60);
    std::fs::write(home.path().join("auth.json.lock"), b"").unwrap();
    let mount = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    // Mount a 64 KiB tmpfs as CODEX_HOME, copy the login in, fill the disk to the last byte,
    // then run `whoami --check` twice (each needs a refresh first).
    let script = r#"
        mount -t tmpfs -o size=64k tmpfs "$MNT" || exit 97
        cp "$STAGE/config.toml" "$STAGE/auth.json" "$STAGE/auth.json.lock" "$MNT/" || exit 98
        chmod 600 "$MNT/auth.json"
        dd if=/dev/zero of="$MNT/filler" bs=1024 2>/dev/null
        dd if=/dev/zero of="$MNT/filler2" bs=1 2>/dev/null
        for run in 1 2; do
            "$CODEX" whoami --check >"$OUT/$run.out" 2>"$OUT/$run.err"
            echo $? >"$OUT/$run.code"
        done
        df -k "$MNT" >"$OUT/df"
        cp "$MNT/auth.json" "$OUT/auth.after"
    "#;
    let codex = support::codex_bin();
    let (mnt, stage, out_dir) = (
        mount.path().to_path_buf(),
        home.path().to_path_buf(),
        out.path().to_path_buf(),
    );
    let ran = blocking(move || {
        in_private_mount_namespace(
            script,
            &[
                ("MNT", mnt.to_str().unwrap()),
                ("STAGE", stage.to_str().unwrap()),
                ("OUT", out_dir.to_str().unwrap()),
                ("CODEX", codex.to_str().unwrap()),
                ("CODEX_HOME", mnt.to_str().unwrap()),
                ("NO_BROWSER", "1"),
            ],
        )
    })
    .await;
    let Some(ran) = ran else {
        // `.ci/run` (root, Linux) demands it; elsewhere a loud skip.
        assert!(
            std::env::var("CODEX_REQUIRE_TMPFS_TESTS").as_deref() != Ok("1"),
            "CODEX_REQUIRE_TMPFS_TESTS=1 but no private tmpfs could be mounted"
        );
        eprintln!(
            "SKIPPED: a_refresh_that_cannot_be_saved_on_a_full_disk_never_replays_the_spent_token \
             needs `unshare -m` and a tmpfs mount (run as root, as CI does)"
        );
        return;
    };
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap_or_default();
    assert!(
        ran.status.success(),
        "script: {}\n{}",
        stderr(&ran),
        read("df")
    );
    let stats = home.emulator().stats();
    assert_eq!(stats.refresh_ok, 1, "the issuer rotated once: {stats:?}");
    assert_eq!(
        stats.refresh_reused, 0,
        "the spent token was never replayed: {stats:?}"
    );
    assert_eq!(stats.token_requests, 1, "{stats:?}");

    let first = read("1.err");
    assert!(
        first.starts_with("Your login was refreshed, but the new tokens could not be saved ("),
        "{first}"
    );
    assert!(first.contains("No space left on device"), "{first}");
    assert!(
        first.contains("will not be sent again") && first.contains("run `codex login`"),
        "{first}"
    );
    assert_eq!(read("1.code").trim(), "5", "{first}");
    let second = read("2.err");
    assert!(second.contains("Run `codex login` again."), "{second}");
    assert_eq!(read("2.code").trim(), "5", "{second}");

    // The spent token is gone from auth.json (blanked in place: the disk had no room for more).
    let after: serde_json::Value = serde_json::from_str(&read("auth.after")).unwrap();
    assert_eq!(after["tokens"]["refresh_token"], "");
    assert_eq!(
        after["tokens"]["access_token"],
        seeded.access_token.as_str()
    );
    assert!(!read("auth.after").contains(&seeded.refresh_token));
}

/// A token endpoint that answers every request with `400` and a plain-text copy of the whole
/// request (request line, headers, body), as some proxies do. Returns its base URL and the
/// requests it received.
async fn start_echo_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let received: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let recorded = received.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let recorded = recorded.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let mut wanted = usize::MAX;
                while buf.len() < wanted {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|line| line.strip_prefix("content-length:"))
                            .and_then(|value| value.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        wanted = end + 4 + length;
                    }
                }
                let request = String::from_utf8_lossy(&buf).into_owned();
                recorded.lock().unwrap().push(request.clone());
                let body = format!("request rejected: {request}");
                let response = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (base, received)
}

/// `GET path` on `127.0.0.1:port` over plain HTTP/1.1; the whole response as text.
async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// The lock every test binding the registered callback ports takes (see codex-login's flow
/// tests), so parallel test binaries never race for 1455/1457.
fn lock_fixed_callback_ports() -> std::fs::File {
    let path = std::env::temp_dir().join("codex-login-fixed-callback-ports.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap();
    file.lock().unwrap();
    file
}

/// Pieces of `secret` that must not show: the whole, and its start, middle and end.
fn fragments(secret: &str) -> Vec<String> {
    const PIECE: usize = 12;
    let mut pieces = vec![secret.to_owned()];
    if secret.len() > 2 * PIECE && secret.is_ascii() {
        let middle = secret.len() / 2 - PIECE / 2;
        pieces.push(secret[..PIECE].to_owned());
        pieces.push(secret[middle..middle + PIECE].to_owned());
        pieces.push(secret[secret.len() - PIECE..].to_owned());
    }
    pieces
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoing_token_endpoint_gets_no_secret_shown_logged_or_rendered_by_codex_login() {
    use std::io::BufRead;
    let _ports = lock_fixed_callback_ports();
    let (issuer, received) = start_echo_server().await;
    let home = Arc::new(Home::offline());
    std::fs::write(
        home.path().join("config.toml"),
        format!("issuer = \"{issuer}\"\n"),
    )
    .unwrap();
    let mut child = std::process::Command::new(support::codex_bin())
        .arg("login")
        .env("CODEX_HOME", home.path())
        .env("NO_BROWSER", "1")
        .env_remove("RUST_LOG")
        .env_remove("CODEX_ISSUER")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let stderr_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr_pipe).lines() {
            let _ = lines_tx.send(line.unwrap());
        }
    });
    let mut printed = String::new();
    let auth_url = loop {
        let line = lines_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("codex login prints the sign-in URL");
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("/oauth/authorize?") {
            break line.trim().to_owned();
        }
    };
    let param = |name: &str| {
        let start = auth_url.find(&format!("{name}=")).unwrap() + name.len() + 1;
        let rest = &auth_url[start..];
        rest[..rest.find('&').unwrap_or(rest.len())].to_owned()
    };
    let state = param("state");
    let redirect = param("redirect_uri");
    let port: u16 = redirect
        .split("%3A")
        .nth(2)
        .and_then(|rest| rest.split("%2F").next())
        .unwrap()
        .parse()
        .unwrap();
    // The code carries characters that form- and percent-encoding change.
    let code = "ac/secret+code=with&chars 0123456789abcdef";
    let encoded = "ac%2Fsecret%2Bcode%3Dwith%26chars%200123456789abcdef";
    let page = http_get(
        port,
        &format!("/auth/callback?code={encoded}&state={state}"),
    )
    .await;
    let status = blocking(move || child.wait().unwrap()).await;
    reader.join().unwrap();
    printed.extend(lines_rx.try_iter().map(|line| line + "\n"));
    let log = std::fs::read_to_string(home.path().join("log").join("codex-login.log")).unwrap();

    let sent = received.lock().unwrap().join("\n");
    let verifier = sent
        .split("code_verifier=")
        .nth(1)
        .map(|rest| rest.split(['&', '\r', '\n']).next().unwrap().to_owned())
        .expect("the exchange sent a verifier");
    assert!(verifier.len() >= 43, "{sent}");
    assert!(
        sent.contains("code=ac%2Fsecret%2Bcode%3Dwith%26chars+0123456789abcdef"),
        "{sent}"
    );
    assert!(!status.success());
    assert!(printed.contains("Token exchange failed"), "{printed}");
    assert!(printed.contains("[REDACTED]"), "{printed}");
    assert!(page.contains("[REDACTED]"), "{page}");
    assert!(log.contains("[REDACTED]"), "{log}");
    let form_code = "ac%2Fsecret%2Bcode%3Dwith%26chars+0123456789abcdef";
    for (what, text) in [("stderr", &printed), ("page", &page), ("log", &log)] {
        for secret in [code, form_code, encoded, verifier.as_str()] {
            for piece in fragments(secret) {
                assert!(
                    !text.contains(&piece),
                    "the {what} holds a piece of a sent secret:\n{text}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_configured_for_another_issuer_removes_the_login_and_sends_it_nowhere() {
    let (elsewhere, received) = start_echo_server().await;
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    home.seed_chatgpt_login(3600);
    let issuer = home.emulator().urls().issuer.clone();
    let h = home.clone();
    let revoke_url = format!("{elsewhere}/oauth/revoke");
    let out = blocking(move || {
        h.run_with_env(
            &["logout"],
            None,
            &[("CODEX_REVOKE_TOKEN_URL_OVERRIDE", revoke_url.as_str())],
        )
    })
    .await;
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "Warning: the token was not revoked: The stored login was issued by {issuer}, but revoking it would send its token to {elsewhere}"
        )),
        "{err}"
    );
    assert!(err.ends_with("Successfully logged out\n"), "{err}");
    assert_eq!(code(&out), 0);
    assert!(!home.auth_file().exists());
    assert!(
        received.lock().unwrap().is_empty(),
        "the other server saw nothing"
    );
    assert_eq!(home.emulator().stats().revoked, 0);
}
