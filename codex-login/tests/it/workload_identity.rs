//! Workload identity federation (issue 19) against the emulator over real sockets: the
//! official environment setup and the config.toml sources, re-exchange before expiry, rotation,
//! refusals without fallback, identity pinning and the shared cache.

use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use codex_auth_provider::SharedAuthSource;
use codex_backend_client::BackendClient;
use codex_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, FederationRule, SeedAccount, SubjectTokenSpec,
};
use codex_login::config::{CodexConfig, load_config_in};
use codex_login::http_client::HttpClientFactory;
use codex_login::workload_identity::{self, WorkloadIdentity, WorkloadIdentityError};
use codex_login::{auth_manager::AuthManager, auth_manager::AuthManagerConfig};

struct Setup {
    emulator: EmulatorHandle,
    home: tempfile::TempDir,
    token_file: std::path::PathBuf,
}

async fn setup(rule: FederationRule, extra_config: &str) -> Setup {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emulator.set_federation_rule(rule);
    let home = tempfile::tempdir().unwrap();
    let urls = emulator.urls();
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "issuer = \"{}\"\nchatgpt_base_url = \"{}\"\n{extra_config}",
            urls.issuer, urls.chatgpt_base_url
        ),
    )
    .unwrap();
    let token_file = home.path().join("identity-token");
    Setup {
        emulator,
        home,
        token_file,
    }
}

impl Setup {
    fn config(&self) -> CodexConfig {
        load_config_in(self.home.path().to_owned(), &[], &|_| None).unwrap()
    }

    fn write_subject(&self, spec: SubjectTokenSpec) {
        std::fs::write(&self.token_file, self.emulator.mint_subject_token(&spec)).unwrap();
    }

    fn env_pairs(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("OPENAI_FEDERATION_RULE_ID", "idpm_emulator".into()),
            ("OPENAI_IDENTITY_TOKEN_FILE", self.token_file.clone().into()),
        ]
    }

    fn session_with(
        &self,
        pairs: Vec<(&'static str, OsString)>,
    ) -> Result<WorkloadIdentity, WorkloadIdentityError> {
        let env = move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        };
        let config = workload_identity::resolve(&self.config(), &env)?.expect("selected");
        WorkloadIdentity::new(config, &HttpClientFactory::from_env(&|_| None).unwrap())
    }

    fn session(&self) -> WorkloadIdentity {
        self.session_with(self.env_pairs()).unwrap()
    }

    fn manager(&self, session: WorkloadIdentity) -> Arc<AuthManager> {
        let mut config = AuthManagerConfig::from_codex_config(&self.config());
        config.env = codex_login::environment::env_from_pairs(Vec::<(String, String)>::new());
        config.workload_identity = Some(Arc::new(session));
        AuthManager::shared(config)
    }
}

fn resolve_with(
    config: &CodexConfig,
    pairs: &[(&str, &str)],
) -> Result<Option<workload_identity::WorkloadIdentityConfig>, WorkloadIdentityError> {
    let env = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| OsString::from(*v))
    };
    workload_identity::resolve(config, &env)
}

