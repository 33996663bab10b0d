//! `codex doctor` (issue 18) against the emulator: a clean setup passes; a
//! busy callback port, a broken proxy, a bad CA file and a shadowing
//! environment variable are each reported with a next step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_emulator::EmulatorConfig;
use serde_json::Value;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use support::{Home, blocking, code, codex_bin, stderr, stdout};

/// Variables that would change what doctor sees, removed for every run.
const CLEARED: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "CODEX_CA_CERTIFICATE",
    "SSL_CERT_FILE",
    "CODEX_API_KEY",
    "CODEX_ACCESS_TOKEN",
    "CODEX_AGENT_IDENTITY",
    "CODEX_ISSUER",
    "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
    "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
    "CODEX_SANDBOX",
];

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn doctor(home: &Arc<Home>, args: &[&str], env: &[(&str, String)]) -> Output {
    let home = home.clone();
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let mut env: Vec<(String, String)> = env
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    if !env
        .iter()
        .any(|(name, _)| name == "CODEX_DOCTOR_CALLBACK_PORTS")
    {
        env.push((
            "CODEX_DOCTOR_CALLBACK_PORTS".to_owned(),
            free_port().to_string(),
        ));
    }
    blocking(move || {
        let mut command = Command::new(codex_bin());
        command
            .arg("doctor")
            .args(&args)
            .env("CODEX_HOME", home.path());
        for name in CLEARED {
            command.env_remove(name);
        }
        command.envs(env);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    })
    .await
}

fn parse_report(out: &Output) -> Value {
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}\n{}", stdout(out), stderr(out)))
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    let check = &report["checks"][id];
    assert!(check.is_object(), "no {id} in {report}");
    check
}

