//! The product, end to end, in real time: `mimamori demo` probing simulated
//! AOULU services, Debian's Prometheus scraping it with the generated rules
//! (unchanged), Debian's Alertmanager with the generated routing, and a local
//! webhook standing in for the pager. What an on-call engineer experiences.
//! The outage scenarios run the demo's HTTP transactions only; the third
//! (`a_ui_only_fault_pages_on_call`) adds its browser transactions (headless
//! Chromium) and breaks only the web UI.
//!
//! Needs `prometheus` and `prometheus-alertmanager` (scripts/test.sh installs
//! them). Takes a few minutes: alerts are evaluated in real time. The two
//! tests are independent scenarios, each on its own stack (own ports, own
//! Prometheus and Alertmanager), so the test harness runs them side by side
//! and the file takes as long as the longer one (the outage, whose page can
//! only resolve once the 5-minute burn window has no failure left).

#![allow(
    clippy::disallowed_methods,
    reason = "a real-time test: fault → page and recovery → resolved are wall-clock times"
)]

use std::io::{BufRead, BufReader};

#[path = "it/common/mod.rs"]
mod common;
use common::stack::{
    alertmanager_config, alerts, fault, pages_for, query, start_alertmanager, start_prometheus,
    webhook, Inbox, Proc, Tickets,
};
use common::{http, try_http, wait_until as wait};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Stack {
    _demo: common::Demo,
    _procs: Vec<Proc>,
    demo: String,
    prometheus: String,
    /// `mimamori status` reading that Prometheus (empty without one).
    status: String,
    inbox: Inbox,
    _dir: tempfile::TempDir,
    /// `mimamori status`'s log (debug level), shown when a wait for the page times out.
    status_log: std::path::PathBuf,
}

/// Whether [`start_stack`] also starts the public status page.
#[derive(PartialEq)]
enum StatusPage {
    With,
    Without,
}

/// Whether the demo runs its browser transactions (headless Chromium) besides the HTTP ones.
#[derive(PartialEq)]
enum Browser {
    With,
    Without,
}

