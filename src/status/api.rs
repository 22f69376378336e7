//! The status page in Atlassian Statuspage's public JSON API (`/api/v2/…`), so the
//! incident tools, chat integrations, widgets and exporters that read Statuspage
//! pages read this one too.
//!
//! Everything comes from the [`Snapshot`] the HTML page is rendered from: no
//! second computation, and the same ids (`incident-SERVICE-START`,
//! `maint-SERVICES-START`), so two replicas or a restart answer the same. One
//! service is one component. Statuspage has no *unknown*: a service whose state
//! is unknown is `degraded_performance` (never `operational`), with
//! `mimamori_state: "unknown"` and a description saying why; see
//! `docs/interop.md` for the whole mapping.

use chrono_tz::Tz;
use serde_json::{json, Value};

use super::render::{File, Site};
use super::snapshot::{IncidentItem, MaintenanceItem, ServiceStatus, Snapshot, State};
use super::time::{duration, Time};
use crate::slo::month::day_start;

/// Statuspage lists this many incidents or maintenances, newest first.
const LIMIT: usize = 50;

/// Where the English files are; the Japanese ones are the same under `/ja`.
pub const PREFIX: &str = "/api/v2/";

/// The endpoints, relative to [`PREFIX`].
pub const ENDPOINTS: [&str; 8] = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
];

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    fn pick<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    fn code(self) -> &'static str {
        self.pick("ja", "en")
    }
}

/// Adds every endpoint to `site`, English at `/api/v2/…` and Japanese at
/// `/ja/api/v2/…` (also served for `?lang=ja`), each cached for one refresh.
pub fn add(site: &mut Site, snap: &Snapshot, base_url: &str, refresh_seconds: u64) {
    for lang in [Lang::En, Lang::Ja] {
        let api = Api::new(snap, base_url, lang);
        let root = match lang {
            Lang::En => PREFIX.to_string(),
            Lang::Ja => format!("/ja{PREFIX}"),
        };
        for name in ENDPOINTS {
            let body = api.endpoint(name).expect("listed endpoint");
            site.insert(
                format!("{root}{name}"),
                File {
                    content_type: "application/json",
                    body: serde_json::to_vec_pretty(&body).expect("serializable"),
                    max_age: Some(refresh_seconds),
                },
            );
        }
    }
}

/// One language's view of a snapshot.
pub struct Api<'a> {
    snap: &'a Snapshot,
    lang: Lang,
    tz: Tz,
    /// The page's address in this language, ending in `/` (relative when no external URL is set).
    page_url: String,
    page_id: &'static str,
}

/// A component's Statuspage status, and what mimamori's state was.
pub fn component_status(state: State) -> &'static str {
    match state {
        State::Operational => "operational",
        // The quorum of the reporting locations sees it failing: the SLO counts
        // the time as fully unavailable, so nothing "partial" is claimed.
        State::Outage => "major_outage",
        State::Slow => "degraded_performance",
        State::Maintenance => "under_maintenance",
        // Statuspage has no unknown. Not operational (nobody knows it works), not
        // an outage (nobody saw it fail): the mildest status that is not green.
        State::Unknown => "degraded_performance",
    }
}

