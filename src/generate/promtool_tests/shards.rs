//! Several probers per location: three shards of the first location with one
//! dead, and an HA pair of identical probers. Aggregation is by location,
//! never by instance, so neither counts twice, and a dead shard makes its
//! transactions blind (a ticket naming them), never failure time.

use super::{at, group, Ctx, ExprTest, Sample, Series, TestGroup, MIN, PAGES, PER_MIN};
use crate::promql::{self, metric, record as rec};

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

/// The scenarios: a dead shard, then (with two locations or more) an HA pair.
pub(super) fn tests(c: &Ctx) -> Vec<TestGroup> {
    let s = Shards::new(c);
    let mut tests = vec![dead_shard(&s)];
    if c.locations.len() >= 2 {
        tests.push(ha_pair_failing(&s));
        tests.push(one_twin_failing(&s));
    }
    tests
}

/// What the shard scenarios share: the timeline, the first location and its transactions.
struct Shards<'a> {
    c: &'a Ctx<'a>,
    pre: u64,
    start: u64,
    samples: u64,
    home: String,
    /// The configured transaction and two more, one per shard; the one on the dead shard is the real one.
    txs: [String; 3],
}

impl<'a> Shards<'a> {
    fn new(c: &'a Ctx<'a>) -> Self {
        let pre = 10 * PER_MIN;
        Shards {
            c,
            pre,
            start: 10 * MIN,
            samples: pre + 30 * PER_MIN + 1,
            home: c.locations[0].clone(),
            txs: [
                format!("{}-shard-0", c.transaction),
                c.transaction.clone(),
                format!("{}-shard-2", c.transaction),
            ],
        }
    }

    /// One healthy prober at every other location, running `transactions`.
    fn others_with(&self, probers: &mut Vec<Prober>, transactions: &[(String, String)]) {
        for loc in &self.c.locations[1..] {
            probers.push(Prober {
                location: loc.clone(),
                instance: Ctx::instance(loc),
                transactions: transactions.to_vec(),
                dies_after: None,
            });
        }
    }

    /// Only the configured transaction, always passing.
    fn only_ok(&self) -> [(String, String); 1] {
        [(self.c.transaction.clone(), "1x{n}".to_string())]
    }

    fn failure_zero(&self, t: u64) -> ExprTest {
        let m = format!(
            "{}{{service=\"{}\"}}",
            rec::failure_seconds("1h"),
            self.c.p.service
        );
        ExprTest {
            expr: m.clone(),
            eval_time: at(t),
            exp_samples: vec![Sample {
                labels: m,
                value: 0.0,
            }],
        }
    }

    /// One of an HA pair at the first location, failing the configured
    /// transaction from the start (the location's own network).
    fn twin(&self, name: &str, dies_after: Option<u64>) -> Prober {
        let (c, home, pre, samples) = (self.c, &self.home, self.pre, self.samples);
        Prober {
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
        }
    }
}

/// Three shards at the first location; shard 1 dies at 10m.
fn dead_shard(s: &Shards) -> TestGroup {
    let (c, home) = (s.c, s.home.clone());
    let (pre, start, samples) = (s.pre, s.start, s.samples);
    let txs = &s.txs;
    let all_ok: Vec<(String, String)> = txs.iter().map(|t| (t.clone(), "1x{n}".into())).collect();
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
    s.others_with(&mut probers, &all_ok);
    let mut g = group(
        &format!(
            "{home} runs three shards and shard 1 dies at 10m: its transaction is blind there (a ticket naming it), never failure time, no page"
        ),
        prober_inputs(c, &probers, samples),
    );
    g.alert_rule_test = c.silent(&["MimamoriTransactionsBlind"], &[start + 4 * MIN]);
    // Still named at 30m: the assignment is remembered while the shard stays down.
    for t in [start + 6 * MIN, start + 30 * MIN] {
        g.alert_rule_test
            .push(c.prober_ticket("MimamoriTransactionsBlind", t, &home, &dead));
    }
    let mut quiet: Vec<&str> = PAGES.to_vec();
    quiet.extend([
        "MimamoriServiceBlind",
        "MimamoriLocationNotReporting",
        "MimamoriLocationFailing",
    ]);
    g.alert_rule_test
        .extend(c.silent(&quiet, &[start + 6 * MIN, start + 30 * MIN]));
    g.promql_expr_test.push(s.failure_zero(start + 30 * MIN));
    g
}

/// An HA pair at the first location: both fail the same transaction (the
/// location's own network), one of them dies at 20m.
fn ha_pair_failing(s: &Shards) -> TestGroup {
    let (c, p, home) = (s.c, s.c.p, s.home.clone());
    let (pre, start, samples) = (s.pre, s.start, s.samples);
    let mut probers = vec![s.twin("a", None), s.twin("b", Some(pre + 10 * PER_MIN))];
    s.others_with(&mut probers, &s.only_ok());
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
    g.promql_expr_test.push(s.failure_zero(start + 30 * MIN));
    g
}

/// One twin's own network fails: the other still sees the service work there.
fn one_twin_failing(s: &Shards) -> TestGroup {
    let (c, p, home) = (s.c, s.c.p, s.home.clone());
    let (start, samples) = (s.start, s.samples);
    let mut probers = vec![s.twin("a", None), s.twin("b", None)];
    probers[1].transactions[0].1 = "1x{n}".into();
    s.others_with(&mut probers, &s.only_ok());
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
    g
}
