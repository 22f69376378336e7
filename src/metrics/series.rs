//! The per-transaction series, kept as plain atomics with their label text
//! escaped once, and written straight into the exposition.
//!
//! Ten thousand transactions make about a million exposition lines. The
//! `prometheus` crate's gather-and-encode copies every label of every series
//! into protobuf structures on each scrape (1.5 s for 10,000 transactions, see
//! BENCHMARKS.md); here a scrape reads atomics and copies prepared text. The
//! output is byte for byte what the `prometheus` crate wrote: label pairs
//! sorted by name, series sorted by label values, values formatted alike.

use crate::promql::metric;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use crate::probe::outcome::{Phase, Reason};

/// An `f64` updated without a lock.
pub struct AtomicF64(AtomicU64);

impl AtomicF64 {
    const fn zero() -> Self {
        // 0.0 is all zero bits.
        AtomicF64(AtomicU64::new(0))
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Relaxed))
    }

    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Relaxed);
    }

    fn add(&self, v: f64) {
        let _ = self.0.fetch_update(Relaxed, Relaxed, |b| {
            Some((f64::from_bits(b) + v).to_bits())
        });
    }
}

/// A counter that only goes up.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.inc_by(1);
    }

    pub fn inc_by(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// The bucket bounds every latency histogram shares, with their `le` label text.
pub struct Buckets {
    bounds: Vec<f64>,
    /// `le="0.05"` … `le="+Inf"`: one more than `bounds`.
    le: Vec<String>,
}

impl Buckets {
    pub fn new(bounds: &[f64]) -> Self {
        let bounds: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        let le = bounds
            .iter()
            .map(|b| format!("le=\"{b}\""))
            .chain(std::iter::once("le=\"+Inf\"".to_string()))
            .collect();
        Buckets { bounds, le }
    }
}

/// A histogram whose `_count` is the sum of its buckets, so `_count` and the
/// `+Inf` bucket always agree.
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last one is above every
    /// bound. Only that one (`le="+Inf"`) for a histogram without buckets.
    counts: Box<[AtomicU64]>,
    sum: AtomicF64,
}

