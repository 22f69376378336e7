//! The figures do not depend on how often Prometheus scrapes (issue 22).
//!
//! The same outages, probed every 15 s, stored as Prometheus would store them
//! when scraping every 5 s, 15 s, 30 s, 60 s and 2 min (plus one location whose
//! scrape interval changes from 15 s to 60 s mid-way): `report` must give the
//! same failure seconds (± one scrape interval at each edge of an incident) and
//! the same incidents, and the generated recording rules, evaluated by
//! `promtool test rules` on the same samples, must count the same failure
//! seconds as `report` (one truth). The status page must show one incident per
//! outage and no day as "no data".

#![allow(
    clippy::disallowed_methods,
    reason = "how long the report and status take against a real Prometheus is a wall-clock time"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::prometheus::{self, SeriesSet};

const LOCATIONS: [&str; 3] = ["fukuoka", "osaka", "tokyo"];
/// Samples sit 7 s after the minute, as scrapes would: never on a step boundary.
const OFFSET: i64 = 7;

fn jst(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&format!("{s}+09:00"))
        .unwrap()
        .timestamp()
}

/// Failing from `from` (included) to `to` (excluded) at these locations.
#[derive(Clone, Copy)]
struct Outage {
    locations: &'static [&'static str],
    from: &'static str,
    to: &'static str,
}

/// hanbai: a 3-minute full outage. denshibin: 10 minutes at 2 of 3
/// locations, 20 minutes inside a late-announced window, 5 minutes of
/// November across the JST month boundary: 2,100 s in November.
fn outages(service: &str) -> Vec<Outage> {
    let all: &'static [&'static str] = &LOCATIONS;
    match service {
        "hanbai" => vec![Outage {
            locations: all,
            from: "2026-11-29T10:00:00",
            to: "2026-11-29T10:03:00",
        }],
        _ => vec![
            Outage {
                locations: &["osaka", "tokyo"],
                from: "2026-11-29T12:00:00",
                to: "2026-11-29T12:10:00",
            },
            Outage {
                locations: all,
                from: "2026-11-30T01:30:00",
                to: "2026-11-30T01:50:00",
            },
            Outage {
                locations: all,
                from: "2026-11-30T23:55:00",
                to: "2026-12-01T00:05:00",
            },
        ],
    }
}

/// The data's span: three days around the outages.
fn span() -> (i64, i64) {
    (jst("2026-11-28T00:00:00"), jst("2026-12-01T02:00:00"))
}

/// Sample times of one location: every `spacing(t)` seconds from `start + OFFSET`.
fn times(start: i64, end: i64, spacing: &dyn Fn(i64) -> i64) -> Vec<i64> {
    let mut v = Vec::new();
    let mut t = start + OFFSET;
    while t < end {
        v.push(t);
        t += spacing(t);
    }
    v
}

fn failing(service: &str, loc: &str, t: i64) -> bool {
    outages(service)
        .iter()
        .any(|o| o.locations.contains(&loc) && jst(o.from) <= t && t < jst(o.to))
}

/// The series of `base` stored as `{base}{case}` (e.g. `hanbai60`) at `spacing`;
/// the probers of one case (one per location) run both services.
fn series(base: &str, case: &str, spacing: &dyn Fn(&str, i64) -> i64) -> SeriesSet {
    let (start, end) = span();
    let name = format!("{base}{case}");
    let mut out = Vec::new();
    for loc in LOCATIONS {
        let target = format!("job=\"mimamori\",instance=\"{loc}-{case}:9732\"");
        let labels = format!("service=\"{name}\",transaction=\"t\",location=\"{loc}\",{target}");
        let ts = times(start, end, &|t| spacing(loc, t));
        out.push((
            format!("mimamori_probe_success{{{labels}}}"),
            ts.iter()
                .map(|&t| (t, if failing(base, loc, t) { 0.0 } else { 1.0 }))
                .collect(),
        ));
        let mut count = 0.0;
        out.push((
            format!("mimamori_probe_failures_total{{{labels},reason=\"status\"}}"),
            ts.iter()
                .map(|&t| {
                    if failing(base, loc, t) {
                        count += 1.0;
                    }
                    (t, count)
                })
                .collect(),
        ));
        if base == "hanbai" {
            out.push((
                format!("up{{{target}}}"),
                ts.iter().map(|&t| (t, 1.0)).collect(),
            ));
        }
    }
    out
}

