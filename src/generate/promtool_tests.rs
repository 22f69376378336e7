//! `promtool test rules` scenarios that prove the alert design for the configured
//! services: `rules/tests/<service>.yaml` and `rules/tests/mimamori-probers.yaml`.
//!
//! Inputs are sampled every 15 s like the probes. Expected annotations are
//! rendered from the same rules the files contain, with the expected value.

use std::collections::BTreeMap;

use serde::Serialize;

use super::rules::{self, Rule, INSTANCE, LOCATION, TRANSACTION, VALUE};
use crate::config::Config;
use crate::promql::{self, decimal, metric, record as rec};
use crate::slo::plan::{ServicePlan, Slo, EVAL_SECONDS};

#[derive(Serialize)]
struct TestFile {
    rule_files: Vec<String>,
    evaluation_interval: String,
    tests: Vec<TestGroup>,
}

#[derive(Serialize)]
struct TestGroup {
    name: String,
    interval: String,
    input_series: Vec<Series>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    alert_rule_test: Vec<AlertTest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    promql_expr_test: Vec<ExprTest>,
}

#[derive(Serialize)]
struct Series {
    series: String,
    values: String,
}

#[derive(Serialize)]
struct AlertTest {
    eval_time: String,
    alertname: String,
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Serialize)]
struct ExpAlert {
    exp_labels: BTreeMap<String, String>,
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct ExprTest {
    expr: String,
    eval_time: String,
    exp_samples: Vec<Sample>,
}

#[derive(Serialize)]
struct Sample {
    labels: String,
    value: f64,
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

