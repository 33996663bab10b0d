//! Cost of loading and parsing `auth.json` (target: at most 50 us).
//!
//! The file holds emulator-issued ChatGPT tokens, so the JWTs have real sizes.
//! Run with `cargo bench -p codex-login --bench auth_json_load -- --warm-up-time 1 --measurement-time 3`.

// Bench harness code, not library code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codex_auth_provider::SecretString;
use codex_emulator::{Emulator, EmulatorConfig, IssueTokens, IssuedTokens};
use codex_login::auth_dot_json::{AuthDotJson, StoredTimestamp, StoredTokens};
use codex_login::environment::env_from_pairs;
use codex_login::storage::{AuthStorage as _, FileAuthStorage};
use codex_login::{
    auth_manager::AuthManager, auth_manager::AuthManagerConfig, codex_auth::CodexAuth,
};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// Tokens from a throwaway emulator (the emulator is only needed to mint them).
fn issued_tokens() -> IssuedTokens {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let tokens = emulator.issue_chatgpt_tokens(IssueTokens {
            access_token_ttl_secs: 3600,
            account: None,
        });
        emulator.shutdown().await;
        tokens
    })
}

fn chatgpt_document(tokens: &IssuedTokens) -> AuthDotJson {
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

fn auth_json_load(c: &mut Criterion) {
    let home = tempfile::tempdir().unwrap();
    let storage = FileAuthStorage::new(home.path());
    storage.save(&chatgpt_document(&issued_tokens())).unwrap();
    let bytes = std::fs::read(storage.path()).unwrap();
    println!("auth.json: {} bytes", bytes.len());

    let mut group = c.benchmark_group("auth_json");
    group.bench_function("parse_bytes", |b| {
        b.iter(|| AuthDotJson::from_json_bytes(black_box(&bytes)).unwrap())
    });
    group.bench_function("file_load_and_parse", |b| {
        b.iter(|| black_box(&storage).load().unwrap().unwrap())
    });
    group.bench_function("file_load_parse_to_codex_auth", |b| {
        b.iter(|| {
            let document = black_box(&storage).load().unwrap().unwrap();
            CodexAuth::from_auth_dot_json(document).unwrap()
        })
    });
    group.bench_function("auth_manager_new", |b| {
        // The whole start-up path: environment, in-memory store, then the file.
        let mut config = AuthManagerConfig::new(home.path());
        config.env = env_from_pairs([("TERM", "xterm")]);
        b.iter(|| {
            let manager = AuthManager::new(config.clone());
            assert!(manager.auth_cached().is_some());
            manager
        })
    });
    group.finish();
}

criterion_group!(benches, auth_json_load);
criterion_main!(benches);