async fn logged_in_home() -> Arc<Home> {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    home.seed_chatgpt_login(3600);
    home
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_setup_passes_in_the_official_envelope() {
    let home = logged_in_home().await;
    let out = doctor(&home, &["--json"], &[]).await;
    let report = parse_report(&out);
    assert_eq!(code(&out), 0, "{report:#}");
    assert_eq!(report["schemaVersion"], 1);
    assert_eq!(report["overallStatus"], "ok");
    assert!(report["codexVersion"].is_string());
    assert!(
        report["generatedAt"]
            .as_str()
            .unwrap()
            .ends_with("s since unix epoch")
    );
    for (id, value) in report["checks"].as_object().unwrap() {
        assert_eq!(value["id"], id.as_str());
        assert_eq!(value["status"], "ok", "{value}");
        for field in [
            "category",
            "summary",
            "details",
            "remediation",
            "durationMs",
        ] {
            assert!(value.get(field).is_some(), "{id} lacks {field}");
        }
    }
    let config = check(&report, "config.load");
    let issuer = config["details"]["issuer"].as_str().unwrap();
    assert!(issuer.ends_with("(from config.toml)"), "{issuer}");
    let store = config["details"]["cli_auth_credentials_store"]
        .as_str()
        .unwrap();
    assert_eq!(store, "file (from default)");
    let auth = check(&report, "auth.credentials");
    assert!(auth["summary"].as_str().unwrap().starts_with("using file:"));
    let reach = check(&report, "network.auth_reachability");
    assert!(
        reach["details"]["backend"]
            .as_str()
            .unwrap()
            .contains("answered HTTP 401"),
        "{reach}"
    );
    assert!(check(&report, "system.clock")["details"]["issuer skew"].is_string());

    // A -c override is named as the origin, and text output ends with the verdict.
    let out = doctor(&home, &["-c", "forced_login_method=\"chatgpt\""], &[]).await;
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("forced_login_method: chatgpt (from -c)"),
        "{text}"
    );
    assert!(text.ends_with("overall: ok\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_sends_nothing() {
    let home = logged_in_home().await;
    let before = home.emulator().stats();
    let out = doctor(&home, &["--json", "--offline"], &[]).await;
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let report = parse_report(&out);
    assert!(report["checks"].get("network.auth_reachability").is_none());
    assert_eq!(home.emulator().stats(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_callback_port_is_reported_with_what_to_do() {
    let home = logged_in_home().await;
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let ports = format!("{port},{}", free_port());
    let out = doctor(
        &home,
        &["--json", "--offline"],
        &[("CODEX_DOCTOR_CALLBACK_PORTS", ports)],
    )
    .await;
    assert_eq!(code(&out), 1);
    let report = parse_report(&out);
    assert_eq!(report["overallStatus"], "warning");
    let ports = check(&report, "auth.callback_ports");
    assert_eq!(ports["status"], "warning");
    let step = ports["remediation"].as_str().unwrap();
    assert!(step.contains(&format!("127.0.0.1:{port}")), "{step}");
    assert!(step.contains("--device-auth"), "{step}");
    drop(busy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_proxy_is_named_as_the_cause() {
    let home = logged_in_home().await;
    let proxy = format!("http://127.0.0.1:{}", free_port());
    // Loopback targets never go through a proxy, so the issuer and backend are names the
    // dead loopback proxy would have to reach (nothing leaves the machine).
    let out = doctor(
        &home,
        &[
            "--json",
            "-c",
            "issuer=\"http://auth.codex-test.invalid\"",
            "-c",
            "chatgpt_base_url=\"http://chatgpt.codex-test.invalid/backend-api\"",
        ],
        &[("HTTP_PROXY", proxy.clone())],
    )
    .await;
    assert_eq!(code(&out), 1);
    let report = parse_report(&out);
    assert_eq!(report["overallStatus"], "fail");
    let env = check(&report, "network.env");
    assert!(
        env["details"]["issuer route"]
            .as_str()
            .unwrap()
            .contains("(HTTP_PROXY)"),
        "{env}"
    );
    let reach = check(&report, "network.auth_reachability");
    assert_eq!(reach["status"], "fail");
    let step = reach["remediation"].as_str().unwrap();
    assert!(
        step.contains("HTTP_PROXY") && step.contains(&proxy),
        "{step}"
    );
    assert!(step.contains("NO_PROXY"), "{step}");

    // A password in the proxy URL is never shown.
    let with_password = format!("http://user:proxy-secret-pw@127.0.0.1:{}", free_port());
    let out = doctor(
        &home,
        &["--json", "-c", "issuer=\"http://auth.codex-test.invalid\""],
        &[("HTTP_PROXY", with_password)],
    )
    .await;
    assert_eq!(code(&out), 1);
    assert!(
        !stdout(&out).contains("proxy-secret-pw"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("user:****@127.0.0.1"),
        "{}",
        stdout(&out)
    );

    // The emulator on loopback: direct (never proxied), and healthy.
    let out = doctor(
        &home,
        &["--json"],
        &[
            ("HTTP_PROXY", proxy.clone()),
            ("NO_PROXY", "127.0.0.1,localhost".to_owned()),
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    // A value that is not a URL is caught offline.
    let out = doctor(
        &home,
        &["--json", "--offline"],
        &[("HTTPS_PROXY", "not a proxy".to_owned())],
    )
    .await;
    assert_eq!(code(&out), 1);
    let parsed = parse_report(&out);
    let env = check(&parsed, "network.env");
    assert_eq!(env["status"], "fail");
    assert!(env["remediation"].as_str().unwrap().contains("HTTPS_PROXY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_ca_file_is_reported_with_what_to_do() {
    let home = logged_in_home().await;
    let bad = home.path().join("bad-ca.pem");
    std::fs::write(&bad, "this is not a certificate\n").unwrap();
    let out = doctor(
        &home,
        &["--json"],
        &[("CODEX_CA_CERTIFICATE", bad.display().to_string())],
    )
    .await;
    assert_eq!(code(&out), 1);
    let report = parse_report(&out);
    let ca = check(&report, "network.ca");
    assert_eq!(ca["status"], "fail");
    assert!(
        ca["summary"]
            .as_str()
            .unwrap()
            .contains(&bad.display().to_string())
    );
    assert!(
        ca["remediation"]
            .as_str()
            .unwrap()
            .contains("CODEX_CA_CERTIFICATE")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadowing_api_key_is_reported_without_showing_it() {
    let home = logged_in_home().await;
    let key = "sk-shadowing-key-abcdefghijklmnopqrstuvwxyz";
    let out = doctor(
        &home,
        &["--json", "--offline"],
        &[("CODEX_API_KEY", key.to_owned())],
    )
    .await;
    assert_eq!(code(&out), 1);
    assert!(!stdout(&out).contains(key));
    let report = parse_report(&out);
    let auth = check(&report, "auth.credentials");
    assert_eq!(auth["status"], "warning");
    assert!(
        auth["summary"]
            .as_str()
            .unwrap()
            .contains("env:CODEX_API_KEY"),
        "{auth}"
    );
    assert!(
        auth["details"]["shadowed"]
            .as_str()
            .unwrap()
            .contains("stored login"),
        "{auth}"
    );
    assert!(
        auth["remediation"]
            .as_str()
            .unwrap()
            .contains("Unset CODEX_API_KEY")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_login_fails_the_credentials_check() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let out = doctor(&home, &["--offline"], &[]).await;
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("[fail] auth.credentials"), "{text}");
    assert!(text.contains("next: Run `codex login`"), "{text}");
}

/// The envelope shape of a `doctor --json` report: top-level keys, and for
/// each check its field names and value types.
fn shape(report: &Value) -> (Vec<String>, Vec<(String, &'static str)>) {
    let kind = |value: &Value| match value {
        Value::Null => "null-or-string",
        Value::String(_) => "null-or-string",
        Value::Number(_) => "number",
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::Bool(_) => "bool",
    };
    let mut top: Vec<String> = report.as_object().unwrap().keys().cloned().collect();
    top.sort();
    let mut fields: Vec<(String, &'static str)> = report["checks"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|check| {
            check
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, value)| (name.clone(), kind(value)))
                .collect::<Vec<_>>()
        })
        .collect();
    fields.sort();
    fields.dedup();
    (top, fields)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envelope_and_shared_ids_match_the_official_binary() {
    let Some(official) = support::official::official_bin() else {
        return;
    };
    let home = logged_in_home().await;
    let h = home.clone();
    let theirs = blocking(move || {
        support::official::run_official(&official, h.path(), &["doctor", "--json"], None)
    })
    .await;
    let theirs = parse_report(&theirs);
    let h = home.clone();
    let ours = blocking(move || {
        support::official::run_isolated(
            &codex_bin(),
            h.path(),
            &["doctor", "--json", "--offline"],
            None,
            &[],
        )
    })
    .await;
    let ours = parse_report(&ours);
    assert_eq!(
        shape(&ours),
        shape(&theirs),
        "ours: {ours:#}\ntheirs: {theirs:#}"
    );
    assert_eq!(ours["schemaVersion"], theirs["schemaVersion"]);
    for report in [&ours, &theirs] {
        let generated = report["generatedAt"].as_str().unwrap();
        assert!(generated.ends_with("s since unix epoch"), "{generated}");
        let overall = report["overallStatus"].as_str().unwrap();
        assert!(["ok", "warning", "fail"].contains(&overall), "{overall}");
    }
    for id in ["config.load", "auth.credentials", "network.env"] {
        assert_eq!(
            check(&ours, id)["category"],
            check(&theirs, id)["category"],
            "{id}"
        );
    }
    // Both see the stored login.
    assert_eq!(check(&theirs, "auth.credentials")["status"], "ok");
    assert_eq!(check(&ours, "auth.credentials")["status"], "ok");
}

/// Review finding 1: doctor reports workload identity like the other commands
/// use it: a partial setup fails the credentials check (the stored login is not
/// a fallback), a complete one is the credential in use and shadows the login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_is_reported_first_and_a_partial_setup_fails() {
    let home = logged_in_home().await;
    let token_file = home.path().join("identity-token").display().to_string();
    let out = doctor(
        &home,
        &["--json", "--offline"],
        &[("OPENAI_IDENTITY_TOKEN_FILE", token_file.clone())],
    )
    .await;
    assert_eq!(code(&out), 1);
    let report = parse_report(&out);
    let auth = check(&report, "auth.credentials");
    assert_eq!(auth["status"], "fail", "{auth}");
    assert!(
        auth["summary"]
            .as_str()
            .unwrap()
            .contains("workload identity requires OPENAI_FEDERATION_RULE_ID"),
        "{auth}"
    );

    let out = doctor(
        &home,
        &["--json", "--offline"],
        &[
            ("OPENAI_IDENTITY_TOKEN_FILE", token_file),
            ("OPENAI_FEDERATION_RULE_ID", "idpm_emulator".to_owned()),
        ],
    )
    .await;
    let report = parse_report(&out);
    let auth = check(&report, "auth.credentials");
    assert_eq!(auth["status"], "ok", "{auth}");
    assert_eq!(auth["summary"], "using workload identity", "{auth}");
    assert!(
        auth["details"]["in use"]
            .as_str()
            .unwrap()
            .contains("rule idpm_emulator"),
        "{auth}"
    );
    assert!(
        auth["details"]["shadowed"]
            .as_str()
            .unwrap()
            .contains("stored login"),
        "{auth}"
    );
}
