//! Reading what a user pastes instead of letting the browser reach the callback: the redirect
//! URL (or its query), or the bare authorization code.

use url::Url;

/// What a pasted line turned out to be. `Debug` never shows a code.
#[derive(Clone, PartialEq, Eq)]
pub enum PastedInput {
    /// Nothing but whitespace.
    Empty,
    /// A redirect URL or query string, with its callback parameters.
    Callback(CallbackParams),
    /// A lone authorization code.
    BareCode(String),
    /// Text that is neither.
    Unrecognized,
}

impl std::fmt::Debug for PastedInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Callback(params) => f.debug_tuple("Callback").field(params).finish(),
            Self::BareCode(_) => f.write_str("BareCode([REDACTED])"),
            Self::Unrecognized => f.write_str("Unrecognized"),
        }
    }
}

/// The parameters the issuer puts on the redirect to `/auth/callback`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CallbackParams {
    /// `code`: the authorization code (secret).
    pub code: Option<String>,
    /// `state`: must equal the state this login issued.
    pub state: Option<String>,
    /// `error`: an OAuth error code such as `access_denied`.
    pub error: Option<String>,
    /// `error_description`: the issuer's explanation.
    pub error_description: Option<String>,
}

impl std::fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "[REDACTED]"))
            .field("state", &self.state.as_ref().map(|_| "[REDACTED]"))
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .finish()
    }
}

impl CallbackParams {
    /// Reads the parameters from a raw (still percent-encoded) query string.
    pub fn from_query(query: &str) -> Self {
        let mut params = Self::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }
}

/// Classifies one pasted line.
pub fn parse_pasted_input(line: &str) -> PastedInput {
    let text = line.trim();
    if text.is_empty() {
        return PastedInput::Empty;
    }
    if text.contains("://") {
        return match Url::parse(text) {
            Ok(url) => {
                let params = CallbackParams::from_query(url.query().unwrap_or_default());
                if params.code.is_none() && params.error.is_none() {
                    PastedInput::Unrecognized
                } else {
                    PastedInput::Callback(params)
                }
            }
            Err(_) => PastedInput::Unrecognized,
        };
    }
    if text.contains('=') {
        let query = text.split_once('?').map_or(text, |(_, query)| query);
        let params = CallbackParams::from_query(query);
        return if params.code.is_none() && params.error.is_none() {
            PastedInput::Unrecognized
        } else {
            PastedInput::Callback(params)
        };
    }
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/'))
    {
        return PastedInput::BareCode(text.to_owned());
    }
    PastedInput::Unrecognized
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_redirect_url() {
        let parsed = parse_pasted_input(
            "  http://localhost:1455/auth/callback?code=ab%2Bc&state=s1&scope=x\n",
        );
        let PastedInput::Callback(params) = parsed else {
            panic!("expected a callback, got {parsed:?}");
        };
        assert_eq!(params.code.as_deref(), Some("ab+c"));
        assert_eq!(params.state.as_deref(), Some("s1"));
    }

    #[test]
    fn query_only_and_bare_code() {
        assert!(matches!(
            parse_pasted_input("/auth/callback?code=c&state=s"),
            PastedInput::Callback(CallbackParams { code: Some(_), .. })
        ));
        assert_eq!(
            parse_pasted_input("ac_123-XYZ"),
            PastedInput::BareCode("ac_123-XYZ".to_owned())
        );
        assert_eq!(parse_pasted_input("   "), PastedInput::Empty);
        assert_eq!(parse_pasted_input("hello world"), PastedInput::Unrecognized);
        assert_eq!(
            parse_pasted_input("https://example.com/nothing"),
            PastedInput::Unrecognized
        );
    }

    #[test]
    fn debug_hides_code_and_state() {
        let params = CallbackParams::from_query("code=topsecret&state=alsosecret");
        let shown = format!("{params:?}");
        assert!(!shown.contains("topsecret") && !shown.contains("alsosecret"));
    }
}
