//! The operational part of the file: maintenance windows, notices to customers,
//! and the `alerting:` section (routing, support hours, receivers).

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Months};
use serde::Deserialize;

use super::*;

/// A planned outage window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    /// Services affected.
    pub services: Vec<String>,
    /// RFC 3339 with offset, e.g. `2027-05-09T01:00:00+09:00`.
    #[serde(deserialize_with = "de_time")]
    pub start: DateTime<FixedOffset>,
    /// RFC 3339 with offset; after `start`.
    #[serde(deserialize_with = "de_time")]
    pub end: DateTime<FixedOffset>,
    /// When customers were told.
    #[serde(deserialize_with = "de_time")]
    pub announced_at: DateTime<FixedOffset>,
    /// Where customers were told (e.g. the user guide's maintenance page).
    pub announced_via: String,
    /// Title shown on the status page and in its calendar.
    #[serde(default)]
    pub title: DisplayName,
}

/// Why failure time is outside the SLO: the causes the seed's scope section
/// (適用範囲 2, 本SLOの適用範囲外) lists. Planned outages are not here: they are
/// `maintenance:`, announced ahead.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// 天変地異・不可抗力: natural disasters and force majeure.
    ForceMajeure,
    /// 通信遮断等のインフラ障害: a carrier or other infrastructure outage.
    CarrierOutage,
    /// The customer's own PC or another company's service (lines etc.).
    ThirdParty,
    /// An act of the customer, or of a third party the customer gave IDs/passwords to.
    CustomerAction,
    /// Use outside Japan.
    OutsideJapan,
    /// An unavoidable hardware or middleware fault.
    HardwareUnavoidable,
}

impl ExclusionReason {
    pub const ALL: [ExclusionReason; 6] = [
        ExclusionReason::ForceMajeure,
        ExclusionReason::CarrierOutage,
        ExclusionReason::ThirdParty,
        ExclusionReason::CustomerAction,
        ExclusionReason::OutsideJapan,
        ExclusionReason::HardwareUnavoidable,
    ];

    /// The configuration's (and JSON's) name.
    pub fn name(self) -> &'static str {
        match self {
            ExclusionReason::ForceMajeure => "force_majeure",
            ExclusionReason::CarrierOutage => "carrier_outage",
            ExclusionReason::ThirdParty => "third_party",
            ExclusionReason::CustomerAction => "customer_action",
            ExclusionReason::OutsideJapan => "outside_japan",
            ExclusionReason::HardwareUnavoidable => "hardware_unavoidable",
        }
    }

    /// Words for people, from the seed's scope list: Japanese, English.
    pub fn words(self) -> DisplayName {
        let (ja, en) = match self {
            ExclusionReason::ForceMajeure => ("天変地異・不可抗力", "natural disaster or force majeure"),
            ExclusionReason::CarrierOutage => (
                "通信遮断等のインフラ障害",
                "carrier outage or other infrastructure failure",
            ),
            ExclusionReason::ThirdParty => (
                "個々のPC、又は他社提供のサービス（回線など）に依存する問題",
                "a problem of the customer's own PC or of another company's service (lines etc.)",
            ),
            ExclusionReason::CustomerAction => (
                "お客様の作為（又はお客様が承諾しID・PWを割り当てた第三者の作為）",
                "an act of the customer (or of a third party the customer gave IDs and passwords to)",
            ),
            ExclusionReason::OutsideJapan => ("日本国外での利用", "use outside Japan"),
            ExclusionReason::HardwareUnavoidable => (
                "ハードウェア・ミドルウェアにおける不可避の障害",
                "an unavoidable hardware or middleware fault",
            ),
        };
        DisplayName {
            ja: ja.into(),
            en: en.into(),
        }
    }
}

/// Failure time the SLO does not apply to (seed: 本SLOの適用範囲外), decided
/// after the fact and recorded: `report` shows the figure with and without it,
/// the status page keeps the incident and marks it; alerts are not changed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    /// Services concerned.
    pub services: Vec<String>,
    /// RFC 3339 with offset.
    #[serde(deserialize_with = "de_time")]
    pub start: DateTime<FixedOffset>,
    /// RFC 3339 with offset; after `start`.
    #[serde(deserialize_with = "de_time")]
    pub end: DateTime<FixedOffset>,
    /// Which of the seed's causes.
    pub reason: ExclusionReason,
    /// What happened (Japanese and English).
    pub description: DisplayName,
    /// Who decided that this time is outside the SLO.
    pub decided_by: String,
    /// When it was decided; at or after `start` (a decision ahead of time is maintenance).
    #[serde(deserialize_with = "de_time")]
    pub decided_at: DateTime<FixedOffset>,
    /// A link to the evidence (a carrier's notice, a ticket).
    #[serde(default)]
    pub evidence: Option<String>,
}

/// What a status-page notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// An update on a failure; attached to the incident it overlaps in time.
    Incident,
    /// A change that noticeably affects operation (seed §4: announced 1 month ahead).
    Change,
    /// About a maintenance window.
    Maintenance,
}

