//! The formats others read: the Statuspage-compatible API of `mimamori status`,
//! driven by an independent Statuspage client and checked against a JSON Schema
//! written from Statuspage's documentation (`tests/statuspage/`), in every state.
//!
//! Five services against a real Prometheus: one failing now after a past
//! outage, one in a maintenance window, one too slow, one without any data
//! (unknown) and one operational; then Prometheus stops and every component
//! must turn unknown, never operational. The client is
//! `statuspage-prometheus-exporter` (PyPI; scripts/test.sh installs it), which
//! reads a Statuspage summary the way monitoring integrations do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::DateTime;
use serde_json::Value;

use crate::common::prometheus::{self, SeriesSet};
use crate::common::tools;
use crate::common::wait::wait_until;

const LOCATIONS: [&str; 2] = ["osaka", "tokyo"];
const INTERVAL: i64 = 120;
const NOW: &str = "2026-12-02T10:30:00+09:00";

fn jst(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(&format!("{s}+09:00"))
        .unwrap()
        .timestamp()
}

/// Probe results of `service` at every location, failing in `outages` with `reason`.
fn series(service: &str, outages: &[(i64, i64)], reason: &str, start: i64, end: i64) -> SeriesSet {
    let times: Vec<i64> = (0..)
        .map(|k| start + 7 + k * INTERVAL)
        .take_while(|t| *t < end)
        .collect();
    let fails = |t: i64| outages.iter().any(|o| o.0 <= t && t < o.1);
    let mut out = Vec::new();
    for loc in LOCATIONS {
        let labels = format!("service=\"{service}\",transaction=\"t\",location=\"{loc}\"");
        out.push((
            format!("mimamori_probe_success{{{labels}}}"),
            times
                .iter()
                .map(|&t| (t, if fails(t) { 0.0 } else { 1.0 }))
                .collect(),
        ));
        let mut count = 0.0;
        out.push((
            format!("mimamori_probe_failures_total{{{labels},reason=\"{reason}\"}}"),
            times
                .iter()
                .map(|&t| {
                    if fails(t) {
                        count += 1.0;
                    }
                    (t, count)
                })
                .collect(),
        ));
    }
    out
}

/// Three operations a run, two of them over 3 s from `slow_from` on.
fn slow_latency(service: &str, from: i64, slow_from: i64, end: i64) -> SeriesSet {
    let labels = format!(
        "service=\"{service}\",transaction=\"t\",step=\"s\",location=\"tokyo\",result=\"success\""
    );
    let (mut good, mut total, mut g, mut n) = (Vec::new(), Vec::new(), 0.0, 0.0);
    for t in (0..)
        .map(|k| from + 7 + k * INTERVAL)
        .take_while(|t| *t < end)
    {
        n += 3.0;
        g += if t >= slow_from { 1.0 } else { 3.0 };
        good.push((t, g));
        total.push((t, n));
    }
    vec![
        (
            format!("mimamori_step_duration_seconds_bucket{{{labels},le=\"3\"}}"),
            good,
        ),
        (
            format!("mimamori_step_duration_seconds_count{{{labels}}}"),
            total,
        ),
    ]
}

const CONFIG: &str = r#"
global: {interval: 120s, timeout: 30s}
alerting:
  locations: [osaka, tokyo]
services:
  - name: sales
    display_name: {ja: AOULU 販売, en: AOULU Sales}
    transactions: [{name: t, steps: [{name: s, url: 'https://sales.invalid/'}]}]
  - name: mail
    display_name: {ja: AOULU 電子便, en: AOULU Mail}
    transactions: [{name: t, steps: [{name: s, url: 'https://mail.invalid/'}]}]
  - name: shop
    display_name: {ja: AOULU ショップ, en: AOULU Shop}
    transactions: [{name: t, steps: [{name: s, url: 'https://shop.invalid/'}]}]
  - name: chat
    display_name: {ja: AOULU チャット, en: AOULU Chat}
    transactions: [{name: t, steps: [{name: s, url: 'https://chat.invalid/'}]}]
  - name: web
    display_name: {ja: AOULU ウェブ, en: AOULU Web}
    transactions: [{name: t, steps: [{name: s, url: 'https://web.invalid/'}]}]
