//! `mimamori-slo-overview`: for managers, "are we meeting 99.99 % this
//! month?" — every service on one screen, this calendar month so far.

use super::model::{Dashboard, Link, Panel};
use super::panels::*;
use super::*;
use crate::config::MaintenanceWindow;
use crate::generate::rules::runbook;
use crate::promql::dashboard;

pub(super) fn dashboard(cfg: &Config, plans: &[ServicePlan]) -> Dashboard {
    let mut l = Layout::new();
    l.add(24, 4, text("目標 / Objectives", objectives_markdown(plans)));
    for p in plans {
        service_row(cfg, p, &mut l);
    }
    all_services(cfg, &mut l);
    frame(Frame {
        uid: dashboard::OVERVIEW,
        title: "mimamori SLO 概要 / SLO overview",
        description: "今月（日本時間）の稼働率とエラーバジェット、全サービス / This calendar month (Asia/Tokyo) so far, every service",
        tags: &["slo", "overview"],
        from: "now/M",
        variables: Vec::new(),
        annotations: annotations(|s| s.ne("service", "")),
        links: dashboard_links(),
        panels: l.finish(),
    })
}

/// Status, maintenance now and the planned windows of every service.
fn all_services(cfg: &Config, l: &mut Layout) {
    l.row("全サービス / All services");
    l.add(
        24,
        8,
        state_timeline(
            "サービスの状態 / Service status",
            "過半数の拠点で失敗している時間が障害時間です（1 拠点だけの失敗は数えません）。/ A service is failing when a quorum of locations sees it failing; one location alone does not count.",
            vec![range(
                format!("max by (service) ({})", record::SERVICE_FAILING),
                "{{service}}",
            )],
            failing_map(),
        ),
    );
    l.add(
        8,
        8,
        with_mappings(
            stat(
                "メンテナンス中 / Maintenance now",
                "告知済みの計画メンテナンス中のサービス（稼働時間から除外）。/ Services inside an announced planned window (left out of operating time).",
                vec![instant(
                    format!("max by (service) ({})", record::MAINTENANCE_ACTIVE),
                    "{{service}}",
                )],
                "none",
                steps("green", &[(1.0, "blue")]),
            ),
            value_map(&[
                ("0", "通常 / Normal", "green"),
                ("1", "メンテナンス中 / Maintenance", "blue"),
            ]),
        ),
    );
    l.add(
        16,
        8,
        text(
            "計画メンテナンス / Planned maintenance",
            maintenance_markdown(cfg),
        ),
    );
}

/// The service dashboard of `service`, keeping the time range and data source.
pub(super) fn service_link(service: &str) -> Link {
    link(
        "サービス詳細 / Service detail",
        format!(
            "/d/{}?var-service={service}&${{__url_time_range}}&${{datasource:queryparam}}",
            dashboard::SERVICE
        ),
        "このサービスの詳細ダッシュボード / Detail dashboard of this service",
    )
}

/// The service dashboard and both runbooks.
fn service_links(cfg: &Config, name: &str) -> Vec<Link> {
    vec![
        service_link(name),
        link(
            "ランブック（可用性）/ Runbook (availability)",
            runbook(cfg, name, "availability"),
            "",
        ),
        link(
            "ランブック（応答時間）/ Runbook (latency)",
            runbook(cfg, name, "latency"),
            "",
        ),
    ]
}

/// One row per service: availability, budget left and spent, latency, status.
fn service_row(cfg: &Config, p: &ServicePlan, l: &mut Layout) {
    let name = &p.service;
    let sel = Selector::service(name);
    let links = service_links(cfg, name);
    l.row(&format!("{} / {} ({name})", p.ja, p.en));
    l.add(5, 6, with_links(availability_stat(p, &sel), links.clone()));
    let excluded = q_excluded_secs(cfg, p, &sel);
    l.add(
        6,
        6,
        with_links(
            budget_left_stat(p, &sel, excluded.as_deref()),
            links.clone(),
        ),
    );
    l.add(4, 6, budget_spent_gauge(p, &sel, excluded.as_deref()));
    l.add(5, 6, with_links(latency_stat(p, &sel), links));
    l.add(
        4,
        3,
        with_links(status_stat(&sel), vec![service_link(name)]),
    );
    // Under "status now".
    l.place(20, 3, 4, 3, by_location_stat(&sel));
}