impl Histogram {
    fn new(b: &Buckets) -> Self {
        Histogram {
            counts: (0..b.le.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicF64::zero(),
        }
    }

    /// Count and sum only: its one bucket is `le="+Inf"`. What failed runs
    /// and operations keep (see [`RESULTS`]).
    fn without_buckets() -> Self {
        Histogram {
            counts: Box::new([AtomicU64::new(0)]),
            sum: AtomicF64::zero(),
        }
    }

    /// Counts `v` in the first bucket whose bound is ≥ `v`, as Prometheus defines `le`.
    pub fn observe(&self, b: &Buckets, v: f64) {
        let i = if self.counts.len() == 1 {
            0
        } else {
            b.bounds
                .iter()
                .position(|bound| v <= *bound)
                .unwrap_or(b.bounds.len())
        };
        self.counts[i].fetch_add(1, Relaxed);
        self.sum.add(v);
    }
}

/// `result` label values in sorted order; `[0]` is the failure series.
///
/// Only successes are bucketed: the latency objective, the dashboards'
/// quantiles and the shares within the threshold read successful durations.
/// Failed runs and operations keep their count and sum (a histogram with the
/// `le="+Inf"` bucket alone), 3 series instead of one per bucket boundary + 3.
const RESULTS: [&str; 2] = ["result=\"failure\"", "result=\"success\""];

/// The duration histograms of a transaction or a step, indexed by
/// `success as usize`: failures without buckets, successes with them.
fn durations(b: &Buckets) -> [Histogram; 2] {
    [Histogram::without_buckets(), Histogram::new(b)]
}

/// The store's key: unescaped (location, service, transaction, ip), `ip`
/// empty for transactions that run against one address.
pub type Key = (String, String, String, String);

/// `attempt` and `outcome` label pairs, indexed by `2 * retry + success`
/// as [`TxSeries::attempts`] is: sorted.
const ATTEMPTS: [(&str, &str); 4] = [
    ("attempt=\"first\"", "outcome=\"failure\""),
    ("attempt=\"first\"", "outcome=\"success\""),
    ("attempt=\"retry\"", "outcome=\"failure\""),
    ("attempt=\"retry\"", "outcome=\"success\""),
];

/// One transaction's series at one location (and, with `resolve: all`, one address).
pub struct TxSeries {
    /// The sort key.
    key: Key,
    /// Escaped `ip="…"`, or empty: no `ip` label.
    ip: String,
    /// Escaped label pairs: `location="…"`, `service="…"`, `transaction="…"`.
    location: String,
    service: String,
    transaction: String,
    /// Bits of the latest result (0.0 or 1.0); [`NO_RUN`] until the first run ends.
    success: AtomicU64,
    /// Until when (nanoseconds since the store's monotonic origin) the latest
    /// result is listed; after that `probe_success` is withdrawn (see
    /// [`super::stale_after`]).
    fresh_until: AtomicU64,
    /// Indexed by `success as usize`; listed and observed only when
    /// [`TxSeries::whole_run`] is set.
    pub duration: [Histogram; 2],
    /// Whether the run's own duration histogram is kept: only for
    /// transactions of more than one step. A one-step run's duration is its
    /// step's (the same observations), so `mimamori_step_duration_seconds`
    /// alone carries it.
    pub whole_run: std::sync::atomic::AtomicBool,
    /// Indexed like [`Reason::ALL`].
    pub failures: [Counter; Reason::ALL.len()],
    pub skipped: Arc<Counter>,
    /// Whether the transaction retries: only then are `attempts` and
    /// `final_success` listed.
    pub retrying: std::sync::atomic::AtomicBool,
    /// A browser transaction: its failures are listed by
    /// [`Reason::BROWSER`], an HTTP transaction's by [`Reason::HTTP`].
    pub browser: std::sync::atomic::AtomicBool,
    /// Indexed by `2 * retry + success` (see [`ATTEMPTS`]).
    pub attempts: [Counter; 4],
    /// Bits of the latest final result; [`NO_RUN`] until the first run ends.
    final_success: AtomicU64,
    /// By unescaped step name.
    steps: Mutex<BTreeMap<String, Arc<StepSeries>>>,
}

/// Not a value `probe_success` ever takes: the series is absent.
const NO_RUN: u64 = u64::MAX;

impl TxSeries {
    /// Records the latest result, listed until `fresh_until` (nanoseconds on
    /// the store's [`Store::now`] clock).
    pub fn set_success(&self, ok: bool, fresh_until: u64) {
        self.fresh_until.store(fresh_until, Relaxed);
        self.success
            .store(if ok { 1.0f64 } else { 0.0f64 }.to_bits(), Relaxed);
    }

    pub fn set_final_success(&self, ok: bool) {
        self.final_success
            .store(if ok { 1.0f64 } else { 0.0f64 }.to_bits(), Relaxed);
    }

