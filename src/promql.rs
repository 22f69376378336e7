//! The contract between the exporter and everything that reads its series.
//!
//! The exporter writes the series named in [`metric`]; the generated rules
//! record the series named in [`record`]; dashboards, the generated promtool
//! tests, `report` and `status` read both. Names live here once, and so do
//! the queries that *define* the objectives — which location is failing,
//! when the service counts as failing (the quorum), which operations count
//! as fast — so that a rule, a dashboard panel and a monthly report cannot
//! mean different things by the same word. A renamed series is a one-line
//! change here that the compiler carries everywhere.

use std::fmt;

/// Series the exporter writes (see docs/metrics.md, checked against a real /metrics).
pub mod metric {
    pub const PROBE_SUCCESS: &str = "mimamori_probe_success";
    pub const PROBE_DURATION: &str = "mimamori_probe_duration_seconds";
    pub const PROBE_FAILURES: &str = "mimamori_probe_failures_total";
    /// `attempt` (`first`, `retry`), `outcome` (`success`, `failure`): only for transactions with retries.
    pub const PROBE_ATTEMPTS: &str = "mimamori_probe_attempts_total";
    /// Whether the first attempt or its last retry succeeded: only for transactions with retries.
    pub const PROBE_FINAL_SUCCESS: &str = "mimamori_probe_final_success";
    pub const STEP_DURATION: &str = "mimamori_step_duration_seconds";
    pub const STEP_PHASE: &str = "mimamori_step_phase_seconds";
    pub const MAINTENANCE_ACTIVE: &str = "mimamori_maintenance_active";
    pub const RUNS_SKIPPED: &str = "mimamori_runs_skipped_total";
    pub const SCHEDULER_LAG: &str = "mimamori_scheduler_lag_seconds";
    pub const TRANSACTIONS: &str = "mimamori_transactions";
    pub const BUILD_INFO: &str = "mimamori_build_info";
    /// `index`, `count`: the shard of its location's transactions a prober runs (`0`/`1` unsharded).
    pub const SHARD_INFO: &str = "mimamori_shard_info";
    pub const CONFIG_RELOAD_SUCCESSFUL: &str = "mimamori_config_last_reload_successful";
    pub const CONFIG_RELOAD_SUCCESS_TIMESTAMP: &str =
        "mimamori_config_last_reload_success_timestamp_seconds";
    pub const TLS_VERSION_INFO: &str = "mimamori_tls_version_info";
    pub const TLS_CERTIFICATE_EXPIRY: &str = "mimamori_tls_certificate_expiry_timestamp_seconds";
    pub const TLS_LEGACY_ACCEPTED: &str = "mimamori_tls_legacy_accepted";
    pub const PLAIN_HTTP_REFUSED: &str = "mimamori_plain_http_refused";
    /// 1 while the prober can see (some self-check target of its location answers).
    pub const PROBER_HEALTHY: &str = "mimamori_prober_healthy";
    pub const PROBER_UNHEALTHY_SINCE: &str = "mimamori_prober_unhealthy_since_timestamp_seconds";
    pub const SELF_CHECK_SUCCESS: &str = "mimamori_self_check_success";
    // Browser transactions (src/browser/).
    pub const BROWSER_BLOCKED_REQUESTS: &str = "mimamori_browser_blocked_requests_total";
    pub const BROWSER_LCP: &str = "mimamori_browser_largest_contentful_paint_seconds";
    pub const BROWSER_LONG_TASKS: &str = "mimamori_browser_long_tasks_seconds";
    /// Prometheus' own scrape health series.
    pub const UP: &str = "up";
    /// Prometheus' series of pending and firing alerts.
    pub const ALERTS: &str = "ALERTS";

    // The backup objective (src/backup/), labels `service` and `backup`.
    pub const BACKUP_LAST_SUCCESS: &str = "mimamori_backup_last_success_timestamp_seconds";
    pub const BACKUP_OLDEST: &str = "mimamori_backup_oldest_timestamp_seconds";
    pub const BACKUP_RETENTION_REQUIRED: &str =
        "mimamori_backup_retention_required_timestamp_seconds";
    /// The issue's `days_covered`: promtool rejects the `_days` unit suffix.
    pub const BACKUP_DATES_COVERED: &str = "mimamori_backup_dates_covered";
    pub const BACKUP_DATES_EXPECTED: &str = "mimamori_backup_dates_expected";
    pub const BACKUP_ANONYMOUS_REFUSED: &str = "mimamori_backup_anonymous_access_refused";
    pub const BACKUP_CHECK_SUCCESS: &str = "mimamori_backup_check_success";
    pub const BACKUP_CHECK_FAILURES: &str = "mimamori_backup_check_failures_total";
}

