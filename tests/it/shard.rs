//! Sharded probers, live: three `mimamori serve --shard i/3` of one location
//! probe a loopback server, Debian's Prometheus scrapes them with the rules
//! `mimamori generate` writes for that configuration, and one shard is killed.
//! Nothing may page (pending or firing), nothing may count as failure time,
//! and the blind-transactions ticket must name exactly the dead shard's
//! transactions.
//!
//! Real time, kept short: probes every second, scrapes every second, the
//! rule groups evaluated every 2 s instead of 15 s and every `for:` cut to
//! 10 s (a stricter test of "never pages": a page expression true for 10 s
//! would fire).

#![allow(
    clippy::disallowed_methods,
    reason = "real processes in real time: how long the alert took is a wall-clock time"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mimamori::config::Shard;
use mimamori::promql::{metric, record, Selector};

use crate::common::prometheus::free_port;
use crate::common::stack::{results as query, start_prometheus, Proc};
use crate::common::wait_until as wait;
use crate::common::{promtool_check_metrics, try_http};

const SERVICE: &str = "shop";
const LOCATION: &str = "loopback";
const SHARDS: u32 = 3;

/// A running prober (killed when dropped, also when an assertion fails) and its address.
struct Prober {
    _proc: Proc,
    addr: String,
}

/// A loopback HTTP server answering `200 ok` to everything.
fn ok_server() -> String {
    crate::common::stack::switchable_ok_server(std::sync::Arc::new(true.into()))
}

fn config(target: &str, transactions: &[String]) -> String {
    let mut c = format!(
        "global: {{location: {LOCATION}, interval: 1s, timeout: 1s, step_timeout: 1s}}\n\
         services:\n  - name: {SERVICE}\n    display_name: {{ja: ショップ, en: Shop}}\n    transactions:\n"
    );
    for t in transactions {
        c.push_str(&format!(
            "      - name: {t}\n        steps:\n          - {{name: get, url: 'http://{target}/{t}'}}\n"
        ));
    }
    c.push_str(&format!(
        "alerting:\n  locations: [{LOCATION}]\n  job: mimamori\n  runbook_url: https://runbooks.example/{{service}}/{{slo}}\n  grafana_url: https://grafana.example\n"
    ));
    c
}

