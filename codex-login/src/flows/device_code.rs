//! Device-code login: request a user code, show it, poll until approved, exchange, save.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use codex_auth_provider::SecretString;
use codex_auth_provider::bounded_body::{MAX_AUTH_RESPONSE_BYTES, read_capped, read_capped_text};
use serde::Deserialize;
use tracing::{debug, info, warn};
use url::Url;

use super::code_redemption::{
    ApiKeyExchange, RedemptionContext, RedemptionError, redeem_authorization_code,
};
use super::device_poll_interval::{
    bounded_max_wait, first_poll_interval, parse_interval, slowed_down,
};
use super::error_text::error_chain;
use super::login_claims::InvalidIdToken;
use super::logout::revoke_url_for_config;
use super::persist::{CredentialTarget, PersistError};
use super::replaced_login::ReplacedLoginRevocation;
use super::token_endpoint::{TokenExchangeError, parse_token_endpoint_error};
use super::workspace_check::WorkspaceRestrictionError;
use crate::config::CodexConfig;
use crate::http_client::{
    CredentialUrlError, HttpClientError, HttpClientFactory, ensure_credential_safe_url,
};
use crate::refresh::{CLIENT_ID, DEFAULT_ISSUER, extract_error_code};
use crate::secret_scrub::{SentSecrets, read_error_body};
use crate::storage::{CredentialStoreMode, SharedAuthStorage};

/// How long a device code stays valid, as the prompt tells the user.
pub(crate) const DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);

const BLUE: anstyle::Style = anstyle::AnsiColor::BrightBlue.on_default();
const DIM: anstyle::Style = anstyle::Style::new().dimmed();
const BOLD: anstyle::Style = anstyle::Style::new().bold();

/// Settings of a device-code login; the CLI fills them from configuration.
#[derive(Debug, Clone)]
pub struct DeviceCodeOptions {
    /// Where credentials are saved.
    pub codex_home: PathBuf,
    /// Issuer base URL.
    pub issuer: String,
    /// OAuth client id.
    pub client_id: String,
    /// Where the credentials are stored.
    pub credential_store: CredentialStoreMode,
    /// A store to use instead of the one `credential_store` names (tests, embedders).
    pub storage: Option<SharedAuthStorage>,
    /// Workspaces the login must belong to (empty: any).
    pub forced_chatgpt_workspace_ids: Vec<String>,
    /// The factory every HTTP client comes from.
    pub http: HttpClientFactory,
    /// Revoke (best effort) the tokens of the stored login this one replaces.
    pub revoke_replaced_login: bool,
    /// Where that revocation goes; `None` means `<issuer>/oauth/revoke`.
    pub revoke_url: Option<String>,
    /// How long to keep polling (the code's lifetime, 15 minutes).
    pub max_wait: Duration,
    /// Poll at this interval instead of the server's (tests).
    pub poll_interval_override: Option<Duration>,
    /// The version shown in the prompt's welcome line.
    pub cli_version: String,
    /// Colour the prompt with ANSI escapes (only when writing to a terminal).
    pub styled: bool,
}

impl DeviceCodeOptions {
    /// Defaults: the OpenAI issuer and client id, file storage, 15 minute lifetime, plain text.
    pub fn new(codex_home: PathBuf, http: HttpClientFactory) -> Self {
        Self {
            codex_home,
            issuer: DEFAULT_ISSUER.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            credential_store: CredentialStoreMode::File,
            storage: None,
            forced_chatgpt_workspace_ids: Vec::new(),
            http,
            revoke_replaced_login: true,
            revoke_url: None,
            max_wait: DEVICE_CODE_LIFETIME,
            poll_interval_override: None,
            cli_version: env!("CARGO_PKG_VERSION").to_owned(),
            styled: false,
        }
    }

    /// [`DeviceCodeOptions::new`] with home, issuer, store, forced workspaces and revoke
    /// endpoint from `config`.
    pub fn from_config(config: &CodexConfig, http: HttpClientFactory) -> Self {
        Self {
            issuer: config.issuer.clone(),
            credential_store: config.credential_store,
            forced_chatgpt_workspace_ids: config.forced_chatgpt_workspace_ids.clone(),
            revoke_url: Some(revoke_url_for_config(config)),
            ..Self::new(config.codex_home.clone(), http)
        }
    }

