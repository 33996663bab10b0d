//! `cargo xtask bench`: whole-process timings of the `codex` binary.
//!
//! Builds the release `codex` and `codex-emulator`, then measures two pairs in
//! one run, interleaved round by round so both sides of a ratio see the same
//! machine load:
//!
//! - offline: `codex token` (and `whoami`, `login status`) with a valid
//!   ChatGPT `auth.json` against the official CLI's `codex login status`
//!   (`CODEX_OFFICIAL_BIN`, or the copy `.ci/run` installs under
//!   `target/official-codex`) — target ≤ ⅓ of its wall time and ≤ 10 MiB;
//! - live: `codex whoami --check` (one `GET /usage` to the emulator's backend)
//!   against `curl` sending the same request with the same headers (from
//!   `codex token --headers`) — target ≤ 1.2×.
//!
//! Every process runs with a cleared environment pointing only at loopback (a
//! private `HOME`, dead proxies for anything not loopback, every endpoint on
//! loopback). Peak memory is the child's `ru_maxrss` (`getrusage` of a
//! measuring child). The results replace the marked section of
//! `docs/PERFORMANCE.md`.

mod live;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 41;
const WARM_UP: usize = 3;
const START_MARKER: &str = "<!-- xtask-bench:start -->";
const END_MARKER: &str = "<!-- xtask-bench:end -->";
/// A dead loopback address: endpoints nobody set point here, never at a real host.
const DEAD: &str = "http://127.0.0.1:9";

/// One command to time.
pub(crate) struct Bench {
    label: String,
    program: PathBuf,
    args: Vec<String>,
    home: PathBuf,
}

impl Bench {
    fn new(label: &str, program: &Path, args: &[&str], home: &Path) -> Self {
        Self {
            label: label.to_owned(),
            program: program.to_path_buf(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            home: home.to_path_buf(),
        }
    }

    /// The command, isolated (see [`isolate`]).
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        isolate(&mut command, &self.home);
        command
    }
}

/// One measured command.
struct Measurement {
    label: String,
    median: Duration,
    peak_rss_kib: u64,
}

/// Clears the environment and points everything at loopback: `CODEX_HOME`,
/// a private `HOME` inside it, dead proxies for anything that is not
/// loopback, and every token or identity endpoint on a dead loopback port.
pub(crate) fn isolate(command: &mut Command, home: &Path) {
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.join("home"))
        .env("CODEX_HOME", home)
        .env("NO_BROWSER", "1")
        .env("HTTPS_PROXY", DEAD)
        .env("HTTP_PROXY", DEAD)
        .env("ALL_PROXY", DEAD)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env(
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            format!("{DEAD}/oauth/token"),
        )
        .env(
            "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
            format!("{DEAD}/oauth/revoke"),
        )
        .env(
            "CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL",
            format!("{DEAD}/api/accounts"),
        )
        .env(
            "CODEX_AGENT_IDENTITY_JWKS_BASE_URL",
            format!("{DEAD}/backend-api"),
        );
}

/// A temporary `CODEX_HOME` with a private `HOME` and a `config.toml` naming
/// `issuer` and `backend` (dead loopback unless given).
pub(crate) fn bench_home(
    issuer: Option<&str>,
    backend: Option<&str>,
) -> anyhow::Result<crate::demo::TempHome> {
    let home = crate::demo::TempHome::new()?;
    std::fs::create_dir_all(home.path().join("home"))?;
    let dead_backend = format!("{DEAD}/backend-api");
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "issuer = \"{}\"\nchatgpt_base_url = \"{}\"\n",
            issuer.unwrap_or(DEAD),
            backend.unwrap_or(&dead_backend)
        ),
    )?;
    Ok(home)
}

