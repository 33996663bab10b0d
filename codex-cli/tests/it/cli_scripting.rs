//! What scripts rely on: exit codes that mean one thing each, usage errors,
//! conflicting flags, a reader closing the pipe early, per-command help, and
//! `whoami --check` proving an API key works.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_emulator::EmulatorConfig;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use support::{Home, blocking, code, stderr, stdout};

const KEY: &str = "sk-proj-1234567890ABCDE";

#[test]
fn usage_errors_exit_2_and_help_does_not_call_2_a_login_problem() {
    let home = Home::offline();
    let out = home.run(&["whoami", "--jsno"], None);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--jsno"), "{}", stderr(&out));

    let out = home.run(&["whoami", "--help"], None);
    assert_eq!(code(&out), 0);
    let help = stdout(&out);
    assert!(help.contains("  2  usage error"), "{help}");
    assert!(
        help.contains("  5  stored credentials need a new login"),
        "{help}"
    );
    assert!(!help.contains("  2  stored credentials"), "{help}");
}

#[test]
fn each_subcommand_lists_its_own_exit_codes() {
    let home = Home::offline();
    for (args, wanted, unwanted) in [
        (
            &["login", "--help"][..],
            "130  interrupted with Ctrl-C",
            "need a new login",
        ),
        (&["login", "status", "--help"][..], "0  logged in", "130"),
        (
            &["logout", "--help"][..],
            "0  logged out",
            "need a new login",
        ),
        (
            &["whoami", "--help"][..],
            "4  network or server error",
            "130",
        ),
    ] {
        let out = home.run(args, None);
        assert_eq!(code(&out), 0, "{args:?}");
        let help = stdout(&out);
        assert!(help.contains("Exit codes:"), "{args:?}: {help}");
        assert!(help.contains(wanted), "{args:?}: {help}");
        assert!(!help.contains(unwanted), "{args:?}: {help}");
    }
}

#[test]
fn device_auth_with_a_stdin_credential_is_refused_as_a_usage_error() {
    let home = Home::offline();
    for other in ["--with-api-key", "--with-access-token"] {
        let out = home.run(&["login", "--device-auth", other], Some(KEY));
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("'--device-auth' cannot be used with") && err.contains(other),
            "{err}"
        );
        assert!(!stdout(&out).contains("one-time code"), "{}", stdout(&out));
        assert!(!home.auth_file().exists());
    }
}

