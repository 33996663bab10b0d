//! The client's error type.
//!
//! Errors name the method, URL, status, content type, the server's error code
//! and request id, and at most [`ERROR_BODY_LIMIT`](crate::ERROR_BODY_LIMIT)
//! bytes of the body with any credential the request carried blanked out.
//! They never hold a request header value.

use codex_auth_provider::{AuthErrorKind, AuthSourceError};
use http::{Method, StatusCode};
use std::fmt;
use std::time::Duration;

/// Everything that can go wrong building the client or calling the backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The base URL is not an absolute `http`/`https` URL the client can use.
    #[error("invalid backend base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as given (left out when it carried user info).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Credentials would travel over plain HTTP to a non-loopback host.
    #[error(
        "refusing to send credentials to {url}: plain http is only allowed to a loopback address"
    )]
    InsecureBaseUrl {
        /// The normalised base URL.
        url: String,
    },
    /// A caller-supplied value (task id, header text, …) cannot be used.
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// Which argument.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The default HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
    /// The auth source could not supply credentials, so no request was sent.
    #[error("{method} {url}: no usable credentials: {source}")]
    Auth {
        /// The request method.
        method: Method,
        /// The request URL.
        url: String,
        /// What the auth source said.
        #[source]
        source: AuthSourceError,
    },
    /// The server answered with a non-success status.
    #[error("{0}")]
    Status(Box<HttpFailure>),
    /// The request could not be sent or its response not read.
    #[error("{method} {url} failed: {message}")]
    Transport {
        /// The request method.
        method: Method,
        /// The request URL.
        url: String,
        /// The underlying error, with its causes.
        message: String,
        /// Whether the configured timeout expired.
        timed_out: bool,
    },
    /// A success response whose body is not what the endpoint returns.
    #[error(
        "could not decode the response of {method} {url}: {message}; content-type={}; body={body}",
        .content_type.as_deref().unwrap_or("none")
    )]
    Decode {
        /// The request method.
        method: Method,
        /// The request URL.
        url: String,
        /// The response content type.
        content_type: Option<String>,
        /// What the decoder said.
        message: String,
        /// The start of the body (bounded, credentials blanked; empty for accounts/check).
        body: String,
    },
    /// Task creation succeeded but the response names no task id.
    #[error(
        "POST {url} succeeded but no task id was found; content-type={}; body={body}",
        .content_type.as_deref().unwrap_or("none")
    )]
    MissingTaskId {
        /// The request URL.
        url: String,
        /// The response content type.
        content_type: Option<String>,
        /// The start of the body (bounded, credentials blanked).
        body: String,
    },
}

impl BackendError {
    /// The kind of the credential failure, when no request was sent because
    /// the auth source could not supply credentials ([`BackendError::Auth`]);
    /// its source error is kept as this error's `source()`.
    pub fn auth_kind(&self) -> Option<AuthErrorKind> {
        match self {
            Self::Auth { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    /// The HTTP failure, when the server answered with an error status.
    pub fn http_failure(&self) -> Option<&HttpFailure> {
        match self {
            Self::Status(failure) => Some(failure),
            _ => None,
        }
    }

    /// The response status, when the server answered with an error status.
    pub fn status(&self) -> Option<StatusCode> {
        self.http_failure().map(|failure| failure.status)
    }

    /// Whether the server answered `401 Unauthorized`.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// The server's error code, when it sent one.
    pub fn error_code(&self) -> Option<&str> {
        self.http_failure()
            .and_then(|failure| failure.error_code.as_deref())
    }

    /// The server's request id, when it sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.http_failure()
            .and_then(|failure| failure.request_id.as_deref())
    }
}

/// A non-success response, described without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFailure {
    /// The request method.
    pub method: Method,
    /// The request URL.
    pub url: String,
    /// The response status.
    pub status: StatusCode,
    /// The response `Content-Type`.
    pub content_type: Option<String>,
    /// The server's error code (`error.code`, `error`, `detail.code` or `code`).
    pub error_code: Option<String>,
    /// The server's error message, when the body carried one.
    pub error_message: Option<String>,
    /// The request id from `x-request-id` (else `x-oai-request-id`, else `cf-ray`).
    pub request_id: Option<String>,
    /// The server's `Retry-After`, when sent.
    pub retry_after: Option<Duration>,
    /// The start of the body, bounded, with credentials blanked out.
    pub body: String,
    /// Whether `body` was cut short.
    pub body_truncated: bool,
    /// How many times the request was sent.
    pub attempts: u32,
    /// What happened about the credentials after a `401`.
    pub auth_recovery: AuthRecovery,
}

/// What the client did about a `401`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRecovery {
    /// No recovery was tried (not a `401`, not a credential error, or no refresh-aware source).
    NotAttempted,
    /// The auth source was asked and declined; the message says why.
    GaveUp(String),
    /// The auth source recovered and the request was retried once, still failing.
    Retried,
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} failed: {}", self.method, self.url, self.status)?;
        if let Some(code) = &self.error_code {
            write!(f, "; code={code}")?;
        }
        if let Some(request_id) = &self.request_id {
            write!(f, "; request-id={request_id}")?;
        }
        write!(
            f,
            "; content-type={}",
            self.content_type.as_deref().unwrap_or("none")
        )?;
        match &self.auth_recovery {
            AuthRecovery::NotAttempted => {}
            AuthRecovery::GaveUp(why) => write!(f, "; credentials not refreshed: {why}")?,
            AuthRecovery::Retried => write!(f, "; still failing after refreshing credentials")?,
        }
        if self.attempts > 1 {
            write!(f, "; attempts={}", self.attempts)?;
        }
        write!(f, "; body={}", self.body)?;
        if self.body_truncated {
            f.write_str(" [truncated]")?;
        }
        Ok(())
    }
}
