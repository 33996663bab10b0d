//! The browser login end to end in a real headless Chromium (driven through ChromeDriver with
//! fantoccini) against `codex-emulator`: the login opens the authorize URL in the browser, the
//! test clicks Continue on the consent page, the browser follows the redirect to our loopback
//! callback, `auth.json` is written and the success page is shown.
//!
//! Without Chromium and ChromeDriver the test prints a loud SKIPPED notice and passes, unless
//! `CODEX_REQUIRE_BROWSER_TESTS=1` (set by `.ci/run`), in which case it fails.
#![cfg(feature = "browser-login")] // needs the browser login server
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use codex_emulator::SeedAccount;
use codex_login::flows::{CompletedVia, UrlOpener, run_browser_login};
use fantoccini::{ClientBuilder, Locator};
use flow_support::{browser_options, emulator, port_free_within, read_auth_json};
use tokio::sync::mpsc;

const CHROMIUM_CANDIDATES: &[&str] = &["/usr/bin/chromium", "/usr/bin/chromium-browser"];

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Chromium and ChromeDriver, or `None` after printing why the test is skipped.
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = CHROMIUM_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .or_else(|| find_on_path("chromium"));
    let driver = find_on_path("chromedriver");
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        (chromium, driver) => {
            let missing = format!(
                "chromium: {}, chromedriver: {}",
                chromium.map_or("missing".to_owned(), |p| p.display().to_string()),
                driver.map_or("missing".to_owned(), |p| p.display().to_string()),
            );
            assert!(
                std::env::var("CODEX_REQUIRE_BROWSER_TESTS").as_deref() != Ok("1"),
                "CODEX_REQUIRE_BROWSER_TESTS=1 but the browser tools are not installed ({missing})"
            );
            // Written to the stderr handle directly so the test harness does not capture it.
            let _ = writeln!(
                std::io::stderr(),
                "\n==================== SKIPPED ====================\n\
                 browser_login_in_headless_chromium: {missing}.\n\
                 Install Debian packages `chromium` and `chromium-driver` (as .ci/run does)\n\
                 to run the real-browser login test.\n\
                 ================================================="
            );
            None
        }
    }
}

/// A ChromeDriver process, killed when dropped.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    async fn start(binary: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Self { child, port };
        for _ in 0..200 {
            if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/status")).await
                && response.status().is_success()
            {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not become ready on port {port}");
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// "Opens" the URL by handing it to the test, which navigates Chromium to it.
#[derive(Debug)]
struct WebDriverOpener(mpsc::UnboundedSender<String>);

impl UrlOpener for WebDriverOpener {
    fn open(&self, url: &str) -> Result<(), String> {
        self.0.send(url.to_owned()).map_err(|err| err.to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_login_in_headless_chromium() {
    let Some((chromium, driver_binary)) = browser_tools() else {
        return;
    };
    let driver = ChromeDriver::start(&driver_binary).await;
    let profile = tempfile::tempdir().unwrap();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": chromium.display().to_string(),
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session");

    let emulator = emulator(false).await;
    let home = tempfile::tempdir().unwrap();
    let (opened_tx, mut opened_rx) = mpsc::unbounded_channel();
    let mut options = browser_options(home.path(), &emulator.urls().issuer);
    options.open_browser = true;
    options.url_opener = Some(Arc::new(WebDriverOpener(opened_tx)));
    options.timeout = Some(Duration::from_secs(60));
    let mut printed = Vec::new();
    let login = tokio::spawn(async move {
        let result = run_browser_login(options, &mut printed, None::<tokio::io::Empty>).await;
        (result, String::from_utf8(printed).unwrap())
    });

    let auth_url = tokio::time::timeout(Duration::from_secs(10), opened_rx.recv())
        .await
        .expect("the login opens a browser")
        .unwrap();
    client.goto(&auth_url).await.unwrap();
    let continue_button = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath("//button[normalize-space()='Continue']"))
        .await
        .expect("the emulator's consent page");
    continue_button.click().await.unwrap();
    let success = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#codex-login-success"))
        .await
        .expect("the success page");
    assert!(success.text().await.unwrap().contains("Signed in to Codex"));
    let final_url = client.current_url().await.unwrap();
    assert_eq!(final_url.path(), "/success");
    assert!(
        final_url
            .query_pairs()
            .all(|(key, _)| !key.contains("token")),
        "no token in the success URL"
    );
    client.close().await.unwrap();

    let (result, printed) = tokio::time::timeout(Duration::from_secs(20), login)
        .await
        .expect("the login finishes")
        .unwrap();
    let result = result.unwrap();
    assert_eq!(result.completed_via, CompletedVia::Callback);
    assert!(printed.contains(&auth_url), "the URL was printed");
    let seed = SeedAccount::default();
    let auth = read_auth_json(home.path());
    assert_eq!(auth["auth_mode"], "chatgpt");
    assert_eq!(auth["tokens"]["account_id"], seed.account_id.as_str());
    assert!(
        auth["OPENAI_API_KEY"]
            .as_str()
            .unwrap()
            .starts_with("sk-emu-")
    );
    for field in ["id_token", "access_token", "refresh_token"] {
        assert!(auth["tokens"][field].as_str().is_some_and(|t| t.len() > 20));
    }
    let stats = emulator.stats();
    assert_eq!(stats.code_exchanges_ok, 1);
    assert_eq!(stats.api_key_exchanges, 1);
    let port = url::Url::parse(&auth_url)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == "redirect_uri")
        .and_then(|(_, uri)| url::Url::parse(&uri).ok())
        .and_then(|uri| uri.port())
        .unwrap();
    assert!(port_free_within(port, Duration::from_secs(1)).await);
}
