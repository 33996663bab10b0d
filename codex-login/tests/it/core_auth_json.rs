//! auth.json model: literal vectors of every mode, backward compatibility,
//! unknown fields kept, and malformed files reported without being touched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use codex_login::auth_dot_json::{AuthDotJson, AuthJsonProblem, AuthMode, StoredAgentIdentity};
use codex_login::storage::{AuthStorage, FileAuthStorage, StorageError};
use codex_login::token_claims::PlanType;
use codex_login::{codex_auth::CodexAuth, resolution::resolve_credentials};
use core_support::{fake_access_token, fake_id_token, fake_jwt};

fn write(home: &std::path::Path, text: &str) {
    std::fs::write(home.join("auth.json"), text).unwrap();
}

/// Loads, builds a snapshot, saves again, and returns the rewritten text.
fn load_and_rewrite(text: &str) -> (CodexAuth, String) {
    let home = tempfile::tempdir().unwrap();
    write(home.path(), text);
    let storage = FileAuthStorage::new(home.path());
    let document = storage.load().unwrap().expect("document");
    let auth = CodexAuth::from_auth_dot_json(document.clone()).unwrap();
    storage.save(&document).unwrap();
    let rewritten = std::fs::read_to_string(home.path().join("auth.json")).unwrap();
    (auth, rewritten)
}

#[test]
fn official_cli_api_key_file_round_trips_byte_for_byte() {
    // Exactly what `codex login --with-api-key` (0.169.0) wrote: pretty, no trailing newline.
    let official =
        "{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"sk-test-abcdefghijklmnop\"\n}";
    let (auth, rewritten) = load_and_rewrite(official);
    assert_eq!(auth.auth_mode(), AuthMode::ApiKey);
    assert_eq!(auth.api_key().unwrap().expose(), "sk-test-abcdefghijklmnop");
    assert_eq!(
        auth.bearer_token().unwrap().expose(),
        "sk-test-abcdefghijklmnop"
    );
    assert!(auth.token_data().is_err());
    assert_eq!(rewritten, official);
}

#[test]
fn official_cli_access_token_file_round_trips_byte_for_byte() {
    let jwt = fake_jwt(&serde_json::json!({
        "iss": "https://chatgpt.com/codex-backend/agent-identity",
        "aud": "codex-app-server",
        "exp": 4_102_444_800_i64,
        "agent_runtime_id": "runtime-1",
        "agent_private_key": "MC4CAQAwBQYDK2VwBCIEIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH",
        "account_id": "acct-9",
        "chatgpt_user_id": "user-9",
        "email": "agent@example.com",
        "plan_type": "hc",
        "chatgpt_account_is_fedramp": true
    }));
    // Shape written by `codex login --with-access-token`.
    let official = format!(
        "{{\n  \"auth_mode\": \"agentIdentity\",\n  \"OPENAI_API_KEY\": null,\n  \"agent_identity\": \"{jwt}\"\n}}"
    );
    let (auth, rewritten) = load_and_rewrite(&official);
    assert_eq!(auth.auth_mode(), AuthMode::AgentIdentity);
    let identity = auth.agent_identity().unwrap();
    assert_eq!(identity.agent_runtime_id, "runtime-1");
    assert_eq!(auth.account_id(), Some("acct-9"));
    assert_eq!(auth.chatgpt_user_id(), Some("user-9"));
    assert_eq!(auth.email(), Some("agent@example.com"));
    assert_eq!(auth.plan_type(), Some(&PlanType::Enterprise));
    assert!(auth.is_fedramp_account());
    assert!(auth.bearer_token().is_none());
    assert_eq!(
        auth.access_token_expires_at().unwrap().timestamp(),
        4_102_444_800
    );
    assert_eq!(rewritten, official);
}

