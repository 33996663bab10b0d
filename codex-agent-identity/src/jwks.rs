//! Verifying agent identity JWTs against the JWKS at
//! [`jwks_url`](crate::jwks_url) of the JWKS base, cached per process.

use crate::claims::{AgentIdentityClaims, RawClaims};
use crate::endpoints::{check_secure_url, jwks_url};
use crate::jwt::{
    AGENT_IDENTITY_ALGORITHM, AGENT_IDENTITY_AUDIENCE, AGENT_IDENTITY_ISSUER, JwtError,
    check_jwt_shape, claims_error, claims_from_raw,
};
use crate::registration::{describe_transport_error, truncate_body};
use codex_auth_provider::bounded_body::{BodyReadError, MAX_AUTH_RESPONSE_BYTES, read_capped_text};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Timeout of one JWKS request.
pub(crate) const JWKS_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a fetched JWKS is used before it is fetched again.
pub(crate) const JWKS_MAX_AGE: Duration = Duration::from_secs(60 * 60);
/// A JWKS at least this old is fetched again when a token names an unknown `kid`.
pub(crate) const JWKS_REFETCH_ON_UNKNOWN_KID_AFTER: Duration = Duration::from_secs(60);

#[derive(Clone)]
struct CachedJwks {
    keys: Arc<Vec<Jwk>>,
    fetched_at: Instant,
}

impl std::fmt::Debug for CachedJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self
            .keys
            .iter()
            .filter_map(|key| key.common.key_id.as_deref())
            .collect();
        f.debug_struct("CachedJwks").field("kids", &kids).finish()
    }
}

/// Trusted JWK sets by URL, so a process fetches each JWKS once (again after an
/// hour, or when a token names an unknown `kid` and the set is over a minute old).
#[derive(Debug, Default)]
pub struct JwksCache {
    entries: Mutex<HashMap<String, CachedJwks>>,
}

impl JwksCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide cache used by `AgentIdentityJwt::verify`.
    pub fn global() -> &'static JwksCache {
        static GLOBAL: OnceLock<JwksCache> = OnceLock::new();
        GLOBAL.get_or_init(JwksCache::new)
    }

    /// Forgets every cached set.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedJwks>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Verifies `jwt` (shape, `kid` trusted, RS256, signature, `iss`, `aud`,
    /// `exp`, `nbf`, ids and private key) against the JWKS under `jwks_base_url`.
    pub async fn verify(
        &self,
        client: &reqwest::Client,
        jwks_base_url: &str,
        jwt: &str,
    ) -> Result<AgentIdentityClaims, JwtError> {
        let jwt = jwt.trim();
        let header = check_jwt_shape(jwt)?;
        if header.alg != AGENT_IDENTITY_ALGORITHM {
            return Err(JwtError::Algorithm { found: header.alg });
        }
        let kid = header.kid.ok_or(JwtError::MissingKid)?;
        let url = jwks_url(jwks_base_url);
        check_secure_url(&url)?;

        let jwk = match self.cached_key(&url, &kid) {
            CacheLookup::Found(jwk) => jwk,
            CacheLookup::Missing { stale: false } => {
                return Err(JwtError::UntrustedKid { kid });
            }
            CacheLookup::Missing { stale: true } => {
                let keys = self.fetch(client, &url).await?;
                let jwk = find_trusted(&keys, &kid)
                    .ok_or_else(|| JwtError::UntrustedKid { kid: kid.clone() })?;
                Box::new(jwk)
            }
        };
        let decoding_key = DecodingKey::from_jwk(&jwk)
            .map_err(|err| JwtError::JwksInvalid(format!("key {kid:?} is unusable: {err}")))?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[AGENT_IDENTITY_ISSUER]);
        validation.set_audience(&[AGENT_IDENTITY_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        // A token that is not valid yet is refused like an expired one (same leeway).
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<serde_json::Value>(jwt, &decoding_key, &validation)
            .map_err(verification_error)?;
        let raw: RawClaims = serde_json::from_value(data.claims).map_err(claims_error)?;
        claims_from_raw(raw)
    }

    fn cached_key(&self, url: &str, kid: &str) -> CacheLookup {
        let entries = self.lock();
        let Some(cached) = entries.get(url) else {
            return CacheLookup::Missing { stale: true };
        };
        let age = cached.fetched_at.elapsed();
        if age > JWKS_MAX_AGE {
            return CacheLookup::Missing { stale: true };
        }
        match find_trusted(&cached.keys, kid) {
            Some(jwk) => CacheLookup::Found(Box::new(jwk)),
            None => CacheLookup::Missing {
                stale: age >= JWKS_REFETCH_ON_UNKNOWN_KID_AFTER,
            },
        }
    }

    async fn fetch(&self, client: &reqwest::Client, url: &str) -> Result<Arc<Vec<Jwk>>, JwtError> {
        let response = client
            .get(url)
            .timeout(JWKS_TIMEOUT)
            .send()
            .await
            .map_err(|err| JwtError::JwksUnavailable(describe_transport_error(err)))?;
        let status = response.status();
        let text = read_capped_text(response, MAX_AUTH_RESPONSE_BYTES)
            .await
            .map_err(|err| match err {
                BodyReadError::Transport(err) => {
                    JwtError::JwksUnavailable(describe_transport_error(err))
                }
                too_large => JwtError::JwksUnavailable(too_large.to_string()),
            })?;
        if !status.is_success() {
            return Err(JwtError::JwksUnavailable(format!(
                "HTTP {}: {}",
                status.as_u16(),
                truncate_body(&text)
            )));
        }
        let keys = Arc::new(parse_jwks(&text)?);
        tracing::debug!(url, keys = keys.len(), "fetched agent identity JWKS");
        self.lock().insert(
            url.to_owned(),
            CachedJwks {
                keys: Arc::clone(&keys),
                fetched_at: Instant::now(),
            },
        );
        Ok(keys)
    }
}

