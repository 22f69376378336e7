//! Alertmanager routing: pages at any hour, tickets only in support hours.
//!
//! The configuration is built as typed structs (the part of Alertmanager's
//! configuration file mimamori writes) and serialized with serde_yaml; only
//! comments, which YAML serializers do not write, are added afterwards: the
//! explanation at the top and each public holiday's name.

use anyhow::bail;
use chrono::Datelike;
use serde::Serialize;

use super::holidays::{self, Holiday};
use crate::config::{parse_time_range, Config, Receiver, SupportHours};

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

const SUPPORT_HOURS: &str = "support-hours";
const HOLIDAYS: &str = "japanese-public-holidays";

/// `alertmanager.yml`.
#[derive(Debug, Serialize)]
pub struct AlertmanagerConfig {
    pub global: Global,
    pub route: Route,
    pub inhibit_rules: Vec<InhibitRule>,
    pub receivers: Vec<ReceiverConfig>,
    pub time_intervals: Vec<TimeInterval>,
}

#[derive(Debug, Serialize)]
pub struct Global {
    pub resolve_timeout: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_smarthost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_require_tls: Option<bool>,
}

/// A node of the routing tree; unset fields are inherited from the parent.
#[derive(Debug, Default, Serialize)]
pub struct Route {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
    pub receiver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<&'static str>,
    /// Notifications go out only inside these intervals…
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub active_time_intervals: Vec<&'static str>,
    /// …and never inside these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
}

