//! Grafana dashboards that show the objectives from the configuration: whether
//! this month is inside 99.99 %, where the time goes, and whether the probers work.
//!
//! Three dashboards, each a pure function of the configuration so `generate
//! --check` can compare them byte for byte:
//! - `mimamori-slo-overview`: every service on one screen, this calendar month so far.
//! - `mimamori-service`: one service (variable `service`), budget burn-down, burn
//!   rates, availability per location, failures, latency and phases.
//! - `mimamori-probers`: which locations report, scheduling lag, skipped runs, reloads.
//!
//! Queries read the generator's recording rules (`mimamori:*`) where they exist and
//! the exporter's metrics otherwise. Objective numbers (99.99 %, 3 s, the month's
//! budget) come from the configuration; no location name is written anywhere.

use chrono::FixedOffset;
use serde_json::{json, Value};

use crate::config::{Config, MaintenanceWindow, Service};

/// Grafana's dashboard schema version the JSON follows (Grafana 10.4 / 11).
const SCHEMA_VERSION: u32 = 39;
/// Dashboard time zone: month boundaries are Japanese months.
const TIMEZONE: &str = "Asia/Tokyo";
/// Asia/Tokyo has no daylight saving time, so a fixed offset is exact.
const JST_OFFSET_SECS: i32 = 9 * 3600;
/// Tag shared by every mimamori dashboard; the dashboard links list by it.
const TAG: &str = "mimamori";
/// The datasource every panel uses: the dashboard's `datasource` variable.
const DS_VAR: &str = "${datasource}";

pub const UID_OVERVIEW: &str = crate::promql::dashboard::OVERVIEW;
pub const UID_SERVICE: &str = crate::promql::dashboard::SERVICE;
pub const UID_PROBERS: &str = crate::promql::dashboard::PROBERS;

/// One burn-rate alert of one service, drawn as a threshold on the burn-rate panels.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnThreshold {
    pub service: String,
    /// `availability` or `latency`.
    pub slo: &'static str,
    /// `page` or `ticket`.
    pub severity: &'static str,
    /// Long window (a `mimamori:slo_burn_rate:<w>` suffix).
    pub long: &'static str,
    /// Short window, which must also reach the threshold.
    pub short: &'static str,
    /// Burn-rate threshold (1 = the budget spent exactly over the period).
    pub burn: f64,
}

/// Every dashboard for `cfg` as (relative path, pretty JSON with a trailing newline).
pub fn dashboards(cfg: &Config) -> Vec<(String, String)> {
    dashboards_with(cfg, &burn_thresholds(cfg))
}

/// Like [`dashboards`], drawing the given burn-rate alert thresholds.
pub fn dashboards_with(cfg: &Config, burn: &[BurnThreshold]) -> Vec<(String, String)> {
    [
        (UID_OVERVIEW, overview(cfg)),
        (UID_SERVICE, service_detail(cfg, burn)),
        (UID_PROBERS, probers(cfg)),
    ]
    .into_iter()
    .map(|(uid, dashboard)| (format!("dashboards/{uid}.json"), to_pretty(&dashboard)))
    .collect()
}

/// The alert thresholds the burn-rate panels draw.
///
/// The rule generator owns these numbers (`generate::slo::plans`: per service,
/// availability thresholds sized from the probe interval). Until that module is
/// reachable from this branch, this mirrors its alert layout with the SRE
/// Workbook's factors; after the merge this function maps the plans' alerts.
fn burn_thresholds(cfg: &Config) -> Vec<BurnThreshold> {
    super::slo::plans(cfg)
        .iter()
        .flat_map(|p| {
            p.alerts.iter().map(move |a| BurnThreshold {
                service: p.service.clone(),
                slo: a.slo.label(),
                severity: a.severity.label(),
                long: a.long.name,
                short: a.short.name,
                burn: a.burn,
            })
        })
        .collect()
}

fn to_pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a serde_json::Value always serializes");
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------
// Numbers from the configuration
// ---------------------------------------------------------------------------

