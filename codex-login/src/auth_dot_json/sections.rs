//! The `tokens` and `agent_identity` record sections of `auth.json`, read
//! from and written to JSON.

use super::problem::{AuthJsonProblem, opt_bool, opt_string, required_string, wrong_type};
use super::{AgentIdentityRecord, LegacyIdToken, StoredIdToken, StoredTokens};
use codex_auth_provider::SecretString;
use serde_json::{Map, Value};

pub(super) fn parse_tokens(mut map: Map<String, Value>) -> Result<StoredTokens, AuthJsonProblem> {
    let id_token = match map.shift_remove("id_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(jwt)) => Some(StoredIdToken::Jwt(SecretString::from(jwt))),
        Some(Value::Object(object)) => Some(StoredIdToken::Legacy(LegacyIdToken(object))),
        Some(other) => {
            return Err(wrong_type(
                "tokens.id_token",
                "a JWT string or an object",
                &other,
            ));
        }
    };
    let access_token = SecretString::from(required_string(
        &mut map,
        "access_token",
        "tokens.access_token",
    )?);
    let refresh_token = SecretString::from(required_string(
        &mut map,
        "refresh_token",
        "tokens.refresh_token",
    )?);
    let account_id = opt_string(&mut map, "account_id", "tokens.account_id")?;
    Ok(StoredTokens {
        id_token,
        access_token,
        refresh_token,
        account_id,
        extra: map,
    })
}

pub(super) fn tokens_to_json(tokens: &StoredTokens) -> Value {
    let mut map = Map::new();
    match &tokens.id_token {
        Some(StoredIdToken::Jwt(jwt)) => {
            map.insert("id_token".into(), Value::String(jwt.expose().to_owned()));
        }
        Some(StoredIdToken::Legacy(object)) => {
            map.insert("id_token".into(), Value::Object(object.0.clone()));
        }
        None => {}
    }
    map.insert(
        "access_token".into(),
        Value::String(tokens.access_token.expose().to_owned()),
    );
    map.insert(
        "refresh_token".into(),
        Value::String(tokens.refresh_token.expose().to_owned()),
    );
    map.insert(
        "account_id".into(),
        tokens
            .account_id
            .as_ref()
            .map_or(Value::Null, |id| Value::String(id.clone())),
    );
    for (key, value) in &tokens.extra {
        map.entry(key.clone()).or_insert_with(|| value.clone());
    }
    Value::Object(map)
}

pub(super) fn parse_agent_record(
    mut map: Map<String, Value>,
) -> Result<AgentIdentityRecord, AuthJsonProblem> {
    let p = |key: &str| format!("agent_identity.{key}");
    Ok(AgentIdentityRecord {
        agent_runtime_id: opt_string(&mut map, "agent_runtime_id", &p("agent_runtime_id"))?,
        agent_private_key: opt_string(&mut map, "agent_private_key", &p("agent_private_key"))?
            .map(SecretString::from),
        account_id: opt_string(&mut map, "account_id", &p("account_id"))?,
        chatgpt_user_id: opt_string(&mut map, "chatgpt_user_id", &p("chatgpt_user_id"))?,
        email: opt_string(&mut map, "email", &p("email"))?,
        plan_type: opt_string(&mut map, "plan_type", &p("plan_type"))?,
        chatgpt_account_is_fedramp: opt_bool(
            &mut map,
            "chatgpt_account_is_fedramp",
            &p("chatgpt_account_is_fedramp"),
        )?,
        task_id: opt_string(&mut map, "task_id", &p("task_id"))?,
        registered_at: opt_string(&mut map, "registered_at", &p("registered_at"))?,
        workspace_id: opt_string(&mut map, "workspace_id", &p("workspace_id"))?,
        background_task_id: opt_string(&mut map, "background_task_id", &p("background_task_id"))?,
        extra: map,
    })
}

/// The record as JSON: `codex-agent-identity`'s serde form, fields in the
/// order the official CLI writes them, absent fields absent, unknown ones last.
pub(super) fn agent_record_to_json(record: &AgentIdentityRecord) -> Value {
    // Serialising a struct of strings, booleans and a JSON map cannot fail.
    serde_json::to_value(record).unwrap_or_else(|_| Value::Object(Map::new()))
}