#[test]
fn managed_chatgpt_file_round_trips_byte_for_byte() {
    let id_token = fake_id_token("user@example.com", "pro", "acct-1", "user-12345");
    let access = fake_access_token(4_102_444_800);
    let text = format!(
        "{{\n  \"auth_mode\": \"chatgpt\",\n  \"OPENAI_API_KEY\": \"sk-exchanged\",\n  \"tokens\": {{\n    \"id_token\": \"{id_token}\",\n    \"access_token\": \"{access}\",\n    \"refresh_token\": \"rt-1\",\n    \"account_id\": \"acct-1\"\n  }},\n  \"last_refresh\": \"2026-11-21T02:55:00.688452573Z\"\n}}"
    );
    let (auth, rewritten) = load_and_rewrite(&text);
    assert_eq!(auth.auth_mode(), AuthMode::Chatgpt);
    assert!(auth.is_chatgpt_auth());
    assert!(!auth.is_external_chatgpt_tokens());
    assert!(auth.uses_codex_backend());
    assert!(
        auth.api_key().is_none(),
        "an exchanged key does not make it API-key auth"
    );
    assert_eq!(auth.account_id(), Some("acct-1"));
    assert_eq!(auth.chatgpt_user_id(), Some("user-12345"));
    assert_eq!(auth.email(), Some("user@example.com"));
    assert_eq!(auth.account_plan_type(), PlanType::Pro);
    assert!(!auth.is_workspace_account());
    assert_eq!(auth.refresh_token().unwrap().expose(), "rt-1");
    assert_eq!(
        auth.last_refresh().unwrap().to_rfc3339(),
        "2026-11-21T02:55:00.688452573+00:00"
    );
    assert_eq!(rewritten, text);
}

#[test]
fn pro_account_without_auth_mode_is_chatgpt_and_keeps_auth_mode_absent() {
    let id_token = fake_id_token("user@example.com", "pro", "acct-1", "user-12345");
    let text = format!(
        "{{\n  \"OPENAI_API_KEY\": null,\n  \"tokens\": {{\n    \"id_token\": \"{id_token}\",\n    \"access_token\": \"at\",\n    \"refresh_token\": \"rt\",\n    \"account_id\": \"acct-1\"\n  }},\n  \"last_refresh\": \"2025-01-01T00:00:00Z\"\n}}"
    );
    let (auth, rewritten) = load_and_rewrite(&text);
    assert_eq!(auth.auth_mode(), AuthMode::Chatgpt);
    assert_eq!(auth.chatgpt_user_id(), Some("user-12345"));
    assert_eq!(auth.account_plan_type(), PlanType::Pro);
    assert_eq!(
        auth.last_refresh().unwrap().to_rfc3339(),
        "2025-01-01T00:00:00+00:00"
    );
    assert!(auth.document().unwrap().auth_mode.is_none());
    assert_eq!(
        rewritten, text,
        "auth_mode stays absent, last_refresh keeps its text"
    );
}

#[test]
fn python_era_file_without_account_id_loads() {
    let id_token = fake_jwt(&serde_json::json!({
        "email": "old@example.com",
        "https://api.openai.com/auth": {"chatgpt_plan_type": "pro", "user_id": "user-old"}
    }));
    let text = format!(
        r#"{{"OPENAI_API_KEY": null, "tokens": {{"id_token": "{id_token}", "access_token": "at-old", "refresh_token": "rt-old"}}, "last_refresh": "2025-03-04T05:06:07.123456Z"}}"#
    );
    let (auth, rewritten) = load_and_rewrite(&text);
    assert_eq!(auth.auth_mode(), AuthMode::Chatgpt);
    assert_eq!(auth.account_plan_type(), PlanType::Pro);
    assert_eq!(auth.account_id(), None);
    assert_eq!(auth.chatgpt_user_id(), Some("user-old"));
    assert_eq!(auth.email(), Some("old@example.com"));
    let before: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut after: serde_json::Value = serde_json::from_str(&rewritten).unwrap();
    // The rewrite spells out the absent account id as null; nothing else changes.
    assert_eq!(after["tokens"]["account_id"], serde_json::Value::Null);
    after["tokens"]
        .as_object_mut()
        .unwrap()
        .remove("account_id");
    assert_eq!(before, after);
}