#[tokio::test]
async fn a_file_sourced_identity_signs_backend_calls_and_whoami_facts() {
    let s = setup(FederationRule::default(), "").await;
    s.write_subject(SubjectTokenSpec::default());
    // A stored login that must never be used.
    std::fs::write(
        s.home.path().join("auth.json"),
        "{\"OPENAI_API_KEY\":\"sk-stored-never-used\"}",
    )
    .unwrap();
    let manager = s.manager(s.session());
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(auth.account_id(), Some("acct-emulator-0001"));
    assert_eq!(auth.chatgpt_user_id(), Some("user-emulator-0001"));
    let resolved = manager.resolved_cached().unwrap();
    assert_eq!(
        resolved.source.to_string(),
        format!("workload-identity:file:{}", s.token_file.display())
    );
    let source: SharedAuthSource = manager.clone();
    BackendClient::builder(s.emulator.urls().chatgpt_base_url.clone())
        .auth_source(source)
        .build()
        .unwrap()
        .get_usage()
        .await
        .unwrap();
    let stats = s.emulator.stats();
    assert_eq!(stats.federation_exchanges_ok, 1);
    assert_eq!(stats.bearer_ok, 1);
    // The shared cache is 0600 and holds no subject token.
    let cache = s.home.path().join("workload-identity.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let subject = std::fs::read_to_string(&s.token_file).unwrap();
    assert!(!std::fs::read_to_string(&cache).unwrap().contains(&subject));
}

#[tokio::test]
async fn the_token_is_re_exchanged_before_expiry_and_a_rotated_file_is_used() {
    let s = setup(
        FederationRule {
            access_token_ttl_secs: 4,
            ..FederationRule::default()
        },
        "",
    )
    .await;
    s.write_subject(SubjectTokenSpec::default());
    let session = s.session();
    let first = session.token().await.unwrap();
    // Within min(120 s, 4 s / 2) = 2 s of expiry it is exchanged again, still valid.
    let again = session.token().await.unwrap();
    assert_eq!(
        again.generation, first.generation,
        "cached before the refresh point"
    );
    assert_eq!(s.emulator.stats().federation_exchanges_ok, 1);
    // Kubernetes rotates the projected token: the next exchange sends the new one.
    s.write_subject(SubjectTokenSpec {
        subject: "system:serviceaccount:ci:runner".to_owned(),
        ..SubjectTokenSpec::default()
    });
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let second = session.token().await.unwrap();
    assert!(
        chrono::Utc::now() < first.expires_at,
        "re-exchanged before expiry"
    );
    assert_ne!(second.access_token.expose(), first.access_token.expose());
    assert_eq!(s.emulator.stats().federation_exchanges_ok, 2);
    let log = s.emulator.federation_log();
    assert_eq!(
        log[0].subject.as_deref(),
        Some("repo:octo/app:ref:refs/heads/main")
    );
    assert_eq!(
        log[1].subject.as_deref(),
        Some("system:serviceaccount:ci:runner")
    );
}

#[tokio::test]
async fn refused_exchanges_give_clear_errors_and_never_fall_back() {
    let s = setup(FederationRule::default(), "").await;
    std::fs::write(
        s.home.path().join("auth.json"),
        "{\"OPENAI_API_KEY\":\"sk-stored-never-used\"}",
    )
    .unwrap();
    let cases = [
        (
            SubjectTokenSpec {
                audience: "not-openai".to_owned(),
                ..SubjectTokenSpec::default()
            },
            "idpm_emulator",
            "audience",
        ),
        (
            SubjectTokenSpec {
                ttl_secs: -5,
                ..SubjectTokenSpec::default()
            },
            "idpm_emulator",
            "expired",
        ),
        (
            SubjectTokenSpec::default(),
            "idpm_unknown",
            "Unknown federation rule",
        ),
    ];
    for (spec, rule, needle) in cases {
        s.write_subject(spec);
        let mut pairs = s.env_pairs();
        pairs[0].1 = rule.into();
        let manager = s.manager(s.session_with(pairs).unwrap());
        let err = manager.try_auth().await.unwrap_err().to_string();
        assert!(
            err.starts_with(
                "the workload identity token exchange was rejected with HTTP 400: invalid_grant"
            ),
            "{err}"
        );
        assert!(err.contains(needle), "{err}");
        let subject = std::fs::read_to_string(&s.token_file).unwrap();
        assert!(
            !err.contains(subject.trim()),
            "the assertion is never echoed"
        );
        // No fallback: the stored API key is not used.
        assert!(manager.auth().await.is_none());
        assert!(manager.auth_cached().is_none());
    }
    assert_eq!(s.emulator.stats().federation_exchanges_rejected, 6);
}

#[tokio::test]
async fn the_identity_is_pinned_for_the_life_of_the_session() {
    let s = setup(
        FederationRule {
            access_token_ttl_secs: 3600,
            ..FederationRule::default()
        },
        "",
    )
    .await;
    s.write_subject(SubjectTokenSpec::default());
    let manager = s.manager(s.session());
    manager.try_auth().await.unwrap().unwrap();
    s.emulator.set_federation_rule(FederationRule {
        account: SeedAccount {
            account_id: "acct-someone-else".to_owned(),
            ..SeedAccount::default()
        },
        ..FederationRule::default()
    });
    // A 401 forces an exchange; the issuer now maps another account: refused.
    let err = manager
        .refresh_token_from_authority()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("another account or user"), "{err}");
}

