//! Cost of putting Bearer auth headers on a request (target: at most 200 ns per request).
//!
//! Run with `cargo bench -p codex-auth-provider --bench auth_headers -- --warm-up-time 1 --measurement-time 3`.

use codex_auth_provider::{AuthProvider, BearerAuth, SecretString, SharedAuthProvider};
use criterion::{Criterion, criterion_group, criterion_main};
use http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderValue};
use std::hint::black_box;
use std::sync::Arc;

/// A token the size of a real ChatGPT access token (a ~1.5 KB JWT).
fn access_token() -> SecretString {
    let payload = "eyJhdWQiOlsiaHR0cHM6Ly9hcGkub3BlbmFpLmNvbS92MSJdfQ".repeat(28);
    SecretString::new(format!(
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIiwidHlwIjoiSldUIn0.{payload}.c2lnbmF0dXJl"
    ))
}

const ACCOUNT_ID: &str = "3f1c2a9e-5b7d-4c61-9e0a-8d2f4b6c1a7e";

/// A map holding the headers a Responses API request carries before auth is applied.
fn request_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static("codex_cli_rs/0.1.0 (Linux; x86_64)"),
    );
    headers.insert("originator", HeaderValue::from_static("codex_cli_rs"));
    headers.insert(
        "session_id",
        HeaderValue::from_static("0198c0de-0000-7000-8000-000000000000"),
    );
    headers
}

fn bearer_headers(c: &mut Criterion) {
    let token = access_token();
    let api_key = BearerAuth::new(&SecretString::new(
        "sk-proj-benchmarkbenchmarkbenchmarkbenchmarkbenchmark",
    ));
    let chatgpt = BearerAuth::new(&token).with_account_id(Some(ACCOUNT_ID));
    let fedramp = BearerAuth::new(&token)
        .with_account_id(Some(ACCOUNT_ID))
        .with_fedramp(true);
    let shared: SharedAuthProvider = Arc::new(chatgpt.clone());

    let mut group = c.benchmark_group("bearer_add_auth_headers");
    group.bench_function("api_key/fresh_map", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            black_box(&api_key).add_auth_headers(&mut headers);
            headers
        })
    });
    group.bench_function("chatgpt/fresh_map", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            black_box(&chatgpt).add_auth_headers(&mut headers);
            headers
        })
    });
    group.bench_function("chatgpt_fedramp/fresh_map", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            black_box(&fedramp).add_auth_headers(&mut headers);
            headers
        })
    });
    group.bench_function("chatgpt/reused_map", |b| {
        let mut headers = HeaderMap::new();
        b.iter(|| {
            headers.clear();
            black_box(&chatgpt).add_auth_headers(&mut headers);
            black_box(headers.len())
        })
    });
    group.bench_function("chatgpt/request_map_dyn_provider", |b| {
        // Re-applying onto a full request map replaces the previous values in place.
        let mut headers = request_headers();
        b.iter(|| {
            black_box(&shared).add_auth_headers(&mut headers);
            black_box(headers.len())
        })
    });
    group.bench_function("chatgpt/auth_headers_new_map", |b| {
        b.iter(|| black_box(&chatgpt).auth_headers())
    });
    group.finish();
}

criterion_group!(benches, bearer_headers);
criterion_main!(benches);
