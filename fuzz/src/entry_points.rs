//! What each fuzz target does with its input. Every function takes arbitrary bytes, must
//! never panic on its own, and asserts properties that hold for every input: parsers agree
//! with each other, what parses round-trips, and `Debug` output does not depend on secret
//! values. A failed assertion is a finding.
//!
//! Compiled twice: into the `codex-auth-fuzz` crate (for `cargo fuzz`) and, through
//! `#[path]`, into `codex-login/tests/reliability_fuzz_seeds.rs` (seed corpus on stable).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use codex_agent_identity::{AgentAssertion, AgentIdentityJwt, AgentPublicKey};
use codex_auth_provider::SecretString;
use codex_login::auth_dot_json::{AuthDotJson, StoredAgentIdentity, StoredIdToken};
use codex_login::codex_auth::CodexAuth;
use codex_login::flows::{CallbackParams, PastedInput, parse_pasted_input};
use codex_login::token_claims::{
    AgentIdentityClaims as LoginAgentClaims, IdTokenClaims, PlanType, decode_jwt_payload,
    jwt_expiry,
};

/// The secrets a document holds, and a copy with each replaced by a fixed stand-in.
fn secrets_and_masked(document: &AuthDotJson) -> (Vec<String>, AuthDotJson) {
    let stand_in = || SecretString::new("masked-stand-in");
    let mut secrets = Vec::new();
    let mut masked = document.clone();
    if let Some(key) = masked.openai_api_key.as_mut() {
        secrets.push(key.expose().to_owned());
        *key = stand_in();
    }
    if let Some(tokens) = masked.tokens.as_mut() {
        secrets.push(tokens.access_token.expose().to_owned());
        secrets.push(tokens.refresh_token.expose().to_owned());
        tokens.access_token = stand_in();
        tokens.refresh_token = stand_in();
        if let Some(StoredIdToken::Jwt(jwt)) = tokens.id_token.as_mut() {
            secrets.push(jwt.expose().to_owned());
            *jwt = stand_in();
        }
    }
    match masked.agent_identity.as_mut() {
        Some(StoredAgentIdentity::Jwt(jwt)) => {
            secrets.push(jwt.expose().to_owned());
            *jwt = stand_in().into();
        }
        Some(StoredAgentIdentity::Record(record)) => {
            if let Some(key) = record.agent_private_key.as_mut() {
                secrets.push(key.expose().to_owned());
                *key = stand_in();
            }
        }
        None => {}
    }
    (secrets, masked)
}

/// `auth.json` parsing: what parses is rewritten to bytes that parse to the same document
/// (and rewriting is stable); `Debug` of the document does not depend on its secrets; a
/// snapshot built from it answers every accessor and makes headers without panicking, and its
/// `Debug` shows no secret that is not also a plain claim.
pub fn auth_json(data: &[u8]) {
    let Ok(document) = AuthDotJson::from_json_bytes(data) else {
        return;
    };
    let written = document.to_pretty_json();
    let reparsed = AuthDotJson::from_json_bytes(written.as_bytes())
        .unwrap_or_else(|problem| panic!("our own rewrite does not parse: {problem}"));
    // serde_json keeps `float_roundtrip` on, so even non-integer numbers in unknown
    // fields survive a rewrite exactly.
    assert!(reparsed == document, "the rewrite changed the document");
    assert_eq!(
        reparsed.to_pretty_json(),
        written,
        "rewriting is not stable"
    );

    let (secrets, masked) = secrets_and_masked(&document);
    let masked_debug = format!("{masked:?}");
    assert_eq!(
        format!("{document:?}"),
        masked_debug,
        "Debug of AuthDotJson depends on a secret"
    );

    let Ok(auth) = CodexAuth::from_auth_dot_json(document) else {
        return;
    };
    let _ = (
        auth.auth_mode(),
        auth.account_id(),
        auth.email(),
        auth.chatgpt_user_id(),
        auth.plan_type(),
        auth.access_token_expires_at(),
        auth.last_refresh(),
        auth.is_fedramp_account(),
    );
    let headers = auth.provider().auth_headers();
    let shown = format!("{auth:?} {headers:?}");
    for secret in secrets.iter().filter(|secret| secret.len() >= 16) {
        if shown.contains(secret.as_str()) {
            // Only acceptable when the same text is also a non-secret value (a claim).
            assert!(
                masked_debug.contains(secret.as_str())
                    || auth
                        .email()
                        .is_some_and(|email| email.contains(secret.as_str()))
                    || auth
                        .account_id()
                        .is_some_and(|id| id.contains(secret.as_str()))
                    || auth
                        .chatgpt_user_id()
                        .is_some_and(|id| id.contains(secret.as_str())),
                "a secret of {} bytes shows in Debug of CodexAuth or its headers",
                secret.len()
            );
        }
    }
}

