//! The agent layout of `deploy/remote-write/`, end to end, in real time on
//! loopback: two probe locations, each a `mimamori demo` (its own simulated
//! AOULU services) scraped by its own Prometheus in agent mode, both agents
//! remote-writing to one central Prometheus that evaluates the generated rules
//! and sends to Alertmanager with the generated routing; a webhook stands in
//! for the pager and the ticket system.
//!
//! The agents run `deploy/remote-write/agent.yml` and the central Prometheus
//! `deploy/remote-write/central.yml`, changed only where a test must: addresses,
//! a 5 s scrape (as `tests/e2e.rs`), tickets routed at any hour, and, so that
//! the dead-agent half fits in minutes, a 30 s lookback on the central
//! Prometheus and `for: 30s` on `MimamoriLocationNotReporting` instead of
//! Prometheus' 5 min and the rules' 10 min (the lookback changes nothing else:
//! samples arrive every 5 s, and a rule reads recordings made every 15 s or
//! earlier in its own group). It prints what the measured time means with
//! the real ones (about 15 minutes: deploy/remote-write/README.md).
//!
//! Needs `prometheus` and `prometheus-alertmanager` (scripts/test.sh installs them).

#![allow(
    clippy::disallowed_methods,
    reason = "a real-time test: the times to data and to a page are wall-clock times"
)]

#[path = "it/common/mod.rs"]
mod common;
use common::stack::{
    alertmanager_config, alerts, fault, pages_for, query, start_alertmanager, start_prometheus,
    webhook, Proc, Tickets,
};
use common::{try_http, wait_until as wait};
use serde_yaml::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// The shortened lookback and `for:` of the dead-agent half (see the module comment).
const SHORT: &str = "30s";
/// Prometheus' default lookback and the rules' `for:` of `MimamoriLocationNotReporting`.
const REAL_LOOKBACK_S: u64 = 300;
const REAL_FOR_S: u64 = 600;

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `deploy/remote-write/agent.yml` for one location: its prober, its location
/// label and the central Prometheus' address; a 5 s scrape.
fn agent_config(dir: &Path, location: &str, prober: &str, central: &str) -> std::path::PathBuf {
    let mut c = yaml("deploy/remote-write/agent.yml");
    c["global"]["scrape_interval"] = "5s".into();
    c["global"]["external_labels"]["location"] = location.into();
    let job = &mut c["scrape_configs"][0];
    assert_eq!(job["job_name"], "mimamori");
    job["static_configs"][0]["targets"] = Value::Sequence(vec![prober.into()]);
    c["remote_write"][0]["url"] = format!("http://{central}/api/v1/write").into();
    let path = dir.join(format!("agent-{location}.yml"));
    std::fs::write(&path, serde_yaml::to_string(&c).unwrap()).unwrap();
    path
}

/// The generated rules with `for:` of `MimamoriLocationNotReporting` set to
/// [`SHORT`], every other rule unchanged.
fn rules_with_short_not_reporting(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("central-rules");
    std::fs::create_dir(&out).unwrap();
    let mut changed = 0;
    for e in std::fs::read_dir("rules").unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let mut r = yaml(p.to_str().unwrap());
        for g in r["groups"].as_sequence_mut().unwrap() {
            for rule in g["rules"].as_sequence_mut().unwrap() {
                if rule["alert"] == "MimamoriLocationNotReporting" {
                    assert_eq!(rule["for"], "10m", "{rule:?}");
                    rule["for"] = SHORT.into();
                    changed += 1;
                }
            }
        }
        std::fs::write(
            out.join(p.file_name().unwrap()),
            serde_yaml::to_string(&r).unwrap(),
        )
        .unwrap();
    }
    assert_eq!(changed, 4, "two services × two locations");
    out
}

