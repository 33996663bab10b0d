//! `codex login` on a real pseudo-terminal whose stdin stays open, as a
//! person runs it: it must end the moment the callback (success, error,
//! cancel, another login taking the port) completes, not at the next Enter;
//! the device-code wait shows a live countdown and Ctrl-C cancels with 130;
//! colour follows NO_COLOR / CLICOLOR_FORCE.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_emulator::{EmulatorConfig, Faults};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::pty::PtyCodex;
use support::{Home, blocking, code, stderr, stdout};

/// How soon after the callback the command must be gone.
const EXIT_BUDGET: Duration = Duration::from_secs(1);
const SLOW: Duration = Duration::from_secs(20);

/// Takes the cross-process lock that every test binding 1455/1457 holds.
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

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// The authorize URL `codex login` printed.
fn auth_url(output: &str) -> String {
    output
        .split_whitespace()
        .find(|word| word.contains("/oauth/authorize?"))
        .unwrap_or_else(|| panic!("no authorize URL in:\n{output}"))
        .to_owned()
}

/// `codex login` on a pty against an auto-approving emulator, waiting for its prompt.
async fn start_browser_login(home: &Arc<Home>) -> (PtyCodex, String) {
    let path = home.path().to_path_buf();
    blocking(move || {
        let codex = PtyCodex::spawn(&path, &["login"], &[]);
        let output = codex.wait_for("press Enter.", SLOW);
        let url = auth_url(&output);
        (codex, url)
    })
    .await
}

/// Follows the issuer's redirect to the local callback, as a browser does.
async fn complete_callback(auth_url: &str) {
    let client = http();
    let response = client.get(auth_url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302, "authorize");
    let callback = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.contains("/auth/callback?"), "{callback}");
    let response = client.get(&callback).send().await.unwrap();
    if let Some(next) = response.headers().get("location") {
        let next = next.to_str().unwrap().to_owned();
        let _ = client.get(&next).send().await;
    }
}

/// Waits (off the runtime) for the process to end within the budget.
async fn exit_after(mut codex: PtyCodex, since: Instant) -> (u32, String, Duration) {
    blocking(move || {
        let exit = codex.exit_within(EXIT_BUDGET + Duration::from_secs(4));
        let waited = since.elapsed();
        let output = codex.output();
        let Some(exit) = exit else {
            panic!("`codex login` did not exit {waited:?} after the callback:\n{output}");
        };
        (exit, output, waited)
    })
    .await
}

