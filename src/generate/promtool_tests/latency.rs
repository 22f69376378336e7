//! The latency objective: slow answers page within ten minutes.

use super::{at, group, healthy, AlertTest, Ctx, Loc, TestGroup, MIN, PAGES, PER_MIN};
use crate::slo::plan::EVAL_SECONDS;

/// Slow answers from 60m: every operation over the threshold.
/// A full hour of fast answers first, so the 1h window starts all good.
pub(super) fn slow_answers(c: &Ctx) -> TestGroup {
    let p = c.p;
    let hour = 60 * PER_MIN; // samples per hour
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
    g
}
