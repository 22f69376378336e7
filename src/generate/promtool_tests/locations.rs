//! Locations: one failing alone is a prober ticket, never a page (also when
//! its runs pass on retry); one that stops reporting is a ticket while the
//! others still judge; and every address behind a name counts (`resolve: all`).

use super::{
    at, group, healthy, AlertTest, Ctx, ExpAlert, ExprTest, Loc, Sample, Series, TestGroup, MIN,
    PAGES, PER_MIN, PRE, START,
};
use crate::generate::rules::{self, Rule};
use crate::promql::{self, metric, record as rec};

/// The scenarios that need two locations or more (none with one).
pub(super) fn tests(c: &Ctx) -> Vec<TestGroup> {
    let p = c.p;
    let (pre, start) = (PRE, START);
    let mut tests = Vec::new();
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
    tests
}

/// Two addresses behind the name (`resolve: all`), seen by every location:
/// 192.0.2.2 fails from 10m, 192.0.2.1 too from 20m. With `fail_when:
/// any_address` the transaction fails from 10m (a customer landing on the
/// broken address fails); with `all_addresses` only from 20m. Both choices
/// are evaluated with the very expression the rules use, and the recorded
/// `mimamori:location_failing` follows the configured one.
pub(super) fn every_address(c: &Ctx) -> TestGroup {
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
