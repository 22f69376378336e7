//! `promtool test rules` scenarios that prove the alert design for the configured
//! services: `rules/tests/<service>.yaml` and `rules/tests/mimamori-probers.yaml`.
//!
//! Inputs are sampled every 15 s like the probes. Expected annotations are
//! rendered from the same rules the files contain, with the expected value.
//!
//! One file per scenario family, as `grafana/` has one per dashboard:
//! [`availability`] (healthy, outages, failed rounds, maintenance, probers
//! gone), [`locations`] (one location alone, every address), [`latency`],
//! [`shards`] (several probers per location), [`blind`] (a prober without
//! uplink), [`arithmetic`] (the recorded numbers) and [`probers`] (the
//! probers' own file). This module holds the promtool file format, shared by
//! the backup tests (`generate/backups.rs`), and the scenario helpers.

mod arithmetic;
mod availability;
mod blind;
mod browser;
mod latency;
mod locations;
mod probers;
mod shards;

use std::collections::BTreeMap;

use serde::Serialize;

use super::rules::{self, Rule, INSTANCE, LOCATION, TRANSACTION, VALUE};
use crate::config::{Config, Transaction};
use crate::promql::{self, decimal, metric};
use crate::slo::plan::{BurnAlert, ServicePlan, EVAL_SECONDS};

#[derive(Serialize)]
pub(super) struct TestFile {
    pub(super) rule_files: Vec<String>,
    pub(super) evaluation_interval: String,
    pub(super) tests: Vec<TestGroup>,
}

#[derive(Serialize)]
pub(super) struct TestGroup {
    pub(super) name: String,
    pub(super) interval: String,
    pub(super) input_series: Vec<Series>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) alert_rule_test: Vec<AlertTest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) promql_expr_test: Vec<ExprTest>,
}

#[derive(Serialize)]
pub(super) struct Series {
    pub(super) series: String,
    pub(super) values: String,
}

#[derive(Serialize)]
pub(super) struct AlertTest {
    pub(super) eval_time: String,
    pub(super) alertname: String,
    pub(super) exp_alerts: Vec<ExpAlert>,
}

#[derive(Serialize)]
pub(super) struct ExpAlert {
    pub(super) exp_labels: BTreeMap<String, String>,
    pub(super) exp_annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
pub(super) struct ExprTest {
    pub(super) expr: String,
    pub(super) eval_time: String,
    pub(super) exp_samples: Vec<Sample>,
}

#[derive(Serialize)]
pub(super) struct Sample {
    pub(super) labels: String,
    pub(super) value: f64,
}

/// `90` → `1m30s`, `120` → `2m`, `3690` → `61m30s`.
fn at(seconds: u64) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

const MIN: u64 = 60;

/// Samples per minute at the 15 s input interval.
const PER_MIN: u64 = 60 / EVAL_SECONDS;

// Scenarios start 10 minutes in: availability alerts count failure seconds
// against wall-clock windows, so longer healthy history changes nothing.
/// Healthy samples before a scenario starts.
const PRE: u64 = 10 * PER_MIN;
/// When a scenario starts, in seconds.
const START: u64 = 10 * MIN;

/// Samples of one failed probe round (one probe interval).
fn failed_round(p: &ServicePlan) -> u64 {
    (p.round_seconds / EVAL_SECONDS).max(1)
}

/// The burn rate of `a` when its long window holds `secs` failure seconds.
fn burn_rate(p: &ServicePlan, a: &BurnAlert, secs: f64) -> f64 {
    secs / (a.long.seconds as f64 * p.availability_budget)
}

/// What one location reports in a scenario, in promtool's expanding notation.
#[derive(Clone)]
struct Loc {
    probe: Option<String>,
    maintenance: String,
    count: String,
    bucket: String,
    up: String,
    /// `mimamori_prober_healthy` and `mimamori_prober_unhealthy_since_timestamp_seconds`
    /// of the location's prober; `None` writes neither (a prober without self-checks
    /// from before they existed).
    health: Option<(String, String)>,
}

fn healthy(samples: u64) -> Loc {
    let n = samples - 1;
    Loc {
        probe: Some(format!("1x{n}")),
        maintenance: format!("0x{n}"),
        count: format!("0+1x{n}"),
        bucket: format!("0+1x{n}"),
        up: format!("1x{n}"),
        health: None,
    }
}

struct Ctx<'a> {
    cfg: &'a Config,
    p: &'a ServicePlan,
    locations: Vec<String>,
    transaction: String,
    step: String,
    le: String,
}

