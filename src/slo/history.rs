//! The step history of a service: what Prometheus says about each probe
//! interval (the quorum's verdict, and for failing steps the locations and
//! reasons), and the maintenance windows that cover it.
//!
//! `report` reads one month of it, `status` the last 90 days; both classify
//! it with [`super::compute`], so a failure means the same thing on both.

use super::compute::{Cause, ExclusionSpan, StepData, Window};
use super::plan::ServicePlan;
use super::spacing;
use crate::config::Config;
use crate::promql::{self, Selector};
use crate::query::{self, Client};

/// Windows of `service` overlapping `[start, end)`, as the report sees them.
pub fn windows(cfg: &Config, service: &str, start: i64, end: i64) -> Vec<Window> {
    let months = cfg.global.maintenance_notice_months;
    cfg.maintenance
        .iter()
        .filter(|w| w.services.iter().any(|s| s == service))
        .filter(|w| w.start.timestamp() < end && w.end.timestamp() > start)
        .map(|w| Window {
            start: w.start.timestamp(),
            end: w.end.timestamp(),
            announced_at: w.announced_at.timestamp(),
            in_time: w.announced_in_time(months),
            title: if w.title.ja.is_empty() {
                w.title.en.clone()
            } else {
                format!("{} / {}", w.title.ja, w.title.en)
            },
        })
        .collect()
}

/// Exclusions of `service` overlapping `[start, end)`, by their index in `exclusions:`.
pub fn exclusions(cfg: &Config, service: &str, start: i64, end: i64) -> Vec<ExclusionSpan> {
    cfg.exclusions
        .iter()
        .enumerate()
        .filter(|(_, x)| x.services.iter().any(|s| s == service))
        .filter(|(_, x)| x.start.timestamp() < end && x.end.timestamp() > start)
        .map(|(id, x)| ExclusionSpan {
            id,
            start: x.start.timestamp(),
            end: x.end.timestamp(),
        })
        .collect()
}

/// The base [`Queries::tally`] counts failing locations in: more than any
/// number of locations, small enough that every sum is an exact float.
pub const TALLY_BASE: u32 = 1000;

/// The queries for one service, from the shared definitions in [`promql`],
/// for results that stand for `spacing` seconds (see [`super::spacing`]).
pub struct Queries {
    /// Per service, 1/0 while a quorum of the (freshly) reporting locations sees it failing.
    pub failing: String,
    /// Per service, `reporting + TALLY_BASE × failing` locations: both numbers
    /// `failing` compares, from one evaluation of the per-location expression
    /// (`failing` evaluates it twice, for the sum and for the count), in one
    /// series. [`fetch_steps`] asks this one and counts the quorum itself
    /// ([`quorum_failing`]).
    pub tally: String,
    /// Per location, present only while the service is failing and that location sees it.
    pub locations: String,
    /// The quorum (`alerting.quorum`).
    pub quorum: Option<u32>,
    /// Per reason, failed runs, present only while the service is failing.
    pub reasons: String,
    /// The spacing (seconds) the queries judge with.
    pub spacing: u64,
}

impl Queries {
    pub fn new(cfg: &Config, p: &ServicePlan, spacing: u64) -> Queries {
        let sel = Selector::service(&p.service);
        let fresh = promql::probe_success_fresh(&sel, spacing * 1500, &cfg.alerting.job);
        // A blind prober's results are unknown: not failure, not success.
        let seen = promql::probe_success_seen(&fresh, &cfg.alerting.job);
        let by_location = promql::location_failing_of(&seen, &p.all_addresses);
        let failing = promql::service_failing(&by_location, cfg.alerting.quorum);
        let tally = format!("sum by (service) (1 + {TALLY_BASE} * ({by_location}))");
        let locations = promql::while_failing(&format!("{by_location} == 1"), &failing);
        // Reasons only from probers that see: a blind one's failures say nothing.
        // Two spacings hold two samples of the counter, enough for increase().
        let increase = promql::failures_increase(&sel, &format!("{}ms", spacing * 2000));
        let reasons = promql::while_failing(
            &format!(
                "{} > 0",
                promql::failures_by_reason_of(&promql::probe_success_seen(
                    &increase,
                    &cfg.alerting.job
                ))
            ),
            &failing,
        );
        Queries {
            failing,
            tally,
            locations,
            quorum: cfg.alerting.quorum,
            reasons,
            spacing,
        }
    }
}

