//! The backup objective's alerts (`rules/mimamori-backups.yml`) and their
//! promtool tests, written only when `backups:` is configured. One rule per
//! backup and alert: the thresholds (`expect.max_age`) and the `for` of the
//! failing check (two intervals) are the backup's own.

use std::collections::BTreeMap;

use super::promtool_tests::{AlertTest, ExpAlert, Series, TestFile, TestGroup};
use super::rules::{runbook, service_dashboard, Group, Rule, RuleFile};
use crate::config::{Backup, Config};
use crate::promql::{backup, decimal, metric, Selector};

/// The rule file's name under `rules/`.
pub const RULE_FILE: &str = "mimamori-backups.yml";
/// The promtool test file's name under `rules/tests/`.
pub const TEST_FILE: &str = "mimamori-backups.yaml";

/// Hours past `expect.max_age` at which a stale backup pages.
const PAGE_AFTER_HOURS: u64 = 24;

/// `26h` rather than `1d2h`: backups are reasoned about in hours.
fn hours(d: std::time::Duration) -> String {
    if d.as_secs() % 3600 == 0 && d.subsec_nanos() == 0 {
        format!("{}h", d.as_secs() / 3600)
    } else {
        crate::config::duration::fmt_prom(d)
    }
}

#[allow(clippy::too_many_arguments)] // one call per alert reads as a table
fn alert(
    cfg: &Config,
    b: &Backup,
    name: &str,
    expr: String,
    for_: Option<String>,
    severity: &str,
    summary: &str,
    description: &str,
) -> Rule {
    let mut labels = BTreeMap::new();
    labels.insert("severity".to_string(), severity.to_string());
    labels.insert("slo".to_string(), "backup".to_string());
    // Also in the expression's result; static, so each backup's rules differ.
    labels.insert("service".to_string(), b.service.to_string());
    labels.insert("backup".to_string(), b.name.to_string());
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_string(), summary.to_string());
    annotations.insert("description".to_string(), description.to_string());
    let rb = runbook(cfg, &b.service, "backup");
    if !rb.is_empty() {
        annotations.insert("runbook_url".to_string(), rb);
    }
    let dash = service_dashboard(cfg, &b.service);
    if !dash.starts_with('/') {
        annotations.insert("dashboard".to_string(), dash);
    }
    Rule {
        alert: Some(name.to_string()),
        expr,
        for_,
        labels,
        annotations,
        ..Rule::default()
    }
}

/// The alerts of one backup.
fn backup_rules(cfg: &Config, b: &Backup) -> Vec<Rule> {
    let sel = Selector::service(&b.service).eq("backup", &b.name);
    // Written out, not templated: each rule is one backup's.
    let who = format!("{} / {}", b.service, b.name);
    let max_age = b.expect.max_age.as_secs_f64();
    let page_age = max_age + (PAGE_AFTER_HOURS * 3600) as f64;
    let age = backup::age(&sel);
    vec![
        alert(cfg, b, "BackupStale", format!("{age} > {}", decimal(max_age)), Some("5m".into()), "ticket",
            "バックアップが古くなっています / The newest backup is older than its objective",
            &format!("{who}: 最新のバックアップが {} より古くなっています。\nThe newest backup of {who} is older than {}.", hours(b.expect.max_age.0), hours(b.expect.max_age.0))),
        alert(cfg, b, "BackupVeryStale", format!("{age} > {}", decimal(page_age)), Some("5m".into()), "page",
            "バックアップが1日以上途絶えています / No backup for a day past the objective",
            &format!("{who}: 最新のバックアップが {} より古くなっています。すぐに確認してください。\nThe newest backup of {who} is older than {}: look now.", hours(std::time::Duration::from_secs_f64(page_age)), hours(std::time::Duration::from_secs_f64(page_age)))),
        alert(cfg, b, "BackupDayMissing",
            format!("{} < 0", backup::dates_margin(&sel)),
            Some("30m".into()), "ticket",
            "バックアップのない日があります / A day in the retention window has no backup",
            &format!("{who}: 直近 183 日（東京時間の暦日）のうち、バックアップのない日があります。\n{who}: a calendar date (Asia/Tokyo) of the last 183 has no backup.")),
        alert(cfg, b, "BackupRetentionShort",
            format!("{} > 0", backup::retention_margin(&sel)),
            Some("30m".into()), "ticket",
            "バックアップの保持期間が6か月未満です / Backups are not kept for six months",
            &format!("{who}: 最も古いバックアップが6か月前（または since）より新しく、保持期間が足りません。\n{who}: the oldest backup is newer than six calendar months ago (or `since`): retention is short.")),
        alert(cfg, b, "BackupAnonymousAccess",
            format!("{} == 0", backup::anonymous_refused(&sel)),
            None, "page",
            "バックアップに匿名でアクセスできます / Backups can be read without credentials",
            &format!("{who}: 認証なしの一覧または読み取りが拒否されませんでした。データ漏えいです。管理者以外が読めないよう直ちに設定してください。\n{who}: an unsigned list or read was not refused: a data leak. Only administrators may read backups.")),
        alert(cfg, b, "BackupCheckFailing",
            format!("{} == 0", backup::check_success(&sel)),
            Some(crate::config::duration::fmt_prom(b.interval.0 * 2)), "ticket",
            "バックアップの確認ができません / The backup location cannot be checked",
            &format!("{who}: 保存先を一覧できません（理由は mimamori_backup_check_failures_total の reason）。バックアップの状態は不明です。\n{who}: the location cannot be listed (see the reason label of mimamori_backup_check_failures_total); the backups' state is unknown.")),
    ]
}

