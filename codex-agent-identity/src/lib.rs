//! Agent identity for Codex: Ed25519 agent keys, agent and task registration
//! with the AuthAPI accounts service, the `AgentAssertion` credential and its
//! [`AuthProvider`](codex_auth_provider::AuthProvider), and verification of
//! agent identity JWTs against a JWKS.
//!
//! All network calls take a caller-supplied `reqwest::Client` and base URLs;
//! this crate never builds its own HTTP client policy.
//!
//! The root exports are the whole public surface (at most 25 names, checked by
//! `cargo xtask check-shape`); every module is private. Constants and helpers
//! hang off the type they belong to (`AgentAssertion::decode`,
//! `AgentIdentityJwt::check_shape`, `JwksCache::global().verify(..)`,
//! `AgentIdentityClaims::ISSUER`, ...).

#![warn(missing_docs, unreachable_pub)]

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
mod stored;
mod token;

pub use assertion::AgentAssertion;
pub use assertion_auth::AgentAssertionAuth;
pub use chatgpt_opt_in::{ChatGptIdentityBinding, ensure_chatgpt_agent_identity};
pub use claims::AgentIdentityClaims;
pub use endpoints::jwks_url;
pub use failure_cache::RegistrationFailureCache;
pub use ids::{AgentRuntimeId, TaskId};
pub use jwks::JwksCache;
pub use jwt::JwtError;
pub use key::{AgentKey, AgentPublicKey, KeyError};
pub use record::{AgentIdentityRecord, AgentIdentityRecordError};
pub use registration::{
    Abom, AgentRegistrationRequest, RegistrationClient, RegistrationError, RegistrationOperation,
    TaskRegistrationBody,
};
pub use retry::RegistrationRetryPolicy;
pub use stored::StoredAgentIdentity;
pub use token::AgentIdentityJwt;
