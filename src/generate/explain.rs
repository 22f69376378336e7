//! The arithmetic behind the alerts, in words: `mimamori explain` and `rules/README.md`.

use std::fmt::Write;

use crate::config::Config;
use crate::promql::decimal;
use crate::slo::plan::{self, ServicePlan, Severity, Slo, EVAL_SECONDS};

fn pct(x: f64) -> String {
    decimal((x * 10000.0).round() / 100.0)
}

fn quorum_text(cfg: &Config) -> String {
    let n = cfg.alerting.locations.len();
    match cfg.alerting.quorum {
        None if n > 0 => format!(
            "a majority of the locations reporting at that moment ({} of {n} when all report; one location's failures alone never count)",
            n / 2 + 1
        ),
        None => "a majority of the locations reporting at that moment".into(),
        Some(q) => format!("at least {q} of the locations reporting (all of them when fewer report)"),
    }
}

/// Text printed by `mimamori explain`.
pub fn text(cfg: &Config) -> String {
    let mut o = String::new();
    for p in plan::plans(cfg) {
        service(cfg, &p, &mut o);
    }
    o.push_str(&common(cfg));
    o
}

fn common(cfg: &Config) -> String {
    let mut o = String::from(
        "## Why the design holds\n\n\
         - **One location never pages.** A service is failing only when a quorum of the reporting locations \
         sees it failing; a location failing alone raises `MimamoriLocationFailing` (ticket, after 10 min), \
         a silent one `MimamoriLocationNotReporting` (ticket, after 10 min). \
         This holds while at least two locations report: when only one is left, it alone decides, and the \
         ticket for the silent one says so.\n\
         - **Several probers per location count once.** A location may run shards (`--shard INDEX/COUNT`, each \
         running its part of the transactions) or an HA pair of identical probers: every rule aggregates by \
         `location`, never by `instance`: a transaction fails at a location only while every prober running it there \
         sees it fail, a pair failing together is one failing location, and the quorum counts locations. A dead shard leaves its transactions unprobed at that location: they drop out (no failure \
         time, no page) and `MimamoriTransactionsBlind` names them; a dead twin of a pair leaves nothing blind. \
         A prober that fails every self-check target is blind (`MimamoriProberBlind`, ticket): its results are unknown, so the quorum is taken over the locations that still see. The service is blind (`MimamoriServiceBlind`, page) only when no location reports it at all (or every reporting one is blind).\n\
         - **Announced maintenance never pages.** Inside the window (and its grace) nothing is failure time, so \
         the availability burn stays at 0; latency alerts fire only when their whole short window was operating time, so answers given during maintenance cannot page after it. Because \
         availability alerts burn against wall-clock windows, the short operating time just after a window cannot \
         inflate a later failed probe either.\n\
         - **Latency and availability do not double count.** Failed runs are availability; only successful runs' \
         operations are judged against the threshold.\n\
         - **The month is a calendar month** in the SLO; the rules use rolling windows (burn) and a rolling 30 d \
         (budget remaining), which is what alerting needs; the calendar-month figure belongs in reports.\n\
         - **Pages** go out at any hour; **tickets** only in support hours",
    );
    let sh = &cfg.alerting.support_hours;
    let _ = writeln!(
        o,
        " ({} {}, {}{}). A page inhibits the ticket for the same service and SLO (and the same backup, for backup alerts).\n",
        sh.weekdays.join(", "),
        sh.times.join(" and "),
        sh.timezone,
        if sh.exclude_japanese_holidays {
            ", Japanese public holidays excluded"
        } else {
            ""
        }
    );
    o.push_str(
        "## Prober health and certificates\n\n\
         | alert | severity | fires when |\n|---|---|---|\n\
         | MimamoriServiceBlind | page | no location reports the service (or every reporting prober is blind) for 5 min: its SLO is blind |\n\
         | MimamoriProbersAbsent | page | no prober target is up for 5 min: every SLO is blind |\n\
         | MimamoriProberDown | ticket | a prober cannot be scraped for 5 min |\n\
         | MimamoriProberBlind | ticket | every self-check target of a prober fails for 2 min: its location is blind, its results count as unknown (neither failure nor success); names the location, since when and for how long |\n\
         | MimamoriLocationFailing | ticket | one location fails while the quorum succeeds, for 10 min |\n\
         | MimamoriLocationNotReporting | ticket | a configured location sends nothing for 10 min |\n\
         | MimamoriTransactionsBlind | ticket | a prober (shard) cannot be scraped for 5 min while its location's other probers report: names each transaction only it ran (`transaction`, `location`, `instance`); blind there, never failure time |\n\
         | MimamoriConfigReloadFailed | ticket | a prober kept its old configuration for 10 min |\n\
         | MimamoriRunsSkipped | ticket | a prober skipped runs in each of 15 min |\n\
         | MimamoriCertificateExpiresSoon | ticket | a service's certificate expires within 21 days |\n\
         | MimamoriCertificateExpiresVerySoon | page | within 3 days |\n\
         | MimamoriLegacyTlsAccepted | ticket | a server completes a TLS 1.0 or 1.1 handshake (the SLO disables anything below 1.2) |\n\
         | MimamoriPlainHttpServed | ticket | the service's `plain_http_url` serves content instead of refusing or redirecting to HTTPS |\n",
    );
    let backups = super::backups::explain(cfg);
    if !backups.is_empty() {
        o.push('\n');
        o.push_str(&backups);
    }
    let notices = super::notices::explain(cfg);
    if !notices.is_empty() {
        o.push('\n');
        o.push_str(&notices);
    }
    o
}

