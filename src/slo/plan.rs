//! The arithmetic of the objectives: budgets, windows, burn-rate thresholds.
//!
//! Rules, tests and `explain` all read the numbers from here, so the text
//! people read and the expressions Prometheus runs cannot drift apart.

use crate::config::{Config, FailWhen, Service};
use crate::promql::round_decimal;

/// Rule evaluation interval of the fast rule group. Failure time is counted in
/// samples of `mimamori:slo_availability_errors`, one sample per evaluation.
pub const EVAL_SECONDS: u64 = 15;

/// Evaluation interval of the long-window rule group (1d, 3d, 30d).
pub const LONG_EVAL: &str = "1m";

/// A rolling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// PromQL duration and recording-rule suffix, e.g. `1h`.
    pub name: &'static str,
    pub seconds: u64,
}

impl Window {
    const fn new(name: &'static str, seconds: u64) -> Self {
        Window { name, seconds }
    }
    /// Windows longer than 6 h are evaluated in the slower group.
    pub fn is_long(&self) -> bool {
        self.seconds > 6 * 3600
    }
}

pub const W5M: Window = Window::new("5m", 300);
pub const W30M: Window = Window::new("30m", 1800);
pub const W1H: Window = Window::new("1h", 3600);
pub const W2H: Window = Window::new("2h", 7200);
pub const W6H: Window = Window::new("6h", 21600);
pub const W1D: Window = Window::new("1d", 86400);
pub const W3D: Window = Window::new("3d", 259200);
pub const W30D: Window = Window::new("30d", 2592000);

/// Every window recorded for dashboards and alerts.
pub const WINDOWS: [Window; 8] = [W5M, W30M, W1H, W2H, W6H, W1D, W3D, W30D];

/// Which objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slo {
    Availability,
    Latency,
}

impl Slo {
    pub fn label(self) -> &'static str {
        match self {
            Slo::Availability => "availability",
            Slo::Latency => "latency",
        }
    }
}

/// Page wakes someone; ticket waits for support hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// One multi-window burn-rate alert: fires while both windows burn at least `burn`.
#[derive(Debug, Clone)]
pub struct BurnAlert {
    pub name: String,
    pub slo: Slo,
    pub severity: Severity,
    pub long: Window,
    pub short: Window,
    /// Burn-rate threshold (1 = exactly the budget over the SLO period).
    pub burn: f64,
}

impl BurnAlert {
    /// Share of a 30-day budget the long window consumes at the threshold.
    pub fn budget_share(&self) -> f64 {
        self.burn * self.long.seconds as f64 / W30D.seconds as f64
    }
}

/// The numbers for one service.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub service: String,
    pub ja: String,
    pub en: String,
    /// Availability objective as a ratio, e.g. 0.9999.
    pub availability: f64,
    /// 1 − availability, e.g. 0.0001.
    pub availability_budget: f64,
    pub latency_threshold_seconds: f64,
    pub latency: f64,
    pub latency_budget: f64,
    /// Percent of the operating time that must have been observed before a
    /// period's availability can be called met (`objectives.min_coverage`).
    pub min_coverage_percent: f64,
    /// `objectives.apply_exclusions`: the verdict is judged on the figure with
    /// the exclusions' failure time set aside.
    pub apply_exclusions: bool,
    /// Longest probe interval of the service's transactions: what one failed round costs.
    pub round_seconds: u64,
    /// Longest transaction timeout: how late a hanging failure can be seen.
    pub timeout_seconds: u64,
    /// Probe results younger than this after a maintenance window ends are not held against the service.
    pub grace_seconds: u64,
    pub alerts: Vec<BurnAlert>,
    /// (service, transaction) of the `resolve: all` transactions with
    /// `fail_when: all_addresses`: they fail only while every address fails.
    pub all_addresses: Vec<(String, String)>,
}

/// Minimum number of failed probe rounds (failure time in units of one probe
/// interval) each availability alert needs in its long window. Fractional, so
/// that the threshold never sits exactly on a whole number of samples.
pub const FAST_PAGE_ROUNDS: f64 = 2.4;
pub const SLOW_PAGE_ROUNDS: f64 = 4.5;
pub const TICKET_ROUNDS: f64 = 1.5;

