//! The generated Grafana dashboards: valid JSON, snapshot-tested, equal to the
//! committed `dashboards/`, and every query valid PromQL by the real `promtool`
//! (and, when `MIMAMORI_PROMETHEUS_URL` is set, answered by a live Prometheus).
//!
//! Update the committed files and snapshots with
//! `MIMAMORI_BLESS=1 cargo test --test dashboards` and `cargo insta review`
//! (or `INSTA_UPDATE=always`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mimamori::generate::grafana;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn aoulu() -> mimamori::config::Config {
    mimamori::config::load(&root().join("deploy/aoulu.yaml")).expect("deploy/aoulu.yaml loads")
}

fn generated() -> Vec<(String, String)> {
    grafana::dashboards(&aoulu())
}

/// One PromQL query found in a dashboard, with where it came from.
#[derive(Debug, Clone)]
struct Query {
    /// `uid / panel title / refId` (or annotation / variable name).
    place: String,
    /// The panel title, for deciding which panels must return data.
    panel: String,
    /// The query with Grafana variables substituted.
    expr: String,
}

/// Sample values for Grafana's variables, as Grafana would substitute them
/// for the hour before now.
fn substitute(expr: &str, place: &str) -> String {
    let now_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let values: BTreeMap<&str, String> = [
        ("service", "hanbai".to_string()),
        ("location", ".+".to_string()),
        ("step", ".+".to_string()),
        ("__range", "1h".to_string()),
        ("__range_s", "3600".to_string()),
        ("__range_ms", "3600000".to_string()),
        ("__rate_interval", "1m".to_string()),
        ("__interval", "1m".to_string()),
        ("__interval_ms", "60000".to_string()),
        ("__from", (now_ms - 3_600_000).to_string()),
        ("__to", now_ms.to_string()),
    ]
    .into_iter()
    .collect();
    let var = regex::Regex::new(r"\$(?:\{(\w+)(?::[^}]*)?\}|(\w+))").unwrap();
    var.replace_all(expr, |c: &regex::Captures<'_>| {
        let name = c.get(1).or_else(|| c.get(2)).unwrap().as_str();
        values
            .get(name)
            .unwrap_or_else(|| panic!("{place}: unknown Grafana variable ${name} in {expr}"))
            .clone()
    })
    .into_owned()
}

/// Every query of a dashboard: panel targets, annotations and variables.
fn queries(dashboard: &Value) -> Vec<Query> {
    let uid = dashboard["uid"].as_str().unwrap();
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().unwrap() {
        let title = p["title"].as_str().unwrap_or_default();
        for t in p["targets"].as_array().into_iter().flatten() {
            let place = format!("{uid} / {title} / {}", t["refId"].as_str().unwrap());
            let expr = t["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{place}: no expr"));
            out.push(Query {
                expr: substitute(expr, &place),
                place,
                panel: title.to_string(),
            });
        }
    }
    for a in dashboard["annotations"]["list"].as_array().unwrap() {
        if let Some(expr) = a["expr"].as_str() {
            let place = format!("{uid} / annotation {}", a["name"].as_str().unwrap());
            out.push(Query {
                expr: substitute(expr, &place),
                place,
                panel: String::new(),
            });
        }
    }
    let label_values = regex::Regex::new(r"^label_values\((.+),\s*\w+\)$").unwrap();
    for v in dashboard["templating"]["list"].as_array().unwrap() {
        if v["type"] != "query" {
            continue;
        }
        let place = format!("{uid} / variable {}", v["name"].as_str().unwrap());
        let def = v["definition"].as_str().unwrap();
        let selector = label_values.captures(def).unwrap_or_else(|| {
            panic!("{place}: expected label_values(selector, label), got {def}")
        });
        out.push(Query {
            expr: substitute(&selector[1], &place),
            place,
            panel: String::new(),
        });
    }
    out
}

fn all_queries() -> Vec<Query> {
    queries_of(&generated())
}

