//! The SLO's exclusions (`exclusions:`, seed: 本SLOの適用範囲外) against a real
//! Prometheus holding a backfilled November, as `tests/it/report.rs` builds it:
//! an exclusion covering one outage exactly, one covering half of an outage,
//! one over time that was up, one overlapping planned maintenance and one over
//! unknown time. Figures are asserted to the second, both of them.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::DateTime;
use serde_json::Value;

use crate::common::prometheus::{self, SeriesSet};

const LOCATIONS: [&str; 3] = ["fukuoka", "osaka", "tokyo"];
const INTERVAL: i64 = 120;
/// Samples sit 7 s after the step grid, as scrapes would.
const OFFSET: i64 = 7;
const NOV: i64 = 30 * 86400;

fn jst(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(&format!("{s}+09:00"))
        .unwrap()
        .timestamp()
}

/// A service failing at every location over `outages` and silent over `gaps`,
/// with latency counters that meet their objective.
fn series(
    service: &str,
    outages: &[(i64, i64)],
    gaps: &[(i64, i64)],
    start: i64,
    end: i64,
) -> SeriesSet {
    let mut out = Vec::new();
    let times: Vec<i64> = (0..)
        .map(|k| start + OFFSET + k * INTERVAL)
        .take_while(|t| *t < end)
        .collect();
    let fails = |t: i64| outages.iter().any(|&(a, b)| a <= t && t < b);
    for loc in LOCATIONS {
        let labels = format!("service=\"{service}\",transaction=\"t\",location=\"{loc}\"");
        let points = times
            .iter()
            .filter(|&&t| !gaps.iter().any(|&(a, b)| a <= t && t < b))
            .map(|&t| (t, if fails(t) { 0.0 } else { 1.0 }))
            .collect();
        out.push((format!("mimamori_probe_success{{{labels}}}"), points));
        let mut count = 0.0;
        let mut points = Vec::new();
        for &t in &times {
            if fails(t) {
                count += 1.0;
            }
            points.push((t, count));
        }
        out.push((
            format!("mimamori_probe_failures_total{{{labels},reason=\"connect\"}}"),
            points,
        ));
    }
    let labels = format!(
        "service=\"{service}\",transaction=\"t\",location=\"tokyo\",step=\"s\",result=\"success\""
    );
    let counts: Vec<(i64, f64)> = times
        .iter()
        .step_by(5)
        .enumerate()
        .map(|(j, &t)| (t, 10.0 * (j + 1) as f64))
        .collect();
    out.push((
        format!("mimamori_step_duration_seconds_count{{{labels}}}"),
        counts.clone(),
    ));
    out.push((
        format!("mimamori_step_duration_seconds_bucket{{{labels},le=\"3\"}}"),
        counts,
    ));
    out
}

const CONFIG: &str = r#"
global:
  interval: 120s
  timeout: 10s
alerting:
  locations: [fukuoka, osaka, tokyo]
services:
SERVICES
maintenance:
  - services: [maint]
    start: 2026-11-10T01:00:00+09:00
    end: 2026-11-10T05:00:00+09:00
    announced_at: 2026-04-01T10:00:00+09:00
    announced_via: ご利用ガイド メンテナンス情報
    title: {ja: 定期メンテナンス, en: Scheduled maintenance}
