//! The command line, as clap types.

use clap::{Args, Parser, Subcommand};
use codex_auth_provider::SecretString;
use codex_login::profiles::ProfileName;
use std::time::Duration;

const AFTER_HELP: &str = "\
Exit codes:
  0    success / logged in
  1    not logged in, or the command failed
  2    usage error (unknown or conflicting arguments)
  3    the credential store could not be read (whoami, token)
  4    network or server error (whoami --check, token)
  5    stored credentials need a new login (whoami, token)
  130  interrupted with Ctrl-C (login)

Environment:
  CODEX_HOME                         directory holding auth.json and config.toml (default ~/.codex)
  CODEX_PROFILE                      use this profile instead of the active one (see `codex profile`)
  CODEX_API_KEY                      an API key that overrides stored credentials where enabled
  CODEX_ACCESS_TOKEN                 an agent identity JWT or a personal access token (at-...);
                                     alias CODEX_AGENT_IDENTITY
  CODEX_ISSUER                       the OAuth issuer (default https://auth.openai.com)
  CODEX_REFRESH_TOKEN_URL_OVERRIDE   the token endpoint used for refresh
  CODEX_REVOKE_TOKEN_URL_OVERRIDE    the endpoint used to revoke tokens at logout
  CODEX_AUTHAPI_BASE_URL             the accounts API personal access tokens are checked at
  CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL, CODEX_AGENT_IDENTITY_JWKS_BASE_URL
                                     agent identity endpoints
  OPENAI_BASE_URL                    the OpenAI API base whoami --check tests an API key against
                                     (default https://api.openai.com/v1)
  CODEX_CA_CERTIFICATE, SSL_CERT_FILE  extra trusted CA certificates (PEM)
  NO_BROWSER                         do not open a browser for `codex login`
  NO_COLOR, CLICOLOR, CLICOLOR_FORCE colour: off / off when 0 / on even when not a terminal
  RUST_LOG                           log filter; logs go to stderr and never hold secrets";

/// Log in to Codex, see who you are, and log out.
#[derive(Debug, Parser)]
#[command(name = "codex", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Override a configuration value (`key=value`, TOML syntax; repeatable).
    #[arg(short = 'c', long = "config", value_name = "key=value", global = true)]
    pub overrides: Vec<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const LOGIN_HELP: &str = "\
Exit codes:
  0    logged in
  1    the login failed, or was refused (disabled method, empty stdin, a terminal as stdin)
  2    usage error (unknown or conflicting arguments)
  130  interrupted with Ctrl-C";

const STATUS_HELP: &str = "\
Exit codes:
  0  logged in (stored credentials, or CODEX_ACCESS_TOKEN)
  1  not logged in, or the stored credentials cannot be read
  2  usage error";

const LOGOUT_HELP: &str = "\
Exit codes:
  0  logged out, or there was nothing to log out
  1  the stored credentials could not be removed
  2  usage error";

const WHOAMI_HELP: &str = "\
Exit codes:
  0  logged in (with --check: the credentials were accepted)
  1  not logged in, or the command failed
  2  usage error
  3  the credential store could not be read
  4  network or server error (--check)
  5  stored credentials need a new login (expired, revoked or refused)";

const TOKEN_HELP: &str = "\
Prints the access token (ChatGPT login, refreshed first when it expires within
--min-valid), the API key, or a freshly minted AgentAssertion (agent identity).
Nothing is printed on stdout unless the whole output is ready.

Examples:
  curl -H \"Authorization: Bearer $(codex token)\" ...
  codex token --headers > h.txt && curl -H @h.txt ...

Exit codes:
  0  the credential was printed
  1  not logged in, or the command failed
  2  usage error
  3  the credential store could not be read
  4  network or server error (while refreshing)
  5  stored credentials need a new login (expired, revoked or refused)";

const COMPLETION_HELP: &str = "\
Install, for example:
  bash:        codex completion bash > ~/.local/share/bash-completion/completions/codex
  zsh:         codex completion zsh > \"${fpath[1]}/_codex\"
  fish:        codex completion fish > ~/.config/fish/completions/codex.fish
  powershell:  codex completion powershell | Out-String | Invoke-Expression";

const DOCTOR_HELP: &str = "\
Each check has a status (ok, warning, fail) and, when something is wrong, a
one-line next step. --json prints the official `codex doctor --json` envelope
(schemaVersion, generatedAt, overallStatus, codexVersion, checks by id).

Environment:
  CODEX_DOCTOR_CALLBACK_PORTS  the callback ports to check (default 1455,1457)

Exit codes:
  0  every check is ok
  1  at least one warning or failure
  2  usage error";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in (browser by default).
    #[command(after_help = LOGIN_HELP)]
    Login(LoginArgs),
    /// Log out: revoke tokens and remove stored credentials.
    #[command(after_help = LOGOUT_HELP)]
    Logout(LogoutArgs),
    /// Show who you are logged in as (offline unless --check).
    #[command(after_help = WHOAMI_HELP)]
    Whoami(WhoamiArgs),
    /// Keep several logins side by side: list, switch, rename, remove.
    Profile(ProfileArgs),
    /// Print a credential that is valid now (for scripts and other tools).
    #[command(after_help = TOKEN_HELP)]
    Token(TokenArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = COMPLETION_HELP)]
    Completion(CompletionArgs),
    /// Diagnose configuration, credentials, proxies, CA, keyring, ports and reachability.
    #[command(after_help = DOCTOR_HELP)]
    Doctor(DoctorArgs),
}

