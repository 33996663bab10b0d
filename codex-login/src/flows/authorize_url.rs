//! The issuer's `/oauth/authorize` URL for browser login, byte-compatible with the official CLI.
//!
//! The official Codex CLI 0.169.0 was observed to send the parameters in this order, form-encoded
//! (a space is `+`), with a `127.0.0.1` redirect URI:
//! `response_type, client_id, redirect_uri, code_challenge, code_challenge_method, state, scope,
//! id_token_add_organizations, codex_cli_simplified_flow, originator` (then
//! `allowed_workspace_id` when workspaces are forced). That observation wins over older upstream
//! notes, which list `localhost` and another order.

use super::pkce::{CODE_CHALLENGE_METHOD, PkceCodes};

/// The scopes a Codex login asks for.
pub(crate) const LOGIN_SCOPES: &str =
    "openid profile email offline_access api.connectors.read api.connectors.invoke";

/// The host of the loopback redirect URI (a literal IPv4 address, as the official CLI sends, so a
/// browser cannot resolve it to `::1` or another machine).
pub(crate) const REDIRECT_HOST: &str = "127.0.0.1";

/// Everything that goes into the authorize URL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthorizeRequest<'a> {
    /// Issuer base URL, e.g. `https://auth.openai.com` (a trailing `/` is ignored).
    pub issuer: &'a str,
    /// OAuth client id.
    pub client_id: &'a str,
    /// `http://127.0.0.1:<port>/auth/callback`.
    pub redirect_uri: &'a str,
    /// The PKCE pair; only its challenge is used.
    pub pkce: &'a PkceCodes,
    /// The OAuth `state` (random, not a credential, but never logged).
    pub state: &'a str,
    /// The `originator` value (`codex_cli_rs` by default).
    pub originator: &'a str,
    /// Workspace ids the login is restricted to; sent as one comma-joined parameter.
    pub allowed_workspace_ids: &'a [String],
}

/// Builds `<issuer>/oauth/authorize?...` with the official CLI's parameters, order and encoding.
pub(crate) fn build_authorize_url(request: &AuthorizeRequest<'_>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", request.client_id)
        .append_pair("redirect_uri", request.redirect_uri)
        .append_pair("code_challenge", &request.pkce.code_challenge)
        .append_pair("code_challenge_method", CODE_CHALLENGE_METHOD)
        .append_pair("state", request.state)
        .append_pair("scope", LOGIN_SCOPES)
        .append_pair("id_token_add_organizations", "true")
        .append_pair("codex_cli_simplified_flow", "true")
        .append_pair("originator", request.originator);
    if !request.allowed_workspace_ids.is_empty() {
        query.append_pair(
            "allowed_workspace_id",
            &request.allowed_workspace_ids.join(","),
        );
    }
    format!(
        "{}/oauth/authorize?{}",
        request.issuer.trim_end_matches('/'),
        query.finish()
    )
}

/// The loopback redirect URI for a callback server bound on `port`.
pub(crate) fn loopback_redirect_uri(port: u16) -> String {
    format!("http://{REDIRECT_HOST}:{port}/auth/callback")
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_auth_provider::SecretString;

    fn pkce() -> PkceCodes {
        PkceCodes {
            code_verifier: SecretString::new("verifier"),
            code_challenge: "9_vRbbrbcwvkRmvjlfrkIK68bt93bOpQ8nMvHALHgbE".to_owned(),
        }
    }

    #[test]
    fn matches_the_url_the_official_cli_prints() {
        let pkce = pkce();
        let url = build_authorize_url(&AuthorizeRequest {
            issuer: "https://auth.openai.com/",
            client_id: "app_EMoamEEZ73f0CkXaXp7hrann",
            redirect_uri: &loopback_redirect_uri(1455),
            pkce: &pkce,
            state: "466DivMblXWzJpwuAlLTyF0dIKWRTmu1V60NolQ2nX4",
            originator: "codex_cli_rs",
            allowed_workspace_ids: &[],
        });
        // Printed by `codex login` 0.169.0 (only challenge and state are random).
        assert_eq!(
            url,
            "https://auth.openai.com/oauth/authorize?response_type=code\
             &client_id=app_EMoamEEZ73f0CkXaXp7hrann\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback\
             &code_challenge=9_vRbbrbcwvkRmvjlfrkIK68bt93bOpQ8nMvHALHgbE\
             &code_challenge_method=S256&state=466DivMblXWzJpwuAlLTyF0dIKWRTmu1V60NolQ2nX4\
             &scope=openid+profile+email+offline_access+api.connectors.read+api.connectors.invoke\
             &id_token_add_organizations=true&codex_cli_simplified_flow=true&originator=codex_cli_rs"
        );
    }

    #[test]
    fn forced_workspaces_are_one_comma_joined_parameter() {
        let pkce = pkce();
        let ids = vec!["ws-a".to_owned(), "ws-b".to_owned()];
        let url = build_authorize_url(&AuthorizeRequest {
            issuer: "https://auth.example",
            client_id: "app_X",
            redirect_uri: &loopback_redirect_uri(1455),
            pkce: &pkce,
            state: "st",
            originator: "codex_cli_rs",
            allowed_workspace_ids: &ids,
        });
        assert!(url.ends_with("&originator=codex_cli_rs&allowed_workspace_id=ws-a%2Cws-b"));
        assert_eq!(url.matches("allowed_workspace_id").count(), 1);
    }
}
