//! A browser transaction whose prober's Chromium crashes (only for services
//! with browser transactions): the prober withdraws the transaction's
//! `mimamori_probe_success` and counts `reason="browser"`. That location is
//! then blind for it — unknown, never failure: the other locations judge the
//! service, nothing pages, and a ticket names the prober.

use super::{
    at, group, healthy, Ctx, ExprTest, Loc, Sample, Series, TestGroup, MIN, PAGES, PER_MIN,
};
use crate::promql::{metric, record as rec};

/// The scenario for the service's first browser transaction, if it has one.
pub(super) fn tests(c: &Ctx) -> Vec<TestGroup> {
    let Some(tx) = c
        .cfg
        .service(&c.p.service)
        .and_then(|s| s.transactions.iter().find(|t| t.browser.is_some()))
    else {
        return Vec::new();
    };
    let mut locations = c.locations.clone();
    if locations.len() < 2 {
        locations.push("extra-1".into());
    }
    let b = Ctx::for_transaction(c.cfg, c.p, locations, tx);
    let (pre, start) = (10 * PER_MIN, 10 * MIN);
    let samples = pre + 30 * PER_MIN + 1;
    let crashed = &b.locations[0];
    let mut inputs = b.inputs(|i| match i {
        // Results until the crash, then none.
        0 => Loc {
            probe: Some(format!("1x{} _x{}", pre - 1, samples - pre)),
            ..healthy(samples)
        },
        _ => healthy(samples),
    });
    inputs.push(Series {
        series: format!(
            "{}{{{},reason=\"browser\"}}",
            metric::PROBE_FAILURES,
            b.base(crashed)
        ),
        values: format!("0x{} 1+1x{}", pre - 1, samples - pre),
    });
    let mut g = group(
        &format!("the browser of {crashed} crashes: transaction {} is blind there, never failing; nothing pages, a ticket names the prober", b.transaction),
        inputs,
    );
    let t = start + 10 * MIN;
    let svc = &b.p.service;
    g.promql_expr_test.push(ExprTest {
        expr: b.p_sel().of(rec::SERVICE_FAILING),
        eval_time: at(t),
        exp_samples: vec![Sample {
            labels: format!("{}{{service=\"{svc}\"}}", rec::SERVICE_FAILING),
            value: 0.0,
        }],
    });
    // The crashed location drops out of the quorum: only the others report.
    g.promql_expr_test.push(ExprTest {
        expr: b.p_sel().of(rec::LOCATION_FAILING),
        eval_time: at(t),
        exp_samples: b.locations[1..]
            .iter()
            .map(|l| Sample {
                labels: format!(
                    "{}{{service=\"{svc}\",location=\"{l}\"}}",
                    rec::LOCATION_FAILING
                ),
                value: 0.0,
            })
            .collect(),
    });
    g.alert_rule_test = b.silent(&PAGES, &[start + 5 * MIN, start + 25 * MIN]);
    g.alert_rule_test.extend(b.silent(
        &["MimamoriLocationFailing", "MimamoriBrowserUnavailable"],
        &[start + 2 * MIN],
    ));
    g.alert_rule_test.push(b.prober_ticket(
        "MimamoriBrowserUnavailable",
        t,
        crashed,
        &Ctx::instance(crashed),
    ));
    vec![g]
}