/// Series the generated recording rules write (see `rules/README.md`).
pub mod record {
    /// 1 while a location sees a transaction of the service failing, per (service, location).
    pub const LOCATION_FAILING: &str = "mimamori:location_failing";
    /// 1 while a quorum of the reporting locations sees the service failing.
    pub const SERVICE_FAILING: &str = "mimamori:service_failing";
    pub const MAINTENANCE_ACTIVE: &str = "mimamori:maintenance_active";
    /// 0 inside a maintenance window (and its grace period), 1 otherwise.
    pub const SERVICE_OPERATING: &str = "mimamori:service_operating";
    /// 1 for each evaluation that is failure time: failing and operating.
    pub const AVAILABILITY_ERRORS: &str = "mimamori:slo_availability_errors";
    pub const OBJECTIVE: &str = "mimamori:slo_objective:ratio";
    pub const ERROR_BUDGET: &str = "mimamori:slo_error_budget:ratio";
    pub const BUDGET_REMAINING_30D: &str = "mimamori:slo_error_budget_remaining:ratio30d";
    /// 1 per (service, transaction, location, job, instance) while that prober
    /// reports the transaction, and kept while the prober cannot be scraped: who
    /// ran what, so a dead shard's transactions can be named.
    pub const TRANSACTION_PROBER: &str = "mimamori:transaction_prober";

    /// Failure seconds in a rolling window, e.g. `mimamori:slo_availability_failure_seconds:1h`.
    pub fn failure_seconds(window: &str) -> String {
        format!("mimamori:slo_availability_failure_seconds:{window}")
    }

    /// Error ratio of one objective (`availability`, `latency`) in a rolling window.
    pub fn error_ratio(slo: &str, window: &str) -> String {
        format!("mimamori:slo_{slo}_error_ratio:{window}")
    }

    /// Burn rate in a rolling window (label `slo` says which objective).
    pub fn burn_rate(window: &str) -> String {
        format!("mimamori:slo_burn_rate:{window}")
    }
}

/// Grafana dashboard uids: the dashboards define them, alerts link to them.
pub mod dashboard {
    pub const OVERVIEW: &str = "mimamori-slo-overview";
    pub const SERVICE: &str = "mimamori-service";
    pub const PROBERS: &str = "mimamori-probers";
}

/// `NAME_bucket` of a histogram.
pub fn bucket(histogram: &str) -> String {
    format!("{histogram}_bucket")
}

/// `NAME_count` of a histogram.
pub fn count(histogram: &str) -> String {
    format!("{histogram}_count")
}

/// `func(…[range])` of a part (`_count`, `_sum`, `_bucket`) of the runs'
/// duration histogram, per run of every transaction: a one-step transaction
/// has no run histogram of its own (its run is its step), so its step's
/// series stand in for it. `or ignoring (step)` takes a step's series only
/// where no run series has the same labels otherwise (same exporter,
/// transaction, address, result and bucket), i.e. for one-step transactions.
pub fn per_run(func: &str, part: &str, sel: &Selector, range: &str) -> String {
    format!(
        "{func}({}[{range}]) or ignoring (step) {func}({}[{range}])",
        sel.of(&format!("{}{part}", metric::PROBE_DURATION)),
        sel.of(&format!("{}{part}", metric::STEP_DURATION)),
    )
}

/// A list of label matchers, written `{service="hanbai",le=~"3|3\\.0"}`.
///
/// Values are escaped for a PromQL string; label names are the caller's
/// constants. An empty selector writes nothing, so `sel.of("up")` is `up`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    matchers: Vec<(String, &'static str, String)>,
}

impl Selector {
    pub fn new() -> Self {
        Selector::default()
    }

    /// `{service="NAME"}`: every objective is kept per service.
    pub fn service(name: &str) -> Self {
        Selector::new().eq("service", name)
    }