/// A human-written update shown on the status page and in its Atom feed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// What the notice is about.
    pub kind: NoticeKind,
    /// When it was (or is to be) published; RFC 3339 with offset.
    #[serde(deserialize_with = "de_time")]
    pub published_at: DateTime<FixedOffset>,
    /// For `kind: change`: when the change takes effect (checked against the 1-month notice).
    #[serde(default, deserialize_with = "de_time_opt")]
    pub effective_at: Option<DateTime<FixedOffset>>,
    /// Services concerned; empty: all.
    #[serde(default)]
    pub services: Vec<String>,
    /// Title (Japanese and English).
    pub title: DisplayName,
    /// Text (Japanese and English).
    #[serde(default)]
    pub body: DisplayName,
}

fn de_time_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    de_time(d).map(Some)
}

fn de_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
    let s = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(s.trim()).map_err(|e| {
        serde::de::Error::custom(format!("invalid time '{s}': {e} (expected RFC 3339 with offset, e.g. 2027-05-09T01:00:00+09:00)"))
    })
}

impl MaintenanceWindow {
    /// Announced at least `months` calendar months before it starts.
    pub fn announced_in_time(&self, months: u32) -> bool {
        match self.announced_at.checked_add_months(Months::new(months)) {
            Some(deadline) => deadline <= self.start,
            None => false,
        }
    }
}

/// Settings for `mimamori generate`: who is told, when, and how the SLO is judged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerting {
    /// Runbook address; `{service}` and `{slo}` are replaced.
    pub runbook_url: String,
    /// Grafana base address (e.g. `https://grafana.example.com`) for dashboard links.
    pub grafana_url: String,
    /// Probe locations expected to report; empty means whichever report.
    pub locations: Vec<LabelName>,
    /// How many reporting locations must see a service failing before it counts as
    /// down. Unset: a majority of the locations reporting at that moment.
    #[serde(deserialize_with = "de_quorum")]
    pub quorum: Option<u32>,
    /// Prometheus `job` label of the probers' scrape job (for `up == 0` alerts).
    pub job: String,
    /// When tickets may reach people; pages go out at any hour.
    pub support_hours: SupportHours,
    /// Where pages go.
    pub page: Receiver,
    /// Where tickets go.
    pub ticket: Receiver,
    /// Mail server for `email_to` receivers.
    pub smtp: Option<Smtp>,
}

impl Default for Alerting {
    fn default() -> Self {
        Alerting {
            runbook_url: String::new(),
            grafana_url: String::new(),
            locations: Vec::new(),
            quorum: None,
            job: "mimamori".into(),
            support_hours: SupportHours::default(),
            page: Receiver::default(),
            ticket: Receiver::default(),
            smtp: None,
        }
    }
}

/// Hours in which non-urgent alerts (tickets) are delivered (AOULU: §3 support hours).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupportHours {
    /// IANA time zone the hours are in.
    pub timezone: String,
    /// Days of the week, lowercase English names (`monday` … `sunday`).
    pub weekdays: Vec<String>,
    /// Time ranges `HH:MM-HH:MM` within those days.
    pub times: Vec<String>,
    /// Leave out Japanese public holidays (from the generated holiday list).
    pub exclude_japanese_holidays: bool,
}

impl Default for SupportHours {
    fn default() -> Self {
        SupportHours {
            timezone: "Asia/Tokyo".into(),
            weekdays: ["monday", "tuesday", "wednesday", "thursday", "friday"]
                .map(String::from)
                .to_vec(),
            times: vec!["09:00-12:00".into(), "13:00-17:00".into()],
            exclude_japanese_holidays: true,
        }
    }
}

/// One Alertmanager receiver; any combination of channels.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Receiver {
    /// Webhook endpoints (chat bridges, ticket systems).
    pub webhook_urls: Vec<String>,
    /// Mail recipients (needs `smtp`).
    pub email_to: Vec<String>,
    /// File holding a PagerDuty Events API v2 routing key (PagerDuty or compatible).
    pub pagerduty_routing_key_file: Option<String>,
}

/// Mail server for email receivers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Sender address.
    pub from: String,
    /// `host:port` of the mail relay.
    pub smarthost: String,
    /// Require STARTTLS (default true).
    #[serde(default = "yes")]
    pub require_tls: bool,
}

/// Parses `HH:MM-HH:MM` into minutes since midnight; start before end, end at most 24:00.
pub fn parse_time_range(s: &str) -> Option<(u32, u32)> {
    fn minutes(t: &str) -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    }
    let (a, b) = s.split_once('-')?;
    let (a, b) = (minutes(a)?, minutes(b)?);
    (a < b).then_some((a, b))
}

impl Transaction {
    pub fn interval(&self, g: &Global) -> Duration {
        self.interval.unwrap_or(g.interval).0
    }
    pub fn timeout(&self, g: &Global) -> Duration {
        self.timeout.unwrap_or(g.timeout).0
    }
    /// The pause before each retry.
    pub fn retry_delay(&self) -> Duration {
        self.retry_delay.unwrap_or(Dur::secs(1)).0
    }
    /// Whether the series carry an `ip` label and the rules collapse it by `fail_when`.
    pub fn every_address(&self) -> bool {
        self.resolve == Resolve::All
    }
    /// Longest a run can take: every attempt up to the timeout, with the pauses between.
    pub fn longest_run(&self, g: &Global) -> Duration {
        self.timeout(g) * (self.retries + 1) + self.retry_delay() * self.retries
    }
}