fn queries_of(dashboards: &[(String, String)]) -> Vec<Query> {
    dashboards
        .iter()
        .flat_map(|(_, text)| queries(&serde_json::from_str(text).unwrap()))
        .collect()
}

/// The shipped config changed so that no two services share their numbers:
/// the queries take their per-service forms.
fn uneven() -> Vec<(String, String)> {
    let mut cfg = aoulu();
    cfg.services[1].objectives.availability = 99.9;
    cfg.services[1].objectives.latency.threshold =
        mimamori::config::Dur(Duration::from_millis(2500));
    let burn: Vec<grafana::BurnThreshold> = cfg
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| grafana::BurnThreshold {
            service: s.name.clone(),
            slo: "availability",
            severity: "page",
            long: "1h",
            short: "5m",
            burn: 14.4 * (i + 1) as f64,
        })
        .collect();
    grafana::dashboards_with(&cfg, &burn)
}

/// Runs `promtool check rules` on the queries wrapped as recording rules.
fn promtool_check(queries: &[Query]) -> Result<(), String> {
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard-queries.yaml");
    let rules: Vec<Value> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| serde_json::json!({"record": format!("dashboard_query_{i}"), "expr": q.expr}))
        .collect();
    let doc = serde_json::json!({"groups": [{"name": "dashboard-queries", "rules": rules}]});
    // JSON is YAML, and keeps every query on one line for promtool's messages.
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = Command::new(&promtool)
        .arg("check")
        .arg("rules")
        .arg(&file)
        .output()
        .map_err(|e| {
            format!("cannot run `{promtool}` ({e}): install Prometheus' promtool (Debian: apt-get install prometheus) or set PROMTOOL")
        })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let index = regex::Regex::new(r"dashboard_query_(\d+)").unwrap();
    let mut msg = format!(
        "promtool check rules failed:\n{stderr}{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for c in index.captures_iter(&stderr) {
        let q = &queries[c[1].parse::<usize>().unwrap()];
        msg.push_str(&format!("\n  {}: {}", q.place, q.expr));
    }
    Err(msg)
}

#[test]
fn dashboards_are_valid_json_and_match_the_snapshots() {
    for (path, text) in generated() {
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            v["panels"].as_array().is_some_and(|p| !p.is_empty()),
            "{path}: no panels"
        );
        let name = Path::new(&path)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn committed_dashboards_match_the_shipped_config() {
    let bless = std::env::var_os("MIMAMORI_BLESS").is_some();
    for (path, text) in generated() {
        let file = root().join(&path);
        if bless {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &text).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            committed == text,
            "{path} differs from what deploy/aoulu.yaml generates; run `MIMAMORI_BLESS=1 cargo test --test dashboards` (or `mimamori generate`)"
        );
    }
}

#[test]
fn every_query_is_valid_promql_by_promtool() {
    let queries = all_queries();
    assert!(queries.len() > 40, "found only {} queries", queries.len());
    for q in &queries {
        assert!(
            !q.expr.contains('$'),
            "{}: unsubstituted variable in {}",
            q.place,
            q.expr
        );
    }
    if let Err(e) = promtool_check(&queries) {
        panic!("{e}");
    }
}

