//! Making URLs safe to log: secret-bearing query values, userinfo and fragments removed.

use url::Url;

/// Query keys whose values are replaced by `<redacted>` before a URL is logged.
pub(crate) const REDACTED_QUERY_KEYS: &[&str] = &[
    "access_token",
    "api_key",
    "client_secret",
    "code",
    "code_verifier",
    "id_token",
    "key",
    "refresh_token",
    "requested_token",
    "state",
    "subject_token",
    "token",
];

/// The placeholder written in place of a redacted value.
pub(crate) const REDACTED_VALUE: &str = "<redacted>";

/// Returns `url` with userinfo and fragment removed and listed query values redacted.
///
/// Text that does not parse as a URL is replaced wholesale, since it may be a pasted secret.
pub fn redact_url_for_log(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return "<unparseable url>".to_owned();
    };
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    parsed.set_fragment(None);
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if REDACTED_QUERY_KEYS.contains(&key.as_ref()) {
                    REDACTED_VALUE.to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        let mut serializer = parsed.query_pairs_mut();
        serializer.clear();
        for (key, value) in &pairs {
            serializer.append_pair(key, value);
        }
        drop(serializer);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_keys_are_redacted() {
        let out = redact_url_for_log(
            "http://localhost:1455/auth/callback?code=abc&state=xyz&scope=openid&plan_type=plus",
        );
        assert!(!out.contains("abc") && !out.contains("xyz"));
        assert!(out.contains("code=%3Credacted%3E"));
        assert!(out.contains("scope=openid"));
        assert!(out.contains("plan_type=plus"));
    }

    #[test]
    fn userinfo_and_fragment_are_stripped() {
        let out = redact_url_for_log("https://user:pw@issuer.example/oauth/token?x=1#frag-secret");
        assert_eq!(out, "https://issuer.example/oauth/token?x=1");
    }

    #[test]
    fn unparseable_text_is_not_echoed() {
        assert_eq!(redact_url_for_log("sk-secret"), "<unparseable url>");
    }
}
