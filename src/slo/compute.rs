//! The month's arithmetic over fetched samples: pure functions, no I/O.
//!
//! Every step of the probe interval is classified once (see [`classify`]);
//! operating, failure and unknown time, the incidents and the availability
//! figures all follow from that classification, so each second in the report
//! can be traced to one step and one reason.

use std::collections::{BTreeMap, BTreeSet};

/// A maintenance window as the report sees it (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub end: i64,
    pub announced_at: i64,
    /// Announced at least the required notice before it started: planned, not operating time.
    pub in_time: bool,
    pub title: String,
}

/// An exclusion as the figures see it (unix seconds): failure time inside it
/// is set aside (seed: 本SLOの適用範囲外). Operating time is unchanged; unknown
/// and maintenance time are never set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExclusionSpan {
    /// Its index in the configuration's `exclusions:`.
    pub id: usize,
    pub start: i64,
    pub end: i64,
}

/// Why a step is unknown, where that can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Prometheus recorded a failed scrape of a prober (`up == 0`).
    ProberDown,
    /// A prober said it cannot see (its self-checks failed).
    Blind,
    /// Older than the Prometheus retention: the data is gone.
    Retention,
    /// Before the first result Prometheus holds for the service.
    BeforeFirstSample,
    /// No sample: no scrape, a Prometheus that was down, or a gap in the data.
    NoSample,
}

impl Cause {
    pub const ALL: [Cause; 5] = [
        Cause::ProberDown,
        Cause::Blind,
        Cause::Retention,
        Cause::BeforeFirstSample,
        Cause::NoSample,
    ];

    /// The JSON name (`unknown_by_cause` keys).
    pub fn name(self) -> &'static str {
        match self {
            Cause::ProberDown => "prober_down",
            Cause::Blind => "blind",
            Cause::Retention => "retention",
            Cause::BeforeFirstSample => "before_first_sample",
            Cause::NoSample => "no_sample",
        }
    }

    /// Words for people: Japanese, English.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Cause::ProberDown => (
                "監視拠点の停止（Prometheus が取得に失敗）",
                "prober down (Prometheus could not scrape it)",
            ),
            Cause::Blind => (
                "監視拠点の回線断（自己診断の失敗）",
                "prober blind (its self-checks failed)",
            ),
            Cause::Retention => (
                "Prometheus の保存期間より前（データ削除済み）",
                "older than the Prometheus retention (data deleted)",
            ),
            Cause::BeforeFirstSample => (
                "監視開始前（最初のデータより前）",
                "before monitoring began (before the first sample)",
            ),
            Cause::NoSample => (
                "データの欠落（取得なし、Prometheus の停止など）",
                "no sample (not scraped, Prometheus down, or a gap)",
            ),
        }
    }
}

/// What Prometheus said about one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepData {
    /// `service_failing` at the end of the step: `None` when no location reported.
    pub failing: Option<bool>,
    /// Why no location reported (only for unknown steps, where it can be told).
    pub cause: Option<Cause>,
    /// How long a result stood for when this step was judged, in seconds: the
    /// longer of the probe interval and the measured scrape interval (0: not fetched).
    pub spacing: u64,
    /// Locations that saw the service failing (only asked for failing steps).
    pub locations: BTreeSet<String>,
    /// Failed runs by reason around the step (only asked for failing steps).
    pub reasons: BTreeMap<String, f64>,
}

/// Steps kept compactly: runs of equal consecutive steps. A service that was
/// up for 90 days of 15 s steps is a few runs (one per change of the result
/// spacing, failure or gap), not 500,000 [`StepData`]s; the figures read it
/// step by step exactly as they read a `Vec<StepData>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepRuns {
    /// Each run: the index one past its last step, and the step.
    runs: Vec<(usize, StepData)>,
}