    /// Adds `label="value"`.
    pub fn eq(mut self, label: &str, value: impl AsRef<str>) -> Self {
        self.matchers
            .push((label.to_string(), "=", value.as_ref().to_string()));
        self
    }

    /// Adds `label!="value"`.
    pub fn ne(mut self, label: &str, value: impl Into<String>) -> Self {
        self.matchers.push((label.to_string(), "!=", value.into()));
        self
    }

    /// Adds `label=~"regex"` (the regex as Rust text; escaping is done here).
    pub fn re(mut self, label: &str, regex: impl AsRef<str>) -> Self {
        self.matchers
            .push((label.to_string(), "=~", regex.as_ref().to_string()));
        self
    }

    /// `metric{matchers}`.
    pub fn of(&self, metric: &str) -> String {
        format!("{metric}{self}")
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.matchers.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (label, op, value)) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{label}{op}\"")?;
            for c in value.chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '"' => f.write_str("\\\"")?,
                    '\n' => f.write_str("\\n")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

// ---------------------------------------------------------------------------
// The definitions. Each takes the series it reads as an expression, so the
// rules can build on their recorded series and `report`/`status` on the raw
// ones, with the same arithmetic.
// ---------------------------------------------------------------------------

/// Per (service, location): 1 while any transaction of the service fails at
/// that location, 0 while all succeed; absent while the location reports nothing.
///
/// Several probers may report one location (shards, an HA pair): a
/// transaction fails there only while every prober running it sees it fail,
/// so a twin whose own network breaks does not fail its location, and
/// nothing is ever counted per instance.
pub fn location_failing(sel: &Selector, all_addresses: &[(String, String)]) -> String {
    location_failing_of(&sel.of(metric::PROBE_SUCCESS), all_addresses)
}

/// [`location_failing`] over any probe-success expression, e.g. [`probe_success_fresh`].
/// `all_addresses` lists the (service, transaction) pairs with
/// `fail_when: all_addresses`; see [`transaction_failing_of`].
pub fn location_failing_of(probe_success: &str, all_addresses: &[(String, String)]) -> String {
    format!(
        "max by (service, location) (min by (service, location, transaction) ({}))",
        transaction_failing_of(probe_success, all_addresses)
    )
}

/// Per series but `ip`: 1 while the transaction fails, 0 while it succeeds.
/// A `resolve: all` transaction reports each address with an `ip` label: it
/// fails while any address fails (`fail_when: any_address`, the default: a
/// customer landing there fails), or, for the (service, transaction) pairs
/// in `all_addresses`, only while every address fails. Series without `ip`
/// (`resolve: first`) pass through unchanged.
pub fn transaction_failing_of(probe_success: &str, all_addresses: &[(String, String)]) -> String {
    if all_addresses.is_empty() {
        return format!("max without (ip) (1 - {probe_success})");
    }
    let listed = all_addresses
        .iter()
        .map(|(s, t)| {
            format!(
                "label_replace(label_replace(vector(1), \"service\", \"{}\", \"\", \"\"), \"transaction\", \"{}\", \"\", \"\")",
                escape(&regex_literal(s)),
                escape(&regex_literal(t))
            )
        })
        .collect::<Vec<_>>()
        .join(" or ");
    format!(
        "(\n  max without (ip) (1 - ({probe_success} unless on (service, transaction) ({listed})))\n  or\n  min without (ip) (1 - ({probe_success} and on (service, transaction) ({listed})))\n)"
    )
}

/// `label_replace`'s replacement expands `$1`: a literal `$` is written `$$`.
fn regex_literal(s: &str) -> String {
    s.replace('$', "$$")
}

/// A value inside a PromQL double-quoted string.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Per location: the samples of its fullest `mimamori_probe_success` series
/// in the last `window` (a PromQL duration): how often Prometheus really
/// stored a result there (`slo::spacing`).
pub fn samples_per_window(sel: &Selector, window: &str) -> String {
    format!(
        "max by (location) (count_over_time({}[{window}]))",
        sel.of(metric::PROBE_SUCCESS)
    )
}

/// How many probers of `job` Prometheus failed to scrape (`up == 0`): a cause of unknown time.
pub fn count_probers_down(job: &str) -> String {
    format!("count({})", probers_down(job))
}