    /// Removes the steps' series (a transaction that now runs against
    /// every address keeps them per address instead).
    pub fn clear_steps(&self) {
        self.steps.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Takes `probe_success` (and `final_success`) out of the exposition
    /// until the next result.
    pub fn clear_success(&self) {
        self.success.store(NO_RUN, Relaxed);
        self.final_success.store(NO_RUN, Relaxed);
    }

    /// The latest result's bits if it is listed at `now`.
    fn success_at(&self, now: u64) -> Option<u64> {
        self.listed(self.success.load(Relaxed), now)
    }

    /// The latest final result's bits if it is listed at `now`.
    fn final_success_at(&self, now: u64) -> Option<u64> {
        self.listed(self.final_success.load(Relaxed), now)
    }

    /// `bits` unless no run ended yet or the result went stale by `now`.
    fn listed(&self, bits: u64, now: u64) -> Option<u64> {
        (bits != NO_RUN && now < self.fresh_until.load(Relaxed)).then_some(bits)
    }
}

/// One step's series.
pub struct StepSeries {
    /// Unescaped step name: part of the sort key.
    name: String,
    /// Escaped `step="…"`.
    step: String,
    /// Indexed by `success as usize`.
    pub duration: [Histogram; 2],
    /// Indexed like [`Phase::ALL`].
    pub phases: [AtomicF64; Phase::ALL.len()],
}

/// Every transaction's series, ordered as the exposition lists them.
pub struct Store {
    pub buckets: Arc<Buckets>,
    /// The monotonic origin of `fresh_until`: wall-clock steps do not move it.
    origin: tokio::time::Instant,
    txs: RwLock<BTreeMap<Key, Arc<TxSeries>>>,
}

/// The families this module writes, sorted by name, as the registry orders families.
pub const FAMILIES: [&str; 8] = [
    metric::PROBE_ATTEMPTS,
    metric::PROBE_DURATION,
    metric::PROBE_FAILURES,
    metric::PROBE_FINAL_SUCCESS,
    metric::PROBE_SUCCESS,
    metric::RUNS_SKIPPED,
    metric::STEP_DURATION,
    metric::STEP_PHASE,
];

const HELP: [(&str, &str); 8] = [
    ("Attempts of transactions that retry, the first attempt and the retries after it failed, by outcome.", "counter"),
    ("Duration of whole runs of transactions with more than one step, every run; a one-step run is its step.", "histogram"),
    ("Failed transaction runs by reason.", "counter"),
    ("Whether the latest run of a transaction that retries succeeded at its first attempt or its last retry (1) or not (0); the objective reads mimamori_probe_success.", "gauge"),
    (
        "Whether the latest completed run of the transaction succeeded (1) or failed (0).",
        "gauge",
    ),
    ("Runs that could not start on time and were skipped.", "counter"),
    ("Response time of each operation (step), from request start to the last body byte; the latency objective is read from it.", "histogram"),
    ("Time spent in each phase of the step in the latest run.", "gauge"),
];

impl Store {
    pub fn new(bounds: &[f64]) -> Self {
        Store {
            buckets: Arc::new(Buckets::new(bounds)),
            origin: tokio::time::Instant::now(),
            txs: RwLock::default(),
        }
    }

    /// The transaction's series (at address `ip`, or none when empty),
    /// created at zero without `probe_success` if they do not exist yet; a
    /// restarted transaction continues its counts.
    pub fn transaction(
        &self,
        location: &str,
        service: &str,
        transaction: &str,
        ip: &str,
    ) -> Arc<TxSeries> {
        let key = (
            location.to_string(),
            service.to_string(),
            transaction.to_string(),
            ip.to_string(),
        );
        if let Some(t) = self.txs.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return t.clone();
        }
        let mut txs = self.txs.write().unwrap_or_else(|e| e.into_inner());
        txs.entry(key)
            .or_insert_with_key(|(l, s, t, ip)| {
                let b = &self.buckets;
                Arc::new(TxSeries {
                    location: pair("location", l),
                    service: pair("service", s),
                    transaction: pair("transaction", t),
                    ip: if ip.is_empty() {
                        String::new()
                    } else {
                        pair("ip", ip)
                    },
                    key: (l.clone(), s.clone(), t.clone(), ip.clone()),
                    success: AtomicU64::new(NO_RUN),
                    fresh_until: AtomicU64::new(0),
                    duration: durations(b),
                    whole_run: Default::default(),
                    failures: Default::default(),
                    skipped: Default::default(),
                    retrying: Default::default(),
                    browser: Default::default(),
                    attempts: Default::default(),
                    final_success: AtomicU64::new(NO_RUN),
                    steps: Mutex::default(),
                })
            })
            .clone()
    }

    /// The step's series inside its transaction, created at zero if needed.
    pub fn step(&self, tx: &TxSeries, name: &str) -> Arc<StepSeries> {
        let mut steps = tx.steps.lock().unwrap_or_else(|e| e.into_inner());
        steps
            .entry(name.to_string())
            .or_insert_with(|| {
                let b = &self.buckets;
                Arc::new(StepSeries {
                    name: name.to_string(),
                    step: pair("step", name),
                    duration: durations(b),
                    phases: std::array::from_fn(|_| AtomicF64::zero()),
                })
            })
            .clone()
    }

