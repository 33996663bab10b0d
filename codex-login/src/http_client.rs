//! The one place HTTP clients are built.
//!
//! Every outbound call of the auth stack (issuer, backend, JWKS, agent
//! registration) goes through an [`HttpClientFactory`]: it adds the
//! `originator` and `User-Agent` headers the official CLI sends, trusts a
//! custom CA bundle from `CODEX_CA_CERTIFICATE` (else `SSL_CERT_FILE`), takes
//! proxies from the environment, sets timeouts and does not follow redirects
//! unless asked to. [`ensure_credential_safe_url`] is the check that keeps
//! credentials off plain-text connections to other machines.

mod ca_bundle;
mod user_agent;

#[cfg(test)]
use ca_bundle::first_der_sequence;
pub use ca_bundle::{CustomCa, PemProblem, load_custom_ca, parse_pem_certificates};
#[cfg(test)]
use user_agent::architecture;
pub use user_agent::{
    OriginatorError, is_first_party_chat_originator, is_first_party_originator, originator,
    set_default_originator, user_agent,
};

use crate::environment::EnvLookup;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use url::Url;

/// The originator sent when nothing overrides it.
pub const DEFAULT_ORIGINATOR: &str = "codex_cli_rs";
/// Environment variable that overrides the originator for every request.
pub const ORIGINATOR_OVERRIDE_ENV_VAR: &str = "CODEX_INTERNAL_ORIGINATOR_OVERRIDE";
/// Environment variable naming a PEM bundle of extra trusted CA certificates.
pub const CODEX_CA_CERTIFICATE_ENV_VAR: &str = "CODEX_CA_CERTIFICATE";
/// The standard environment variable naming a PEM bundle, used when
/// `CODEX_CA_CERTIFICATE` is unset.
pub const SSL_CERT_FILE_ENV_VAR: &str = "SSL_CERT_FILE";
/// Environment variable that, set to `seatbelt`, disables proxies.
pub const CODEX_SANDBOX_ENV_VAR: &str = "CODEX_SANDBOX";
/// Header sent when a data-residency requirement is configured.
pub const RESIDENCY_HEADER: HeaderName =
    HeaderName::from_static("x-openai-internal-codex-residency");

/// Timeout for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout for a whole request, response body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

static DEFAULT_ORIGINATOR_OVERRIDE: OnceLock<String> = OnceLock::new();

/// Why an HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpClientError {
    /// The CA bundle named by the variable could not be read.
    #[error(
        "failed to read the CA certificate file {path} named by {variable}: {source} \
         (set CODEX_CA_CERTIFICATE or SSL_CERT_FILE to a readable PEM bundle)"
    )]
    CaFileUnreadable {
        /// The variable that named the file.
        variable: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The CA bundle holds no certificate.
    #[error(
        "no certificates found in PEM file {path} named by {variable} \
         (CODEX_CA_CERTIFICATE or SSL_CERT_FILE must hold at least one CERTIFICATE block)"
    )]
    CaNoCertificates {
        /// The variable that named the file.
        variable: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// The CA bundle is not valid PEM, or a certificate in it is not valid DER.
    #[error(
        "failed to parse PEM file {path} named by {variable}: {problem} \
         (CODEX_CA_CERTIFICATE or SSL_CERT_FILE must be a PEM bundle of CERTIFICATE blocks)"
    )]
    CaMalformed {
        /// The variable that named the file.
        variable: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A proxy variable is set but unusable.
    #[error(transparent)]
    Proxy(#[from] codex_auth_provider::proxy_env::ProxyVariableError),
    /// reqwest refused the configuration.
    #[error("failed to build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// Why a URL may not carry credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialUrlError {
    /// Plain `http://` to a host that is not the loopback interface.
    #[error(
        "refusing to send credentials to {url}: plain http:// is only allowed to a loopback \
         address (127.0.0.1, ::1, localhost); use https://"
    )]
    PlainHttpToRemoteHost {
        /// The URL without user info, query or fragment.
        url: String,
    },
    /// A scheme other than `http` or `https`.
    #[error(
        "refusing to send credentials to {url}: the URL scheme `{scheme}` is not http or https"
    )]
    UnsupportedScheme {
        /// The URL without user info, query or fragment.
        url: String,
        /// The scheme.
        scheme: String,
    },
    /// The URL names no host.
    #[error("refusing to send credentials to {url}: the URL has no host")]
    NoHost {
        /// The URL without user info, query or fragment.
        url: String,
    },
}

