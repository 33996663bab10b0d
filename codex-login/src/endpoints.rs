//! Endpoint URLs derived from configuration (a leaf: imports nothing above
//! `environment`): the revoke endpoint, and the two base URLs agent identity
//! talks to, the AuthAPI (agent and task registration) and the JWKS base
//! (agent identity JWT verification).

use url::Url;

use crate::environment::EnvLookup;

/// The OAuth client id of the Codex CLI.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// The issuer used when nothing overrides it.
pub const DEFAULT_ISSUER: &str = "https://auth.openai.com";
/// Environment variable that replaces the whole refresh URL.
pub(crate) const REFRESH_TOKEN_URL_OVERRIDE_ENV_VAR: &str = "CODEX_REFRESH_TOKEN_URL_OVERRIDE";

/// Env var that replaces the revoke endpoint.
pub(crate) const REVOKE_TOKEN_URL_OVERRIDE_ENV_VAR: &str = "CODEX_REVOKE_TOKEN_URL_OVERRIDE";

/// The revoke endpoint: the explicit override, else the refresh override's origin with path
/// `/oauth/revoke` (query dropped), else `<issuer>/oauth/revoke`.
pub(crate) fn revoke_endpoint(
    revoke_override: Option<&str>,
    refresh_override: Option<&str>,
    issuer: &str,
) -> String {
    if let Some(url) = revoke_override {
        return url.to_owned();
    }
    if let Some(mut refresh) = refresh_override.and_then(|raw| Url::parse(raw).ok()) {
        refresh.set_path("/oauth/revoke");
        refresh.set_query(None);
        refresh.set_fragment(None);
        return refresh.to_string();
    }
    format!("{}/oauth/revoke", issuer.trim_end_matches('/'))
}

/// Env var that moves the AuthAPI base (`…/api/accounts`).
pub const AUTHAPI_BASE_URL_ENV_VAR: &str = "CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL";
/// Env var that moves the JWKS base.
pub const JWKS_BASE_URL_ENV_VAR: &str = "CODEX_AGENT_IDENTITY_JWKS_BASE_URL";

const CHATGPT_ORIGINS: [&str; 2] = ["https://chatgpt.com", "https://chat.openai.com"];

/// Where agent identities are registered and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentIdentityEndpoints {
    /// The AuthAPI accounts base, e.g. `https://auth.openai.com/api/accounts`.
    pub authapi_base_url: String,
    /// The base the JWKS lives under (see [`codex_agent_identity::jwks_url`]).
    pub jwks_base_url: String,
}

impl AgentIdentityEndpoints {
    /// Picks each base: the explicit value, else its env var, else the default
    /// (`<issuer>/api/accounts`; the JWKS base derived from the ChatGPT base URL).
    pub fn resolve(
        explicit_authapi: Option<&str>,
        explicit_jwks: Option<&str>,
        issuer: &str,
        chatgpt_base_url: &str,
        env: EnvLookup<'_>,
    ) -> Self {
        let pick = |explicit: Option<&str>, var: &str| {
            explicit
                .map(str::to_owned)
                .or_else(|| env(var))
                .map(|value| value.trim().trim_end_matches('/').to_owned())
                .filter(|value| !value.is_empty())
        };
        Self {
            authapi_base_url: pick(explicit_authapi, AUTHAPI_BASE_URL_ENV_VAR)
                .unwrap_or_else(|| authapi_base_url_for_issuer(issuer)),
            jwks_base_url: pick(explicit_jwks, JWKS_BASE_URL_ENV_VAR)
                .unwrap_or_else(|| jwks_base_url_for_chatgpt(chatgpt_base_url)),
        }
    }
}

/// The AuthAPI base of an issuer: `<issuer>/api/accounts`.
pub fn authapi_base_url_for_issuer(issuer: &str) -> String {
    format!("{}/api/accounts", issuer.trim().trim_end_matches('/'))
}

/// The JWKS base for a ChatGPT base URL, normalised as the official CLI does:
/// trailing `/` removed, a trailing `/codex` removed (but never `/api/codex`),
/// and `/backend-api` added to a bare `https://chatgpt.com` or
/// `https://chat.openai.com`. The JWKS itself is then at
/// `<base>/wham/agent-identities/jwks` for a `/backend-api` base.
pub fn jwks_base_url_for_chatgpt(chatgpt_base_url: &str) -> String {
    let mut base = chatgpt_base_url.trim().trim_end_matches('/').to_owned();
    if base.ends_with("/codex") && !base.ends_with("/api/codex") {
        base.truncate(base.len() - "/codex".len());
        base = base.trim_end_matches('/').to_owned();
    }
    let on_chatgpt = CHATGPT_ORIGINS
        .iter()
        .any(|origin| base == *origin || base.starts_with(&format!("{origin}/")));
    if on_chatgpt && !base.contains("/backend-api") && !base.contains("/api/codex") {
        base.push_str("/backend-api");
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_agent_identity::jwks_url;

    #[test]
    fn jwks_base_follows_the_chatgpt_base_url() {
        for (chatgpt, jwks) in [
            (
                "https://chatgpt.com/backend-api/",
                "https://chatgpt.com/backend-api/wham/agent-identities/jwks",
            ),
            (
                "https://chatgpt.com",
                "https://chatgpt.com/backend-api/wham/agent-identities/jwks",
            ),
            (
                "https://chatgpt.com/codex",
                "https://chatgpt.com/backend-api/wham/agent-identities/jwks",
            ),
            (
                "https://chat.openai.com/",
                "https://chat.openai.com/backend-api/wham/agent-identities/jwks",
            ),
            (
                "http://localhost:8080/api/codex",
                "http://localhost:8080/api/codex/agent-identities/jwks",
            ),
            (
                "http://127.0.0.1:9/backend-api",
                "http://127.0.0.1:9/backend-api/wham/agent-identities/jwks",
            ),
        ] {
            assert_eq!(
                jwks_url(&jwks_base_url_for_chatgpt(chatgpt)),
                jwks,
                "{chatgpt}"
            );
        }
    }

    #[test]
    fn explicit_then_env_then_default() {
        let env = |name: &str| match name {
            AUTHAPI_BASE_URL_ENV_VAR => Some("http://127.0.0.1:1/api/accounts/".to_owned()),
            _ => None,
        };
        let resolved = AgentIdentityEndpoints::resolve(
            None,
            None,
            "https://auth.openai.com",
            "https://chatgpt.com/backend-api/",
            &env,
        );
        assert_eq!(resolved.authapi_base_url, "http://127.0.0.1:1/api/accounts");
        assert_eq!(resolved.jwks_base_url, "https://chatgpt.com/backend-api");

        let resolved = AgentIdentityEndpoints::resolve(
            Some("https://a.example/api/accounts"),
            Some("https://j.example/"),
            "https://auth.openai.com",
            "https://chatgpt.com/backend-api/",
            &env,
        );
        assert_eq!(resolved.authapi_base_url, "https://a.example/api/accounts");
        assert_eq!(resolved.jwks_base_url, "https://j.example");

        let none = |_: &str| None;
        let resolved = AgentIdentityEndpoints::resolve(
            None,
            None,
            "https://auth.openai.com/",
            "https://chatgpt.com",
            &none,
        );
        assert_eq!(
            resolved.authapi_base_url,
            "https://auth.openai.com/api/accounts"
        );
    }
}