/// `rules/README.md`.
pub fn readme(cfg: &Config) -> String {
    let mut o = String::new();
    let file = std::path::Path::new(&cfg.source.file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "# SLO rules and what their alerts mean\n\n\
         Generated by `mimamori generate` from `{file}`; do not edit by hand. \
         `mimamori explain --config {file}` prints the same arithmetic.\n\n\
         Files: `<service>.yml` (recording rules and SLO alerts per service), \
         `mimamori-probers.yml` (prober health, certificates), `tests/*.yaml` \
         (`promtool test rules` scenarios). Check with `promtool check rules rules/*.yml` \
         and `promtool test rules rules/tests/*.yaml`.\n"
    );
    o.push_str(RECORDING_RULES);
    o.push('\n');
    o.push_str(&text(cfg));
    o
}

const RECORDING_RULES: &str = "## Recording rules (contract with the dashboards)\n\n\
| series | labels | meaning |\n\
|---|---|---|\n\
| `mimamori:location_failing` | service, location | 1 when that location's latest run of any transaction of the service failed (its first attempt; for a `resolve: all` transaction, at any address, or at every address with `fail_when: all_addresses`; where several probers run a transaction there, an HA pair, every one of them saw it fail); absent while the location's probers are blind (`mimamori_prober_healthy 0`: unknown, neither failure nor success) |\n\
| `mimamori:transaction_prober` | service, transaction, location, job, instance | 1 while that prober reports the transaction, kept while it cannot be scraped (who ran what, for `MimamoriTransactionsBlind`) |\n\
| `mimamori:service_failing` | service | 1 when a quorum of the reporting locations sees the service failing |\n\
| `mimamori:maintenance_active` | service | 1 inside an announced (in time) maintenance window |\n\
| `mimamori:service_operating` | service | 1 when the moment counts as operating time: not in announced maintenance, nor within the grace after one |\n\
| `mimamori:slo_availability_errors` | service | 1 for a moment of failure time (failing and operating) |\n\
| `mimamori:slo_availability_failure_seconds:<w>` | service | failure time in the window, seconds |\n\
| `mimamori:slo_availability_error_ratio:<w>` | service | failure time ÷ operating time over the window |\n\
| `mimamori:slo_latency_error_ratio:<w>` | service | share of successful operations slower than the threshold |\n\
| `mimamori:slo_objective:ratio` | service, slo | objective, e.g. 0.9999 |\n\
| `mimamori:slo_error_budget:ratio` | service, slo | 1 − objective |\n\
| `mimamori:slo_burn_rate:<w>` | service, slo | error ratio ÷ error budget |\n\
| `mimamori:slo_error_budget_remaining:ratio30d` | service, slo | 1 − error ratio over 30 d ÷ budget (negative when overspent) |\n\n\
Windows `<w>`: 5m, 30m, 1h, 2h, 6h, 1d, 3d, 30d. The windows up to 6h are evaluated every 15 s, \
the longer ones every minute. `slo` is `availability` or `latency`.\n";

