//! The `mimamori_backup_*` series, registered in the exporter's registry.
//! Labels: `service`, `backup` (and `reason` on the failure counter).

use chrono::{DateTime, Utc};
use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};

use super::{coverage, BackupPlan, Listing, Reason};
use crate::promql::metric;

pub struct BackupMetrics {
    last_success: GaugeVec,
    oldest: GaugeVec,
    retention_required: GaugeVec,
    dates_covered: GaugeVec,
    dates_expected: GaugeVec,
    anonymous_refused: GaugeVec,
    check_success: GaugeVec,
    failures: IntCounterVec,
}

const LABELS: [&str; 2] = ["service", "backup"];

impl BackupMetrics {
    pub fn new(registry: &Registry) -> Self {
        let gauge = |name: &str, help: &str| {
            let g = GaugeVec::new(Opts::new(name, help), &LABELS).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("metric names are unique");
            g
        };
        BackupMetrics {
            last_success: gauge(metric::BACKUP_LAST_SUCCESS, "Time of the newest backup found (its name's date, or its last-modified time)."),
            oldest: gauge(metric::BACKUP_OLDEST, "Time of the oldest backup retained."),
            retention_required: gauge(metric::BACKUP_RETENTION_REQUIRED, "The oldest backup must be at least this old: six calendar months ago (Asia/Tokyo), or the start of `since` if later."),
            dates_covered: gauge(metric::BACKUP_DATES_COVERED, "Calendar dates (Asia/Tokyo) of the last 183 before today with at least one backup."),
            dates_expected: gauge(metric::BACKUP_DATES_EXPECTED, "Calendar dates (Asia/Tokyo) of the last 183 before today that must have a backup (those on or after `since`)."),
            anonymous_refused: gauge(metric::BACKUP_ANONYMOUS_REFUSED, "Whether unsigned (anonymous) list and read requests were refused (1) or allowed (0); S3 locations only."),
            check_success: gauge(metric::BACKUP_CHECK_SUCCESS, "Whether the last check could list the location (1) or not (0)."),
            failures: {
                let c = IntCounterVec::new(
                    Opts::new(metric::BACKUP_CHECK_FAILURES, "Checks that could not list the location, by reason."),
                    &["service", "backup", "reason"],
                )
                .expect("valid metric");
                registry
                    .register(Box::new(c.clone()))
                    .expect("metric names are unique");
                c
            },
        }
    }

    fn zero_failures(&self, plan: &BackupPlan) {
        for r in Reason::ALL {
            self.failures
                .with_label_values(&[&plan.service, &plan.name, r.as_str()]);
        }
    }

    /// Records a successful listing made at `now`.
    pub fn record(&self, plan: &BackupPlan, listing: &Listing, now: DateTime<Utc>) {
        let l = [plan.service.as_str(), plan.name.as_str()];
        let c = coverage(&listing.times, now, plan.since);
        let ts = |t: Option<DateTime<Utc>>| t.map_or(0.0, |t| t.timestamp_millis() as f64 / 1000.0);
        self.last_success.with_label_values(&l).set(ts(c.newest));
        self.oldest.with_label_values(&l).set(ts(c.oldest));
        self.retention_required
            .with_label_values(&l)
            .set(ts(Some(c.retention_required)));
        self.dates_covered
            .with_label_values(&l)
            .set(c.dates_covered.into());
        self.dates_expected
            .with_label_values(&l)
            .set(c.dates_expected.into());
        if let Some(refused) = listing.anonymous_refused {
            self.anonymous_refused
                .with_label_values(&l)
                .set(if refused { 1.0 } else { 0.0 });
        }
        self.check_success.with_label_values(&l).set(1.0);
        self.zero_failures(plan);
    }

    /// Records a failed check; the last listing's values stay.
    pub fn failed(&self, plan: &BackupPlan, reason: Reason) {
        self.zero_failures(plan);
        self.check_success
            .with_label_values(&[&plan.service, &plan.name])
            .set(0.0);
        self.failures
            .with_label_values(&[&plan.service, &plan.name, reason.as_str()])
            .inc();
    }

    /// Removes a backup's series (no longer configured).
    pub fn forget(&self, service: &str, backup: &str) {
        let l = [service, backup];
        for g in [
            &self.last_success,
            &self.oldest,
            &self.retention_required,
            &self.dates_covered,
            &self.dates_expected,
            &self.anonymous_refused,
            &self.check_success,
        ] {
            let _ = g.remove_label_values(&l);
        }
        for r in Reason::ALL {
            let _ = self
                .failures
                .remove_label_values(&[service, backup, r.as_str()]);
        }
    }
}