    fn issuer(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    fn accounts_base(&self) -> String {
        format!("{}/api/accounts", self.issuer())
    }
}

/// Why a device-code login did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceCodeError {
    /// The HTTP client could not be built.
    #[error(transparent)]
    HttpClient(#[from] HttpClientError),
    /// The issuer URL does not parse.
    #[error("invalid issuer URL {issuer:?}: {reason}")]
    InvalidIssuer {
        /// The issuer as configured.
        issuer: String,
        /// The parser's explanation.
        reason: String,
    },
    /// The issuer is not HTTPS (or plain HTTP to loopback).
    #[error(transparent)]
    InsecureIssuer(#[from] CredentialUrlError),
    /// The server has no device-code endpoint (HTTP 404).
    #[error(
        "device code login is not enabled for this Codex server. Use the browser login or verify the server URL."
    )]
    NotEnabled,
    /// The user-code request got another non-success status.
    #[error("device code request failed with status {status}")]
    UserCodeStatus {
        /// HTTP status.
        status: u16,
    },
    /// The user-code request did not complete.
    #[error("device code request failed: {0}")]
    UserCodeRequest(String),
    /// The user-code response lacked a field.
    #[error("device code response was not understood: {0}")]
    UserCodeResponse(String),
    /// The user (or an administrator) denied the request.
    #[error("device authorization was denied: {detail}")]
    Denied {
        /// The server's explanation.
        detail: String,
    },
    /// The server says the code expired.
    #[error(
        "the device code expired before it was approved: {detail}. Run the login again for a new code."
    )]
    CodeExpired {
        /// The server's explanation.
        detail: String,
    },
    /// Polling got a status that is neither pending, transient nor success.
    #[error("device auth failed with status {status}: {detail}")]
    PollStatus {
        /// HTTP status.
        status: u16,
        /// The server's explanation.
        detail: String,
    },
    /// The poll response lacked a field.
    #[error("device auth response was not understood: {0}")]
    PollResponse(String),
    /// Nobody approved the code within its lifetime.
    #[error("device auth timed out after {}", describe_wait(*.0))]
    TimedOut(Duration),
    /// The authorization code could not be exchanged.
    #[error("device code exchange failed: {0}")]
    Exchange(#[source] TokenExchangeError),
    /// The issuer's id token is not a JWT.
    #[error("device code exchange failed: the id token is not a JWT: {0}")]
    InvalidIdToken(#[source] InvalidIdToken),
    /// The tokens belong to a workspace the configuration does not allow; nothing was saved.
    #[error(transparent)]
    Workspace(WorkspaceRestrictionError),
    /// The tokens could not be saved.
    #[error("Sign-in completed but credentials could not be saved locally: {0}")]
    Persist(#[source] PersistError),
}

/// `15 minutes`, or `N seconds` for a wait that is not whole minutes.
fn describe_wait(wait: Duration) -> String {
    let secs = wait.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} minutes", secs / 60)
    } else {
        format!("{:.1} seconds", wait.as_secs_f64())
    }
}

impl From<RedemptionError> for DeviceCodeError {
    fn from(err: RedemptionError) -> Self {
        match err {
            RedemptionError::TokenExchange(err) => Self::Exchange(err),
            RedemptionError::InvalidIdToken(err) => Self::InvalidIdToken(err),
            RedemptionError::Workspace(err) => Self::Workspace(err),
            RedemptionError::Persist(err) => Self::Persist(err),
        }
    }
}

impl DeviceCodeError {
    /// Whether the account or workspace was refused (upstream's `PermissionDenied` kind).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Self::Workspace(_) | Self::Denied { .. })
    }
}

/// A device code the user has to enter at the verification URL.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    /// Where the user enters the code: `<issuer>/codex/device`.
    pub verification_url: String,
    /// The one-time code shown to the user.
    pub user_code: SecretString,
    /// The server's handle for this request (used when polling).
    pub device_auth_id: SecretString,
    /// The poll interval the server asked for.
    pub interval: Duration,
}

