//! The exposition, byte for byte: any change to how series are stored or
//! written must leave what Prometheus scrapes unchanged. (Changed on purpose
//! once, for issue 29: failures without buckets, no run histogram for a
//! one-step transaction; docs/metrics.md, Upgrading.)

use std::time::Duration;

use super::*;
use crate::probe::outcome::{Phases, StepOutcome, TlsFacts};
use crate::probe::plan::TxKey;

fn plan(service: &str, transaction: &str, location: &str, steps: &[&str]) -> TransactionPlan {
    let mut p = crate::probe::adhoc_plan(
        &Default::default(),
        "http://127.0.0.1:9/",
        Duration::from_secs(1),
        None,
    )
    .expect("valid URL");
    p.key = TxKey {
        service: service.into(),
        transaction: transaction.into(),
    };
    p.location = location.into();
    // Results stay listed for 2 intervals + timeout (`stale_after`): long
    // enough that no test here sees one withdrawn unless it waits for it.
    p.interval = Duration::from_secs(3600);
    let template = p.steps.pop().expect("one step");
    p.steps = steps
        .iter()
        .map(|name| {
            let mut s = crate::probe::adhoc_plan(
                &Default::default(),
                "http://127.0.0.1:9/",
                Duration::from_secs(1),
                None,
            )
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
        ..Default::default()
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

/// Many transactions at two locations, every family present.
fn busy_metrics() -> (Metrics, Vec<TxMetrics>) {
    let m = Metrics::new(&[0.1, 0.5, 3.0]);
    let mut handles = Vec::new();
    for i in 0..300 {
        let location = if i % 3 == 0 { "osaka" } else { "tokyo" };
        let p = plan(
            &format!("svc-{}", i % 7),
            &format!("tx-{i}"),
            location,
            &["a", "b"],
        );
        let mut tx = m.transaction(&p);
        if i % 5 != 0 {
            tx.record(&outcome(
                (i % 4 == 0).then_some(Reason::Timeout),
                vec![step("a", true, [1, 2, 3, 4, i], i % 2 == 0)],
            ));
        }
        handles.push(tx);
    }
    m.scheduler_lag.observe(0.003);
    (m, handles)
}

#[test]
fn chunks_add_up_to_the_whole_exposition() {
    let (m, _handles) = busy_metrics();
    let whole = m.render();
    assert!(whole.len() > 200_000, "{}", whole.len());
    for chunk in [1, 1000, 64 * 1024, 10 << 20] {
        let mut pieces = Vec::new();
        assert!(m.render_chunked(chunk, |s| {
            pieces.push(s);
            true
        }));
        assert_eq!(pieces.concat(), whole, "chunk size {chunk}");
        for (i, p) in pieces.iter().enumerate() {
            assert!(p.ends_with('\n'), "piece {i} ends inside a line");
            if i + 1 < pieces.len() {
                assert!(p.len() >= chunk, "piece {i} of {} bytes < {chunk}", p.len());
                // No piece is much larger than asked: it overshoots by one
                // series group, or one registry family (here at most 150
                // TLS series, about 30 KB).
                assert!(
                    p.len() < chunk.max(4096) + 40_000,
                    "piece {i} of {} bytes",
                    p.len()
                );
            }
        }
        if chunk >= whole.len() {
            assert_eq!(pieces.len(), 1);
        }
    }
}

#[test]
fn chunked_writing_stops_when_the_client_goes() {
    let (m, _handles) = busy_metrics();
    let mut calls = 0;
    let finished = m.render_chunked(4096, |_| {
        calls += 1;
        calls < 3
    });
    assert!(!finished);
    assert_eq!(calls, 3, "nothing is written after the client has gone");
}

#[test]
fn empty_families_are_left_out_when_chunked() {
    let m = Metrics::new(&[1.0]);
    let p = plan("svc", "never-ran", "tokyo", &["a"]);
    let _tx = m.transaction(&p);
    let mut pieces = Vec::new();
    m.render_chunked(1, |s| {
        pieces.push(s);
        true
    });
    let text = pieces.concat();
    assert_eq!(text, m.render());
    assert!(!text.contains("mimamori_probe_success"), "{text}");
    assert!(text.contains("# TYPE mimamori_runs_skipped_total counter"));
}

fn at(ip: &str, o: Outcome) -> crate::probe::outcome::AddressOutcome {
    crate::probe::outcome::AddressOutcome {
        ip: ip.parse().unwrap(),
        outcome: o,
    }
}

#[test]
fn every_address_and_retries_exposition() {
    let m = Metrics::new(&[0.5, 3.0]);
    let mut p = plan("svc", "tx", "tokyo", &["get"]);
    // Run once against one address, then reloaded to every address: the
    // steps' series without an address go.
    let mut first = m.transaction(&p);
    first.record(&outcome(
        None,
        vec![step("get", true, [0, 1, 0, 2, 0], false)],
    ));
    drop(first);
    p.addressing.resolve = crate::config::Resolve::All;
    p.retries = 1;
    let mut tx = m.transaction(&p);
    let mut failed = outcome(
        Some(Reason::Status),
        vec![step("get", false, [0, 1, 0, 2, 0], false)],
    );
    failed.retries.push(crate::probe::outcome::Attempt {
        success: true,
        reason: None,
        duration: Duration::from_millis(5),
    });
    let run = |addresses| Outcome {
        addresses,
        ..outcome(None, Vec::new())
    };
    tx.record(&run(vec![
        at(
            "192.0.2.1",
            outcome(None, vec![step("get", true, [0, 1, 0, 2, 0], false)]),
        ),
        at("2001:db8::1", failed.clone()),
    ]));
    let text = render(&m);
    assert!(
        !text.contains("mimamori_step_phase_seconds{location="),
        "{text}"
    );
    assert!(!text.contains("mimamori_probe_success{location="), "{text}");
    insta::assert_snapshot!("two_addresses_one_passed_on_retry", text);

    // 2001:db8::1 is no longer resolved: its series go; the other continues.
    tx.record(&run(vec![at(
        "192.0.2.1",
        outcome(None, vec![step("get", true, [0, 1, 0, 2, 0], false)]),
    )]));
    let text = render(&m);
    assert!(!text.contains("2001:db8::1"), "{text}");
    assert!(text.contains(
        "mimamori_probe_attempts_total{attempt=\"first\",ip=\"192.0.2.1\",location=\"tokyo\",outcome=\"success\",service=\"svc\",transaction=\"tx\"} 2"
    ));

    // Nothing resolves: one failure without an address, no address series.
    tx.record(&outcome(Some(Reason::Dns), Vec::new()));
    let text = render(&m);
    assert!(!text.contains("ip=\""), "{text}");
    assert!(text.contains(
        "mimamori_probe_success{location=\"tokyo\",service=\"svc\",transaction=\"tx\"} 0"
    ));

    // Resolved again: the failure without an address is no longer listed.
    tx.record(&run(vec![at("192.0.2.1", outcome(None, Vec::new()))]));
    let text = render(&m);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("mimamori_probe_success{"))
            .collect::<Vec<_>>(),
        ["mimamori_probe_success{ip=\"192.0.2.1\",location=\"tokyo\",service=\"svc\",transaction=\"tx\"} 1"]
    );

    // A reload to `resolve: first` leaves no address behind.
    p.addressing.resolve = crate::config::Resolve::First;
    drop(tx);
    let _tx = m.transaction(&p);
    assert!(!render(&m).contains("ip=\""));
    m.forget(&p);
    assert!(!render(&m).contains("transaction=\"tx\""));
}

/// Results are withdrawn after `stale_after` (2 intervals + timeout) on the
/// monotonic clock: a transaction whose runs stop (skipped, stuck, a clock
/// that jumped) becomes absent, not a repeated old result.
#[tokio::test(start_paused = true)]
async fn a_result_older_than_two_intervals_and_the_timeout_is_withdrawn() {
    let m = Metrics::new(&[1.0]);
    let mut p = plan("svc", "tx", "tokyo", &["a"]);
    p.interval = Duration::from_secs(30);
    p.timeout = Duration::from_secs(20);
    assert_eq!(stale_after(p.interval, p.timeout), Duration::from_secs(80));
    let mut tx = m.transaction(&p);
    let listed = |m: &Metrics| {
        m.render()
            .lines()
            .any(|l| l.starts_with("mimamori_probe_success{"))
    };
    tx.record(&outcome(
        None,
        vec![step("a", true, [1, 2, 3, 4, 5], false)],
    ));
    assert!(listed(&m));
    // One run skipped: the last result still stands.
    tokio::time::advance(Duration::from_secs(79)).await;
    assert!(listed(&m));
    // Two runs missed and the timeout passed: withdrawn, not repeated.
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(!listed(&m), "{}", m.render());
    assert!(
        !m.render().contains("# TYPE mimamori_probe_success"),
        "an empty family is left out"
    );
    // The next run lists it again.
    tx.record(&outcome(
        Some(Reason::Timeout),
        vec![step("a", false, [1, 2, 3, 4, 5], false)],
    ));
    assert!(m.render().contains(
        "mimamori_probe_success{location=\"tokyo\",service=\"svc\",transaction=\"tx\"} 0\n"
    ));
    // Counters and histograms are never withdrawn.
    tokio::time::advance(Duration::from_secs(3600)).await;
    let text = m.render();
    assert!(!text.contains("mimamori_probe_success{"));
    assert!(text.contains("mimamori_probe_failures_total{"));
}
