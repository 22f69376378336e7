//! The backup objective in `report --month`: each date of the month (in the
//! SLO's time zone) with or without a backup, and whether retention held, from
//! the exporter's `mimamori_backup_*` series. A date no check observed is
//! unknown, never "missing".

use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::{Config, DisplayName};
use crate::promql::Selector;
use crate::query::{self, Client};

/// Query step: the default check interval.
const STEP: u64 = 900;

#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub service: String,
    pub backup: String,
    pub display_name: DisplayName,
    pub days: Vec<BackupDay>,
    /// Expected dates without a backup.
    pub dates_missing: u32,
    /// Dates on which retention was short at some check.
    pub dates_retention_short: u32,
    /// Dates no check observed.
    pub dates_unknown: u32,
    /// No expected date without a backup and retention held every observed date.
    pub met: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackupDay {
    pub date: String,
    /// Before `since` no backup is expected.
    pub expected: bool,
    /// `null`: no check ran that date.
    pub backup: Option<bool>,
    /// `null`: no check ran that date.
    pub retention_held: Option<bool>,
}

impl BackupReport {
    pub fn incomplete(&self) -> bool {
        self.dates_unknown > 0
    }
}

fn date_of(t: f64, tz: Tz) -> Option<NaiveDate> {
    tz.timestamp_opt(t.floor() as i64, 0)
        .single()
        .map(|d| d.date_naive())
}

/// One report per configured backup of `services` (all when empty), for the
/// dates of `[start, until)`; for a month in progress (`until < end`) the dates
/// before today (today's backup may not have run yet).
pub async fn reports(
    client: &Client,
    cfg: &Config,
    services: &[String],
    tz: Tz,
    start: i64,
    until: i64,
    end: i64,
) -> Result<Vec<BackupReport>, query::Error> {
    let mut out = Vec::new();
    for b in cfg
        .backups
        .iter()
        .filter(|b| services.is_empty() || services.iter().any(|s| *s == b.service.as_str()))
    {
        let sel = Selector::service(&b.service).eq("backup", &b.name);
        let (from, to) = (start + STEP as i64, until.max(start + STEP as i64));
        let newest = client
            .query_range(&crate::promql::backup::newest(&sel), from, to, STEP)
            .await?;
        let margin = client
            .query_range(
                &crate::promql::backup::retention_margin(&sel),
                from,
                to,
                STEP,
            )
            .await?;
        let mut with_backup = BTreeSet::new();
        let mut observed = BTreeSet::new();
        for (t, v) in newest.iter().flat_map(|s| s.points.iter()) {
            if let Some(d) = date_of(*t - 1.0, tz) {
                observed.insert(d);
            }
            if *v > 0.0 {
                if let Some(d) = date_of(*v, tz) {
                    with_backup.insert(d);
                }
            }
        }
        let mut short = BTreeSet::new();
        let mut held_seen = BTreeSet::new();
        for (t, v) in margin.iter().flat_map(|s| s.points.iter()) {
            if let Some(d) = date_of(*t - 1.0, tz) {
                held_seen.insert(d);
                if *v > 0.0 {
                    short.insert(d);
                }
            }
        }
        let last = if until < end {
            date_of(until as f64, tz).and_then(|d| d.pred_opt())
        } else {
            date_of(end as f64 - 1.0, tz)
        };
        let (Some(first), Some(last)) = (date_of(start as f64, tz), last) else {
            continue;
        };
        let mut days = Vec::new();
        let (mut missing, mut short_n, mut unknown) = (0, 0, 0);
        let mut d = first;
        while d <= last {
            let expected = b.since.is_none_or(|s| d >= s);
            let backup = if with_backup.contains(&d) {
                Some(true)
            } else if observed.contains(&d) {
                Some(false)
            } else {
                None
            };
            let retention_held = held_seen.contains(&d).then(|| !short.contains(&d));
            if expected && backup == Some(false) {
                missing += 1;
            }
            if retention_held == Some(false) {
                short_n += 1;
            }
            if expected && (backup.is_none() || retention_held.is_none()) {
                unknown += 1;
            }
            days.push(BackupDay {
                date: d.to_string(),
                expected,
                backup,
                retention_held,
            });
            d = d.succ_opt().expect("in range");
        }
        out.push(BackupReport {
            service: b.service.to_string(),
            backup: b.name.to_string(),
            display_name: b.display_name.clone(),
            days,
            dates_missing: missing,
            dates_retention_short: short_n,
            dates_unknown: unknown,
            met: missing == 0 && short_n == 0,
        });
    }
    Ok(out)
}

fn mark(v: Option<bool>, yes: &str, no: &str) -> String {
    match v {
        Some(true) => yes.into(),
        Some(false) => no.into(),
        None => "?".into(),
    }
}

/// The backups section of the text formats (empty without backups).
pub fn text(backups: &[BackupReport], format: super::Format) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if backups.is_empty() {
        return s;
    }
    match format {
        super::Format::Json => {}
        super::Format::Csv => {
            s.push_str("\nservice,backup,date,expected,backup_present,retention_held\n");
            for b in backups {
                for d in &b.days {
                    let v = |o: Option<bool>| o.map_or(String::new(), |x| x.to_string());
                    let _ = writeln!(
                        s,
                        "{},{},{},{},{},{}",
                        b.service,
                        b.backup,
                        d.date,
                        d.expected,
                        v(d.backup),
                        v(d.retention_held)
                    );
                }
            }
        }
        super::Format::Table | super::Format::Markdown => {
            let md = format == super::Format::Markdown;
            for b in backups {
                let verdict = if !b.met {
                    "未達 / MISSED"
                } else if b.incomplete() {
                    "不明あり / INCOMPLETE"
                } else {
                    "達成 / MET"
                };
                let _ = writeln!(
                    s,
                    "\n{}バックアップ / Backup: {} / {} ({}, {}) — {verdict}",
                    if md { "### " } else { "" },
                    b.display_name.ja,
                    b.display_name.en,
                    b.service,
                    b.backup
                );
                let _ = writeln!(
                    s,
                    "{}バックアップのない日 / dates without a backup: {}; 保持期間不足の日 / dates with retention short: {}; 不明 / unknown: {}",
                    if md { "\n" } else { "" },
                    b.dates_missing, b.dates_retention_short, b.dates_unknown
                );
                if md {
                    s.push_str("\n| 日付 / date | バックアップ / backup | 保持 / retention |\n|---|---|---|\n");
                }
                for d in &b.days {
                    let backup = if d.expected {
                        mark(d.backup, "あり / yes", "なし / NO")
                    } else {
                        "対象外 / not expected".into()
                    };
                    let held = mark(d.retention_held, "保持 / held", "不足 / SHORT");
                    if md {
                        let _ = writeln!(s, "| {} | {backup} | {held} |", d.date);
                    } else {
                        let _ = writeln!(s, "  {}  {backup:<16}  {held}", d.date);
                    }
                }
            }
        }
    }
    s
}