/// A saved device-code login (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceLoginSuccess {
    /// The ChatGPT workspace of the new tokens.
    pub account_id: Option<String>,
    /// The ChatGPT plan, e.g. `plus`.
    pub plan_type: Option<String>,
}

#[derive(Deserialize)]
struct UserCodeResponse {
    device_auth_id: Option<String>,
    #[serde(alias = "usercode")]
    user_code: Option<String>,
    interval: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PollSuccess {
    authorization_code: Option<String>,
    code_verifier: Option<String>,
}

/// Asks the issuer for a device code (`POST <issuer>/api/accounts/deviceauth/usercode`).
pub async fn request_device_code(
    options: &DeviceCodeOptions,
) -> Result<DeviceCode, DeviceCodeError> {
    let client = checked_client(options)?;
    let url = format!("{}/deviceauth/usercode", options.accounts_base());
    debug!(%url, "requesting a device code");
    let response = client
        .post(&url)
        .json(&serde_json::json!({ "client_id": options.client_id }))
        .send()
        .await
        .map_err(|err| DeviceCodeError::UserCodeRequest(error_chain(&err)))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(DeviceCodeError::NotEnabled);
    }
    if !status.is_success() {
        return Err(DeviceCodeError::UserCodeStatus {
            status: status.as_u16(),
        });
    }
    let body = read_capped(response, MAX_AUTH_RESPONSE_BYTES)
        .await
        .map_err(|err| DeviceCodeError::UserCodeResponse(error_chain(&err)))?;
    let body: UserCodeResponse = serde_json::from_slice(&body).map_err(|err| {
        DeviceCodeError::UserCodeResponse(format!("body is not the expected JSON ({err})"))
    })?;
    let device_auth_id = body
        .device_auth_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| DeviceCodeError::UserCodeResponse("missing `device_auth_id`".to_owned()))?;
    let user_code = body
        .user_code
        .filter(|code| !code.is_empty())
        .ok_or_else(|| DeviceCodeError::UserCodeResponse("missing `user_code`".to_owned()))?;
    Ok(DeviceCode {
        verification_url: format!("{}/codex/device", options.issuer()),
        user_code: SecretString::new(user_code),
        device_auth_id: SecretString::new(device_auth_id),
        interval: parse_interval(body.interval.as_ref()),
    })
}

