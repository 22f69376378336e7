//! The 1-hour notice promise (seed §4) end to end where real tools exist:
//! the 45-minute alert through `mimamori generate` and promtool, and the
//! monthly report's record read from a real SQLite outbox written through the
//! notifier's own API with events derived from a status snapshot.

use std::path::{Path, PathBuf};
use std::process::Command;

use mimamori::notify::outbox::Outbox;
use mimamori::notify::{events, Channel, EventKind};
use mimamori::slo::compute::StepData;
use mimamori::status::snapshot::{assemble, range, ServiceData};

use crate::common::tools::{self, tool};

const TZ: chrono_tz::Tz = chrono_tz::Asia::Tokyo;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn t(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

/// `deploy/aoulu.yaml` with `extra` appended (a `notify:` section, notices),
/// written into `dir`.
fn config_with(dir: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("deploy/aoulu.yaml")).unwrap();
    let path = dir.join("aoulu-notify.yaml");
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path
}

const NOTIFY: &str = "
notify:
  contacts: contacts.csv
  outbox: outbox.sqlite
";

fn promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(tools::needed("promtool"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("promtool starts");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The generated notice alerts pass `promtool check rules`, their scenarios
/// pass `promtool test rules`, and paging at the hour instead of 45 minutes
/// fails them. Without `notify:` nothing is generated.
#[test]
fn the_45_minute_alert_is_promtool_tested_and_can_fail() {
    if tool("promtool").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), NOTIFY);
    let out = dir.path().join("out");
    let st = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["generate", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("mimamori starts");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let rules = out.join("rules");
    let (ok, text) = promtool(&rules, &["check", "rules", "mimamori-notices.yml"]);
    assert!(ok && text.contains("SUCCESS: 2 rules found"), "{text}");
    let tests = rules.join("tests");
    let (ok, text) = promtool(&tests, &["test", "rules", "mimamori-notices.yaml"]);
    assert!(ok, "{text}");
    let readme = std::fs::read_to_string(rules.join("README.md")).unwrap();
    assert!(
        readme.contains("| MimamoriNoticeOverdue | page |"),
        "{readme}"
    );

    // Page at the hour, when the promise is already broken: the scenarios notice.
    let file = rules.join("mimamori-notices.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(">= 2700"), "{text}");
    std::fs::write(&file, text.replace(">= 2700", ">= 3600")).unwrap();
    let (ok, text) = promtool(&tests, &["test", "rules", "mimamori-notices.yaml"]);
    assert!(!ok && text.contains("MimamoriNoticeOverdue"), "{text}");
    // One alert per service however many replicas: without `max by`, two.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(">= 3600", ">= 2700").replace(
            "max by (service) (mimamori_notice_unnotified_incident_seconds)",
            "mimamori_notice_unnotified_incident_seconds",
        ),
    )
    .unwrap();
    let (ok, text) = promtool(&tests, &["test", "rules", "mimamori-notices.yaml"]);
    assert!(!ok && text.contains("two replicas"), "{text}");

    let plain = dir.path().join("plain");
    let st = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["generate", "--config"])
        .arg(repo().join("deploy/aoulu.yaml"))
        .arg("--out")
        .arg(&plain)
        .output()
        .unwrap();
    assert!(st.status.success());
    assert!(!plain.join("rules/mimamori-notices.yml").exists());
    assert!(!plain.join("rules/tests/mimamori-notices.yaml").exists());
}

/// A snapshot at `now` of every configured service, `hanbai` failing in
/// `failing` (`to` None: still failing), the others up.
fn snapshot(
    cfg: &mimamori::config::Config,
    now: i64,
    failing: &[(i64, Option<i64>)],
) -> mimamori::status::snapshot::Snapshot {
    let plans = mimamori::slo::plan::plans(cfg);
    let data: Vec<ServiceData> = plans
        .iter()
        .map(|p| {
            let step = p.round_seconds.max(1) as i64;
            let (start, until) = range(now, TZ, step);
            let n = ((until - start) / step) as usize;
            let steps: Vec<StepData> = (0..n)
                .map(|k| {
                    let a = start + k as i64 * step;
                    let fail = p.service == "hanbai"
                        && failing
                            .iter()
                            .any(|&(f, to)| a >= f && to.is_none_or(|to| a < to));
                    let mut s = StepData {
                        failing: Some(fail),
                        ..Default::default()
                    };
                    if fail {
                        s.reasons.insert("timeout".into(), 1.0);
                        s.locations = ["tokyo".to_string(), "osaka".to_string()].into();
                    }
                    s
                })
                .collect();
            ServiceData {
                start,
                steps: steps.into(),
                slow: false,
            }
        })
        .collect();
    assemble(cfg, &plans, &data, now, TZ, 600)
}