impl StepRuns {
    /// The number of steps.
    pub fn len(&self) -> usize {
        self.runs.last().map_or(0, |r| r.0)
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The number of runs (what the memory is spent on).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    pub fn push(&mut self, d: StepData) {
        match self.runs.last_mut() {
            Some((end, last)) if *last == d => *end += 1,
            _ => {
                let end = self.len() + 1;
                self.runs.push((end, d));
            }
        }
    }

    pub fn last(&self) -> Option<&StepData> {
        self.runs.last().map(|r| &r.1)
    }

    /// Keeps the first `n` steps.
    pub fn truncate(&mut self, n: usize) {
        let mut i = self.runs.partition_point(|r| r.0 <= n);
        let start = i.checked_sub(1).map_or(0, |j| self.runs[j].0);
        if i < self.runs.len() && start < n {
            self.runs[i].0 = n;
            i += 1;
        }
        self.runs.truncate(i);
    }

    /// Drops the first `n` steps: step `n` becomes step 0.
    pub fn drop_front(&mut self, n: usize) {
        let i = self.runs.partition_point(|r| r.0 <= n);
        self.runs.drain(..i);
        for r in &mut self.runs {
            r.0 -= n;
        }
    }

    /// The steps from step `k` on, one by one.
    pub fn iter_from(&self, k: usize) -> impl Iterator<Item = &StepData> + '_ {
        let i = self.runs.partition_point(|r| r.0 <= k);
        let mut at = k;
        self.runs[i..].iter().flat_map(move |(end, d)| {
            let n = end - at;
            at = *end;
            std::iter::repeat_n(d, n)
        })
    }

    /// The index of the last step for which `pred` holds.
    pub fn rposition(&self, pred: impl Fn(&StepData) -> bool) -> Option<usize> {
        self.runs.iter().rev().find(|r| pred(&r.1)).map(|r| r.0 - 1)
    }
}

impl Extend<StepData> for StepRuns {
    fn extend<I: IntoIterator<Item = StepData>>(&mut self, iter: I) {
        for d in iter {
            self.push(d);
        }
    }
}

impl From<Vec<StepData>> for StepRuns {
    fn from(v: Vec<StepData>) -> StepRuns {
        let mut r = StepRuns::default();
        r.extend(v);
        r
    }
}

/// The inputs for one service and month.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// First second of the month.
    pub start: i64,
    /// End of what is reported (the month's end, or now for a month in progress).
    pub until: i64,
    /// End of the month (for the budget of a month in progress).
    pub month_end: i64,
    /// The probe interval: one step.
    pub step: i64,
    /// Step `k` covers `[start + k·step, start + (k+1)·step)`, cut at `until`.
    pub steps: Vec<StepData>,
    /// Windows of the service that overlap the month.
    pub windows: Vec<Window>,
    /// A failure seen this long after a planned window ends comes from a run that began inside it.
    pub grace: i64,
    /// Exclusions of the service that overlap the period (no two overlap).
    pub exclusions: Vec<ExclusionSpan>,
}

/// What a step counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Inside planned maintenance: not operating time.
    Maintenance,
    /// Operating and a quorum of the reporting locations saw the service failing.
    Failure,
    /// Operating, failing, but within the grace after a planned window (not held against the service).
    Grace,
    /// Operating and no location reported.
    Unknown,
    /// Operating and not failing.
    Up,
}

/// Unknown time between two stretches of failure up to this long keeps them
/// one incident: a scrape gap in the middle of an outage does not make two.
pub const MERGE_UNKNOWN_SECONDS: i64 = 120;

/// An interval of failure time.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub start: i64,
    pub end: i64,
    /// Failure seconds inside it.
    pub seconds: i64,
    /// Unknown seconds inside it (between its stretches of failure).
    pub unknown_seconds: i64,
    pub locations: Vec<String>,
    pub reason: Option<String>,
    /// Failure seconds inside it set aside by exclusions.
    pub excluded_seconds: i64,
    /// Ids ([`ExclusionSpan::id`]) of the exclusions that set some of it aside.
    pub exclusions: Vec<usize>,
}

/// The month's figures for one service.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub month_seconds: i64,
    pub operating_seconds: i64,
    pub maintenance_seconds: i64,
    pub failure_seconds: i64,
    pub unknown_seconds: i64,
    /// Failures seen within the grace after a planned window, not counted.
    pub grace_seconds: i64,
    /// Operating time of the whole month (equal to `operating_seconds` once the month is over).
    pub month_operating_seconds: i64,
    pub incidents: Vec<Incident>,
    /// Unknown seconds by cause (a step whose cause was not told counts as [`Cause::NoSample`]).
    pub unknown_by_cause: BTreeMap<Cause, i64>,
    /// Failure seconds inside exclusions (part of `failure_seconds`, never unknown or maintenance).
    pub excluded_failure_seconds: i64,
    /// Failure seconds each exclusion of the inputs set aside, by id (0 for one that set nothing aside).
    pub excluded_by: BTreeMap<usize, i64>,
}

impl Figures {
    /// (operating − failure) ÷ operating, the seed's formula: only known failure counts.
    pub fn availability(&self) -> Ratio {
        Ratio::new(
            self.operating_seconds - self.failure_seconds,
            self.operating_seconds,
        )
    }