exclusions:
  - services: [exact]
    start: 2026-11-05T10:00:00+09:00
    end: 2026-11-05T10:10:00+09:00
    reason: carrier_outage
    description: {ja: 全国的な通信事業者の障害, en: Nationwide carrier outage}
    decided_by: 品質保証責任者 / QA lead
    decided_at: 2026-11-06T09:00:00+09:00
    evidence: https://carrier.example/notice/2026-11-05
  - services: [half]
    start: 2026-11-05T10:10:00+09:00
    end: 2026-11-05T10:30:00+09:00
    reason: force_majeure
    description: {ja: 地震による停電, en: Power cut after an earthquake}
    decided_by: 品質保証責任者 / QA lead
    decided_at: 2026-11-06T09:00:00+09:00
  - services: [quiet]
    start: 2026-11-07T00:00:00+09:00
    end: 2026-11-07T06:00:00+09:00
    reason: third_party
    description: {ja: 回線事業者の工事, en: Line provider's works}
    decided_by: 品質保証責任者 / QA lead
    decided_at: 2026-11-08T09:00:00+09:00
  - services: [maint]
    start: 2026-11-10T00:55:00+09:00
    end: 2026-11-10T01:30:00+09:00
    reason: hardware_unavoidable
    description: {ja: ストレージ装置の不可避の故障, en: Unavoidable storage fault}
    decided_by: 品質保証責任者 / QA lead
    decided_at: 2026-11-11T09:00:00+09:00
  - services: [gap]
    start: 2026-11-19T23:00:00+09:00
    end: 2026-11-20T03:00:00+09:00
    reason: outside_japan
    description: {ja: 国外からの利用, en: Use from abroad}
    decided_by: 品質保証責任者 / QA lead
    decided_at: 2026-11-21T09:00:00+09:00
"#;

const SERVICES: [&str; 5] = ["exact", "half", "quiet", "maint", "gap"];

fn write_config(dir: &Path, apply: bool) -> PathBuf {
    let svcs: String = SERVICES
        .iter()
        .map(|s| {
            format!(
                "  - name: {s}\n    display_name: {{ja: {s} 日本語, en: {s} English}}\n    objectives: {{apply_exclusions: {apply}}}\n    transactions:\n      - name: t\n        steps:\n          - {{name: s, url: 'https://{s}.invalid/'}}\n"
            )
        })
        .collect();
    let path = dir.join(format!("mimamori-{apply}.yaml"));
    std::fs::write(&path, CONFIG.replace("SERVICES\n", &svcs)).unwrap();
    path
}

fn report(cfg: &Path, url: &str, format: &str, service: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args([
            "report",
            "--config",
            cfg.to_str().unwrap(),
            "--prometheus.url",
            url,
        ])
        .args([
            "--month",
            "2026-11",
            "--format",
            format,
            "--service",
            service,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn json(cfg: &Path, url: &str, service: &str) -> (i32, Value) {
    let (code, out) = report(cfg, url, "json", service);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, v["services"][0].clone())
}

fn n(v: &Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// `(failure, excluded, unknown, maintenance)` seconds, after checking the
/// audit's arithmetic: the exclusions' seconds add up to the excluded seconds,
/// and the adjusted figure is the seed's formula without them.
fn seconds(v: &Value) -> (i64, i64, i64, i64) {
    let listed: i64 = v["exclusions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["excluded_seconds"].as_i64().unwrap())
        .sum();
    assert_eq!(listed, n(v, "excluded_failure_seconds"), "{v}");
    let (op, f) = (n(v, "operating_seconds"), n(v, "failure_seconds"));
    let adjusted = ratio_percent(op - (f - listed), op);
    assert!((percent(v, "availability_adjusted_percent") - adjusted).abs() < 1e-9);
    let incidents: i64 = v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["excluded_seconds"].as_i64().unwrap())
        .sum();
    assert_eq!(incidents, listed, "every excluded second is in an incident");
    (
        n(v, "failure_seconds"),
        n(v, "excluded_failure_seconds"),
        n(v, "unknown_seconds"),
        n(v, "maintenance_seconds"),
    )
}

fn percent(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"))
}

fn ratio_percent(num: i64, den: i64) -> f64 {
    num as f64 * 100.0 / den as f64
}

#[test]
fn exclusions_against_a_real_prometheus() {
    let (start, end) = (jst("2026-10-31T00:00:00"), jst("2026-12-01T09:00:00"));
    let all = vec![
        series(
            "exact",
            &[(jst("2026-11-05T10:00:00"), jst("2026-11-05T10:10:00"))],
            &[],
            start,
            end,
        ),
        series(
            "half",
            &[(jst("2026-11-05T10:00:00"), jst("2026-11-05T10:20:00"))],
            &[],
            start,
            end,
        ),
        series("quiet", &[], &[], start, end),
        series(
            "maint",
            &[(jst("2026-11-10T00:50:00"), jst("2026-11-10T02:00:00"))],
            &[],
            start,
            end,
        ),
        series(
            "gap",
            &[],
            &[(jst("2026-11-20T00:00:00"), jst("2026-11-20T02:00:00"))],
            start,
            end,
        ),
    ];
    let prom = prometheus::start_backfilled(&all, start, end);
    let dir = tempfile::tempdir().unwrap();
    let on = write_config(dir.path(), true);
    let off = write_config(dir.path(), false);
    let url = prom.url.as_str();

    // Covering one outage exactly: every failure second set aside.
    let (code, v) = json(&on, url, "exact");
    assert_eq!(seconds(&v), (600, 600, 0, 0));
    assert!((percent(&v, "availability_percent") - ratio_percent(NOV - 600, NOV)).abs() < 1e-9);
    assert_eq!(percent(&v, "availability_adjusted_percent"), 100.0);
    assert_eq!(
        (v["met"].as_bool(), v["verdict"].as_str()),
        (Some(true), Some("met"))
    );
    assert_eq!(v["apply_exclusions"], true);
    assert_eq!(code, 0);
    let x = &v["exclusions"][0];
    assert_eq!(v["exclusions"].as_array().unwrap().len(), 1);
    assert_eq!(x["reason"], "carrier_outage");
    assert_eq!(x["reason_words"]["ja"], "通信遮断等のインフラ障害");
    assert_eq!(x["excluded_seconds"], 600);
    assert_eq!(x["start"], "2026-11-05T10:00:00+09:00");
    assert_eq!(x["end"], "2026-11-05T10:10:00+09:00");
    assert_eq!(x["decided_by"], "品質保証責任者 / QA lead");
    assert_eq!(x["decided_at"], "2026-11-06T09:00:00+09:00");
    assert_eq!(x["description"]["en"], "Nationwide carrier outage");
    assert_eq!(x["evidence"], "https://carrier.example/notice/2026-11-05");
    // The incident stays as it happened, marked.
    assert_eq!(v["incidents"][0]["seconds"], 600);
    assert_eq!(v["incidents"][0]["excluded_seconds"], 600);
    assert_eq!(n(&v["days"][4], "excluded_failure_seconds"), 600);
    // Both figures side by side in the table, the verdict on the adjusted one.
    let (_, table) = report(&on, url, "table", "exact");
    assert!(
        table.contains("99.976 %  (全障害を含む / every failure counted)"),
        "{table}"
    );
    assert!(
        table.contains("100.000 %  (SLO 対象外 600 s を除く / 600 s outside the SLO set aside; 目標 / objective 99.99 %: 達成 / met)"),
        "{table}"
    );
    assert!(
        table.contains("2026-11-05T10:00:00+09:00 – 2026-11-05T10:10:00+09:00  600 s (10 min 0 s)  fukuoka, osaka, tokyo  connect  [SLO 対象外 / excluded from the SLO]"),
        "{table}"
    );
    assert!(table.contains("通信遮断等のインフラ障害 / carrier outage or other infrastructure failure  (carrier_outage)"), "{table}");
    assert!(
        table.contains(
            "259.2 s, 231.481 % 使用 / used (SLO 対象外を除く / exclusions set aside: 0.000 %)"
        ),
        "{table}"
    );
    let (_, md) = report(&on, url, "markdown", "exact");
    assert!(
        md.contains("(2592000 − (600 − 600)) ÷ 2592000 = **100.000 %** (判定に使用 / the verdict is judged on it)"),
        "{md}"
    );

    // Switched off: both figures still shown, the verdict on every failure.
    let (code, w) = json(&off, url, "exact");
    assert_eq!(seconds(&w), (600, 600, 0, 0));
    assert_eq!(percent(&w, "availability_adjusted_percent"), 100.0);
    assert_eq!(
        (w["met"].as_bool(), w["verdict"].as_str()),
        (Some(false), Some("missed"))
    );
    assert_eq!(code, 1);
    let (_, table) = report(&off, url, "table", "exact");
    assert!(
        table.contains("(目標 / objective 99.99 %: 未達 / missed)"),
        "{table}"
    );
    assert!(
        table.contains("判定には使わない / not used for the verdict"),
        "{table}"
    );

    // Covering half of an outage: half of it set aside, the rest counts.
    let (code, v) = json(&on, url, "half");
    assert_eq!(seconds(&v), (1200, 600, 0, 0));
    assert!(
        (percent(&v, "availability_adjusted_percent") - ratio_percent(NOV - 600, NOV)).abs() < 1e-9
    );
    assert!((percent(&v, "availability_percent") - ratio_percent(NOV - 1200, NOV)).abs() < 1e-9);
    assert_eq!(v["verdict"], "missed");
    assert_eq!(code, 1);
    assert_eq!(v["exclusions"][0]["excluded_seconds"], 600);
    assert_eq!(v["incidents"][0]["excluded_seconds"], 600);
    let (_, table) = report(&on, url, "table", "half");
    assert!(
        table.contains("[一部 SLO 対象外 / partly excluded from the SLO: 600 s]"),
        "{table}"
    );

    // Over time that was up: nothing changes.
    let (code, v) = json(&on, url, "quiet");
    assert_eq!(seconds(&v), (0, 0, 0, 0));
    assert_eq!(percent(&v, "availability_percent"), 100.0);
    assert_eq!(percent(&v, "availability_adjusted_percent"), 100.0);
    assert_eq!(v["exclusions"][0]["excluded_seconds"], 0);
    assert_eq!(code, 0);

    // Overlapping planned maintenance: the failures inside the window were
    // never operating time; the exclusion sets aside only 00:55–01:00.
    let (_, v) = json(&on, url, "maint");
    assert_eq!(seconds(&v), (600, 300, 0, 4 * 3600));
    assert_eq!(v["exclusions"][0]["excluded_seconds"], 300);
    let op = NOV - 4 * 3600;
    assert_eq!(n(&v, "operating_seconds"), op);
    assert!(
        (percent(&v, "availability_adjusted_percent") - ratio_percent(op - 300, op)).abs() < 1e-9
    );
    let check = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["check", "--config", on.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(
        said.contains("exclusions[3].start: overlaps maintenance[0]"),
        "{said}"
    );

    // Over unknown time: it stays unknown, never excluded.
    let (code, v) = json(&on, url, "gap");
    assert_eq!(seconds(&v), (0, 0, 7200, 0));
    assert_eq!(v["exclusions"][0]["excluded_seconds"], 0);
    assert_eq!(v["unknown_by_cause"]["no_sample"], 7200);
    assert_eq!(percent(&v, "availability_adjusted_percent"), 100.0);
    assert!((percent(&v, "coverage_percent") - ratio_percent(NOV - 7200, NOV)).abs() < 1e-9);
    assert_eq!(code, 2, "unknown time is incomplete data, excluded or not");
}

/// deploy/aoulu.yaml with one exclusion per service appended.
fn aoulu_with_exclusions() -> mimamori::config::Config {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("deploy/aoulu.yaml")).unwrap();
    let text = format!(
        "{text}\nexclusions:\n  - services: [hanbai, denshibin]\n    start: 2026-11-05T10:00:00+09:00\n    end: 2026-11-05T10:10:00+09:00\n    reason: carrier_outage\n    description: {{ja: 全国的な通信事業者の障害, en: Nationwide carrier outage}}\n    decided_by: QA lead\n    decided_at: 2026-11-06T09:00:00+09:00\n  - services: [hanbai]\n    start: 2026-11-20T03:00:00+09:00\n    end: 2026-11-20T03:30:00+09:00\n    reason: force_majeure\n    description: {{ja: 地震, en: Earthquake}}\n    decided_by: QA lead\n    decided_at: 2026-11-21T09:00:00+09:00\n"
    );
    mimamori::config::parse(&text, "aoulu-with-exclusions.yaml").unwrap()
}

/// On-call acts on every outage whatever the cause later turns out to be: the
/// rules (recording rules, burn-rate alerts) are the same with or without exclusions.
#[test]
fn alerts_are_the_same_with_or_without_exclusions() {
    use mimamori::generate::{self, grafana};
    use mimamori::slo::plan;
    let base = crate::common::dashboards::aoulu();
    let with = aoulu_with_exclusions();
    assert_eq!(with.exclusions.len(), 2);
    let rules = |cfg: &mimamori::config::Config| -> Vec<(String, String)> {
        generate::rule_files(cfg, &plan::plans(cfg))
            .unwrap()
            .into_iter()
            .map(|(name, rf)| (name, rf.to_yaml().unwrap()))
            .collect()
    };
    let (a, b) = (rules(&base), rules(&with));
    assert!(a
        .iter()
        .any(|(n, y)| n == "hanbai.yml" && y.contains("MimamoriAvailabilityFastBurn")));
    assert_eq!(a, b, "exclusions must not change a rule or an alert");

    // The overview's budget panels show both figures once an exclusion exists;
    // every other dashboard is unchanged.
    let (da, db) = (grafana::dashboards(&base), grafana::dashboards(&with));
    for ((pa, ta), (pb, tb)) in da.iter().zip(&db) {
        assert_eq!(pa, pb);
        if !pa.contains("overview") {
            assert_eq!(ta, tb, "{pa}");
        }
    }
    let overview = &db.iter().find(|(p, _)| p.contains("overview")).unwrap().1;
    assert!(!da.iter().any(|(_, t)| t.contains("SLO 対象外を除く")));
    let v: Value = serde_json::from_str(overview).unwrap();
    let targets = |title: &str, service: &str| -> Vec<String> {
        v["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["title"].as_str().is_some_and(|t| t.starts_with(title)))
            .flat_map(|p| p["targets"].as_array().unwrap().clone())
            .map(|t| t["expr"].as_str().unwrap().to_string())
            .filter(|e| e.contains(&format!("service=\"{service}\"")))
            .collect()
    };
    let left = targets("残りエラーバジェット", "hanbai");
    assert_eq!(left.len(), 2, "{left:?}");
    let adjusted = &left[1];
    // hanbai's two spans, denshibin's one (a minute-step subquery reads (t − 1m, t]).
    let span = format!(
        "vector(time()) > {} and vector(time()) <= {}",
        jst("2026-11-05T10:00:00"),
        jst("2026-11-05T10:10:00")
    );
    let quake = format!("vector(time()) > {}", jst("2026-11-20T03:00:00"));
    assert!(adjusted.contains(&span), "{adjusted}");
    assert!(adjusted.contains(&quake), "{adjusted}");
    let left = targets("残りエラーバジェット", "denshibin");
    assert!(left[1].contains(&span), "{}", left[1]);
    assert!(!left[1].contains(&quake), "{}", left[1]);
    assert_eq!(targets("バジェット消費率", "hanbai").len(), 2);

    // The new queries parse (promtool) and the dashboard keeps the Grafana schema.
    let queries = crate::common::dashboards::queries_of(&db);
    let new: Vec<_> = queries
        .iter()
        .filter(|q| q.expr.contains("and on () ((vector(time()) >"))
        .collect();
    assert_eq!(
        new.len(),
        4,
        "{:?}",
        new.iter().map(|q| &q.place).collect::<Vec<_>>()
    );
    if let Some(promtool) = crate::common::tools::tool("promtool") {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("q.yaml");
        let rules: Vec<Value> = new
            .iter()
            .enumerate()
            .map(|(i, q)| serde_json::json!({"record": format!("q_{i}"), "expr": q.expr}))
            .collect();
        let doc = serde_json::json!({"groups": [{"name": "q", "rules": rules}]});
        std::fs::write(&file, serde_json::to_string(&doc).unwrap()).unwrap();
        let out = Command::new(promtool)
            .args(["check", "rules"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if let Some((node, folder)) = crate::common::tools::npm_folder("grafana-schema") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("overview.json"), overview).unwrap();
        let out = Command::new(node)
            .arg(folder.join("check.mjs"))
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The overview's adjusted budget figures, evaluated by a real Prometheus on a
/// backfilled `mimamori:slo_availability_errors`: a 20-minute outage of which
/// the first 10 minutes are inside the carrier exclusion.
#[test]
fn the_budget_panels_adjusted_figure_against_a_real_prometheus() {
    use mimamori::generate::grafana;
    let (start, end) = (jst("2026-11-05T08:00:00"), jst("2026-11-05T12:00:00"));
    let points: Vec<(i64, f64)> = (0..)
        .map(|k| start + OFFSET + k * 15)
        .take_while(|t| *t < end)
        .map(|t| {
            let failing = (jst("2026-11-05T10:00:00")..jst("2026-11-05T10:20:00")).contains(&t);
            (t, if failing { 1.0 } else { 0.0 })
        })
        .collect();
    let set = vec![(
        "mimamori:slo_availability_errors{service=\"hanbai\"}".to_string(),
        points,
    )];
    let prom = prometheus::start_backfilled(&[set], start, end);
    let dashboards = grafana::dashboards(&aoulu_with_exclusions());
    let overview: Value = serde_json::from_str(
        &dashboards
            .iter()
            .find(|(p, _)| p.contains("overview"))
            .unwrap()
            .1,
    )
    .unwrap();
    let expr = |title: &str, legend: &str| -> String {
        overview["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["title"].as_str().is_some_and(|t| t.starts_with(title)))
            .flat_map(|p| p["targets"].as_array().unwrap().clone())
            .find(|t| {
                t["legendFormat"].as_str() == Some(legend)
                    && t["expr"].as_str().unwrap().contains("service=\"hanbai\"")
            })
            .unwrap_or_else(|| panic!("{title} / {legend}"))["expr"]
            .as_str()
            .unwrap()
            .replace("$__range", "3h")
    };
    let client = mimamori::query::Client::new(&mimamori::query::ClientOptions {
        url: prom.url.clone(),
        basic_auth_user: None,
        basic_auth_password_file: None,
        bearer_token_file: None,
        headers: Vec::new(),
        ca_file: None,
        timeout: std::time::Duration::from_secs(30),
    })
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let at = jst("2026-11-05T11:30:00");
    let value = |e: String| -> f64 {
        let v = rt.block_on(client.query(&e, at)).unwrap();
        assert_eq!(v.len(), 1, "{e}: {v:?}");
        v[0].value
    };
    // November's budget: 0.01 % of 30 days = 259.2 s; 1,200 s failed, 600 s of it excluded.
    let left = value(expr("残りエラーバジェット", "残り / Left"));
    let adjusted = value(expr(
        "残りエラーバジェット",
        "残り（SLO 対象外を除く） / Left, exclusions set aside",
    ));
    assert!((left - (259.2 - 1200.0)).abs() < 1e-6, "{left}");
    assert!((adjusted - (259.2 - 600.0)).abs() < 1e-6, "{adjusted}");
    let spent = value(expr(
        "バジェット消費率",
        "消費（SLO 対象外を除く） / Spent, exclusions set aside",
    ));
    assert!((spent - 600.0 / 259.2).abs() < 1e-9, "{spent}");
}
