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
