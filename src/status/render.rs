//! Every file of the status page, rendered from one snapshot: HTML (ja at `/`,
//! en at `/en/`), JSON, iCalendar, Atom, SVG badges and the stylesheet.
//!
//! HTML, Atom and SVG come from minijinja templates with HTML/XML escaping on
//! for every value; the iCalendar text is written here with RFC 5545's
//! escaping and line folding.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use minijinja::{context, AutoEscape, Environment};

use super::snapshot::{MaintenanceItem, Snapshot};
use super::time::duration;

/// One file of the site: its path (as served; `/` ends in `index.html` on disk) and content.
#[derive(Debug, Clone)]
pub struct File {
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Seconds a client may cache it (`Cache-Control: max-age`); `None`: revalidate every time.
    pub max_age: Option<u64>,
}

pub type Site = BTreeMap<String, File>;

const STYLE: &str = include_str!("templates/style.css");
/// Only on the internal view: the public site never names backups.
const INTERNAL_STYLE: &str = include_str!("templates/internal.css");

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") || name.ends_with(".xml") || name.ends_with(".svg") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_template("page.html", include_str!("templates/page.html"))
        .expect("page.html parses");
    env.add_template("atom.xml", include_str!("templates/atom.xml"))
        .expect("atom.xml parses");
    env.add_template("badge.svg", include_str!("templates/badge.svg"))
        .expect("badge.svg parses");
    filters(&mut env);
    env
}

/// The page's filters, shared with the customer notices' templates
/// ([`crate::notify::render`]) so that both say times and durations alike.
pub fn filters(env: &mut Environment<'_>) {
    // "2026-11-05T10:00:00+09:00" -> "2026-11-05 10:00"
    env.add_filter("hm", |s: String| -> String {
        if s.len() >= 16 {
            format!("{} {}", &s[..10], &s[11..16])
        } else {
            s
        }
    });
    env.add_filter("dur", |secs: i64, lang: String| -> String {
        duration(secs, &lang)
    });
    env.add_filter("utc", |s: String| -> String {
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| {
                t.with_timezone(&Utc)
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            })
            .unwrap_or(s)
    });
}

/// Renders the whole site. `base_url` (may be empty) makes the feeds' links absolute.
pub fn site(snap: &Snapshot, base_url: &str, refresh_seconds: u64) -> Site {
    let env = env();
    let mut site = Site::new();
    let value = minijinja::Value::from_serialize(snap);
    let page = env.get_template("page.html").expect("added");
    for (path, lang, root) in [("/", "ja", "./"), ("/en/", "en", "../")] {
        let html = page
            .render(context! {
                s => value,
                lang => lang,
                // Ours, not user text: kept as written (the escaper would turn `/` into `&#x2f;`).
                root => minijinja::Value::from_safe_string(root.into()),
                refresh => refresh_seconds,
            })
            .expect("page renders");
        site.insert(
            path.into(),
            File {
                content_type: "text/html; charset=utf-8",
                body: html.into_bytes(),
                max_age: None,
            },
        );
    }
    site.insert(
        "/style.css".into(),
        File {
            content_type: "text/css; charset=utf-8",
            body: STYLE.as_bytes().to_vec(),
            max_age: None,
        },
    );
    if snap.internal {
        site.insert(
            "/internal.css".into(),
            File {
                content_type: "text/css; charset=utf-8",
                body: INTERNAL_STYLE.as_bytes().to_vec(),
                max_age: None,
            },
        );
    }
    site.insert(
        "/api/v1/status.json".into(),
        File {
            content_type: "application/json",
            body: serde_json::to_vec_pretty(snap).expect("serializable"),
            max_age: None,
        },
    );
    let atom = env
        .get_template("atom.xml")
        .expect("added")
        .render(context! { s => value, base => base_url.trim_end_matches('/') })
        .expect("atom renders");
    site.insert(
        "/feed.atom".into(),
        File {
            content_type: "application/atom+xml; charset=utf-8",
            body: atom.into_bytes(),
            max_age: None,
        },
    );
    site.insert(
        "/maintenance.ics".into(),
        File {
            content_type: "text/calendar; charset=utf-8",
            body: ics(snap, base_url).into_bytes(),
            max_age: None,
        },
    );
    super::api::add(&mut site, snap, base_url, refresh_seconds);
    let badge = env.get_template("badge.svg").expect("added");
    for s in &snap.services {
        let svg = badge
            .render(context! { svc => minijinja::Value::from_serialize(s) })
            .expect("badge renders");
        site.insert(
            format!("/badge/{}.svg", s.service),
            File {
                content_type: "image/svg+xml",
                body: svg.into_bytes(),
                max_age: None,
            },
        );
    }
    site
}

/// RFC 5545 TEXT escaping.
fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (never inside a UTF-8 character) and ends it with CRLF.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