impl ServicePlan {
    pub fn new(cfg: &Config, svc: &Service) -> Self {
        let g = &cfg.global;
        let round_seconds = svc
            .transactions
            .iter()
            .map(|t| t.interval(g).as_secs_f64().ceil() as u64)
            .max()
            .unwrap_or(g.interval.0.as_secs());
        // A run's first result is exported when its retries are over.
        let timeout_seconds = svc
            .transactions
            .iter()
            .map(|t| t.longest_run(g).as_secs_f64().ceil() as u64)
            .max()
            .unwrap_or(g.timeout.0.as_secs());
        let availability = round_decimal(svc.objectives.availability / 100.0);
        let availability_budget = round_decimal(1.0 - availability);
        let latency = round_decimal(svc.objectives.latency.target / 100.0);
        let latency_budget = round_decimal(1.0 - latency);
        // A result reported just after a window ends may come from a run inside it.
        let grace_seconds = (round_seconds + timeout_seconds).div_ceil(60).max(1) * 60;

        // Availability: burn rates sized so one or two failed rounds never page.
        // burn = failure seconds / (window seconds × budget).
        let burn_for = |rounds: f64, w: Window, floor: f64| {
            let b = rounds * round_seconds as f64 / (w.seconds as f64 * availability_budget);
            round_decimal(b.max(floor))
        };
        let alerts = vec![
            BurnAlert {
                name: "MimamoriAvailabilityFastBurn".into(),
                slo: Slo::Availability,
                severity: Severity::Page,
                long: W1H,
                short: W5M,
                burn: burn_for(FAST_PAGE_ROUNDS, W1H, 14.4),
            },
            BurnAlert {
                name: "MimamoriAvailabilitySlowBurn".into(),
                slo: Slo::Availability,
                severity: Severity::Page,
                long: W6H,
                short: W30M,
                burn: burn_for(SLOW_PAGE_ROUNDS, W6H, 6.0),
            },
            BurnAlert {
                name: "MimamoriAvailabilityBudgetBurn".into(),
                slo: Slo::Availability,
                severity: Severity::Ticket,
                long: W3D,
                short: W6H,
                burn: burn_for(TICKET_ROUNDS, W3D, 1.0),
            },
            // Latency is counted in operations, not time: the SRE Workbook's table applies.
            BurnAlert {
                name: "MimamoriLatencyFastBurn".into(),
                slo: Slo::Latency,
                severity: Severity::Page,
                long: W1H,
                short: W5M,
                burn: 14.4,
            },
            BurnAlert {
                name: "MimamoriLatencySlowBurn".into(),
                slo: Slo::Latency,
                severity: Severity::Ticket,
                long: W6H,
                short: W30M,
                burn: 6.0,
            },
            BurnAlert {
                name: "MimamoriLatencyBudgetBurn".into(),
                slo: Slo::Latency,
                severity: Severity::Ticket,
                long: W3D,
                short: W6H,
                burn: 1.0,
            },
        ];
        ServicePlan {
            service: svc.name.to_string(),
            ja: svc.display_name.ja.clone(),
            en: svc.display_name.en.clone(),
            availability,
            availability_budget,
            latency_threshold_seconds: svc.objectives.latency.threshold.as_secs_f64(),
            latency,
            latency_budget,
            min_coverage_percent: svc.objectives.min_coverage,
            apply_exclusions: svc.objectives.apply_exclusions,
            round_seconds,
            timeout_seconds,
            grace_seconds,
            alerts,
            all_addresses: svc
                .transactions
                .iter()
                .filter(|t| t.every_address() && t.fail_when == FailWhen::AllAddresses)
                .map(|t| (svc.name.to_string(), t.name.to_string()))
                .collect(),
        }
    }

    pub fn objective(&self, slo: Slo) -> f64 {
        match slo {
            Slo::Availability => self.availability,
            Slo::Latency => self.latency,
        }
    }

    pub fn budget(&self, slo: Slo) -> f64 {
        match slo {
            Slo::Availability => self.availability_budget,
            Slo::Latency => self.latency_budget,
        }
    }

    /// Failure seconds allowed in a month of `days` days.
    pub fn budget_seconds(&self, days: u64) -> f64 {
        self.availability_budget * (days * 86400) as f64
    }

    /// Failure seconds in window `w` that reach burn rate `burn`.
    pub fn failure_seconds_at(&self, burn: f64, w: Window) -> f64 {
        burn * w.seconds as f64 * self.availability_budget
    }

