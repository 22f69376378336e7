//! The Prometheus status APIs besides queries, for `doctor`: loaded rule
//! groups, scrape targets, discovered Alertmanagers, command-line flags and
//! runtime information, and an instant query that returns raw samples (a
//! range selector), to measure how often a series is scraped.
//!
//! Prometheus serves all of them; Thanos Query and Mimir serve some (Mimir's
//! ruler answers `rules`, not `targets`). A server that does not have one
//! answers 404, which callers treat as "cannot tell".

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{parse_value, Client, Error, Series};

/// `GET /api/v1/rules`: the loaded rule groups.
#[derive(Debug, Clone, Deserialize)]
pub struct RuleGroups {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RuleGroup {
    pub name: String,
    #[serde(default)]
    pub file: String,
    /// Evaluation interval in seconds.
    pub interval: f64,
    #[serde(default)]
    pub rules: Vec<LoadedRule>,
}

/// One rule of a loaded group (recording or alerting).
#[derive(Debug, Clone, Deserialize)]
pub struct LoadedRule {
    pub name: String,
    /// `ok`, `err` or `unknown` (not evaluated yet).
    #[serde(default)]
    pub health: String,
    #[serde(default, rename = "lastError")]
    pub last_error: Option<String>,
}

/// `GET /api/v1/targets?state=active`.
#[derive(Debug, Clone, Deserialize)]
pub struct Targets {
    #[serde(rename = "activeTargets", default)]
    pub active: Vec<Target>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    /// Labels after relabelling (`job`, `instance` and any target labels).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "scrapePool", default)]
    pub scrape_pool: String,
    #[serde(rename = "scrapeUrl", default)]
    pub scrape_url: String,
    /// `up`, `down` or `unknown`.
    #[serde(default)]
    pub health: String,
    #[serde(rename = "lastError", default)]
    pub last_error: String,
    /// E.g. `15s`, `1m` (Prometheus 2.31 and later).
    #[serde(rename = "scrapeInterval", default)]
    pub scrape_interval: Option<String>,
}

/// `GET /api/v1/alertmanagers`.
#[derive(Debug, Clone, Deserialize)]
pub struct Alertmanagers {
    #[serde(rename = "activeAlertmanagers", default)]
    pub active: Vec<AlertmanagerUrl>,
    #[serde(rename = "droppedAlertmanagers", default)]
    pub dropped: Vec<AlertmanagerUrl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AlertmanagerUrl {
    /// Where alerts are posted, e.g. `http://127.0.0.1:9093/api/v2/alerts`.
    pub url: String,
}

/// `GET /api/v1/status/runtimeinfo` (only the fields `doctor` reads).
#[derive(Debug, Clone, Deserialize)]
pub struct RuntimeInfo {
    /// E.g. `15d`, `100y`, `7d or 10GiB`.
    #[serde(rename = "storageRetention", default)]
    pub storage_retention: String,
}

/// `GET /api/v1/status/buildinfo` (only the fields `doctor` reads).
#[derive(Debug, Clone, Deserialize)]
pub struct BuildInfo {
    #[serde(default)]
    pub version: String,
}

impl Client {
    /// `GET api` under the base address with the client's credentials and
    /// headers; the `data` of a successful answer.
    async fn get<T: DeserializeOwned>(
        &self,
        api: &str,
        params: &[(&str, &str)],
    ) -> Result<T, Error> {
        let url = self.base.join(api).expect("a relative API path joins");
        self.send(api, self.http.get(url).query(params)).await
    }

    /// The loaded rule groups (`/api/v1/rules`).
    pub async fn rules(&self) -> Result<RuleGroups, Error> {
        self.get("api/v1/rules", &[]).await
    }

    /// The active scrape targets (`/api/v1/targets`).
    pub async fn targets(&self) -> Result<Targets, Error> {
        self.get("api/v1/targets", &[("state", "active")]).await
    }