impl<'a> Api<'a> {
    pub fn new(snap: &'a Snapshot, base_url: &str, lang: Lang) -> Api<'a> {
        let base = if base_url.is_empty() {
            "/".to_string()
        } else {
            format!("{}/", base_url.trim_end_matches('/'))
        };
        let page_url = match lang {
            Lang::Ja => base,
            Lang::En => format!("{base}en/"),
        };
        Api {
            snap,
            lang,
            tz: snap.generated_at.1,
            page_url,
            page_id: "mimamori",
        }
    }

    /// The body of one endpoint (relative to [`PREFIX`]), `None` for another path.
    pub fn endpoint(&self, name: &str) -> Option<Value> {
        let page = self.page();
        Some(match name {
            "summary.json" => json!({
                "page": page,
                "components": self.components(),
                "incidents": self.incidents(true),
                "scheduled_maintenances": self.maintenances(&["upcoming", "active"]),
                "status": self.status(),
            }),
            "status.json" => json!({"page": page, "status": self.status()}),
            "components.json" => json!({"page": page, "components": self.components()}),
            "incidents.json" => json!({"page": page, "incidents": self.incidents(false)}),
            "incidents/unresolved.json" => {
                json!({"page": page, "incidents": self.incidents(true)})
            }
            "scheduled-maintenances.json" => json!({
                "page": page,
                "scheduled_maintenances": self.maintenances(&["upcoming", "active", "past"]),
            }),
            "scheduled-maintenances/upcoming.json" => json!({
                "page": page,
                "scheduled_maintenances": self.maintenances(&["upcoming"]),
            }),
            "scheduled-maintenances/active.json" => json!({
                "page": page,
                "scheduled_maintenances": self.maintenances(&["active"]),
            }),
            _ => return None,
        })
    }

    fn time(&self, t: i64) -> Value {
        json!(Time(t, self.tz))
    }

    /// When what the page says was last true: the newest data, else the evaluation.
    fn updated_at(&self) -> i64 {
        self.snap.data_as_of.unwrap_or(self.snap.generated_at).0
    }

    fn page(&self) -> Value {
        json!({
            "id": self.page_id,
            "name": self.lang.pick("サービス稼働状況", "Service status"),
            "url": self.page_url,
            "time_zone": self.snap.timezone,
            "updated_at": self.time(self.updated_at()),
        })
    }

    fn service_name<'s>(&self, s: &'s ServiceStatus) -> &'s str {
        match self.lang {
            Lang::Ja => &s.display_name.ja,
            Lang::En => &s.display_name.en,
        }
    }

    fn at(&self, t: i64) -> String {
        // "2026-12-02T10:15:00+09:00" -> "2026-12-02 10:15"
        let s = crate::slo::month::local(t, self.tz);
        format!("{} {}", &s[..10], &s[11..16])
    }

    /// What a client that does not know mimamori should read besides the status.
    fn component_description(&self, s: &ServiceStatus) -> Option<String> {
        let since = s.since.map(|t| self.at(t.0));
        match s.state {
            State::Unknown => Some(match (self.lang, since) {
                (Lang::Ja, Some(t)) => format!("状況不明: {t} 以降、監視データがありません。"),
                (Lang::Ja, None) => "状況不明: 監視データがありません。".into(),
                (Lang::En, Some(t)) => {
                    format!("Status unknown: no monitoring data since {t}.")
                }
                (Lang::En, None) => "Status unknown: no monitoring data.".into(),
            }),
            State::Slow => Some(
                self.lang
                    .pick(
                        "応答遅延: 応答時間の目標を満たさない応答が増えています。",
                        "Slow: too many answers over the latency objective.",
                    )
                    .into(),
            ),
            _ => None,
        }
    }

    fn component(&self, position: usize, s: &ServiceStatus) -> Value {
        let first_day = s
            .days
            .first()
            .and_then(|d| chrono::NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").ok())
            .map(|d| day_start(d, self.tz));
        let updated = s.since.map_or(self.updated_at(), |t| t.0);
        json!({
            "id": s.service,
            "name": self.service_name(s),
            "status": component_status(s.state),
            "created_at": self.time(first_day.unwrap_or(updated).min(updated)),
            "updated_at": self.time(updated),
            "position": position,
            "description": self.component_description(s),
            "showcase": true,
            "start_date": null,
            "group_id": null,
            "page_id": self.page_id,
            "group": false,
            "only_show_if_degraded": false,
            "mimamori_state": s.state,
        })
    }

    fn components(&self) -> Vec<Value> {
        self.snap
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| self.component(i + 1, s))
            .collect()
    }

    fn components_of(&self, services: &[String]) -> Vec<Value> {
        self.snap
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| services.contains(&s.service))
            .map(|(i, s)| self.component(i + 1, s))
            .collect()
    }

    /// The page's roll-up, from the components as Statuspage blends them.
    fn status(&self) -> Value {
        let states: Vec<State> = self.snap.services.iter().map(|s| s.state).collect();
        let all = |st: State| !states.is_empty() && states.iter().all(|&s| s == st);
        let any = |st: State| states.contains(&st);
        let (indicator, ja, en) = if all(State::Outage) {
            (
                "critical",
                "全面的な障害が発生しています",
                "Major System Outage",
            )
        } else if any(State::Outage) {
            (
                "major",
                "一部で障害が発生しています",
                "Partial System Outage",
            )
        } else if !self.snap.fresh || any(State::Unknown) {
            (
                "minor",
                "状況不明（監視データがありません）",
                "Status Unknown",
            )
        } else if any(State::Slow) {
            ("minor", "応答が遅くなっています", "Degraded Performance")
        } else if any(State::Maintenance) {
            ("none", "メンテナンス中", "Service Under Maintenance")
        } else {
            (
                "none",
                "すべて正常に稼働しています",
                "All Systems Operational",
            )
        };
        json!({"indicator": indicator, "description": self.lang.pick(ja, en)})
    }

    fn incident_name(&self, s: &ServiceStatus, i: &IncidentItem) -> String {
        // A person's title, when one was written; else what was detected.
        if let Some(n) = self.notices_of(i).first() {
            return self.lang.pick(&n.title.ja, &n.title.en).to_string();
        }
        let reason = self.lang.pick(&i.reason_words.ja, &i.reason_words.en);
        match self.lang {
            Lang::Ja => format!("{}の障害（{reason}）", self.service_name(s)),
            Lang::En => format!("{} outage ({reason})", self.service_name(s)),
        }
    }

    /// The notices attached to an incident, newest first (as the snapshot holds them).
    fn notices_of(&self, i: &IncidentItem) -> Vec<&super::snapshot::NoticeItem> {
        self.snap
            .notices
            .iter()
            .filter(|n| i.notices.contains(&n.id))
            .collect()
    }

    fn update(
        &self,
        id: String,
        incident: &str,
        status: &str,
        body: String,
        at: i64,
    ) -> (i64, Value) {
        (
            at,
            json!({
                "id": id,
                "status": status,
                "body": body,
                "incident_id": incident,
                "created_at": self.time(at),
                "updated_at": self.time(at),
                "display_at": self.time(at),
                "affected_components": null,
                "deliver_notifications": false,
                "custom_tweet": null,
                "tweet_id": null,
            }),
        )
    }

    fn incident(&self, s: &ServiceStatus, i: &IncidentItem) -> Value {
        let reason = self.lang.pick(&i.reason_words.ja, &i.reason_words.en);
        let locations = i.locations.join(", ");
        let start = i.start.0;
        let mut updates = Vec::new();
        if let Some(end) = i.end {
            let lasted = duration(end.0 - start, self.lang.code());
            let body = match self.lang {
                Lang::Ja => format!(
                    "復旧しました。{} から {} まで {lasted} の障害でした。",
                    self.at(start),
                    self.at(end.0)
                ),
                Lang::En => format!(
                    "Resolved. The outage lasted {lasted}, from {} to {}.",
                    self.at(start),
                    self.at(end.0)
                ),
            };
            updates.push(self.update(format!("{}-resolved", i.id), &i.id, "resolved", body, end.0));
        }
        for n in self.notices_of(i) {
            let at = n.published_at.0;
            let status = if i.end.is_some_and(|e| at >= e.0) {
                "resolved"
            } else {
                "investigating"
            };
            let title = self.lang.pick(&n.title.ja, &n.title.en);
            let text = self.lang.pick(&n.body.ja, &n.body.en);
            let body = if text.is_empty() {
                title.to_string()
            } else {
                format!("{title}\n\n{text}")
            };
            updates.push(self.update(format!("{}-{}", i.id, n.id), &i.id, status, body, at));
        }
        // Set aside by `exclusions:` (seed: outside the SLO's scope): said, never hidden.
        for x in &i.exclusions {
            let why = self.lang.pick(&x.reason_words.ja, &x.reason_words.en);
            let text = self.lang.pick(&x.description.ja, &x.description.en);
            let body = match self.lang {
                Lang::Ja => format!(
                    "SLO対象外と判断しました（{why}）: {text}。{} から {} までの障害時間は稼働率に数えません。",
                    self.at(x.start.0),
                    self.at(x.end.0)
                ),
                Lang::En => format!(
                    "Decided outside the SLO ({why}): {text}. Failure time from {} to {} does not count against availability.",
                    self.at(x.start.0),
                    self.at(x.end.0)
                ),
            };
            let status = if i.end.is_some_and(|e| x.decided_at.0 >= e.0) {
                "resolved"
            } else {
                "investigating"
            };
            updates.push(self.update(
                format!("{}-excluded-{}", i.id, x.start.0),
                &i.id,
                status,
                body,
                x.decided_at.0,
            ));
        }
        let detected = match self.lang {
            Lang::Ja => format!("自動検知: 監視拠点 {locations} で「{reason}」を確認しました。"),
            Lang::En => format!("Detected automatically: {locations} saw \"{reason}\"."),
        };
        updates.push(self.update(
            format!("{}-detected", i.id),
            &i.id,
            "investigating",
            detected,
            start,
        ));
        let updated = i
            .end
            .map(|e| e.0)
            .into_iter()
            .chain(self.notices_of(i).iter().map(|n| n.published_at.0))
            .chain(i.exclusions.iter().map(|x| x.decided_at.0))
            .fold(start, i64::max);
        json!({
            "id": i.id,
            "name": self.incident_name(s, i),
            "status": if i.ongoing { "investigating" } else { "resolved" },
            "created_at": self.time(start),
            "updated_at": self.time(updated),
            "monitoring_at": null,
            "resolved_at": i.end.map(|e| self.time(e.0)),
            // What Statuspage derives from a major outage of the affected component.
            "impact": "critical",
            "shortlink": format!("{}#h-{}", self.page_url, i.id),
            "started_at": self.time(start),
            "page_id": self.page_id,
            "incident_updates": newest_first(updates),
            "components": self.components_of(std::slice::from_ref(&s.service)),
            "reminder_intervals": null,
            "mimamori_excluded": i.excluded,
            "mimamori_excluded_seconds": i.excluded_seconds,
        })
    }

    /// Every service's incidents, newest first (only the ongoing ones with `unresolved`).
    fn incidents(&self, unresolved: bool) -> Vec<Value> {
        let mut all: Vec<(&ServiceStatus, &IncidentItem)> = self
            .snap
            .services
            .iter()
            .flat_map(|s| s.incidents.iter().map(move |i| (s, i)))
            .filter(|(_, i)| !unresolved || i.ongoing)
            .collect();
        all.sort_by(|a, b| b.1.start.0.cmp(&a.1.start.0).then(a.1.id.cmp(&b.1.id)));
        all.into_iter()
            .take(LIMIT)
            .map(|(s, i)| self.incident(s, i))
            .collect()
    }

    fn maintenance(&self, w: &MaintenanceItem) -> Value {
        let title = self.lang.pick(&w.title.ja, &w.title.en);
        let (a, b) = (w.start.0, w.end.0);
        let status = match w.status {
            "upcoming" => "scheduled",
            "active" => "in_progress",
            _ => "completed",
        };
        let mut updates = Vec::new();
        if w.status == "past" {
            let body = self
                .lang
                .pick("メンテナンスは終了しました。", "The maintenance has ended.");
            updates.push(self.update(
                format!("{}-completed", w.id),
                &w.id,
                "completed",
                body.into(),
                b,
            ));
        }
        if w.status != "upcoming" {
            let body = self.lang.pick(
                "メンテナンスを実施しています。",
                "The maintenance is in progress.",
            );
            updates.push(self.update(
                format!("{}-in-progress", w.id),
                &w.id,
                "in_progress",
                body.into(),
                a,
            ));
        }
        let notice = match (self.lang, w.in_time) {
            (Lang::Ja, true) => "6か月前までに告知済みです。".to_string(),
            (Lang::Ja, false) => {
                "告知が6か月前より遅いため、SLO上の計画停止には当たりません（この時間は稼働時間として数えます）。".to_string()
            }
            (Lang::En, true) => "Announced at least 6 months ahead.".to_string(),
            (Lang::En, false) => "Announced less than 6 months ahead: not planned maintenance under the SLO (its time counts as operating time).".to_string(),
        };
        let body = match self.lang {
            Lang::Ja => format!(
                "{title}: {} から {} まで。告知: {}（{}）。{notice}",
                self.at(a),
                self.at(b),
                self.at(w.announced_at.0),
                w.announced_via
            ),
            Lang::En => format!(
                "{title}: from {} to {}. Announced {} ({}). {notice}",
                self.at(a),
                self.at(b),
                self.at(w.announced_at.0),
                w.announced_via
            ),
        };
        let announced = w.announced_at.0;
        updates.push(self.update(
            format!("{}-scheduled", w.id),
            &w.id,
            "scheduled",
            body,
            announced,
        ));
        let updated = match w.status {
            "upcoming" => announced,
            "active" => a.max(announced),
            _ => b.max(announced),
        };
        json!({
            "id": w.id,
            "name": title,
            "status": status,
            "created_at": self.time(announced),
            "updated_at": self.time(updated),
            "monitoring_at": null,
            "resolved_at": (w.status == "past").then(|| self.time(b)),
            "impact": "maintenance",
            "shortlink": format!("{}#{}", self.page_url, w.id),
            "started_at": self.time(a),
            "page_id": self.page_id,
            "incident_updates": newest_first(updates),
            "components": self.components_of(&w.services),
            "scheduled_for": self.time(a),
            "scheduled_until": self.time(b),
            "mimamori_announced_in_time": w.in_time,
        })
    }

    /// The windows of the given snapshot statuses, newest first.
    fn maintenances(&self, statuses: &[&str]) -> Vec<Value> {
        // The snapshot holds them newest first already.
        self.snap
            .maintenance
            .iter()
            .filter(|w| statuses.contains(&w.status))
            .take(LIMIT)
            .map(|w| self.maintenance(w))
            .collect()
    }
}

