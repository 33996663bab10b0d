//! `network.auth_reachability` (a timed request to the issuer and the backend,
//! through the proxies and CA the login would use) and `system.clock` (clock
//! skew from their `Date` headers). No credential is sent.

use super::network::{Proxies, shown};
use super::{Check, Status};
use chrono::{DateTime, Utc};
use codex_login::config::CodexConfig;
use codex_login::http_client::HttpClientFactory;
use std::time::{Duration, Instant};

/// How long each request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Skew beyond which tokens may be judged expired early or late.
const SKEW_WARNING_SECS: i64 = 60;
const SKEW_FAIL_SECS: i64 = 300;

/// What one endpoint answered.
struct Probe {
    label: &'static str,
    url: String,
    elapsed: Duration,
    answer: Result<(u16, Option<i64>), String>,
}

pub fn reachability(
    config: &CodexConfig,
    factory: Option<HttpClientFactory>,
    proxies: &Proxies,
) -> Vec<Check> {
    let started = Instant::now();
    let mut check = Check::new(
        "network.auth_reachability",
        "reachability",
        Status::Ok,
        "the issuer and the backend answer",
    );
    let Some(factory) = factory else {
        check.worsen(
            Status::Fail,
            "not checked: no HTTP client could be built".to_owned(),
            "Fix network.ca first.".to_owned(),
        );
        return vec![check];
    };
    let client = factory.default_client();
    let runtime = crate::context::runtime();
    let (client, runtime) = match (client, runtime) {
        (Ok(client), Ok(runtime)) => (client, runtime),
        (Err(err), _) => {
            check.worsen(
                Status::Fail,
                format!("not checked: {err}"),
                "Fix the proxy or CA settings named in network.env and network.ca.".to_owned(),
            );
            return vec![check];
        }
        (_, Err(err)) => {
            check.worsen(
                Status::Fail,
                format!("not checked: {err}"),
                "Retry.".to_owned(),
            );
            return vec![check];
        }
    };
    let backend = format!(
        "{}/wham/usage",
        config.chatgpt_base_url.trim_end_matches('/')
    );
    let targets = [("issuer", config.issuer.clone()), ("backend", backend)];
    let probes: Vec<Probe> = runtime.block_on(async {
        let mut probes = Vec::new();
        for (label, url) in targets {
            probes.push(probe(&client, label, url).await);
        }
        probes
    });
    let mut skews = Vec::new();
    for probe in &probes {
        match &probe.answer {
            Ok((status, skew)) => {
                check = check.detail(
                    probe.label,
                    format!(
                        "{} answered HTTP {status} in {} ms",
                        probe.url,
                        probe.elapsed.as_millis()
                    ),
                );
                skews.extend(skew.map(|skew| (probe.label, skew)));
            }
            Err(error) => {
                check = check.detail(
                    probe.label,
                    format!(
                        "{} unreachable after {} ms: {error}",
                        probe.url,
                        probe.elapsed.as_millis()
                    ),
                );
                let step = match proxies.for_url(&probe.url) {
                    Some((name, proxy)) => format!(
                        "Check {name} ({}): the {} is reached through it and it did not answer; fix it or add the host to NO_PROXY.",
                        shown(&proxy),
                        probe.label
                    ),
                    None if error.contains("certificate") => {
                        "Set CODEX_CA_CERTIFICATE to the PEM bundle of the CA that signs this server's certificate.".to_owned()
                    }
                    None => format!(
                        "Check the network, VPN or firewall between here and {}.",
                        probe.url
                    ),
                };
                check.worsen(
                    Status::Fail,
                    format!("the {} cannot be reached", probe.label),
                    step,
                );
            }
        }
    }
    check.duration_ms = started.elapsed().as_millis();
    vec![check, clock(&skews)]
}

async fn probe(client: &reqwest::Client, label: &'static str, url: String) -> Probe {
    let before = Utc::now();
    let started = Instant::now();
    let sent = client.get(&url).timeout(REQUEST_TIMEOUT).send().await;
    let elapsed = started.elapsed();
    let answer = match sent {
        Ok(response) => {
            let midpoint = before + (Utc::now() - before) / 2;
            let skew = response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| DateTime::parse_from_rfc2822(text).ok())
                .map(|date| (date.with_timezone(&Utc) - midpoint).num_seconds());
            Ok((response.status().as_u16(), skew))
        }
        Err(err) => Err(error_chain(&err)),
    };
    Probe {
        label,
        url,
        elapsed,
        answer,
    }
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn clock(skews: &[(&'static str, i64)]) -> Check {
    let mut check = Check::new(
        "system.clock",
        "system",
        Status::Ok,
        "the clock agrees with the servers",
    );
    if skews.is_empty() {
        return check.detail("skew", "unknown: no server answered with a Date header");
    }
    for (label, skew) in skews {
        check = check.detail(
            format!("{label} skew"),
            format!("{skew:+} s (server minus local)"),
        );
        let size = skew.abs();
        if size > SKEW_WARNING_SECS {
            let status = if size > SKEW_FAIL_SECS {
                Status::Fail
            } else {
                Status::Warning
            };
            check.worsen(
                status,
                format!("the local clock is {size} s off the {label}'s"),
                "Synchronise the system clock (e.g. `timedatectl set-ntp true`); token expiry is judged by it."
                    .to_owned(),
            );
        }
    }
    check
}
