//! Review of issue 16 (workload identity joined `CREDENTIAL_CHAIN`, so `credential_env_vars()`
//! now also yields `OPENAI_FEDERATION_RULE_ID` and `OPENAI_IDENTITY_TOKEN_FILE`): output that
//! changed for `codex profile list` and `codex doctor`, against the 25e3845 behaviour. These
//! tests FAIL on purpose at the reviewed commit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use serde_json::Value;
use std::process::{Command, Stdio};
use support::{Home, code, codex_bin, stderr, stdout};

/// 25e3845: `profile list` named only `CODEX_API_KEY` / `CODEX_ACCESS_TOKEN` /
/// `CODEX_AGENT_IDENTITY` as overrides. Now a lone `OPENAI_FEDERATION_RULE_ID` (a partial
/// workload identity setup, which every command refuses) is printed as "used instead of any
/// profile", and `env_overrides` in `--json` gains it.
#[test]
fn review_profile_list_overrides_are_unchanged_by_workload_identity_variables() {
    let home = Home::offline();
    let out = home.run_with_env(
        &["profile", "list", "--json"],
        None,
        &[("OPENAI_FEDERATION_RULE_ID", "idpm_review")],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}{}", stdout(&out), stderr(&out)));
    assert_eq!(
        list["env_overrides"],
        serde_json::json!([]),
        "25e3845 listed no override: {list}"
    );
    let out = home.run_with_env(
        &["profile", "list"],
        None,
        &[("OPENAI_FEDERATION_RULE_ID", "idpm_review")],
    );
    assert!(
        !stdout(&out).contains("Note: OPENAI_FEDERATION_RULE_ID is set"),
        "25e3845 printed no note: {}",
        stdout(&out)
    );
}

/// 25e3845: the `auth.credentials` details of `codex doctor --json` had one `env <NAME>`
/// entry per `CODEX_API_KEY` / `CODEX_ACCESS_TOKEN` / `CODEX_AGENT_IDENTITY`. Now two more
/// keys (`env OPENAI_FEDERATION_RULE_ID`, `env OPENAI_IDENTITY_TOKEN_FILE`) appear in every
/// report, set or not.
#[test]
fn review_doctor_credential_details_keep_their_keys() {
    let home = Home::offline();
    let mut command = Command::new(codex_bin());
    command
        .args(["doctor", "--json", "--offline"])
        .env("CODEX_HOME", home.path())
        .env("CODEX_DOCTOR_CALLBACK_PORTS", "1");
    for name in [
        "CODEX_API_KEY",
        "CODEX_ACCESS_TOKEN",
        "CODEX_AGENT_IDENTITY",
        "OPENAI_FEDERATION_RULE_ID",
        "OPENAI_IDENTITY_TOKEN_FILE",
        "SSL_CERT_FILE",
        "CODEX_CA_CERTIFICATE",
    ] {
        command.env_remove(name);
    }
    let out = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}\n{}", stdout(&out), stderr(&out)));
    let details = &report["checks"]["auth.credentials"]["details"];
    let env_keys: Vec<&str> = details
        .as_object()
        .unwrap_or_else(|| panic!("no details: {report}"))
        .keys()
        .filter(|key| key.starts_with("env "))
        .map(String::as_str)
        .collect();
    assert_eq!(
        env_keys.len(),
        3,
        "25e3845 had env CODEX_API_KEY, env CODEX_ACCESS_TOKEN, env CODEX_AGENT_IDENTITY: {env_keys:?}"
    );
}

/// Not the chain, the CA bundle (pem-based reader): a key file whose BEGIN line lost its
/// closing dashes and carries key material. 25e3845 skipped that line; now every command that
/// builds an HTTP client fails and quotes the line (the key) on stderr.
#[test]
fn review_a_ca_bundle_key_line_never_reaches_stderr() {
    let home = Home::offline();
    let secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCSECRETKEYMATERIAL";
    let bundle = home.path().join("bundle.pem");
    std::fs::write(
        &bundle,
        format!(
            "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n\
             -----BEGIN PRIVATE KEY {secret}\nAAAA\n-----END PRIVATE KEY-----\n"
        ),
    )
    .unwrap();
    let out = home.run_with_env(
        &["login", "--with-api-key"],
        Some("sk-review-0123456789"),
        &[("CODEX_CA_CERTIFICATE", bundle.to_str().unwrap())],
    );
    assert!(
        !stderr(&out).contains(secret) && !stdout(&out).contains(secret),
        "key material on the output (exit {}): {}{}",
        code(&out),
        stdout(&out),
        stderr(&out)
    );
}