/// Scrape intervals: fixed ones, and `mixed` (tokyo from 15 s to 60 s at
/// 2026-11-29T11:00, osaka at 30 s, fukuoka at 15 s).
const CASES: [(&str, i64); 6] = [
    ("5", 5),
    ("15", 15),
    ("30", 30),
    ("60", 60),
    ("120", 120),
    ("mixed", 0),
];

fn spacing_of(case: i64) -> impl Fn(&str, i64) -> i64 {
    move |loc: &str, t: i64| {
        if case > 0 {
            return case;
        }
        match loc {
            "tokyo" if t < jst("2026-11-29T11:00:00") => 15,
            "tokyo" => 60,
            "osaka" => 30,
            _ => 15,
        }
    }
}

/// The configuration for the scrape-interval cases `cases`.
fn write_config(dir: &Path, cases: &[(&str, i64)], file: &str) -> std::path::PathBuf {
    let mut text = String::from(
        "global: {interval: 15s, timeout: 10s}\nalerting:\n  locations: [fukuoka, osaka, tokyo]\nservices:\n",
    );
    for (case, _) in cases {
        for base in ["hanbai", "denshibin"] {
            let _ = write!(
                text,
                "  - name: {base}{case}\n    display_name: {{ja: {base} {case}, en: {base} {case}}}\n    transactions:\n      - name: t\n        steps:\n          - {{name: s, url: 'https://{base}.invalid/'}}\n"
            );
        }
    }
    let late: Vec<String> = cases.iter().map(|(c, _)| format!("denshibin{c}")).collect();
    let _ = write!(
        text,
        "maintenance:\n  - services: [{}]\n    start: 2026-11-30T01:00:00+09:00\n    end: 2026-11-30T03:00:00+09:00\n    announced_at: 2026-10-01T10:00:00+09:00\n    announced_via: ご利用ガイド\n",
        late.join(", ")
    );
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

fn report_json(cfg: &Path, url: &str, month: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["report", "--config"])
        .arg(cfg)
        .args([
            "--prometheus.url",
            url,
            "--month",
            month,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)))
}

fn service<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == name)
        .unwrap_or_else(|| panic!("{name} in {r}"))
}

