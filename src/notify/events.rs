//! What the customers are to be told at a moment, derived from the status
//! page's own [`Snapshot`]: its incidents, maintenance windows and notices,
//! never a second computation (seed §4).
//!
//! [`derive`] is a pure function of the snapshot, the configuration and the
//! time: every event that is due at `now`, each with a key that does not
//! change between refreshes, restarts or replicas. The outbox drops the ones
//! it already holds, so calling it on every refresh sends each event once.
//!
//! When an event is due:
//!
//! | event | due from | until |
//! |---|---|---|
//! | incident started | the incident has lasted `notify.confirm_after` | it ended more than [`DUE_FOR`] ago |
//! | incident update (`notices:` kind `incident`) | its `published_at` | [`DUE_FOR`] later |
//! | incident resolved | it ended, lasted `confirm_after`, and the service is known up (or in maintenance) again | [`DUE_FOR`] after the end |
//! | maintenance announced | the window's `announced_at` | the window's end |
//! | maintenance reminder | `notify.maintenance_reminder` before the start (unless announced later than that) | the start |
//! | change (`notices:` kind `change` or `maintenance`) | its `published_at` | its `effective_at`, or [`DUE_FOR`] later |
//!
//! Incident events are derived only from a fresh snapshot: when the page
//! says 状況不明 (no recent data), nothing is claimed by mail either.

use serde::Serialize;

use super::{render, Event, EventKind};
use crate::config::{Config, DisplayName, NoticeKind};
use crate::status::snapshot::{MaintenanceItem, NoticeItem, Snapshot, State};
use crate::status::time::Time;

/// How long an event stays due after the moment it became due: a replica
/// that was down for less than this still sends what it missed; the first
/// start of the notifier does not mail the page's 90 days of history.
pub const DUE_FOR: i64 = 86_400;

/// The notify settings events depend on, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// An incident is told only once it has lasted this long (`notify.confirm_after`).
    pub confirm_after: i64,
    /// The reminder goes this long before a window starts (`notify.maintenance_reminder`).
    pub maintenance_reminder: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            confirm_after: 300,
            maintenance_reminder: 86_400,
        }
    }
}

impl Timing {
    /// The `notify:` section's values (defaults without one).
    pub fn of(cfg: &Config) -> Timing {
        cfg.notify
            .as_ref()
            .map_or_else(Timing::default, |n| Timing {
                confirm_after: n.confirm_after.0.as_secs() as i64,
                maintenance_reminder: n.maintenance_reminder.0.as_secs() as i64,
            })
    }
}

/// A service as a message names it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ServiceName {
    pub id: String,
    pub ja: String,
    pub en: String,
}

/// Everything the templates and the webhook body say about one event.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub kind: EventKind,
    pub key: String,
    pub services: Vec<ServiceName>,
    /// The status page's incident id.
    pub incident: Option<String>,
    pub occurred_at: Time,
    /// Incident: its start; maintenance: the window's start.
    pub start: Option<Time>,
    /// Incident: its end (resolved); maintenance: the window's end.
    pub end: Option<Time>,
    pub duration_seconds: Option<i64>,
    /// The dominant failure reason (the closed set of `mimamori_probe_failures_total`).
    pub reason: Option<String>,
    pub reason_words: Option<DisplayName>,
    pub locations: Vec<String>,
    /// Notices and maintenance windows: the written title and text.
    pub title: Option<DisplayName>,
    pub body: Option<DisplayName>,
    /// Changes: when the change takes effect.
    pub effective_at: Option<Time>,
    /// Changes: published a month ahead; maintenance: announced `maintenance_notice_months` ahead.
    pub in_time: Option<bool>,
    /// The place on the page (`#` fragment) that shows it.
    pub anchor: String,
}

/// Every event due at `now` (see the module's table). `base_url` is the page's
/// public address (`--web.external-url`), for links; may be empty.
pub fn derive(snap: &Snapshot, cfg: &Config, now: i64, base_url: &str) -> Vec<Event> {
    derive_with(snap, cfg, Timing::of(cfg), now, base_url)
}

