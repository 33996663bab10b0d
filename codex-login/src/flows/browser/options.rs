//! The settings of a browser login and how it opens the browser.

use super::DEFAULT_LOGIN_TIMEOUT;
use crate::config::CodexConfig;
use crate::flows::callback_port::{DEFAULT_CALLBACK_PORT, FALLBACK_CALLBACK_PORT};
use crate::flows::logout::revoke_url_for_config;
use crate::http_client::HttpClientFactory;
use crate::refresh::{CLIENT_ID, DEFAULT_ISSUER};
use crate::storage::{CredentialStoreMode, SharedAuthStorage};
use codex_auth_provider::SecretString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Opens a URL in a browser; the default uses the system browser (`webbrowser`).
pub trait UrlOpener: Send + Sync + std::fmt::Debug {
    /// Opens `url`, or explains why it could not.
    fn open(&self, url: &str) -> Result<(), String>;
}

/// Opens URLs with the `webbrowser` crate (`$BROWSER`, `xdg-open`, `open`, ...).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemBrowser;

impl UrlOpener for SystemBrowser {
    fn open(&self, url: &str) -> Result<(), String> {
        webbrowser::open(url).map_err(|err| err.to_string())
    }
}

/// Settings of one browser login; the CLI fills them from configuration.
#[derive(Debug, Clone)]
pub struct LoginServerOptions {
    /// Where credentials are saved.
    pub codex_home: PathBuf,
    /// OAuth client id.
    pub client_id: String,
    /// Issuer base URL (`https://auth.openai.com`), no trailing slash needed.
    pub issuer: String,
    /// Callback port; `1455` by default, `0` for an ephemeral port (tests).
    pub port: u16,
    /// Port tried when `port` stays busy (`1457` by default; `None` disables).
    pub fallback_port: Option<u16>,
    /// Whether to try opening a browser after printing the URL.
    pub open_browser: bool,
    /// What opens the browser; `None` uses the system browser.
    pub url_opener: Option<Arc<dyn UrlOpener>>,
    /// A fixed `state` (tests only); `None` generates a random one.
    pub force_state: Option<SecretString>,
    /// Workspaces the login must belong to (empty: any).
    pub forced_chatgpt_workspace_ids: Vec<String>,
    /// Where the credentials are stored.
    pub credential_store: CredentialStoreMode,
    /// A store to use instead of the one `credential_store` names (tests, embedders).
    pub storage: Option<SharedAuthStorage>,
    /// The factory every HTTP client comes from.
    pub http: HttpClientFactory,
    /// Revoke (best effort) the tokens of the stored login this one replaces.
    pub revoke_replaced_login: bool,
    /// Where that revocation goes; `None` means `<issuer>/oauth/revoke`.
    pub revoke_url: Option<String>,
    /// How long to wait for the callback; `None` waits until cancelled.
    pub timeout: Option<Duration>,
    /// Adds `codex_streamlined_login=true` to the success redirect.
    pub codex_streamlined_login: bool,
}

impl LoginServerOptions {
    /// Defaults: the OpenAI issuer and client id, port 1455 with fallback 1457, browser on,
    /// file storage, a 15 minute timeout.
    pub fn new(codex_home: PathBuf, http: HttpClientFactory) -> Self {
        Self {
            codex_home,
            client_id: CLIENT_ID.to_owned(),
            issuer: DEFAULT_ISSUER.to_owned(),
            port: DEFAULT_CALLBACK_PORT,
            fallback_port: Some(FALLBACK_CALLBACK_PORT),
            open_browser: true,
            url_opener: None,
            force_state: None,
            forced_chatgpt_workspace_ids: Vec::new(),
            credential_store: CredentialStoreMode::File,
            storage: None,
            http,
            revoke_replaced_login: true,
            revoke_url: None,
            timeout: Some(DEFAULT_LOGIN_TIMEOUT),
            codex_streamlined_login: false,
        }
    }

    /// [`LoginServerOptions::new`] with home, issuer, store, forced workspaces and revoke
    /// endpoint from `config`.
    pub fn from_config(config: &CodexConfig, http: HttpClientFactory) -> Self {
        Self {
            issuer: config.issuer.clone(),
            credential_store: config.credential_store,
            forced_chatgpt_workspace_ids: config.forced_chatgpt_workspace_ids.clone(),
            revoke_url: Some(revoke_url_for_config(config)),
            ..Self::new(config.codex_home.clone(), http)
        }
    }
}
