//! Cost of the `AgentAssertion` provider against its physical floor, a bare ring
//! Ed25519 signature of the same message (target: at most 1.3x the signature).
//!
//! Run with `cargo bench -p codex-agent-identity --bench agent_assertion -- --warm-up-time 1 --measurement-time 3`.
//! After the criterion groups, an interleaved A/B run prints the provider/signature
//! ratio measured in the same process, which is what the target is judged on.

// Bench harness code, not library code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use codex_agent_identity::{AgentAssertion, AgentAssertionAuth, AgentKey, AgentRuntimeId, TaskId};
use codex_auth_provider::AuthProvider as _;
use criterion::Criterion;
use http::HeaderMap;
use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SEED: [u8; 32] = [7u8; 32];
/// Ids shaped like the ones the accounts service hands out.
const RUNTIME: &str = "agrt_01JQ7Z8X3K9M2N4P6R8T0V2W4Y";
const TASK: &str = "task_e_6f2d1c0b9a8e7d6c5b4a39281706f5e4";
const ACCOUNT_ID: &str = "3f1c2a9e-5b7d-4c61-9e0a-8d2f4b6c1a7e";

struct Fixture {
    ring_pair: Ed25519KeyPair,
    key: AgentKey,
    runtime: AgentRuntimeId,
    task: TaskId,
    provider: AgentAssertionAuth,
}

impl Fixture {
    fn new() -> Self {
        let key = AgentKey::from_seed(&SEED).unwrap();
        let runtime = AgentRuntimeId::new(RUNTIME).unwrap();
        let task = TaskId::new(TASK).unwrap();
        let provider = AgentAssertionAuth::new(key.clone(), runtime.clone(), task.clone())
            .with_account_id(ACCOUNT_ID);
        Self {
            ring_pair: Ed25519KeyPair::from_seed_unchecked(&SEED).unwrap(),
            key,
            runtime,
            task,
            provider,
        }
    }

    /// The message the provider signs right now.
    fn message_now(&self) -> Vec<u8> {
        AgentAssertion::message_to_sign(
            &self.runtime,
            &self.task,
            &AgentAssertion::format_timestamp(Utc::now()),
        )
        .into_bytes()
    }
}

fn assertion_minting(c: &mut Criterion) {
    let f = Fixture::new();
    let message = f.message_now();
    let at = Utc::now();

    let mut group = c.benchmark_group("agent_assertion");
    group.bench_function("ring_ed25519_sign (floor)", |b| {
        b.iter(|| f.ring_pair.sign(black_box(&message)))
    });
    group.bench_function("mint_token_fixed_time", |b| {
        b.iter(|| AgentAssertion::mint(&f.key, &f.runtime, &f.task, black_box(at)))
    });
    group.bench_function("add_auth_headers/reused_map", |b| {
        let mut headers = HeaderMap::new();
        b.iter(|| {
            black_box(&f.provider).add_auth_headers(&mut headers);
            black_box(headers.len())
        })
    });
    group.bench_function("add_auth_headers/fresh_map", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            black_box(&f.provider).add_auth_headers(&mut headers);
            headers
        })
    });
    group.finish();
}

fn assertion_verification(c: &mut Criterion) {
    let f = Fixture::new();
    let header = f.provider.authorization_at(Utc::now());
    let message = f.message_now();
    let signature = f.ring_pair.sign(&message);
    let public = UnparsedPublicKey::new(&ED25519, *f.key.public_key().as_bytes());

    let mut group = c.benchmark_group("agent_assertion_verify");
    group.bench_function("ring_ed25519_verify (floor)", |b| {
        b.iter(|| public.verify(black_box(&message), signature.as_ref()))
    });
    group.bench_function("decode_and_verify", |b| {
        b.iter(|| {
            let assertion = AgentAssertion::decode(black_box(header.expose())).unwrap();
            assertion.verify(f.key.public_key())
        })
    });
    group.finish();
}

/// Runs `op` `n` times and returns the elapsed time.
fn time_n(n: u32, mut op: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        op();
    }
    start.elapsed()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Interleaves batches of bare signatures and provider calls so both see the
/// same machine load, then prints per-call medians and their ratio.
fn interleaved_ratio() {
    const ROUNDS: usize = 41;
    const BATCH: u32 = 400;
    const TARGET: f64 = 1.3;
    let f = Fixture::new();
    let message = f.message_now();
    let mut headers = HeaderMap::new();
    let mut sign = Vec::with_capacity(ROUNDS);
    let mut provider = Vec::with_capacity(ROUNDS);
    let mut ratios = Vec::with_capacity(ROUNDS);
    for _ in 0..3 {
        // Warm-up.
        time_n(BATCH, || {
            let _ = black_box(f.ring_pair.sign(black_box(&message)));
        });
        time_n(BATCH, || {
            f.provider.add_auth_headers(black_box(&mut headers))
        });
    }
    for _ in 0..ROUNDS {
        let s = time_n(BATCH, || {
            let _ = black_box(f.ring_pair.sign(black_box(&message)));
        });
        let p = time_n(BATCH, || {
            f.provider.add_auth_headers(black_box(&mut headers))
        });
        let s = s.as_secs_f64() * 1e9 / f64::from(BATCH);
        let p = p.as_secs_f64() * 1e9 / f64::from(BATCH);
        sign.push(s);
        provider.push(p);
        ratios.push(p / s);
    }
    let sign_ns = median(&mut sign);
    let provider_ns = median(&mut provider);
    let ratio = median(&mut ratios);
    let verdict = if ratio <= TARGET { "PASS" } else { "FAIL" };
    println!();
    println!("interleaved A/B ({ROUNDS} rounds x {BATCH} calls, medians):");
    println!("  ring Ed25519 sign:                 {sign_ns:>9.0} ns");
    println!("  AgentAssertionAuth::add_auth_headers: {provider_ns:>6.0} ns");
    println!("  ratio provider/sign: {ratio:.3} (target <= {TARGET}) {verdict}");
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    assertion_minting(&mut criterion);
    assertion_verification(&mut criterion);
    criterion.final_summary();
    // `cargo bench` passes `--bench`; `cargo test --benches` runs each bench once without it,
    // and `--profile-time` (for profilers) wants nothing but the selected benchmark.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|arg| arg == "--bench") && !args.iter().any(|arg| arg == "--profile-time") {
        interleaved_ratio();
    }
}
