//! Bearer-token authentication (API keys and ChatGPT access tokens).

use crate::headers::{AUTHORIZATION, BEARER_SCHEME, CHATGPT_ACCOUNT_ID, X_OPENAI_FEDRAMP};
use crate::provider::{AuthProvider, sensitive_header_value, visible_header_value};
use crate::secret::SecretString;
use http::{HeaderMap, HeaderValue};
use std::fmt;

/// Writes `Authorization: Bearer <token>`, and for ChatGPT logins
/// `ChatGPT-Account-ID` and (FedRAMP accounts only) `X-OpenAI-Fedramp: true`.
///
/// Header values are built once, when the provider is made, so applying them
/// is a couple of reference-count bumps.
#[derive(Clone)]
pub struct BearerAuth {
    authorization: Option<HeaderValue>,
    account_id: Option<HeaderValue>,
    account_id_text: Option<String>,
    fedramp: bool,
}

impl BearerAuth {
    /// A bearer provider for `token` with no account header.
    pub fn new(token: &SecretString) -> Self {
        let authorization = sensitive_header_value(
            "authorization",
            &format!("{BEARER_SCHEME} {}", token.expose()),
        );
        Self {
            authorization,
            account_id: None,
            account_id_text: None,
            fedramp: false,
        }
    }

    /// Adds a `ChatGPT-Account-ID` header (left out if the id is not valid header text).
    pub fn with_account_id(mut self, account_id: Option<&str>) -> Self {
        self.account_id = account_id.and_then(|id| visible_header_value("chatgpt-account-id", id));
        self.account_id_text = account_id.map(str::to_owned);
        self
    }

    /// Sends `X-OpenAI-Fedramp: true` when `fedramp` is set.
    pub fn with_fedramp(mut self, fedramp: bool) -> Self {
        self.fedramp = fedramp;
        self
    }

    /// The account id this provider sends, if any.
    pub fn account_id(&self) -> Option<&str> {
        self.account_id_text.as_deref()
    }

    /// Whether this provider marks requests as FedRAMP.
    pub fn is_fedramp(&self) -> bool {
        self.fedramp
    }

    /// Whether the bearer token could be made into a header.
    pub fn has_authorization(&self) -> bool {
        self.authorization.is_some()
    }
}

impl AuthProvider for BearerAuth {
    fn add_auth_headers(&self, headers: &mut HeaderMap) {
        if let Some(value) = &self.authorization {
            headers.insert(AUTHORIZATION, value.clone());
        }
        if let Some(value) = &self.account_id {
            headers.insert(CHATGPT_ACCOUNT_ID, value.clone());
        }
        if self.fedramp {
            headers.insert(X_OPENAI_FEDRAMP, HeaderValue::from_static("true"));
        }
    }
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("token", &crate::secret::REDACTED)
            .field("account_id", &self.account_id_text)
            .field("fedramp", &self.fedramp)
            .finish()
    }
}