fn start_prober(cfg: &Path, shard: u32, log: &Path) -> Prober {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .args(["--web.listen-address", &addr])
        .args(["--shard", &format!("{shard}/{SHARDS}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start mimamori serve");
    Prober {
        _proc: Proc(child),
        addr,
    }
}

/// The values of `label` in a query's result.
fn labels(result: &[serde_json::Value], label: &str) -> BTreeSet<String> {
    result
        .iter()
        .filter_map(|r| r["metric"][label].as_str().map(String::from))
        .collect()
}

/// The one query of a generated dashboard that reads `metric`.
fn dashboard_expr(path: &Path, metric: &str) -> String {
    fn walk(v: &serde_json::Value, metric: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(e) = m.get("expr").and_then(|e| e.as_str()) {
                    if e.contains(metric) {
                        out.push(e.to_string());
                    }
                }
                m.values().for_each(|x| walk(x, metric, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, metric, out)),
            _ => {}
        }
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut found = Vec::new();
    walk(&v, metric, &mut found);
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

#[test]
fn a_dead_shard_is_blind_never_an_outage() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let transactions: Vec<String> = (0..9).map(|i| format!("tx-{i}")).collect();
    let owned = |i: u32| -> BTreeSet<String> {
        let shard = Shard::new(i, SHARDS).unwrap();
        transactions
            .iter()
            .filter(|t| shard.runs(SERVICE, t))
            .cloned()
            .collect()
    };
    for i in 0..SHARDS {
        assert!(
            !owned(i).is_empty(),
            "shard {i} runs nothing: pick other names"
        );
    }
    let cfg = d.join("shop.yaml");
    std::fs::write(&cfg, config(&ok_server(), &transactions)).unwrap();

    // The generated rules, with faster groups and `for:` as said above.
    crate::common::stack::generate_fast_rules(&cfg, d, true);

    let mut probers: Vec<Option<Prober>> = (0..SHARDS)
        .map(|i| Some(start_prober(&cfg, i, &d.join(format!("shard-{i}.log")))))
        .collect();
    let addrs: Vec<String> = probers
        .iter()
        .map(|p| p.as_ref().unwrap().addr.clone())
        .collect();

    // Each shard runs exactly its transactions and says which shard it is.
    for (i, addr) in addrs.iter().enumerate() {
        let mut body = String::new();
        wait(
            Duration::from_secs(20),
            &format!("shard {i} serves results"),
            || {
                body = match try_http(addr, "GET", "/metrics") {
                    Ok((200, b)) => b,
                    other => return Err(format!("{other:?}")),
                };
                let runs = body
                    .lines()
                    .filter(|l| l.starts_with(metric::PROBE_SUCCESS))
                    .count();
                if runs == owned(i as u32).len() {
                    Ok(())
                } else {
                    Err(format!("{runs} results"))
                }
            },
        );
        assert!(
            body.contains(&format!(
                "{}{{count=\"{SHARDS}\",index=\"{i}\"}} 1",
                metric::SHARD_INFO
            )),
            "{body}"
        );
        for t in &transactions {
            let here = body.contains(&format!("transaction=\"{t}\""));
            assert_eq!(here, owned(i as u32).contains(t), "shard {i}, {t}");
        }
        if i == 0 {
            let (ok, report) = promtool_check_metrics(&body);
            assert!(ok, "promtool check metrics: {report}");
        }
    }

    let prom_cfg = d.join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files: ['{}/rules/*.yml']\n\
             scrape_configs:\n  - job_name: mimamori\n    static_configs: [{{targets: [{}]}}]\n",
            d.display(),
            addrs
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .unwrap();
    let storage = format!("--storage.tsdb.path={}", d.join("prom").display());
    let (_prometheus, prom) = start_prometheus(d, "prometheus", &prom_cfg, &[&storage]);

    let svc = Selector::service(SERVICE);
    let pages = Selector::new().eq("severity", "page").of(metric::ALERTS);
    // Warm: every transaction recorded with its prober, nothing paging (the
    // blind-service page is pending until the first results arrive).
    let warming = Instant::now();
    wait(
        Duration::from_secs(60),
        "all shards scraped and recorded",
        || {
            let who = query(&prom, &svc.of(record::TRANSACTION_PROBER));
            let n = labels(&who, "transaction").len();
            let paging = query(&prom, &pages);
            if n == transactions.len() && paging.is_empty() {
                Ok(())
            } else {
                Err(format!("{n} transactions recorded; paging: {paging:?}"))
            }
        },
    );
    eprintln!(
        "warm after {:?} ({:?} since start)",
        warming.elapsed(),
        t0.elapsed()
    );
    assert_eq!(query(&prom, metric::SHARD_INFO).len(), SHARDS as usize);
    // The probers dashboard's version-and-shard table, as Grafana would ask.
    let shard_table = dashboard_expr(
        &d.join("dashboards/mimamori-probers.json"),
        metric::SHARD_INFO,
    );
    let rows = query(&prom, &shard_table);
    assert_eq!(
        labels(&rows, "index"),
        (0..SHARDS).map(|i| i.to_string()).collect()
    );
    assert_eq!(labels(&rows, "count"), BTreeSet::from([SHARDS.to_string()]));
    assert_eq!(labels(&rows, "instance"), addrs.iter().cloned().collect());

    // Kill shard 1.
    let dead = 1u32;
    let dead_addr = addrs[dead as usize].clone();
    drop(probers[dead as usize].take());
    let killed = Instant::now();

    let blind_alert = Selector::new()
        .eq("alertname", "MimamoriTransactionsBlind")
        .eq("alertstate", "firing")
        .of(metric::ALERTS);
    let mut last_blind = Vec::new();
    wait(Duration::from_secs(60), "the blind ticket firing", || {
        // Never a page, at any moment after the kill.
        let paging = query(&prom, &pages);
        assert!(paging.is_empty(), "paged: {paging:?}");
        last_blind = query(&prom, &blind_alert);
        if last_blind.is_empty() {
            Err("not firing")
        } else {
            Ok(())
        }
    });
    eprintln!("blind ticket firing {:?} after the kill", killed.elapsed());
    // It names exactly the dead shard's transactions, at this location, from that instance.
    assert_eq!(labels(&last_blind, "transaction"), owned(dead));
    assert_eq!(
        labels(&last_blind, "location"),
        BTreeSet::from([LOCATION.to_string()])
    );
    assert_eq!(
        labels(&last_blind, "instance"),
        BTreeSet::from([dead_addr.clone()])
    );
    assert_eq!(
        labels(&last_blind, "severity"),
        BTreeSet::from(["ticket".to_string()])
    );

    // Some more evaluations: still no page, no failure time, the service and
    // the location still seen, the ticket still naming the same transactions.
    std::thread::sleep(Duration::from_secs(6));
    assert!(query(&prom, &pages).is_empty());
    for q in [
        svc.of(record::SERVICE_FAILING),
        svc.of(record::LOCATION_FAILING),
        svc.of(&record::failure_seconds("5m")),
    ] {
        let r = query(&prom, &q);
        assert!(!r.is_empty(), "{q} has no value");
        for s in &r {
            assert_eq!(s["value"][1], "0", "{q}: {r:?}");
        }
    }
    assert_eq!(
        labels(&query(&prom, &blind_alert), "transaction"),
        owned(dead)
    );
    let down = query(&prom, &Selector::new().eq("job", "mimamori").of(metric::UP));
    let down: BTreeSet<String> = down
        .iter()
        .filter(|s| s["value"][1] == "0")
        .filter_map(|s| s["metric"]["instance"].as_str().map(String::from))
        .collect();
    assert_eq!(down, BTreeSet::from([dead_addr]));
    eprintln!(
        "done {:?} after the kill, {:?} in all",
        killed.elapsed(),
        t0.elapsed()
    );
}