/// Checks that credentials may be sent to `url`: `https://` anywhere, or
/// `http://` only to a loopback address (the emulator, tests).
pub fn ensure_credential_safe_url(url: &Url) -> Result<(), CredentialUrlError> {
    let shown = url_for_display(url);
    match url.scheme() {
        "https" => {
            if url.host().is_none() {
                return Err(CredentialUrlError::NoHost { url: shown });
            }
            Ok(())
        }
        "http" => match url.host() {
            None => Err(CredentialUrlError::NoHost { url: shown }),
            Some(url::Host::Ipv4(ip)) if IpAddr::V4(ip).is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if IpAddr::V6(ip).is_loopback() => Ok(()),
            Some(url::Host::Domain(domain)) if domain.eq_ignore_ascii_case("localhost") => Ok(()),
            Some(_) => Err(CredentialUrlError::PlainHttpToRemoteHost { url: shown }),
        },
        other => Err(CredentialUrlError::UnsupportedScheme {
            url: shown,
            scheme: other.to_owned(),
        }),
    }
}

/// `scheme://host[:port]/path` of a URL: no user info, query or fragment, so
/// it is safe to show in errors and logs.
pub fn url_for_display(url: &Url) -> String {
    let mut shown = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        shown.push_str(host);
    }
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

/// How a particular client should behave.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Send the `originator` and `User-Agent` headers (the "default client").
    /// Off gives the "bare" client upstream uses for code exchanges.
    pub default_headers: bool,
    /// Follow up to 10 redirects. Off for token endpoints.
    pub follow_redirects: bool,
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
    /// Timeout for a whole request.
    pub request_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            default_headers: true,
            follow_redirects: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Builds `reqwest` clients with the headers, CA bundle, proxy and timeout
/// settings every Codex request uses.
#[derive(Clone)]
pub struct HttpClientFactory {
    originator: String,
    user_agent: String,
    residency: Option<HeaderValue>,
    extra_roots: Vec<reqwest::Certificate>,
    ca_source: Option<(&'static str, PathBuf)>,
    disable_proxy: bool,
    proxies: codex_auth_provider::proxy_env::ProxyEnv,
}

impl std::fmt::Debug for HttpClientFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientFactory")
            .field("originator", &self.originator)
            .field("user_agent", &self.user_agent)
            .field("extra_roots", &self.extra_roots.len())
            .field("ca_source", &self.ca_source)
            .field("disable_proxy", &self.disable_proxy)
            .field("proxies", &self.proxies)
            .finish()
    }
}

impl HttpClientFactory {
    /// Reads the originator, terminal, CA bundle and sandbox settings from
    /// the environment. Fails when the named CA bundle is unreadable or bad.
    pub fn from_env(env: EnvLookup<'_>) -> Result<Self, HttpClientError> {
        let originator = originator(env);
        let user_agent = user_agent(env, &originator, None);
        let (extra_roots, ca_source) = match load_custom_ca(env)? {
            Some((variable, path, certs)) => (certs, Some((variable, path))),
            None => (Vec::new(), None),
        };
        let disable_proxy = env(CODEX_SANDBOX_ENV_VAR).as_deref() == Some("seatbelt");
        let proxies = if disable_proxy {
            codex_auth_provider::proxy_env::ProxyEnv::default()
        } else {
            codex_auth_provider::proxy_env::ProxyEnv::from_env(env)?
        };
        Ok(Self {
            originator,
            user_agent,
            residency: None,
            extra_roots,
            ca_source,
            disable_proxy,
            proxies,
        })
    }

