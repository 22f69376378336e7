//! The service's own availability: silent when healthy, a full outage pages
//! within the detection time, one or two failed rounds never page, an outage
//! inside announced maintenance is silent, and probers gone page as blind.

use super::{
    at, burn_rate, failed_round, group, healthy, AlertTest, Ctx, ExpAlert, ExprTest, Loc, Sample,
    TestGroup, MIN, PAGES, PER_MIN, PRE, START,
};
use crate::promql::record as rec;
use crate::slo::plan::EVAL_SECONDS;

/// Healthy: nothing fires.
pub(super) fn healthy_is_silent(c: &Ctx) -> TestGroup {
    let p = c.p;
    let hour = 60 * PER_MIN; // samples per hour
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
    g
}

/// Full outage from 60m, seen by every location. Its first failing result
/// reaches Prometheus as late as it can: after the next run starts (one
/// interval), times out, and is scraped (one more interval).
pub(super) fn full_outage(c: &Ctx) -> TestGroup {
    let p = c.p;
    let round = p.round_seconds;
    let (pre, start) = (PRE, START);
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
    let first_fire = seen + (p.smallest_firing_outage(fast) / EVAL_SECONDS - 1) * EVAL_SECONDS;
    g.alert_rule_test
        .extend(c.silent(&[&fast.name], &[first_fire - EVAL_SECONDS]));
    for (a, t) in [(fast, start + detection), (slow, seen + 2 * MIN)] {
        g.alert_rule_test.push(AlertTest {
            eval_time: at(t),
            alertname: a.name.clone(),
            exp_alerts: vec![c.burn_firing(&a.name, burn_rate(p, a, failure_at(t)))],
        });
    }
    g.alert_rule_test
        .extend(c.silent(&["MimamoriLocationFailing"], &[start + 15 * MIN]));
    g
}

/// A single failed round (one probe interval of samples), seen by every location.
pub(super) fn single_failed_round(c: &Ctx) -> TestGroup {
    let p = c.p;
    let (pre, start) = (PRE, START);
    let k = failed_round(p);
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
    g
}

/// Two failed rounds an hour apart: no page; a ticket once they reach its threshold.
pub(super) fn two_failed_rounds(c: &Ctx) -> TestGroup {
    let p = c.p;
    let (pre, start) = (PRE, START);
    let k = failed_round(p);
    let ticket = &p.alerts[2];
    let ticket_needs = p.failure_seconds_at(ticket.burn, ticket.long);
    let one_round = (k * EVAL_SECONDS) as f64;
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
            vec![c.burn_firing(&ticket.name, burn_rate(p, ticket, two))]
        } else {
            vec![]
        },
    });
    g
}

/// Outage inside an announced window, with one stale failed result after it
/// ends, then one real failed round 3 minutes later: little operating time
/// has passed, but that round must not page.
pub(super) fn maintenance(c: &Ctx) -> TestGroup {
    let p = c.p;
    let (pre, start) = (PRE, START);
    let k = failed_round(p);
    let one_round = (k * EVAL_SECONDS) as f64;
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
    g
}

/// The probers vanish.
pub(super) fn probers_gone(c: &Ctx) -> TestGroup {
    let p = c.p;
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
    g
}