maintenance:
  - services: [mail]
    start: 2026-12-02T10:00:00+09:00
    end: 2026-12-02T12:00:00+09:00
    announced_at: 2026-05-01T10:00:00+09:00
    announced_via: ご利用ガイド
    title: {ja: 定期メンテナンス, en: Scheduled maintenance}
  - services: [sales, mail]
    start: 2027-01-10T01:00:00+09:00
    end: 2027-01-10T03:00:00+09:00
    announced_at: 2026-11-20T10:00:00+09:00
    announced_via: ご利用ガイド
    title: {ja: 臨時メンテナンス, en: Extra maintenance}
  - services: [web]
    start: 2026-11-30T01:00:00+09:00
    end: 2026-11-30T02:00:00+09:00
    announced_at: 2026-05-01T10:00:00+09:00
    announced_via: ご利用ガイド
    title: {ja: 過去のメンテナンス, en: Past maintenance}
exclusions:
  - services: [sales]
    start: 2026-11-30T10:00:00+09:00
    end: 2026-11-30T10:10:00+09:00
    reason: carrier_outage
    description: {ja: 全国的な通信事業者の障害, en: Nationwide carrier outage}
    decided_by: 品質保証責任者
    decided_at: 2026-11-30T12:00:00+09:00
notices:
  - kind: incident
    published_at: 2026-12-02T10:20:00+09:00
    services: [sales]
    title: {ja: 販売で障害が発生しています, en: Sales is failing}
    body: {ja: 原因を調査しています。, en: We are investigating.}
"#;

/// A running `mimamori status`, killed when dropped.
struct Status {
    child: Child,
    addr: String,
}