/// Runs the benchmark.
pub fn run(root: &Path, target: &Path) -> anyhow::Result<()> {
    let release = target.join("release");
    let emulator = release.join(crate::exe("codex-emulator"));
    // `BENCH_CODEX_BIN` times another build of `codex` (for example the one
    // before a change) with the release emulator already built; nothing is
    // built and docs/PERFORMANCE.md is left alone.
    let codex = match std::env::var_os("BENCH_CODEX_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            build(root)?;
            release.join(crate::exe("codex"))
        }
    };

    // Offline: a valid ChatGPT login, no network.
    let home = bench_home(None, None)?;
    write_chatgpt_auth(home.path())?;
    let mut offline = Vec::new();
    for args in [&["token"][..], &["whoami"][..], &["login", "status"][..]] {
        offline.push(Bench::new(
            &format!("codex {} (ours)", args.join(" ")),
            &codex,
            args,
            home.path(),
        ));
    }
    let official = official_binary(root);
    let official_home = bench_home(None, None)?;
    let api_key_home = bench_home(None, None)?;
    if let Some(official) = &official {
        write_chatgpt_auth(official_home.path())?;
        offline.push(Bench::new(
            "codex login status (official 0.169.0)",
            official,
            &["login", "status"],
            official_home.path(),
        ));
        // The spec's reference figure used an API-key login; time that too and
        // compare against whichever official run is faster.
        std::fs::write(
            api_key_home.path().join("auth.json"),
            r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-bench-0123456789abcdef"}"#,
        )?;
        offline.push(Bench::new(
            "codex login status, API key (official 0.169.0)",
            official,
            &["login", "status"],
            api_key_home.path(),
        ));
    } else {
        println!("official CLI not found: set CODEX_OFFICIAL_BIN to compare");
    }
    println!("timing the offline commands");
    let offline = measure_interleaved(&offline)?;

    // Live: one request to the emulator's backend, ours against curl.
    println!("starting codex-emulator and logging in");
    let live = live::Live::start(&codex, &emulator)?;
    println!("timing whoami --check against curl");
    let live_results = measure_interleaved(&live.benches()?)?;
    drop(live);

    for m in offline.iter().chain(&live_results) {
        println!(
            "{:<48} median {:>8.2} ms   peak {:>7.1} MiB",
            m.label,
            m.median.as_secs_f64() * 1000.0,
            m.peak_rss_kib as f64 / 1024.0
        );
    }
    let report = render(&offline, &live_results);
    println!("\n{report}");
    if std::env::var_os("BENCH_CODEX_BIN").is_none() {
        write_report(root, &report)?;
    }
    Ok(())
}

fn build(root: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    println!("building the release binaries (codex, codex-emulator)");
    let status = Command::new(&cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "codex-cli",
            "-p",
            "codex-emulator",
        ])
        .status()
        .context("running cargo build --release")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    Ok(())
}

/// Times every bench RUNS times, one run of each per round (after WARM_UP
/// rounds), so load changes hit all of them alike. Peak memory is measured by
/// a child xtask (`xtask measure-rss`), the largest of three runs.
fn measure_interleaved(benches: &[Bench]) -> anyhow::Result<Vec<Measurement>> {
    for _ in 0..WARM_UP {
        for bench in benches {
            run_once(bench)?;
        }
    }
    let mut times: Vec<Vec<Duration>> = benches.iter().map(|_| Vec::with_capacity(RUNS)).collect();
    for _ in 0..RUNS {
        for (bench, times) in benches.iter().zip(&mut times) {
            times.push(run_once(bench)?);
        }
    }
    let me = std::env::current_exe().context("locating xtask")?;
    let mut results = Vec::new();
    for (bench, mut times) in benches.iter().zip(times) {
        times.sort();
        let mut peak_rss_kib = 0;
        for _ in 0..3 {
            let mut command = Command::new(&me);
            command
                .arg("measure-rss")
                .arg(&bench.program)
                .args(&bench.args);
            isolate(&mut command, &bench.home);
            let output = command.output().context("running xtask measure-rss")?;
            if !output.status.success() {
                bail!(
                    "xtask measure-rss {}: {}",
                    bench.label,
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let kib: u64 = String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .context("xtask measure-rss printed no number")?;
            peak_rss_kib = peak_rss_kib.max(kib);
        }
        results.push(Measurement {
            label: bench.label.clone(),
            median: times[times.len() / 2],
            peak_rss_kib,
        });
    }
    Ok(results)
}

fn run_once(bench: &Bench) -> anyhow::Result<Duration> {
    let mut command = bench.command();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("running {}", bench.program.display()))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        bail!(
            "{} {} exited with {}: {}",
            bench.program.display(),
            bench.args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(elapsed)
}

/// `xtask measure-rss <binary> <args...>`: runs the command once and prints
/// the peak resident set size of its process in KiB (`getrusage` of the
/// waited-for child, so nothing else this process started counts).
pub fn measure_rss(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let binary = args.next().context("measure-rss needs a binary")?;
    let status = Command::new(&binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("{binary} exited with {status}");
    }
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    // Linux reports ru_maxrss in KiB.
    println!("{}", usage.max_rss());
    Ok(())
}

fn official_binary(root: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CODEX_OFFICIAL_BIN") {
        let path = PathBuf::from(path);
        if path.exists() {
            return Some(path);
        }
    }
    let installed = root.join("target/official-codex/codex");
    installed.exists().then_some(installed)
}

/// A ChatGPT login as the official CLI writes it; the JWTs carry the usual
/// claims (their signatures are never checked when reading).
fn write_chatgpt_auth(home: &Path) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let jwt = |claims: serde_json::Value| {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(b"benchmark-signature")
        )
    };
    let auth_claims = serde_json::json!({
        "chatgpt_account_id": "acct-bench",
        "chatgpt_plan_type": "plus",
        "chatgpt_user_id": "user-bench",
        "user_id": "user-bench",
    });
    let id_token = jwt(serde_json::json!({
        "email": "bench@example.com",
        "exp": now + 3600,
        "https://api.openai.com/auth": auth_claims,
    }));
    let access_token = jwt(serde_json::json!({
        "exp": now + 3600,
        "https://api.openai.com/auth": auth_claims,
    }));
    let document = serde_json::json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": id_token,
            "access_token": access_token,
            "refresh_token": "rt-benchmark",
            "account_id": "acct-bench",
        },
        "last_refresh": "2026-11-21T00:00:00Z",
    });
    std::fs::write(
        home.join("auth.json"),
        serde_json::to_string_pretty(&document)?,
    )?;
    Ok(())
}