/// How many probers of `job` say they are blind: a cause of unknown time.
pub fn count_probers_blind(job: &str) -> String {
    format!(
        "count({} == 0)",
        Selector::new().eq("job", job).of(metric::PROBER_HEALTHY)
    )
}

/// `mimamori_probe_success` as of each evaluation, from samples no older than
/// `max_age_ms`, and never from a target whose last scrape failed (`up == 0`
/// of the probers' `job`).
///
/// Read raw, a selector reaches back 5 minutes (Prometheus' lookback), so a gap
/// in the data would look like 5 more minutes of the last result. `report`
/// asks with `max_age_ms` = 1.5 × the spacing of the results (the longer of
/// the probe interval and the scrape interval measured from the data, see
/// `slo::spacing`): a step is known only when a result was scraped within one
/// spacing of it (with half a spacing of scrape jitter to spare).
pub fn probe_success_fresh(sel: &Selector, max_age_ms: u64, job: &str) -> String {
    format!(
        "(last_over_time({}[{max_age_ms}ms]) unless on (job, instance) ({} == 0))",
        sel.of(metric::PROBE_SUCCESS),
        Selector::new().eq("job", job).of(metric::UP)
    )
}

/// `expr` (probe results) without the results of probers that are blind
/// (`mimamori_prober_healthy == 0` of the probers' `job`): a blind
/// location's results are unknown, neither failure nor success, so it drops
/// out of the quorum's count like a location that does not report.
pub fn probe_success_seen(expr: &str, job: &str) -> String {
    format!(
        "({expr} unless on (job, instance) ({} == 0))",
        Selector::new().eq("job", job).of(metric::PROBER_HEALTHY)
    )
}

/// `up == 0` of the probers' `job`: targets whose last scrape failed.
pub fn probers_down(job: &str) -> String {
    format!("({} == 0)", Selector::new().eq("job", job).of(metric::UP))
}

/// The expression of [`record::TRANSACTION_PROBER`]: each prober's
/// transactions as it reports them, or as it last reported them while its
/// scrape fails. It reads its own previous value, so a prober that stays down
/// keeps its transactions for as long as it stays down (a shard's assignment
/// is fixed, see `config::shard`), and a prober that is removed from the
/// scrape targets (no `up` at all) or comes back drops out.
pub fn transaction_prober(sel: &Selector, job: &str) -> String {
    format!(
        "group by (service, transaction, location, job, instance) ({})\nor\n({} and on (job, instance) {})",
        sel.of(metric::PROBE_SUCCESS),
        sel.of(record::TRANSACTION_PROBER),
        probers_down(job)
    )
}

/// Per (service, transaction, location, instance): transactions that a
/// prober which cannot be scraped ran, that no other prober of the location
/// reports now, at a location that still reports something: a dead shard's
/// transactions, blind at that location. A dead HA twin leaves nothing blind
/// (the other reports the same transactions); a whole location gone is not a
/// shard problem (that location simply stops reporting).
pub fn transactions_blind(sel: &Selector, job: &str) -> String {
    format!(
        "(\n  ({} and on (job, instance) {})\n  unless on (service, transaction, location)\n  {}\n)\nand on (location)\ngroup by (location) ({})",
        sel.of(record::TRANSACTION_PROBER),
        probers_down(job),
        sel.of(metric::PROBE_SUCCESS),
        metric::PROBE_SUCCESS
    )
}

/// Per (service, transaction, location, job, instance): browser transactions
/// whose prober's Chromium failed runs (`reason="browser"`) in the last 10
/// minutes and which have no result now: blind there (see docs/browser.md).
pub fn browser_unavailable(sel: &Selector) -> String {
    format!(
        "sum by (service, transaction, location, job, instance) ({}) > 0\nunless on (service, transaction, location, job, instance)\n{}",
        failures_increase(&sel.clone().eq("reason", "browser"), "10m"),
        sel.of(metric::PROBE_SUCCESS)
    )
}

/// Keeps the series of `expr` only at the moments `service_failing` (an
/// expression from [`service_failing`]) is 1, matched on `service`.
pub fn while_failing(expr: &str, service_failing: &str) -> String {
    format!("({expr})\nand on (service)\n(({service_failing}) == 1)")
}