/// The prompt upstream prints: welcome line, the link, the one-time code and a phishing warning.
/// With `styled`, the link and code are bright blue and the notes dim (ANSI escapes from
/// `anstyle`; a caller writing through `anstream` drops them where colour is off).
pub fn render_device_code_prompt(code: &DeviceCode, cli_version: &str, styled: bool) -> String {
    let paint = |style: anstyle::Style, text: &str| {
        if styled {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    };
    let minutes = DEVICE_CODE_LIFETIME.as_secs() / 60;
    format!(
        "\n{welcome} {version}\n{tagline}\n\n\
         Follow these steps to sign in with ChatGPT using device code authorization:\n\n\
         1. Open this link in your browser and sign in to your account\n   {url}\n\n\
         2. Enter this one-time code (expires in {minutes} minutes)\n   {code}\n\n\
         {warning}\n\n",
        welcome = paint(BOLD, "Welcome to Codex"),
        version = paint(DIM, &format!("[v{cli_version}]")),
        tagline = paint(DIM, "OpenAI's command-line coding agent"),
        url = paint(BLUE, &code.verification_url),
        code = paint(BLUE, code.user_code.expose()),
        warning = paint(
            DIM,
            "Device codes are a common phishing target. Never share this code."
        ),
    )
}

/// Polls until the code is approved, then exchanges the authorization code (redirect URI
/// `<issuer>/deviceauth/callback`, the server's verifier), checks the workspace and saves the
/// tokens without an API key.
pub async fn complete_device_code_login(
    options: &DeviceCodeOptions,
    code: &DeviceCode,
) -> Result<DeviceLoginSuccess, DeviceCodeError> {
    let client = checked_client(options)?;
    let (authorization_code, code_verifier) =
        poll_for_authorization(options, &client, code).await?;
    let context = RedemptionContext {
        target: CredentialTarget {
            codex_home: options.codex_home.clone(),
            store_mode: options.credential_store,
            storage: options.storage.clone(),
        },
        issuer: options.issuer().to_owned(),
        client_id: options.client_id.clone(),
        forced_workspace_ids: options.forced_chatgpt_workspace_ids.clone(),
        client,
        replaced_login_revocation: ReplacedLoginRevocation::for_login(
            options.revoke_replaced_login,
            &options.http,
            &options.client_id,
            options.revoke_url.as_deref(),
            options.issuer(),
        ),
    };
    let redirect_uri = format!("{}/deviceauth/callback", options.issuer());
    let login = redeem_authorization_code(
        &context,
        &authorization_code,
        &code_verifier,
        &redirect_uri,
        ApiKeyExchange::Skip,
    )
    .await?;
    Ok(DeviceLoginSuccess {
        account_id: login.claims.chatgpt_account_id,
        plan_type: login.claims.plan_type,
    })
}

/// Requests a code, prints the prompt to `out`, then completes the login.
pub async fn run_device_code_login<W: Write + Send + ?Sized>(
    options: &DeviceCodeOptions,
    out: &mut W,
) -> Result<DeviceLoginSuccess, DeviceCodeError> {
    let code = request_device_code(options).await?;
    let _ = out.write_all(
        render_device_code_prompt(&code, &options.cli_version, options.styled).as_bytes(),
    );
    let _ = out.flush();
    complete_device_code_login(options, &code).await
}

fn checked_client(options: &DeviceCodeOptions) -> Result<reqwest::Client, DeviceCodeError> {
    let issuer = options.issuer();
    let parsed = Url::parse(issuer).map_err(|err| DeviceCodeError::InvalidIssuer {
        issuer: issuer.to_owned(),
        reason: err.to_string(),
    })?;
    ensure_credential_safe_url(&parsed)?;
    Ok(options.http.bare_client()?)
}

/// What one poll said.
enum PollOutcome {
    Approved(SecretString, SecretString),
    Pending,
    SlowDown,
    Transient(String),
}

async fn poll_for_authorization(
    options: &DeviceCodeOptions,
    client: &reqwest::Client,
    code: &DeviceCode,
) -> Result<(SecretString, SecretString), DeviceCodeError> {
    let url = format!("{}/deviceauth/token", options.accounts_base());
    let max_wait = bounded_max_wait(options.max_wait);
    let started = tokio::time::Instant::now();
    let deadline = started + max_wait;
    let mut interval = options
        .poll_interval_override
        .unwrap_or_else(|| first_poll_interval(code.interval));
    loop {
        match poll_once(client, &url, code).await? {
            PollOutcome::Approved(authorization_code, verifier) => {
                info!("device code approved");
                return Ok((authorization_code, verifier));
            }
            PollOutcome::Pending => debug!("device code still pending"),
            PollOutcome::SlowDown => {
                interval = slowed_down(interval);
                debug!(
                    secs = interval.as_secs(),
                    "server asked to slow down polling"
                );
            }
            PollOutcome::Transient(reason) => {
                warn!(%reason, "device code poll failed; polling again");
            }
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(DeviceCodeError::TimedOut(max_wait));
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
        if tokio::time::Instant::now() >= deadline {
            return Err(DeviceCodeError::TimedOut(max_wait));
        }
    }
}

async fn poll_once(
    client: &reqwest::Client,
    url: &str,
    code: &DeviceCode,
) -> Result<PollOutcome, DeviceCodeError> {
    let sent = client
        .post(url)
        .json(&serde_json::json!({
            "device_auth_id": code.device_auth_id.expose(),
            "user_code": code.user_code.expose(),
        }))
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(err) => return Ok(PollOutcome::Transient(error_chain(&err))),
    };
    let status = response.status();
    let sent = SentSecrets::new()
        .with(&code.device_auth_id)
        .with(&code.user_code);
    let body = if status.is_success() {
        match read_capped_text(response, MAX_AUTH_RESPONSE_BYTES).await {
            Ok(body) => body,
            Err(err) if err.is_too_large() => {
                return Err(DeviceCodeError::PollResponse(err.to_string()));
            }
            Err(err) => return Ok(PollOutcome::Transient(error_chain(&err))),
        }
    } else {
        read_error_body(response, &sent).await
    };
    if status.is_success() {
        let parsed: PollSuccess = serde_json::from_str(&body).map_err(|err| {
            DeviceCodeError::PollResponse(format!("body is not the expected JSON ({err})"))
        })?;
        let authorization_code = parsed
            .authorization_code
            .filter(|code| !code.is_empty())
            .ok_or_else(|| {
                DeviceCodeError::PollResponse("missing `authorization_code`".to_owned())
            })?;
        let verifier = parsed
            .code_verifier
            .filter(|verifier| !verifier.is_empty())
            .ok_or_else(|| DeviceCodeError::PollResponse("missing `code_verifier`".to_owned()))?;
        return Ok(PollOutcome::Approved(
            SecretString::new(authorization_code),
            SecretString::new(verifier),
        ));
    }
    let code_text = extract_error_code(&body).unwrap_or_default();
    let detail = sent.shown(&parse_token_endpoint_error(&body));
    if code_text.contains("denied") {
        return Err(DeviceCodeError::Denied { detail });
    }
    if code_text.contains("expired") {
        return Err(DeviceCodeError::CodeExpired { detail });
    }
    if code_text.contains("slow_down") {
        return Ok(PollOutcome::SlowDown);
    }
    match status.as_u16() {
        403 | 404 => Ok(PollOutcome::Pending),
        429 => Ok(PollOutcome::SlowDown),
        500..=599 => Ok(PollOutcome::Transient(format!("server returned {status}"))),
        other => Err(DeviceCodeError::PollStatus {
            status: other,
            detail,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> DeviceCode {
        DeviceCode {
            verification_url: "https://auth.example/codex/device".to_owned(),
            user_code: SecretString::new("ABCD-EFGH"),
            device_auth_id: SecretString::new("dev-1"),
            interval: Duration::from_secs(5),
        }
    }

    #[test]
    fn timeout_message_matches_upstream() {
        assert_eq!(
            DeviceCodeError::TimedOut(DEVICE_CODE_LIFETIME).to_string(),
            "device auth timed out after 15 minutes"
        );
        assert_eq!(
            DeviceCodeError::TimedOut(Duration::from_millis(300)).to_string(),
            "device auth timed out after 0.3 seconds"
        );
    }

    #[test]
    fn plain_prompt_has_upstream_text() {
        let prompt = render_device_code_prompt(&code(), "0.1.0", false);
        assert_eq!(
            prompt,
            "\nWelcome to Codex [v0.1.0]\nOpenAI's command-line coding agent\n\n\
             Follow these steps to sign in with ChatGPT using device code authorization:\n\n\
             1. Open this link in your browser and sign in to your account\n   https://auth.example/codex/device\n\n\
             2. Enter this one-time code (expires in 15 minutes)\n   ABCD-EFGH\n\n\
             Device codes are a common phishing target. Never share this code.\n\n"
        );
        assert!(!prompt.contains('\x1b'));
    }

    #[test]
    fn styled_prompt_uses_terminal_relative_styles() {
        let prompt = render_device_code_prompt(&code(), "0.1.0", true);
        assert!(prompt.contains("\x1b[94mhttps://auth.example/codex/device\x1b[0m"));
        assert!(prompt.contains("\x1b[94mABCD-EFGH\x1b[0m"));
        assert!(prompt.contains("\x1b[2m[v0.1.0]\x1b[0m"));
        assert!(prompt.contains(
            "\x1b[2mDevice codes are a common phishing target. Never share this code.\x1b[0m"
        ));
    }

    #[test]
    fn error_codes_are_read_from_all_shapes() {
        assert_eq!(
            extract_error_code(r#"{"error":"Slow_Down"}"#).as_deref(),
            Some("slow_down")
        );
        assert_eq!(
            extract_error_code(r#"{"error":{"code":"deviceauth_expired"}}"#).as_deref(),
            Some("deviceauth_expired")
        );
        assert_eq!(extract_error_code(r#"{"code":"x"}"#).as_deref(), Some("x"));
        assert_eq!(extract_error_code("nope"), None);
    }
}
