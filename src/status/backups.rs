//! The backups on the internal status view (`mimamori status --internal`):
//! the backup objective (seed §6) as its alerts judge it, read with the same
//! queries ([`crate::promql::backup`]). Never part of the public page.

use chrono_tz::Tz;
use serde::Serialize;

use super::time::{duration, Time};
use crate::config::{Config, DisplayName};
use crate::promql::{backup, Selector};
use crate::query::{self, Client};

/// One backup now.
#[derive(Debug, Clone, Serialize)]
pub struct BackupStatus {
    pub service: String,
    pub backup: String,
    pub display_name: DisplayName,
    /// `ok`, `attention` (an objective is not met) or `unknown` (no check
    /// result, or the location cannot be listed: nothing is known).
    pub state: &'static str,
    /// The newest backup's time.
    pub newest: Option<Time>,
    pub age_seconds: Option<i64>,
    /// `expect.max_age`.
    pub max_age_seconds: i64,
    /// Whether the location could be listed at the latest check.
    pub check_ok: Option<bool>,
    /// Whether unsigned access is refused (S3 only).
    pub anonymous_refused: Option<bool>,
    /// Dates of the retention window without a backup.
    pub dates_missing: Option<i64>,
    /// Whether the oldest backup is old enough.
    pub retention_held: Option<bool>,
    /// What is wrong, in words, worst first.
    pub problems: Vec<DisplayName>,
}

fn words(ja: &str, en: &str) -> DisplayName {
    DisplayName {
        ja: ja.into(),
        en: en.into(),
    }
}

/// The value of an instant query's only series, if any.
async fn one(client: &Client, expr: &str, now: i64) -> Result<Option<f64>, query::Error> {
    Ok(client.query(expr, now).await?.first().map(|s| s.value))
}

/// Every configured backup at `now`.
pub async fn fetch(
    client: &Client,
    cfg: &Config,
    now: i64,
    tz: Tz,
) -> Result<Vec<BackupStatus>, query::Error> {
    let mut out = Vec::new();
    for b in &cfg.backups {
        let sel = Selector::service(&b.service).eq("backup", &b.name);
        let newest = one(client, &backup::newest(&sel), now).await?;
        let check = one(client, &backup::check_success(&sel), now).await?;
        let anonymous = one(client, &backup::anonymous_refused(&sel), now).await?;
        let dates = one(client, &backup::dates_margin(&sel), now).await?;
        let retention = one(client, &backup::retention_margin(&sel), now).await?;
        out.push(judge(
            b,
            newest.filter(|t| *t > 0.0).map(|t| t as i64),
            check.map(|v| v == 1.0),
            anonymous.map(|v| v == 1.0),
            dates.map(|m| (-m).max(0.0) as i64),
            retention.map(|m| m <= 0.0),
            now,
            tz,
        ));
    }
    Ok(out)
}

/// Every configured backup with nothing known (Prometheus not reached yet).
pub fn unknown(cfg: &Config, now: i64, tz: Tz) -> Vec<BackupStatus> {
    cfg.backups
        .iter()
        .map(|b| judge(b, None, None, None, None, None, now, tz))
        .collect()
}

/// Judges one backup as its alerts do (stale past `max_age`, a date
/// missing, retention short, anonymous access, the check failing).
#[allow(clippy::too_many_arguments)] // the fetched facts, one each
pub fn judge(
    b: &crate::config::Backup,
    newest: Option<i64>,
    check_ok: Option<bool>,
    anonymous_refused: Option<bool>,
    dates_missing: Option<i64>,
    retention_held: Option<bool>,
    now: i64,
    tz: Tz,
) -> BackupStatus {
    let max_age = b.expect.max_age.0.as_secs() as i64;
    let age = newest.map(|t| now - t);
    let mut problems = Vec::new();
    if anonymous_refused == Some(false) {
        problems.push(words(
            "認証なしで一覧・読み取りできます（データ漏えい）",
            "readable without credentials (a data leak)",
        ));
    }
    if check_ok == Some(false) {
        problems.push(words(
            "保存先を一覧できません（状態不明）",
            "the location cannot be listed (state unknown)",
        ));
    }
    if let Some(a) = age.filter(|a| *a > max_age) {
        problems.push(DisplayName {
            ja: format!(
                "最新のバックアップが {} 前です（目標 {} 以内）",
                duration(a, "ja"),
                duration(max_age, "ja")
            ),
            en: format!(
                "the newest backup is {} old (objective: within {})",
                duration(a, "en"),
                duration(max_age, "en")
            ),
        });
    }
    if let Some(n) = dates_missing.filter(|n| *n > 0) {
        problems.push(DisplayName {
            ja: format!("直近 183 日のうち {n} 日分のバックアップがありません"),
            en: format!("{n} of the last 183 dates have no backup"),
        });
    }
    if retention_held == Some(false) {
        problems.push(words(
            "6か月分が保持されていません",
            "six months are not kept",
        ));
    }
    let state = if anonymous_refused == Some(false) {
        // A leak is never hidden behind "unknown".
        "attention"
    } else if check_ok != Some(true) || newest.is_none() {
        "unknown"
    } else if problems.is_empty() {
        "ok"
    } else {
        "attention"
    };
    BackupStatus {
        service: b.service.to_string(),
        backup: b.name.to_string(),
        display_name: b.display_name.clone(),
        state,
        newest: newest.map(|t| Time(t, tz)),
        age_seconds: age,
        max_age_seconds: max_age,
        check_ok,
        anonymous_refused,
        dates_missing,
        retention_held,
        problems,
    }
}