fn service(cfg: &Config, p: &ServicePlan, o: &mut String) {
    let _ = writeln!(o, "## {} ({} / {})\n", p.service, p.ja, p.en);
    availability_budget(cfg, p, o);
    availability_alerts(p, o);
    latency(p, o);
}

/// The availability objective, its budget per month length and what one failed round costs.
fn availability_budget(cfg: &Config, p: &ServicePlan, o: &mut String) {
    let round = p.round_seconds as f64;
    let b30 = p.budget_seconds(30);
    let nloc = cfg.alerting.locations.len();
    let _ = writeln!(
        o,
        "### Availability: {} % of operating time per calendar month\n",
        decimal(p.availability * 100.0)
    );
    let _ = writeln!(
        o,
        "Error budget {} of operating time. Operating time is the month minus announced maintenance \
         (announced at least {} months ahead), so a month with maintenance has slightly less budget.\n",
        decimal(p.availability_budget),
        cfg.global.maintenance_notice_months
    );
    o.push_str("| month | budget |\n|---|---|\n");
    for days in [28, 30, 31] {
        let s = p.budget_seconds(days);
        let _ = writeln!(
            o,
            "| {days} d | {} min ({} s) |",
            decimal((s / 60.0 * 1000.0).round() / 1000.0),
            decimal(s)
        );
    }
    let _ = writeln!(
        o,
        "\n- Probes run every {} s{}. The service is failing when {}.",
        p.round_seconds,
        if nloc > 0 {
            format!(
                " from {nloc} locations ({})",
                cfg.alerting.locations.join(", ")
            )
        } else {
            String::new()
        },
        quorum_text(cfg)
    );
    let _ = writeln!(
        o,
        "- One failed probe round costs {} s = {} % of a 30-day budget; a 1-minute outage costs {} %; the whole budget is {} failed rounds.",
        p.round_seconds,
        pct(round / b30),
        pct(60.0 / b30),
        decimal((b30 / round * 10.0).floor() / 10.0)
    );
    let _ = writeln!(
        o,
        "- Failure time is counted in rule evaluations ({EVAL_SECONDS} s each). Availability alerts measure burn against \
         wall-clock windows (failure seconds ÷ (window × {})), so a window that is mostly maintenance, \
         or a Prometheus that just started, cannot turn one failed probe into a page.",
        decimal(p.availability_budget)
    );
    let _ = writeln!(
        o,
        "- Maintenance: inside an announced window nothing is failure time; results up to {} s after it ends \
         (one run interval + timeout, rounded up to a minute) are not held against the service either, since \
         they may come from runs inside the window.\n",
        p.grace_seconds
    );
}

