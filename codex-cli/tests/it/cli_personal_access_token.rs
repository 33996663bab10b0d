//! Issue 19: personal access tokens (`at-…`) end to end with the real `codex`
//! binary against the emulator's whoami route and backend: login, status,
//! whoami (offline and `--check`), `codex token`, logout, `CODEX_ACCESS_TOKEN`,
//! refused tokens and the administrator's restrictions; and the same lines and
//! exit codes as the official 0.169.0 binary where its whoami call can be
//! pointed at the emulator (`CODEX_AUTHAPI_BASE_URL`).

use crate::support;

use codex_emulator::{EmulatorConfig, PersonalAccessTokenSpec, SeedAccount};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use support::official::{official_bin, run_isolated};
use support::{Home, blocking, code, codex_bin, stderr, stdout};

fn business_account() -> SeedAccount {
    SeedAccount {
        email: "pat-user@example.com".to_owned(),
        plan_type: "business".to_owned(),
        account_id: "acct-pat-0001".to_owned(),
        user_id: "user-pat-0001".to_owned(),
        fedramp: false,
    }
}

fn mint(home: &Home) -> String {
    home.emulator()
        .mint_personal_access_token(PersonalAccessTokenSpec {
            account: Some(business_account()),
            null_email: false,
        })
}

/// `CODEX_AUTHAPI_BASE_URL` for the home's emulator.
fn authapi(home: &Home) -> (&'static str, String) {
    (
        "CODEX_AUTHAPI_BASE_URL",
        home.emulator().urls().authapi_base_url.clone(),
    )
}

fn run(home: &Arc<Home>, args: &'static [&'static str], stdin: Option<String>) -> Output {
    run_env(home, args, stdin, Vec::new())
}

fn run_env(
    home: &Arc<Home>,
    args: &'static [&'static str],
    stdin: Option<String>,
    extra: Vec<(&'static str, String)>,
) -> Output {
    let (name, value) = authapi(home);
    let mut env: Vec<(&str, &str)> = vec![(name, value.as_str())];
    env.extend(extra.iter().map(|(n, v)| (*n, v.as_str())));
    home.run_with_env(args, stdin.as_deref(), &env)
}

