//! [`BackendClient`], its builder, and one method per endpoint.

pub(crate) mod dispatch;

use crate::accounts::AccountsCheck;
use crate::base_url::{PathStyle, normalize_base_url};
use crate::error::BackendError;
use crate::profile::Profile;
use crate::retry::RetryPolicy;
use crate::routes::BackendRoutes;
use crate::task_details::TaskDetails;
use crate::tasks::{SiblingTurns, TaskListPage, TaskListQuery, created_task_id};
use crate::usage::UsagePayload;
use crate::usage::rate_limits::RateLimitSnapshot;
use codex_auth_provider::{NoAuth, SharedAuthProvider, SharedAuthSource, visible_header_value};
use http::{HeaderValue, Method};
use serde::de::DeserializeOwned;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The user agent sent when the caller configures neither one nor an HTTP client.
pub(crate) const DEFAULT_USER_AGENT: &str = "codex-cli";

/// Where the client gets its auth headers.
#[derive(Debug, Clone)]
pub(crate) enum ClientAuth {
    /// A fixed provider: a `401` is returned to the caller as is.
    Provider(SharedAuthProvider),
    /// A refresh-aware source: asked for the provider before each request and
    /// asked to recover once after a credential `401`.
    Source(SharedAuthSource),
}

/// A client for the ChatGPT backend's Codex endpoints.
///
/// Cheap to clone; clones share the HTTP connection pool and the auth.
#[derive(Debug, Clone)]
pub struct BackendClient {
    pub(crate) routes: BackendRoutes,
    pub(crate) http: reqwest::Client,
    pub(crate) auth: ClientAuth,
    pub(crate) user_agent: Option<HeaderValue>,
    pub(crate) account_id_override: Option<HeaderValue>,
    pub(crate) fedramp: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry_policy: RetryPolicy,
}

/// Configures a [`BackendClient`]; see [`BackendClient::builder`].
#[derive(Debug, Clone)]
pub struct BackendClientBuilder {
    base_url: String,
    auth: Option<ClientAuth>,
    user_agent: Option<String>,
    account_id_override: Option<String>,
    fedramp: bool,
    timeout: Option<Duration>,
    http_client: Option<reqwest::Client>,
    path_style: Option<PathStyle>,
    retry_policy: RetryPolicy,
}

impl BackendClientBuilder {
    /// Uses a fixed auth provider (no refresh; a `401` is returned as is).
    pub fn auth_provider(mut self, provider: SharedAuthProvider) -> Self {
        self.auth = Some(ClientAuth::Provider(provider));
        self
    }

    /// Uses a refresh-aware auth source: it supplies the provider for every
    /// request and gets one chance to recover after a credential `401`.
    pub fn auth_source(mut self, source: SharedAuthSource) -> Self {
        self.auth = Some(ClientAuth::Source(source));
        self
    }

    /// Sends this `User-Agent` on every request (otherwise the HTTP client's own,
    /// which for the default client is `codex-cli`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Sends `ChatGPT-Account-ID: <id>` on every request, replacing the provider's value.
    pub fn account_id_override(mut self, account_id: impl Into<String>) -> Self {
        self.account_id_override = Some(account_id.into());
        self
    }

    /// Sends `X-OpenAI-Fedramp: true` on every request when `fedramp` is set.
    pub fn fedramp(mut self, fedramp: bool) -> Self {
        self.fedramp = fedramp;
        self
    }

    /// Limits each request (connect, send and read the whole response) to `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Uses this HTTP client (normally from the caller's client factory, which
    /// carries proxy, CA and default headers) instead of a plain one.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Forces a route style instead of deriving it from the base URL.
    pub fn path_style(mut self, style: PathStyle) -> Self {
        self.path_style = Some(style);
        self
    }

    /// Replaces the retry policy for `429`/`503` on `GET` requests.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// Fails on a base URL that is not absolute `http`/`https`, carries user
    /// info, a query or a fragment; on credentials configured for plain `http`
    /// to a non-loopback host; and on header text that cannot be sent.
    pub fn build(self) -> Result<BackendClient, BackendError> {
        let normalized = normalize_base_url(&self.base_url);
        let parsed = parse_base_url(&self.base_url, &normalized)?;
        if self.auth.is_some() && parsed.scheme() == "http" && !is_loopback(&parsed) {
            return Err(BackendError::InsecureBaseUrl { url: normalized });
        }
        let routes = match self.path_style {
            Some(style) => BackendRoutes::with_style(&normalized, style),
            None => BackendRoutes::new(&normalized),
        };
        let user_agent = self
            .user_agent
            .as_deref()
            .map(|ua| header_text("user agent", ua))
            .transpose()?;
        let account_id_override = self
            .account_id_override
            .as_deref()
            .map(|id| header_text("account id override", id))
            .transpose()?;
        let http = match self.http_client {
            Some(client) => client,
            None => default_http_client()?,
        };
        Ok(BackendClient {
            routes,
            http,
            auth: self
                .auth
                .unwrap_or_else(|| ClientAuth::Provider(Arc::new(NoAuth))),
            user_agent,
            account_id_override,
            fedramp: self.fedramp,
            timeout: self.timeout,
            retry_policy: self.retry_policy,
        })
    }
}

