//! A prober that loses its uplink: every self-check target and every probe
//! fails there. Its results are unknown, neither failure nor success, so the
//! service is judged by the locations that still see (quorum over the *seen*
//! locations): with three locations, a blind one plus one failing alone is
//! not an outage (no double count); with two, the one that still sees
//! judges alone (a real outage is not hidden); a blind location is a ticket
//! naming it and since when.

use super::{
    at, group, healthy, render, AlertTest, Ctx, ExpAlert, ExprTest, Loc, Sample, TestGroup, MIN,
    PAGES, PER_MIN,
};
use crate::generate::rules::{self, Rule, INSTANCE, LOCATION};
use crate::promql::record as rec;

/// The scenarios, three locations first.
pub(super) fn tests(c: &Ctx) -> Vec<TestGroup> {
    let s = Blind::new(c);
    let mut tests = three_locations(&s);
    tests.extend(two_locations(&s));
    tests
}

/// What every blind scenario shares: its timeline and the ticket it expects.
struct Blind<'a> {
    c: &'a Ctx<'a>,
    pre: u64,
    start: u64,
    samples: u64,
    /// `MimamoriProberBlind`.
    rule: Rule,
}

impl<'a> Blind<'a> {
    fn new(c: &'a Ctx<'a>) -> Self {
        let pre = 10 * PER_MIN;
        let rule = rules::prober_rules(c.cfg)
            .rules()
            .find(|r| r.alert.as_deref() == Some("MimamoriProberBlind"))
            .cloned()
            .expect("known alert");
        Blind {
            c,
            pre,
            start: 10 * MIN,
            samples: pre + 30 * PER_MIN + 1,
            rule,
        }
    }

    fn failing(&self) -> Loc {
        Loc {
            probe: Some(format!("1x{} 0x{}", self.pre - 1, self.samples - self.pre)),
            ..healthy(self.samples)
        }
    }

    fn blind(&self) -> Loc {
        Loc {
            health: Some((
                format!("1x{} 0x{}", self.pre - 1, self.samples - self.pre),
                format!(
                    "0x{} {}x{}",
                    self.pre - 1,
                    self.start,
                    self.samples - self.pre
                ),
            )),
            ..self.failing()
        }
    }

    fn seeing(&self) -> Loc {
        Loc {
            health: Some((
                format!("1x{}", self.samples - 1),
                format!("0x{}", self.samples - 1),
            )),
            ..healthy(self.samples)
        }
    }

    /// The configured locations, and more made up where a scenario needs them.
    fn locations(&self, n: usize) -> Vec<String> {
        let mut l = self.c.locations.clone();
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
    }

    fn with(&self, locations: Vec<String>) -> Ctx<'a> {
        let c = self.c;
        Ctx {
            cfg: c.cfg,
            p: c.p,
            locations,
            transaction: c.transaction.clone(),
            step: c.step.clone(),
            le: c.le.clone(),
        }
    }

    fn blind_ticket(&self, loc: &str) -> AlertTest {
        let (job, start) = (&self.c.cfg.alerting.job, self.start);
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
                    &self.rule,
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
    }

    fn loc_failing(&self, loc: &str, v: f64) -> (String, f64) {
        (
            format!(
                "{}{{service=\"{}\",location=\"{loc}\"}}",
                rec::LOCATION_FAILING,
                self.c.p.service
            ),
            v,
        )
    }

    fn svc_failing(&self, v: f64) -> (String, f64) {
        (
            format!(
                "{}{{service=\"{}\"}}",
                rec::SERVICE_FAILING,
                self.c.p.service
            ),
            v,
        )
    }
}

fn expr(e: String, t: u64, samples: Vec<(String, f64)>) -> ExprTest {
    ExprTest {
        expr: e,
        eval_time: at(t),
        exp_samples: samples
            .into_iter()
            .map(|(labels, value)| Sample { labels, value })
            .collect(),
    }
}

