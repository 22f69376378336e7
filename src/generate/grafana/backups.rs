//! Rows of `mimamori-service` for the backup objective: one row per
//! configured backup (none without `backups:`), with fixed selectors.

use super::panels::*;
use super::*;

pub(super) fn rows(cfg: &Config, l: &mut Layout) {
    for b in &cfg.backups {
        let s = Selector::service(&b.service).eq("backup", &b.name);
        let max_age = b.expect.max_age.as_secs_f64();
        l.row(&format!(
            "バックアップ / Backup: {} / {} ({})",
            b.display_name.ja, b.display_name.en, b.service
        ));
        l.add(
            5,
            5,
            with_no_value(
                stat(
                    "最新からの経過 / Newest backup age",
                    "最新のバックアップからの時間（目標 max_age 以内）/ Time since the newest backup (objective: within max_age)",
                    vec![instant(
                        format!("time() - max ({})", s.of(metric::BACKUP_LAST_SUCCESS)),
                        "",
                    )],
                    "s",
                    steps("green", &[(max_age, "orange"), (max_age + 86_400.0, "red")]),
                ),
                "未確認 / not checked",
            ),
        );
        l.add(
            5,
            5,
            with_no_value(
                stat(
                    "保持期間 / Retention",
                    "最も古いバックアップが必要な日付より何日古いか（0 未満は不足）/ Days the oldest backup is older than required (below 0: too short)",
                    vec![instant(
                        format!(
                            "(min ({}) - min ({})) / 86400",
                            s.of(metric::BACKUP_RETENTION_REQUIRED),
                            s.of(metric::BACKUP_OLDEST)
                        ),
                        "",
                    )],
                    "d",
                    steps("red", &[(0.0, "green")]),
                ),
                "未確認 / not checked",
            ),
        );
        l.add(
            5,
            5,
            with_no_value(
                stat(
                    "バックアップのない日 / Dates without a backup",
                    "直近 183 日（東京時間の暦日）のうちバックアップのない日数 / Calendar dates (Asia/Tokyo) of the last 183 without a backup",
                    vec![instant(
                        format!(
                            "max ({}) - max ({})",
                            s.of(metric::BACKUP_DATES_EXPECTED),
                            s.of(metric::BACKUP_DATES_COVERED)
                        ),
                        "",
                    )],
                    "none",
                    steps("green", &[(1.0, "red")]),
                ),
                "未確認 / not checked",
            ),
        );
        l.add(
            4,
            5,
            with_mappings(
                stat(
                    "匿名アクセス / Anonymous access",
                    "認証なしの一覧・読み取りが拒否されるか / Whether unsigned list and read are refused",
                    vec![instant(
                        format!("min ({})", s.of(metric::BACKUP_ANONYMOUS_REFUSED)),
                        "",
                    )],
                    "none",
                    steps("red", &[(1.0, "green")]),
                ),
                value_map(&[
                    ("1", "拒否 / Refused", "green"),
                    ("0", "許可（漏えい）/ Allowed (leak)", "red"),
                ]),
            ),
        );
        l.add(
            5,
            5,
            per_minute(timeseries(
                "確認の失敗 / Check failures",
                "保存先を一覧できなかった確認（理由別）/ Checks that could not list the location, by reason",
                vec![range(
                    format!(
                        "sum by (reason) (increase({}[$__rate_interval]))",
                        s.of(metric::BACKUP_CHECK_FAILURES)
                    ),
                    "{{reason}}",
                )],
                "short",
                steps("green", &[]),
                model::ThresholdsStyleMode::Off,
            )),
        );
    }
}
