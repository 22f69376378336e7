//! `mimamori-service`: for engineers, "what is slow, where, since when?" —
//! one service (variable `service`) with its budget, burn rates, status per
//! location, failures, latency, phases and TLS.

use super::model::{Dashboard, Link, LinkType, Panel, RepeatDirection, ThresholdsStyleMode};
use super::panels::*;
use super::*;
use crate::generate::rules::runbook;
use crate::promql::dashboard;
use crate::slo::plan::{BurnAlert, Slo};

/// The selected service.
fn sel() -> Selector {
    Selector::service("$service")
}

/// The selected service at the selected locations.
fn loc_sel() -> Selector {
    sel().re("location", "$location")
}

pub(super) fn dashboard(cfg: &Config, plans: &[ServicePlan]) -> Dashboard {
    let mut l = Layout::new();
    budget_row(plans, &mut l);
    l.row("バーンレート / Burn rate");
    for p in burn_panels(plans) {
        l.add(8, 7, p);
    }
    availability_row(&mut l);
    latency_row(plans, &mut l);
    phases_row(plans, &mut l);
    tls_row(&mut l);
    super::backups::rows(cfg, &mut l);
    frame(Frame {
        uid: dashboard::SERVICE,
        title: "mimamori サービス詳細 / Service detail",
        description: "1 サービスのバジェット、バーンレート、拠点別の状態、応答時間 / One service: budget, burn rates, status per location, latency",
        tags: &["slo", "service"],
        from: "now/M",
        variables: variables(plans),
        annotations: annotations(|s| s.eq("service", "$service")),
        links: links_with(runbook_links(cfg)),
        panels: l.finish(),
    })
}

fn runbook_links(cfg: &Config) -> Vec<Link> {
    [Slo::Availability, Slo::Latency]
        .into_iter()
        .map(|slo| Link {
            kind: LinkType::Link,
            icon: "doc",
            target_blank: true,
            ..link(
                &format!("ランブック / Runbook ({})", slo.label()),
                runbook(cfg, "${service}", slo.label()),
                "",
            )
        })
        .collect()
}

fn variables(plans: &[ServicePlan]) -> Vec<Variable> {
    let mut service = query_var(
        "service",
        "サービス / Service",
        metric::PROBE_SUCCESS,
        "service",
        false,
    );
    service.current = plans.first().map(|p| VariableOption {
        selected: true,
        text: p.service.clone(),
        value: p.service.clone(),
    });
    vec![
        service,
        query_var(
            "location",
            "拠点 / Location",
            &sel().of(metric::PROBE_SUCCESS),
            "location",
            true,
        ),
        query_var(
            "step",
            "操作 / Operation",
            &sel().of(metric::STEP_PHASE),
            "step",
            true,
        ),
    ]
}

// ---------------------------------------------------------------------------
// Error budget
// ---------------------------------------------------------------------------

