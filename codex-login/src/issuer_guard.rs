//! Tokens go back only to the issuer that minted them.
//!
//! A login records its issuer in the id token's `iss` claim; the id token is kept on every
//! rewrite (a refresh answer without one keeps the old one, and a refresh answer whose id token
//! names another issuer is never saved, see [`crate::auth_manager`]'s identity guard). Before a
//! stored token is refreshed, revoked or exchanged, the destination's origin (scheme, host,
//! port) must be the origin of that issuer; otherwise nothing is sent. After logging in at
//! issuer A, a configuration that points at issuer B (another `issuer`, a refresh or revoke
//! override) therefore cannot hand A's refresh token to B.
//!
//! Tokens without an `iss` (hand-made test tokens, very old files) name no issuer and are not
//! restricted.

use std::fmt;

use url::Url;

use crate::auth_dot_json::{AuthDotJson, StoredIdToken};
use crate::token_claims::decode_jwt_payload;

/// What a token was about to be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// A refresh-token grant.
    Refresh,
    /// A revocation (logout, or a login replacing this one).
    Revoke,
    /// The API-key token exchange of an id token.
    Exchange,
}

impl fmt::Display for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Refresh => "refreshing",
            Self::Revoke => "revoking",
            Self::Exchange => "exchanging",
        })
    }
}

/// A stored token would have gone to an issuer that did not mint it; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "The stored login was issued by {minted_by}, but {action} it would send its token to \
     {destination}, which did not issue it; nothing was sent. Run `codex login` to sign in \
     at the configured issuer, or configure {minted_by} again."
)]
pub struct ForeignIssuerError {
    /// The `iss` of the stored id token.
    pub minted_by: String,
    /// The origin the token would have been sent to.
    pub destination: String,
    /// What the token was about to be used for.
    pub action: TokenUse,
}

/// The `iss` claim of an id token, without a trailing `/`; `None` when the token is not a JWT
/// or names no issuer.
pub(crate) fn issuer_of_id_token(id_token: &str) -> Option<String> {
    let claims = decode_jwt_payload(id_token).ok()?;
    let iss = claims.get("iss")?.as_str()?.trim();
    (!iss.is_empty()).then(|| iss.trim_end_matches('/').to_owned())
}

/// The issuer that minted a stored login's tokens (its id token's `iss`).
pub(crate) fn minting_issuer(document: &AuthDotJson) -> Option<String> {
    match document.tokens.as_ref()?.id_token.as_ref()? {
        StoredIdToken::Jwt(jwt) => issuer_of_id_token(jwt.expose()),
        StoredIdToken::Legacy(_) => None,
    }
}

/// Passes when `minted_by` is unknown or has the origin of `destination`. An `iss` that is not
/// a URL cannot be compared and passes too (it names no place tokens could go back to).
pub(crate) fn ensure_minting_issuer(
    minted_by: Option<&str>,
    destination: &Url,
    action: TokenUse,
) -> Result<(), ForeignIssuerError> {
    let Some(minted_by) = minted_by else {
        return Ok(());
    };
    let Ok(issuer) = Url::parse(minted_by) else {
        tracing::debug!("the stored id token's issuer is not a URL; not compared");
        return Ok(());
    };
    if issuer.origin() == destination.origin() {
        return Ok(());
    }
    Err(ForeignIssuerError {
        minted_by: minted_by.to_owned(),
        destination: destination.origin().ascii_serialization(),
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(payload: &serde_json::Value) -> String {
        let enc = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.{}",
            enc(b"{}"),
            enc(payload.to_string().as_bytes()),
            enc(b"s")
        )
    }

    #[test]
    fn same_origin_passes_and_another_is_refused() {
        let iss = issuer_of_id_token(&jwt(&serde_json::json!({"iss": "http://127.0.0.1:1/"})));
        assert_eq!(iss.as_deref(), Some("http://127.0.0.1:1"));
        let home = Url::parse("http://127.0.0.1:1/oauth/token").unwrap();
        let away = Url::parse("http://127.0.0.1:2/oauth/revoke").unwrap();
        assert_eq!(
            ensure_minting_issuer(iss.as_deref(), &home, TokenUse::Refresh),
            Ok(())
        );
        let err = ensure_minting_issuer(iss.as_deref(), &away, TokenUse::Revoke).unwrap_err();
        assert_eq!(err.destination, "http://127.0.0.1:2");
        assert!(err.to_string().contains("issued by http://127.0.0.1:1"));
        assert_eq!(ensure_minting_issuer(None, &away, TokenUse::Revoke), Ok(()));
        assert_eq!(
            issuer_of_id_token(&jwt(&serde_json::json!({"sub": "u"}))),
            None
        );
    }
}
