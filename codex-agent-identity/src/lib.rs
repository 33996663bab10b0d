//! Agent identity for Codex: Ed25519 agent keys, agent and task registration
//! with the AuthAPI accounts service, the `AgentAssertion` credential and its
//! [`AuthProvider`](codex_auth_provider::AuthProvider), and verification of
//! agent identity JWTs against a JWKS.
//!
//! All network calls take a caller-supplied `reqwest::Client` and base URLs;
//! this crate never builds its own HTTP client policy.

mod assertion;
mod assertion_auth;
mod chatgpt_opt_in;
mod claims;
mod endpoints;
mod failure_cache;
mod ids;
mod jwks;
mod jwt;
mod key;
mod pkcs8;
mod record;
mod registration;
mod retry;
mod sealed_task_id;

pub use assertion::{
    AgentAssertion, AssertionDecodeError, MAX_ASSERTION_LEN, assertion_signed_message,
    decode_agent_assertion, format_timestamp, parse_timestamp,
};
pub use assertion_auth::AgentAssertionAuth;
pub use chatgpt_opt_in::{
    ChatGptAgentIdentity, ChatGptBootstrapError, ChatGptIdentityBinding,
    ensure_chatgpt_agent_identity,
};
pub use claims::AgentIdentityClaims;
pub use endpoints::{
    EndpointError, agent_register_url, check_secure_url, jwks_url, task_register_url,
};
pub use failure_cache::{
    REGISTRATION_FAILURE_TTL, RegistrationFailureCache, RegistrationFailureKey,
};
pub use ids::{AgentRuntimeId, IdError, IdKind, MAX_ID_LEN, TaskId};
pub use jwks::{
    JWKS_MAX_AGE, JWKS_REFETCH_ON_UNKNOWN_KID_AFTER, JWKS_TIMEOUT, JwksCache,
    verify_agent_identity_jwt,
};
pub use jwt::{
    AGENT_IDENTITY_ALGORITHM, AGENT_IDENTITY_AUDIENCE, AGENT_IDENTITY_ISSUER, AgentIdentityJwt,
    JwtError, JwtHeader, MAX_JWT_LEN, check_jwt_shape, decode_agent_identity_jwt_unverified,
};
pub use key::{AgentKey, AgentPublicKey, KeyError, SIGNATURE_LEN, SignatureError};
pub use pkcs8::{Pkcs8Error, Pkcs8Version};
pub use record::{AgentIdentityRecord, AgentIdentityRecordError, StoredAgentIdentity};
pub use registration::{
    AGENT_REGISTRATION_TIMEOUT, Abom, AgentRegistrationRequest, ERROR_BODY_LIMIT,
    RESPONSES_API_CAPABILITY, RegistrationClient, RegistrationError, RegistrationOperation,
    TASK_REGISTRATION_TIMEOUT, TaskRegistrationBody, task_registration_message,
};
pub use retry::RetryPolicy;
pub use sealed_task_id::SealedTaskIdError;