/// `rules/mimamori-backups.yml`, or nothing without backups.
pub fn rule_file(cfg: &Config) -> Option<RuleFile> {
    if cfg.backups.is_empty() {
        return None;
    }
    Some(RuleFile {
        groups: vec![Group {
            name: "mimamori-backups".into(),
            interval: "1m".into(),
            rules: cfg
                .backups
                .iter()
                .flat_map(|b| backup_rules(cfg, b))
                .collect(),
        }],
    })
}

/// Scenarios for each backup, in minutes from 0 with one sample a minute:
/// the newest backup stays at time 0 (stale after max_age, paging a day
/// later); a gap day; retention short; anonymous access; the check failing.
pub fn tests(cfg: &Config) -> anyhow::Result<Option<String>> {
    if cfg.backups.is_empty() {
        return Ok(None);
    }
    let mut groups = Vec::new();
    for b in &cfg.backups {
        let l = format!(
            "{{service=\"{}\", backup=\"{}\", instance=\"p1\", job=\"mimamori\"}}",
            b.service, b.name
        );
        let max_m = b.expect.max_age.0.as_secs().div_ceil(60);
        let page_m = max_m + PAGE_AFTER_HOURS * 60;
        let steps = page_m + 180; // samples past the page threshold
        let n = |v: &str| format!("{v}x{steps}");
        let labels = |sev: &str| {
            let mut m = BTreeMap::new();
            m.insert("service".to_string(), b.service.to_string());
            m.insert("backup".to_string(), b.name.to_string());
            m.insert("severity".to_string(), sev.to_string());
            m.insert("slo".to_string(), "backup".to_string());
            m
        };
        let rules = backup_rules(cfg, b);
        let fires = |at: String, name: &str, sev: &str| AlertTest {
            eval_time: at,
            alertname: name.into(),
            exp_alerts: vec![ExpAlert {
                exp_labels: labels(sev),
                exp_annotations: rules
                    .iter()
                    .find(|r| r.alert.as_deref() == Some(name))
                    .expect("a rule of each name")
                    .annotations
                    .clone(),
            }],
        };
        let quiet = |at: String, name: &str| AlertTest {
            eval_time: at,
            alertname: name.into(),
            exp_alerts: vec![],
        };
        let series = |m: &str, values: String| Series {
            series: format!("{m}{l}"),
            values,
        };
        // Stale: the newest backup is from time 0.
        let fail_for = b.interval.0.as_secs() * 2 / 60;
        groups.push(TestGroup {
            name: format!("{}/{}: stale, then very stale", b.service, b.name),
            interval: "1m".into(),
            input_series: vec![
                series(metric::BACKUP_LAST_SUCCESS, n("0+0")),
                series(metric::BACKUP_CHECK_SUCCESS, n("1+0")),
            ],
            alert_rule_test: vec![
                quiet(format!("{}m", max_m - 15), "BackupStale"),
                fires(format!("{}m", max_m + 30), "BackupStale", "ticket"),
                quiet(format!("{}m", max_m + 30), "BackupVeryStale"),
                fires(format!("{}m", page_m + 30), "BackupVeryStale", "page"),
                quiet(format!("{}m", page_m + 30), "BackupCheckFailing"),
            ],
            promql_expr_test: vec![],
        });
        // The other objectives, one at a time: fresh, then each breaks at 2h.
        let at = |m: u64| format!("{m}m");
        // Everything breaks at 120m.
        groups.push(TestGroup {
            name: format!(
                "{}/{}: gap day, short retention, anonymous access, check failing",
                b.service, b.name
            ),
            interval: "1m".into(),
            input_series: vec![
                // Fresh: a backup a minute old at every sample.
                series(metric::BACKUP_LAST_SUCCESS, "-60+60x360".into()),
                series(metric::BACKUP_DATES_COVERED, "183x119 182x240".into()),
                series(metric::BACKUP_DATES_EXPECTED, "183x360".into()),
                series(metric::BACKUP_OLDEST, "100x119 300x240".into()),
                series(metric::BACKUP_RETENTION_REQUIRED, "200x360".into()),
                series(metric::BACKUP_ANONYMOUS_REFUSED, "1x119 0x240".into()),
                series(metric::BACKUP_CHECK_SUCCESS, "1x119 0x240".into()),
            ],
            alert_rule_test: vec![
                quiet(at(90), "BackupDayMissing"),
                quiet(at(90), "BackupRetentionShort"),
                quiet(at(90), "BackupAnonymousAccess"),
                quiet(at(90), "BackupCheckFailing"),
                quiet(at(140), "BackupDayMissing"),
                fires(at(151), "BackupDayMissing", "ticket"),
                fires(at(151), "BackupRetentionShort", "ticket"),
                fires(at(121), "BackupAnonymousAccess", "page"),
                quiet(at(120 + fail_for - 1), "BackupCheckFailing"),
                fires(at(120 + fail_for + 1), "BackupCheckFailing", "ticket"),
                quiet(at(300), "BackupStale"),
            ],
            promql_expr_test: vec![],
        });
    }
    let file = TestFile {
        rule_files: vec![format!("../{RULE_FILE}")],
        evaluation_interval: "1m".into(),
        tests: groups,
    };
    Ok(Some(serde_yaml::to_string(&file)?))
}