/// Delivers every due notice at `now` (the sender's part, without a network).
fn deliver_all(outbox: &Outbox, now: i64) {
    let lease = outbox.acquire_lease("test", now, 60, &|_| false).unwrap();
    assert!(lease.held);
    for job in outbox.claim_due("test", now, 100).unwrap() {
        outbox.mark_delivered("test", &job, now).unwrap();
    }
}

/// The report's record from a real outbox: an incident told by mail in 10
/// minutes; one whose mail took 70 minutes but whose page came at once (the
/// promise is the page *or* the mail); a blip never mailed; a change
/// published late; a maintenance window announced in time.
#[test]
fn the_monthly_report_records_when_customers_were_told() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("contacts.csv"),
        "id,email,lang\nc1,c1@example.jp,ja\nc2,c2@example.jp,en\n",
    )
    .unwrap();
    let path = config_with(
        dir.path(),
        &format!(
            "{NOTIFY}
notices:
  - kind: change
    published_at: 2026-11-20T10:00:00+09:00
    effective_at: 2026-12-01T00:00:00+09:00
    title: {{ja: 帳票の変更, en: New forms}}
"
        ),
    );
    // The shipped window (2027-05-09, announced 2026-10-30) is announced in October.
    let cfg = mimamori::config::load(&path).unwrap();
    let contacts = mimamori::notify::contacts::load(
        &dir.path().join("contacts.csv"),
        &cfg.services
            .iter()
            .map(|s| s.name.to_string())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(contacts.rejected.is_empty());
    let outbox_path = dir.path().join("outbox.sqlite");
    let outbox = Outbox::open(&outbox_path).unwrap();

    // Incident 1: 10:00–10:30, mailed at 10:10.
    let a = t("2026-11-05T10:00:00+09:00");
    // Incident 2: 14:00–16:00, the page at 14:01, the mail (SMTP down) at 15:10.
    let b = t("2026-11-05T14:00:00+09:00");
    // A 3-minute blip at 18:00: on the page, never mailed.
    let c = t("2026-11-05T18:00:00+09:00");
    let failing = [(a, Some(a + 1800)), (b, Some(b + 7200)), (c, Some(c + 180))];
    let step = |now: i64, deliver: bool| {
        let failing: Vec<(i64, Option<i64>)> = failing
            .iter()
            .filter(|(f, _)| *f <= now)
            .map(|&(f, to)| (f, to.filter(|&to| to <= now)))
            .collect();
        let snap = snapshot(&cfg, now, &failing);
        for s in &snap.services {
            for i in &s.incidents {
                outbox
                    .record_page_seen(&i.id, &s.service, i.start.0, now)
                    .unwrap();
            }
        }
        let evs = events::derive(&snap, &cfg, now, "https://status.example.jp/");
        outbox.enqueue(&evs, &contacts.contacts, now).unwrap();
        if deliver {
            deliver_all(&outbox, now);
        }
    };
    step(a + 60, true);
    step(a + 600, true); // confirmed and delivered at +10 min
    step(a + 2400, true); // resolved
    step(b + 60, true); // on the page
    step(b + 600, false); // confirmed; SMTP down
    step(b + 4200, true); // delivered at +70 min
    step(b + 7500, true);
    step(c + 60, true);
    step(c + 600, true); // the blip is over: nothing
    step(t("2026-11-20T10:05:00+09:00"), true); // the change

    drop(outbox);
    let from = t("2026-11-01T00:00:00+09:00");
    let to = t("2026-12-01T00:00:00+09:00");
    let r = mimamori::report::notices::report(&cfg, &[], TZ, from, to).expect("notify: configured");
    assert_eq!(r.error, None);
    assert_eq!(r.promise_seconds, 3600);
    let ids: Vec<&str> = r.incidents.iter().map(|i| i.incident.as_str()).collect();
    assert_eq!(
        ids,
        [
            format!("incident-hanbai-{a}"),
            format!("incident-hanbai-{b}"),
            format!("incident-hanbai-{c}")
        ]
    );
    let (i1, i2, i3) = (&r.incidents[0], &r.incidents[1], &r.incidents[2]);
    assert_eq!(i1.page_delay_seconds, Some(60));
    assert_eq!(i1.channels.len(), 1);
    assert_eq!(i1.channels[0].channel, Channel::Email);
    assert_eq!(i1.channels[0].delay_seconds, Some(600));
    assert_eq!(i1.channels[0].delivered, 2, "both contacts");
    assert!(i1.within_promise);
    assert_eq!(i1.notice_within_promise, Some(true));
    assert_eq!(i2.channels[0].delay_seconds, Some(4200));
    assert_eq!(i2.channels[0].in_time, Some(false));
    assert_eq!(i2.notice_within_promise, Some(false));
    assert!(i2.within_promise, "the page showed it within the hour");
    assert!(i3.channels.is_empty(), "a blip is never mailed");
    assert_eq!(i3.notice_within_promise, None);
    assert!(i3.within_promise);

    let change = r
        .announcements
        .iter()
        .find(|a| a.kind == EventKind::Change)
        .expect("the change notice");
    assert_eq!(change.required_months, 1);
    assert_eq!(change.published_in_time, Some(false));
    assert_eq!(change.channels[0].in_time, Some(false));
    assert_eq!(change.title.en, "New forms");

    let report = mimamori::report::Report {
        month: "2026-11".into(),
        generated_at: "2026-12-01T09:00:00+09:00".into(),
        prometheus_url: "http://127.0.0.1:9090".into(),
        services: vec![],
        backups: vec![],
        notices: Some(r),
    };
    let table = mimamori::report::render::render(&report, mimamori::report::Format::Table);
    assert!(
        table.contains("お客様へのお知らせ（1時間以内）/ Customer notices (within 1 hour)"),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "incident-hanbai-{b} (hanbai) 発生 / start 2026-11-05 14:00: 状況ページ / page 2026-11-05 14:01 (+1 min); メール / e-mail 2026-11-05 15:10 (+1 h 10 min); webhook -; 1時間以内 / within 1 h: ○ yes"
        )),
        "{table}"
    );
    let json = mimamori::report::render::render(&report, mimamori::report::Format::Json);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["notices"]["incidents"][1]["notice_within_promise"], false);
    assert_eq!(
        v["notices"]["incidents"][0]["channels"][0]["first_delivered_at"],
        "2026-11-05T10:10:00+09:00"
    );
    let csv = mimamori::report::render::render(&report, mimamori::report::Format::Csv);
    assert!(
        csv.contains(&format!(
            "incident-hanbai-{a},hanbai,2026-11-05T10:00:00+09:00,2026-11-05T10:01:00+09:00,email,2026-11-05T10:10:00+09:00,600,true"
        )),
        "{csv}"
    );

    // October: the shipped window, announced and mailed (on 11-05) six months ahead.
    let oct =
        mimamori::report::notices::report(&cfg, &[], TZ, t("2026-10-01T00:00:00+09:00"), from)
            .unwrap();
    assert!(oct.incidents.is_empty());
    let w = &oct.announcements[0];
    assert_eq!(w.kind, EventKind::MaintenanceAnnounced);
    assert_eq!(w.required_months, 6);
    assert_eq!(w.published_in_time, Some(true));
    assert_eq!(w.channels[0].in_time, Some(true));
    assert_eq!(
        w.channels[0].first_delivered_at.as_deref(),
        Some("2026-11-05T10:01:00+09:00")
    );

    // An outbox that is not there: the record says so, the rest stands.
    std::fs::remove_file(&outbox_path).unwrap();
    let r = mimamori::report::notices::report(&cfg, &[], TZ, from, to).unwrap();
    assert!(r.error.unwrap().contains("outbox"));
}