#[tokio::test]
async fn processes_share_one_exchange_through_the_cache() {
    let s = setup(FederationRule::default(), "").await;
    s.write_subject(SubjectTokenSpec::default());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let session = s.session();
        tasks.push(tokio::spawn(async move {
            session.token().await.unwrap().identity
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().account_id, "acct-emulator-0001");
    }
    assert_eq!(s.emulator.stats().federation_exchanges_ok, 1);
    // Without the cache every session exchanges.
    let uncached = setup(FederationRule::default(), "[workload_identity]\nfederation_rule_id = \"idpm_emulator\"\ncache = false\n[workload_identity.subject_token]\ntype = \"environment\"\nvariable = \"MY_OIDC_TOKEN\"\n").await;
    let token = uncached
        .emulator
        .mint_subject_token(&SubjectTokenSpec::default());
    for _ in 0..2 {
        let session = uncached
            .session_with(vec![("MY_OIDC_TOKEN", token.clone().into())])
            .unwrap();
        assert_eq!(
            session.source_label(),
            "workload-identity:env:MY_OIDC_TOKEN"
        );
        session.token().await.unwrap();
    }
    assert_eq!(uncached.emulator.stats().federation_exchanges_ok, 2);
}

#[tokio::test]
async fn config_toml_sources_github_actions_and_command() {
    let s = setup(
        FederationRule {
            audience: "codex-ci".to_owned(),
            ..FederationRule::default()
        },
        "[workload_identity]\nfederation_rule_id = \"idpm_emulator\"\n[workload_identity.subject_token]\ntype = \"github_actions\"\naudience = \"codex-ci\"\n",
    )
    .await;
    let urls = s.emulator.urls().clone();
    let session = s
        .session_with(vec![
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                urls.actions_id_token_request_url.clone().into(),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                s.emulator.actions_request_token().into(),
            ),
        ])
        .unwrap();
    assert_eq!(session.source_label(), "workload-identity:github-actions");
    let token = session.token().await.unwrap();
    assert_eq!(token.identity.user_id, "user-emulator-0001");
    assert_eq!(s.emulator.stats().oidc_tokens_issued, 1);
    // Without the runner variables: a clear error naming them.
    let err = s.session_with(vec![]).unwrap_err().to_string();
    assert!(
        err.contains("ACTIONS_ID_TOKEN_REQUEST_URL") && err.contains("id-token: write"),
        "{err}"
    );
    // The official variables take precedence over the table (and must be complete).
    let err = s
        .session_with(vec![("OPENAI_FEDERATION_RULE_ID", "idpm_emulator".into())])
        .unwrap_err()
        .to_string();
    assert_eq!(err, "workload identity requires OPENAI_IDENTITY_TOKEN_FILE");

    // A command that prints a token (here: cat of a file, standing in for a cloud CLI).
    let c = setup(FederationRule::default(), "").await;
    c.write_subject(SubjectTokenSpec::default());
    std::fs::write(
        c.home.path().join("config.toml"),
        format!(
            "issuer = \"{}\"\nchatgpt_base_url = \"{}\"\n[workload_identity]\nfederation_rule_id = \"idpm_emulator\"\n[workload_identity.subject_token]\ntype = \"command\"\ncommand = [\"cat\", \"{}\"]\n",
            c.emulator.urls().issuer,
            c.emulator.urls().chatgpt_base_url,
            c.token_file.display()
        ),
    )
    .unwrap();
    let session = c.session_with(vec![]).unwrap();
    assert_eq!(session.source_label(), "workload-identity:command:cat");
    session.token().await.unwrap();
    assert_eq!(c.emulator.stats().federation_exchanges_ok, 1);
}