fn budget_row(plans: &[ServicePlan], l: &mut Layout) {
    let sel = sel();
    l.row("エラーバジェット / Error budget");
    l.add(12, 8, per_minute(burn_down(plans)));
    l.add(
        4,
        4,
        with_decimals(
            stat(
                "期間の稼働率 / Availability in range",
                "(稼働時間 − 障害時間) ÷ 稼働時間、計画メンテナンス除外 / (operating − failure time) ÷ operating time, maintenance excluded",
                vec![instant(q_availability(&sel), "稼働率 / Availability")],
                "percentunit",
                steps("red", &[(strictest(plans, |p| p.availability), "green")]),
            ),
            3,
        ),
    );
    l.add(
        4,
        4,
        stat(
            "期間の障害時間 / Failure time in range",
            "過半数の拠点で失敗し、かつ稼働時間だった時間 / Time failing from a quorum of locations while operating",
            vec![instant(q_failure_secs(&sel), "障害時間 / Failure time")],
            "dtdurations",
            steps("green", &[(1.0, "orange")]),
        ),
    );
    l.add(
        4,
        4,
        with_decimals(
            stat(
                "30 日間のバジェット残り / Budget left, rolling 30 d",
                "直近 30 日間（暦月ではなく移動窓）/ Over the last 30 days (rolling, not the calendar month)",
                vec![instant(sel.of(record::BUDGET_REMAINING_30D), "{{slo}}")],
                "percentunit",
                steps("red", &[(0.0, "orange"), (0.25, "green")]),
            ),
            1,
        ),
    );
    // Under the three small stats.
    l.place(
        12,
        4,
        12,
        4,
        with_decimals(
            stat(
                "期間の応答時間達成率 / Latency objective met in range",
                "成功した操作のうち目標時間以内の割合 / Share of successful operations within the threshold",
                vec![instant(
                    q_latency_share_any(plans, &sel, "$__range", "service"),
                    "応答時間 / Latency",
                )],
                "percentunit",
                steps("red", &[(strictest(plans, |p| p.latency), "green")]),
            ),
            2,
        ),
    );
}

/// Both budgets from 100 % at the start of the range down to what is left.
fn burn_down(plans: &[ServicePlan]) -> Panel {
    let sel = sel();
    let budget = |slo: &str| sel.clone().eq("slo", slo).of(record::ERROR_BUDGET);
    let availability = format!(
        "1 - sum_over_time((avg_over_time({}[$__interval]) and on() (vector(time()) >= $__from / 1000))[$__range:$__interval]) * ($__interval_ms / 1000) / on(service) (max by (service) ({}) * {MONTH_SECS})",
        sel.of(record::AVAILABILITY_ERRORS),
        budget("availability"),
    );
    let latency = per_threshold(plans, &sel, |sel, t| {
        let (within, all) = latency_series(sel, t);
        format!(
            "1 - (1 - {} / {}) / scalar(max({}))",
            q_since_from(&within),
            q_since_from(&all),
            sel.clone().eq("slo", "latency").of(record::ERROR_BUDGET),
        )
    });
    timeseries(
        "今月のエラーバジェット残り / Error budget left this month",
        "期間の始め（既定: 今月 1 日 0 時 JST）を 100 % とし、可用性は障害時間の分（今月の許容障害時間に対して）、応答時間は目標時間を超えた操作の割合の分だけ減ります。0 % で今月の目標を割ります。/ 100 % at the start of the range (default: the 1st of this month, 00:00 JST). Availability goes down with failure time against the month's allowed failure time; latency with the share of operations over the threshold. At 0 % the month misses its objective.",
        vec![
            range(availability, "可用性バジェット残り / Availability budget left"),
            range(latency, "応答時間バジェット残り / Latency budget left"),
        ],
        "percentunit",
        steps("red", &[(0.0, "orange"), (0.25, "green")]),
        ThresholdsStyleMode::LineAndArea,
    )
}

// ---------------------------------------------------------------------------
// Burn rates
// ---------------------------------------------------------------------------

/// The alerts of one objective and window pair, across services.
struct Pair<'a> {
    slo: Slo,
    long: &'static str,
    short: &'static str,
    /// (service, alert) for every service that has this pair.
    alerts: Vec<(&'a str, &'a BurnAlert)>,
}

fn pairs(plans: &[ServicePlan]) -> Vec<Pair<'_>> {
    let mut pairs: Vec<Pair<'_>> = Vec::new();
    for p in plans {
        for a in &p.alerts {
            let key = (a.slo, a.long.name, a.short.name);
            match pairs.iter_mut().find(|x| (x.slo, x.long, x.short) == key) {
                Some(pair) => pair.alerts.push((&p.service, a)),
                None => pairs.push(Pair {
                    slo: a.slo,
                    long: a.long.name,
                    short: a.short.name,
                    alerts: vec![(&p.service, a)],
                }),
            }
        }
    }
    pairs
}

