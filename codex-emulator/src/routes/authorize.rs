//! `GET /oauth/authorize` (validation, consent page or auto-approval) and the consent decision.

use std::sync::Arc;

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use url::Url;

use super::unique_params;
use crate::html;
use crate::ids::{opaque_token, short_id};
use crate::protocol::{
    AUTHORIZATION_CODE_TTL_SECS, CLIENT_ID, KNOWN_SCOPES, REQUIRED_SCOPES, now_secs,
};
use crate::shared::Shared;
use crate::stats::Counters;
use crate::world::{AuthorizationCode, PendingAuthorization, World};

/// The answer to an authorize request that cannot be redirected back to the client.
fn error_page(shared: &Shared, message: &str) -> Response {
    Counters::bump(&shared.counters.authorize_rejected);
    tracing::info!(message, "authorize request rejected");
    (
        StatusCode::BAD_REQUEST,
        Html(html::message_page("Sign-in request rejected", message)),
    )
        .into_response()
}

/// A 302 to `redirect_uri` with the given query parameters appended.
fn redirect_with(redirect_uri: &Url, params: &[(&str, &str)]) -> Response {
    let mut target = redirect_uri.clone();
    {
        let mut query = target.query_pairs_mut();
        for (key, value) in params {
            query.append_pair(key, value);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// A 302 carrying an OAuth error back to the client.
fn redirect_error(
    shared: &Shared,
    redirect_uri: &Url,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Response {
    Counters::bump(&shared.counters.authorize_rejected);
    tracing::info!(
        error,
        description,
        "authorize request answered with an error redirect"
    );
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect_with(redirect_uri, &params)
}

/// Requires `http://localhost|127.0.0.1|[::1]:<port>/auth/callback`.
fn validate_redirect_uri(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|_| format!("redirect_uri `{raw}` is not a URL"))?;
    if url.scheme() != "http" {
        return Err("redirect_uri must use http on a loopback host".to_owned());
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !loopback {
        return Err("redirect_uri must point at localhost, 127.0.0.1 or [::1]".to_owned());
    }
    if url.port().is_none() {
        return Err("redirect_uri must carry an explicit port".to_owned());
    }
    if url.path() != "/auth/callback" || url.query().is_some() || url.fragment().is_some() {
        return Err("redirect_uri path must be exactly /auth/callback".to_owned());
    }
    Ok(url)
}

/// Checks the requested scopes; the error names the problem.
fn validate_scope(scope: &str) -> Result<(), String> {
    let requested: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if let Some(unknown) = requested.iter().find(|s| !KNOWN_SCOPES.contains(s)) {
        return Err(format!("unknown scope `{unknown}`"));
    }
    if let Some(missing) = REQUIRED_SCOPES.iter().find(|s| !requested.contains(s)) {
        return Err(format!("scope must include `{missing}`"));
    }
    Ok(())
}

/// A S256 challenge is 43 base64url characters.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Mints a one-time authorization code bound to the request's redirect URI and challenge.
pub(crate) fn issue_authorization_code(
    shared: &Shared,
    world: &mut World,
    pending: &PendingAuthorization,
) -> String {
    let code = opaque_token("ac_emu_");
    world.authorization_codes.insert(
        code.clone(),
        AuthorizationCode {
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.code_challenge.clone(),
            scope: pending.scope.clone(),
            account: world
                .settings
                .login_account
                .clone()
                .unwrap_or_else(|| shared.config.seed.clone()),
            expires_at: now_secs() + AUTHORIZATION_CODE_TTL_SECS,
            used: false,
            issued_family: None,
        },
    );
    Counters::bump(&shared.counters.authorization_codes_issued);
    code
}

/// `GET /oauth/authorize`.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match unique_params(query.as_deref().unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(Some(key)) => {
            return error_page(
                &shared,
                &format!("Parameter `{key}` appears more than once."),
            );
        }
        Err(None) => return error_page(&shared, "The query string could not be parsed."),
    };
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };

    match param("client_id") {
        Some(CLIENT_ID) => {}
        Some(other) => return error_page(&shared, &format!("Unknown client_id `{other}`.")),
        None => return error_page(&shared, "Missing client_id."),
    }
    let Some(raw_redirect) = param("redirect_uri") else {
        return error_page(&shared, "Missing redirect_uri.");
    };
    let redirect_uri = match validate_redirect_uri(raw_redirect) {
        Ok(url) => url,
        Err(message) => return error_page(&shared, &message),
    };
    let Some(state) = param("state") else {
        return redirect_error(
            &shared,
            &redirect_uri,
            "invalid_request",
            "missing state",
            None,
        );
    };
    let fail = |error: &str, description: &str| {
        redirect_error(&shared, &redirect_uri, error, description, Some(state))
    };
    if param("response_type") != Some("code") {
        return fail("unsupported_response_type", "response_type must be `code`");
    }
    let scope = param("scope").unwrap_or_default();
    if let Err(message) = validate_scope(scope) {
        return fail("invalid_scope", &message);
    }
    let Some(code_challenge) = param("code_challenge") else {
        return fail(
            "invalid_request",
            "missing code_challenge (PKCE is required)",
        );
    };
    if param("code_challenge_method") != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be `S256`");
    }
    if !is_s256_challenge(code_challenge) {
        return fail(
            "invalid_request",
            "code_challenge must be 43 base64url characters",
        );
    }
    for flag in ["id_token_add_organizations", "codex_cli_simplified_flow"] {
        if let Some(value) = param(flag)
            && value != "true"
            && value != "false"
        {
            return fail(
                "invalid_request",
                &format!("{flag} must be `true` or `false`"),
            );
        }
    }
    let seed = &shared.config.seed;
    if let Some(allowed) = param("allowed_workspace_id") {
        let allowed: Vec<&str> = allowed.split(',').map(str::trim).collect();
        if !allowed.contains(&seed.account_id.as_str()) {
            return fail(
                "access_denied",
                &format!(
                    "account {} is not a member of the allowed workspace(s) {}",
                    seed.account_id,
                    allowed.join(", ")
                ),
            );
        }
    }
    let pending = PendingAuthorization {
        redirect_uri: redirect_uri.to_string(),
        code_challenge: code_challenge.to_owned(),
        state: state.to_owned(),
        scope: scope.to_owned(),
    };
    let mut world = shared.world();
    if let Some(description) = world.faults.deny_authorize.clone() {
        drop(world);
        return fail("access_denied", &description);
    }
    if world.settings.auto_approve {
        let code = issue_authorization_code(&shared, &mut world, &pending);
        return redirect_with(&redirect_uri, &[("code", &code), ("state", state)]);
    }
    let authorization_id = short_id("authz_");
    world
        .pending_authorizations
        .insert(authorization_id.clone(), pending);
    drop(world);
    Html(html::consent_page(
        &authorization_id,
        &seed.email,
        &seed.account_id,
        redirect_uri.as_str(),
    ))
    .into_response()
}

/// The consent form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    authorization_id: String,
    decision: String,
}

/// `POST /oauth/authorize/decision`: Continue issues a code, Cancel answers `access_denied`.
pub(crate) async fn decision(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let mut world = shared.world();
    let Some(pending) = world.pending_authorizations.remove(&form.authorization_id) else {
        drop(world);
        return error_page(
            &shared,
            "This sign-in request is unknown or was already answered.",
        );
    };
    let Ok(redirect_uri) = Url::parse(&pending.redirect_uri) else {
        drop(world);
        return error_page(&shared, "The stored redirect_uri is invalid.");
    };
    if form.decision == "approve" {
        let code = issue_authorization_code(&shared, &mut world, &pending);
        return redirect_with(&redirect_uri, &[("code", &code), ("state", &pending.state)]);
    }
    drop(world);
    redirect_error(
        &shared,
        &redirect_uri,
        "access_denied",
        "the user cancelled the sign-in",
        Some(&pending.state),
    )
}
