//! URLs of the agent identity endpoints, and the rule that credentials and
//! trust anchors travel only over HTTPS or to a loopback address.

use crate::ids::AgentRuntimeId;
use std::net::IpAddr;
use url::{Host, Url};

/// A base URL that cannot be used for agent identity calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The URL does not parse.
    #[error("{url:?} is not a valid URL")]
    Invalid {
        /// The URL as given.
        url: String,
    },
    /// The URL is neither HTTPS nor plain HTTP to a loopback address.
    #[error("{url:?} is not HTTPS (plain HTTP is allowed only to a loopback address)")]
    Insecure {
        /// The URL as given.
        url: String,
    },
}

/// `base` without surrounding whitespace or trailing slashes.
pub(crate) fn trim_base(base: &str) -> &str {
    base.trim().trim_end_matches('/')
}

/// `POST {authapi_base}/v1/agent/register`.
pub(crate) fn agent_register_url(authapi_base_url: &str) -> String {
    format!("{}/v1/agent/register", trim_base(authapi_base_url))
}

/// `POST {authapi_base}/v1/agent/{runtime}/task/register`.
pub(crate) fn task_register_url(authapi_base_url: &str, runtime: &AgentRuntimeId) -> String {
    format!(
        "{}/v1/agent/{}/task/register",
        trim_base(authapi_base_url),
        runtime.as_str()
    )
}

/// The JWKS URL for a base, derived as the official CLI does: `{base}/agent-identities/jwks`,
/// except that a base containing `/backend-api` gets `/wham` first (unless it already ends in
/// `/wham`), so `https://chatgpt.com/backend-api` gives `…/backend-api/wham/agent-identities/jwks`.
pub fn jwks_url(jwks_base_url: &str) -> String {
    let base = trim_base(jwks_base_url);
    if base.contains("/backend-api") && !base.ends_with("/wham") {
        format!("{base}/wham/agent-identities/jwks")
    } else {
        format!("{base}/agent-identities/jwks")
    }
}

/// Checks that `url` is HTTPS, or HTTP to `localhost` or a loopback IP.
pub(crate) fn check_secure_url(url: &str) -> Result<Url, EndpointError> {
    let parsed = Url::parse(url).map_err(|_| EndpointError::Invalid {
        url: url.to_owned(),
    })?;
    let loopback = match parsed.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(EndpointError::Insecure {
            url: url.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_trim_trailing_slashes() {
        let runtime = AgentRuntimeId::new("ar_1").unwrap();
        assert_eq!(
            agent_register_url("https://auth.openai.com/api/accounts/"),
            "https://auth.openai.com/api/accounts/v1/agent/register"
        );
        assert_eq!(
            task_register_url("http://127.0.0.1:9/api/accounts", &runtime),
            "http://127.0.0.1:9/api/accounts/v1/agent/ar_1/task/register"
        );
        assert_eq!(
            jwks_url("https://chatgpt.com/backend-api/wham//"),
            "https://chatgpt.com/backend-api/wham/agent-identities/jwks"
        );
        assert_eq!(
            jwks_url("https://chatgpt.com/backend-api/"),
            "https://chatgpt.com/backend-api/wham/agent-identities/jwks"
        );
        assert_eq!(
            jwks_url("http://localhost:8080/api/codex"),
            "http://localhost:8080/api/codex/agent-identities/jwks"
        );
        assert_eq!(
            jwks_url("https://jwks.example"),
            "https://jwks.example/agent-identities/jwks"
        );
    }

    #[test]
    fn only_https_or_loopback_http() {
        assert!(check_secure_url("https://auth.openai.com/x").is_ok());
        assert!(check_secure_url("http://127.0.0.1:8080").is_ok());
        assert!(check_secure_url("http://[::1]:8080").is_ok());
        assert!(check_secure_url("http://localhost:1").is_ok());
        assert!(matches!(
            check_secure_url("http://example.com"),
            Err(EndpointError::Insecure { .. })
        ));
        assert!(matches!(
            check_secure_url("ftp://127.0.0.1"),
            Err(EndpointError::Insecure { .. })
        ));
        assert!(matches!(
            check_secure_url("not a url"),
            Err(EndpointError::Invalid { .. })
        ));
    }
}
