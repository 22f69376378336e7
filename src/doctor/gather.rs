//! Asks Prometheus (and the Alertmanagers it discovered) everything the
//! checks judge, concurrently, once. Each answer is kept with its error: a
//! server that lacks one API still gets the other checks.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::Config;
use crate::promql::{metric, Selector};
use crate::query::api::{Alertmanagers, BuildInfo, RuleGroups, RuntimeInfo, Targets};
use crate::query::{Client, ClientOptions, Error, Sample, Series};

/// How far back raw samples are read to measure scrape spacing.
pub const SPACING_WINDOW: &str = "5m";

/// What Prometheus said, answer by answer.
#[derive(Debug)]
pub struct Facts {
    /// `vector(1)`: whether Prometheus answers queries at all.
    pub reachable: Result<(), Error>,
    pub build: Result<BuildInfo, Error>,
    pub rules: Result<RuleGroups, Error>,
    pub targets: Result<Targets, Error>,
    pub alertmanagers: Result<Alertmanagers, Error>,
    /// Each active Alertmanager's address and what `GET /-/ready` answered
    /// (its status code, or why nothing did).
    pub alertmanager_ready: Vec<(String, Result<u16, String>)>,
    pub flags: Result<BTreeMap<String, String>, Error>,
    pub runtime: Result<RuntimeInfo, Error>,
    /// Raw samples of `up{job="<alerting.job>"}` over [`SPACING_WINDOW`].
    pub up: Result<Vec<Series>, Error>,
    /// `group by (job, instance, location) (mimamori_probe_success)`.
    pub probers: Result<Vec<Sample>, Error>,
    /// `group by (job, instance, location, exported_location) (mimamori_probe_success{exported_location!=""})`.
    pub exported: Result<Vec<Sample>, Error>,
    /// `group by (job, instance, version) (mimamori_build_info)`.
    pub versions: Result<Vec<Sample>, Error>,
    /// `mimamori_maintenance_active`, each prober's series.
    pub maintenance: Result<Vec<Sample>, Error>,
}

/// The address to ask for readiness: the alerts URL without its API path.
pub fn alertmanager_base(alerts_url: &str) -> String {
    let mut base = alerts_url.trim_end_matches('/');
    for suffix in ["/api/v2/alerts", "/api/v1/alerts"] {
        if let Some(b) = base.strip_suffix(suffix) {
            base = b;
            break;
        }
    }
    base.to_string()
}

/// `GET <base>/-/ready` without Prometheus' credentials or headers (they are
/// not the Alertmanager's), trusting the same extra CA file.
async fn ready(http: &reqwest::Client, alerts_url: &str) -> Result<u16, String> {
    let url = format!("{}/-/ready", alertmanager_base(alerts_url));
    match http.get(&url).send().await {
        Ok(r) => Ok(r.status().as_u16()),
        Err(e) => {
            let mut parts = vec![if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                "connection failed".to_string()
            } else {
                "request failed".to_string()
            }];
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                let m = s.to_string();
                if !parts.iter().any(|p| p.contains(&m)) {
                    parts.push(m);
                }
                src = s.source();
            }
            Err(parts.join(": "))
        }
    }
}

fn alertmanager_client(opts: &ClientOptions) -> reqwest::Client {
    let mut b = reqwest::Client::builder().timeout(opts.timeout.min(Duration::from_secs(10)));
    if let Some(ca) = &opts.ca_file {
        if let Ok(pem) = std::fs::read(ca) {
            for c in reqwest::Certificate::from_pem_bundle(&pem).unwrap_or_default() {
                b = b.add_root_certificate(c);
            }
        }
    }
    b.build().unwrap_or_default()
}

/// Asks everything at `now` (unix seconds).
pub async fn gather(client: &Client, cfg: &Config, opts: &ClientOptions, now: i64) -> Facts {
    let job = Selector::new().eq("job", cfg.alerting.job.as_str());
    let up = format!("{}[{SPACING_WINDOW}]", job.of(metric::UP));
    let probers = format!(
        "group by (job, instance, location) ({})",
        metric::PROBE_SUCCESS
    );
    let exported = format!(
        "group by (job, instance, location, exported_location) ({})",
        Selector::new()
            .ne("exported_location", "")
            .of(metric::PROBE_SUCCESS)
    );
    let versions = format!("group by (job, instance, version) ({})", metric::BUILD_INFO);
    let reachable = client.query("vector(1)", now).await.map(|_| ());
    if let Err(e) = reachable {
        // Nothing else will answer either: do not wait for every timeout again.
        let gone = || Error::Unreachable {
            url: client.url().to_string(),
            cause: "see above".into(),
        };
        return Facts {
            reachable: Err(e),
            build: Err(gone()),
            rules: Err(gone()),
            targets: Err(gone()),
            alertmanagers: Err(gone()),
            alertmanager_ready: Vec::new(),
            flags: Err(gone()),
            runtime: Err(gone()),
            up: Err(gone()),
            probers: Err(gone()),
            exported: Err(gone()),
            versions: Err(gone()),
            maintenance: Err(gone()),
        };
    }
    let (build, rules, targets, alertmanagers, flags, runtime) = tokio::join!(
        client.build_info(),
        client.rules(),
        client.targets(),
        client.alertmanagers(),
        client.flags(),
        client.runtime_info(),
    );
    let (up, probers, exported, versions, maintenance) = tokio::join!(
        client.samples(&up, now),
        client.query(&probers, now),
        client.query(&exported, now),
        client.query(&versions, now),
        client.query(metric::MAINTENANCE_ACTIVE, now),
    );
    let mut alertmanager_ready = Vec::new();
    if let Ok(am) = &alertmanagers {
        let http = alertmanager_client(opts);
        let answers =
            futures_util::future::join_all(am.active.iter().map(|a| ready(&http, &a.url))).await;
        alertmanager_ready = am
            .active
            .iter()
            .map(|a| a.url.clone())
            .zip(answers)
            .collect();
    }
    Facts {
        reachable: Ok(()),
        build,
        rules,
        targets,
        alertmanagers,
        alertmanager_ready,
        flags,
        runtime,
        up,
        probers,
        exported,
        versions,
        maintenance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertmanager_base_drops_the_api_path() {
        assert_eq!(
            alertmanager_base("http://127.0.0.1:9093/api/v2/alerts"),
            "http://127.0.0.1:9093"
        );
        assert_eq!(
            alertmanager_base("https://am.example/prefix/api/v1/alerts"),
            "https://am.example/prefix"
        );
    }
}
