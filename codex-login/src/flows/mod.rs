//! The login flows: browser (PKCE with a loopback callback and a paste-back fallback), device
//! code, API key, access token, logout with revocation, and login restrictions.
//!
//! Every flow gets its HTTP clients from [`crate::http_client::HttpClientFactory`] and saves
//! through the configured [`crate::storage::AuthStorage`] under `auth.json.lock`.

pub mod api_key;
pub mod authorize_url;
#[cfg(feature = "browser-login")]
pub mod browser;
pub mod callback_port;
#[cfg(feature = "browser-login")]
mod callback_server;
pub mod cancel_secret;
mod code_redemption;
pub mod device_code;
mod device_poll_interval;
mod error_text;
pub mod log_redaction;
pub mod login_claims;
pub mod logout;
pub mod pages;
pub mod pasted_redirect;
pub mod persist;
pub mod personal_access_token_login;
pub mod pkce;
pub mod profile_logout;
pub mod replaced_login;
use crate::restrictions;
pub mod token_endpoint;
pub mod workspace_check;

pub use api_key::{
    AccessTokenLoginError, AccessTokenLoginOptions, ApiKeyLoginError, ApiKeyLoginOptions,
    login_with_access_token, login_with_api_key,
};
#[cfg(feature = "browser-login")]
pub use browser::{
    BrowserLoginError, BrowserLoginSuccess, CompletedVia, LoginCancelHandle, LoginServer,
    LoginServerOptions, SystemBrowser, UrlOpener, run_browser_login,
};
pub use callback_port::{CallbackBindError, DEFAULT_CALLBACK_PORT, FALLBACK_CALLBACK_PORT};
#[cfg(feature = "browser-login")]
pub use callback_server::compose_success_url;
pub use device_code::{
    DeviceCode, DeviceCodeError, DeviceCodeOptions, DeviceLoginSuccess, complete_device_code_login,
    request_device_code, run_device_code_login,
};
pub use logout::{
    LogoutError, LogoutOptions, LogoutOutcome, Revocation, RevokedTokenKind,
    logout_manager_with_revoke, logout_with_revoke,
};
pub use persist::{CredentialTarget, PersistError};
pub use profile_logout::{ProfileLogout, logout_all, logout_profile};
pub use replaced_login::ReplacedLoginRevocation;
pub use restrictions::{
    ForcedLoginMethod, LoginKind, LoginMethodDisabled, LoginRestrictionError, LoginRestrictions,
    RestrictionTarget, RestrictionViolation, enforce_login_restrictions,
    ensure_login_method_allowed,
};
