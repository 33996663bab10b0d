//! Several logins side by side (issue 17): `codex login --profile`, `codex profile ...`,
//! `--profile`/`CODEX_PROFILE` per process, `codex logout --all`, and the official CLI
//! seeing whatever profile is active. Real `codex` processes against the emulator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_emulator::{EmulatorConfig, Faults, IssueTokens, SeedAccount, StatusOverride};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use support::official::{official_bin, run_official};
use support::{Home, blocking, code, stderr, stdout};

const KEY: &str = "sk-proj-1234567890ABCDE";

fn account(email: &str, account_id: &str, plan: &str) -> SeedAccount {
    SeedAccount {
        email: email.to_owned(),
        plan_type: plan.to_owned(),
        account_id: account_id.to_owned(),
        user_id: format!("user-{account_id}"),
        fedramp: false,
    }
}

fn alice() -> SeedAccount {
    account("alice@example.com", "acct-alice-personal", "plus")
}

fn bob() -> SeedAccount {
    account("bob@corp.example", "acct-bob-work", "team")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}{}", stdout(out), stderr(out)))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `codex login status` of the official CLI: loopback only, private HOME, dead proxy.
fn official_status(bin: &Path, home: &Path) -> Output {
    run_official(bin, home, &["login", "status"], None)
}

