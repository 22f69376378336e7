//! `mimamori report`: the SLO's monthly availability, from Prometheus, defensible to the second.
//!
//! The seed promises (operating time − failure time) ÷ operating time ≥ 99.99 %
//! per calendar month. This module asks Prometheus for the exporter's own
//! series (with the definitions in [`crate::promql`], the same the rules use),
//! classifies every probe interval of the month ([`crate::slo::compute`]) and prints the
//! figures ([`render`]). Exit codes let a cron job act: 0 met, 1 missed,
//! 2 data incomplete or Prometheus unreachable, 64 usage or configuration error.

pub mod backups;
pub mod notices;
pub mod render;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::config::{Config, ConfigErrors, DisplayName, ExclusionReason};
use crate::promql::{self, Selector};
use crate::query::{self, Client, ClientOptions};
use crate::slo::compute::{
    self, Cause, ExclusionSpan, Figures, Inputs, Ratio, StepData, Verdict, Window,
};
use crate::slo::history::{exclusions, fetch_steps, windows, ServerInfo};
use crate::slo::month::{self, Month, Period};
use crate::slo::plan::ServicePlan;
use crate::slo::{self, LoadError};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Japanese first, with English; one block per service.
    Table,
    /// For a monthly report to management or customers.
    Markdown,
    Csv,
    Json,
}

/// What `mimamori report` is asked for: its flags, parsed and checked by clap
/// (a month that is not YYYY-MM never reaches [`execute`]).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The exporter's configuration: services, objectives, maintenance windows, time zone.
    #[arg(long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub prometheus: ClientOptions,
    /// Calendar month in the SLO's time zone, YYYY-MM; default: the last complete month.
    #[arg(long, value_parser = Month::parse)]
    pub month: Option<Month>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Only this service (repeatable); default: every service.
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
}

/// Why a report could not be made, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error("{0}")]
    Query(#[from] query::Error),
}

impl From<LoadError> for ReportError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Config(e) => ReportError::Config(e),
            LoadError::Usage(m) => ReportError::Usage(m),
            LoadError::Query(e) => ReportError::Query(e),
        }
    }
}

impl ReportError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ReportError::Usage(_) | ReportError::Config(_) => 64,
            ReportError::Query(query::Error::Options(_)) => 64,
            // No answer, or a refused one: the data is incomplete.
            ReportError::Query(_) => 2,
        }
    }
}

/// The whole report (the JSON document).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub month: String,
    pub generated_at: String,
    pub prometheus_url: String,
    pub services: Vec<ServiceReport>,
    /// The backup objective, each date of the month (only with `backups:`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backups: Vec<backups::BackupReport>,
    /// When customers were told (only with `notify:`; see docs/notices.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notices: Option<notices::NoticesReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    pub service: String,
    pub display_name: DisplayName,
    pub month: String,
    pub timezone: String,
    pub month_seconds: i64,
    pub operating_seconds: i64,
    pub maintenance_seconds: i64,
    /// Every failure second, those inside exclusions included.
    pub failure_seconds: i64,
    /// Failure seconds inside `exclusions` (part of `failure_seconds`).
    pub excluded_failure_seconds: i64,
    pub unknown_seconds: i64,
    /// The seed's formula with every failure: (operating − failure) ÷ operating.
    pub availability_percent: f64,
    /// With the exclusions' failure time set aside: (operating − (failure − excluded)) ÷ operating.
    pub availability_adjusted_percent: f64,
    pub availability_worst_case_percent: f64,
    pub objective_percent: f64,
    /// `objectives.apply_exclusions`: `met` and `verdict` are judged on
    /// `availability_adjusted_percent` (else on `availability_percent`).
    pub apply_exclusions: bool,
    /// `verdict == "met"`.
    pub met: bool,
    /// `met`, `missed`, or `not_determinable` (less than `min_coverage_percent` observed).
    pub verdict: Verdict,
    /// Observed operating time ÷ operating time, in percent: how much of the month the figure saw.
    pub coverage_percent: f64,
    /// `objectives.min_coverage`: below it the figure is not determinable.
    pub min_coverage_percent: f64,
    /// Unknown seconds by cause (`prober_down`, `blind`, `retention`, `before_first_sample`, `no_sample`).
    pub unknown_by_cause: BTreeMap<Cause, i64>,
    /// How long a result stood for (seconds): the longer of the probe
    /// interval and the scrape interval measured from the data; each step was
    /// judged with results no older than 1.5 × this.
    pub result_spacing_seconds: Vec<u64>,
    pub budget_seconds: f64,
    /// Every failure second ÷ the budget.
    pub budget_used_percent: f64,
    /// Failure seconds outside exclusions ÷ the budget.
    pub budget_used_adjusted_percent: f64,
    pub latency: Latency,
    pub incidents: Vec<IncidentOut>,
    pub maintenance: Vec<MaintenanceOut>,
    /// The exclusions of the service that touch the month, each with the failure seconds it set aside.
    pub exclusions: Vec<ExclusionOut>,
    /// Each day of the month (in the SLO's zone) up to the end of the report.
    pub days: Vec<DayOut>,
    pub warnings: Vec<String>,
    /// For text output: the exact fractions and the period.
    #[serde(skip)]
    pub exact: Exact,
}