/// `deploy/remote-write/central.yml` with the test's rules and Alertmanager.
fn central_config(dir: &Path, rules: &Path, am: &str) -> std::path::PathBuf {
    let mut c = yaml("deploy/remote-write/central.yml");
    c["rule_files"] = Value::Sequence(vec![format!("{}/*.yml", rules.display()).into()]);
    c["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] =
        Value::Sequence(vec![am.into()]);
    let path = dir.join("central.yml");
    std::fs::write(&path, serde_yaml::to_string(&c).unwrap()).unwrap();
    path
}

/// The numeric value of a one-element instant-query result, if there is one.
fn value(prom: &str, q: &str) -> Option<f64> {
    query(prom, q)["data"]["result"][0]["value"][1]
        .as_str()?
        .parse()
        .ok()
}

/// Lines of Prometheus' own `/metrics` naming `metric`: `(labels, value)`.
fn own_metric(prom: &str, metric: &str) -> Vec<(String, f64)> {
    let (_, body) = try_http(prom, "GET", "/metrics").unwrap_or_default();
    body.lines()
        .filter(|l| l.starts_with(metric) && !l.starts_with('#'))
        .filter_map(|l| {
            let (name, v) = l.rsplit_once(' ')?;
            Some((name[metric.len()..].to_string(), v.parse().ok()?))
        })
        .collect()
}

#[test]
fn agents_forward_pages_and_a_dead_agent_is_a_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (hook, inbox) = webhook();
    let mut procs: Vec<Proc> = Vec::new();

    let (am, am_addr) = start_alertmanager(d, &alertmanager_config(d, &hook, Tickets::AnyHour));
    procs.push(am);
    let rules = rules_with_short_not_reporting(d);
    let tsdb = format!("--storage.tsdb.path={}", d.join("central").display());
    let lookback = format!("--query.lookback-delta={SHORT}");
    let (central_proc, central) = start_prometheus(
        d,
        "central",
        &central_config(d, &rules, &am_addr),
        &["--web.enable-remote-write-receiver", &tsdb, &lookback],
    );
    procs.push(central_proc);
    wait(
        Duration::from_secs(60),
        "central Prometheus and Alertmanager ready",
        || {
            try_http(&central, "GET", "/-/ready").unwrap_or_default().0 == 200
                && try_http(&am_addr, "GET", "/-/ready").unwrap_or_default().0 == 200
        },
    );

    // Two locations: a prober (the demo, with its own simulated services) and
    // an agent each. The demos run without their browser transactions: the
    // waits below count one `mimamori_probe_success` series per transaction
    // and location, 2 × 2 for the HTTP ones (8 with `order-ui` and `inbox-ui`).
    let locations = ["tokyo-a", "osaka-b"];
    let demos: Vec<common::Demo> = locations
        .iter()
        .map(|l| common::start_demo(&["--location", l, "--no-browser"]))
        .collect();
    let mut agents: Vec<Proc> = Vec::new();
    for (l, demo) in locations.iter().zip(&demos) {
        let cfg = agent_config(d, l, &demo.addr, &central);
        let wal = format!(
            "--storage.agent.path={}",
            d.join(format!("wal-{l}")).display()
        );
        let (agent, _) = start_prometheus(
            d,
            &format!("agent-{l}"),
            &cfg,
            &["--enable-feature=agent", &wal],
        );
        agents.push(agent);
    }

    // Both locations' results reach the central Prometheus through the agents:
    // two services from each location, all succeeding.
    let agents_started = Instant::now();
    wait(
        Duration::from_secs(120),
        "both locations' probe results at the central Prometheus",
        || {
            value(
                &central,
                "count(count by (location) (mimamori_probe_success))",
            ) == Some(2.0)
                && value(&central, "sum(mimamori_probe_success)") == Some(4.0)
        },
    );
    let to_data = agents_started.elapsed();
    eprintln!(
        "agents started → both locations at the central Prometheus: {:.1} s",
        to_data.as_secs_f64()
    );
    let appended = |p: &str| {
        own_metric(
            p,
            "prometheus_tsdb_head_samples_appended_total{type=\"float\"}",
        )[0]
        .1
    };
    let (samples0, samples_t0) = (appended(&central), Instant::now());
    // The probers' own labels arrive unrenamed; `up` carries the agent's location.
    let renamed = query(&central, "count({exported_location!=\"\"})");
    assert_eq!(
        renamed["data"]["result"],
        serde_json::json!([]),
        "{renamed}"
    );
    for l in locations {
        assert_eq!(
            value(
                &central,
                &format!("count(up{{job=\"mimamori\",location=\"{l}\"}} == 1)")
            ),
            Some(1.0),
            "up of {l}'s prober, labelled with the agent's location"
        );
    }

    // One location failing alone is not an outage (quorum 2 of 2).
    fault(&demos[0].addr, "denshibin", "down", 900);
    wait(
        Duration::from_secs(90),
        "tokyo-a failing at the central Prometheus",
        || {
            value(
                &central,
                "mimamori:location_failing{service=\"denshibin\",location=\"tokyo-a\"}",
            ) == Some(1.0)
        },
    );
    let alone_until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < alone_until {
        assert_eq!(
            value(&central, "mimamori:service_failing{service=\"denshibin\"}"),
            Some(0.0),
            "one location alone made the service fail"
        );
        std::thread::sleep(Duration::from_secs(2));
    }

    // The same fault in the second location: the quorum sees it, and on-call is
    // paged through the agent path.
    let fault_at = Instant::now();
    fault(&demos[1].addr, "denshibin", "down", 900);
    wait(Duration::from_secs(180), "a page for denshibin", || {
        !pages_for(&inbox, "denshibin", "firing").is_empty()
    });
    let page = pages_for(&inbox, "denshibin", "firing").remove(0);
    let to_page = page.at - fault_at;
    eprintln!(
        "fault in both locations → page via the agents: {:.1} s",
        to_page.as_secs_f64()
    );
    assert_eq!(page.receiver, "/page", "{page:?}");
    assert_eq!(page.labels["slo"], "availability", "{page:?}");
    let outage_pages = [
        "MimamoriAvailabilityFastBurn",
        "MimamoriAvailabilitySlowBurn",
    ];
    assert!(
        outage_pages.contains(&page.labels["alertname"].as_str().unwrap()),
        "{page:?}"
    );

    // Recovery, then one agent dies (SIGKILL: nothing is flushed, no
    // staleness marker is sent, as when its machine goes away).
    for demo in &demos {
        fault(&demo.addr, "denshibin", "ok", 1);
    }
    wait(
        Duration::from_secs(90),
        "both locations succeeding again",
        || value(&central, "sum(mimamori_probe_success)") == Some(4.0),
    );
    // Cost at the central Prometheus (for BENCHMARKS.md), both locations reporting.
    let series = query(&central, "count by (location) ({location!=\"\"})");
    eprintln!(
        "series at the central Prometheus by location: {}",
        series["data"]["result"]
    );
    let both_rate = (appended(&central) - samples0) / samples_t0.elapsed().as_secs_f64();
    let mut evals: Vec<Vec<(String, f64)>> = Vec::new();

    let killed_at = Instant::now();
    agents[1].kill();
    let ticket = |inbox: &_| {
        alerts(inbox).into_iter().find(|a| {
            a.status == "firing"
                && a.labels["alertname"] == "MimamoriLocationNotReporting"
                && a.labels["location"] == "osaka-b"
        })
    };
    // Until the ticket arrives, and 20 s after: no page but the outage's own.
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut ticket_at = None;
    loop {
        let unexpected: Vec<_> = alerts(&inbox)
            .into_iter()
            .filter(|a| a.at >= killed_at && a.status == "firing" && a.labels["severity"] == "page")
            .filter(|a| {
                a.labels["service"] != "denshibin"
                    || !outage_pages.contains(&a.labels["alertname"].as_str().unwrap_or(""))
            })
            .collect();
        assert!(unexpected.is_empty(), "a dead agent paged: {unexpected:?}");
        // One sample per 5 s: the short groups run every 15 s, the long ones every minute.
        if killed_at.elapsed() >= Duration::from_secs(5 * evals.len() as u64) {
            evals.push(own_metric(
                &central,
                "prometheus_rule_group_last_duration_seconds",
            ));
        }
        if ticket_at.is_none() {
            ticket_at = ticket(&inbox).map(|t| t.at);
        }
        match ticket_at {
            Some(at) if at.elapsed() >= Duration::from_secs(20) => break,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "no MimamoriLocationNotReporting ticket for osaka-b within 240 s; alerts: {:?}",
            query(&central, "ALERTS")
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let t = ticket(&inbox).unwrap();
    let to_ticket = t.at - killed_at;
    assert_eq!(t.receiver, "/ticket", "{t:?}");
    assert_eq!(t.labels["severity"], "ticket", "{t:?}");
    assert!(
        !alerts(&inbox)
            .iter()
            .any(|a| a.labels["alertname"] == "MimamoriLocationNotReporting"
                && a.labels["location"] == "tokyo-a"),
        "the live location was reported as silent"
    );
    // The central Prometheus agrees: no page-severity alert but the outage's.
    let firing = query(&central, "ALERTS{alertstate=\"firing\",severity=\"page\"}");
    for a in firing["data"]["result"].as_array().unwrap() {
        let m = &a["metric"];
        assert!(
            m["service"] == "denshibin"
                && outage_pages.contains(&m["alertname"].as_str().unwrap_or("")),
            "page-severity alert firing after the agent died: {m}"
        );
    }
    // What it means with the real lookback (5 min) and `for:` (10 min): the
    // measured time less the shortened ones, plus the real ones.
    let short = 2 * 30;
    eprintln!(
        "agent killed → MimamoriLocationNotReporting ticket: {:.1} s (lookback {SHORT} + for {SHORT}); \
         with the defaults (5 min lookback, 10 min for) about {:.1} min",
        to_ticket.as_secs_f64(),
        (to_ticket.as_secs_f64() - short as f64 + (REAL_LOOKBACK_S + REAL_FOR_S) as f64) / 60.0
    );

    // Rule evaluation: the median of the last evaluation's duration per group.
    let mut groups: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for sample in evals {
        for (labels, v) in sample {
            let name = labels
                .rsplit(';')
                .next()
                .unwrap_or("")
                .trim_end_matches("\"}");
            groups.entry(name.to_string()).or_default().push(v);
        }
    }
    for (group, mut v) in groups {
        v.sort_by(f64::total_cmp);
        eprintln!(
            "rule group {group}: median last evaluation {:.2} ms (max {:.2} ms, {} samples)",
            v[v.len() / 2] * 1000.0,
            v[v.len() - 1] * 1000.0,
            v.len()
        );
    }
    eprintln!(
        "samples appended at the central Prometheus, both locations reporting (5 s scrapes, rules included): {both_rate:.1}/s"
    );
    drop(agents);
    drop(demos);
    drop(procs);
}
