//! Random identifiers and opaque tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

/// `n` random bytes from the thread-local CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// An opaque token: `prefix` followed by 32 random bytes in base64url.
pub(crate) fn opaque_token(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// A short identifier: `prefix` followed by 12 random bytes in lowercase hex (no `:`).
pub(crate) fn short_id(prefix: &str) -> String {
    let bytes = random_bytes::<12>();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// A human-typeable device user code like `ABCD-EFGH` (no ambiguous letters or digits).
pub(crate) fn user_code() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ23456789";
    let bytes = random_bytes::<8>();
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    let first: String = chars[..4].iter().collect();
    let second: String = chars[4..].iter().collect();
    format!("{first}-{second}")
}
