//! The step history of a service: what Prometheus says about each probe
//! interval (the quorum's verdict, and for failing steps the locations and
//! reasons), and the maintenance windows that cover it.
//!
//! `report` reads one month of it, `status` the last 90 days; both classify
//! it with [`super::compute`], so a failure means the same thing on both.

use super::compute::{StepData, Window};
use super::plan::ServicePlan;
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

/// The queries for one service, from the shared definitions in [`promql`].
pub struct Queries {
    /// Per service, 1/0 while a quorum of the (freshly) reporting locations sees it failing.
    pub failing: String,
    /// Per location, present only while the service is failing and that location sees it.
    pub locations: String,
    /// Per reason, failed runs, present only while the service is failing.
    pub reasons: String,
}

impl Queries {
    pub fn new(cfg: &Config, p: &ServicePlan) -> Queries {
        let sel = Selector::service(&p.service);
        let fresh = promql::probe_success_fresh(&sel, p.round_seconds * 1500, &cfg.alerting.job);
        // A blind prober's results are unknown: not failure, not success.
        let seen = promql::probe_success_seen(&fresh, &cfg.alerting.job);
        let by_location = promql::location_failing_of(&seen, &p.all_addresses);
        let failing = promql::service_failing(&by_location, cfg.alerting.quorum);
        let locations = promql::while_failing(&format!("{by_location} == 1"), &failing);
        // Reasons only from probers that see: a blind one's failures say nothing.
        let increase = promql::failures_increase(&sel, &format!("{}ms", p.round_seconds * 2000));
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
            locations,
            reasons,
        }
    }
}

/// Index of the step a range-query point at `t` (a step's end) describes.
fn step_index(t: f64, start: i64, step: i64) -> Option<usize> {
    let k = ((t - start as f64) / step as f64).round() as i64 - 1;
    (k >= 0).then_some(k as usize)
}

/// What Prometheus says about `n` steps of `step` seconds from `start`: the
/// quorum's verdict for each, and for failing steps the locations and reasons.
/// Shared by `report` (one month) and `status` (the last 90 days).
pub async fn fetch_steps(
    client: &Client,
    q: &Queries,
    start: i64,
    n: usize,
    step: u64,
) -> Result<Vec<StepData>, query::Error> {
    let mut steps = vec![StepData::default(); n];
    let st = step as i64;
    let n = n as i64;
    if n > 0 {
        for s in client
            .query_range(&q.failing, start + st, start + n * st, step)
            .await?
        {
            for (t, v) in s.points {
                if let Some(d) = step_index(t, start, st).and_then(|k| steps.get_mut(k)) {
                    d.failing = Some(v >= 0.5);
                }
            }
        }
    }
    // Locations and reasons only where the service failed.
    let failing: Vec<usize> = (0..steps.len())
        .filter(|&k| steps[k].failing == Some(true))
        .collect();
    if let (Some(&first), Some(&last)) = (failing.first(), failing.last()) {
        let (a, b) = (
            start + (first as i64 + 1) * st,
            start + (last as i64 + 1) * st,
        );
        let (locs, reasons) = futures_util::future::try_join(
            client.query_range(&q.locations, a, b, step),
            client.query_range(&q.reasons, a, b, step),
        )
        .await?;
        for s in locs {
            let Some(loc) = s.labels.get("location") else {
                continue;
            };
            for (t, _) in s.points {
                if let Some(d) = step_index(t, start, st).and_then(|k| steps.get_mut(k)) {
                    d.locations.insert(loc.clone());
                }
            }
        }
        for s in reasons {
            let Some(reason) = s.labels.get("reason") else {
                continue;
            };
            for (t, v) in s.points {
                if let Some(d) = step_index(t, start, st).and_then(|k| steps.get_mut(k)) {
                    *d.reasons.entry(reason.clone()).or_default() += v;
                }
            }
        }
    }

    Ok(steps)
}