#[test]
fn per_service_forms_are_valid_promql_by_promtool() {
    let queries = queries_of(&uneven());
    let service = queries
        .iter()
        .map(|q| q.expr.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        service.contains(r#"le=~"2\\.5""#),
        "the 2.5 s bucket is read"
    );
    assert!(
        service.contains("vector(28.8)"),
        "the per-service threshold series is drawn"
    );
    if let Err(e) = promtool_check(&queries) {
        panic!("{e}");
    }
}

#[test]
fn every_query_parses_with_the_rust_promql_parser() {
    for q in all_queries().into_iter().chain(queries_of(&uneven())) {
        if let Err(e) = promql_parser::parser::parse(&q.expr) {
            panic!("{}: {e}\n  {}", q.place, q.expr);
        }
    }
}

#[test]
fn the_promtool_check_catches_a_broken_query() {
    let broken = Query {
        place: "test / broken".into(),
        panel: String::new(),
        expr: "sum(rate(mimamori_probe_success[5m])".into(),
    };
    let err = promtool_check(&[broken]).expect_err("an unclosed paren must fail");
    assert!(err.contains("promtool check rules failed"), "{err}");
}

#[test]
fn every_variable_used_is_defined_on_its_dashboard() {
    let builtin = [
        "__range",
        "__range_s",
        "__range_ms",
        "__rate_interval",
        "__interval",
        "__interval_ms",
        "__from",
        "__to",
        "__url_time_range",
    ];
    let var = regex::Regex::new(r"\$(?:\{(\w+)(?::[^}]*)?\}|(\w+))").unwrap();
    for (path, text) in generated().into_iter().chain(uneven()) {
        let d: Value = serde_json::from_str(&text).unwrap();
        let defined: Vec<&str> = d["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        for c in var.captures_iter(&text) {
            let name = c.get(1).or_else(|| c.get(2)).unwrap().as_str();
            assert!(
                defined.contains(&name) || builtin.contains(&name),
                "{path}: ${name} is used but not defined"
            );
        }
    }
}

#[test]
fn variables_are_substituted_like_grafana_does() {
    assert_eq!(
        substitute(
            "x{service=\"$service\",location=~\"${location}\"}[$__range] / $__interval_ms",
            "t"
        ),
        "x{service=\"hanbai\",location=~\".+\"}[1h] / 60000"
    );
}

// ---------------------------------------------------------------------------
// Live Prometheus
// ---------------------------------------------------------------------------

/// Panels that must return data once mimamori has been scraped and the rules
/// evaluated for a few minutes (the others may legitimately be empty: no
/// failures, no TLS facts yet, no skipped runs).
const CORE_PANELS: &[&str] = &[
    "今月の稼働率",
    "残りエラーバジェット",
    "バジェット消費率",
    "現在の状態",
    "拠点別",
    "サービスの状態",
    "今月のエラーバジェット残り",
    "期間の稼働率",
    "期間の障害時間",
    "拠点別の状態",
    "操作ごとの応答時間",
    "報告中の拠点",
    "拠点ごとの報告",
    "設定の再読み込み",
    "バージョン",
];

/// Runs an instant query; returns the number of result series or Prometheus' error.
fn live_query(base: &str, expr: &str) -> Result<usize, String> {
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs are supported, got {base}"))?;
    let (host, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let mut stream = TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // HTTP/1.0: the answer is not chunked and the server closes the connection.
    write!(
        stream,
        "GET {prefix}/api/v1/query?query={} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n",
        percent_encode(expr)
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or("no HTTP body")?;
    let v: Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
    if v["status"] != "success" {
        return Err(format!("{}: {}", v["errorType"], v["error"]));
    }
    Ok(match &v["data"]["result"] {
        Value::Array(a) => a.len(),
        _ => 1, // scalar or string
    })
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every query against the Prometheus at `MIMAMORI_PROMETHEUS_URL` (set by the
/// end-to-end stack test, with `mimamori demo` scraped and the generated rules
/// loaded): none may fail, and the core panels must return data.
#[test]
fn every_query_runs_against_a_live_prometheus() {
    let Ok(url) = std::env::var("MIMAMORI_PROMETHEUS_URL") else {
        eprintln!("note: MIMAMORI_PROMETHEUS_URL is not set; live dashboard queries skipped");
        return;
    };
    let mut errors = Vec::new();
    let mut empty = Vec::new();
    for q in all_queries() {
        match live_query(&url, &q.expr) {
            Err(e) => errors.push(format!("{}: {e}\n    {}", q.place, q.expr)),
            Ok(0) if CORE_PANELS.iter().any(|p| q.panel.starts_with(p)) => {
                empty.push(format!("{}\n    {}", q.place, q.expr))
            }
            Ok(_) => {}
        }
    }
    assert!(errors.is_empty(), "queries failed:\n{}", errors.join("\n"));
    assert!(
        empty.is_empty(),
        "core panels returned no data:\n{}",
        empty.join("\n")
    );
}