/// The oldest time Prometheus still keeps data for (now − its time-based
/// retention), when it says (`/api/v1/status/runtimeinfo`); `None` for a size
/// limit only, a server that does not say (Thanos, Mimir), or no answer.
pub async fn oldest_kept(client: &Client, now: i64) -> Option<i64> {
    let info = client.runtime_info().await.ok()?;
    info.storage_retention
        .split(" or ")
        .find_map(|part| humantime::parse_duration(part.trim()).ok())
        .filter(|d| d.as_secs() > 0)
        .map(|d| now - d.as_secs().min(i64::MAX as u64 / 2) as i64)
}

/// Index of the step a range-query point at `t` (a step's end) describes.
fn step_index(t: f64, start: i64, step: i64) -> Option<usize> {
    let k = ((t - start as f64) / step as f64).round() as i64 - 1;
    (k >= 0).then_some(k as usize)
}

/// What Prometheus says about `n` steps of `step` seconds from `start`: the
/// quorum's verdict for each, for failing steps the locations and reasons, and
/// for unknown steps why (where it can be told). Shared by `report` (one
/// month) and `status` (the last 90 days).
///
/// Each step is judged with the freshness of its hour's result spacing
/// ([`spacing::runs`]), so the figures are the same whether Prometheus
/// scraped the probers every 15 s or every 2 minutes. `oldest`: the oldest
/// time the Prometheus still keeps (now − retention), when known.
pub async fn fetch_steps(
    client: &Client,
    cfg: &Config,
    p: &ServicePlan,
    start: i64,
    n: usize,
    step: u64,
    oldest: Option<i64>,
) -> Result<Vec<StepData>, query::Error> {
    let mut steps = vec![StepData::default(); n];
    if n == 0 {
        return Ok(steps);
    }
    let st = step as i64;
    let sel = Selector::service(&p.service);
    // Sample counts per location in 10-minute windows, from an hour before to an hour after.
    let w = spacing::WINDOW_SECONDS;
    let (ca, cb) = (
        (start - spacing::BLOCK_SECONDS).div_euclid(w) * w + w,
        (start + n as i64 * st + spacing::BLOCK_SECONDS).div_euclid(w) * w,
    );
    let mut counts = std::collections::BTreeMap::new();
    for s in client
        .query_range(
            &promql::samples_per_window(&sel, &format!("{w}s")),
            ca,
            cb,
            w as u64,
        )
        .await?
    {
        let loc = s.labels.get("location").cloned().unwrap_or_default();
        counts.insert(loc, s.points.iter().map(|&(t, v)| (t as i64, v)).collect());
    }
    for run in spacing::runs(&counts, start, n, step, p.round_seconds.max(1)) {
        let q = Queries::new(cfg, p, run.spacing);
        fetch_run(client, &q, start, st, run.first, run.len, &mut steps).await?;
    }
    causes(client, cfg, &sel, start, st, oldest, &mut steps).await?;
    Ok(steps)
}

/// [`fetch_steps`] for the steps `first..first + len`, with one set of queries.
async fn fetch_run(
    client: &Client,
    q: &Queries,
    start: i64,
    st: i64,
    first: usize,
    len: usize,
    steps: &mut [StepData],
) -> Result<(), query::Error> {
    let step = st as u64;
    let at = |k: usize| start + (k as i64 + 1) * st;
    let mine = first..first + len;
    for s in client
        .query_range(&q.tally, at(first), at(first + len - 1), step)
        .await?
    {
        for (t, v) in s.points {
            if let Some(d) = step_index(t, start, st)
                .filter(|k| mine.contains(k))
                .and_then(|k| steps.get_mut(k))
            {
                let base = f64::from(TALLY_BASE);
                let failed = (v / base).floor();
                let reporting = v - failed * base;
                if reporting > 0.0 {
                    d.failing = Some(quorum_failing(failed, reporting, q.quorum));
                }
            }
        }
    }
    for d in &mut steps[mine.clone()] {
        d.spacing = q.spacing;
    }
    // Locations and reasons only where the service failed.
    let failing: Vec<usize> = mine
        .clone()
        .filter(|&k| steps[k].failing == Some(true))
        .collect();
    if let (Some(&a), Some(&b)) = (failing.first(), failing.last()) {
        let (locs, reasons) = futures_util::future::try_join(
            client.query_range(&q.locations, at(a), at(b), step),
            client.query_range(&q.reasons, at(a), at(b), step),
        )
        .await?;
        for s in locs {
            let Some(loc) = s.labels.get("location") else {
                continue;
            };
            for (t, _) in s.points {
                if let Some(d) = step_index(t, start, st)
                    .filter(|k| mine.contains(k))
                    .and_then(|k| steps.get_mut(k))
                {
                    d.locations.insert(loc.clone());
                }
            }
        }
        for s in reasons {
            let Some(reason) = s.labels.get("reason") else {
                continue;
            };
            for (t, v) in s.points {
                if let Some(d) = step_index(t, start, st)
                    .filter(|k| mine.contains(k))
                    .and_then(|k| steps.get_mut(k))
                {
                    *d.reasons.entry(reason.clone()).or_default() += v;
                }
            }
        }
    }
    Ok(())
}