/// The month's allowed failure seconds, evaluated at query time.
fn month_budget(p: &ServicePlan) -> String {
    format!("{} * {MONTH_SECS}", decimal(p.availability_budget))
}

fn availability_stat(p: &ServicePlan, sel: &Selector) -> Panel {
    let pct = percent(p.availability);
    with_decimals(
        stat(
            &format!("今月の稼働率 / Availability this month (目標 / objective {pct} %)"),
            &format!(
                "(稼働時間 − 障害時間) ÷ 稼働時間。告知済みの計画メンテナンスは稼働時間に含めません。目標 {pct} %。/ (operating time − failure time) ÷ operating time, announced maintenance left out of operating time. Objective {pct} %."
            ),
            vec![instant(q_availability(sel), "稼働率 / Availability")],
            "percentunit",
            steps("red", &[(p.availability, "green")]),
        ),
        3,
    )
}

/// Failure seconds in the dashboard range inside the service's `exclusions:`
/// (to the minute, as [`q_failure_secs`] counts), or `None` when it has none.
/// The spans come from the configuration, so the dashboard is regenerated
/// when an exclusion is recorded; the rules and alerts never see them.
fn q_excluded_secs(cfg: &Config, p: &ServicePlan, sel: &Selector) -> Option<String> {
    let spans: Vec<String> = cfg
        .exclusions
        .iter()
        .filter(|x| x.services.contains(&p.service))
        .map(|x| {
            format!(
                "(vector(time()) > {} and vector(time()) <= {})",
                x.start.timestamp(),
                x.end.timestamp()
            )
        })
        .collect();
    (!spans.is_empty()).then(|| {
        format!(
            "(sum(sum_over_time((avg_over_time({}[1m]) and on () ({}))[$__range:1m])) * 60 or vector(0))",
            sel.of(record::AVAILABILITY_ERRORS),
            spans.join(" or ")
        )
    })
}

fn budget_left_stat(p: &ServicePlan, sel: &Selector, excluded: Option<&str>) -> Panel {
    let month_total = month_budget(p);
    let mut targets = vec![
        instant(
            format!("{month_total} - {}", q_failure_secs(sel)),
            "残り / Left",
        ),
        instant(
            format!("vector({month_total})"),
            "今月の総量 / Month's budget",
        ),
    ];
    if let Some(x) = excluded {
        targets.push(instant(
            format!("{month_total} - (sum({}) - {x})", q_failure_secs(sel)),
            "残り（SLO 対象外を除く） / Left, exclusions set aside",
        ));
    }
    stat(
        "残りエラーバジェット / Error budget left",
        &format!(
            "今月の許容障害時間（{} %: 28 日 {}、30 日 {}、31 日 {}）から今月の障害時間を引いた残り。/ The month's allowed failure time minus this month's failure time.",
            percent(p.availability),
            human_budget(p.budget_seconds(28)),
            human_budget(p.budget_seconds(30)),
            human_budget(p.budget_seconds(31)),
        ),
        targets,
        "dtdurations",
        steps(
            "red",
            &[(0.0, "orange"), (promql::round_decimal(p.budget_seconds(28) / 4.0), "green")],
        ),
    )
}

fn budget_spent_gauge(p: &ServicePlan, sel: &Selector, excluded: Option<&str>) -> Panel {
    let mut targets = vec![instant(
        format!("{} / ({})", q_failure_secs(sel), month_budget(p)),
        "消費 / Spent",
    )];
    if let Some(x) = excluded {
        targets.push(instant(
            format!(
                "(sum({}) - {x}) / ({})",
                q_failure_secs(sel),
                month_budget(p)
            ),
            "消費（SLO 対象外を除く） / Spent, exclusions set aside",
        ));
    }
    gauge(
        "バジェット消費率 / Budget spent",
        "今月の障害時間 ÷ 今月の許容障害時間 / This month's failure time ÷ the month's allowed failure time",
        targets,
        "percentunit",
        steps("green", &[(0.5, "orange"), (1.0, "red")]),
    )
}

fn latency_stat(p: &ServicePlan, sel: &Selector) -> Panel {
    let within = human_secs(p.latency_threshold_seconds);
    let target = percent(p.latency);
    with_decimals(
        stat(
            &format!("{within} 以内の割合 / Share within {within} (目標 / objective {target} %)"),
            &format!(
                "今月、成功した操作のうち {within} 以内に応答した割合。目標 {target} %。/ Share of this month's successful operations answered within {within}."
            ),
            vec![instant(
                q_latency_share(sel, p.latency_threshold_seconds, "$__range", "service"),
                "応答時間 / Latency",
            )],
            "percentunit",
            steps("red", &[(p.latency, "green")]),
        ),
        2,
    )
}