/// Id-token claims: the payload decoder and both claim readers agree on what is a JWT; the
/// expiry is the same whichever way it is read; plan types round-trip; `Debug` of agent
/// identity claims does not depend on the private key.
pub fn id_token_claims(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let payload = decode_jwt_payload(text);
    let claims = IdTokenClaims::parse(text);
    assert_eq!(payload.is_ok(), claims.is_ok(), "decoders disagree");
    assert_eq!(
        payload.as_ref().err(),
        claims.as_ref().err(),
        "decoders give different errors"
    );
    if let Ok(claims) = &claims {
        assert_eq!(claims.expires_at, jwt_expiry(text), "two expiries");
        if let Some(plan) = &claims.plan_type {
            assert_eq!(
                &PlanType::from_wire(plan.as_wire_str()),
                plan,
                "plan does not round-trip"
            );
        }
    }
    let agent = LoginAgentClaims::parse(text);
    assert_eq!(agent.is_ok(), payload.is_ok(), "agent claims disagree");
    if let Ok(agent) = agent {
        let mut masked = agent.clone();
        masked.agent_private_key = agent
            .agent_private_key
            .as_ref()
            .map(|_| SecretString::new("masked"));
        assert_eq!(
            format!("{agent:?}"),
            format!("{masked:?}"),
            "Debug of agent identity claims depends on the private key"
        );
    }
}

/// `AgentAssertion` decoding: what decodes re-encodes (canonically) to a token that decodes to
/// the same assertion, with or without the scheme; its signed message has exactly the three
/// fields; verifying against an unrelated key fails cleanly.
pub fn agent_assertion(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(assertion) = AgentAssertion::decode(text) else {
        return;
    };
    let timestamp = AgentAssertion::format_timestamp(assertion.timestamp);
    let envelope = serde_json::json!({
        "agent_runtime_id": assertion.agent_runtime_id.as_str(),
        "signature": STANDARD.encode(assertion.signature),
        "task_id": assertion.task_id.as_str(),
        "timestamp": timestamp,
    });
    let token = URL_SAFE_NO_PAD.encode(envelope.to_string());
    if token.len() + "AgentAssertion ".len() <= AgentAssertion::MAX_LEN {
        assert_eq!(
            AgentAssertion::decode(&token).as_ref(),
            Ok(&assertion),
            "re-encoded assertion decodes differently"
        );
        assert_eq!(
            AgentAssertion::decode(&format!("AgentAssertion {token}")).as_ref(),
            Ok(&assertion),
            "the scheme changes the decoding"
        );
    }
    let message = assertion.signed_message();
    assert_eq!(
        message,
        format!(
            "{}:{}:{timestamp}",
            assertion.agent_runtime_id.as_str(),
            assertion.task_id.as_str()
        )
    );
    assert_eq!(
        message.matches(':').count(),
        4,
        "ids must not add separators to the signed message"
    );
    assert!(
        assertion
            .verify(&AgentPublicKey::from_bytes([7u8; 32]))
            .is_err(),
        "an unrelated key verified the assertion"
    );
}

/// JWT shape checks: a token whose claims decode has a valid shape; a valid shape is also a
/// JWT for the id-token decoder of `codex-login`; `Debug` of the JWT and of its claims never
/// depends on the secret parts.
pub fn jwt_shape(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let shape = AgentIdentityJwt::check_shape(text);
    let claims = AgentIdentityJwt::decode_unverified(text);
    if claims.is_ok() {
        assert!(shape.is_ok(), "claims decode but the shape is refused");
    }
    if let Ok(header) = &shape {
        assert!(
            decode_jwt_payload(text.trim()).is_ok(),
            "the shape check accepts what the id-token decoder refuses"
        );
        if let Some(kid) = &header.kid {
            assert!(!kid.is_empty());
        }
    }
    assert_eq!(
        format!("{:?}", AgentIdentityJwt::new(text)),
        format!("{:?}", AgentIdentityJwt::new("x")),
        "Debug of AgentIdentityJwt depends on the token"
    );
    if let Ok(claims) = claims {
        let mut masked = claims.clone();
        masked.agent_private_key = SecretString::new("masked");
        assert_eq!(
            format!("{claims:?}"),
            format!("{masked:?}"),
            "Debug of AgentIdentityClaims depends on the private key"
        );
    }
}

/// Callback query parsing: the parameters re-serialise to a query that parses the same;
/// `Debug` does not depend on the code or state; the pasted-input classifier is consistent
/// with the parameters it reports.
pub fn callback_query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let params = CallbackParams::from_query(&text);
    let mut masked = params.clone();
    masked.code = masked.code.map(|_| "m".to_owned());
    masked.state = masked.state.map(|_| "m".to_owned());
    assert_eq!(
        format!("{params:?}"),
        format!("{masked:?}"),
        "Debug of CallbackParams depends on the code or state"
    );
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("code", &params.code),
        ("state", &params.state),
        ("error", &params.error),
        ("error_description", &params.error_description),
    ] {
        if let Some(value) = value {
            query.append_pair(key, value);
        }
    }
    assert_eq!(
        CallbackParams::from_query(&query.finish()),
        params,
        "parameters do not round-trip"
    );
    for line in [
        text.to_string(),
        format!("http://localhost:1455/auth/callback?{text}"),
    ] {
        match parse_pasted_input(&line) {
            PastedInput::BareCode(code) => assert_eq!(code, line.trim()),
            PastedInput::Callback(found) => {
                assert!(found.code.is_some() || found.error.is_some());
            }
            PastedInput::Empty => assert!(line.trim().is_empty()),
            PastedInput::Unrecognized => {}
        }
    }
}
