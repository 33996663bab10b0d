//! Running the official Codex CLI 0.169.0 next to ours, loopback only. The
//! binary comes from `CODEX_OFFICIAL_BIN` (the CI script installs it from
//! npm); without it the tests print a loud skip notice, unless
//! `CODEX_REQUIRE_OFFICIAL_CLI=1` demands it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The official binary, or `None` after a loud skip notice.
pub fn official_bin() -> Option<PathBuf> {
    match std::env::var_os("CODEX_OFFICIAL_BIN") {
        Some(path) if Path::new(&path).exists() => Some(PathBuf::from(path)),
        _ => {
            assert!(
                std::env::var("CODEX_REQUIRE_OFFICIAL_CLI").as_deref() != Ok("1"),
                "CODEX_REQUIRE_OFFICIAL_CLI=1 but CODEX_OFFICIAL_BIN is not an installed official codex"
            );
            eprintln!(
                "\n*** SKIPPED: the official Codex CLI is not installed (set CODEX_OFFICIAL_BIN; \
                 `bash .ci/run` installs @openai/codex@0.169.0 from npm) ***\n"
            );
            None
        }
    }
}

/// Runs the official CLI with only loopback endpoints, a private HOME and a
/// dead proxy, so nothing can leave the machine.
pub fn run_official(bin: &Path, home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    run_official_with_env(bin, home, args, stdin, &[])
}

/// Like [`run_official`], with extra environment variables. The D-Bus session
/// (for the Secret Service) is passed through when set.
pub fn run_official_with_env(
    bin: &Path,
    home: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    let fake_home = home.join("official-home");
    std::fs::create_dir_all(&fake_home).unwrap();
    let mut command = Command::new(bin);
    command
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &fake_home)
        .env("CODEX_HOME", home)
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost");
    for name in ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
        .envs(env.iter().copied())
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
    child.wait_with_output().unwrap()
}

/// stdout and stderr together, as text.
pub fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