enum CacheLookup {
    Found(Box<Jwk>),
    Missing { stale: bool },
}

/// Reads `{"keys": [...]}`, keeping each key that parses as a JWK.
fn parse_jwks(text: &str) -> Result<Vec<Jwk>, JwtError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| JwtError::JwksInvalid("the body is not JSON".to_owned()))?;
    let keys = value
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| JwtError::JwksInvalid("there is no \"keys\" array".to_owned()))?;
    Ok(keys
        .iter()
        .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
        .collect())
}

/// The key with `kid` if it is an RSA signing key usable with RS256.
fn find_trusted(keys: &[Jwk], kid: &str) -> Option<Jwk> {
    keys.iter()
        .find(|key| key.common.key_id.as_deref() == Some(kid))
        .filter(|key| matches!(key.algorithm, AlgorithmParameters::RSA(_)))
        .filter(|key| matches!(key.common.key_algorithm, None | Some(KeyAlgorithm::RS256)))
        .filter(|key| {
            matches!(
                key.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            )
        })
        .cloned()
}

fn verification_error(err: jsonwebtoken::errors::Error) -> JwtError {
    match err.kind() {
        ErrorKind::InvalidSignature => JwtError::Signature,
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::ImmatureSignature => JwtError::NotYetValid,
        ErrorKind::InvalidIssuer => JwtError::Issuer,
        ErrorKind::InvalidAudience => JwtError::Audience,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => JwtError::Algorithm {
            found: String::new(),
        },
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "iss" => JwtError::Issuer,
            "aud" => JwtError::Audience,
            other => JwtError::Claims(format!("missing claim {other}")),
        },
        ErrorKind::InvalidClaimFormat(claim) => {
            JwtError::Claims(format!("claim {claim} has the wrong format"))
        }
        ErrorKind::Json(_) => JwtError::Claims("a claim is missing or has the wrong type".into()),
        _ => JwtError::Invalid(format!("{:?}", err.kind()).chars().take(80).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_parsing_skips_keys_it_cannot_read() {
        let keys = parse_jwks(
            r#"{"keys":[{"kty":"RSA","kid":"a","alg":"RS256","use":"sig","n":"AQAB","e":"AQAB"},
                        {"kty":"weird","kid":"b","alg":"made-up"},
                        {"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0"},
                        {"kty":"RSA","kid":5}]}"#,
        )
        .unwrap();
        assert_eq!(keys.len(), 3, "the key with a numeric kid is skipped");
        assert!(find_trusted(&keys, "a").is_some());
        assert!(
            find_trusted(&keys, "h").is_none(),
            "HMAC keys are never trusted"
        );
        assert!(find_trusted(&keys, "b").is_none());
        assert!(parse_jwks("[]").is_err());
        assert!(parse_jwks("nope").is_err());
    }
}
