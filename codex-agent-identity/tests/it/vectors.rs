//! Fixed vectors and cross-implementation key interop.
//!
//! The literal values below were computed independently with Python
//! `cryptography` 48.0 (Ed25519 is deterministic):
//! ```python
//! k = Ed25519PrivateKey.from_private_bytes(bytes([7] * 32))
//! sig = base64.b64encode(k.sign(b"agent-runtime-7:task-7:2026-11-21T02:54:54Z"))
//! json.dumps({...}, separators=(",", ":"))  # keys in sorted order
//! ```

// Test helpers outside #[test] fns may unwrap too (clippy.toml only covers the fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use codex_agent_identity::{
    AgentAssertion, AgentAssertionAuth, AgentKey, AgentPublicKey, AgentRuntimeId, KeyError, TaskId,
    TaskRegistrationBody,
};
use codex_auth_provider::AuthProvider as _;
use ring::signature::{ED25519, UnparsedPublicKey};
use std::path::{Path, PathBuf};
use std::process::Command;

const SEED: [u8; 32] = [7u8; 32];
const RUNTIME: &str = "agent-runtime-7";
const TASK: &str = "task-7";
const TIMESTAMP: &str = "2026-11-21T02:54:54Z";
const EXPECTED_JSON: &str = r#"{"agent_runtime_id":"agent-runtime-7","signature":"LusXR0bsQJkL4uOwY73dFehAi81wsOgAiWgeFiKTPnLJnBcTfh7TJ4UX0KomO7KcuGaNRJSfqMWzVQ/W7StmDA==","task_id":"task-7","timestamp":"2026-11-21T02:54:54Z"}"#;
const EXPECTED_TOKEN: &str = "eyJhZ2VudF9ydW50aW1lX2lkIjoiYWdlbnQtcnVudGltZS03Iiwic2lnbmF0dXJlIjoiTHVzWFIwYnNRSmtMNHVPd1k3M2RGZWhBaTgxd3NPZ0FpV2dlRmlLVFBuTEpuQmNUZmg3VEo0VVgwS29tTzdLY3VHYU5SSlNmcU1XelZRL1c3U3RtREE9PSIsInRhc2tfaWQiOiJ0YXNrLTciLCJ0aW1lc3RhbXAiOiIyMDI2LTExLTIxVDAyOjU0OjU0WiJ9";
const EXPECTED_SSH: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";
const EXPECTED_FINGERPRINT: &str = "SHA256:z/fSv0Z0RZS+Lccbc6ZoOWwt/fbj1VFJGSBKQbo4icE";
const EXPECTED_PKCS8_V1: &str = "MC4CAQAwBQYDK2VwBCIEIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH";
const EXPECTED_TASK_SIGNATURE: &str =
    "QtODgRL765mXJQLwicoPklrsMBK/tZ9zQSY1lcYIi1NOuECaZV2wEW6QmSSEWQRHHjrC3XECQ3A5NfLdP+t8Ag==";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn fixed_key() -> AgentKey {
    AgentKey::from_seed(&SEED).unwrap()
}

#[test]
fn assertion_from_fixed_seed_is_the_exact_token_and_json() {
    let key = fixed_key();
    let runtime = AgentRuntimeId::new(RUNTIME).unwrap();
    let task = TaskId::new(TASK).unwrap();
    let at = AgentAssertion::parse_timestamp(TIMESTAMP).unwrap();

    let token = AgentAssertion::mint(&key, &runtime, &task, at);
    assert_eq!(token.expose(), EXPECTED_TOKEN);
    let json = URL_SAFE_NO_PAD.decode(token.expose()).unwrap();
    assert_eq!(std::str::from_utf8(&json).unwrap(), EXPECTED_JSON);

    let header = AgentAssertion::authorization_value(&key, &runtime, &task, at);
    assert_eq!(header.expose(), format!("AgentAssertion {EXPECTED_TOKEN}"));
}

#[test]
fn assertion_signature_verifies_with_ring_directly() {
    let json: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(EXPECTED_TOKEN).unwrap()).unwrap();
    let message = format!(
        "{}:{}:{}",
        json["agent_runtime_id"].as_str().unwrap(),
        json["task_id"].as_str().unwrap(),
        json["timestamp"].as_str().unwrap()
    );
    let signature = STANDARD
        .decode(json["signature"].as_str().unwrap())
        .unwrap();
    let public = fixed_key().public_key().as_bytes().to_vec();
    UnparsedPublicKey::new(&ED25519, &public)
        .verify(message.as_bytes(), &signature)
        .expect("ring verifies the assertion signature");
    assert!(
        UnparsedPublicKey::new(&ED25519, &public)
            .verify(b"agent-runtime-7:task-8:2026-11-21T02:54:54Z", &signature)
            .is_err()
    );
}

