//! `mimamori status` against a real Prometheus holding 93 backfilled days.
//!
//! Two services, three locations, at a 120 s interval: one with a past
//! outage and one ongoing, one with a planned window and a late one ahead
//! and answers too slow for its latency objective now.
//! The JSON is asserted to the second; the iCalendar and Atom feeds are
//! parsed with Python's `icalendar` and `feedparser` (scripts/test.sh
//! installs them); the page is opened in headless Chromium (Debian's
//! `chromium`) for its DOM, its screenshots and a network log that shows no
//! request leaving the page's origin; then Prometheus is stopped and the page
//! must say 状況不明 with the time of its last good data.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::DateTime;
use serde_json::Value;

use crate::common::prometheus::{self, SeriesSet};

const LOCATIONS: [&str; 3] = ["fukuoka", "osaka", "tokyo"];
const INTERVAL: i64 = 120;
/// The page is evaluated as if it were this time (the data ends 30 minutes later).
const NOW: &str = "2026-12-02T10:30:00+09:00";

fn jst(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(&format!("{s}+09:00"))
        .unwrap()
        .timestamp()
}

/// `(service, [(from, to, reason)])`: failing at every location in `[from, to)`.
fn series(service: &str, outages: &[(i64, i64, &str)], start: i64, end: i64) -> SeriesSet {
    let mut out = Vec::new();
    let times: Vec<i64> = (0..)
        .map(|k| start + 7 + k * INTERVAL)
        .take_while(|t| *t < end)
        .collect();
    for loc in LOCATIONS {
        let labels = format!("service=\"{service}\",transaction=\"t\",location=\"{loc}\"");
        let fails = |t: i64| outages.iter().any(|o| o.0 <= t && t < o.1);
        out.push((
            format!("mimamori_probe_success{{{labels}}}"),
            times
                .iter()
                .map(|&t| (t, if fails(t) { 0.0 } else { 1.0 }))
                .collect(),
        ));
        for &(from, to, reason) in outages {
            let mut count = 0.0;
            let mut points = Vec::new();
            for &t in times.iter().filter(|&&t| from - 600 <= t && t < to + 600) {
                if from <= t && t < to {
                    count += 1.0;
                }
                points.push((t, count));
            }
            out.push((
                format!("mimamori_probe_failures_total{{{labels},reason=\"{reason}\"}}"),
                points,
            ));
        }
    }
    out
}

/// Latency counts of one service at one location over `[from, end)`: three
/// successful operations a run, two of them over 3 s from `slow_from` on.
fn latency(service: &str, from: i64, slow_from: i64, end: i64) -> SeriesSet {
    let labels = format!(
        "service=\"{service}\",transaction=\"t\",step=\"s\",location=\"tokyo\",result=\"success\""
    );
    let (mut good, mut total) = (Vec::new(), Vec::new());
    let (mut g, mut n) = (0.0, 0.0);
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
global:
  interval: 120s
  timeout: 30s
alerting:
  locations: [fukuoka, osaka, tokyo]
services:
  - name: sales
    display_name: {ja: AOULU 販売, en: AOULU Sales}
    transactions:
      - name: t
        steps: [{name: s, url: 'https://sales.invalid/'}]
  - name: mail
    display_name: {ja: AOULU 電子便, en: AOULU Mail}
    transactions:
      - name: t
        steps: [{name: s, url: 'https://mail.invalid/'}]
maintenance:
  - services: [mail]
    start: 2026-11-10T01:00:00+09:00
    end: 2026-11-10T05:00:00+09:00
    announced_at: 2026-04-01T10:00:00+09:00
    announced_via: ご利用ガイド メンテナンス情報
    title: {ja: 定期メンテナンス, en: Scheduled maintenance}
  - services: [sales, mail]
    start: 2027-01-10T01:00:00+09:00
    end: 2027-01-10T03:00:00+09:00
    announced_at: 2026-11-20T10:00:00+09:00
    announced_via: ご利用ガイド メンテナンス情報
    title: {ja: "臨時メンテナンス <緊急>", en: "Extra maintenance, urgent"}
notices:
  - kind: incident
    published_at: 2026-12-02T10:20:00+09:00
    services: [sales]
    title: {ja: "販売で障害が発生しています <調査中>", en: "Sales is failing (investigating)"}
    body: {ja: 原因を調査しています。, en: We are investigating.}
  - kind: change
    published_at: 2026-11-25T10:00:00+09:00
    effective_at: 2026-12-10T00:00:00+09:00
    title: {ja: ログイン画面の変更, en: New login screen}
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
    start_status_every(cfg, url, "2s")
}