#[test]
fn old_api_key_file_with_null_tokens_loads_as_api_key() {
    let (auth, rewritten) =
        load_and_rewrite(r#"{"OPENAI_API_KEY":"sk-test-key","tokens":null,"last_refresh":null}"#);
    assert_eq!(auth.auth_mode(), AuthMode::ApiKey);
    assert_eq!(auth.api_key().unwrap().expose(), "sk-test-key");
    assert_eq!(
        auth.token_data().unwrap_err().to_string(),
        "Token data is not available."
    );
    assert_eq!(rewritten, "{\n  \"OPENAI_API_KEY\": \"sk-test-key\"\n}");
}

#[test]
fn api_key_written_without_a_key_is_null() {
    let document = AuthDotJson::agent_identity_jwt("a.b.c".into());
    let value = document.to_json_value();
    assert_eq!(value["OPENAI_API_KEY"], serde_json::Value::Null);
    assert!(value.as_object().unwrap().contains_key("OPENAI_API_KEY"));
    assert_eq!(
        document.to_pretty_json(),
        "{\n  \"auth_mode\": \"agentIdentity\",\n  \"OPENAI_API_KEY\": null,\n  \"agent_identity\": \"a.b.c\"\n}"
    );
}

#[test]
fn external_tokens_and_agent_record_modes_load() {
    let access = fake_jwt(&serde_json::json!({
        "exp": 4_102_444_800_i64,
        "https://api.openai.com/auth": {"chatgpt_plan_type": "plus", "chatgpt_user_id": "u-ext"}
    }));
    let text = format!(
        r#"{{"auth_mode":"chatgptAuthTokens","OPENAI_API_KEY":null,"tokens":{{"id_token":"{access}","access_token":"{access}","refresh_token":"","account_id":"acct-ext"}},"last_refresh":"2026-01-01T00:00:00Z"}}"#
    );
    let (auth, _) = load_and_rewrite(&text);
    assert_eq!(auth.auth_mode(), AuthMode::ChatgptAuthTokens);
    assert_eq!(auth.coarse_auth_mode(), AuthMode::Chatgpt);
    assert!(auth.is_external_chatgpt_tokens());
    assert_eq!(auth.account_id(), Some("acct-ext"));
    assert_eq!(auth.refresh_token().unwrap().expose(), "");

    let record = r#"{
  "auth_mode": "agentIdentity",
  "OPENAI_API_KEY": null,
  "agent_identity": {
    "agent_runtime_id": "rt-7",
    "agent_private_key": "c2VjcmV0",
    "account_id": "acct-7",
    "chatgpt_user_id": "user-7",
    "email": "",
    "plan_type": "business",
    "chatgpt_account_is_fedramp": false,
    "task_id": "task-7",
    "future": 1
  }
}"#;
    let (auth, rewritten) = load_and_rewrite(record);
    let identity = auth.agent_identity().unwrap();
    assert_eq!(identity.agent_runtime_id, "rt-7");
    assert_eq!(identity.task_id.as_deref(), Some("task-7"));
    assert_eq!(auth.email(), None, "an empty email means none");
    assert!(auth.is_workspace_account());
    assert_eq!(
        rewritten, record,
        "record fields and unknown keys survive the rewrite"
    );
    let document = AuthDotJson::from_json_bytes(record.as_bytes()).unwrap();
    assert!(matches!(
        document.agent_identity,
        Some(StoredAgentIdentity::Record(_))
    ));
}