/// Per (service, reason): failed runs counted in the last `range` (a PromQL duration).
pub fn failures_by_reason(sel: &Selector, range: &str) -> String {
    failures_by_reason_of(&failures_increase(sel, range))
}

/// `increase(mimamori_probe_failures_total{…}[range])`, per series.
pub fn failures_increase(sel: &Selector, range: &str) -> String {
    format!("increase({}[{range}])", sel.of(metric::PROBE_FAILURES))
}

/// [`failures_by_reason`] over any per-series increase, e.g. one from which
/// [`probe_success_seen`] dropped the blind probers.
pub fn failures_by_reason_of(increase: &str) -> String {
    format!("sum by (service, reason) ({increase})")
}

/// Per service: how many locations report (from a per-location failing expression).
pub fn locations_reporting(by_location: &str) -> String {
    format!("count by (service) ({by_location})")
}

/// Per service: how many locations see it failing.
pub fn locations_failing(by_location: &str) -> String {
    format!("sum by (service) ({by_location})")
}

/// Per service: 1 while a quorum of the reporting locations sees it failing, 0
/// otherwise; absent while no location reports. With no configured quorum, a
/// strict majority of the locations reporting; with `Some(n)`, at least `n`
/// of them (all of them when fewer than `n` report). One location alone among
/// several never makes the service fail.
pub fn service_failing(by_location: &str, quorum: Option<u32>) -> String {
    let failing = locations_failing(by_location);
    let reporting = locations_reporting(by_location);
    match quorum {
        None => format!("{failing} * 2\n> bool\n{reporting}"),
        Some(n) => format!("{failing}\n>= bool\nclamp_max({reporting}, {n})"),
    }
}

/// Per service: 1 while any location reports the service inside a maintenance
/// window announced in time.
pub fn maintenance_active(sel: &Selector) -> String {
    format!("max by (service) ({})", sel.of(metric::MAINTENANCE_ACTIVE))
}

/// The two counts the latency objective is read from, per service: successful
/// operations, and those answered within the threshold (the `le` bucket at
/// the threshold). `func` is `rate` or `increase`, `range` a PromQL duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyCounts {
    pub total: String,
    pub good: String,
}

pub fn latency_counts(
    sel: &Selector,
    threshold_seconds: f64,
    func: &str,
    range: &str,
) -> LatencyCounts {
    latency_counts_by(sel, threshold_seconds, func, range, "service")
}

/// [`latency_counts`] summed by other labels than `service`, e.g.
/// `transaction, step` for a share per operation.
pub fn latency_counts_by(
    sel: &Selector,
    threshold_seconds: f64,
    func: &str,
    range: &str,
    by: &str,
) -> LatencyCounts {
    let LatencyCounts { total, good } = latency_series(sel, threshold_seconds);
    LatencyCounts {
        total: format!("sum by ({by}) ({func}({total}[{range}]))"),
        good: format!("sum by ({by}) ({func}({good}[{range}]))"),
    }
}