/// Arguments of `codex login`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LoginArgs {
    /// Read an API key from stdin.
    #[arg(long = "with-api-key")]
    pub with_api_key: bool,

    /// Read an agent identity access token (JWT) from stdin.
    #[arg(long = "with-access-token")]
    pub with_access_token: bool,

    /// Log in with a device code instead of a browser callback.
    #[arg(long = "device-auth", conflicts_with_all = ["with_api_key", "with_access_token", "api_key"])]
    pub device_auth: bool,

    /// Deprecated: pass the key on stdin with --with-api-key. Only its presence is used; it is
    /// kept in a redacting type so a `Debug` print of the arguments cannot show it.
    #[arg(long = "api-key", value_name = "API_KEY", hide = true)]
    pub api_key: Option<SecretString>,

    /// Use another OAuth issuer (testing).
    #[arg(long = "experimental_issuer", value_name = "URL", hide = true)]
    pub experimental_issuer: Option<String>,

    /// Use another OAuth client id (testing).
    #[arg(long = "experimental_client-id", value_name = "CLIENT_ID", hide = true)]
    pub experimental_client_id: Option<String>,

    /// Save the login as this profile (created if new) instead of the active one; other
    /// profiles are never touched. Also selects the profile for `login status`.
    #[arg(long, value_name = "NAME", global = true)]
    pub profile: Option<codex_login::profiles::ProfileName>,

    /// `status`.
    #[command(subcommand)]
    pub action: Option<LoginAction>,
}

/// Subcommands of `codex login`.
#[derive(Debug, Subcommand)]
pub enum LoginAction {
    /// Show how you are logged in (exit 0 if logged in, 1 if not).
    #[command(after_help = STATUS_HELP)]
    Status,
}

/// Arguments of `codex whoami`.
#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,

    /// Make one live request proving the credentials work: for ChatGPT logins the
    /// backend's usage (refreshing first if needed, adds plan and usage windows); for an
    /// API key `GET <OPENAI_BASE_URL>/models`.
    #[arg(long)]
    pub check: bool,

    /// Use this profile instead of the active one (overrides CODEX_PROFILE).
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub profile: Option<codex_login::profiles::ProfileName>,

    /// List every profile with its health instead (same as `codex profile list`).
    #[arg(long, conflicts_with = "check")]
    pub all: bool,
}

/// Arguments of `codex doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print one JSON object (the official `codex doctor --json` envelope).
    #[arg(long)]
    pub json: bool,

    /// Skip the network checks (reachability of the issuer and backend, clock skew).
    #[arg(long)]
    pub offline: bool,
}

/// Arguments of `codex completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `codex token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Print one JSON object: schema_version, token, token_type, expires_at, account_id, auth_mode.
    #[arg(long, conflicts_with = "headers")]
    pub json: bool,

    /// Print the complete header lines to send (`Authorization: ...`, `ChatGPT-Account-ID: ...`,
    /// `X-OpenAI-Fedramp: true` where needed), as `curl -H @file` reads them.
    #[arg(long)]
    pub headers: bool,

    /// Refresh first when the access token expires within this long (`90`, `90s`, `5m`, `1h`).
    #[arg(long = "min-valid", value_name = "DURATION", default_value = "60s",
          value_parser = parse_duration)]
    pub min_valid: std::time::Duration,

    /// Use this profile instead of the active one (overrides CODEX_PROFILE).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<codex_login::profiles::ProfileName>,
}

const PROFILE_AFTER_HELP: &str = "\
The active profile is the login in $CODEX_HOME/auth.json, which every tool (the official CLI
too) uses. Other profiles wait in $CODEX_HOME/profiles/NAME/. Use one profile for a single
command without switching with `--profile NAME` or CODEX_PROFILE=NAME.";

/// Arguments of `codex profile`.
#[derive(Debug, Args)]
#[command(after_help = PROFILE_AFTER_HELP)]
pub struct ProfileArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ProfileAction,
}

/// Subcommands of `codex profile`.
#[derive(Debug, Subcommand)]
pub enum ProfileAction {
    /// List every profile: active marker, login kind, account, expiry and health.
    List {
        /// Print one JSON object (with `schema_version`) on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Make NAME the active profile (the one in auth.json), atomically.
    Switch {
        /// The profile to activate.
        name: ProfileName,
    },
    /// Rename a profile (active or not).
    Rename {
        /// The current name.
        old: ProfileName,
        /// The new name.
        new: ProfileName,
    },
    /// Log out of a profile and remove it (same as `codex logout --profile NAME`).
    Remove {
        /// The profile to remove.
        name: ProfileName,
    },
}

/// Arguments of `codex logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Log out of this profile only (revoke its tokens and remove it).
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub profile: Option<ProfileName>,

    /// Log out of every profile, reporting what happened to each.
    #[arg(long)]
    pub all: bool,
}

impl LogoutArgs {
    /// Neither `--profile` nor `--all`.
    pub fn is_plain(&self) -> bool {
        self.profile.is_none() && !self.all
    }
}

/// Parses `--min-valid`: a number with an optional unit (`s`, `m`, `h`, `d`);
/// a bare number is seconds (`90`, `90s`, `5m`, `1h`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (try 60s, 5m or 1h)"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown unit `{other}` (use s, m, h or d)")),
    };
    number
        .checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_parsed_arguments_hides_a_key_given_on_the_command_line() {
        let cli = Cli::try_parse_from(["codex", "login", "--api-key", "sk-argv-secret-1234"])
            .expect("parses");
        let Command::Login(args) = &cli.command else {
            panic!("expected the login command");
        };
        assert!(args.api_key.is_some());
        let shown = format!("{cli:?}");
        assert!(!shown.contains("sk-argv-secret-1234"), "{shown}");
    }

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}