/// Updates as Statuspage lists them: newest first.
fn newest_first(mut updates: Vec<(i64, Value)>) -> Vec<Value> {
    updates.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    updates.into_iter().map(|(_, u)| u).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slo::compute::StepData;
    use crate::status::snapshot::{assemble, range, ServiceData};

    const CONFIG: &str = r#"
global: {interval: 60s, timeout: 30s}
alerting: {locations: [a, b, c]}
services:
  - name: web
    display_name: {ja: ウェブ, en: Web}
    transactions:
      - name: t
        steps: [{name: s, url: 'https://web.invalid/'}]
  - name: mail
    display_name: {ja: メール, en: Mail}
    transactions:
      - name: t
        steps: [{name: s, url: 'https://mail.invalid/'}]
maintenance:
  - services: [mail]
    start: 2026-12-02T10:00:00+09:00
    end: 2026-12-02T12:00:00+09:00
    announced_at: 2026-05-01T10:00:00+09:00
    announced_via: guide
    title: {ja: 定期, en: Regular}
notices:
  - kind: incident
    published_at: 2026-12-02T10:20:00+09:00
    services: [web]
    title: {ja: 調査中, en: Investigating}
    body: {ja: 原因を調査しています。, en: We are looking into it.}
"#;

    fn t(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    /// `web` failing since 10:15 after a 5-minute blip at 09:00; `mail` in its window.
    fn snapshot(now: i64, stale_after: i64) -> Snapshot {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        std::fs::write(&p, CONFIG).unwrap();
        let cfg = crate::config::load(&p).unwrap();
        let plans = crate::slo::plan::plans(&cfg);
        let tz = chrono_tz::Asia::Tokyo;
        let (start, until) = range(now, tz, 60);
        let n = ((until - start) / 60) as usize;
        let up = StepData {
            failing: Some(false),
            ..Default::default()
        };
        let mut web = vec![up.clone(); n];
        let at = |s: &str| ((t(s) - start) / 60) as usize;
        for k in (at("2026-12-02T09:00:00+09:00")..at("2026-12-02T09:05:00+09:00"))
            .chain(at("2026-12-02T10:15:00+09:00")..n)
        {
            web[k].failing = Some(true);
            web[k].reasons.insert("timeout".into(), 1.0);
            web[k].locations.insert("a".into());
        }
        let data = [
            ServiceData {
                start,
                steps: web.into(),
                slow: false,
            },
            ServiceData {
                start,
                steps: vec![up; n].into(),
                slow: false,
            },
        ];
        assemble(&cfg, &plans, &data, now, tz, stale_after)
    }

    #[test]
    fn states_map_to_statuspage_and_unknown_is_never_operational() {
        let now = t("2026-12-02T10:30:30+09:00");
        let snap = snapshot(now, 120);
        let api = Api::new(&snap, "https://status.example.jp", Lang::En);
        let sum = api.endpoint("summary.json").unwrap();
        assert_eq!(sum["components"][0]["status"], "major_outage");
        assert_eq!(sum["components"][1]["status"], "under_maintenance");
        assert_eq!(sum["status"]["indicator"], "major");
        let inc = &sum["incidents"][0];
        assert_eq!(
            inc["id"],
            format!("incident-web-{}", t("2026-12-02T10:15:00+09:00"))
        );
        assert_eq!(inc["status"], "investigating");
        assert_eq!(inc["name"], "Investigating", "the notice's title");
        assert_eq!(inc["started_at"], "2026-12-02T10:15:00+09:00");
        assert_eq!(inc["resolved_at"], Value::Null);
        assert_eq!(
            inc["shortlink"],
            format!(
                "https://status.example.jp/en/#h-{}",
                inc["id"].as_str().unwrap()
            )
        );
        let updates = inc["incident_updates"].as_array().unwrap();
        assert_eq!(updates.len(), 2, "{updates:?}");
        assert_eq!(
            updates[0]["body"],
            "Investigating\n\nWe are looking into it."
        );
        assert!(updates[1]["body"].as_str().unwrap().starts_with("Detected"));
        // The blip is resolved, listed but not unresolved.
        let all = api.endpoint("incidents.json").unwrap();
        assert_eq!(all["incidents"].as_array().unwrap().len(), 2);
        assert_eq!(all["incidents"][1]["status"], "resolved");
        assert_eq!(
            all["incidents"][1]["resolved_at"],
            "2026-12-02T09:05:00+09:00"
        );
        assert_eq!(
            all["incidents"][1]["incident_updates"][0]["status"],
            "resolved"
        );
        let m = &sum["scheduled_maintenances"][0];
        assert_eq!(m["status"], "in_progress");
        assert_eq!(m["scheduled_for"], "2026-12-02T10:00:00+09:00");
        assert_eq!(m["scheduled_until"], "2026-12-02T12:00:00+09:00");
        assert_eq!(
            api.endpoint("scheduled-maintenances/active.json").unwrap()["scheduled_maintenances"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // Japanese: the same ids and statuses, other words.
        let ja = Api::new(&snap, "https://status.example.jp", Lang::Ja);
        let jsum = ja.endpoint("summary.json").unwrap();
        assert_eq!(jsum["incidents"][0]["id"], inc["id"]);
        assert_eq!(jsum["incidents"][0]["name"], "調査中");
        assert_eq!(jsum["status"]["description"], "一部で障害が発生しています");
        assert_eq!(jsum["page"]["url"], "https://status.example.jp/");
        // Stale data: every component unknown, degraded, never operational.
        let stale = snapshot(now, 120);
        let later = {
            let mut s = stale.clone();
            crate::status::snapshot::mark_unknown(&mut s);
            s
        };
        let api = Api::new(&later, "", Lang::En);
        let sum = api.endpoint("summary.json").unwrap();
        for c in sum["components"].as_array().unwrap() {
            assert_eq!(c["status"], "degraded_performance");
            assert_eq!(c["mimamori_state"], "unknown");
            assert!(c["description"]
                .as_str()
                .unwrap()
                .starts_with("Status unknown"));
        }
        assert_eq!(sum["status"]["indicator"], "minor");
        assert_eq!(sum["status"]["description"], "Status Unknown");
        assert_eq!(sum["page"]["url"], "/en/");
    }

    #[test]
    fn the_page_indicator_blends_the_components() {
        let now = t("2026-12-02T13:00:00+09:00");
        let mut snap = snapshot(now, 120);
        let status = |snap: &Snapshot| Api::new(snap, "", Lang::En).status()["indicator"].clone();
        assert_eq!(snap.services[1].state, State::Operational);
        assert_eq!(status(&snap), "major");
        snap.services[1].state = State::Outage;
        assert_eq!(status(&snap), "critical");
        snap.services[0].state = State::Operational;
        snap.services[1].state = State::Slow;
        assert_eq!(status(&snap), "minor");
        snap.services[1].state = State::Maintenance;
        assert_eq!(status(&snap), "none");
        snap.services[1].state = State::Operational;
        assert_eq!(status(&snap), "none");
        snap.services[1].state = State::Unknown;
        assert_eq!(status(&snap), "minor");
    }
}
