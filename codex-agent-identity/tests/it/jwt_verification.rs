//! Agent identity JWT verification against a JWKS served by wiremock, signed
//! with the test-only RSA key in tests/fixtures.

// Test helpers outside #[test] fns may unwrap too (clippy.toml only covers the fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use codex_agent_identity::{AgentIdentityClaims, AgentIdentityJwt, AgentKey, JwksCache, JwtError};
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KID: &str = "test-key";

fn rsa_key() -> EncodingKey {
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/test_only_rsa_2048.pem"
    ))
    .unwrap();
    EncodingKey::from_rsa_pem(&pem).unwrap()
}

fn jwks() -> serde_json::Value {
    let mut jwk = Jwk::from_encoding_key(&rsa_key(), Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(KID.to_owned());
    jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    serde_json::json!({ "keys": [jwk] })
}

pub(crate) fn claims(agent_key: &AgentKey) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    serde_json::json!({
        "iss": AgentIdentityClaims::ISSUER,
        "aud": AgentIdentityClaims::AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "agent_runtime_id": "ar_jwt",
        "agent_private_key": agent_key.to_pkcs8_base64().expose(),
        "account_id": "acct-1",
        "chatgpt_user_id": "user-1",
        "email": "user@example.com",
        "plan_type": "plus",
        "chatgpt_account_is_fedramp": false,
    })
}

fn sign(claims: &serde_json::Value, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &rsa_key()).unwrap()
}

fn b64(json: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
}

async fn jwks_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/agent-identities/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks()))
        .mount(&server)
        .await;
    server
}

fn jwks_base(server: &MockServer) -> String {
    format!("{}/backend-api/wham", server.uri())
}

async fn verify(
    server: &MockServer,
    jwt: &str,
) -> Result<codex_agent_identity::AgentIdentityClaims, JwtError> {
    JwksCache::new()
        .verify(&reqwest::Client::new(), &jwks_base(server), jwt)
        .await
}

#[tokio::test]
async fn valid_jwt_verifies_and_yields_the_identity() {
    let server = jwks_server().await;
    let agent_key = AgentKey::generate().unwrap();
    let verified = verify(&server, &sign(&claims(&agent_key), Some(KID)))
        .await
        .unwrap();
    assert_eq!(verified.agent_runtime_id.as_str(), "ar_jwt");
    assert_eq!(verified.account_id, "acct-1");
    assert_eq!(verified.chatgpt_user_id, "user-1");
    assert_eq!(verified.email.as_deref(), Some("user@example.com"));
    assert_eq!(verified.plan_type, "plus");
    assert!(!verified.chatgpt_account_is_fedramp);
    assert_eq!(verified.key().unwrap().public_key(), agent_key.public_key());
    assert!(!format!("{verified:?}").contains(agent_key.to_pkcs8_base64().expose()));
    let record = verified.to_record(None);
    assert_eq!(record.runtime(), Some("ar_jwt"));
}

#[tokio::test]
async fn jwks_is_fetched_once_per_cache() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/agent-identities/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks()))
        .expect(1)
        .mount(&server)
        .await;
    let cache = JwksCache::new();
    let http = reqwest::Client::new();
    let jwt = sign(&claims(&AgentKey::generate().unwrap()), Some(KID));
    for _ in 0..3 {
        cache
            .verify(&http, &jwks_base(&server), &jwt)
            .await
            .unwrap();
    }
    // An unknown kid right after a fetch is refused without another fetch.
    let unknown = sign(&claims(&AgentKey::generate().unwrap()), Some("rotated"));
    assert_eq!(
        cache.verify(&http, &jwks_base(&server), &unknown).await,
        Err(JwtError::UntrustedKid {
            kid: "rotated".into()
        })
    );
}

#[tokio::test]
async fn untrusted_or_missing_kid_is_rejected() {
    let server = jwks_server().await;
    let claims = claims(&AgentKey::generate().unwrap());
    assert_eq!(
        verify(&server, &sign(&claims, Some("someone-else"))).await,
        Err(JwtError::UntrustedKid {
            kid: "someone-else".into()
        })
    );
    assert_eq!(
        verify(&server, &sign(&claims, None)).await,
        Err(JwtError::MissingKid)
    );
}

#[tokio::test]
async fn alg_none_and_hs256_are_rejected() {
    let server = jwks_server().await;
    let claims = claims(&AgentKey::generate().unwrap());
    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT", "kid": KID})),
        b64(&claims)
    );
    // Shape check refuses the empty signature part outright.
    assert!(matches!(
        verify(&server, &none).await,
        Err(JwtError::Shape(_))
    ));
    let none_with_sig = format!("{none}c2ln");
    assert_eq!(
        verify(&server, &none_with_sig).await,
        Err(JwtError::Algorithm {
            found: "none".into()
        })
    );

    // HS256 keyed with the public modulus: the classic algorithm-confusion forgery.
    let n = jwks()["keys"][0]["n"].as_str().unwrap().to_owned();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KID.to_owned());
    let hs256 =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(n.as_bytes())).unwrap();
    assert_eq!(
        verify(&server, &hs256).await,
        Err(JwtError::Algorithm {
            found: "HS256".into()
        })
    );
}

