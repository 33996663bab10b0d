//! `AuthDataError` and the upstream messages a snapshot reports.

use crate::token_claims::JwtDecodeError;
use codex_agent_identity::AgentIdentityRecordError;

/// The upstream message when an API-key login has no key.
pub const API_KEY_MISSING_MESSAGE: &str = "API key auth is missing a key.";
/// The upstream message when ChatGPT token data is absent.
pub const TOKEN_DATA_UNAVAILABLE_MESSAGE: &str = "Token data is not available.";
/// The upstream message when host-supplied tokens lack an account id.
pub const EXTERNAL_TOKENS_MISSING_METADATA_MESSAGE: &str =
    "external auth tokens are missing ChatGPT metadata";

/// For host-supplied tokens (`chatgptAuthTokens`, kept only in memory), the
/// field of `tokens` that records the plan the host named.
pub const EXTERNAL_PLAN_TYPE_FIELD: &str = "chatgpt_plan_type";

/// Why a document or token cannot become a [`CodexAuth`](super::CodexAuth).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthDataError {
    /// `apikey` mode without a (non-empty) `OPENAI_API_KEY`.
    #[error("API key auth is missing a key.")]
    MissingApiKey,
    /// A ChatGPT mode without `tokens`.
    #[error("Token data is not available.")]
    TokenDataUnavailable,
    /// A ChatGPT mode whose `tokens.access_token` is empty.
    #[error("`tokens.access_token` is empty")]
    EmptyAccessToken,
    /// `tokens.id_token` is not a readable JWT.
    #[error("`tokens.id_token` cannot be read: {0}")]
    IdToken(JwtDecodeError),
    /// `agentIdentity` mode without `agent_identity`.
    #[error("agentIdentity auth is missing `agent_identity`")]
    MissingAgentIdentity,
    /// The agent identity JWT cannot be read.
    #[error("the agent identity JWT cannot be read: {0}")]
    AgentIdentityJwt(JwtDecodeError),
    /// The agent identity has no runtime id or private key.
    #[error("the agent identity is missing `{0}`")]
    AgentIdentityIncomplete(&'static str),
    /// Host-supplied ChatGPT tokens without an account id.
    #[error("external auth tokens are missing ChatGPT metadata")]
    ExternalTokensMissingMetadata,
    /// A stored personal access token login whose `personal_access_token` is empty (issue 19).
    #[error("personal access token auth is missing a personal access token.")]
    MissingPersonalAccessToken,
    /// A run task was offered to a snapshot that is not an agent identity.
    #[error("only an agent identity can take a run task")]
    NotAgentIdentity,
    /// The agent identity's key or ids cannot sign requests.
    #[error(transparent)]
    AgentIdentityUnusable(#[from] AgentIdentityRecordError),
}
