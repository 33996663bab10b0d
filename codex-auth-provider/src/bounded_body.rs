//! Reading an HTTP response body with a size cap, so a hostile or broken
//! server cannot make a client buffer gigabytes (or wait on an endless body).
//!
//! Every response body the auth stack reads (token answers, error bodies,
//! JWKS, registration answers, backend bodies) goes through [`read_capped`].

use std::fmt;

/// The cap for auth answers (token, device code, revoke, JWKS, registration,
/// and their error bodies): far above any real answer.
pub const MAX_AUTH_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a capped body could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyReadError {
    /// The body (declared or received) is larger than the cap.
    #[error("the response body is larger than {}; it was not read", ByteSize(*limit))]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The body could not be received.
    #[error("the response body could not be read: {0}")]
    Transport(#[source] reqwest::Error),
}

impl BodyReadError {
    /// Whether the server answered a body that was too large (as opposed to a transport error).
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::TooLarge { .. })
    }
}

/// Reads the whole body of `response`, refusing more than `limit` bytes:
/// a `Content-Length` above the cap fails before anything is read, and an
/// undeclared (chunked) body fails as soon as it passes the cap.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyReadError> {
    if response
        .content_length()
        .is_some_and(|declared| declared > limit as u64)
    {
        return Err(BodyReadError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyReadError::Transport)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyReadError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// [`read_capped`], decoded as text (invalid UTF-8 replaced, as `Response::text` does).
pub async fn read_capped_text(
    response: reqwest::Response,
    limit: usize,
) -> Result<String, BodyReadError> {
    let bytes = read_capped(response, limit).await?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

/// `1 MiB`, `64 KiB` or `N bytes`.
#[derive(Debug, Clone, Copy)]
pub struct ByteSize(pub usize);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KIB: usize = 1024;
        const MIB: usize = 1024 * 1024;
        match self.0 {
            n if n >= MIB && n.is_multiple_of(MIB) => write!(f, "{} MiB", n / MIB),
            n if n >= KIB && n.is_multiple_of(KIB) => write!(f, "{} KiB", n / KIB),
            n => write!(f, "{n} bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(ByteSize(1024 * 1024).to_string(), "1 MiB");
        assert_eq!(ByteSize(64 * 1024).to_string(), "64 KiB");
        assert_eq!(ByteSize(1000).to_string(), "1000 bytes");
    }
}
