//! Getting the subject token (the assertion) from its source, fresh at every exchange.

use std::path::Path;
use std::time::Duration;

use codex_auth_provider::SecretString;

use super::config::SubjectSource;
use super::error::WorkloadIdentityError;

/// The largest assertion accepted (the official CLI's limit).
pub(super) const MAX_ASSERTION_BYTES: usize = 16 * 1024;
/// The largest answer accepted from GitHub Actions' ID token endpoint.
pub(super) const MAX_ACTIONS_RESPONSE_BYTES: usize = 1024 * 1024;
/// How long a GitHub Actions request or a token command may take.
pub(super) const SOURCE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the current subject token from `source`.
pub(super) async fn read(
    source: &SubjectSource,
    client: &reqwest::Client,
) -> Result<SecretString, WorkloadIdentityError> {
    match source {
        SubjectSource::File(path) => {
            let owned = path.clone();
            let read = tokio::task::spawn_blocking(move || read_file(&owned));
            let bytes = tokio::time::timeout(SOURCE_TIMEOUT, read)
                .await
                .map_err(|_| WorkloadIdentityError::ReadAssertion {
                    path: path.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("it could not be read within {} s", SOURCE_TIMEOUT.as_secs()),
                    ),
                })?
                .map_err(|_| WorkloadIdentityError::InvalidAssertion)??;
            validate(bytes)
        }
        SubjectSource::Environment { value, .. } => validate(value.expose().as_bytes().to_vec()),
        SubjectSource::Command(argv) => validate(run_command(argv).await?),
        SubjectSource::GithubActions {
            request_url,
            request_token,
            audience,
        } => github_actions(client, request_url, request_token, audience).await,
    }
}

/// The file, if it is a regular file of at most `MAX_ASSERTION_BYTES`: opened without blocking
/// and checked on the open descriptor (a FIFO, device or directory is refused, never waited
/// on), read with a hard cap.
fn read_file(path: &Path) -> Result<Vec<u8>, WorkloadIdentityError> {
    let read_error = |source| WorkloadIdentityError::ReadAssertion {
        path: path.to_owned(),
        source,
    };
    // The official CLI's own words for a regular file that is too large.
    if std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.len() > MAX_ASSERTION_BYTES as u64)
    {
        return Err(WorkloadIdentityError::AssertionTooLarge);
    }
    crate::bounded_file::read_regular_file(path, MAX_ASSERTION_BYTES as u64).map_err(read_error)
}

/// Size, UTF-8, no NUL, non-empty after trimming; the trimmed token.
fn validate(bytes: Vec<u8>) -> Result<SecretString, WorkloadIdentityError> {
    if bytes.len() > MAX_ASSERTION_BYTES {
        return Err(WorkloadIdentityError::AssertionTooLarge);
    }
    let text = String::from_utf8(bytes).map_err(|_| WorkloadIdentityError::InvalidAssertion)?;
    let secret = SecretString::new(text);
    let trimmed = secret.expose().trim();
    if trimmed.is_empty() || trimmed.contains('\0') {
        return Err(WorkloadIdentityError::InvalidAssertion);
    }
    Ok(SecretString::new(trimmed))
}

fn source_error(
    source_name: &'static str,
    problem: String,
    transient: bool,
) -> WorkloadIdentityError {
    WorkloadIdentityError::Source {
        source_name,
        problem,
        transient,
    }
}

/// Runs the token command (no shell) and returns its standard output.
async fn run_command(argv: &[String]) -> Result<Vec<u8>, WorkloadIdentityError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(source_error(
            "command",
            "no program configured".to_owned(),
            false,
        ));
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|err| {
        source_error(
            "command",
            format!("could not run `{program}`: {err}"),
            false,
        )
    })?;
    let output = tokio::time::timeout(SOURCE_TIMEOUT, capped_output(&mut child))
        .await
        .map_err(|_| {
            source_error(
                "command",
                format!(
                    "`{program}` did not finish within {} s",
                    SOURCE_TIMEOUT.as_secs()
                ),
                true,
            )
        })?
        .map_err(|err| source_error("command", format!("`{program}` failed: {err}"), true))?;
    let Some((status, stdout)) = output else {
        // More than an assertion can hold: the child was killed, nothing more is read.
        return Err(WorkloadIdentityError::AssertionTooLarge);
    };
    if !status.success() {
        return Err(source_error(
            "command",
            format!("`{program}` exited with {status}"),
            false,
        ));
    }
    Ok(stdout)
}

/// The child's exit status and standard output, reading at most `MAX_ASSERTION_BYTES + 1`
/// bytes; `None` (after killing the child) when it prints more.
async fn capped_output(
    child: &mut tokio::process::Child,
) -> std::io::Result<Option<(std::process::ExitStatus, Vec<u8>)>> {
    use tokio::io::AsyncReadExt as _;
    let mut stdout = Vec::new();
    if let Some(pipe) = child.stdout.take() {
        pipe.take(MAX_ASSERTION_BYTES as u64 + 1)
            .read_to_end(&mut stdout)
            .await?;
    }
    if stdout.len() > MAX_ASSERTION_BYTES {
        let _ = child.kill().await;
        return Ok(None);
    }
    Ok(Some((child.wait().await?, stdout)))
}

/// Asks GitHub Actions' OIDC endpoint for a token for `audience`.
async fn github_actions(
    client: &reqwest::Client,
    request_url: &url::Url,
    request_token: &SecretString,
    audience: &str,
) -> Result<SecretString, WorkloadIdentityError> {
    let mut url = request_url.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != "audience")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("audience", audience);
    let response = client
        .get(url)
        .bearer_auth(request_token.expose())
        .timeout(SOURCE_TIMEOUT)
        .send()
        .await
        .map_err(|err| {
            source_error(
                "github_actions",
                format!("the ID token request failed: {}", err.without_url()),
                true,
            )
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(source_error(
            "github_actions",
            format!(
                "the ID token request was rejected with HTTP {}",
                status.as_u16()
            ),
            status.is_server_error() || status.as_u16() == 429,
        ));
    }
    let invalid = || {
        source_error(
            "github_actions",
            "the ID token endpoint returned an invalid response".to_owned(),
            false,
        )
    };
    // Capped while reading (and a larger Content-Length is refused before reading).
    let body = codex_auth_provider::bounded_body::read_capped(response, MAX_ACTIONS_RESPONSE_BYTES)
        .await
        .map_err(|_| invalid())?;
    #[derive(serde::Deserialize)]
    struct Answer {
        value: String,
    }
    let answer: Answer = serde_json::from_slice(&body).map_err(|_| invalid())?;
    validate(answer.value.into_bytes())
}