impl<'a> Ctx<'a> {
    /// The scenarios' context for transaction `tx` of the service `p`, seen
    /// from `locations`: its first step, the latency objective's bucket.
    fn for_transaction(
        cfg: &'a Config,
        p: &'a ServicePlan,
        locations: Vec<String>,
        tx: &Transaction,
    ) -> Ctx<'a> {
        Ctx {
            cfg,
            p,
            locations,
            transaction: tx.name.to_string(),
            step: tx
                .step_names()
                .first()
                .copied()
                .unwrap_or_default()
                .to_string(),
            le: decimal(p.latency_threshold_seconds),
        }
    }
}

impl Ctx<'_> {
    /// `{service="…"}` of this service.
    fn p_sel(&self) -> promql::Selector {
        promql::Selector::service(&self.p.service)
    }

    fn instance(loc: &str) -> String {
        format!("{loc}.probers:9732")
    }

    fn inputs(&self, per_loc: impl Fn(usize) -> Loc) -> Vec<Series> {
        let svc = &self.p.service;
        let job = &self.cfg.alerting.job;
        let mut out = Vec::new();
        for (i, loc) in self.locations.iter().enumerate() {
            let l = per_loc(i);
            let inst = Self::instance(loc);
            let base = format!(
                "service=\"{svc}\",transaction=\"{}\",location=\"{loc}\",job=\"{job}\",instance=\"{inst}\"",
                self.transaction
            );
            if let Some(probe) = &l.probe {
                out.push(Series {
                    series: format!("{}{{{base}}}", metric::PROBE_SUCCESS),
                    values: probe.clone(),
                });
                out.push(Series {
                    series: format!(
                        "{}{{{base},step=\"{}\",result=\"success\"}}",
                        promql::count(metric::STEP_DURATION),
                        self.step
                    ),
                    values: l.count.clone(),
                });
                out.push(Series {
                    series: format!(
                        "{}{{{base},step=\"{}\",result=\"success\",le=\"{}\"}}",
                        promql::bucket(metric::STEP_DURATION),
                        self.step,
                        self.le
                    ),
                    values: l.bucket.clone(),
                });
                out.push(Series {
                    series: format!(
                        "{}{{service=\"{svc}\",location=\"{loc}\",job=\"{job}\",instance=\"{inst}\"}}",
                        metric::MAINTENANCE_ACTIVE
                    ),
                    values: l.maintenance.clone(),
                });
            }
            out.push(Series {
                series: format!("{}{{job=\"{job}\",instance=\"{inst}\"}}", metric::UP),
                values: l.up.clone(),
            });
            if let Some((healthy, since)) = &l.health {
                let labels = format!("{{location=\"{loc}\",job=\"{job}\",instance=\"{inst}\"}}");
                out.push(Series {
                    series: format!("{}{labels}", metric::PROBER_HEALTHY),
                    values: healthy.clone(),
                });
                out.push(Series {
                    series: format!("{}{labels}", metric::PROBER_UNHEALTHY_SINCE),
                    values: since.clone(),
                });
            }
        }
        out
    }

    fn burn_rule(&self, name: &str) -> (Rule, &BurnAlert) {
        let a = self
            .p
            .alerts
            .iter()
            .find(|a| a.name == name)
            .expect("known alert");
        (rules::burn_alert(self.cfg, self.p, a), a)
    }

    /// The alert `name` firing for this service with `value`.
    fn burn_firing(&self, name: &str, value: f64) -> ExpAlert {
        let (rule, a) = self.burn_rule(name);
        let mut exp_labels = rule.labels.clone();
        exp_labels.insert("service".into(), self.p.service.clone());
        exp_labels.insert("slo".into(), a.slo.label().into());
        ExpAlert {
            exp_labels,
            exp_annotations: render(
                &rule,
                &[
                    (VALUE, &format!("{value:.1}")),
                    (&rules::share_template(a.long), &share(value, a.long)),
                ],
            ),
        }
    }

    fn silent(&self, names: &[&str], times: &[u64]) -> Vec<AlertTest> {
        times
            .iter()
            .flat_map(|t| {
                names.iter().map(move |n| AlertTest {
                    eval_time: at(*t),
                    alertname: n.to_string(),
                    exp_alerts: vec![],
                })
            })
            .collect()
    }

    fn service_rule(&self, alert: &str) -> Rule {
        rules::service_rules(self.cfg, self.p)
            .rules()
            .find(|r| r.alert.as_deref() == Some(alert))
            .cloned()
            .expect("known alert")
    }

    /// `MimamoriLocationFailing` firing at `t` for `loc`, annotations rendered.
    fn location_failing_ticket(&self, t: u64, loc: &str) -> AlertTest {
        self.location_failing_ticket_retried(t, loc, None)
    }

    /// [`Self::location_failing_ticket`], saying that `retried` (a
    /// transaction) passed on retry when it is given.
    fn location_failing_ticket_retried(
        &self,
        t: u64,
        loc: &str,
        retried: Option<&str>,
    ) -> AlertTest {
        let rule = self.service_rule("MimamoriLocationFailing");
        let note = retried
            .map(|tx| format!("\n再試行では成功 / passed on retry: {tx}"))
            .unwrap_or_default();
        let note_template = rules::passed_on_retry_note(&self.p.service);
        AlertTest {
            eval_time: at(t),
            alertname: "MimamoriLocationFailing".into(),
            exp_alerts: vec![ExpAlert {
                exp_labels: [
                    ("service".to_string(), self.p.service.clone()),
                    ("location".into(), loc.to_string()),
                    ("severity".into(), "ticket".into()),
                ]
                .into(),
                exp_annotations: render(&rule, &[(&note_template, &note), (LOCATION, loc)]),
            }],
        }
    }

    /// The ticket `alert` (a rule per transaction and prober) firing at `t`
    /// for this transaction at `loc`, naming the prober `instance`.
    fn prober_ticket(&self, alert: &str, t: u64, loc: &str, instance: &str) -> AlertTest {
        let rule = self.service_rule(alert);
        AlertTest {
            eval_time: at(t),
            alertname: alert.into(),
            exp_alerts: vec![ExpAlert {
                exp_labels: [
                    ("service".to_string(), self.p.service.clone()),
                    ("transaction".into(), self.transaction.clone()),
                    ("location".into(), loc.to_string()),
                    ("job".into(), self.cfg.alerting.job.clone()),
                    ("instance".into(), instance.to_string()),
                    ("severity".into(), "ticket".into()),
                ]
                .into(),
                exp_annotations: render(
                    &rule,
                    &[
                        (LOCATION, loc),
                        (TRANSACTION, &self.transaction),
                        (INSTANCE, instance),
                    ],
                ),
            }],
        }
    }

    /// Labels of the transaction's series at `loc`, as the probers write them.
    fn base(&self, loc: &str) -> String {
        format!(
            "service=\"{}\",transaction=\"{}\",location=\"{loc}\",job=\"{}\",instance=\"{}\"",
            self.p.service,
            self.transaction,
            self.cfg.alerting.job,
            Self::instance(loc)
        )
    }
}