impl Drop for Status {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_status(cfg: &Path, url: &str) -> Status {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["status", "--config"])
        .arg(cfg)
        .args(["--prometheus.url", url, "--refresh", "2s", "--now", NOW])
        .args(["--web.listen-address", "127.0.0.1:0"])
        .args(["--web.external-url", "https://status.example.jp/"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().expect("status printed its address").unwrap();
    let addr = line
        .trim()
        .strip_prefix("status page on http://")
        .unwrap_or_else(|| panic!("{line}"))
        .trim_end_matches('/')
        .to_string();
    std::thread::spawn(move || lines.for_each(drop));
    Status { child, addr }
}

/// Status, headers (lowercased) and body of `GET path`.
fn get(addr: &str, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (
        head[9..12].parse().unwrap(),
        head.to_ascii_lowercase(),
        body.to_string(),
    )
}

fn api(addr: &str, path: &str) -> Value {
    let (code, _, body) = get(addr, path);
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// `tests/statuspage/check.py`: the schema over every endpoint, then the client.
fn check(addr: &str) -> Value {
    let work = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/statuspage/check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://{addr}"))
        .arg(work.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "check.py: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "schema errors: {:#}", v["errors"]);
    assert_eq!(v["validated"].as_array().unwrap().len(), 16, "{v}");
    v
}

fn component<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no component {id}: {v}"))
}

#[test]
fn statuspage_api_read_by_a_statuspage_client_in_every_state() {
    let install = "pip install statuspage-prometheus-exporter==2.6.0 jsonschema==4.26.0";
    if !tools::python_module("jsonschema", install)
        || !tools::python_module("statuspage_prometheus_exporter", install)
    {
        return;
    }
    let (start, end) = (jst("2026-11-28T00:00:00"), jst("2026-12-02T11:00:00"));
    let outage = (jst("2026-12-02T10:10:00"), end);
    let blip = (jst("2026-11-30T10:00:00"), jst("2026-11-30T10:10:00"));
    let data = [
        series("sales", &[blip, outage], "status", start, end),
        series("mail", &[], "status", start, end),
        series("shop", &[], "status", start, end),
        slow_latency(
            "shop",
            jst("2026-12-02T08:00:00"),
            jst("2026-12-02T10:14:00"),
            end,
        ),
        series("web", &[], "status", start, end),
    ];
    let mut prom = prometheus::start_backfilled(&data, start, end);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mimamori.yaml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let status = start_status(&cfg, &prom.url);
    let addr = status.addr.clone();

    // Headers: the page's, plus a cache lifetime of one refresh.
    for path in ["/api/v2/summary.json", "/api/v2/status.json?lang=ja"] {
        let (code, head, _) = get(&addr, path);
        assert_eq!(code, 200, "{path}");
        assert!(
            head.contains("content-security-policy: default-src 'none'"),
            "{head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(
            head.contains("cache-control: public, max-age=2\r\n"),
            "{head}"
        );
        assert!(head.contains("content-type: application/json"), "{head}");
    }
    assert_eq!(get(&addr, "/api/v2/summary.json?lang=fr").0, 400);
    assert_eq!(get(&addr, "/api/v2/nothing.json").0, 404);
    let (_, head, _) = get(&addr, "/");
    assert!(
        head.contains("cache-control: no-cache"),
        "the page itself: {head}"
    );

    // Every state, as Statuspage words it.
    let sum = api(&addr, "/api/v2/summary.json");
    assert_eq!(component(&sum, "sales")["status"], "major_outage");
    assert_eq!(component(&sum, "mail")["status"], "under_maintenance");
    assert_eq!(component(&sum, "shop")["status"], "degraded_performance");
    assert_eq!(component(&sum, "shop")["mimamori_state"], "slow");
    let chat = component(&sum, "chat");
    assert_eq!(
        chat["status"], "degraded_performance",
        "unknown is not operational"
    );
    assert_eq!(chat["mimamori_state"], "unknown");
    assert_eq!(chat["description"], "Status unknown: no monitoring data.");
    assert_eq!(component(&sum, "web")["status"], "operational");
    assert_eq!(
        sum["status"],
        serde_json::json!({"indicator": "major", "description": "Partial System Outage"})
    );
    assert_eq!(sum["page"]["time_zone"], "Asia/Tokyo");
    assert_eq!(sum["page"]["url"], "https://status.example.jp/en/");
    let inc = &sum["incidents"];
    assert_eq!(inc.as_array().unwrap().len(), 1, "{inc}");
    let id = format!("incident-sales-{}", outage.0);
    assert_eq!(inc[0]["id"], id.as_str());
    assert_eq!(inc[0]["name"], "Sales is failing");
    assert_eq!(inc[0]["status"], "investigating");
    assert_eq!(inc[0]["impact"], "critical");
    assert_eq!(inc[0]["started_at"], "2026-12-02T10:10:00+09:00");
    assert_eq!(
        inc[0]["shortlink"],
        format!("https://status.example.jp/en/#h-{id}")
    );
    let updates = inc[0]["incident_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2);
    assert_eq!(
        updates[0]["body"],
        "Sales is failing\n\nWe are investigating."
    );
    assert_eq!(updates[0]["display_at"], "2026-12-02T10:20:00+09:00");
    assert_eq!(
        updates[1]["body"],
        "Detected automatically: osaka, tokyo saw \"error response\"."
    );
    // Upcoming and in progress in the summary; the past one only in the full list.
    let m = sum["scheduled_maintenances"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[0]["status"], "scheduled");
    assert_eq!(m[0]["scheduled_for"], "2027-01-10T01:00:00+09:00");
    assert_eq!(m[1]["status"], "in_progress");
    assert_eq!(m[1]["scheduled_until"], "2026-12-02T12:00:00+09:00");
    let all = api(&addr, "/api/v2/scheduled-maintenances.json");
    assert_eq!(all["scheduled_maintenances"][2]["status"], "completed");
    assert_eq!(
        all["scheduled_maintenances"][2]["resolved_at"],
        "2026-11-30T02:00:00+09:00"
    );
    let incidents = api(&addr, "/api/v2/incidents.json");
    let past = &incidents["incidents"][1];
    assert_eq!(past["status"], "resolved");
    assert_eq!(past["resolved_at"], "2026-11-30T10:10:00+09:00");
    // Set aside as outside the SLO: said in an update and a field, still listed.
    assert_eq!(past["mimamori_excluded"], "whole");
    assert_eq!(past["mimamori_excluded_seconds"], 600);
    let excluded = &past["incident_updates"][0];
    assert_eq!(excluded["display_at"], "2026-11-30T12:00:00+09:00");
    assert!(
        excluded["body"]
            .as_str()
            .unwrap()
            .starts_with("Decided outside the SLO (")
            && excluded["body"]
                .as_str()
                .unwrap()
                .contains("Nationwide carrier outage"),
        "{excluded}"
    );
    assert_eq!(past["incident_updates"][1]["status"], "resolved");
    assert_eq!(incidents["incidents"][0]["mimamori_excluded"], "none");

    // Japanese, by query or by path: the same ids, Japanese words.
    let ja = api(&addr, "/api/v2/summary.json?lang=ja");
    assert_eq!(ja, api(&addr, "/ja/api/v2/summary.json"));
    assert_eq!(ja["incidents"][0]["id"], id.as_str());
    assert_eq!(ja["incidents"][0]["name"], "販売で障害が発生しています");
    assert_eq!(ja["status"]["description"], "一部で障害が発生しています");
    assert_eq!(component(&ja, "sales")["name"], "AOULU 販売");
    assert_eq!(ja["page"]["url"], "https://status.example.jp/");

    // The schema over every endpoint in both languages, and the client's reading.
    let v = check(&addr);
    let c = &v["client"];
    assert_eq!(c["success"], true, "{c}");
    assert_eq!(c["status"], 0, "not operational: {c}");
    assert_eq!(c["raw_status"], "critical", "the incident's impact: {c}");
    let read: Vec<(String, String)> = c["component_metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        ("AOULU Sales", "major_outage"),
        ("AOULU Mail", "under_maintenance"),
        ("AOULU Shop", "degraded_performance"),
        ("AOULU Chat", "degraded_performance"),
        ("AOULU Web", "operational"),
    ];
    assert_eq!(
        read,
        expect
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
    let ci = &c["incident_metadata"][0];
    assert_eq!(ci["id"], id.as_str());
    assert_eq!(ci["impact"], "critical");
    assert_eq!(ci["started_at"], "2026-12-02T10:10:00+09:00");
    assert_eq!(
        ci["affected_components"],
        serde_json::json!(["AOULU Sales"])
    );
    let cm = c["maintenance_metadata"].as_array().unwrap();
    assert_eq!(cm.len(), 2, "{cm:?}");
    assert_eq!(cm[1]["scheduled_start"], "2026-12-02T10:00:00+09:00");
    assert_eq!(
        cm[1]["affected_components"],
        serde_json::json!(["AOULU Mail"])
    );

    // Prometheus gone: every component unknown, the page "minor", never green.
    prom.stop();
    wait_until(Duration::from_secs(30), "the API turns unknown", || {
        api(&addr, "/api/v2/status.json")["status"]["description"] == "Status Unknown"
    });
    let sum = api(&addr, "/api/v2/summary.json");
    for c in sum["components"].as_array().unwrap() {
        assert_eq!(c["status"], "degraded_performance", "{c}");
        assert_eq!(c["mimamori_state"], "unknown", "{c}");
        assert!(
            c["description"]
                .as_str()
                .unwrap()
                .starts_with("Status unknown: no monitoring data"),
            "{c}"
        );
    }
    assert_eq!(sum["status"]["indicator"], "minor");
    let v = check(&addr);
    let c = &v["client"];
    assert_eq!(c["success"], true, "{c}");
    assert_eq!(
        c["status"], 0,
        "unknown is not operational to the client: {c}"
    );
    assert!(c["component_metadata"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["status"] == "degraded_performance"));
    drop(status);
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn generate(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["generate", "--config"])
        .arg(repo().join("deploy/aoulu.yaml"))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// `tests/openslo/check.py` over `files`: (exit status, its report).
fn check_openslo(files: &[&Path]) -> (bool, Value) {
    let out = Command::new("python3")
        .arg(repo().join("tests/openslo/check.py"))
        .args(files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "check.py: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), v)
}

/// `generate --format openslo`: every document valid against the schema written from
/// the OpenSLO v1 specification, every reference resolved, one SLO per objective and
/// one policy per burn-rate alert; `--check` covers the file; a broken document fails.
#[test]
fn openslo_documents_are_valid_and_checked() {
    let install = "pip install jsonschema==4.26.0 pyyaml==6.0.3";
    if !tools::python_module("jsonschema", install) || !tools::python_module("yaml", install) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = generate(dir.path(), &["--format", "mimir,openslo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("rules/mimir/mimamori.yml").is_file());
    let file = dir.path().join("openslo/mimamori.yaml");
    let (ok, v) = check_openslo(&[&file]);
    assert!(ok, "{v:#}");
    let docs = &v["documents"];
    assert_eq!(docs["Service"], 2, "{v}");
    assert_eq!(docs["SLI"], 4);
    assert_eq!(docs["SLO"], 4);
    assert_eq!(docs["DataSource"], 1);
    assert_eq!(docs["AlertNotificationTarget"], 2);
    // Three availability and three latency alerts per service.
    assert_eq!(docs["AlertCondition"], 12);
    assert_eq!(docs["AlertPolicy"], 12);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("budgetingMethod: RatioTimeslices"));
    assert!(text.contains("budgetingMethod: Occurrences"));
    assert!(text.contains("startTime: '2026-01-01 00:00:00'"));
    assert!(text.contains("query: mimamori:slo_availability_errors{service=\"hanbai\"}"));

    // The checker can fail: a Timeslices objective without its slice target, an
    // unknown reference, a duration in seconds.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        text.replacen(
            "budgetingMethod: RatioTimeslices",
            "budgetingMethod: Timeslices",
            1,
        )
        .replacen("targetRef: mimamori-page", "targetRef: nobody", 1)
        .replacen("lookbackWindow: 1h", "lookbackWindow: 3600s", 1),
    )
    .unwrap();
    let (ok, v) = check_openslo(&[&bad]);
    assert!(!ok);
    let errors = v["errors"].to_string();
    assert!(errors.contains("timeSliceTarget"), "{errors}");
    assert!(
        errors.contains("missing AlertNotificationTarget 'nobody'"),
        "{errors}"
    );
    assert!(errors.contains("3600s"), "{errors}");

    // `--check` covers it with `--format openslo`, and only then.
    assert!(generate(dir.path(), &["--format", "openslo", "--check"])
        .status
        .success());
    std::fs::write(&file, text.replace("target: 0.9999", "target: 0.999")).unwrap();
    let out = generate(dir.path(), &["--format", "openslo", "--check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("openslo/mimamori.yaml: differs"), "{err}");
    assert!(generate(dir.path(), &["--check"]).status.success());
}

#[test]
fn committed_openslo_is_current() {
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .current_dir(repo())
        .args([
            "generate",
            "--config",
            "deploy/aoulu.yaml",
            "--format",
            "openslo",
            "--check",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openslo/ is stale; run `mimamori generate --config deploy/aoulu.yaml --format openslo`:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `mimamori import openslo`: the committed documents give back aoulu's objectives;
/// a document that cannot map is named with its file and line, exit 1.
#[test]
fn import_openslo_reads_our_documents_and_names_what_cannot_map() {
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .current_dir(repo())
        .args(["import", "openslo", "openslo/mimamori.yaml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let hanbai = &v["services"][0];
    assert_eq!(hanbai["name"], "hanbai");
    assert_eq!(hanbai["display_name"]["ja"], "AOULU 販売");
    assert_eq!(hanbai["objectives"]["availability"].as_f64(), Some(99.99));
    assert_eq!(hanbai["objectives"]["latency"]["threshold"], "3s");
    assert_eq!(
        hanbai["objectives"]["latency"]["target"].as_f64(),
        Some(99.0)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("rolling.yaml");
    std::fs::write(
        &bad,
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: web}\nspec:\n  service: web\n  indicatorRef: web\n  timeWindow: [{duration: 28d, isRolling: true}]\n  budgetingMethod: Timeslices\n  objectives: [{target: 0.99}]\n---\napiVersion: openslo/v1\nkind: SLI\nmetadata: {name: web}\nspec:\n  ratioMetric:\n    counter: true\n    good: {metricSource: {type: Prometheus, spec: {query: ok}}}\n    total: {metricSource: {type: Prometheus, spec: {query: all}}}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["import", "openslo"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:7: SLO web: timeWindow \"28d\" rolling",
            bad.display()
        )),
        "{err}"
    );
}
