//! The month's notice record (seed §4), from the notifier's outbox: per
//! incident, when the status page first showed it and when the first notice
//! was delivered on each channel, and whether the customers were told within
//! 1 hour; per change and maintenance announcement, whether the notice period
//! was met. Written only when `notify:` is configured; the record an auditor
//! asks for.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Months, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::{Config, DisplayName, NoticeKind};
use crate::notify::outbox::{DeliveryRecord, Outbox};
use crate::notify::{Channel, EventKind};
use crate::slo::month;
use crate::status::snapshot::window_id;

/// Seed §4: a failure is posted on the web site or mailed within 1 hour.
pub const PROMISE_SECONDS: i64 = 3600;

#[derive(Debug, Clone, Serialize)]
pub struct NoticesReport {
    pub promise_seconds: i64,
    /// Why the outbox could not be read (the record is then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Incidents that started in the month, oldest first.
    pub incidents: Vec<IncidentRecord>,
    /// Change notices and maintenance announcements of the month, oldest first.
    pub announcements: Vec<AnnouncementRecord>,
}

/// When the customers learned of one incident.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentRecord {
    /// The status page's incident id.
    pub incident: String,
    pub service: String,
    pub start: String,
    /// When the status page first showed it (`null`: not recorded).
    pub page_seen_at: Option<String>,
    pub page_delay_seconds: Option<i64>,
    /// The first notice (`incident_started`) per channel; empty when none was
    /// due (the incident ended before `notify.confirm_after`).
    pub channels: Vec<ChannelRecord>,
    /// Told within 1 hour of the start, on the page or by a delivered notice.
    pub within_promise: bool,
    /// A notice was delivered on some channel within 1 hour; `null` when none was due.
    pub notice_within_promise: Option<bool>,
}

/// The first delivery of one event on one channel.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelRecord {
    pub channel: Channel,
    pub first_delivered_at: Option<String>,
    /// From the incident's start (incidents) or the publication (announcements).
    pub delay_seconds: Option<i64>,
    /// Incidents: delivered within 1 hour; announcements: the notice period met by delivery.
    pub in_time: Option<bool>,
    /// Contacts reached, permanently failed, still queued.
    pub delivered: u32,
    pub failed: u32,
    pub pending: u32,
}

/// One change notice or maintenance announcement.
#[derive(Debug, Clone, Serialize)]
pub struct AnnouncementRecord {
    pub key: String,
    pub kind: EventKind,
    pub services: Vec<String>,
    pub title: DisplayName,
    pub published_at: String,
    /// The change's `effective_at`, or the window's start.
    pub takes_effect_at: Option<String>,
    /// The notice required: 1 month for changes (§4), `maintenance_notice_months` for windows (§1).
    pub required_months: u32,
    /// Published (on the page) early enough; `null` without a time it takes effect.
    pub published_in_time: Option<bool>,
    pub channels: Vec<ChannelRecord>,
}

/// `t` plus `months` calendar months in `tz`, at or before `deadline`.
fn months_ahead(t: i64, months: u32, deadline: i64, tz: Tz) -> bool {
    Utc.timestamp_opt(t, 0)
        .single()
        .map(|d| d.with_timezone(&tz))
        .and_then(|d| d.checked_add_months(Months::new(months)))
        .is_some_and(|d| d.timestamp() <= deadline)
}

fn channel_record(d: &DeliveryRecord, tz: Tz, in_time: impl Fn(i64) -> bool) -> ChannelRecord {
    ChannelRecord {
        channel: d.channel,
        first_delivered_at: d.first_delivered_at.map(|t| month::local(t, tz)),
        delay_seconds: d.first_delivered_at.map(|t| t - d.occurred_at),
        in_time: Some(d.first_delivered_at.is_some_and(in_time)),
        delivered: d.delivered,
        failed: d.failed,
        pending: d.pending,
    }
}

