//! `network.env` (the proxy variables in effect and which proxy the issuer
//! and the backend would go through), `network.ca` (the extra CA bundle) and
//! `auth.callback_ports` (whether the login callback ports are free).

use super::{Check, Status};
use codex_login::config::CodexConfig;
use codex_login::environment::EnvLookup;
use codex_login::flows::{DEFAULT_CALLBACK_PORT, FALLBACK_CALLBACK_PORT};
use codex_login::http_client::HttpClientFactory;
use std::net::{Ipv4Addr, TcpListener};
use url::Url;

/// Overrides the ports `auth.callback_ports` checks (comma-separated), for
/// setups whose login uses other ports, and for tests.
pub const PORTS_ENV_VAR: &str = "CODEX_DOCTOR_CALLBACK_PORTS";

/// The proxy variables, as reqwest reads them (upper case first).
pub struct Proxies {
    pub https: Option<(&'static str, String)>,
    pub http: Option<(&'static str, String)>,
    pub all: Option<(&'static str, String)>,
    pub no_proxy: Option<(&'static str, String)>,
    /// `CODEX_SANDBOX=seatbelt` turns proxies off.
    pub disabled: bool,
}

fn first_set(env: EnvLookup<'_>, names: [&'static str; 2]) -> Option<(&'static str, String)> {
    names
        .into_iter()
        .find_map(|name| env(name).filter(|v| !v.is_empty()).map(|v| (name, v)))
}

impl Proxies {
    pub fn from_env(env: EnvLookup<'_>) -> Self {
        Self {
            https: first_set(env, ["HTTPS_PROXY", "https_proxy"]),
            http: first_set(env, ["HTTP_PROXY", "http_proxy"]),
            all: first_set(env, ["ALL_PROXY", "all_proxy"]),
            no_proxy: first_set(env, ["NO_PROXY", "no_proxy"]),
            disabled: env("CODEX_SANDBOX").as_deref() == Some("seatbelt"),
        }
    }

    /// The variable and proxy a request to `url` would use, or `None` for a direct connection.
    pub fn for_url(&self, url: &str) -> Option<(&'static str, String)> {
        if self.disabled {
            return None;
        }
        let url = Url::parse(url).ok()?;
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        if self.bypassed(host) {
            return None;
        }
        let specific = if url.scheme() == "https" {
            &self.https
        } else {
            &self.http
        };
        specific.clone().or_else(|| self.all.clone())
    }

    fn bypassed(&self, host: &str) -> bool {
        let Some((_, list)) = &self.no_proxy else {
            return false;
        };
        list.split(',').map(str::trim).any(|entry| {
            let entry = entry.trim_start_matches('.');
            entry == "*"
                || (!entry.is_empty()
                    && (host.eq_ignore_ascii_case(entry)
                        || host
                            .to_ascii_lowercase()
                            .ends_with(&format!(".{}", entry.to_ascii_lowercase()))))
        })
    }
}

/// Shows a proxy URL without any password in it. A value that is not a URL with a host
/// (e.g. `user:secret@proxy:3128` without a scheme) is shown only after its last `@`, since
/// whatever stands before it may be credentials.
pub fn shown(value: &str) -> String {
    match Url::parse(value) {
        Ok(mut url) if url.has_host() => {
            if url.password().is_some() {
                let _ = url.set_password(Some("****"));
            }
            url.to_string()
        }
        _ => match value.rsplit_once('@') {
            Some((_, host)) => format!("****@{host}"),
            None => value.to_owned(),
        },
    }
}

pub fn proxy_check(proxies: &Proxies, config: &CodexConfig) -> Check {
    let mut check = Check::new(
        "network.env",
        "network",
        Status::Ok,
        "proxy environment looks usable",
    );
    let variables = [
        &proxies.https,
        &proxies.http,
        &proxies.all,
        &proxies.no_proxy,
    ];
    let mut any = false;
    for (name, value) in variables.into_iter().flatten() {
        any = true;
        check = check.detail(name.to_string(), shown(value));
        if *name != "NO_PROXY" && *name != "no_proxy" {
            let parsed = Url::parse(value);
            if parsed.as_ref().map_or(true, |url| url.host_str().is_none()) {
                check.worsen(
                    Status::Fail,
                    format!("{name} is not a proxy URL: {}", shown(value)),
                    format!("Set {name} to a URL such as http://proxy.example:3128, or unset it."),
                );
            }
        }
    }
    if !any {
        check = check.detail("proxy env vars present", "none");
    }
    if proxies.disabled {
        check = check.detail("proxies", "off (CODEX_SANDBOX=seatbelt)");
    }
    for (label, url) in [
        ("issuer", config.issuer.as_str()),
        ("backend", config.chatgpt_base_url.as_str()),
    ] {
        let route = match proxies.for_url(url) {
            Some((name, proxy)) => format!("{url} via {} ({name})", shown(&proxy)),
            None => format!("{url} direct"),
        };
        check = check.detail(format!("{label} route"), route);
    }
    check
}

/// `network.ca`, and the HTTP client factory when the CA settings allow one.
pub fn ca(env: EnvLookup<'_>) -> (Check, Option<HttpClientFactory>) {
    let named: Vec<String> = ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"]
        .into_iter()
        .filter_map(|name| env(name).map(|value| format!("{name}={value}")))
        .collect();
    match HttpClientFactory::from_env(env) {
        Ok(factory) => {
            let check = match factory.ca_source() {
                Some((variable, path)) => Check::new(
                    "network.ca",
                    "network",
                    Status::Ok,
                    &format!("extra CA certificates from {variable}"),
                )
                .detail("CA file", path.display().to_string()),
                None => Check::new(
                    "network.ca",
                    "network",
                    Status::Ok,
                    "system and built-in root certificates",
                ),
            };
            (check, Some(factory))
        }
        Err(err) => {
            let check = Check::new(
                "network.ca",
                "network",
                Status::Fail,
                &format!("the CA bundle cannot be used: {err}"),
            )
            .detail("variables", named.join(", "))
            .next("Point CODEX_CA_CERTIFICATE (or SSL_CERT_FILE) at a readable PEM file of CA certificates, or unset it.");
            (check, None)
        }
    }
}

pub fn callback_ports(env: EnvLookup<'_>) -> Check {
    let configured = env(PORTS_ENV_VAR);
    let ports: Vec<u16> = match &configured {
        Some(list) => list
            .split(',')
            .filter_map(|port| port.trim().parse().ok())
            .collect(),
        None => vec![DEFAULT_CALLBACK_PORT, FALLBACK_CALLBACK_PORT],
    };
    let mut check = Check::new(
        "auth.callback_ports",
        "auth",
        Status::Ok,
        "login callback ports are free",
    );
    if configured.is_some() {
        check = check.detail("ports from", PORTS_ENV_VAR);
    }
    let mut busy = Vec::new();
    for port in &ports {
        let state = match TcpListener::bind((Ipv4Addr::LOCALHOST, *port)) {
            Ok(_) => "free".to_owned(),
            Err(err) => {
                busy.push(*port);
                format!("busy ({err})")
            }
        };
        check = check.detail(format!("127.0.0.1:{port}"), state);
    }
    if !busy.is_empty() {
        let list: Vec<String> = busy.iter().map(u16::to_string).collect();
        let status = if busy.len() == ports.len() {
            Status::Fail
        } else {
            Status::Warning
        };
        check.worsen(
            status,
            format!("callback port {} is in use", list.join(" and ")),
            format!(
                "Stop what listens on 127.0.0.1:{} (see `ss -ltnp`), or log in with `codex login --device-auth`.",
                list.join(", ")
            ),
        );
    }
    check
}

#[cfg(test)]
mod shown_tests {
    use super::shown;

    #[test]
    fn no_proxy_credentials_are_shown_in_any_spelling() {
        assert_eq!(
            shown("http://user:pw-secret@127.0.0.1:3128"),
            "http://user:****@127.0.0.1:3128/"
        );
        for value in ["user:pw-secret@proxy:3128", "not a url:pw-secret@proxy"] {
            let out = shown(value);
            assert!(!out.contains("pw-secret") && !out.contains("user"), "{out}");
        }
        assert_eq!(shown("not a proxy"), "not a proxy");
    }
}