/// A plain client that never follows redirects, so credentials are never
/// forwarded to a redirect target.
fn default_http_client() -> Result<reqwest::Client, BackendError> {
    reqwest::Client::builder()
        .user_agent(DEFAULT_USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|err| BackendError::HttpClient(err.to_string()))
}

fn parse_base_url(raw: &str, normalized: &str) -> Result<url::Url, BackendError> {
    let invalid = |url: String, reason: &str| BackendError::InvalidBaseUrl {
        url,
        reason: reason.to_owned(),
    };
    let parsed =
        url::Url::parse(normalized).map_err(|err| invalid(raw.to_owned(), &err.to_string()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "<withheld>".to_owned(),
            "user info (credentials) in the URL is not allowed",
        ));
    }
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(raw.to_owned(), "the scheme must be http or https"));
    }
    if parsed.host().is_none() {
        return Err(invalid(raw.to_owned(), "the URL has no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(
            raw.to_owned(),
            "the URL must not have a query or fragment",
        ));
    }
    Ok(parsed)
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn header_text(what: &'static str, value: &str) -> Result<HeaderValue, BackendError> {
    if value.is_empty() {
        return Err(BackendError::InvalidArgument {
            what,
            reason: "it is empty".to_owned(),
        });
    }
    visible_header_value(what, value).ok_or_else(|| BackendError::InvalidArgument {
        what,
        reason: "only printable ASCII can be sent in a header".to_owned(),
    })
}

fn path_id(what: &'static str, id: &str) -> Result<(), BackendError> {
    let reason = if id.is_empty() {
        "it is empty"
    } else if id == "." || id == ".." {
        "it is a relative path segment"
    } else {
        return Ok(());
    };
    Err(BackendError::InvalidArgument {
        what,
        reason: reason.to_owned(),
    })
}

/// A task-details response with its raw body, for callers that need fields
/// the typed model does not read.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDetailsWithBody {
    /// The decoded turns.
    pub details: TaskDetails,
    /// The whole response body.
    pub body: String,
    /// The response `Content-Type`.
    pub content_type: Option<String>,
}

impl BackendClient {
    /// Starts configuring a client for `base_url` (normalised: trailing `/`
    /// stripped, `/backend-api` added to a bare ChatGPT origin).
    pub fn builder(base_url: impl Into<String>) -> BackendClientBuilder {
        BackendClientBuilder {
            base_url: base_url.into(),
            auth: None,
            user_agent: None,
            account_id_override: None,
            fedramp: false,
            timeout: None,
            http_client: None,
            path_style: None,
            retry_policy: RetryPolicy::default(),
        }
    }

    /// The routes (normalised base URL and style) this client calls.
    #[cfg(test)]
    pub(crate) fn routes(&self) -> &BackendRoutes {
        &self.routes
    }

    /// The normalised base URL.
    pub fn base_url(&self) -> &str {
        self.routes.base_url()
    }

    /// The route style in use.
    pub fn path_style(&self) -> PathStyle {
        self.routes.style()
    }

    /// `GET {P}/usage`: plan, rate limits and credits.
    pub async fn get_usage(&self) -> Result<UsagePayload, BackendError> {
        self.get_json("usage", self.routes.usage()).await
    }

    /// `GET {P}/usage`, mapped to snapshots (the `codex` limit first).
    pub async fn get_rate_limit_snapshots(&self) -> Result<Vec<RateLimitSnapshot>, BackendError> {
        Ok(self.get_usage().await?.rate_limit_snapshots())
    }

    /// `GET {P}/usage`, mapped to the main `codex` snapshot.
    pub async fn get_rate_limits(&self) -> Result<RateLimitSnapshot, BackendError> {
        Ok(self.get_usage().await?.codex_rate_limit())
    }

    /// `GET {P}/accounts/check`: the accounts this login can act in (either response shape).
    pub async fn check_accounts(&self) -> Result<AccountsCheck, BackendError> {
        let url = self.routes.accounts_check();
        let response = self
            .send("accounts_check", Method::GET, url.clone(), None)
            .await?;
        AccountsCheck::from_json(&response.body).map_err(|err| BackendError::Decode {
            method: Method::GET,
            url,
            content_type: response.content_type,
            message: format!("{err} ({})", response.secrets.scrub(&err.detail)),
            body: String::new(),
        })
    }

    /// `GET {P}/profiles/me`: the user's usage statistics.
    pub async fn get_profile(&self) -> Result<Profile, BackendError> {
        self.get_json("profile_me", self.routes.profile_me()).await
    }