/// The two counters themselves (selectors, no rate): successful operations and
/// those within the threshold. For readers that apply their own rate, such as
/// OpenSLO's `ratioMetric` with `counter: true`; sum them by `service`.
pub fn latency_series(sel: &Selector, threshold_seconds: f64) -> LatencyCounts {
    let ok = sel.clone().eq("result", "success");
    let within = ok.clone().re("le", le_regex(threshold_seconds));
    LatencyCounts {
        total: ok.of(&count(metric::STEP_DURATION)),
        good: within.of(&bucket(metric::STEP_DURATION)),
    }
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// Rounds away binary noise (1 − 0.9999 = 0.00010000000000000009).
pub fn round_decimal(x: f64) -> f64 {
    let p = 1e12;
    (x * p).round() / p
}

/// An exact, plain decimal for PromQL and YAML: `0.0001`, never `9.999e-05` or `1e-4`.
pub fn decimal(x: f64) -> String {
    let s = format!("{:.12}", round_decimal(x));
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The `le` label value(s) a histogram bucket bound can be exposed as, as a
/// regex: the Rust and Go clients write `3`, Prometheus 3 normalises to `3.0`.
pub fn le_regex(bound: f64) -> String {
    let plain = decimal(bound);
    if plain.contains('.') {
        plain.replace('.', "\\.")
    } else {
        format!("{plain}|{plain}\\.0")
    }
}

/// The backup objective's series, one value per (service, backup): the
/// contract the backup alerts, `report` and the internal status view share.
pub mod backup {
    use super::{metric, Selector};

    const BY: &str = "by (service, backup)";

    /// When the newest backup was made (Unix seconds).
    pub fn newest(sel: &Selector) -> String {
        format!("max {BY} ({})", sel.of(metric::BACKUP_LAST_SUCCESS))
    }

    /// Seconds since the newest backup.
    pub fn age(sel: &Selector) -> String {
        format!("time() - {}", newest(sel))
    }

    /// Dates covered minus dates expected: below 0 while a date has no backup.
    pub fn dates_margin(sel: &Selector) -> String {
        format!(
            "max {BY} ({} - {})",
            sel.of(metric::BACKUP_DATES_COVERED),
            sel.of(metric::BACKUP_DATES_EXPECTED)
        )
    }

    /// The oldest backup minus the time it must be older than: above 0
    /// while retention is short.
    pub fn retention_margin(sel: &Selector) -> String {
        format!(
            "min {BY} ({} - {})",
            sel.of(metric::BACKUP_OLDEST),
            sel.of(metric::BACKUP_RETENTION_REQUIRED)
        )
    }

    /// 1 while unsigned access is refused, 0 once any prober saw it allowed.
    pub fn anonymous_refused(sel: &Selector) -> String {
        format!("min {BY} ({})", sel.of(metric::BACKUP_ANONYMOUS_REFUSED))
    }

    /// 1 while some prober can list the location.
    pub fn check_success(sel: &Selector) -> String {
        format!("max {BY} ({})", sel.of(metric::BACKUP_CHECK_SUCCESS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_plain() {
        assert_eq!(decimal(1.0 - 0.9999), "0.0001");
        assert_eq!(decimal(99.99 / 100.0), "0.9999");
        assert_eq!(decimal(3600.0 * 0.0001), "0.36");
        assert_eq!(decimal(14.4), "14.4");
        assert_eq!(decimal(100.0), "100");
        assert_eq!(decimal(0.0), "0");
        assert_eq!(le_regex(3.0), "3|3\\.0");
        assert_eq!(le_regex(2.5), "2\\.5");
    }

    #[test]
    fn selectors_escape_values() {
        let s = Selector::service("hanbai")
            .eq("result", "success")
            .re("le", le_regex(3.0));
        assert_eq!(
            s.of(&bucket(metric::STEP_DURATION)),
            r#"mimamori_step_duration_seconds_bucket{service="hanbai",result="success",le=~"3|3\\.0"}"#
        );
        assert_eq!(Selector::new().of(metric::UP), "up");
        assert_eq!(
            Selector::new().ne("service", "").of(metric::ALERTS),
            r#"ALERTS{service!=""}"#
        );
        assert_eq!(
            Selector::new().eq("x", "a\"b\\c").to_string(),
            r#"{x="a\"b\\c"}"#
        );
    }

    #[test]
    fn definitions_parse() {
        let sel = Selector::service("hanbai");
        let by_location = location_failing(&sel, &[]);
        let all = [("hanbai".to_string(), "login".to_string())];
        let lat = latency_counts(&sel, 3.0, "increase", "30d");
        for e in [
            service_failing(&by_location, None),
            service_failing(&by_location, Some(2)),
            maintenance_active(&sel),
            service_failing(
                &location_failing_of(&probe_success_fresh(&sel, 22_500, "mimamori"), &[]),
                None,
            ),
            location_failing(&sel, &all),
            location_failing_of(&probe_success_fresh(&sel, 22_500, "mimamori"), &all),
            while_failing(
                &failures_by_reason(&sel, "30s"),
                &service_failing(&by_location, None),
            ),
            lat.total,
            lat.good,
            transaction_prober(&sel, "mimamori"),
            transactions_blind(&sel, "mimamori"),
            location_failing_of(
                &probe_success_seen(&probe_success_fresh(&sel, 22_500, "mimamori"), "mimamori"),
                &[("a".into(), "b".into())],
            ),
            failures_by_reason_of(&probe_success_seen(
                &failures_increase(&sel, "30s"),
                "mimamori",
            )),
        ] {
            promql_parser::parser::parse(&e).unwrap_or_else(|err| panic!("{e}: {err}"));
        }
    }
}