    /// [`HttpClientFactory::from_env`] with the process environment.
    pub fn from_process_env() -> Result<Self, HttpClientError> {
        Self::from_env(&crate::environment::process_env)
    }

    /// Appends ` (<suffix>)` to the `User-Agent` (for example an MCP client name).
    pub fn with_user_agent_suffix(mut self, env: EnvLookup<'_>, suffix: &str) -> Self {
        self.user_agent = user_agent(env, &self.originator, Some(suffix));
        self
    }

    /// Sends `x-openai-internal-codex-residency: <region>` (for example `us`).
    pub fn with_residency(mut self, region: &str) -> Self {
        self.residency = HeaderValue::from_str(region).ok();
        self
    }

    /// The `originator` header value.
    pub fn originator(&self) -> &str {
        &self.originator
    }

    /// The `User-Agent` header value.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The variable and file the extra CA certificates came from, if any.
    pub fn ca_source(&self) -> Option<(&'static str, &std::path::Path)> {
        self.ca_source
            .as_ref()
            .map(|(variable, path)| (*variable, path.as_path()))
    }

    /// The headers the default client puts on every request.
    pub fn default_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&self.originator) {
            headers.insert(codex_auth_provider::headers::ORIGINATOR, value);
        }
        if let Ok(value) = HeaderValue::from_str(&self.user_agent) {
            headers.insert(http::header::USER_AGENT, value);
        }
        if let Some(value) = &self.residency {
            headers.insert(RESIDENCY_HEADER, value.clone());
        }
        headers
    }

    /// The default client: Codex headers, no redirects, default timeouts.
    pub fn default_client(&self) -> Result<reqwest::Client, HttpClientError> {
        self.client(&ClientOptions::default())
    }

    /// The bare client (custom CA, proxies and timeouts, but no Codex headers),
    /// as upstream uses for the code and device-code exchanges.
    pub fn bare_client(&self) -> Result<reqwest::Client, HttpClientError> {
        self.client(&ClientOptions {
            default_headers: false,
            ..ClientOptions::default()
        })
    }

    /// The default client for requests to `url` and nothing else; see
    /// [`HttpClientFactory::client_for`].
    pub fn default_client_for(&self, url: &Url) -> Result<reqwest::Client, HttpClientError> {
        self.client_for(url, &ClientOptions::default())
    }

    /// A client with the given options for requests to `url` only (for example
    /// a backend base URL), built with only what those requests need.
    ///
    /// When `url` is plain `http://` to a loopback address (the emulator,
    /// tests) no TLS is ever negotiated, so the client is built without loading
    /// or parsing any CA certificate: it trusts no root at all and refuses every
    /// `https://` server. Any other URL gets [`HttpClientFactory::client`], with
    /// the system roots plus the custom CA bundle. Headers, proxies (which never
    /// apply to loopback) and timeouts are the same either way.
    pub fn client_for(
        &self,
        url: &Url,
        options: &ClientOptions,
    ) -> Result<reqwest::Client, HttpClientError> {
        if is_plain_http_loopback(url) {
            self.build(options, Roots::None)
        } else {
            self.client(options)
        }
    }

    /// A client with the given options.
    pub fn client(&self, options: &ClientOptions) -> Result<reqwest::Client, HttpClientError> {
        self.build(options, Roots::SystemAndCustom)
    }

    fn build(
        &self,
        options: &ClientOptions,
        roots: Roots,
    ) -> Result<reqwest::Client, HttpClientError> {
        let redirect = if options.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        };
        let mut builder = reqwest::Client::builder()
            .redirect(redirect)
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout);
        if options.default_headers {
            builder = builder.default_headers(self.default_headers());
        }
        match roots {
            Roots::SystemAndCustom => {
                if !self.extra_roots.is_empty() {
                    builder = builder.tls_certs_merge(self.extra_roots.iter().cloned());
                }
            }
            // An empty trust store: no system store is read, and TLS always fails.
            Roots::None => builder = builder.tls_certs_only(std::iter::empty()),
        }
        // Proxies come from `proxy_env` only, which keeps loopback targets off every proxy.
        builder = builder.no_proxy();
        if let Some(proxy) = self.proxies.reqwest_proxy() {
            builder = builder.proxy(proxy);
        }
        builder.build().map_err(HttpClientError::Build)
    }
}

