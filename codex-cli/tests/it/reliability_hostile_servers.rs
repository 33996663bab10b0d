//! Issue 13 points 6, 8, 11 (an endless token answer) and 12, and issue 14 point 10, through
//! the real `codex` binary against hostile servers on loopback: a device-code server asking
//! for a `u64::MAX` interval, a recording proxy, a dead proxy, a token endpoint streaming
//! forever, and the login log at `RUST_LOG=debug`. Every child runs with a time limit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::hostile_support;
use crate::support;

use std::io::{BufRead, Read, Write};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use codex_emulator::EmulatorConfig;
use hostile_support::{
    KillOnDrop, assert_clean_failure, codex, endless_body_server, finish_within, run_within,
    write_config,
};
use support::{Home, blocking, code, stderr};

// ---------------------------------------------------------------------------------------------
// Point 6: server-chosen durations.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_interval_of_u64_max_neither_panics_nor_spins() {
    use axum::Json;
    use axum::http::StatusCode;
    use axum::routing::post;
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = polls.clone();
    let app = axum::Router::new()
        .route(
            "/api/accounts/deviceauth/usercode",
            post(|| async {
                Json(serde_json::json!({
                    "device_auth_id": "dev-hostile",
                    "user_code": "HOST-1LE",
                    "interval": u64::MAX.to_string(),
                    "expires_in": u64::MAX,
                    "expires_at": "9999-12-31T23:59:59Z",
                }))
            }),
        )
        .route(
            "/api/accounts/deviceauth/token",
            post(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async {
                    (
                        StatusCode::BAD_REQUEST,
                        Json(serde_json::json!({"error": "slow_down"})),
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), &format!("issuer = \"{issuer}\"\n"));
    let mut guard = KillOnDrop(Some(
        codex(home.path())
            .args(["login", "--device-auth"])
            .spawn()
            .unwrap(),
    ));
    let started = Instant::now();
    while polls.load(Ordering::SeqCst) == 0 {
        if let Some(status) = guard.child().try_wait().unwrap() {
            let out = guard.take().wait_with_output().unwrap();
            panic!("exited ({status}) before polling: {}", stderr(&out));
        }
        assert!(started.elapsed() < Duration::from_secs(15), "never polled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Before the fix the `slow_down` answer made the client add 5 s to an interval of u64::MAX
    // seconds: `overflow when adding durations`, exit 101, at once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let still_running = guard.child().try_wait().unwrap().is_none();
    let mut child = guard.take();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        still_running,
        "the login must keep waiting at a clamped interval; it exited with {:?}: {}",
        out.status,
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(
        polls.load(Ordering::SeqCst),
        1,
        "the clamped interval is at least 1 s: no busy polling"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("HOST-1LE"));
}

// ---------------------------------------------------------------------------------------------
// Point 8: loopback targets never go through a proxy from the environment.

/// A "proxy" that records every connection and answers 502.
async fn recording_proxy() -> (String, Arc<std::sync::Mutex<Vec<u8>>>, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let (seen_by_task, count) = (seen.clone(), connections.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let seen = seen_by_task.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 16 * 1024];
                if let Ok(read) = socket.read(&mut buffer).await {
                    seen.lock().unwrap().extend_from_slice(&buffer[..read]);
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    (url, seen, connections)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_to_a_loopback_issuer_never_goes_through_an_env_proxy() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let tokens = home.seed_chatgpt_login(-60);
    let (proxy, seen, connections) = recording_proxy().await;
    let before = home.emulator().stats();
    let h = home.clone();
    let p = proxy.clone();
    let out = blocking(move || {
        let env: Vec<(&str, &str)> = [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ]
        .into_iter()
        .map(|name| (name, p.as_str()))
        .chain([("NO_PROXY", ""), ("no_proxy", "")])
        .collect();
        h.run_with_env(&["whoami", "--check"], None, &env)
    })
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        home.emulator().stats().refresh_ok,
        before.refresh_ok + 1,
        "the refresh reached the emulator directly"
    );
    let seen = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the proxy at {proxy} was contacted: {seen}"
    );
    assert!(!seen.contains(tokens.refresh_token.as_str()));
}

// ---------------------------------------------------------------------------------------------
// Issue 14 point 10: a failure through a proxy names it and its variable, without credentials.

#[test]
fn a_dead_proxy_is_named_with_its_variable_and_without_its_password() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let home = tempfile::tempdir().unwrap();
    write_config(
        home.path(),
        "issuer = \"https://auth.codex-test.invalid\"\n",
    );
    for variable in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"] {
        let mut command = codex(home.path());
        command.args(["login", "--device-auth"]).env(
            variable,
            format!("http://proxyuser:hunter2-secret@127.0.0.1:{port}"),
        );
        let out = run_within(
            command,
            Duration::from_secs(30),
            "login through a dead proxy",
        );
        assert_clean_failure(&out, variable);
        let text = stderr(&out);
        assert!(
            text.contains(&format!(
                "through the proxy http://127.0.0.1:{port} from {variable}"
            )),
            "{variable}: {text}"
        );
        assert!(
            !text.contains("hunter2") && !text.contains("proxyuser"),
            "{text}"
        );
    }

    // An agent identity login fetches the JWKS through the proxy too.
    let part = |json: serde_json::Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
    };
    let jwt = format!(
        "{}.{}.c2ln",
        part(serde_json::json!({"alg": "RS256", "kid": "k"})),
        part(serde_json::json!({"sub": "x"}))
    );
    let mut command = codex(home.path());
    command
        .args(["login", "--with-access-token"])
        .env(
            "CODEX_AGENT_IDENTITY_JWKS_BASE_URL",
            "https://chatgpt.codex-test.invalid/backend-api",
        )
        .env(
            "HTTPS_PROXY",
            format!("http://u:pw-secret@127.0.0.1:{port}"),
        )
        .stdin(Stdio::piped());
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(jwt.as_bytes())
        .unwrap();
    let out = finish_within(
        child,
        Duration::from_secs(30),
        "access-token login, dead proxy",
    );
    assert_clean_failure(&out, "access-token login");
    let text = stderr(&out);
    assert!(
        text.contains(&format!(
            "through the proxy http://127.0.0.1:{port} from HTTPS_PROXY"
        )) && !text.contains("pw-secret"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_and_backend_calls_failing_at_a_dead_proxy_name_it() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    // Minted by the (unreachable) issuer the refresh goes to: tokens go only to their issuer.
    home.seed_chatgpt_login_minted_by(-60, "https://auth.codex-test.invalid");
    let h = home.clone();
    let proxy = format!("http://u:pw-secret@127.0.0.1:{port}");
    let out = blocking(move || {
        h.run_with_env(
            &["whoami", "--check"],
            None,
            &[
                (
                    "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
                    "https://auth.codex-test.invalid/oauth/token",
                ),
                ("HTTPS_PROXY", &proxy),
            ],
        )
    })
    .await;
    assert_clean_failure(&out, "whoami --check through a dead proxy");
    let text = stderr(&out);
    assert!(
        text.contains(&format!(
            "through the proxy http://127.0.0.1:{port} from HTTPS_PROXY"
        )),
        "{text}"
    );
    assert!(!text.contains("pw-secret"), "{text}");

    // With a fresh token the check goes straight to the backend (usage) through the proxy.
    home.seed_chatgpt_login(3600);
    let h = home.clone();
    let proxy = format!("http://u:pw-secret@127.0.0.1:{port}");
    let out = blocking(move || {
        h.run_with_env(
            &[
                "-c",
                "chatgpt_base_url=https://chatgpt.codex-test.invalid/backend-api",
                "whoami",
                "--check",
            ],
            None,
            &[("HTTPS_PROXY", &proxy)],
        )
    })
    .await;
    assert_clean_failure(&out, "whoami --check, backend through a dead proxy");
    let text = stderr(&out);
    assert!(
        text.contains(&format!(
            "through the proxy http://127.0.0.1:{port} from HTTPS_PROXY"
        )) && !text.contains("pw-secret"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_token_response_is_cut_off_at_the_cap() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let hostile = endless_body_server().await;
    // Minted by the hostile issuer the refresh goes to: tokens go only to their issuer.
    home.seed_chatgpt_login_minted_by(-60, &hostile);
    let h = home.clone();
    let started = Instant::now();
    let out = blocking(move || {
        h.run_with_env(
            &["whoami", "--check"],
            None,
            &[(
                "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
                &format!("{hostile}/oauth/token"),
            )],
        )
    })
    .await;
    assert_clean_failure(&out, "whoami --check, endless refresh answer");
    assert!(
        stderr(&out).contains("larger than 1 MiB"),
        "{}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(home.auth_file().exists(), "the stored login is kept");
}

// ---------------------------------------------------------------------------------------------
// Point 12: the authorize URL (with `state`) never reaches the login log, even at debug.

/// The cross-process lock every test binding the registered callback ports takes.
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

#[test]
fn the_login_log_at_debug_holds_no_state_and_our_own_cancel_still_works() {
    let _ports = lock_fixed_callback_ports();
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), "issuer = \"http://127.0.0.1:9\"\n");
    let mut command = codex(home.path());
    command
        .arg("login")
        .env_remove("NO_BROWSER")
        // A "browser" that opens nothing: webbrowser runs it with the URL.
        .env("BROWSER", "true")
        .env("RUST_LOG", "debug");
    let mut guard = KillOnDrop(Some(command.spawn().unwrap()));
    let mut lines = std::io::BufReader::new(guard.child().stderr.take().unwrap()).lines();
    let auth_url = loop {
        let line = lines
            .next()
            .expect("codex login ended before printing the URL")
            .unwrap();
        if line.contains("redacted") {
            continue;
        }
        if let Some(start) = line.find("http://127.0.0.1:9/oauth/authorize?") {
            break line[start..].split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let query: std::collections::HashMap<String, String> =
        serde_json::from_value(serde_json::Value::Object(
            auth_url
                .split_once('?')
                .unwrap()
                .1
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
                .collect(),
        ))
        .unwrap();
    let state = query["state"].clone();
    let redirect = query["redirect_uri"]
        .replace("%3A", ":")
        .replace("%2F", "/");
    let port: u16 = redirect
        .trim_start_matches("http://localhost:")
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let log = home.path().join("log").join("codex-login.log");
    let started = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("opening the authorize URL in a browser")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no browser line"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Give the browser launcher time to log what it runs.
    std::thread::sleep(Duration::from_millis(500));

    // Another process of ours (same CODEX_HOME) cancels with the published secret.
    let token = std::fs::read_to_string(home.path().join(format!("login-cancel-{port}"))).unwrap();
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        socket,
        "GET /cancel?cancel_token={} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n",
        token.trim()
    )
    .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    assert!(answer.contains("Login cancelled"), "{answer}");
    let status = finish_within(guard.take(), Duration::from_secs(10), "cancelled login");
    let _ = drain.join();
    assert_ne!(status.status.code(), Some(0));

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("state=%3Credacted%3E"), "{text}");
    assert!(
        !text.contains(&state),
        "the login log holds the state of the authorize URL:\n{text}"
    );
}
