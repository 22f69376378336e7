//! The objectives as OpenSLO v1 documents (`generate --format openslo`), for the
//! tools that read the vendor-neutral SLO spec (Nobl9, Sloth's OpenSLO input,
//! slogen, …).
//!
//! One multi-document file, `openslo/mimamori.yaml`: a Prometheus `DataSource`,
//! the two notification targets (page, ticket), and per service a `Service`, an
//! `SLI` and an `SLO` per objective, and an `AlertCondition` with its
//! `AlertPolicy` per burn-rate alert. Every number comes from the SLO plan
//! ([`crate::slo::plan`]) and every query from the contract ([`crate::promql`]):
//! availability is read from the recorded quorum verdict the generated rules
//! write (`mimamori:slo_availability_errors` over `mimamori:service_operating`),
//! so announced maintenance is already out of its denominator; latency from the
//! `le` bucket at the threshold. What OpenSLO v1 cannot say (maintenance windows
//! as such, coverage, the short window of a multi-window alert) is written as
//! `mimamori/…` annotations and in `docs/interop.md`.

use serde::Serialize;

use super::rules::burn_expr;
use super::GeneratedFile;
use crate::config::Config;
use crate::promql::{self, record, round_decimal, Selector};
use crate::slo::plan::{self, BurnAlert, ServicePlan, Severity, Slo};

/// Where the documents are written, relative to `--out`.
pub const FILE: &str = "openslo/mimamori.yaml";

/// The data source every SLI reads.
const DATA_SOURCE: &str = "prometheus";

/// Months are counted from here on: any first of a month (local time) anchors the
/// calendar month; the objectives hold every month, not from a date on.
const CALENDAR_START: &str = "2026-01-01 00:00:00";