#[tokio::test]
async fn wrong_issuer_audience_and_expired_are_rejected() {
    let server = jwks_server().await;
    let base = claims(&AgentKey::generate().unwrap());
    let with = |field: &str, value: serde_json::Value| {
        let mut claims = base.clone();
        claims[field] = value;
        sign(&claims, Some(KID))
    };
    let without = |field: &str| {
        let mut claims = base.clone();
        claims.as_object_mut().unwrap().remove(field);
        sign(&claims, Some(KID))
    };
    assert_eq!(
        verify(
            &server,
            &with("iss", "https://evil.example/agent-identity".into())
        )
        .await,
        Err(JwtError::Issuer)
    );
    assert_eq!(
        verify(&server, &with("aud", "someone-else".into())).await,
        Err(JwtError::Audience)
    );
    assert_eq!(
        verify(&server, &without("iss")).await,
        Err(JwtError::Issuer)
    );
    assert_eq!(
        verify(&server, &without("aud")).await,
        Err(JwtError::Audience)
    );
    let past = chrono::Utc::now().timestamp() - 3600;
    assert_eq!(
        verify(&server, &with("exp", past.into())).await,
        Err(JwtError::Expired)
    );
    assert!(matches!(
        verify(&server, &without("exp")).await,
        Err(JwtError::Claims(_))
    ));
}

#[tokio::test]
async fn tampered_payload_fails_the_signature_check() {
    let server = jwks_server().await;
    let jwt = sign(&claims(&AgentKey::generate().unwrap()), Some(KID));
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["account_id"] = "acct-evil".into();
    parts[1] = b64(&payload);
    assert_eq!(
        verify(&server, &parts.join(".")).await,
        Err(JwtError::Signature)
    );
}

#[tokio::test]
async fn bad_identity_claims_are_typed_errors() {
    let server = jwks_server().await;
    let mut claims = claims(&AgentKey::generate().unwrap());
    claims["agent_private_key"] = "bm90IGEga2V5".into();
    assert!(matches!(
        verify(&server, &sign(&claims, Some(KID))).await,
        Err(JwtError::PrivateKey(_))
    ));
    claims["agent_private_key"] = AgentKey::generate()
        .unwrap()
        .to_pkcs8_base64()
        .expose()
        .into();
    claims["agent_runtime_id"] = "ar:ambiguous".into();
    assert!(matches!(
        verify(&server, &sign(&claims, Some(KID))).await,
        Err(JwtError::Id(_))
    ));
    claims.as_object_mut().unwrap().remove("chatgpt_user_id");
    claims["agent_runtime_id"] = "ar_ok".into();
    assert_eq!(
        verify(&server, &sign(&claims, Some(KID))).await,
        Err(JwtError::Claims("missing claim chatgpt_user_id".into()))
    );
}

#[tokio::test]
async fn jwks_failures_and_insecure_urls_are_typed_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("down"))
        .mount(&server)
        .await;
    let jwt = sign(&claims(&AgentKey::generate().unwrap()), Some(KID));
    assert_eq!(
        verify(&server, &jwt).await,
        Err(JwtError::JwksUnavailable("HTTP 500: down".into()))
    );
    let err = JwksCache::new()
        .verify(
            &reqwest::Client::new(),
            "http://jwks.example.com/backend-api/wham",
            &jwt,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, JwtError::Endpoint(_)), "{err:?}");
}

#[test]
fn unverified_decode_reads_claims_for_display() {
    let agent_key = AgentKey::generate().unwrap();
    let mut claims = claims(&agent_key);
    claims["email"] = "".into();
    let jwt = sign(&claims, Some(KID));
    let header = AgentIdentityJwt::check_shape(&jwt).unwrap();
    assert_eq!(header.alg, "RS256");
    assert_eq!(header.kid.as_deref(), Some(KID));
    let decoded = AgentIdentityJwt::decode_unverified(&jwt).unwrap();
    assert_eq!(decoded.agent_runtime_id.as_str(), "ar_jwt");
    assert_eq!(decoded.email, None, "an empty email reads as none");
}

#[tokio::test]
async fn a_token_not_valid_yet_is_rejected_within_the_exp_leeway() {
    let server = jwks_server().await;
    let base = claims(&AgentKey::generate().unwrap());
    let with_nbf = |offset: i64| {
        let mut claims = base.clone();
        claims["nbf"] = (chrono::Utc::now().timestamp() + offset).into();
        sign(&claims, Some(KID))
    };
    assert_eq!(
        verify(&server, &with_nbf(3600)).await,
        Err(JwtError::NotYetValid),
        "a JWT valid only from an hour on must be refused"
    );
    // Clock skew within the leeway `exp` gets is tolerated.
    assert!(verify(&server, &with_nbf(10)).await.is_ok());
    assert!(verify(&server, &with_nbf(-10)).await.is_ok());
}

/// A JWKS endpoint that answers 200 and then streams a chunked body forever.
async fn endless_jwks_server() -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/backend-api/wham", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            transfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                // Endless: stops only when the client hangs up.
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    (base, task)
}

#[tokio::test]
async fn an_endless_jwks_body_is_cut_off_at_the_cap() {
    let (base, server) = endless_jwks_server().await;
    let jwt = format!(
        "{}.{}.c2ln",
        b64(&serde_json::json!({"alg": "RS256", "kid": KID})),
        b64(&serde_json::json!({"sub": "x"}))
    );
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        JwksCache::new().verify(&reqwest::Client::new(), &base, &jwt),
    )
    .await
    .expect("verification must give up on an endless JWKS body, not read it forever");
    let Err(JwtError::JwksUnavailable(message)) = result else {
        panic!("expected JwksUnavailable, got {result:?}");
    };
    assert!(message.contains("larger than 1 MiB"), "{message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    server.abort();
}
