//! The metric contract: what Prometheus scrapes, with bounded labels.
//!
//! Each transaction's series are created once when it is scheduled (see
//! [`series`]), so recording a run takes no lock and does no label lookups.
//! The few exporter-wide and TLS metrics live in a `prometheus` registry.

mod series;

use crate::promql::metric;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

pub use series::Counter;

use crate::probe::outcome::{Outcome, Phase, Reason};
use crate::probe::plan::TransactionPlan;

/// Every metric mimamori exposes.
pub struct Metrics {
    pub registry: Registry,
    /// Every transaction's own series.
    series: Arc<series::Store>,
    /// Size of the last exposition, to allocate the next one at once.
    last_render_len: AtomicUsize,
    pub maintenance: GaugeVec,
    pub scheduler_lag: Histogram,
    pub reload_successful: IntGauge,
    pub reload_timestamp: Gauge,
    pub transactions: IntGauge,
    shard_info: GaugeVec,
    tls_version: GaugeVec,
    tls_expiry: GaugeVec,
    tls_legacy: GaugeVec,
    plain_http: GaugeVec,
    prober_healthy: GaugeVec,
    prober_unhealthy_since: GaugeVec,
    self_check_success: GaugeVec,
    browser: BrowserVecs,
}

/// The browser transactions' own families (empty without any).
#[derive(Clone)]
struct BrowserVecs {
    blocked: IntCounterVec,
    lcp: GaugeVec,
    long_tasks: GaugeVec,
}

/// How long a transaction's latest result stays in `mimamori_probe_success`:
/// two intervals plus the timeout after the run that produced it. A run that
/// is skipped or late leaves the result listed for one more interval; after
/// two missed runs the series is withdrawn, so a location whose runs mostly
/// do not happen becomes unknown rather than repeating an old result.
/// Measured on the monotonic clock, so a step of the wall clock changes nothing.
pub fn stale_after(
    interval: std::time::Duration,
    timeout: std::time::Duration,
) -> std::time::Duration {
    interval * 2 + timeout
}

/// Handles for one transaction's series.
pub struct TxMetrics {
    labels: [String; 3],
    buckets: Arc<series::Buckets>,
    series: Arc<series::TxSeries>,
    /// In the plan's step order.
    steps: Vec<Arc<series::StepSeries>>,
    pub skipped: Arc<Counter>,
    /// See [`stale_after`].
    stale_after: u64,
    store: Arc<series::Store>,
    steps_names: Vec<String>,
    tls_version: GaugeVec,
    tls_expiry: GaugeVec,
    /// Each step's expiry gauge, resolved at its first TLS run.
    tls_expiry_steps: Vec<Option<Gauge>>,
    /// The version/cipher labels set per step, removed when they change.
    last_tls: Vec<Option<(String, String)>>,
    /// Whether the transaction retries (attempts and final success are listed).
    retrying: bool,
    /// Whether the run's own duration histogram is kept (more than one step).
    whole_run: bool,
    /// With `resolve: all`: each address's series are made in `store` when
    /// the address is first resolved and removed when it is gone.
    every_address: bool,
    /// A browser transaction's own families.
    browser: Option<BrowserVecs>,
}