async fn emulator_home() -> Arc<Home> {
    Arc::new(
        Home::with_emulator(EmulatorConfig {
            auto_approve: true,
            ..EmulatorConfig::default()
        })
        .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_login_exits_right_after_a_successful_callback_on_a_terminal() {
    let _ports = lock_fixed_callback_ports();
    let home = emulator_home().await;
    let (codex, url) = start_browser_login(&home).await;
    complete_callback(&url).await;
    let (exit, output, waited) = exit_after(codex, Instant::now()).await;
    assert!(
        waited < EXIT_BUDGET,
        "exited only after {waited:?}:\n{output}"
    );
    assert_eq!(exit, 0, "{output}");
    assert!(output.contains("Successfully logged in"), "{output}");
    assert!(home.auth_file().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_login_exits_right_after_an_error_callback_on_a_terminal() {
    let _ports = lock_fixed_callback_ports();
    let home = emulator_home().await;
    home.emulator().set_faults(Faults {
        deny_authorize: Some("access_denied".to_owned()),
        ..Faults::default()
    });
    let (codex, url) = start_browser_login(&home).await;
    complete_callback(&url).await;
    let (exit, output, waited) = exit_after(codex, Instant::now()).await;
    assert!(
        waited < EXIT_BUDGET,
        "exited only after {waited:?}:\n{output}"
    );
    assert_eq!(exit, 1, "{output}");
    assert!(output.contains("Error logging in: "), "{output}");
    assert!(!home.auth_file().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_login_exits_right_after_cancel_on_a_terminal() {
    let _ports = lock_fixed_callback_ports();
    let home = emulator_home().await;
    let (codex, url) = start_browser_login(&home).await;
    let port = url
        .split("127.0.0.1%3A")
        .nth(1)
        .and_then(|rest| rest.split("%2F").next())
        .unwrap()
        .to_owned();
    // Only this login's own secret (published in its CODEX_HOME) may cancel it.
    let secret = codex_login::flows::read_cancel_secret(home.path(), port.parse().unwrap())
        .expect("the login publishes its cancel secret");
    let refused = http()
        .get(format!("http://127.0.0.1:{port}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let page = http()
        .get(format!(
            "http://127.0.0.1:{port}/cancel?cancel_token={}",
            secret.expose()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let (exit, output, waited) = exit_after(codex, Instant::now()).await;
    assert!(
        waited < EXIT_BUDGET,
        "exited only after {waited:?}:\n{output}"
    );
    assert_eq!(exit, 1, "{output}");
    assert!(output.contains("Error logging in: "), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_login_taking_the_port_ends_the_first_at_once() {
    let _ports = lock_fixed_callback_ports();
    let home = emulator_home().await;
    let (first, _) = start_browser_login(&home).await;
    let (second, url) = start_browser_login(&home).await;
    // The second login asked the first to cancel before binding the port.
    let since = Instant::now();
    let (exit, output, waited) = exit_after(first, since).await;
    assert!(
        waited < EXIT_BUDGET,
        "exited only after {waited:?}:\n{output}"
    );
    assert_eq!(exit, 1, "{output}");
    complete_callback(&url).await;
    let (exit, output, waited) = exit_after(second, Instant::now()).await;
    assert!(
        waited < EXIT_BUDGET,
        "exited only after {waited:?}:\n{output}"
    );
    assert_eq!(exit, 0, "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_browser_login_says_cancelled_and_exits_130() {
    let _ports = lock_fixed_callback_ports();
    let home = emulator_home().await;
    let (mut codex, _) = start_browser_login(&home).await;
    let output = blocking(move || {
        codex.send(b"\x03");
        let exit = codex.exit_within(Duration::from_secs(5));
        (exit, codex.output())
    })
    .await;
    assert_eq!(output.0, Some(130), "{}", output.1);
    assert!(output.1.contains("Login cancelled"), "{}", output.1);
    assert!(!home.auth_file().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_wait_shows_a_countdown_and_ctrl_c_exits_130() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let path = home.path().to_path_buf();
    let (exit, output) = blocking(move || {
        let mut codex = PtyCodex::spawn(&path, &["login", "--device-auth"], &[]);
        // The live line: a time left that counts down from 15 minutes.
        let output = codex.wait_for("left, Ctrl-C to cancel)", SLOW);
        assert!(
            output.contains("14:5") || output.contains("15:00"),
            "{output}"
        );
        // Colour on a terminal: the code and link in bright blue.
        assert!(output.contains("\x1b[94m"), "{output:?}");
        codex.send(b"\x03");
        let exit = codex.exit_within(Duration::from_secs(5));
        (exit, codex.output())
    })
    .await;
    assert_eq!(exit, Some(130), "{output}");
    assert!(output.contains("Login cancelled"), "{output}");
    assert!(!home.auth_file().exists());
    assert_eq!(home.emulator().stats().device_codes_approved, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_color_on_a_terminal_turns_colour_off() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let path = home.path().to_path_buf();
    let output = blocking(move || {
        let codex = PtyCodex::spawn(&path, &["login", "--device-auth"], &[("NO_COLOR", "1")]);
        codex.wait_for("left, Ctrl-C to cancel)", SLOW)
    })
    .await;
    assert!(output.contains("Enter this one-time code"), "{output}");
    // No colour or bold (the countdown may still move the cursor).
    for style in ["\x1b[94m", "\x1b[1m", "\x1b[2m"] {
        assert!(!output.contains(style), "{style:?} in {output:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipes_get_no_escapes_and_no_countdown_unless_colour_is_forced() {
    let home = Arc::new(
        Home::with_emulator(EmulatorConfig {
            auto_approve: true,
            device_poll_interval_secs: 1,
            ..EmulatorConfig::default()
        })
        .await,
    );
    let h = home.clone();
    let out = blocking(move || h.run(&["login", "--device-auth"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("Enter this one-time code"));
    assert!(!stdout(&out).contains('\x1b'), "{:?}", stdout(&out));
    assert!(!stderr(&out).contains('\x1b'), "{:?}", stderr(&out));
    assert!(!stderr(&out).contains("left"), "{}", stderr(&out));

    let h = home.clone();
    let out = blocking(move || {
        h.run_with_env(
            &["login", "--device-auth"],
            None,
            &[("CLICOLOR_FORCE", "1")],
        )
    })
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("\x1b[94m"), "{:?}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_approved_while_the_countdown_runs_logs_in() {
    let home = Arc::new(
        Home::with_emulator(EmulatorConfig {
            device_poll_interval_secs: 1,
            ..EmulatorConfig::default()
        })
        .await,
    );
    let path = home.path().to_path_buf();
    let (codex, user_code) = blocking(move || {
        let codex = PtyCodex::spawn(&path, &["login", "--device-auth"], &[("NO_COLOR", "1")]);
        let output = codex.wait_for("left, Ctrl-C to cancel)", SLOW);
        let after = output.split("one-time code").nth(1).unwrap();
        let user_code = after.lines().nth(1).unwrap().trim().to_owned();
        (codex, user_code)
    })
    .await;
    assert!(
        home.emulator().approve_device_code(&user_code),
        "{user_code:?}"
    );
    let (exit, output, _) = exit_after(codex, Instant::now()).await;
    assert_eq!(exit, 0, "{output}");
    assert!(output.contains("Successfully logged in"), "{output}");
    assert!(home.auth_file().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_redirect_url_completes_the_login_on_a_terminal() {
    let _ports = lock_fixed_callback_ports();
    let home = emulator_home().await;
    let (mut codex, url) = start_browser_login(&home).await;
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302, "authorize");
    let callback = response.headers()["location"].to_str().unwrap().to_owned();
    // Typed (pasted) at the prompt, then Enter; the browser never reaches the port.
    codex.send(format!("{callback}\r").as_bytes());
    let (exit, output, waited) = exit_after(codex, Instant::now()).await;
    assert!(
        waited < Duration::from_secs(3),
        "exited only after {waited:?}:\n{output}"
    );
    assert_eq!(exit, 0, "{output}");
    assert!(output.contains("Successfully logged in"), "{output}");
    assert!(home.auth_file().exists());
}
