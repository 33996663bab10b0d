//! Proxies from the environment, decided here rather than inside reqwest so that
//!
//! - a loopback target (the emulator, a local issuer on plain `http://`) is never
//!   sent through a proxy: a proxy would see the tokens of a plain-text request;
//! - a request that fails through a proxy can say which proxy and which variable
//!   (credentials in the proxy URL are never shown).
//!
//! Variables, as curl and reqwest read them: `HTTPS_PROXY`/`https_proxy` for
//! `https://` targets, `HTTP_PROXY`/`http_proxy` for `http://` targets (the
//! upper-case form is ignored under CGI, where `REQUEST_METHOD` is set),
//! `ALL_PROXY`/`all_proxy` for both, and `NO_PROXY`/`no_proxy` exclusions
//! (`*`, host names and their subdomains, IP addresses and CIDR ranges).

use std::fmt;
use std::net::IpAddr;

use url::Url;

/// Looks up one environment variable; `None` when unset (the same shape as
/// `codex_login::environment::EnvLookup`).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads a variable from the process environment, treating empty as unset.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A proxy named by an environment variable.
#[derive(Clone)]
pub struct ProxySetting {
    /// The variable that named it, e.g. `HTTPS_PROXY`.
    pub variable: &'static str,
    url: Url,
}

impl ProxySetting {
    /// The proxy URL without user info, safe to show.
    pub fn display_url(&self) -> String {
        let mut shown = format!("{}://", self.url.scheme());
        if let Some(host) = self.url.host_str() {
            shown.push_str(host);
        }
        if let Some(port) = self.url.port_or_known_default() {
            shown.push_str(&format!(":{port}"));
        }
        shown
    }
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxySetting")
            .field("variable", &self.variable)
            .field("url", &self.display_url())
            .finish()
    }
}

impl fmt::Display for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the proxy {} from {}", self.display_url(), self.variable)
    }
}

/// A proxy variable that is set but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the proxy variable {variable} is not a usable proxy URL: {reason}")]
pub struct ProxyVariableError {
    /// The variable.
    pub variable: &'static str,
    /// What is wrong (never the value: it may hold a password).
    pub reason: String,
}

/// The proxy configuration the environment asks for.
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    http: Option<ProxySetting>,
    https: Option<ProxySetting>,
    all: Option<ProxySetting>,
    no_proxy: Vec<String>,
}

impl ProxyEnv {
    /// Reads the proxy variables. A set variable that does not parse as a URL
    /// with a host is an error naming it.
    pub fn from_env(env: EnvLookup<'_>) -> Result<Self, ProxyVariableError> {
        let is_cgi = env("REQUEST_METHOD").is_some();
        let http_names: &[&'static str] = if is_cgi {
            &["http_proxy"]
        } else {
            &["HTTP_PROXY", "http_proxy"]
        };
        let no_proxy = first_set(env, &["NO_PROXY", "no_proxy"])
            .map(|(_, value)| {
                value
                    .split(',')
                    .map(|entry| entry.trim().to_ascii_lowercase())
                    .filter(|entry| !entry.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            http: setting(env, http_names)?,
            https: setting(env, &["HTTPS_PROXY", "https_proxy"])?,
            all: setting(env, &["ALL_PROXY", "all_proxy"])?,
            no_proxy,
        })
    }

    /// Whether any proxy is configured.
    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none() && self.all.is_none()
    }

    /// The proxy a request to `url` goes through: none for loopback targets
    /// and `NO_PROXY` matches.
    pub fn proxy_for(&self, url: &Url) -> Option<&ProxySetting> {
        let host = url.host()?;
        if is_loopback(&host) || self.excluded(&host) {
            return None;
        }
        let specific = match url.scheme() {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        };
        specific.or(self.all.as_ref())
    }

    /// The reqwest proxy that applies [`ProxyEnv::proxy_for`], or `None` when no proxy is set.
    pub fn reqwest_proxy(&self) -> Option<reqwest::Proxy> {
        if self.is_empty() {
            return None;
        }
        let routes = self.clone();
        Some(reqwest::Proxy::custom(move |url: &Url| {
            routes.proxy_for(url).map(|setting| setting.url.clone())
        }))
    }

    fn excluded(&self, host: &url::Host<&str>) -> bool {
        self.no_proxy
            .iter()
            .any(|entry| no_proxy_matches(entry, host))
    }
}

/// `" (through the proxy http://host:port from HTTPS_PROXY)"` when a request to `url`
/// goes through a proxy from the process environment; empty otherwise.
pub fn proxy_note_for_url(env: EnvLookup<'_>, url: &str) -> String {
    let (Ok(proxies), Ok(url)) = (ProxyEnv::from_env(env), Url::parse(url)) else {
        return String::new();
    };
    match proxies.proxy_for(&url) {
        Some(setting) => format!(" (through {setting})"),
        None => String::new(),
    }
}

/// [`proxy_note_for_url`] for a failed reqwest request, with the process environment.
pub fn proxy_note_for_error(err: &reqwest::Error) -> String {
    match err.url() {
        Some(url) if err.is_connect() || err.is_timeout() || err.is_request() => {
            proxy_note_for_url(&process_env, url.as_str())
        }
        _ => String::new(),
    }
}

fn first_set(env: EnvLookup<'_>, names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|name| {
        env(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .map(|value| (*name, value))
    })
}