#[test]
fn decoding_the_vector_returns_its_fields_and_verifies() {
    let decoded = AgentAssertion::decode(&format!("AgentAssertion {EXPECTED_TOKEN}")).unwrap();
    assert_eq!(decoded.agent_runtime_id.as_str(), RUNTIME);
    assert_eq!(decoded.task_id.as_str(), TASK);
    assert_eq!(
        decoded.timestamp,
        AgentAssertion::parse_timestamp(TIMESTAMP).unwrap()
    );
    assert_eq!(
        decoded.signed_message(),
        "agent-runtime-7:task-7:2026-11-21T02:54:54Z"
    );
    decoded.verify(fixed_key().public_key()).unwrap();
    let other = AgentKey::from_seed(&[8u8; 32]).unwrap();
    assert!(decoded.verify(other.public_key()).is_err());
}

#[test]
fn task_registration_signature_vector() {
    let runtime = AgentRuntimeId::new(RUNTIME).unwrap();
    let body = TaskRegistrationBody::sign(
        &fixed_key(),
        &runtime,
        AgentAssertion::parse_timestamp(TIMESTAMP).unwrap(),
    );
    assert_eq!(body.timestamp, TIMESTAMP);
    assert_eq!(body.signature, EXPECTED_TASK_SIGNATURE);
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        format!(r#"{{"timestamp":"{TIMESTAMP}","signature":"{EXPECTED_TASK_SIGNATURE}"}}"#)
    );
}

#[test]
fn public_key_forms_and_pkcs8_v1_vector() {
    let key = fixed_key();
    assert_eq!(key.public_key_ssh(), EXPECTED_SSH);
    assert_eq!(key.fingerprint(), EXPECTED_FINGERPRINT);
    assert_eq!(key.to_pkcs8_base64().expose(), EXPECTED_PKCS8_V1);
    assert_eq!(AgentKey::pkcs8_version(&key.to_pkcs8_der()).unwrap(), 1);
}

#[test]
fn provider_adds_assertion_account_and_fedramp_headers() {
    let auth = AgentAssertionAuth::new(
        fixed_key(),
        AgentRuntimeId::new(RUNTIME).unwrap(),
        TaskId::new(TASK).unwrap(),
    )
    .with_account_id("acct-1")
    .with_fedramp(true);
    let headers = auth.auth_headers();
    let authorization = headers.get("authorization").unwrap();
    assert!(authorization.is_sensitive());
    let decoded = AgentAssertion::decode(authorization.to_str().unwrap()).unwrap();
    decoded.verify(fixed_key().public_key()).unwrap();
    let age = chrono::Utc::now() - decoded.timestamp;
    assert!(age.num_seconds().abs() <= 5, "timestamp is fresh: {age}");
    assert_eq!(headers.get("chatgpt-account-id").unwrap(), "acct-1");
    assert_eq!(headers.get("x-openai-fedramp").unwrap(), "true");

    let plain = AgentAssertionAuth::new(
        fixed_key(),
        AgentRuntimeId::new(RUNTIME).unwrap(),
        TaskId::new(TASK).unwrap(),
    );
    assert!(plain.auth_headers().get("x-openai-fedramp").is_none());
    assert!(!format!("{auth:?}").contains(EXPECTED_PKCS8_V1));
}

#[test]
fn python_cryptography_pkcs8_key_loads() {
    // Generated with Python `cryptography` 48.0; see tests/fixtures/README.md.
    let key = AgentKey::from_pkcs8_base64(&read_fixture("python_cryptography_ed25519.pkcs8.b64"))
        .unwrap();
    assert_eq!(
        key.public_key_ssh(),
        read_fixture("python_cryptography_ed25519.pub").trim()
    );
}

