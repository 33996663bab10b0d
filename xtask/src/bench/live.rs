//! The live pair: `codex whoami --check` against `curl` making the same request.
//!
//! Starts the release `codex-emulator` on an ephemeral loopback port with
//! `--auto-approve`, logs in with `codex login --device-auth` (so the tokens are
//! the emulator's own), and writes the headers `codex token --headers` prints
//! to a file for `curl -H @file`. `curl` also gets the `originator` and a
//! `User-Agent` of the same shape as ours, and fails (`-f`) on anything but a
//! success, as `whoami --check` does.

use super::{Bench, bench_home, isolate};
use crate::demo::{EmulatorProcess, TempHome, parse_ready_line};
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The emulator, a logged-in home and the two commands to compare.
pub(crate) struct Live {
    codex: PathBuf,
    home: TempHome,
    usage_url: String,
    // Dropped last: kills the emulator.
    _emulator: EmulatorProcess,
}

impl Live {
    /// Starts the emulator and logs in.
    pub(crate) fn start(codex: &Path, emulator_bin: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(emulator_bin)
            .args(["--listen", "127.0.0.1:0", "--auto-approve"])
            .env_clear()
            .stdin(Stdio::null())
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
        let urls = parse_ready_line(&ready)?;
        let home = bench_home(Some(&urls.issuer), Some(&urls.chatgpt_base_url))?;
        let mut login = Command::new(codex);
        login.args(["login", "--device-auth"]);
        isolate(&mut login, home.path());
        let output = login
            .stdin(Stdio::null())
            .output()
            .context("running codex login --device-auth")?;
        if !output.status.success() {
            bail!(
                "codex login --device-auth against the emulator failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(Self {
            codex: codex.to_path_buf(),
            home,
            usage_url: format!("{}/wham/usage", urls.chatgpt_base_url.trim_end_matches('/')),
            _emulator: emulator,
        })
    }

    /// `codex whoami --check` and the equivalent `curl`.
    pub(crate) fn benches(&self) -> anyhow::Result<Vec<Bench>> {
        let mut token = Command::new(&self.codex);
        token.args(["token", "--headers"]);
        isolate(&mut token, self.home.path());
        let output = token.stdin(Stdio::null()).output()?;
        if !output.status.success() {
            bail!(
                "codex token --headers failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let headers = self.home.path().join("headers.txt");
        std::fs::write(&headers, &output.stdout)?;
        let curl = which("curl").context(
            "curl is not installed; the live comparison needs it (apt-get install curl)",
        )?;
        let user_agent = format!(
            "codex_cli_rs/{} (Linux; {}) unknown",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::ARCH
        );
        let header_file = format!("@{}", headers.display());
        let curl_args = [
            "--silent",
            "--show-error",
            "--fail",
            "--output",
            "/dev/null",
            "--header",
            header_file.as_str(),
            "--header",
            "originator: codex_cli_rs",
            "--user-agent",
            user_agent.as_str(),
            self.usage_url.as_str(),
        ];
        Ok(vec![
            Bench::new(
                "codex whoami --check (ours, one GET /usage)",
                &self.codex,
                &["whoami", "--check"],
                self.home.path(),
            ),
            Bench::new(
                "curl, the same GET /usage and headers",
                &curl,
                &curl_args,
                self.home.path(),
            ),
        ])
    }
}

/// The first `name` on `/usr/bin:/bin` (the bench's own `PATH`).
fn which(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin", "/usr/local/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
}