    /// The Alertmanagers Prometheus sends alerts to (`/api/v1/alertmanagers`).
    pub async fn alertmanagers(&self) -> Result<Alertmanagers, Error> {
        self.get("api/v1/alertmanagers", &[]).await
    }

    /// The server's command-line flags (`/api/v1/status/flags`), e.g.
    /// `storage.tsdb.retention.time`.
    pub async fn flags(&self) -> Result<BTreeMap<String, String>, Error> {
        self.get("api/v1/status/flags", &[]).await
    }

    /// Runtime information (`/api/v1/status/runtimeinfo`).
    pub async fn runtime_info(&self) -> Result<RuntimeInfo, Error> {
        self.get("api/v1/status/runtimeinfo", &[]).await
    }

    /// The server's version (`/api/v1/status/buildinfo`).
    pub async fn build_info(&self) -> Result<BuildInfo, Error> {
        self.get("api/v1/status/buildinfo", &[]).await
    }

    /// The raw samples of a range selector (e.g. `up{job="mimamori"}[5m]`) at
    /// `time`: each series with its samples' own timestamps, not a step grid.
    pub async fn samples(&self, selector: &str, time: i64) -> Result<Vec<Series>, Error> {
        #[derive(Deserialize)]
        struct Matrix {
            #[serde(rename = "resultType")]
            result_type: String,
            result: Vec<Raw>,
        }
        #[derive(Deserialize)]
        struct Raw {
            metric: BTreeMap<String, String>,
            #[serde(default)]
            values: Vec<(f64, String)>,
        }
        let time = time.to_string();
        let m: Matrix = self
            .get("api/v1/query", &[("query", selector), ("time", &time)])
            .await?;
        if m.result_type != "matrix" {
            return Err(self.decode(format!(
                "a {} for a range selector, expected a matrix",
                m.result_type
            )));
        }
        m.result
            .into_iter()
            .map(|r| {
                let points = r
                    .values
                    .into_iter()
                    .map(|(t, v)| Ok((t, parse_value(&v).map_err(|m| self.decode(m))?)))
                    .collect::<Result<_, Error>>()?;
                Ok(Series {
                    labels: r.metric,
                    points,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Envelope;

    #[test]
    fn status_answers_decode() {
        let r: Envelope<RuleGroups> = serde_json::from_str(
            r#"{"status":"success","data":{"groups":[{"name":"mimamori-a","file":"/r/a.yml","interval":15,"limit":0,
            "rules":[{"name":"x","query":"up","health":"err","lastError":"boom","type":"recording"}],
            "evaluationTime":0.1,"lastEvaluation":"2026-01-01T00:00:00Z"}]}}"#,
        )
        .unwrap();
        let g = &r.data.unwrap().groups[0];
        assert_eq!((g.name.as_str(), g.interval), ("mimamori-a", 15.0));
        assert_eq!(g.rules[0].last_error.as_deref(), Some("boom"));
        let t: Envelope<Targets> = serde_json::from_str(
            r#"{"status":"success","data":{"activeTargets":[{"discoveredLabels":{},"labels":{"job":"mimamori","instance":"a:1"},
            "scrapePool":"mimamori","scrapeUrl":"http://a:1/metrics","globalUrl":"","lastError":"","lastScrape":"x",
            "lastScrapeDuration":0.1,"health":"up","scrapeInterval":"1m","scrapeTimeout":"10s"}],"droppedTargets":[]}}"#,
        )
        .unwrap();
        let t = &t.data.unwrap().active[0];
        assert_eq!(t.scrape_interval.as_deref(), Some("1m"));
        assert_eq!(t.labels["job"], "mimamori");
        let a: Envelope<Alertmanagers> = serde_json::from_str(
            r#"{"status":"success","data":{"activeAlertmanagers":[{"url":"http://a:9093/api/v2/alerts"}],"droppedAlertmanagers":[]}}"#,
        )
        .unwrap();
        assert_eq!(a.data.unwrap().active[0].url, "http://a:9093/api/v2/alerts");
    }
}
