//! Review of issue 16 (jsonwebtoken::decode_header replaced the hand-written header read):
//! headers the old code accepted, checked against the 25e3845 behaviour. These tests FAIL on
//! purpose at the reviewed commit; each says what 25e3845 returned.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use codex_agent_identity::{AgentIdentityJwt, AgentKey};

fn b64(json: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
}

/// A JWT with `header` over the claims `jwt_verification` signs, and a dummy signature.
fn jwt_with_header(header: serde_json::Value) -> String {
    let claims = crate::jwt_verification::claims(&AgentKey::generate().unwrap());
    format!("{}.{}.c2ln", b64(&header), b64(&claims))
}

/// 25e3845: `decode_unverified` only required the header to be a JSON object, so a stored
/// token is displayable whatever its `alg`. Now jsonwebtoken's `Header` must deserialize:
/// `alg: none` (or any algorithm jsonwebtoken does not implement) is refused.
#[test]
fn review_decode_unverified_reads_claims_whatever_the_alg() {
    let mut refused = Vec::new();
    for alg in ["none", "ES512", "Ed25519"] {
        let jwt = jwt_with_header(serde_json::json!({"alg": alg, "kid": "k"}));
        if let Err(err) = AgentIdentityJwt::decode_unverified(&jwt) {
            refused.push(format!("alg {alg}: {err:?}"));
        }
    }
    assert!(
        refused.is_empty(),
        "25e3845 decoded the claims of each: {refused:#?}"
    );
}

/// 25e3845: header members other than `alg`/`kid` were ignored. Now a registered member with
/// an unexpected JSON type (`typ: 1`, `x5c: "..."`, `jwk: "..."`) makes the whole header
/// "not a base64url JSON object".
#[test]
fn review_check_shape_ignores_other_header_members() {
    let mut refused = Vec::new();
    for extra in [
        serde_json::json!({"alg":"RS256","kid":"k","typ":1}),
        serde_json::json!({"alg":"RS256","kid":"k","x5c":"not-a-list"}),
        serde_json::json!({"alg":"RS256","kid":"k","jwk":"not-a-jwk"}),
    ] {
        let jwt = jwt_with_header(extra.clone());
        let shape = AgentIdentityJwt::check_shape(&jwt);
        if !matches!(&shape, Ok(header) if header.alg == "RS256" && header.kid.as_deref() == Some("k"))
        {
            refused.push(format!("{extra}: {shape:?}"));
        }
    }
    assert!(
        refused.is_empty(),
        "25e3845 returned Ok(RS256, kid k) for each: {refused:#?}"
    );
}

/// 25e3845: a non-string `alg` read as "" and was refused as `JwtError::Algorithm { found: "" }`
/// ("failed to verify agent identity JWT" in `codex login --with-access-token`); now it is
/// `JwtError::Shape` ("invalid agent identity JWT format").
#[test]
fn review_non_string_alg_is_still_an_algorithm_error() {
    let jwt = jwt_with_header(serde_json::json!({"alg": 5, "kid": "k"}));
    let shape = AgentIdentityJwt::check_shape(&jwt);
    // 25e3845: check_shape was Ok with alg "" and verify refused the algorithm.
    assert!(
        matches!(&shape, Ok(header) if header.alg.is_empty()),
        "25e3845 returned Ok(alg \"\"), now {shape:?}"
    );
}