    /// (operating − (failure − excluded)) ÷ operating: the seed's formula with
    /// the failure time inside exclusions set aside.
    pub fn availability_adjusted(&self) -> Ratio {
        Ratio::new(
            self.operating_seconds - (self.failure_seconds - self.excluded_failure_seconds),
            self.operating_seconds,
        )
    }

    /// The figure a verdict is judged on: adjusted when `apply_exclusions`.
    pub fn availability_judged(&self, apply_exclusions: bool) -> Ratio {
        if apply_exclusions {
            self.availability_adjusted()
        } else {
            self.availability()
        }
    }

    /// Observed operating time ÷ operating time: how much of the period the figure saw.
    pub fn coverage(&self) -> Ratio {
        Ratio::new(
            self.operating_seconds - self.unknown_seconds,
            self.operating_seconds,
        )
    }

    /// Unknown time counted as failure.
    pub fn availability_worst_case(&self) -> Ratio {
        Ratio::new(
            self.operating_seconds - self.failure_seconds - self.unknown_seconds,
            self.operating_seconds,
        )
    }
}

/// What a period's availability figure may claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// At least the objective, over enough observed time.
    Met,
    /// Below the objective with the failure time seen: more data could only add failure.
    Missed,
    /// At least the objective with what was seen, but too little was seen to say so.
    NotDeterminable,
}

impl Verdict {
    /// `objective` as a ratio (0.9999), `min_coverage` in percent (99).
    pub fn of(f: &Figures, objective: f64, min_coverage: f64) -> Verdict {
        Verdict::judged(f, objective, min_coverage, false)
    }

    /// As [`Verdict::of`], on the adjusted figure when `apply_exclusions`
    /// (`objectives.apply_exclusions`). Coverage is the same either way:
    /// unknown time is never excluded.
    pub fn judged(
        f: &Figures,
        objective: f64,
        min_coverage: f64,
        apply_exclusions: bool,
    ) -> Verdict {
        if !f.availability_judged(apply_exclusions).at_least(objective) {
            Verdict::Missed
        } else if !f.coverage().at_least(min_coverage / 100.0) {
            Verdict::NotDeterminable
        } else {
            Verdict::Met
        }
    }

    /// Japanese / English, as the text outputs print it.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Verdict::Met => ("達成", "met"),
            Verdict::Missed => ("未達", "missed"),
            Verdict::NotDeterminable => ("判定不能", "not determinable"),
        }
    }
}

/// An exact fraction of whole seconds, so that a percentage can be floored exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    pub num: i64,
    pub den: i64,
}

impl Ratio {
    pub fn new(num: i64, den: i64) -> Ratio {
        if den <= 0 {
            // No operating time: nothing could fail.
            Ratio { num: 1, den: 1 }
        } else {
            Ratio {
                num: num.max(0),
                den,
            }
        }
    }
    pub fn percent(self) -> f64 {
        self.num as f64 * 100.0 / self.den as f64
    }
    /// At least `objective` (a ratio such as 0.9999, itself a short decimal):
    /// num/den ≥ objective, compared in integers at 12 decimals.
    pub fn at_least(self, objective: f64) -> bool {
        let scale: i128 = 1_000_000_000_000;
        let obj = (objective * scale as f64).round() as i128;
        self.num as i128 * scale >= obj * self.den as i128
    }
}

/// Total length of the union of `[a, b)` intervals within `[lo, hi)`.
fn overlap(windows: &[(i64, i64)], lo: i64, hi: i64) -> i64 {
    let mut v: Vec<(i64, i64)> = windows
        .iter()
        .map(|&(a, b)| (a.max(lo), b.min(hi)))
        .filter(|(a, b)| a < b)
        .collect();
    v.sort();
    let mut total = 0;
    let mut cur: Option<(i64, i64)> = None;
    for (a, b) in v {
        match cur {
            Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                cur = Some((a, b));
            }
            None => cur = Some((a, b)),
        }
    }
    if let Some((a, b)) = cur {
        total += b - a;
    }
    total
}

