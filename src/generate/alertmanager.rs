//! Alertmanager routing: pages at any hour, tickets only in support hours.
//!
//! Written as text rather than serialised so that every holiday carries its
//! name as a comment. Strings are quoted as JSON, which YAML reads unchanged.

use std::fmt::Write;

use anyhow::bail;
use chrono::Datelike;

use super::holidays;
use crate::config::{parse_time_range, Config, Receiver};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}

fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn receiver(out: &mut String, name: &str, r: &Receiver) {
    let _ = writeln!(out, "  - name: {name}");
    if let Some(key) = &r.pagerduty_routing_key_file {
        let _ = writeln!(out, "    pagerduty_configs:");
        let _ = writeln!(out, "      - routing_key_file: {}", q(key));
        let _ = writeln!(out, "        send_resolved: true");
    }
    if !r.webhook_urls.is_empty() {
        let _ = writeln!(out, "    webhook_configs:");
        for u in &r.webhook_urls {
            let _ = writeln!(out, "      - url: {}", q(u));
            let _ = writeln!(out, "        send_resolved: true");
        }
    }
    if !r.email_to.is_empty() {
        let _ = writeln!(out, "    email_configs:");
        for to in &r.email_to {
            let _ = writeln!(out, "      - to: {}", q(to));
            let _ = writeln!(out, "        send_resolved: true");
        }
    }
}

/// `deploy/alertmanager/alertmanager.yml`.
pub fn config(cfg: &Config) -> anyhow::Result<String> {
    let a = &cfg.alerting;
    let sh = &a.support_hours;
    let mut o = String::new();
    o.push_str(
        "# Pages (severity=\"page\") go out at any hour; tickets (severity=\"ticket\") only in\n\
         # support hours, public holidays excluded. A page inhibits the ticket for the same\n\
         # service and SLO. Needs Alertmanager >= 0.25 (time_intervals with a location).\n\
         # Check with: amtool check-config deploy/alertmanager/alertmanager.yml\n",
    );
    o.push_str("global:\n  resolve_timeout: 5m\n");
    if let Some(smtp) = &a.smtp {
        let _ = writeln!(o, "  smtp_from: {}", q(&smtp.from));
        let _ = writeln!(o, "  smtp_smarthost: {}", q(&smtp.smarthost));
        let _ = writeln!(o, "  smtp_require_tls: {}", smtp.require_tls);
    }
    let holidays = sh.exclude_japanese_holidays;
    o.push_str(
        "route:\n\
         \x20 receiver: ticket\n\
         \x20 group_by: [service, slo]\n\
         \x20 group_wait: 30s\n\
         \x20 group_interval: 5m\n\
         \x20 repeat_interval: 4h\n\
         \x20 routes:\n\
         \x20   # Someone must act now: any hour, quickly, repeated hourly while it lasts.\n\
         \x20   - matchers: ['severity=\"page\"']\n\
         \x20     receiver: page\n\
         \x20     group_wait: 10s\n\
         \x20     group_interval: 1m\n\
         \x20     repeat_interval: 1h\n\
         \x20   # Can wait for support hours; delivered when they begin if still firing.\n\
         \x20   - matchers: ['severity=\"ticket\"']\n\
         \x20     receiver: ticket\n\
         \x20     repeat_interval: 1d\n\
         \x20     active_time_intervals: [support-hours]\n",
    );
    if holidays {
        o.push_str("      mute_time_intervals: [japanese-public-holidays]\n");
    }
    o.push_str(
        "inhibit_rules:\n\
         \x20 - source_matchers: ['severity=\"page\"']\n\
         \x20   target_matchers: ['severity=\"ticket\"']\n\
         \x20   equal: [service, slo]\n",
    );
    o.push_str("receivers:\n");
    receiver(&mut o, "page", &a.page);
    receiver(&mut o, "ticket", &a.ticket);

    o.push_str("time_intervals:\n  - name: support-hours\n    time_intervals:\n");
    let _ = writeln!(o, "      - weekdays: [{}]", sh.weekdays.join(", "));
    o.push_str("        times:\n");
    for t in &sh.times {
        let Some((start, end)) = parse_time_range(t) else {
            bail!("alerting.support_hours.times: invalid range '{t}'");
        };
        let _ = writeln!(
            o,
            "          - {{start_time: '{}', end_time: '{}'}}",
            hhmm(start),
            hhmm(end)
        );
    }
    let _ = writeln!(o, "        location: {}", q(&sh.timezone));
    if holidays {
        let (first, last) = holidays::years();
        let _ = writeln!(
            o,
            "  # Japanese public holidays {first}-{last}, from src/generate/holidays_jp.csv\n  # (scripts/update-holidays.py, Python 'holidays' package)."
        );
        o.push_str("  - name: japanese-public-holidays\n    time_intervals:\n");
        for h in holidays::japan() {
            let d = h.date;
            let _ = writeln!(
                o,
                "      - {{years: ['{}'], months: [{}], days_of_month: ['{}'], location: {}}} # {}",
                d.year(),
                MONTHS[d.month0() as usize],
                d.day(),
                q(&sh.timezone),
                h.name
            );
        }
    }
    Ok(o)
}
