//! One snapshot of what Prometheus says, made once per refresh and read by every visitor.
//!
//! The steps come from [`crate::slo::history::fetch_steps`] and are classified by
//! [`crate::slo::compute`], so a failure, a maintenance window and unknown
//! time mean on the page exactly what they mean in `mimamori report`. The
//! snapshot is a pure function of the configuration, the fetched steps and
//! the evaluation time ([`assemble`]): two replicas, or one restarted, show
//! the same page.

use std::collections::BTreeMap;

use chrono::Months;
use chrono_tz::Tz;
use serde::Serialize;

use super::backups::BackupStatus;
use super::time::Time;
use crate::config::{Config, DisplayName, ExclusionReason, NoticeKind};
use crate::promql::{self, Selector};
use crate::query::{self, Client};
use crate::slo::compute::{self, floor_percent, Cause, Figures, StepRuns, Verdict};
use crate::slo::history;
use crate::slo::month::{day_start, local_date, Month};
use crate::slo::plan::{ServicePlan, Severity, Slo};

/// Days of history shown as bars.
pub const DAYS: usize = 90;
/// Months of figures: this one and the two before it.
pub const MONTHS: usize = 3;
/// Fetched steps older than this are kept between refreshes instead of asked for again.
const SEAL_SECONDS: i64 = 3600;

