//! The exposition, byte for byte: any change to how series are stored or
//! written must leave what Prometheus scrapes unchanged.

use std::time::Duration;

use super::*;
use crate::probe::outcome::{Phases, StepOutcome, TlsFacts};
use crate::probe::plan::TxKey;

fn plan(service: &str, transaction: &str, location: &str, steps: &[&str]) -> TransactionPlan {
    let mut p = crate::probe::adhoc_plan("http://127.0.0.1:9/", Duration::from_secs(1), None)
        .expect("valid URL");
    p.key = TxKey {
        service: service.into(),
        transaction: transaction.into(),
    };
    p.location = location.into();
    let template = p.steps.pop().expect("one step");
    p.steps = steps
        .iter()
        .map(|name| {
            let mut s =
                crate::probe::adhoc_plan("http://127.0.0.1:9/", Duration::from_secs(1), None)
                    .expect("valid URL")
                    .steps
                    .pop()
                    .expect("one step");
            s.name = name.to_string();
            s
        })
        .collect();
    drop(template);
    p
}

fn step(name: &str, ok: bool, ms: [u64; 5], tls: bool) -> StepOutcome {
    let phases = Phases(ms.map(|m| Duration::from_micros(m * 137)));
    StepOutcome {
        name: name.into(),
        success: ok,
        status: Some(if ok { 200 } else { 503 }),
        duration: phases.0.iter().sum(),
        phases,
        reason: (!ok).then_some(Reason::Status),
        message: None,
        tls: tls.then(|| TlsFacts {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            not_after: Some(1_900_000_000),
        }),
        body_bytes: 3,
    }
}

fn outcome(reason: Option<Reason>, steps: Vec<StepOutcome>) -> Outcome {
    Outcome {
        success: reason.is_none(),
        reason,
        message: None,
        duration: steps.iter().map(|s| s.duration).sum(),
        steps,
    }
}

/// Everything but the toolchain, which differs between machines.
fn render(m: &Metrics) -> String {
    m.render()
        .lines()
        .filter(|l| !l.starts_with("mimamori_build_info{"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn exposition_is_unchanged() {
    let m = Metrics::new(&[0.1, 0.5, 3.0]);
    let p1 = plan("b-svc", "login", "tokyo", &["login", "search"]);
    let p1_osaka = plan("b-svc", "login", "osaka", &["login", "search"]);
    let p2 = plan("a-svc", "we\"ird\\tx\nname", "tokyo", &["get"]);
    let p3 = plan("b-svc", "alpha", "tokyo", &["get"]);
    let mut tx1 = m.transaction(&p1);
    let mut tx1_osaka = m.transaction(&p1_osaka);
    let mut tx2 = m.transaction(&p2);
    let tx3 = m.transaction(&p3);
    tx1.record(&outcome(
        None,
        vec![
            step("login", true, [1, 2, 3, 4, 5], true),
            step("search", true, [0, 0, 0, 4000, 7], true),
        ],
    ));
    tx1.record(&outcome(
        Some(Reason::Status),
        vec![
            step("login", true, [1, 2, 3, 4, 5], true),
            step("search", false, [0, 0, 0, 30_000, 1], true),
        ],
    ));
    tx1_osaka.record(&outcome(
        None,
        vec![step("login", true, [9, 9, 9, 9, 9], false)],
    ));
    tx2.record(&outcome(
        Some(Reason::Timeout),
        vec![step("get", false, [0, 1, 0, 0, 0], false)],
    ));
    tx3.skipped.inc_by(2);
    m.scheduler_lag.observe(0.003);
    m.set_legacy(&p1, "login", "TLSv1.0", true);
    m.set_plain_http("b-svc", "tokyo", true);
    m.set_maintenance("tokyo", &[("a-svc".into(), false), ("b-svc".into(), true)]);
    m.transactions.set(4);
    insta::assert_snapshot!("four_transactions", render(&m));

    m.forget(&p2);
    drop(tx2);
    drop(tx1);
    m.forget(&p1_osaka);
    drop(tx1_osaka);
    insta::assert_snapshot!("after_forget", render(&m));
}

#[test]
fn no_transactions_no_series() {
    let m = Metrics::new(&[1.0]);
    insta::assert_snapshot!("empty", render(&m));
}
