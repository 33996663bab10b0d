//! Putting authentication headers on a request.
//!
//! This crate is the *apply* half of the two-step auth model: something else
//! (for example `codex-login`'s `AuthManager`) resolves credentials, possibly
//! doing I/O, and hands out an [`AuthProvider`] that writes headers onto a
//! request synchronously, without I/O and without failing loudly.
//!
//! It also holds the shared header names, the redacting [`SecretString`]
//! newtype every crate uses for tokens and keys, and the [`AuthSource`] seam
//! that refresh-aware callers (such as `codex-backend-client`) use to get the
//! current provider and to recover after a `401`.

#![warn(missing_docs, unreachable_pub)]

mod bearer;
#[cfg(feature = "reqwest")]
pub mod bounded_body;
pub mod headers;
mod provider;
#[cfg(feature = "reqwest")]
pub mod proxy_env;
mod secret;
mod sent_secrets;
mod source;

pub use bearer::BearerAuth;
pub use provider::{
    AuthProvider, NoAuth, SharedAuthProvider, sensitive_header_value, visible_header_value,
};
pub use secret::{REDACTED, SecretString};
pub use sent_secrets::SentSecrets;
pub use source::{
    AuthErrorKind, AuthSource, AuthSourceError, BoxFuture, RecoveryOutcome, SharedAuthSource,
    StaticAuthSource, UnauthorizedContext,
};
