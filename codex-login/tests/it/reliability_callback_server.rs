//! Hardening of the browser login's loopback callback server, attacked over raw sockets:
//! - it listens on loopback addresses only (read back from the kernel's socket table);
//! - a request whose `Host` is not a loopback name for its port (DNS rebinding) is refused,
//!   and refusing it does not consume the authorization code;
//! - oversize requests (a 1 MB URL, a 1 MB header, 2000 headers, a 64 MB body announced on
//!   a GET) are refused or ignored without hanging, and the login still completes after them
//!   (the head limit is hyper's default, about 400 KB: a browser may legitimately send large
//!   `localhost` cookies);
//! - one code is accepted once: ten concurrent deliveries of the same callback redeem it once,
//!   and a replay after the login is refused.
#![cfg(feature = "browser-login")] // needs the browser login server
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use codex_login::flows::{BrowserLoginError, BrowserLoginSuccess, LoginServer, LoginServerOptions};
use codex_login::http_client::HttpClientFactory;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

type Waiting = JoinHandle<Result<BrowserLoginSuccess, BrowserLoginError>>;

async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// A running login (port 0) and the callback URL path+query the issuer sends it back to.
async fn login(emu: &EmulatorHandle, home: &std::path::Path) -> (u16, String, Waiting) {
    let mut options = LoginServerOptions::new(
        home.to_path_buf(),
        HttpClientFactory::from_env(&|_| None).unwrap(),
    );
    options.issuer = emu.urls().issuer.clone();
    options.port = 0;
    options.fallback_port = None;
    options.open_browser = false;
    options.timeout = Some(Duration::from_secs(60));
    let server = LoginServer::start(options).await.unwrap();
    let port = server.port();
    let authorize = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
        .get(server.auth_url())
        .send()
        .await
        .unwrap();
    assert_eq!(authorize.status().as_u16(), 302, "auto-approved authorize");
    let location = url::Url::parse(authorize.headers()["location"].to_str().unwrap()).unwrap();
    let path_and_query = format!("{}?{}", location.path(), location.query().unwrap());
    (port, path_and_query, tokio::spawn(server.wait()))
}

/// Sends raw request bytes and returns the status (0 when the connection was closed without
/// an answer) and the whole response.
async fn raw(port: u16, request: Vec<u8>) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let _ = stream.write_all(&request).await;
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    assert!(
        read.is_ok(),
        "the server neither answered nor closed within 10 s"
    );
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn get(path: &str, host: Option<&str>, extra: &str) -> Vec<u8> {
    let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\n{host}{extra}Connection: close\r\n\r\n").into_bytes()
}