/// Classifies step `[a, b)`: the part inside planned windows is maintenance; the
/// rest is unknown when no location reported, failure when a quorum saw the
/// service failing (grace when that is within `grace` after a planned window
/// ended), up otherwise. Returns `(maintenance seconds, class of the rest, rest seconds)`.
pub fn classify(
    a: i64,
    b: i64,
    failing: Option<bool>,
    planned: &[(i64, i64)],
    grace: i64,
) -> (i64, Class, i64) {
    let m = overlap(planned, a, b);
    let rest = (b - a) - m;
    if rest == 0 {
        return (m, Class::Maintenance, 0);
    }
    let class = match failing {
        None => Class::Unknown,
        Some(false) => Class::Up,
        Some(true) => {
            let after: Vec<(i64, i64)> = planned.iter().map(|&(_, e)| (e, e + grace)).collect();
            if overlap(&after, a, b) > 0 {
                Class::Grace
            } else {
                Class::Failure
            }
        }
    };
    (m, class, rest)
}

/// The month's figures from its steps.
pub fn figures(inp: &Inputs) -> Figures {
    figures_of(inp, inp.steps.iter())
}

/// As [`figures`], with step `k` the `k`-th that `steps` gives (those it
/// does not give are unknown) instead of `inp.steps`.
fn figures_of<'a>(inp: &Inputs, mut steps: impl Iterator<Item = &'a StepData>) -> Figures {
    let planned: Vec<(i64, i64)> = inp
        .windows
        .iter()
        .filter(|w| w.in_time)
        .map(|w| (w.start, w.end))
        .collect();
    let mut f = Figures {
        month_seconds: inp.until - inp.start,
        operating_seconds: 0,
        maintenance_seconds: 0,
        failure_seconds: 0,
        unknown_seconds: 0,
        grace_seconds: 0,
        month_operating_seconds: (inp.month_end - inp.start)
            - overlap(&planned, inp.start, inp.month_end),
        incidents: Vec::new(),
        unknown_by_cause: BTreeMap::new(),
        excluded_failure_seconds: 0,
        excluded_by: inp
            .exclusions
            .iter()
            .filter(|x| x.start < inp.until && x.end > inp.start)
            .map(|x| (x.id, 0))
            .collect(),
    };
    // The open incident, its reasons, and unknown seconds since its last failure.
    let mut open: Option<(Incident, BTreeMap<String, f64>)> = None;
    let mut pending_unknown = 0;
    let n = ((inp.until - inp.start) + inp.step - 1) / inp.step.max(1);
    let empty = StepData::default();
    for k in 0..n.max(0) {
        let a = inp.start + k * inp.step;
        let b = (a + inp.step).min(inp.until);
        let d = steps.next().unwrap_or(&empty);
        let (m, class, rest) = classify(a, b, d.failing, &planned, inp.grace);
        f.maintenance_seconds += m;
        // Failure seconds of this step inside each exclusion (outside the planned windows).
        let mut excluded_here: Vec<(usize, i64)> = Vec::new();
        if class == Class::Failure {
            for x in &inp.exclusions {
                let (xa, xb) = (x.start.max(a), x.end.min(b));
                if xa < xb {
                    let secs = (xb - xa) - overlap(&planned, xa, xb);
                    if secs > 0 {
                        excluded_here.push((x.id, secs));
                        f.excluded_failure_seconds += secs;
                        *f.excluded_by.entry(x.id).or_default() += secs;
                    }
                }
            }
        }
        match class {
            Class::Maintenance => {}
            Class::Failure => f.failure_seconds += rest,
            Class::Grace => f.grace_seconds += rest,
            Class::Unknown => {
                f.unknown_seconds += rest;
                *f.unknown_by_cause
                    .entry(d.cause.unwrap_or(Cause::NoSample))
                    .or_default() += rest;
            }
            Class::Up => {}
        }
        match class {
            Class::Failure => {
                let (inc, reasons) = open.get_or_insert_with(|| {
                    (
                        Incident {
                            start: a,
                            end: b,
                            seconds: 0,
                            unknown_seconds: 0,
                            locations: Vec::new(),
                            reason: None,
                            excluded_seconds: 0,
                            exclusions: Vec::new(),
                        },
                        BTreeMap::new(),
                    )
                });
                inc.end = b;
                inc.seconds += rest;
                for &(id, secs) in &excluded_here {
                    inc.excluded_seconds += secs;
                    if !inc.exclusions.contains(&id) {
                        inc.exclusions.push(id);
                    }
                }
                inc.unknown_seconds += std::mem::take(&mut pending_unknown);
                for l in &d.locations {
                    if !inc.locations.contains(l) {
                        inc.locations.push(l.clone());
                    }
                }
                for (r, v) in &d.reasons {
                    *reasons.entry(r.clone()).or_default() += v;
                }
            }
            // A short stretch of unknown inside an outage does not end it.
            Class::Unknown if open.is_some() && pending_unknown + rest <= MERGE_UNKNOWN_SECONDS => {
                pending_unknown += rest;
            }
            _ => {
                pending_unknown = 0;
                if let Some(done) = open.take() {
                    f.incidents.push(close(done));
                }
            }
        }
    }
    if let Some(done) = open.take() {
        f.incidents.push(close(done));
    }
    f.operating_seconds = f.month_seconds - f.maintenance_seconds;
    f
}

