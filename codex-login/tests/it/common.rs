//! Helpers more than one `*_support` family of this binary used to copy; each family
//! re-exports what its tests use, so `use <family>_support::*` keeps working. Helpers shared
//! with other crates' tests (`read_auth_json`, `fake_jwt`, official-CLI discovery, the OS
//! keyring) live in `codex-test-support`.

use codex_auth_provider::SecretString;
use codex_emulator::IssuedTokens;
use codex_login::auth_dot_json::{AuthDotJson, StoredTimestamp, StoredTokens};

pub use codex_test_support::auth_json::read_auth_json;
pub use codex_test_support::jwt::fake_jwt;

/// The managed ChatGPT `auth.json` document for issued tokens.
pub fn chatgpt_document(tokens: &IssuedTokens) -> AuthDotJson {
    let mut document = AuthDotJson::chatgpt(
        StoredTokens::new(
            SecretString::new(tokens.id_token.clone()),
            SecretString::new(tokens.access_token.clone()),
            SecretString::new(tokens.refresh_token.clone()),
            Some(tokens.account_id.clone()),
        ),
        None,
        chrono::Utc::now(),
    );
    document.last_refresh = Some(StoredTimestamp::new(chrono::Utc::now()));
    document
}
