//! AgentAssertion verification throughput of `codex-emulator` on one core
//! (target: at least 20,000 verifications per second).
//!
//! The emulator's verifier is crate-private, so this drives it the way clients
//! do: authenticated `GET /backend-api/wham/usage` over loopback keep-alive
//! connections. The emulator runs on a single-threaded tokio runtime on its own
//! OS thread, and that thread's CPU time (from `/proc`) is what the figures are
//! divided by, so they are per server core. A Bearer run of the same route is
//! the baseline; the difference is the cost of verifying an assertion.
//!
//! Run with `cargo bench -p codex-agent-identity --bench emulator_verification`
//! (criterion options are accepted and ignored; `BENCH_SECONDS` sets each phase's
//! length, default 3).

// Bench harness code, not library code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use codex_agent_identity::{
    Abom, AgentAssertionAuth, AgentKey, AgentRegistrationRequest, RegistrationClient,
};
use codex_auth_provider::{AuthProvider as _, BearerAuth, SecretString};
use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle, EmulatorStats, IssueTokens};
use http::HeaderMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Requests in flight at once (one keep-alive connection each).
const CONCURRENCY: usize = 16;
/// Linux reports thread CPU time in USER_HZ ticks, which is 100 on every Linux ABI.
const TICKS_PER_SECOND: f64 = 100.0;
const TARGET_PER_SECOND: f64 = 20_000.0;

/// CPU time (user + system) the thread `tid` of this process has used.
fn thread_cpu_time(tid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    Duration::from_secs_f64(ticks / TICKS_PER_SECOND)
}

/// Starts the emulator on a current-thread runtime on a new OS thread; returns
/// its handle, that thread's id, and the sender that stops it.
fn start_emulator_thread() -> (EmulatorHandle, String, tokio::sync::oneshot::Sender<()>) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("emulator".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let handle = Emulator::start(EmulatorConfig::default()).await.unwrap();
                let tid = std::fs::read_link("/proc/thread-self")
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                ready_tx.send((handle, tid)).unwrap();
                let _ = stop_rx.await;
            });
        })
        .unwrap();
    let (handle, tid) = ready_rx.recv().unwrap();
    (handle, tid, stop_tx)
}

struct Phase {
    requests: u64,
    wall: Duration,
    server_cpu: Duration,
}

impl Phase {
    fn per_server_cpu_second(&self) -> f64 {
        self.requests as f64 / self.server_cpu.as_secs_f64()
    }

    fn server_cpu_per_request(&self) -> Duration {
        self.server_cpu.div_f64(self.requests as f64)
    }
}

/// Sends `GET {url}` with `headers` from `CONCURRENCY` tasks for `length`;
/// every response must be 200.
async fn drive(
    http: &reqwest::Client,
    url: &str,
    headers: &HeaderMap,
    length: Duration,
    server_tid: &str,
) -> Phase {
    let cpu_before = thread_cpu_time(server_tid);
    let start = Instant::now();
    let deadline = start + length;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (http, url, headers) = (http.clone(), url.to_owned(), headers.clone());
        workers.spawn(async move {
            let mut sent = 0u64;
            while Instant::now() < deadline {
                let response = http
                    .get(&url)
                    .headers(headers.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
                response.bytes().await.unwrap();
                sent += 1;
            }
            sent
        });
    }
    let mut requests = 0;
    while let Some(sent) = workers.join_next().await {
        requests += sent.unwrap();
    }
    Phase {
        requests,
        wall: start.elapsed(),
        server_cpu: thread_cpu_time(server_tid) - cpu_before,
    }
}

fn report(name: &str, phase: &Phase) {
    println!(
        "  {name:<15} {:>7} requests in {:>5.2} s wall = {:>7.0} req/s; server CPU {:>5.2} s \
         = {:>6.1} us/request = {:>7.0} req per server-CPU-second",
        phase.requests,
        phase.wall.as_secs_f64(),
        phase.requests as f64 / phase.wall.as_secs_f64(),
        phase.server_cpu.as_secs_f64(),
        phase.server_cpu_per_request().as_secs_f64() * 1e6,
        phase.per_server_cpu_second(),
    );
}

fn delta(after: &EmulatorStats, before: &EmulatorStats) -> (u64, u64) {
    (
        after.assertions_ok - before.assertions_ok,
        after.assertions_rejected - before.assertions_rejected,
    )
}

fn main() {
    // `cargo test --benches` runs bench targets without `--bench`: only check that it starts.
    let bench_mode = std::env::args().any(|arg| arg == "--bench");
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if bench_mode { 3.0 } else { 0.2 });
    let length = Duration::from_secs_f64(seconds);

    let (emulator, server_tid, stop) = start_emulator_thread();
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    client_runtime.block_on(async {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(CONCURRENCY)
            .build()
            .unwrap();
        let tokens = emulator.issue_chatgpt_tokens(IssueTokens {
            access_token_ttl_secs: 3600,
            account: None,
        });
        let access_token = SecretString::new(tokens.access_token.clone());
        let key = AgentKey::generate().unwrap();
        let registration =
            RegistrationClient::new(&http, &emulator.urls().authapi_base_url).unwrap();
        let runtime = registration
            .register_agent(
                &access_token,
                false,
                &AgentRegistrationRequest::new(Abom::for_session("0.1.0", "bench"), key.public_key()),
            )
            .await
            .unwrap();
        let task = registration.register_task(&key, &runtime).await.unwrap();
        let url = format!("{}/wham/usage", emulator.urls().chatgpt_base_url);

        // The assertion is minted once (the emulator accepts it for +-5 minutes), so
        // the client thread spends its time on HTTP, not on signing.
        let assertion_headers = AgentAssertionAuth::new(key, runtime, task)
            .with_account_id(&tokens.account_id)
            .auth_headers();
        let bearer_headers = BearerAuth::new(&access_token)
            .with_account_id(Some(&tokens.account_id))
            .auth_headers();

        // Warm-up: open the pooled connections.
        drive(&http, &url, &bearer_headers, length / 4, &server_tid).await;

        let before = emulator.stats();
        let bearer = drive(&http, &url, &bearer_headers, length, &server_tid).await;
        let assertion = drive(&http, &url, &assertion_headers, length, &server_tid).await;
        let (accepted, rejected) = delta(&emulator.stats(), &before);
        assert_eq!(accepted, assertion.requests, "every assertion must verify");
        assert_eq!(rejected, 0);

        let verify_cost =
            assertion.server_cpu_per_request().as_secs_f64() - bearer.server_cpu_per_request().as_secs_f64();
        let verifications_per_second = 1.0 / verify_cost.max(f64::MIN_POSITIVE);
        println!();
        println!(
            "emulator verification ({CONCURRENCY} keep-alive connections, {} s per phase, {} at {}):",
            seconds,
            std::env::consts::ARCH,
            Utc::now().format("%Y-%m-%d %H:%M UTC"),
        );
        report("bearer", &bearer);
        report("agent_assertion", &assertion);
        println!(
            "  verification alone (assertion minus bearer server CPU): {:.1} us = {:.0}/s per core",
            verify_cost * 1e6,
            verifications_per_second
        );
        let end_to_end = assertion.per_server_cpu_second();
        let verdict = if end_to_end >= TARGET_PER_SECOND {
            "PASS (including HTTP)"
        } else if verifications_per_second >= TARGET_PER_SECOND {
            "PASS (verification alone; HTTP serving included it is below)"
        } else {
            "FAIL"
        };
        println!("  target >= {TARGET_PER_SECOND:.0}/s on one core: {verdict}");
    });
    let _ = stop.send(());
}