fn status_stat(sel: &Selector) -> Panel {
    with_mappings(
        stat(
            "現在の状態 / Status now",
            "障害 = 過半数の拠点で失敗。メンテナンス中は稼働時間外。/ Failing = a quorum of locations fails. Maintenance is not operating time.",
            vec![instant(
                format!(
                    "max({}) + 2 * max({})",
                    sel.of(record::SERVICE_FAILING),
                    sel.of(record::MAINTENANCE_ACTIVE)
                ),
                "状態 / Status",
            )],
            "none",
            steps("green", &[(1.0, "red"), (2.0, "blue")]),
        ),
        value_map(&[
            ("0", "正常 / OK", "green"),
            ("1", "障害 / Failing", "red"),
            ("2", "メンテナンス / Maintenance", "blue"),
            ("3", "メンテナンス / Maintenance", "blue"),
        ]),
    )
}

fn by_location_stat(sel: &Selector) -> Panel {
    value_and_name(with_mappings(
        stat(
            "拠点別 / By location",
            "各拠点から見た状態 / Status as each location sees it",
            vec![instant(
                format!("max by (location) ({})", sel.of(record::LOCATION_FAILING)),
                "{{location}}",
            )],
            "none",
            steps("green", &[(1.0, "red")]),
        ),
        failing_map(),
    ))
}

fn objectives_markdown(plans: &[ServicePlan]) -> String {
    let mut md = String::from(
        "| サービス / Service | 稼働率目標 / Availability | 許容障害時間 / Budget (30 日 / days) | 応答時間目標 / Latency |\n|---|---|---|---|\n",
    );
    for p in plans {
        let t = human_secs(p.latency_threshold_seconds);
        md.push_str(&format!(
            "| [{ja} / {en}](/d/{uid}?var-service={name}) | 月間 {pct} % 以上 / ≥ {pct} % monthly | {budget} | {target} % の操作が {t} 以内 / {target} % of operations within {t} |\n",
            ja = p.ja,
            en = p.en,
            uid = dashboard::SERVICE,
            name = p.service,
            pct = percent(p.availability),
            budget = human_budget(p.budget_seconds(30)),
            target = percent(p.latency),
        ));
    }
    md.push_str("\n稼働率 = (稼働時間 − 障害時間) ÷ 稼働時間（告知済みの計画メンテナンスを除く、日本時間の暦月）/ Availability = (operating − failure time) ÷ operating time, announced maintenance excluded, calendar month in Asia/Tokyo.\n");
    md
}

pub(super) fn maintenance_markdown(cfg: &Config) -> String {
    let months = cfg.global.maintenance_notice_months;
    if cfg.maintenance.is_empty() {
        return "設定された計画メンテナンスはありません。/ No maintenance windows configured.\n"
            .into();
    }
    let mut windows: Vec<&MaintenanceWindow> = cfg.maintenance.iter().collect();
    windows.sort_by_key(|w| w.start);
    let mut md = String::from(
        "| 開始 / Start (JST) | 終了 / End (JST) | サービス / Services | 内容 / What | 告知 / Announced | 扱い / Counts as |\n|---|---|---|---|---|---|\n",
    );
    for w in windows {
        md.push_str(&maintenance_line(cfg, w, months));
    }
    md
}

fn maintenance_line(cfg: &Config, w: &MaintenanceWindow, months: u32) -> String {
    let services: Vec<String> = w
        .services
        .iter()
        .map(|n| match cfg.service(n) {
            Some(s) => format!("{} / {}", s.display_name.ja, s.display_name.en),
            None => n.clone(),
        })
        .collect();
    let counts = if w.announced_in_time(months) {
        "計画停止 / planned".to_string()
    } else {
        format!("告知が {months} か月前より遅いため稼働時間（停止は障害時間）/ announced less than {months} months ahead: operating time, an outage counts as failure")
    };
    format!(
        "| {} | {} | {} | {} / {} | {} ({}) | {} |\n",
        jst(&w.start),
        jst(&w.end),
        services.join(", "),
        w.title.ja,
        w.title.en,
        jst(&w.announced_at),
        w.announced_via,
        counts,
    )
}