fn n(v: &Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// `(start, end, seconds)` of each incident.
fn incidents(v: &Value) -> Vec<(String, String, i64)> {
    v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["start"].as_str().unwrap().to_string(),
                i["end"].as_str().unwrap().to_string(),
                i["seconds"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_scrape_interval_gives_the_same_figures_and_the_rules_agree() {
    let mut all = Vec::new();
    for (case, secs) in CASES {
        for base in ["hanbai", "denshibin"] {
            all.push(series(base, case, &spacing_of(secs)));
        }
    }
    let (start, end) = span();
    let prom = prometheus::start_backfilled(&all, start - 3600, end);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &CASES, "mimamori.yaml");
    let t = std::time::Instant::now();
    let (nov, dec) = std::thread::scope(|s| {
        let nov = s.spawn(|| report_json(&cfg, &prom.url, "2026-11"));
        let dec = report_json(&cfg, &prom.url, "2026-12");
        (nov.join().unwrap(), dec)
    });
    eprintln!("reports: {:?}", t.elapsed());

    let mut summary = String::new();
    for (case, secs) in CASES {
        let h = service(&nov, &format!("hanbai{case}"));
        let d = service(&nov, &format!("denshibin{case}"));
        let d_dec = service(&dec, &format!("denshibin{case}"));
        let _ = writeln!(
            summary,
            "scrape {case:>5}: hanbai {} s, denshibin {} s (+{} s in December), incidents {}/{}, unknown {} s",
            n(h, "failure_seconds"),
            n(d, "failure_seconds"),
            n(d_dec, "failure_seconds"),
            incidents(h).len(),
            incidents(d).len(),
            n(h, "unknown_seconds"),
        );
        // Edges: each incident's start and end may move by one scrape interval.
        let slack = if secs == 0 { 60 } else { secs };
        let exact = slack <= 60;
        let within = |got: i64, want: i64, edges: i64| {
            if exact {
                got == want
            } else {
                (got - want).abs() <= slack * edges
            }
        };
        assert!(within(n(h, "failure_seconds"), 180, 2), "{case}: {h}");
        assert!(within(n(d, "failure_seconds"), 2100, 5), "{case}: {d}");
        assert!(
            within(n(d_dec, "failure_seconds"), 300, 1),
            "{case}: {d_dec}"
        );
        assert_eq!(
            incidents(h).len(),
            1,
            "{case}: one outage is one incident: {h}"
        );
        assert_eq!(incidents(d).len(), 3, "{case}: {d}");
        if exact {
            assert_eq!(
                incidents(h),
                [(
                    "2026-11-29T10:00:00+09:00".to_string(),
                    "2026-11-29T10:03:00+09:00".to_string(),
                    180
                )],
                "{case}"
            );
            assert_eq!(
                incidents(d).iter().map(|i| i.2).collect::<Vec<_>>(),
                [600, 1200, 300],
                "{case}"
            );
        }
        // The data covers the three days it holds, not half of them.
        let (from, until) = (jst("2026-11-28T00:00:00"), jst("2026-12-01T00:00:00"));
        let unknown_in_span = n(h, "unknown_seconds") - (from - jst("2026-11-01T00:00:00"));
        assert!(
            unknown_in_span <= slack,
            "{case}: {unknown_in_span} s of the {} s with data read as unknown",
            until - from
        );
    }
    eprintln!("{summary}");

    // Three days seen of November: hanbai's figure is not determinable, said
    // with what was seen and why the rest is unknown; exit code 2.
    let h = service(&nov, "hanbai15");
    assert_eq!(h["verdict"], "not_determinable", "{h}");
    assert_eq!(h["met"], false);
    assert_eq!(h["coverage_percent"], 10.0);
    assert_eq!(
        h["unknown_by_cause"]["before_first_sample"], 2_332_800,
        "{h}"
    );
    assert_eq!(service(&nov, "denshibin15")["verdict"], "missed");
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["report", "--config"])
        .arg(&cfg)
        .args([
            "--prometheus.url",
            &prom.url,
            "--month",
            "2026-11",
            "--service",
            "hanbai15",
        ])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{table}");
    assert!(
        table.contains("99.993 %  (目標 / objective 99.99 %: 判定不能 / not determinable (観測 10.00 % / observed 10.00 %))"),
        "{table}"
    );
    assert!(table.contains("監視開始前"), "{table}");

    // The status page, on the same data at 15 s and 60 s (it reads 90 days
    // of every service, so two cases keep it quick): one incident per outage,
    // no day of the three as "no data".
    let t = std::time::Instant::now();
    let page_cases = [CASES[1], CASES[3]];
    let page_cfg = write_config(dir.path(), &page_cases, "page.yaml");
    let site = dir.path().join("site");
    let st = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["status", "--config"])
        .arg(&page_cfg)
        .args([
            "--prometheus.url",
            &prom.url,
            "--now",
            "2026-12-01T01:30:00+09:00",
            "--render",
        ])
        .arg(&site)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let page: Value =
        serde_json::from_str(&std::fs::read_to_string(site.join("api/v1/status.json")).unwrap())
            .unwrap();
    for (case, _) in page_cases {
        for (base, outages) in [("hanbai", 1), ("denshibin", 3)] {
            let name = format!("{base}{case}");
            let svc = page["services"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["service"] == name.as_str())
                .unwrap();
            assert_eq!(
                svc["incidents"].as_array().unwrap().len(),
                outages,
                "{name}: {}",
                svc["incidents"]
            );
            for day in svc["days"].as_array().unwrap() {
                let date = day["date"].as_str().unwrap();
                if ("2026-11-28".."2026-12-01").contains(&date) {
                    assert_ne!(day["level"], "unknown", "{name} {date}: {day}");
                    assert_eq!(day["unknown_seconds"], 0, "{name} {date}: {day}");
                }
            }
            // November: three days seen of thirty. hanbai's 180 s are within the
            // budget of what was seen, but too little was seen: not determinable.
            // denshibin's 2,100 s already exceed the month's budget: missed.
            let nov = svc["months"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["month"] == "2026-11")
                .unwrap();
            let want = if base == "hanbai" {
                "not_determinable"
            } else {
                "missed"
            };
            assert_eq!(nov["verdict"], want, "{name}: {nov}");
            assert_eq!(nov["met"], false);
            assert_eq!(nov["coverage_text"], "10.00", "{name}: {nov}");
        }
    }
    eprintln!("status page: {:?}", t.elapsed());
    let html = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        html.contains("<td>10.00 %</td><td>判定不能</td>"),
        "November's row: observed 10.00 %, not determinable"
    );

    // One truth: the recording rules count what `report` counts, on the same samples.
    let t = std::time::Instant::now();
    rules_agree(dir.path(), &cfg, &nov, &dec);
    eprintln!("promtool: {:?}", t.elapsed());
}

