//! Grafana dashboards that show the objectives of the SLO plan: whether this
//! month is inside 99.99 %, where the time goes, and whether the probers work.
//!
//! Three dashboards, each a pure function of the configuration and its
//! [`ServicePlan`]s, so `generate --check` can compare them byte for byte:
//! - `overview`: every service on one screen, this calendar month so far.
//! - `service`: one service (variable `service`), budget burn-down, burn
//!   rates, availability per location, failures, latency and phases.
//! - `probers`: which locations report, scheduling lag, skipped runs, reloads.
//!
//! The JSON is built as [`model`] types; `panels` holds the builders the
//! three share. Queries read the recording rules (`promql::record`) where
//! they exist and the exporter's series (`promql::metric`) otherwise; no
//! location name is written anywhere.

mod backups;
pub mod model;
mod overview;
mod panels;
mod probers;
mod service;

use chrono::FixedOffset;

use self::model::*;
use self::panels::{dashboard_links, ds, TAG};
use crate::config::Config;
use crate::promql::{self, bucket, count, decimal, le_regex, metric, record, Selector};
use crate::slo::plan::{self, ServicePlan};

/// Grafana's dashboard schema version the JSON follows (Grafana 10.4 / 11).
const SCHEMA_VERSION: u32 = 39;
/// Dashboard time zone: month boundaries are Japanese months.
const TIMEZONE: &str = "Asia/Tokyo";
/// Asia/Tokyo has no daylight saving time, so a fixed offset is exact.
const JST_OFFSET_SECS: i32 = 9 * 3600;

/// Every dashboard for `cfg` as (relative path, pretty JSON with a trailing newline).
pub fn dashboards(cfg: &Config) -> Vec<(String, String)> {
    dashboards_with(cfg, &plan::plans(cfg))
}

/// Like [`dashboards`], from the given plans (one per service, in
/// configuration order): their objectives and burn-rate alerts are drawn.
pub fn dashboards_with(cfg: &Config, plans: &[ServicePlan]) -> Vec<(String, String)> {
    [
        overview::dashboard(cfg, plans),
        service::dashboard(cfg, plans),
        probers::dashboard(cfg),
    ]
    .iter()
    .map(|d| (format!("dashboards/{}.json", d.uid), to_pretty(d)))
    .collect()
}