/// [`derive`] with the timing given.
pub fn derive_with(
    snap: &Snapshot,
    cfg: &Config,
    timing: Timing,
    now: i64,
    base_url: &str,
) -> Vec<Event> {
    let tz = snap.generated_at.1;
    let names = |ids: &[String]| -> Vec<ServiceName> {
        let all: Vec<String>;
        let ids = if ids.is_empty() {
            all = snap.services.iter().map(|s| s.service.clone()).collect();
            &all
        } else {
            ids
        };
        ids.iter()
            .map(|id| {
                let d = snap.services.iter().find(|s| &s.service == id);
                ServiceName {
                    id: id.clone(),
                    ja: d.map_or_else(|| id.clone(), |d| d.display_name.ja.clone()),
                    en: d.map_or_else(|| id.clone(), |d| d.display_name.en.clone()),
                }
            })
            .collect()
    };
    let unsubscribe = render::unsubscribe(cfg);
    let mut facts = Vec::new();
    if snap.fresh {
        for s in &snap.services {
            for (k, i) in s.incidents.iter().enumerate() {
                let start = i.start.0;
                let end = i.end.map(|e| e.0);
                let lasted = end.unwrap_or(now) - start;
                if lasted < timing.confirm_after {
                    continue; // never told: not its start, nor its end
                }
                let recent = end.is_none_or(|e| now - e < DUE_FOR);
                if !recent {
                    continue;
                }
                let base = Facts {
                    kind: EventKind::IncidentStarted,
                    key: format!("incident/{}/started", i.id),
                    services: names(std::slice::from_ref(&s.service)),
                    incident: Some(i.id.clone()),
                    occurred_at: i.start,
                    start: Some(i.start),
                    end: None,
                    duration_seconds: None,
                    reason_words: Some(i.reason_words.clone()),
                    reason: Some(i.reason.clone()),
                    locations: i.locations.clone(),
                    title: None,
                    body: None,
                    effective_at: None,
                    in_time: None,
                    anchor: format!("h-{}", i.id),
                };
                facts.push(base.clone());
                // The newest incident is over only once the service is seen up (or
                // in maintenance) again: ended into no data, it may still go on.
                let settled = k > 0
                    || matches!(
                        s.state,
                        State::Operational | State::Slow | State::Maintenance
                    );
                if let Some(e) = end.filter(|_| settled) {
                    facts.push(Facts {
                        kind: EventKind::IncidentResolved,
                        key: format!("incident/{}/resolved", i.id),
                        end: i.end,
                        duration_seconds: Some(e - start),
                        ..base
                    });
                }
            }
        }
    }
    // Oldest first; among notices of one time, in configuration order (both sorts are stable).
    let mut notices: Vec<&NoticeItem> = snap.notices.iter().collect();
    notices.sort_by_key(|n| n.published_at.0);
    for n in notices {
        let at = n.published_at.0;
        let until = match n.kind {
            NoticeKind::Incident => at + DUE_FOR,
            _ => n
                .effective_at
                .map_or(at + DUE_FOR, |e| e.0.max(at + DUE_FOR)),
        };
        if at > now || now >= until {
            continue;
        }
        facts.push(notice_facts(n, &names(&n.services)));
    }
    for w in &snap.maintenance {
        let (start, end, announced) = (w.start.0, w.end.0, w.announced_at.0);
        if announced <= now && now < end {
            facts.push(window_facts(
                w,
                EventKind::MaintenanceAnnounced,
                "announced",
                w.announced_at,
                &names(&w.services),
            ));
        }
        let remind_at = start - timing.maintenance_reminder;
        if remind_at <= now && now < start && announced < remind_at {
            facts.push(window_facts(
                w,
                EventKind::MaintenanceReminder,
                "reminder",
                Time(remind_at, tz),
                &names(&w.services),
            ));
        }
    }
    facts
        .into_iter()
        .map(|f| {
            let ics = matches!(
                f.kind,
                EventKind::MaintenanceAnnounced | EventKind::MaintenanceReminder
            )
            .then(|| {
                snap.maintenance
                    .iter()
                    .find(|w| f.anchor == w.id)
                    .map(|w| crate::status::render::ics_of(std::slice::from_ref(w), base_url))
            })
            .flatten();
            render::event(&f, base_url, unsubscribe.as_deref(), ics)
        })
        .collect()
}