#[test]
fn unknown_fields_are_preserved_on_rewrite() {
    let text = r#"{
  "auth_mode": "chatgpt",
  "OPENAI_API_KEY": null,
  "tokens": {
    "id_token": "",
    "access_token": "at",
    "refresh_token": "rt",
    "account_id": null,
    "token_family": "fam-1"
  },
  "last_refresh": "2025-01-01T00:00:00Z",
  "personal_access_token": "at-123",
  "future_setting": {
    "nested": [
      1,
      2
    ]
  }
}"#;
    let (_, rewritten) = load_and_rewrite(text);
    assert_eq!(rewritten, text);
}

#[test]
fn legacy_object_id_token_and_empty_last_refresh_are_tolerated() {
    let text = r#"{"tokens":{"id_token":{"email":"legacy@example.com","https://api.openai.com/auth":{"chatgpt_plan_type":"team"}},"access_token":"at","refresh_token":"rt"},"last_refresh":""}"#;
    let (auth, rewritten) = load_and_rewrite(text);
    assert_eq!(auth.email(), Some("legacy@example.com"));
    assert_eq!(auth.account_plan_type(), PlanType::Team);
    assert_eq!(auth.last_refresh(), None);
    let after: serde_json::Value = serde_json::from_str(&rewritten).unwrap();
    assert_eq!(after["tokens"]["id_token"]["email"], "legacy@example.com");
}

/// A malformed file: typed error naming the file and the problem, no secret
/// in the message, and the file left byte-identical.
fn assert_malformed(bytes: &[u8], expect: impl Fn(&AuthJsonProblem) -> bool, secret: Option<&str>) {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("auth.json");
    std::fs::write(&path, bytes).unwrap();
    let storage = FileAuthStorage::new(home.path());
    let err = storage.load().unwrap_err();
    let StorageError::Malformed { location, problem } = &err else {
        panic!("expected Malformed, got {err:?}");
    };
    assert!(expect(problem), "unexpected problem {problem:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(location.to_string().contains("auth.json"));
    if let Some(secret) = secret {
        assert!(!message.contains(secret), "secret leaked: {message}");
        assert!(
            !format!("{err:?}").contains(secret),
            "secret leaked in Debug"
        );
    }
    // Resolution reports the same typed error and writes nothing.
    let env = |_: &str| None;
    let options = codex_login::resolution::ResolveOptions {
        codex_home: home.path(),
        store_mode: codex_login::storage::CredentialStoreMode::File,
        enable_codex_api_key_env: false,
        env: &env,
        workload_identity: None,
    };
    assert!(resolve_credentials(&storage, &options).is_err());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "file must be untouched"
    );
}