fn start_status_every(cfg: &Path, url: &str, refresh: &str) -> Status {
    start_status_of(env!("CARGO_BIN_EXE_mimamori").as_ref(), cfg, url, refresh)
}

/// [`start_status_every`] with the binary `bin`.
fn start_status_of(bin: &Path, cfg: &Path, url: &str, refresh: &str) -> Status {
    let mut child = Command::new(bin)
        .args(["status", "--config"])
        .arg(cfg)
        .args(["--prometheus.url", url, "--refresh", refresh, "--now", NOW])
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

/// Status, headers (lowercased names) and body of `GET path`.
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

fn json(addr: &str) -> Value {
    let (code, _, body) = get(addr, "/api/v1/status.json");
    assert_eq!(code, 200);
    serde_json::from_str(&body).unwrap()
}

fn service<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == name)
        .unwrap_or_else(|| panic!("{name} in {v}"))
}

fn day<'a>(s: &'a Value, date: &str) -> &'a Value {
    s["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == date)
        .unwrap_or_else(|| panic!("{date}"))
}

/// Python with `icalendar` and `feedparser`: the feeds as the real parsers read them.
const PARSE_FEEDS: &str = r#"
import json, sys, icalendar, feedparser
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
events = [{
    'uid': str(e['UID']), 'summary': str(e['SUMMARY']), 'status': str(e['STATUS']),
    'description': str(e['DESCRIPTION']),
    'start': e.decoded('DTSTART').isoformat(), 'end': e.decoded('DTEND').isoformat(),
    'stamp': e.decoded('DTSTAMP').isoformat(),
} for e in cal.walk('VEVENT')]
feed = feedparser.parse(open(sys.argv[2], 'rb').read())
print(json.dumps({
    'events': events,
    'bozo': bool(feed.bozo), 'bozo_exception': str(feed.get('bozo_exception', '')),
    'title': feed.feed.get('title'),
    'entries': [{'id': e.id, 'title': e.title, 'updated': e.get('updated')} for e in feed.entries],
}))
"#;

fn parse_feeds(dir: &Path, ics: &str, atom: &str) -> Value {
    let (i, a) = (dir.join("m.ics"), dir.join("f.atom"));
    std::fs::write(&i, ics).unwrap();
    std::fs::write(&a, atom).unwrap();
    let out = Command::new("python3")
        .args(["-c", PARSE_FEEDS])
        .arg(&i)
        .arg(&a)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "parsing the feeds (scripts/test.sh installs icalendar and feedparser): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Headless Chromium, as root, with a fresh profile and no background traffic of its own.
fn chromium(args: &[String], profile: &Path) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs (scripts/test.sh installs it)")
}

/// Every URL the page made Chromium request, from its network log: the
/// requests whose network isolation key is the page's site. Chromium's own
/// traffic (component updates, account checks; keyed `null` or its own
/// sites) is not the page's and is left out.
fn netlog_urls(path: &Path, site: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    // A log cut short by the exit lacks its closing brackets.
    let v: Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .unwrap_or_else(|e| panic!("net log {}: {e}", path.display()));
    let mut urls = Vec::new();
    let key = format!("{site} {site}");
    for e in v["events"].as_array().unwrap() {
        let p = &e["params"];
        if let (Some(u), Some(k)) = (p["url"].as_str(), p["network_isolation_key"].as_str()) {
            if k == key {
                urls.push(u.to_string());
            }
        }
    }
    urls.sort();
    urls.dedup();
    urls
}