/// The figures of `[a, b)` from steps of `step` seconds beginning at `start`
/// (`end`: the end of the period whose operating time sets the budget, e.g.
/// the month's end for a month in progress).
#[allow(clippy::too_many_arguments)]
pub fn figures_between(
    steps: &[StepData],
    start: i64,
    step: i64,
    windows: &[Window],
    exclusions: &[ExclusionSpan],
    grace: i64,
    a: i64,
    b: i64,
    end: i64,
) -> Figures {
    let (inp, k0, k1) = between(start, step, windows, exclusions, grace, a, b, end);
    let steps = steps
        .get(k0.min(steps.len())..k1.min(steps.len()))
        .unwrap_or(&[]);
    figures_of(&inp, steps.iter())
}

/// As [`figures_between`], from steps kept as runs (without copying them).
#[allow(clippy::too_many_arguments)]
pub fn figures_between_runs(
    steps: &StepRuns,
    start: i64,
    step: i64,
    windows: &[Window],
    exclusions: &[ExclusionSpan],
    grace: i64,
    a: i64,
    b: i64,
    end: i64,
) -> Figures {
    let (inp, k0, k1) = between(start, step, windows, exclusions, grace, a, b, end);
    figures_of(&inp, steps.iter_from(k0).take(k1.saturating_sub(k0)))
}

/// The inputs of [`figures_between`] without their steps, and the range of
/// step indices `[k0, k1)` they are taken from.
#[allow(clippy::too_many_arguments)]
fn between(
    start: i64,
    step: i64,
    windows: &[Window],
    exclusions: &[ExclusionSpan],
    grace: i64,
    a: i64,
    b: i64,
    end: i64,
) -> (Inputs, usize, usize) {
    let step = step.max(1);
    let k0 = ((a - start).max(0) / step) as usize;
    let k1 = (((b - start).max(0) + step - 1) / step) as usize;
    let inp = Inputs {
        start: a,
        until: b,
        month_end: end,
        step,
        steps: Vec::new(),
        windows: windows.to_vec(),
        grace,
        exclusions: exclusions.to_vec(),
    };
    (inp, k0, k1)
}

fn close((mut inc, reasons): (Incident, BTreeMap<String, f64>)) -> Incident {
    inc.locations.sort();
    // The reason with the most failed runs; ties go to the first in name order.
    inc.reason = reasons
        .into_iter()
        .filter(|(_, v)| *v > 0.0)
        .fold(None::<(String, f64)>, |best, (r, v)| match best {
            Some((_, bv)) if bv >= v => best,
            _ => Some((r, v)),
        })
        .map(|(r, _)| r);
    inc
}

/// Share of successful operations answered within the threshold, in percent;
/// `None` when there were none.
pub fn within_percent(good: f64, total: f64) -> Option<f64> {
    (total > 0.0).then(|| (good / total * 100.0).clamp(0.0, 100.0))
}