#[test]
fn malformed_files_get_typed_errors_and_are_left_byte_identical() {
    let full = r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-live-secret-value"}"#;
    // Truncated mid-write.
    assert_malformed(
        &full.as_bytes()[..30],
        |p| matches!(p, AuthJsonProblem::Truncated { .. }),
        Some("sk-live-secret-value"),
    );
    // Empty file and whitespace.
    assert_malformed(b"", |p| *p == AuthJsonProblem::Empty, None);
    assert_malformed(b"  \n", |p| *p == AuthJsonProblem::Empty, None);
    // Binary junk.
    assert_malformed(
        &[0xff, 0xfe, 0x00, 0x12, 0x80, 0x81],
        |p| *p == AuthJsonProblem::NotText,
        None,
    );
    // Not JSON at all.
    assert_malformed(
        b"sk-live-secret-value",
        |p| matches!(p, AuthJsonProblem::Syntax { .. }),
        Some("sk-live-secret-value"),
    );
    // Wrong types: the message names the field and type, never the value.
    assert_malformed(
        br#"{"OPENAI_API_KEY": 42}"#,
        |p| matches!(p, AuthJsonProblem::WrongType { field, found: "a number", .. } if field == "OPENAI_API_KEY"),
        None,
    );
    assert_malformed(
        br#"{"tokens": "sk-live-secret-value"}"#,
        |p| matches!(p, AuthJsonProblem::WrongType { field, found: "a string", .. } if field == "tokens"),
        Some("sk-live-secret-value"),
    );
    assert_malformed(
        br#"{"tokens": {"access_token": ["x"], "refresh_token": "rt"}}"#,
        |p| matches!(p, AuthJsonProblem::WrongType { field, .. } if field == "tokens.access_token"),
        None,
    );
    assert_malformed(
        br#"["sk-live-secret-value"]"#,
        |p| matches!(p, AuthJsonProblem::WrongType { field, .. } if field == "."),
        Some("sk-live-secret-value"),
    );
    assert_malformed(
        br#"{"tokens": {"refresh_token": "rt"}}"#,
        |p| matches!(p, AuthJsonProblem::Missing { field } if field == "tokens.access_token"),
        None,
    );
    assert_malformed(
        br#"{"last_refresh": "yesterday", "OPENAI_API_KEY": "k"}"#,
        |p| matches!(p, AuthJsonProblem::InvalidValue { field, .. } if field == "last_refresh"),
        None,
    );
    // Empty strings where a value is required.
    assert_malformed(
        br#"{"auth_mode": "", "OPENAI_API_KEY": "k"}"#,
        |p| matches!(p, AuthJsonProblem::InvalidValue { field, .. } if field == "auth_mode"),
        None,
    );
    assert_malformed(
        br#"{"auth_mode": "sk-live-secret-value"}"#,
        |p| matches!(p, AuthJsonProblem::InvalidValue { .. }),
        Some("sk-live-secret-value"),
    );
}

#[test]
fn well_formed_but_unusable_files_name_the_file_and_problem() {
    let cases: [(&str, &str); 4] = [
        (
            r#"{"auth_mode":"apikey","OPENAI_API_KEY":""}"#,
            "API key auth is missing a key.",
        ),
        (
            r#"{"auth_mode":"chatgpt","OPENAI_API_KEY":null}"#,
            "Token data is not available.",
        ),
        (
            r#"{"auth_mode":"chatgpt","tokens":{"access_token":"","refresh_token":"rt"}}"#,
            "`tokens.access_token` is empty",
        ),
        (
            r#"{"auth_mode":"chatgpt","tokens":{"id_token":"not-a-jwt","access_token":"at","refresh_token":"rt"}}"#,
            "invalid ID token format",
        ),
    ];
    for (text, expected) in cases {
        let home = tempfile::tempdir().unwrap();
        write(home.path(), text);
        let storage = FileAuthStorage::new(home.path());
        let env = |_: &str| None;
        let options = codex_login::resolution::ResolveOptions {
            codex_home: home.path(),
            store_mode: codex_login::storage::CredentialStoreMode::File,
            enable_codex_api_key_env: false,
            env: &env,
            workload_identity: None,
        };
        let err = resolve_credentials(&storage, &options).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("auth.json"), "{message}");
        assert_eq!(
            std::fs::read_to_string(home.path().join("auth.json")).unwrap(),
            text
        );
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    let id_token = fake_id_token("user@example.com", "pro", "acct-1", "user-1");
    let text = format!(
        r#"{{"auth_mode":"chatgpt","OPENAI_API_KEY":"sk-secret-1","tokens":{{"id_token":"{id_token}","access_token":"at-secret-2","refresh_token":"rt-secret-3","account_id":"acct-1"}},"personal_access_token":"at-secret-4"}}"#
    );
    let document = AuthDotJson::from_json_bytes(text.as_bytes()).unwrap();
    let auth = CodexAuth::from_auth_dot_json(document.clone()).unwrap();
    for shown in [
        format!("{document:?}"),
        format!("{auth:?}"),
        format!("{:?}", auth.provider()),
        format!("{:?}", auth.token_data().unwrap()),
    ] {
        for secret in [
            "sk-secret-1",
            "at-secret-2",
            "rt-secret-3",
            "at-secret-4",
            &id_token,
        ] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
    }
}