/// [`promql::service_failing`] counted here, for one step: `failed` of the
/// `reporting` locations see the service failing (`reporting` > 0). The same
/// comparisons as the PromQL, on the same numbers, so the same verdicts.
pub fn quorum_failing(failed: f64, reporting: f64, quorum: Option<u32>) -> bool {
    match quorum {
        None => failed * 2.0 > reporting,
        Some(n) => failed >= reporting.min(f64::from(n)),
    }
}

/// Why each unknown step is unknown: older than the retention, before the
/// first sample Prometheus holds, a prober Prometheus could not scrape, a
/// blind prober, or else simply no sample. Asks about probers only over the
/// unknown steps after the first data (a long stretch before it costs one query).
async fn causes(
    client: &Client,
    cfg: &Config,
    sel: &Selector,
    start: i64,
    st: i64,
    oldest: Option<i64>,
    steps: &mut [StepData],
) -> Result<(), query::Error> {
    if steps.iter().all(|d| d.failing.is_some()) {
        return Ok(());
    }
    let at = |k: usize| start + (k as i64 + 1) * st;
    // Before the first result: none in the range before it, and none in the
    // 31 days before the range (asked only when the range begins unknown).
    let first_known = steps.iter().position(|d| d.failing.is_some());
    let none_before = first_known != Some(0)
        && client
            .query(
                &format!(
                    "count(last_over_time({}[31d]))",
                    sel.of(promql::metric::PROBE_SUCCESS)
                ),
                start,
            )
            .await?
            .iter()
            .all(|s| s.value.is_nan() || s.value <= 0.0);
    for (k, d) in steps.iter_mut().enumerate() {
        if d.failing.is_some() {
            continue;
        }
        if oldest.is_some_and(|o| at(k) <= o) {
            d.cause = Some(Cause::Retention);
        } else if none_before && first_known.is_none_or(|f| k < f) {
            d.cause = Some(Cause::BeforeFirstSample);
        }
    }
    let unknown: Vec<usize> = (0..steps.len())
        .filter(|&k| steps[k].failing.is_none() && steps[k].cause.is_none())
        .collect();
    if let (Some(&a), Some(&b)) = (unknown.first(), unknown.last()) {
        let step = st as u64;
        let job = &cfg.alerting.job;
        let (down, blind) = futures_util::future::try_join(
            client.query_range(&promql::count_probers_down(job), at(a), at(b), step),
            client.query_range(&promql::count_probers_blind(job), at(a), at(b), step),
        )
        .await?;
        for (series, cause) in [(down, Cause::ProberDown), (blind, Cause::Blind)] {
            for s in series {
                for (t, v) in s.points {
                    if let Some(d) = step_index(t, start, st).and_then(|k| steps.get_mut(k)) {
                        if d.failing.is_none() && d.cause.is_none() && v > 0.0 {
                            d.cause = Some(cause);
                        }
                    }
                }
            }
        }
    }
    for d in steps.iter_mut().filter(|d| d.failing.is_none()) {
        d.cause.get_or_insert(Cause::NoSample);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::quorum_failing;

    #[test]
    fn the_quorum_is_counted_as_the_promql_counts_it() {
        // No quorum: a strict majority of the reporting locations.
        assert!(!quorum_failing(1.0, 2.0, None));
        assert!(quorum_failing(2.0, 3.0, None));
        assert!(!quorum_failing(1.0, 3.0, None));
        assert!(!quorum_failing(0.0, 1.0, None));
        assert!(quorum_failing(1.0, 1.0, None));
        // A quorum of 2: two failing, or all when fewer report.
        assert!(quorum_failing(2.0, 5.0, Some(2)));
        assert!(!quorum_failing(1.0, 5.0, Some(2)));
        assert!(quorum_failing(1.0, 1.0, Some(2)));
        assert!(!quorum_failing(0.0, 1.0, Some(2)));
    }
}
