//! Reading an error response: the server's code and message, the request id,
//! and a bounded body excerpt with credentials blanked out.

use codex_auth_provider::SentSecrets;
use http::HeaderMap;
use serde_json::Value;

/// At most this many bytes of a response body go into an error.
pub const ERROR_BODY_LIMIT: usize = 1024;

/// How much of a body is scanned for credentials before it is cut to
/// [`ERROR_BODY_LIMIT`] (so a credential straddling the cut is still found).
const SCRUB_WINDOW: usize = 64 * 1024;

/// The start of `body` as text, credentials blanked, cut to at most
/// [`ERROR_BODY_LIMIT`] bytes on a character boundary; the flag says whether it was cut.
pub(crate) fn body_excerpt(body: &[u8], secrets: &SentSecrets) -> (String, bool) {
    let window = &body[..body.len().min(SCRUB_WINDOW)];
    let text = secrets.scrub(&String::from_utf8_lossy(window));
    let truncated = body.len() > window.len() || text.len() > ERROR_BODY_LIMIT;
    if text.len() <= ERROR_BODY_LIMIT {
        return (text, truncated);
    }
    let mut cut = ERROR_BODY_LIMIT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    (text[..cut].to_owned(), truncated)
}

/// The server's error code and message from a JSON error body.
///
/// Looks at `error` (an object with `code`/`message`, or a string code), then
/// `detail` (an object with `code`/`message`, or a string message), then
/// top-level `code`/`message`.
pub(crate) fn server_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let text = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut code = None;
    let mut message = None;
    match root.get("error") {
        Some(Value::Object(error)) => {
            code = text(error.get("code")).or_else(|| text(error.get("type")));
            message = text(error.get("message"));
        }
        Some(Value::String(error)) if !error.is_empty() => {
            code = Some(error.clone());
            message = text(root.get("error_description"));
        }
        _ => {}
    }
    match root.get("detail") {
        Some(Value::Object(detail)) => {
            code = code.or_else(|| text(detail.get("code")));
            message = message.or_else(|| text(detail.get("message")));
        }
        Some(Value::String(detail)) if !detail.is_empty() => {
            message = message.or_else(|| Some(detail.clone()));
        }
        _ => {}
    }
    code = code.or_else(|| text(root.get("code")));
    message = message.or_else(|| text(root.get("message")));
    (code, message)
}

/// The `error="…"` parameter of a `WWW-Authenticate` challenge, if any.
pub(crate) fn www_authenticate_error(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|challenge| {
            let start = challenge.find("error=")? + "error=".len();
            let rest = challenge[start..].trim_start_matches('"');
            let end = rest.find(['"', ',', ' ']).unwrap_or(rest.len());
            let code = &rest[..end];
            (!code.is_empty()).then(|| code.to_owned())
        })
}

/// The request id the server or its edge assigned.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-request-id", "x-oai-request-id", "cf-ray"]
        .into_iter()
        .find_map(|name| headers.get(name)?.to_str().ok())
        .map(str::to_owned)
}

/// Error codes that mean "the credential itself is invalid or expired", so a
/// refresh and one retry may help. Anything else (entitlement, model access,
/// rate limits) is returned to the caller at once.
const CREDENTIAL_ERROR_CODES: &[&str] = &[
    "token_expired",
    "expired_token",
    "invalid_token",
    "token_invalid",
    "token_invalidated",
    "token_revoked",
    "invalid_api_key",
    "invalid_authorization",
    "invalid_credentials",
    "authentication_expired",
    "invalid_agent_assertion",
    "agent_assertion_expired",
];

