//! Keeping the secrets a request *sent* out of whatever comes back.
//!
//! Some servers, proxies and gateways answer an error with a copy of the request: the form
//! with the authorization code and PKCE verifier, the id token sent as `subject_token`, the
//! refresh token. Whatever such an answer says ends up in an error message, a log line
//! (`$CODEX_HOME/log/codex-login.log`) or the page shown in the browser, so every request to the
//! issuer carries a [`SentSecrets`] set naming what it sent, and every error body goes through
//! [`read_error_body`] (bounded, scrubbed) and every text built from it through
//! [`SentSecrets::shown`] (scrubbed again after JSON unescaping, shortened).
//!
//! A secret is replaced in the forms a server is likely to echo it in: exactly, form-encoded
//! (`+` for a space), percent-encoded (upper- and lower-case hex) and JSON-escaped.

use std::fmt;

use codex_auth_provider::{REDACTED, SecretString};
use url::form_urlencoded;

/// At most this many bytes of an error body are read; the rest is dropped unread.
pub(crate) const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// At most this many characters of a server's error text are shown.
pub(crate) const MAX_SHOWN_ERROR_CHARS: usize = 300;
/// Values shorter than this are not treated as secrets (replacing them would garble text).
pub(crate) const MIN_SCRUBBED_SECRET_LEN: usize = 8;

/// The secrets one request sent; the request's error answers are scrubbed of them.
#[derive(Clone, Default)]
pub(crate) struct SentSecrets {
    /// Every form of every secret, longest first.
    forms: Vec<String>,
}

impl fmt::Debug for SentSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentSecrets")
            .field("forms", &self.forms.len())
            .finish()
    }
}

impl SentSecrets {
    /// An empty set.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The set with `secret` added (builder style).
    #[must_use]
    pub(crate) fn with(mut self, secret: &SecretString) -> Self {
        self.add(secret);
        self
    }

    /// Adds `secret` and its encoded forms. Values shorter than
    /// [`MIN_SCRUBBED_SECRET_LEN`] are ignored.
    pub(crate) fn add(&mut self, secret: &SecretString) {
        let raw = secret.expose();
        if raw.len() < MIN_SCRUBBED_SECRET_LEN {
            return;
        }
        let form: String = form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        let json = serde_json::to_string(raw)
            .ok()
            .and_then(|quoted| {
                quoted
                    .strip_prefix('"')
                    .and_then(|q| q.strip_suffix('"'))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| raw.to_owned());
        let candidates = [
            raw.to_owned(),
            lower_hex(&form),
            lower_hex(&percent),
            json.replace('/', "\\/"),
            form,
            percent,
            json,
        ];
        for candidate in candidates {
            if !self.forms.contains(&candidate) {
                self.forms.push(candidate);
            }
        }
        self.forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    }

    /// Whether nothing is scrubbed.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every form of every secret replaced by `[REDACTED]`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for form in &self.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), REDACTED);
            }
        }
        out
    }

    /// A server's text as it may be shown or logged: scrubbed and cut to
    /// [`MAX_SHOWN_ERROR_CHARS`] characters.
    pub(crate) fn shown(&self, text: &str) -> String {
        shorten(&self.scrub(text), MAX_SHOWN_ERROR_CHARS)
    }

    fn longest_form(&self) -> usize {
        self.forms.first().map_or(0, String::len)
    }
}

/// `text` cut to `max_chars` characters, with `…` when something was cut.
pub(crate) fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `%2F` → `%2f`: the same percent-encoding with lower-case hex digits.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for ch in encoded.chars() {
        if hex_left > 0 {
            out.push(ch.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            if ch == '%' {
                hex_left = 2;
            }
            out.push(ch);
        }
    }
    out
}

/// Reads at most [`MAX_ERROR_BODY_BYTES`] of an error answer and scrubs `secrets` from it. A
/// body cut at the limit also loses its last bytes (as many as the longest secret form), so no
/// partial secret survives at the cut. A read error ends the body where it stopped.
pub(crate) async fn read_error_body(
    mut response: reqwest::Response,
    secrets: &SentSecrets,
) -> String {
    let mut bytes: Vec<u8> = Vec::new();
    let mut truncated = false;
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY_BYTES - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    if truncated {
        let keep = bytes.len().saturating_sub(secrets.longest_form());
        bytes.truncate(keep);
    }
    let text = String::from_utf8_lossy(&bytes);
    secrets.scrub(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_is_scrubbed() {
        let secret = SecretString::from("code/with+special=chars&x y");
        let secrets = SentSecrets::new().with(&secret);
        let form: String = form_urlencoded::byte_serialize(secret.expose().as_bytes()).collect();
        let echoed = format!(
            "raw={} form={form} pct={} lower={} json={}",
            secret.expose(),
            form.replace('+', "%20"),
            lower_hex(&form),
            serde_json::to_string(secret.expose()).unwrap()
        );
        let scrubbed = secrets.scrub(&echoed);
        assert!(!scrubbed.contains("special"), "{scrubbed}");
        assert_eq!(scrubbed.matches(REDACTED).count(), 5, "{scrubbed}");
    }

    #[test]
    fn short_values_are_left_alone_and_text_is_shortened() {
        let secrets = SentSecrets::new().with(&SecretString::from("abc"));
        assert!(secrets.is_empty());
        assert_eq!(secrets.scrub("abc"), "abc");
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("ééé", 2), "éé…");
    }
}
