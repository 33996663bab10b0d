//! Unsigned JWTs for tests that only need claims.

use base64::Engine;

/// An unsigned JWT (`alg: none`) with the given payload.
pub fn fake_jwt(payload: &serde_json::Value) -> String {
    let enc = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.{}",
        enc(br#"{"alg":"none","typ":"JWT"}"#),
        enc(payload.to_string().as_bytes()),
        enc(b"signature")
    )
}