/// A notice's event key: its page id ([`crate::status::snapshot::notice_ids`])
/// under `notice/`, e.g. `notice/change-1796086800`, then `…-1`, `…-2`.
pub fn notice_key(id: &str) -> String {
    format!("notice/{}", id.strip_prefix("notice-").unwrap_or(id))
}

/// Every configured notice with the key its event has (for `report`).
pub fn notice_keys(cfg: &Config) -> Vec<(String, &crate::config::Notice)> {
    let ids = crate::status::snapshot::notice_ids(cfg);
    ids.iter()
        .map(|id| notice_key(id))
        .zip(&cfg.notices)
        .collect()
}

/// A notice's facts.
fn notice_facts(n: &NoticeItem, services: &[ServiceName]) -> Facts {
    let key = notice_key(&n.id);
    Facts {
        kind: match n.kind {
            NoticeKind::Incident => EventKind::IncidentUpdate,
            NoticeKind::Change => EventKind::Change,
            NoticeKind::Maintenance => EventKind::MaintenanceAnnounced,
        },
        key,
        services: services.to_vec(),
        incident: n.incident.clone(),
        occurred_at: n.published_at,
        start: None,
        end: None,
        duration_seconds: None,
        reason: None,
        reason_words: None,
        locations: Vec::new(),
        title: Some(n.title.clone()),
        body: Some(n.body.clone()),
        effective_at: n.effective_at,
        in_time: n.in_time,
        anchor: n.id.clone(),
    }
}

