//! `cargo xtask demo`: the real `codex` binary against `codex-emulator`.
//!
//! Builds both binaries, starts the emulator on an ephemeral loopback port
//! with `--auto-approve`, points a temporary `CODEX_HOME` at it, and walks
//! through device-code login, `whoami`, `whoami --check`, an access-token
//! expiry with a silent refresh, agent identity login, `whoami --json` and
//! `logout`, printing each command and its output.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// URLs the emulator prints on its ready line.
pub(crate) struct EmulatorUrls {
    pub(crate) issuer: String,
    pub(crate) chatgpt_base_url: String,
    authapi_base_url: String,
    jwks_base_url: String,
}

/// Kills the emulator when the demo ends, however it ends.
pub(crate) struct EmulatorProcess(pub(crate) Child);

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the demo.
pub fn run() -> anyhow::Result<()> {
    let root = crate::workspace_root()?;
    banner("building codex and codex-emulator");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "-p",
            "codex-cli",
            "-p",
            "codex-emulator",
        ])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let target = crate::target_dir(&root);
    let codex = target.join("debug").join(crate::exe("codex"));
    let emulator_bin = target.join("debug").join(crate::exe("codex-emulator"));

    banner("starting codex-emulator --auto-approve");
    let mut child = Command::new(&emulator_bin)
        .args(["--listen", "127.0.0.1:0", "--auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", emulator_bin.display()))?;
    let stdout = child.stdout.take().context("emulator stdout")?;
    let emulator = EmulatorProcess(child);
    let mut ready = String::new();
    BufReader::new(stdout)
        .read_line(&mut ready)
        .context("reading the emulator's ready line")?;
    println!("{}", ready.trim_end());
    let urls = parse_ready_line(&ready)?;

    let home = TempHome::new()?;
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "issuer = \"{}\"\nchatgpt_base_url = \"{}\"\n",
            urls.issuer, urls.chatgpt_base_url
        ),
    )?;
    println!("CODEX_HOME={}", home.path().display());
    let demo = Demo {
        codex,
        home: home.path().to_path_buf(),
        urls,
    };

    demo.step("device-code login", &["login", "--device-auth"], None, &[0])?;
    demo.step("who am I (offline)", &["whoami"], None, &[0])?;
    demo.step(
        "who am I, checked live against the backend",
        &["whoami", "--check"],
        None,
        &[0],
    )?;

    banner(
        "the access token expires (the emulator now answers 401 token_expired for every live access token)",
    );
    let before = demo.stat("refresh_ok")?;
    http_post(&demo.urls.issuer, "/_emulator/access-tokens/expire", "{}")?;
    demo.step(
        "whoami --check refreshes silently and retries once",
        &["whoami", "--check"],
        None,
        &[0],
    )?;
    let after = demo.stat("refresh_ok")?;
    println!("emulator refresh_ok: {before} -> {after}");
    if after != before + 1 {
        bail!(
            "expected exactly one refresh, saw {}",
            after.saturating_sub(before)
        );
    }

    banner("agent identity: the emulator mints a JWT for the seed account");
    let minted = http_post(&demo.urls.issuer, "/_emulator/agent-identity-jwt", "{}")?;
    let minted: serde_json::Value = serde_json::from_str(&minted)?;
    let jwt = minted["jwt"]
        .as_str()
        .context("no jwt in the emulator's answer")?;
    demo.step(
        "login with the agent identity JWT on stdin",
        &["login", "--with-access-token"],
        Some(jwt),
        &[0],
    )?;
    demo.step("login status", &["login", "status"], None, &[0])?;
    let tasks_before = demo.stat("task_registrations")?;
    let assertions_before = demo.stat("assertions_ok")?;
    demo.step(
        "whoami --check registers this run's task and signs an AgentAssertion",
        &["whoami", "--check"],
        None,
        &[0],
    )?;
    println!(
        "emulator task_registrations: {tasks_before} -> {}, assertions_ok: {assertions_before} -> {}",
        demo.stat("task_registrations")?,
        demo.stat("assertions_ok")?
    );
    demo.step("who am I, as JSON", &["whoami", "--json"], None, &[0])?;
    demo.step("logout", &["logout"], None, &[0])?;
    demo.step(
        "login status after logout",
        &["login", "status"],
        None,
        &[1],
    )?;

    banner("emulator counters");
    println!("{}", http_get(&demo.urls.issuer, "/_emulator/stats")?);
    drop(emulator);
    banner("demo finished");
    Ok(())
}

