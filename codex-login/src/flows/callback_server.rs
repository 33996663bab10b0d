//! The loopback HTTP server that receives the issuer's redirect: `/auth/callback`, `/success`,
//! `/cancel`; anything else is 404.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use codex_auth_provider::SecretString;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::authorize_url::REDIRECT_HOST;
use super::browser_error::{BrowserLoginError, oauth_error_to_login_error};
use super::cancel_secret::{CancelRefusal, check_cancel_request};
use super::code_redemption::{
    ApiKeyExchange, RedeemedLogin, RedemptionContext, redeem_authorization_code,
};
use super::login_claims::LoginClaims;
use super::pages::render_success_page;
use super::pasted_redirect::CallbackParams;

/// What the server tells the waiting login.
#[derive(Debug)]
pub(crate) enum ServerEvent {
    /// A callback finished the login, one way or the other.
    Completed(Result<RedeemedLogin, BrowserLoginError>),
    /// The browser loaded `/success` after a completed login.
    SuccessPageServed,
    /// Someone requested `/cancel`.
    Cancelled,
}

/// Who is redeeming the one authorization code this login may redeem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    Open,
    Taken,
}

/// Shared state of one login attempt, used by the HTTP handlers and the pasted-input path.
#[derive(Debug)]
pub(crate) struct LoginAttempt {
    pub expected_state: SecretString,
    /// The secret a `/cancel` request must carry (see `cancel_secret`).
    pub cancel_secret: SecretString,
    pub code_verifier: SecretString,
    pub redirect_uri: String,
    pub port: u16,
    pub redemption: RedemptionContext,
    pub platform_url: String,
    pub codex_streamlined_login: bool,
    pub claim: Mutex<Claim>,
    pub success: Mutex<Option<RedeemedLogin>>,
    pub events: mpsc::UnboundedSender<ServerEvent>,
}

impl LoginAttempt {
    /// Compares a presented state with ours in constant time.
    pub(super) fn state_matches(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|state| self.expected_state.constant_time_eq(state))
    }

    /// Takes the right to redeem a code; false when the other path already took it.
    pub(super) fn try_claim(&self) -> bool {
        match self.claim.lock() {
            Ok(mut claim) if *claim == Claim::Open => {
                *claim = Claim::Taken;
                true
            }
            _ => false,
        }
    }

    /// Gives the right to redeem back after a pasted code could not be exchanged.
    pub(super) fn release_claim(&self) {
        if let Ok(mut claim) = self.claim.lock() {
            *claim = Claim::Open;
        }
    }

    /// Exchanges and saves a code this attempt has claimed.
    pub(super) async fn redeem(
        &self,
        code: &SecretString,
    ) -> Result<RedeemedLogin, BrowserLoginError> {
        redeem_authorization_code(
            &self.redemption,
            code,
            &self.code_verifier,
            &self.redirect_uri,
            ApiKeyExchange::BestEffort,
        )
        .await
        .map_err(BrowserLoginError::from)
    }

    fn send(&self, event: ServerEvent) {
        let _ = self.events.send(event);
    }
}

/// The router for one login attempt.
pub(crate) fn callback_router(attempt: Arc<LoginAttempt>) -> Router {
    Router::new()
        .route("/auth/callback", get(handle_callback))
        .route("/success", get(handle_success))
        .route("/cancel", get(handle_cancel))
        .fallback(handle_not_found)
        .layer(middleware::from_fn_with_state(
            attempt.clone(),
            require_loopback_host,
        ))
        .with_state(attempt)
}