/// What the text renderers need beyond the JSON fields.
#[derive(Debug, Clone, Default)]
pub struct Exact {
    pub availability: Option<Ratio>,
    pub adjusted: Option<Ratio>,
    pub worst_case: Option<Ratio>,
    pub coverage: Option<Ratio>,
    pub start: String,
    pub until: String,
    pub to_date: bool,
    pub step_seconds: u64,
    pub grace_seconds: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub threshold_seconds: f64,
    pub target_percent: f64,
    /// `null` when the month has no successful operation.
    pub within_percent: Option<f64>,
    pub met: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentOut {
    pub start: String,
    pub end: String,
    /// Failure seconds.
    pub seconds: i64,
    /// Unknown seconds inside it (short gaps between its failures; not failure time).
    pub unknown_seconds: i64,
    pub locations: Vec<String>,
    pub reason: String,
    /// Failure seconds of it set aside by exclusions (0: all count).
    pub excluded_seconds: i64,
}

/// An exclusion (`exclusions:` in the configuration) as the month saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ExclusionOut {
    pub reason: ExclusionReason,
    /// The reason in words, from the seed's scope list.
    pub reason_words: DisplayName,
    pub start: String,
    pub end: String,
    /// Failure seconds of this month it set aside (0 over time that was up,
    /// maintenance or unknown).
    pub excluded_seconds: i64,
    pub decided_by: String,
    pub decided_at: String,
    pub description: DisplayName,
    pub evidence: Option<String>,
}

/// One day of the month.
#[derive(Debug, Clone, Serialize)]
pub struct DayOut {
    pub date: String,
    pub operating_seconds: i64,
    pub maintenance_seconds: i64,
    pub failure_seconds: i64,
    /// Failure seconds inside exclusions (part of `failure_seconds`).
    pub excluded_failure_seconds: i64,
    pub unknown_seconds: i64,
    /// Observed operating time ÷ operating time; `null` without operating time.
    pub coverage_percent: Option<f64>,
    pub unknown_by_cause: BTreeMap<Cause, i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceOut {
    pub start: String,
    pub end: String,
    pub announced_at: String,
    pub in_time: bool,
    /// Title for text output.
    #[serde(skip)]
    pub title: String,
}

impl ServiceReport {
    /// Missed with the data there is (unknown time cannot make it met).
    pub fn missed(&self) -> bool {
        self.verdict == Verdict::Missed
            || (self.latency.within_percent.is_some() && !self.latency.met)
    }
    /// Something is not known: unknown time (so also a figure that is not
    /// determinable) or no latency data.
    pub fn incomplete(&self) -> bool {
        self.unknown_seconds > 0
            || self.verdict == Verdict::NotDeterminable
            || self.latency.within_percent.is_none()
    }
}

impl Report {
    /// 1 when an objective is missed, else 2 when data is missing, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.services.iter().any(ServiceReport::missed) || self.backups.iter().any(|b| !b.met) {
            1
        } else if self.services.iter().any(ServiceReport::incomplete)
            || self.backups.iter().any(backups::BackupReport::incomplete)
        {
            2
        } else {
            0
        }
    }
}

