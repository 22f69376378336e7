//! The metric contract: what Prometheus scrapes, with bounded labels.
//!
//! Label handles for each transaction are resolved once when it is scheduled,
//! so recording a run does no label lookups.

use std::collections::HashSet;

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, Opts, Registry, TextEncoder,
};

use crate::probe::outcome::{Outcome, Phase, Reason};
use crate::probe::plan::TransactionPlan;

const TX_LABELS: [&str; 3] = ["service", "transaction", "location"];

/// Every metric mimamori exposes.
pub struct Metrics {
    pub registry: Registry,
    probe_success: GaugeVec,
    probe_duration: HistogramVec,
    step_duration: HistogramVec,
    step_phase: GaugeVec,
    failures: IntCounterVec,
    pub maintenance: GaugeVec,
    skipped: IntCounterVec,
    pub scheduler_lag: Histogram,
    pub reload_successful: IntGauge,
    pub reload_timestamp: Gauge,
    pub transactions: IntGauge,
    tls_version: GaugeVec,
    tls_expiry: GaugeVec,
    tls_legacy: GaugeVec,
    plain_http: GaugeVec,
}

/// Handles for one transaction's series.
pub struct TxMetrics {
    labels: [String; 3],
    success: GaugeVec,
    duration_ok: Histogram,
    duration_fail: Histogram,
    failures: Vec<IntCounter>,
    pub skipped: IntCounter,
    steps: Vec<StepMetrics>,
    steps_names: Vec<String>,
    tls_version: GaugeVec,
    tls_expiry: GaugeVec,
    /// The version/cipher labels set per step, removed when they change.
    last_tls: Vec<Option<(String, String)>>,
}

struct StepMetrics {
    ok: Histogram,
    fail: Histogram,
    phases: Vec<Gauge>,
}