fn assert_no_secret(out: &Output, secret: &str) {
    assert!(!stdout(out).contains(secret), "stdout leaks the token");
    assert!(!stderr(out).contains(secret), "stderr leaks the token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pat_login_status_whoami_token_and_logout() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let token = mint(&home);

    let (h, t) = (home.clone(), token.clone());
    let out = blocking(move || {
        run(
            &h,
            &["login", "--with-access-token"],
            Some(format!("{t}\n")),
        )
    })
    .await;
    assert_eq!(
        stderr(&out),
        "Reading access token from stdin...\nSuccessfully logged in\n"
    );
    assert_eq!(code(&out), 0);
    // Exactly the official shape: no auth_mode.
    let stored: Value = serde_json::from_slice(&std::fs::read(home.auth_file()).unwrap()).unwrap();
    assert_eq!(
        stored,
        json!({"OPENAI_API_KEY": null, "personal_access_token": token})
    );
    let stats = home.emulator().stats();
    assert_eq!(stats.pat_whoami_requests, 1);

    let h = home.clone();
    let out = blocking(move || run(&h, &["login", "status"], None)).await;
    assert_eq!(stderr(&out), "Logged in using personal access token\n");
    assert_eq!(code(&out), 0);
    // Hydration happens on every load: no metadata cache.
    assert_eq!(home.emulator().stats().pat_whoami_requests, 2);

    let h = home.clone();
    let out = blocking(move || run(&h, &["whoami", "--json"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["auth_mode"], "personalAccessToken");
    assert_eq!(report["email"], "pat-user@example.com");
    assert_eq!(report["account_id"], "acct-pat-0001");
    assert_no_secret(&out, &token);

    let h = home.clone();
    let out = blocking(move || run(&h, &["whoami"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("pat-user@example.com"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("personal access token"),
        "{}",
        stdout(&out)
    );

    // --check: the backend accepts the PAT as Bearer with its account id.
    let before = home.emulator().stats();
    let h = home.clone();
    let out = blocking(move || run(&h, &["whoami", "--check", "--json"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(report["usage"].is_object(), "{report}");
    let after = home.emulator().stats();
    assert_eq!(after.bearer_ok, before.bearer_ok + 1);
    assert_eq!(after.account_mismatches, before.account_mismatches);
    assert_no_secret(&out, &token);

    let h = home.clone();
    let out = blocking(move || run(&h, &["token"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{token}\n"));
    let h = home.clone();
    let out = blocking(move || run(&h, &["token", "--json"], None)).await;
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["auth_mode"], "personalAccessToken");
    assert_eq!(report["account_id"], "acct-pat-0001");
    assert_eq!(report["expires_at"], Value::Null);
    let h = home.clone();
    let out = blocking(move || run(&h, &["token", "--headers"], None)).await;
    assert!(
        stdout(&out).contains("ChatGPT-Account-ID: acct-pat-0001"),
        "{}",
        stdout(&out)
    );

    // Logout is local: no revoke endpoint exists for a PAT.
    let revoked_before = home.emulator().stats().revoked;
    let h = home.clone();
    let out = blocking(move || run(&h, &["logout"], None)).await;
    assert_eq!(stderr(&out), "Successfully logged out\n");
    assert_eq!(code(&out), 0);
    assert!(!home.auth_file().exists());
    assert_eq!(home.emulator().stats().revoked, revoked_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_pat_is_not_saved_and_a_revoked_one_needs_a_new_login() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let h = home.clone();
    let out = blocking(move || {
        run(
            &h,
            &["login", "--with-access-token"],
            Some("at-never-issued-0123456789\n".to_owned()),
        )
    })
    .await;
    assert_eq!(
        stderr(&out),
        "Reading access token from stdin...\nError logging in with access token: personal access token metadata request failed with status 401 Unauthorized\n"
    );
    assert_eq!(code(&out), 1);
    assert!(!home.auth_file().exists());

    // A stored token that is revoked later.
    let token = mint(&home);
    std::fs::write(
        home.auth_file(),
        format!(r#"{{"OPENAI_API_KEY": null, "personal_access_token": "{token}"}}"#),
    )
    .unwrap();
    assert!(home.emulator().revoke_personal_access_token(&token));
    let h = home.clone();
    let out = blocking(move || run(&h, &["login", "status"], None)).await;
    assert_eq!(
        stderr(&out),
        "Error checking login status: personal access token metadata request failed with status 401 Unauthorized\n"
    );
    assert_eq!(code(&out), 1);
    for args in [&["whoami"][..], &["whoami", "--check"][..], &["token"][..]] {
        let args: &'static [&'static str] = args;
        let h = home.clone();
        let out = blocking(move || run(&h, args, None)).await;
        assert_eq!(code(&out), 5, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("personal access token metadata request failed with status 401"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_no_secret(&out, &token);
    }
    // The file is kept: only the user (or logout) removes a login.
    assert!(home.auth_file().exists());

    // A server failure is a network error (4), not a new login.
    let fresh = mint(&home);
    std::fs::write(
        home.auth_file(),
        format!(r#"{{"OPENAI_API_KEY": null, "personal_access_token": "{fresh}"}}"#),
    )
    .unwrap();
    home.emulator().set_faults(codex_emulator::Faults {
        status_overrides: vec![codex_emulator::StatusOverride {
            path_prefix: "/api/accounts/v1/user-auth-credential/whoami".to_owned(),
            status: 500,
            body: format!("{{\"echo\":\"{fresh}\"}}"),
            times: 0,
        }],
        ..Default::default()
    });
    let h = home.clone();
    let out = blocking(move || run(&h, &["whoami", "--check"], None)).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_no_secret(&out, &fresh);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_access_token_env_and_restrictions() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let token = mint(&home);
    let (h, t) = (home.clone(), token.clone());
    let out = blocking(move || {
        run_env(
            &h,
            &["login", "status"],
            None,
            vec![("CODEX_ACCESS_TOKEN", t)],
        )
    })
    .await;
    assert_eq!(stderr(&out), "Logged in using personal access token\n");
    assert_eq!(code(&out), 0);
    let (h, t) = (home.clone(), token.clone());
    let out = blocking(move || {
        run_env(
            &h,
            &["whoami", "--json"],
            None,
            vec![("CODEX_ACCESS_TOKEN", t)],
        )
    })
    .await;
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["source"], "env:CODEX_ACCESS_TOKEN");
    assert_eq!(report["account_id"], "acct-pat-0001");
    assert!(
        !home.auth_file().exists(),
        "the env token is never persisted"
    );

    // forced_login_method = "api": refused before reading anything from the server.
    let config = home.path().join("config.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{original}forced_login_method = \"api\"\n"),
    )
    .unwrap();
    let before = home.emulator().stats().pat_whoami_requests;
    let (h, t) = (home.clone(), token.clone());
    let out = blocking(move || run(&h, &["login", "--with-access-token"], Some(t))).await;
    assert_eq!(
        stderr(&out),
        "Reading access token from stdin...\nAccess token login is disabled. Use API key login instead.\n"
    );
    assert_eq!(code(&out), 1);
    assert_eq!(home.emulator().stats().pat_whoami_requests, before);

    // forced_chatgpt_workspace_id: the whoami account must be allowed.
    std::fs::write(
        &config,
        format!("{original}forced_chatgpt_workspace_id = \"acct-other\"\n"),
    )
    .unwrap();
    let (h, t) = (home.clone(), token.clone());
    let out = blocking(move || run(&h, &["login", "--with-access-token"], Some(t))).await;
    assert_eq!(
        stderr(&out),
        "Reading access token from stdin...\nError logging in with access token: Login is restricted to workspace id(s) acct-other.\n"
    );
    assert_eq!(code(&out), 1);
    assert!(!home.auth_file().exists());
    std::fs::write(
        home.auth_file(),
        format!(r#"{{"OPENAI_API_KEY": null, "personal_access_token": "{token}"}}"#),
    )
    .unwrap();
    let h = home.clone();
    let out = blocking(move || run(&h, &["login", "status"], None)).await;
    assert_eq!(
        stderr(&out),
        "Error checking login status: Login is restricted to workspace id(s) acct-other.\n"
    );
    assert_eq!(code(&out), 1);
    std::fs::write(
        &config,
        format!("{original}forced_chatgpt_workspace_id = \"acct-pat-0001\"\n"),
    )
    .unwrap();
    let h = home.clone();
    let out = blocking(move || run(&h, &["login", "status"], None)).await;
    assert_eq!(stderr(&out), "Logged in using personal access token\n");
}

// ----- differential against the official 0.169.0 binary -----

/// Lines of `bytes`, without the official binary's warning about the tempdir.
fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|line| {
            !line.starts_with("WARNING: proceeding, even though we could not create PATH aliases")
        })
        .map(str::to_owned)
        .collect()
}

/// Runs `bin` in a fresh home prepared by `prepare`, with the emulator's
/// whoami; returns (exit code, stdout, stderr, auth.json afterwards).
fn run_in_fresh_home(
    bin: &Path,
    authapi: &str,
    config_extra: &str,
    auth_json: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (i32, Vec<String>, Vec<String>, Option<Value>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "issuer = \"http://127.0.0.1:9\"\nchatgpt_base_url = \"http://127.0.0.1:9/backend-api\"\n{config_extra}"
        ),
    )
    .unwrap();
    if let Some(text) = auth_json {
        std::fs::write(dir.path().join("auth.json"), text).unwrap();
    }
    let mut all_env = vec![("CODEX_AUTHAPI_BASE_URL", authapi)];
    all_env.extend_from_slice(env);
    let out = run_isolated(bin, dir.path(), args, stdin, &all_env);
    let stored = std::fs::read(dir.path().join("auth.json"))
        .ok()
        .map(|bytes| serde_json::from_slice(&bytes).unwrap());
    (
        out.status.code().unwrap_or(-1),
        lines(&out.stdout),
        lines(&out.stderr),
        stored,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_cli_and_ours_agree_on_personal_access_tokens() {
    let Some(official) = official_bin() else {
        return;
    };
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let authapi = home.emulator().urls().authapi_base_url.clone();
    let good = mint(&home);
    let revoked = mint(&home);
    assert!(home.emulator().revoke_personal_access_token(&revoked));
    let stored =
        |token: &str| format!(r#"{{"OPENAI_API_KEY": null, "personal_access_token": "{token}"}}"#);
    let good_file = stored(&good);
    let revoked_file = stored(&revoked);
    let good_stdin = format!("{good}\n");
    let revoked_stdin = format!("{revoked}\n");
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        Vec<&'a str>,
        Option<&'a str>,
        Vec<(&'a str, &'a str)>,
        (i32, Vec<&'a str>),
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "stored PAT, status",
            "",
            Some(&good_file),
            vec!["login", "status"],
            None,
            vec![],
            (0, vec!["Logged in using personal access token"]),
        ),
        (
            "stored revoked PAT, status",
            "",
            Some(&revoked_file),
            vec!["login", "status"],
            None,
            vec![],
            (
                1,
                vec![
                    "Error checking login status: personal access token metadata request failed with status 401 Unauthorized",
                ],
            ),
        ),
        (
            "CODEX_ACCESS_TOKEN PAT, status",
            "",
            None,
            vec!["login", "status"],
            None,
            vec![("CODEX_ACCESS_TOKEN", good.as_str())],
            (0, vec!["Logged in using personal access token"]),
        ),
        (
            "stored PAT of a forbidden workspace, status",
            "forced_chatgpt_workspace_id = \"acct-other\"\n",
            Some(&good_file),
            vec!["login", "status"],
            None,
            vec![],
            (
                1,
                vec![
                    "Error checking login status: Login is restricted to workspace id(s) acct-other.",
                ],
            ),
        ),
        (
            "login with a PAT",
            "",
            None,
            vec!["login", "--with-access-token"],
            Some(&good_stdin),
            vec![],
            (
                0,
                vec![
                    "Reading access token from stdin...",
                    "Successfully logged in",
                ],
            ),
        ),
        (
            "login with a revoked PAT",
            "",
            None,
            vec!["login", "--with-access-token"],
            Some(&revoked_stdin),
            vec![],
            (
                1,
                vec![
                    "Reading access token from stdin...",
                    "Error logging in with access token: personal access token metadata request failed with status 401 Unauthorized",
                ],
            ),
        ),
        (
            "login with a PAT while API keys are forced",
            "forced_login_method = \"api\"\n",
            None,
            vec!["login", "--with-access-token"],
            Some(&good_stdin),
            vec![],
            (
                1,
                vec![
                    "Reading access token from stdin...",
                    "Access token login is disabled. Use API key login instead.",
                ],
            ),
        ),
        (
            "login with a PAT of a forbidden workspace",
            "forced_chatgpt_workspace_id = \"acct-other\"\n",
            None,
            vec!["login", "--with-access-token"],
            Some(&good_stdin),
            vec![],
            (
                1,
                vec![
                    "Reading access token from stdin...",
                    "Error logging in with access token: Login is restricted to workspace id(s) acct-other.",
                ],
            ),
        ),
        (
            "logout of a stored PAT",
            "",
            Some(&good_file),
            vec!["logout"],
            None,
            vec![],
            (0, vec!["Successfully logged out"]),
        ),
    ];
    let ours = codex_bin();
    for (name, config, auth_json, args, stdin, env, (want_code, want_err)) in cases {
        let official_bin = official.clone();
        let ours = ours.clone();
        let authapi = authapi.clone();
        let (config, auth_json, stdin) = (
            config.to_owned(),
            auth_json.map(str::to_owned),
            stdin.map(str::to_owned),
        );
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let (theirs, mine) = blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env: Vec<(&str, &str)> =
                env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let run = |bin: &Path| {
                run_in_fresh_home(
                    bin,
                    &authapi,
                    &config,
                    auth_json.as_deref(),
                    &args,
                    stdin.as_deref(),
                    &env,
                )
            };
            (run(&official_bin), run(&ours))
        })
        .await;
        assert_eq!(theirs, mine, "{name}: official vs ours");
        assert_eq!(mine.0, want_code, "{name}");
        assert_eq!(mine.2, want_err, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_cli_and_ours_agree_when_whoami_fails() {
    let Some(official) = official_bin() else {
        return;
    };
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let authapi = home.emulator().urls().authapi_base_url.clone();
    let good = mint(&home);
    let null_email = home
        .emulator()
        .mint_personal_access_token(PersonalAccessTokenSpec {
            account: Some(business_account()),
            null_email: true,
        });
    let stored =
        |token: &str| format!(r#"{{"OPENAI_API_KEY": null, "personal_access_token": "{token}"}}"#);
    // (case, whoami override (status, body) or none, token, our expected stderr, exit)
    type FailureCase<'a> = (&'a str, Option<(u16, String)>, &'a str, Vec<String>, i32);
    let cases: Vec<FailureCase<'_>> = vec![
        (
            "whoami answers 500",
            Some((500, "{\"error\":\"boom\"}".to_owned())),
            &good,
            vec!["Error checking login status: personal access token metadata request failed with status 500 Internal Server Error".to_owned()],
            1,
        ),
        (
            "whoami answers 403",
            Some((403, "{\"error\":\"forbidden\"}".to_owned())),
            &good,
            vec!["Error checking login status: personal access token metadata request failed with status 403 Forbidden".to_owned()],
            1,
        ),
        (
            "whoami answers 200 with something that is not the JSON",
            Some((200, "not json at all".to_owned())),
            &good,
            vec!["Error checking login status: failed to decode personal access token metadata: error decoding response body".to_owned()],
            1,
        ),
        (
            "whoami answers 200 without the account id",
            Some((200, "{\"email\":\"x\",\"chatgpt_user_id\":\"u\"}".to_owned())),
            &good,
            vec!["Error checking login status: failed to decode personal access token metadata: error decoding response body".to_owned()],
            1,
        ),
        (
            "whoami answers a null email",
            None,
            &null_email,
            vec!["Logged in using personal access token".to_owned()],
            0,
        ),
    ];
    for (name, fault, token, want_err, want_code) in cases {
        let file = stored(token);
        let mut seen = Vec::new();
        for bin in [official.clone(), codex_bin()] {
            home.emulator().set_faults(codex_emulator::Faults {
                status_overrides: fault
                    .iter()
                    .map(|(status, body)| codex_emulator::StatusOverride {
                        path_prefix: "/api/accounts/v1/user-auth-credential/whoami".to_owned(),
                        status: *status,
                        body: body.clone(),
                        times: 0,
                    })
                    .collect(),
                ..Default::default()
            });
            let (authapi, file) = (authapi.clone(), file.clone());
            seen.push(
                blocking(move || {
                    run_in_fresh_home(
                        &bin,
                        &authapi,
                        "",
                        Some(&file),
                        &["login", "status"],
                        None,
                        &[],
                    )
                })
                .await,
            );
        }
        assert_eq!(seen[0], seen[1], "{name}: official vs ours");
        assert_eq!((seen[1].0, &seen[1].2), (want_code, &want_err), "{name}");
    }
}

/// Review finding 8: without `CODEX_AUTHAPI_BASE_URL`, whoami goes to the
/// accounts API of the configured issuer (the emulator), not production (a
/// deliberate difference from 0.169.0, see docs/OBSERVED.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_follows_the_configured_issuer_without_the_override() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let token = mint(&home);
    let before = home.emulator().stats().pat_whoami_requests;
    let (h, t) = (home.clone(), token.clone());
    let out = blocking(move || {
        h.run_with_env(
            &["whoami", "--json"],
            None,
            &[("CODEX_ACCESS_TOKEN", t.as_str())],
        )
    })
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["account_id"], "acct-pat-0001");
    assert_eq!(home.emulator().stats().pat_whoami_requests, before + 1);
    let (h, t) = (home.clone(), token.clone());
    let out = blocking(move || {
        h.run_with_env(
            &["login", "status"],
            None,
            &[("CODEX_ACCESS_TOKEN", t.as_str())],
        )
    })
    .await;
    assert_eq!(stderr(&out), "Logged in using personal access token\n");
    assert_eq!(code(&out), 0);
    assert_eq!(home.emulator().stats().pat_whoami_requests, before + 2);
    assert_no_secret(&out, &token);
}