/// The whole stack on free loopback ports, hanbai inside an announced maintenance window.
fn start_stack(status_page: StatusPage, browser: Browser) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (hook, inbox) = webhook();
    let mut procs = Vec::new();

    // The demo, with hanbai inside an announced maintenance window.
    let mut demo_args = vec!["--maintenance", "hanbai"];
    if browser == Browser::Without {
        // The HTTP scenarios as they were: one transaction per service.
        demo_args.push("--no-browser");
    }
    let demo = common::start_demo(&demo_args);
    let demo_addr = demo.addr.clone();

    let (am, am_addr) =
        start_alertmanager(d, &alertmanager_config(d, &hook, Tickets::SupportHours));
    procs.push(am);

    // The generated rules, unchanged; only scrape and evaluation are faster.
    let rules = std::fs::canonicalize("rules").unwrap();
    let prom_cfg = d.join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        format!(
            "global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\nrule_files: ['{}/*.yml']\nalerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['{am_addr}']}}]\n\
             scrape_configs:\n  - job_name: mimamori\n    static_configs: [{{targets: ['{demo_addr}']}}]\n",
            rules.display()
        ),
    )
    .unwrap();
    let tsdb = format!("--storage.tsdb.path={}", d.join("prom").display());
    let (prom, prometheus) = start_prometheus(d, "prometheus", &prom_cfg, &[&tsdb]);
    procs.push(prom);
    wait(
        Duration::from_secs(60),
        "prometheus and alertmanager ready",
        || {
            try_http(&prometheus, "GET", "/-/ready")
                .unwrap_or_default()
                .0
                == 200
                && try_http(&am_addr, "GET", "/-/ready").unwrap_or_default().0 == 200
        },
    );
    let mut stack = Stack {
        _demo: demo,
        _procs: procs,
        demo: demo_addr,
        prometheus,
        status: String::new(),
        inbox,
        status_log: d.join("status.log"),
        _dir: dir,
    };
    if status_page == StatusPage::Without {
        return stack;
    }
    // The public status page, refreshing every 5 s.
    let mut status = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["status", "--config", "deploy/aoulu.yaml", "--refresh", "5s"])
        .args(["--prometheus.url", &format!("http://{}", stack.prometheus)])
        .args(["--web.listen-address", "127.0.0.1:0"])
        .args(["--log.level", "mimamori=debug"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stack.status_log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(status.stdout.take().unwrap()).lines();
    let line = lines.next().expect("status printed its address").unwrap();
    stack.status = line
        .trim()
        .trim_start_matches("status page on http://")
        .trim_end_matches('/')
        .to_string();
    std::thread::spawn(move || lines.for_each(drop));
    stack._procs.push(Proc(status));
    stack
}

/// Waits until Prometheus has scraped both services succeeding.
fn wait_both_up(s: &Stack) {
    wait(
        Duration::from_secs(90),
        "both services scraped as up",
        || {
            query(&s.prometheus, "sum(mimamori_probe_success)")["data"]["result"][0]["value"][1]
                == "2"
        },
    );
}

/// No page-severity notification has arrived.
fn assert_no_page(s: &Stack, context: &str) {
    let pages: Vec<_> = alerts(&s.inbox)
        .into_iter()
        .filter(|a| a.status == "firing" && a.labels["severity"] == "page")
        .collect();
    assert!(pages.is_empty(), "{context}: {pages:?}");
}

/// [`wait`] for denshibin's state on the status page; on timeout, says what the
/// page showed last and what `mimamori status` logged.
fn wait_status(
    s: &Stack,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&str, &Option<serde_json::Value>) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let (state, ongoing) = denshibin_status(&s.status);
        if done(&state, &ongoing) {
            return start.elapsed();
        }
        if start.elapsed() >= limit {
            let log = std::fs::read_to_string(&s.status_log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let (_, json) = try_http(&s.status, "GET", "/api/v1/status.json").unwrap_or_default();
            panic!(
                "timed out after {limit:?} waiting for: {what}\nlast state {state:?}, ongoing {ongoing:?}\n\
                 status.json: {}\nstatus log (newest first):\n{}",
                json.chars().take(3000).collect::<String>(),
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// denshibin on the status page: its state and its ongoing incident, if any.
fn denshibin_status(status: &str) -> (String, Option<serde_json::Value>) {
    let (_, body) = try_http(status, "GET", "/api/v1/status.json").unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let Some(s) = v["services"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["service"] == "denshibin"))
    else {
        return (String::new(), None);
    };
    let ongoing = s["incidents"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["ongoing"] == true).cloned());
    (s["state"].as_str().unwrap_or("").to_string(), ongoing)
}

#[test]
fn maintenance_and_a_blip_do_not_page() {
    let s = start_stack(StatusPage::Without, Browser::Without);
    // Healthy: both services succeed and nothing pages.
    wait_both_up(&s);

    // An outage of hanbai inside its announced maintenance window, and a
    // single failed probe of denshibin: neither may page. A page would come
    // within a probe interval, a scrape, a rule evaluation and Alertmanager's
    // group_wait of the failing probe (under a minute; the fast burn has no
    // `for:`): 150 s is that with a wide margin.
    fault(&s.demo, "hanbai", "down", 600);
    fault(&s.demo, "denshibin", "down", 8);
    let quiet_until = Instant::now() + Duration::from_secs(150);
    while Instant::now() < quiet_until {
        assert_no_page(&s, "paged while only maintenance and a blip happened");
        std::thread::sleep(Duration::from_secs(2));
    }
    let failures = query(
        &s.prometheus,
        "sum(mimamori_probe_failures_total{service=\"denshibin\"})",
    );
    assert_ne!(
        failures["data"]["result"][0]["value"][1], "0",
        "the blip never registered: {failures}"
    );
    let down = query(
        &s.prometheus,
        "sum(mimamori_probe_failures_total{service=\"hanbai\"})",
    );
    assert_ne!(
        down["data"]["result"][0]["value"][1], "0",
        "hanbai's outage never registered: {down}"
    );
}

#[test]
fn on_call_is_paged_for_real_outages_only() {
    let s = start_stack(StatusPage::With, Browser::Without);
    wait_both_up(&s);
    // hanbai is down inside its announced maintenance window for the whole
    // test: it must never page, while denshibin's real outage does.
    fault(&s.demo, "hanbai", "down", 900);

    // A real outage of denshibin pages within 3 minutes, with every annotation filled in.
    let fault_at = Instant::now();
    fault(&s.demo, "denshibin", "down", 900);
    // The status page posts it by itself, well inside the seed's hour (goal: 2 minutes).
    let to_posted = wait_status(
        &s,
        Duration::from_secs(120),
        "denshibin's outage on the status page",
        |state, ongoing| state == "outage" && ongoing.is_some(),
    );
    eprintln!(
        "fault → incident on the status page: {:.1} s",
        to_posted.as_secs_f64()
    );
    let (_, page) = http(&s.status, "GET", "/");
    assert!(page.contains("障害発生中"), "the ja page shows the outage");
    wait(Duration::from_secs(180), "a page for denshibin", || {
        !pages_for(&s.inbox, "denshibin", "firing").is_empty()
    });
    let page = pages_for(&s.inbox, "denshibin", "firing").remove(0);
    let (labels, annotations) = (page.labels, page.annotations);
    let to_page = page.at - fault_at;
    eprintln!("fault → page: {:.1} s", to_page.as_secs_f64());
    assert_eq!(labels["slo"], "availability", "{labels}");
    for (k, v) in annotations.as_object().unwrap() {
        let v = v.as_str().unwrap_or("");
        assert!(
            !v.trim().is_empty() && !v.contains("<no value>") && !v.contains("{{"),
            "annotation {k} is empty or unrendered: {v:?}"
        );
    }
    assert!(
        pages_for(&s.inbox, "hanbai", "firing").is_empty(),
        "hanbai is in maintenance and must not page"
    );
    assert!(
        pages_for(&s.inbox, "denshibin", "firing")
            .iter()
            .all(|p| p.at >= fault_at),
        "paged for denshibin before its outage"
    );

    // The generated dashboards against this real stack: every panel,
    // annotation and variable query runs, and the core panels have data.
    // The budget panels sample whole minutes (`[1h:1m]`): on a stack younger
    // than the first whole minute after its rules began they are still empty,
    // so empty core panels are waited for (bounded); a refused query fails at once.
    let dashboards_by = Instant::now() + Duration::from_secs(90);
    loop {
        match common::dashboards::live_check(&format!("http://{}", s.prometheus)) {
            Ok(()) => break,
            Err(e)
                if e.starts_with("core panels returned no data")
                    && Instant::now() < dashboards_by =>
            {
                std::thread::sleep(Duration::from_secs(2));
            }
            Err(e) => panic!("dashboards against the live stack: {e}"),
        }
    }

    // Recovery: the status page shows it resolved (operational, the incident
    // ended, its length that of the fault), and the page resolves.
    let recovered_at = Instant::now();
    fault(&s.demo, "denshibin", "ok", 1);
    let to_operational = wait_status(
        &s,
        Duration::from_secs(120),
        "denshibin operational on the status page",
        |state, ongoing| state == "operational" && ongoing.is_none(),
    );
    eprintln!(
        "recovery → operational on the status page: {:.1} s",
        to_operational.as_secs_f64()
    );
    let (_, body) = http(&s.status, "GET", "/api/v1/status.json");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let d = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "denshibin")
        .unwrap();
    let past = &d["incidents"][0];
    assert_eq!(past["ongoing"], false, "{past}");
    assert!(past["end"].is_string(), "{past}");
    // Failing from within a probe interval of the fault until within one of its end.
    let lasted = (recovered_at - fault_at).as_secs() as i64;
    let seconds = past["seconds"].as_i64().unwrap();
    assert!(
        seconds >= lasted - 30 && seconds <= lasted + 30,
        "incident of {seconds} s for a fault of {lasted} s: {past}"
    );
    wait(
        Duration::from_secs(600),
        "the denshibin page to resolve",
        || !pages_for(&s.inbox, "denshibin", "resolved").is_empty(),
    );
    eprintln!(
        "recovery → resolved: {:.1} s",
        recovered_at.elapsed().as_secs_f64()
    );
    assert!(
        pages_for(&s.inbox, "hanbai", "firing").is_empty(),
        "hanbai is in maintenance and must not page"
    );
}

/// A fault only a browser sees: denshibin's web UI script throws
/// (`ui_broken`), its API stays fine. The demo's browser transaction fails
/// (`selector_timeout`), the HTTP transaction keeps succeeding, and the
/// generated rules, unchanged, page on-call for denshibin's availability.
#[test]
fn a_ui_only_fault_pages_on_call() {
    if common::tools::tool("chromium").is_none() {
        return;
    }
    let s = start_stack(StatusPage::Without, Browser::With);
    wait(
        Duration::from_secs(120),
        "all four transactions (HTTP and browser) scraped as up",
        || {
            query(&s.prometheus, "count(mimamori_probe_success == 1)")["data"]["result"][0]["value"]
                [1]
                == "4"
        },
    );
    fault(&s.demo, "hanbai", "down", 900); // in maintenance: must not page
    let fault_at = Instant::now();
    fault(&s.demo, "denshibin", "ui_broken", 900);
    wait(Duration::from_secs(240), "a page for denshibin", || {
        !pages_for(&s.inbox, "denshibin", "firing").is_empty()
    });
    let page = pages_for(&s.inbox, "denshibin", "firing").remove(0);
    let to_page = page.at - fault_at;
    eprintln!(
        "ui_broken → page: {:.1} s; {} {}",
        to_page.as_secs_f64(),
        page.labels,
        page.annotations
    );
    assert_eq!(page.labels["slo"], "availability", "{}", page.labels);
    assert_eq!(page.labels["severity"], "page", "{}", page.labels);
    for (k, v) in page.annotations.as_object().unwrap() {
        let v = v.as_str().unwrap_or("");
        assert!(
            !v.trim().is_empty() && !v.contains("<no value>") && !v.contains("{{"),
            "annotation {k} is empty or unrendered: {v:?}"
        );
    }
    // Only the browser saw it: the reason is the UI's, the HTTP transaction never failed.
    let broken = query(
        &s.prometheus,
        "sum(mimamori_probe_failures_total{transaction=\"inbox-ui\",reason=\"selector_timeout\"})",
    );
    assert_ne!(broken["data"]["result"][0]["value"][1], "0", "{broken}");
    let http_failed = query(
        &s.prometheus,
        "max_over_time((1 - mimamori_probe_success{transaction=\"receive-document\"})[10m:5s])",
    );
    assert_eq!(
        http_failed["data"]["result"][0]["value"][1], "0",
        "the HTTP transaction failed under a UI-only fault: {http_failed}"
    );
    assert!(
        pages_for(&s.inbox, "hanbai", "firing").is_empty(),
        "hanbai is in maintenance and must not page"
    );
}