/// The backup objective in words, for `mimamori explain` and
/// `rules/README.md`; empty without `backups:`.
pub fn explain(cfg: &Config) -> String {
    if cfg.backups.is_empty() {
        return String::new();
    }
    let mut o = String::from(
        "## Backups (seed §6: daily, kept 6 months off-site, administrators only)\n\n\
         `mimamori-backups.yml`, one rule per backup and alert. A backup's check lists its \
         location (S3 prefix or directory) on its own interval; the thresholds are its own:\n\n\
         | backup | service | checked every | stale (ticket) after | very stale (page) after |\n\
         |---|---|---|---|---|\n",
    );
    for b in &cfg.backups {
        let max_age = b.expect.max_age.0;
        let page = max_age + std::time::Duration::from_secs(PAGE_AFTER_HOURS * 3600);
        o.push_str(&format!(
            "| {} ({}) | {} | {} | {} | {} |\n",
            b.name,
            b.display_name.ja,
            b.service,
            crate::config::duration::fmt_prom(b.interval.0),
            hours(max_age),
            hours(page),
        ));
    }
    o.push_str(
        "\n| alert | severity | fires when |\n|---|---|---|\n\
         | BackupStale | ticket | the newest backup is older than the backup's `expect.max_age`, for 5 min |\n\
         | BackupVeryStale | page | older than `max_age` + 24 h, for 5 min |\n\
         | BackupDayMissing | ticket | a calendar date (Asia/Tokyo) of the last 183 has no backup, for 30 min |\n\
         | BackupRetentionShort | ticket | the oldest backup is newer than six calendar months ago (or `since`), for 30 min |\n\
         | BackupAnonymousAccess | page | an unsigned list or read of the location was not refused (readable by anyone, not administrators only), at once |\n\
         | BackupCheckFailing | ticket | the location cannot be listed for two check intervals: the backups' state is unknown |\n\n\
         A page inhibits the tickets of the same backup only, never another backup's.\n",
    );
    o
}