/// Entry point from the CLI: prints the report, or the reason there is none.
pub fn run(args: Options) -> anyhow::Result<ExitCode> {
    match execute(&args, crate::clock::now().timestamp()) {
        Ok((report, text)) => {
            print!("{text}");
            Ok(ExitCode::from(report.exit_code()))
        }
        Err(e) => {
            eprintln!("mimamori report: {e}");
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

/// Services reported at once.
const SERVICES_AT_ONCE: usize = 4;

/// Makes the report at `now` (unix seconds) and renders it.
pub fn execute(args: &Options, now: i64) -> Result<(Report, String), ReportError> {
    let slo::Context {
        cfg,
        plans,
        tz,
        client,
    } = slo::Context::load(&args.config, &args.prometheus, &args.services)?;
    let month = args.month.unwrap_or_else(|| month::last_complete(now, tz));
    // Fails early, before any query, for a month that has not begun.
    Period::new(month, tz, now, 1).map_err(ReportError::Usage)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ReportError::Usage(format!("starting the async runtime: {e}")))?;
    let services = rt.block_on(async {
        let server = crate::slo::history::ServerInfo::ask(&client, now).await;
        // A few services at once: each keeps several queries in flight, and
        // Prometheus runs at most 20 (`--query.max-concurrency`); the rest
        // would wait in its queue against the client's timeout.
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        stream::iter(
            plans
                .iter()
                .map(|p| service_report(&client, &cfg, p, month, tz, now, &server)),
        )
        .buffered(SERVICES_AT_ONCE)
        .try_collect::<Vec<_>>()
        .await
    })?;
    let period = Period::new(month, tz, now, 1).map_err(ReportError::Usage)?;
    let backups = rt.block_on(backups::reports(
        &client,
        &cfg,
        &args.services,
        tz,
        period.start,
        period.until,
        period.end,
    ))?;
    let report = Report {
        month: month.to_string(),
        generated_at: month::local(now, tz),
        prometheus_url: client.url().to_string(),
        services,
        backups,
        notices: notices::report(&cfg, &args.services, tz, period.start, period.until),
    };
    tracing::debug!(
        queries = client.queries_sent(),
        points = client.points_fetched(),
        "report done"
    );
    let text = render::render(&report, args.format);
    Ok((report, text))
}

async fn service_report(
    client: &Client,
    cfg: &Config,
    p: &ServicePlan,
    month: Month,
    tz: chrono_tz::Tz,
    now: i64,
    server: &ServerInfo,
) -> Result<ServiceReport, query::Error> {
    let step = p.round_seconds.max(1);
    let period = Period::new(month, tz, now, step).expect("checked before");
    let (start, until) = (period.start, period.until);
    let st = step as i64;
    let n = ((until - start) + st - 1) / st;
    let steps = fetch_steps(client, cfg, p, start, n.max(0) as usize, step, server).await?;
    let windows = windows(cfg, &p.service, start, period.end);
    let exclusions = exclusions(cfg, &p.service, start, period.end);
    let days = days(&steps, p, &period, &windows, &exclusions);
    let mut spacing: Vec<u64> = steps.iter().map(|d| d.spacing).filter(|&s| s > 0).collect();
    spacing.sort_unstable();
    spacing.dedup();
    let inputs = Inputs {
        start,
        until,
        month_end: period.end,
        step: st,
        steps,
        windows: windows.clone(),
        grace: p.grace_seconds as i64,
        exclusions,
    };
    let f = compute::figures(&inputs);
    let (good, total) = latency(client, p, start, until, &windows).await?;
    let mut r = assemble(cfg, p, &period, &f, &windows, good, total);
    r.warnings.extend(
        cfg.exclusion_future_warnings(now)
            .into_iter()
            .filter(|w| {
                inputs
                    .exclusions
                    .iter()
                    .any(|x| w.field == format!("exclusions[{}].end", x.id))
            })
            .map(|w| {
                format!("SLO 対象外の期間が現在より先まで続いています（まだ来ていない時間は判断できません） / configuration warning: {w}")
            }),
    );
    r.days = days;
    r.result_spacing_seconds = spacing;
    Ok(r)
}

/// The month's days in the SLO's zone, up to the end of the report.
fn days(
    steps: &[StepData],
    p: &ServicePlan,
    period: &Period,
    windows: &[Window],
    exclusions: &[ExclusionSpan],
) -> Vec<DayOut> {
    let mut out = Vec::new();
    let mut day = chrono::TimeZone::timestamp_opt(&period.tz, period.start, 0)
        .unwrap()
        .date_naive();
    loop {
        let a = month::day_start(day, period.tz);
        let next = day + chrono::Days::new(1);
        let b = month::day_start(next, period.tz).min(period.until);
        if a >= period.until {
            break;
        }
        let f = compute::figures_between(
            steps,
            period.start,
            p.round_seconds.max(1) as i64,
            windows,
            exclusions,
            p.grace_seconds as i64,
            a,
            b,
            b,
        );
        out.push(DayOut {
            date: day.format("%Y-%m-%d").to_string(),
            operating_seconds: f.operating_seconds,
            maintenance_seconds: f.maintenance_seconds,
            failure_seconds: f.failure_seconds,
            excluded_failure_seconds: f.excluded_failure_seconds,
            unknown_seconds: f.unknown_seconds,
            coverage_percent: (f.operating_seconds > 0).then(|| f.coverage().percent()),
            unknown_by_cause: f.unknown_by_cause,
        });
        day = next;
    }
    out
}

/// Successful operations and those within the threshold, over `[start, until)`
/// less the planned windows (counter resets handled by `increase`).
async fn latency(
    client: &Client,
    p: &ServicePlan,
    start: i64,
    until: i64,
    windows: &[Window],
) -> Result<(f64, f64), query::Error> {
    let sel = Selector::service(&p.service);
    let mut spans = vec![(until, until - start, 1.0)];
    for w in windows.iter().filter(|w| w.in_time) {
        let (a, b) = (w.start.max(start), w.end.min(until));
        if a < b {
            spans.push((b, b - a, -1.0));
        }
    }
    let (mut good, mut total) = (0.0, 0.0);
    for (at, range, sign) in spans {
        let c = promql::latency_counts(
            &sel,
            p.latency_threshold_seconds,
            "increase",
            &format!("{range}s"),
        );
        let (g, t) =
            futures_util::future::try_join(client.query(&c.good, at), client.query(&c.total, at))
                .await?;
        good += sign
            * g.iter()
                .map(|s| s.value)
                .filter(|v| v.is_finite())
                .sum::<f64>();
        total += sign
            * t.iter()
                .map(|s| s.value)
                .filter(|v| v.is_finite())
                .sum::<f64>();
    }
    Ok((good.max(0.0), total.max(0.0)))
}

fn assemble(
    cfg: &Config,
    p: &ServicePlan,
    period: &Period,
    f: &Figures,
    windows: &[Window],
    good: f64,
    total: f64,
) -> ServiceReport {
    let tz = period.tz;
    let months = cfg.global.maintenance_notice_months;
    let avail = f.availability();
    let adjusted = f.availability_adjusted();
    let worst = f.availability_worst_case();
    let budget_seconds =
        promql::round_decimal(p.availability_budget * f.month_operating_seconds as f64);
    let used = |failure: i64| {
        if budget_seconds > 0.0 {
            failure as f64 / budget_seconds * 100.0
        } else {
            0.0
        }
    };
    let budget_used_percent = used(f.failure_seconds);
    let budget_used_adjusted_percent = used(f.failure_seconds - f.excluded_failure_seconds);
    let within = compute::within_percent(good, total);
    let latency_target = promql::round_decimal(p.latency * 100.0);
    let coverage = f.coverage();
    let verdict = Verdict::judged(
        f,
        p.availability,
        p.min_coverage_percent,
        p.apply_exclusions,
    );
    let mut warnings = Vec::new();
    if verdict == Verdict::NotDeterminable {
        let seen = compute::floor_percent(coverage.percent(), Some(coverage), 2);
        warnings.push(format!(
            "稼働時間の {seen} % しか観測されていないため、目標の達成は判定できません（判定には {} % 以上が必要） / only {seen} % of the operating time was observed: whether the objective was met cannot be determined (at least {} % is needed)",
            promql::decimal(p.min_coverage_percent),
            promql::decimal(p.min_coverage_percent)
        ));
    }
    if period.to_date() {
        warnings.push(format!(
            "月途中の集計です（{} まで） / month to date: up to {}",
            period.local(period.until),
            period.local(period.until)
        ));
    }
    for w in windows.iter().filter(|w| !w.in_time) {
        warnings.push(format!(
            "{}–{} のメンテナンスは {} の告知で、{months} か月前より遅いため計画停止ではありません。稼働時間に含め、その間の障害は障害時間です / the maintenance {}–{} was announced {}, less than {months} months before it started: it is not planned maintenance, so it is operating time and its failures are failure time",
            month::local(w.start, tz),
            month::local(w.end, tz),
            month::local(w.announced_at, tz),
            month::local(w.start, tz),
            month::local(w.end, tz),
            month::local(w.announced_at, tz),
        ));
    }
    if f.grace_seconds > 0 {
        warnings.push(format!(
            "計画停止の終了後 {} 秒以内に見えた障害 {} 秒は、停止中に始まった実行の結果として数えていません / {} s of failures seen within {} s after a planned window ended were not counted: they are results of runs that began inside it",
            p.grace_seconds, f.grace_seconds, f.grace_seconds, p.grace_seconds
        ));
    }
    if f.unknown_seconds > 0 {
        let (ja, en): (Vec<String>, Vec<String>) = f
            .unknown_by_cause
            .iter()
            .map(|(c, s)| {
                let (ja, en) = c.words();
                (format!("{ja} {s} 秒"), format!("{en}: {s} s"))
            })
            .unzip();
        warnings.push(format!(
            "{} 秒間、どの拠点からもデータがありません（不明時間: {}） / {} s with no location reporting (unknown time: {}): availability_worst_case_percent counts it as failure",
            f.unknown_seconds,
            ja.join("、"),
            f.unknown_seconds,
            en.join("; ")
        ));
    }
    if within.is_none() {
        warnings.push(
            "成功した操作の記録がないため応答時間を判定できません / no successful operation recorded: latency cannot be judged".to_string(),
        );
    }
    ServiceReport {
        service: p.service.clone(),
        display_name: DisplayName {
            ja: p.ja.clone(),
            en: p.en.clone(),
        },
        month: period.month.to_string(),
        timezone: tz.name().to_string(),
        month_seconds: f.month_seconds,
        operating_seconds: f.operating_seconds,
        maintenance_seconds: f.maintenance_seconds,
        failure_seconds: f.failure_seconds,
        excluded_failure_seconds: f.excluded_failure_seconds,
        unknown_seconds: f.unknown_seconds,
        availability_percent: avail.percent(),
        availability_adjusted_percent: adjusted.percent(),
        availability_worst_case_percent: worst.percent(),
        objective_percent: promql::round_decimal(p.availability * 100.0),
        apply_exclusions: p.apply_exclusions,
        met: verdict == Verdict::Met,
        verdict,
        coverage_percent: coverage.percent(),
        min_coverage_percent: p.min_coverage_percent,
        unknown_by_cause: f.unknown_by_cause.clone(),
        result_spacing_seconds: Vec::new(),
        budget_seconds,
        budget_used_percent,
        budget_used_adjusted_percent,
        latency: Latency {
            threshold_seconds: p.latency_threshold_seconds,
            target_percent: latency_target,
            within_percent: within,
            met: within.is_some_and(|w| w + 1e-12 >= latency_target),
        },
        incidents: f
            .incidents
            .iter()
            .map(|i| IncidentOut {
                start: month::local(i.start, tz),
                end: month::local(i.end, tz),
                seconds: i.seconds,
                unknown_seconds: i.unknown_seconds,
                locations: i.locations.clone(),
                reason: i.reason.clone().unwrap_or_else(|| "unknown".into()),
                excluded_seconds: i.excluded_seconds,
            })
            .collect(),
        maintenance: windows
            .iter()
            .map(|w| MaintenanceOut {
                start: month::local(w.start, tz),
                end: month::local(w.end, tz),
                announced_at: month::local(w.announced_at, tz),
                in_time: w.in_time,
                title: w.title.clone(),
            })
            .collect(),
        exclusions: f
            .excluded_by
            .iter()
            .filter_map(|(&id, &secs)| cfg.exclusions.get(id).map(|x| (x, secs)))
            .map(|(x, excluded_seconds)| ExclusionOut {
                reason: x.reason,
                reason_words: x.reason.words(),
                start: month::local(x.start.timestamp(), tz),
                end: month::local(x.end.timestamp(), tz),
                excluded_seconds,
                decided_by: x.decided_by.clone(),
                decided_at: month::local(x.decided_at.timestamp(), tz),
                description: x.description.clone(),
                evidence: x.evidence.clone(),
            })
            .collect(),
        days: Vec::new(),
        warnings,
        exact: Exact {
            availability: Some(avail),
            adjusted: Some(adjusted),
            worst_case: Some(worst),
            coverage: Some(coverage),
            start: period.local(period.start),
            until: period.local(period.until),
            to_date: period.to_date(),
            step_seconds: p.round_seconds,
            grace_seconds: p.grace_seconds as i64,
        },
    }
}