/// `codex <args> | <a reader that closes at once>`, with a real pipe.
fn run_into_closed_pipe(home: &Home, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    // Close the read end before the command writes: every write gets EPIPE.
    drop(reader);
    let mut child = Command::new(support::codex_bin())
        .args(args)
        .env("CODEX_HOME", home.path())
        .env_remove("CODEX_API_KEY")
        .env_remove("CODEX_ACCESS_TOKEN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap().code(), err)
}

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    let home = Home::offline();
    std::fs::write(
        home.auth_file(),
        format!(r#"{{"auth_mode":"apikey","OPENAI_API_KEY":"{KEY}"}}"#),
    )
    .unwrap();
    for args in [&["whoami", "--json"][..], &["whoami"][..]] {
        let (exit, err) = run_into_closed_pipe(&home, args);
        assert_eq!(exit, Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!err.contains("Broken pipe"), "{err}");
    }
    // Not logged in still says so on stderr, with its own code.
    std::fs::remove_file(home.auth_file()).unwrap();
    let (exit, err) = run_into_closed_pipe(&home, &["whoami", "--json"]);
    assert_eq!(exit, Some(1), "{err}");
    assert_eq!(err, "Not logged in\n");
}

#[test]
fn a_shell_pipeline_into_true_exits_0() {
    let home = Home::offline();
    std::fs::write(
        home.auth_file(),
        format!(r#"{{"auth_mode":"apikey","OPENAI_API_KEY":"{KEY}"}}"#),
    )
    .unwrap();
    let script = format!(
        "set -o pipefail; CODEX_HOME='{}' '{}' whoami --json | true",
        home.path().display(),
        support::codex_bin().display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

fn seed_api_key(home: &Home, key: &str) {
    std::fs::write(
        home.auth_file(),
        format!(r#"{{"auth_mode":"apikey","OPENAI_API_KEY":"{key}"}}"#),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_check_proves_a_good_api_key_against_the_api() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let key = home.emulator().mint_api_key();
    seed_api_key(&home, &key);
    let base = home.emulator().urls().openai_base_url.clone();
    let h = home.clone();
    let out = blocking(move || {
        h.run_with_env(
            &["whoami", "--check", "--json"],
            None,
            &[("OPENAI_BASE_URL", &base), ("RUST_LOG", "trace")],
        )
    })
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["auth_mode"], "apikey");
    assert!(
        stderr(&out).contains("the API key was accepted"),
        "{}",
        stderr(&out)
    );
    // Not even in TRACE logs.
    assert!(stderr(&out).contains("TRACE"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(&key[7..]));
    let stats = home.emulator().stats();
    assert_eq!(stats.api_key_checks_ok, 1);
    assert_eq!(stats.api_key_checks_rejected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_check_on_a_refused_api_key_needs_a_new_login() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    seed_api_key(&home, "sk-proj-revoked-0123456789ABCDE");
    let base = home.emulator().urls().openai_base_url.clone();
    for env in [
        vec![("OPENAI_BASE_URL", base.clone())],
        // CODEX_API_KEY overrides the stored key for whoami, and is checked too.
        vec![
            ("OPENAI_BASE_URL", base.clone()),
            ("CODEX_API_KEY", "sk-env-unknown-0123456789ABCDE".to_owned()),
        ],
    ] {
        let h = home.clone();
        let out = blocking(move || {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            h.run_with_env(&["whoami", "--check"], None, &env)
        })
        .await;
        assert_eq!(code(&out), 5, "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("refused the API key (HTTP 401)"), "{err}");
        assert!(err.contains("codex login --with-api-key"), "{err}");
        assert!(!err.contains("revoked-0123456789") && !err.contains("unknown-0123456789"));
    }
    assert_eq!(home.emulator().stats().api_key_checks_rejected, 2);
    assert_eq!(home.emulator().stats().api_key_checks_ok, 0);
}

#[test]
fn whoami_check_on_an_api_key_with_no_api_reachable_is_a_network_error() {
    let home = Home::offline();
    seed_api_key(&home, KEY);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", dead.local_addr().unwrap());
    drop(dead);
    let out = home.run_with_env(&["whoami", "--check"], None, &[("OPENAI_BASE_URL", &base)]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("could not check the API key"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("1234567890ABCDE"));

    // Credentials written into OPENAI_BASE_URL never reach the error either.
    let with_password = base.replace("http://", "http://user:base-url-pw@");
    let out = home.run_with_env(
        &["whoami", "--check"],
        None,
        &[("OPENAI_BASE_URL", &with_password)],
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(!stderr(&out).contains("base-url-pw"), "{}", stderr(&out));
}

#[test]
fn whoami_check_refuses_to_send_an_api_key_over_plain_http_to_a_remote_host() {
    let home = Home::offline();
    seed_api_key(&home, KEY);
    let out = home.run_with_env(
        &["whoami", "--check"],
        None,
        &[("OPENAI_BASE_URL", "http://api.example.invalid/v1")],
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("plain http://"), "{}", stderr(&out));
}

#[test]
fn logs_redirected_to_a_file_hold_no_escape_codes_unless_colour_is_forced() {
    let home = Home::offline();
    let out = home.run_with_env(&["logout"], None, &[("RUST_LOG", "info")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("logged out"), "{}", stderr(&out));
    assert!(!stderr(&out).contains('\x1b'), "{:?}", stderr(&out));

    let out = home.run_with_env(
        &["logout"],
        None,
        &[("RUST_LOG", "info"), ("CLICOLOR_FORCE", "1")],
    );
    assert!(stderr(&out).contains('\x1b'), "{:?}", stderr(&out));

    // NO_COLOR wins over nothing else set, even with a colour-capable TERM.
    let out = home.run_with_env(
        &["logout"],
        None,
        &[
            ("RUST_LOG", "info"),
            ("NO_COLOR", "1"),
            ("TERM", "xterm-256color"),
        ],
    );
    assert!(!stderr(&out).contains('\x1b'), "{:?}", stderr(&out));
}