/// Which certificate roots a client trusts.
#[derive(Debug, Clone, Copy)]
enum Roots {
    /// The system store plus the custom CA bundle: every client that may speak TLS.
    SystemAndCustom,
    /// None: only for clients that never leave plain-http loopback.
    None,
}

/// `http://` to a loopback address: the one case where no TLS is ever negotiated.
fn is_plain_http_loopback(url: &Url) -> bool {
    url.scheme() == "http" && ensure_credential_safe_url(url).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn credential_urls_need_https_or_loopback() {
        let ok = [
            "https://auth.openai.com/oauth/token",
            "http://127.0.0.1:1455/oauth/token",
            "http://127.9.9.9/x",
            "http://[::1]:80/x",
            "http://localhost:8080/x",
        ];
        for url in ok {
            assert_eq!(
                ensure_credential_safe_url(&Url::parse(url).unwrap()),
                Ok(()),
                "{url}"
            );
        }
        let err = ensure_credential_safe_url(
            &Url::parse("http://user:pw@example.com/oauth/token?code=abc").unwrap(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            CredentialUrlError::PlainHttpToRemoteHost { .. }
        ));
        let text = err.to_string();
        assert!(text.contains("http://example.com/oauth/token"), "{text}");
        assert!(!text.contains("pw") && !text.contains("abc"), "{text}");
        assert!(matches!(
            ensure_credential_safe_url(&Url::parse("http://10.0.0.1/").unwrap()),
            Err(CredentialUrlError::PlainHttpToRemoteHost { .. })
        ));
        assert!(matches!(
            ensure_credential_safe_url(&Url::parse("ftp://127.0.0.1/").unwrap()),
            Err(CredentialUrlError::UnsupportedScheme { .. })
        ));
    }

    #[test]
    fn originator_override_and_fallback() {
        assert_eq!(originator(&env_of(&[])), DEFAULT_ORIGINATOR);
        assert_eq!(
            originator(&env_of(&[(ORIGINATOR_OVERRIDE_ENV_VAR, "codex_vscode")])),
            "codex_vscode"
        );
        assert_eq!(
            originator(&env_of(&[(ORIGINATOR_OVERRIDE_ENV_VAR, "bad\nvalue")])),
            DEFAULT_ORIGINATOR
        );
        assert!(is_first_party_originator("codex_cli_rs"));
        assert!(is_first_party_originator("Codex Desktop"));
        assert!(!is_first_party_originator("my_tool"));
        assert!(is_first_party_chat_originator("codex_atlas"));
    }

    #[test]
    fn user_agent_has_the_upstream_shape() {
        let ua = user_agent(&env_of(&[("TERM", "xterm")]), "codex_cli_rs", None);
        let prefix = format!("codex_cli_rs/{} (", env!("CARGO_PKG_VERSION"));
        assert!(ua.starts_with(&prefix), "{ua}");
        assert!(ua.ends_with(") xterm"), "{ua}");
        assert!(ua.contains(&format!("; {})", architecture())), "{ua}");
        let ua = user_agent(
            &env_of(&[
                ("TERM_PROGRAM", "iTerm.app"),
                ("TERM_PROGRAM_VERSION", "3.5"),
            ]),
            "codex_cli_rs",
            Some("my\r\nclient\0"),
        );
        assert!(ua.ends_with(") iTerm.app/3.5 (my__client_)"), "{ua}");
        assert!(HeaderValue::from_str(&ua).is_ok());
    }

    #[test]
    fn os_release_gives_the_lsb_release_text_for_debian_and_ubuntu_only() {
        let debian =
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n";
        assert_eq!(
            user_agent::os_release_fields(debian, false),
            Some(("Debian".to_owned(), "12.0.0".to_owned()))
        );
        assert_eq!(user_agent::os_release_fields(debian, true), None);
        let ubuntu = "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n";
        assert_eq!(
            user_agent::os_release_fields(ubuntu, false),
            Some(("Ubuntu".to_owned(), "22.4.0".to_owned()))
        );
        assert_eq!(
            user_agent::os_release_fields("ID=arch\nBUILD_ID=rolling\n", false),
            None
        );
        assert_eq!(user_agent::os_release_fields("ID=debian\n", false), None);
    }

    #[test]
    fn the_first_der_sequence_is_cut_from_its_header() {
        let empty: &[u8] = &[0x30, 0x00];
        assert_eq!(first_der_sequence(&[0x30, 0x00, 0x30, 0x00]), Some(empty));
        let one: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x07];
        assert_eq!(
            first_der_sequence(&[0x30, 0x03, 0x02, 0x01, 0x07, 0xff]),
            Some(one)
        );
        let long: Vec<u8> = [&[0x30, 0x81, 0x80][..], &[0u8; 0x80]].concat();
        let with_trust = [&long[..], &[0x30, 0x00]].concat();
        assert_eq!(first_der_sequence(&with_trust), Some(&long[..]));
        // Content shorter than the header says, not a SEQUENCE, no header at all.
        assert_eq!(first_der_sequence(&[0x30, 0x05, 0x00]), None);
        assert_eq!(first_der_sequence(&[0x02, 0x01, 0x00]), None);
        assert_eq!(first_der_sequence(&[]), None);
    }

    #[test]
    fn pem_problems_name_the_block_and_line() {
        let malformed = |text: &str| match parse_pem_certificates(text.as_bytes()) {
            Err(PemProblem::Malformed(problem)) => problem,
            other => panic!("{other:?}"),
        };
        let cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        assert_eq!(
            parse_pem_certificates(cert.as_bytes()),
            Ok(vec![vec![0x30, 0x00]])
        );
        let trusted =
            "-----BEGIN TRUSTED CERTIFICATE-----\nMAAwAA==\n-----END TRUSTED CERTIFICATE-----\n";
        assert_eq!(
            parse_pem_certificates(format!("{cert}{trusted}").as_bytes()),
            Ok(vec![vec![0x30, 0x00], vec![0x30, 0x00]])
        );
        assert_eq!(
            parse_pem_certificates(
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ),
            Err(PemProblem::NoCertificates)
        );
        assert_eq!(
            malformed(&format!("{cert}\n-----BEGIN CERTIFICATE-----\nMAA=\n")),
            "the CERTIFICATE block starting on line 5 has no matching END line"
        );
        assert_eq!(
            malformed(&format!("-----BEGIN X509 CERTIFICATE-----\nMAA=\n{cert}")),
            "the X509 CERTIFICATE block starting on line 1 has no matching END line"
        );
        assert_eq!(
            malformed(&format!(
                "{cert}-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"
            )),
            "the CERTIFICATE block starting on line 4 is not valid base64"
        );
        assert_eq!(
            malformed("-----BEGIN CERTIFICATE-----\nAgEA\n-----END CERTIFICATE-----\n"),
            "the CERTIFICATE block starting on line 1 does not hold a DER certificate"
        );
        assert_eq!(
            malformed("-----BEGIN CERTIFICATE-----\nMAAwAA==\n-----END CERTIFICATE-----\n"),
            "the CERTIFICATE block starting on line 1 has trailing bytes after the certificate"
        );
        // A key block is skipped unread, and its label is never quoted.
        assert_eq!(
            parse_pem_certificates(
                b"-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n\n!!\n-----END PRIVATE KEY-----\n"
            ),
            Err(PemProblem::NoCertificates)
        );
        assert_eq!(
            malformed("-----BEGIN SECRETLABEL-----\nAAAA\n"),
            "a block starting on line 1 has no matching END line"
        );
        assert!(matches!(
            parse_pem_certificates(&[0xff, 0xfe]),
            Err(PemProblem::Malformed(_))
        ));
    }
}
