//! The `AuthProvider` trait and the no-op provider.

use http::{HeaderMap, HeaderValue};
use std::fmt;
use std::sync::Arc;

/// Writes authentication headers onto an outgoing request.
///
/// Implementations are synchronous, cheap and never do I/O: refreshing tokens
/// or registering tasks happens before a request reaches the provider. A value
/// that cannot become a header is left out rather than reported.
pub trait AuthProvider: Send + Sync + fmt::Debug {
    /// Adds this provider's headers to `headers`, replacing any of the same name.
    fn add_auth_headers(&self, headers: &mut HeaderMap);

    /// Returns a fresh header map holding only this provider's headers.
    fn auth_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        self.add_auth_headers(&mut headers);
        headers
    }
}

/// A shared, type-erased provider.
pub type SharedAuthProvider = Arc<dyn AuthProvider>;

/// A provider that adds no headers (local or unauthenticated endpoints).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoAuth;

impl AuthProvider for NoAuth {
    fn add_auth_headers(&self, _headers: &mut HeaderMap) {}
}

/// Builds a header value marked sensitive, or `None` when `value` holds bytes
/// a header cannot carry (control characters, newlines, non-ASCII).
///
/// `what` names the header for the debug log; the value itself is never logged.
pub fn sensitive_header_value(what: &'static str, value: &str) -> Option<HeaderValue> {
    visible_header_value(what, value).map(|mut header| {
        header.set_sensitive(true);
        header
    })
}

/// Builds a header value from printable ASCII (`0x20..=0x7E`) only, or `None`
/// (with a debug log that names the header, never the value).
///
/// `http` itself accepts bytes above `0x7F`; credentials never contain them,
/// so such a value is treated as corrupt rather than sent.
pub fn visible_header_value(what: &'static str, value: &str) -> Option<HeaderValue> {
    let printable = value.bytes().all(|b| (0x20..=0x7e).contains(&b));
    match HeaderValue::from_str(value) {
        Ok(header) if printable => Some(header),
        _ => {
            tracing::debug!(
                header = what,
                "left out an auth header: its value is not valid header text"
            );
            None
        }
    }
}
