//! The login flows: browser (PKCE with a loopback callback and a paste-back fallback), device
//! code, API key, access token, logout with revocation, and login restrictions.
//!
//! Every flow gets its HTTP clients from [`crate::http_client::HttpClientFactory`] and saves
//! through the configured [`crate::storage::AuthStorage`] under `auth.json.lock`.

pub(crate) mod api_key;
pub(crate) mod authorize_url;
#[cfg(feature = "browser-login")]
pub(crate) mod browser;
#[cfg(feature = "browser-login")]
mod browser_error;
pub(crate) mod callback_port;
#[cfg(feature = "browser-login")]
mod callback_server;
pub(crate) mod cancel_secret;
mod code_redemption;
pub(crate) mod device_code;
mod device_poll_interval;
mod error_text;
pub(crate) mod log_redaction;
pub(crate) mod login_claims;
pub(crate) mod logout;
pub(crate) mod pages;
pub(crate) mod pasted_redirect;
pub(crate) mod persist;
pub(crate) mod personal_access_token_login;
pub(crate) mod pkce;
pub(crate) mod profile_logout;
pub(crate) mod replaced_login;
use crate::restrictions;
pub(crate) mod token_endpoint;
pub(crate) mod workspace_check;

pub use api_key::{
    AccessTokenLoginError, AccessTokenLoginOptions, ApiKeyLoginError, ApiKeyLoginOptions,
    login_with_access_token, login_with_api_key,
};
#[cfg(feature = "browser-login")]
pub use browser::{
    BrowserLoginSuccess, CompletedVia, LoginCancelHandle, LoginServer, LoginServerOptions,
    SystemBrowser, UrlOpener, run_browser_login,
};
#[cfg(feature = "browser-login")]
pub use browser_error::BrowserLoginError;
pub use callback_port::{CallbackBindError, DEFAULT_CALLBACK_PORT, FALLBACK_CALLBACK_PORT};
#[cfg(feature = "browser-login")]
pub use callback_server::compose_success_url;
pub use cancel_secret::{cancel_secret_path, read_cancel_secret};
pub use device_code::{
    DeviceCode, DeviceCodeError, DeviceCodeOptions, DeviceLoginSuccess, complete_device_code_login,
    render_device_code_prompt, request_device_code, run_device_code_login,
};
pub use log_redaction::redact_url_for_log;
pub use logout::{
    LogoutError, LogoutOptions, LogoutOutcome, Revocation, RevokedTokenKind,
    logout_manager_with_revoke, logout_with_revoke,
};
pub use pasted_redirect::{CallbackParams, PastedInput, parse_pasted_input};
pub use persist::{CredentialTarget, PersistError};
pub use personal_access_token_login::login_with_personal_access_token;
pub use pkce::PkceCodes;
pub use profile_logout::{ProfileLogout, logout_all, logout_profile};
pub use replaced_login::ReplacedLoginRevocation;
pub use restrictions::{
    LoginKind, LoginMethodDisabled, LoginRestrictionError, LoginRestrictions, RestrictionTarget,
    RestrictionViolation, enforce_login_restrictions, ensure_login_method_allowed,
};
pub use token_endpoint::{ExchangedTokens, obtain_api_key};
