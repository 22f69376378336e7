//! `mimamori-probers`: for whoever runs mimamori — which locations report and
//! when they were last scraped, success and runs per location, self-checks
//! (blind locations), scheduling lag, skipped runs, configuration reloads,
//! versions, `up`.

use super::model::{Dashboard, Panel, ThresholdsStyleMode};
use super::panels::*;
use super::*;
use crate::promql::dashboard;

pub(super) fn dashboard(cfg: &Config) -> Dashboard {
    let mut l = Layout::new();
    locations_row(cfg, &mut l);
    scheduler_row(&mut l);
    configuration_row(&mut l);
    frame(Frame {
        uid: dashboard::PROBERS,
        title: "mimamori プローバー / Probers",
        description: "どの拠点が報告しているか、スケジューラ、設定の再読み込み / Which locations report, the scheduler, configuration reloads",
        tags: &["probers"],
        from: "now-6h",
        variables: Vec::new(),
        annotations: annotations(|s| s.ne("service", "")),
        links: dashboard_links(),
        panels: l.finish(),
    })
}

fn locations_row(cfg: &Config, l: &mut Layout) {
    let success = metric::PROBE_SUCCESS;
    let rate = |sel: &Selector| crate::promql::per_run("rate", "_count", sel, "$__rate_interval");
    let runs = rate(&Selector::new());
    let ok_runs = rate(&Selector::new().eq("result", "success"));
    l.row("拠点 / Locations");
    l.add(6, 6, locations_reporting(cfg.alerting.locations.len()));
    l.add(
        18,
        6,
        table(
            "拠点ごとの報告 / Reports per location",
            "取引数と最後の取り込みからの秒数 / Transactions and seconds since the last scrape",
            vec![
                // A `resolve: all` transaction counts once, not once per address.
                table_target(format!(
                    "count by (location, instance) (max without (ip) ({success}))"
                )),
                table_target(format!(
                    "time() - max by (location, instance) (timestamp({success}))"
                )),
            ],
            &["Time"],
            &[
                ("location", "拠点 / Location"),
                ("instance", "インスタンス / Instance"),
                ("Value #A", "取引数 / Transactions"),
                ("Value #B", "最終取り込みからの秒数 / Seconds since scrape"),
            ],
        ),
    );
    l.add(
        12,
        7,
        per_minute(timeseries(
            "拠点ごとの成功率 / Success rate per location",
            "拠点ごとの成功した実行の割合。1 拠点だけ低いなら拠点側のネットワークを疑う。/ Share of successful runs per location; one low location points at that prober's network.",
            vec![range(
                format!("sum by (location) ({ok_runs}) / sum by (location) ({runs})"),
                "{{location}}",
            )],
            "percentunit",
            steps("green", &[]),
            ThresholdsStyleMode::Off,
        )),
    );
    l.add(
        12,
        7,
        per_minute(timeseries(
            "拠点ごとの実行回数 / Runs per minute per location",
            "拠点ごとの 1 分あたりの実行回数 / Completed runs per minute per location",
            vec![range(
                format!("sum by (location) ({runs}) * 60"),
                "{{location}}",
            )],
            "short",
            steps("green", &[]),
            ThresholdsStyleMode::Off,
        )),
    );
    l.add(
        12,
        6,
        with_mappings(
            stat(
                "プローバーの自己診断 / Prober self-checks",
                "自己診断先（self_check）がすべて失敗している拠点は「見えていない」: その拠点の結果は不明として扱い、障害にも正常にも数えない。/ A location whose self-check targets all fail is blind: its results count as unknown, neither failure nor success.",
                vec![instant(
                    format!("min by (location) ({})", metric::PROBER_HEALTHY),
                    "{{location}}",
                )],
                "none",
                steps("red", &[(1.0, "green")]),
            ),
            value_map(&[
                ("0", "見えていない / Blind", "red"),
                ("1", "正常 / Healthy", "green"),
            ]),
        ),
    );
    l.add(
        12,
        6,
        timeseries(
            "自己診断先ごとの結果 / Self-check targets",
            "拠点ごと・自己診断先ごとの最新の結果（1 成功、0 失敗）/ Latest result per location and self-check target (1 success, 0 failure)",
            vec![range(
                format!("min by (location, target) ({})", metric::SELF_CHECK_SUCCESS),
                "{{target}} @ {{location}}",
            )],
            "short",
            steps("green", &[]),
            ThresholdsStyleMode::Off,
        ),
    );
}