/// While an alert matching `source_matchers` fires, those matching
/// `target_matchers` with the same `equal` labels are not sent.
#[derive(Debug, Serialize)]
pub struct InhibitRule {
    pub source_matchers: Vec<String>,
    pub target_matchers: Vec<String>,
    pub equal: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct ReceiverConfig {
    pub name: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<WebhookConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_configs: Vec<EmailConfig>,
}

#[derive(Debug, Serialize)]
pub struct PagerdutyConfig {
    pub routing_key_file: String,
    pub send_resolved: bool,
}

#[derive(Debug, Serialize)]
pub struct WebhookConfig {
    pub url: String,
    pub send_resolved: bool,
}

#[derive(Debug, Serialize)]
pub struct EmailConfig {
    pub to: String,
    pub send_resolved: bool,
}

/// A named set of time ranges that routes refer to.
#[derive(Debug, Serialize)]
pub struct TimeInterval {
    pub name: &'static str,
    pub time_intervals: Vec<TimeSpec>,
}

/// Times that match every field given (an absent field matches always).
#[derive(Debug, Default, Serialize)]
pub struct TimeSpec {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub years: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub days_of_month: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<TimeRange>,
    pub location: String,
}

#[derive(Debug, Serialize)]
pub struct TimeRange {
    pub start_time: String,
    pub end_time: String,
}

const HEADER: &str = "\
# Pages (severity=\"page\") go out at any hour, quickly, repeated hourly while they
# last. Tickets (severity=\"ticket\") go out only in support hours, public holidays
# excluded, and are delivered when support hours begin if still firing. A page
# inhibits the ticket for the same service and SLO (and backup). Needs Alertmanager >= 0.25
# (time_intervals with a location).
# Check with: amtool check-config deploy/alertmanager/alertmanager.yml
";

/// `deploy/alertmanager/alertmanager.yml` (without the generated-file header).
pub fn config(cfg: &Config) -> anyhow::Result<String> {
    let holidays = cfg
        .alerting
        .support_hours
        .exclude_japanese_holidays
        .then(holidays::japan)
        .unwrap_or_default();
    let yaml = serde_yaml::to_string(&build(cfg, &holidays)?)?;
    let mut out = HEADER.to_string();
    if !holidays.is_empty() {
        let (first, last) = holidays::years();
        out.push_str(&format!(
            "# Japanese public holidays {first}-{last}, from src/generate/holidays_jp.csv\n\
             # (scripts/update-holidays.py, Python 'holidays' package).\n"
        ));
    }
    out.push_str(&name_holidays(&yaml, &holidays));
    Ok(out)
}

/// The configuration for `cfg`, muting tickets on `holidays` (if any).
pub fn build(cfg: &Config, holidays: &[Holiday]) -> anyhow::Result<AlertmanagerConfig> {
    let a = &cfg.alerting;
    let mut time_intervals = vec![support_hours(&a.support_hours)?];
    if !holidays.is_empty() {
        time_intervals.push(public_holidays(holidays, &a.support_hours.timezone));
    }
    Ok(AlertmanagerConfig {
        global: Global {
            resolve_timeout: "5m",
            smtp_from: a.smtp.as_ref().map(|s| s.from.clone()),
            smtp_smarthost: a.smtp.as_ref().map(|s| s.smarthost.clone()),
            smtp_require_tls: a.smtp.as_ref().map(|s| s.require_tls),
        },
        route: route(!holidays.is_empty()),
        inhibit_rules: vec![InhibitRule {
            source_matchers: vec![severity("page")],
            target_matchers: vec![severity("ticket")],
            // `backup` too: a page about one backup never hides another one's ticket
            // (alerts without the label, the SLO ones, compare equal on it).
            equal: vec!["service", "slo", "backup"],
        }],
        receivers: vec![receiver("page", &a.page), receiver("ticket", &a.ticket)],
        time_intervals,
    })
}

fn severity(value: &str) -> String {
    format!("severity=\"{value}\"")
}

fn route(mute_on_holidays: bool) -> Route {
    let page = Route {
        matchers: vec![severity("page")],
        receiver: "page".into(),
        group_wait: Some("10s"),
        group_interval: Some("1m"),
        repeat_interval: Some("1h"),
        ..Route::default()
    };
    let ticket = Route {
        matchers: vec![severity("ticket")],
        receiver: "ticket".into(),
        repeat_interval: Some("1d"),
        active_time_intervals: vec![SUPPORT_HOURS],
        mute_time_intervals: if mute_on_holidays {
            vec![HOLIDAYS]
        } else {
            Vec::new()
        },
        ..Route::default()
    };
    Route {
        receiver: "ticket".into(),
        group_by: vec!["service", "slo"],
        group_wait: Some("30s"),
        group_interval: Some("5m"),
        repeat_interval: Some("4h"),
        routes: vec![page, ticket],
        ..Route::default()
    }
}

fn receiver(name: &'static str, r: &Receiver) -> ReceiverConfig {
    ReceiverConfig {
        name,
        pagerduty_configs: r
            .pagerduty_routing_key_file
            .iter()
            .map(|key| PagerdutyConfig {
                routing_key_file: key.clone(),
                send_resolved: true,
            })
            .collect(),
        webhook_configs: r
            .webhook_urls
            .iter()
            .map(|url| WebhookConfig {
                url: url.clone(),
                send_resolved: true,
            })
            .collect(),
        email_configs: r
            .email_to
            .iter()
            .map(|to| EmailConfig {
                to: to.clone(),
                send_resolved: true,
            })
            .collect(),
    }
}

fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn support_hours(sh: &SupportHours) -> anyhow::Result<TimeInterval> {
    let mut times = Vec::new();
    for t in &sh.times {
        let Some((start, end)) = parse_time_range(t) else {
            bail!("alerting.support_hours.times: invalid range '{t}'");
        };
        times.push(TimeRange {
            start_time: hhmm(start),
            end_time: hhmm(end),
        });
    }
    Ok(TimeInterval {
        name: SUPPORT_HOURS,
        time_intervals: vec![TimeSpec {
            weekdays: sh.weekdays.clone(),
            times,
            location: sh.timezone.clone(),
            ..TimeSpec::default()
        }],
    })
}

/// One day per holiday, in the support hours' time zone.
fn public_holidays(holidays: &[Holiday], timezone: &str) -> TimeInterval {
    let day = |h: &Holiday| TimeSpec {
        years: vec![h.date.year().to_string()],
        months: vec![MONTHS[h.date.month0() as usize]],
        days_of_month: vec![h.date.day().to_string()],
        location: timezone.to_string(),
        ..TimeSpec::default()
    };
    TimeInterval {
        name: HOLIDAYS,
        time_intervals: holidays.iter().map(day).collect(),
    }
}

/// Writes each holiday's date and name as a comment above its entry (the
/// holiday entries are the only ones with `years`, in the same order).
fn name_holidays(yaml: &str, holidays: &[Holiday]) -> String {
    let mut names = holidays.iter();
    let mut out = String::with_capacity(yaml.len() + holidays.len() * 24);
    for line in yaml.lines() {
        if let Some(entry) = line.find("- years:") {
            let h = names.next().expect("one holiday per entry with years");
            out.push_str(&format!("{}# {} {}\n", &line[..entry], h.date, h.name));
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(names.next().is_none(), "every holiday has its entry");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aoulu() -> Config {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/aoulu.yaml");
        crate::config::load(std::path::Path::new(path)).unwrap()
    }

    #[test]
    fn pages_any_hour_tickets_in_support_hours() {
        let am = build(&aoulu(), &holidays::japan()).unwrap();
        let [page, ticket] = &am.route.routes[..] else {
            panic!("two routes")
        };
        assert_eq!(page.matchers, [r#"severity="page""#]);
        assert!(page.active_time_intervals.is_empty());
        assert_eq!(ticket.active_time_intervals, [SUPPORT_HOURS]);
        assert_eq!(ticket.mute_time_intervals, [HOLIDAYS]);
        let names: Vec<&str> = am.time_intervals.iter().map(|t| t.name).collect();
        assert_eq!(names, [SUPPORT_HOURS, HOLIDAYS]);
        let hours = &am.time_intervals[0].time_intervals[0];
        assert_eq!(hours.times[1].start_time, "13:00");
        assert_eq!(hours.location, "Asia/Tokyo");
    }

    #[test]
    fn without_holidays_nothing_is_muted() {
        let mut cfg = aoulu();
        cfg.alerting.support_hours.exclude_japanese_holidays = false;
        let yaml = config(&cfg).unwrap();
        assert!(!yaml.contains(HOLIDAYS), "{yaml}");
        assert!(!yaml.contains("# 20"), "{yaml}");
    }

    #[test]
    fn every_holiday_is_named_above_its_day() {
        let yaml = config(&aoulu()).unwrap();
        let h = holidays::japan();
        assert_eq!(yaml.matches("- years:").count(), h.len());
        let first = format!(
            "  # {} {}\n  - years:\n    - '{}'\n",
            h[0].date,
            h[0].name,
            h[0].date.year()
        );
        assert!(yaml.contains(&first), "{yaml}");
        // The comments do not change the data.
        let v: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(
            v["time_intervals"][1]["time_intervals"][0]["days_of_month"][0],
            "1"
        );
    }

    #[test]
    fn a_bad_support_hours_range_is_refused() {
        let mut cfg = aoulu();
        cfg.alerting.support_hours.times = vec!["17:00-09:00".into()];
        let err = config(&cfg).unwrap_err().to_string();
        assert!(err.contains("invalid range '17:00-09:00'"), "{err}");
    }
}
