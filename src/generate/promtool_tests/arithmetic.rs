//! The recorded numbers are exact for a known input: burn rates, error
//! ratios, budgets and what remains of them.

use super::{at, group, Ctx, ExprTest, Loc, Sample, TestGroup, MIN};
use crate::promql::{decimal, record as rec};
use crate::slo::plan::{Slo, EVAL_SECONDS};

/// 20 operating samples from 15 s on with one failed round, 5 % slow
/// operations; maintenance from 5m15s freezes the sums, so the 1-minute group
/// (evaluated at a path-dependent offset) sees the same numbers at any moment
/// of its last interval. Every recorded number is then known exactly.
pub(super) fn arithmetic(c: &Ctx) -> TestGroup {
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