/// How many locations report, green at the configured number.
fn locations_reporting(expected: usize) -> Panel {
    let expected_text = if expected > 0 {
        format!("設定上の拠点数 {expected}。/ {expected} locations are configured.")
    } else {
        "設定で拠点を指定していません。/ No locations configured.".into()
    };
    stat(
        "報告中の拠点 / Locations reporting",
        &format!("いま指標を送っている拠点の数。{expected_text} / Locations whose probes are scraped now."),
        vec![instant(
            format!("count(count by (location) ({}))", metric::PROBE_SUCCESS),
            "拠点 / Locations",
        )],
        "none",
        steps("red", &[(expected.max(1) as f64, "green")]),
    )
}

fn scheduler_row(l: &mut Layout) {
    l.row("スケジューラ / Scheduler");
    let lag = |q: &str| {
        format!(
            "histogram_quantile({q}, sum by (le, instance) (rate({}[$__rate_interval])))",
            bucket(metric::SCHEDULER_LAG)
        )
    };
    l.add(
        12,
        7,
        timeseries(
            "スケジュール遅延 / Scheduling lag",
            "予定時刻から実行開始までの遅れ（p50 / p99）/ Delay from the planned start to the actual start",
            vec![
                range(lag("0.5"), "p50 {{instance}}"),
                range(lag("0.99"), "p99 {{instance}}"),
            ],
            "s",
            steps("green", &[]),
            ThresholdsStyleMode::Off,
        ),
    );
    l.add(
        12,
        7,
        stacked(bars(per_minute(timeseries(
            "スキップされた実行 / Skipped runs",
            "予定どおりに始められなかった実行（前回がまだ終わっていない等）/ Runs that could not start on time",
            vec![range(
                format!(
                    "sum by (location, service, transaction) (increase({}[$__interval])) > 0",
                    metric::RUNS_SKIPPED
                ),
                "{{service}} / {{transaction}} @ {{location}}",
            )],
            "short",
            steps("green", &[]),
            ThresholdsStyleMode::Off,
        )))),
    );
}

fn configuration_row(l: &mut Layout) {
    l.row("設定と版 / Configuration and version");
    l.add(
        8,
        6,
        with_mappings(
            stat(
                "設定の再読み込み / Config reload",
                "最後の再読み込みが成功したか（失敗時は古い設定のまま動作）/ Whether the last reload succeeded (on failure the old configuration keeps running)",
                vec![instant(
                    format!("min by (instance) ({})", metric::CONFIG_RELOAD_SUCCESSFUL),
                    "{{instance}}",
                )],
                "none",
                steps("red", &[(1.0, "green")]),
            ),
            value_map(&[("0", "失敗 / Failed", "red"), ("1", "成功 / OK", "green")]),
        ),
    );
    l.add(
        8,
        6,
        stat(
            "最後に成功した再読み込み / Last successful reload",
            "最後に設定を読み込めてからの時間 / Time since the configuration last loaded",
            vec![instant(
                format!(
                    "time() - max by (instance) ({})",
                    metric::CONFIG_RELOAD_SUCCESS_TIMESTAMP
                ),
                "{{instance}}",
            )],
            "dtdurations",
            steps("green", &[]),
        ),
    );
    l.add(
        8,
        6,
        table(
            "バージョンとシャード / Version and shard",
            "各インスタンスの mimamori のバージョンと担当シャード（番号 / 数、0 から）/ mimamori version and shard (index of count, 0-based) per instance",
            vec![table_target(format!(
                "max by (instance, version, index, count) ({build} * on (job, instance) group_left (index, count) {shard})\nor\nmax by (instance, version) ({build})",
                build = metric::BUILD_INFO,
                shard = metric::SHARD_INFO,
            ))],
            &["Time", "Value"],
            &[
                ("instance", "インスタンス / Instance"),
                ("version", "バージョン / Version"),
                ("index", "シャード / Shard"),
                ("count", "シャード数 / Shards"),
            ],
        ),
    );
    l.add(
        24,
        6,
        timeseries(
            "スクレイプ / Scrape up",
            "Prometheus から見た各 mimamori の up / `up` of each mimamori target",
            vec![range(
                format!(
                    "max by (instance, job) ({} and on(instance, job) {})",
                    metric::UP,
                    metric::BUILD_INFO
                ),
                "{{job}} {{instance}}",
            )],
            "none",
            steps("red", &[(1.0, "green")]),
            ThresholdsStyleMode::Off,
        ),
    );
}