fn window_facts(
    w: &MaintenanceItem,
    kind: EventKind,
    what: &str,
    occurred_at: Time,
    services: &[ServiceName],
) -> Facts {
    Facts {
        kind,
        key: format!("maintenance/{}/{what}", w.id),
        services: services.to_vec(),
        incident: None,
        occurred_at,
        start: Some(w.start),
        end: Some(w.end),
        duration_seconds: Some(w.end.0 - w.start.0),
        reason: None,
        reason_words: None,
        locations: Vec::new(),
        title: Some(w.title.clone()),
        body: None,
        effective_at: None,
        in_time: Some(w.in_time),
        anchor: w.id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slo::compute::StepData;
    use crate::status::snapshot::{assemble, range, ServiceData};
    use chrono_tz::Tz;

    const TZ: Tz = chrono_tz::Asia::Tokyo;

    fn t(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    fn cfg(extra: &str) -> Config {
        let text = format!(
            r#"
global: {{interval: 60s, timeout: 30s}}
alerting: {{locations: [a, b, c]}}
services:
  - name: hanbai
    display_name: {{ja: AOULU 販売, en: AOULU Sales}}
    transactions:
      - name: t
        steps: [{{name: s, url: 'https://hanbai.invalid/'}}]
{extra}"#
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        std::fs::write(&p, text).unwrap();
        crate::config::load(&p).unwrap()
    }

    /// A snapshot at `now` of one service that was up except `failing`
    /// (`[from, to)`, `to` = None: still failing); no data after `data_until`.
    fn snap(cfg: &Config, now: i64, failing: &[(i64, Option<i64>)], data_until: i64) -> Snapshot {
        let plans = crate::slo::plan::plans(cfg);
        let (start, until) = range(now, TZ, 60);
        let n = ((until - start) / 60) as usize;
        let steps: Vec<StepData> = (0..n)
            .map(|k| {
                let a = start + k as i64 * 60;
                let fail = failing
                    .iter()
                    .any(|&(f, to)| a >= f && to.is_none_or(|to| a < to));
                let mut s = StepData {
                    failing: (a < data_until).then_some(fail),
                    ..Default::default()
                };
                if fail {
                    s.reasons.insert("timeout".into(), 1.0);
                }
                s
            })
            .collect();
        let d = ServiceData {
            start,
            steps: steps.into(),
            slow: false,
        };
        assemble(cfg, &plans, &[d], now, TZ, 600)
    }

    fn keys(ev: &[Event]) -> Vec<&str> {
        ev.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn a_blip_shorter_than_confirm_after_is_never_told() {
        let cfg = cfg("");
        let f = t("2026-12-02T10:00:00+09:00");
        // Four minutes of failure: on the page, never mailed, now or after it ended.
        for now in [f + 240, f + 600, f + 3600] {
            let s = snap(&cfg, now, &[(f, Some(f + 240))], now);
            assert_eq!(s.services[0].incidents.len(), 1, "the page shows it");
            assert!(derive(&s, &cfg, now, "").is_empty(), "at {now}");
        }
        // Still failing after 4 minutes: not yet.
        let s = snap(&cfg, f + 240, &[(f, None)], f + 240);
        assert!(derive(&s, &cfg, f + 240, "").is_empty());
    }

    #[test]
    fn an_incident_is_told_once_confirmed_then_resolved_with_its_duration() {
        let cfg = cfg("");
        let f = t("2026-12-02T10:00:00+09:00");
        let id = format!("incident-hanbai-{f}");
        // Ongoing for 5 minutes: started is due, occurred at the incident's start.
        let s = snap(&cfg, f + 300, &[(f, None)], f + 300);
        let ev = derive(&s, &cfg, f + 300, "https://status.example.jp/");
        assert_eq!(keys(&ev), [format!("incident/{id}/started")]);
        assert_eq!(ev[0].kind, EventKind::IncidentStarted);
        assert_eq!(ev[0].occurred_at, f);
        assert_eq!(ev[0].incident.as_deref(), Some(id.as_str()));
        assert_eq!(ev[0].services, ["hanbai"]);
        // Over after 20 minutes and up again: started (already sent: the outbox
        // drops it) and resolved.
        let now = f + 1500;
        let s = snap(&cfg, now, &[(f, Some(f + 1200))], now);
        let ev = derive(&s, &cfg, now, "");
        assert_eq!(
            keys(&ev),
            [
                format!("incident/{id}/started"),
                format!("incident/{id}/resolved")
            ]
        );
        assert_eq!(ev[1].json["duration_seconds"], 1200);
        assert!(ev[1].en.text.contains("20 min"), "{}", ev[1].en.text);
        // Ended into no data (the service is unknown): not resolved yet.
        let s = snap(&cfg, now, &[(f, Some(f + 1200))], f + 1200);
        assert_eq!(s.services[0].state, State::Unknown);
        assert_eq!(
            keys(&derive(&s, &cfg, now, "")),
            [format!("incident/{id}/started")]
        );
        // A day after its end, nothing is due any more.
        let later = f + 1200 + DUE_FOR;
        let s = snap(&cfg, later, &[(f, Some(f + 1200))], later);
        assert!(derive(&s, &cfg, later, "").is_empty());
    }

    #[test]
    fn nothing_is_claimed_about_incidents_from_stale_data() {
        let cfg = cfg("");
        let f = t("2026-12-02T10:00:00+09:00");
        // The data stops 10 minutes into the outage; 20 minutes later it is stale.
        let s = snap(&cfg, f + 1800, &[(f, None)], f + 600);
        assert!(!s.fresh);
        assert!(derive(&s, &cfg, f + 1800, "").is_empty());
    }

    #[test]
    fn incident_notices_are_sent_at_publication_with_their_incident() {
        let cfg = cfg(r#"
notices:
  - kind: incident
    published_at: 2026-12-02T10:20:00+09:00
    services: [hanbai]
    title: {ja: 販売で障害が発生しています, en: Sales is failing}
    body: {ja: 原因を調査しています。, en: We are investigating.}
  - kind: incident
    published_at: 2026-12-03T10:20:00+09:00
    title: {ja: 未来, en: Future}
"#);
        let f = t("2026-12-02T10:00:00+09:00");
        let now = t("2026-12-02T10:25:00+09:00");
        let s = snap(&cfg, now, &[(f, None)], now);
        let ev = derive(&s, &cfg, now, "");
        let published = t("2026-12-02T10:20:00+09:00");
        assert_eq!(
            keys(&ev),
            [
                format!("incident/incident-hanbai-{f}/started"),
                format!("notice/incident-{published}"),
            ]
        );
        let u = &ev[1];
        assert_eq!(u.kind, EventKind::IncidentUpdate);
        assert_eq!(u.occurred_at, published);
        assert_eq!(u.incident, Some(format!("incident-hanbai-{f}")));
        assert!(u.ja.subject.contains("販売で障害が発生しています"));
        assert!(u.ja.text.contains("原因を調査しています。"));
    }

    #[test]
    fn maintenance_is_announced_then_reminded_a_day_before() {
        let cfg = cfg(r#"
maintenance:
  - services: [hanbai]
    start: 2026-12-20T01:00:00+09:00
    end: 2026-12-20T03:00:00+09:00
    announced_at: 2026-06-01T10:00:00+09:00
    announced_via: guide
    title: {ja: 定期メンテナンス, en: Scheduled maintenance}
  - services: [hanbai]
    start: 2026-12-02T20:00:00+09:00
    end: 2026-12-02T21:00:00+09:00
    announced_at: 2026-12-02T09:00:00+09:00
    announced_via: guide
    title: {ja: 緊急メンテナンス, en: Urgent maintenance}
"#);
        let start = t("2026-12-20T01:00:00+09:00");
        let id = format!("maint-hanbai-{start}");
        let urgent = format!("maint-hanbai-{}", t("2026-12-02T20:00:00+09:00"));
        let now = t("2026-12-02T10:00:00+09:00");
        let s = snap(&cfg, now, &[], now);
        let ev = derive(&s, &cfg, now, "https://status.example.jp/");
        // Both announced (the urgent one too late for a reminder of its own).
        assert_eq!(
            keys(&ev),
            [
                format!("maintenance/{id}/announced"),
                format!("maintenance/{urgent}/announced")
            ]
        );
        assert_eq!(ev[0].occurred_at, t("2026-06-01T10:00:00+09:00"));
        let ics = ev[0].ics.as_deref().unwrap();
        assert!(ics.contains("DTSTART:20261219T160000Z\r\n"), "{ics}");
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1);
        assert!(ev[1].en.text.contains("announced less than 6 months ahead"));
        // A day before: the reminder, with the calendar.
        let now = start - 86_400 + 60;
        let s = snap(&cfg, now, &[], now);
        let ev = derive(&s, &cfg, now, "");
        assert_eq!(
            keys(&ev),
            [
                format!("maintenance/{id}/announced"),
                format!("maintenance/{id}/reminder")
            ]
        );
        assert_eq!(ev[1].occurred_at, start - 86_400);
        assert!(ev[1].ics.is_some());
        // Once the window is over, nothing.
        let now = t("2026-12-20T03:00:00+09:00");
        let s = snap(&cfg, now, &[], now);
        assert!(derive(&s, &cfg, now, "").is_empty());
    }

    #[test]
    fn change_notices_are_sent_at_publication_and_marked_when_late() {
        let cfg = cfg(r#"
notices:
  - kind: change
    published_at: 2026-12-01T10:00:00+09:00
    effective_at: 2027-01-15T00:00:00+09:00
    title: {ja: ログイン画面の変更, en: New login screen}
  - kind: change
    published_at: 2026-12-01T10:00:00+09:00
    effective_at: 2026-12-10T00:00:00+09:00
    title: {ja: 帳票の変更, en: New forms}
  - kind: change
    published_at: 2026-12-05T10:00:00+09:00
    effective_at: 2027-02-01T00:00:00+09:00
    title: {ja: 未公開, en: Not yet}
"#);
        let now = t("2026-12-02T10:00:00+09:00");
        let s = snap(&cfg, now, &[], now);
        let ev = derive(&s, &cfg, now, "");
        let at = t("2026-12-01T10:00:00+09:00");
        assert_eq!(
            keys(&ev),
            [
                format!("notice/change-{at}"),
                format!("notice/change-{at}-1")
            ]
        );
        assert_eq!(ev[0].json["in_time"], true);
        assert_eq!(ev[1].json["in_time"], false);
        assert!(ev[1].ja.text.contains("1か月前の告知に間に合っていません"));
        assert!(!ev[0].ja.text.contains("間に合っていません"));
        // After the late change took effect it is no longer due; the other is
        // until January; the third is published by now.
        let now = t("2026-12-10T00:00:00+09:00");
        let s = snap(&cfg, now, &[], now);
        assert_eq!(
            keys(&derive(&s, &cfg, now, "")),
            [
                format!("notice/change-{at}"),
                format!("notice/change-{}", t("2026-12-05T10:00:00+09:00"))
            ]
        );
    }
}