fn setting(
    env: EnvLookup<'_>,
    names: &[&'static str],
) -> Result<Option<ProxySetting>, ProxyVariableError> {
    let Some((variable, value)) = first_set(env, names) else {
        return Ok(None);
    };
    // Like curl and reqwest: a value without a scheme is an http:// proxy.
    let with_scheme = if value.contains("://") {
        value
    } else {
        format!("http://{value}")
    };
    let url = Url::parse(&with_scheme).map_err(|err| ProxyVariableError {
        variable,
        reason: err.to_string(),
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ProxyVariableError {
            variable,
            reason: "it names no host".to_owned(),
        });
    }
    Ok(Some(ProxySetting { variable, url }))
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(domain) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            domain == "localhost" || domain.ends_with(".localhost")
        }
    }
}

/// curl's `NO_PROXY` rules: `*`, an IP address, a CIDR range, or a domain that also
/// covers its subdomains (a leading dot is ignored).
fn no_proxy_matches(entry: &str, host: &url::Host<&str>) -> bool {
    if entry == "*" {
        return true;
    }
    let ip = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        url::Host::Domain(_) => None,
    };
    if let Some(ip) = ip {
        return ip_entry_matches(entry, ip);
    }
    let url::Host::Domain(domain) = host else {
        return false;
    };
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let entry = entry.trim_start_matches('.').trim_end_matches('.');
    !entry.is_empty()
        && (domain == entry
            || domain
                .strip_suffix(entry)
                .is_some_and(|prefix| prefix.ends_with('.')))
}

fn ip_entry_matches(entry: &str, ip: IpAddr) -> bool {
    let entry = entry.trim_start_matches('[').trim_end_matches(']');
    let (address, prefix) = match entry.split_once('/') {
        Some((address, bits)) => match bits.parse::<u32>() {
            Ok(bits) => (address, Some(bits)),
            Err(_) => return false,
        },
        None => (entry, None),
    };
    let Ok(network) = address.parse::<IpAddr>() else {
        return false;
    };
    match (network, ip) {
        (IpAddr::V4(network), IpAddr::V4(ip)) => prefix_matches(
            u128::from(u32::from(network)),
            u128::from(u32::from(ip)),
            32,
            prefix,
        ),
        (IpAddr::V6(network), IpAddr::V6(ip)) => {
            prefix_matches(u128::from(network), u128::from(ip), 128, prefix)
        }
        _ => false,
    }
}

fn prefix_matches(network: u128, ip: u128, width: u32, prefix: Option<u32>) -> bool {
    let bits = prefix.unwrap_or(width).min(width);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (network >> shift) == (ip >> shift)
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

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn loopback_targets_never_use_a_proxy() {
        let proxies = ProxyEnv::from_env(&env_of(&[
            ("HTTP_PROXY", "http://proxy.example:3128"),
            ("ALL_PROXY", "socks5://proxy.example:1080"),
        ]))
        .unwrap();
        for target in [
            "http://127.0.0.1:8080/oauth/token",
            "http://127.5.6.7/",
            "http://[::1]:9/",
            "http://localhost:1/",
            "http://a.localhost/",
        ] {
            assert!(proxies.proxy_for(&url(target)).is_none(), "{target}");
        }
        let chosen = proxies.proxy_for(&url("http://auth.example/")).unwrap();
        assert_eq!(chosen.variable, "HTTP_PROXY");
        let chosen = proxies.proxy_for(&url("https://auth.example/")).unwrap();
        assert_eq!(chosen.variable, "ALL_PROXY");
    }

    #[test]
    fn no_proxy_rules_and_display_without_credentials() {
        let proxies = ProxyEnv::from_env(&env_of(&[
            ("https_proxy", "user:secret@proxy.example:3128"),
            (
                "NO_PROXY",
                " .corp.example, 10.0.0.0/8, fd00::/8,192.168.1.5",
            ),
        ]))
        .unwrap();
        for excluded in [
            "https://corp.example/",
            "https://a.b.corp.example/",
            "https://10.2.3.4/",
            "https://[fd00::1]/",
            "https://192.168.1.5/",
        ] {
            assert!(proxies.proxy_for(&url(excluded)).is_none(), "{excluded}");
        }
        let chosen = proxies.proxy_for(&url("https://notcorp.example/")).unwrap();
        assert_eq!(
            chosen.to_string(),
            "the proxy http://proxy.example:3128 from https_proxy"
        );
        assert!(!format!("{chosen:?}").contains("secret"));
        assert!(proxies.proxy_for(&url("https://192.168.1.6/")).is_some());
        let all = ProxyEnv::from_env(&env_of(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")]))
            .unwrap();
        assert!(all.proxy_for(&url("https://auth.example/")).is_none());
    }

    #[test]
    fn cgi_ignores_upper_case_http_proxy_and_bad_values_name_the_variable() {
        let cgi = ProxyEnv::from_env(&env_of(&[
            ("REQUEST_METHOD", "GET"),
            ("HTTP_PROXY", "http://attacker:1"),
        ]))
        .unwrap();
        assert!(cgi.is_empty());
        let err =
            ProxyEnv::from_env(&env_of(&[("HTTPS_PROXY", "http://user:pw@:99")])).unwrap_err();
        assert_eq!(err.variable, "HTTPS_PROXY");
        assert!(!err.to_string().contains("pw"), "{err}");
    }
}