/// Floors a percentage to `decimals` places for text: never rounds up.
/// `exact` is the fraction when it is known exactly (time figures); for
/// measured ratios (latency) the float is used, with binary noise below
/// 1e-9 of a unit of the last place ignored.
pub fn floor_percent(pct: f64, exact: Option<Ratio>, decimals: u32) -> String {
    let scale = 10_i128.pow(decimals);
    let units: i128 = match exact {
        Some(r) if r.den > 0 => (r.num as i128 * 100 * scale).div_euclid(r.den as i128),
        _ => {
            let y = pct * scale as f64;
            let near = y.round();
            if (y - near).abs() < 1e-9 * near.abs().max(1.0) {
                near as i128
            } else {
                y.floor() as i128
            }
        }
    };
    let int = units.div_euclid(scale);
    let frac = units.rem_euclid(scale);
    if decimals == 0 {
        format!("{int}")
    } else {
        format!("{int}.{frac:0width$}", width = decimals as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86400;

    fn inputs(steps: Vec<Option<bool>>, step: i64) -> Inputs {
        let n = steps.len() as i64;
        Inputs {
            start: 0,
            until: n * step,
            month_end: n * step,
            step,
            steps: steps
                .into_iter()
                .map(|failing| StepData {
                    failing,
                    ..Default::default()
                })
                .collect(),
            windows: vec![],
            grace: 60,
            exclusions: vec![],
        }
    }

    #[test]
    fn floors_never_round_up() {
        assert_eq!(floor_percent(99.99995, None, 3), "99.999");
        assert_eq!(floor_percent(99.9899, None, 3), "99.989");
        assert_eq!(floor_percent(99.99, None, 3), "99.990");
        assert_eq!(floor_percent(100.0, None, 3), "100.000");
        // 2,591,999 of 2,592,000 s: 99.99996 %, not 100.000 %.
        let r = Ratio::new(2_591_999, 2_592_000);
        assert_eq!(floor_percent(r.percent(), Some(r), 3), "99.999");
        let r = Ratio::new(9999, 10000);
        assert_eq!(floor_percent(r.percent(), Some(r), 3), "99.990");
        assert!(r.at_least(0.9999));
        assert!(!Ratio::new(99_989_999, 100_000_000).at_least(0.9999));
    }

    #[test]
    fn steps_classify_once() {
        let mut v = vec![Some(false); 10];
        v[2] = Some(true);
        v[3] = Some(true);
        v[5] = None;
        v[7] = Some(true);
        let f = figures(&inputs(v, 60));
        assert_eq!(f.month_seconds, 600);
        assert_eq!(f.failure_seconds, 180);
        assert_eq!(f.unknown_seconds, 60);
        assert_eq!(f.operating_seconds, 600);
        assert_eq!(
            f.incidents
                .iter()
                .map(|i| (i.start, i.end, i.seconds))
                .collect::<Vec<_>>(),
            [(120, 240, 120), (420, 480, 60)]
        );
        assert_eq!(f.availability(), Ratio::new(420, 600));
        assert_eq!(f.availability_worst_case(), Ratio::new(360, 600));
    }

    #[test]
    fn planned_windows_are_not_operating_time_and_late_ones_are() {
        let mut inp = inputs(vec![Some(true); 20], 60);
        inp.windows = vec![
            Window {
                start: 0,
                end: 300,
                announced_at: -200 * DAY,
                in_time: true,
                title: String::new(),
            },
            Window {
                start: 600,
                end: 900,
                announced_at: -DAY,
                in_time: false,
                title: String::new(),
            },
        ];
        let f = figures(&inp);
        assert_eq!(f.maintenance_seconds, 300);
        assert_eq!(f.operating_seconds, 900);
        // 300–360 is the grace after the planned window; everything after is failure.
        assert_eq!(f.grace_seconds, 60);
        assert_eq!(f.failure_seconds, 840);
        assert_eq!(f.incidents.len(), 1);
        assert_eq!(f.incidents[0].start, 360);
    }

    #[test]
    fn a_step_cut_by_a_window_counts_its_parts() {
        let mut inp = inputs(vec![Some(true); 3], 60);
        inp.grace = 0;
        inp.windows = vec![Window {
            start: 90,
            end: 120,
            announced_at: 0,
            in_time: true,
            title: String::new(),
        }];
        let f = figures(&inp);
        assert_eq!((f.maintenance_seconds, f.failure_seconds), (30, 150));
    }

    #[test]
    fn incidents_name_locations_and_the_dominant_reason() {
        let mut inp = inputs(vec![Some(true), Some(true), Some(false)], 60);
        inp.steps[0].locations = ["tokyo".to_string(), "osaka".into()].into();
        inp.steps[1].locations = ["fukuoka".to_string()].into();
        inp.steps[0].reasons = [("timeout".to_string(), 2.0), ("status".into(), 1.0)].into();
        inp.steps[1].reasons = [("status".to_string(), 2.0)].into();
        let f = figures(&inp);
        assert_eq!(f.incidents[0].locations, ["fukuoka", "osaka", "tokyo"]);
        assert_eq!(f.incidents[0].reason.as_deref(), Some("status"));
    }

    #[test]
    fn missing_steps_are_unknown_never_up() {
        let mut inp = inputs(vec![Some(false); 2], 60);
        inp.until = 600;
        inp.month_end = 600;
        let f = figures(&inp);
        assert_eq!(f.unknown_seconds, 480);
    }

    #[test]
    fn unknown_inside_an_outage_keeps_one_incident_up_to_the_bound() {
        // failure, 60 s unknown, failure: one incident with 60 s unknown inside.
        let v = vec![Some(true), None, None, None, None, Some(true), Some(false)];
        let f = figures(&inputs(v, 15));
        assert_eq!(f.incidents.len(), 1);
        let i = &f.incidents[0];
        assert_eq!(
            (i.start, i.end, i.seconds, i.unknown_seconds),
            (0, 90, 30, 60)
        );
        // Past the bound (120 s), two incidents; the unknown belongs to neither.
        let mut v = vec![Some(true)];
        v.extend(vec![None; 9]);
        v.push(Some(true));
        let f = figures(&inputs(v, 15));
        assert_eq!(f.incidents.len(), 2);
        assert_eq!(f.incidents[0].unknown_seconds, 0);
        assert_eq!((f.incidents[0].end, f.incidents[1].start), (15, 150));
        // Unknown that ends in success is not part of the incident.
        let f = figures(&inputs(vec![Some(true), None, Some(false), Some(true)], 15));
        assert_eq!(f.incidents.len(), 2);
        assert_eq!(f.incidents[0].unknown_seconds, 0);
    }

    #[test]
    fn coverage_is_observed_operating_time_and_causes_add_up() {
        let mut inp = inputs(vec![Some(false), None, None, Some(false)], 60);
        inp.steps[1].cause = Some(Cause::ProberDown);
        let f = figures(&inp);
        assert_eq!(f.coverage(), Ratio::new(120, 240));
        assert_eq!(f.unknown_by_cause[&Cause::ProberDown], 60);
        assert_eq!(f.unknown_by_cause[&Cause::NoSample], 60);
    }

    #[test]
    fn too_little_observed_is_not_determinable_but_a_miss_is_a_miss() {
        // 2 of 100 steps observed, both up: 100 % of what was seen, 2 % coverage.
        let mut v = vec![None; 100];
        v[0] = Some(false);
        v[1] = Some(false);
        let f = figures(&inputs(v.clone(), 60));
        assert_eq!(f.availability(), Ratio::new(6000, 6000));
        assert_eq!(Verdict::of(&f, 0.9999, 99.0), Verdict::NotDeterminable);
        assert_eq!(Verdict::of(&f, 0.9999, 1.0), Verdict::Met);
        v[1] = Some(true);
        let f = figures(&inputs(v, 60));
        assert_eq!(Verdict::of(&f, 0.9999, 99.0), Verdict::Missed);
        let all = figures(&inputs(vec![Some(false); 100], 60));
        assert_eq!(all.coverage(), Ratio::new(6000, 6000));
        assert_eq!(Verdict::of(&all, 0.9999, 100.0), Verdict::Met);
    }

    fn x(id: usize, start: i64, end: i64) -> ExclusionSpan {
        ExclusionSpan { id, start, end }
    }

    #[test]
    fn exclusions_set_aside_failure_only() {
        // 20 steps of 60 s: failure 120–480, unknown 600–720, failure 900–1020,
        // a planned window 1080–1200 (failing inside), up elsewhere.
        let mut v = vec![Some(false); 20];
        for k in [2, 3, 4, 5, 6, 7, 15, 16, 18, 19] {
            v[k] = Some(true);
        }
        v[10] = None;
        v[11] = None;
        let mut inp = inputs(v, 60);
        inp.grace = 0;
        inp.windows = vec![Window {
            start: 1080,
            end: 1200,
            announced_at: -200 * DAY,
            in_time: true,
            title: String::new(),
        }];
        let base = figures(&inp);
        assert_eq!(base.failure_seconds, 360 + 120);
        assert_eq!(base.excluded_failure_seconds, 0);
        assert_eq!(base.availability_adjusted(), base.availability());
        inp.exclusions = vec![
            // The first outage exactly.
            x(0, 120, 480),
            // Half of the second one, cutting a step: 930–990.
            x(1, 930, 990),
            // Time that was up: changes nothing.
            x(2, 0, 120),
            // Unknown time: stays unknown.
            x(3, 600, 720),
            // The planned window: not operating time, sets nothing aside.
            x(4, 1080, 1200),
        ];
        let f = figures(&inp);
        assert_eq!(f.failure_seconds, base.failure_seconds);
        assert_eq!(f.operating_seconds, base.operating_seconds);
        assert_eq!(f.unknown_seconds, base.unknown_seconds);
        assert_eq!(f.maintenance_seconds, base.maintenance_seconds);
        assert_eq!(
            f.excluded_by,
            [(0, 360), (1, 60), (2, 0), (3, 0), (4, 0)].into()
        );
        assert_eq!(f.excluded_failure_seconds, 420);
        assert_eq!(
            f.availability_adjusted(),
            Ratio::new(
                f.operating_seconds - (f.failure_seconds - 420),
                f.operating_seconds
            )
        );
        assert_eq!(f.coverage(), base.coverage());
        // Each exclusion changes the figure by exactly its own failure seconds.
        for (i, (&id, &secs)) in f.excluded_by.iter().enumerate() {
            let mut without = inp.clone();
            without.exclusions.remove(i);
            let g = figures(&without);
            assert_eq!(
                g.excluded_failure_seconds + secs,
                f.excluded_failure_seconds,
                "exclusion {id}"
            );
            assert_eq!(
                g.availability_adjusted().num + secs,
                f.availability_adjusted().num
            );
        }
        // The incidents stay as they happened, marked with what was set aside.
        let marks: Vec<_> = f
            .incidents
            .iter()
            .map(|i| {
                (
                    i.start,
                    i.end,
                    i.seconds,
                    i.excluded_seconds,
                    i.exclusions.clone(),
                )
            })
            .collect();
        assert_eq!(
            marks,
            [(120, 480, 360, 360, vec![0]), (900, 1020, 120, 60, vec![1])]
        );
        // The verdict: judged on the adjusted figure only when asked.
        assert_eq!(Verdict::judged(&f, 0.9, 0.0, false), Verdict::Missed);
        assert_eq!(Verdict::judged(&f, 0.9, 0.0, true), Verdict::Met);
        assert_eq!(Verdict::of(&f, 0.9, 0.0), Verdict::Missed);
    }

    #[test]
    fn a_day_slice_sees_only_its_part_of_an_exclusion() {
        let mut inp = inputs(vec![Some(true); 10], 60);
        inp.exclusions = vec![x(7, 0, 600)];
        let f = figures_between(&inp.steps, 0, 60, &[], &inp.exclusions, 0, 300, 600, 600);
        assert_eq!((f.failure_seconds, f.excluded_failure_seconds), (300, 300));
        assert_eq!(f.excluded_by, [(7, 300)].into());
        assert_eq!(f.availability_adjusted(), Ratio::new(300, 300));
    }

    #[test]
    fn runs_give_the_figures_of_the_steps_themselves() {
        // A pseudo-random history with long quiet runs, failures with
        // locations and reasons, gaps with causes and changes of spacing.
        let mut seed: u64 = 7;
        let mut rnd = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let steps: Vec<StepData> = (0..5000)
            .map(|k| {
                let mut d = StepData {
                    failing: Some(false),
                    spacing: if k < 2500 { 15 } else { 30 },
                    ..Default::default()
                };
                if (1000..1100).contains(&k) || rnd(200) == 0 {
                    d.failing = Some(true);
                    d.locations = [["a", "b"][rnd(2) as usize].to_string()].into();
                    d.reasons = [("timeout".to_string(), rnd(3) as f64)].into();
                } else if (3000..3050).contains(&k) || rnd(300) == 0 {
                    d.failing = None;
                    d.cause = [None, Some(Cause::ProberDown)][rnd(2) as usize];
                }
                d
            })
            .collect();
        let mut runs = StepRuns::from(steps.clone());
        assert_eq!(runs.len(), steps.len());
        assert!(runs.runs() < steps.len() / 4, "{}", runs.runs());
        let flat = |r: &StepRuns| r.iter_from(0).cloned().collect::<Vec<_>>();
        assert_eq!(flat(&runs), steps);
        assert_eq!(runs.iter_from(1234).next(), steps.get(1234));
        assert_eq!(
            runs.rposition(|d| d.failing.is_none()),
            steps.iter().rposition(|d| d.failing.is_none())
        );
        let windows = [Window {
            start: 15 * 2000,
            end: 15 * 2100 + 7,
            announced_at: 0,
            in_time: true,
            title: String::new(),
        }];
        let xs = [x(0, 15 * 1050, 15 * 1060 + 3)];
        for (a, b) in [
            (0, 75_000),
            (7, 30_011),
            (15_000, 16_500),
            (74_000, 80_000),
            (-60, 900),
        ] {
            assert_eq!(
                figures_between_runs(&runs, 0, 15, &windows, &xs, 60, a, b, b + 100),
                figures_between(&steps, 0, 15, &windows, &xs, 60, a, b, b + 100),
                "[{a}, {b})"
            );
        }
        // Cut and shifted as the status cache does it.
        runs.truncate(4321);
        assert_eq!(flat(&runs), steps[..4321]);
        runs.drop_front(999);
        assert_eq!(flat(&runs), steps[999..4321]);
        runs.truncate(0);
        assert!(runs.is_empty());
    }
}