impl Metrics {
    pub fn new(buckets: &[f64]) -> Self {
        let registry = Registry::new();
        let probe_success = GaugeVec::new(
            Opts::new(
                "mimamori_probe_success",
                "Whether the latest completed run of the transaction succeeded (1) or failed (0).",
            ),
            &TX_LABELS,
        )
        .unwrap();
        let probe_duration = HistogramVec::new(
            HistogramOpts::new(
                "mimamori_probe_duration_seconds",
                "Duration of whole transaction runs, every run.",
            )
            .buckets(buckets.to_vec()),
            &["service", "transaction", "location", "result"],
        )
        .unwrap();
        let step_duration = HistogramVec::new(
            HistogramOpts::new("mimamori_step_duration_seconds", "Response time of each operation (step), from request start to the last body byte; the latency objective is read from it.")
                .buckets(buckets.to_vec()),
            &["service", "transaction", "location", "step", "result"],
        )
        .unwrap();
        let step_phase = GaugeVec::new(
            Opts::new(
                "mimamori_step_phase_seconds",
                "Time spent in each phase of the step in the latest run.",
            ),
            &["service", "transaction", "location", "step", "phase"],
        )
        .unwrap();
        let failures = IntCounterVec::new(
            Opts::new(
                "mimamori_probe_failures_total",
                "Failed transaction runs by reason.",
            ),
            &["service", "transaction", "location", "reason"],
        )
        .unwrap();
        let maintenance = GaugeVec::new(
            Opts::new("mimamori_maintenance_active", "Whether the service is inside a planned maintenance window announced in time (1) or not (0)."),
            &["service", "location"],
        )
        .unwrap();
        let skipped = IntCounterVec::new(
            Opts::new(
                "mimamori_runs_skipped_total",
                "Runs that could not start on time and were skipped.",
            ),
            &TX_LABELS,
        )
        .unwrap();
        let scheduler_lag = Histogram::with_opts(
            HistogramOpts::new(
                "mimamori_scheduler_lag_seconds",
                "How late runs started compared with their scheduled time.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )
        .unwrap();
        let reload_successful = IntGauge::new(
            "mimamori_config_last_reload_successful",
            "Whether the last configuration reload succeeded.",
        )
        .unwrap();
        let reload_timestamp = Gauge::new(
            "mimamori_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload.",
        )
        .unwrap();
        let tls_version = GaugeVec::new(
            Opts::new("mimamori_tls_version_info", "TLS version and cipher negotiated by the step in the latest run; the value is always 1."),
            &["service", "transaction", "location", "step", "version", "cipher"],
        )
        .unwrap();
        let tls_expiry = GaugeVec::new(
            Opts::new(
                "mimamori_tls_certificate_expiry_timestamp_seconds",
                "Earliest expiry (notAfter) in the certificate chain the step was shown.",
            ),
            &["service", "transaction", "location", "step"],
        )
        .unwrap();
        let tls_legacy = GaugeVec::new(
            Opts::new("mimamori_tls_legacy_accepted", "Whether the server accepted a handshake offering only this TLS version below 1.2 (1: a policy violation)."),
            &["service", "transaction", "location", "step", "version"],
        )
        .unwrap();
        let plain_http = GaugeVec::new(
            Opts::new("mimamori_plain_http_refused", "Whether the service's plain-HTTP address refused or redirected to HTTPS (1) or served content unencrypted (0)."),
            &["service", "location"],
        )
        .unwrap();
        let transactions = IntGauge::new(
            "mimamori_transactions",
            "Transactions scheduled by this exporter.",
        )
        .unwrap();
        let build_info = GaugeVec::new(
            Opts::new(
                "mimamori_build_info",
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
            Box::new(probe_success.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(probe_duration.clone()),
            Box::new(step_duration.clone()),
            Box::new(step_phase.clone()),
            Box::new(failures.clone()),
            Box::new(maintenance.clone()),
            Box::new(skipped.clone()),
            Box::new(scheduler_lag.clone()),
            Box::new(reload_successful.clone()),
            Box::new(reload_timestamp.clone()),
            Box::new(transactions.clone()),
            Box::new(tls_version.clone()),
            Box::new(tls_expiry.clone()),
            Box::new(tls_legacy.clone()),
            Box::new(plain_http.clone()),
            Box::new(build_info),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Metrics {
            registry,
            probe_success,
            probe_duration,
            step_duration,
            step_phase,
            failures,
            maintenance,
            skipped,
            scheduler_lag,
            reload_successful,
            reload_timestamp,
            transactions,
            tls_version,
            tls_expiry,
            tls_legacy,
            plain_http,
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
        TxMetrics {
            labels: l.map(str::to_string),
            success: self.probe_success.clone(),
            duration_ok: self
                .probe_duration
                .with_label_values(&[l[0], l[1], l[2], "success"]),
            duration_fail: self
                .probe_duration
                .with_label_values(&[l[0], l[1], l[2], "failure"]),
            failures: Reason::ALL
                .iter()
                .map(|r| {
                    self.failures
                        .with_label_values(&[l[0], l[1], l[2], r.as_str()])
                })
                .collect(),
            skipped: self.skipped.with_label_values(&l),
            tls_version: self.tls_version.clone(),
            tls_expiry: self.tls_expiry.clone(),
            last_tls: vec![None; plan.steps.len()],
            steps_names: plan.steps.iter().map(|s| s.name.clone()).collect(),
            steps: plan
                .steps
                .iter()
                .map(|s| StepMetrics {
                    ok: self
                        .step_duration
                        .with_label_values(&[l[0], l[1], l[2], &s.name, "success"]),
                    fail: self
                        .step_duration
                        .with_label_values(&[l[0], l[1], l[2], &s.name, "failure"]),
                    phases: Phase::ALL
                        .iter()
                        .map(|p| {
                            self.step_phase.with_label_values(&[
                                l[0],
                                l[1],
                                l[2],
                                &s.name,
                                p.as_str(),
                            ])
                        })
                        .collect(),
                })
                .collect(),
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
        let l = [
            plan.key.service.as_str(),
            plan.key.transaction.as_str(),
            plan.location.as_str(),
        ];
        let _ = self.probe_success.remove_label_values(&l);
        let _ = self.skipped.remove_label_values(&l);
        for result in ["success", "failure"] {
            let _ = self
                .probe_duration
                .remove_label_values(&[l[0], l[1], l[2], result]);
            for s in &plan.steps {
                let _ = self
                    .step_duration
                    .remove_label_values(&[l[0], l[1], l[2], &s.name, result]);
            }
        }
        for r in Reason::ALL {
            let _ = self
                .failures
                .remove_label_values(&[l[0], l[1], l[2], r.as_str()]);
        }
        for s in &plan.steps {
            for p in Phase::ALL {
                let _ =
                    self.step_phase
                        .remove_label_values(&[l[0], l[1], l[2], &s.name, p.as_str()]);
            }
        }
    }

    /// Sets `mimamori_maintenance_active` for exactly the given services.
    pub fn set_maintenance(&self, location: &str, services: &[(String, bool)]) {
        let keep: HashSet<&str> = services.iter().map(|(s, _)| s.as_str()).collect();
        self.maintenance.reset();
        for (s, active) in services {
            if keep.contains(s.as_str()) {
                self.maintenance
                    .with_label_values(&[s.as_str(), location])
                    .set(if *active { 1.0 } else { 0.0 });
            }
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::with_capacity(64 * 1024);
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
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
        if self.last_tls[i] == now {
            return;
        }
        let step = self.steps_names[i].clone();
        let [s, t, l] = &self.labels;
        if let Some((v, c)) = self.last_tls[i].take() {
            let _ = self
                .tls_version
                .remove_label_values(&[s, t, l, &step, &v, &c]);
        }
        if let Some((v, c)) = &now {
            self.tls_version
                .with_label_values(&[s, t, l, &step, v, c])
                .set(1.0);
        }
        self.last_tls[i] = now;
    }

    pub fn record(&mut self, outcome: &Outcome) {
        let l = [
            self.labels[0].as_str(),
            self.labels[1].as_str(),
            self.labels[2].as_str(),
        ];
        self.success
            .with_label_values(&l)
            .set(if outcome.success { 1.0 } else { 0.0 });
        let secs = outcome.duration.as_secs_f64();
        if outcome.success {
            self.duration_ok.observe(secs);
        } else {
            self.duration_fail.observe(secs);
            if let Some(r) = outcome.reason {
                self.failures[Reason::ALL.iter().position(|x| *x == r).unwrap_or(0)].inc();
            }
        }
        for (i, st) in outcome.steps.iter().enumerate() {
            let Some(m) = self.steps.get(i) else { continue };
            if st.success { &m.ok } else { &m.fail }.observe(st.duration.as_secs_f64());
            for (p, g) in Phase::ALL.iter().zip(&m.phases) {
                g.set(st.phases.get(*p).as_secs_f64());
            }
            if let Some(tls) = &st.tls {
                if let Some(exp) = tls.not_after {
                    let [s, t, l] = &self.labels;
                    self.tls_expiry
                        .with_label_values(&[s, t, l, &self.steps_names[i]])
                        .set(exp as f64);
                }
                self.set_tls_labels(i, Some((tls.version.clone(), tls.cipher.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests;