    fn burn_rule(&self, name: &str) -> (Rule, &crate::slo::plan::BurnAlert) {
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
        let ctx = Ctx {
            cfg,
            p,
            locations,
            transaction: tx.name.to_string(),
            step: tx.steps[0].name.to_string(),
            le: decimal(p.latency_threshold_seconds),
        };
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
        serde_yaml::to_string(&prober_tests(cfg, plans))?,
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

fn service_tests(c: &Ctx) -> Vec<TestGroup> {
    let p = c.p;
    let mut tests = Vec::new();
    let hour = 60 * PER_MIN; // samples per hour

    // Healthy: nothing fires.
    let mut g = group(
        "healthy: an hour of successful, fast probes is silent",
        c.inputs(|_| healthy(hour + 1)),
    );
    let mut all: Vec<String> = p.alerts.iter().map(|a| a.name.clone()).collect();
    all.extend(
        [
            "MimamoriServiceBlind",
            "MimamoriLocationFailing",
            "MimamoriLocationNotReporting",
            "MimamoriProbersAbsent",
            "MimamoriProberDown",
            "MimamoriTransactionsBlind",
        ]
        .map(String::from),
    );
    let names: Vec<&str> = all.iter().map(String::as_str).collect();
    g.alert_rule_test = c.silent(&names, &[30 * MIN, 60 * MIN]);
    tests.push(g);

    // Full outage from 60m, seen by every location. Its first failing result
    // reaches Prometheus as late as it can: after the next run starts (one
    // interval), times out, and is scraped (one more interval).
    let round = p.round_seconds;
    // Scenarios start 10 minutes in: availability alerts count failure seconds
    // against wall-clock windows, so longer healthy history changes nothing.
    let pre = 10 * PER_MIN;
    let start = 10 * MIN;
    let lag = (2 * round + p.timeout_seconds).div_ceil(EVAL_SECONDS) * EVAL_SECONDS;
    let lag_samples = lag / EVAL_SECONDS;
    let outage_samples = 20 * PER_MIN;
    let fast = &p.alerts[0];
    let slow = &p.alerts[1];
    let detection = p.detection_seconds(fast).div_ceil(EVAL_SECONDS) * EVAL_SECONDS;
    let mut g = group(
        &format!(
            "full outage from 10m, first failure scraped {lag} s later: pages within {} s (worst case)",
            p.detection_seconds(fast)
        ),
        c.inputs(|_| Loc {
            probe: Some(format!(
                "1x{} 0x{}",
                pre + lag_samples - 1,
                outage_samples - lag_samples
            )),
            ..healthy(pre + outage_samples + 1)
        }),
    );
    let seen = start + lag;
    // Failure seconds recorded by time t (inclusive).
    let failure_at = |t: u64| ((t - seen) / EVAL_SECONDS + 1) as f64 * EVAL_SECONDS as f64;
    let burn = |a: &crate::slo::plan::BurnAlert, secs: f64| {
        secs / (a.long.seconds as f64 * p.availability_budget)
    };
    let first_fire = seen + (p.smallest_firing_outage(fast) / EVAL_SECONDS - 1) * EVAL_SECONDS;
    g.alert_rule_test
        .extend(c.silent(&[&fast.name], &[first_fire - EVAL_SECONDS]));
    for (a, t) in [(fast, start + detection), (slow, seen + 2 * MIN)] {
        g.alert_rule_test.push(AlertTest {
            eval_time: at(t),
            alertname: a.name.clone(),
            exp_alerts: vec![c.burn_firing(&a.name, burn(a, failure_at(t)))],
        });
    }
    g.alert_rule_test
        .extend(c.silent(&["MimamoriLocationFailing"], &[start + 15 * MIN]));
    tests.push(g);

    // A single failed round (one probe interval of samples), seen by every location.
    let k = (round / EVAL_SECONDS).max(1);
    let ticket = &p.alerts[2];
    let ticket_needs = p.failure_seconds_at(ticket.burn, ticket.long);
    let one_round = (k * EVAL_SECONDS) as f64;
    let mut g = group(
        if one_round < ticket_needs {
            "single failed probe round: never pages, not even a ticket"
        } else {
            "single failed probe round: never pages"
        },
        c.inputs(|_| Loc {
            probe: Some(format!("1x{} 0x{} 1x{}", pre - 1, k - 1, 40 * PER_MIN - k)),
            ..healthy(pre + 40 * PER_MIN + 1)
        }),
    );
    let mut names: Vec<&str> = PAGES.to_vec();
    if one_round < ticket_needs {
        names.push(&ticket.name);
    }
    g.alert_rule_test = c.silent(&names, &[start + MIN, start + 5 * MIN, start + 30 * MIN]);
    tests.push(g);

    // Two failed rounds an hour apart: no page; a ticket once they reach its threshold.
    let two = 2.0 * one_round;
    let mut g = group(
        if two >= ticket_needs {
            "two failed probe rounds 30 minutes apart: a ticket in support hours, no page"
        } else {
            "two failed probe rounds 30 minutes apart: no page, no ticket"
        },
        c.inputs(|_| Loc {
            probe: Some(format!(
                "1x{} 0x{} 1x{} 0x{} 1x{}",
                pre - 1,
                k - 1,
                30 * PER_MIN - k,
                k - 1,
                10 * PER_MIN - k
            )),
            ..healthy(pre + 40 * PER_MIN + 1)
        }),
    );
    // The ticket lives in the 1-minute group, which promtool evaluates at an offset
    // that depends on the file's path: look a full minute after the last failure.
    let t = start + 30 * MIN + 2 * MIN;
    g.alert_rule_test = c.silent(&PAGES, &[t]);
    g.alert_rule_test.push(AlertTest {
        eval_time: at(t),
        alertname: ticket.name.clone(),
        exp_alerts: if two >= ticket_needs {
            vec![c.burn_firing(&ticket.name, burn(ticket, two))]
        } else {
            vec![]
        },
    });
    tests.push(g);

    if c.locations.len() >= 2 {
        let lost = c.locations.len() - 1;
        let loc = c.locations[lost].clone();
        // One location's own network fails: a prober ticket, no page.
        let mut g = group(
            &format!(
                "one location ({loc}) fails alone: silent for the service, a ticket for the prober"
            ),
            c.inputs(|i| {
                if i == lost {
                    Loc {
                        probe: Some(format!("1x{} 0x{}", pre - 1, 40 * PER_MIN)),
                        ..healthy(pre + 40 * PER_MIN + 1)
                    }
                } else {
                    healthy(pre + 40 * PER_MIN + 1)
                }
            }),
        );
        g.alert_rule_test = c.silent(
            &PAGES,
            &[start + 2 * MIN, start + 15 * MIN, start + 40 * MIN],
        );
        g.alert_rule_test
            .extend(c.silent(&["MimamoriAvailabilityBudgetBurn"], &[start + 40 * MIN]));
        g.alert_rule_test
            .extend(c.silent(&["MimamoriLocationFailing"], &[start + 5 * MIN]));
        g.alert_rule_test
            .push(c.location_failing_ticket(start + 15 * MIN, &loc));
        tests.push(g);

        // The same, but each run passes on retry: the first attempt is what
        // counts (the ticket still fires), the retry is evidence in its text.
        let mut inputs = c.inputs(|i| {
            if i == lost {
                Loc {
                    probe: Some(format!("1x{} 0x{}", pre - 1, 40 * PER_MIN)),
                    ..healthy(pre + 40 * PER_MIN + 1)
                }
            } else {
                healthy(pre + 40 * PER_MIN + 1)
            }
        });
        for l in &c.locations {
            inputs.push(Series {
                series: format!("{}{{{}}}", metric::PROBE_FINAL_SUCCESS, c.base(l)),
                values: format!("1x{}", pre + 40 * PER_MIN),
            });
        }
        let mut g = group(
            &format!(
                "one location ({loc}) fails its first attempts but passes on retry: still a prober ticket, which says so"
            ),
            inputs,
        );
        g.alert_rule_test = c.silent(&PAGES, &[start + 15 * MIN]);
        g.alert_rule_test.push(c.location_failing_ticket_retried(
            start + 15 * MIN,
            &loc,
            Some(&c.transaction),
        ));
        tests.push(g);

        // One location stops reporting at all.
        let mut g = group(
            &format!("one location ({loc}) stops reporting: a ticket, the others still judge"),
            c.inputs(|i| {
                if i == lost {
                    Loc {
                        probe: Some(format!("1x{}", pre - 1)),
                        up: format!("1x{} 0x{}", pre - 1, 30 * PER_MIN),
                        ..healthy(pre + 30 * PER_MIN + 1)
                    }
                } else {
                    healthy(pre + 30 * PER_MIN + 1)
                }
            }),
        );
        g.alert_rule_test = c.silent(&PAGES, &[start + 30 * MIN]);
        // A whole location gone is that location not reporting, not a blind shard.
        g.alert_rule_test.extend(c.silent(
            &["MimamoriServiceBlind", "MimamoriTransactionsBlind"],
            &[start + 30 * MIN],
        ));
        let rule = c
            .service_rule_for_location(&loc)
            .expect("a rule per configured location");
        g.alert_rule_test.push(AlertTest {
            eval_time: at(start + 30 * MIN),
            alertname: "MimamoriLocationNotReporting".into(),
            exp_alerts: if c.cfg.alerting.locations.iter().any(|l| *l == loc) {
                vec![ExpAlert {
                    exp_labels: [
                        ("service".to_string(), p.service.clone()),
                        ("location".into(), loc.clone()),
                        ("severity".into(), "ticket".into()),
                    ]
                    .into(),
                    exp_annotations: rule.annotations.clone(),
                }]
            } else {
                vec![]
            },
        });
        tests.push(g);
    }

    // Outage inside an announced window, with one stale failed result after it
    // ends, then one real failed round 3 minutes later: little operating time
    // has passed, but that round must not page.
    let win = 30 * PER_MIN;
    let after = 30 * PER_MIN - 1; // samples after the window
    let gap = 3 * PER_MIN - 1; // good samples between the stale result and the failed round
    let mut g = group(
        "outage and slow answers inside announced maintenance (10m-40m): silent during and after, even with a failed round 3 minutes later",
        c.inputs(|_| Loc {
            probe: Some(format!(
                "1x{} 0x{} 1x{} 0x{} 1x{}",
                pre - 1,
                win + 1,
                gap - 1,
                k - 1,
                after - gap - k - 1
            )),
            maintenance: format!("0x{} 1x{} 0x{}", pre - 1, win, 30 * PER_MIN - 1),
            // What still answers inside the window answers slowly.
            bucket: format!(
                "0+1x{} {}+0x{} {}+1x{}",
                pre - 1,
                pre - 1,
                win,
                pre,
                30 * PER_MIN - 1
            ),
            ..healthy(pre + win + 30 * PER_MIN + 1)
        }),
    );
    let mut names: Vec<&str> = PAGES.to_vec();
    names.extend(["MimamoriLatencyFastBurn", "MimamoriLocationFailing"]);
    g.alert_rule_test = c.silent(
        &names,
        &[
            start + 5 * MIN,
            start + 30 * MIN,
            start + win * EVAL_SECONDS,
            start + win * EVAL_SECONDS + EVAL_SECONDS,
            start + win * EVAL_SECONDS + 2 * MIN,
            start + win * EVAL_SECONDS + 5 * MIN,
            start + win * EVAL_SECONDS + 30 * MIN,
        ],
    );
    // Only the round after the window is failure time.
    let m = format!(
        "{}{{service=\"{}\"}}",
        rec::failure_seconds("6h"),
        p.service
    );
    g.promql_expr_test.push(ExprTest {
        expr: m.clone(),
        eval_time: at(start + win * EVAL_SECONDS + 30 * MIN),
        exp_samples: vec![Sample {
            labels: m,
            value: one_round,
        }],
    });
    tests.push(g);

    // Slow answers from 60m: every operation over the threshold.
    // A full hour of fast answers first, so the 1h window starts all good.
    let lat = &p.alerts[3];
    let lstart = 60 * MIN;
    let mut g = group(
        "slow answers from 60m (every operation over the threshold): latency page within 10 minutes",
        c.inputs(|_| Loc {
            bucket: format!("0+1x{} {}+0x{}", hour, hour, 15 * PER_MIN - 1),
            ..healthy(hour + 15 * PER_MIN + 1)
        }),
    );
    // Ratio over the long window when t seconds of slow answers are in it.
    let lat_burn = |t: u64| {
        let slow = (t / EVAL_SECONDS) as f64;
        let total = (lat.long.seconds / EVAL_SECONDS) as f64;
        slow / total / p.latency_budget
    };
    let needed = lat.burn * p.latency_budget * lat.long.seconds as f64;
    let fires = (needed / EVAL_SECONDS as f64).ceil() as u64 * EVAL_SECONDS;
    let before = (fires - EVAL_SECONDS) / MIN * MIN;
    let after = fires.div_ceil(MIN) * MIN;
    g.alert_rule_test = c.silent(&[&lat.name], &[lstart + before]);
    if after <= 10 * MIN {
        g.alert_rule_test.push(AlertTest {
            eval_time: at(lstart + 10 * MIN),
            alertname: lat.name.clone(),
            exp_alerts: vec![c.burn_firing(&lat.name, lat_burn(10 * MIN))],
        });
    }
    g.alert_rule_test
        .extend(c.silent(&PAGES, &[lstart + 10 * MIN]));
    tests.push(g);

    // The probers vanish.
    let mut g = group(
        "probers gone: the service is blind, which pages",
        c.inputs(|_| Loc {
            probe: None,
            up: format!("0x{}", 10 * PER_MIN),
            ..healthy(1)
        }),
    );
    let rule = c.service_rule("MimamoriServiceBlind");
    g.alert_rule_test
        .extend(c.silent(&["MimamoriServiceBlind"], &[4 * MIN]));
    g.alert_rule_test.push(AlertTest {
        eval_time: at(6 * MIN),
        alertname: "MimamoriServiceBlind".into(),
        exp_alerts: vec![ExpAlert {
            exp_labels: [
                ("service".to_string(), p.service.clone()),
                ("severity".into(), "page".into()),
            ]
            .into(),
            exp_annotations: rule.annotations.clone(),
        }],
    });
    tests.push(g);

    tests.extend(shard_tests(c));
    tests.extend(blind_tests(c));
    tests.push(arithmetic(c));
    tests.push(every_address(c));
    tests
}

/// Two addresses behind the name (`resolve: all`), seen by every location:
/// 192.0.2.2 fails from 10m, 192.0.2.1 too from 20m. With `fail_when:
/// any_address` the transaction fails from 10m (a customer landing on the
/// broken address fails); with `all_addresses` only from 20m. Both choices
/// are evaluated with the very expression the rules use, and the recorded
/// `mimamori:location_failing` follows the configured one.
fn every_address(c: &Ctx) -> TestGroup {
    let p = c.p;
    let samples = 30 * PER_MIN;
    let mut inputs = c.inputs(|_| Loc {
        probe: None,
        ..healthy(samples + 1)
    });
    for l in &c.locations {
        let base = c.base(l);
        let healthy = healthy(samples + 1);
        for (series, values) in [
            (
                format!("{}{{{base},ip=\"192.0.2.1\"}}", metric::PROBE_SUCCESS),
                format!("1x{} 0x{}", 20 * PER_MIN - 1, 10 * PER_MIN),
            ),
            (
                format!("{}{{{base},ip=\"192.0.2.2\"}}", metric::PROBE_SUCCESS),
                format!("1x{} 0x{}", 10 * PER_MIN - 1, 20 * PER_MIN),
            ),
            (
                format!(
                    "{}{{service=\"{}\",location=\"{l}\",job=\"{}\",instance=\"{}\"}}",
                    metric::MAINTENANCE_ACTIVE,
                    p.service,
                    c.cfg.alerting.job,
                    Ctx::instance(l)
                ),
                healthy.maintenance.clone(),
            ),
        ] {
            inputs.push(Series { series, values });
        }
    }
    let mut g = group(
        "every address (resolve: all): one of two addresses failing fails the transaction with fail_when any_address, not with all_addresses",
        inputs,
    );
    let sel = promql::Selector::service(&p.service);
    let this = [(p.service.clone(), c.transaction.clone())];
    let configured_all = p.all_addresses.iter().any(|(_, t)| *t == c.transaction);
    let per_location = |value: f64| -> Vec<Sample> {
        let mut locs = c.locations.clone();
        locs.sort();
        locs.iter()
            .map(|l| Sample {
                labels: format!("{{location=\"{l}\",service=\"{}\"}}", p.service),
                value,
            })
            .collect()
    };
    for (t, one_down, both_down) in [
        (5 * MIN, 0.0, 0.0),
        (15 * MIN, 1.0, 0.0),
        (25 * MIN, 1.0, 1.0),
    ] {
        let configured = if configured_all { both_down } else { one_down };
        for (expr, value) in [
            (promql::location_failing(&sel, &[]), one_down),
            (promql::location_failing(&sel, &this), both_down),
            (sel.of(rec::LOCATION_FAILING), configured),
        ] {
            let mut exp_samples = per_location(value);
            if expr.starts_with(rec::LOCATION_FAILING) {
                for s in &mut exp_samples {
                    s.labels = format!("{}{}", rec::LOCATION_FAILING, s.labels);
                }
            }
            g.promql_expr_test.push(ExprTest {
                expr,
                eval_time: at(t),
                exp_samples,
            });
        }
    }
    g
}

/// A prober that loses its uplink: every self-check target and every probe
/// fails there. Its results are unknown, neither failure nor success, so the
/// service is judged by the locations that still see (quorum over the *seen*
/// locations): with three locations, a blind one plus one failing alone is
/// not an outage (no double count); with two, the one that still sees
/// judges alone (a real outage is not hidden); a blind location is a ticket
/// naming it and since when.
fn blind_tests(c: &Ctx) -> Vec<TestGroup> {
    let mut tests = Vec::new();
    let pre = 10 * PER_MIN;
    let start = 10 * MIN;
    let samples = pre + 30 * PER_MIN + 1;
    let job = &c.cfg.alerting.job;
    let svc = &c.p.service;
    let failing = || Loc {
        probe: Some(format!("1x{} 0x{}", pre - 1, samples - pre)),
        ..healthy(samples)
    };
    let blind = || Loc {
        health: Some((
            format!("1x{} 0x{}", pre - 1, samples - pre),
            format!("0x{} {start}x{}", pre - 1, samples - pre),
        )),
        ..failing()
    };
    let seeing = || Loc {
        health: Some((format!("1x{}", samples - 1), format!("0x{}", samples - 1))),
        ..healthy(samples)
    };
    // The configured locations, and more made up where a scenario needs them.
    let locations = |n: usize| -> Vec<String> {
        let mut l = c.locations.clone();
        let mut k = 1;
        while l.len() < n {
            let name = format!("extra-{k}");
            if !l.contains(&name) {
                l.push(name);
            }
            k += 1;
        }
        l.truncate(n);
        l
    };
    let with = |locations: Vec<String>| Ctx {
        cfg: c.cfg,
        p: c.p,
        locations,
        transaction: c.transaction.clone(),
        step: c.step.clone(),
        le: c.le.clone(),
    };
    let expr = |e: String, t: u64, samples: Vec<(String, f64)>| ExprTest {
        expr: e,
        eval_time: at(t),
        exp_samples: samples
            .into_iter()
            .map(|(labels, value)| Sample { labels, value })
            .collect(),
    };
    let rule = rules::prober_rules(c.cfg)
        .rules()
        .find(|r| r.alert.as_deref() == Some("MimamoriProberBlind"))
        .cloned()
        .expect("known alert");
    let blind_ticket = |loc: &str| {
        let inst = Ctx::instance(loc);
        AlertTest {
            eval_time: at(start + 5 * MIN),
            alertname: "MimamoriProberBlind".into(),
            exp_alerts: vec![ExpAlert {
                exp_labels: [
                    ("job".to_string(), job.clone()),
                    ("instance".into(), inst.clone()),
                    ("location".into(), loc.to_string()),
                    ("severity".into(), "ticket".into()),
                ]
                .into(),
                exp_annotations: render(
                    &rule,
                    &[
                        (LOCATION, loc),
                        (INSTANCE, &inst),
                        (
                            "{{ $value | humanizeTimestamp }}",
                            &format!("1970-01-01 00:{:02}:00 +0000 UTC", start / MIN),
                        ),
                        (rules::BLIND_FOR, "5m 0s"),
                    ],
                ),
            }],
        }
    };
    let loc_failing = |loc: &str, v: f64| {
        (
            format!(
                "{}{{service=\"{svc}\",location=\"{loc}\"}}",
                rec::LOCATION_FAILING
            ),
            v,
        )
    };
    let svc_failing = |v: f64| (format!("{}{{service=\"{svc}\"}}", rec::SERVICE_FAILING), v);

    // Three locations: A blind, B fails alone, C sees the service up.
    let l3 = locations(3);
    let c3 = with(l3.clone());
    let (a, b, cc) = (&l3[0], &l3[1], &l3[2]);
    let mut g = group(
        &format!("three locations, {a} loses its uplink (blind) while only {b} sees failures: {a} is unknown, {b} alone is no outage (not counted twice), a ticket names {a}"),
        c3.inputs(|i| match i {
            0 => blind(),
            1 => Loc { health: seeing().health, ..failing() },
            _ => seeing(),
        }),
    );
    let t = start + 5 * MIN;
    g.promql_expr_test.push(expr(
        c3.p_sel().of(rec::LOCATION_FAILING),
        t,
        vec![loc_failing(b, 1.0), loc_failing(cc, 0.0)],
    ));
    g.promql_expr_test.push(expr(
        c3.p_sel().of(rec::SERVICE_FAILING),
        t,
        vec![svc_failing(0.0)],
    ));
    g.alert_rule_test = c3.silent(&PAGES, &[start + 5 * MIN, start + 30 * MIN]);
    g.alert_rule_test
        .extend(c3.silent(&["MimamoriServiceBlind"], &[start + 10 * MIN]));
    g.alert_rule_test.push(blind_ticket(a));
    tests.push(g);

    // Three locations: A blind, the service really down at B and C: an outage.
    let mut g = group(
        &format!("three locations, {a} blind while {b} and {cc} see the service down: an outage, judged by the two that see"),
        c3.inputs(|i| match i {
            0 => blind(),
            _ => Loc { health: seeing().health, ..failing() },
        }),
    );
    g.promql_expr_test.push(expr(
        c3.p_sel().of(rec::LOCATION_FAILING),
        t,
        vec![loc_failing(b, 1.0), loc_failing(cc, 1.0)],
    ));
    g.promql_expr_test.push(expr(
        c3.p_sel().of(rec::SERVICE_FAILING),
        t,
        vec![svc_failing(1.0)],
    ));
    tests.push(g);

    // Two locations: A blind, B sees the service down: B judges alone.
    let l2 = locations(2);
    let c2 = with(l2.clone());
    let (a, b) = (&l2[0], &l2[1]);
    let mut g = group(
        &format!("two locations, {a} blind while {b} sees the service down: {b} judges alone, the outage is not hidden"),
        c2.inputs(|i| match i {
            0 => blind(),
            _ => Loc { health: seeing().health, ..failing() },
        }),
    );
    g.promql_expr_test.push(expr(
        c2.p_sel().of(rec::LOCATION_FAILING),
        t,
        vec![loc_failing(b, 1.0)],
    ));
    g.promql_expr_test.push(expr(
        c2.p_sel().of(rec::SERVICE_FAILING),
        t,
        vec![svc_failing(1.0)],
    ));
    tests.push(g);

    // Two locations: A blind, B sees the service up: no failure, no success
    // from A; the SLI is B's.
    let mut g = group(
        &format!("two locations, {a} blind while {b} sees the service up: no failure time, {a} neither fails nor passes"),
        c2.inputs(|i| match i {
            0 => blind(),
            _ => seeing(),
        }),
    );
    g.promql_expr_test.push(expr(
        c2.p_sel().of(rec::LOCATION_FAILING),
        t,
        vec![loc_failing(b, 0.0)],
    ));
    g.promql_expr_test.push(expr(
        c2.p_sel().of(rec::AVAILABILITY_ERRORS),
        t,
        vec![(
            format!("{}{{service=\"{svc}\"}}", rec::AVAILABILITY_ERRORS),
            0.0,
        )],
    ));
    g.alert_rule_test = c2.silent(&PAGES, &[start + 30 * MIN]);
    g.alert_rule_test
        .extend(c2.silent(&["MimamoriLocationFailing"], &[start + 20 * MIN]));
    g.alert_rule_test.push(blind_ticket(a));
    tests.push(g);
    tests
}

/// One prober process in a sharding or HA scenario: the transactions it
/// reports (with their `mimamori_probe_success` values, where `{n}` is the
/// number of samples it reports less one) and whether it dies.
struct Prober {
    location: String,
    instance: String,
    transactions: Vec<(String, String)>,
    /// Samples it is scraped for before it dies (then stale, `up == 0`); `None` lives.
    dies_after: Option<u64>,
}

/// `mimamori_probe_success`, `mimamori_maintenance_active` and `up` of each
/// prober over `samples` samples. A dead prober's series end with a
/// staleness marker, as Prometheus writes when a scrape fails.
fn prober_inputs(c: &Ctx, probers: &[Prober], samples: u64) -> Vec<Series> {
    let svc = &c.p.service;
    let job = &c.cfg.alerting.job;
    let mut out = Vec::new();
    for pr in probers {
        let (loc, inst) = (&pr.location, &pr.instance);
        let live = |values: &str| {
            match pr.dies_after {
                Some(_) => format!("{values} stale"),
                None => values.to_string(),
            }
            .replace("{n}", &(pr.dies_after.unwrap_or(samples) - 1).to_string())
        };
        for (tx, values) in &pr.transactions {
            out.push(Series {
                series: format!(
                    "{}{{service=\"{svc}\",transaction=\"{tx}\",location=\"{loc}\",job=\"{job}\",instance=\"{inst}\"}}",
                    metric::PROBE_SUCCESS
                ),
                values: live(values),
            });
        }
        out.push(Series {
            series: format!(
                "{}{{service=\"{svc}\",location=\"{loc}\",job=\"{job}\",instance=\"{inst}\"}}",
                metric::MAINTENANCE_ACTIVE
            ),
            values: live("0x{n}"),
        });
        out.push(Series {
            series: format!("{}{{job=\"{job}\",instance=\"{inst}\"}}", metric::UP),
            values: match pr.dies_after {
                Some(k) => format!("1x{} 0x{}", k - 1, samples - k),
                None => format!("1x{}", samples - 1),
            },
        });
    }
    out
}

/// Several probers per location: three shards of the first location with one
/// dead, and an HA pair of identical probers. Aggregation is by location,
/// never by instance, so neither counts twice, and a dead shard makes its
/// transactions blind (a ticket naming them), never failure time.
fn shard_tests(c: &Ctx) -> Vec<TestGroup> {
    let p = c.p;
    let mut tests = Vec::new();
    let pre = 10 * PER_MIN;
    let start = 10 * MIN;
    let samples = pre + 30 * PER_MIN + 1;
    let home = c.locations[0].clone();
    // The configured transaction and two more, one per shard; the one on the dead shard is the real one.
    let txs = [
        format!("{}-shard-0", c.transaction),
        c.transaction.clone(),
        format!("{}-shard-2", c.transaction),
    ];
    let all_ok: Vec<(String, String)> = txs.iter().map(|t| (t.clone(), "1x{n}".into())).collect();
    // One healthy prober at every other location, running `transactions`.
    let others_with = |probers: &mut Vec<Prober>, transactions: &[(String, String)]| {
        for loc in &c.locations[1..] {
            probers.push(Prober {
                location: loc.clone(),
                instance: Ctx::instance(loc),
                transactions: transactions.to_vec(),
                dies_after: None,
            });
        }
    };
    let others = |probers: &mut Vec<Prober>| others_with(probers, &all_ok);
    let only_ok = [(c.transaction.clone(), "1x{n}".to_string())];
    let failure_zero = |t: u64| {
        let m = format!(
            "{}{{service=\"{}\"}}",
            rec::failure_seconds("1h"),
            p.service
        );
        ExprTest {
            expr: m.clone(),
            eval_time: at(t),
            exp_samples: vec![Sample {
                labels: m,
                value: 0.0,
            }],
        }
    };

    // Three shards at the first location; shard 1 dies at 10m.
    let dead = format!("{home}-shard-1.probers:9732");
    let mut probers: Vec<Prober> = txs
        .iter()
        .enumerate()
        .map(|(i, tx)| Prober {
            location: home.clone(),
            instance: format!("{home}-shard-{i}.probers:9732"),
            transactions: vec![(tx.clone(), "1x{n}".into())],
            dies_after: (i == 1).then_some(pre),
        })
        .collect();
    others(&mut probers);
    let mut g = group(
        &format!(
            "{home} runs three shards and shard 1 dies at 10m: its transaction is blind there (a ticket naming it), never failure time, no page"
        ),
        prober_inputs(c, &probers, samples),
    );
    g.alert_rule_test = c.silent(&["MimamoriTransactionsBlind"], &[start + 4 * MIN]);
    let rule = c.service_rule("MimamoriTransactionsBlind");
    // Still named at 30m: the assignment is remembered while the shard stays down.
    for t in [start + 6 * MIN, start + 30 * MIN] {
        g.alert_rule_test.push(AlertTest {
            eval_time: at(t),
            alertname: "MimamoriTransactionsBlind".into(),
            exp_alerts: vec![ExpAlert {
                exp_labels: [
                    ("service".to_string(), p.service.clone()),
                    ("transaction".into(), c.transaction.clone()),
                    ("location".into(), home.clone()),
                    ("job".into(), c.cfg.alerting.job.clone()),
                    ("instance".into(), dead.clone()),
                    ("severity".into(), "ticket".into()),
                ]
                .into(),
                exp_annotations: render(
                    &rule,
                    &[
                        (LOCATION, &home),
                        (TRANSACTION, &c.transaction),
                        (INSTANCE, &dead),
                    ],
                ),
            }],
        });
    }
    let mut quiet: Vec<&str> = PAGES.to_vec();
    quiet.extend([
        "MimamoriServiceBlind",
        "MimamoriLocationNotReporting",
        "MimamoriLocationFailing",
    ]);
    g.alert_rule_test
        .extend(c.silent(&quiet, &[start + 6 * MIN, start + 30 * MIN]));
    g.promql_expr_test.push(failure_zero(start + 30 * MIN));
    tests.push(g);

    // An HA pair at the first location: both fail the same transaction (the
    // location's own network), one of them dies at 20m.
    if c.locations.len() >= 2 {
        let twin = |name: &str, dies_after: Option<u64>| Prober {
            location: home.clone(),
            instance: format!("{home}-{name}.probers:9732"),
            transactions: vec![(
                c.transaction.clone(),
                format!(
                    "1x{} 0x{}",
                    pre - 1,
                    dies_after.unwrap_or(samples) - pre - 1
                ),
            )],
            dies_after,
        };
        let mut probers = vec![twin("a", None), twin("b", Some(pre + 10 * PER_MIN))];
        others_with(&mut probers, &only_ok);
        let mut g = group(
            &format!(
                "an HA pair at {home} both failing counts as one location (no page, one ticket); one twin dying leaves nothing blind"
            ),
            prober_inputs(c, &probers, samples),
        );
        g.alert_rule_test = c.silent(
            &PAGES,
            &[start + 5 * MIN, start + 15 * MIN, start + 30 * MIN],
        );
        g.alert_rule_test.extend(c.silent(
            &["MimamoriTransactionsBlind", "MimamoriServiceBlind"],
            &[start + 30 * MIN],
        ));
        g.alert_rule_test
            .push(c.location_failing_ticket(start + 15 * MIN, &home));
        // The quorum counts locations: every location once, one of them failing.
        let sel = promql::Selector::service(&p.service);
        let by_location = sel.of(rec::LOCATION_FAILING);
        for (expr, value) in [
            (
                promql::locations_reporting(&by_location),
                c.locations.len() as f64,
            ),
            (promql::locations_failing(&by_location), 1.0),
        ] {
            g.promql_expr_test.push(ExprTest {
                expr,
                eval_time: at(start + 15 * MIN),
                exp_samples: vec![Sample {
                    labels: format!("{{service=\"{}\"}}", p.service),
                    value,
                }],
            });
        }
        g.promql_expr_test.push(failure_zero(start + 30 * MIN));
        tests.push(g);

        // One twin's own network fails: the other still sees the service work there.
        let mut probers = vec![twin("a", None), twin("b", None)];
        probers[1].transactions[0].1 = "1x{n}".into();
        others_with(&mut probers, &only_ok);
        let mut g = group(
            &format!(
                "one twin of the HA pair at {home} fails alone (its own network): the location is not failing, nothing fires"
            ),
            prober_inputs(c, &probers, samples),
        );
        let mut quiet: Vec<&str> = PAGES.to_vec();
        quiet.extend(["MimamoriLocationFailing", "MimamoriTransactionsBlind"]);
        g.alert_rule_test = c.silent(&quiet, &[start + 15 * MIN, start + 30 * MIN]);
        let m = format!(
            "{}{{service=\"{}\",location=\"{home}\"}}",
            rec::LOCATION_FAILING,
            p.service
        );
        g.promql_expr_test.push(ExprTest {
            expr: m.clone(),
            eval_time: at(start + 15 * MIN),
            exp_samples: vec![Sample {
                labels: m,
                value: 0.0,
            }],
        });
        tests.push(g);
    }
    tests
}

impl Ctx<'_> {
    fn service_rule_for_location(&self, loc: &str) -> Option<Rule> {
        rules::service_rules(self.cfg, self.p)
            .rules()
            .find(|r| {
                r.alert.as_deref() == Some("MimamoriLocationNotReporting")
                    && r.expr.contains(&format!("location=\"{loc}\""))
            })
            .cloned()
            .or_else(|| Some(Rule::default()))
    }
}

/// 20 operating samples from 15 s on with one failed round, 5 % slow
/// operations; maintenance from 5m15s freezes the sums, so the 1-minute group
/// (evaluated at a path-dependent offset) sees the same numbers at any moment
/// of its last interval. Every recorded number is then known exactly.
fn arithmetic(c: &Ctx) -> TestGroup {
    let p = c.p;
    let svc = &p.service;
    let mut g = group(
        "burn and budget numbers are exact for a known input (1 failed sample of 20; 1 slow operation of 20)",
        c.inputs(|_| Loc {
            probe: Some("_ 1x8 0 1x13".into()),
            maintenance: "_ 0x19 1x3".into(),
            count: "_ 0+20x23".into(),
            bucket: "_ 0+19x23".into(),
            up: "_ 1x23".into(),
            health: None,
        }),
    );
    let t = at(6 * MIN);
    let one = |expr: String, labels: String, value: f64| ExprTest {
        expr,
        eval_time: t.clone(),
        exp_samples: vec![Sample { labels, value }],
    };
    let ratio = 1.0 / 20.0;
    for w in ["30m", "1h", "30d"] {
        let m = format!("{}{{service=\"{svc}\"}}", rec::failure_seconds(w));
        g.promql_expr_test
            .push(one(m.clone(), m, EVAL_SECONDS as f64));
        let m = format!(
            "{}{{service=\"{svc}\"}}",
            rec::error_ratio(Slo::Availability.label(), w)
        );
        g.promql_expr_test.push(one(m.clone(), m, ratio));
        let m = format!(
            "{}{{service=\"{svc}\",slo=\"availability\"}}",
            rec::burn_rate(w)
        );
        g.promql_expr_test
            .push(one(m.clone(), m, ratio / p.availability_budget));
        // rate() divides by the window, so latency ratios carry float noise: compare within 1e-9.
        let near = |sel: String, v: f64| {
            one(
                format!("abs({sel} - {}) < bool 0.000000001", decimal(v)),
                sel.split_at(sel.find('{').expect("selector")).1.to_string(),
                1.0,
            )
        };
        g.promql_expr_test.push(near(
            format!(
                "{}{{service=\"{svc}\"}}",
                rec::error_ratio(Slo::Latency.label(), w)
            ),
            ratio,
        ));
        g.promql_expr_test.push(near(
            format!("{}{{service=\"{svc}\",slo=\"latency\"}}", rec::burn_rate(w)),
            ratio / p.latency_budget,
        ));
    }
    for slo in [Slo::Availability, Slo::Latency] {
        let l = slo.label();
        for (name, v) in [
            (rec::OBJECTIVE, p.objective(slo)),
            (rec::ERROR_BUDGET, p.budget(slo)),
            (rec::BUDGET_REMAINING_30D, 1.0 - ratio / p.budget(slo)),
        ] {
            let m = format!("{name}{{service=\"{svc}\",slo=\"{l}\"}}");
            if slo == Slo::Latency && name.contains("remaining") {
                g.promql_expr_test.push(one(
                    format!("abs({m} - ({})) < bool 0.000000001", decimal(v)),
                    format!("{{service=\"{svc}\",slo=\"{l}\"}}"),
                    1.0,
                ));
            } else {
                g.promql_expr_test.push(one(m.clone(), m, v));
            }
        }
    }
    g
}

fn prober_tests(cfg: &Config, plans: &[ServicePlan]) -> TestFile {
    let job = &cfg.alerting.job;
    let probers = rules::prober_rules(cfg);
    let rule = |name: &str| {
        probers
            .rules()
            .find(|r| r.alert.as_deref() == Some(name))
            .cloned()
            .expect("known alert")
    };
    let mut locations = cfg.alerting.locations.clone();
    if locations.is_empty() {
        locations = vec![cfg.global.location.clone()];
    }
    let mut tests = Vec::new();

    let mut g = group(
        "probers gone: every SLO is blind (page), each prober down (ticket)",
        locations
            .iter()
            .map(|l| Series {
                series: format!(
                    "{}{{job=\"{job}\",instance=\"{}\"}}",
                    metric::UP,
                    Ctx::instance(l)
                ),
                values: format!("0x{}", 10 * PER_MIN),
            })
            .collect(),
    );
    g.alert_rule_test.push(AlertTest {
        eval_time: at(4 * MIN),
        alertname: "MimamoriProbersAbsent".into(),
        exp_alerts: vec![],
    });
    g.alert_rule_test.push(AlertTest {
        eval_time: at(6 * MIN),
        alertname: "MimamoriProbersAbsent".into(),
        exp_alerts: vec![ExpAlert {
            exp_labels: [("severity".to_string(), "page".to_string())].into(),
            exp_annotations: rule("MimamoriProbersAbsent").annotations,
        }],
    });
    g.alert_rule_test.push(AlertTest {
        eval_time: at(6 * MIN),
        alertname: "MimamoriProberDown".into(),
        exp_alerts: locations
            .iter()
            .map(|l| ExpAlert {
                exp_labels: [
                    ("severity".to_string(), "ticket".to_string()),
                    ("job".into(), job.clone()),
                    ("instance".into(), Ctx::instance(l)),
                ]
                .into(),
                exp_annotations: render(
                    &rule("MimamoriProberDown"),
                    &[(INSTANCE, &Ctx::instance(l))],
                ),
            })
            .collect(),
    });
    tests.push(g);

    // Certificates: 10 days left is a ticket; 2 days left is a page too.
    let svc = plans.first().map(|p| p.service.as_str()).unwrap_or("svc");
    let at_eval = 5 * MIN;
    let mut g = group(
        "certificate expiry: a ticket at 21 days, a page at 3 days",
        vec![Series {
            series: format!(
                "{}{{service=\"{svc}\",location=\"{}\"}}",
                metric::TLS_CERTIFICATE_EXPIRY,
                locations[0]
            ),
            values: format!(
                "{}x{} {}x{}",
                10 * 86400 + at_eval,
                PER_MIN * 10,
                2 * 86400 + 20 * MIN,
                PER_MIN * 10
            ),
        }],
    );
    let cert = |name: &str, value: &str| ExpAlert {
        exp_labels: [
            (
                "severity".to_string(),
                rule(name).labels["severity"].clone(),
            ),
            ("service".into(), svc.to_string()),
        ]
        .into(),
        exp_annotations: render(
            &rule(name),
            &[
                ("{{ $labels.service }}", svc),
                ("{{ $value | humanizeDuration }}", value),
            ],
        ),
    };
    g.alert_rule_test.push(AlertTest {
        eval_time: at(at_eval),
        alertname: "MimamoriCertificateExpiresSoon".into(),
        exp_alerts: vec![cert("MimamoriCertificateExpiresSoon", "10d 0h 0m 0s")],
    });
    g.alert_rule_test.push(AlertTest {
        eval_time: at(at_eval),
        alertname: "MimamoriCertificateExpiresVerySoon".into(),
        exp_alerts: vec![],
    });
    g.alert_rule_test.push(AlertTest {
        eval_time: at(20 * MIN),
        alertname: "MimamoriCertificateExpiresVerySoon".into(),
        exp_alerts: vec![cert("MimamoriCertificateExpiresVerySoon", "2d 0h 0m 0s")],
    });
    tests.push(g);

    // TLS policy: a server that accepts TLS 1.1 and a plain-HTTP address that
    // serves content are tickets; compliant values are silent.
    let mut g = group(
        "TLS policy: legacy TLS accepted and plain HTTP served are tickets",
        vec![
            Series {
                series: format!(
                    "{}{{service=\"{svc}\",location=\"{}\",transaction=\"t\",step=\"s\",version=\"TLSv1.1\"}}",
                    metric::TLS_LEGACY_ACCEPTED,
                    locations[0]
                ),
                values: format!("0x{} 1x{}", PER_MIN * 10, PER_MIN * 10),
            },
            Series {
                series: format!(
                    "{}{{service=\"{svc}\",location=\"{}\"}}",
                    metric::PLAIN_HTTP_REFUSED,
                    locations[0]
                ),
                values: format!("1x{} 0x{}", PER_MIN * 10, PER_MIN * 10),
            },
        ],
    );
    let policy = |name: &str, extra: &[(&str, &str)]| {
        let mut labels: std::collections::BTreeMap<String, String> = [
            ("severity".to_string(), "ticket".to_string()),
            ("service".into(), svc.to_string()),
        ]
        .into();
        let mut subst = vec![("{{ $labels.service }}", svc)];
        for (k, v) in extra {
            labels.insert(k.to_string(), v.to_string());
        }
        if let Some((_, v)) = extra.iter().find(|(k, _)| *k == "version") {
            subst.push(("{{ $labels.version }}", v));
        }
        ExpAlert {
            exp_labels: labels,
            exp_annotations: render(&rule(name), &subst),
        }
    };
    for (name, extra) in [
        ("MimamoriLegacyTlsAccepted", vec![("version", "TLSv1.1")]),
        ("MimamoriPlainHttpServed", vec![]),
    ] {
        g.alert_rule_test.push(AlertTest {
            eval_time: at(5 * MIN),
            alertname: name.into(),
            exp_alerts: vec![],
        });
        g.alert_rule_test.push(AlertTest {
            eval_time: at(15 * MIN),
            alertname: name.into(),
            exp_alerts: vec![policy(name, &extra)],
        });
    }
    tests.push(g);

    TestFile {
        rule_files: vec!["../mimamori-probers.yml".into()],
        evaluation_interval: format!("{EVAL_SECONDS}s"),
        tests,
    }
}