#[tokio::test]
async fn partial_and_broken_setups_fail_with_the_official_texts() {
    let s = setup(FederationRule::default(), "").await;
    let config = s.config();
    let abs = s.token_file.to_str().unwrap().to_owned();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("OPENAI_FEDERATION_RULE_ID", "idpm_1")],
            "workload identity requires OPENAI_IDENTITY_TOKEN_FILE",
        ),
        (
            vec![("OPENAI_IDENTITY_TOKEN_FILE", &abs)],
            "workload identity requires OPENAI_FEDERATION_RULE_ID",
        ),
        (
            vec![
                ("OPENAI_FEDERATION_RULE_ID", " "),
                ("OPENAI_IDENTITY_TOKEN_FILE", &abs),
            ],
            "workload identity variable OPENAI_FEDERATION_RULE_ID is invalid",
        ),
        (
            vec![
                ("OPENAI_FEDERATION_RULE_ID", "idpm_1"),
                ("OPENAI_IDENTITY_TOKEN_FILE", "token"),
            ],
            "OPENAI_IDENTITY_TOKEN_FILE must be an absolute path",
        ),
        (
            vec![
                ("OPENAI_FEDERATION_RULE_ID", "idpm_1"),
                ("OPENAI_IDENTITY_TOKEN_FILE", ""),
            ],
            "OPENAI_IDENTITY_TOKEN_FILE must be an absolute path",
        ),
    ];
    for (pairs, expected) in cases {
        assert_eq!(
            resolve_with(&config, &pairs).unwrap_err().to_string(),
            expected
        );
    }
    assert!(
        resolve_with(&config, &[("OPENAI_WORKLOAD_IDENTITY_CONTEXT", "x")])
            .unwrap()
            .is_none()
    );
    // A non-loopback, non-production base URL is refused before anything is sent.
    let mut foreign = config.clone();
    foreign.chatgpt_base_url = "https://example.invalid/backend-api".to_owned();
    assert_eq!(
        resolve_with(
            &foreign,
            &[
                ("OPENAI_FEDERATION_RULE_ID", "r"),
                ("OPENAI_IDENTITY_TOKEN_FILE", &abs)
            ]
        )
        .unwrap_err()
        .to_string(),
        "workload identity auth supports only trusted production and staging app routing"
    );
    // Assertion file problems, found at exchange time.
    let session = s.session();
    let check = |bytes: &[u8], path: &Path| std::fs::write(path, bytes).unwrap();
    let _ = std::fs::remove_file(&s.token_file);
    let err = session.token().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("could not read workload identity assertion file {abs}")
    );
    assert!(err.is_transient());
    for (bytes, expected) in [
        (b"".to_vec(), "the workload identity assertion is invalid"),
        (
            b" \n ".to_vec(),
            "the workload identity assertion is invalid",
        ),
        (
            b"a\0b".to_vec(),
            "the workload identity assertion is invalid",
        ),
        (
            vec![0xff, 0xfe],
            "the workload identity assertion is invalid",
        ),
        (
            vec![b'a'; 16 * 1024 + 1],
            "the workload identity assertion exceeds 16 KiB",
        ),
    ] {
        check(&bytes, &s.token_file);
        assert_eq!(session.token().await.unwrap_err().to_string(), expected);
    }
    assert_eq!(s.emulator.stats().token_requests, 0, "nothing was sent");
}

#[tokio::test]
async fn faults_oversized_answers_are_refused_and_transient_failures_keep_a_valid_token() {
    let s = setup(
        FederationRule {
            access_token_ttl_secs: 4,
            ..FederationRule::default()
        },
        "[workload_identity]\nfederation_rule_id = \"idpm_emulator\"\ncache = false\n[workload_identity.subject_token]\ntype = \"file\"\npath = \"/nonexistent\"\n",
    )
    .await;
    s.write_subject(SubjectTokenSpec::default());
    // The official variables win over the table.
    let session = s.session();
    s.emulator.set_faults(codex_emulator::Faults {
        federation_oversize_response: true,
        ..codex_emulator::Faults::default()
    });
    let err = session.token().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the workload identity token exchange returned an invalid response"
    );
    assert!(!err.is_transient());
    s.emulator.set_faults(codex_emulator::Faults::default());
    let first = session.token().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    s.emulator.set_faults(codex_emulator::Faults {
        status_overrides: vec![codex_emulator::StatusOverride {
            path_prefix: "/oauth/token".to_owned(),
            status: 503,
            body: "{\"error\":\"temporarily_unavailable\"}".to_owned(),
            times: 0,
        }],
        ..codex_emulator::Faults::default()
    });
    // In the refresh window, the issuer is down: the still-valid token is kept.
    let kept = session.token().await.unwrap();
    assert_eq!(kept.generation, first.generation);
    let injected = s.emulator.stats().faults_injected;
    assert_eq!(injected, 1);
    // And not retried on every call (next attempt within 30 s, capped at expiry).
    session.token().await.unwrap();
    assert_eq!(s.emulator.stats().faults_injected, 1);
    // Once it has expired, the failure is reported.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let err = session.token().await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the workload identity token exchange was rejected with HTTP 503"),
        "{err}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_backend_401_is_recovered_by_one_forced_exchange() {
    let s = setup(
        FederationRule {
            access_token_ttl_secs: 3600,
            ..FederationRule::default()
        },
        "",
    )
    .await;
    s.write_subject(SubjectTokenSpec::default());
    let manager = s.manager(s.session());
    let source: SharedAuthSource = manager.clone();
    let backend = BackendClient::builder(s.emulator.urls().chatgpt_base_url.clone())
        .auth_source(source)
        .build()
        .unwrap();
    backend.get_usage().await.unwrap();
    let before = manager.auth_cached().unwrap();
    // The backend now rejects the token although its `exp` is an hour away.
    assert_eq!(s.emulator.expire_access_tokens(), 1);
    backend.get_usage().await.unwrap();
    let after = manager.auth_cached().unwrap();
    assert!(
        !after.same_credentials(&before),
        "a new token after the 401"
    );
    let stats = s.emulator.stats();
    assert_eq!(stats.federation_exchanges_ok, 2, "{stats:?}");
    assert_eq!(stats.bearer_rejected, 1, "{stats:?}");
    assert_eq!(stats.bearer_ok, 2, "{stats:?}");
}

