//! Agent identity JWT rules: the unverified shape check, claims decoding, and
//! the errors verification reports (the secret wrapper is `token`).

use crate::claims::{AgentIdentityClaims, RawClaims};
use crate::endpoints::EndpointError;
use crate::ids::{AgentRuntimeId, IdError};
use crate::key::KeyError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

/// The `iss` every agent identity JWT must carry.
pub(crate) const AGENT_IDENTITY_ISSUER: &str = AgentIdentityClaims::ISSUER;
/// The `aud` every agent identity JWT must carry.
pub(crate) const AGENT_IDENTITY_AUDIENCE: &str = AgentIdentityClaims::AUDIENCE;
/// The only signature algorithm accepted.
pub(crate) const AGENT_IDENTITY_ALGORITHM: &str = "RS256";
/// Longest JWT accepted, in bytes.
pub(crate) const MAX_JWT_LEN: usize = 64 * 1024;

/// Why an agent identity JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three non-empty base64url segments with JSON object header and payload.
    #[error("the agent identity token is not a JWT: {0}")]
    Shape(&'static str),
    /// The header has no `kid`.
    #[error("the agent identity JWT has no key id (kid)")]
    MissingKid,
    /// No key in the JWKS has the header's `kid`.
    #[error("the agent identity JWT key id {kid:?} is not trusted")]
    UntrustedKid {
        /// The header's `kid`.
        kid: String,
    },
    /// The header's `alg` is not RS256 (this includes `none` and HS256).
    #[error("the agent identity JWT algorithm {found:?} is not allowed (only RS256)")]
    Algorithm {
        /// The header's `alg`, or empty when missing.
        found: String,
    },
    /// The signature does not verify with the trusted key.
    #[error("the agent identity JWT signature is invalid")]
    Signature,
    /// `exp` is in the past.
    #[error("the agent identity JWT has expired")]
    Expired,
    /// `nbf` is in the future (beyond the same leeway as `exp`).
    #[error("the agent identity JWT is not valid yet (its nbf is in the future)")]
    NotYetValid,
    /// `iss` is not the agent identity issuer.
    #[error("the agent identity JWT issuer is not {AGENT_IDENTITY_ISSUER}")]
    Issuer,
    /// `aud` is not `codex-app-server`.
    #[error("the agent identity JWT audience is not {AGENT_IDENTITY_AUDIENCE}")]
    Audience,
    /// A required claim is missing or has the wrong type.
    #[error("the agent identity JWT claims are invalid: {0}")]
    Claims(String),
    /// The token failed verification for another reason.
    #[error("the agent identity JWT could not be verified: {0}")]
    Invalid(String),
    /// An id in the claims is unusable.
    #[error("the agent identity JWT has a bad id: {0}")]
    Id(#[from] IdError),
    /// The `agent_private_key` claim is not an Ed25519 PKCS#8 key.
    #[error("the agent identity JWT private key is unusable: {0}")]
    PrivateKey(#[from] KeyError),
    /// The JWKS base URL is unusable.
    #[error("the agent identity JWKS URL is unusable: {0}")]
    Endpoint(#[from] EndpointError),
    /// The JWKS could not be fetched.
    #[error("could not fetch the agent identity JWKS: {0}")]
    JwksUnavailable(String),
    /// The JWKS response is not a JWK set.
    #[error("the agent identity JWKS is invalid: {0}")]
    JwksInvalid(String),
}

/// The decoded header fields verification cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtHeader {
    /// `alg`, empty when missing.
    pub alg: String,
    /// `kid`, when present and non-empty.
    pub kid: Option<String>,
}

/// Checks the shape without verifying: three non-empty base64url segments, the
/// first two JSON objects. Returns the header fields.
pub(crate) fn check_jwt_shape(jwt: &str) -> Result<JwtHeader, JwtError> {
    let (header, _) = decode_parts(jwt)?;
    Ok(header)
}

/// Decodes the claims **without verifying the signature**, for display of a stored token.
pub(crate) fn decode_agent_identity_jwt_unverified(
    jwt: &str,
) -> Result<AgentIdentityClaims, JwtError> {
    let (_, payload) = decode_parts(jwt)?;
    let raw: RawClaims = serde_json::from_value(payload).map_err(claims_error)?;
    claims_from_raw(raw)
}

fn decode_parts(jwt: &str) -> Result<(JwtHeader, serde_json::Value), JwtError> {
    let jwt = jwt.trim();
    if jwt.is_empty() {
        return Err(JwtError::Shape("it is empty"));
    }
    if jwt.len() > MAX_JWT_LEN {
        return Err(JwtError::Shape("it is too long"));
    }
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Shape(
            "it does not have exactly three dot-separated parts",
        ));
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(JwtError::Shape("one of its parts is empty"));
    }
    if URL_SAFE_NO_PAD.decode(signature).is_err() {
        return Err(JwtError::Shape("its signature is not base64url"));
    }
    let header = decode_json_object(header, "its header is not a base64url JSON object")?;
    let payload = decode_json_object(payload, "its payload is not a base64url JSON object")?;
    let alg = header
        .get("alg")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kid = header
        .get("kid")
        .and_then(serde_json::Value::as_str)
        .filter(|kid| !kid.is_empty())
        .map(str::to_owned);
    Ok((JwtHeader { alg, kid }, payload))
}