/// What the annotation's query computes: Go's `%f` of the value, divided in PromQL.
fn share(value: f64, w: crate::slo::plan::Window) -> String {
    let printed: f64 = format!("{value:.6}").parse().expect("number");
    format!("{:.1}", printed / rules::share_divisor(w))
}

fn render(rule: &Rule, subst: &[(&str, &str)]) -> BTreeMap<String, String> {
    rule.annotations
        .iter()
        .map(|(k, v)| {
            let mut v = v.clone();
            for (from, to) in subst {
                v = v.replace(from, to);
            }
            (k.clone(), v)
        })
        .collect()
}

const PAGES: [&str; 2] = [
    "MimamoriAvailabilityFastBurn",
    "MimamoriAvailabilitySlowBurn",
];

/// The test files, as (file name under `rules/tests/`, contents).
pub fn files(cfg: &Config, plans: &[ServicePlan]) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for p in plans {
        let svc = cfg
            .service(&p.service)
            .expect("plan of a configured service");
        let tx = &svc.transactions[0];
        let mut locations: Vec<String> = cfg
            .alerting
            .locations
            .iter()
            .map(|l| l.to_string())
            .collect();
        if locations.is_empty() {
            locations = vec![cfg.global.location.to_string()];
        }
        let ctx = Ctx::for_transaction(cfg, p, locations, tx);
        let file = TestFile {
            rule_files: vec![
                format!("../{}.yml", p.service),
                "../mimamori-probers.yml".into(),
            ],
            evaluation_interval: format!("{EVAL_SECONDS}s"),
            tests: service_tests(&ctx),
        };
        out.push((format!("{}.yaml", p.service), serde_yaml::to_string(&file)?));
    }
    out.push((
        "mimamori-probers.yaml".into(),
        serde_yaml::to_string(&probers::file(cfg, plans))?,
    ));
    Ok(out)
}

fn group(name: &str, input_series: Vec<Series>) -> TestGroup {
    TestGroup {
        name: name.into(),
        interval: format!("{EVAL_SECONDS}s"),
        input_series,
        alert_rule_test: vec![],
        promql_expr_test: vec![],
    }
}

/// Every scenario of one service, in the order of its test file.
fn service_tests(c: &Ctx) -> Vec<TestGroup> {
    let mut tests = vec![
        availability::healthy_is_silent(c),
        availability::full_outage(c),
        availability::single_failed_round(c),
        availability::two_failed_rounds(c),
    ];
    tests.extend(locations::tests(c));
    tests.push(availability::maintenance(c));
    tests.push(latency::slow_answers(c));
    tests.push(availability::probers_gone(c));
    tests.extend(shards::tests(c));
    tests.extend(blind::tests(c));
    tests.push(arithmetic::arithmetic(c));
    tests.push(locations::every_address(c));
    tests.extend(browser::tests(c));
    tests
}