fn render(offline: &[Measurement], live: &[Measurement]) -> String {
    let mib = |m: &Measurement| m.peak_rss_kib as f64 / 1024.0;
    let ms = |m: &Measurement| m.median.as_secs_f64() * 1000.0;
    let mut out = String::new();
    out.push_str(&format!(
        "Measured by `cargo xtask bench` on {} ({} cores): release build, median of {RUNS} interleaved rounds after {WARM_UP} warm-up rounds; peak memory is the child's `ru_maxrss` (largest of 3 runs).\n\n",
        chrono_like_date(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    ));
    out.push_str("| command | median wall | peak memory |\n|---|---|---|\n");
    for m in offline.iter().chain(live) {
        out.push_str(&format!(
            "| {} | {:.2} ms | {:.1} MiB |\n",
            m.label,
            ms(m),
            mib(m)
        ));
    }
    out.push('\n');
    let fastest_official = offline
        .iter()
        .filter(|m| m.label.contains("official"))
        .min_by_key(|m| m.median);
    if let Some(official) = fastest_official {
        for m in offline.iter().filter(|m| m.label.contains("ours")) {
            let ratio = m.median.as_secs_f64() / official.median.as_secs_f64();
            let verdict = if ratio <= 1.0 / 3.0 && m.peak_rss_kib <= 10 * 1024 {
                "meets"
            } else {
                "MISSES"
            };
            out.push_str(&format!(
                "- {}: **{:.3}×** the fastest official `login status` time ({}; target ≤ 0.333×), {:.1} MiB (target ≤ 10 MiB): {verdict} the target.\n",
                m.label,
                ratio,
                official.label,
                mib(m)
            ));
        }
    } else {
        out.push_str(
            "- The official CLI was not available in this run, so no `codex token` ratio was measured.\n",
        );
    }
    let ours = live.iter().find(|m| m.label.contains("whoami"));
    let curl = live.iter().find(|m| m.label.contains("curl"));
    if let (Some(ours), Some(curl)) = (ours, curl) {
        let ratio = ours.median.as_secs_f64() / curl.median.as_secs_f64();
        let verdict = if ratio <= 1.2 { "meets" } else { "MISSES" };
        out.push_str(&format!(
            "- {}: **{:.2}×** the time of {} (target ≤ 1.2×): {verdict} the target.\n",
            ours.label, ratio, curl.label
        ));
    }
    out
}

fn chrono_like_date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "an unknown date".to_owned())
}

fn write_report(root: &Path, report: &str) -> anyhow::Result<()> {
    let path = root.join("docs/PERFORMANCE.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let section = format!("{START_MARKER}\n{report}{END_MARKER}");
    let updated = match (existing.find(START_MARKER), existing.find(END_MARKER)) {
        (Some(start), Some(end)) if end > start => format!(
            "{}{section}{}",
            &existing[..start],
            &existing[end + END_MARKER.len()..]
        ),
        _ => format!(
            "{}\n\n## Whole-process timings (cargo xtask bench)\n\n{section}\n",
            existing.trim_end()
        ),
    };
    std::fs::create_dir_all(root.join("docs"))?;
    std::fs::write(&path, updated)?;
    println!("wrote {}", path.display());
    Ok(())
}