    /// Removes every series of the transaction, at every address.
    pub fn remove(&self, location: &str, service: &str, transaction: &str) {
        let from: Key = (
            location.to_string(),
            service.to_string(),
            transaction.to_string(),
            String::new(),
        );
        let mut txs = self.txs.write().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<Key> = txs
            .range(from..)
            .map(|(k, _)| k)
            .take_while(|(l, s, t, _)| {
                (l.as_str(), s.as_str(), t.as_str()) == (location, service, transaction)
            })
            .cloned()
            .collect();
        for k in keys {
            txs.remove(&k);
        }
    }

    /// Removes the transaction's series at every address but `keep` (the
    /// series without an address stay).
    pub fn keep_ips(&self, location: &str, service: &str, transaction: &str, keep: &[String]) {
        let from: Key = (
            location.to_string(),
            service.to_string(),
            transaction.to_string(),
            String::new(),
        );
        let gone = |txs: &BTreeMap<Key, Arc<TxSeries>>| -> Vec<Key> {
            txs.range(from.clone()..)
                .map(|(k, _)| k)
                .take_while(|(l, s, t, _)| {
                    (l.as_str(), s.as_str(), t.as_str()) == (location, service, transaction)
                })
                .filter(|(.., ip)| !ip.is_empty() && !keep.contains(ip))
                .cloned()
                .collect()
        };
        if gone(&self.txs.read().unwrap_or_else(|e| e.into_inner())).is_empty() {
            return;
        }
        let mut txs = self.txs.write().unwrap_or_else(|e| e.into_inner());
        for k in gone(&txs) {
            txs.remove(&k);
        }
    }

    /// Nanoseconds since the store's origin on the monotonic clock (tokio's,
    /// so paused time in tests moves it).
    pub fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The transactions as they are now; the lock is not held while writing.
    pub fn snapshot(&self) -> Snapshot {
        let txs: Vec<Arc<TxSeries>> = self
            .txs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        Snapshot {
            buckets: self.buckets.clone(),
            txs,
            now: self.now(),
        }
    }
}

/// What one scrape writes.
pub struct Snapshot {
    buckets: Arc<Buckets>,
    txs: Vec<Arc<TxSeries>>,
    /// When it was taken ([`Store::now`]): results stale by then are left out.
    now: u64,
}

impl Snapshot {
    /// More than the transactions' part of the exposition takes, so a scrape
    /// allocates its buffer once: pages never written cost no memory.
    pub fn size_hint(&self) -> usize {
        // Both results of one histogram: the successes' buckets, the failures' `+Inf`.
        let histogram_lines = self.buckets.le.len() + 2 + 3;
        self.txs
            .iter()
            .map(|t| {
                let steps = t.steps.lock().unwrap_or_else(|e| e.into_inner()).len();
                let whole = usize::from(t.whole_run.load(Relaxed));
                let lines =
                    (whole + steps) * histogram_lines + Reason::ALL.len() + 2 + 5 * steps + 5;
                lines
                    * (t.ip.len() + t.location.len() + t.service.len() + t.transaction.len() + 120)
            })
            .sum()
    }

    /// Whether family `FAMILIES[i]` has any series to list. Only ever turns
    /// from false to true while a snapshot is written (runs finish, steps
    /// are never removed from a transaction in the snapshot).
    fn has_series(&self, i: usize) -> bool {
        let retrying = |t: &TxSeries| t.retrying.load(Relaxed);
        match i {
            0 => self.txs.iter().any(|t| retrying(t)),
            1 => self.txs.iter().any(|t| t.whole_run.load(Relaxed)),
            3 => self
                .txs
                .iter()
                .any(|t| retrying(t) && t.final_success_at(self.now).is_some()),
            4 => self.txs.iter().any(|t| t.success_at(self.now).is_some()),
            6 => self
                .txs
                .iter()
                .any(|t| !t.steps.lock().unwrap_or_else(|e| e.into_inner()).is_empty()),
            // A browser step has no HTTP phases.
            7 => self.txs.iter().any(|t| {
                !t.browser.load(Relaxed)
                    && !t.steps.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
            }),
            _ => !self.txs.is_empty(),
        }
    }