/// Formats a number as a plain decimal without binary noise: `0.0001`, never
/// `9.999999999998899e-5` (PromQL and people read these).
fn dec(x: f64) -> String {
    let s = format!("{x:.10}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// `dec`, parsed back, so the JSON number is the shortest one (`0.9999`).
fn clean(x: f64) -> f64 {
    dec(x).parse().expect("dec always prints a number")
}

/// The availability objective as a ratio, e.g. 0.9999.
fn availability_ratio(s: &Service) -> f64 {
    clean(s.objectives.availability / 100.0)
}

/// The share of the month that may be failure time, e.g. 0.0001.
fn availability_budget(s: &Service) -> f64 {
    clean((100.0 - s.objectives.availability) / 100.0)
}

fn latency_ratio(s: &Service) -> f64 {
    clean(s.objectives.latency.target / 100.0)
}

fn latency_threshold_secs(s: &Service) -> f64 {
    s.objectives.latency.threshold.as_secs_f64()
}

/// A regex for the `le` label of the threshold bucket: the exporter writes `3`,
/// Prometheus 3 normalises it to `3.0`. Escaped for a PromQL string.
fn le_label(secs: f64) -> String {
    let plain = dec(secs);
    if plain.contains('.') {
        plain.replace('.', "\\\\.")
    } else {
        format!("{plain}|{plain}\\\\.0")
    }
}

/// `3 s`, `500 ms`.
fn human_secs(secs: f64) -> String {
    if secs < 1.0 {
        format!("{} ms", dec(secs * 1000.0))
    } else {
        format!("{} s", dec(secs))
    }
}

/// `4 分 19 秒 / 4 min 19 s (4.32 min)` for a budget in seconds.
fn human_budget(secs: f64) -> String {
    let whole = secs.round() as u64;
    format!(
        "{} 分 {} 秒 / {} min {} s ({} min)",
        whole / 60,
        whole % 60,
        whole / 60,
        whole % 60,
        dec((secs / 60.0 * 100.0).round() / 100.0)
    )
}

/// The budget of a month of `days` days, in seconds.
fn budget_secs(s: &Service, days: u32) -> f64 {
    availability_budget(s) * f64::from(days) * 86_400.0
}

/// The value every service shares, or the strictest (largest) one: a dashboard
/// with a `service` variable can draw only one threshold.
fn strictest(cfg: &Config, f: impl Fn(&Service) -> f64) -> f64 {
    cfg.services.iter().map(f).fold(f64::NAN, f64::max)
}

/// The latency threshold every service shares, or `None` when they differ.
fn common_latency_threshold(cfg: &Config) -> Option<f64> {
    let first = latency_threshold_secs(cfg.services.first()?);
    cfg.services
        .iter()
        .all(|s| latency_threshold_secs(s) == first)
        .then_some(first)
}

fn runbook(cfg: &Config, service: &str, slo: &str) -> String {
    cfg.alerting
        .runbook_url
        .replace("{service}", service)
        .replace("{slo}", slo)
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
fn q_availability(sel: &str) -> String {
    format!(
        "1 - sum_over_time(mimamori:slo_availability_errors{{{sel}}}[$__range]) / sum_over_time(mimamori:service_operating{{{sel}}}[$__range])"
    )
}

/// Failure seconds in the dashboard range, minute by minute (exact whatever the
/// rule evaluation interval, as long as it is at most a minute).
fn q_failure_secs(sel: &str) -> String {
    format!(
        "sum_over_time(avg_over_time(mimamori:slo_availability_errors{{{sel}}}[1m])[$__range:1m]) * 60"
    )
}

/// Share of operations within the latency threshold in the dashboard range.
fn q_latency_share(sel: &str, le: &str, range: &str, by: &str) -> String {
    format!(
        "sum by ({by}) (increase(mimamori_step_duration_seconds_bucket{{{sel},result=\"success\",le=~\"{le}\"}}[{range}])) / sum by ({by}) (increase(mimamori_step_duration_seconds_count{{{sel},result=\"success\"}}[{range}]))"
    )
}

/// [`q_latency_share`] for whichever service `$service` is.
fn q_latency_share_any(cfg: &Config, sel: &str, range: &str, by: &str) -> String {
    per_threshold(cfg, sel, |sel, le| q_latency_share(sel, le, range, by))
}

/// Builds a latency query for whichever service `$service` is: one query when
/// the services share a threshold, else one per service (its selector narrowed
/// to that service and its own `le`) joined with `or`, so only the selected
/// service's part returns data.
fn per_threshold(cfg: &Config, sel: &str, f: impl Fn(&str, &str) -> String) -> String {
    if let Some(t) = common_latency_threshold(cfg) {
        return f(sel, &le_label(t));
    }
    cfg.services
        .iter()
        .map(|s| {
            let sel = format!("{sel},service=\"{}\"", s.name);
            format!("({})", f(&sel, &le_label(latency_threshold_secs(s))))
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

fn q_step_quantile(q: &str, sel: &str) -> String {
    format!(
        "histogram_quantile({q}, sum by (le, transaction, step) (rate(mimamori_step_duration_seconds_bucket{{{sel},result=\"success\"}}[$__rate_interval])))"
    )
}

// ---------------------------------------------------------------------------
// Panel building blocks
// ---------------------------------------------------------------------------

fn ds() -> Value {
    json!({"type": "prometheus", "uid": DS_VAR})
}

/// A range query target.
fn range(expr: impl Into<String>, legend: &str) -> Value {
    json!({
        "datasource": ds(),
        "editorMode": "code",
        "expr": expr.into(),
        "legendFormat": legend,
        "range": true,
        "instant": false,
    })
}

/// An instant query target (stats, tables).
fn instant(expr: impl Into<String>, legend: &str) -> Value {
    json!({
        "datasource": ds(),
        "editorMode": "code",
        "expr": expr.into(),
        "legendFormat": legend,
        "range": false,
        "instant": true,
    })
}

/// A table target: instant, one row per series.
fn table_target(expr: impl Into<String>) -> Value {
    let mut t = instant(expr, "__auto");
    t["format"] = json!("table");
    t
}

fn steps(base: &str, rest: &[(f64, &str)]) -> Value {
    let mut v = vec![json!({"color": base, "value": null})];
    v.extend(rest.iter().map(|(x, c)| json!({"color": c, "value": x})));
    json!({"mode": "absolute", "steps": v})
}

fn value_map(entries: &[(&str, &str, &str)]) -> Value {
    let mut options = serde_json::Map::new();
    for (i, (value, text, color)) in entries.iter().enumerate() {
        options.insert(
            (*value).to_string(),
            json!({"text": text, "color": color, "index": i}),
        );
    }
    json!([{"type": "value", "options": options}])
}

/// 0 = OK, 1 = failing.
fn failing_map() -> Value {
    value_map(&[("0", "正常 / OK", "green"), ("1", "障害 / Failing", "red")])
}

fn reduce_last() -> Value {
    json!({"calcs": ["lastNotNull"], "fields": "", "values": false})
}

fn panel(kind: &str, title: &str, description: &str, targets: Vec<Value>) -> Value {
    let targets: Vec<Value> = targets
        .into_iter()
        .enumerate()
        .map(|(i, mut t)| {
            t["refId"] = json!(ref_id(i));
            t
        })
        .collect();
    json!({
        "type": kind,
        "title": title,
        "description": description,
        "datasource": ds(),
        "targets": targets,
    })
}

fn ref_id(i: usize) -> String {
    char::from(b'A' + u8::try_from(i % 26).expect("i % 26 fits")).to_string()
}

fn stat(
    title: &str,
    description: &str,
    targets: Vec<Value>,
    unit: &str,
    thresholds: Value,
) -> Value {
    let mut p = panel("stat", title, description, targets);
    p["fieldConfig"] = json!({
        "defaults": {"unit": unit, "thresholds": thresholds, "mappings": [], "color": {"mode": "thresholds"}},
        "overrides": [],
    });
    p["options"] = json!({
        "reduceOptions": reduce_last(),
        "colorMode": "background",
        "graphMode": "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "textMode": "auto",
        "showPercentChange": false,
        "wideLayout": true,
    });
    p
}

fn with_decimals(mut p: Value, decimals: u32) -> Value {
    p["fieldConfig"]["defaults"]["decimals"] = json!(decimals);
    p
}

fn with_mappings(mut p: Value, mappings: Value) -> Value {
    p["fieldConfig"]["defaults"]["mappings"] = mappings;
    p
}

fn with_no_value(mut p: Value, text: &str) -> Value {
    p["fieldConfig"]["defaults"]["noValue"] = json!(text);
    p
}

fn with_links(mut p: Value, links: Vec<Value>) -> Value {
    p["links"] = json!(links);
    p
}

fn with_interval(mut p: Value, interval: &str) -> Value {
    p["interval"] = json!(interval);
    p
}

fn gauge(
    title: &str,
    description: &str,
    targets: Vec<Value>,
    unit: &str,
    thresholds: Value,
    max: f64,
) -> Value {
    let mut p = panel("gauge", title, description, targets);
    p["fieldConfig"] = json!({
        "defaults": {
            "unit": unit, "min": 0, "max": max, "thresholds": thresholds,
            "mappings": [], "color": {"mode": "thresholds"},
        },
        "overrides": [],
    });
    p["options"] = json!({
        "reduceOptions": reduce_last(),
        "orientation": "auto",
        "showThresholdLabels": false,
        "showThresholdMarkers": true,
    });
    p
}

fn bargauge(
    title: &str,
    description: &str,
    targets: Vec<Value>,
    unit: &str,
    thresholds: Value,
) -> Value {
    let mut p = panel("bargauge", title, description, targets);
    p["fieldConfig"] = json!({
        "defaults": {
            "unit": unit, "min": 0, "max": 1, "thresholds": thresholds,
            "mappings": [], "color": {"mode": "thresholds"},
        },
        "overrides": [],
    });
    p["options"] = json!({
        "reduceOptions": reduce_last(),
        "displayMode": "gradient",
        "orientation": "horizontal",
        "showUnfilled": true,
        "valueMode": "color",
        "namePlacement": "auto",
        "minVizHeight": 16,
        "minVizWidth": 8,
        "sizing": "auto",
    });
    p
}

/// How a time series panel draws its thresholds.
#[derive(Clone, Copy)]
enum Lines {
    Off,
    Dashed,
    Area,
}

fn timeseries(
    title: &str,
    description: &str,
    targets: Vec<Value>,
    unit: &str,
    thresholds: Value,
    lines: Lines,
) -> Value {
    let mode = match lines {
        Lines::Off => "off",
        Lines::Dashed => "dashed",
        Lines::Area => "line+area",
    };
    let mut p = panel("timeseries", title, description, targets);
    p["fieldConfig"] = json!({
        "defaults": {
            "unit": unit,
            "thresholds": thresholds,
            "mappings": [],
            "color": {"mode": "palette-classic"},
            "custom": {
                "drawStyle": "line",
                "lineInterpolation": "linear",
                "lineWidth": 1,
                "fillOpacity": 10,
                "gradientMode": "none",
                "showPoints": "never",
                "spanNulls": false,
                "axisPlacement": "auto",
                "axisSoftMin": 0,
                "stacking": {"mode": "none", "group": "A"},
                "thresholdsStyle": {"mode": mode},
            },
        },
        "overrides": [],
    });
    p["options"] = json!({
        "legend": {"displayMode": "table", "placement": "bottom", "showLegend": true, "calcs": ["lastNotNull", "max"]},
        "tooltip": {"mode": "multi", "sort": "desc"},
    });
    p
}

fn stacked(mut p: Value) -> Value {
    p["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] = json!("normal");
    p["fieldConfig"]["defaults"]["custom"]["fillOpacity"] = json!(60);
    p
}

fn bars(mut p: Value) -> Value {
    p["fieldConfig"]["defaults"]["custom"]["drawStyle"] = json!("bars");
    p["fieldConfig"]["defaults"]["custom"]["fillOpacity"] = json!(80);
    p
}

fn state_timeline(title: &str, description: &str, targets: Vec<Value>, mappings: Value) -> Value {
    let mut p = panel("state-timeline", title, description, targets);
    p["fieldConfig"] = json!({
        "defaults": {
            "mappings": mappings,
            "thresholds": steps("green", &[(1.0, "red")]),
            "color": {"mode": "thresholds"},
            "custom": {"fillOpacity": 80, "lineWidth": 0},
        },
        "overrides": [],
    });
    p["options"] = json!({
        "mergeValues": true,
        "showValue": "never",
        "alignValue": "left",
        "rowHeight": 0.9,
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
        "tooltip": {"mode": "single", "sort": "none"},
    });
    p
}

fn table(
    title: &str,
    description: &str,
    targets: Vec<Value>,
    hide: &[&str],
    rename: &[(&str, &str)],
) -> Value {
    let mut p = panel("table", title, description, targets);
    let exclude: serde_json::Map<String, Value> = hide
        .iter()
        .map(|c| ((*c).to_string(), json!(true)))
        .collect();
    let names: serde_json::Map<String, Value> = rename
        .iter()
        .map(|(from, to)| ((*from).to_string(), json!(to)))
        .collect();
    p["fieldConfig"] = json!({
        "defaults": {"thresholds": steps("green", &[]), "mappings": [], "custom": {"align": "auto"}},
        "overrides": [],
    });
    p["options"] = json!({"showHeader": true, "cellHeight": "sm", "footer": {"show": false, "reducer": ["sum"], "fields": ""}});
    p["transformations"] = json!([
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": exclude, "renameByName": names, "indexByName": {}}},
    ]);
    p
}

fn text(title: &str, content: String) -> Value {
    json!({
        "type": "text",
        "title": title,
        "options": {"mode": "markdown", "content": content, "code": {"language": "markdown", "showLineNumbers": false, "showMiniMap": false}},
    })
}

fn link(title: &str, url: String, tooltip: &str) -> Value {
    json!({"title": title, "url": url, "targetBlank": false, "tooltip": tooltip})
}

fn service_link(service: &str) -> Value {
    link(
        "サービス詳細 / Service detail",
        format!("/d/{UID_SERVICE}?var-service={service}&${{__url_time_range}}&${{datasource:queryparam}}"),
        "このサービスの詳細ダッシュボード / Detail dashboard of this service",
    )
}

/// Lays panels out left to right in rows of 24 grid units and numbers them:
/// ids follow the order panels are added, so they are stable across runs.
struct Layout {
    panels: Vec<Value>,
    next_id: u32,
    x: u32,
    y: u32,
    line_h: u32,
}

impl Layout {
    fn new() -> Self {
        Layout {
            panels: Vec::new(),
            next_id: 1,
            x: 0,
            y: 0,
            line_h: 0,
        }
    }

    fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn newline(&mut self) {
        if self.x > 0 {
            self.y += self.line_h;
            self.x = 0;
            self.line_h = 0;
        }
    }

    fn row(&mut self, title: &str) {
        self.newline();
        let id = self.id();
        self.panels.push(json!({
            "type": "row",
            "id": id,
            "title": title,
            "collapsed": false,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            "panels": [],
        }));
        self.y += 1;
    }

    fn add(&mut self, w: u32, h: u32, mut p: Value) {
        if self.x + w > 24 {
            self.newline();
        }
        p["id"] = json!(self.id());
        p["gridPos"] = json!({"h": h, "w": w, "x": self.x, "y": self.y});
        self.panels.push(p);
        self.x += w;
        self.line_h = self.line_h.max(h);
    }

    /// Places a panel at column `x`, `dy` below the top of the current line
    /// (a smaller tile under another one), leaving the line's cursor alone.
    fn place(&mut self, x: u32, dy: u32, w: u32, h: u32, mut p: Value) {
        p["id"] = json!(self.id());
        p["gridPos"] = json!({"h": h, "w": w, "x": x, "y": self.y + dy});
        self.panels.push(p);
        self.line_h = self.line_h.max(dy + h);
    }

    fn finish(self) -> Vec<Value> {
        self.panels
    }
}

// ---------------------------------------------------------------------------
// Dashboard frame
// ---------------------------------------------------------------------------

fn datasource_var() -> Value {
    json!({
        "name": "datasource",
        "label": "データソース / Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "options": [],
        "refresh": 1,
        "regex": "",
        "skipUrlSync": false,
    })
}

/// A `label_values(...)` variable.
fn query_var(name: &str, label: &str, query: &str, multi: bool) -> Value {
    let mut v = json!({
        "name": name,
        "label": label,
        "type": "query",
        "datasource": ds(),
        "definition": query,
        "query": {"query": query, "refId": format!("{name}-variable")},
        "current": {},
        "hide": 0,
        "includeAll": multi,
        "multi": multi,
        "options": [],
        "refresh": 2,
        "regex": "",
        "skipUrlSync": false,
        "sort": 1,
    });
    if multi {
        v["allValue"] = json!(".+");
    }
    v
}

fn builtin_annotation() -> Value {
    json!({
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": true,
        "hide": true,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    })
}

fn prom_annotation(
    name: &str,
    expr: String,
    color: &str,
    title: &str,
    text: &str,
    tags: &str,
) -> Value {
    json!({
        "datasource": ds(),
        "enable": true,
        "hide": false,
        "iconColor": color,
        "name": name,
        "expr": expr,
        "step": "1m",
        "titleFormat": title,
        "textFormat": text,
        "tagKeys": tags,
        "useValueForTime": false,
    })
}

fn annotations(service_sel: &str) -> Value {
    json!({"list": [
        builtin_annotation(),
        prom_annotation(
            "メンテナンス / Maintenance",
            format!("max by (service) (mimamori:maintenance_active{{{service_sel}}}) == 1"),
            "blue",
            "計画メンテナンス中 / Planned maintenance",
            "{{service}}",
            "service",
        ),
        prom_annotation(
            "発報したアラート / Fired alerts",
            format!("ALERTS{{alertstate=\"firing\",{service_sel}}}"),
            "red",
            "{{alertname}}",
            "{{service}} {{slo}} ({{severity}})",
            "service,slo,severity",
        ),
    ]})
}

fn dashboard_links() -> Value {
    json!([{
        "title": "mimamori",
        "type": "dashboards",
        "tags": [TAG],
        "asDropdown": false,
        "includeVars": false,
        "keepTime": true,
        "targetBlank": false,
        "icon": "external link",
        "tooltip": "",
        "url": "",
    }])
}

struct Frame<'a> {
    uid: &'a str,
    title: &'a str,
    description: &'a str,
    tags: &'a [&'a str],
    from: &'a str,
    variables: Vec<Value>,
    annotations: Value,
    links: Value,
    panels: Vec<Value>,
}

fn frame(f: Frame<'_>) -> Value {
    let mut tags = vec![TAG];
    tags.extend_from_slice(f.tags);
    let mut variables = vec![datasource_var()];
    variables.extend(f.variables);
    json!({
        "id": null,
        "uid": f.uid,
        "title": f.title,
        "description": f.description,
        "tags": tags,
        "timezone": TIMEZONE,
        "weekStart": "monday",
        "fiscalYearStartMonth": 0,
        "editable": true,
        "graphTooltip": 1,
        "liveNow": false,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": f.from, "to": "now"},
        "timepicker": {},
        "templating": {"list": variables},
        "annotations": f.annotations,
        "links": f.links,
        "panels": f.panels,
    })
}

// ---------------------------------------------------------------------------
// SLO overview
// ---------------------------------------------------------------------------

fn overview(cfg: &Config) -> Value {
    let mut l = Layout::new();
    l.add(24, 4, text("目標 / Objectives", objectives_markdown(cfg)));
    for s in &cfg.services {
        overview_service_row(cfg, s, &mut l);
    }

    l.row("全サービス / All services");
    l.add(
        24,
        8,
        state_timeline(
            "サービスの状態 / Service status",
            "過半数の拠点で失敗している時間が障害時間です（1 拠点だけの失敗は数えません）。/ A service is failing when a quorum of locations sees it failing; one location alone does not count.",
            vec![
                range("max by (service) (mimamori:service_failing)", "{{service}}"),
            ],
            failing_map(),
        ),
    );
    l.add(
        8,
        8,
        with_mappings(
            stat(
                "メンテナンス中 / Maintenance now",
                "告知済みの計画メンテナンス中のサービス（稼働時間から除外）。/ Services inside an announced planned window (left out of operating time).",
                vec![instant("max by (service) (mimamori:maintenance_active)", "{{service}}")],
                "none",
                steps("green", &[(1.0, "blue")]),
            ),
            value_map(&[
                ("0", "通常 / Normal", "green"),
                ("1", "メンテナンス中 / Maintenance", "blue"),
            ]),
        ),
    );
    l.add(
        16,
        8,
        text(
            "計画メンテナンス / Planned maintenance",
            maintenance_markdown(cfg),
        ),
    );

    frame(Frame {
        uid: UID_OVERVIEW,
        title: "mimamori SLO 概要 / SLO overview",
        description: "今月（日本時間）の稼働率とエラーバジェット、全サービス / This calendar month (Asia/Tokyo) so far, every service",
        tags: &["slo", "overview"],
        from: "now/M",
        variables: Vec::new(),
        annotations: annotations("service!=\"\""),
        links: dashboard_links(),
        panels: l.finish(),
    })
}

fn overview_service_row(cfg: &Config, s: &Service, l: &mut Layout) {
    let name = &s.name;
    let sel = format!("service=\"{name}\"");
    let avail = availability_ratio(s);
    let budget = availability_budget(s);
    let threshold = latency_threshold_secs(s);
    let le = le_label(threshold);
    let pct = dec(s.objectives.availability);
    let links = vec![
        service_link(name),
        link(
            "ランブック（可用性）/ Runbook (availability)",
            runbook(cfg, name, "availability"),
            "",
        ),
        link(
            "ランブック（応答時間）/ Runbook (latency)",
            runbook(cfg, name, "latency"),
            "",
        ),
    ];
    let month_total = format!("{} * {MONTH_SECS}", dec(budget));

    l.row(&format!(
        "{} / {} ({name})",
        s.display_name.ja, s.display_name.en
    ));
    l.add(
        5,
        6,
        with_links(
            with_decimals(
                stat(
                    &format!("今月の稼働率 / Availability this month (目標 / objective {pct} %)"),
                    &format!(
                        "(稼働時間 − 障害時間) ÷ 稼働時間。告知済みの計画メンテナンスは稼働時間に含めません。目標 {pct} %。/ (operating time − failure time) ÷ operating time, announced maintenance left out of operating time. Objective {pct} %."
                    ),
                    vec![instant(q_availability(&sel), "稼働率 / Availability")],
                    "percentunit",
                    steps("red", &[(avail, "green")]),
                ),
                3,
            ),
            links.clone(),
        ),
    );
    l.add(
        6,
        6,
        with_links(
            stat(
                "残りエラーバジェット / Error budget left",
                &format!(
                    "今月の許容障害時間（{pct} %: 28 日 {}、30 日 {}、31 日 {}）から今月の障害時間を引いた残り。/ The month's allowed failure time minus this month's failure time.",
                    human_budget(budget_secs(s, 28)),
                    human_budget(budget_secs(s, 30)),
                    human_budget(budget_secs(s, 31)),
                ),
                vec![
                    instant(
                        format!("{month_total} - {}", q_failure_secs(&sel)),
                        "残り / Left",
                    ),
                    instant(format!("vector({month_total})"), "今月の総量 / Month's budget"),
                ],
                "dtdurations",
                steps("red", &[(0.0, "orange"), (budget_secs(s, 28) / 4.0, "green")]),
            ),
            links.clone(),
        ),
    );
    l.add(
        4,
        6,
        gauge(
            "バジェット消費率 / Budget spent",
            "今月の障害時間 ÷ 今月の許容障害時間 / This month's failure time ÷ the month's allowed failure time",
            vec![instant(
                format!("{} / ({month_total})", q_failure_secs(&sel)),
                "消費 / Spent",
            )],
            "percentunit",
            steps("green", &[(0.5, "orange"), (1.0, "red")]),
            1.0,
        ),
    );
    l.add(
        5,
        6,
        with_links(
            with_decimals(
                stat(
                    &format!(
                        "{} 以内の割合 / Share within {} (目標 / objective {} %)",
                        human_secs(threshold),
                        human_secs(threshold),
                        dec(s.objectives.latency.target)
                    ),
                    &format!(
                        "今月、成功した操作のうち {} 以内に応答した割合。目標 {} %。/ Share of this month's successful operations answered within {}.",
                        human_secs(threshold),
                        dec(s.objectives.latency.target),
                        human_secs(threshold),
                    ),
                    vec![instant(
                        q_latency_share(&sel, &le, "$__range", "service"),
                        "応答時間 / Latency",
                    )],
                    "percentunit",
                    steps("red", &[(latency_ratio(s), "green")]),
                ),
                2,
            ),
            links.clone(),
        ),
    );
    l.add(
        4,
        3,
        with_links(
            with_mappings(
                stat(
                    "現在の状態 / Status now",
                    "障害 = 過半数の拠点で失敗。メンテナンス中は稼働時間外。/ Failing = a quorum of locations fails. Maintenance is not operating time.",
                    vec![instant(
                        format!(
                            "max(mimamori:service_failing{{{sel}}}) + 2 * max(mimamori:maintenance_active{{{sel}}})"
                        ),
                        "状態 / Status",
                    )],
                    "none",
                    steps("green", &[(1.0, "red"), (2.0, "blue")]),
                ),
                value_map(&[
                    ("0", "正常 / OK", "green"),
                    ("1", "障害 / Failing", "red"),
                    ("2", "メンテナンス / Maintenance", "blue"),
                    ("3", "メンテナンス / Maintenance", "blue"),
                ]),
            ),
            vec![service_link(name)],
        ),
    );
    // Under "status now".
    let mut by_location = with_mappings(
        stat(
            "拠点別 / By location",
            "各拠点から見た状態 / Status as each location sees it",
            vec![instant(
                format!("max by (location) (mimamori:location_failing{{{sel}}})"),
                "{{location}}",
            )],
            "none",
            steps("green", &[(1.0, "red")]),
        ),
        failing_map(),
    );
    by_location["options"]["textMode"] = json!("value_and_name");
    l.place(20, 3, 4, 3, by_location);
}

fn objectives_markdown(cfg: &Config) -> String {
    let mut md = String::from(
        "| サービス / Service | 稼働率目標 / Availability | 許容障害時間 / Budget (30 日 / days) | 応答時間目標 / Latency |\n|---|---|---|---|\n",
    );
    for s in &cfg.services {
        let t = human_secs(latency_threshold_secs(s));
        md.push_str(&format!(
            "| [{ja} / {en}](/d/{UID_SERVICE}?var-service={name}) | 月間 {pct} % 以上 / ≥ {pct} % monthly | {budget} | {target} % の操作が {t} 以内 / {target} % of operations within {t} |\n",
            ja = s.display_name.ja,
            en = s.display_name.en,
            name = s.name,
            pct = dec(s.objectives.availability),
            budget = human_budget(budget_secs(s, 30)),
            target = dec(s.objectives.latency.target),
        ));
    }
    md.push_str("\n稼働率 = (稼働時間 − 障害時間) ÷ 稼働時間（告知済みの計画メンテナンスを除く、日本時間の暦月）/ Availability = (operating − failure time) ÷ operating time, announced maintenance excluded, calendar month in Asia/Tokyo.\n");
    md
}

fn maintenance_markdown(cfg: &Config) -> String {
    let months = cfg.global.maintenance_notice_months;
    if cfg.maintenance.is_empty() {
        return "設定された計画メンテナンスはありません。/ No maintenance windows configured.\n"
            .into();
    }
    let mut windows: Vec<&MaintenanceWindow> = cfg.maintenance.iter().collect();
    windows.sort_by_key(|w| w.start);
    let mut md = String::from(
        "| 開始 / Start (JST) | 終了 / End (JST) | サービス / Services | 内容 / What | 告知 / Announced | 扱い / Counts as |\n|---|---|---|---|---|---|\n",
    );
    for w in windows {
        let services: Vec<String> = w
            .services
            .iter()
            .map(|n| match cfg.service(n) {
                Some(s) => format!("{} / {}", s.display_name.ja, s.display_name.en),
                None => n.clone(),
            })
            .collect();
        let counts = if w.announced_in_time(months) {
            "計画停止 / planned".to_string()
        } else {
            format!("告知が {months} か月前より遅いため稼働時間（停止は障害時間）/ announced less than {months} months ahead: operating time, an outage counts as failure")
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} / {} | {} ({}) | {} |\n",
            jst(&w.start),
            jst(&w.end),
            services.join(", "),
            w.title.ja,
            w.title.en,
            jst(&w.announced_at),
            w.announced_via,
            counts,
        ));
    }
    md
}

// ---------------------------------------------------------------------------
// Service detail
// ---------------------------------------------------------------------------

fn service_detail(cfg: &Config, burn: &[BurnThreshold]) -> Value {
    let sel = "service=\"$service\"";
    let loc_sel = "service=\"$service\",location=~\"$location\"";
    let avail = strictest(cfg, availability_ratio);
    let latency_target = strictest(cfg, latency_ratio);
    let mut l = Layout::new();

    l.row("エラーバジェット / Error budget");
    l.add(
        12,
        8,
        with_interval(
            timeseries(
                "今月のエラーバジェット残り / Error budget left this month",
                "期間の始め（既定: 今月 1 日 0 時 JST）を 100 % とし、可用性は障害時間の分（今月の許容障害時間に対して）、応答時間は目標時間を超えた操作の割合の分だけ減ります。0 % で今月の目標を割ります。/ 100 % at the start of the range (default: the 1st of this month, 00:00 JST). Availability goes down with failure time against the month's allowed failure time; latency with the share of operations over the threshold. At 0 % the month misses its objective.",
                vec![range(
                    format!(
                        "1 - sum_over_time((avg_over_time(mimamori:slo_availability_errors{{{sel}}}[$__interval]) and on() (vector(time()) >= $__from / 1000))[$__range:$__interval]) * ($__interval_ms / 1000) / on(service) (max by (service) (mimamori:slo_error_budget:ratio{{{sel},slo=\"availability\"}}) * {MONTH_SECS})"
                    ),
                    "可用性バジェット残り / Availability budget left",
                ),
                range(
                    per_threshold(cfg, sel, |sel, le| {
                        format!(
                            "1 - (1 - {} / {}) / scalar(max(mimamori:slo_error_budget:ratio{{{sel},slo=\"latency\"}}))",
                            q_since_from(&format!("mimamori_step_duration_seconds_bucket{{{sel},result=\"success\",le=~\"{le}\"}}")),
                            q_since_from(&format!("mimamori_step_duration_seconds_count{{{sel},result=\"success\"}}")),
                        )
                    }),
                    "応答時間バジェット残り / Latency budget left",
                )],
                "percentunit",
                steps("red", &[(0.0, "orange"), (0.25, "green")]),
                Lines::Area,
            ),
            "1m",
        ),
    );
    l.add(
        4,
        4,
        with_decimals(
            stat(
                "期間の稼働率 / Availability in range",
                "(稼働時間 − 障害時間) ÷ 稼働時間、計画メンテナンス除外 / (operating − failure time) ÷ operating time, maintenance excluded",
                vec![instant(q_availability(sel), "稼働率 / Availability")],
                "percentunit",
                steps("red", &[(avail, "green")]),
            ),
            3,
        ),
    );
    l.add(
        4,
        4,
        stat(
            "期間の障害時間 / Failure time in range",
            "過半数の拠点で失敗し、かつ稼働時間だった時間 / Time failing from a quorum of locations while operating",
            vec![instant(q_failure_secs(sel), "障害時間 / Failure time")],
            "dtdurations",
            steps("green", &[(1.0, "orange")]),
        ),
    );
    l.add(
        4,
        4,
        with_decimals(
            stat(
                "30 日間のバジェット残り / Budget left, rolling 30 d",
                "直近 30 日間（暦月ではなく移動窓）/ Over the last 30 days (rolling, not the calendar month)",
                vec![instant(
                    format!("mimamori:slo_error_budget_remaining:ratio30d{{{sel}}}"),
                    "{{slo}}",
                )],
                "percentunit",
                steps("red", &[(0.0, "orange"), (0.25, "green")]),
            ),
            1,
        ),
    );
    // Under the three small stats.
    let lat_threshold = common_latency_threshold(cfg);
    l.place(
        12,
        4,
        12,
        4,
        with_decimals(
            stat(
                "期間の応答時間達成率 / Latency objective met in range",
                "成功した操作のうち目標時間以内の割合 / Share of successful operations within the threshold",
                vec![instant(
                    q_latency_share_any(cfg, sel, "$__range", "service"),
                    "応答時間 / Latency",
                )],
                "percentunit",
                steps("red", &[(latency_target, "green")]),
            ),
            2,
        ),
    );

    l.row("バーンレート / Burn rate");
    for p in burn_panels(burn) {
        l.add(8, 7, p);
    }

    l.row("可用性 / Availability");
    l.add(
        24,
        8,
        state_timeline(
            "拠点別の状態 / Status by location",
            "サービス = 過半数の拠点で失敗（障害時間）。拠点 = その拠点から見た失敗。/ Service = a quorum fails (failure time); a location = what that location sees.",
            vec![
                range(
                    format!("max by (service) (mimamori:service_failing{{{sel}}})"),
                    "サービス / Service",
                ),
                range(
                    format!("max by (location) (mimamori:location_failing{{{loc_sel}}})"),
                    "{{location}}",
                ),
            ],
            failing_map(),
        ),
    );
    l.add(
        12,
        8,
        stacked(bars(with_interval(
            timeseries(
                "失敗理由別の失敗回数 / Failed runs by reason",
                "拠点と理由ごとの失敗した実行の数 / Failed runs per location and reason",
                vec![range(
                    format!(
                        "sum by (reason, location) (increase(mimamori_probe_failures_total{{{loc_sel}}}[$__interval]))"
                    ),
                    "{{reason}} @ {{location}}",
                )],
                "short",
                steps("green", &[]),
                Lines::Off,
            ),
            "1m",
        ))),
    );
    l.add(
        12,
        8,
        table(
            "期間の失敗の内訳 / Failures in range",
            "理由・拠点・取引ごとの失敗回数 / Failed runs by reason, location and transaction",
            vec![table_target(format!(
                "sum by (reason, location, transaction) (increase(mimamori_probe_failures_total{{{loc_sel}}}[$__range])) > 0"
            ))],
            &["Time"],
            &[
                ("reason", "理由 / Reason"),
                ("location", "拠点 / Location"),
                ("transaction", "取引 / Transaction"),
                ("Value", "回数 / Runs"),
            ],
        ),
    );

    l.row("応答時間 / Latency");
    let (threshold_steps, threshold_title) = match lat_threshold {
        Some(t) => (
            steps("green", &[(t, "red")]),
            format!("（線 = {} / line = {}）", human_secs(t), human_secs(t)),
        ),
        None => (steps("green", &[]), String::new()),
    };
    let quantiles: Vec<Value> = [("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99")]
        .iter()
        .map(|(q, name)| {
            range(
                q_step_quantile(q, loc_sel),
                &format!("{name} {{{{transaction}}}} / {{{{step}}}}"),
            )
        })
        .collect();
    l.add(
        12,
        9,
        timeseries(
            &format!("操作ごとの応答時間 / Response time per operation {threshold_title}"),
            "成功した操作の p50 / p90 / p99（全拠点）/ p50 / p90 / p99 of successful operations, all selected locations",
            quantiles,
            "s",
            threshold_steps.clone(),
            Lines::Dashed,
        ),
    );
    let share_title = match lat_threshold {
        Some(t) => format!(
            "{} 以内の割合 / Share within {}",
            human_secs(t),
            human_secs(t)
        ),
        None => "目標時間以内の割合 / Share within the threshold".to_string(),
    };
    l.add(
        12,
        9,
        timeseries(
            &format!("{share_title}（操作ごと / per operation）"),
            "成功した操作のうち目標時間以内に応答した割合。線 = 目標。/ Share of successful operations within the threshold; the line is the objective.",
            vec![range(
                q_latency_share_any(cfg, loc_sel, "$__rate_interval", "transaction, step"),
                "{{transaction}} / {{step}}",
            )],
            "percentunit",
            steps("red", &[(latency_target, "green")]),
            Lines::Dashed,
        ),
    );
    l.add(
        12,
        7,
        bargauge(
            &format!("期間の{share_title}"),
            "期間全体、操作ごと / Whole range, per operation",
            vec![instant(
                q_latency_share_any(cfg, loc_sel, "$__range", "transaction, step"),
                "{{transaction}} / {{step}}",
            )],
            "percentunit",
            steps("red", &[(latency_target, "green")]),
        ),
    );
    l.add(
        12,
        7,
        timeseries(
            "取引全体の所要時間 / Whole transaction duration",
            "ログインから最後の操作まで（成功・失敗別）/ From log-in to the last operation, by result",
            vec![
                range(
                    format!(
                        "histogram_quantile(0.5, sum by (le, transaction, result) (rate(mimamori_probe_duration_seconds_bucket{{{loc_sel}}}[$__rate_interval])))"
                    ),
                    "p50 {{transaction}} ({{result}})",
                ),
                range(
                    format!(
                        "histogram_quantile(0.99, sum by (le, transaction, result) (rate(mimamori_probe_duration_seconds_bucket{{{loc_sel}}}[$__rate_interval])))"
                    ),
                    "p99 {{transaction}} ({{result}})",
                ),
            ],
            "s",
            steps("green", &[]),
            Lines::Off,
        ),
    );

    l.row("フェーズ内訳 / Phase breakdown");
    let mut phases = stacked(timeseries(
        "フェーズ内訳 / Phases: $step",
        "最新の実行の名前解決・接続・TLS・処理・転送（拠点の平均）/ resolve, connect, tls, processing and transfer of the latest run (mean over locations)",
        vec![range(
            format!(
                "avg by (phase) (mimamori_step_phase_seconds{{{loc_sel},step=~\"$step\"}})"
            ),
            "{{phase}}",
        )],
        "s",
        threshold_steps,
        Lines::Dashed,
    ));
    phases["repeat"] = json!("step");
    phases["repeatDirection"] = json!("h");
    phases["maxPerRow"] = json!(3);
    l.add(8, 8, phases);

    l.row("TLS");
    l.add(
        12,
        6,
        table(
            "TLS バージョン / TLS version",
            "拠点ごとに交渉された TLS バージョン（TLS 1.2 未満は無効のはず）/ Negotiated TLS version per location (below 1.2 must be refused)",
            vec![table_target(format!(
                "max by (location, transaction, version) (mimamori_tls_version_info{{{loc_sel}}})"
            ))],
            &["Time", "Value"],
            &[
                ("location", "拠点 / Location"),
                ("transaction", "取引 / Transaction"),
                ("version", "TLS"),
            ],
        ),
    );
    l.add(
        12,
        6,
        with_no_value(
            stat(
                "証明書の残り日数 / Certificate days left",
                "最も早く期限が来る証明書まで / Until the earliest certificate expiry",
                vec![instant(
                    format!(
                        "(min by (location) (mimamori_tls_certificate_expiry_timestamp_seconds{{{loc_sel}}}) - time()) / 86400"
                    ),
                    "{{location}}",
                )],
                "d",
                steps("red", &[(14.0, "orange"), (30.0, "green")]),
            ),
            "TLS 情報なし / no TLS facts",
        ),
    );

    frame(Frame {
        uid: UID_SERVICE,
        title: "mimamori サービス詳細 / Service detail",
        description: "1 サービスのバジェット、バーンレート、拠点別の状態、応答時間 / One service: budget, burn rates, status per location, latency",
        tags: &["slo", "service"],
        from: "now/M",
        variables: service_variables(cfg),
        annotations: annotations("service=\"$service\""),
        links: {
            let mut links = dashboard_links();
            let arr = links.as_array_mut().expect("dashboard_links is an array");
            for slo in ["availability", "latency"] {
                arr.push(json!({
                    "title": format!("ランブック / Runbook ({slo})"),
                    "type": "link",
                    "url": runbook(cfg, "${service}", slo),
                    "icon": "doc",
                    "tooltip": "",
                    "targetBlank": true,
                    "asDropdown": false,
                    "includeVars": false,
                    "keepTime": false,
                    "tags": [],
                }));
            }
            links
        },
        panels: l.finish(),
    })
}

/// One panel per objective and window pair, both windows' burn rates of
/// `$service` with the alert's threshold: a dashed line when every service
/// shares it, else a threshold series that follows `$service`.
fn burn_panels(burn: &[BurnThreshold]) -> Vec<Value> {
    let mut pairs: Vec<(&str, &str, &str)> = Vec::new();
    for b in burn {
        if !pairs.contains(&(b.slo, b.long, b.short)) {
            pairs.push((b.slo, b.long, b.short));
        }
    }
    pairs
        .into_iter()
        .map(|(slo, long, short)| {
            let of_pair: Vec<&BurnThreshold> = burn
                .iter()
                .filter(|b| (b.slo, b.long, b.short) == (slo, long, short))
                .collect();
            let first = of_pair[0];
            let uniform = of_pair.iter().all(|b| b.burn == first.burn);
            let severities: Vec<&str> = {
                let mut v: Vec<&str> = of_pair.iter().map(|b| b.severity).collect();
                v.dedup();
                v
            };
            let (slo_ja, slo_en) = match slo {
                "availability" => ("可用性", "Availability"),
                _ => ("応答時間", "Latency"),
            };
            let sel = format!("service=\"$service\",slo=\"{slo}\"");
            let mut targets = vec![
                range(format!("mimamori:slo_burn_rate:{long}{{{sel}}}"), long),
                range(format!("mimamori:slo_burn_rate:{short}{{{sel}}}"), short),
            ];
            let threshold_text = if uniform {
                format!("{}×", dec(first.burn))
            } else {
                targets.push(range(
                    of_pair
                        .iter()
                        .map(|b| {
                            format!(
                                "(vector({}) and on() count(mimamori:slo_objective:ratio{{service=\"$service\",service=\"{}\",slo=\"{slo}\"}}))",
                                dec(b.burn),
                                b.service
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" or "),
                    "閾値 / threshold",
                ));
                "サービスごと / per service".to_string()
            };
            let severity = severities.join("/");
            let thresholds = if uniform {
                steps("green", &[(first.burn, "red")])
            } else {
                steps("green", &[])
            };
            timeseries(
                &format!("{slo_ja}バーンレート / {slo_en} burn rate {long} & {short} ({severity} ≥ {threshold_text})"),
                &format!(
                    "{long} と {short} の両方が閾値以上で {severity} を出します。1× = 期間でちょうどバジェットを使い切る速さ。/ Both the {long} and the {short} window at or above the threshold raise a {severity}. 1× spends exactly the budget over the period."
                ),
                targets,
                "suffix:×",
                thresholds,
                if uniform { Lines::Dashed } else { Lines::Off },
            )
        })
        .collect()
}

fn service_variables(cfg: &Config) -> Vec<Value> {
    let mut service = query_var(
        "service",
        "サービス / Service",
        "label_values(mimamori_probe_success, service)",
        false,
    );
    if let Some(first) = cfg.services.first() {
        service["current"] = json!({"selected": true, "text": first.name, "value": first.name});
    }
    vec![
        service,
        query_var(
            "location",
            "拠点 / Location",
            "label_values(mimamori_probe_success{service=\"$service\"}, location)",
            true,
        ),
        query_var(
            "step",
            "操作 / Operation",
            "label_values(mimamori_step_phase_seconds{service=\"$service\"}, step)",
            true,
        ),
    ]
}

// ---------------------------------------------------------------------------
// Probers
// ---------------------------------------------------------------------------

fn probers(cfg: &Config) -> Value {
    let expected = cfg.alerting.locations.len();
    let mut l = Layout::new();

    l.row("拠点 / Locations");
    let thresholds = if expected > 0 {
        steps("red", &[(expected as f64, "green")])
    } else {
        steps("red", &[(1.0, "green")])
    };
    let expected_text = if expected > 0 {
        format!("設定上の拠点数 {expected}。/ {expected} locations are configured.")
    } else {
        "設定で拠点を指定していません。/ No locations configured.".into()
    };
    l.add(
        6,
        6,
        stat(
            "報告中の拠点 / Locations reporting",
            &format!("いま指標を送っている拠点の数。{expected_text} / Locations whose probes are scraped now."),
            vec![instant(
                "count(count by (location) (mimamori_probe_success))",
                "拠点 / Locations",
            )],
            "none",
            thresholds,
        ),
    );
    l.add(
        18,
        6,
        table(
            "拠点ごとの報告 / Reports per location",
            "取引数と最後の取り込みからの秒数 / Transactions and seconds since the last scrape",
            vec![
                table_target("count by (location, instance) (mimamori_probe_success)"),
                table_target(
                    "time() - max by (location, instance) (timestamp(mimamori_probe_success))",
                ),
            ],
            &["Time"],
            &[
                ("location", "拠点 / Location"),
                ("instance", "インスタンス / Instance"),
                ("Value #A", "取引数 / Transactions"),
                ("Value #B", "最終取り込みからの秒数 / Seconds since scrape"),
            ],
        ),
    );
    l.add(
        12,
        7,
        with_interval(
            timeseries(
                "拠点ごとの成功率 / Success rate per location",
                "拠点ごとの成功した実行の割合。1 拠点だけ低いなら拠点側のネットワークを疑う。/ Share of successful runs per location; one low location points at that prober's network.",
                vec![range(
                    "sum by (location) (rate(mimamori_probe_duration_seconds_count{result=\"success\"}[$__rate_interval])) / sum by (location) (rate(mimamori_probe_duration_seconds_count[$__rate_interval]))",
                    "{{location}}",
                )],
                "percentunit",
                steps("green", &[]),
                Lines::Off,
            ),
            "1m",
        ),
    );
    l.add(
        12,
        7,
        with_interval(
            timeseries(
                "拠点ごとの実行回数 / Runs per minute per location",
                "拠点ごとの 1 分あたりの実行回数 / Completed runs per minute per location",
                vec![range(
                    "sum by (location) (rate(mimamori_probe_duration_seconds_count[$__rate_interval])) * 60",
                    "{{location}}",
                )],
                "short",
                steps("green", &[]),
                Lines::Off,
            ),
            "1m",
        ),
    );

    l.row("スケジューラ / Scheduler");
    l.add(
        12,
        7,
        timeseries(
            "スケジュール遅延 / Scheduling lag",
            "予定時刻から実行開始までの遅れ（p50 / p99）/ Delay from the planned start to the actual start",
            vec![
                range(
                    "histogram_quantile(0.5, sum by (le, instance) (rate(mimamori_scheduler_lag_seconds_bucket[$__rate_interval])))",
                    "p50 {{instance}}",
                ),
                range(
                    "histogram_quantile(0.99, sum by (le, instance) (rate(mimamori_scheduler_lag_seconds_bucket[$__rate_interval])))",
                    "p99 {{instance}}",
                ),
            ],
            "s",
            steps("green", &[]),
            Lines::Off,
        ),
    );
    l.add(
        12,
        7,
        stacked(bars(with_interval(
            timeseries(
                "スキップされた実行 / Skipped runs",
                "予定どおりに始められなかった実行（前回がまだ終わっていない等）/ Runs that could not start on time",
                vec![range(
                    "sum by (location, service, transaction) (increase(mimamori_runs_skipped_total[$__interval])) > 0",
                    "{{service}} / {{transaction}} @ {{location}}",
                )],
                "short",
                steps("green", &[]),
                Lines::Off,
            ),
            "1m",
        ))),
    );

    l.row("設定と版 / Configuration and version");
    l.add(
        8,
        6,
        with_mappings(
            stat(
                "設定の再読み込み / Config reload",
                "最後の再読み込みが成功したか（失敗時は古い設定のまま動作）/ Whether the last reload succeeded (on failure the old configuration keeps running)",
                vec![instant(
                    "min by (instance) (mimamori_config_last_reload_successful)",
                    "{{instance}}",
                )],
                "none",
                steps("red", &[(1.0, "green")]),
            ),
            value_map(&[
                ("0", "失敗 / Failed", "red"),
                ("1", "成功 / OK", "green"),
            ]),
        ),
    );
    l.add(
        8,
        6,
        stat(
            "最後に成功した再読み込み / Last successful reload",
            "最後に設定を読み込めてからの時間 / Time since the configuration last loaded",
            vec![instant(
                "time() - max by (instance) (mimamori_config_last_reload_success_timestamp_seconds)",
                "{{instance}}",
            )],
            "dtdurations",
            steps("green", &[]),
        ),
    );
    l.add(
        8,
        6,
        table(
            "バージョン / Version",
            "各インスタンスの mimamori のバージョン / mimamori version per instance",
            vec![table_target(
                "max by (instance, version) (mimamori_build_info)",
            )],
            &["Time", "Value"],
            &[
                ("instance", "インスタンス / Instance"),
                ("version", "バージョン / Version"),
            ],
        ),
    );
    l.add(
        24,
        6,
        timeseries(
            "スクレイプ / Scrape up",
            "Prometheus から見た各 mimamori の up / `up` of each mimamori target",
            vec![range(
                "max by (instance, job) (up and on(instance, job) mimamori_build_info)",
                "{{job}} {{instance}}",
            )],
            "none",
            steps("red", &[(1.0, "green")]),
            Lines::Off,
        ),
    );

    frame(Frame {
        uid: UID_PROBERS,
        title: "mimamori プローバー / Probers",
        description: "どの拠点が報告しているか、スケジューラ、設定の再読み込み / Which locations report, the scheduler, configuration reloads",
        tags: &["probers"],
        from: "now-6h",
        variables: Vec::new(),
        annotations: annotations("service!=\"\""),
        links: dashboard_links(),
        panels: l.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aoulu() -> Config {
        crate::config::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/aoulu.yaml"
        )))
        .expect("the shipped config loads")
    }

    fn parsed(cfg: &Config) -> Vec<Value> {
        dashboards(cfg)
            .iter()
            .map(|(_, s)| serde_json::from_str(s).unwrap())
            .collect()
    }

    #[test]
    fn decimals_have_no_binary_noise() {
        assert_eq!(dec(1.0 - 0.9999), "0.0001");
        assert_eq!(dec((100.0 - 99.99) / 100.0), "0.0001");
        assert_eq!(clean(99.99 / 100.0), 0.9999);
        assert_eq!(dec(14.4), "14.4");
        assert_eq!(dec(3.0), "3");
        assert_eq!(le_label(3.0), r"3|3\\.0");
        assert_eq!(le_label(2.5), r"2\\.5");
    }

    #[test]
    fn the_month_budget_matches_the_seed() {
        let cfg = aoulu();
        let s = &cfg.services[0];
        assert!((budget_secs(s, 30) - 259.2).abs() < 1e-9, "4.32 min");
        assert!(human_budget(budget_secs(s, 30)).contains("(4.32 min)"));
        assert!(human_budget(budget_secs(s, 31)).contains("(4.46 min)"));
        assert!(human_budget(budget_secs(s, 28)).contains("(4.03 min)"));
    }

    #[test]
    fn paths_and_uids_are_stable() {
        let cfg = aoulu();
        let out = dashboards(&cfg);
        let paths: Vec<&str> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "dashboards/mimamori-slo-overview.json",
                "dashboards/mimamori-service.json",
                "dashboards/mimamori-probers.json"
            ]
        );
        for ((path, text), d) in out.iter().zip(parsed(&cfg)) {
            assert!(text.ends_with("}\n"));
            assert_eq!(
                path,
                &format!("dashboards/{}.json", d["uid"].as_str().unwrap())
            );
            assert_eq!(d["timezone"], "Asia/Tokyo");
            assert!(d["tags"].as_array().unwrap().contains(&json!("mimamori")));
            assert_eq!(d["templating"]["list"][0]["name"], "datasource");
            assert_eq!(d["templating"]["list"][0]["query"], "prometheus");
        }
        assert_eq!(dashboards(&cfg), out, "same config, same bytes");
    }

    #[test]
    fn panel_ids_are_unique_and_every_panel_uses_the_variable_datasource() {
        for d in parsed(&aoulu()) {
            let mut ids = std::collections::HashSet::new();
            for p in d["panels"].as_array().unwrap() {
                assert!(
                    ids.insert(p["id"].as_u64().unwrap()),
                    "duplicate id in {}",
                    d["uid"]
                );
                let g = &p["gridPos"];
                assert!(g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24);
                for t in p["targets"].as_array().into_iter().flatten() {
                    assert_eq!(t["datasource"]["uid"], "${datasource}");
                }
            }
        }
    }

    #[test]
    fn panels_do_not_overlap() {
        for d in parsed(&aoulu()) {
            let rects: Vec<(u64, u64, u64, u64, &str)> = d["panels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let g = &p["gridPos"];
                    let n = |k: &str| g[k].as_u64().unwrap();
                    (n("x"), n("y"), n("w"), n("h"), p["title"].as_str().unwrap())
                })
                .collect();
            for (i, a) in rects.iter().enumerate() {
                for b in &rects[i + 1..] {
                    let apart = a.0 + a.2 <= b.0
                        || b.0 + b.2 <= a.0
                        || a.1 + a.3 <= b.1
                        || b.1 + b.3 <= a.1;
                    assert!(apart, "{}: '{}' overlaps '{}'", d["uid"], a.4, b.4);
                }
            }
        }
    }

    #[test]
    fn no_location_is_written_into_a_dashboard() {
        let cfg = aoulu();
        assert!(!cfg.alerting.locations.is_empty());
        for (path, text) in dashboards(&cfg) {
            for loc in cfg.alerting.locations.iter().chain([&cfg.global.location]) {
                assert!(!text.contains(loc.as_str()), "{path} names location {loc}");
            }
        }
    }

    #[test]
    fn objective_numbers_follow_the_config() {
        let mut cfg = aoulu();
        cfg.services[0].objectives.availability = 99.9;
        cfg.services[0].objectives.latency.threshold =
            crate::config::Dur(std::time::Duration::from_millis(2500));
        let out = dashboards(&cfg);
        let overview = &out[0].1;
        assert!(overview.contains("objective 99.9 %"));
        assert!(overview.contains("\"value\": 0.999"));
        assert!(overview.contains("0.001 * scalar(days_in_month"));
        assert!(overview.contains(r#"le=~\"2\\\\.5\""#), "{overview}");
        assert!(overview.contains("Share within 2.5 s"));
        // The other service keeps its own numbers.
        assert!(overview.contains("objective 99.99 %"));
        assert!(overview.contains("0.0001 * scalar(days_in_month"));
        // The service dashboard reads each service's own bucket.
        assert!(out[1]
            .1
            .contains("service=\\\"$service\\\",service=\\\"hanbai\\\""));
    }

    #[test]
    fn overview_names_every_service_and_links_its_runbooks() {
        let cfg = aoulu();
        let overview = &dashboards(&cfg)[0].1;
        for s in &cfg.services {
            assert!(overview.contains(&s.display_name.ja));
            assert!(overview.contains(&format!(
                "https://runbooks.aoulu.example/mimamori/{}/availability",
                s.name
            )));
            assert!(overview.contains(&format!("var-service={}", s.name)));
        }
        assert!(overview.contains("\"from\": \"now/M\""));
        assert!(overview.contains("2027-05-09 01:00"));
    }

    #[test]
    fn late_announced_maintenance_is_shown_as_failure_time() {
        let mut cfg = aoulu();
        let mut w = cfg.maintenance[0].clone();
        w.announced_at = w.start - chrono::Duration::days(30);
        cfg.maintenance.push(w);
        let md = maintenance_markdown(&cfg);
        assert_eq!(md.matches("計画停止 / planned").count(), 1);
        assert!(md.contains("an outage counts as failure"));
    }
}