#[tokio::test]
async fn the_shared_cache_is_bound_to_the_callers_own_assertion() {
    // Review finding 2: a cached token was adopted by any caller of the same setup, so a
    // refused or garbage subject still got the token exchanged for another one.
    let s = setup(
        FederationRule {
            subject: Some("repo:a".to_owned()),
            ..FederationRule::default()
        },
        "[workload_identity]\nfederation_rule_id = \"idpm_emulator\"\n[workload_identity.subject_token]\ntype = \"environment\"\nvariable = \"SUBJ\"\n",
    )
    .await;
    let mint = |subject: &str| {
        s.emulator.mint_subject_token(&SubjectTokenSpec {
            subject: subject.to_owned(),
            ..SubjectTokenSpec::default()
        })
    };
    let a = mint("repo:a");
    let session = s.session_with(vec![("SUBJ", a.clone().into())]).unwrap();
    session.token().await.unwrap();
    assert_eq!(s.emulator.stats().federation_exchanges_ok, 1);
    // The same assertion in another process shares the exchange.
    let again = s.session_with(vec![("SUBJ", a.into())]).unwrap();
    again.token().await.unwrap();
    assert_eq!(s.emulator.stats().federation_exchanges_ok, 1);
    // Another subject, and garbage, do their own exchange and are refused.
    for subject in [mint("repo:b"), "not-a-jwt".to_owned()] {
        let other = s.session_with(vec![("SUBJ", subject.into())]).unwrap();
        let err = other.token().await.unwrap_err();
        assert!(
            matches!(err, WorkloadIdentityError::Rejected { status: 400, .. }),
            "{err}"
        );
    }
    assert_eq!(s.emulator.stats().federation_exchanges_ok, 1);
}

#[test]
fn a_configured_token_url_must_stay_on_the_trusted_origin_or_loopback() {
    // Review finding 9: `[workload_identity].token_url` accepted any https origin, so the
    // assertion could be sent anywhere and the bearer it bought then went to ChatGPT.
    let table = "[workload_identity]\nfederation_rule_id = \"idpm_1\"\n\
                 [workload_identity.subject_token]\ntype = \"environment\"\nvariable = \"SUBJ\"\n";
    let resolve_token_url = |base: &str, token_url: &str| {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("config.toml"),
            format!("chatgpt_base_url = \"{base}\"\n{table}").replace(
                "[workload_identity]\n",
                &format!("[workload_identity]\ntoken_url = \"{token_url}\"\n"),
            ),
        )
        .unwrap();
        let config = load_config_in(home.path().to_owned(), &[], &|_| None).unwrap();
        resolve_with(&config, &[("SUBJ", "subject")]).map(|c| c.unwrap().token_url.to_string())
    };
    let production = "https://chatgpt.com/backend-api";
    let err = resolve_token_url(production, "https://evil.example/oauth/token")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "workload_identity.token_url must be on https://auth.openai.com (the issuer \
         chatgpt_base_url routes to) or on loopback"
    );
    assert!(
        resolve_token_url(
            production,
            "https://auth.openai.com.evil.example/oauth/token"
        )
        .is_err()
    );
    assert_eq!(
        resolve_token_url(production, "https://auth.openai.com/custom/token").unwrap(),
        "https://auth.openai.com/custom/token"
    );
    assert_eq!(
        resolve_token_url(production, "http://127.0.0.1:9/oauth/token").unwrap(),
        "http://127.0.0.1:9/oauth/token"
    );
    // An untrusted chatgpt_base_url admits only a loopback token URL.
    let err = resolve_token_url("https://example.com", "https://example.com/oauth/token")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("workload_identity.token_url must be on loopback"),
        "{err}"
    );
}
