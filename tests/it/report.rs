//! `mimamori report` against a real Prometheus holding a synthetic month.
//!
//! One generator writes OpenMetrics text for a few services (one scenario
//! each, three locations), `promtool tsdb create-blocks-from openmetrics`
//! turns it into blocks, and one Prometheus (Debian's 2.42, under a path
//! prefix) serves them to every scenario. Figures are asserted to the second.

#![allow(
    clippy::disallowed_methods,
    reason = "how long the report takes against a real Prometheus is a wall-clock time"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chrono::DateTime;
use serde_json::Value;

use crate::common::prometheus::{self, free_port, Prometheus, SeriesSet};

const LOCATIONS: [&str; 3] = ["fukuoka", "osaka", "tokyo"];
/// Samples sit 7 s after the step grid, as scrapes would: never on a boundary.
const OFFSET: i64 = 7;
/// Latency counters are written every 10 minutes (their resolution does not matter).
const COUNTER_EVERY: i64 = 600;

fn jst(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(&format!("{s}+09:00"))
        .unwrap()
        .timestamp()
}

/// Failing from `from` (included) to `to` (excluded) at these locations.
struct Outage {
    locations: &'static [&'static str],
    from: i64,
    to: i64,
    reason: &'static str,
}

struct Scenario {
    service: &'static str,
    outages: Vec<Outage>,
    /// No sample from any location.
    gaps: Vec<(i64, i64)>,
    /// Slow operations in the month (one per counter sample from the month's second sample).
    slow: u32,
    /// The latency counters restart from zero mid-month.
    reset: bool,
    /// Every prober down (Prometheus scrapes them and records `up == 0`, no results).
    /// Such a scenario's samples sit late in their step (100 s of 120 s), where the
    /// freshness window alone would carry the last result one step further.
    down: Vec<(i64, i64)>,
    /// (location, from, to): that location's prober is blind (every
    /// self-check target fails, `mimamori_prober_healthy 0`).
    blind: Vec<(&'static str, i64, i64)>,
    /// (from, to): every prober's scrape fails once at `from` (`up` 0) and
    /// then `up` has no sample until `to`, while results keep coming: the
    /// failed scrape drops them for Prometheus' lookback delta.
    up_gone: Vec<(i64, i64)>,
    /// Seconds after the step grid the samples sit (default [`OFFSET`]).
    offset: Option<i64>,
}

struct Data {
    start: i64,
    end: i64,
    interval: i64,
}

fn scenarios() -> Vec<Scenario> {
    let all: &[&str] = &LOCATIONS;
    let s = |service, outages, gaps, slow, reset| Scenario {
        service,
        outages,
        gaps,
        slow,
        reset,
        down: vec![],
        blind: vec![],
        up_gone: vec![],
        offset: None,
    };
    let o = |locations, from: &str, to: &str, reason| Outage {
        locations,
        from: jst(from),
        to: jst(to),
        reason,
    };
    vec![
        s(
            "full",
            vec![o(
                all,
                "2026-11-05T10:00:00",
                "2026-11-05T10:10:00",
                "timeout",
            )],
            vec![],
            0,
            false,
        ),
        s(
            "one",
            vec![o(
                &["tokyo"],
                "2026-11-06T09:00:00",
                "2026-11-06T10:00:00",
                "dns",
            )],
            vec![],
            0,
            false,
        ),
        s(
            "maint",
            // Inside the planned 01:00–05:00 window, and 30 s past its end.
            vec![o(
                all,
                "2026-11-10T02:00:00",
                "2026-11-10T05:00:30",
                "status",
            )],
            vec![],
            0,
            false,
        ),
        s(
            "late",
            vec![o(
                all,
                "2026-11-12T01:00:00",
                "2026-11-12T01:30:00",
                "connect",
            )],
            vec![],
            0,
            false,
        ),
        s(
            "two",
            vec![o(
                &["osaka", "tokyo"],
                "2026-11-15T12:00:00",
                "2026-11-15T12:04:00",
                "status",
            )],
            vec![],
            0,
            false,
        ),
        s(
            "edge",
            vec![
                // UTC Oct 31 14:50–15:30: 10 minutes of October, 30 of November in Tokyo.
                o(all, "2026-10-31T23:50:00", "2026-11-01T00:30:00", "timeout"),
                o(all, "2026-11-30T23:44:00", "2026-12-01T00:14:00", "timeout"),
            ],
            vec![],
            0,
            false,
        ),
        s(
            "gap",
            vec![],
            vec![(jst("2026-11-20T00:00:00"), jst("2026-11-20T02:00:00"))],
            0,
            false,
        ),
        s("slow", vec![], vec![], 432, false),
        s("fast", vec![], vec![], 431, true),
        Scenario {
            down: vec![(jst("2026-11-25T03:00:00"), jst("2026-11-25T04:00:00"))],
            ..s("down", vec![], vec![], 0, false)
        },
        // Tokyo loses its uplink for an hour: its probes all fail and so do its
        // self-checks. Meanwhile osaka alone sees failures (no outage: tokyo's
        // failures are unknown, not a second vote), then osaka and fukuoka see
        // a real 4-minute outage (judged by the two that still see).
        Scenario {
            blind: vec![(
                "tokyo",
                jst("2026-11-18T10:00:00"),
                jst("2026-11-18T11:00:00"),
            )],
            ..s(
                "blind",
                vec![
                    o(
                        &["tokyo"],
                        "2026-11-18T10:00:00",
                        "2026-11-18T11:00:00",
                        "connect",
                    ),
                    o(
                        &["osaka"],
                        "2026-11-18T10:00:00",
                        "2026-11-18T10:30:00",
                        "status",
                    ),
                    // Two reasons, one location each, so the blind tokyo's
                    // `connect` (first in name order) would win a tie.
                    o(
                        &["osaka"],
                        "2026-11-18T10:40:00",
                        "2026-11-18T10:44:00",
                        "status",
                    ),
                    o(
                        &["fukuoka"],
                        "2026-11-18T10:40:00",
                        "2026-11-18T10:44:00",
                        "tls",
                    ),
                ],
                vec![],
                0,
                false,
            )
        },
    ]
}

/// Every series of a scenario.
fn series(sc: &Scenario, d: &Data) -> SeriesSet {
    let mut out = Vec::new();
    let offset = sc
        .offset
        .unwrap_or(if sc.down.is_empty() { OFFSET } else { 100 });
    let times: Vec<i64> = (0..)
        .map(|k| d.start + offset + k * d.interval)
        .take_while(|t| *t < d.end)
        .collect();
    let is_down = |t: i64| sc.down.iter().any(|&(a, b)| a <= t && t < b);
    for loc in LOCATIONS {
        let mut labels = format!(
            "service=\"{}\",transaction=\"t\",location=\"{loc}\"",
            sc.service
        );
        if !sc.down.is_empty() || !sc.up_gone.is_empty() {
            let target = format!("job=\"mimamori\",instance=\"{loc}-{}:9732\"", sc.service);
            let gone = |t: i64| {
                sc.up_gone
                    .iter()
                    .any(|&(a, b)| a + d.interval <= t && t < b)
            };
            let failed = |t: i64| {
                sc.up_gone
                    .iter()
                    .any(|&(a, _)| a <= t && t < a + d.interval)
            };
            let up = times
                .iter()
                .filter(|&&t| !gone(t))
                .map(|&t| (t, if is_down(t) || failed(t) { 0.0 } else { 1.0 }))
                .collect();
            out.push((format!("up{{{target}}}"), up));
            labels = format!("{labels},{target}");
        }
        if !sc.blind.is_empty() {
            let target = format!("job=\"mimamori\",instance=\"{loc}-{}:9732\"", sc.service);
            let blind = |t: i64| {
                sc.blind
                    .iter()
                    .any(|&(l, a, b)| l == loc && a <= t && t < b)
            };
            let healthy = times
                .iter()
                .map(|&t| (t, if blind(t) { 0.0 } else { 1.0 }))
                .collect();
            out.push((
                format!("mimamori_prober_healthy{{location=\"{loc}\",{target}}}"),
                healthy,
            ));
            labels = format!("{labels},{target}");
        }
        let fails = |t: i64| {
            sc.outages
                .iter()
                .any(|o| o.locations.contains(&loc) && o.from <= t && t < o.to)
        };
        let points = times
            .iter()
            .filter(|&&t| !sc.gaps.iter().any(|&(a, b)| a <= t && t < b) && !is_down(t))
            .map(|&t| (t, if fails(t) { 0.0 } else { 1.0 }))
            .collect();
        out.push((format!("mimamori_probe_success{{{labels}}}"), points));
        // Failure counters near the outages only: enough for increase() while failing.
        let mut reasons: Vec<&str> = sc
            .outages
            .iter()
            .filter(|o| o.locations.contains(&loc))
            .map(|o| o.reason)
            .collect();
        reasons.dedup();
        for reason in reasons {
            let mut count = 0.0;
            let mut points = Vec::new();
            for &t in &times {
                let mine = |o: &&Outage| o.locations.contains(&loc) && o.reason == reason;
                if sc
                    .outages
                    .iter()
                    .filter(mine)
                    .any(|o| o.from <= t && t < o.to)
                {
                    count += 1.0;
                }
                if sc
                    .outages
                    .iter()
                    .filter(mine)
                    .any(|o| o.from - 600 <= t && t < o.to + 600)
                {
                    points.push((t, count));
                }
            }
            out.push((
                format!("mimamori_probe_failures_total{{{labels},reason=\"{reason}\"}}"),
                points,
            ));
        }
    }
    // Latency counters, one location: 10 operations per sample, `slow` of the month's slow.
    let month_start = jst("2026-11-01T00:00:00");
    let ctimes: Vec<i64> = (0..)
        .map(|k| d.start + OFFSET + k * COUNTER_EVERY)
        .take_while(|t| *t < d.end)
        .collect();
    let first = ctimes.iter().position(|t| *t >= month_start).unwrap();
    let reset_at = first + 2000;
    let (mut total, mut good) = (0.0, 0.0);
    let (mut tp, mut gp) = (Vec::new(), Vec::new());
    for (j, &t) in ctimes.iter().enumerate() {
        if sc.reset && j == reset_at {
            (total, good) = (0.0, 0.0);
        }
        let slow = if j > first && j <= first + sc.slow as usize {
            1.0
        } else {
            0.0
        };
        total += 10.0;
        good += 10.0 - slow;
        tp.push((t, total));
        gp.push((t, good));
    }
    let labels = format!(
        "service=\"{}\",transaction=\"t\",location=\"tokyo\",step=\"s\",result=\"success\"",
        sc.service
    );
    out.push((
        format!("mimamori_step_duration_seconds_count{{{labels}}}"),
        tp,
    ));
    out.push((
        format!("mimamori_step_duration_seconds_bucket{{{labels},le=\"3\"}}"),
        gp,
    ));
    out
}

/// Backfills `scenarios` and serves them under the path prefix `/prom`.
fn start(scenarios: &[Scenario], d: &Data) -> Prometheus {
    let all: Vec<_> = scenarios.iter().map(|s| series(s, d)).collect();
    prometheus::start_backfilled(&all, d.start, d.end)
}

const CONFIG: &str = r#"
global:
  interval: 60s
  timeout: 30s
alerting:
  locations: [fukuoka, osaka, tokyo]
services:
SERVICES
"#;

const MAINTENANCE: &str = r#"
maintenance:
  - services: [maint]
    start: 2026-11-10T01:00:00+09:00
    end: 2026-11-10T05:00:00+09:00
    announced_at: 2026-04-01T10:00:00+09:00
    announced_via: ご利用ガイド メンテナンス情報
    title: {ja: 定期メンテナンス, en: Scheduled maintenance}
  - services: [late]
    start: 2026-11-12T01:00:00+09:00
    end: 2026-11-12T03:00:00+09:00
    announced_at: 2026-09-01T10:00:00+09:00
    announced_via: ご利用ガイド メンテナンス情報
    title: {ja: 臨時メンテナンス, en: Extra maintenance}
"#;

fn write_config(dir: &Path, services: &[&str], interval: &str) -> PathBuf {
    let svcs: String = services
        .iter()
        .map(|s| {
            format!(
                "  - name: {s}\n    display_name: {{ja: {s} 日本語, en: {s} English}}\n    transactions:\n      - name: t\n        interval: {interval}\n        timeout: 10s\n        steps:\n          - {{name: s, url: 'https://{s}.invalid/'}}\n"
            )
        })
        .collect();
    let path = dir.join("mimamori.yaml");
    let mut text = CONFIG.replace("SERVICES\n", &svcs);
    if services.contains(&"maint") {
        text.push_str(MAINTENANCE);
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn report(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_report(cfg: &Path, url: &str, month: &str, service: &str) -> (i32, Value) {
    let (code, out, err) = report(&[
        "--config",
        cfg.to_str().unwrap(),
        "--prometheus.url",
        url,
        "--prometheus.header",
        "X-Scope-OrgID=test",
        "--month",
        month,
        "--format",
        "json",
        "--service",
        service,
    ]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v["services"][0].clone())
}

fn n(v: &Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or_else(|| panic!("{k} in {v}"))
}

const NOV: i64 = 30 * 86400;

/// `text` without the terminal colours of the log.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// The whole month of every service, as JSON, and the queries it took and
/// the range-query points it decoded
/// (`MIMAMORI_FULL_RESOLUTION=1`: no quiet-hour checks, every step asked).
fn month_json(cfg: &Path, url: &str, full_resolution: bool) -> (Value, (u64, u64)) {
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .env(
            "MIMAMORI_FULL_RESOLUTION",
            if full_resolution { "1" } else { "0" },
        )
        .args([
            "report",
            "--config",
            cfg.to_str().unwrap(),
            "--prometheus.url",
        ])
        .arg(url)
        .args(["--month", "2026-11", "--format", "json"])
        .args(["--log.level", "mimamori=debug"])
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    let plain = plain(&err);
    let count = |what: &str| -> u64 {
        plain
            .lines()
            .filter(|l| l.contains("report done"))
            .find_map(|l| {
                l.split(what)
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no {what} in {err}"))
    };
    (v["services"].clone(), (count("queries="), count("points=")))
}

/// Hours proved quiet by the cheap per-hour checks are skipped; the figures
/// are exactly those of asking every step. Every scenario above plus
/// incidents, gaps and failed scrapes at hour edges, over 60 s data, on
/// Prometheus servers with three lookback deltas (how far a failed scrape's
/// `up == 0` reaches).
#[test]
fn quiet_hours_give_the_figures_of_full_resolution() {
    let data = Data {
        start: jst("2026-10-31T00:00:00"),
        end: jst("2026-12-01T09:00:00"),
        interval: 60,
    };
    let all: &'static [&'static str] = &LOCATIONS;
    let o = |locations, from: &str, to: &str, reason| Outage {
        locations,
        from: jst(from),
        to: jst(to),
        reason,
    };
    let quiet = |service| Scenario {
        service,
        outages: vec![],
        gaps: vec![],
        slow: 0,
        reset: false,
        down: vec![],
        blind: vec![],
        up_gone: vec![],
        offset: None,
    };
    let mut scenarios = scenarios();
    // Samples 50 s into each minute, so a result is read by the step after
    // next when its successor is missing: across an hour's edge.
    scenarios.push(Scenario {
        outages: vec![
            // The last step of an hour.
            o(all, "2026-11-03T09:59:00", "2026-11-03T10:00:00", "timeout"),
            // 10:59:50 failing, 11:00:50 missing: the first step of the next hour fails.
            o(all, "2026-11-03T10:59:30", "2026-11-03T11:00:00", "timeout"),
            // Two locations, across the hour.
            o(
                &["osaka", "tokyo"],
                "2026-11-03T11:59:30",
                "2026-11-03T12:01:00",
                "status",
            ),
            // One location only: no failure, but not a quiet hour either.
            o(
                &["fukuoka"],
                "2026-11-03T13:59:30",
                "2026-11-03T14:00:00",
                "dns",
            ),
        ],
        gaps: vec![
            (jst("2026-11-03T11:00:00"), jst("2026-11-03T11:01:00")),
            // Unknown: the first step of an hour, the last, and one inside.
            (jst("2026-11-04T11:59:00"), jst("2026-11-04T12:01:00")),
            (jst("2026-11-04T13:58:00"), jst("2026-11-04T14:00:00")),
            (jst("2026-11-04T15:30:00"), jst("2026-11-04T15:32:00")),
        ],
        offset: Some(50),
        ..quiet("hours")
    });
    // A failed scrape, then no scrape at all while results keep coming: the
    // results are dropped for the lookback delta, into the next hour for 15m.
    scenarios.push(Scenario {
        up_gone: vec![
            (jst("2026-11-26T05:50:00"), jst("2026-11-26T08:00:00")),
            (jst("2026-11-27T05:58:00"), jst("2026-11-27T06:30:00")),
        ],
        ..quiet("gone")
    });
    let prom = start(&scenarios, &data);
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<&str> = scenarios.iter().map(|s| s.service).collect();
    let cfg = write_config(dir.path(), &names, "60s");
    let mut gone_unknown = Vec::new();
    let mut prom = Some(prom);
    for lookback in ["5m", "15m", "1m"] {
        let p = prom.take().unwrap();
        let p = if lookback == "5m" {
            p
        } else {
            p.restart_with(&[format!("--query.lookback-delta={lookback}")])
        };
        let (fast, fast_cost) = month_json(&cfg, &p.url, false);
        let (full, full_cost) = month_json(&cfg, &p.url, true);
        eprintln!(
            "lookback {lookback}: (queries, points) {fast_cost:?} with the checks, {full_cost:?} without"
        );
        let (fast, full) = (fast.as_array().unwrap(), full.as_array().unwrap());
        assert_eq!(fast.len(), names.len());
        for (f, g) in fast.iter().zip(full) {
            assert_eq!(f, g, "lookback {lookback}, {}", f["service"]);
        }
        assert!(fast_cost.1 * 3 < full_cost.1, "the checks were not used");
        let by = |s: &str| fast.iter().find(|v| v["service"] == s).unwrap();
        let h = by("hours");
        assert_eq!(n(h, "failure_seconds"), 60 + 120 + 120, "{h}");
        assert_eq!(n(h, "unknown_seconds"), 3 * 60, "{h}");
        gone_unknown.push(n(by("gone"), "unknown_seconds"));
        prom = Some(p);
    }
    // The lookback delta shows in the figures, so the test can tell a check that ignored it.
    assert!(
        gone_unknown[0] != gone_unknown[1]
            && gone_unknown[1] != gone_unknown[2]
            && gone_unknown[0] != gone_unknown[2],
        "{gone_unknown:?}"
    );
}

#[test]
fn figures_against_a_real_prometheus() {
    let data = Data {
        start: jst("2026-10-31T00:00:00"),
        end: jst("2026-12-01T09:00:00"),
        interval: 120,
    };
    let scenarios = scenarios();
    let prom = start(&scenarios, &data);
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<&str> = scenarios.iter().map(|s| s.service).collect();
    let cfg = write_config(dir.path(), &names, "120s");
    let url = prom.url.as_str();

    let t = Instant::now();
    let mut results = BTreeMap::new();
    for s in &names {
        results.insert(*s, json_report(&cfg, url, "2026-11", s));
    }
    eprintln!("{} reports: {:?}", names.len(), t.elapsed());
    let r = |s: &str| &results[s].1;
    let code = |s: &str| results[s].0;
    for s in &names {
        let v = r(s);
        assert_eq!(v["month"], "2026-11", "{s}");
        assert_eq!(v["timezone"], "Asia/Tokyo");
        assert_eq!(n(v, "month_seconds"), NOV, "{s}");
        assert_eq!(
            n(v, "operating_seconds") + n(v, "maintenance_seconds"),
            NOV,
            "{s}"
        );
    }

    // A full outage, 10 minutes: 600 s of failure time, one incident seen from everywhere.
    let v = r("full");
    assert_eq!(
        (
            n(v, "failure_seconds"),
            n(v, "unknown_seconds"),
            n(v, "maintenance_seconds")
        ),
        (600, 0, 0)
    );
    assert_eq!(v["met"], false);
    assert_eq!(code("full"), 1);
    let i = &v["incidents"][0];
    assert_eq!(i["start"], "2026-11-05T10:00:00+09:00");
    assert_eq!(i["end"], "2026-11-05T10:10:00+09:00");
    assert_eq!(i["seconds"], 600);
    assert_eq!(
        i["locations"],
        serde_json::json!(["fukuoka", "osaka", "tokyo"])
    );
    assert_eq!(i["reason"], "timeout");
    assert_eq!(v["incidents"].as_array().unwrap().len(), 1);
    let avail = v["availability_percent"].as_f64().unwrap();
    assert!((avail - (NOV - 600) as f64 * 100.0 / NOV as f64).abs() < 1e-9);
    assert!((v["budget_seconds"].as_f64().unwrap() - 259.2).abs() < 1e-9);

    // One location alone never makes failure time.
    let v = r("one");
    assert_eq!(n(v, "failure_seconds"), 0);
    assert_eq!(v["availability_percent"], 100.0);
    assert_eq!(v["incidents"], serde_json::json!([]));
    assert_eq!(code("one"), 0);

    // Inside announced maintenance nothing is failure time; the 30 s past its
    // end fall in the grace (results of runs that began inside the window):
    // one step of 120 s.
    let v = r("maint");
    assert_eq!(n(v, "maintenance_seconds"), 4 * 3600);
    assert_eq!(n(v, "operating_seconds"), NOV - 4 * 3600);
    assert_eq!(n(v, "failure_seconds"), 0);
    assert_eq!(v["maintenance"][0]["in_time"], true);
    assert_eq!(
        v["maintenance"][0]["announced_at"],
        "2026-04-01T10:00:00+09:00"
    );
    assert!(
        v["warnings"].to_string().contains("120 s of failures"),
        "{}",
        v["warnings"]
    );
    let budget = v["budget_seconds"].as_f64().unwrap();
    assert!((budget - (NOV - 14400) as f64 * 0.0001).abs() < 1e-9);
    assert_eq!(code("maint"), 0);

    // A window announced too late is operating time, and its failures count.
    let v = r("late");
    assert_eq!(n(v, "maintenance_seconds"), 0);
    assert_eq!(n(v, "operating_seconds"), NOV);
    assert_eq!(n(v, "failure_seconds"), 1800);
    assert_eq!(v["maintenance"][0]["in_time"], false);
    assert!(v["warnings"][0]
        .as_str()
        .unwrap()
        .contains("less than 6 months"));
    assert_eq!(code("late"), 1);

    // Two of three locations: a quorum. 240 s is within the 259.2 s budget.
    let v = r("two");
    assert_eq!(n(v, "failure_seconds"), 240);
    assert_eq!(v["met"], true);
    assert_eq!(
        v["incidents"][0]["locations"],
        serde_json::json!(["osaka", "tokyo"])
    );
    assert_eq!(v["incidents"][0]["reason"], "status");
    assert!((v["budget_used_percent"].as_f64().unwrap() - 240.0 / 259.2 * 100.0).abs() < 1e-9);
    assert_eq!(code("two"), 0);

    // Outages across the JST month boundaries: November's share only.
    let v = r("edge");
    assert_eq!(n(v, "failure_seconds"), 1800 + 960);
    let inc = v["incidents"].as_array().unwrap();
    assert_eq!(inc.len(), 2);
    assert_eq!(inc[0]["start"], "2026-11-01T00:00:00+09:00");
    assert_eq!(inc[0]["end"], "2026-11-01T00:30:00+09:00");
    assert_eq!(inc[1]["start"], "2026-11-30T23:44:00+09:00");
    assert_eq!(inc[1]["end"], "2026-12-01T00:00:00+09:00");
    assert_eq!(inc[1]["seconds"], 960);
    // … and October's: 10 minutes, the data begins on Oct 31 (JST): the rest is unknown.
    let (oct_code, oct) = json_report(&cfg, url, "2026-10", "edge");
    assert_eq!(n(&oct, "month_seconds"), 31 * 86400);
    assert_eq!(n(&oct, "failure_seconds"), 600);
    assert_eq!(n(&oct, "unknown_seconds"), 30 * 86400);
    // Before the data began: said so, and October is not determinable… but missed already.
    assert_eq!(
        oct["unknown_by_cause"],
        serde_json::json!({"before_first_sample": 30 * 86400})
    );
    assert_eq!(oct["verdict"], "missed");
    assert_eq!(oct["incidents"][0]["end"], "2026-11-01T00:00:00+09:00");
    assert_eq!(oct_code, 1);

    // Two hours with no data: unknown, never up; only the worst case counts it.
    let v = r("gap");
    assert_eq!(
        (n(v, "failure_seconds"), n(v, "unknown_seconds")),
        (0, 7200)
    );
    assert_eq!(v["availability_percent"], 100.0);
    assert_eq!(
        v["unknown_by_cause"],
        serde_json::json!({"no_sample": 7200})
    );
    // 99.72 % observed: over the 99 % needed, so the figure stands.
    assert_eq!(v["verdict"], "met");
    assert!(
        (v["coverage_percent"].as_f64().unwrap() - (NOV - 7200) as f64 * 100.0 / NOV as f64).abs()
            < 1e-9
    );
    let nov20 = v["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == "2026-11-20")
        .unwrap();
    assert_eq!(nov20["unknown_seconds"], 7200, "{nov20}");
    assert_eq!(nov20["unknown_by_cause"]["no_sample"], 7200);
    assert_eq!(v["days"].as_array().unwrap().len(), 30);
    let worst = v["availability_worst_case_percent"].as_f64().unwrap();
    assert!((worst - (NOV - 7200) as f64 * 100.0 / NOV as f64).abs() < 1e-9);
    assert_eq!(code("gap"), 2);

    // Probers down for an hour (Prometheus recorded up == 0): unknown from the
    // first step, although their last results were scraped only 20 s before.
    let v = r("down");
    assert_eq!(
        (n(v, "failure_seconds"), n(v, "unknown_seconds")),
        (0, 3600)
    );
    assert_eq!(
        v["unknown_by_cause"],
        serde_json::json!({"prober_down": 3600})
    );
    assert_eq!(code("down"), 2);

    // A blind prober's results are unknown, neither failure nor success:
    // tokyo (blind) and osaka failing together is not an outage; osaka and
    // fukuoka failing while tokyo is blind is one, judged by the two that see.
    let v = r("blind");
    assert_eq!(
        (n(v, "failure_seconds"), n(v, "unknown_seconds")),
        (240, 0),
        "{v}"
    );
    let inc = v["incidents"].as_array().unwrap();
    assert_eq!(inc.len(), 1, "{v}");
    assert_eq!(inc[0]["start"], "2026-11-18T10:40:00+09:00");
    assert_eq!(inc[0]["seconds"], 240);
    assert_eq!(inc[0]["locations"], serde_json::json!(["fukuoka", "osaka"]));
    // The reason comes from the probers that see, never from the blind one.
    assert_eq!(inc[0]["reason"], "status", "{v}");
    assert_eq!(code("blind"), 0);

    // Latency just under and just over 99 % (the second with a counter reset).
    let lat = |s: &str| r(s)["latency"].clone();
    let total = 10.0 * 4319.0;
    let under = lat("slow");
    assert!(
        (under["within_percent"].as_f64().unwrap() - (total - 432.0) / total * 100.0).abs() < 1e-6,
        "{under}"
    );
    assert_eq!(under["met"], false);
    assert_eq!(under["threshold_seconds"], 3.0);
    assert_eq!(under["target_percent"], 99.0);
    assert_eq!(code("slow"), 1);
    let over = lat("fast");
    assert!(
        (over["within_percent"].as_f64().unwrap() - (total - 431.0) / total * 100.0).abs() < 1e-6,
        "{over}"
    );
    assert_eq!(over["met"], true);
    assert_eq!(code("fast"), 0);
    assert_eq!(lat("full")["within_percent"], 100.0);

    // Text: floored, Japanese first.
    let (c, table, _) = report(&[
        "--config",
        cfg.to_str().unwrap(),
        "--prometheus.url",
        url,
        "--month",
        "2026-11",
        "--service",
        "full",
        "--service",
        "slow",
    ]);
    assert_eq!(c, 1);
    assert!(
        table.contains("full 日本語 / full English (full)"),
        "{table}"
    );
    // (2,592,000 − 600) ÷ 2,592,000 = 99.97685 %: floored, not rounded.
    assert!(table.contains("99.976 %"), "{table}");
    // 98.99977 % must not print as 99.000 %.
    assert!(table.contains("98.999 %"), "{table}");
    assert!(table.contains("未達 / missed"), "{table}");
    for format in ["markdown", "csv"] {
        let (c, out, _) = report(&[
            "--config",
            cfg.to_str().unwrap(),
            "--prometheus.url",
            url,
            "--month",
            "2026-11",
            "--format",
            format,
        ]);
        assert_eq!(c, 1, "{format}");
        assert!(out.contains("99.976"), "{format}: {out}");
    }
}

#[test]
fn prometheus_down_is_incomplete_data() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &["full"], "60s");
    let port = free_port();
    let (code, out, err) = report(&[
        "--config",
        cfg.to_str().unwrap(),
        "--prometheus.url",
        &format!("http://user:hunter2@127.0.0.1:{port}/prefix"),
        "--month",
        "2026-11",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!(
            "cannot reach Prometheus at http://127.0.0.1:{port}/prefix/"
        )),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !out.contains("hunter2"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_64() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &["full"], "60s");
    let cfg = cfg.to_str().unwrap();
    for (month, service, expect) in [
        ("2026/11", "full", "expected YYYY-MM"),
        ("2026-13", "full", "expected YYYY-MM"),
        ("2099-01", "full", "has not started yet"),
        ("2026-11", "nope", "no such service"),
    ] {
        let (code, _, err) = report(&[
            "--config",
            cfg,
            "--prometheus.url",
            "http://127.0.0.1:9/",
            "--month",
            month,
            "--service",
            service,
        ]);
        assert_eq!(code, 64, "{month} {service}: {err}");
        assert!(err.contains(expect), "{err}");
    }
    // Flags clap rejects are usage errors too, not "data incomplete".
    for args in [
        vec![
            "--config",
            cfg,
            "--prometheus.url",
            "http://127.0.0.1:9/",
            "--format",
            "pdf",
        ],
        vec!["--config", cfg],
    ] {
        let (code, _, err) = report(&args);
        assert_eq!(code, 64, "{args:?}: {err}");
    }
    let (code, _, err) = report(&[
        "--config",
        "/nonexistent.yaml",
        "--prometheus.url",
        "http://127.0.0.1:9/",
    ]);
    assert_eq!(code, 64, "{err}");
}

/// The benchmark month: 15 s data, all of November (and an hour either
/// side), two services (`MIMAMORI_BENCH_SERVICES`) at three locations
/// (`MIMAMORI_BENCH_LOCATIONS`, up to 7), each with one 3-minute outage seen
/// everywhere; times one `mimamori report --month 2026-11` of every service
/// with the quiet-hour checks and one with `MIMAMORI_FULL_RESOLUTION=1`, and
/// prints the wall time, queries, range-query points, peak RSS and CPU of each.
/// `MIMAMORI_BENCH_BIN=target/release/mimamori cargo test --test it report:: -- --ignored --nocapture bench`
/// (see `prometheus::bench_bin`, and `prometheus::bench_backfilled` for `MIMAMORI_BENCH_DATA`).
#[test]
#[ignore]
fn bench_month_of_15s_data() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (n, m) = (
        env("MIMAMORI_BENCH_SERVICES", 2),
        env("MIMAMORI_BENCH_LOCATIONS", 3).min(7),
    );
    let locations = &[
        "fukuoka",
        "osaka",
        "tokyo",
        "sapporo",
        "nagoya",
        "sendai",
        "hiroshima",
    ][..m];
    let (start, end) = (
        jst("2026-11-01T00:00:00") - 3600,
        jst("2026-12-01T00:00:00") + 3600,
    );
    let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let outage =
        |i: usize| jst("2026-11-01T10:00:00") + (i % 29) as i64 * 86400 + 60 * (i / 29) as i64;
    let prom = prometheus::bench_backfilled(&format!("report-{n}x{m}"), || {
        let all = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                prometheus::bench_service(name, locations, start + OFFSET, end, outage(i))
            })
            .collect();
        (all, start, end)
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mimamori.yaml");
    let mut text = format!(
        "global: {{interval: 15s, timeout: 10s}}\nalerting: {{locations: [{}]}}\nservices:\n",
        locations.join(", ")
    );
    for name in &names {
        text.push_str(&format!(
            "  - name: {name}\n    display_name: {{ja: {name}, en: {name}}}\n    transactions:\n      - name: t\n        steps: [{{name: s, url: 'https://{name}.invalid/'}}]\n"
        ));
    }
    std::fs::write(&cfg, text).unwrap();
    let bin = prometheus::bench_bin();
    for full in [false, true] {
        let times = dir.path().join("time");
        let mut cmd = if Path::new("/usr/bin/time").exists() {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-o").arg(&times).args(["-f", "%M %U %S"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        cmd.env("MIMAMORI_FULL_RESOLUTION", if full { "1" } else { "0" })
            .args([
                "report",
                "--config",
                cfg.to_str().unwrap(),
                "--prometheus.url",
            ])
            .arg(&prom.url)
            .args(["--month", "2026-11", "--format", "json"])
            .args(["--log.level", "mimamori=debug"]);
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let prom_cpu = prom.cpu_seconds();
        let t = Instant::now();
        let out = cmd.output().unwrap();
        let elapsed = t.elapsed();
        let prom_cpu = prom.cpu_seconds() - prom_cpu;
        let err = String::from_utf8_lossy(&out.stderr);
        let done = plain(&err)
            .lines()
            .rfind(|l| l.contains("report done"))
            .unwrap_or_default()
            .to_string();
        let (rss, cpu) = std::fs::read_to_string(&times)
            .ok()
            .and_then(|t| {
                let v: Vec<f64> = t
                    .lines()
                    .last()?
                    .split(' ')
                    .filter_map(|x| x.parse().ok())
                    .collect();
                Some((
                    format!("{:.1} MB", v.first()? / 1024.0),
                    format!("{:.2} s", v.get(1)? + v.get(2)?),
                ))
            })
            .unwrap_or_default();
        eprintln!(
            "report, {n} services x {m} locations, {}: {elapsed:?} (load at start {}), peak RSS {rss}, CPU {cpu}, Prometheus CPU {prom_cpu:.2} s; {}",
            if full { "full resolution" } else { "quiet hours skipped" },
            load.trim(),
            done.split("report done").nth(1).unwrap_or("").trim()
        );
        let v: Value = serde_json::from_str(&String::from_utf8_lossy(&out.stdout))
            .unwrap_or_else(|e| panic!("{e}\n{err}"));
        for (i, s) in v["services"].as_array().unwrap().iter().enumerate() {
            assert_eq!(s["failure_seconds"], 180, "{}", names[i]);
            assert_eq!(s["unknown_seconds"], 0, "{}", names[i]);
        }
    }
}

#[test]
fn credentials_headers_and_path_prefix_reach_the_server_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &["full"], "60s");
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "pa55word\n").unwrap();
    for auth in [
        vec!["--prometheus.bearer-token-file", token.to_str().unwrap()],
        vec![
            "--prometheus.basic-auth-user",
            "reporter",
            "--prometheus.basic-auth-password-file",
            password.to_str().unwrap(),
        ],
    ] {
        let (addr, heads) = prometheus::recording_server();
        let url = format!("http://{addr}/tenant");
        let mut args = vec![
            "--config",
            cfg.to_str().unwrap(),
            "--prometheus.url",
            &url,
            "--prometheus.header",
            "X-Scope-OrgID=t1",
            "--month",
            "2026-11",
            "--format",
            "json",
        ];
        args.extend(auth.iter().copied());
        let (code, out, err) = report(&args);
        // Nothing reported: all unknown.
        assert_eq!(code, 2, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["services"][0]["unknown_seconds"], NOV);
        assert_eq!(v["prometheus_url"], format!("http://{addr}/tenant/"));
        let heads: Vec<String> = heads.try_iter().collect();
        assert!(!heads.is_empty());
        for h in &heads {
            let lower = h.to_ascii_lowercase();
            // Queries, and the retention (to tell why time is unknown), and the flags (the
            // lookback delta the quiet-hour checks need).
            assert!(
                h.starts_with("POST /tenant/api/v1/query")
                    || h.starts_with("GET /tenant/api/v1/status/runtimeinfo")
                    || h.starts_with("GET /tenant/api/v1/status/flags"),
                "{h}"
            );
            assert!(lower.contains("x-scope-orgid: t1"), "{h}");
            if auth[0].contains("bearer") {
                assert!(lower.contains("authorization: bearer s3cret-token"), "{h}");
            } else {
                // base64("reporter:pa55word")
                assert!(h.contains("Basic cmVwb3J0ZXI6cGE1NXdvcmQ="), "{h}");
            }
        }
        for text in [&out, &err] {
            assert!(
                !text.contains("s3cret") && !text.contains("pa55word"),
                "{text}"
            );
        }
    }
}

/// A real Prometheus behind TLS, basic auth (its own `--web.config.file`) and a path prefix:
/// the report gets through with `--prometheus.ca-file` and the password file,
/// and says why it cannot without the CA or with a wrong password.
#[test]
fn tls_and_basic_auth_against_a_real_prometheus() {
    let secured = prometheus::start_secured(None);
    let d = secured.dir.path();
    let cfg = write_config(d, &["full"], "60s");
    let url = secured.url.clone();
    let ca_file = secured.ca_file.display().to_string();
    let pass = secured.password_file.display().to_string();
    let args = |with_ca: bool| {
        let mut a = vec![
            "--config".to_string(),
            cfg.display().to_string(),
            "--prometheus.url".into(),
            url.clone(),
            "--prometheus.basic-auth-user".into(),
            "reporter".into(),
            "--prometheus.basic-auth-password-file".into(),
            pass.clone(),
            "--month".into(),
            "2026-11".into(),
            "--format".into(),
            "json".into(),
        ];
        if with_ca {
            a.extend(["--prometheus.ca-file".to_string(), ca_file.clone()]);
        }
        a
    };
    let a = args(true);
    let (code, out, err) = report(&a.iter().map(String::as_str).collect::<Vec<_>>());
    // An empty Prometheus: every second unknown, so the data is incomplete.
    assert_eq!(code, 2, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["services"][0]["unknown_seconds"], NOV);
    assert!(!out.contains("pa55word") && !err.contains("pa55word"));

    // Without the CA: refused, and the message says why (UnknownIssuer).
    let a = args(false);
    let (code, _, err) = report(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot reach Prometheus at https://localhost"),
        "{err}"
    );
    assert!(err.contains("invalid peer certificate"), "{err}");

    // A wrong password: Prometheus answers 401, which is no data either.
    std::fs::write(d.join("password"), "wrong\n").unwrap();
    let a = args(true);
    let (code, _, err) = report(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 2);
    assert!(err.contains("answered 401"), "{err}");
    assert!(!err.contains("wrong"), "{err}");
}

/// `report --month` lists each date of the month for each backup: with or
/// without a backup, retention held or short, unknown where no check ran.
#[test]
fn backups_per_day_against_a_real_prometheus() {
    let (start, end) = (jst("2026-10-31T00:00:00"), jst("2026-12-01T09:00:00"));
    let every = 240;
    let backup_at = |t: i64, skip: &[&str]| {
        // The latest 03:00 (JST) backup at or before t, skipping the dates in `skip`.
        let mut b =
            (t - jst("2026-10-01T03:00:00")).div_euclid(86400) * 86400 + jst("2026-10-01T03:00:00");
        loop {
            let date = chrono::DateTime::from_timestamp(b, 0)
                .unwrap()
                .with_timezone(&chrono_tz::Asia::Tokyo)
                .format("%Y-%m-%d")
                .to_string();
            if !skip.contains(&date.as_str()) {
                return b as f64;
            }
            b -= 86400;
        }
    };
    let (down_from, down_to) = (jst("2026-11-20T00:00:00"), jst("2026-11-21T00:00:00"));
    let mut all = Vec::new();
    for (name, gaps, short_until, down) in [
        ("good", &[][..], 0, false),
        (
            "gappy",
            &["2026-11-10"][..],
            jst("2026-11-06T00:00:00"),
            true,
        ),
    ] {
        let labels = format!("service=\"sales\",backup=\"{name}\"");
        let times: Vec<i64> = (0..)
            .map(|k| start + 7 + k * every)
            .take_while(|t| *t < end)
            .filter(|t| !(down && down_from <= *t && *t < down_to))
            .collect();
        let series = |metric: &str, f: &dyn Fn(i64) -> f64| {
            (
                format!("{metric}{{{labels}}}"),
                times.iter().map(|&t| (t, f(t))).collect::<Vec<_>>(),
            )
        };
        let required = jst("2026-05-01T00:00:00") as f64;
        all.push(vec![
            series("mimamori_backup_last_success_timestamp_seconds", &|t| {
                backup_at(t, gaps)
            }),
            series(
                "mimamori_backup_retention_required_timestamp_seconds",
                &|_| required,
            ),
            series("mimamori_backup_oldest_timestamp_seconds", &|t| {
                if t < short_until {
                    required + 86400.0 * 14.0
                } else {
                    required - 86400.0 * 30.0
                }
            }),
        ]);
    }
    let all: Vec<SeriesSet> = all.into_iter().map(|v| v.into_iter().collect()).collect();
    let prom = prometheus::start_backfilled(&all, start, end);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &["sales"], "60s");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("backups:\n");
    for name in ["good", "gappy"] {
        text.push_str(&format!(
            "  - service: sales\n    name: {name}\n    display_name: {{ja: {name} 日本語, en: {name}}}\n    directory: /nonexistent\n"
        ));
    }
    std::fs::write(&cfg, text).unwrap();
    let args = |format: &str| {
        report(&[
            "--config",
            cfg.to_str().unwrap(),
            "--prometheus.url",
            &prom.url,
            "--month",
            "2026-11",
            "--format",
            format,
        ])
    };
    let (code, out, err) = args("json");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(code, 1, "a gap day misses the objective: {err}");
    let b = &v["backups"];
    assert_eq!(b[0]["backup"], "good");
    assert_eq!(b[0]["days"].as_array().unwrap().len(), 30);
    assert_eq!(
        (
            n(&b[0], "dates_missing"),
            n(&b[0], "dates_retention_short"),
            n(&b[0], "dates_unknown")
        ),
        (0, 0, 0),
        "{}",
        b[0]
    );
    assert_eq!(b[0]["met"], true);
    let g = &b[1];
    assert_eq!(g["met"], false);
    let day = |d: u32| &g["days"][(d - 1) as usize];
    assert_eq!(day(10)["date"], "2026-11-10");
    assert_eq!(day(10)["backup"], false, "{}", day(10));
    assert_eq!(day(11)["backup"], true);
    assert_eq!(day(5)["retention_held"], false);
    assert_eq!(day(6)["retention_held"], true);
    // The exporter saw nothing on the 20th; its backup shows on the 21st.
    assert_eq!(day(20)["backup"], true, "{}", day(20));
    assert_eq!(day(20)["retention_held"], Value::Null);
    assert_eq!(
        (
            n(g, "dates_missing"),
            n(g, "dates_retention_short"),
            n(g, "dates_unknown")
        ),
        (1, 5, 1),
        "{g}"
    );

    let (code, out, _) = args("table");
    assert_eq!(code, 1);
    assert!(
        out.contains("バックアップ / Backup: gappy 日本語 / gappy (sales, gappy) — 未達 / MISSED"),
        "{out}"
    );
    assert!(out.contains("2026-11-10  なし / NO"), "{out}");
    let (_, out, _) = args("csv");
    assert!(out.contains("sales,gappy,2026-11-20,true,true,\n"), "{out}");
}
