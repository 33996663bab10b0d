//! Shared helpers of the `flow_*` integration tests: an emulator, options pointing at it, a
//! scripted (HTTP-level) browser, and port checks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
#[cfg(feature = "browser-login")]
use codex_login::flows::LoginServerOptions;
use codex_login::flows::{DeviceCodeOptions, LogoutOptions};
use codex_login::http_client::HttpClientFactory;
use serde_json::Value;

/// An emulator on an ephemeral loopback port.
pub async fn emulator(auto_approve: bool) -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        auto_approve,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// A client factory that ignores the process environment (no custom CA, default originator).
pub fn http() -> HttpClientFactory {
    HttpClientFactory::from_env(&|_| None).expect("client factory")
}

/// Browser-login options against `issuer`: ephemeral port, no browser, 30 s timeout.
#[cfg(feature = "browser-login")]
pub fn browser_options(home: &Path, issuer: &str) -> LoginServerOptions {
    let mut options = LoginServerOptions::new(home.to_path_buf(), http());
    options.issuer = issuer.to_owned();
    options.port = 0;
    options.fallback_port = None;
    options.open_browser = false;
    options.timeout = Some(Duration::from_secs(30));
    options
}

/// Device-code options against `issuer`, polling every 50 ms.
pub fn device_options(home: &Path, issuer: &str) -> DeviceCodeOptions {
    let mut options = DeviceCodeOptions::new(home.to_path_buf(), http());
    options.issuer = issuer.to_owned();
    options.poll_interval_override = Some(Duration::from_millis(50));
    options.max_wait = Duration::from_secs(30);
    options
}

/// Logout options revoking at `revoke_url`.
pub fn logout_options(home: &Path, revoke_url: &str) -> LogoutOptions {
    let mut options = LogoutOptions::new(home.to_path_buf(), http());
    options.revoke_url = revoke_url.to_owned();
    options
}

pub use crate::common::read_auth_json;

/// Whether `127.0.0.1:<port>` can be bound again within `within` (yielding to the runtime
/// between attempts, so tasks being torn down can finish).
pub async fn port_free_within(port: u16, within: Duration) -> bool {
    let started = Instant::now();
    loop {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if started.elapsed() >= within {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A browser stand-in speaking plain HTTP: follows the issuer's pages and clicks Continue on the
/// emulator's consent form, but never follows redirects on its own.
#[derive(Debug, Clone)]
pub struct ScriptedBrowser {
    client: reqwest::Client,
}

/// One response as the scripted browser saw it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl ScriptedBrowser {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        let response = self.client.get(url).send().await.unwrap();
        Self::page(response).await
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|value| value.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap_or_default();
        Page {
            status,
            location,
            body,
        }
    }

    /// Opens the authorize URL, clicks Continue on a consent page if one is shown, and returns
    /// the redirect the issuer sends back (the callback URL), without visiting it.
    pub async fn authorize(&self, auth_url: &str) -> String {
        let page = self.get(auth_url).await;
        if page.status == 302 {
            return page.location.expect("redirect location");
        }
        assert_eq!(page.status, 200, "authorize page: {}", page.body);
        let marker = "name=\"authorization_id\" value=\"";
        let start = page.body.find(marker).expect("consent form") + marker.len();
        let end = start + page.body[start..].find('"').unwrap();
        let authorization_id = &page.body[start..end];
        let issuer = auth_url.split("/oauth/authorize").next().unwrap();
        let response = self
            .client
            .post(format!("{issuer}/oauth/authorize/decision"))
            .form(&[
                ("authorization_id", authorization_id),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap();
        let page = Self::page(response).await;
        assert_eq!(page.status, 302, "decision: {}", page.body);
        page.location.expect("redirect location")
    }

    /// Visits `url` and follows one redirect to `/success` when the callback sends one.
    pub async fn visit_callback(&self, url: &str) -> (Page, Option<Page>) {
        let first = self.get(url).await;
        let second = match (&first.status, &first.location) {
            (302, Some(location)) => Some(self.get(location).await),
            _ => None,
        };
        (first, second)
    }
}

/// Writes a managed ChatGPT `auth.json` holding `tokens`.
pub fn seed_chatgpt_auth(home: &Path, tokens: &codex_emulator::IssuedTokens) {
    use codex_auth_provider::SecretString;
    use codex_login::auth_dot_json::{AuthDotJson, StoredTokens};
    use codex_login::storage::{AuthStorage, FileAuthStorage};
    let document = AuthDotJson::chatgpt(
        StoredTokens::new(
            SecretString::new(tokens.id_token.clone()),
            SecretString::new(tokens.access_token.clone()),
            SecretString::new(tokens.refresh_token.clone()),
            Some(tokens.account_id.clone()),
        ),
        None,
        chrono::Utc::now(),
    );
    FileAuthStorage::new(home)
        .save(&document)
        .expect("seed auth.json");
}

/// [`seed_chatgpt_auth`] with the id token's `iss` set to `issuer` (the payload is rewritten;
/// id token signatures are not checked), for tests whose revoke endpoint is a mock at
/// `issuer`: tokens are only ever sent back to the issuer that minted them.
pub fn seed_chatgpt_auth_minted_by(
    home: &Path,
    tokens: &codex_emulator::IssuedTokens,
    issuer: &str,
) {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = tokens.id_token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    claims["iss"] = Value::String(issuer.to_owned());
    let mut reissued = tokens.clone();
    reissued.id_token = format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(claims.to_string()),
        parts[2]
    );
    seed_chatgpt_auth(home, &reissued);
}

/// Exclusive use of the registered callback ports 1455/1457 across test threads *and* test
/// processes (another `cargo test` may run at the same time): a file lock in the temp dir.
/// Other tests that bind these ports should take the same lock.
pub struct FixedPortsGuard {
    _file: std::fs::File,
}

/// The lock file shared by every test that needs ports 1455/1457.
pub const FIXED_PORTS_LOCK_FILE: &str = "codex-login-fixed-callback-ports.lock";

/// Waits (up to two minutes) for exclusive use of ports 1455/1457, then for both to be free.
pub async fn lock_fixed_ports() -> FixedPortsGuard {
    let path = std::env::temp_dir().join(FIXED_PORTS_LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .expect("open the fixed-ports lock file");
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock)
                if started.elapsed() < Duration::from_secs(120) =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("could not lock {}: {err}", path.display()),
        }
    }
    for port in [1455, 1457] {
        assert!(
            port_free_within(port, Duration::from_secs(30)).await,
            "port {port} stayed busy for 30 s (held by a program outside these tests?)"
        );
    }
    FixedPortsGuard { _file: file }
}