/// The record of `[from, to)` from `notify.outbox` (opened read-only), or
/// nothing without `notify:`. An outbox that cannot be read gives an empty
/// record saying why: the rest of the report stands.
pub fn report(
    cfg: &Config,
    services: &[String],
    tz: Tz,
    from: i64,
    to: i64,
) -> Option<NoticesReport> {
    let n = cfg.notify.as_ref()?;
    let path = n.resolve(&cfg.source.file, &n.outbox);
    let read = || -> anyhow::Result<NoticesReport> {
        let outbox = Outbox::open_read_only(&path)?;
        let deliveries = outbox.deliveries(from, to)?;
        let page = outbox.page_seen(from, to)?;
        Ok(assemble(cfg, &deliveries, &page, services, tz))
    };
    Some(read().unwrap_or_else(|e| NoticesReport {
        promise_seconds: PROMISE_SECONDS,
        error: Some(format!("cannot read the outbox {}: {e:#}", path.display())),
        incidents: Vec::new(),
        announcements: Vec::new(),
    }))
}

/// [`report`] from what the outbox gave; `services` (empty: all) filters.
pub fn assemble(
    cfg: &Config,
    deliveries: &[DeliveryRecord],
    page: &[crate::notify::outbox::PageSeen],
    services: &[String],
    tz: Tz,
) -> NoticesReport {
    let wanted = |s: &[String]| services.is_empty() || s.iter().any(|s| services.contains(s));
    // Incidents, by id: (service, start, first seen on the page, channels).
    let mut incidents: BTreeMap<String, (String, i64, Option<i64>, Vec<ChannelRecord>)> =
        BTreeMap::new();
    for p in page {
        if !wanted(std::slice::from_ref(&p.service)) {
            continue;
        }
        let e = incidents
            .entry(p.incident.clone())
            .or_insert_with(|| (p.service.clone(), p.started_at, None, Vec::new()));
        e.2 = Some(e.2.map_or(p.seen_at, |s: i64| s.min(p.seen_at)));
    }
    for d in deliveries {
        if d.kind != EventKind::IncidentStarted || !wanted(&d.services) {
            continue;
        }
        let Some(id) = &d.incident else { continue };
        let e = incidents.entry(id.clone()).or_insert_with(|| {
            (
                d.services.first().cloned().unwrap_or_default(),
                d.occurred_at,
                None,
                Vec::new(),
            )
        });
        let start = e.1;
        e.3.push(channel_record(d, tz, |t| t - start <= PROMISE_SECONDS));
    }
    let mut incidents: Vec<IncidentRecord> = incidents
        .into_iter()
        .map(|(incident, (service, start, seen, mut channels))| {
            channels.sort_by_key(|c| c.channel);
            let notice =
                (!channels.is_empty()).then(|| channels.iter().any(|c| c.in_time == Some(true)));
            let page_ok = seen.is_some_and(|s| s - start <= PROMISE_SECONDS);
            IncidentRecord {
                incident,
                service,
                start: month::local(start, tz),
                page_seen_at: seen.map(|s| month::local(s, tz)),
                page_delay_seconds: seen.map(|s| s - start),
                channels,
                within_promise: page_ok || notice == Some(true),
                notice_within_promise: notice,
            }
        })
        .collect();
    incidents.sort_by(|a, b| a.start.cmp(&b.start).then(a.incident.cmp(&b.incident)));

    let notices = crate::notify::events::notice_keys(cfg);
    let months = cfg.global.maintenance_notice_months;
    let mut announcements: BTreeMap<String, AnnouncementRecord> = BTreeMap::new();
    let mut published: BTreeMap<String, i64> = BTreeMap::new();
    for d in deliveries {
        if !matches!(d.kind, EventKind::Change | EventKind::MaintenanceAnnounced)
            || !wanted(&d.services)
        {
            continue;
        }
        // What it announced, and by when it had to be known.
        let (title, effect, required, in_time) = if let Some((_, n)) =
            notices.iter().find(|(k, _)| *k == d.event_key)
        {
            let effect = n.effective_at.map(|e| e.timestamp());
            let required = if n.kind == NoticeKind::Change { 1 } else { 0 };
            let in_time = effect.map(|e| months_ahead(n.published_at.timestamp(), required, e, tz));
            (n.title.clone(), effect, required, in_time)
        } else if let Some(w) = cfg.maintenance.iter().find(|w| {
            d.event_key
                == format!(
                    "maintenance/{}/announced",
                    window_id(&w.services, w.start.timestamp())
                )
        }) {
            (
                w.title.clone(),
                Some(w.start.timestamp()),
                months,
                Some(w.announced_in_time(months)),
            )
        } else {
            // No longer in the configuration: what the outbox knows.
            (DisplayName::default(), None, 0, None)
        };
        published.insert(d.event_key.clone(), d.occurred_at);
        let a = announcements
            .entry(d.event_key.clone())
            .or_insert_with(|| AnnouncementRecord {
                key: d.event_key.clone(),
                kind: d.kind,
                services: d.services.clone(),
                title,
                published_at: month::local(d.occurred_at, tz),
                takes_effect_at: effect.map(|e| month::local(e, tz)),
                required_months: required,
                published_in_time: in_time,
                channels: Vec::new(),
            });
        let mut c = channel_record(d, tz, |t| {
            effect.is_some_and(|e| months_ahead(t, required, e, tz))
        });
        if effect.is_none() {
            c.in_time = None;
        }
        a.channels.push(c);
    }
    let mut announcements: Vec<AnnouncementRecord> = announcements.into_values().collect();
    for a in &mut announcements {
        a.channels.sort_by_key(|c| c.channel);
    }
    announcements.sort_by_key(|a| (published[&a.key], a.key.clone()));
    NoticesReport {
        promise_seconds: PROMISE_SECONDS,
        error: None,
        incidents,
        announcements,
    }
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "○ yes",
        Some(false) => "× NO",
        None => "-",
    }
}