/// Writes a `promtool test rules` file per scrape interval whose input is the
/// samples above and whose expectations are `report`'s failure seconds, and runs it.
fn rules_agree(dir: &Path, cfg: &Path, nov: &Value, dec: &Value) {
    let out = dir.join("generated");
    let st = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["generate", "--config"])
        .arg(cfg)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let mut files = Vec::new();
    for (case, secs) in CASES {
        if secs == 0 {
            continue; // promtool input series share one interval
        }
        for base in ["hanbai", "denshibin"] {
            let name = format!("{base}{case}");
            let r = service(nov, &name);
            let r_dec = service(dec, &name);
            let inc = incidents(r);
            let mut tests = String::new();
            // Each incident in a window of its own: from 10 min before its start
            // to 10 min after its end (the boundary one: November's and December's parts).
            for (k, o) in outages(base).iter().enumerate() {
                let want = if jst(o.to) > jst("2026-12-01T00:00:00") {
                    inc[k].2 + n(r_dec, "failure_seconds")
                } else {
                    inc[k].2
                };
                let (a, b) = (jst(o.from) - 600, jst(o.to) + 600);
                // promtool's time 0 is the first sample at or after `a`.
                let first = a + (OFFSET - a).rem_euclid(secs);
                let count = (b - first) / secs;
                let mut series = String::new();
                for loc in LOCATIONS {
                    let labels = format!(
                        "service=\"{name}\",transaction=\"t\",location=\"{loc}\",job=\"mimamori\",instance=\"{loc}:9732\""
                    );
                    let values: Vec<&str> = (0..=count)
                        .map(|j| {
                            if failing(base, loc, first + j * secs) {
                                "0"
                            } else {
                                "1"
                            }
                        })
                        .collect();
                    let _ = write!(
                        series,
                        "  - series: 'mimamori_probe_success{{{labels}}}'\n    values: '{}'\n  - series: 'mimamori_maintenance_active{{service=\"{name}\",location=\"{loc}\",job=\"mimamori\",instance=\"{loc}:9732\"}}'\n    values: '0x{count}'\n  - series: 'up{{job=\"mimamori\",instance=\"{loc}:9732\"}}'\n    values: '1x{count}'\n",
                        values.join(" ")
                    );
                }
                let eval = (b - first) / 15 * 15;
                let _ = write!(
                    tests,
                    "- name: '{name} incident {k}'\n  interval: {secs}s\n  input_series:\n{series}  promql_expr_test:\n  - expr: 'sum_over_time(mimamori:slo_availability_errors{{service=\"{name}\"}}[{eval}s]) * 15'\n    eval_time: {eval}s\n    exp_samples:\n    - labels: '{{service=\"{name}\"}}'\n      value: {want}\n"
                );
            }
            let file = out.join("rules").join(format!("agree-{name}.yaml"));
            std::fs::write(
                &file,
                format!("rule_files:\n- {name}.yml\nevaluation_interval: 15s\ntests:\n{tests}"),
            )
            .unwrap();
            files.push((name, file));
        }
    }
    // Two at a time (two cores).
    for pair in files.chunks(2) {
        let runs: Vec<_> = pair
            .iter()
            .map(|(name, file)| {
                let child = Command::new("promtool")
                    .args(["test", "rules"])
                    .arg(file)
                    .current_dir(out.join("rules"))
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("promtool runs (scripts/test.sh installs it)");
                (name, child)
            })
            .collect();
        for (name, child) in runs {
            let run = child.wait_with_output().unwrap();
            assert!(
                run.status.success(),
                "rules and report disagree for {name}: {}{}",
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            );
        }
    }
}
