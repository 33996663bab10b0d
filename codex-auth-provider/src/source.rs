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

/// What kind of failure an auth error is: what the caller (or the user) can do
/// about it. Every credential error of the workspace says its kind, from the
/// store up to `codex-backend-client`'s `BackendError`; the CLI turns kinds
/// into exit codes in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No credentials are configured at all.
    NotLoggedIn,
    /// Credentials exist but cannot be used any more; the user must log in again.
    NeedsLogin,
    /// An administrator's restriction forbids these credentials (a new login is needed).
    Restricted,
    /// A temporary failure (network, server error, a lock held too long); trying later may work.
    Transient,
    /// Reading or writing the credential store failed.
    Storage,
    /// Something is misconfigured (an endpoint, the HTTP client).
    Config,
}

impl AuthErrorKind {
    /// Whether a new login is the way out (`NeedsLogin`, `Restricted`).
    pub fn requires_new_login(self) -> bool {
        matches!(self, Self::NeedsLogin | Self::Restricted)
    }
}

/// Why an [`AuthSource`] could not produce a provider: a kind, and the error
/// that caused it (kept as the [`std::error::Error::source`]).
///
/// Its text is the source's text (`not logged in: ...` for
/// [`AuthErrorKind::NotLoggedIn`]).
#[derive(Debug, Clone)]
pub struct AuthSourceError {
    kind: AuthErrorKind,
    source: Arc<dyn std::error::Error + Send + Sync + 'static>,
}

impl AuthSourceError {
    /// An error of `kind` caused by `source` (an error, or a message).
    pub fn new(
        kind: AuthErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind,
            source: Arc::from(source.into()),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }
}

impl fmt::Display for AuthSourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            AuthErrorKind::NotLoggedIn => write!(f, "not logged in: {}", self.source),
            _ => write!(f, "{}", self.source),
        }
    }
}

impl std::error::Error for AuthSourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl PartialEq for AuthSourceError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.to_string() == other.to_string()
    }
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
