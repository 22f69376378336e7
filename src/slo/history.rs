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
use futures_util::stream::{self, StreamExt, TryStreamExt};

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

/// What [`fetch_steps`] needs to know about the Prometheus it asks, asked
/// once per report or refresh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// The oldest time Prometheus still keeps data for, when known ([`oldest_kept`]).
    pub oldest: Option<i64>,
    /// Its `--query.lookback-delta` in milliseconds, when it says
    /// (`/api/v1/status/flags`). The quiet-block checks need it (a failed
    /// scrape's `up == 0` reaches this far); without it every step is asked
    /// at full resolution.
    pub lookback_ms: Option<u64>,
}

impl ServerInfo {
    pub async fn ask(client: &Client, now: i64) -> ServerInfo {
        let (oldest, lookback_ms) =
            futures_util::future::join(oldest_kept(client, now), lookback_ms(client)).await;
        ServerInfo {
            oldest,
            lookback_ms,
        }
    }
}

/// Prometheus' `--query.lookback-delta` (e.g. `5m`) in milliseconds, when
/// its flags say (Thanos, Mimir and VictoriaMetrics do not serve them).
pub async fn lookback_ms(client: &Client) -> Option<u64> {
    let flags = client.flags().await.ok()?;
    let d = humantime::parse_duration(flags.get("query.lookback-delta")?.trim()).ok()?;
    Some(d.as_millis().try_into().ok()?).filter(|&ms: &u64| ms > 0)
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

/// `MIMAMORI_FULL_RESOLUTION=1`: ask every step at full resolution, with no
/// quiet-block checks (what the tests compare the checks against).
fn full_resolution() -> bool {
    std::env::var("MIMAMORI_FULL_RESOLUTION").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Steps in a block: an hour (the blocks of [`spacing::runs`]).
fn block_steps(step: i64) -> usize {
    (spacing::BLOCK_SECONDS / step.max(1)).max(1) as usize
}

/// Blocks checked in one query: about a week of 15 s steps (the subquery of
/// [`QuietChecks::fresh`] holds one point per step).
const CHECK_STEPS: usize = query::MAX_POINTS as usize * query::CONCURRENCY;

/// Gaps of at most this many steps between two stretches asked at full
/// resolution are asked with them (one query instead of two).
const MERGE_BLOCKS: usize = 2;

/// What Prometheus says about `n` steps of `step` seconds from `start`: the
/// quorum's verdict for each, for failing steps the locations and reasons, and
/// for unknown steps why (where it can be told). Shared by `report` (one
/// month) and `status` (the last 90 days).
///
/// Each step is judged with the freshness of its hour's result spacing
/// ([`spacing::runs`]), so the figures are the same whether Prometheus
/// scraped the probers every 15 s or every 2 minutes.
///
/// Most hours of most services are quiet: every result 1, every location
/// fresh, no prober down or blind. Such an hour's steps are all *up*, and a
/// few cheap per-hour checks ([`QuietChecks`]) prove it without evaluating
/// the per-location expression at each step; only the other hours are asked
/// step by step. The figures are the same either way
/// (`MIMAMORI_FULL_RESOLUTION=1` skips the checks).
pub async fn fetch_steps(
    client: &Client,
    cfg: &Config,
    p: &ServicePlan,
    start: i64,
    n: usize,
    step: u64,
    server: &ServerInfo,
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
    // The checks' subquery evaluates at multiples of the step: the steps'
    // ends must be on that grid.
    let lookback = server
        .lookback_ms
        .filter(|_| start.rem_euclid(st) == 0 && !full_resolution());
    let block = block_steps(st);
    for run in spacing::runs(&counts, start, n, step, p.round_seconds.max(1)) {
        let q = Queries::new(cfg, p, run.spacing);
        let mine = run.first..run.first + run.len;
        for d in &mut steps[mine.clone()] {
            d.spacing = q.spacing;
        }
        // Whole blocks only (a run begins on a block; the last may be cut short).
        let blocks = (run.first / block)..((run.first + run.len) / block).min(n / block);
        let quiet = match lookback {
            Some(lb) if !blocks.is_empty() => {
                let checks = QuietChecks::new(cfg, &sel, run.freshness_ms(), st, block, lb);
                checks.quiet(client, start, blocks.clone()).await?
            }
            _ => Vec::new(),
        };
        let mut full: Vec<(usize, usize)> = Vec::new();
        let mut k = run.first;
        for (i, &is_quiet) in quiet.iter().enumerate() {
            let b = blocks.start + i;
            if !is_quiet {
                continue;
            }
            let (a, e) = (b * block, (b + 1) * block);
            if k < a {
                full.push((k, a));
            }
            for d in &mut steps[a..e] {
                d.failing = Some(false);
            }
            k = e;
        }
        if k < mine.end {
            full.push((k, mine.end));
        }
        let spans = merge(full, MERGE_BLOCKS * block);
        fetch_tally(client, &q, start, st, &spans, &mut steps).await?;
        let failing = clusters(mine.filter(|&k| steps[k].failing == Some(true)), block);
        fetch_failing(client, &q, start, st, &failing, &mut steps).await?;
    }
    causes(client, cfg, &sel, start, st, server.oldest, &mut steps).await?;
    Ok(steps)
}

/// `[a, b)` spans with gaps of at most `gap` between them joined.
fn merge(spans: Vec<(usize, usize)>, gap: usize) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1 + gap => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Increasing indices grouped into `[first, last + 1)` spans, a new span
/// after a gap of more than `gap`.
fn clusters(idx: impl Iterator<Item = usize>, gap: usize) -> Vec<(usize, usize)> {
    merge(idx.map(|k| (k, k + 1)).collect(), gap)
}

/// The cheap checks that prove a block's steps all up: per block (one range
/// query point at the block's last step end, one query per check), over
/// windows that hold every sample any of its steps can read.
struct QuietChecks {
    /// Any result other than exactly 1 (a failure, or NaN): 0 when none.
    results: String,
    /// The lowest `up` of the probers' job: a failed scrape (0) drops a prober's results.
    up: String,
    /// The lowest `mimamori_prober_healthy` of the job: a blind prober (0) drops its results.
    healthy: String,
    /// Per block, the most steps at which one result series was fresh: a
    /// block is known at every step when one series was fresh at all the
    /// points of the subquery (`points`). One series, not the union of the
    /// locations: an aggregation at every step would cost as much again.
    fresh: String,
    /// How many points the subquery of `fresh` has per block: the block's
    /// steps, and the step before it too where subqueries include their
    /// range's start (Prometheus 2).
    points: String,
    step: i64,
    block: usize,
}

impl QuietChecks {
    /// For steps of `step` seconds in blocks of `block`, judged with `freshness_ms`,
    /// on a Prometheus whose instant selectors look back `lookback_ms`.
    fn new(
        cfg: &Config,
        sel: &Selector,
        freshness_ms: u64,
        step: i64,
        block: usize,
        lookback_ms: u64,
    ) -> QuietChecks {
        let span_ms = block as u64 * step as u64 * 1000;
        // At a block's last step end t: a step of the block reads results
        // back to (its first step's end − the freshness) ≥ t − span − freshness,
        // and `up` / `mimamori_prober_healthy` back to t − span − lookback.
        let results_range = format!("{}ms", span_ms + freshness_ms);
        let flags_range = format!("{}ms", span_ms + lookback_ms);
        let s = sel.of(promql::metric::PROBE_SUCCESS);
        let r = |f: &str| format!("{f}({s}[{results_range}])");
        let job = Selector::new().eq("job", &cfg.alerting.job);
        QuietChecks {
            results: format!(
                "sum(({} < bool 1) + ({} > bool 1) + 0 * ({} - {}))",
                r("min_over_time"),
                r("max_over_time"),
                r("count_over_time"),
                r("sum_over_time")
            ),
            up: format!(
                "min(min_over_time({}[{flags_range}]))",
                job.of(promql::metric::UP)
            ),
            healthy: format!(
                "min(min_over_time({}[{flags_range}]))",
                job.of(promql::metric::PROBER_HEALTHY)
            ),
            fresh: format!(
                "max(count_over_time(last_over_time({s}[{freshness_ms}ms])[{}s:{step}s]))",
                block as i64 * step
            ),
            points: format!(
                "count_over_time(vector(1)[{}s:{step}s])",
                block as i64 * step
            ),
            step,
            block,
        }
    }

    /// For each of `blocks` (whole blocks of steps from `start`): whether all its steps are up.
    async fn quiet(
        &self,
        client: &Client,
        start: i64,
        blocks: std::ops::Range<usize>,
    ) -> Result<Vec<bool>, query::Error> {
        let span = self.block as i64 * self.step;
        let end_of = |b: usize| start + (b as i64 + 1) * span;
        let per_query = (CHECK_STEPS / self.block).max(1);
        let groups: Vec<(usize, usize)> = (blocks.start..blocks.end)
            .step_by(per_query)
            .map(|a| (a, (a + per_query).min(blocks.end)))
            .collect();
        let answers: Vec<[Vec<query::Series>; 4]> = stream::iter(groups.iter().map(|&(a, b)| {
            let (t0, t1) = (end_of(a), end_of(b - 1));
            async move {
                let (r, u, h, f) = futures_util::future::try_join4(
                    client.query_range(&self.results, t0, t1, span as u64),
                    client.query_range(&self.up, t0, t1, span as u64),
                    client.query_range(&self.healthy, t0, t1, span as u64),
                    client.query_range(&self.fresh, t0, t1, span as u64),
                )
                .await?;
                Ok::<_, query::Error>([r, u, h, f])
            }
        }))
        .buffered(query::CONCURRENCY)
        .try_collect()
        .await?;
        let index = |t: f64| -> Option<usize> {
            let k = ((t - start as f64) / span as f64).round() as i64 - 1;
            (k >= blocks.start as i64 && k < blocks.end as i64).then(|| k as usize - blocks.start)
        };
        let len = blocks.len();
        let points = client
            .query(&self.points, end_of(blocks.start))
            .await?
            .first()
            .map_or(f64::INFINITY, |s| s.value);
        // Absent results or flags: nothing to object to; absent freshness: none fresh.
        let (mut bad, mut fresh) = (vec![false; len], vec![false; len]);
        for [results, up, healthy, fresh_counts] in answers {
            for (series, ok) in [
                (results, (|v: f64| v == 0.0) as fn(f64) -> bool),
                (up, |v: f64| v >= 1.0),
                (healthy, |v: f64| v >= 1.0),
            ] {
                for s in series {
                    for (t, v) in s.points {
                        if let Some(i) = index(t) {
                            bad[i] |= !ok(v);
                        }
                    }
                }
            }
            for s in fresh_counts {
                for (t, v) in s.points {
                    if let Some(i) = index(t) {
                        fresh[i] = v >= points;
                    }
                }
            }
        }
        Ok((0..len).map(|i| fresh[i] && !bad[i]).collect())
    }
}

/// The quorum's verdict for the steps of `spans` (`[a, b)`), from [`Queries::tally`].
async fn fetch_tally(
    client: &Client,
    q: &Queries,
    start: i64,
    st: i64,
    spans: &[(usize, usize)],
    steps: &mut [StepData],
) -> Result<(), query::Error> {
    let at = |k: usize| start + (k as i64 + 1) * st;
    let answers: Vec<Vec<query::Series>> = stream::iter(
        spans
            .iter()
            .map(|&(a, b)| client.query_range(&q.tally, at(a), at(b - 1), st as u64)),
    )
    .buffered(query::CONCURRENCY)
    .try_collect()
    .await?;
    for (&(a, b), series) in spans.iter().zip(answers) {
        for s in series {
            for (t, v) in s.points {
                if let Some(d) = step_index(t, start, st)
                    .filter(|k| (a..b).contains(k))
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
    }
    Ok(())
}

/// Locations and reasons for the failing steps, asked over `spans` of them.
async fn fetch_failing(
    client: &Client,
    q: &Queries,
    start: i64,
    st: i64,
    spans: &[(usize, usize)],
    steps: &mut [StepData],
) -> Result<(), query::Error> {
    let step = st as u64;
    let at = |k: usize| start + (k as i64 + 1) * st;
    for &(a, b) in spans {
        let mine = a..b;
        let (locs, reasons) = futures_util::future::try_join(
            client.query_range(&q.locations, at(a), at(b - 1), step),
            client.query_range(&q.reasons, at(a), at(b - 1), step),
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
    let unknown = clusters(
        (0..steps.len()).filter(|&k| steps[k].failing.is_none() && steps[k].cause.is_none()),
        block_steps(st),
    );
    let step = st as u64;
    let job = &cfg.alerting.job;
    let (down_q, blind_q) = (
        promql::count_probers_down(job),
        promql::count_probers_blind(job),
    );
    for (a, b) in unknown {
        let (down, blind) = futures_util::future::try_join(
            client.query_range(&down_q, at(a), at(b - 1), step),
            client.query_range(&blind_q, at(a), at(b - 1), step),
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