fn three_locations(s: &Blind) -> Vec<TestGroup> {
    let mut tests = Vec::new();
    let start = s.start;

    // Three locations: A blind, B fails alone, C sees the service up.
    let l3 = s.locations(3);
    let c3 = s.with(l3.clone());
    let (a, b, cc) = (&l3[0], &l3[1], &l3[2]);
    let mut g = group(
        &format!("three locations, {a} loses its uplink (blind) while only {b} sees failures: {a} is unknown, {b} alone is no outage (not counted twice), a ticket names {a}"),
        c3.inputs(|i| match i {
            0 => s.blind(),
            1 => Loc { health: s.seeing().health, ..s.failing() },
            _ => s.seeing(),
        }),
    );
    let t = start + 5 * MIN;
    g.promql_expr_test.push(expr(
        c3.p_sel().of(rec::LOCATION_FAILING),
        t,
        vec![s.loc_failing(b, 1.0), s.loc_failing(cc, 0.0)],
    ));
    g.promql_expr_test.push(expr(
        c3.p_sel().of(rec::SERVICE_FAILING),
        t,
        vec![s.svc_failing(0.0)],
    ));
    g.alert_rule_test = c3.silent(&PAGES, &[start + 5 * MIN, start + 30 * MIN]);
    g.alert_rule_test
        .extend(c3.silent(&["MimamoriServiceBlind"], &[start + 10 * MIN]));
    g.alert_rule_test.push(s.blind_ticket(a));
    tests.push(g);

    // Three locations: A blind, the service really down at B and C: an outage.
    let mut g = group(
        &format!("three locations, {a} blind while {b} and {cc} see the service down: an outage, judged by the two that see"),
        c3.inputs(|i| match i {
            0 => s.blind(),
            _ => Loc { health: s.seeing().health, ..s.failing() },
        }),
    );
    g.promql_expr_test.push(expr(
        c3.p_sel().of(rec::LOCATION_FAILING),
        t,
        vec![s.loc_failing(b, 1.0), s.loc_failing(cc, 1.0)],
    ));
    g.promql_expr_test.push(expr(
        c3.p_sel().of(rec::SERVICE_FAILING),
        t,
        vec![s.svc_failing(1.0)],
    ));
    tests.push(g);
    tests
}

fn two_locations(s: &Blind) -> Vec<TestGroup> {
    let mut tests = Vec::new();
    let start = s.start;
    let t = start + 5 * MIN;
    let svc = &s.c.p.service;

    // Two locations: A blind, B sees the service down: B judges alone.
    let l2 = s.locations(2);
    let c2 = s.with(l2.clone());
    let (a, b) = (&l2[0], &l2[1]);
    let mut g = group(
        &format!("two locations, {a} blind while {b} sees the service down: {b} judges alone, the outage is not hidden"),
        c2.inputs(|i| match i {
            0 => s.blind(),
            _ => Loc { health: s.seeing().health, ..s.failing() },
        }),
    );
    g.promql_expr_test.push(expr(
        c2.p_sel().of(rec::LOCATION_FAILING),
        t,
        vec![s.loc_failing(b, 1.0)],
    ));
    g.promql_expr_test.push(expr(
        c2.p_sel().of(rec::SERVICE_FAILING),
        t,
        vec![s.svc_failing(1.0)],
    ));
    tests.push(g);

    // Two locations: A blind, B sees the service up: no failure, no success
    // from A; the SLI is B's.
    let mut g = group(
        &format!("two locations, {a} blind while {b} sees the service up: no failure time, {a} neither fails nor passes"),
        c2.inputs(|i| match i {
            0 => s.blind(),
            _ => s.seeing(),
        }),
    );
    g.promql_expr_test.push(expr(
        c2.p_sel().of(rec::LOCATION_FAILING),
        t,
        vec![s.loc_failing(b, 0.0)],
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
    g.alert_rule_test.push(s.blind_ticket(a));
    tests.push(g);
    tests
}
