//! Base URL normalisation and the two route styles of the backend.

use std::fmt;

/// Which route family a base URL uses.
///
/// The ChatGPT backend (`…/backend-api`) serves Codex routes under `/wham/…`;
/// any other base (a Codex API deployment, a local server) serves them under
/// `/api/codex/…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathStyle {
    /// Routes under `/wham/…`, used when the base URL contains `/backend-api`.
    ChatGpt,
    /// Routes under `/api/codex/…`, used for every other base URL.
    CodexApi,
}

impl PathStyle {
    /// The style implied by an already normalised base URL.
    pub fn detect(normalized_base_url: &str) -> Self {
        if normalized_base_url.contains("/backend-api") {
            Self::ChatGpt
        } else {
            Self::CodexApi
        }
    }

    /// The path prefix every route of this style starts with (`/wham` or `/api/codex`).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::ChatGpt => "/wham",
            Self::CodexApi => "/api/codex",
        }
    }
}

impl fmt::Display for PathStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ChatGpt => "chatgpt",
            Self::CodexApi => "codex-api",
        })
    }
}

/// Hosts whose HTTPS URLs mean "the ChatGPT backend", so `/backend-api` is appended.
/// Matched against the parsed host exactly: `https://chatgpt.community` is not one.
const CHATGPT_HOSTS: [&str; 2] = ["chatgpt.com", "chat.openai.com"];

/// Normalises a backend base URL the way the official client does: strip every
/// trailing `/`, then append `/backend-api` to a bare ChatGPT origin.
///
/// `https://chatgpt.com/backend-api/` becomes `https://chatgpt.com/backend-api`;
/// `https://chatgpt.com` becomes `https://chatgpt.com/backend-api`; other URLs
/// only lose their trailing slashes.
pub(crate) fn normalize_base_url(raw: &str) -> String {
    let mut base = raw.trim().trim_end_matches('/').to_owned();
    let is_chatgpt_origin = url::Url::parse(&base).is_ok_and(|url| {
        url.scheme() == "https"
            && url
                .host_str()
                .is_some_and(|host| CHATGPT_HOSTS.contains(&host))
    });
    if is_chatgpt_origin && !base.contains("/backend-api") {
        base.push_str("/backend-api");
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slashes_are_stripped() {
        assert_eq!(
            normalize_base_url("https://chatgpt.com/backend-api/"),
            "https://chatgpt.com/backend-api"
        );
        assert_eq!(
            normalize_base_url("http://127.0.0.1:8080///"),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn bare_chatgpt_origins_get_backend_api() {
        assert_eq!(
            normalize_base_url("https://chatgpt.com"),
            "https://chatgpt.com/backend-api"
        );
        assert_eq!(
            normalize_base_url("https://chat.openai.com/"),
            "https://chat.openai.com/backend-api"
        );
        assert_eq!(
            normalize_base_url("https://example.test"),
            "https://example.test"
        );
    }

    #[test]
    fn only_the_chatgpt_hosts_get_backend_api() {
        // Same prefix, different host: left alone (the bug was appending here).
        assert_eq!(
            normalize_base_url("https://chatgpt.community"),
            "https://chatgpt.community"
        );
        assert_eq!(
            normalize_base_url("https://chatgpt.com.evil.test/"),
            "https://chatgpt.com.evil.test"
        );
        assert_eq!(
            normalize_base_url("https://chat.openai.community"),
            "https://chat.openai.community"
        );
        // Paths on the real hosts still get it.
        assert_eq!(
            normalize_base_url("https://chatgpt.com/"),
            "https://chatgpt.com/backend-api"
        );
    }

    #[test]
    fn style_follows_backend_api() {
        assert_eq!(
            PathStyle::detect("https://chatgpt.com/backend-api"),
            PathStyle::ChatGpt
        );
        assert_eq!(
            PathStyle::detect("http://127.0.0.1:9/backend-api"),
            PathStyle::ChatGpt
        );
        assert_eq!(PathStyle::detect("http://127.0.0.1:9"), PathStyle::CodexApi);
    }
}