/// Whether a `401` with this server error code is worth one credential recovery.
pub(crate) fn is_credential_error_code(code: &str) -> bool {
    CREDENTIAL_ERROR_CODES
        .iter()
        .any(|known| known.eq_ignore_ascii_case(code.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str, bool)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value, sensitive) in pairs {
            let mut value = HeaderValue::from_str(value).unwrap();
            value.set_sensitive(*sensitive);
            map.insert(*name, value);
        }
        map
    }

    #[test]
    fn codes_come_from_the_usual_places() {
        let cases: [(&str, Option<&str>, Option<&str>); 7] = [
            (
                r#"{"error":{"code":"token_expired","message":"expired"}}"#,
                Some("token_expired"),
                Some("expired"),
            ),
            (r#"{"error":"invalid_token"}"#, Some("invalid_token"), None),
            (
                r#"{"detail":{"code":"forbidden_plan","message":"no"}}"#,
                Some("forbidden_plan"),
                Some("no"),
            ),
            (r#"{"detail":"Not allowed"}"#, None, Some("Not allowed")),
            (r#"{"code":"x","message":"y"}"#, Some("x"), Some("y")),
            (
                r#"{"error":{"type":"rate_limit"}}"#,
                Some("rate_limit"),
                None,
            ),
            ("<html>oops</html>", None, None),
        ];
        for (body, code, message) in cases {
            let (got_code, got_message) = server_error(body.as_bytes());
            assert_eq!(got_code.as_deref(), code, "{body}");
            assert_eq!(got_message.as_deref(), message, "{body}");
        }
    }

    #[test]
    fn credential_codes_are_recognised_case_insensitively() {
        assert!(is_credential_error_code("token_expired"));
        assert!(is_credential_error_code("Invalid_Token"));
        assert!(!is_credential_error_code("model_not_allowed"));
        assert!(!is_credential_error_code("unsupported_country"));
    }

    #[test]
    fn www_authenticate_error_parameter() {
        let map = headers(&[(
            "www-authenticate",
            r#"Bearer realm="x", error="invalid_token", error_description="expired""#,
            false,
        )]);
        assert_eq!(
            www_authenticate_error(&map).as_deref(),
            Some("invalid_token")
        );
        assert_eq!(www_authenticate_error(&HeaderMap::new()), None);
    }

    #[test]
    fn request_id_prefers_x_request_id() {
        let map = headers(&[("cf-ray", "ray-1", false), ("x-request-id", "req-1", false)]);
        assert_eq!(request_id(&map).as_deref(), Some("req-1"));
        let map = headers(&[("cf-ray", "ray-1", false)]);
        assert_eq!(request_id(&map).as_deref(), Some("ray-1"));
    }

    #[test]
    fn excerpt_is_bounded_and_scrubbed() {
        let secret = "sk-test-0123456789abcdef";
        let sent = SentSecrets::from_headers(&headers(&[(
            "authorization",
            &format!("Bearer {secret}"),
            true,
        )]));
        let body = format!("{{\"echo\":\"{secret}\"}}{}", "x".repeat(5000));
        let (excerpt, truncated) = body_excerpt(body.as_bytes(), &sent);
        assert!(truncated);
        assert!(excerpt.len() <= ERROR_BODY_LIMIT);
        assert!(!excerpt.contains(secret));
        assert!(excerpt.contains("[REDACTED]"));

        let (short, truncated) = body_excerpt(b"{\"ok\":false}", &sent);
        assert_eq!(short, "{\"ok\":false}");
        assert!(!truncated);
    }

    #[test]
    fn excerpt_cuts_on_a_char_boundary() {
        let body = "é".repeat(ERROR_BODY_LIMIT);
        let (excerpt, truncated) = body_excerpt(body.as_bytes(), &SentSecrets::default());
        assert!(truncated);
        assert!(excerpt.len() <= ERROR_BODY_LIMIT);
        assert!(excerpt.chars().all(|c| c == 'é'));
    }

    #[test]
    fn non_sensitive_headers_are_not_treated_as_secrets() {
        let sent =
            SentSecrets::from_headers(&headers(&[("chatgpt-account-id", "acct-123456789", false)]));
        assert_eq!(sent.scrub("acct-123456789"), "acct-123456789");
    }
}