/// Listening sockets on `port` from `/proc/net/tcp` and `/proc/net/tcp6`, as hex addresses.
fn listening_addresses(port: u16) -> Vec<String> {
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            let Some((address, hex_port)) = local.split_once(':') else {
                continue;
            };
            if *state == "0A" && u16::from_str_radix(hex_port, 16).ok() == Some(port) {
                found.push(address.to_owned());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_server_listens_on_loopback_only() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let (port, callback, waiting) = login(&emu, home.path()).await;
    let addresses = listening_addresses(port);
    assert!(!addresses.is_empty(), "the kernel lists the listener");
    const IPV4_LOOPBACK: &str = "0100007F";
    const IPV6_LOOPBACK: &str = "00000000000000000000000001000000";
    for address in &addresses {
        assert!(
            address == IPV4_LOOPBACK || address == IPV6_LOOPBACK,
            "the callback port listens on a non-loopback address ({address})"
        );
    }
    let (status, _) = raw(port, get(&callback, Some(&format!("127.0.0.1:{port}")), "")).await;
    assert_eq!(status, 302);
    waiting.await.unwrap().unwrap();
    eprintln!(
        "RELIABILITY-FIGURES callback-bind listeners={} all_loopback=true",
        addresses.len()
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_host_headers_are_refused_without_consuming_the_code() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let (port, callback, waiting) = login(&emu, home.path()).await;
    let foreign = [
        Some("evil.example".to_owned()),
        Some(format!("evil.example:{port}")),
        Some(format!("localhost.evil.example:{port}")),
        Some(format!("127.0.0.1.nip.io:{port}")),
        Some(format!("127.0.0.2:{port}")),
        Some(format!("0.0.0.0:{port}")),
        Some(format!("127.0.0.1:{}", port.wrapping_add(1))),
        Some("127.0.0.1".to_owned()),
        Some(format!("[::ffff:127.0.0.1]:{port}")),
        Some(format!("localhost:{port}@evil.example")),
        Some(String::new()),
        None,
    ];
    for host in &foreign {
        let (status, _) = raw(port, get(&callback, host.as_deref(), "")).await;
        assert!(
            (400..500).contains(&status),
            "Host {host:?} answered {status}"
        );
    }
    // Two Host headers, one of them ours.
    let (status, _) = raw(
        port,
        get(
            &callback,
            Some("evil.example"),
            &format!("Host: 127.0.0.1:{port}\r\n"),
        ),
    )
    .await;
    assert!(
        (400..500).contains(&status),
        "duplicate Host answered {status}"
    );
    let stats = emu.stats();
    assert_eq!(stats.code_exchanges_ok + stats.code_exchanges_rejected, 0);
    assert!(!home.path().join("auth.json").exists());

    // The real browser's request still completes the login with the same code.
    let (status, _) = raw(port, get(&callback, Some(&format!("localhost:{port}")), "")).await;
    assert_eq!(status, 302);
    waiting.await.unwrap().unwrap();
    assert_eq!(emu.stats().code_exchanges_ok, 1);
    eprintln!(
        "RELIABILITY-FIGURES callback-host refused_variants={}",
        foreign.len() + 1
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_requests_are_refused_and_the_login_survives() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let (port, callback, waiting) = login(&emu, home.path()).await;
    let host = format!("127.0.0.1:{port}");
    let mut outcomes = Vec::new();

    let long_url = format!("{callback}&pad={}", "A".repeat(1024 * 1024));
    outcomes.push((
        "1 MB URL",
        raw(port, get(&long_url, Some(&host), "")).await.0,
    ));
    let big_header = format!("X-Pad: {}\r\n", "B".repeat(1024 * 1024));
    outcomes.push((
        "1 MB header",
        raw(port, get(&callback, Some(&host), &big_header)).await.0,
    ));
    let many_headers: String = (0..2000).map(|i| format!("X-H{i}: v\r\n")).collect();
    outcomes.push((
        "2000 headers",
        raw(port, get(&callback, Some(&host), &many_headers))
            .await
            .0,
    ));
    for (what, status) in &outcomes {
        assert!(
            *status == 0 || (400..500).contains(status),
            "{what}: answered {status}"
        );
    }
    assert_eq!(
        emu.stats().code_exchanges_ok,
        0,
        "no oversize request redeemed the code"
    );

    // A GET announcing a 64 MB body (sending only the head) with a foreign path: answered
    // at once, without waiting for the body.
    let started = std::time::Instant::now();
    let (status, _) = raw(
        port,
        get("/nothing-here", Some(&host), "Content-Length: 67108864\r\n"),
    )
    .await;
    assert_eq!(status, 404);
    assert!(started.elapsed() < Duration::from_secs(5));

    let (status, _) = raw(port, get(&callback, Some(&host), "")).await;
    assert_eq!(status, 302, "the login completes after the attacks");
    waiting.await.unwrap().unwrap();
    eprintln!("RELIABILITY-FIGURES callback-oversize {outcomes:?} announced_64mb_body=404");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_code_is_accepted_once() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let (port, callback, waiting) = login(&emu, home.path()).await;
    let host = format!("127.0.0.1:{port}");
    let deliveries: Vec<_> = (0..10)
        .map(|_| {
            let request = get(&callback, Some(&host), "");
            tokio::spawn(async move { raw(port, request).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for delivery in deliveries {
        statuses.push(delivery.await.unwrap());
    }
    waiting.await.unwrap().unwrap();
    let accepted = statuses.iter().filter(|status| **status == 302).count();
    assert_eq!(
        accepted, 1,
        "exactly one delivery was accepted: {statuses:?}"
    );
    for status in &statuses {
        assert!(
            [302, 409].contains(status),
            "a duplicate answered {status}: {statuses:?}"
        );
    }
    let stats = emu.stats();
    assert_eq!(stats.code_exchanges_ok, 1);
    assert_eq!(
        stats.code_exchanges_rejected, 0,
        "duplicates never reached the issuer"
    );

    // After the login the server is gone: a replay cannot be redeemed.
    let replay = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    if let Ok(mut stream) = replay {
        let _ = stream.write_all(&get(&callback, Some(&host), "")).await;
        let mut response = Vec::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
        assert!(!String::from_utf8_lossy(&response).starts_with("HTTP/1.1 302"));
    }
    assert_eq!(emu.stats().code_exchanges_ok, 1);
    eprintln!("RELIABILITY-FIGURES callback-once deliveries=10 statuses={statuses:?}");
    emu.shutdown().await;
}