struct Demo {
    codex: PathBuf,
    home: PathBuf,
    urls: EmulatorUrls,
}

impl Demo {
    fn step(
        &self,
        title: &str,
        args: &[&str],
        stdin: Option<&str>,
        expected: &[i32],
    ) -> anyhow::Result<()> {
        banner(title);
        println!("$ codex {}", args.join(" "));
        let mut command = Command::new(&self.codex);
        command
            .args(args)
            .env("CODEX_HOME", &self.home)
            .env(
                "CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL",
                &self.urls.authapi_base_url,
            )
            .env(
                "CODEX_AGENT_IDENTITY_JWKS_BASE_URL",
                &self.urls.jwks_base_url,
            )
            .env_remove("CODEX_API_KEY")
            .env_remove("CODEX_ACCESS_TOKEN")
            .env_remove("CODEX_AGENT_IDENTITY")
            .env_remove("OPENAI_API_KEY")
            .env("NO_BROWSER", "1")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().context("starting codex")?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())?;
            pipe.write_all(b"\n")?;
        }
        let output = child.wait_with_output()?;
        print_indented(&output.stdout);
        print_indented(&output.stderr);
        let code = output.status.code().unwrap_or(-1);
        println!("(exit {code})");
        if !expected.contains(&code) {
            bail!(
                "`codex {}` exited {code}, expected {expected:?}",
                args.join(" ")
            );
        }
        Ok(())
    }

    fn stat(&self, name: &str) -> anyhow::Result<u64> {
        let body = http_get(&self.urls.issuer, "/_emulator/stats")?;
        let stats: serde_json::Value = serde_json::from_str(&body)?;
        stats[name]
            .as_u64()
            .with_context(|| format!("emulator stats have no {name}"))
    }
}

fn print_indented(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for line in text.lines() {
        println!("  {line}");
    }
}

fn banner(title: &str) {
    println!("\n=== {title}");
}

pub(crate) fn parse_ready_line(line: &str) -> anyhow::Result<EmulatorUrls> {
    let value: serde_json::Value =
        serde_json::from_str(line.trim()).context("the emulator's ready line is not JSON")?;
    let field = |name: &str| -> anyhow::Result<String> {
        value[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("ready line has no {name}"))
    };
    Ok(EmulatorUrls {
        issuer: field("issuer")?,
        chatgpt_base_url: field("chatgpt_base_url")?,
        authapi_base_url: field("authapi_base_url")?,
        jwks_base_url: field("jwks_base_url")?,
    })
}

/// A minimal HTTP/1.1 client for the emulator's admin routes on loopback, so
/// the demo needs no HTTP dependency.
fn http_request(base: &str, method: &str, path: &str, body: &str) -> anyhow::Result<String> {
    let authority = base
        .strip_prefix("http://")
        .context("the emulator must be on plain-HTTP loopback")?
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut stream = TcpStream::connect(&authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("malformed HTTP response from the emulator")?;
    let status_ok = head
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'));
    if !status_ok {
        bail!(
            "{method} {path}: {}",
            head.lines().next().unwrap_or_default()
        );
    }
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(dechunk(body));
    }
    Ok(body.to_owned())
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size_line, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size_line.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

fn http_get(base: &str, path: &str) -> anyhow::Result<String> {
    http_request(base, "GET", path, "")
}

fn http_post(base: &str, path: &str, body: &str) -> anyhow::Result<String> {
    http_request(base, "POST", path, body)
}

/// A temporary `CODEX_HOME`, removed when dropped.
pub struct TempHome(PathBuf);

impl TempHome {
    /// Creates a fresh directory under the system temp dir.
    pub fn new() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("codex-demo-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
