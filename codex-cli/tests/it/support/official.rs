//! The official Codex CLI 0.169.0, for interop and differential tests. It
//! comes from `CODEX_OFFICIAL_BIN` (the CI script installs it from npm);
//! without it the tests print a loud skip notice, unless
//! `CODEX_REQUIRE_OFFICIAL_CLI=1` demands it. It only ever runs with a
//! private `HOME`, a dead proxy and whatever loopback endpoints the caller
//! passes, so nothing can leave the machine.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The installed official binary, or `None` after a loud notice (shared with the other
/// crates' interop tests).
pub use codex_test_support::official::official_bin;

/// A dead loopback address: endpoints nobody set point here, never at a real host.
const DEAD: &str = "http://127.0.0.1:9";

/// Runs `bin <args>` (either CLI) with `CODEX_HOME=home`, an otherwise empty
/// environment (a private `HOME`, a dead proxy for anything not loopback,
/// every token endpoint on dead loopback unless `env` moves it) plus `env`,
/// and `stdin` piped (or none). A home without `config.toml` gets one naming a
/// dead loopback issuer and backend. Killed after 60 s.
pub fn run_isolated(
    bin: &Path,
    home: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    let fake_home = home.join("official-home");
    std::fs::create_dir_all(&fake_home).unwrap();
    let config = home.join("config.toml");
    if !config.exists() {
        std::fs::write(
            &config,
            format!("issuer = \"{DEAD}\"\nchatgpt_base_url = \"{DEAD}/backend-api\"\n"),
        )
        .unwrap();
    }
    let mut command = Command::new(bin);
    command
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &fake_home)
        .env("CODEX_HOME", home)
        .env("NO_BROWSER", "1")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env(
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            format!("{DEAD}/oauth/token"),
        )
        .env(
            "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
            format!("{DEAD}/oauth/revoke"),
        )
        .env(
            "CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL",
            format!("{DEAD}/api/accounts"),
        )
        .env(
            "CODEX_AGENT_IDENTITY_JWKS_BASE_URL",
            format!("{DEAD}/backend-api"),
        )
        .envs(env.iter().copied());
    // The D-Bus session (for the Secret Service) passes through when set.
    for name in ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        // The command may exit before reading stdin.
        if let Err(err) = child.stdin.take().unwrap().write_all(text.as_bytes()) {
            assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
        }
    }
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let watchdog = std::thread::spawn(move || {
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
        }
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let output = child.wait_with_output().unwrap();
    drop(watchdog);
    output
}

/// Runs the official CLI with only loopback endpoints, a private HOME and a
/// dead proxy, so nothing can leave the machine.
pub fn run_official(bin: &Path, home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    run_isolated(bin, home, args, stdin, &[])
}

/// Like [`run_official`], with extra environment variables.
pub fn run_official_with_env(
    bin: &Path,
    home: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    run_isolated(bin, home, args, stdin, env)
}

/// stdout then stderr, for assertion messages.
pub fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
