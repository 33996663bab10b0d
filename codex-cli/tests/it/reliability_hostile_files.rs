//! Issue 13 points 9, 10 and 11 through the real `codex` binary: a non-UTF-8 `CODEX_HOME`, a
//! 60,000-part `-c` key, `auth.json`/`config.toml` as a FIFO or a sparse 1 GiB file,
//! `/dev/zero` as the CA bundle, an endless stdin. Every child runs with a time limit, so a
//! hang fails the test instead of blocking it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::hostile_support;
use crate::support;

use std::path::Path;
use std::time::Duration;

use hostile_support::{assert_clean_failure, codex, run_within, write_config};
use support::stderr;

// ---------------------------------------------------------------------------------------------
// Point 9: a set but unusable CODEX_HOME is an error, never a fallback to ~/.codex.

#[cfg(unix)]
#[test]
fn a_non_utf8_codex_home_is_an_error_and_logout_leaves_home_codex_alone() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let user_home = tempfile::tempdir().unwrap();
    let dot_codex = user_home.path().join(".codex");
    std::fs::create_dir(&dot_codex).unwrap();
    let auth = dot_codex.join("auth.json");
    let document = r#"{"OPENAI_API_KEY":"sk-proj-must-survive-12345","tokens":null}"#;
    std::fs::write(&auth, document).unwrap();
    let bad_home = OsStr::from_bytes(b"/tmp/codex-home-\xff\xfe-not-utf8");
    for args in [&["logout"][..], &["login", "status"], &["whoami"]] {
        let mut command = codex(user_home.path());
        command
            .args(args)
            .env("HOME", user_home.path())
            .env("CODEX_HOME", bad_home);
        let out = run_within(
            command,
            Duration::from_secs(20),
            "codex with a non-UTF-8 CODEX_HOME",
        );
        assert_clean_failure(&out, &args.join(" "));
        let text = stderr(&out);
        assert!(
            text.contains("CODEX_HOME") && text.contains("UTF-8"),
            "{args:?}: {text}"
        );
        assert_eq!(
            std::fs::read_to_string(&auth).unwrap(),
            document,
            "{args:?} touched ~/.codex/auth.json"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Point 10: a very deeply dotted `-c` key.

#[test]
fn a_60000_part_override_key_is_a_clear_error_not_a_stack_overflow() {
    let home = tempfile::tempdir().unwrap();
    let key = vec!["a"; 60_000].join(".");
    let mut command = codex(home.path());
    command.args(["-c", &format!("{key}=1"), "login", "status"]);
    let out = run_within(command, Duration::from_secs(20), "codex -c <deep key>");
    assert_clean_failure(&out, "-c with 60,000 parts");
    let text = stderr(&out);
    assert!(
        text.contains("the key has 60000 dotted parts, at most 64 are allowed"),
        "{text}"
    );
    assert!(
        text.len() < 1000,
        "the key is not echoed back: {} bytes",
        text.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Point 11: unbounded reads.

fn mkfifo(path: &Path) -> bool {
    match nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)) {
        Ok(()) => true,
        Err(err) => {
            eprintln!("SKIPPED: cannot create a FIFO at {}: {err}", path.display());
            false
        }
    }
}

#[cfg(unix)]
#[test]
fn auth_json_or_config_toml_as_a_fifo_fails_at_once() {
    for name in ["auth.json", "config.toml"] {
        let home = tempfile::tempdir().unwrap();
        if !mkfifo(&home.path().join(name)) {
            return;
        }
        let mut command = codex(home.path());
        command.args(["login", "status"]);
        let out = run_within(command, Duration::from_secs(10), "login status with a FIFO");
        assert_clean_failure(&out, name);
        let text = stderr(&out);
        assert!(
            text.contains(name) && text.contains("not a regular file (a FIFO)"),
            "{name}: {text}"
        );
    }
}

/// The largest resident set of any child this test process has waited for, in KiB (Linux).
#[cfg(target_os = "linux")]
fn children_max_rss_kib() -> i64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .unwrap()
        .max_rss()
}

#[cfg(target_os = "linux")]
#[test]
fn a_sparse_1_gib_auth_json_or_config_is_refused_without_reading_it() {
    for name in ["auth.json", "config.toml"] {
        let home = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(home.path().join(name)).unwrap();
        file.set_len(1 << 30).unwrap();
        drop(file);
        let mut command = codex(home.path());
        command.args(["login", "status"]);
        let out = run_within(command, Duration::from_secs(20), "login status, 1 GiB file");
        assert_clean_failure(&out, name);
        let text = stderr(&out);
        assert!(
            text.contains(name) && text.contains("larger than 1 MiB"),
            "{name}: {text}"
        );
    }
    let peak = children_max_rss_kib();
    assert!(
        peak < 256 * 1024,
        "a child of this test used {peak} KiB: a 1 GiB file was read into memory"
    );
}

#[cfg(unix)]
#[test]
fn dev_zero_as_the_ca_bundle_fails_at_once() {
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), "issuer = \"http://127.0.0.1:9\"\n");
    let mut command = codex(home.path());
    command
        .args(["login", "--device-auth"])
        .env("CODEX_CA_CERTIFICATE", "/dev/zero");
    let out = run_within(
        command,
        Duration::from_secs(10),
        "CODEX_CA_CERTIFICATE=/dev/zero",
    );
    assert_clean_failure(&out, "/dev/zero CA");
    let text = stderr(&out);
    assert!(
        text.contains("CODEX_CA_CERTIFICATE")
            && text.contains("/dev/zero")
            && text.contains("not a regular file (a character device)"),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn an_endless_stdin_for_an_api_key_is_cut_off() {
    let home = tempfile::tempdir().unwrap();
    let mut command = codex(home.path());
    command
        .args(["login", "--with-api-key"])
        .stdin(std::fs::File::open("/dev/zero").unwrap());
    let out = run_within(
        command,
        Duration::from_secs(10),
        "login --with-api-key < /dev/zero",
    );
    assert_clean_failure(&out, "endless stdin");
    assert!(stderr(&out).contains("more than 1 MiB"), "{}", stderr(&out));
    assert!(!home.path().join("auth.json").exists());
}