/// What a customer needs to know about a service right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Operational,
    Outage,
    Slow,
    Maintenance,
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// When this snapshot was evaluated.
    pub generated_at: Time,
    /// End of the newest step any location reported; `null` before any data.
    pub data_as_of: Option<Time>,
    /// The last refresh reached Prometheus and its data is recent.
    pub fresh: bool,
    /// Why not, in English (for operators; never shown with secrets).
    pub error: Option<String>,
    pub timezone: String,
    pub services: Vec<ServiceStatus>,
    /// Every configured window, newest first.
    pub maintenance: Vec<MaintenanceItem>,
    /// Published notices, newest first.
    pub notices: Vec<NoticeItem>,
    /// The internal view (`--internal`): never served to customers.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    /// The backups, on the internal view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backups: Option<Vec<BackupStatus>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub service: String,
    pub display_name: DisplayName,
    pub state: State,
    pub since: Option<Time>,
    pub objective_percent: f64,
    /// This month so far, floored to 3 decimals as in `report`.
    pub month_availability_percent: f64,
    /// This month and the two before it, newest first.
    pub months: Vec<MonthFigure>,
    /// The last 90 days, oldest first, today last.
    pub days: Vec<DayFigure>,
    /// Newest first.
    pub incidents: Vec<IncidentItem>,
    /// Ids of this service's maintenance windows (see [`Snapshot::maintenance`]).
    pub maintenance: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthFigure {
    pub month: String,
    pub availability_percent: f64,
    /// The floored figure as text, e.g. `99.998`.
    pub availability_text: String,
    /// `verdict == "met"`.
    pub met: bool,
    /// `met`, `missed`, or `not_determinable`: less than `objectives.min_coverage` observed.
    pub verdict: Verdict,
    /// Observed operating time ÷ operating time, in percent (floored to 2 decimals in `coverage_text`).
    pub coverage_percent: f64,
    pub coverage_text: String,
    pub to_date: bool,
    /// Every failure second (those inside exclusions too).
    pub failure_seconds: i64,
    pub unknown_seconds: i64,
    /// An exclusion (`exclusions:`) of the service touches the month and the
    /// service is judged on the adjusted figure (`objectives.apply_exclusions`):
    /// the page shows the adjusted figure with `availability_text` (every failure) beside it.
    pub excluded: bool,
    /// Failure seconds inside exclusions (part of `failure_seconds`).
    pub excluded_failure_seconds: i64,
    /// With the exclusions' failure time set aside, floored to 3 decimals.
    pub availability_adjusted_percent: f64,
    pub availability_adjusted_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayFigure {
    pub date: String,
    /// Floored to 3 decimals; `null` when the day had no operating time.
    pub availability_percent: Option<f64>,
    pub availability_text: Option<String>,
    pub failure_seconds: i64,
    pub maintenance_seconds: i64,
    pub unknown_seconds: i64,
    /// Failure seconds inside exclusions (part of `failure_seconds`).
    pub excluded_failure_seconds: i64,
    /// Observed operating time ÷ operating time, floored to 2 decimals; `null` without operating time.
    pub coverage_text: Option<String>,
    /// Why time was unknown, largest first.
    pub unknown_causes: Vec<CauseItem>,
    /// `ok`, `down` (some failure time), `maintenance`, `unknown` (mostly no data).
    pub level: &'static str,
}

/// Unknown time of one cause.
#[derive(Debug, Clone, Serialize)]
pub struct CauseItem {
    pub cause: Cause,
    pub seconds: i64,
    pub words: DisplayName,
}

/// The causes of a period's unknown time, largest first.
fn causes(f: &Figures) -> Vec<CauseItem> {
    let mut v: Vec<CauseItem> = f
        .unknown_by_cause
        .iter()
        .filter(|(_, s)| **s > 0)
        .map(|(&cause, &seconds)| {
            let (ja, en) = cause.words();
            CauseItem {
                cause,
                seconds,
                words: DisplayName {
                    ja: ja.into(),
                    en: en.into(),
                },
            }
        })
        .collect();
    v.sort_by_key(|c| std::cmp::Reverse(c.seconds));
    v
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentItem {
    /// Stable: the service and the start time.
    pub id: String,
    pub service: String,
    pub start: Time,
    /// `null` while ongoing.
    pub end: Option<Time>,
    pub ongoing: bool,
    pub seconds: i64,
    /// Unknown seconds inside it (short gaps between its failures).
    pub unknown_seconds: i64,
    pub locations: Vec<String>,
    pub reason: String,
    pub reason_words: DisplayName,
    /// Ids of the notices attached to it.
    pub notices: Vec<String>,
    /// `none`, `partly` or `whole`: how much of its failure time is outside
    /// the SLO (`exclusions:`). The incident is listed as it happened either way.
    pub excluded: &'static str,
    /// Failure seconds of it set aside by exclusions.
    pub excluded_seconds: i64,
    /// The exclusions that set some of it aside.
    pub exclusions: Vec<ExclusionItem>,
}

/// An exclusion as the public page shows it (who decided and the evidence
/// link stay in `report`).
#[derive(Debug, Clone, Serialize)]
pub struct ExclusionItem {
    pub reason: ExclusionReason,
    /// The reason in words, from the seed's scope list.
    pub reason_words: DisplayName,
    pub description: DisplayName,
    pub start: Time,
    pub end: Time,
    pub decided_at: Time,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceItem {
    /// Stable across restarts: from the services and the start time.
    pub id: String,
    pub services: Vec<String>,
    pub start: Time,
    pub end: Time,
    pub announced_at: Time,
    pub announced_via: String,
    /// Announced at least `maintenance_notice_months` ahead (seed §1).
    pub in_time: bool,
    pub title: DisplayName,
    /// `upcoming`, `active` or `past`.
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoticeItem {
    pub id: String,
    pub kind: NoticeKind,
    pub published_at: Time,
    pub effective_at: Option<Time>,
    /// For changes: published at least a month before taking effect (seed §4).
    pub in_time: Option<bool>,
    pub services: Vec<String>,
    pub title: DisplayName,
    pub body: DisplayName,
    /// The incident it is attached to, by time.
    pub incident: Option<String>,
}

/// What was fetched for one service.
#[derive(Debug, Clone, Default)]
pub struct ServiceData {
    /// Step `k` covers `[start + k·step, start + (k+1)·step)`.
    pub start: i64,
    /// As runs of equal steps: a few hundred bytes for a quiet service, so
    /// each refresh copies it from the [`Cache`].
    pub steps: StepRuns,
    /// Fewer operations within the latency threshold than the objective, in the last 10 minutes.
    pub slow: bool,
}

/// Steps already fetched, per service: `(first step's start, steps, how many
/// of them are old enough not to change)`.
#[derive(Debug, Default)]
pub struct Cache {
    sealed: BTreeMap<String, (i64, StepRuns, usize)>,
}

/// The span the page covers: from the earlier of 90 days ago (local midnight)
/// and the first month shown, to the last whole step before `now`.
pub fn range(now: i64, tz: Tz, step: i64) -> (i64, i64) {
    let first_day = local_date(now, tz) - chrono::Days::new(DAYS as u64 - 1);
    let mut m = Month::containing(now, tz);
    for _ in 1..MONTHS {
        m = m.prev();
    }
    let start = day_start(first_day, tz).min(m.start(tz));
    let until = start + (now - start) / step * step;
    (start, until)
}

/// Steps asked for in one go while filling the cache: as many range-query
/// chunks as the client sends at once (about a week at 15 s). The cache grows
/// by whole pieces, so a refresh cut short by its deadline keeps what it
/// fetched and the next one goes on from there.
const PIECE_STEPS: usize = query::MAX_POINTS as usize * query::CONCURRENCY;

/// Services fetched at once: each keeps a few queries in flight, and a
/// quiet service's queries are small, so waiting for one service at a time
/// leaves Prometheus mostly idle. Two, not more: each piece in flight holds
/// its steps one by one (about 3 MB) until they are folded into runs.
const SERVICES_AT_ONCE: usize = 2;

/// Asks Prometheus for what changed since the last refresh.
///
/// Cancellation-safe: the cache is only changed between awaits and is
/// consistent at each of them, so dropping this future (a refresh past its
/// deadline) loses at most the pieces in flight, never what was fetched before.
pub async fn fetch(
    client: &Client,
    cfg: &Config,
    plans: &[ServicePlan],
    cache: &mut Cache,
    now: i64,
    tz: Tz,
) -> Result<Vec<ServiceData>, query::Error> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let server = history::ServerInfo::ask(client, now).await;
    // Each service changes only its own entry, never across an await.
    let cache = std::sync::Mutex::new(cache);
    stream::iter(
        plans
            .iter()
            .map(|p| fetch_service(client, cfg, p, &cache, now, tz, &server)),
    )
    .buffered(SERVICES_AT_ONCE)
    .try_collect()
    .await
}

/// [`fetch`] for one service.
async fn fetch_service(
    client: &Client,
    cfg: &Config,
    p: &ServicePlan,
    cache: &std::sync::Mutex<&mut Cache>,
    now: i64,
    tz: Tz,
    server: &history::ServerInfo,
) -> Result<ServiceData, query::Error> {
    let lock = || {
        cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let step = p.round_seconds.max(1) as i64;
    let (start, until) = range(now, tz, step);
    // Align what is cached with today's range: drop what fell out of it
    // and the recent steps that may still change.
    {
        let mut c = lock();
        let entry = c
            .sealed
            .entry(p.service.clone())
            .or_insert_with(|| (start, StepRuns::default(), 0));
        let (cstart, steps, sealed) = entry;
        steps.truncate(*sealed);
        if *cstart > start || (start - *cstart) % step != 0 {
            *steps = StepRuns::default();
        } else {
            let drop = (((start - *cstart) / step) as usize).min(steps.len());
            steps.drop_front(drop);
        }
        *cstart = start;
        *sealed = steps.len();
    }
    let seal_before = ((now - SEAL_SECONDS - start) / step).max(0) as usize;
    loop {
        let have = lock().sealed[&p.service].1.len();
        let from = start + have as i64 * step;
        let n = (((until - from) / step).max(0) as usize).min(PIECE_STEPS);
        if n == 0 {
            break;
        }
        let fetched = history::fetch_steps(client, cfg, p, from, n, step as u64, server).await?;
        let mut c = lock();
        let (_, steps, sealed) = c.sealed.get_mut(&p.service).expect("inserted above");
        steps.extend(fetched);
        *sealed = seal_before.min(steps.len());
    }
    let slow = slow(client, p, now).await?;
    let steps = lock().sealed[&p.service].1.clone();
    Ok(ServiceData { start, steps, slow })
}

/// Minutes of operations the *slow* state looks at.
const SLOW_WINDOW: &str = "10m";

/// Whether the service is slow now: in the last 10 minutes, operations over
/// the latency threshold burn the latency budget at least as fast as the
/// rate that pages on-call (the latency fast-burn alert, 14.4× for the
/// shipped objectives: more than 14.4 % of operations over 3 s for a 99 %
/// target), and more than one operation was slow. A single slow answer among
/// a hundred is inside the objective and never makes the page say 応答遅延.
async fn slow(client: &Client, p: &ServicePlan, now: i64) -> Result<bool, query::Error> {
    let c = promql::latency_counts(
        &Selector::service(&p.service),
        p.latency_threshold_seconds,
        "increase",
        SLOW_WINDOW,
    );
    let (g, t) =
        futures_util::future::try_join(client.query(&c.good, now), client.query(&c.total, now))
            .await?;
    let sum = |v: Vec<query::Sample>| {
        v.iter()
            .map(|s| s.value)
            .filter(|v| v.is_finite())
            .sum::<f64>()
    };
    Ok(is_slow(p, sum(g), sum(t)))
}

/// The burn rate at which the service counts as slow: that of the paging latency alert.
fn slow_burn(p: &ServicePlan) -> f64 {
    p.alerts
        .iter()
        .filter(|a| a.slo == Slo::Latency && a.severity == Severity::Page)
        .map(|a| a.burn)
        .fold(f64::INFINITY, f64::min)
}

/// [`slow`]'s verdict from the window's counts: `good` operations within the
/// threshold out of `total` successful ones.
pub fn is_slow(p: &ServicePlan, good: f64, total: f64) -> bool {
    let over = total - good;
    if total <= 0.0 || over < 1.5 {
        return false;
    }
    let burn = slow_burn(p);
    burn.is_finite() && over / total >= burn * p.latency_budget
}

/// Stable id of a maintenance window.
pub fn window_id(services: &[String], start: i64) -> String {
    format!("maint-{}-{}", services.join("+"), start)
}

/// Words for a failure reason (the closed set of `mimamori_probe_failures_total`).
pub fn reason_words(reason: &str) -> DisplayName {
    let (ja, en) = match reason {
        "dns" => ("名前解決の失敗", "name resolution failed"),
        "connect" => ("接続できない", "could not connect"),
        "tls" => ("暗号化通信（TLS）の失敗", "TLS handshake failed"),
        "timeout" => ("応答なし（時間切れ）", "no answer in time"),
        "status" => ("エラー応答", "error response"),
        "assertion" => ("画面・内容の異常", "unexpected content"),
        "body_too_large" => ("応答が大きすぎる", "response too large"),
        "protocol" => ("通信手順の異常", "protocol error"),
        "redirect" => ("転送の異常", "redirect error"),
        "navigation" => ("画面を開けない", "page did not open"),
        "selector_timeout" => ("画面の表示が終わらない", "page did not finish showing"),
        "script_error" => ("画面の動作の異常", "page script error"),
        "blocked_request" => ("許可されていない通信", "request to an origin not allowed"),
        _ => ("原因調査中", "cause under investigation"),
    };
    DisplayName {
        ja: ja.into(),
        en: en.into(),
    }
}

/// The maintenance windows and exclusions of one service over the page's span.
struct Spans {
    windows: Vec<compute::Window>,
    exclusions: Vec<compute::ExclusionSpan>,
}

fn figures(d: &ServiceData, p: &ServicePlan, spans: &Spans, a: i64, b: i64, end: i64) -> Figures {
    compute::figures_between_runs(
        &d.steps,
        d.start,
        p.round_seconds.max(1) as i64,
        &spans.windows,
        &spans.exclusions,
        p.grace_seconds as i64,
        a,
        b,
        end,
    )
}

/// The snapshot from fetched data at `now`. `stale_after`: data older than
/// this (seconds) makes every state unknown.
pub fn assemble(
    cfg: &Config,
    plans: &[ServicePlan],
    data: &[ServiceData],
    now: i64,
    tz: Tz,
    stale_after: i64,
) -> Snapshot {
    let mut services = Vec::new();
    let mut data_as_of: Option<i64> = None;
    for (p, d) in plans.iter().zip(data) {
        let step = p.round_seconds.max(1) as i64;
        if let Some(k) = d.steps.rposition(|s| s.failing.is_some()) {
            let t = d.start + (k as i64 + 1) * step;
            data_as_of = Some(data_as_of.map_or(t, |a| a.max(t)));
        }
        services.push(service_status(cfg, p, d, now, tz));
    }
    let fresh = data_as_of.is_some_and(|t| now - t <= stale_after);
    let mut snap = Snapshot {
        generated_at: Time(now, tz),
        data_as_of: data_as_of.map(|t| Time(t, tz)),
        fresh,
        error: (!fresh).then(|| "no recent data from any location".to_string()),
        timezone: tz.name().to_string(),
        services,
        maintenance: maintenance(cfg, now, tz),
        notices: Vec::new(),
        internal: false,
        backups: None,
    };
    snap.notices = notices(cfg, now, tz, &mut snap.services);
    if !fresh {
        mark_unknown(&mut snap);
    }
    snap
}

impl Snapshot {
    /// With `Some` backups (even none configured), the internal view.
    pub fn with_backups(mut self, backups: Option<Vec<BackupStatus>>) -> Snapshot {
        self.internal = backups.is_some();
        self.backups = backups;
        if !self.fresh {
            mark_unknown(&mut self);
        }
        self
    }
}

/// Every state unknown since the last good data: the page never shows a state it does not know.
pub fn mark_unknown(snap: &mut Snapshot) {
    snap.fresh = false;
    for s in &mut snap.services {
        s.state = State::Unknown;
        s.since = snap.data_as_of;
    }
    for b in snap.backups.iter_mut().flatten() {
        b.state = "unknown";
    }
}

fn service_status(
    cfg: &Config,
    p: &ServicePlan,
    d: &ServiceData,
    now: i64,
    tz: Tz,
) -> ServiceStatus {
    let step = p.round_seconds.max(1) as i64;
    let until = d.start + d.steps.len() as i64 * step;
    let windows = Spans {
        windows: history::windows(cfg, &p.service, d.start, i64::MAX),
        exclusions: history::exclusions(cfg, &p.service, d.start, i64::MAX),
    };
    let first_day = local_date(now, tz) - chrono::Days::new(DAYS as u64 - 1);
    let days = day_figures(d, p, &windows, first_day, until, tz);
    let months = month_figures(d, p, &windows, now, until, tz);
    let incidents = incident_items(
        cfg,
        (d, p, &windows),
        day_start(first_day, tz),
        until,
        now,
        tz,
    );
    let (state, since) = state_now(cfg, p, d, &incidents, now, tz);
    let month_availability_percent = months.first().map_or(100.0, |m| m.availability_percent);
    ServiceStatus {
        service: p.service.clone(),
        display_name: DisplayName {
            ja: p.ja.clone(),
            en: p.en.clone(),
        },
        state,
        since,
        objective_percent: promql::round_decimal(p.availability * 100.0),
        month_availability_percent,
        months,
        days,
        incidents,
        maintenance: cfg
            .maintenance
            .iter()
            .filter(|w| w.services.contains(&p.service))
            .map(|w| window_id(&w.services, w.start.timestamp()))
            .collect(),
    }
}

/// The days shown, oldest first, from `first_day`; today up to the last step.
fn day_figures(
    d: &ServiceData,
    p: &ServicePlan,
    windows: &Spans,
    first_day: chrono::NaiveDate,
    until: i64,
    tz: Tz,
) -> Vec<DayFigure> {
    let mut days = Vec::new();
    for i in 0..DAYS as u64 {
        let date = first_day + chrono::Days::new(i);
        let a = day_start(date, tz);
        let b = day_start(date + chrono::Days::new(1), tz).min(until);
        if a >= b {
            continue;
        }
        let f = figures(d, p, windows, a, b, b);
        let r = f.availability();
        let operating = f.operating_seconds > 0;
        let level = if f.failure_seconds > 0 {
            "down"
        } else if !operating
            || (f.maintenance_seconds > 0 && f.unknown_seconds * 2 < f.operating_seconds)
        {
            "maintenance"
        } else if f.unknown_seconds * 2 >= f.operating_seconds {
            "unknown"
        } else {
            "ok"
        };
        let text = operating.then(|| floor_percent(r.percent(), Some(r), 3));
        let c = f.coverage();
        days.push(DayFigure {
            coverage_text: operating.then(|| floor_percent(c.percent(), Some(c), 2)),
            unknown_causes: causes(&f),
            date: date.format("%Y-%m-%d").to_string(),
            availability_percent: text.as_ref().and_then(|t| t.parse().ok()),
            availability_text: text,
            failure_seconds: f.failure_seconds,
            maintenance_seconds: f.maintenance_seconds,
            unknown_seconds: f.unknown_seconds,
            excluded_failure_seconds: f.excluded_failure_seconds,
            level,
        });
    }
    days
}

/// The months shown, newest first; the current one up to the last step.
fn month_figures(
    d: &ServiceData,
    p: &ServicePlan,
    windows: &Spans,
    now: i64,
    until: i64,
    tz: Tz,
) -> Vec<MonthFigure> {
    let mut months = Vec::new();
    let mut m = Month::containing(now, tz);
    for _ in 0..MONTHS {
        let (a, end) = (m.start(tz), m.next().start(tz));
        let b = end.min(until);
        if a < b {
            let f = figures(d, p, windows, a, b, end);
            let r = f.availability();
            let text = floor_percent(r.percent(), Some(r), 3);
            let c = f.coverage();
            let verdict = Verdict::judged(
                &f,
                p.availability,
                p.min_coverage_percent,
                p.apply_exclusions,
            );
            let adj = f.availability_adjusted();
            let adjusted_text = floor_percent(adj.percent(), Some(adj), 3);
            months.push(MonthFigure {
                month: m.to_string(),
                availability_percent: text.parse().unwrap_or(0.0),
                availability_text: text,
                met: verdict == Verdict::Met,
                verdict,
                coverage_percent: c.percent(),
                coverage_text: floor_percent(c.percent(), Some(c), 2),
                to_date: b < end,
                failure_seconds: f.failure_seconds,
                unknown_seconds: f.unknown_seconds,
                excluded: p.apply_exclusions && !f.excluded_by.is_empty(),
                excluded_failure_seconds: f.excluded_failure_seconds,
                availability_adjusted_percent: adjusted_text.parse().unwrap_or(0.0),
                availability_adjusted_text: adjusted_text,
            });
        }
        m = m.prev();
    }
    months
}

/// Incidents that touch the days shown (those ending after `shown_from`), newest first.
fn incident_items(
    cfg: &Config,
    (d, p, windows): (&ServiceData, &ServicePlan, &Spans),
    shown_from: i64,
    until: i64,
    now: i64,
    tz: Tz,
) -> Vec<IncidentItem> {
    let whole = figures(d, p, windows, d.start, until, until);
    let last = d.steps.last().and_then(|s| s.failing);
    let mut incidents: Vec<IncidentItem> = whole
        .incidents
        .iter()
        .filter(|i| i.end > shown_from)
        .map(|i| {
            let ongoing = i.end >= until && last == Some(true);
            let reason = i.reason.clone().unwrap_or_else(|| "unknown".into());
            IncidentItem {
                id: format!("incident-{}-{}", p.service, i.start),
                service: p.service.clone(),
                start: Time(i.start, tz),
                end: (!ongoing).then_some(Time(i.end, tz)),
                ongoing,
                seconds: if ongoing { now - i.start } else { i.seconds },
                unknown_seconds: i.unknown_seconds,
                locations: i.locations.clone(),
                reason_words: reason_words(&reason),
                reason,
                notices: Vec::new(),
                excluded: match i.excluded_seconds {
                    0 => "none",
                    x if x >= i.seconds && !ongoing => "whole",
                    _ => "partly",
                },
                excluded_seconds: i.excluded_seconds,
                exclusions: i
                    .exclusions
                    .iter()
                    .filter_map(|&id| cfg.exclusions.get(id))
                    .map(|x| ExclusionItem {
                        reason: x.reason,
                        reason_words: x.reason.words(),
                        description: x.description.clone(),
                        start: Time(x.start.timestamp(), tz),
                        end: Time(x.end.timestamp(), tz),
                        decided_at: Time(x.decided_at.timestamp(), tz),
                    })
                    .collect(),
            }
        })
        .collect();
    incidents.reverse();
    incidents
}

/// The state now, and since when (`incidents` newest first, as [`incident_items`] gives them).
fn state_now(
    cfg: &Config,
    p: &ServicePlan,
    d: &ServiceData,
    incidents: &[IncidentItem],
    now: i64,
    tz: Tz,
) -> (State, Option<Time>) {
    let step = p.round_seconds.max(1) as i64;
    let last = d.steps.last().and_then(|s| s.failing);
    let active = cfg
        .maintenance
        .iter()
        .filter(|w| w.services.contains(&p.service))
        .find(|w| w.start.timestamp() <= now && now < w.end.timestamp());
    let run_start = |pred: &dyn Fn(Option<bool>) -> bool| {
        let k = d.steps.rposition(|s| !pred(s.failing)).map_or(0, |k| k + 1);
        (k > 0).then(|| Time(d.start + k as i64 * step, tz))
    };
    if let Some(w) = active {
        (State::Maintenance, Some(Time(w.start.timestamp(), tz)))
    } else {
        match last {
            None => (State::Unknown, run_start(&|f| f.is_none())),
            Some(true) => (
                State::Outage,
                incidents
                    .first()
                    .filter(|i| i.ongoing)
                    .map(|i| i.start)
                    .or_else(|| run_start(&|f| f == Some(true))),
            ),
            Some(false) if d.slow => (State::Slow, None),
            Some(false) => {
                // Failures seen inside a window are not the service's: up since the later
                // of the last bad step and the end of the last window.
                let window_end = cfg
                    .maintenance
                    .iter()
                    .filter(|w| w.services.contains(&p.service))
                    .map(|w| w.end.timestamp())
                    .filter(|&e| e <= now)
                    .max();
                let since = run_start(&|f| f == Some(false));
                let since = match (since, window_end) {
                    (Some(a), Some(b)) => Some(Time(a.0.max(b), tz)),
                    (a, _) => a,
                };
                (State::Operational, since)
            }
        }
    }
}

fn maintenance(cfg: &Config, now: i64, tz: Tz) -> Vec<MaintenanceItem> {
    let months = cfg.global.maintenance_notice_months;
    let mut v: Vec<MaintenanceItem> = cfg
        .maintenance
        .iter()
        .map(|w| {
            let (a, b) = (w.start.timestamp(), w.end.timestamp());
            MaintenanceItem {
                id: window_id(&w.services, a),
                services: w.services.clone(),
                start: Time(a, tz),
                end: Time(b, tz),
                announced_at: Time(w.announced_at.timestamp(), tz),
                announced_via: w.announced_via.clone(),
                in_time: w.announced_in_time(months),
                title: w.title.clone(),
                status: if now < a {
                    "upcoming"
                } else if now < b {
                    "active"
                } else {
                    "past"
                },
            }
        })
        .collect();
    v.sort_by_key(|w| std::cmp::Reverse(w.start.0));
    v
}

/// Published notices, newest first; incident notices attached to the
/// incident of their services that was ongoing (or ended within a day) when published.
/// Every configured notice's id, in file order: `notice-change-1796086800`,
/// then `…-1`, `…-2` for more notices of the same kind and time. It comes from
/// the kind and publication time, never from the position among the published
/// ones: that moves when a notice written earlier in the file becomes
/// published, and anchors, feed entries, the Statuspage API's update ids and
/// the customer notices' keys must not.
pub fn notice_ids(cfg: &Config) -> Vec<String> {
    let mut seen: std::collections::HashMap<(NoticeKind, i64), usize> = Default::default();
    cfg.notices
        .iter()
        .map(|n| {
            let at = n.published_at.timestamp();
            let kind = match n.kind {
                NoticeKind::Incident => "incident",
                NoticeKind::Change => "change",
                NoticeKind::Maintenance => "maintenance",
            };
            match seen
                .entry((n.kind, at))
                .and_modify(|o| *o += 1)
                .or_insert(0)
            {
                0 => format!("notice-{kind}-{at}"),
                o => format!("notice-{kind}-{at}-{o}"),
            }
        })
        .collect()
}

fn notices(cfg: &Config, now: i64, tz: Tz, services: &mut [ServiceStatus]) -> Vec<NoticeItem> {
    let mut out = Vec::new();
    for (n, id) in cfg.notices.iter().zip(notice_ids(cfg)) {
        let at = n.published_at.timestamp();
        if at > now {
            continue;
        }
        let mut incident = None;
        if n.kind == NoticeKind::Incident {
            'found: for s in services.iter_mut() {
                if !n.services.is_empty() && !n.services.contains(&s.service) {
                    continue;
                }
                for i in &mut s.incidents {
                    let end = i.end.map_or(i64::MAX, |e| e.0 + 86400);
                    if i.start.0 - 3600 <= at && at <= end {
                        i.notices.push(id.clone());
                        incident = Some(i.id.clone());
                        break 'found;
                    }
                }
            }
        }
        let in_time = match (n.kind, n.effective_at) {
            (NoticeKind::Change, Some(e)) => Some(
                n.published_at
                    .checked_add_months(Months::new(1))
                    .is_some_and(|d| d <= e),
            ),
            _ => None,
        };
        out.push(NoticeItem {
            id,
            kind: n.kind,
            published_at: Time(at, tz),
            effective_at: n.effective_at.map(|e| Time(e.timestamp(), tz)),
            in_time,
            services: n.services.clone(),
            title: n.title.clone(),
            body: n.body.clone(),
            incident,
        });
    }
    out.sort_by_key(|n| std::cmp::Reverse(n.published_at.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slo::compute::StepData;
    use std::sync::Arc;

    fn cfg() -> Config {
        let text = r#"
global: {interval: 60s, timeout: 30s}
alerting: {locations: [a, b, c]}
services:
  - name: web
    display_name: {ja: ウェブ, en: Web}
    transactions:
      - name: t
        steps: [{name: s, url: 'https://web.invalid/'}]
maintenance:
  - services: [web]
    start: 2026-12-20T01:00:00+09:00
    end: 2026-12-20T03:00:00+09:00
    announced_at: 2026-12-01T10:00:00+09:00
    announced_via: guide
    title: {ja: 臨時, en: Extra}
notices:
  - kind: incident
    published_at: 2026-12-02T10:20:00+09:00
    title: {ja: 調査中, en: Investigating}
  - kind: change
    published_at: 2026-12-01T00:00:00+09:00
    effective_at: 2026-12-15T00:00:00+09:00
    title: {ja: 変更, en: Change}
"#;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        std::fs::write(&p, text).unwrap();
        crate::config::load(&p).unwrap()
    }

    #[test]
    fn a_notice_keeps_its_id_when_an_earlier_one_is_published() {
        // The incident notice (first in the file) is published at 10:20 on
        // 2 December; the change notice (second) on 1 December.
        let cfg = cfg();
        let tz: Tz = "Asia/Tokyo".parse().unwrap();
        let ids = |now: i64| -> Vec<String> {
            notices(&cfg, now, tz, &mut [])
                .into_iter()
                .map(|n| n.id)
                .collect()
        };
        let before = ids(t("2026-12-01T12:00:00+09:00"));
        let after = ids(t("2026-12-02T12:00:00+09:00"));
        let change = format!("notice-change-{}", t("2026-12-01T00:00:00+09:00"));
        assert_eq!(before, vec![change.clone()]);
        assert_eq!(
            after,
            vec![
                format!("notice-incident-{}", t("2026-12-02T10:20:00+09:00")),
                change
            ]
        );
    }

    fn t(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    /// A stand-in Prometheus that answers queries with empty results, but
    /// holds the `n`-th request (from 0) until `n < limit`.
    async fn gated_prometheus(
        limit: Arc<std::sync::atomic::AtomicUsize>,
    ) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let requests = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let (limit, seen) = (limit.clone(), seen.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Head and (small, form-encoded) body.
                    loop {
                        let Ok(n) = s.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf);
                        if let Some(head_end) = text.find("\r\n\r\n") {
                            let len = text[..head_end]
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            if buf.len() >= head_end + 4 + len {
                                break;
                            }
                        }
                    }
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    while n >= limit.load(Ordering::SeqCst) {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                    let kind = if String::from_utf8_lossy(&buf).contains("query_range") {
                        "matrix"
                    } else {
                        "vector"
                    };
                    let body = format!(
                        r#"{{"status":"success","data":{{"resultType":"{kind}","result":[]}}}}"#
                    );
                    let _ = s
                        .write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                });
            }
        });
        (format!("http://{addr}"), requests)
    }

    #[test]
    fn slow_means_the_latency_budget_burns_at_the_paging_rate() {
        let cfg = cfg();
        let p = &crate::slo::plan::plans(&cfg)[0];
        // 99 % within 3 s: the paging alert burns at 14.4×, 14.4 % of operations slow.
        assert_eq!(slow_burn(p), 14.4);
        // One slow answer among a hundred (or among five) is not a slow service.
        assert!(!is_slow(p, 99.0, 100.0));
        assert!(!is_slow(p, 4.0, 5.0));
        assert!(!is_slow(p, 0.0, 0.0));
        // Sustained slowness is.
        assert!(is_slow(p, 0.0, 120.0));
        assert!(is_slow(p, 100.0, 120.0));
        assert!(!is_slow(p, 103.0, 120.0));
    }

    #[tokio::test]
    async fn a_refresh_cut_short_keeps_what_it_fetched() {
        let cfg = cfg();
        let plans = crate::slo::plan::plans(&cfg);
        let tz = chrono_tz::Asia::Tokyo;
        let now = t("2026-12-02T10:30:30+09:00");
        let (start, until) = range(now, tz, 60);
        let total = ((until - start) / 60) as usize;
        // 60 s steps over ~90 days: 128,790 steps, three pieces of four chunks.
        assert!(total > 2 * PIECE_STEPS, "{total}");
        // Each piece of nothing but unknown steps: the sample counts (1), the
        // verdict (4 chunks), and whether any data came before (1: none, so
        // every step is before the first sample and no prober is asked
        // about). Each refresh first asks for the retention and the flags
        // (2; this stand-in has no flags, so no quiet-hour checks).
        const PIECE: usize = 1 + 4 + 1;
        let answered = 2 + 2 * PIECE;
        let limit = Arc::new(std::sync::atomic::AtomicUsize::new(answered));
        let (url, requests) = gated_prometheus(limit.clone()).await;
        let client = Client::new(&query::ClientOptions {
            url,
            basic_auth_user: None,
            basic_auth_password_file: None,
            bearer_token_file: None,
            headers: Vec::new(),
            ca_file: None,
            timeout: std::time::Duration::from_secs(10),
        })
        .unwrap();
        let mut cache = Cache::default();
        // Two pieces are answered, the third hangs; the refresh's deadline
        // cuts it once the third piece is waiting (not after a fixed time,
        // which a loaded machine may need for the first two).
        let third_waits = async {
            while requests.load(std::sync::atomic::Ordering::SeqCst) <= answered {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        };
        let cut = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            tokio::select! {
                r = fetch(&client, &cfg, &plans, &mut cache, now, tz) => Some(r.is_ok()),
                _ = third_waits => None,
            }
        })
        .await
        .expect("the first two pieces are answered within a minute");
        assert_eq!(cut, None, "the third piece never came");
        let kept = cache.sealed["web"].1.len();
        assert_eq!(kept, 2 * PIECE_STEPS, "whole pieces survive the cut");
        limit.store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
        // The next refresh goes on from there: one piece and the latency query's two.
        let before = client.queries_sent();
        let data = fetch(&client, &cfg, &plans, &mut cache, now, tz)
            .await
            .unwrap();
        assert_eq!(data[0].steps.len(), total);
        assert_eq!(data[0].start, start);
        assert_eq!(
            client.queries_sent() - before,
            (2 + PIECE + 2) as u64,
            "the retention and flags, one piece, 2 instant queries for latency"
        );
        // And a refresh a minute later asks only for the last hour.
        drop(data);
        let before = client.queries_sent();
        let data = fetch(&client, &cfg, &plans, &mut cache, now + 60, tz)
            .await
            .unwrap();
        assert_eq!(data[0].steps.len(), total + 1);
        // The retention and flags, then the counts, the verdict and whether data came before.
        assert_eq!(client.queries_sent() - before, 2 + (1 + 1 + 1) + 2);
    }

    #[test]
    fn an_ongoing_failure_is_an_outage_with_its_start_and_stale_data_is_unknown() {
        let cfg = cfg();
        let plans = crate::slo::plan::plans(&cfg);
        let tz = chrono_tz::Asia::Tokyo;
        let now = t("2026-12-02T10:30:30+09:00");
        let (start, until) = range(now, tz, 60);
        let n = ((until - start) / 60) as usize;
        let mut steps = vec![
            StepData {
                failing: Some(false),
                ..Default::default()
            };
            n
        ];
        let fail_from = ((t("2026-12-02T10:15:00+09:00") - start) / 60) as usize;
        for s in &mut steps[fail_from..] {
            s.failing = Some(true);
            s.reasons.insert("timeout".into(), 1.0);
        }
        let d = ServiceData {
            start,
            steps: steps.into(),
            slow: false,
        };
        let snap = assemble(&cfg, &plans, std::slice::from_ref(&d), now, tz, 120);
        let s = &snap.services[0];
        assert_eq!(s.state, State::Outage);
        assert_eq!(s.since, Some(Time(t("2026-12-02T10:15:00+09:00"), tz)));
        assert_eq!(s.days.len(), DAYS);
        assert_eq!(s.days.last().unwrap().date, "2026-12-02");
        assert_eq!(s.days.last().unwrap().level, "down");
        assert!(s.incidents[0].ongoing);
        assert_eq!(s.incidents[0].reason, "timeout");
        // The incident notice is attached by time; the change came late.
        assert_eq!(s.incidents[0].notices.len(), 1);
        let change = snap.notices.iter().find(|n| n.kind == NoticeKind::Change);
        assert_eq!(change.unwrap().in_time, Some(false));
        assert!(!snap.maintenance[0].in_time);
        assert_eq!(snap.maintenance[0].status, "upcoming");
        // Inside a window (announced late, still maintenance on the page): メンテナンス中.
        let during = t("2026-12-20T02:00:00+09:00");
        let (start, until) = range(during, tz, 60);
        let steps = vec![
            StepData {
                failing: Some(true),
                ..Default::default()
            };
            ((until - start) / 60) as usize
        ];
        let m = ServiceData {
            start,
            steps: steps.into(),
            slow: false,
        };
        let snap = assemble(&cfg, &plans, std::slice::from_ref(&m), during, tz, 120);
        assert_eq!(snap.services[0].state, State::Maintenance);
        assert_eq!(
            snap.services[0].since,
            Some(Time(t("2026-12-20T01:00:00+09:00"), tz))
        );
        assert_eq!(snap.maintenance[0].status, "active");
        // Up, but too few operations within the latency threshold: 応答遅延.
        let up = ServiceData {
            start: d.start,
            steps: vec![
                StepData {
                    failing: Some(false),
                    ..Default::default()
                };
                d.steps.len()
            ]
            .into(),
            slow: true,
        };
        let snap = assemble(&cfg, &plans, &[up], now, tz, 120);
        assert_eq!(snap.services[0].state, State::Slow);
        // 15 minutes later with no new data: unknown, since the last good data.
        let snap = assemble(&cfg, &plans, &[d], now + 900, tz, 120);
        assert_eq!(snap.services[0].state, State::Unknown);
        assert!(!snap.fresh);
        assert_eq!(snap.services[0].since, snap.data_as_of);
    }
}