/// The smallest time slice OpenSLO v1 can write (its durations have no seconds).
const TIME_SLICE: &str = "1m";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<S> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: S,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DataSourceSpec {
    description: String,
    #[serde(rename = "type")]
    kind: &'static str,
    connection_details: ConnectionDetails,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionDetails {
    /// Replaced by the reader: the Prometheus that scrapes the probers and loads `rules/`.
    url: &'static str,
}

#[derive(Serialize)]
struct TargetSpec {
    target: &'static str,
    description: String,
}

#[derive(Serialize)]
struct ServiceSpec {
    description: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SliSpec {
    description: String,
    ratio_metric: RatioMetric,
}

#[derive(Serialize)]
struct RatioMetric {
    counter: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    good: Option<Holder>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bad: Option<Holder>,
    total: Holder,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Holder {
    metric_source: MetricSource,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricSource {
    metric_source_ref: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    spec: Query,
}

#[derive(Serialize)]
struct Query {
    query: String,
}

fn prometheus(query: String) -> Holder {
    Holder {
        metric_source: MetricSource {
            metric_source_ref: DATA_SOURCE,
            kind: "Prometheus",
            spec: Query { query },
        },
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SloSpec {
    description: String,
    service: String,
    indicator_ref: String,
    time_window: Vec<TimeWindow>,
    budgeting_method: &'static str,
    objectives: Vec<Objective>,
    alert_policies: Vec<PolicyRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TimeWindow {
    duration: &'static str,
    is_rolling: bool,
    calendar: Calendar,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Calendar {
    start_time: &'static str,
    time_zone: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Objective {
    display_name: String,
    target: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_slice_window: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyRef {
    alert_policy_ref: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConditionSpec {
    description: String,
    severity: &'static str,
    condition: Condition,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Condition {
    kind: &'static str,
    op: &'static str,
    threshold: f64,
    lookback_window: &'static str,
    alert_after: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicySpec {
    description: String,
    alert_when_no_data: bool,
    alert_when_resolved: bool,
    alert_when_breaching: bool,
    conditions: Vec<ConditionRef>,
    notification_targets: Vec<TargetRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConditionRef {
    condition_ref: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetRef {
    target_ref: &'static str,
}

/// An RFC 1123 label, as OpenSLO names must be: service names are Prometheus
/// label values (`[a-zA-Z_][a-zA-Z0-9_]*`), so lowercased with `_` as `-`.
pub fn name(s: &str) -> String {
    let n: String = s
        .chars()
        .map(|c| match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' => c,
            _ => '-',
        })
        .collect();
    n.trim_matches('-').to_string()
}

fn meta(name: String, display: Option<String>) -> Metadata {
    Metadata {
        name,
        display_name: display,
        ..Metadata::default()
    }
}

/// Appends one document to the multi-document stream.
fn push<S: Serialize>(out: &mut String, kind: &'static str, metadata: Metadata, spec: S) {
    let doc = Document {
        api_version: "openslo/v1",
        kind,
        metadata,
        spec,
    };
    out.push_str("---\n");
    let text = serde_yaml::to_string(&doc).expect("serializable");
    // Quoted, or YAML 1.1 readers (PyYAML, yaml.v2) read it as a timestamp, not the spec's string.
    out.push_str(&text.replace(
        &format!("startTime: {CALENDAR_START}\n"),
        &format!("startTime: '{CALENDAR_START}'\n"),
    ));
}

fn target(severity: Severity) -> &'static str {
    match severity {
        Severity::Page => "mimamori-page",
        Severity::Ticket => "mimamori-ticket",
    }
}

/// `hanbai-availability-page-1h`: unique per service, objective, severity and long window.
fn alert_name(p: &ServicePlan, a: &BurnAlert) -> String {
    format!(
        "{}-{}-{}-{}",
        name(&p.service),
        a.slo.label(),
        a.severity.label(),
        a.long.name
    )
}

/// The OpenSLO documents for `cfg`.
pub fn documents(cfg: &Config) -> String {
    let plans = plan::plans(cfg);
    let tz = cfg.alerting.support_hours.timezone.clone();
    let mut out = super::header(&super::display_path(&cfg.source.file));
    out.push_str(
        "# OpenSLO v1 (https://openslo.com). Maintenance windows, coverage and the short window of\n\
         # each multi-window alert have no OpenSLO v1 field: see docs/interop.md.\n",
    );
    push(
        &mut out,
        "DataSource",
        meta(DATA_SOURCE.into(), Some("Prometheus".into())),
        DataSourceSpec {
            description:
                "The Prometheus that scrapes the probers and has loaded mimamori's rules/ \
                (the availability SLIs read the series those rules record). Set its address here."
                    .into(),
            kind: "Prometheus",
            connection_details: ConnectionDetails {
                url: "http://prometheus:9090",
            },
        },
    );
    let receivers = |r: &crate::config::Receiver| {
        let mut v = Vec::new();
        if r.pagerduty_routing_key_file.is_some() {
            v.push("PagerDuty".to_string());
        }
        if !r.webhook_urls.is_empty() {
            v.push(format!("{} webhook(s)", r.webhook_urls.len()));
        }
        if !r.email_to.is_empty() {
            v.push(format!("{} mail address(es)", r.email_to.len()));
        }
        if v.is_empty() {
            "none configured".to_string()
        } else {
            v.join(", ")
        }
    };
    push(
        &mut out,
        "AlertNotificationTarget",
        meta("mimamori-page".into(), Some("Page on-call / 呼び出し".into())),
        TargetSpec {
            target: "alertmanager",
            description: format!(
                "Alertmanager receiver `page` of deploy/alertmanager/alertmanager.yml, at any hour: {}.",
                receivers(&cfg.alerting.page)
            ),
        },
    );
    push(
        &mut out,
        "AlertNotificationTarget",
        meta("mimamori-ticket".into(), Some("Ticket / チケット".into())),
        TargetSpec {
            target: "alertmanager",
            description: format!(
                "Alertmanager receiver `ticket` of deploy/alertmanager/alertmanager.yml, delivered in support hours: {}.",
                receivers(&cfg.alerting.ticket)
            ),
        },
    );
    for p in &plans {
        service_documents(&mut out, p, &tz);
    }
    out
}

fn service_documents(out: &mut String, p: &ServicePlan, tz: &str) {
    let svc = name(&p.service);
    let sel = Selector::service(&p.service);
    push(
        out,
        "Service",
        meta(svc.clone(), Some(format!("{} / {}", p.ja, p.en))),
        ServiceSpec {
            description: format!(
                "Probed by mimamori (service=\"{}\"): synthetic transactions from every location.",
                p.service
            ),
        },
    );
    for slo in [Slo::Availability, Slo::Latency] {
        let id = format!("{svc}-{}", slo.label());
        let target = round_decimal(p.objective(slo));
        let pct = promql::decimal(target * 100.0);
        let (sli, slo_text, method, objective_name) = match slo {
            Slo::Availability => (
                SliSpec {
                    description: "Failure time over operating time: 1 for every rule evaluation in which a quorum of the \
                        reporting locations sees the service failing outside announced maintenance (bad), \
                        1 for every evaluation outside maintenance and its grace period (total)."
                        .into(),
                    ratio_metric: RatioMetric {
                        counter: false,
                        good: None,
                        bad: Some(prometheus(sel.of(record::AVAILABILITY_ERRORS))),
                        total: prometheus(sel.of(record::SERVICE_OPERATING)),
                    },
                },
                format!(
                    "Availability {pct} % per calendar month: (operating time - failure time) / operating time. \
                     RatioTimeslices over 1-minute slices averages each minute's share of failure time, which is \
                     the failure seconds over the operating seconds whenever minutes are wholly operating or wholly \
                     maintenance; Timeslices would count a 15-second failure as a whole bad minute. A month observed \
                     less than {}% of its operating time is not determinable in mimamori's report.",
                    promql::decimal(p.min_coverage_percent)
                ),
                "RatioTimeslices",
                format!("{pct} % available / 稼働率 {pct} %"),
            ),
            Slo::Latency => {
                let c = promql::latency_series(&sel, p.latency_threshold_seconds);
                let th = promql::decimal(p.latency_threshold_seconds);
                (
                    SliSpec {
                        description: format!(
                            "Successful operations answered within {th} s (the le=\"{th}\" bucket) over all \
                             successful operations; counters, summed over transactions, steps and locations."
                        ),
                        ratio_metric: RatioMetric {
                            counter: true,
                            good: Some(prometheus(c.good)),
                            bad: None,
                            total: prometheus(c.total),
                        },
                    },
                    format!(
                        "{pct} % of operations answered within {th} s per calendar month: an event ratio \
                         (Occurrences), as the latency rules count it."
                    ),
                    "Occurrences",
                    format!("{pct} % within {th} s / {th} 秒以内 {pct} %"),
                )
            }
        };
        push(
            out,
            "SLI",
            meta(id.clone(), Some(format!("{} {}", p.en, slo.label()))),
            sli,
        );
        let alerts: Vec<&BurnAlert> = p.alerts.iter().filter(|a| a.slo == slo).collect();
        push(
            out,
            "SLO",
            meta(id.clone(), Some(format!("{} {}", p.en, slo.label()))),
            SloSpec {
                description: slo_text,
                service: svc.clone(),
                indicator_ref: id.clone(),
                time_window: vec![TimeWindow {
                    duration: "1M",
                    is_rolling: false,
                    calendar: Calendar {
                        start_time: CALENDAR_START,
                        time_zone: tz.to_string(),
                    },
                }],
                budgeting_method: method,
                objectives: vec![Objective {
                    display_name: objective_name,
                    target,
                    time_slice_window: (method == "RatioTimeslices").then_some(TIME_SLICE),
                }],
                alert_policies: alerts
                    .iter()
                    .map(|a| PolicyRef {
                        alert_policy_ref: alert_name(p, a),
                    })
                    .collect(),
            },
        );
        for a in alerts {
            alert_documents(out, p, a);
        }
    }
}

fn alert_documents(out: &mut String, p: &ServicePlan, a: &BurnAlert) {
    let id = alert_name(p, a);
    let burn = round_decimal(a.burn);
    let mut m = meta(id.clone(), Some(format!("{} ({})", a.name, p.service)));
    m.annotations = [
        ("mimamori/alert".to_string(), a.name.clone()),
        (
            "mimamori/short-window".to_string(),
            a.short.name.to_string(),
        ),
        ("mimamori/expr".to_string(), burn_expr(p, a)),
    ]
    .into();
    let when = match a.severity {
        Severity::Page => "pages on-call at any hour",
        Severity::Ticket => "opens a ticket, delivered in support hours",
    };
    push(
        out,
        "AlertCondition",
        m,
        ConditionSpec {
            description: format!(
                "Burn rate at least {} over {} and over {} (OpenSLO v1 has one lookback window; the short one \
                 is in the annotation mimamori/short-window and in the expression): {:.1} % of a 30-day budget in {}.",
                promql::decimal(burn),
                a.long.name,
                a.short.name,
                a.budget_share() * 100.0,
                a.long.name
            ),
            severity: a.severity.label(),
            condition: Condition {
                kind: "burnrate",
                op: "gte",
                threshold: burn,
                lookback_window: a.long.name,
                alert_after: "0m",
            },
        },
    );
    push(
        out,
        "AlertPolicy",
        meta(id.clone(), Some(format!("{} ({})", a.name, p.service))),
        PolicySpec {
            description: format!("{}: {when}.", a.name),
            alert_when_no_data: false,
            alert_when_resolved: true,
            alert_when_breaching: true,
            conditions: vec![ConditionRef { condition_ref: id }],
            notification_targets: vec![TargetRef {
                target_ref: target(a.severity),
            }],
        },
    );
}

/// What `generate --format openslo` writes.
pub fn files(cfg: &Config) -> Vec<GeneratedFile> {
    vec![GeneratedFile::new(FILE, documents(cfg))]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aoulu() -> Config {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/aoulu.yaml");
        crate::config::load(&path).unwrap()
    }

    fn docs(cfg: &Config) -> Vec<serde_yaml::Value> {
        let text = documents(cfg);
        serde_yaml::Deserializer::from_str(&text)
            .map(|d| serde_yaml::Value::deserialize(d).unwrap())
            .collect()
    }

    use serde::Deserialize;

    #[test]
    fn names_are_rfc1123_labels() {
        assert_eq!(name("hanbai"), "hanbai");
        assert_eq!(name("Web_Shop_"), "web-shop");
    }

    #[test]
    fn every_query_is_the_contracts_and_parses() {
        let cfg = aoulu();
        let all = docs(&cfg);
        let mut queries = 0;
        for d in &all {
            if d["kind"] == "SLI" {
                for part in ["good", "bad", "total"] {
                    let q = &d["spec"]["ratioMetric"][part]["metricSource"]["spec"]["query"];
                    if let Some(q) = q.as_str() {
                        promql_parser::parser::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
                        queries += 1;
                    }
                }
            }
            if d["kind"] == "AlertCondition" {
                let q = d["metadata"]["annotations"]["mimamori/expr"]
                    .as_str()
                    .unwrap();
                promql_parser::parser::parse(q).unwrap();
            }
        }
        // Two services, two objectives, two queries each.
        assert_eq!(queries, 8);
        let hanbai = all
            .iter()
            .find(|d| d["kind"] == "SLI" && d["metadata"]["name"] == "hanbai-availability")
            .unwrap();
        assert_eq!(
            hanbai["spec"]["ratioMetric"]["bad"]["metricSource"]["spec"]["query"],
            "mimamori:slo_availability_errors{service=\"hanbai\"}"
        );
        let slo = all
            .iter()
            .find(|d| d["kind"] == "SLO" && d["metadata"]["name"] == "hanbai-availability")
            .unwrap();
        assert_eq!(
            slo["spec"]["objectives"][0]["target"].as_f64(),
            Some(0.9999)
        );
        assert_eq!(slo["spec"]["timeWindow"][0]["duration"], "1M");
        assert_eq!(
            slo["spec"]["timeWindow"][0]["calendar"]["timeZone"],
            "Asia/Tokyo"
        );
        // One policy per burn-rate alert of the plan, each with its condition.
        let plans = plan::plans(&cfg);
        let alerts: usize = plans.iter().map(|p| p.alerts.len()).sum();
        let count = |k: &str| all.iter().filter(|d| d["kind"] == k).count();
        assert_eq!(count("AlertPolicy"), alerts);
        assert_eq!(count("AlertCondition"), alerts);
        let fast = all
            .iter()
            .find(|d| {
                d["kind"] == "AlertCondition"
                    && d["metadata"]["name"] == "hanbai-availability-page-1h"
            })
            .unwrap();
        assert_eq!(fast["spec"]["condition"]["lookbackWindow"], "1h");
        assert_eq!(
            fast["metadata"]["annotations"]["mimamori/short-window"],
            "5m"
        );
        let p = &plans[0];
        let a = p.alerts.iter().find(|a| a.long.name == "1h").unwrap();
        assert_eq!(
            fast["spec"]["condition"]["threshold"].as_f64(),
            Some(round_decimal(a.burn))
        );
    }
}

/// `mimamori import openslo`: objectives from OpenSLO v1 documents into a
/// configuration skeleton (services with their objectives; what to probe is
/// left to write). What cannot map is an error with its file and line.
pub mod import {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_yaml::Value;

    /// The skeleton (YAML, for `--config` once transactions are added) and what did not map.
    #[derive(Debug, Default)]
    pub struct Imported {
        pub skeleton: String,
        pub errors: Vec<String>,
    }

    /// One document and where it starts.
    struct Doc<'a> {
        file: &'a str,
        /// 1-based line of the document's first line.
        line: usize,
        text: String,
        value: Value,
    }

    impl Doc<'_> {
        /// `file:line` of the first line starting with `key:` (the document's start when none).
        fn at(&self, key: &str) -> String {
            let k = format!("{key}:");
            let offset = self
                .text
                .lines()
                .position(|l| {
                    let t = l.trim_start().trim_start_matches("- ");
                    t.starts_with(&k)
                })
                .unwrap_or(0);
            format!("{}:{}", self.file, self.line + offset)
        }

        fn name(&self) -> &str {
            self.value["metadata"]["name"].as_str().unwrap_or("?")
        }

        fn kind(&self) -> &str {
            self.value["kind"].as_str().unwrap_or("?")
        }
    }

    /// Splits a YAML stream at `---` lines, keeping each document's first line.
    fn split(text: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let (mut start, mut cur) = (1, String::new());
        for (i, l) in text.lines().enumerate() {
            if l == "---" || l.starts_with("--- ") {
                out.push((start, std::mem::take(&mut cur)));
                start = i + 2;
            } else {
                cur.push_str(l);
                cur.push('\n');
            }
        }
        out.push((start, cur));
        out
    }

    #[derive(Serialize, Default)]
    struct Skeleton {
        services: Vec<ServiceOut>,
        #[serde(skip_serializing_if = "Option::is_none")]
        alerting: Option<AlertingOut>,
    }

    #[derive(Serialize)]
    struct AlertingOut {
        support_hours: TimeZoneOut,
    }

    #[derive(Serialize)]
    struct TimeZoneOut {
        timezone: String,
    }

    #[derive(Serialize, Default)]
    struct ServiceOut {
        name: String,
        display_name: DisplayOut,
        objectives: ObjectivesOut,
        transactions: Vec<()>,
    }

    #[derive(Serialize, Default)]
    struct DisplayOut {
        ja: String,
        en: String,
    }

    #[derive(Serialize, Default)]
    struct ObjectivesOut {
        #[serde(skip_serializing_if = "Option::is_none")]
        availability: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        latency: Option<LatencyOut>,
    }

    #[derive(Serialize)]
    struct LatencyOut {
        threshold: String,
        target: f64,
    }

    /// The `le` bound of a bucket query, in seconds: `le="3"` or `le=~"3|3\\.0"`.
    fn le_bound(query: &str) -> Option<f64> {
        if !query.contains("_bucket") {
            return None;
        }
        let rest = &query[query.find("le=")? + 3..];
        let rest = rest.trim_start_matches('~').trim_start_matches('"');
        let end = rest.find(['"', '|']).unwrap_or(rest.len());
        rest[..end]
            .replace("\\\\", "")
            .replace('\\', "")
            .parse()
            .ok()
    }

    fn threshold_text(secs: f64) -> String {
        if secs.fract() == 0.0 {
            format!("{secs}s")
        } else {
            format!("{}ms", (secs * 1000.0).round())
        }
    }

    /// The service named `name`, added (named after itself) when new.
    fn entry<'s>(services: &'s mut Vec<ServiceOut>, name: &str) -> &'s mut ServiceOut {
        let i = match services.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                services.push(ServiceOut {
                    name: name.to_string(),
                    display_name: DisplayOut {
                        ja: name.to_string(),
                        en: name.to_string(),
                    },
                    ..ServiceOut::default()
                });
                services.len() - 1
            }
        };
        &mut services[i]
    }

    /// Reads `(file name, contents)` pairs.
    pub fn import(inputs: &[(String, String)]) -> Imported {
        let mut errors = Vec::new();
        let mut docs = Vec::new();
        for (file, text) in inputs {
            for (line, part) in split(text) {
                match serde_yaml::from_str::<Value>(&part) {
                    Ok(Value::Null) => {}
                    Ok(value) => docs.push(Doc {
                        file,
                        line,
                        text: part,
                        value,
                    }),
                    Err(e) => {
                        let at = e.location().map_or(line, |l| line + l.line() - 1);
                        errors.push(format!("{file}:{at}: not YAML: {e}"));
                    }
                }
            }
        }
        // In the order they first appear.
        let mut services: Vec<ServiceOut> = Vec::new();
        let mut slis: BTreeMap<String, &Doc> = BTreeMap::new();
        let mut zones: BTreeMap<String, String> = BTreeMap::new();
        for d in &docs {
            if d.value["apiVersion"].as_str() != Some("openslo/v1") {
                errors.push(format!(
                    "{}: apiVersion {:?}: only openslo/v1 is read",
                    d.at("apiVersion"),
                    d.value["apiVersion"].as_str().unwrap_or("")
                ));
                continue;
            }
            match d.kind() {
                "Service" => {
                    let name = d.name().to_string();
                    let shown = d.value["metadata"]["displayName"]
                        .as_str()
                        .unwrap_or(&name)
                        .to_string();
                    let (ja, en) = match shown.split_once(" / ") {
                        Some((ja, en)) => (ja.to_string(), en.to_string()),
                        None => (shown.clone(), shown),
                    };
                    let s = entry(&mut services, &name);
                    s.display_name = DisplayOut { ja, en };
                }
                "SLI" => {
                    slis.insert(d.name().to_string(), d);
                }
                "SLO"
                | "DataSource"
                | "AlertPolicy"
                | "AlertCondition"
                | "AlertNotificationTarget" => {}
                other => errors.push(format!(
                    "{}: kind {other:?} is not OpenSLO v1",
                    d.at("kind")
                )),
            }
        }
        let v1 = |d: &&Doc| d.value["apiVersion"].as_str() == Some("openslo/v1");
        for d in docs.iter().filter(v1).filter(|d| d.kind() == "SLO") {
            let spec = &d.value["spec"];
            let what = format!("SLO {}", d.name());
            let Some(service) = spec["service"].as_str() else {
                errors.push(format!("{}: {what}: no spec.service", d.at("spec")));
                continue;
            };
            // The indicator: inline, or the SLI it names.
            let sli = if spec["indicator"].is_mapping() {
                spec["indicator"]["spec"].clone()
            } else if let Some(r) = spec["indicatorRef"].as_str() {
                match slis.get(r) {
                    Some(s) => s.value["spec"].clone(),
                    None => {
                        errors.push(format!(
                            "{}: {what}: no SLI named {r:?}",
                            d.at("indicatorRef")
                        ));
                        continue;
                    }
                }
            } else {
                errors.push(format!(
                    "{}: {what}: neither indicator nor indicatorRef",
                    d.at("spec")
                ));
                continue;
            };
            if !sli["thresholdMetric"].is_null() {
                errors.push(format!(
                    "{}: {what}: a thresholdMetric SLI cannot map: mimamori's objectives are ratios \
                     (availability over time, operations within a latency threshold)",
                    d.at("indicatorRef")
                ));
                continue;
            }
            let w = &spec["timeWindow"][0];
            let calendar_month = w["duration"].as_str() == Some("1M")
                && w["isRolling"].as_bool() != Some(true)
                && w["calendar"].is_mapping();
            if !calendar_month {
                errors.push(format!(
                    "{}: {what}: timeWindow {:?}{}: mimamori's objectives hold per calendar month (duration 1M with a calendar)",
                    d.at("timeWindow"),
                    w["duration"].as_str().unwrap_or("none"),
                    if w["isRolling"].as_bool() == Some(true) { " rolling" } else { "" }
                ));
                continue;
            }
            if let Some(tz) = w["calendar"]["timeZone"].as_str() {
                zones.insert(tz.to_string(), d.at("timeZone"));
            }
            let objectives = spec["objectives"]
                .as_sequence()
                .cloned()
                .unwrap_or_default();
            if objectives.len() != 1 {
                errors.push(format!(
                    "{}: {what}: {} objectives: mimamori holds one target per objective",
                    d.at("objectives"),
                    objectives.len()
                ));
                continue;
            }
            let o = &objectives[0];
            let percent = match (o["target"].as_f64(), o["targetPercent"].as_f64()) {
                (Some(t), _) => crate::promql::round_decimal(t * 100.0),
                (None, Some(p)) => p,
                (None, None) => {
                    errors.push(format!("{}: {what}: no target", d.at("objectives")));
                    continue;
                }
            };
            let method = spec["budgetingMethod"].as_str().unwrap_or("");
            let ratio = &sli["ratioMetric"];
            let queries: Vec<&str> = ["good", "bad", "total"]
                .iter()
                .filter_map(|p| ratio[*p]["metricSource"]["spec"]["query"].as_str())
                .collect();
            let bound = queries.iter().find_map(|q| le_bound(q));
            let s = entry(&mut services, service);
            match bound {
                Some(secs) => {
                    if method != "Occurrences" {
                        errors.push(format!(
                            "{}: {what}: a latency objective counts operations (Occurrences), not {method}",
                            d.at("budgetingMethod")
                        ));
                        continue;
                    }
                    if s.objectives.latency.is_some() {
                        errors.push(format!(
                            "{}: {what}: a second latency objective for {service}",
                            d.at("objectives")
                        ));
                        continue;
                    }
                    s.objectives.latency = Some(LatencyOut {
                        threshold: threshold_text(secs),
                        target: percent,
                    });
                }
                None => {
                    if method == "Occurrences" {
                        errors.push(format!(
                            "{}: {what}: an Occurrences ratio without a latency bucket (le) is a request ratio; \
                             mimamori's availability is time-based (Timeslices or RatioTimeslices)",
                            d.at("budgetingMethod")
                        ));
                        continue;
                    }
                    if s.objectives.availability.is_some() {
                        errors.push(format!(
                            "{}: {what}: a second availability objective for {service}",
                            d.at("objectives")
                        ));
                        continue;
                    }
                    s.objectives.availability = Some(percent);
                }
            }
        }
        if zones.len() > 1 {
            let list: Vec<String> = zones.iter().map(|(z, at)| format!("{z} ({at})")).collect();
            errors.push(format!(
                "calendars in several time zones: {}; mimamori counts every month in one",
                list.join(", ")
            ));
        }
        let alerting = zones
            .keys()
            .next()
            .filter(|z| *z != "Asia/Tokyo")
            .map(|z| AlertingOut {
                support_hours: TimeZoneOut {
                    timezone: z.clone(),
                },
            });
        let skeleton = Skeleton { services, alerting };
        let mut text = String::from(
            "# Imported from OpenSLO by `mimamori import openslo`: the services and their objectives.\n\
             # Add each service's transactions (what to probe) before use; see docs/configuration.md.\n\
             # Alert policies are not imported: mimamori derives its burn-rate alerts from the targets.\n",
        );
        text.push_str(&serde_yaml::to_string(&skeleton).expect("serializable"));
        Imported {
            skeleton: text,
            errors,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn our_own_documents_import_into_a_configuration_that_loads() {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/aoulu.yaml");
            let cfg = crate::config::load(&path).unwrap();
            let text = super::super::documents(&cfg);
            let out = import(&[("mimamori.yaml".into(), text)]);
            assert!(out.errors.is_empty(), "{:?}", out.errors);
            // With something to probe, the skeleton is a configuration with the same objectives.
            let body = out.skeleton.replace(
                "transactions: []",
                "transactions: [{name: t, steps: [{name: s, url: 'https://x.invalid/'}]}]",
            );
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("c.yaml");
            std::fs::write(
                &p,
                format!("global: {{interval: 60s, timeout: 30s}}\n{body}"),
            )
            .unwrap();
            let back = crate::config::load(&p).unwrap_or_else(|e| panic!("{e:#}\n{body}"));
            assert_eq!(back.services.len(), cfg.services.len());
            for (a, b) in back.services.iter().zip(&cfg.services) {
                assert_eq!(a.name.as_str(), b.name.as_str());
                assert_eq!(a.display_name.ja, b.display_name.ja);
                assert_eq!(a.display_name.en, b.display_name.en);
                assert_eq!(a.objectives.availability, b.objectives.availability);
                assert_eq!(
                    format!("{:?}", a.objectives.latency),
                    format!("{:?}", b.objectives.latency)
                );
            }
        }

        #[test]
        fn what_cannot_map_is_an_error_at_its_line() {
            let text = r#"apiVersion: openslo/v1
kind: Service
metadata: {name: shop}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: cpu}
spec:
  thresholdMetric:
    metricSource: {type: Prometheus, spec: {query: cpu}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: shop-cpu}
spec:
  service: shop
  indicatorRef: cpu
  budgetingMethod: Occurrences
  objectives: [{target: 0.9}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: shop-rolling}
spec:
  service: shop
  indicator:
    metadata: {name: ok}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: ok}}}
        total: {metricSource: {type: Prometheus, spec: {query: all}}}
  timeWindow:
  - duration: 28d
    isRolling: true
  budgetingMethod: Timeslices
  objectives: [{target: 0.999, timeSliceTarget: 0.9, timeSliceWindow: 1m}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: shop-requests}
spec:
  service: shop
  indicatorRef: requests
  timeWindow: [{duration: 1M, isRolling: false, calendar: {startTime: '2026-01-01 00:00:00', timeZone: Asia/Tokyo}}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: requests}
spec:
  ratioMetric:
    counter: true
    good: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{code="200"}'}}}
    total: {metricSource: {type: Prometheus, spec: {query: http_requests_total}}}
---
apiVersion: openslo/v1alpha
kind: SLO
metadata: {name: old}
---
kind: [
"#;
            let out = import(&[("in.yaml".into(), text.into())]);
            let want = [
                "in.yaml:17: SLO shop-cpu: a thresholdMetric SLI cannot map",
                "in.yaml:33: SLO shop-rolling: timeWindow \"28d\" rolling: mimamori's objectives hold per calendar month",
                "in.yaml:46: SLO shop-requests: an Occurrences ratio without a latency bucket (le) is a request ratio",
                "in.yaml:58: apiVersion \"openslo/v1alpha\": only openslo/v1 is read",
                "in.yaml:63: not YAML",
            ];
            assert_eq!(out.errors.len(), want.len(), "{:#?}", out.errors);
            for w in want {
                assert!(
                    out.errors.iter().any(|e| e.starts_with(w)),
                    "{w}\n{:#?}",
                    out.errors
                );
            }
            // The service is still in the skeleton, without objectives.
            assert!(out.skeleton.contains("- name: shop\n"), "{}", out.skeleton);
        }

        #[test]
        fn latency_bounds_are_read_from_bucket_queries() {
            assert_eq!(le_bound(r#"x_bucket{le=~"3|3\\.0"}"#), Some(3.0));
            assert_eq!(le_bound(r#"x_bucket{a="b",le="0.5"}"#), Some(0.5));
            assert_eq!(le_bound(r#"x_count{le="3"}"#), None);
            assert_eq!(threshold_text(0.5), "500ms");
            assert_eq!(threshold_text(3.0), "3s");
        }
    }
}
