//! Queries of the generated dashboards, as Grafana would send them, and a
//! check of all of them against a live Prometheus (used by tests/it/dashboards.rs
//! and by the end-to-end stack in tests/e2e.rs).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use mimamori::generate::grafana;
use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn aoulu() -> mimamori::config::Config {
    mimamori::config::load(&root().join("deploy/aoulu.yaml")).expect("deploy/aoulu.yaml loads")
}

pub fn generated() -> Vec<(String, String)> {
    grafana::dashboards(&aoulu())
}

/// One PromQL query found in a dashboard, with where it came from.
#[derive(Debug, Clone)]
pub struct Query {
    /// `uid / panel title / refId` (or annotation / variable name).
    pub place: String,
    /// The panel title, for deciding which panels must return data.
    pub panel: String,
    /// The query with Grafana variables substituted.
    pub expr: String,
}

/// Sample values for Grafana's variables, as Grafana would substitute them
/// for the hour before now.
pub fn substitute(expr: &str, place: &str) -> String {
    let now_ms = u64::try_from(
        mimamori::clock::system_now()
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
pub fn queries(dashboard: &Value) -> Vec<Query> {
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
        if a["builtIn"] == 1 {
            continue;
        }
        // Prometheus annotations keep their query in `target`, as Grafana saves them.
        let place = format!("{uid} / annotation {}", a["name"].as_str().unwrap());
        let expr = a["target"]["expr"]
            .as_str()
            .unwrap_or_else(|| panic!("{place}: no target.expr"));
        out.push(Query {
            expr: substitute(expr, &place),
            place,
            panel: String::new(),
        });
    }
    let label_values = regex::Regex::new(r"^label_values\((.+),\s*\w+\)$").unwrap();
    for v in dashboard["templating"]["list"].as_array().unwrap() {
        if v["type"] != "query" {
            continue;
        }
        let place = format!("{uid} / variable {}", v["name"].as_str().unwrap());
        let def = v["query"]["query"].as_str().unwrap();
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

pub fn all_queries() -> Vec<Query> {
    queries_of(&generated())
}

pub fn queries_of(dashboards: &[(String, String)]) -> Vec<Query> {
    dashboards
        .iter()
        .flat_map(|(_, text)| queries(&serde_json::from_str(text).unwrap()))
        .collect()
}

/// Panels that must return data once mimamori has been scraped and the rules
/// evaluated for a few minutes (the others may legitimately be empty: no
/// failures, no TLS facts yet, no skipped runs).
pub const CORE_PANELS: &[&str] = &[
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
pub fn live_query(base: &str, expr: &str) -> Result<usize, String> {
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

/// What the dashboard queries got from a live Prometheus.
pub struct LiveResults {
    /// Queries Prometheus refused, with its error.
    pub failed: Vec<String>,
    /// Queries of the core panels that returned no data.
    pub empty: Vec<String>,
}

/// Whether `q` is a query of one of the [`CORE_PANELS`].
pub fn is_core(q: &Query) -> bool {
    CORE_PANELS.iter().any(|p| q.panel.starts_with(p))
}

/// `queries` against the Prometheus at `url`.
pub fn live_results(url: &str, queries: &[Query]) -> LiveResults {
    let mut failed = Vec::new();
    let mut empty = Vec::new();
    for q in queries {
        match live_query(url, &q.expr) {
            Err(e) => failed.push(format!("{}: {e}\n    {}", q.place, q.expr)),
            Ok(0) if is_core(q) => empty.push(format!("{}\n    {}", q.place, q.expr)),
            Ok(_) => {}
        }
    }
    LiveResults { failed, empty }
}

/// Every dashboard query against the Prometheus at `url`: none may fail, and
/// the core panels must return data.
pub fn live_check(url: &str) -> Result<(), String> {
    let LiveResults { failed, empty } = live_results(url, &all_queries());
    if !failed.is_empty() {
        return Err(format!("queries failed:\n{}", failed.join("\n")));
    }
    if !empty.is_empty() {
        return Err(format!(
            "core panels returned no data:\n{}",
            empty.join("\n")
        ));
    }
    Ok(())
}
