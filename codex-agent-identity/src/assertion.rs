//! The `AgentAssertion` credential: base64url (no padding) of compact JSON
//! `{"agent_runtime_id","signature","task_id","timestamp"}` in that key order,
//! the signature being standard base64 of Ed25519 over
//! `<agent_runtime_id>:<task_id>:<timestamp>`.

use crate::ids::{AgentRuntimeId, IdError, TaskId};
use crate::key::{AgentKey, AgentPublicKey, SIGNATURE_LEN, SignatureError};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDateTime, Utc};
use codex_auth_provider::SecretString;
use codex_auth_provider::headers::AGENT_ASSERTION_SCHEME;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The wire format of timestamps: UTC, second precision, `Z` suffix.
const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Longest assertion token [`AgentAssertion::decode`] looks at, in bytes.
pub(crate) const MAX_ASSERTION_LEN: usize = 8 * 1024;

/// Formats `at` as the wire timestamp, e.g. `2026-11-21T02:54:54Z`.
pub(crate) fn format_timestamp(at: DateTime<Utc>) -> String {
    at.format(TIMESTAMP_FORMAT).to_string()
}

/// Parses a wire timestamp, accepting only the exact `YYYY-MM-DDTHH:MM:SSZ` form.
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let parsed = NaiveDateTime::parse_from_str(text, TIMESTAMP_FORMAT)
        .ok()?
        .and_utc();
    (format_timestamp(parsed) == text).then_some(parsed)
}

/// Why text is not a well-formed agent assertion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionDecodeError {
    /// The input is empty or longer than [`MAX_ASSERTION_LEN`].
    #[error("the agent assertion is empty or longer than {MAX_ASSERTION_LEN} bytes")]
    Length,
    /// The input has an authorization scheme other than `AgentAssertion`.
    #[error("the authorization scheme is not AgentAssertion")]
    Scheme,
    /// The token is not base64url without padding.
    #[error("the agent assertion is not base64url without padding")]
    Base64,
    /// The token is not a JSON object of exactly the four string members.
    #[error(
        "the agent assertion is not a JSON object of agent_runtime_id, signature, task_id and timestamp strings"
    )]
    Json,
    /// An id inside the assertion is unusable.
    #[error("the agent assertion has a bad id: {0}")]
    Id(#[from] IdError),
    /// The timestamp is not `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("the agent assertion timestamp is not YYYY-MM-DDTHH:MM:SSZ")]
    Timestamp,
    /// The signature is not standard base64 of 64 bytes.
    #[error("the agent assertion signature is not standard base64 of 64 bytes")]
    Signature,
}

/// The JSON envelope; field order is the wire's (lexicographic) key order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    agent_runtime_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    signature: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    task_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    timestamp: std::borrow::Cow<'a, str>,
}

/// The message an assertion signs: `<runtime>:<task>:<timestamp>`.
pub(crate) fn assertion_signed_message(
    runtime: &AgentRuntimeId,
    task: &TaskId,
    timestamp: &str,
) -> String {
    format!("{}:{}:{timestamp}", runtime.as_str(), task.as_str())
}

/// A decoded (not yet verified) agent assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAssertion {
    /// The runtime that claims to act.
    pub agent_runtime_id: AgentRuntimeId,
    /// The task it claims to act for.
    pub task_id: TaskId,
    /// When it was minted.
    pub timestamp: DateTime<Utc>,
    /// The raw 64-byte Ed25519 signature.
    pub signature: [u8; SIGNATURE_LEN],
}

impl AgentAssertion {
    /// Longest `AgentAssertion` header value accepted, in bytes.
    pub const MAX_LEN: usize = MAX_ASSERTION_LEN;

    /// Formats `at` as the wire timestamp, e.g. `2026-11-21T02:54:54Z`.
    pub fn format_timestamp(at: DateTime<Utc>) -> String {
        format_timestamp(at)
    }