    /// `GET {P}/tasks/list` with the given filters and cursor.
    pub async fn list_tasks(&self, query: &TaskListQuery) -> Result<TaskListPage, BackendError> {
        self.get_json("tasks_list", self.routes.tasks_list(query))
            .await
    }

    /// `GET {P}/tasks/{task_id}`: the task's current turns.
    pub async fn get_task_details(&self, task_id: &str) -> Result<TaskDetails, BackendError> {
        Ok(self.get_task_details_with_body(task_id).await?.details)
    }

    /// `GET {P}/tasks/{task_id}`, also returning the raw body and content type.
    pub async fn get_task_details_with_body(
        &self,
        task_id: &str,
    ) -> Result<TaskDetailsWithBody, BackendError> {
        path_id("task id", task_id)?;
        let url = self.routes.task_details(task_id);
        let response = self
            .send("task_details", Method::GET, url.clone(), None)
            .await?;
        let details = response.decode(&Method::GET, &url)?;
        Ok(TaskDetailsWithBody {
            details,
            body: String::from_utf8_lossy(&response.body).into_owned(),
            content_type: response.content_type,
        })
    }

    /// `GET {P}/tasks/{task_id}/turns/{turn_id}/sibling_turns`: the other attempts of a turn.
    pub async fn list_sibling_turns(
        &self,
        task_id: &str,
        turn_id: &str,
    ) -> Result<SiblingTurns, BackendError> {
        path_id("task id", task_id)?;
        path_id("turn id", turn_id)?;
        self.get_json("sibling_turns", self.routes.sibling_turns(task_id, turn_id))
            .await
    }

    /// `POST {P}/tasks` with `request` as the JSON body; returns the new task's
    /// id (`task.id`, else top-level `id`).
    pub async fn create_task(&self, request: &serde_json::Value) -> Result<String, BackendError> {
        let url = self.routes.create_task();
        let body = serde_json::to_vec(request).map_err(|err| BackendError::InvalidArgument {
            what: "task request",
            reason: err.to_string(),
        })?;
        let response = self
            .send("create_task", Method::POST, url.clone(), Some(body))
            .await?;
        let value: serde_json::Value = response.decode(&Method::POST, &url)?;
        created_task_id(&value).ok_or_else(|| {
            let (body, _) = response.excerpt();
            BackendError::MissingTaskId {
                url,
                content_type: response.content_type.clone(),
                body,
            }
        })
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        url: String,
    ) -> Result<T, BackendError> {
        let response = self.send(endpoint, Method::GET, url.clone(), None).await?;
        response.decode(&Method::GET, &url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_auth_provider::{BearerAuth, SecretString};

    fn bearer() -> SharedAuthProvider {
        Arc::new(BearerAuth::new(&SecretString::new("tok-123456789")))
    }

    #[test]
    fn base_urls_are_checked() {
        for bad in [
            "not a url",
            "ftp://example.test",
            "https://example.test/?q=1",
            "https://example.test/#frag",
        ] {
            let err = BackendClient::builder(bad).build().unwrap_err();
            assert!(
                matches!(err, BackendError::InvalidBaseUrl { .. }),
                "{bad}: {err}"
            );
        }
        let err = BackendClient::builder("https://user:hunter2@example.test")
            .build()
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn credentials_need_https_or_loopback() {
        let err = BackendClient::builder("http://example.test/backend-api")
            .auth_provider(bearer())
            .build()
            .unwrap_err();
        assert!(matches!(err, BackendError::InsecureBaseUrl { .. }), "{err}");
        for ok in [
            "http://127.0.0.1:9/backend-api",
            "http://localhost:9",
            "http://[::1]:9",
            "https://example.test",
        ] {
            BackendClient::builder(ok)
                .auth_provider(bearer())
                .build()
                .unwrap();
        }
        // Without credentials any http host is fine.
        BackendClient::builder("http://example.test")
            .build()
            .unwrap();
    }

    #[test]
    fn header_text_is_checked() {
        let err = BackendClient::builder("https://example.test")
            .user_agent("bad\nagent")
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                BackendError::InvalidArgument {
                    what: "user agent",
                    ..
                }
            ),
            "{err}"
        );
        let err = BackendClient::builder("https://example.test")
            .account_id_override("")
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                BackendError::InvalidArgument {
                    what: "account id override",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn style_can_be_forced() {
        let client = BackendClient::builder("https://chatgpt.com/")
            .path_style(PathStyle::CodexApi)
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "https://chatgpt.com/backend-api");
        assert_eq!(
            client.routes().usage(),
            "https://chatgpt.com/backend-api/api/codex/usage"
        );
    }

    #[test]
    fn ids_that_would_change_the_path_are_refused() {
        for id in ["", ".", ".."] {
            assert!(path_id("task id", id).is_err(), "{id:?}");
        }
        path_id("task id", "task_e_1").unwrap();
    }
}