    /// Worst case, from the first failing second to the alert firing, for a full
    /// outage and the given alert (in Prometheus; Alertmanager adds `group_wait`).
    ///
    /// The outage is seen when the next run starts (one interval) and fails
    /// (at worst, its timeout); the result is scraped (one more interval at most,
    /// scrape interval assumed equal to the probe interval); the next evaluations
    /// record one failure sample each until there are enough.
    pub fn detection_seconds(&self, a: &BurnAlert) -> u64 {
        let needed = self.failure_seconds_at(a.burn, a.long);
        let samples = samples_above(needed);
        // Long windows are evaluated every minute, not every 15 s.
        let slower = if a.long.is_long() {
            60 - EVAL_SECONDS
        } else {
            0
        };
        self.round_seconds
            + self.timeout_seconds
            + self.round_seconds
            + samples * EVAL_SECONDS
            + slower
    }

    /// Smallest full outage (in seconds of failure) that fires the alert.
    pub fn smallest_firing_outage(&self, a: &BurnAlert) -> u64 {
        samples_above(self.failure_seconds_at(a.burn, a.long)) * EVAL_SECONDS
    }
}

/// Whole evaluation samples needed for the failure time to reach `seconds`.
pub fn samples_above(seconds: f64) -> u64 {
    (seconds / EVAL_SECONDS as f64 - 1e-9).ceil().max(1.0) as u64
}

/// One plan per service, in configuration order.
pub fn plans(cfg: &Config) -> Vec<ServicePlan> {
    cfg.services
        .iter()
        .map(|s| ServicePlan::new(cfg, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::decimal;

    /// The SRE Workbook's table (chapter 5, "Alerting on SLOs"): a burn rate over
    /// a window consumes burn × window / 30 d of a 30-day budget.
    #[test]
    fn workbook_table_budget_consumption() {
        let cases = [(14.4, W1H, 0.02), (6.0, W6H, 0.05), (1.0, W3D, 0.10)];
        for (burn, long, share) in cases {
            let a = BurnAlert {
                name: String::new(),
                slo: Slo::Latency,
                severity: Severity::Page,
                long,
                short: W5M,
                burn,
            };
            assert!(
                (a.budget_share() - share).abs() < 1e-12,
                "{burn} over {}",
                long.name
            );
        }
    }

    #[test]
    fn budget_per_month_length() {
        let p = ServicePlan::new(&aoulu(), &aoulu().services[0]);
        assert_eq!(decimal(p.budget_seconds(30)), "259.2"); // 4.32 min
        assert_eq!(decimal(p.budget_seconds(31)), "267.84"); // 4.464 min
        assert_eq!(decimal(p.budget_seconds(28)), "241.92"); // 4.032 min
    }

    #[test]
    fn aoulu_thresholds_and_detection() {
        let p = ServicePlan::new(&aoulu(), &aoulu().services[0]);
        assert_eq!(p.round_seconds, 15);
        let burns: Vec<String> = p.alerts.iter().map(|a| decimal(a.burn)).collect();
        assert_eq!(burns, ["100", "31.25", "1", "14.4", "6", "1"]);
        let fast = &p.alerts[0];
        // 100 × 3600 s × 0.0001 = 36 s: three failed rounds (45 s), never one or two.
        assert_eq!(decimal(p.failure_seconds_at(fast.burn, fast.long)), "36");
        assert_eq!(p.smallest_firing_outage(fast), 45);
        // 15 s to the next run + 15 s timeout + 15 s scrape + 3 samples × 15 s.
        assert_eq!(p.detection_seconds(fast), 90);
        assert_eq!(
            p.detection_seconds(&p.alerts[2]),
            15 + 15 + 15 + 2 * 15 + 45
        );
        assert!(p.detection_seconds(fast) <= 120);
        // One failed round (15 s) stays under every availability alert but the ticket's double.
        for a in p.alerts.iter().filter(|a| a.slo == Slo::Availability) {
            assert!(p.failure_seconds_at(a.burn, a.long) > 15.0, "{}", a.name);
        }
        assert_eq!(p.grace_seconds, 60);
    }

    fn aoulu() -> Config {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/aoulu.yaml");
        crate::config::load(std::path::Path::new(path)).unwrap()
    }
}