fn ics_time(t: i64) -> String {
    Utc.timestamp_opt(t, 0)
        .unwrap()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// The maintenance calendar: every window, past and upcoming, one VEVENT
/// each with a UID made from the window (stable across restarts and replicas)
/// and DTSTAMP = its announcement time (so the file does not change per refresh).
pub fn ics(snap: &Snapshot, base_url: &str) -> String {
    ics_of(&snap.maintenance, base_url)
}

/// [`ics`] of the given windows only (a notice attaches its window's).
pub fn ics_of(windows: &[MaintenanceItem], base_url: &str) -> String {
    let mut out = String::new();
    let host = reqwest::Url::parse(base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "mimamori.status".into());
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//mimamori//status page//JA",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:メンテナンス予定 / Maintenance",
        "X-WR-TIMEZONE:Asia/Tokyo",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
    ] {
        fold(l, &mut out);
    }
    for w in windows {
        let notice = if w.in_time {
            "6か月前までに告知済み / announced at least 6 months ahead"
        } else {
            "告知が6か月前より遅い（計画停止の条件を満たさない） / announced less than 6 months ahead (not planned maintenance under the SLO)"
        };
        let desc = format!(
            "{}\n{}\n対象 / services: {}\n告知 / announced: {} ({})\n{}",
            w.title.ja,
            w.title.en,
            w.services.join(", "),
            chrono::DateTime::<Utc>::from_timestamp(w.announced_at.0, 0)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
            w.announced_via,
            notice
        );
        fold("BEGIN:VEVENT", &mut out);
        fold(&format!("UID:{}@{}", w.id, host), &mut out);
        fold(&format!("DTSTAMP:{}", ics_time(w.announced_at.0)), &mut out);
        fold(&format!("DTSTART:{}", ics_time(w.start.0)), &mut out);
        fold(&format!("DTEND:{}", ics_time(w.end.0)), &mut out);
        fold(
            &format!(
                "SUMMARY:{}",
                ics_text(&format!("{} / {}", w.title.ja, w.title.en))
            ),
            &mut out,
        );
        fold(&format!("DESCRIPTION:{}", ics_text(&desc)), &mut out);
        fold("STATUS:CONFIRMED", &mut out);
        fold("TRANSP:OPAQUE", &mut out);
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ics_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        fold(&format!("SUMMARY:{}", "メンテナンス".repeat(10)), &mut out);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{l}");
        }
        assert_eq!(ics_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn user_text_is_escaped_in_every_file_and_the_site_is_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            r#"
global: {interval: 60s, timeout: 30s}
services:
  - name: web
    display_name: {ja: "<script>alert(1)</script>", en: "A & B"}
    transactions:
      - name: t
        steps: [{name: s, url: 'https://web.invalid/'}]
maintenance:
  - services: [web]
    start: 2027-06-01T01:00:00+09:00
    end: 2027-06-01T02:00:00+09:00
    announced_at: 2026-01-01T00:00:00+09:00
    announced_via: "<b>guide</b>"
    title: {ja: "<img src=x>", en: "a, b; c"}
"#,
        )
        .unwrap();
        let cfg = crate::config::load(&path).unwrap();
        let plans = crate::slo::plan::plans(&cfg);
        let tz = chrono_tz::Asia::Tokyo;
        let empty = vec![super::super::snapshot::ServiceData::default()];
        let snap = super::super::snapshot::assemble(&cfg, &plans, &empty, 1_800_000_000, tz, 120);
        let site = site(&snap, "https://status.example.jp/", 30);
        for p in [
            "/",
            "/en/",
            "/style.css",
            "/api/v1/status.json",
            "/feed.atom",
            "/maintenance.ics",
            "/badge/web.svg",
        ] {
            assert!(site.contains_key(p), "{p}");
        }
        for p in ["/", "/en/", "/feed.atom", "/badge/web.svg"] {
            let text = String::from_utf8(site[p].body.clone()).unwrap();
            assert!(!text.contains("<script>") && !text.contains("<img"), "{p}");
            assert!(!text.contains("<b>guide"), "{p}");
        }
        let ja = String::from_utf8(site["/"].body.clone()).unwrap();
        assert!(ja.contains("&lt;script&gt;"));
        assert!(ja.contains("状況不明"), "no data: unknown, never green");
        assert!(
            !ja.contains("http://") && !ja.contains("https://"),
            "no external URL"
        );
        let ics = String::from_utf8(site["/maintenance.ics"].body.clone()).unwrap();
        assert!(
            ics.contains("SUMMARY:<img src=x> / a\\, b\\; c\r\n"),
            "{ics}"
        );
        assert!(ics.contains("DTSTART:20270531T160000Z\r\n"));
    }

    #[test]
    fn incidents_outside_the_slo_stay_listed_and_are_marked() {
        use super::super::snapshot::{assemble, range, ServiceData};
        use crate::slo::compute::StepData;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            r#"
global: {interval: 60s, timeout: 30s}
alerting: {locations: [a, b, c]}
services:
  - name: web
    display_name: {ja: ウェブ, en: Web}
    transactions:
      - name: t
        steps: [{name: s, url: 'https://web.invalid/'}]
exclusions:
  - services: [web]
    start: 2026-12-01T09:00:00+09:00
    end: 2026-12-01T09:10:00+09:00
    reason: carrier_outage
    description: {ja: 全国的な通信障害, en: Nationwide carrier outage}
    decided_by: QA lead
    decided_at: 2026-12-01T15:00:00+09:00
    evidence: https://carrier.example/n/1
  - services: [web]
    start: 2026-12-01T12:10:00+09:00
    end: 2026-12-01T12:30:00+09:00
    reason: force_majeure
    description: {ja: 地震, en: Earthquake}
    decided_by: QA lead
    decided_at: 2026-12-01T15:00:00+09:00
"#,
        )
        .unwrap();
        let cfg = crate::config::load(&path).unwrap();
        let plans = crate::slo::plan::plans(&cfg);
        let tz = chrono_tz::Asia::Tokyo;
        let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
        let now = t("2026-12-02T10:30:30+09:00");
        let (start, until) = range(now, tz, 60);
        let mut steps = vec![
            StepData {
                failing: Some(false),
                ..Default::default()
            };
            ((until - start) / 60) as usize
        ];
        for (a, b) in [
            ("2026-12-01T09:00:00+09:00", "2026-12-01T09:10:00+09:00"),
            ("2026-12-01T12:00:00+09:00", "2026-12-01T12:20:00+09:00"),
        ] {
            let (a, b) = (
                ((t(a) - start) / 60) as usize,
                ((t(b) - start) / 60) as usize,
            );
            for s in &mut steps[a..b] {
                s.failing = Some(true);
                s.reasons.insert("connect".into(), 1.0);
            }
        }
        let d = ServiceData {
            start,
            steps: steps.into(),
            slow: false,
        };
        let snap = assemble(&cfg, &plans, &[d], now, tz, 120);
        let svc = &snap.services[0];
        // Both incidents stay, as they happened, newest first.
        let marks: Vec<_> = svc
            .incidents
            .iter()
            .map(|i| {
                (
                    i.seconds,
                    i.excluded,
                    i.excluded_seconds,
                    i.exclusions.len(),
                )
            })
            .collect();
        assert_eq!(marks, [(1200, "partly", 600, 1), (600, "whole", 600, 1)]);
        // December so far: 34.5 h of operating time, 1,800 s failing, 1,200 s of it excluded.
        let m = &svc.months[0];
        assert_eq!(m.month, "2026-12");
        assert_eq!(
            (m.failure_seconds, m.excluded_failure_seconds),
            (1800, 1200)
        );
        assert!(m.excluded);
        assert_eq!(m.availability_text, "98.550");
        assert_eq!(m.availability_adjusted_text, "99.516");
        assert!(!svc.months[1].excluded, "November has none");
        let day = svc.days.iter().find(|d| d.date == "2026-12-01").unwrap();
        assert_eq!(
            (day.failure_seconds, day.excluded_failure_seconds),
            (1800, 1200)
        );

        let site = site(&snap, "https://status.example.jp/", 30);
        let ja = String::from_utf8(site["/"].body.clone()).unwrap();
        let en = String::from_utf8(site["/en/"].body.clone()).unwrap();
        assert!(
            ja.contains(r#"<span class="tag excluded" data-excluded="whole">SLO対象外: 通信遮断等のインフラ障害</span>"#),
            "{ja}"
        );
        assert!(
            ja.contains(r#"<span class="tag excluded" data-excluded="partly">一部SLO対象外: 天変地異・不可抗力</span>"#),
            "{ja}"
        );
        assert!(ja.contains("99.516 %</strong> <span class=\"unadjusted\">(SLO対象外を除く。すべての障害を含むと 98.550 %)</span>"), "{ja}");
        assert!(
            en.contains(r#"<span class="tag excluded" data-excluded="whole">excluded from the SLO: carrier outage or other infrastructure failure</span>"#),
            "{en}"
        );
        assert!(
            en.contains("partly excluded from the SLO: natural disaster or force majeure"),
            "{en}"
        );
        assert!(en.contains("(every failure 98.550 %)"), "{en}");
        // Who decided and the evidence link stay off the public page and its JSON.
        let json = String::from_utf8(site["/api/v1/status.json"].body.clone()).unwrap();
        for text in [&ja, &en, &json] {
            assert!(!text.contains("QA lead") && !text.contains("carrier.example"));
        }
        assert!(
            json.contains(r#""availability_adjusted_text": "99.516""#),
            "{json}"
        );
    }
}
