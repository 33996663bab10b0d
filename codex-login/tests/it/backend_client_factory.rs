//! `AuthManager::backend_client` (issue 18): the `BackendClient` a library
//! user gets by default goes through the same HTTP client factory as the rest
//! of the auth stack — originator and `User-Agent`, proxies and the custom CA
//! bundle from the manager's environment — with the manager as its auth source.

use crate::core_support;

use codex_backend_client::BackendClient;
use codex_login::auth_manager::BackendClientError;
use codex_login::environment::{SharedEnv, env_from_pairs};
use codex_login::http_client::HttpClientError;
use codex_login::{auth_manager::AuthManager, auth_manager::AuthManagerConfig};
use core_support::*;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A CODEX_HOME with a valid ChatGPT login from `emulator` and a config
/// naming `backend` as the ChatGPT base URL; its environment plus `extra`.
fn home(
    emulator: &codex_emulator::EmulatorHandle,
    backend: &str,
    extra: &[(&str, &str)],
) -> (tempfile::TempDir, SharedEnv) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "issuer = \"{}\"\nchatgpt_base_url = \"{backend}\"\n",
            emulator.urls().issuer
        ),
    )
    .unwrap();
    seed_home(dir.path(), &issue(emulator, 3600));
    let env = env_of(dir.path(), extra);
    (dir, env)
}

fn env_of(home: &Path, extra: &[(&str, &str)]) -> SharedEnv {
    let mut pairs = vec![
        ("CODEX_HOME".to_owned(), home.display().to_string()),
        ("HOME".to_owned(), home.display().to_string()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    env_from_pairs(pairs)
}

#[tokio::test]
async fn the_default_backend_client_sends_the_factory_headers_and_the_credentials() {
    let emulator = emulator().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/usage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "plan_type": "plus"
        })))
        .mount(&server)
        .await;
    let backend_url = format!("{}/backend-api", server.uri());
    let (home, env) = home(
        &emulator,
        &backend_url,
        &[
            ("CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "codex_vscode"),
            ("TERM", "xterm"),
        ],
    );
    let manager = AuthManager::from_env_lookup(env).await.unwrap();
    assert_eq!(manager.chatgpt_base_url(), backend_url);
    let usage = manager.backend_client().unwrap().get_usage().await.unwrap();
    assert!(usage.plan_type.is_some(), "{usage:?}");

    // A client built with `BackendClient::builder` alone knows nothing of the factory.
    BackendClient::builder(backend_url.as_str())
        .build()
        .unwrap()
        .get_usage()
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let header = |i: usize, name: &str| {
        requests[i]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header(0, "originator").as_deref(), Some("codex_vscode"));
    let ua = header(0, "user-agent").unwrap();
    assert!(ua.starts_with("codex_vscode/"), "{ua}");
    assert!(ua.ends_with(") xterm"), "{ua}");
    let access_token = stored_access_token(home.path());
    assert_eq!(
        header(0, "authorization"),
        Some(format!("Bearer {access_token}"))
    );
    assert!(header(0, "chatgpt-account-id").is_some());
    assert_eq!(header(1, "originator"), None);
    assert!(header(1, "authorization").is_none());
}

/// A loopback "proxy" that records the first request line of each connection
/// and answers `502`, so nothing goes further than this machine.
async fn recording_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&head);
            record
                .lock()
                .unwrap()
                .push(text.lines().next().unwrap_or_default().to_owned());
            let _ = stream
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    (url, seen)
}

#[tokio::test]
async fn the_default_backend_client_uses_the_proxy_from_the_manager_environment() {
    let emulator = emulator().await;
    let (proxy, seen) = recording_proxy().await;
    // A remote (never resolved, never contacted) backend: only the loopback proxy is reached.
    let (_home, env) = home(
        &emulator,
        "https://chatgpt.example.test/backend-api",
        &[("HTTPS_PROXY", proxy.as_str())],
    );
    let manager = AuthManager::from_env_lookup(env).await.unwrap();
    let err = manager
        .backend_client()
        .unwrap()
        .get_usage()
        .await
        .unwrap_err();
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.first()
            .is_some_and(|line| line.starts_with("CONNECT chatgpt.example.test:443 ")),
        "{seen:?} ({err})"
    );
}

#[tokio::test]
async fn the_default_backend_client_uses_the_ca_bundle_from_the_manager_environment() {
    let emulator = emulator().await;
    let (home, env) = home(
        &emulator,
        &emulator.urls().chatgpt_base_url,
        &[("CODEX_CA_CERTIFICATE", "/nonexistent/codex-ca.pem")],
    );
    // No factory given: the manager makes one from its environment on first use.
    let mut config = AuthManagerConfig::new(home.path().to_path_buf());
    config.env = env;
    config.agent_identity.chatgpt_base_url = emulator.urls().chatgpt_base_url.clone();
    let manager = Arc::new(AuthManager::new(config));
    let err = manager.backend_client().unwrap_err();
    assert!(
        matches!(
            err,
            BackendClientError::Http(HttpClientError::CaFileUnreadable { .. })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("/nonexistent/codex-ca.pem"),
        "{err}"
    );

    // Without the bad bundle the same setup reaches the emulator with the stored login.
    let mut config = AuthManagerConfig::new(home.path().to_path_buf());
    config.env = env_of(home.path(), &[]);
    config.agent_identity.chatgpt_base_url = emulator.urls().chatgpt_base_url.clone();
    let manager = Arc::new(AuthManager::new(config));
    manager.backend_client().unwrap().get_usage().await.unwrap();
    assert_eq!(emulator.stats().bearer_rejected, 0);
}