/// The availability alerts: thresholds, the smallest outage that fires and how soon it pages.
fn availability_alerts(p: &ServicePlan, o: &mut String) {
    let round = p.round_seconds as f64;
    o.push_str(
        "| alert | severity | long / short window | burn rate ≥ | failure time in long window | share of 30-day budget | smallest full outage that fires | worst-case detection of a full outage |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for a in p.alerts.iter().filter(|a| a.slo == Slo::Availability) {
        let det = p.detection_seconds(a);
        let _ = writeln!(
            o,
            "| {} | {} | {} / {} | {} | {} s | {} % | {} s ({} failed rounds) | {} s |",
            a.name,
            a.severity.label(),
            a.long.name,
            a.short.name,
            decimal(a.burn),
            decimal(p.failure_seconds_at(a.burn, a.long)),
            pct(a.budget_share()),
            p.smallest_firing_outage(a),
            p.smallest_firing_outage(a).div_ceil(p.round_seconds),
            det
        );
    }
    let fast = &p.alerts[0];
    let det = p.detection_seconds(fast);
    let _ = writeln!(
        o,
        "\nWorst-case detection = {r} s until the next run + {t} s timeout + {r} s until it is scraped + \
         {n} evaluations × {EVAL_SECONDS} s to collect {need} s of failure time = {det} s; Alertmanager's 10 s \
         `group_wait` for pages makes {} s.{}",
        det + 10,
        if det + 10 <= 120 {
            " A full outage pages within 2 minutes."
        } else {
            " WARNING: over the 2-minute target; probe more often."
        },
        r = p.round_seconds,
        t = p.timeout_seconds,
        n = p.smallest_firing_outage(fast) / EVAL_SECONDS,
        need = decimal(p.failure_seconds_at(fast.burn, fast.long)),
    );
    let single_ok = p
        .alerts
        .iter()
        .filter(|a| a.slo == Slo::Availability && a.severity == Severity::Page)
        .all(|a| p.failure_seconds_at(a.burn, a.long) > 2.0 * round);
    let _ = writeln!(
        o,
        "One or two failed rounds ({} s, {} s) {} page; the ticket needs {} s in 3 days.\n",
        p.round_seconds,
        2 * p.round_seconds,
        if single_ok { "never" } else { "WARNING: can" },
        decimal(p.failure_seconds_at(p.alerts[2].burn, p.alerts[2].long))
    );
}

/// The latency objective and its alerts.
fn latency(p: &ServicePlan, o: &mut String) {
    let round = p.round_seconds as f64;
    let th = decimal(p.latency_threshold_seconds);
    let _ = writeln!(
        o,
        "### Latency: {} % of operations answered within {th} s\n",
        decimal(p.latency * 100.0)
    );
    let _ = writeln!(
        o,
        "Error budget {} of operations (steps of successful runs, from the `le=\"{th}\"` bucket of \
         `mimamori_step_duration_seconds`). Counted in operations, so the SRE Workbook's table applies as is. \
         Alerts fire only when their whole short window was operating time.\n",
        decimal(p.latency_budget)
    );
    o.push_str(
        "| alert | severity | long / short window | burn rate ≥ | share of 30-day budget | time to fire when every answer is slow |\n\
         |---|---|---|---|---|---|\n",
    );
    for a in p.alerts.iter().filter(|a| a.slo == Slo::Latency) {
        // With every answer slow the ratio is 1; the long window's ratio reaches
        // burn × budget after that share of the window.
        let t = a.burn * p.latency_budget * a.long.seconds as f64;
        let _ = writeln!(
            o,
            "| {} | {} | {} / {} | {} | {} % | {} min |",
            a.name,
            a.severity.label(),
            a.long.name,
            a.short.name,
            decimal(a.burn),
            pct(a.budget_share()),
            decimal((t / 60.0 * 100.0).round() / 100.0)
        );
    }
    let lf = &p.alerts[3];
    let t = lf.burn * p.latency_budget * lf.long.seconds as f64 + 2.0 * round;
    let _ = writeln!(
        o,
        "\nSustained slow answers (every operation over {th} s) page after {} min plus one run and one scrape: {} min.\n",
        decimal((lf.burn * p.latency_budget * lf.long.seconds as f64 / 60.0 * 100.0).round() / 100.0),
        decimal((t / 60.0 * 100.0).round() / 100.0)
    );
}
