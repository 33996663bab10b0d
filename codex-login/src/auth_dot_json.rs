//! The `auth.json` document: every field and mode the official CLI reads and
//! writes, old shapes included, with unknown fields kept for the rewrite.
//!
//! Parsing is done by hand from a `serde_json::Value` rather than with serde
//! derive, for two reasons: errors must name the field and the JSON type found
//! without ever quoting a value (values are tokens), and several fields accept
//! more than one shape (`agent_identity` is a JWT or a record, an old
//! `id_token` may be an object).

mod problem;
mod sections;

pub use problem::AuthJsonProblem;
use problem::{describe_short_text, opt_string, wrong_type};
use sections::{agent_record_to_json, parse_agent_record, parse_tokens, tokens_to_json};

/// `agent_identity` (the JWT or a record) and its record form are
/// `codex-agent-identity`'s model (issue 16): every field optional so any
/// generation loads, unknown fields kept. This module reads them field by
/// field so errors never quote a value, and writes them back unchanged.
pub use codex_agent_identity::{AgentIdentityRecord, StoredAgentIdentity};

use chrono::{DateTime, SecondsFormat, Utc};
use codex_auth_provider::SecretString;
use serde_json::{Map, Value};
use std::fmt;

/// The value of `auth_mode`.
///
/// Deliberately exhaustive (unlike the error and source enums): each mode
/// decides how credentials are sent, refreshed and shown, so a new mode must
/// be handled by every `match` on it, not fall into a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// `apikey`: an OpenAI API key in `OPENAI_API_KEY`.
    ApiKey,
    /// `chatgpt`: ChatGPT tokens this program owns and refreshes.
    Chatgpt,
    /// `chatgptAuthTokens`: ChatGPT tokens supplied by a host app; never refreshed here.
    ChatgptAuthTokens,
    /// `agentIdentity`: an agent identity (JWT or record) that signs per task.
    AgentIdentity,
    /// `personalAccessToken`: a personal access token (`at-…`, issue 19); never
    /// written as `auth_mode` (the document only holds `personal_access_token`).
    PersonalAccessToken,
}

impl AuthMode {
    /// The spelling in `auth.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "apikey",
            Self::Chatgpt => "chatgpt",
            Self::ChatgptAuthTokens => "chatgptAuthTokens",
            Self::AgentIdentity => "agentIdentity",
            Self::PersonalAccessToken => "personalAccessToken",
        }
    }

    /// Parses the `auth.json` spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "apikey" => Some(Self::ApiKey),
            "chatgpt" => Some(Self::Chatgpt),
            "chatgptAuthTokens" => Some(Self::ChatgptAuthTokens),
            "agentIdentity" => Some(Self::AgentIdentity),
            "personalAccessToken" => Some(Self::PersonalAccessToken),
            _ => None,
        }
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A timestamp as stored in `auth.json` (`last_refresh`): the parsed instant
/// plus the original text, so an unchanged value is rewritten byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTimestamp {
    instant: DateTime<Utc>,
    text: String,
}

impl StoredTimestamp {
    /// A timestamp for `instant`, written as RFC 3339 with nanoseconds and `Z`
    /// (`2026-11-21T02:55:00.688452573Z`), as the official CLI writes it.
    pub fn new(instant: DateTime<Utc>) -> Self {
        Self {
            text: instant.to_rfc3339_opts(SecondsFormat::Nanos, true),
            instant,
        }
    }

    /// Parses an RFC 3339 timestamp, keeping the original text.
    pub fn parse(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text).ok().map(|parsed| Self {
            instant: parsed.with_timezone(&Utc),
            text: text.to_owned(),
        })
    }

    /// The instant.
    pub fn instant(&self) -> DateTime<Utc> {
        self.instant
    }

    /// The text written to the file.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<DateTime<Utc>> for StoredTimestamp {
    fn from(instant: DateTime<Utc>) -> Self {
        Self::new(instant)
    }
}

/// `tokens.id_token`: normally the raw JWT; very old files held an object.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredIdToken {
    /// The compact JWT as issued.
    Jwt(SecretString),
    /// An object written by an old version (already-parsed claims); kept as is.
    Legacy(LegacyIdToken),
}

/// An old, already-parsed `id_token` object. Kept verbatim; its content is
/// never printed.
#[derive(Clone, PartialEq)]
pub struct LegacyIdToken(pub Map<String, Value>);