/// One panel per objective and window pair, both windows' burn rates of
/// `$service` with the alert's threshold: a dashed line when every service
/// shares it, else a threshold series that follows `$service`.
fn burn_panels(plans: &[ServicePlan]) -> Vec<Panel> {
    pairs(plans).iter().map(burn_panel).collect()
}

fn burn_panel(pair: &Pair<'_>) -> Panel {
    let (slo, long, short) = (pair.slo.label(), pair.long, pair.short);
    let first = pair.alerts[0].1.burn;
    let uniform = pair.alerts.iter().all(|(_, a)| a.burn == first);
    let mut severities: Vec<&str> = pair
        .alerts
        .iter()
        .map(|(_, a)| a.severity.label())
        .collect();
    severities.dedup();
    let severity = severities.join("/");
    let (slo_ja, slo_en) = match pair.slo {
        Slo::Availability => ("可用性", "Availability"),
        Slo::Latency => ("応答時間", "Latency"),
    };
    let sel = sel().eq("slo", slo);
    let mut targets = vec![
        range(sel.of(&record::burn_rate(long)), long),
        range(sel.of(&record::burn_rate(short)), short),
    ];
    let (threshold_text, thresholds, lines) = if uniform {
        (
            format!("{}×", decimal(first)),
            steps("green", &[(first, "red")]),
            ThresholdsStyleMode::Dashed,
        )
    } else {
        targets.push(range(threshold_series(pair), "閾値 / threshold"));
        (
            "サービスごと / per service".to_string(),
            steps("green", &[]),
            ThresholdsStyleMode::Off,
        )
    };
    timeseries(
        &format!("{slo_ja}バーンレート / {slo_en} burn rate {long} & {short} ({severity} ≥ {threshold_text})"),
        &format!(
            "{long} と {short} の両方が閾値以上で {severity} を出します。1× = 期間でちょうどバジェットを使い切る速さ。/ Both the {long} and the {short} window at or above the threshold raise a {severity}. 1× spends exactly the budget over the period."
        ),
        targets,
        "suffix:×",
        thresholds,
        lines,
    )
}

