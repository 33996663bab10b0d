//! Constants of the wire protocol shared with the official Codex CLI.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// The OAuth client id the official Codex CLI uses; the only client the emulator accepts.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// The `iss` claim of agent identity JWTs.
pub const AGENT_IDENTITY_ISSUER: &str = "https://chatgpt.com/codex-backend/agent-identity";

/// The `aud` claim of agent identity JWTs.
pub const AGENT_IDENTITY_AUDIENCE: &str = "codex-app-server";

/// Scopes a login must request at least.
pub(crate) const REQUIRED_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Every scope the emulator knows; anything else is `invalid_scope`.
pub(crate) const KNOWN_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "api.connectors.read",
    "api.connectors.invoke",
];

/// Scope granted to tokens minted outside a browser login (device code, admin, refresh).
pub(crate) const DEFAULT_SCOPE: &str = "openid profile email offline_access";

/// Grant type of the API-key token exchange.
pub(crate) const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// Subject token type of the API-key token exchange.
pub(crate) const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// How far an AgentAssertion or task-registration timestamp may be from the server clock.
pub(crate) const TIMESTAMP_WINDOW_SECS: i64 = 300;

/// Lifetime of device codes (the CLI says "expires in 15 minutes").
pub(crate) const DEVICE_CODE_TTL_SECS: i64 = 15 * 60;

/// Lifetime of authorization codes.
pub(crate) const AUTHORIZATION_CODE_TTL_SECS: i64 = 10 * 60;

/// Lifetime of minted agent identity JWTs.
pub(crate) const AGENT_IDENTITY_JWT_TTL_SECS: i64 = 30 * 24 * 3600;

/// The PKCE S256 challenge of a verifier: base64url (no padding) of its SHA-256 (RFC 7636 §4.2).
pub(crate) fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Current time in whole seconds since the Unix epoch.
pub(crate) fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}
