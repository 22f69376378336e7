//! The product, end to end, in real time: `mimamori demo` probing simulated
//! AOULU services, Debian's Prometheus scraping it with the generated rules
//! (unchanged), Debian's Alertmanager with the generated routing, and a local
//! webhook standing in for the pager. What an on-call engineer experiences.
//!
//! Needs `prometheus` and `prometheus-alertmanager` (scripts/test.sh installs
//! them). Takes a few minutes: alerts are evaluated in real time.

use std::io::{BufRead, BufReader, Read, Write};

#[path = "it/common/mod.rs"]
mod common;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kills the process when dropped, so every process is cleaned up even when
/// an assertion fails.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn which(names: &[&str]) -> PathBuf {
    for n in names {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let p = Path::new(dir).join(n);
            if p.exists() {
                return p;
            }
        }
    }
    panic!("none of {names:?} is installed: apt-get install prometheus prometheus-alertmanager (scripts/test.sh does)");
}

/// An HTTP request for polling: status 0 when nothing answers yet.
fn http(addr: &str, method: &str, path: &str) -> (u16, String) {
    common::try_http(addr, method, path).unwrap_or((0, String::new()))
}

/// Every notification Alertmanager delivered, with when it arrived.
type Inbox = Arc<Mutex<Vec<(Instant, serde_json::Value)>>>;

/// A webhook receiver standing in for the pager.
fn webhook() -> (String, Inbox) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let inbox: Inbox = Arc::default();
    let sink = inbox.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                if let Ok(v) = serde_json::from_slice(&body) {
                    sink.lock().unwrap().push((Instant::now(), v));
                }
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            });
        }
    });
    (addr, inbox)
}

/// Alerts in notifications so far, flattened: (arrival, status, labels, annotations).
fn alerts(inbox: &Inbox) -> Vec<(Instant, String, serde_json::Value, serde_json::Value)> {
    let mut out = Vec::new();
    for (at, n) in inbox.lock().unwrap().iter() {
        for a in n["alerts"].as_array().into_iter().flatten() {
            out.push((
                *at,
                a["status"].as_str().unwrap_or("").to_string(),
                a["labels"].clone(),
                a["annotations"].clone(),
            ));
        }
    }
    out
}

fn pages_for(
    inbox: &Inbox,
    service: &str,
    status: &str,
) -> Vec<(Instant, serde_json::Value, serde_json::Value)> {
    alerts(inbox)
        .into_iter()
        .filter(|(_, st, l, _)| st == status && l["severity"] == "page" && l["service"] == service)
        .map(|(at, _, l, a)| (at, l, a))
        .collect()
}

