//! Header names used by Codex authentication.
//!
//! Header names are case-insensitive on the wire; `http` stores them in lower
//! case.

use http::HeaderName;

/// `Authorization`, carrying `Bearer <token>` or `AgentAssertion <assertion>`.
pub const AUTHORIZATION: HeaderName = http::header::AUTHORIZATION;

/// `ChatGPT-Account-ID`: the ChatGPT workspace (account) the request acts in.
pub const CHATGPT_ACCOUNT_ID: HeaderName = HeaderName::from_static("chatgpt-account-id");

/// `X-OpenAI-Fedramp`: sent with the value `true` for FedRAMP accounts only.
pub const X_OPENAI_FEDRAMP: HeaderName = HeaderName::from_static("x-openai-fedramp");

/// `originator`: which Codex client made the request (`codex_cli_rs` by default).
pub const ORIGINATOR: HeaderName = HeaderName::from_static("originator");

/// The scheme word for bearer credentials.
pub const BEARER_SCHEME: &str = "Bearer";

/// The scheme word for agent identity assertions.
pub const AGENT_ASSERTION_SCHEME: &str = "AgentAssertion";