    /// Writes family `FAMILIES[i]`, or nothing when it has no series.
    ///
    /// `flush` is called after every series group (one transaction's or
    /// step's lines), always at a line boundary; it may take the text written
    /// so far and stop the writing by returning `Break`.
    pub fn write_family(&self, i: usize, out: &mut String, flush: Flush<'_>) -> ControlFlow<()> {
        if !self.has_series(i) {
            // A family without series is not listed at all.
            return ControlFlow::Continue(());
        }
        let name = FAMILIES[i];
        let (help, kind) = HELP[i];
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        out.push_str(help);
        out.push_str("\n# TYPE ");
        out.push_str(name);
        out.push(' ');
        out.push_str(kind);
        out.push('\n');
        // Series sort by their label values in label-name order; `location`
        // comes first in every family, so each location is written in turn.
        for txs in self.txs.chunk_by(|a, b| a.key.0 == b.key.0) {
            match i {
                0 => {
                    for t in txs.iter().filter(|t| t.retrying.load(Relaxed)) {
                        for (a, (attempt, outcome)) in ATTEMPTS.iter().enumerate() {
                            let labels = [
                                attempt,
                                t.ip.as_str(),
                                t.location.as_str(),
                                outcome,
                                &t.service,
                                &t.transaction,
                            ];
                            sample_u64(out, name, &labels, t.attempts[a].get());
                        }
                        flush(out)?;
                    }
                }
                1 => {
                    for (r, result) in RESULTS.iter().enumerate() {
                        for t in txs.iter().filter(|t| t.whole_run.load(Relaxed)) {
                            let labels = [
                                t.ip.as_str(),
                                t.location.as_str(),
                                result,
                                &t.service,
                                &t.transaction,
                            ];
                            histogram(out, name, &labels, &t.duration[r], &self.buckets);
                            flush(out)?;
                        }
                    }
                }
                2 => {
                    for (r, reason) in REASONS_SORTED.get_or_init(reasons_sorted) {
                        let http = Reason::HTTP.contains(&Reason::ALL[*r]);
                        let browser = Reason::BROWSER.contains(&Reason::ALL[*r]);
                        for t in txs {
                            if !(if t.browser.load(Relaxed) {
                                browser
                            } else {
                                http
                            }) {
                                continue;
                            }
                            let labels = [
                                t.ip.as_str(),
                                t.location.as_str(),
                                reason,
                                &t.service,
                                &t.transaction,
                            ];
                            sample_u64(out, name, &labels, t.failures[*r].get());
                            flush(out)?;
                        }
                    }
                }
                3 | 4 => {
                    for t in txs {
                        let bits = if i == 3 {
                            if !t.retrying.load(Relaxed) {
                                continue;
                            }
                            t.final_success_at(self.now)
                        } else {
                            t.success_at(self.now)
                        };
                        if let Some(bits) = bits {
                            let labels = [
                                t.ip.as_str(),
                                t.location.as_str(),
                                &t.service,
                                &t.transaction,
                            ];
                            sample_f64(out, name, &labels, f64::from_bits(bits));
                            flush(out)?;
                        }
                    }
                }
                5 => {
                    // Skipped runs are the transaction's, not an address's.
                    for t in txs.iter().filter(|t| t.ip.is_empty()) {
                        let labels = [t.location.as_str(), &t.service, &t.transaction];
                        sample_u64(out, name, &labels, t.skipped.get());
                        flush(out)?;
                    }
                }
                6 => {
                    let steps = steps_sorted(txs);
                    for (r, result) in RESULTS.iter().enumerate() {
                        for (t, s) in &steps {
                            let labels = [
                                t.ip.as_str(),
                                t.location.as_str(),
                                result,
                                &t.service,
                                &s.step,
                                &t.transaction,
                            ];
                            histogram(out, name, &labels, &s.duration[r], &self.buckets);
                            flush(out)?;
                        }
                    }
                }
                _ => {
                    // Browser transactions have no HTTP phases.
                    let mut steps = steps_sorted(txs);
                    steps.retain(|(t, _)| !t.browser.load(Relaxed));
                    for (p, phase) in PHASES_SORTED.get_or_init(phases_sorted) {
                        for (t, s) in &steps {
                            let labels = [
                                t.ip.as_str(),
                                t.location.as_str(),
                                phase,
                                &t.service,
                                &s.step,
                                &t.transaction,
                            ];
                            sample_f64(out, name, &labels, s.phases[*p].get());
                            flush(out)?;
                        }
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Called at line boundaries while the exposition is written; see
/// [`Snapshot::write_family`].
pub type Flush<'a> = &'a mut dyn FnMut(&mut String) -> ControlFlow<()>;

/// Steps of one location's transactions in (service, step, transaction) order.
fn steps_sorted(txs: &[Arc<TxSeries>]) -> Vec<(&TxSeries, Arc<StepSeries>)> {
    let mut steps: Vec<(&TxSeries, Arc<StepSeries>)> = Vec::new();
    for t in txs {
        let held = t.steps.lock().unwrap_or_else(|e| e.into_inner());
        steps.extend(held.values().map(|s| (&**t, s.clone())));
    }
    steps.sort_by(|(ta, a), (tb, b)| {
        (&ta.key.1, &a.name, &ta.key.2, &ta.key.3).cmp(&(&tb.key.1, &b.name, &tb.key.2, &tb.key.3))
    });
    steps
}

static REASONS_SORTED: std::sync::OnceLock<Vec<(usize, String)>> = std::sync::OnceLock::new();
static PHASES_SORTED: std::sync::OnceLock<Vec<(usize, String)>> = std::sync::OnceLock::new();

/// (index in `Reason::ALL`, `reason="…"`) in label-value order.
fn reasons_sorted() -> Vec<(usize, String)> {
    sorted_pairs("reason", Reason::ALL.iter().map(|r| r.as_str()))
}

/// (index in `Phase::ALL`, `phase="…"`) in label-value order.
fn phases_sorted() -> Vec<(usize, String)> {
    sorted_pairs("phase", Phase::ALL.iter().map(|p| p.as_str()))
}

/// (index, `name="value"`) for each value, sorted as the exposition lists them.
fn sorted_pairs<'a>(name: &str, values: impl Iterator<Item = &'a str>) -> Vec<(usize, String)> {
    let mut v: Vec<(usize, String)> = values.map(|x| pair(name, x)).enumerate().collect();
    v.sort_by(|a, b| a.1.cmp(&b.1));
    v
}

/// `name="value"` with the value escaped as the text format requires.
fn pair(name: &str, value: &str) -> String {
    let mut s = String::with_capacity(name.len() + value.len() + 3);
    s.push_str(name);
    s.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '"' => s.push_str("\\\""),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn series(out: &mut String, name: &str, suffix: &str, labels: &[&str], extra: Option<&str>) {
    out.push_str(name);
    out.push_str(suffix);
    out.push('{');
    // An empty pair is a label this series does not have (`ip`).
    let mut first = true;
    for l in labels.iter().filter(|l| !l.is_empty()) {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(l);
    }
    if let Some(e) = extra {
        out.push(',');
        out.push_str(e);
    }
    out.push_str("} ");
}

fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
    out.push('\n');
}

/// Floats as the `prometheus` crate writes them (`Display`).
fn push_f64(out: &mut String, v: f64) {
    use std::fmt::Write as _;
    let _ = write!(out, "{v}");
    out.push('\n');
}

fn sample_u64(out: &mut String, name: &str, labels: &[&str], v: u64) {
    series(out, name, "", labels, None);
    push_u64(out, v);
}

fn sample_f64(out: &mut String, name: &str, labels: &[&str], v: f64) {
    series(out, name, "", labels, None);
    push_f64(out, v);
}

fn histogram(out: &mut String, name: &str, labels: &[&str], h: &Histogram, b: &Buckets) {
    let mut cumulative = 0;
    // Without buckets, `counts` is the `+Inf` bucket alone: the last `le`.
    for (count, le) in h.counts.iter().zip(&b.le[b.le.len() - h.counts.len()..]) {
        cumulative += count.load(Relaxed);
        series(out, name, "_bucket", labels, Some(le));
        push_u64(out, cumulative);
    }
    series(out, name, "_sum", labels, None);
    push_f64(out, h.sum.get());
    series(out, name, "_count", labels, None);
    push_u64(out, cumulative);
}
