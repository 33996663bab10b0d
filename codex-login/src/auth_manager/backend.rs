//! A [`BackendClient`] wired to this manager: the configured ChatGPT base URL,
//! the manager as its refresh-aware auth source, and an HTTP client from the
//! same [`HttpClientFactory`] (custom CA bundle, proxies, `originator` and
//! `User-Agent`) as every other request of the auth stack.

use super::AuthManager;
use crate::http_client::{HttpClientError, HttpClientFactory};
use codex_auth_provider::SharedAuthSource;
use codex_backend_client::{BackendClient, BackendClientBuilder, BackendError};
use std::sync::{Arc, PoisonError};

/// Why [`AuthManager::backend_client`] could not build a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendClientError {
    /// The HTTP client factory (CA bundle, proxy variables) or its client failed.
    #[error("cannot set up the HTTP client for the backend: {0}")]
    Http(#[source] HttpClientError),
    /// The backend client refused the configuration (for example the base URL).
    #[error("cannot set up the backend client: {0}")]
    Backend(#[source] BackendError),
}

impl AuthManager {
    /// The ChatGPT backend base URL this manager was configured with
    /// (`chatgpt_base_url` in `config.toml`).
    pub fn chatgpt_base_url(&self) -> &str {
        &self.agent_identity.chatgpt_base_url
    }

    /// A [`BackendClient`] for the configured ChatGPT backend that takes its
    /// credentials from this manager (refreshed when due, one recovery after a
    /// credential `401`) and sends its requests through a client from this
    /// manager's [`HttpClientFactory`]: the same CA bundle, proxies and
    /// `originator` / `User-Agent` headers as the login and refresh requests.
    ///
    /// The HTTP client is built for the backend URL only (no CA store is
    /// loaded for a plain-http loopback backend; TLS targets keep the full CA
    /// handling).
    pub fn backend_client(self: &Arc<Self>) -> Result<BackendClient, BackendClientError> {
        self.backend_client_builder()?
            .build()
            .map_err(BackendClientError::Backend)
    }

    /// [`AuthManager::backend_client`] as a builder, to add a timeout, retry
    /// policy or other settings before building.
    pub fn backend_client_builder(
        self: &Arc<Self>,
    ) -> Result<BackendClientBuilder, BackendClientError> {
        let factory = self.http_factory().map_err(BackendClientError::Http)?;
        let base_url = self.chatgpt_base_url();
        let client = match url::Url::parse(base_url) {
            Ok(url) => factory.default_client_for(&url),
            // The builder reports the bad URL; the client itself is the default one.
            Err(_) => factory.default_client(),
        }
        .map_err(BackendClientError::Http)?;
        let source: SharedAuthSource = self.clone();
        Ok(BackendClient::builder(base_url)
            .auth_source(source)
            .http_client(client))
    }

    /// The manager's HTTP client factory, made from its environment on first use.
    pub(super) fn http_factory(&self) -> Result<HttpClientFactory, HttpClientError> {
        let mut factory = self.http.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(factory) = factory.as_ref() {
            return Ok(factory.clone());
        }
        let env = Arc::clone(&self.env);
        let built = HttpClientFactory::from_env(&move |name: &str| env(name))?;
        *factory = Some(built.clone());
        Ok(built)
    }
}
