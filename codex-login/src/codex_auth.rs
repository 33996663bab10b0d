//! `CodexAuth`: one immutable snapshot of the credentials in use.
//!
//! A snapshot is cheap to clone (one `Arc`) and never changes; refreshing
//! produces a new snapshot. It knows its mode, exposes the identity
//! accessors callers need, and makes the [`SharedAuthProvider`] that puts the
//! right headers on requests.

mod error;
mod provider;
mod tokens;

pub use error::{
    API_KEY_MISSING_MESSAGE, AuthDataError, EXTERNAL_PLAN_TYPE_FIELD,
    EXTERNAL_TOKENS_MISSING_METADATA_MESSAGE, TOKEN_DATA_UNAVAILABLE_MESSAGE,
};
use provider::{AccountHeadersOnly, assertion_for};
pub use tokens::{AgentIdentityAuth, ChatgptTokens};
use tokens::{
    agent_identity_from_jwt, agent_identity_from_record, apply_external_metadata, chatgpt_tokens,
};

use crate::auth_dot_json::{
    AuthDotJson, AuthMode, StoredAgentIdentity, StoredIdToken, StoredTimestamp, StoredTokens,
};
use crate::personal_access_token_auth::{PersonalAccessTokenAuth, PersonalAccessTokenMetadata};
use crate::token_claims::PlanType;
use chrono::{DateTime, Utc};
use codex_agent_identity::{AgentAssertionAuth, TaskId};
use codex_auth_provider::{BearerAuth, SecretString, SharedAuthProvider};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Credentials {
    ApiKey(SecretString),
    Chatgpt(ChatgptTokens),
    AgentIdentity(AgentIdentityAuth),
    // issue 19: a personal access token, hydrated by whoami.
    PersonalAccessToken(PersonalAccessTokenAuth),
}

#[derive(Debug)]
struct Snapshot {
    mode: AuthMode,
    credentials: Credentials,
    last_refresh: Option<DateTime<Utc>>,
    document: Option<AuthDotJson>,
    /// Signs requests as an agent identity once its run task is known.
    agent_assertion: Option<AgentAssertionAuth>,
}

/// An immutable snapshot of the credentials in use.
#[derive(Clone)]
pub struct CodexAuth {
    inner: Arc<Snapshot>,
}

impl fmt::Debug for CodexAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodexAuth")
            .field("mode", &self.inner.mode)
            .field("account_id", &self.account_id())
            .field("email", &self.email())
            .field("credentials", &"[REDACTED]")
            .finish()
    }
}

impl CodexAuth {
    /// An API-key snapshot (for example from `CODEX_API_KEY`); no document.
    pub fn from_api_key(key: SecretString) -> Result<Self, AuthDataError> {
        if key.expose().trim().is_empty() {
            return Err(AuthDataError::MissingApiKey);
        }
        Ok(Self::build(
            AuthMode::ApiKey,
            Credentials::ApiKey(key),
            None,
            None,
        ))
    }

    /// An agent identity snapshot from a JWT (for example from
    /// `CODEX_ACCESS_TOKEN`), reading its claims without verification; no document.
    pub fn from_agent_identity_jwt(jwt: SecretString) -> Result<Self, AuthDataError> {
        let identity = agent_identity_from_jwt(jwt)?;
        Ok(Self::build(
            AuthMode::AgentIdentity,
            Credentials::AgentIdentity(identity),
            None,
            None,
        ))
    }

    /// A personal access token (`at-…`, for example from `CODEX_ACCESS_TOKEN`);
    /// no document. Not usable for requests until hydrated
    /// ([`CodexAuth::with_personal_access_token_metadata`]).
    pub fn from_personal_access_token(token: SecretString) -> Result<Self, AuthDataError> {
        if token.expose().trim().is_empty() {
            return Err(AuthDataError::MissingPersonalAccessToken);
        }
        Ok(Self::build(
            AuthMode::PersonalAccessToken,
            Credentials::PersonalAccessToken(PersonalAccessTokenAuth {
                token,
                metadata: None,
            }),
            None,
            None,
        ))
    }