impl fmt::Debug for LegacyIdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyIdToken")
            .field("keys", &self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The `tokens` object of a ChatGPT login.
#[derive(Clone, PartialEq)]
pub struct StoredTokens {
    /// `id_token`; missing in some newer files.
    pub id_token: Option<StoredIdToken>,
    /// `access_token`.
    pub access_token: SecretString,
    /// `refresh_token` (empty for tokens supplied by a host app).
    pub refresh_token: SecretString,
    /// `account_id` (ChatGPT workspace); missing in Python-era files.
    pub account_id: Option<String>,
    /// Fields this version does not know, kept for the rewrite.
    pub extra: Map<String, Value>,
}

impl fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("id_token", &self.id_token)
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("account_id", &self.account_id)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The whole `auth.json` document.
#[derive(Clone, PartialEq, Default)]
pub struct AuthDotJson {
    /// `auth_mode`; when absent the mode is derived (see [`AuthDotJson::resolved_mode`]).
    pub auth_mode: Option<AuthMode>,
    /// `OPENAI_API_KEY`; always written, as `null` when absent.
    pub openai_api_key: Option<SecretString>,
    /// `tokens` of a ChatGPT login.
    pub tokens: Option<StoredTokens>,
    /// `last_refresh`.
    pub last_refresh: Option<StoredTimestamp>,
    /// `agent_identity`.
    pub agent_identity: Option<StoredAgentIdentity>,
    /// `personal_access_token` (`at-…`, issue 19).
    pub personal_access_token: Option<SecretString>,
    /// Top-level fields this version does not know, kept for the rewrite.
    pub extra: Map<String, Value>,
}

impl fmt::Debug for AuthDotJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthDotJson")
            .field("auth_mode", &self.auth_mode)
            .field("openai_api_key", &self.openai_api_key)
            .field("tokens", &self.tokens)
            .field("last_refresh", &self.last_refresh)
            .field("agent_identity", &self.agent_identity)
            .field("personal_access_token", &self.personal_access_token)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AuthDotJson {
    /// Parses `auth.json` bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, AuthJsonProblem> {
        let text = std::str::from_utf8(bytes).map_err(|_| AuthJsonProblem::NotText)?;
        if text.trim().is_empty() {
            return Err(AuthJsonProblem::Empty);
        }
        let value: Value = serde_json::from_str(text).map_err(|err| {
            if err.is_eof() {
                AuthJsonProblem::Truncated {
                    line: err.line(),
                    column: err.column(),
                }
            } else {
                // serde_json syntax errors describe the position and the kind
                // of mistake, never the surrounding content.
                AuthJsonProblem::Syntax {
                    message: err.to_string(),
                }
            }
        })?;
        Self::from_json_value(value)
    }

    /// Builds the document from parsed JSON.
    pub fn from_json_value(value: Value) -> Result<Self, AuthJsonProblem> {
        let Value::Object(mut map) = value else {
            return Err(wrong_type(".", "a JSON object", &value));
        };
        let auth_mode = match map.shift_remove("auth_mode") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(AuthMode::parse(&text).ok_or_else(|| {
                AuthJsonProblem::InvalidValue {
                    field: "auth_mode".to_owned(),
                    problem: format!(
                        "is {}, which is not one of apikey, chatgpt, chatgptAuthTokens, agentIdentity, personalAccessToken",
                        describe_short_text(&text)
                    ),
                }
            })?),
            Some(other) => return Err(wrong_type("auth_mode", "a string", &other)),
        };
        let openai_api_key =
            opt_string(&mut map, "OPENAI_API_KEY", "OPENAI_API_KEY")?.map(SecretString::from);
        let tokens = match map.shift_remove("tokens") {
            None | Some(Value::Null) => None,
            Some(Value::Object(tokens)) => Some(parse_tokens(tokens)?),
            Some(other) => return Err(wrong_type("tokens", "an object", &other)),
        };
        let last_refresh = match opt_string(&mut map, "last_refresh", "last_refresh")? {
            None => None,
            Some(text) if text.trim().is_empty() => None,
            Some(text) => Some(StoredTimestamp::parse(&text).ok_or_else(|| {
                AuthJsonProblem::InvalidValue {
                    field: "last_refresh".to_owned(),
                    problem: "is not an RFC 3339 timestamp".to_owned(),
                }
            })?),
        };
        let agent_identity = match map.shift_remove("agent_identity") {
            None | Some(Value::Null) => None,
            Some(Value::String(jwt)) => {
                Some(StoredAgentIdentity::Jwt(SecretString::from(jwt).into()))
            }
            Some(Value::Object(record)) => Some(StoredAgentIdentity::Record(Box::new(
                parse_agent_record(record)?,
            ))),
            Some(other) => {
                return Err(wrong_type(
                    "agent_identity",
                    "a JWT string or an object",
                    &other,
                ));
            }
        };
        let personal_access_token =
            opt_string(&mut map, "personal_access_token", "personal_access_token")?
                .map(SecretString::from);
        Ok(Self {
            auth_mode,
            openai_api_key,
            tokens,
            last_refresh,
            agent_identity,
            personal_access_token,
            extra: map,
        })
    }

    /// The mode this document means: `auth_mode` when present, else a
    /// personal access token when `personal_access_token` is set, else API key
    /// when `OPENAI_API_KEY` is set, else ChatGPT.
    pub fn resolved_mode(&self) -> AuthMode {
        match (self.auth_mode, &self.openai_api_key) {
            (Some(mode), _) => mode,
            (None, _) if self.personal_access_token.is_some() => AuthMode::PersonalAccessToken,
            (None, Some(_)) => AuthMode::ApiKey,
            (None, None) => AuthMode::Chatgpt,
        }
    }

    /// The document as JSON, keys in the order the official CLI writes them,
    /// unknown keys last.
    pub fn to_json_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(mode) = self.auth_mode {
            map.insert("auth_mode".into(), Value::String(mode.as_str().to_owned()));
        }
        map.insert(
            "OPENAI_API_KEY".into(),
            self.openai_api_key
                .as_ref()
                .map_or(Value::Null, |key| Value::String(key.expose().to_owned())),
        );
        if let Some(tokens) = &self.tokens {
            map.insert("tokens".into(), tokens_to_json(tokens));
        }
        if let Some(last_refresh) = &self.last_refresh {
            map.insert(
                "last_refresh".into(),
                Value::String(last_refresh.as_str().to_owned()),
            );
        }
        if let Some(identity) = &self.agent_identity {
            let value = match identity {
                StoredAgentIdentity::Jwt(jwt) => Value::String(jwt.expose().to_owned()),
                StoredAgentIdentity::Record(record) => agent_record_to_json(record),
            };
            map.insert("agent_identity".into(), value);
        }
        if let Some(token) = &self.personal_access_token {
            map.insert(
                "personal_access_token".into(),
                Value::String(token.expose().to_owned()),
            );
        }
        for (key, value) in &self.extra {
            map.entry(key.clone()).or_insert_with(|| value.clone());
        }
        Value::Object(map)
    }

    /// Pretty JSON (two-space indent), as written to `auth.json`.
    pub fn to_pretty_json(&self) -> String {
        // Serialising a `Value` cannot fail.
        serde_json::to_string_pretty(&self.to_json_value()).unwrap_or_default()
    }

    /// Compact JSON, as stored in the keyring.
    pub fn to_compact_json(&self) -> String {
        self.to_json_value().to_string()
    }

    /// An API-key login document: `{"auth_mode":"apikey","OPENAI_API_KEY":key}`.
    pub fn api_key(key: SecretString) -> Self {
        Self {
            auth_mode: Some(AuthMode::ApiKey),
            openai_api_key: Some(key),
            ..Self::default()
        }
    }

    /// An agent identity login document holding only the JWT.
    pub fn agent_identity_jwt(jwt: SecretString) -> Self {
        Self {
            auth_mode: Some(AuthMode::AgentIdentity),
            agent_identity: Some(StoredAgentIdentity::Jwt(jwt.into())),
            ..Self::default()
        }
    }

    /// A personal access token login document, as the official CLI writes it:
    /// `{"OPENAI_API_KEY": null, "personal_access_token": "at-…"}`, with no
    /// `auth_mode` (so older builds still parse the file).
    pub fn personal_access_token(token: SecretString) -> Self {
        Self {
            personal_access_token: Some(token),
            ..Self::default()
        }
    }

    /// A managed ChatGPT login document (`auth_mode: chatgpt`), as a browser
    /// or device-code login writes it.
    pub fn chatgpt(
        tokens: StoredTokens,
        exchanged_api_key: Option<SecretString>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            auth_mode: Some(AuthMode::Chatgpt),
            openai_api_key: exchanged_api_key,
            tokens: Some(tokens),
            last_refresh: Some(StoredTimestamp::new(now)),
            ..Self::default()
        }
    }
}

impl StoredTokens {
    /// Tokens from a token response; `account_id` usually comes from the
    /// id token's `chatgpt_account_id` claim.
    pub fn new(
        id_token: SecretString,
        access_token: SecretString,
        refresh_token: SecretString,
        account_id: Option<String>,
    ) -> Self {
        Self {
            id_token: Some(StoredIdToken::Jwt(id_token)),
            access_token,
            refresh_token,
            account_id,
            extra: Map::new(),
        }
    }
}
