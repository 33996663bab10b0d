//! Browser login: PKCE + state, the loopback callback server, the printed authorize URL, the
//! browser launch, and a pasted redirect URL (or code) as a fallback for SSH hosts.

mod options;
mod running_server;

use super::browser_error::{BrowserLoginError, oauth_error_to_login_error};
pub use options::{LoginServerOptions, SystemBrowser, UrlOpener};
use running_server::RunningServer;

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_auth_provider::SecretString;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, Lines};
use tokio::sync::{Notify, mpsc};
use tracing::{debug, info, warn};
use url::Url;

use super::authorize_url::{AuthorizeRequest, build_authorize_url, loopback_redirect_uri};
use super::callback_port::bind_callback_port;
use super::callback_server::{Claim, LoginAttempt, ServerEvent};
use super::cancel_secret::PublishedCancelSecret;
use super::code_redemption::{RedeemedLogin, RedemptionContext};
use super::log_redaction::redact_url_for_log;
use super::pasted_redirect::{PastedInput, parse_pasted_input};
use super::persist::CredentialTarget;
use super::pkce::{PkceCodes, generate_state};
use super::replaced_login::ReplacedLoginRevocation;
use super::token_endpoint::token_endpoint;
use crate::http_client::ensure_credential_safe_url;
use crate::refresh::DEFAULT_ISSUER;

/// How long a browser login waits for the callback unless told otherwise.
pub(crate) const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(15 * 60);

const SUCCESS_PAGE_GRACE: Duration = Duration::from_secs(3);
const SERVER_DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
const BROWSER_OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// How the login was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletedVia {
    /// The browser reached the loopback callback.
    Callback,
    /// The user pasted the redirect URL or code.
    PastedInput,
}

/// A saved browser login (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserLoginSuccess {
    /// The ChatGPT workspace (`chatgpt_account_id`) of the new tokens.
    pub account_id: Option<String>,
    /// The ChatGPT plan, e.g. `plus`.
    pub plan_type: Option<String>,
    /// Whether an API key was obtained and saved as well.
    pub api_key_obtained: bool,
    /// Which path delivered the code.
    pub completed_via: CompletedVia,
}

impl BrowserLoginSuccess {
    fn new(login: RedeemedLogin, completed_via: CompletedVia) -> Self {
        Self {
            account_id: login.claims.chatgpt_account_id,
            plan_type: login.claims.plan_type,
            api_key_obtained: login.api_key_obtained,
            completed_via,
        }
    }
}

/// Stops a running browser login from elsewhere (for example on Ctrl-C).
#[derive(Debug, Clone)]
pub struct LoginCancelHandle(Arc<Notify>);

impl LoginCancelHandle {
    /// Ends the login with [`BrowserLoginError::NotCompleted`] and releases the port.
    pub fn cancel(&self) {
        self.0.notify_one();
    }
}

type Redemption = Pin<Box<dyn Future<Output = Result<RedeemedLogin, BrowserLoginError>> + Send>>;

/// A bound callback server waiting for one login; dropping it frees the port.
pub struct LoginServer {
    auth_url: String,
    port: u16,
    open_browser: bool,
    url_opener: Arc<dyn UrlOpener>,
    timeout: Option<Duration>,
    attempt: Arc<LoginAttempt>,
    events: mpsc::UnboundedReceiver<ServerEvent>,
    cancel: Arc<Notify>,
    server: RunningServer,
    _cancel_secret: PublishedCancelSecret,
}

