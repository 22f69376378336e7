//! The real binary: `mimamori demo` on a real listener, scraped over HTTP,
//! its output judged by the real `promtool check metrics`.

use std::time::Duration;

use crate::common::{http, promtool_check_metrics, start_demo, wait_until};

fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Polls /metrics until `pred` holds (bounded).
fn wait_for(addr: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
    wait_until(Duration::from_secs(20), what, || {
        let (_, m) = http(addr, "GET", "/metrics");
        if pred(&m) {
            Ok(m)
        } else {
            Err(m)
        }
    })
}

const HANBAI_OK: &str =
    "mimamori_probe_success{location=\"tokyo-a\",service=\"hanbai\",transaction=\"order-lookup\"}";
const DENSHIBIN_OK: &str = "mimamori_probe_success{location=\"tokyo-a\",service=\"denshibin\",transaction=\"receive-document\"}";

#[test]
fn demo_probes_simulated_services_and_faults_show_up() {
    let demo = start_demo(&["--interval", "1s"]);
    let a = demo.addr.as_str();
    assert_eq!(http(a, "GET", "/-/healthy").0, 200);
    assert_eq!(http(a, "GET", "/-/ready").0, 200);
    let m = wait_for(a, "both services up", |m| {
        value(m, HANBAI_OK) == Some(1.0) && value(m, DENSHIBIN_OK) == Some(1.0)
    });
    // Every operation of the shipped transactions was measured, with a bucket at 3 s.
    for step in [
        "login",
        "search-orders",
        "open-order",
        "list-documents",
        "download-document",
    ] {
        assert!(
            m.contains(&format!("step=\"{step}\"")),
            "missing step {step}"
        );
    }
    assert!(m.contains("le=\"3\""));

    let (code, body) = http(
        a,
        "POST",
        "/demo/fault?service=denshibin&mode=down&seconds=30",
    );
    assert_eq!(code, 200, "{body}");
    let m = wait_for(a, "denshibin down", |m| value(m, DENSHIBIN_OK) == Some(0.0));
    assert!(value(&m, "mimamori_probe_failures_total{location=\"tokyo-a\",reason=\"status\",service=\"denshibin\"").unwrap() >= 1.0);
    assert_eq!(
        value(&m, HANBAI_OK),
        Some(1.0),
        "a fault in one service must not touch the other"
    );

    http(
        a,
        "POST",
        "/demo/fault?service=denshibin&mode=refuse&seconds=30",
    );
    wait_for(a, "connection refused", |m| {
        value(m, "mimamori_probe_failures_total{location=\"tokyo-a\",reason=\"connect\",service=\"denshibin\"").unwrap_or(0.0) >= 1.0
    });
    http(a, "POST", "/demo/fault?service=denshibin&mode=ok&seconds=1");
    wait_for(a, "denshibin recovered", |m| {
        value(m, DENSHIBIN_OK) == Some(1.0)
    });

    assert_eq!(http(a, "POST", "/demo/fault?service=nope&mode=down").0, 400);
    assert_eq!(
        http(a, "POST", "/demo/fault?service=hanbai&mode=explode").0,
        400
    );
    assert_eq!(http(a, "GET", "/probe?target=http://127.0.0.1:22/").0, 404);
}

#[test]
fn metrics_pass_promtool_check_metrics() {
    let demo = start_demo(&["--interval", "1s", "--maintenance", "hanbai"]);
    let m = wait_for(&demo.addr, "first runs", |m| {
        value(m, HANBAI_OK).is_some() && value(m, DENSHIBIN_OK).is_some()
    });
    assert_eq!(
        value(
            &m,
            "mimamori_maintenance_active{location=\"tokyo-a\",service=\"hanbai\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "mimamori_maintenance_active{location=\"tokyo-a\",service=\"denshibin\"}"
        ),
        Some(0.0)
    );
    let (ok, report) = promtool_check_metrics(&m);
    assert!(
        ok && report.trim().is_empty(),
        "promtool check metrics:\n{report}"
    );
}