/// Each service's threshold, of which only `$service`'s returns data.
fn threshold_series(pair: &Pair<'_>) -> String {
    pair.alerts
        .iter()
        .map(|(service, a)| {
            let only = sel()
                .eq("service", *service)
                .eq("slo", pair.slo.label())
                .of(record::OBJECTIVE);
            format!("(vector({}) and on() count({only}))", decimal(a.burn))
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

// ---------------------------------------------------------------------------
// Availability, latency, phases, TLS
// ---------------------------------------------------------------------------

fn availability_row(l: &mut Layout) {
    let loc_sel = loc_sel();
    l.row("可用性 / Availability");
    l.add(
        24,
        8,
        state_timeline(
            "拠点別の状態 / Status by location",
            "サービス = 過半数の拠点で失敗（障害時間）。拠点 = その拠点から見た失敗。/ Service = a quorum fails (failure time); a location = what that location sees.",
            vec![
                range(
                    format!("max by (service) ({})", sel().of(record::SERVICE_FAILING)),
                    "サービス / Service",
                ),
                range(
                    format!("max by (location) ({})", loc_sel.of(record::LOCATION_FAILING)),
                    "{{location}}",
                ),
            ],
            failing_map(),
        ),
    );
    l.add(
        24,
        8,
        state_timeline(
            "アドレス別の状態 / Status by address",
            "resolve: all の取引だけ: 名前の背後の各アドレスの最初の試行の結果。どれか 1 つでも失敗すればそのアドレスに来た利用者は失敗する。/ Only transactions with resolve: all: the first attempt against each address behind the name. A failing address fails the customers who land on it.",
            vec![range(
                format!(
                    "max by (ip, location, transaction) (1 - {})",
                    loc_sel.clone().ne("ip", "").of(metric::PROBE_SUCCESS)
                ),
                "{{ip}} @ {{location}} {{transaction}}",
            )],
            failing_map(),
        ),
    );
    let failures = loc_sel.of(metric::PROBE_FAILURES);
    l.add(
        12,
        8,
        stacked(bars(per_minute(timeseries(
            "失敗理由別の失敗回数 / Failed runs by reason",
            "拠点と理由ごとの失敗した実行の数 / Failed runs per location and reason",
            vec![range(
                format!("sum by (reason, location) (increase({failures}[$__interval]))"),
                "{{reason}} @ {{location}}",
            )],
            "short",
            steps("green", &[]),
            ThresholdsStyleMode::Off,
        )))),
    );
    l.add(
        12,
        8,
        table(
            "期間の失敗の内訳 / Failures in range",
            "理由・拠点・取引ごとの失敗回数 / Failed runs by reason, location and transaction",
            vec![table_target(format!(
                "sum by (reason, location, transaction) (increase({failures}[$__range])) > 0"
            ))],
            &["Time"],
            &[
                ("reason", "理由 / Reason"),
                ("location", "拠点 / Location"),
                ("transaction", "取引 / Transaction"),
                ("Value", "回数 / Runs"),
            ],
        ),
    );
}

/// The latency threshold as a red line, when every service shares it.
fn threshold_line(plans: &[ServicePlan]) -> model::Thresholds {
    match common_latency_threshold(plans) {
        Some(t) => steps("green", &[(t, "red")]),
        None => steps("green", &[]),
    }
}

/// `3 s 以内の割合 / Share within 3 s`, or the generic words when services differ.
fn share_title(plans: &[ServicePlan]) -> String {
    match common_latency_threshold(plans) {
        Some(t) => format!(
            "{} 以内の割合 / Share within {}",
            human_secs(t),
            human_secs(t)
        ),
        None => "目標時間以内の割合 / Share within the threshold".to_string(),
    }
}

fn latency_row(plans: &[ServicePlan], l: &mut Layout) {
    let loc_sel = loc_sel();
    let latency_target = strictest(plans, |p| p.latency);
    let share_title = share_title(plans);
    l.row("応答時間 / Latency");
    l.add(12, 9, step_quantiles(plans, &loc_sel));
    l.add(
        12,
        9,
        timeseries(
            &format!("{share_title}（操作ごと / per operation）"),
            "成功した操作のうち目標時間以内に応答した割合。線 = 目標。/ Share of successful operations within the threshold; the line is the objective.",
            vec![range(
                q_latency_share_any(plans, &loc_sel, "$__rate_interval", "transaction, step"),
                "{{transaction}} / {{step}}",
            )],
            "percentunit",
            steps("red", &[(latency_target, "green")]),
            ThresholdsStyleMode::Dashed,
        ),
    );
    l.add(
        12,
        7,
        bargauge(
            &format!("期間の{share_title}"),
            "期間全体、操作ごと / Whole range, per operation",
            vec![instant(
                q_latency_share_any(plans, &loc_sel, "$__range", "transaction, step"),
                "{{transaction}} / {{step}}",
            )],
            "percentunit",
            steps("red", &[(latency_target, "green")]),
        ),
    );
    l.add(12, 7, transaction_duration(&loc_sel));
}

/// p50 / p90 / p99 per operation, with the threshold as a line.
fn step_quantiles(plans: &[ServicePlan], loc_sel: &Selector) -> Panel {
    let line_title = common_latency_threshold(plans)
        .map(|t| format!("（線 = {} / line = {}）", human_secs(t), human_secs(t)))
        .unwrap_or_default();
    let quantiles = [("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99")]
        .iter()
        .map(|(q, name)| {
            range(
                q_step_quantile(q, loc_sel),
                &format!("{name} {{{{transaction}}}} / {{{{step}}}}"),
            )
        })
        .collect();
    timeseries(
        &format!("操作ごとの応答時間 / Response time per operation {line_title}"),
        "成功した操作の p50 / p90 / p99（全拠点）/ p50 / p90 / p99 of successful operations, all selected locations",
        quantiles,
        "s",
        threshold_line(plans),
        ThresholdsStyleMode::Dashed,
    )
}

fn transaction_duration(loc_sel: &Selector) -> Panel {
    // Failed runs have a count and a sum, no buckets: their mean is shown.
    let ok = loc_sel.clone().eq("result", "success");
    let failed = loc_sel.clone().eq("result", "failure");
    let per_run =
        |part: &str, sel: &Selector| crate::promql::per_run("rate", part, sel, "$__rate_interval");
    let quantile = |q: &str| {
        format!(
            "histogram_quantile({q}, sum by (le, transaction) ({}))",
            per_run("_bucket", &ok)
        )
    };
    timeseries(
        "取引全体の所要時間 / Whole transaction duration",
        "ログインから最後の操作まで: 成功した実行の p50 / p99 と失敗した実行の平均（1 操作の取引はその操作の値）/ From log-in to the last operation: p50 / p99 of successful runs, mean of failed runs (a one-step transaction's are its operation's)",
        vec![
            range(quantile("0.5"), "p50 {{transaction}}"),
            range(quantile("0.99"), "p99 {{transaction}}"),
            range(
                format!(
                    "sum by (transaction) ({}) / sum by (transaction) ({})",
                    per_run("_sum", &failed),
                    per_run("_count", &failed)
                ),
                "失敗の平均 / failed, mean {{transaction}}",
            ),
        ],
        "s",
        steps("green", &[]),
        ThresholdsStyleMode::Off,
    )
}

fn phases_row(plans: &[ServicePlan], l: &mut Layout) {
    l.row("フェーズ内訳 / Phase breakdown");
    let phases = stacked(timeseries(
        "フェーズ内訳 / Phases: $step",
        "最新の実行の名前解決・接続・TLS・処理・転送（拠点の平均）/ resolve, connect, tls, processing and transfer of the latest run (mean over locations)",
        vec![range(
            format!(
                "avg by (phase) ({})",
                loc_sel().re("step", "$step").of(metric::STEP_PHASE)
            ),
            "{{phase}}",
        )],
        "s",
        threshold_line(plans),
        ThresholdsStyleMode::Dashed,
    ));
    let phases = Panel {
        repeat: Some("step"),
        repeat_direction: Some(RepeatDirection::H),
        max_per_row: Some(3),
        ..phases
    };
    l.add(8, 8, phases);
}

fn tls_row(l: &mut Layout) {
    let loc_sel = loc_sel();
    l.row("TLS");
    l.add(
        12,
        6,
        table(
            "TLS バージョン / TLS version",
            "拠点ごとに交渉された TLS バージョン（TLS 1.2 未満は無効のはず）/ Negotiated TLS version per location (below 1.2 must be refused)",
            vec![table_target(format!(
                "max by (location, transaction, version) ({})",
                loc_sel.of(metric::TLS_VERSION_INFO)
            ))],
            &["Time", "Value"],
            &[
                ("location", "拠点 / Location"),
                ("transaction", "取引 / Transaction"),
                ("version", "TLS"),
            ],
        ),
    );
    l.add(
        12,
        6,
        with_no_value(
            stat(
                "証明書の残り日数 / Certificate days left",
                "最も早く期限が来る証明書まで / Until the earliest certificate expiry",
                vec![instant(
                    format!(
                        "(min by (location) ({}) - time()) / 86400",
                        loc_sel.of(metric::TLS_CERTIFICATE_EXPIRY)
                    ),
                    "{{location}}",
                )],
                "d",
                steps("red", &[(14.0, "orange"), (30.0, "green")]),
            ),
            "TLS 情報なし / no TLS facts",
        ),
    );
}