    /// The same personal access token snapshot, hydrated with whoami's answer.
    /// Other modes are returned unchanged.
    pub fn with_personal_access_token_metadata(
        &self,
        metadata: PersonalAccessTokenMetadata,
    ) -> Self {
        let Credentials::PersonalAccessToken(pat) = &self.inner.credentials else {
            return self.clone();
        };
        Self::build(
            self.inner.mode,
            Credentials::PersonalAccessToken(PersonalAccessTokenAuth {
                token: pat.token.clone(),
                metadata: Some(metadata),
            }),
            self.inner.last_refresh,
            self.inner.document.clone(),
        )
    }

    /// The personal access token, when this is one (issue 19).
    pub fn personal_access_token(&self) -> Option<&PersonalAccessTokenAuth> {
        match &self.inner.credentials {
            Credentials::PersonalAccessToken(pat) => Some(pat),
            _ => None,
        }
    }

    fn pat_metadata(&self) -> Option<&PersonalAccessTokenMetadata> {
        self.personal_access_token()
            .and_then(|pat| pat.metadata.as_ref())
    }

    /// Tokens supplied by a host app (`chatgptAuthTokens`): the access token
    /// is read as if it were an id token, the supplied account id and plan
    /// win over its claims, and `last_refresh` is `now`.
    pub fn from_external_chatgpt_tokens(
        access_token: SecretString,
        account_id: &str,
        plan_type: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, AuthDataError> {
        if account_id.trim().is_empty() {
            return Err(AuthDataError::ExternalTokensMissingMetadata);
        }
        if access_token.expose().is_empty() {
            return Err(AuthDataError::EmptyAccessToken);
        }
        let mut extra = serde_json::Map::new();
        if let Some(plan) = plan_type.filter(|p| !p.trim().is_empty()) {
            extra.insert(
                EXTERNAL_PLAN_TYPE_FIELD.to_owned(),
                serde_json::Value::String(plan.to_owned()),
            );
        }
        let document = AuthDotJson {
            auth_mode: Some(AuthMode::ChatgptAuthTokens),
            tokens: Some(StoredTokens {
                id_token: Some(StoredIdToken::Jwt(access_token.clone())),
                access_token,
                refresh_token: SecretString::new(""),
                account_id: Some(account_id.to_owned()),
                extra,
            }),
            last_refresh: Some(StoredTimestamp::new(now)),
            ..AuthDotJson::default()
        };
        Self::from_auth_dot_json(document)
    }

    /// Builds the snapshot a stored document means (mode resolution as in
    /// [`AuthDotJson::resolved_mode`]). The document is kept for rewrites.
    pub fn from_auth_dot_json(document: AuthDotJson) -> Result<Self, AuthDataError> {
        let mode = document.resolved_mode();
        let last_refresh = document.last_refresh.as_ref().map(StoredTimestamp::instant);
        let credentials = match mode {
            AuthMode::ApiKey => match &document.openai_api_key {
                Some(key) if !key.expose().trim().is_empty() => Credentials::ApiKey(key.clone()),
                _ => return Err(AuthDataError::MissingApiKey),
            },
            AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens => {
                let tokens = document
                    .tokens
                    .as_ref()
                    .ok_or(AuthDataError::TokenDataUnavailable)?;
                let mut parsed = chatgpt_tokens(tokens)?;
                if mode == AuthMode::ChatgptAuthTokens {
                    apply_external_metadata(&mut parsed, tokens);
                }
                Credentials::Chatgpt(parsed)
            }
            AuthMode::AgentIdentity => match &document.agent_identity {
                Some(StoredAgentIdentity::Jwt(jwt)) => {
                    Credentials::AgentIdentity(agent_identity_from_jwt(jwt.as_secret().clone())?)
                }
                Some(StoredAgentIdentity::Record(record)) => {
                    Credentials::AgentIdentity(agent_identity_from_record(record)?)
                }
                None => return Err(AuthDataError::MissingAgentIdentity),
            },
            AuthMode::PersonalAccessToken => match &document.personal_access_token {
                Some(token) if !token.expose().trim().is_empty() => {
                    Credentials::PersonalAccessToken(PersonalAccessTokenAuth {
                        token: token.clone(),
                        metadata: None,
                    })
                }
                _ => return Err(AuthDataError::MissingPersonalAccessToken),
            },
        };
        // A stored record that already carries its run task signs at once; an
        // unusable key is reported when the manager readies the identity.
        let agent_assertion = match (&credentials, &document.agent_identity) {
            (Credentials::AgentIdentity(identity), Some(StoredAgentIdentity::Record(_))) => {
                identity
                    .task_id
                    .as_deref()
                    .and_then(|task| TaskId::new(task).ok())
                    .and_then(|task| assertion_for(identity, &task).ok())
            }
            _ => None,
        };
        let mut auth = Self::build(mode, credentials, last_refresh, Some(document));
        if let Some(assertion) = agent_assertion {
            auth = auth.with_agent_assertion(assertion);
        }
        Ok(auth)
    }

    fn build(
        mode: AuthMode,
        credentials: Credentials,
        last_refresh: Option<DateTime<Utc>>,
        document: Option<AuthDotJson>,
    ) -> Self {
        Self {
            inner: Arc::new(Snapshot {
                mode,
                credentials,
                last_refresh,
                document,
                agent_assertion: None,
            }),
        }
    }

    /// The same snapshot, signing requests with `assertion` (an agent identity
    /// whose run task is known, or the identity a ChatGPT login opted into).
    pub fn with_agent_assertion(&self, assertion: AgentAssertionAuth) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Snapshot {
                mode: inner.mode,
                credentials: inner.credentials.clone(),
                last_refresh: inner.last_refresh,
                document: inner.document.clone(),
                agent_assertion: Some(assertion),
            }),
        }
    }

    /// The agent identity snapshot with its run task: the identity's
    /// `task_id` is set (and, for a stored record, the document's record too)
    /// and requests are signed with `AgentAssertion`. Fails for other modes
    /// or when the key or ids cannot sign.
    pub fn with_agent_task(&self, task: &TaskId) -> Result<Self, AuthDataError> {
        let Credentials::AgentIdentity(identity) = &self.inner.credentials else {
            return Err(AuthDataError::NotAgentIdentity);
        };
        let mut identity = identity.clone();
        identity.task_id = Some(task.as_str().to_owned());
        let assertion = assertion_for(&identity, task)?;
        let mut document = self.inner.document.clone();
        if let Some(StoredAgentIdentity::Record(stored)) = document
            .as_mut()
            .and_then(|document| document.agent_identity.as_mut())
        {
            stored.task_id = identity.task_id.clone();
        }
        Ok(Self {
            inner: Arc::new(Snapshot {
                mode: self.inner.mode,
                credentials: Credentials::AgentIdentity(identity),
                last_refresh: self.inner.last_refresh,
                document,
                agent_assertion: Some(assertion),
            }),
        })
    }

    /// The `AgentAssertion` provider this snapshot signs with, once an agent
    /// identity's run task is known.
    pub fn agent_assertion_auth(&self) -> Option<&AgentAssertionAuth> {
        self.inner.agent_assertion.as_ref()
    }

    /// The fine mode: `apikey`, `chatgpt`, `chatgptAuthTokens` or `agentIdentity`.
    pub fn auth_mode(&self) -> AuthMode {
        self.inner.mode
    }

    /// The coarse mode: host-supplied tokens report [`AuthMode::Chatgpt`].
    pub fn coarse_auth_mode(&self) -> AuthMode {
        match self.inner.mode {
            AuthMode::ChatgptAuthTokens => AuthMode::Chatgpt,
            mode => mode,
        }
    }

    /// Whether this is an API-key login.
    pub fn is_api_key_auth(&self) -> bool {
        self.inner.mode == AuthMode::ApiKey
    }

    /// Whether this is a ChatGPT login (managed or host-supplied tokens).
    pub fn is_chatgpt_auth(&self) -> bool {
        matches!(
            self.inner.mode,
            AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens
        )
    }

    /// Whether the ChatGPT tokens were supplied by a host app (never refreshed here).
    pub fn is_external_chatgpt_tokens(&self) -> bool {
        self.inner.mode == AuthMode::ChatgptAuthTokens
    }

    /// Whether requests go to the ChatGPT (Codex) backend rather than the API.
    pub fn uses_codex_backend(&self) -> bool {
        !self.is_api_key_auth()
    }

    /// The API key of an API-key login.
    pub fn api_key(&self) -> Option<&SecretString> {
        match &self.inner.credentials {
            Credentials::ApiKey(key) => Some(key),
            _ => None,
        }
    }

    /// The ChatGPT tokens, when this is a ChatGPT login.
    pub fn chatgpt_tokens(&self) -> Option<&ChatgptTokens> {
        match &self.inner.credentials {
            Credentials::Chatgpt(tokens) => Some(tokens),
            _ => None,
        }
    }

    /// The ChatGPT tokens, or upstream's `Token data is not available.`
    pub fn token_data(&self) -> Result<&ChatgptTokens, AuthDataError> {
        self.chatgpt_tokens()
            .ok_or(AuthDataError::TokenDataUnavailable)
    }

    /// The agent identity, when this is an agent identity login.
    pub fn agent_identity(&self) -> Option<&AgentIdentityAuth> {
        match &self.inner.credentials {
            Credentials::AgentIdentity(identity) => Some(identity),
            _ => None,
        }
    }

    /// The bearer token sent as `Authorization: Bearer`: the API key or the
    /// access token. Agent identities have none.
    pub fn bearer_token(&self) -> Option<&SecretString> {
        match &self.inner.credentials {
            Credentials::ApiKey(key) => Some(key),
            Credentials::Chatgpt(tokens) => Some(&tokens.access_token),
            Credentials::AgentIdentity(_) => None,
            Credentials::PersonalAccessToken(pat) => Some(&pat.token),
        }
    }

    /// The refresh token of a ChatGPT login (empty for host-supplied tokens).
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.chatgpt_tokens().map(|tokens| &tokens.refresh_token)
    }

    /// The ChatGPT account (workspace) id: `tokens.account_id`, else the id
    /// token's `chatgpt_account_id`; for agent identities, the identity's.
    pub fn account_id(&self) -> Option<&str> {
        match &self.inner.credentials {
            Credentials::ApiKey(_) => None,
            Credentials::Chatgpt(tokens) => tokens
                .account_id
                .as_deref()
                .filter(|id| !id.is_empty())
                .or(tokens.id_token.chatgpt_account_id.as_deref()),
            Credentials::AgentIdentity(identity) => identity.account_id.as_deref(),
            Credentials::PersonalAccessToken(_) => self
                .pat_metadata()
                .map(|meta| meta.chatgpt_account_id.as_str()),
        }
    }

    /// The account email, when known.
    pub fn email(&self) -> Option<&str> {
        match &self.inner.credentials {
            Credentials::ApiKey(_) => None,
            Credentials::Chatgpt(tokens) => tokens.id_token.email.as_deref(),
            Credentials::AgentIdentity(identity) => identity.email.as_deref(),
            Credentials::PersonalAccessToken(_) => {
                self.pat_metadata().and_then(|meta| meta.email.as_deref())
            }
        }
    }

    /// The ChatGPT user id, when known.
    pub fn chatgpt_user_id(&self) -> Option<&str> {
        match &self.inner.credentials {
            Credentials::ApiKey(_) => None,
            Credentials::Chatgpt(tokens) => tokens.id_token.chatgpt_user_id.as_deref(),
            Credentials::AgentIdentity(identity) => identity.chatgpt_user_id.as_deref(),
            Credentials::PersonalAccessToken(_) => self
                .pat_metadata()
                .map(|meta| meta.chatgpt_user_id.as_str()),
        }
    }

    /// The plan, when the tokens name one.
    pub fn plan_type(&self) -> Option<&PlanType> {
        match &self.inner.credentials {
            Credentials::ApiKey(_) => None,
            Credentials::Chatgpt(tokens) => tokens.id_token.plan_type.as_ref(),
            Credentials::AgentIdentity(identity) => identity.plan_type.as_ref(),
            Credentials::PersonalAccessToken(_) => self.pat_metadata().map(|meta| &meta.plan_type),
        }
    }

    /// The plan, with upstream's rule that a missing plan is `Unknown`.
    pub fn account_plan_type(&self) -> PlanType {
        self.plan_type()
            .cloned()
            .unwrap_or_else(|| PlanType::Unknown(String::new()))
    }

    /// Whether the plan is a workspace plan.
    pub fn is_workspace_account(&self) -> bool {
        self.plan_type().is_some_and(PlanType::is_workspace)
    }

    /// Whether the account is FedRAMP (requests then carry `X-OpenAI-Fedramp: true`).
    pub fn is_fedramp_account(&self) -> bool {
        match &self.inner.credentials {
            Credentials::ApiKey(_) => false,
            Credentials::Chatgpt(tokens) => tokens.id_token.is_fedramp,
            Credentials::AgentIdentity(identity) => identity.is_fedramp,
            Credentials::PersonalAccessToken(_) => {
                self.pat_metadata().is_some_and(|meta| meta.is_fedramp)
            }
        }
    }

    /// When the access token (or agent identity JWT) expires, if it says.
    pub fn access_token_expires_at(&self) -> Option<DateTime<Utc>> {
        match &self.inner.credentials {
            Credentials::ApiKey(_) => None,
            Credentials::Chatgpt(tokens) => tokens.access_token_expires_at,
            Credentials::AgentIdentity(identity) => identity.expires_at,
            Credentials::PersonalAccessToken(_) => None,
        }
    }

    /// `last_refresh` of the stored document.
    pub fn last_refresh(&self) -> Option<DateTime<Utc>> {
        self.inner.last_refresh
    }

    /// The stored document this snapshot was made from (none for env sources).
    pub fn document(&self) -> Option<&AuthDotJson> {
        self.inner.document.as_ref()
    }

    /// Whether two snapshots hold the same credentials (mode and secrets).
    pub fn same_credentials(&self, other: &CodexAuth) -> bool {
        if self.inner.mode != other.inner.mode {
            return false;
        }
        match (&self.inner.credentials, &other.inner.credentials) {
            (Credentials::ApiKey(a), Credentials::ApiKey(b)) => a == b,
            (Credentials::Chatgpt(a), Credentials::Chatgpt(b)) => {
                a.access_token == b.access_token
                    && a.refresh_token == b.refresh_token
                    && a.account_id == b.account_id
            }
            // The run task is run state, not a credential.
            (Credentials::AgentIdentity(a), Credentials::AgentIdentity(b)) => {
                a.agent_runtime_id == b.agent_runtime_id
                    && a.agent_private_key == b.agent_private_key
                    && a.jwt == b.jwt
            }
            // Metadata is hydration state, not a credential.
            (Credentials::PersonalAccessToken(a), Credentials::PersonalAccessToken(b)) => {
                a.token == b.token && a.metadata.is_some() == b.metadata.is_some()
            }
            _ => false,
        }
    }

    /// The provider that puts this snapshot's headers on requests:
    /// - once an agent identity is ready (its run task known, or a ChatGPT
    ///   login's opted-in identity): `Authorization: AgentAssertion …` minted
    ///   per request, `ChatGPT-Account-ID`, and FedRAMP ([`AgentAssertionAuth`]);
    /// - API key: `Authorization: Bearer <key>`;
    /// - ChatGPT: `Authorization: Bearer <access token>`, `ChatGPT-Account-ID`,
    ///   and `X-OpenAI-Fedramp: true` for FedRAMP accounts;
    /// - an agent identity whose task is not registered yet: only
    ///   `ChatGPT-Account-ID` and FedRAMP, as upstream does while the task id
    ///   is not initialised ([`crate::auth_manager::AuthManager::try_auth`] registers it).
    pub fn provider(&self) -> SharedAuthProvider {
        if let Some(assertion) = &self.inner.agent_assertion {
            return Arc::new(assertion.clone());
        }
        match &self.inner.credentials {
            Credentials::ApiKey(key) => Arc::new(BearerAuth::new(key)),
            Credentials::Chatgpt(tokens) => Arc::new(
                BearerAuth::new(&tokens.access_token)
                    .with_account_id(self.account_id())
                    .with_fedramp(tokens.id_token.is_fedramp),
            ),
            Credentials::AgentIdentity(identity) => Arc::new(AccountHeadersOnly::new(
                identity.account_id.as_deref(),
                identity.is_fedramp,
            )),
            Credentials::PersonalAccessToken(pat) => Arc::new(
                BearerAuth::new(&pat.token)
                    .with_account_id(self.account_id())
                    .with_fedramp(self.is_fedramp_account()),
            ),
        }
    }
}

/// Whether `stored` may replace `cached` without a new login: the same
/// account and the same user where both are known. A missing account id on
/// either side is unknown, not different: the same user is then enough, in
/// both directions. Without any identity to compare, it may not.
pub fn same_identity(cached: &CodexAuth, stored: &CodexAuth) -> bool {
    let accounts = (cached.account_id(), stored.account_id());
    let users = (cached.chatgpt_user_id(), stored.chatgpt_user_id());
    if let (Some(a), Some(b)) = users
        && a != b
    {
        return false;
    }
    match accounts {
        (Some(a), Some(b)) => a == b,
        _ => matches!(users, (Some(a), Some(b)) if a == b),
    }
}
