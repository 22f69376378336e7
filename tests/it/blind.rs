//! A prober that loses its uplink, live: two `mimamori serve` at two
//! locations probe loopback servers, Debian's Prometheus scrapes them with the
//! rules `mimamori generate` writes. Tokyo's self-check target and its probes'
//! target go away together (its "uplink"): tokyo must turn blind
//! (`mimamori_prober_healthy 0`), its failing results must drop out of
//! `mimamori:location_failing` (unknown, not failure), nothing may page, and
//! `MimamoriProberBlind` must name tokyo. Real time, kept short as in
//! `shard.rs`: probes and self-checks every second, rules every 2 s, `for:` 10 s.

#![allow(
    clippy::disallowed_methods,
    reason = "real processes in real time: how long the alert took is a wall-clock time"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mimamori::promql::{metric, record, Selector};

use crate::common::prometheus::free_port;
use crate::common::stack::{results as query, start_prometheus, switchable_ok_server, Proc};
use crate::common::try_http;
use crate::common::wait_until as wait;

const SERVICE: &str = "shop";

fn start_prober(cfg: &Path, location: &str, target: &str, log: &Path) -> (Proc, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .args(["--web.listen-address", &addr])
        .args(["--location", location])
        .env("TARGET", target)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start mimamori serve");
    (Proc(child), addr)
}

/// `(location, value)` of each series in a query's result.
fn by_location(result: &[serde_json::Value]) -> BTreeSet<(String, String)> {
    result
        .iter()
        .map(|r| {
            (
                r["metric"]["location"].as_str().unwrap_or("").to_string(),
                r["value"][1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_prober_without_uplink_is_unknown_never_failing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let uplink = Arc::new(AtomicBool::new(true));
    let tokyo_net = switchable_ok_server(uplink.clone());
    let osaka_net = switchable_ok_server(Arc::new(AtomicBool::new(true)));
    let cfg = d.join("shop.yaml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{interval: 1s, timeout: 1s, step_timeout: 1s}}\n\
             services:\n  - name: {SERVICE}\n    display_name: {{ja: ショップ, en: Shop}}\n    transactions:\n\
             \x20     - name: home\n        steps:\n          - {{name: get, url: 'http://${{env:TARGET}}/home'}}\n\
             alerting:\n  locations: [tokyo, osaka]\n  job: mimamori\n  runbook_url: https://runbooks.example/{{service}}/{{slo}}\n  grafana_url: https://grafana.example\n\
             self_check:\n  interval: 1s\n  timeout: 500ms\n  targets:\n    - {{name: uplink, url: 'http://{tokyo_net}/generate_204'}}\n  locations:\n    tokyo: [uplink]\n"
        ),
    )
    .unwrap();
    crate::common::stack::generate_fast_rules(&cfg, d, true);
    let (_tokyo, tokyo) = start_prober(&cfg, "tokyo", &tokyo_net, &d.join("tokyo.log"));
    let (_osaka, osaka) = start_prober(&cfg, "osaka", &osaka_net, &d.join("osaka.log"));
    let prom_cfg = d.join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files: ['{}/rules/*.yml']\n\
             scrape_configs:\n  - job_name: mimamori\n    static_configs: [{{targets: ['{tokyo}', '{osaka}']}}]\n",
            d.display(),
        ),
    )
    .unwrap();
    let storage = format!("--storage.tsdb.path={}", d.join("prom").display());
    let (_prometheus, prom) = start_prometheus(d, "prometheus", &prom_cfg, &[&storage]);

    let svc = Selector::service(SERVICE);
    let failing_by_location = svc.of(record::LOCATION_FAILING);
    let pages = Selector::new().eq("severity", "page").of(metric::ALERTS);
    let healthy = |loc: &str| (loc.to_string(), "0".to_string());
    wait(Duration::from_secs(60), "both locations seen up", || {
        let got = by_location(&query(&prom, &failing_by_location));
        // Rules evaluated before the first scrape see no prober up
        // (`MimamoriProbersAbsent` pending): wait until that is over too.
        let paging = query(&prom, &pages);
        if got == BTreeSet::from([healthy("tokyo"), healthy("osaka")]) && paging.is_empty() {
            Ok(())
        } else if !paging.is_empty() {
            Err(format!("still paging from the start: {paging:?}"))
        } else {
            Err(format!("{got:?}"))
        }
    });

    // Tokyo loses its uplink: its probes and its self-check fail together.
    uplink.store(false, Ordering::SeqCst);
    let lost = Instant::now();
    let blind_alert = Selector::new()
        .eq("alertname", "MimamoriProberBlind")
        .eq("alertstate", "firing")
        .of(metric::ALERTS);
    let mut firing = Vec::new();
    wait(Duration::from_secs(60), "the blind ticket firing", || {
        // Nothing pages. (Tokyo may fail alone for up to one self-check
        // interval before it knows it is blind: one location is no quorum.)
        let got = by_location(&query(&prom, &failing_by_location));
        let paging = query(&prom, &pages);
        assert!(paging.is_empty(), "paged: {paging:?}");
        firing = query(&prom, &blind_alert);
        if firing.is_empty() {
            Err(format!("not firing; location_failing {got:?}"))
        } else {
            Ok(())
        }
    });
    eprintln!(
        "blind ticket firing {:?} after the uplink went",
        lost.elapsed()
    );
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0]["metric"]["location"], "tokyo");
    assert_eq!(firing[0]["metric"]["severity"], "ticket");
    // The ticket says since when and for how long (rendered by Prometheus).
    let (_, alerts) = try_http(&prom, "GET", "/api/v1/alerts").unwrap();
    let alerts: serde_json::Value = serde_json::from_str(&alerts).unwrap();
    let ticket = alerts["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "MimamoriProberBlind")
        .unwrap_or_else(|| panic!("{alerts}"));
    let text = ticket["annotations"]["description"].as_str().unwrap();
    let for_how_long =
        regex::Regex::new(r"since \d{4}-\d\d-\d\d [^,]+, for (\d+[dhm] )*\d+(\.\d+)?s \(").unwrap();
    assert!(for_how_long.is_match(text), "{text}");
    assert!(text.contains("拠点 tokyo"), "{text}");
    // Tokyo's results are in Prometheus (failing), yet unknown to the SLI.
    let raw = query(
        &prom,
        &svc.clone()
            .eq("location", "tokyo")
            .of(metric::PROBE_SUCCESS),
    );
    assert_eq!(raw.len(), 1, "{raw:?}");
    assert_eq!(raw[0]["value"][1], "0", "tokyo's probes fail: {raw:?}");
    // For the next evaluations: tokyo is unknown (absent), osaka judges.
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        assert_eq!(
            by_location(&query(&prom, &failing_by_location)),
            BTreeSet::from([healthy("osaka")]),
            "tokyo is unknown (absent), osaka judges"
        );
        assert!(query(&prom, &pages).is_empty());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        query(&prom, &format!("{} == 1", svc.of(record::SERVICE_FAILING))).len(),
        0
    );
    assert!(lost.elapsed() < Duration::from_secs(60));
}