/// The generator's Alertmanager routing, with the receivers pointed at `hook`.
fn alertmanager_config(dir: &Path, hook: &str) -> PathBuf {
    let src = std::fs::read_to_string("deploy/aoulu.yaml").unwrap();
    let i = src
        .find("\n  page:\n")
        .expect("deploy/aoulu.yaml has alerting.page");
    let test_cfg = format!(
        "{}\n  page:\n    webhook_urls: [http://{hook}/page]\n  ticket:\n    webhook_urls: [http://{hook}/ticket]\n",
        &src[..i]
    );
    let cfg_path = dir.join("aoulu-e2e.yaml");
    std::fs::write(&cfg_path, test_cfg).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args([
            "generate",
            "--config",
            cfg_path.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let am = dir.join("deploy/alertmanager/alertmanager.yml");
    assert!(am.exists());
    am
}

struct Stack {
    _demo: common::Demo,
    _procs: Vec<Proc>,
    demo: String,
    prometheus: String,
    /// `mimamori status` reading that Prometheus.
    status: String,
    inbox: Inbox,
    _dir: tempfile::TempDir,
    /// `mimamori status`'s log (debug level), shown when a wait for the page times out.
    status_log: std::path::PathBuf,
}

fn start_stack() -> Stack {
    let prometheus_bin = which(&["prometheus"]);
    let alertmanager_bin = which(&["prometheus-alertmanager", "alertmanager"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (hook, inbox) = webhook();
    let mut procs = Vec::new();

    // The demo, with hanbai inside an announced maintenance window.
    let demo = common::start_demo(&["--maintenance", "hanbai"]);
    let demo_addr = demo.addr.clone();

    let am_port = free_port();
    let am_cfg = alertmanager_config(d, &hook);
    let am = Command::new(alertmanager_bin)
        .arg(format!("--config.file={}", am_cfg.display()))
        .arg(format!("--storage.path={}", d.join("am").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("alertmanager.log")).unwrap())
        .spawn()
        .unwrap();
    procs.push(Proc(am));

    // The generated rules, unchanged; only scrape and evaluation are faster.
    let rules = std::fs::canonicalize("rules").unwrap();
    let prom_port = free_port();
    let prom_cfg = d.join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        format!(
            "global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\nrule_files: ['{}/*.yml']\nalerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]\n\
             scrape_configs:\n  - job_name: mimamori\n    static_configs: [{{targets: ['{demo_addr}']}}]\n",
            rules.display()
        ),
    )
    .unwrap();
    let prom = Command::new(prometheus_bin)
        .arg(format!("--config.file={}", prom_cfg.display()))
        .arg(format!("--storage.tsdb.path={}", d.join("prom").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("prometheus.log")).unwrap())
        .spawn()
        .unwrap();
    procs.push(Proc(prom));
    let prometheus = format!("127.0.0.1:{prom_port}");
    wait(
        Duration::from_secs(60),
        "prometheus and alertmanager ready",
        || {
            http(&prometheus, "GET", "/-/ready").0 == 200
                && http(&format!("127.0.0.1:{am_port}"), "GET", "/-/ready").0 == 200
        },
    );
    // The public status page, refreshing every 5 s.
    let mut status = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["status", "--config", "deploy/aoulu.yaml", "--refresh", "5s"])
        .args(["--prometheus.url", &format!("http://{prometheus}")])
        .args(["--web.listen-address", "127.0.0.1:0"])
        .args(["--log.level", "mimamori=debug"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(d.join("status.log")).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(status.stdout.take().unwrap()).lines();
    let line = lines.next().expect("status printed its address").unwrap();
    let status_addr = line
        .trim()
        .trim_start_matches("status page on http://")
        .trim_end_matches('/')
        .to_string();
    std::thread::spawn(move || lines.for_each(drop));
    procs.push(Proc(status));
    Stack {
        _demo: demo,
        _procs: procs,
        demo: demo_addr,
        prometheus,
        status: status_addr,
        inbox,
        status_log: d.join("status.log"),
        _dir: dir,
    }
}

fn wait(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    start.elapsed()
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
            let (_, json) = http(&s.status, "GET", "/api/v1/status.json");
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

fn query(prom: &str, q: &str) -> serde_json::Value {
    let enc: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (_, body) = http(prom, "GET", &format!("/api/v1/query?query={enc}"));
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

/// denshibin on the status page: its state and its ongoing incident, if any.
fn denshibin_status(status: &str) -> (String, Option<serde_json::Value>) {
    let (_, body) = http(status, "GET", "/api/v1/status.json");
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

fn fault(demo: &str, service: &str, mode: &str, seconds: u64) {
    let (code, body) = http(
        demo,
        "POST",
        &format!("/demo/fault?service={service}&mode={mode}&seconds={seconds}"),
    );
    assert_eq!(code, 200, "{body}");
}

#[test]
fn on_call_is_paged_for_real_outages_only() {
    let s = start_stack();
    // Healthy: both services succeed and nothing pages.
    wait(
        Duration::from_secs(90),
        "both services scraped as up",
        || {
            query(&s.prometheus, "sum(mimamori_probe_success)")["data"]["result"][0]["value"][1]
                == "2"
        },
    );

    // An outage of hanbai inside its announced maintenance window, and a
    // single failed probe of denshibin: neither may page.
    fault(&s.demo, "hanbai", "down", 600);
    fault(&s.demo, "denshibin", "down", 8);
    let quiet_until = Instant::now() + Duration::from_secs(150);
    while Instant::now() < quiet_until {
        let pages: Vec<_> = alerts(&s.inbox)
            .into_iter()
            .filter(|(_, st, l, _)| st == "firing" && l["severity"] == "page")
            .collect();
        assert!(
            pages.is_empty(),
            "paged while only maintenance and a blip happened: {pages:?}"
        );
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
    let (paged_at, labels, annotations) = pages_for(&s.inbox, "denshibin", "firing").remove(0);
    let to_page = paged_at - fault_at;
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

    // The generated dashboards against this real stack: every panel,
    // annotation and variable query runs, and the core panels have data.
    if let Err(e) = common::dashboards::live_check(&format!("http://{}", s.prometheus)) {
        panic!("dashboards against the live stack: {e}");
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
}