async fn device_login(home: &Arc<Home>, who: SeedAccount, profile: &'static str) {
    home.emulator().set_login_account(Some(who));
    let h = home.clone();
    let out =
        blocking(move || h.run(&["login", "--device-auth", "--profile", profile], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

async fn run(home: &Arc<Home>, args: &'static [&'static str]) -> Output {
    let h = home.clone();
    blocking(move || h.run(args, None)).await
}

async fn auto_approving_home() -> Arc<Home> {
    Arc::new(
        Home::with_emulator(EmulatorConfig {
            auto_approve: true,
            ..EmulatorConfig::default()
        })
        .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_device_logins_live_side_by_side_and_switch_moves_the_official_cli() {
    let home = auto_approving_home().await;
    device_login(&home, alice(), "personal").await;
    device_login(&home, bob(), "work").await;
    assert_eq!(
        home.emulator().stats().revoked,
        0,
        "a login revoked another"
    );

    // The first profile became active (auth.json); the second waits beside it.
    assert_eq!(
        read_json(&home.auth_file())["tokens"]["account_id"],
        "acct-alice-personal"
    );
    let work_file = home.path().join("profiles/work/auth.json");
    assert_eq!(
        read_json(&work_file)["tokens"]["account_id"],
        "acct-bob-work"
    );

    for (profile, email) in [
        ("personal", "alice@example.com"),
        ("work", "bob@corp.example"),
    ] {
        let h = home.clone();
        let out =
            blocking(move || h.run(&["whoami", "--check", "--json", "--profile", profile], None))
                .await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(json_of(&out)["email"], email, "{profile}");
    }
    let stats = home.emulator().stats();
    assert_eq!(stats.revoked, 0);
    assert_eq!(stats.bearer_rejected, 0);
    assert_eq!(stats.account_mismatches, 0);

    let list = json_of(&run(&home, &["profile", "list", "--json"]).await);
    assert_eq!(list["schema_version"], 1);
    let rows = list["profiles"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    assert_eq!(rows[0]["name"], "personal");
    assert_eq!(rows[0]["active"], true);
    assert_eq!(rows[0]["email"], "alice@example.com");
    assert_eq!(rows[0]["health"]["status"], "ok");
    assert_eq!(rows[1]["name"], "work");
    assert_eq!(rows[1]["active"], false);
    assert_eq!(rows[1]["account_id"], "acct-bob-work");
    assert_eq!(rows[1]["health"]["status"], "ok");
    assert!(rows[1]["expires_at"].is_string());

    let official = official_bin();
    if let Some(bin) = &official {
        let out = official_status(bin, home.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let out = run(&home, &["profile", "switch", "work"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "Switched to profile 'work' (was 'personal')\n"
    );
    assert_eq!(
        read_json(&home.auth_file())["tokens"]["account_id"],
        "acct-bob-work"
    );
    assert!(!home.path().join("profiles/work").exists());
    assert_eq!(
        read_json(&home.path().join("profiles/personal/auth.json"))["tokens"]["account_id"],
        "acct-alice-personal"
    );
    if let Some(bin) = &official {
        let out = official_status(bin, home.path());
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("Logged in using ChatGPT"), "{text}");
    }
    // Our plain whoami (no profile chosen) follows the active profile too.
    let out = run(&home, &["whoami", "--json"]).await;
    assert_eq!(json_of(&out)["email"], "bob@corp.example");

    // An API-key profile: after a switch the official CLI reports the key, so it really
    // reads whatever profile is active.
    let h = home.clone();
    let out =
        blocking(move || h.run(&["login", "--with-api-key", "--profile", "ci"], Some(KEY))).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&home, &["profile", "switch", "ci"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    if let Some(bin) = &official {
        let out = official_status(bin, home.path());
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("sk-proj-***ABCDE"), "{text}");
    }
    let list = json_of(&run(&home, &["whoami", "--all", "--json"]).await);
    let names: Vec<&str> = list["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ci", "personal", "work"]);
    assert_eq!(home.emulator().stats().revoked, 0);
}

#[test]
fn bad_names_missing_profiles_and_switching_to_the_active_one() {
    let home = Home::offline();
    let out = home.run(&["login", "--with-api-key", "--profile", ".."], Some(KEY));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("starts with `.`"), "{}", stderr(&out));
    let out = home.run(
        &["login", "--with-api-key", "--profile", "../escape"],
        Some(KEY),
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("path separator"), "{}", stderr(&out));
    let out = home.run(&["login", "--with-api-key", "--profile", "a/b"], Some(KEY));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("path separator"), "{}", stderr(&out));
    let long = "x".repeat(65);
    let out = home.run(&["profile", "switch", &long], None);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("65 characters"), "{}", stderr(&out));
    let out = home.run_with_env(&["whoami"], None, &[("CODEX_PROFILE", "bad\u{7}name")]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("control character"),
        "{}",
        stderr(&out)
    );
    assert!(
        !home.path().join("profiles").exists(),
        "a bad name created something"
    );

    let out = home.run(&["login", "--with-api-key", "--profile", "ci"], Some(KEY));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = home.run(&["profile", "switch", "ci"], None);
    assert_eq!(stderr(&out), "Profile 'ci' is already active\n");
    assert_eq!(code(&out), 0);

    for args in [
        &["profile", "switch", "missing"][..],
        &["whoami", "--profile", "missing"][..],
        &["login", "status", "--profile", "missing"][..],
        &["logout", "--profile", "missing"][..],
        &["profile", "rename", "missing", "other"][..],
    ] {
        let out = home.run(args, None);
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(
            stderr(&out).contains("no profile named 'missing'"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = home.run_with_env(&["login", "status"], None, &[("CODEX_PROFILE", "missing")]);
    assert_eq!(code(&out), 1);

    let out = home.run(&["profile", "rename", "ci", "robot"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = home.run(&["login", "status", "--profile", "robot"], None);
    assert_eq!(
        stderr(&out),
        "API key configured - sk-proj-***ABCDE\nAuthentication is checked when you send a request.\n"
    );
    let out = home.run(&["profile", "list"], None);
    assert!(
        stdout(&out).starts_with("* robot  apikey"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_all_removes_every_profile_even_when_one_revoke_fails() {
    let home = auto_approving_home().await;
    device_login(&home, alice(), "personal").await;
    device_login(&home, bob(), "work").await;
    let h = home.clone();
    let out =
        blocking(move || h.run(&["login", "--with-api-key", "--profile", "ci"], Some(KEY))).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    home.emulator().set_faults(Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/oauth/revoke".to_owned(),
            status: 503,
            body: "{\"error\":\"temporarily_unavailable\"}".to_owned(),
            times: 1,
        }],
        ..Faults::default()
    });

    let out = run(&home, &["logout", "--all"]).await;
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains(
            "Logged out of profile 'personal' (active): removed; warning: could not revoke"
        ),
        "{err}"
    );
    assert!(
        err.contains("Logged out of profile 'work': removed, refresh_token revoked"),
        "{err}"
    );
    assert!(
        err.contains(
            "Logged out of profile 'ci': removed (API key logins have no token to revoke)"
        ),
        "{err}"
    );
    assert_eq!(home.emulator().stats().revoked, 1);
    assert!(!home.auth_file().exists());
    assert!(!home.path().join("profiles/work").exists());
    assert!(!home.path().join("profiles/ci").exists());
    let list = json_of(&run(&home, &["profile", "list", "--json"]).await);
    assert_eq!(list["profiles"], serde_json::json!([]), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_again_within_a_profile_revokes_only_that_profile() {
    let home = auto_approving_home().await;
    device_login(&home, alice(), "personal").await;
    device_login(&home, bob(), "work").await;
    let personal = read_json(&home.auth_file());
    device_login(&home, bob(), "work").await;
    assert_eq!(
        home.emulator().stats().revoked,
        1,
        "the replaced work login"
    );
    assert_eq!(
        read_json(&home.auth_file()),
        personal,
        "the active profile was touched"
    );
    let out = run(&home, &["logout", "--profile", "work"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(read_json(&home.auth_file()), personal);
    assert_eq!(home.emulator().stats().revoked, 2);
}

/// Writes profile `A` (access token expired) as the active login and `B` as an inactive one.
fn seed_two_profiles(home: &Home) -> (String, String) {
    let a = home.emulator().issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: -60,
        account: Some(alice()),
    });
    let b = home.emulator().issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: 3600,
        account: Some(bob()),
    });
    home.write_chatgpt_login(&b);
    let b_dir = home.path().join("profiles/B");
    std::fs::create_dir_all(&b_dir).unwrap();
    std::fs::rename(home.auth_file(), b_dir.join("auth.json")).unwrap();
    home.write_chatgpt_login(&a);
    std::fs::write(
        home.path().join("profiles/.active"),
        r#"{"schema_version":1,"active":"A","generation":1}"#,
    )
    .unwrap();
    (a.refresh_token, b.refresh_token)
}

fn stored_refresh_token(home: &Path, profile: &str) -> String {
    let marker = read_json(&home.join("profiles/.active"));
    let path = if marker["active"] == profile {
        home.join("auth.json")
    } else {
        home.join("profiles").join(profile).join("auth.json")
    };
    read_json(&path)["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_processes_refresh_profile_a_once_while_another_switches_a_and_b() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    home.emulator().set_faults(Faults {
        refresh_delay_ms: 300,
        ..Faults::default()
    });
    let (a_refresh, b_refresh) = seed_two_profiles(&home);

    let switcher = {
        let h = home.clone();
        std::thread::spawn(move || {
            let mut outputs = Vec::new();
            for round in 0..12 {
                let target = if round % 2 == 0 { "B" } else { "A" };
                outputs.push(h.run(&["profile", "switch", target], None));
            }
            outputs
        })
    };
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let h = home.clone();
            std::thread::spawn(move || {
                h.run_with_env(
                    &["whoami", "--check", "--json"],
                    None,
                    &[("CODEX_PROFILE", "A")],
                )
            })
        })
        .collect();
    let results: Vec<Output> =
        blocking(move || workers.into_iter().map(|w| w.join().unwrap()).collect()).await;
    let switches = blocking(move || switcher.join().unwrap()).await;

    for out in &switches {
        assert_eq!(code(out), 0, "{}", stderr(out));
    }
    for out in &results {
        assert_eq!(code(out), 0, "{}", stderr(out));
        let report = json_of(out);
        assert_eq!(report["email"], "alice@example.com", "{report}");
        assert_eq!(report["account_id"], "acct-alice-personal", "{report}");
    }
    let stats = home.emulator().stats();
    assert_eq!(stats.refresh_ok, 1, "{stats:?}");
    assert_eq!(stats.refresh_reused, 0, "{stats:?}");
    assert_eq!(stats.refresh_rejected, 0, "{stats:?}");
    assert_eq!(stats.account_mismatches, 0, "{stats:?}");
    assert_eq!(stats.bearer_rejected, 0, "{stats:?}");
    // B was never refreshed (nobody sent its refresh token); A's was rotated once.
    assert_eq!(stored_refresh_token(home.path(), "B"), b_refresh);
    assert_ne!(stored_refresh_token(home.path(), "A"), a_refresh);
    // Each login is in exactly one place.
    let marker = read_json(&home.path().join("profiles/.active"));
    let inactive = if marker["active"] == "A" { "A" } else { "B" };
    assert!(
        !home.path().join("profiles").join(inactive).exists(),
        "{marker}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_list_reports_health_and_the_environment_that_shadows_profiles() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    // A: active, access token expired but refreshable. B: its refresh is refused for good.
    let (_, _) = seed_two_profiles(&home);
    let b_refresh = stored_refresh_token(home.path(), "B");
    assert!(home.emulator().invalidate_refresh_token(&b_refresh));
    let b_file = home.path().join("profiles/B/auth.json");
    let mut b = read_json(&b_file);
    b["tokens"]["access_token"] = Value::String(
        home.emulator()
            .issue_chatgpt_tokens(IssueTokens {
                access_token_ttl_secs: -60,
                account: Some(bob()),
            })
            .access_token,
    );
    std::fs::write(&b_file, serde_json::to_string_pretty(&b).unwrap()).unwrap();
    let out = home.run_with_env(&["whoami", "--check"], None, &[("CODEX_PROFILE", "B")]);
    // 5: stored credentials need a new login.
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    // C: an expired access token and no refresh token.
    let c_dir = home.path().join("profiles/C");
    std::fs::create_dir_all(&c_dir).unwrap();
    let mut c = b.clone();
    c["tokens"]["refresh_token"] = Value::String(String::new());
    std::fs::write(
        c_dir.join("auth.json"),
        serde_json::to_string_pretty(&c).unwrap(),
    )
    .unwrap();

    let out = home.run_with_env(
        &["profile", "list", "--json"],
        None,
        &[("CODEX_ACCESS_TOKEN", "x.y.z")],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = json_of(&out);
    let health: Vec<(&str, &str)> = list["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["name"].as_str().unwrap(),
                row["health"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        health,
        [
            ("A", "expired"),
            ("B", "refresh_failed"),
            ("C", "needs_login")
        ],
        "{list}"
    );
    assert_eq!(
        list["env_overrides"],
        serde_json::json!(["CODEX_ACCESS_TOKEN"])
    );
    let out = home.run_with_env(
        &["whoami", "--all"],
        None,
        &[("CODEX_ACCESS_TOKEN", "x.y.z")],
    );
    let text = stdout(&out);
    assert!(text.contains("* A  chatgpt  alice@example.com"), "{text}");
    assert!(text.contains("refresh failed: "), "{text}");
    assert!(text.contains("Note: CODEX_ACCESS_TOKEN is set"), "{text}");
}

#[test]
fn a_plain_logout_forgets_the_active_profile_name() {
    let home = Home::offline();
    let out = home.run(&["login", "--with-api-key", "--profile", "ci"], Some(KEY));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = home.run(&["logout"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = home.run(&["login", "--with-api-key"], Some(KEY));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = json_of(&home.run(&["profile", "list", "--json"], None));
    assert_eq!(list["profiles"][0]["named"], false, "{list}");
    assert_eq!(list["profiles"][0]["name"], "api-key", "{list}");
    // The shown name can be used to give it a real one.
    let out = home.run(&["profile", "rename", "api-key", "robot"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = json_of(&home.run(&["profile", "list", "--json"], None));
    assert_eq!(list["profiles"][0]["name"], "robot", "{list}");
    assert_eq!(list["profiles"][0]["named"], true, "{list}");
}

#[test]
fn keyring_profiles_have_distinct_entries_and_switch_without_files() {
    let home = Home::offline();
    let keyring = ["-c", "cli_auth_credentials_store=keyring"];
    let login = |profile: &str, key: &str| {
        let args = [
            &keyring[..],
            &["login", "--with-api-key", "--profile", profile],
        ]
        .concat();
        home.run(&args, Some(key))
    };
    let out = login("one", "sk-proj-ONE4567890ABCDE");
    if code(&out) != 0 {
        // CI runs with a real Secret Service and requires it: a failure there is a failure.
        assert!(
            std::env::var("CODEX_REQUIRE_SECRET_SERVICE").as_deref() != Ok("1"),
            "CODEX_REQUIRE_SECRET_SERVICE=1 but a keyring login failed: {}",
            stderr(&out)
        );
        eprintln!(
            "\n*** SKIPPED keyring_profiles_have_distinct_entries_and_switch_without_files: no usable OS keyring ({}) ***\n",
            stderr(&out).trim()
        );
        return;
    }
    let out = login("two", "sk-proj-TWO4567890VWXYZ");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let status = |profile: &str| {
        let args = [&keyring[..], &["login", "status", "--profile", profile]].concat();
        stderr(&home.run(&args, None))
    };
    let files_with_credentials = || {
        walk(home.path())
            .into_iter()
            .filter(|path| path.file_name().is_some_and(|name| name == "auth.json"))
            .collect::<Vec<_>>()
    };
    assert!(
        status("one").contains("sk-proj-***ABCDE"),
        "{}",
        status("one")
    );
    assert!(
        status("two").contains("sk-proj-***VWXYZ"),
        "{}",
        status("two")
    );
    assert_eq!(files_with_credentials(), Vec::<PathBuf>::new());

    let args = [&keyring[..], &["profile", "switch", "two"]].concat();
    let out = home.run(&args, None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let args = [&keyring[..], &["login", "status"]].concat();
    assert!(stderr(&home.run(&args, None)).contains("sk-proj-***VWXYZ"));
    assert!(
        status("one").contains("sk-proj-***ABCDE"),
        "{}",
        status("one")
    );
    assert_eq!(files_with_credentials(), Vec::<PathBuf>::new());

    let args = [&keyring[..], &["logout", "--all"]].concat();
    let out = home.run(&args, None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let args = [&keyring[..], &["profile", "list", "--json"]].concat();
    assert_eq!(
        json_of(&home.run(&args, None))["profiles"],
        serde_json::json!([])
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