#[test]
fn openssl_pkcs8_pem_key_loads() {
    // Generated with `openssl genpkey -algorithm ed25519`; see tests/fixtures/README.md.
    let pem = read_fixture("openssl_ed25519.pem");
    let key = AgentKey::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(
        key.public_key_ssh(),
        read_fixture("openssl_ed25519.pub").trim()
    );
    // The same key as bare base64 DER (PEM stripped).
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let again = AgentKey::from_pkcs8_base64(&body).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    assert_eq!(
        AgentKey::from_pkcs8_pem(
            "-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----"
        )
        .err(),
        Some(KeyError::Pem)
    );
}

#[test]
fn ring_pkcs8_v2_key_loads() {
    let rng = ring::rand::SystemRandom::new();
    let der = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(der.as_ref()).unwrap();
    assert_eq!(AgentKey::pkcs8_version(der.as_ref()).unwrap(), 2);
    let key = AgentKey::from_pkcs8_der(der.as_ref()).unwrap();
    use ring::signature::KeyPair as _;
    assert_eq!(&key.public_key().as_bytes()[..], pair.public_key().as_ref());
    // And what we write back is v1 that ring also reads.
    let ours = key.to_pkcs8_der();
    let back = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&ours).unwrap();
    assert_eq!(back.public_key().as_ref(), pair.public_key().as_ref());
}

#[test]
fn garbage_keys_are_typed_errors() {
    assert_eq!(
        AgentKey::from_pkcs8_base64("not base64!").err(),
        Some(KeyError::Base64)
    );
    assert!(matches!(
        AgentKey::from_pkcs8_base64("AAAA"),
        Err(KeyError::Pkcs8(_))
    ));
    assert!(AgentPublicKey::from_ssh("ssh-ed25519").is_err());
}

fn python_has_cryptography() -> bool {
    Command::new("python3")
        .args([
            "-c",
            "import cryptography.hazmat.primitives.asymmetric.ed25519",
        ])
        .output()
        .map(|out| out.status.success())
        .unwrap_or(false)
}

#[test]
fn our_key_loads_in_python_cryptography() {
    if !python_has_cryptography() {
        eprintln!("SKIPPED: python3 with the `cryptography` module is not available");
        return;
    }
    let key = AgentKey::generate().unwrap();
    let message = "signed by python";
    let script = r#"
import base64, sys
from cryptography.hazmat.primitives import serialization as s
key = s.load_der_private_key(base64.b64decode(sys.argv[1]), password=None)
pub = key.public_key().public_bytes(s.Encoding.OpenSSH, s.PublicFormat.OpenSSH).decode()
print(pub)
print(base64.b64encode(key.sign(sys.argv[2].encode())).decode())
"#;
    let out = Command::new("python3")
        .args(["-c", script, key.to_pkcs8_base64().expose(), message])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    assert_eq!(lines.next().unwrap(), key.public_key_ssh());
    key.public_key()
        .verify_base64(message.as_bytes(), lines.next().unwrap())
        .expect("python's signature with our key verifies with our public key");
}

#[test]
fn our_key_loads_in_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let der_path = dir.path().join("key.der");
    let key = AgentKey::generate().unwrap();
    std::fs::write(&der_path, key.to_pkcs8_der().as_slice()).unwrap();
    let out = match Command::new("openssl")
        .args(["pkey", "-inform", "DER", "-in"])
        .arg(&der_path)
        .args(["-pubout", "-outform", "DER"])
        .output()
    {
        Ok(out) => out,
        Err(err) => {
            eprintln!("SKIPPED: openssl is not available: {err}");
            return;
        }
    };
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // SubjectPublicKeyInfo for Ed25519 ends with the 32 raw key bytes.
    assert_eq!(out.stdout.len(), 44);
    assert_eq!(&out.stdout[12..], &key.public_key().as_bytes()[..]);
}

#[test]
fn fingerprint_matches_ssh_keygen() {
    let dir = tempfile::tempdir().unwrap();
    let pub_path = dir.path().join("key.pub");
    let key = AgentKey::generate().unwrap();
    std::fs::write(&pub_path, format!("{} test\n", key.public_key_ssh())).unwrap();
    let out = match Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(&pub_path)
        .output()
    {
        Ok(out) => out,
        Err(err) => {
            eprintln!("SKIPPED: ssh-keygen is not available: {err}");
            return;
        }
    };
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    // "256 SHA256:<fp> test (ED25519)"
    assert_eq!(
        stdout.split_whitespace().nth(1),
        Some(key.fingerprint().as_str())
    );
}
