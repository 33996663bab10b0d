//! `codex` with workload identity federation (issue 19), as real processes against the
//! emulator: `login status`, `whoami [--check]`, `token`, refusals without fallback, the
//! GitHub Actions source from config.toml, and 8 processes sharing one exchange per expiry.

use crate::support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use codex_emulator::{EmulatorConfig, FederationRule, SubjectTokenSpec};
use support::{Home, blocking, code, stderr, stdout};

async fn home_with_rule(rule: FederationRule) -> Arc<Home> {
    let home = Home::with_emulator(EmulatorConfig::default()).await;
    home.emulator().set_federation_rule(rule);
    Arc::new(home)
}

fn token_file(home: &Home) -> PathBuf {
    home.path().join("identity-token")
}

fn write_subject(home: &Home, spec: SubjectTokenSpec) {
    std::fs::write(token_file(home), home.emulator().mint_subject_token(&spec)).unwrap();
}

async fn run_wif(home: &Arc<Home>, args: &'static [&'static str]) -> std::process::Output {
    let h = home.clone();
    blocking(move || {
        let file = token_file(&h);
        h.run_with_env(
            args,
            None,
            &[
                ("OPENAI_FEDERATION_RULE_ID", "idpm_emulator"),
                ("OPENAI_IDENTITY_TOKEN_FILE", file.to_str().unwrap()),
            ],
        )
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_sourced_identity_from_a_clean_home_works_for_every_command() {
    let home = home_with_rule(FederationRule::default()).await;
    write_subject(&home, SubjectTokenSpec::default());

    let out = run_wif(&home, &["login", "status"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "Logged in using workload identity\n");

    let out = run_wif(&home, &["whoami"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("workload-identity:file:"), "{text}");
    assert!(text.contains("ChatGPT (workload identity)"), "{text}");
    assert!(
        text.contains("Account:        acct-emulator-0001"),
        "{text}"
    );
    assert!(
        stderr(&out).contains(
            "account acct-emulator-0001, membership acctuser-emulator-0001, user user-emulator-0001"
        ),
        "{}",
        stderr(&out)
    );

    let out = run_wif(&home, &["whoami", "--check", "--json"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        report["source"]
            .as_str()
            .unwrap()
            .starts_with("workload-identity:file:"),
        "{report}"
    );
    assert!(!report["usage"].is_null(), "{report}");

    let out = run_wif(&home, &["token", "--json"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let token: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(token["account_id"], "acct-emulator-0001");
    assert_eq!(token["auth_mode"], "chatgptAuthTokens");
    // The printed token works at the backend.
    let status = reqwest::Client::new()
        .get(format!(
            "{}/wham/usage",
            home.emulator().urls().chatgpt_base_url
        ))
        .bearer_auth(token["token"].as_str().unwrap())
        .header("ChatGPT-Account-ID", "acct-emulator-0001")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    // Nothing was written as a login; the shared cache is the only file.
    assert!(!home.auth_file().exists());
    let stats = home.emulator().stats();
    assert_eq!(stats.federation_exchanges_ok, 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_exchange_is_a_clear_error_and_never_falls_back() {
    let home = home_with_rule(FederationRule::default()).await;
    home.seed_chatgpt_login(3600);
    for (spec, needle) in [
        (
            SubjectTokenSpec {
                audience: "wrong".to_owned(),
                ..SubjectTokenSpec::default()
            },
            "audience does not match",
        ),
        (
            SubjectTokenSpec {
                ttl_secs: -30,
                ..SubjectTokenSpec::default()
            },
            "has expired",
        ),
    ] {
        write_subject(&home, spec);
        let out = run_wif(&home, &["login", "status"]).await;
        assert_eq!(code(&out), 1);
        let err = stderr(&out);
        assert!(
            err.starts_with("Error checking login status: the workload identity token exchange was rejected with HTTP 400: invalid_grant:"),
            "{err}"
        );
        assert!(err.contains(needle), "{err}");
        let out = run_wif(&home, &["token"]).await;
        assert_eq!(code(&out), 5, "{}", stderr(&out));
        assert_eq!(stdout(&out), "", "no token from the stored login");
        let out = run_wif(&home, &["whoami", "--check"]).await;
        assert_eq!(code(&out), 5, "{}", stderr(&out));
        assert!(!stdout(&out).contains("file:"), "{}", stdout(&out));
    }
    // Unknown rule.
    write_subject(&home, SubjectTokenSpec::default());
    let h = home.clone();
    let out = blocking(move || {
        let file = token_file(&h);
        h.run_with_env(
            &["login", "status"],
            None,
            &[
                ("OPENAI_FEDERATION_RULE_ID", "idpm_unknown"),
                ("OPENAI_IDENTITY_TOKEN_FILE", file.to_str().unwrap()),
            ],
        )
    })
    .await;
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("Unknown federation rule `idpm_unknown`"),
        "{}",
        stderr(&out)
    );
    let stats = home.emulator().stats();
    assert_eq!(stats.federation_exchanges_ok, 0);
    assert_eq!(stats.refresh_ok, 0);
    assert_eq!(stats.bearer_ok, 0, "the stored login was never used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_actions_source_from_config_toml() {
    let home = home_with_rule(FederationRule {
        audience: "codex-ci".to_owned(),
        ..FederationRule::default()
    })
    .await;
    let urls = home.emulator().urls().clone();
    let mut config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    config.push_str(
        "[workload_identity]\nfederation_rule_id = \"idpm_emulator\"\n\
         [workload_identity.subject_token]\ntype = \"github_actions\"\naudience = \"codex-ci\"\n",
    );
    std::fs::write(home.path().join("config.toml"), config).unwrap();
    let request_token = home.emulator().actions_request_token();
    let h = home.clone();
    let out = blocking(move || {
        h.run_with_env(
            &["whoami", "--check"],
            None,
            &[
                (
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    urls.actions_id_token_request_url.as_str(),
                ),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token.as_str()),
            ],
        )
    })
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("workload-identity:github-actions"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("config.toml"), "{}", stderr(&out));
    let stats = home.emulator().stats();
    assert_eq!(
        (stats.oidc_tokens_issued, stats.federation_exchanges_ok),
        (1, 1)
    );
    // Outside a runner: a clear error, nothing sent.
    let h = home.clone();
    let out = blocking(move || h.run(&["login", "status"], None)).await;
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("requires ACTIONS_ID_TOKEN_REQUEST_URL"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_cost_one_exchange_per_expiry() {
    let home = home_with_rule(FederationRule {
        access_token_ttl_secs: 6,
        ..FederationRule::default()
    })
    .await;
    write_subject(&home, SubjectTokenSpec::default());
    for round in 1..=2u64 {
        let mut children = Vec::new();
        for _ in 0..8 {
            let h = home.clone();
            children.push(tokio::spawn(async move { run_wif(&h, &["token"]).await }));
        }
        let mut printed = Vec::new();
        for child in children {
            let out = child.await.unwrap();
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            printed.push(stdout(&out));
        }
        assert!(
            printed.iter().all(|t| *t == printed[0]),
            "one token for all"
        );
        assert_eq!(home.emulator().stats().federation_exchanges_ok, round);
        // Past the refresh point (6 s - min(120 s, 3 s)), before expiry.
        tokio::time::sleep(Duration::from_millis(3300)).await;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(home.path().join("workload-identity.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_setups_are_errors_with_the_official_lines() {
    let home = home_with_rule(FederationRule::default()).await;
    home.seed_chatgpt_login(3600);
    let file = token_file(&home).to_str().unwrap().to_owned();
    let cases: Vec<(Vec<(&str, String)>, String)> = vec![
        (
            vec![("OPENAI_FEDERATION_RULE_ID", "idpm_1".to_owned())],
            "Error checking login status: workload identity requires OPENAI_IDENTITY_TOKEN_FILE\n"
                .to_owned(),
        ),
        (
            vec![("OPENAI_IDENTITY_TOKEN_FILE", file.clone())],
            "Error checking login status: workload identity requires OPENAI_FEDERATION_RULE_ID\n"
                .to_owned(),
        ),
        (
            vec![
                ("OPENAI_FEDERATION_RULE_ID", "idpm_emulator".to_owned()),
                ("OPENAI_IDENTITY_TOKEN_FILE", file.clone()),
            ],
            format!(
                "Error checking login status: could not read workload identity assertion file {file}\n"
            ),
        ),
    ];
    for (env, expected) in cases {
        let h = home.clone();
        let out = blocking(move || {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            h.run_with_env(&["login", "status"], None, &env)
        })
        .await;
        assert_eq!(code(&out), 1);
        assert_eq!(stderr(&out), expected);
    }
    assert_eq!(home.emulator().stats().token_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_never_show_the_subject_token_or_the_access_token() {
    let home = home_with_rule(FederationRule::default()).await;
    write_subject(&home, SubjectTokenSpec::default());
    let subject = std::fs::read_to_string(token_file(&home)).unwrap();
    let h = home.clone();
    let out = blocking(move || {
        let file = token_file(&h);
        h.run_with_env(
            &["token"],
            None,
            &[
                ("OPENAI_FEDERATION_RULE_ID", "idpm_emulator"),
                ("OPENAI_IDENTITY_TOKEN_FILE", file.to_str().unwrap()),
                ("RUST_LOG", "trace"),
            ],
        )
    })
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let access = stdout(&out).trim().to_owned();
    let logs = stderr(&out);
    assert!(!logs.is_empty(), "trace logging is on");
    assert!(!logs.contains(subject.trim()), "subject token in the logs");
    assert!(!logs.contains(&access), "access token in the logs");
    let cache = std::fs::read_to_string(home.path().join("workload-identity.json")).unwrap();
    assert!(
        !cache.contains(subject.trim()),
        "the subject token is never stored"
    );
}

/// Review finding 3: a FIFO as the token file hung `codex` forever while it held
/// `auth.json.lock`. It is refused at once as not a regular file.
#[cfg(unix)]
#[test]
fn a_fifo_as_the_token_file_is_refused_at_once() {
    use crate::hostile_support::{assert_clean_failure, codex, run_within, write_config};
    let home = tempfile::tempdir().unwrap();
    // Loopback only (nothing listens on port 9): nothing may ever leave the machine.
    write_config(
        home.path(),
        "issuer = \"http://127.0.0.1:9\"\nchatgpt_base_url = \"http://127.0.0.1:9/backend-api\"\n",
    );
    let fifo = home.path().join("identity-token");
    nix::unistd::mkfifo(
        &fifo,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    let mut command = codex(home.path());
    command
        .args(["login", "status"])
        .env("OPENAI_FEDERATION_RULE_ID", "idpm_emulator")
        .env("OPENAI_IDENTITY_TOKEN_FILE", &fifo);
    let started = std::time::Instant::now();
    let out = run_within(
        command,
        Duration::from_secs(8),
        "login status with a FIFO token file",
    );
    assert_clean_failure(&out, "FIFO token file");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        stderr(&out),
        format!(
            "Error checking login status: could not read workload identity assertion file {}\n",
            fifo.display()
        )
    );
    // Nothing was left holding the lock: logout in the same home is immediate.
    let mut command = codex(home.path());
    command.args(["logout"]);
    let out = run_within(command, Duration::from_secs(8), "logout after the FIFO");
    assert!(!stderr(&out).contains("lock"), "{}", stderr(&out));
}

/// Review finding 4: a token command printing 300 MB, and an Actions endpoint whose answer never
/// ends, were read whole into memory. Both are refused quickly with bounded memory.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_command_output_and_an_endless_actions_answer_are_refused_with_bounded_memory() {
    use crate::hostile_support::{assert_clean_failure, codex, endless_body_server, write_config};
    let loopback = "issuer = \"http://127.0.0.1:9\"\nchatgpt_base_url = \"http://127.0.0.1:9/backend-api\"\n\
                    [workload_identity]\nfederation_rule_id = \"idpm_emulator\"\n";
    let command_home = tempfile::tempdir().unwrap();
    write_config(
        command_home.path(),
        &format!(
            "{loopback}[workload_identity.subject_token]\ntype = \"command\"\n\
             command = [\"head\", \"-c\", \"300000000\", \"/dev/zero\"]\n"
        ),
    );
    let mut command = codex(command_home.path());
    command.args(["login", "status"]);
    let (out, peak) = blocking(move || run_measured(command, Duration::from_secs(8))).await;
    assert_clean_failure(&out, "300 MB command");
    assert!(
        peak < 128 * 1024,
        "codex reached {peak} KiB reading a 300 MB command output"
    );
    assert!(
        stderr(&out).contains("the workload identity assertion exceeds 16 KiB"),
        "{}",
        stderr(&out)
    );

    let actions = endless_body_server().await;
    let actions_home = tempfile::tempdir().unwrap();
    write_config(
        actions_home.path(),
        &format!(
            "{loopback}[workload_identity.subject_token]\ntype = \"github_actions\"\naudience = \"openai\"\n"
        ),
    );
    let mut command = codex(actions_home.path());
    command
        .args(["login", "status"])
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", format!("{actions}/token"))
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token");
    let started = std::time::Instant::now();
    let (out, peak) = blocking(move || run_measured(command, Duration::from_secs(8))).await;
    assert_clean_failure(&out, "endless Actions answer");
    assert!(
        peak < 128 * 1024,
        "codex reached {peak} KiB reading an endless Actions answer"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        stderr(&out).contains(
            "github_actions source failed: the ID token endpoint returned an invalid response"
        ),
        "{}",
        stderr(&out)
    );
}

/// Runs `command` (at most `limit`, else the test fails) and samples its peak resident set
/// (`VmHWM`, KiB) every 5 ms while it runs: this child's own peak, whatever other tests run.
#[cfg(target_os = "linux")]
fn run_measured(
    mut command: std::process::Command,
    limit: Duration,
) -> (std::process::Output, u64) {
    let mut child = command.spawn().unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let started = std::time::Instant::now();
    let mut peak = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(kib) = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        {
            peak = peak.max(kib);
        }
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), peak);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still ran after {limit:?} (peak {peak} KiB); stderr: {}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Review finding 7: `--min-valid` was ignored under workload identity. A token valid for less
/// than it forces one fresh exchange when a fresh one can be valid that long; otherwise (and if
/// even the fresh one is too short-lived) `codex token` warns, as for a ChatGPT login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_valid_forces_a_fresh_exchange_and_warns_like_the_normal_path() {
    let home = home_with_rule(FederationRule {
        access_token_ttl_secs: 40,
        ..FederationRule::default()
    })
    .await;
    write_subject(&home, SubjectTokenSpec::default());
    let out = run_wif(&home, &["token", "--min-valid", "30s"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let first = stdout(&out);
    assert_eq!(home.emulator().stats().federation_exchanges_ok, 1);

    // 5 s later the cached token has < 36 s left (and is before its refresh point, 20 s):
    // --min-valid 36s forces one fresh exchange, whose 40 s satisfy it.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let out = run_wif(&home, &["token", "--min-valid", "36s", "--json"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let token: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_ne!(format!("{}\n", token["token"].as_str().unwrap()), first);
    assert_eq!(home.emulator().stats().federation_exchanges_ok, 2);

    // Longer than the rule's lifetime: no exchange can help; a warning, the current token.
    let out = run_wif(&home, &["token", "--min-valid", "1h", "--json"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Warning: the access token expires within --min-valid"),
        "{}",
        stderr(&out)
    );
    assert_eq!(home.emulator().stats().federation_exchanges_ok, 2);
}