fn browse(addr: &str, dir: &Path, docs: Option<&Path>) {
    let origin = format!("http://{addr}/");
    for (path, name, marker_state) in [("/", "ja", "障害発生中"), ("/en/", "en", "Outage")] {
        let url = format!("{origin}{}", path.trim_start_matches('/'));
        let profile = tempfile::tempdir().unwrap();
        let netlog = dir.join(format!("net-{name}.json"));
        let out = chromium(
            &[
                format!("--log-net-log={}", netlog.display()),
                "--dump-dom".into(),
                url.clone(),
            ],
            profile.path(),
        );
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(dom.contains(marker_state), "{name}: {dom}");
        assert_eq!(
            dom.matches(r#"data-service="sales" data-state="outage""#)
                .count(),
            1,
            "{name}"
        );
        assert_eq!(
            dom.matches(r#"data-service="mail" data-state="slow""#)
                .count(),
            1,
            "{name}"
        );
        assert_eq!(
            dom.matches(r#"class="bar "#).count(),
            180,
            "{name}: 90 bars each"
        );
        assert!(dom.contains(r#"data-date="2026-11-05" data-level="down""#));
        assert!(dom.contains(r#"data-date="2026-11-10" data-level="maintenance""#));
        assert!(dom.contains(r#"class="incident ongoing" id="incident-sales-"#));
        // User text is escaped, not markup.
        assert!(dom.contains("&lt;緊急&gt;") || dom.contains("Extra maintenance, urgent"));
        assert!(!dom.contains("<緊急>"));
        let urls = netlog_urls(&netlog, "http://127.0.0.1");
        assert!(urls.iter().any(|u| u.ends_with("style.css")), "{urls:?}");
        let foreign: Vec<&String> = urls.iter().filter(|u| !u.starts_with(&origin)).collect();
        assert!(foreign.is_empty(), "requests leaving {origin}: {foreign:?}");

        for (device, size) in [("desktop", "1280,2200"), ("phone", "390,2600")] {
            let shot = dir.join(format!("status-{name}-{device}.png"));
            let profile = tempfile::tempdir().unwrap();
            let out = chromium(
                &[
                    format!("--screenshot={}", shot.display()),
                    format!("--window-size={size}"),
                    url.clone(),
                ],
                profile.path(),
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let png = std::fs::read(&shot).unwrap();
            assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
            if let Some(docs) = docs {
                std::fs::copy(&shot, docs.join(shot.file_name().unwrap())).unwrap();
            }
        }
    }
}

#[test]
fn status_page_against_a_real_prometheus() {
    let (start, end) = (jst("2026-08-31T00:00:00"), jst("2026-12-02T11:00:00"));
    let sales = series(
        "sales",
        &[
            (
                jst("2026-11-05T10:00:00"),
                jst("2026-11-05T10:10:00"),
                "timeout",
            ),
            (jst("2026-12-02T10:10:00"), end, "status"),
        ],
        start,
        end,
    );
    // Failing inside the planned window only: maintenance, not failure.
    let mail = series(
        "mail",
        &[(
            jst("2026-11-10T02:00:00"),
            jst("2026-11-10T04:00:00"),
            "status",
        )],
        start,
        end,
    );
    // Mail answers, but two operations in three take over 3 s from 10:14: 応答遅延.
    let mail_latency = latency(
        "mail",
        jst("2026-12-02T08:00:00"),
        jst("2026-12-02T10:14:00"),
        end,
    );
    let mut prom = prometheus::start_backfilled(&[sales, mail, mail_latency], start, end);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mimamori.yaml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let status = start_status(&cfg, &prom.url);
    let addr = status.addr.clone();

    let (code, head, _) = get(&addr, "/-/healthy");
    assert_eq!(code, 200);
    assert!(head.contains("content-security-policy: default-src 'none'; style-src 'self'"));
    assert!(head.contains("x-content-type-options: nosniff"));

    // The JSON, to the second.
    let v = json(&addr);
    assert_eq!(v["fresh"], true, "{v}");
    let s = service(&v, "sales");
    assert_eq!(s["state"], "outage");
    assert_eq!(s["since"], "2026-12-02T10:10:00+09:00");
    assert_eq!(s["days"].as_array().unwrap().len(), 90);
    assert_eq!(s["days"][0]["date"], "2026-09-04");
    assert_eq!(s["days"][89]["date"], "2026-12-02");
    let d = day(s, "2026-11-05");
    assert_eq!(
        (d["failure_seconds"].as_i64(), d["level"].as_str()),
        (Some(600), Some("down"))
    );
    // 86,400 − 600 of 86,400 s: 99.3055… floored.
    assert_eq!(d["availability_text"], "99.305");
    assert_eq!(day(s, "2026-11-06")["availability_text"], "100.000");
    let inc = s["incidents"].as_array().unwrap();
    assert_eq!(inc.len(), 2, "{inc:?}");
    assert_eq!(inc[0]["ongoing"], true);
    assert_eq!(inc[0]["reason"], "status");
    assert_eq!(inc[0]["notices"].as_array().unwrap().len(), 1);
    assert_eq!(inc[1]["start"], "2026-11-05T10:00:00+09:00");
    assert_eq!(inc[1]["end"], "2026-11-05T10:10:00+09:00");
    assert_eq!(inc[1]["seconds"], 600);
    assert_eq!(inc[1]["locations"], serde_json::json!(LOCATIONS));
    assert_eq!(inc[1]["reason"], "timeout");
    assert_eq!(inc[1]["reason_words"]["ja"], "応答なし（時間切れ）");
    // November: 600 s of 2,592,000 → 99.976 % (floored), missed.
    let nov = &s["months"][1];
    assert_eq!(nov["month"], "2026-11");
    assert_eq!(nov["availability_text"], "99.976");
    assert_eq!(nov["met"], false);
    // December so far: 1 day 10 h 30 min, of it 20 min failing.
    // (One more step when the refresh came after 10:32.)
    let dec = &s["months"][0];
    assert_eq!(dec["to_date"], true);
    let failed = dec["failure_seconds"].as_i64().unwrap();
    assert!(failed == 1200 || failed == 1320, "{dec}");
    let operating = (124200 + failed - 1200) as f64;
    let expect = (operating - failed as f64) / operating * 100.0;
    let got = s["month_availability_percent"].as_f64().unwrap();
    assert!(got <= expect && expect - got < 0.001, "{got} vs {expect}");

    let m = service(&v, "mail");
    assert_eq!(m["state"], "slow", "{m}");
    let d = day(m, "2026-11-10");
    assert_eq!(
        (
            d["failure_seconds"].as_i64(),
            d["maintenance_seconds"].as_i64(),
            d["level"].as_str()
        ),
        (Some(0), Some(4 * 3600), Some("maintenance"))
    );
    assert_eq!(m["months"][1]["availability_text"], "100.000");
    assert_eq!(m["incidents"], serde_json::json!([]));
    let maint = v["maintenance"].as_array().unwrap();
    assert_eq!(maint.len(), 2);
    assert_eq!(
        (maint[0]["status"].as_str(), maint[0]["in_time"].as_bool()),
        (Some("upcoming"), Some(false))
    );
    assert_eq!(
        (maint[1]["status"].as_str(), maint[1]["in_time"].as_bool()),
        (Some("past"), Some(true))
    );
    let change = v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "change")
        .unwrap();
    assert_eq!(change["in_time"], false);
    assert!(
        v["data_as_of"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-02T10:3"),
        "{}",
        v["data_as_of"]
    );

    // The feeds, read by real parsers.
    let (_, head, ics) = get(&addr, "/maintenance.ics");
    assert!(head.contains("content-type: text/calendar"));
    let (_, _, atom) = get(&addr, "/feed.atom");
    let f = parse_feeds(dir.path(), &ics, &atom);
    let events = f["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{f}");
    let late = events
        .iter()
        .find(|e| e["start"] == "2027-01-09T16:00:00+00:00")
        .unwrap();
    assert_eq!(late["end"], "2027-01-09T18:00:00+00:00");
    assert_eq!(
        late["summary"],
        "臨時メンテナンス <緊急> / Extra maintenance, urgent"
    );
    assert_eq!(late["status"], "CONFIRMED");
    assert!(late["description"]
        .as_str()
        .unwrap()
        .contains("less than 6 months"));
    assert!(late["uid"]
        .as_str()
        .unwrap()
        .ends_with("@status.example.jp"));
    assert_eq!(f["bozo"], false, "{f}");
    let titles: Vec<&str> = f["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("障害発生中: AOULU 販売")),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"販売で障害が発生しています <調査中> / Sales is failing (investigating)"),
        "{titles:?}"
    );
    assert!(titles
        .iter()
        .any(|t| t.starts_with("メンテナンス / Maintenance: 臨時メンテナンス")));
    assert_eq!(titles.len(), 2 + 2 + 2);

    // A restart shows the same calendar (UIDs stable), and so does a second replica.
    // Its first refresh asks for all 90 days; the first replica has refreshed
    // from its cache every 2 s since: the same past days and incidents.
    let again = start_status(&cfg, &prom.url);
    let (_, _, ics2) = get(&again.addr, "/maintenance.ics");
    assert_eq!(ics, ics2);
    let (one, two) = (json(&addr), json(&again.addr));
    for name in ["sales", "mail"] {
        let past = |v: &Value| {
            let s = service(v, name);
            let days = s["days"].as_array().unwrap()[..89].to_vec();
            let ended: Vec<Value> = s["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["ongoing"] == false)
                .cloned()
                .collect();
            (days, ended)
        };
        assert_eq!(past(&one), past(&two), "{name}");
    }
    drop(again);

    let (_, _, badge) = get(&addr, "/badge/sales.svg");
    assert!(badge.contains("障害発生中 / outage"));

    // Static files: the same pages, for object storage.
    let site = dir.path().join("site");
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["status", "--config"])
        .arg(&cfg)
        .args(["--prometheus.url", &prom.url, "--now", NOW, "--render"])
        .arg(&site)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "index.html",
        "en/index.html",
        "style.css",
        "feed.atom",
        "maintenance.ics",
        "api/v1/status.json",
        "badge/mail.svg",
    ] {
        assert!(site.join(f).is_file(), "{f}");
    }
    let ja = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(ja.contains(r#"href="./en/""#) && ja.contains("障害発生中"));

    // Headless Chromium: DOM, no foreign request, screenshots (copied to docs/ on request).
    let docs = std::env::var_os("MIMAMORI_UPDATE_SCREENSHOTS")
        .map(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs"));
    browse(&addr, dir.path(), docs.as_deref());

    // Prometheus gone: status unknown, with the time of the last good data.
    let as_of = v["data_as_of"].clone();
    prom.stop();
    crate::common::wait_until(
        Duration::from_secs(20),
        "status unknown after Prometheus stopped",
        || {
            let v = json(&addr);
            v["fresh"] == false
                && v["services"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|s| s["state"] == "unknown")
        },
    );
    let v = json(&addr);
    assert_eq!(v["data_as_of"], as_of);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach Prometheus"),
        "{v}"
    );
    let (_, _, ja) = get(&addr, "/");
    assert!(ja.contains(r#"id="stale""#) && ja.contains("状況不明"));
    assert!(ja.contains("最後に確認できた時点で発生中の障害"));
    let shown = as_of.as_str().unwrap()[11..16].to_string();
    assert!(
        ja.contains(&shown),
        "last good data time {shown} on the page"
    );
    assert!(!ja.contains(r#"data-state="operational""#));
    let (_, _, en) = get(&addr, "/en/");
    assert!(en.contains("Status unknown"));
    let shot = dir.path().join("status-ja-unknown.png");
    let profile = tempfile::tempdir().unwrap();
    let out = chromium(
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,900".into(),
            format!("http://{addr}/"),
        ],
        profile.path(),
    );
    assert!(out.status.success());
    if let Some(docs) = &docs {
        std::fs::copy(&shot, docs.join("status-ja-unknown.png")).unwrap();
    }
    drop(status);
}

/// `mimamori status --render DIR` with extra flags: exit code and stderr.
fn render(cfg: &Path, url: &str, site: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["status", "--config"])
        .arg(cfg)
        .args(["--prometheus.url", url, "--now", NOW])
        .args(extra)
        .arg("--render")
        .arg(site)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn site_json(site: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(site.join("api/v1/status.json")).unwrap())
        .unwrap()
}

/// Every file of a rendered site, as text.
fn site_text(site: &Path) -> String {
    let mut all = String::new();
    let mut dirs = vec![site.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                all.push_str(&String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()));
            }
        }
    }
    all
}

/// The status page from a Prometheus behind TLS, basic auth (its own `--web.config.file`) and
/// the path prefix `/prom`, as Thanos Query or Mimir sit behind a gateway: the page shows the
/// data; without the CA, with a wrong password or without the prefix it says why it has none.
#[test]
fn status_through_tls_basic_auth_and_a_path_prefix() {
    let (start, end) = (jst("2026-11-29T00:00:00"), jst("2026-12-02T11:00:00"));
    let sales = series(
        "sales",
        &[(jst("2026-12-02T10:10:00"), end, "status")],
        start,
        end,
    );
    let mail = series("mail", &[], start, end);
    let secured = prometheus::start_secured(Some((&[sales, mail], start, end)));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mimamori.yaml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let ca = secured.ca_file.to_str().unwrap();
    let pass = secured.password_file.to_str().unwrap();
    let auth = [
        "--prometheus.basic-auth-user",
        prometheus::SECURED_USER,
        "--prometheus.basic-auth-password-file",
        pass,
    ];
    let with_ca: Vec<&str> = auth
        .iter()
        .copied()
        .chain(["--prometheus.ca-file", ca])
        .collect();

    let site = dir.path().join("site");
    let (code, err) = render(&cfg, &secured.url, &site, &with_ca);
    assert_eq!(code, 0, "{err}");
    let v = site_json(&site);
    assert_eq!(v["fresh"], true, "{v}");
    assert_eq!(service(&v, "sales")["state"], "outage");
    assert_eq!(service(&v, "sales")["since"], "2026-12-02T10:10:00+09:00");
    assert_eq!(service(&v, "mail")["state"], "operational");
    assert!(!err.contains(prometheus::SECURED_PASSWORD));
    assert!(!site_text(&site).contains(prometheus::SECURED_PASSWORD));

    // Without the CA: the certificate is refused, and the page says status unknown.
    let site = dir.path().join("no-ca");
    let (code, err) = render(&cfg, &secured.url, &site, &auth);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("invalid peer certificate"), "{err}");
    let v = site_json(&site);
    assert_eq!(v["fresh"], false);
    assert_eq!(service(&v, "sales")["state"], "unknown");

    // Without the path prefix: Prometheus answers 404.
    let bare = secured.url.trim_end_matches("/prom");
    let (code, err) = render(&cfg, bare, &dir.path().join("bare"), &with_ca);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("answered 404"), "{err}");

    // A wrong password: 401, and neither password is printed.
    std::fs::write(&secured.password_file, "wrong-pa55\n").unwrap();
    let (code, err) = render(&cfg, &secured.url, &dir.path().join("401"), &with_ca);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("answered 401"), "{err}");
    assert!(!err.contains("wrong-pa55"), "{err}");
}

/// The tenant header, the bearer token and the path prefix reach the server on every request
/// (a recording stand-in answering empty results, as tests/it/report.rs does for `report`).
#[test]
fn tenant_header_token_and_path_prefix_reach_the_server() {
    let (addr, heads) = prometheus::recording_server();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mimamori.yaml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let site = dir.path().join("site");
    let (code, err) = render(
        &cfg,
        &format!("http://{addr}/tenant"),
        &site,
        &[
            "--prometheus.header",
            "X-Scope-OrgID=t1",
            "--prometheus.bearer-token-file",
            token.to_str().unwrap(),
        ],
    );
    // Empty answers: reached, but nothing to show.
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no recent data from any location"), "{err}");
    let heads: Vec<String> = heads.try_iter().collect();
    assert!(heads.len() >= 2, "{heads:?}");
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
        assert!(lower.contains("authorization: bearer s3cret-token"), "{h}");
    }
    assert!(!err.contains("s3cret"));
    assert!(!site_text(&site).contains("s3cret"));
}

/// `service` at every location, with `job`/`instance` labels and each prober's
/// `mimamori_prober_healthy`: from `from` on, the locations in `failing` see
/// it fail and those in `blind` are blind (every self-check target failing).
fn blind_series(
    service: &str,
    failing: &[&str],
    blind: &[&str],
    (start, from, end): (i64, i64, i64),
) -> SeriesSet {
    let mut out = Vec::new();
    let times: Vec<i64> = (0..)
        .map(|k| start + 7 + k * INTERVAL)
        .take_while(|t| *t < end)
        .collect();
    for loc in LOCATIONS {
        let target = format!("job=\"mimamori\",instance=\"{loc}-{service}:9732\"");
        let value = |set: &[&str], t: i64, then: f64| {
            if set.contains(&loc) && t >= from {
                then
            } else {
                1.0
            }
        };
        out.push((
            format!("mimamori_probe_success{{service=\"{service}\",transaction=\"t\",location=\"{loc}\",{target}}}"),
            times.iter().map(|&t| (t, value(failing, t, 0.0))).collect(),
        ));
        out.push((
            format!("mimamori_prober_healthy{{location=\"{loc}\",{target}}}"),
            times.iter().map(|&t| (t, value(blind, t, 0.0))).collect(),
        ));
    }
    out
}

/// Probers that lose their uplink see everything fail: while blind their
/// results are unknown on the status page, neither an outage nor up. Every
/// location of `sales` is blind (and fails): unknown. At `mail`, tokyo is
/// blind and fails while osaka alone sees failures: one of the two locations
/// that see is no quorum, so mail is operational, not an outage.
#[test]
fn blind_probers_are_unknown_not_an_outage() {
    let (start, from, end) = (
        jst("2026-11-29T00:00:00"),
        jst("2026-12-02T10:10:00"),
        jst("2026-12-02T11:00:00"),
    );
    let sales = blind_series("sales", &LOCATIONS, &LOCATIONS, (start, from, end));
    let mail = blind_series("mail", &["tokyo", "osaka"], &["tokyo"], (start, from, end));
    let mut prom = prometheus::start_backfilled(&[sales, mail], start, end);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mimamori.yaml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let site = dir.path().join("site");
    let (_, err) = render(&cfg, &prom.url, &site, &[]);
    let v = site_json(&site);
    assert_eq!(v["fresh"], true, "{err}\n{v}");
    let s = service(&v, "sales");
    assert_eq!(s["state"], "unknown", "{s}");
    assert_eq!(s["incidents"], serde_json::json!([]), "{s}");
    assert_eq!(day(s, "2026-12-02")["failure_seconds"], 0, "{s}");
    let m = service(&v, "mail");
    assert_eq!(m["state"], "operational", "{m}");
    assert_eq!(m["incidents"], serde_json::json!([]), "{m}");
    prom.stop();
}

/// Backups are internal: the public page never names or counts them, even
/// when `backups:` is configured (here with Prometheus unreachable, so the
/// page renders from the configuration alone).
#[test]
fn status_page_never_shows_backups() {
    let dir = tempfile::tempdir().unwrap();
    let cfg =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/aoulu-backups.yaml");
    let site = dir.path().join("site");
    let (code, err) = render(&cfg, "http://127.0.0.1:9", &site, &[]);
    assert_eq!(code, 2, "{err}");
    let all = site_text(&site);
    assert!(all.contains("AOULU 販売"), "the page lists the services");
    for word in [
        "販売データベース",
        "Sales database",
        "mail-store",
        "aoulu-backups",
        "バックアップ",
        "backup",
        "Backup",
    ] {
        assert!(!all.contains(word), "the status page shows {word:?}");
    }
}

/// The backup series of one backup every 2 minutes over `[start, end)`.
fn backup_series(name: &str, start: i64, end: i64, values: [(&str, f64); 7]) -> SeriesSet {
    let times: Vec<i64> = (0..)
        .map(|k| start + 7 + k * INTERVAL)
        .take_while(|t| *t < end)
        .collect();
    values
        .iter()
        .map(|(metric, v)| {
            (
                format!("{metric}{{service=\"sales\",backup=\"{name}\",job=\"mimamori\",instance=\"tokyo-0:9732\"}}"),
                times.iter().map(|&t| (t, *v)).collect(),
            )
        })
        .collect()
}

/// `--internal` adds the backups (seed §6), judged as their alerts judge
/// them from a real Prometheus: a healthy one is OK; one that is stale,
/// missing dates, short of six months and readable without credentials
/// needs attention, each problem in words. The page says it is internal and
/// asks not to be indexed; without `--internal` nothing of it appears.
#[test]
fn internal_view_shows_backups_the_public_page_never() {
    let (start, end) = (jst("2026-12-01T00:00:00"), jst("2026-12-02T11:00:00"));
    let now = jst("2026-12-02T10:30:00");
    let required = jst("2026-06-02T00:00:00") as f64;
    let good = backup_series(
        "db",
        start,
        end,
        [
            (
                "mimamori_backup_last_success_timestamp_seconds",
                (now - 8 * 3600) as f64,
            ),
            (
                "mimamori_backup_oldest_timestamp_seconds",
                required - 86400.0 * 20.0,
            ),
            (
                "mimamori_backup_retention_required_timestamp_seconds",
                required,
            ),
            ("mimamori_backup_dates_covered", 183.0),
            ("mimamori_backup_dates_expected", 183.0),
            ("mimamori_backup_anonymous_access_refused", 1.0),
            ("mimamori_backup_check_success", 1.0),
        ],
    );
    let leaky = backup_series(
        "files",
        start,
        end,
        [
            (
                "mimamori_backup_last_success_timestamp_seconds",
                (now - 30 * 3600) as f64,
            ),
            (
                "mimamori_backup_oldest_timestamp_seconds",
                required + 86400.0 * 10.0,
            ),
            (
                "mimamori_backup_retention_required_timestamp_seconds",
                required,
            ),
            ("mimamori_backup_dates_covered", 181.0),
            ("mimamori_backup_dates_expected", 183.0),
            ("mimamori_backup_anonymous_access_refused", 0.0),
            ("mimamori_backup_check_success", 1.0),
        ],
    );
    let sales = series("sales", &[], start, end);
    let mail = series("mail", &[], start, end);
    let mut prom = prometheus::start_backfilled(&[sales, mail, good, leaky], start, end);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mimamori.yaml");
    let mut text = CONFIG.to_string();
    text.push_str(
        "backups:\n\
         \x20 - {service: sales, name: db, display_name: {ja: 販売DB, en: Sales DB}, directory: /nonexistent}\n\
         \x20 - {service: sales, name: files, display_name: {ja: 販売ファイル, en: Sales files}, directory: /nonexistent}\n",
    );
    std::fs::write(&cfg, text).unwrap();

    let site = dir.path().join("internal");
    let (code, err) = render(&cfg, &prom.url, &site, &["--internal"]);
    assert_eq!(code, 0, "{err}");
    let v = site_json(&site);
    assert_eq!(v["internal"], true);
    let b = v["backups"].as_array().unwrap();
    assert_eq!(b.len(), 2, "{v}");
    assert_eq!(b[0]["backup"], "db");
    assert_eq!(b[0]["state"], "ok", "{}", b[0]);
    assert_eq!(b[0]["age_seconds"], 8 * 3600);
    assert_eq!(b[0]["problems"], serde_json::json!([]));
    assert_eq!(b[1]["state"], "attention", "{}", b[1]);
    let problems: Vec<&str> = b[1]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["en"].as_str().unwrap())
        .collect();
    assert_eq!(
        problems,
        [
            "readable without credentials (a data leak)",
            "the newest backup is 1 d 6 h old (objective: within 1 d 2 h)",
            "2 of the last 183 dates have no backup",
            "six months are not kept",
        ],
        "{}",
        b[1]
    );
    let ja = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(ja.contains("<meta name=\"robots\" content=\"noindex, nofollow\">"));
    assert!(ja.contains("社内向け"), "the page says it is internal");
    assert!(
        ja.contains("data-backup=\"files\" data-state=\"attention\""),
        "{ja}"
    );
    assert!(ja.contains("認証なしで一覧・読み取りできます（データ漏えい）"));
    let en = std::fs::read_to_string(site.join("en/index.html")).unwrap();
    assert!(en.contains("Backups (daily, kept 6 months, administrators only)"));
    // Its own stylesheet (the page's CSP allows no inline style).
    assert!(ja.contains("href=\"./internal.css\""));
    assert!(site.join("internal.css").exists());

    let public = dir.path().join("public");
    let (code, err) = render(&cfg, &prom.url, &public, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!public.join("internal.css").exists());
    let all = site_text(&public);
    for word in [
        "販売DB",
        "Sales files",
        "バックアップ",
        "backup",
        "noindex",
        "社内向け",
    ] {
        assert!(!all.contains(word), "the public page shows {word:?}");
    }
    prom.stop();
}

/// The status benchmark: 90 days (93 backfilled) of 15 s data, two services
/// (`MIMAMORI_BENCH_SERVICES` to change), three locations, one short outage
/// each; times `mimamori status` until it serves (its first refresh) and reads
/// its VmRSS and VmHWM then, the CPU it and Prometheus used for it, and the
/// CPU of the refreshes that follow (every 10 s, for 30 s).
/// `MIMAMORI_BENCH_BIN=target/release/mimamori cargo test --test it status:: -- --ignored --nocapture bench`
/// (see `prometheus::bench_bin`, and `prometheus::bench_backfilled` for
/// `MIMAMORI_BENCH_DATA`; `MIMAMORI_FULL_RESOLUTION=1` skips the quiet-hour checks).
#[test]
#[ignore]
#[allow(
    clippy::disallowed_methods,
    reason = "the benchmark measures wall-clock time"
)]
fn bench_90_days_of_15s_data() {
    let n: usize = std::env::var("MIMAMORI_BENCH_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let (start, end) = (jst("2026-08-31T00:00:00"), jst("2026-12-02T11:00:00"));
    let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let prom = prometheus::bench_backfilled(&format!("status-{n}"), || {
        let all = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let outage = jst("2026-11-05T10:00:00") + i as i64 * 86400;
                prometheus::bench_service(name, &LOCATIONS, start + 7, end, outage)
            })
            .collect();
        (all, start, end)
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mimamori.yaml");
    let mut text = String::from(
        "global: {interval: 15s, timeout: 10s}\nalerting: {locations: [fukuoka, osaka, tokyo]}\nservices:\n",
    );
    for name in &names {
        text.push_str(&format!(
            "  - name: {name}\n    display_name: {{ja: {name}, en: {name}}}\n    transactions:\n      - name: t\n        steps: [{{name: s, url: 'https://{name}.invalid/'}}]\n"
        ));
    }
    std::fs::write(&cfg, text).unwrap();
    let bin = prometheus::bench_bin();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let prom_cpu = prom.cpu_seconds();
    let t = std::time::Instant::now();
    let status = start_status_of(&bin, &cfg, &prom.url, "10s");
    let first = t.elapsed();
    let prom_cpu = prom.cpu_seconds() - prom_cpu;
    let pid = status.child.id();
    let cpu = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let rest = stat.rsplit_once(')').unwrap().1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
    };
    let first_cpu = cpu();
    let proc = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |k: &str| {
        proc.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| {
                v.trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse::<f64>()
                    .unwrap()
            })
            .unwrap()
    };
    let v = json(&status.addr);
    eprintln!(
        "status, {n} services, 90 days at 15 s (load at start {}): first refresh (until it serves) {first:?}, \
         CPU {first_cpu:.2} s, Prometheus CPU {prom_cpu:.2} s; \
         VmRSS {:.1} MB (RssAnon {:.1} MB, RssFile {:.1} MB: the binary), VmHWM {:.1} MB",
        load.trim(),
        kb("VmRSS:") / 1024.0,
        kb("RssAnon:") / 1024.0,
        kb("RssFile:") / 1024.0,
        kb("VmHWM:") / 1024.0
    );
    let s = service(&v, "s0");
    assert_eq!(v["fresh"], true, "{v}");
    assert_eq!(day(s, "2026-11-05")["failure_seconds"], 180, "{s}");
    assert_eq!(s["incidents"].as_array().unwrap().len(), 1, "{s}");
    // The refreshes that follow: three in 30 s.
    let (c0, p0) = (cpu(), prom.cpu_seconds());
    std::thread::sleep(Duration::from_secs(30));
    eprintln!(
        "status, {n} services: later refreshes (every 10 s, 30 s): CPU {:.3} s per refresh, Prometheus {:.3} s",
        (cpu() - c0) / 3.0,
        (prom.cpu_seconds() - p0) / 3.0
    );
}