/// Refuses requests whose `Host` is not a loopback name for our port (DNS-rebinding guard).
async fn require_loopback_host(
    State(attempt): State<Arc<LoginAttempt>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let port = attempt.port;
    let allowed = [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    if allowed.contains(&host) {
        next.run(request).await
    } else {
        warn!(%host, "login callback server refused a request for a foreign Host");
        (StatusCode::BAD_REQUEST, "Bad Request").into_response()
    }
}

async fn handle_callback(
    State(attempt): State<Arc<LoginAttempt>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = CallbackParams::from_query(query.as_deref().unwrap_or_default());
    if !attempt.state_matches(params.state.as_deref()) {
        warn!(
            "login callback carried a state this login did not issue; ignored and still waiting \
             (another login process may be using this port)"
        );
        return (StatusCode::BAD_REQUEST, "State mismatch").into_response();
    }
    if let Some(error) = params.error.as_deref() {
        let err = oauth_error_to_login_error(error, params.error_description.as_deref());
        let page = err.error_page();
        attempt.send(ServerEvent::Completed(Err(err)));
        return terminal_html(page.render());
    }
    let Some(code) = params.code.filter(|code| !code.is_empty()) else {
        let err = BrowserLoginError::MissingAuthorizationCode;
        let page = err.error_page();
        attempt.send(ServerEvent::Completed(Err(err)));
        return terminal_html(page.render());
    };
    let code = SecretString::new(code);
    if !attempt.try_claim() {
        info!("login callback arrived after the login was already claimed by pasted input");
        return (
            StatusCode::CONFLICT,
            "This sign-in is already being completed from the terminal.",
        )
            .into_response();
    }
    match attempt.redeem(&code).await {
        Ok(login) => {
            let location = compose_success_url(
                attempt.port,
                &login.claims,
                &attempt.platform_url,
                attempt.codex_streamlined_login,
            );
            if let Ok(mut success) = attempt.success.lock() {
                *success = Some(login.clone());
            }
            attempt.send(ServerEvent::Completed(Ok(login)));
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Err(err) => {
            warn!(error = %err, "browser login failed");
            let page = err.error_page();
            attempt.send(ServerEvent::Completed(Err(err)));
            terminal_html(page.render())
        }
    }
}

async fn handle_success(State(attempt): State<Arc<LoginAttempt>>) -> Response {
    let completed = attempt
        .success
        .lock()
        .ok()
        .and_then(|success| success.clone());
    let Some(login) = completed else {
        return (StatusCode::NOT_FOUND, "No sign-in has completed yet.").into_response();
    };
    let setup_url = login
        .claims
        .needs_setup()
        .then(|| platform_setup_url(&attempt.platform_url, &login));
    let response = terminal_html(render_success_page(setup_url.as_deref()));
    attempt.send(ServerEvent::SuccessPageServed);
    response
}

async fn handle_cancel(
    State(attempt): State<Arc<LoginAttempt>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match check_cancel_request(&attempt.cancel_secret, &headers, query.as_deref()) {
        Ok(()) => {}
        Err(CancelRefusal::CrossSite) => {
            warn!("refused a cross-site /cancel request; the login goes on");
            return (StatusCode::FORBIDDEN, "Forbidden").into_response();
        }
        Err(CancelRefusal::BadToken) => {
            warn!("refused a /cancel request without this login's cancel token; the login goes on");
            return (StatusCode::FORBIDDEN, "Forbidden").into_response();
        }
    }
    info!("login cancelled through /cancel");
    attempt.send(ServerEvent::Cancelled);
    let mut response = (StatusCode::OK, "Login cancelled").into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

async fn handle_not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

/// A 200 HTML response that closes the connection, so a keep-alive socket cannot pin the port.
fn terminal_html(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The page a successful callback redirects to; it carries no token.
pub fn compose_success_url(
    port: u16,
    claims: &LoginClaims,
    platform_url: &str,
    codex_streamlined_login: bool,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair(
            "needs_setup",
            if claims.needs_setup() {
                "true"
            } else {
                "false"
            },
        )
        .append_pair(
            "org_id",
            claims.organization_id.as_deref().unwrap_or_default(),
        )
        .append_pair(
            "project_id",
            claims.project_id.as_deref().unwrap_or_default(),
        )
        .append_pair("plan_type", claims.plan_type.as_deref().unwrap_or_default())
        .append_pair("platform_url", platform_url);
    if codex_streamlined_login {
        query.append_pair("codex_streamlined_login", "true");
    }
    format!("http://{REDIRECT_HOST}:{port}/success?{}", query.finish())
}

/// The platform's organization setup page (without the id token upstream puts in this URL).
fn platform_setup_url(platform_url: &str, login: &RedeemedLogin) -> String {
    let claims = &login.claims;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("p", claims.plan_type.as_deref().unwrap_or_default())
        .append_pair(
            "with_org",
            claims.organization_id.as_deref().unwrap_or_default(),
        )
        .append_pair(
            "project_id",
            claims.project_id.as_deref().unwrap_or_default(),
        );
    format!(
        "{}/org-setup?{}",
        platform_url.trim_end_matches('/'),
        query.finish()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> RedeemedLogin {
        RedeemedLogin {
            claims: LoginClaims {
                chatgpt_account_id: Some("acct".to_owned()),
                plan_type: Some("plus".to_owned()),
                organization_id: Some("org-1".to_owned()),
                project_id: None,
                completed_platform_onboarding: false,
                is_org_owner: true,
            },
            api_key_obtained: true,
        }
    }

    #[test]
    fn success_url_without_and_with_streamlined_flag() {
        let url = compose_success_url(1455, &login().claims, "https://platform.openai.com", false);
        assert_eq!(
            url,
            "http://127.0.0.1:1455/success?needs_setup=true&org_id=org-1&project_id=&plan_type=plus\
             &platform_url=https%3A%2F%2Fplatform.openai.com"
        );
        assert!(!url.contains("codex_streamlined_login"));
        assert!(!url.contains("id_token"));
        let url = compose_success_url(1455, &login().claims, "https://platform.openai.com", true);
        assert!(url.ends_with("&codex_streamlined_login=true"));
    }

    #[test]
    fn setup_url_carries_no_token() {
        let url = platform_setup_url("https://platform.openai.com", &login());
        assert_eq!(
            url,
            "https://platform.openai.com/org-setup?p=plus&with_org=org-1&project_id="
        );
    }
}
