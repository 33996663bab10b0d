//! API-key login (`codex login --with-api-key`) and access-token login (`--with-access-token`).

use codex_auth_provider::SecretString;
use tracing::info;

use super::persist::{CredentialTarget, PersistError, save_document};
use crate::auth_dot_json::AuthDotJson;

/// Why an API key could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyLoginError {
    /// Nothing but whitespace was given.
    #[error("the API key is empty")]
    Empty,
    /// The key holds a character that cannot be sent in an HTTP header.
    #[error(
        "the API key contains {found} at position {position}; an API key is printable ASCII without spaces"
    )]
    InvalidCharacter {
        /// What was found (never the key itself).
        found: &'static str,
        /// 1-based character position.
        position: usize,
    },
    /// The key could not be saved.
    #[error("could not save the API key: {0}")]
    Persist(#[from] PersistError),
}

/// Why an access token (agent identity JWT) login failed.
#[derive(Debug, thiserror::Error)]
pub enum AccessTokenLoginError {
    /// Nothing but whitespace was given.
    #[error("the access token is empty")]
    Empty,
    /// Verifying agent identity JWTs is not wired into this build yet.
    #[error(
        "access-token (agent identity) login is not supported yet: the JWT cannot be verified by this build; use `codex login` or `--with-api-key`"
    )]
    NotYetSupported,
}

/// Trims and checks an API key: non-empty, printable ASCII, no whitespace inside.
pub fn validate_api_key(raw: &SecretString) -> Result<SecretString, ApiKeyLoginError> {
    let key = raw.expose().trim();
    if key.is_empty() {
        return Err(ApiKeyLoginError::Empty);
    }
    for (index, ch) in key.chars().enumerate() {
        let found = if ch.is_whitespace() {
            "whitespace"
        } else if ch.is_control() {
            "a control character"
        } else if !ch.is_ascii() {
            "a non-ASCII character"
        } else {
            continue;
        };
        return Err(ApiKeyLoginError::InvalidCharacter {
            found,
            position: index + 1,
        });
    }
    Ok(SecretString::new(key))
}

/// Saves `{"auth_mode": "apikey", "OPENAI_API_KEY": key}`, replacing any previous login.
pub async fn login_with_api_key(
    target: &CredentialTarget,
    api_key: &SecretString,
) -> Result<(), ApiKeyLoginError> {
    let key = validate_api_key(api_key)?;
    save_document(target, AuthDotJson::api_key(key)).await?;
    info!(store = %target.store_mode, "API key login saved");
    Ok(())
}

/// Access-token login with an agent identity JWT; returns
/// [`AccessTokenLoginError::NotYetSupported`] until JWT verification (`codex-agent-identity`)
/// is integrated. Nothing is written.
pub async fn login_with_access_token(
    _target: &CredentialTarget,
    access_token: &SecretString,
) -> Result<(), AccessTokenLoginError> {
    if access_token.expose().trim().is_empty() {
        return Err(AccessTokenLoginError::Empty);
    }
    Err(AccessTokenLoginError::NotYetSupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_rejects_bad_keys_without_echoing_them() {
        assert_eq!(
            validate_api_key(&SecretString::new("  sk-abc\n"))
                .unwrap()
                .expose(),
            "sk-abc"
        );
        assert!(matches!(
            validate_api_key(&SecretString::new(" \n")),
            Err(ApiKeyLoginError::Empty)
        ));
        let err = validate_api_key(&SecretString::new("sk-secret part")).unwrap_err();
        assert!(matches!(
            err,
            ApiKeyLoginError::InvalidCharacter {
                found: "whitespace",
                position: 10
            }
        ));
        assert!(!err.to_string().contains("secret"));
        assert!(matches!(
            validate_api_key(&SecretString::new("sk-é")),
            Err(ApiKeyLoginError::InvalidCharacter { .. })
        ));
    }
}