fn decode_json_object(part: &str, problem: &'static str) -> Result<serde_json::Value, JwtError> {
    let bytes = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JwtError::Shape(problem))?,
    );
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        _ => Err(JwtError::Shape(problem)),
    }
}

/// A claims error that names a missing field but never echoes a value.
pub(crate) fn claims_error(err: serde_json::Error) -> JwtError {
    let text = err.to_string();
    if let Some(rest) = text.strip_prefix("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        return JwtError::Claims(format!("missing claim {field}"));
    }
    JwtError::Claims("a claim is missing or has the wrong type".to_owned())
}

/// Checks ids and the key, and builds the claims record.
pub(crate) fn claims_from_raw(raw: RawClaims) -> Result<AgentIdentityClaims, JwtError> {
    let agent_runtime_id = AgentRuntimeId::new(raw.agent_runtime_id)?;
    crate::key::AgentKey::from_pkcs8_base64(raw.agent_private_key.expose())?;
    Ok(AgentIdentityClaims {
        agent_runtime_id,
        agent_private_key: raw.agent_private_key,
        account_id: raw.account_id,
        chatgpt_user_id: raw.chatgpt_user_id,
        email: raw.email.filter(|email| !email.is_empty()),
        plan_type: raw.plan_type,
        chatgpt_account_is_fedramp: raw.chatgpt_account_is_fedramp,
        iat: raw.iat,
        exp: raw.exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::AgentIdentityJwt;

    fn b64(json: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
    }

    #[test]
    fn shape_check_accepts_three_json_parts_and_reads_the_header() {
        let jwt = format!(
            "{}.{}.c2ln",
            b64(&serde_json::json!({"alg":"RS256","kid":"k1"})),
            b64(&serde_json::json!({"a":1}))
        );
        assert_eq!(
            check_jwt_shape(&jwt).unwrap(),
            JwtHeader {
                alg: "RS256".into(),
                kid: Some("k1".into())
            }
        );
    }

    #[test]
    fn shape_check_rejects_malformed_tokens() {
        let header = b64(&serde_json::json!({"alg":"RS256"}));
        let payload = b64(&serde_json::json!({}));
        for bad in [
            String::new(),
            "a.b".to_owned(),
            format!("{header}.{payload}.s.x"),
            format!("{header}.{payload}."),
            format!("{header}..sig"),
            format!("{header}.bm90IGpzb24.sig"),
            format!("{header}.{}.sig", b64(&serde_json::json!([1]))),
            format!("{header}.{payload}.s+g"),
        ] {
            assert!(
                matches!(check_jwt_shape(&bad), Err(JwtError::Shape(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn claims_errors_name_fields_but_not_values() {
        let err = serde_json::from_value::<RawClaims>(serde_json::json!({"agent_runtime_id": "x"}))
            .err()
            .unwrap();
        assert_eq!(
            claims_error(err),
            JwtError::Claims("missing claim agent_private_key".into())
        );
        let err = serde_json::from_value::<RawClaims>(serde_json::json!({
            "agent_runtime_id": "x", "agent_private_key": "SECRETKEY", "account_id": "a",
            "chatgpt_user_id": "u", "plan_type": "p", "exp": "SECRETKEY"
        }))
        .err()
        .unwrap();
        assert!(!claims_error(err).to_string().contains("SECRETKEY"));
    }

    #[test]
    fn jwt_debug_is_redacted() {
        let jwt = AgentIdentityJwt::new(" a.b.c \n");
        assert_eq!(jwt.expose(), "a.b.c");
        assert_eq!(format!("{jwt:?}"), "AgentIdentityJwt([REDACTED])");
    }
}