impl std::fmt::Debug for LoginServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The authorize URL carries the state, so it is not shown.
        f.debug_struct("LoginServer")
            .field("port", &self.port)
            .field("open_browser", &self.open_browser)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl LoginServer {
    /// Binds the callback port (see `callback_port::bind_callback_port`) and prepares the authorize URL.
    /// Opens nothing and prints nothing.
    pub async fn start(options: LoginServerOptions) -> Result<Self, BrowserLoginError> {
        let issuer = options.issuer.trim_end_matches('/').to_owned();
        let token_url = Url::parse(&token_endpoint(&issuer)).map_err(|err| {
            BrowserLoginError::InvalidIssuer {
                issuer: issuer.clone(),
                reason: err.to_string(),
            }
        })?;
        ensure_credential_safe_url(&token_url)?;
        let client = options.http.bare_client()?;

        let listeners = bind_callback_port(
            options.port,
            options.fallback_port,
            Some(&options.codex_home),
        )
        .await?;
        let port = listeners.port;
        let cancel_secret = PublishedCancelSecret::publish(&options.codex_home, port);
        let redirect_uri = loopback_redirect_uri(port);
        let pkce = PkceCodes::generate();
        let state = options.force_state.clone().unwrap_or_else(generate_state);
        let auth_url = build_authorize_url(&AuthorizeRequest {
            issuer: &issuer,
            client_id: &options.client_id,
            redirect_uri: &redirect_uri,
            pkce: &pkce,
            state: state.expose(),
            originator: options.http.originator(),
            allowed_workspace_ids: &options.forced_chatgpt_workspace_ids,
        });
        let platform_url = if issuer == DEFAULT_ISSUER {
            "https://platform.openai.com"
        } else {
            "https://platform.api.openai.org"
        };
        let (events_tx, events) = mpsc::unbounded_channel();
        let replaced_login_revocation = ReplacedLoginRevocation::for_login(
            options.revoke_replaced_login,
            &options.http,
            &options.client_id,
            options.revoke_url.as_deref(),
            &issuer,
        );
        let attempt = Arc::new(LoginAttempt {
            expected_state: state,
            cancel_secret: cancel_secret.secret().clone(),
            code_verifier: pkce.code_verifier,
            redirect_uri,
            port,
            redemption: RedemptionContext {
                target: CredentialTarget {
                    codex_home: options.codex_home,
                    store_mode: options.credential_store,
                    storage: options.storage,
                },
                issuer,
                client_id: options.client_id,
                forced_workspace_ids: options.forced_chatgpt_workspace_ids,
                client,
                replaced_login_revocation,
            },
            platform_url: platform_url.to_owned(),
            codex_streamlined_login: options.codex_streamlined_login,
            claim: Mutex::new(Claim::Open),
            success: Mutex::new(None),
            events: events_tx,
        });
        let server = RunningServer::spawn(listeners, attempt.clone());
        info!(port, "login callback server listening");
        Ok(Self {
            auth_url,
            port,
            open_browser: options.open_browser,
            url_opener: options
                .url_opener
                .unwrap_or_else(|| Arc::new(SystemBrowser)),
            timeout: options.timeout,
            attempt,
            events,
            cancel: Arc::new(Notify::new()),
            server,
            _cancel_secret: cancel_secret,
        })
    }

    /// The URL the user must open to sign in.
    pub fn auth_url(&self) -> &str {
        &self.auth_url
    }

    /// The bound callback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that ends the wait early.
    pub fn cancel_handle(&self) -> LoginCancelHandle {
        LoginCancelHandle(self.cancel.clone())
    }

    /// Tries to open the authorize URL in a browser (off the async runtime).
    pub async fn open_browser(&self) -> Result<(), String> {
        let opener = self.url_opener.clone();
        let url = self.auth_url.clone();
        debug!(url = %redact_url_for_log(&url), "opening the authorize URL in a browser");
        let launch = tokio::task::spawn_blocking(move || opener.open(&url));
        match tokio::time::timeout(BROWSER_OPEN_TIMEOUT, launch).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(format!("the browser launcher failed: {join}")),
            Err(_) => Err("the browser launcher did not return in time".to_owned()),
        }
    }

    /// Waits for the callback only.
    pub async fn wait(self) -> Result<BrowserLoginSuccess, BrowserLoginError> {
        self.wait_with_pasted_input(None::<tokio::io::Empty>, &mut std::io::sink())
            .await
    }

    /// Waits for whichever comes first: the callback, a valid pasted redirect URL or code on
    /// `input`, `/cancel`, the cancel handle, or the timeout. Messages about pasted lines go to
    /// `feedback`. The port is released before this returns.
    pub async fn wait_with_pasted_input<R, W>(
        mut self,
        input: Option<R>,
        feedback: &mut W,
    ) -> Result<BrowserLoginSuccess, BrowserLoginError>
    where
        R: AsyncBufRead + Unpin + Send,
        W: Write + Send + ?Sized,
    {
        let result = self.run_until_done(input, feedback).await;
        match &result {
            Ok(success) => info!(via = ?success.completed_via, "browser login completed"),
            Err(err) => warn!(error = %err, "browser login did not complete"),
        }
        self.server.stop().await;
        result
    }

    async fn run_until_done<R, W>(
        &mut self,
        input: Option<R>,
        feedback: &mut W,
    ) -> Result<BrowserLoginSuccess, BrowserLoginError>
    where
        R: AsyncBufRead + Unpin + Send,
        W: Write + Send + ?Sized,
    {
        let mut lines: Option<Lines<R>> = input.map(AsyncBufReadExt::lines);
        let mut redemption: Option<Redemption> = None;
        let deadline = self
            .timeout
            .map(|timeout| (tokio::time::Instant::now() + timeout, timeout));
        let cancel = self.cancel.clone();
        loop {
            tokio::select! {
                event = self.events.recv() => match event {
                    Some(ServerEvent::Completed(Ok(login))) => {
                        self.wait_for_success_page().await;
                        return Ok(BrowserLoginSuccess::new(login, CompletedVia::Callback));
                    }
                    Some(ServerEvent::Completed(Err(err))) => return Err(err),
                    Some(ServerEvent::Cancelled) => return Err(BrowserLoginError::Cancelled),
                    Some(ServerEvent::SuccessPageServed) => {}
                    None => return Err(BrowserLoginError::NotCompleted),
                },
                line = async {
                    match lines.as_mut() {
                        Some(lines) => lines.next_line().await,
                        None => std::future::pending().await,
                    }
                }, if lines.is_some() && redemption.is_none() => match line {
                    Ok(Some(line)) => {
                        if let Some(started) = self.handle_pasted_line(&line, feedback)? {
                            redemption = Some(started);
                        }
                    }
                    Ok(None) => {
                        debug!("pasted-input stream ended; waiting for the browser callback only");
                        lines = None;
                    }
                    Err(error) => {
                        warn!(%error, "could not read pasted input; waiting for the browser callback only");
                        lines = None;
                    }
                },
                result = async {
                    match redemption.as_mut() {
                        Some(redeeming) => redeeming.await,
                        None => std::future::pending().await,
                    }
                }, if redemption.is_some() => match result {
                    Ok(login) => {
                        return Ok(BrowserLoginSuccess::new(login, CompletedVia::PastedInput));
                    }
                    // A mistyped or stale pasted code must not end the login: the browser (or
                    // a corrected paste) may still deliver the right one.
                    Err(BrowserLoginError::TokenExchange(err)) => {
                        warn!(error = %err, "a pasted authorization code could not be redeemed");
                        let _ = writeln!(
                            feedback,
                            "That code could not be redeemed ({err}); still waiting."
                        );
                        let _ = feedback.flush();
                        redemption = None;
                        self.attempt.release_claim();
                    }
                    Err(err) => return Err(err),
                },
                () = async {
                    match deadline {
                        Some((at, _)) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {
                    let waited = deadline.map(|(_, timeout)| timeout).unwrap_or_default();
                    return Err(BrowserLoginError::TimedOut(waited));
                }
                () = cancel.notified() => return Err(BrowserLoginError::NotCompleted),
            }
        }
    }

    /// Lets the browser load `/success` (bounded), so the user sees the success page.
    async fn wait_for_success_page(&mut self) {
        let _ = tokio::time::timeout(SUCCESS_PAGE_GRACE, async {
            while let Some(event) = self.events.recv().await {
                if matches!(event, ServerEvent::SuccessPageServed) {
                    break;
                }
            }
        })
        .await;
    }

    /// Validates one pasted line; returns a started redemption, an error that ends the login,
    /// or nothing (feedback written, still waiting).
    fn handle_pasted_line<W: Write + Send + ?Sized>(
        &self,
        line: &str,
        feedback: &mut W,
    ) -> Result<Option<Redemption>, BrowserLoginError> {
        let code = match parse_pasted_input(line) {
            PastedInput::Empty => return Ok(None),
            PastedInput::Unrecognized => {
                let _ = writeln!(
                    feedback,
                    "That is not a redirect URL or an authorization code. Paste the full URL from the browser's address bar."
                );
                return Ok(None);
            }
            PastedInput::Callback(params) => {
                if !self.attempt.state_matches(params.state.as_deref()) {
                    warn!("pasted redirect URL carried a state this login did not issue; ignored");
                    let _ = writeln!(
                        feedback,
                        "That URL belongs to a different login attempt (state mismatch); still waiting."
                    );
                    return Ok(None);
                }
                if let Some(error) = params.error.as_deref() {
                    return Err(oauth_error_to_login_error(
                        error,
                        params.error_description.as_deref(),
                    ));
                }
                match params.code.filter(|code| !code.is_empty()) {
                    Some(code) => code,
                    None => {
                        let _ = writeln!(
                            feedback,
                            "That URL has no authorization code; still waiting."
                        );
                        return Ok(None);
                    }
                }
            }
            PastedInput::BareCode(code) => code,
        };
        if !self.attempt.try_claim() {
            let _ = writeln!(
                feedback,
                "A sign-in is already being completed; still waiting."
            );
            return Ok(None);
        }
        info!("redeeming an authorization code pasted on stdin");
        let attempt = self.attempt.clone();
        let code = SecretString::new(code);
        Ok(Some(Box::pin(async move { attempt.redeem(&code).await })))
    }
}

/// Runs a whole browser login: binds the callback server, prints the URL (always before trying
/// to open a browser), opens the browser when enabled (a failure is a warning), then waits for
/// the callback or a pasted redirect URL/code on `pasted`.
pub async fn run_browser_login<W, R>(
    options: LoginServerOptions,
    out: &mut W,
    pasted: Option<R>,
) -> Result<BrowserLoginSuccess, BrowserLoginError>
where
    W: Write + Send + ?Sized,
    R: AsyncBufRead + Unpin + Send,
{
    let server = LoginServer::start(options).await?;
    let _ = writeln!(
        out,
        "Starting local login server on http://localhost:{}.",
        server.port()
    );
    let _ = writeln!(
        out,
        "If your browser did not open, navigate to this URL to authenticate:"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", server.auth_url());
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "On a remote or headless machine? Use `codex login --device-auth` instead."
    );
    if pasted.is_some() {
        let _ = writeln!(
            out,
            "If the browser cannot reach this machine, paste the URL it was redirected to (or the code) here and press Enter."
        );
    }
    let _ = out.flush();
    if server.open_browser
        && let Err(reason) = server.open_browser().await
    {
        warn!(%reason, "could not open a browser");
        let _ = writeln!(
            out,
            "Warning: could not open a browser ({reason}). Open the URL above yourself."
        );
        let _ = out.flush();
    }
    server.wait_with_pasted_input(pasted, out).await
}