fn hm(s: &Option<String>) -> String {
    s.as_deref()
        .map_or("-".into(), |s| s.get(..16).unwrap_or(s).replace('T', " "))
}

fn secs(s: Option<i64>) -> String {
    s.map_or("-".into(), |s| crate::status::time::duration(s, "en"))
}

/// The record in `format` (nothing for JSON: it is in the document; nothing without a record).
pub fn text(r: Option<&NoticesReport>, format: super::Format) -> String {
    let Some(r) = r else {
        return String::new();
    };
    let mut s = String::new();
    if let Some(e) = &r.error {
        if format != super::Format::Json {
            let _ = writeln!(
                s,
                "\nお客様へのお知らせの記録を読めません / Customer notice record unavailable: {e}"
            );
        }
        return s;
    }
    match format {
        super::Format::Json => {}
        super::Format::Csv => {
            s.push_str("\nincident,service,start,page_seen_at,channel,first_delivered_at,delay_seconds,within_1h\n");
            for i in &r.incidents {
                let rows: Vec<Option<&ChannelRecord>> = if i.channels.is_empty() {
                    vec![None]
                } else {
                    i.channels.iter().map(Some).collect()
                };
                for c in rows {
                    let _ = writeln!(
                        s,
                        "{},{},{},{},{},{},{},{}",
                        i.incident,
                        i.service,
                        i.start,
                        i.page_seen_at.as_deref().unwrap_or(""),
                        c.map_or("", |c| c.channel.as_str()),
                        c.and_then(|c| c.first_delivered_at.as_deref())
                            .unwrap_or(""),
                        c.and_then(|c| c.delay_seconds)
                            .map_or(String::new(), |d| d.to_string()),
                        i.within_promise
                    );
                }
            }
            s.push_str("\nannouncement,kind,published_at,takes_effect_at,required_months,published_in_time,channel,first_delivered_at,delivered_in_time\n");
            for a in &r.announcements {
                for c in &a.channels {
                    let v = |o: Option<bool>| o.map_or(String::new(), |x| x.to_string());
                    let _ = writeln!(
                        s,
                        "{},{},{},{},{},{},{},{},{}",
                        a.key,
                        serde_json::to_value(a.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                        a.published_at,
                        a.takes_effect_at.as_deref().unwrap_or(""),
                        a.required_months,
                        v(a.published_in_time),
                        c.channel.as_str(),
                        c.first_delivered_at.as_deref().unwrap_or(""),
                        v(c.in_time)
                    );
                }
            }
        }
        super::Format::Table | super::Format::Markdown => {
            let md = format == super::Format::Markdown;
            let h = if md { "### " } else { "" };
            let _ = writeln!(
                s,
                "\n{h}お客様へのお知らせ（1時間以内）/ Customer notices (within 1 hour)"
            );
            if md {
                s.push_str("\n| 障害 / incident | 発生 / start | 状況ページ / page | メール / e-mail | Webhook | 1時間以内 / within 1 h |\n|---|---|---|---|---|---|\n");
            } else if r.incidents.is_empty() {
                s.push_str("障害なし / no incidents\n");
            }
            for i in &r.incidents {
                let ch = |want: Channel| {
                    i.channels
                        .iter()
                        .find(|c| c.channel == want)
                        .map_or("-".to_string(), |c| {
                            format!("{} (+{})", hm(&c.first_delivered_at), secs(c.delay_seconds))
                        })
                };
                let page = format!("{} (+{})", hm(&i.page_seen_at), secs(i.page_delay_seconds));
                let ok = if i.within_promise { "○ yes" } else { "× NO" };
                if md {
                    let _ = writeln!(
                        s,
                        "| {} ({}) | {} | {page} | {} | {} | {ok} |",
                        i.incident,
                        i.service,
                        hm(&Some(i.start.clone())),
                        ch(Channel::Email),
                        ch(Channel::Webhook)
                    );
                } else {
                    let _ = writeln!(
                        s,
                        "  {} ({}) 発生 / start {}: 状況ページ / page {page}; メール / e-mail {}; webhook {}; 1時間以内 / within 1 h: {ok}",
                        i.incident,
                        i.service,
                        hm(&Some(i.start.clone())),
                        ch(Channel::Email),
                        ch(Channel::Webhook)
                    );
                }
            }
            if !r.announcements.is_empty() {
                let _ = writeln!(
                    s,
                    "\n{h}告知期間 / Notice periods (変更 1か月 / changes 1 month, メンテナンス / maintenance {} か月 / months)",
                    r.announcements
                        .iter()
                        .filter(|a| a.kind == EventKind::MaintenanceAnnounced)
                        .map(|a| a.required_months)
                        .max()
                        .unwrap_or(6)
                );
                if md {
                    s.push_str("\n| お知らせ / notice | 掲載 / published | 実施 / effective | 掲載で / by publication | 配信で / by delivery |\n|---|---|---|---|---|\n");
                }
                for a in &r.announcements {
                    let delivered = a
                        .channels
                        .iter()
                        .map(|c| {
                            format!(
                                "{} {} {}",
                                c.channel.as_str(),
                                hm(&c.first_delivered_at),
                                yes_no(c.in_time)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let title = format!("{} / {}", a.title.ja, a.title.en);
                    if md {
                        let _ = writeln!(
                            s,
                            "| {title} | {} | {} | {} | {delivered} |",
                            hm(&Some(a.published_at.clone())),
                            hm(&a.takes_effect_at),
                            yes_no(a.published_in_time)
                        );
                    } else {
                        let _ = writeln!(
                            s,
                            "  {title}: 掲載 / published {}, 実施 / effective {}; 掲載で / by publication {}; 配信 / delivered: {delivered}",
                            hm(&Some(a.published_at.clone())),
                            hm(&a.takes_effect_at),
                            yes_no(a.published_in_time)
                        );
                    }
                }
            }
        }
    }
    s
}
