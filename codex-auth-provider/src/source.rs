//! The async seam for refresh-aware callers.
//!
//! A client that makes many requests over time asks an [`AuthSource`] for the
//! current provider before each request, and asks it to recover once after a
//! `401`. `codex-login`'s `AuthManager` implements it; a fixed credential can
//! use [`StaticAuthSource`].

use crate::provider::SharedAuthProvider;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the server said when it refused a request with `401`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnauthorizedContext {
    /// The server's error code (for example `token_expired`), when it sent one.
    pub error_code: Option<String>,
}

/// The result of asking an [`AuthSource`] to recover after a `401`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryOutcome {
    /// New credentials are in place: retrying the request is worthwhile.
    Retry,
    /// Nothing changed that could make a retry succeed; the message says why.
    GiveUp(String),
}

/// Why an [`AuthSource`] could not produce a provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthSourceError {
    /// No credentials are configured at all.
    #[error("not logged in: {0}")]
    NotLoggedIn(String),
    /// Stored credentials can no longer be used; the user must log in again.
    #[error("{0}")]
    ReauthRequired(String),
    /// A temporary failure (network, server error); trying later may work.
    #[error("{0}")]
    Transient(String),
    /// Reading or writing the credential store failed.
    #[error("{0}")]
    Storage(String),
}

/// Supplies the current auth provider, refreshing when needed, and recovers
/// once after a `401`.
pub trait AuthSource: Send + Sync + fmt::Debug {
    /// The provider to use for the next request.
    fn current_provider(&self) -> BoxFuture<'_, Result<SharedAuthProvider, AuthSourceError>>;

    /// Called after a `401`: reload or refresh credentials and say whether a
    /// retry is worthwhile.
    fn recover_unauthorized<'a>(
        &'a self,
        context: &'a UnauthorizedContext,
    ) -> BoxFuture<'a, RecoveryOutcome>;
}

/// A shared, type-erased auth source.
pub type SharedAuthSource = Arc<dyn AuthSource>;

/// An [`AuthSource`] around a fixed provider: it never refreshes, so it never
/// asks for a retry.
#[derive(Debug, Clone)]
pub struct StaticAuthSource {
    provider: SharedAuthProvider,
}

impl StaticAuthSource {
    /// Wraps a fixed provider.
    pub fn new(provider: SharedAuthProvider) -> Self {
        Self { provider }
    }
}

impl AuthSource for StaticAuthSource {
    fn current_provider(&self) -> BoxFuture<'_, Result<SharedAuthProvider, AuthSourceError>> {
        let provider = self.provider.clone();
        Box::pin(async move { Ok(provider) })
    }

    fn recover_unauthorized<'a>(
        &'a self,
        _context: &'a UnauthorizedContext,
    ) -> BoxFuture<'a, RecoveryOutcome> {
        Box::pin(async {
            RecoveryOutcome::GiveUp("the credentials are fixed and cannot be refreshed".to_owned())
        })
    }
}
