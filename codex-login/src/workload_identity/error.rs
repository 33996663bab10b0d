//! What can go wrong with workload identity, in the official CLI's words where it has them.

use std::path::PathBuf;

/// A workload identity failure. The `Display` texts of the variants the official CLI also has
/// are its texts, so scripts matching them keep working.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadIdentityError {
    /// `OPENAI_IDENTITY_TOKEN_FILE` is set but `OPENAI_FEDERATION_RULE_ID` is not (or the
    /// reverse): a partial setup, never a fallback to stored credentials.
    #[error("workload identity requires {0}")]
    Requires(&'static str),
    /// A variable is empty after trimming, or not Unicode.
    #[error("workload identity variable {0} is invalid")]
    InvalidVariable(&'static str),
    /// `OPENAI_IDENTITY_TOKEN_FILE` is relative (or empty).
    #[error("OPENAI_IDENTITY_TOKEN_FILE must be an absolute path")]
    RelativeTokenFile,
    /// `chatgpt_base_url` names neither production, staging nor (in this build) loopback.
    #[error("workload identity auth supports only trusted production and staging app routing")]
    UntrustedRouting,
    /// The token URL is not https (or http to loopback), or has userinfo, query or fragment.
    #[error("the workload identity token URL must use HTTPS or loopback HTTP")]
    TokenUrl,
    /// `[workload_identity]` in config.toml is malformed.
    #[error("workload_identity.{key} {problem}")]
    Config {
        /// The key under `[workload_identity]`.
        key: String,
        /// What is wrong (`must not be empty`, `is invalid: ...`).
        problem: String,
    },
    /// The assertion file could not be read.
    #[error("could not read workload identity assertion file {}", .path.display())]
    ReadAssertion {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The assertion is empty, holds NUL or is not UTF-8.
    #[error("the workload identity assertion is invalid")]
    InvalidAssertion,
    /// The assertion is larger than 16 KiB.
    #[error("the workload identity assertion exceeds 16 KiB")]
    AssertionTooLarge,
    /// A configured subject-token source (beyond the official CLI) failed.
    #[error("the workload identity {source_name} source failed: {problem}")]
    Source {
        /// `github_actions`, `command` or `environment`.
        source_name: &'static str,
        /// What went wrong (never a token).
        problem: String,
        /// Whether retrying later may help.
        transient: bool,
    },
    /// The HTTP client could not be built.
    #[error("could not configure the workload identity HTTP client")]
    HttpClient(#[source] crate::http_client::HttpClientError),
    /// The exchange could not be sent or answered (transport failure, timeout).
    #[error("the workload identity token exchange is unavailable")]
    Unavailable(#[source] reqwest::Error),
    /// The issuer answered non-2xx. `detail` is our addition: the OAuth error and description
    /// of the answer, scrubbed of the assertion and cut short.
    #[error("the workload identity token exchange was rejected with HTTP {status}{}", detail_suffix(.detail))]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// `error: description` from the answer, scrubbed; empty when the body had none.
        detail: String,
    },
    /// The answer is malformed, too large, or its token does not match its fields.
    #[error("the workload identity token exchange returned an invalid response")]
    InvalidResponse,
    /// A later token belongs to another account, membership or user than the first one this
    /// process used (the identity is pinned for the life of the process).
    #[error(
        "the workload identity token exchange returned an invalid response: it names another \
         account or user than the one this process started with"
    )]
    IdentityChanged,
    /// The cross-process cache or its lock failed.
    #[error("the workload identity cache in {} cannot be used: {problem}", .path.display())]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl WorkloadIdentityError {
    /// Whether a later attempt may succeed without a change of setup: transport failures,
    /// HTTP 408, 429 and 5xx, and an assertion file that is missing or busy right now.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Rejected { status, .. } => matches!(status, 408 | 429 | 500..=599),
            Self::ReadAssertion { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::WouldBlock
            ),
            Self::Source { transient, .. } => *transient,
            Self::Cache { .. } => true,
            _ => false,
        }
    }
}
