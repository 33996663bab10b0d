//! Behaviour of the providers shipped with the crate.

use codex_auth_provider::headers::{AUTHORIZATION, CHATGPT_ACCOUNT_ID, X_OPENAI_FEDRAMP};
use codex_auth_provider::{
    AuthProvider, AuthSource, BearerAuth, NoAuth, RecoveryOutcome, SecretString,
    SharedAuthProvider, SharedAuthSource, StaticAuthSource, UnauthorizedContext,
};
use http::HeaderMap;
use std::sync::Arc;

const TOKEN: &str = "sk-test-0123456789abcdef";

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("<bytes>").to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn no_auth_adds_nothing() {
    let mut headers = HeaderMap::new();
    headers.insert("x-existing", "1".parse().unwrap());
    NoAuth.add_auth_headers(&mut headers);
    assert_eq!(
        header_pairs(&headers),
        vec![("x-existing".into(), "1".into())]
    );
    assert!(NoAuth.auth_headers().is_empty());
}

#[test]
fn bearer_alone_writes_only_authorization() {
    let provider = BearerAuth::new(&SecretString::new(TOKEN));
    assert_eq!(
        header_pairs(&provider.auth_headers()),
        vec![("authorization".into(), format!("Bearer {TOKEN}"))]
    );
}

#[test]
fn bearer_with_account_and_fedramp_writes_three_headers() {
    let provider = BearerAuth::new(&SecretString::new(TOKEN))
        .with_account_id(Some("acct-123"))
        .with_fedramp(true);
    assert_eq!(
        header_pairs(&provider.auth_headers()),
        vec![
            ("authorization".into(), format!("Bearer {TOKEN}")),
            ("chatgpt-account-id".into(), "acct-123".into()),
            ("x-openai-fedramp".into(), "true".into()),
        ]
    );
}

#[test]
fn fedramp_header_only_when_flag_set() {
    let provider = BearerAuth::new(&SecretString::new(TOKEN))
        .with_account_id(Some("acct-123"))
        .with_fedramp(false);
    let headers = provider.auth_headers();
    assert!(headers.get(X_OPENAI_FEDRAMP).is_none());
    assert_eq!(headers.len(), 2);
}

#[test]
fn provider_replaces_existing_authorization() {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, "Bearer stale".parse().unwrap());
    BearerAuth::new(&SecretString::new(TOKEN)).add_auth_headers(&mut headers);
    assert_eq!(headers.get_all(AUTHORIZATION).iter().count(), 1);
    assert_eq!(headers[AUTHORIZATION], format!("Bearer {TOKEN}").as_str());
}

#[test]
fn invalid_token_is_left_out_without_panicking() {
    for bad in ["line1\nline2", "tök€n", "tab\u{0}nul", "carriage\rreturn"] {
        let provider = BearerAuth::new(&SecretString::new(bad)).with_account_id(Some("acct-1"));
        let headers = provider.auth_headers();
        assert!(headers.get(AUTHORIZATION).is_none(), "{bad:?} was sent");
        assert!(!provider.has_authorization());
        // The other headers still go out.
        assert_eq!(headers[CHATGPT_ACCOUNT_ID], "acct-1");
    }
}

#[test]
fn invalid_account_id_is_left_out() {
    let provider = BearerAuth::new(&SecretString::new(TOKEN)).with_account_id(Some("a\nb"));
    let headers = provider.auth_headers();
    assert!(headers.get(CHATGPT_ACCOUNT_ID).is_none());
    assert!(headers.get(AUTHORIZATION).is_some());
}

#[test]
fn secret_header_values_are_marked_sensitive() {
    let provider = BearerAuth::new(&SecretString::new(TOKEN)).with_account_id(Some("acct-1"));
    let headers = provider.auth_headers();
    assert!(headers[AUTHORIZATION].is_sensitive());
    assert!(!headers[CHATGPT_ACCOUNT_ID].is_sensitive());
    // A sensitive header value hides itself in Debug output too.
    assert!(!format!("{headers:?}").contains(TOKEN));
}

#[test]
fn debug_output_holds_no_secret() {
    let secret = SecretString::new(TOKEN);
    let provider = BearerAuth::new(&secret).with_account_id(Some("acct-1"));
    let shared: SharedAuthProvider = Arc::new(provider.clone());
    let source = StaticAuthSource::new(shared.clone());
    for rendered in [
        format!("{secret:?}"),
        format!("{secret}"),
        format!("{provider:?}"),
        format!("{shared:?}"),
        format!("{source:?}"),
        format!("{:?}", Some(secret.clone())),
    ] {
        assert!(!rendered.contains(TOKEN), "secret leaked in {rendered}");
        assert!(
            !rendered.contains("0123456789abcdef"),
            "partial leak in {rendered}"
        );
    }
    assert!(format!("{provider:?}").contains("acct-1"));
}

#[test]
fn secret_comparison() {
    let a = SecretString::new("same-value");
    assert_eq!(a, SecretString::new("same-value"));
    assert_ne!(a, SecretString::new("same-valuf"));
    assert_ne!(a, SecretString::new("same"));
    assert!(a.constant_time_eq("same-value"));
    assert_eq!(a.expose(), "same-value");
}

#[tokio::test]
async fn static_source_returns_its_provider_and_never_asks_for_retry() {
    let shared: SharedAuthProvider = Arc::new(BearerAuth::new(&SecretString::new(TOKEN)));
    let source: SharedAuthSource = Arc::new(StaticAuthSource::new(shared));
    let provider = source.current_provider().await.unwrap();
    assert_eq!(
        provider.auth_headers()[AUTHORIZATION],
        format!("Bearer {TOKEN}").as_str()
    );
    let outcome = source
        .recover_unauthorized(&UnauthorizedContext {
            error_code: Some("token_expired".into()),
        })
        .await;
    assert!(matches!(outcome, RecoveryOutcome::GiveUp(_)));
}

/// Compile-time checks: the traits are object-safe and their objects are `Send + Sync`.
#[test]
fn traits_are_object_safe_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_send_sync::<dyn AuthProvider>();
    assert_send_sync::<dyn AuthSource>();
    assert_send_sync::<SharedAuthProvider>();
    assert_send_sync::<SharedAuthSource>();
    assert_send_sync::<BearerAuth>();
    assert_send_sync::<SecretString>();
    let _boxed: Box<dyn AuthProvider> = Box::new(NoAuth);
    fn assert_future_send<F: std::future::Future + Send>(_: F) {}
    let source = StaticAuthSource::new(Arc::new(NoAuth));
    assert_future_send(source.current_provider());
}