/// Pretty JSON with keys sorted (as the committed files have always been).
fn to_pretty(d: &Dashboard) -> String {
    let value = serde_json::to_value(d).expect("the dashboard model always serializes");
    let mut s = serde_json::to_string_pretty(&value).expect("a JSON value always serializes");
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------
// Numbers people read
// ---------------------------------------------------------------------------

/// An objective ratio as a percentage for titles: `99.99`.
fn percent(ratio: f64) -> String {
    decimal(ratio * 100.0)
}

/// `3 s`, `500 ms`.
fn human_secs(secs: f64) -> String {
    if secs < 1.0 {
        format!("{} ms", decimal(secs * 1000.0))
    } else {
        format!("{} s", decimal(secs))
    }
}

/// `4 分 19 秒 / 4 min 19 s (4.32 min)` for a budget in seconds.
fn human_budget(secs: f64) -> String {
    let whole = secs.round() as u64;
    let (min, sec) = (whole / 60, whole % 60);
    let minutes = decimal((secs / 60.0 * 100.0).round() / 100.0);
    format!("{min} 分 {sec} 秒 / {min} min {sec} s ({minutes} min)")
}

/// The value every service shares, or the strictest (largest) one: a dashboard
/// with a `service` variable can draw only one threshold.
fn strictest(plans: &[ServicePlan], f: impl Fn(&ServicePlan) -> f64) -> f64 {
    plans.iter().map(f).fold(f64::NAN, f64::max)
}

/// The latency threshold every service shares, or `None` when they differ.
fn common_latency_threshold(plans: &[ServicePlan]) -> Option<f64> {
    let first = plans.first()?.latency_threshold_seconds;
    plans
        .iter()
        .all(|p| p.latency_threshold_seconds == first)
        .then_some(first)
}

fn jst(t: &chrono::DateTime<FixedOffset>) -> String {
    let tz = FixedOffset::east_opt(JST_OFFSET_SECS).expect("+09:00 is a valid offset");
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

/// Seconds of the current Japanese calendar month, evaluated at query time.
const MONTH_SECS: &str = "scalar(days_in_month(vector(time() + 32400))) * 86400";

/// Month-to-date availability by the seed's formula: failure time over operating
/// time, announced maintenance left out of operating time.
fn q_availability(sel: &Selector) -> String {
    format!(
        "1 - sum_over_time({}[$__range]) / sum_over_time({}[$__range])",
        sel.of(record::AVAILABILITY_ERRORS),
        sel.of(record::SERVICE_OPERATING)
    )
}

/// Failure seconds in the dashboard range, minute by minute (exact whatever the
/// rule evaluation interval, as long as it is at most a minute).
fn q_failure_secs(sel: &Selector) -> String {
    format!(
        "sum_over_time(avg_over_time({}[1m])[$__range:1m]) * 60",
        sel.of(record::AVAILABILITY_ERRORS)
    )
}

/// Share of operations within the latency threshold over `range`, per `by`.
fn q_latency_share(sel: &Selector, threshold: f64, range: &str, by: &str) -> String {
    let c = promql::latency_counts_by(sel, threshold, "increase", range, by);
    format!("{} / {}", c.good, c.total)
}

/// [`q_latency_share`] for whichever service `$service` is.
fn q_latency_share_any(plans: &[ServicePlan], sel: &Selector, range: &str, by: &str) -> String {
    per_threshold(plans, sel, |sel, t| q_latency_share(sel, t, range, by))
}

/// Builds a latency query for whichever service `$service` is: one query when
/// the services share a threshold, else one per service (its selector narrowed
/// to that service and its own threshold) joined with `or`, so only the
/// selected service's part returns data.
fn per_threshold(
    plans: &[ServicePlan],
    sel: &Selector,
    f: impl Fn(&Selector, f64) -> String,
) -> String {
    if let Some(t) = common_latency_threshold(plans) {
        return f(sel, t);
    }
    plans
        .iter()
        .map(|p| {
            let sel = sel.clone().eq("service", p.service.as_str());
            format!("({})", f(&sel, p.latency_threshold_seconds))
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Sums `increase(series[$__interval])` from the start of the dashboard range
/// (`$__from`) up to each point: a running total anchored at the range start.
fn q_since_from(series: &str) -> String {
    format!(
        "sum_over_time((sum(increase({series}[$__interval])) and on() (vector(time()) >= $__from / 1000))[$__range:$__interval])"
    )
}

/// A quantile of successful operations' durations per (transaction, step).
fn q_step_quantile(q: &str, sel: &Selector) -> String {
    let ok = sel.clone().eq("result", "success");
    format!(
        "histogram_quantile({q}, sum by (le, transaction, step) (rate({}[$__rate_interval])))",
        ok.of(&bucket(metric::STEP_DURATION))
    )
}

/// The selected service's successful operations within the threshold, and all of them.
fn latency_series(sel: &Selector, threshold: f64) -> (String, String) {
    let ok = sel.clone().eq("result", "success");
    let within = ok.clone().re("le", le_regex(threshold));
    (
        within.of(&bucket(metric::STEP_DURATION)),
        ok.of(&count(metric::STEP_DURATION)),
    )
}

// ---------------------------------------------------------------------------
// Dashboard frame: variables, annotations, settings
// ---------------------------------------------------------------------------

fn datasource_var() -> Variable {
    Variable {
        name: "datasource".into(),
        label: "データソース / Data source".into(),
        kind: VariableType::Datasource,
        datasource: None,
        query: VariableQuery::Plugin("prometheus"),
        current: None,
        hide: VariableHide::DontHide,
        include_all: false,
        all_value: None,
        multi: false,
        options: Vec::new(),
        refresh: VariableRefresh::OnDashboardLoad,
        regex: String::new(),
        skip_url_sync: false,
        sort: None,
    }
}

/// A `label_values(series, label)` variable; `multi` also offers "All" (`.+`).
fn query_var(name: &str, label: &str, series: &str, of: &str, multi: bool) -> Variable {
    Variable {
        name: name.into(),
        label: label.into(),
        kind: VariableType::Query,
        datasource: Some(ds()),
        query: VariableQuery::Prometheus {
            query: format!("label_values({series}, {of})"),
            ref_id: format!("{name}-variable"),
        },
        include_all: multi,
        all_value: multi.then(|| ".+".to_string()),
        multi,
        refresh: VariableRefresh::OnTimeRangeChanged,
        sort: Some(VariableSort::AlphabeticalAsc),
        ..datasource_var()
    }
}

fn builtin_annotation() -> Annotation {
    Annotation::BuiltIn(BuiltInAnnotation {
        built_in: 1,
        datasource: DataSourceRef {
            kind: "grafana",
            uid: "-- Grafana --",
        },
        enable: true,
        hide: true,
        icon_color: "rgba(0, 211, 255, 1)",
        name: "Annotations & Alerts",
        kind: "dashboard",
    })
}

struct Event<'a> {
    name: &'a str,
    expr: String,
    color: &'static str,
    title: &'a str,
    text: &'a str,
    tags: &'a str,
}

fn prom_annotation(e: Event<'_>) -> Annotation {
    Annotation::Prometheus(PromAnnotation {
        datasource: ds(),
        enable: true,
        hide: false,
        icon_color: e.color,
        name: e.name.into(),
        target: AnnotationTarget {
            ref_id: "Anno",
            expr: e.expr,
            interval: "1m",
        },
        title_format: e.title.into(),
        text_format: e.text.into(),
        tag_keys: e.tags.into(),
        use_value_for_time: false,
    })
}

/// Announced maintenance and fired alerts of the services that `service`
/// (which adds its matchers to a selector) matches.
fn annotations(service: impl Fn(Selector) -> Selector) -> Annotations {
    let firing = service(Selector::new().eq("alertstate", "firing"));
    let service = service(Selector::new());
    let maintenance = Event {
        name: "メンテナンス / Maintenance",
        expr: format!(
            "max by (service) ({}) == 1",
            service.of(record::MAINTENANCE_ACTIVE)
        ),
        color: "blue",
        title: "計画メンテナンス中 / Planned maintenance",
        text: "{{service}}",
        tags: "service",
    };
    let alerts = Event {
        name: "発報したアラート / Fired alerts",
        expr: firing.of(metric::ALERTS),
        color: "red",
        title: "{{alertname}}",
        text: "{{service}} {{slo}} ({{severity}})",
        tags: "service,slo,severity",
    };
    Annotations {
        list: vec![
            builtin_annotation(),
            prom_annotation(maintenance),
            prom_annotation(alerts),
        ],
    }
}

/// What differs between the three dashboards.
struct Frame<'a> {
    uid: &'a str,
    title: &'a str,
    description: &'a str,
    tags: &'a [&'a str],
    from: &'a str,
    variables: Vec<Variable>,
    annotations: Annotations,
    links: Vec<Link>,
    panels: Vec<Panel>,
}

fn frame(f: Frame<'_>) -> Dashboard {
    let tags = std::iter::once(TAG).chain(f.tags.iter().copied());
    let variables = std::iter::once(datasource_var()).chain(f.variables);
    Dashboard {
        id: None,
        uid: f.uid.into(),
        title: f.title.into(),
        description: f.description.into(),
        tags: tags.map(String::from).collect(),
        timezone: TIMEZONE,
        week_start: "monday",
        fiscal_year_start_month: 0,
        editable: true,
        graph_tooltip: CursorSync::Crosshair,
        live_now: false,
        refresh: "1m",
        schema_version: SCHEMA_VERSION,
        version: 1,
        time: TimeRange {
            from: f.from.into(),
            to: "now".into(),
        },
        timepicker: TimePicker::default(),
        templating: Templating {
            list: variables.collect(),
        },
        annotations: f.annotations,
        links: f.links,
        panels: f.panels,
    }
}

/// Every dashboard links the others; `extra` goes after.
fn links_with(extra: Vec<Link>) -> Vec<Link> {
    let mut links = dashboard_links();
    links.extend(extra);
    links
}

#[cfg(test)]
mod tests;
