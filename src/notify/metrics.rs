//! The notifier's series on `mimamori status`'s `/metrics`: how long customers
//! waited for the first notice of an incident (the seed's one-hour promise as
//! a measured objective), what was delivered, failed or is waiting. Counts
//! only: no address ever becomes a label value.

use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use super::Channel;

/// The buckets of the notice delay, in seconds: around the 45-minute alert
/// and the one-hour promise.
pub const DELAY_BUCKETS: [f64; 12] = [
    60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0, 14400.0,
];

/// The help texts (docs/metrics.md repeats them; a test compares).
pub const HELP_DELAY: &str =
    "Seconds from an incident's start to the first notice of it delivered on the channel.";
pub const HELP_DELIVERED: &str =
    "Notices delivered (accepted by the SMTP server or answered 2xx by the webhook).";
pub const HELP_FAILED: &str =
    "Notices failed for good (permanent error, or retried until notify.retry.give_up_after).";
pub const HELP_PENDING: &str = "Notices queued and not yet delivered or failed.";
pub const HELP_UNNOTIFIED: &str = "Age in seconds of the service's oldest ongoing incident with no notice delivered on any channel (0 when none).";
pub const HELP_CONTACTS: &str =
    "Registered contacts read from notify.contacts, by whether their row was accepted.";
pub const HELP_LEASE: &str =
    "1 while this replica holds the sender's lease and delivers the notices, else 0.";

/// The notifier's series, in their own registry.
pub struct Metrics {
    pub registry: Registry,
    pub delay: HistogramVec,
    pub delivered: IntCounterVec,
    pub failed: IntCounterVec,
    pub pending: IntGaugeVec,
    pub unnotified: GaugeVec,
    pub contacts: IntGaugeVec,
    pub lease: IntGauge,
}

impl Metrics {
    /// Every family, with both channels (and both contact results) present from the start.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let delay = HistogramVec::new(
            HistogramOpts::new("mimamori_notice_delay_seconds", HELP_DELAY)
                .buckets(DELAY_BUCKETS.to_vec()),
            &["channel"],
        )
        .unwrap();
        let delivered = IntCounterVec::new(
            Opts::new("mimamori_notices_delivered_total", HELP_DELIVERED),
            &["channel"],
        )
        .unwrap();
        let failed = IntCounterVec::new(
            Opts::new("mimamori_notices_failed_total", HELP_FAILED),
            &["channel"],
        )
        .unwrap();
        let pending = IntGaugeVec::new(
            Opts::new("mimamori_notices_pending", HELP_PENDING),
            &["channel"],
        )
        .unwrap();
        let unnotified = GaugeVec::new(
            Opts::new(
                "mimamori_notice_unnotified_incident_seconds",
                HELP_UNNOTIFIED,
            ),
            &["service"],
        )
        .unwrap();
        let contacts = IntGaugeVec::new(
            Opts::new("mimamori_notice_contacts", HELP_CONTACTS),
            &["result"],
        )
        .unwrap();
        let lease = IntGauge::new("mimamori_notice_lease_held", HELP_LEASE).unwrap();
        for c in [
            Box::new(delay.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(delivered.clone()),
            Box::new(failed.clone()),
            Box::new(pending.clone()),
            Box::new(unnotified.clone()),
            Box::new(contacts.clone()),
            Box::new(lease.clone()),
        ] {
            registry.register(c).unwrap();
        }
        for ch in [Channel::Email, Channel::Webhook] {
            let l = [ch.as_str()];
            delay.with_label_values(&l);
            delivered.with_label_values(&l);
            failed.with_label_values(&l);
            pending.with_label_values(&l).set(0);
        }
        for r in ["accepted", "rejected"] {
            contacts.with_label_values(&[r]).set(0);
        }
        Metrics {
            registry,
            delay,
            delivered,
            failed,
            pending,
            unnotified,
            contacts,
            lease,
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        render(&self.registry)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The text exposition of a registry.
pub fn render(registry: &Registry) -> String {
    use prometheus::Encoder;
    let mut out = Vec::new();
    prometheus::TextEncoder::new()
        .encode(&registry.gather(), &mut out)
        .expect("text encoding to memory");
    String::from_utf8(out).expect("the text format is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_there_from_the_start() {
        let m = Metrics::new();
        m.unnotified.with_label_values(&["sales"]).set(0.0);
        let text = m.render();
        for name in [
            "mimamori_notice_delay_seconds_bucket{channel=\"email\",le=\"3600\"} 0",
            "mimamori_notices_delivered_total{channel=\"webhook\"} 0",
            "mimamori_notices_failed_total{channel=\"email\"} 0",
            "mimamori_notices_pending{channel=\"email\"} 0",
            "mimamori_notice_unnotified_incident_seconds{service=\"sales\"} 0",
            "mimamori_notice_contacts{result=\"rejected\"} 0",
            "mimamori_notice_lease_held 0",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
    }
}
