//! Codex auth for any `reqwest` client, as a `reqwest-middleware` middleware.
//!
//! [`AuthMiddleware`] asks its [`AuthSource`] (usually the [`AuthManager`],
//! which refreshes an access token about to expire) for the current
//! `AuthProvider` before each request and puts its headers on it. After a
//! `401` it asks the source to recover once (reload, then refresh) and, when
//! new credentials are in place, sends the request again with them; a second
//! `401` is returned as is.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use codex_login::auth_manager::AuthManager;
//! use codex_login::middleware::AuthMiddleware;
//!
//! let manager = AuthManager::from_env().await?;
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(AuthMiddleware::new(manager))
//!     .build();
//! let usage = client
//!     .get("https://chatgpt.com/backend-api/wham/usage")
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! [`AuthManager`]: crate::auth_manager::AuthManager

use codex_auth_provider::{
    AuthSource, AuthSourceError, RecoveryOutcome, SharedAuthSource, UnauthorizedContext,
};
use http::{Extensions, StatusCode};
use reqwest_middleware::{Middleware, Next};
use std::sync::Arc;

/// Why the middleware could not send a request.
#[derive(Debug, thiserror::Error)]
#[error("Codex auth: {0}")]
pub struct AuthMiddlewareError(#[source] pub AuthSourceError);

/// Puts the current Codex auth headers on every request and recovers once
/// after a `401` (see the module docs).
#[derive(Debug, Clone)]
pub struct AuthMiddleware {
    source: SharedAuthSource,
}

impl AuthMiddleware {
    /// A middleware drawing its credentials from `source` (an
    /// `Arc<AuthManager>` or any other [`AuthSource`]).
    pub fn new<S: AuthSource + 'static>(source: Arc<S>) -> Self {
        Self { source }
    }

    /// A middleware for an already type-erased source.
    pub fn from_shared(source: SharedAuthSource) -> Self {
        Self { source }
    }

    async fn authorize(
        &self,
        mut request: reqwest::Request,
    ) -> reqwest_middleware::Result<reqwest::Request> {
        let provider = self
            .source
            .current_provider()
            .await
            .map_err(|err| reqwest_middleware::Error::middleware(AuthMiddlewareError(err)))?;
        provider.add_auth_headers(request.headers_mut());
        Ok(request)
    }
}

#[async_trait::async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        // A streaming body cannot be sent twice: such a request gets no retry.
        let spare = request.try_clone();
        let request = self.authorize(request).await?;
        let response = next.clone().run(request, extensions).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(spare) = spare else {
            return Ok(response);
        };
        let context = UnauthorizedContext::default();
        match self.source.recover_unauthorized(&context).await {
            RecoveryOutcome::Retry => {
                tracing::debug!("retrying once with recovered credentials after a 401");
                let retry = self.authorize(spare).await?;
                next.run(retry, extensions).await
            }
            RecoveryOutcome::GiveUp(reason) => {
                tracing::debug!("a 401 could not be recovered: {reason}");
                Ok(response)
            }
        }
    }
}