    /// Parses a wire timestamp (`YYYY-MM-DDTHH:MM:SSZ`).
    pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
        parse_timestamp(text)
    }

    /// The message an assertion for `runtime` and `task` at `timestamp` signs:
    /// `<runtime>:<task>:<timestamp>`.
    pub fn message_to_sign(runtime: &AgentRuntimeId, task: &TaskId, timestamp: &str) -> String {
        assertion_signed_message(runtime, task, timestamp)
    }

    /// Mints the assertion token (without the `AgentAssertion ` scheme) for `task` at `at`.
    pub fn mint(
        key: &AgentKey,
        runtime: &AgentRuntimeId,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> SecretString {
        let timestamp = format_timestamp(at);
        let signature =
            key.sign_base64(assertion_signed_message(runtime, task, &timestamp).as_bytes());
        let envelope = Envelope {
            agent_runtime_id: runtime.as_str().into(),
            signature: signature.into(),
            task_id: task.as_str().into(),
            timestamp: timestamp.into(),
        };
        // Serialising four strings cannot fail; an empty token would simply not authenticate.
        let json = Zeroizing::new(serde_json::to_vec(&envelope).unwrap_or_default());
        SecretString::new(URL_SAFE_NO_PAD.encode(json.as_slice()))
    }

    /// The full `Authorization` value: `AgentAssertion <token>`.
    pub fn authorization_value(
        key: &AgentKey,
        runtime: &AgentRuntimeId,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> SecretString {
        let token = Self::mint(key, runtime, task, at);
        SecretString::new(format!("{AGENT_ASSERTION_SCHEME} {}", token.expose()))
    }

    /// Decodes a token, or a whole `AgentAssertion <token>` header value, checking its shape.
    pub fn decode(input: &str) -> Result<Self, AssertionDecodeError> {
        let input = input.trim();
        if input.is_empty() || input.len() > MAX_ASSERTION_LEN {
            return Err(AssertionDecodeError::Length);
        }
        let token = match input.split_once(' ') {
            Some((scheme, token)) if scheme == AGENT_ASSERTION_SCHEME => token.trim_start(),
            Some(_) => return Err(AssertionDecodeError::Scheme),
            None => input,
        };
        let json = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(token)
                .map_err(|_| AssertionDecodeError::Base64)?,
        );
        let envelope: Envelope<'_> =
            serde_json::from_slice(&json).map_err(|_| AssertionDecodeError::Json)?;
        let agent_runtime_id = AgentRuntimeId::new(envelope.agent_runtime_id.as_ref())?;
        let task_id = TaskId::new(envelope.task_id.as_ref())?;
        let timestamp =
            parse_timestamp(&envelope.timestamp).ok_or(AssertionDecodeError::Timestamp)?;
        let signature = STANDARD
            .decode(envelope.signature.as_bytes())
            .ok()
            .and_then(|bytes| <[u8; SIGNATURE_LEN]>::try_from(bytes).ok())
            .ok_or(AssertionDecodeError::Signature)?;
        Ok(Self {
            agent_runtime_id,
            task_id,
            timestamp,
            signature,
        })
    }

    /// The exact message the signature covers.
    pub fn signed_message(&self) -> String {
        assertion_signed_message(
            &self.agent_runtime_id,
            &self.task_id,
            &format_timestamp(self.timestamp),
        )
    }

    /// Checks the signature against the runtime's registered public key.
    pub fn verify(&self, public_key: &AgentPublicKey) -> Result<(), SignatureError> {
        public_key.verify(self.signed_message().as_bytes(), &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_strict() {
        let at = parse_timestamp("2026-11-21T02:54:54Z").unwrap();
        assert_eq!(format_timestamp(at), "2026-11-21T02:54:54Z");
        for bad in [
            "2026-11-21T02:54:54.1Z",
            "2026-11-21T02:54:54+00:00",
            "2026-11-21 02:54:54Z",
            "2026-1-21T02:54:54Z",
            "",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn decode_rejects_bad_shapes() {
        let enc = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let sig = STANDARD.encode([0u8; 64]);
        let ok = format!(
            r#"{{"agent_runtime_id":"r","signature":"{sig}","task_id":"t","timestamp":"2026-01-01T00:00:00Z"}}"#
        );
        assert!(AgentAssertion::decode(&enc(&ok)).is_ok());
        assert!(AgentAssertion::decode(&format!("AgentAssertion {}", enc(&ok))).is_ok());
        assert_eq!(
            AgentAssertion::decode(&format!("Bearer {}", enc(&ok))),
            Err(AssertionDecodeError::Scheme)
        );
        assert_eq!(
            AgentAssertion::decode(""),
            Err(AssertionDecodeError::Length)
        );
        assert_eq!(
            AgentAssertion::decode("a.b"),
            Err(AssertionDecodeError::Base64)
        );
        let extra = ok.replace("}", r#","x":"y"}"#);
        assert_eq!(
            AgentAssertion::decode(&enc(&extra)),
            Err(AssertionDecodeError::Json)
        );
        let colon = ok.replace(r#""task_id":"t""#, r#""task_id":"t:1""#);
        assert!(matches!(
            AgentAssertion::decode(&enc(&colon)),
            Err(AssertionDecodeError::Id(_))
        ));
        let short_sig = ok.replace(&sig, "AAAA");
        assert_eq!(
            AgentAssertion::decode(&enc(&short_sig)),
            Err(AssertionDecodeError::Signature)
        );
        let bad_time = ok.replace("00:00:00Z", "00:00:00.5Z");
        assert_eq!(
            AgentAssertion::decode(&enc(&bad_time)),
            Err(AssertionDecodeError::Timestamp)
        );
    }
}