impl Metrics {
    pub fn new(buckets: &[f64]) -> Self {
        let registry = Registry::new();
        let maintenance = GaugeVec::new(
            Opts::new(metric::MAINTENANCE_ACTIVE, "Whether the service is inside a planned maintenance window announced in time (1) or not (0)."),
            &["service", "location"],
        )
        .unwrap();
        let scheduler_lag = Histogram::with_opts(
            HistogramOpts::new(
                metric::SCHEDULER_LAG,
                "How late runs started compared with their scheduled time.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )
        .unwrap();
        let reload_successful = IntGauge::new(
            metric::CONFIG_RELOAD_SUCCESSFUL,
            "Whether the last configuration reload succeeded.",
        )
        .unwrap();
        let reload_timestamp = Gauge::new(
            metric::CONFIG_RELOAD_SUCCESS_TIMESTAMP,
            "Timestamp of the last successful configuration reload.",
        )
        .unwrap();
        let tls_version = GaugeVec::new(
            Opts::new(metric::TLS_VERSION_INFO, "TLS version and cipher negotiated by the step in the latest run; the value is always 1."),
            &["service", "transaction", "location", "step", "version", "cipher"],
        )
        .unwrap();
        let tls_expiry = GaugeVec::new(
            Opts::new(
                metric::TLS_CERTIFICATE_EXPIRY,
                "Earliest expiry (notAfter) in the certificate chain the step was shown.",
            ),
            &["service", "transaction", "location", "step"],
        )
        .unwrap();
        let tls_legacy = GaugeVec::new(
            Opts::new(metric::TLS_LEGACY_ACCEPTED, "Whether the server accepted a handshake offering only this TLS version below 1.2 (1: a policy violation)."),
            &["service", "transaction", "location", "step", "version"],
        )
        .unwrap();
        let plain_http = GaugeVec::new(
            Opts::new(metric::PLAIN_HTTP_REFUSED, "Whether the service's plain-HTTP address refused or redirected to HTTPS (1) or served content unencrypted (0)."),
            &["service", "location"],
        )
        .unwrap();
        let transactions = IntGauge::new(
            metric::TRANSACTIONS,
            "Transactions scheduled by this exporter.",
        )
        .unwrap();
        let shard_info = GaugeVec::new(
            Opts::new(
                metric::SHARD_INFO,
                "The shard of its location's transactions this exporter runs (index of count, 0-based); the value is always 1.",
            ),
            &["index", "count"],
        )
        .unwrap();
        shard_info.with_label_values(&["0", "1"]).set(1.0);
        let prober_healthy = GaugeVec::new(
            Opts::new(
                metric::PROBER_HEALTHY,
                "Whether the prober can see at all (1), or every self-check target of its location fails (0) and its results are unknown; 1 without self-check targets.",
            ),
            &["location"],
        )
        .unwrap();
        let prober_unhealthy_since = GaugeVec::new(
            Opts::new(
                metric::PROBER_UNHEALTHY_SINCE,
                "When the prober last turned blind (every self-check target failing), 0 while it is healthy.",
            ),
            &["location"],
        )
        .unwrap();
        let self_check_success = GaugeVec::new(
            Opts::new(
                metric::SELF_CHECK_SUCCESS,
                "Whether the latest check of the self-check target succeeded (1) or failed (0).",
            ),
            &["location", "target"],
        )
        .unwrap();
        let browser = BrowserVecs {
            blocked: IntCounterVec::new(
                Opts::new(
                    metric::BROWSER_BLOCKED_REQUESTS,
                    "Requests of a browser transaction's pages to origins that are not allowed, blocked before they left the browser.",
                ),
                &["service", "transaction", "location"],
            )
            .unwrap(),
            lcp: GaugeVec::new(
                Opts::new(
                    metric::BROWSER_LCP,
                    "Largest contentful paint of the page the step opened in the latest run, from its navigation start, as Chromium reports it.",
                ),
                &["service", "transaction", "location", "step"],
            )
            .unwrap(),
            long_tasks: GaugeVec::new(
                Opts::new(
                    metric::BROWSER_LONG_TASKS,
                    "Time the page's main thread spent in long tasks (over 50 ms) during the step in the latest run.",
                ),
                &["service", "transaction", "location", "step"],
            )
            .unwrap(),
        };
        let build_info = GaugeVec::new(
            Opts::new(
                metric::BUILD_INFO,
                "Build information; the value is always 1.",
            ),
            &["version", "rustc"],
        )
        .unwrap();
        build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("MIMAMORI_RUSTC").unwrap_or("unknown"),
            ])
            .set(1.0);
        for c in [
            Box::new(maintenance.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(scheduler_lag.clone()),
            Box::new(reload_successful.clone()),
            Box::new(reload_timestamp.clone()),
            Box::new(transactions.clone()),
            Box::new(shard_info.clone()),
            Box::new(tls_version.clone()),
            Box::new(tls_expiry.clone()),
            Box::new(tls_legacy.clone()),
            Box::new(plain_http.clone()),
            Box::new(prober_healthy.clone()),
            Box::new(prober_unhealthy_since.clone()),
            Box::new(self_check_success.clone()),
            Box::new(browser.blocked.clone()),
            Box::new(browser.lcp.clone()),
            Box::new(browser.long_tasks.clone()),
            Box::new(build_info),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Metrics {
            registry,
            series: Arc::new(series::Store::new(buckets)),
            last_render_len: AtomicUsize::new(0),
            maintenance,
            scheduler_lag,
            reload_successful,
            reload_timestamp,
            transactions,
            shard_info,
            tls_version,
            tls_expiry,
            tls_legacy,
            plain_http,
            prober_healthy,
            prober_unhealthy_since,
            self_check_success,
            browser,
        }
    }

    /// Sets the prober's health at `location`: `healthy`, and since when
    /// (Unix seconds) it is blind while it is not.
    pub fn set_prober_health(&self, location: &str, healthy: bool, unhealthy_since: f64) {
        self.prober_healthy.reset();
        self.prober_unhealthy_since.reset();
        self.prober_healthy
            .with_label_values(&[location])
            .set(if healthy { 1.0 } else { 0.0 });
        self.prober_unhealthy_since
            .with_label_values(&[location])
            .set(if healthy { 0.0 } else { unhealthy_since });
    }

    /// Sets `mimamori_self_check_success` for exactly the given targets.
    pub fn set_self_checks(&self, location: &str, results: &[(String, bool)]) {
        self.self_check_success.reset();
        for (t, ok) in results {
            self.self_check_success
                .with_label_values(&[location, t])
                .set(if *ok { 1.0 } else { 0.0 });
        }
    }

    /// Creates the transaction's series. Counters and histograms start at 0 so
    /// `rate()` works from the first scrape; `probe_success` appears only after
    /// the first run, so a fresh exporter never reports a false failure.
    pub fn transaction(&self, plan: &TransactionPlan) -> TxMetrics {
        let l = [
            plan.key.service.as_str(),
            plan.key.transaction.as_str(),
            plan.location.as_str(),
        ];
        let every_address = plan.addressing.every_address();
        let series = self.series.transaction(l[2], l[0], l[1], "");
        let retrying = plan.retries > 0;
        // A one-step run's duration is its step's: no histogram of its own.
        let whole_run = plan.steps.len() > 1;
        series.whole_run.store(whole_run, Ordering::Relaxed);
        // With `resolve: all` the attempts are each address's; a run that
        // resolved nothing is not retried.
        series
            .retrying
            .store(retrying && !every_address, Ordering::Relaxed);
        let browser = plan.browser.is_some();
        series.browser.store(browser, Ordering::Relaxed);
        if browser {
            // Listed from the start, as the failure counters are.
            let _ = self.browser.blocked.with_label_values(&l);
        }
        if every_address {
            // A reload from `resolve: first` leaves no step without an address.
            series.clear_steps();
        } else {
            // A reload from `resolve: all` leaves no address behind.
            self.series.keep_ips(l[2], l[0], l[1], &[]);
        }
        TxMetrics {
            labels: l.map(str::to_string),
            buckets: self.series.buckets.clone(),
            // With `resolve: all` the steps are each address's.
            steps: if every_address {
                Vec::new()
            } else {
                plan.steps
                    .iter()
                    .map(|s| self.series.step(&series, &s.name))
                    .collect()
            },
            skipped: series.skipped.clone(),
            stale_after: u64::try_from(stale_after(plan.interval, plan.timeout).as_nanos())
                .unwrap_or(u64::MAX),
            store: self.series.clone(),
            series,
            tls_version: self.tls_version.clone(),
            tls_expiry: self.tls_expiry.clone(),
            tls_expiry_steps: vec![None; plan.steps.len()],
            last_tls: vec![None; plan.steps.len()],
            steps_names: plan.steps.iter().map(|s| s.name.clone()).collect(),
            retrying,
            whole_run,
            every_address,
            browser: browser.then(|| self.browser.clone()),
        }
    }

    /// Records a legacy-TLS handshake result.
    pub fn set_legacy(&self, plan: &TransactionPlan, step: &str, version: &str, accepted: bool) {
        self.tls_legacy
            .with_label_values(&[
                &plan.key.service,
                &plan.key.transaction,
                &plan.location,
                step,
                version,
            ])
            .set(if accepted { 1.0 } else { 0.0 });
    }

    /// Records the plain-HTTP check of a service.
    pub fn set_plain_http(&self, service: &str, location: &str, refused: bool) {
        self.plain_http
            .with_label_values(&[service, location])
            .set(if refused { 1.0 } else { 0.0 });
    }

    /// Removes the series of transactions that are no longer configured.
    pub fn forget(&self, plan: &TransactionPlan) {
        for (step, ..) in &plan.policy.legacy_targets {
            for v in crate::probe::tls::Legacy::ALL {
                let _ = self.tls_legacy.remove_label_values(&[
                    &plan.key.service,
                    &plan.key.transaction,
                    &plan.location,
                    step,
                    v.as_str(),
                ]);
            }
        }
        if plan.policy.plain_http_url.is_some() {
            let _ = self
                .plain_http
                .remove_label_values(&[&plan.key.service, &plan.location]);
        }
        for s in &plan.steps {
            let _ = self.tls_expiry.remove_label_values(&[
                &plan.key.service,
                &plan.key.transaction,
                &plan.location,
                &s.name,
            ]);
        }
        if plan.browser.is_some() {
            let l = [
                plan.key.service.as_str(),
                plan.key.transaction.as_str(),
                plan.location.as_str(),
            ];
            let _ = self.browser.blocked.remove_label_values(&l);
            for s in &plan.steps {
                let ls = [l[0], l[1], l[2], s.name.as_str()];
                let _ = self.browser.lcp.remove_label_values(&ls);
                let _ = self.browser.long_tasks.remove_label_values(&ls);
            }
        }
        self.series
            .remove(&plan.location, &plan.key.service, &plan.key.transaction);
    }

    /// Sets `mimamori_maintenance_active` for exactly the given services.
    pub fn set_maintenance(&self, location: &str, services: &[(String, bool)]) {
        // Reset first: services removed by a reload lose their series.
        self.maintenance.reset();
        for (s, active) in services {
            self.maintenance
                .with_label_values(&[s.as_str(), location])
                .set(if *active { 1.0 } else { 0.0 });
        }
    }

    /// Sets `mimamori_shard_info` to the shard this exporter runs.
    pub fn set_shard(&self, shard: crate::config::Shard) {
        self.shard_info.reset();
        self.shard_info
            .with_label_values(&[&shard.index().to_string(), &shard.count().to_string()])
            .set(1.0);
    }

    /// The whole text exposition in one string (tests and benchmarks; `/metrics`
    /// streams it with [`Metrics::render_chunked`]).
    pub fn render(&self) -> String {
        let txs = self.series.snapshot();
        let last = self.last_render_len.load(Ordering::Relaxed);
        let mut out = String::with_capacity((last + last / 8).max(txs.size_hint()) + 64 * 1024);
        let _ = self.write(&txs, &mut out, &mut |_| ControlFlow::Continue(()));
        self.last_render_len.store(out.len(), Ordering::Relaxed);
        out
    }

    /// The text exposition in pieces of about `chunk` bytes, each ending at a
    /// line boundary, handed to `send` as they fill; what `/metrics` streams.
    /// Memory stays at a few pieces however many series there are. Stops
    /// early, without finishing the exposition, when `send` returns `false`
    /// (the client went away). Returns whether every piece was sent.
    pub fn render_chunked(&self, chunk: usize, mut send: impl FnMut(String) -> bool) -> bool {
        // One transaction's lines rarely exceed this beyond `chunk`.
        let capacity = chunk + 16 * 1024;
        let txs = self.series.snapshot();
        let mut out = String::with_capacity(capacity);
        let mut flush = |buf: &mut String| {
            if buf.len() < chunk {
                return ControlFlow::Continue(());
            }
            let full = std::mem::replace(buf, String::with_capacity(capacity));
            if send(full) {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        };
        if self.write(&txs, &mut out, &mut flush).is_break() {
            return false;
        }
        out.is_empty() || send(out)
    }

    /// The registry's families and the transactions' own, in name order.
    fn write(
        &self,
        txs: &series::Snapshot,
        out: &mut String,
        flush: series::Flush<'_>,
    ) -> ControlFlow<()> {
        let registry = self.registry.gather();
        let encoder = TextEncoder::new();
        let mut own = series::FAMILIES.iter().enumerate().peekable();
        for family in &registry {
            while let Some((i, _)) = own.next_if(|(_, name)| **name < family.name()) {
                txs.write_family(i, out, flush)?;
            }
            let _ = encoder.encode_utf8(std::slice::from_ref(family), out);
            flush(out)?;
        }
        for (i, _) in own {
            txs.write_family(i, out, flush)?;
        }
        ControlFlow::Continue(())
    }
}

impl Drop for TxMetrics {
    fn drop(&mut self) {
        for i in 0..self.last_tls.len() {
            self.set_tls_labels(i, None);
        }
    }
}

impl TxMetrics {
    /// Moves the step's `mimamori_tls_version_info` series to new labels.
    fn set_tls_labels(&mut self, i: usize, now: Option<(String, String)>) {
        let step = self.steps_names[i].clone();
        let [s, t, l] = &self.labels;
        if self.last_tls[i] != now {
            if let Some((v, c)) = self.last_tls[i].take() {
                let _ = self
                    .tls_version
                    .remove_label_values(&[s, t, l, &step, &v, &c]);
            }
        }
        // Set on every run, so a series removed by a restart's cleanup comes back.
        if let Some((v, c)) = &now {
            self.tls_version
                .with_label_values(&[s, t, l, &step, v, c])
                .set(1.0);
        }
        self.last_tls[i] = now;
    }

    /// Records a run: on the transaction's series, or with `resolve: all`
    /// on each resolved address's (a run that resolved nothing is recorded
    /// without an address, and the addresses' series are removed).
    pub fn record(&mut self, outcome: &Outcome) {
        // Listed until two intervals and the timeout from now (see [`stale_after`]).
        let fresh_until = self.store.now().saturating_add(self.stale_after);
        if let Some(b) = &self.browser {
            let [s, t, l] = &self.labels;
            if let Some(f) = &outcome.browser {
                b.blocked
                    .with_label_values(&[s, t, l])
                    .inc_by(f.blocked_requests);
                for (name, (lcp, long)) in self
                    .steps_names
                    .iter()
                    .zip(f.largest_contentful_paint.iter().zip(&f.long_tasks))
                {
                    if let Some(lcp) = lcp {
                        b.lcp.with_label_values(&[s, t, l, name]).set(*lcp);
                    }
                    b.long_tasks.with_label_values(&[s, t, l, name]).set(*long);
                }
            }
            if outcome.reason == Some(Reason::Browser) {
                // The prober's browser failed, not the service: the run is
                // unknown. `probe_success` is withdrawn until the next run
                // that the browser carries out, so the location drops out
                // of the quorum for this transaction (as a location that
                // reports nothing), and no step time is observed.
                self.series.clear_success();
                let i = Reason::ALL.iter().position(|x| *x == Reason::Browser);
                self.series.failures[i.unwrap_or(0)].inc();
                return;
            }
        }
        if !self.every_address {
            record_on(
                &self.series,
                &self.steps,
                &self.buckets,
                outcome,
                (self.retrying, fresh_until),
            );
            self.record_tls(&[outcome]);
            return;
        }
        let [s, t, l] = &self.labels;
        let store = &self.store;
        let ips: Vec<String> = outcome.addresses.iter().map(|a| a.ip.to_string()).collect();
        store.keep_ips(l, s, t, &ips);
        if outcome.addresses.is_empty() {
            record_on(
                &self.series,
                &[],
                &self.buckets,
                outcome,
                (false, fresh_until),
            );
            self.record_tls(&[outcome]);
            return;
        }
        self.series.clear_success();
        for (a, ip) in outcome.addresses.iter().zip(&ips) {
            let series = store.transaction(l, s, t, ip);
            series.retrying.store(self.retrying, Ordering::Relaxed);
            series.whole_run.store(self.whole_run, Ordering::Relaxed);
            let steps: Vec<_> = self
                .steps_names
                .iter()
                .map(|n| store.step(&series, n))
                .collect();
            record_on(
                &series,
                &steps,
                &self.buckets,
                &a.outcome,
                (self.retrying, fresh_until),
            );
        }
        let runs: Vec<&Outcome> = outcome.addresses.iter().map(|a| &a.outcome).collect();
        self.record_tls(&runs);
    }

    /// TLS facts stay per transaction. Of the runs given (one per address
    /// with `resolve: all`), each step's certificate expiry is the earliest
    /// any of them was shown (customers landing on a load balancer with an
    /// old certificate see that one); its version and cipher the last run's.
    fn record_tls(&mut self, runs: &[&Outcome]) {
        for i in 0..self.steps_names.len() {
            let facts = || runs.iter().filter_map(|o| o.steps.get(i)?.tls.as_ref());
            if let Some(not_after) = facts().filter_map(|tls| tls.not_after).min() {
                let [s, t, l] = &self.labels;
                self.tls_expiry_steps[i]
                    .get_or_insert_with(|| {
                        self.tls_expiry
                            .with_label_values(&[s, t, l, &self.steps_names[i]])
                    })
                    .set(not_after as f64);
            }
            if let Some(tls) = facts().next_back() {
                if self.last_tls[i]
                    .as_ref()
                    .map(|(v, c)| (v.as_str(), c.as_str()))
                    != Some((tls.version.as_str(), tls.cipher.as_str()))
                {
                    self.set_tls_labels(i, Some((tls.version.clone(), tls.cipher.clone())));
                }
            }
        }
    }
}

/// Records one run (one address's, with `resolve: all`) on its series: the
/// first attempt as the objective reads it, then the attempts.
fn record_on(
    series: &series::TxSeries,
    steps: &[Arc<series::StepSeries>],
    buckets: &series::Buckets,
    outcome: &Outcome,
    (retrying, fresh_until): (bool, u64),
) {
    series.set_success(outcome.success, fresh_until);
    if series.whole_run.load(Ordering::Relaxed) {
        series.duration[usize::from(outcome.success)]
            .observe(buckets, outcome.duration.as_secs_f64());
    }
    if !outcome.success {
        if let Some(r) = outcome.reason {
            series.failures[Reason::ALL.iter().position(|x| *x == r).unwrap_or(0)].inc();
        }
    }
    for (st, m) in outcome.steps.iter().zip(steps) {
        m.duration[usize::from(st.success)].observe(buckets, st.duration.as_secs_f64());
        for (p, g) in Phase::ALL.iter().zip(&m.phases) {
            g.set(st.phases.get(*p).as_secs_f64());
        }
    }
    if retrying {
        series.attempts[usize::from(outcome.success)].inc();
        for a in &outcome.retries {
            series.attempts[2 + usize::from(a.success)].inc();
        }
        series.set_final_success(outcome.final_success());
    }
}

#[cfg(test)]
mod tests;
