//! The 1-hour notice promise as alerts (`rules/mimamori-notices.yml`) and
//! their promtool tests, written only when `notify:` is configured.
//!
//! Seed §4: a failure is posted on the web site or mailed to the customers
//! within one hour. The page posts by itself; the mail is watched here:
//! `mimamori status` exports, per service, how long its oldest ongoing
//! incident has gone without a notice delivered on any channel
//! (`mimamori_notice_unnotified_incident_seconds`, see docs/notices.md). At
//! 45 minutes that pages, leaving a quarter of an hour to tell the customers
//! by hand before the promise breaks. A notifier nobody scrapes cannot page,
//! so its absence is a ticket.

use std::collections::BTreeMap;

use super::promtool_tests::{AlertTest, ExpAlert, Series, TestFile, TestGroup};
use super::rules::{runbook, service_dashboard, Group, Rule, RuleFile};
use crate::config::Config;

/// The rule file's name under `rules/`.
pub const RULE_FILE: &str = "mimamori-notices.yml";
/// The promtool test file's name under `rules/tests/`.
pub const TEST_FILE: &str = "mimamori-notices.yaml";

/// The gauge the page reads (exported by `mimamori status`'s notifier).
pub const UNNOTIFIED: &str = "mimamori_notice_unnotified_incident_seconds";
/// A counter every notifier exports from its start (both channels), for absence.
pub const DELIVERED: &str = "mimamori_notices_delivered_total";
/// Pages this long after an incident's start without a delivered notice: 45 min.
pub const OVERDUE_SECONDS: u64 = 45 * 60;
/// The promise itself (seed §4).
pub const PROMISE_SECONDS: u64 = 3600;
/// How long the notifier may be missing before the ticket.
const ABSENT_FOR: &str = "10m";

pub const OVERDUE: &str = "MimamoriNoticeOverdue";
pub const ABSENT: &str = "MimamoriNotifierAbsent";

/// The overdue alert's annotations, for `service` (a label template in the
/// rule, the service's name in its test).
fn overdue_annotations(cfg: &Config, service: &str) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert(
        "summary".to_string(),
        "障害発生から45分、お客様へのお知らせが届いていません / No notice delivered 45 minutes into an incident"
            .to_string(),
    );
    a.insert(
        "description".to_string(),
        format!(
            "{service}: 発生中の障害について、45分経ってもお客様へのお知らせ（メール・Webhook）が1件も届いていません。1時間以内のお知らせ（SLO §4）まで残り15分です。状況ページの掲載を確認し、送信の状態（mimamori_notices_pending / mimamori_notices_failed_total）を調べ、必要なら手動でお知らせしてください。\n\
             {service}: an ongoing incident has had no notice delivered to the customers (e-mail or webhook) for 45 minutes; the 1-hour promise (SLO §4) breaks in 15. Check the status page, the outbox (mimamori_notices_pending, mimamori_notices_failed_total), and tell the customers by hand if needed."
        ),
    );
    let rb = runbook(cfg, service, "notice");
    if !rb.is_empty() {
        a.insert("runbook_url".to_string(), rb);
    }
    let dash = service_dashboard(cfg, service);
    if !dash.starts_with('/') {
        a.insert("dashboard".to_string(), dash);
    }
    a
}

fn absent_annotations(cfg: &Config) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert(
        "summary".to_string(),
        "お知らせの送信状況が見えません / The customer notifier is not scraped".to_string(),
    );
    a.insert(
        "description".to_string(),
        format!(
            "{DELIVERED} がありません：mimamori status（notify:）が動いていないか、Prometheus が取得できていません。障害時に1時間以内のお知らせが送られず、{OVERDUE} も鳴りません。\n\
             {DELIVERED} is absent: mimamori status (with notify:) is down or not scraped. Notices would not be sent in an incident, and {OVERDUE} cannot fire."
        ),
    );
    let rb = runbook(cfg, "notifier", "notice");
    if !rb.is_empty() {
        a.insert("runbook_url".to_string(), rb);
    }
    a
}

fn labels(severity: &str) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("severity".to_string(), severity.to_string());
    l.insert("slo".to_string(), "notice".to_string());
    l
}

/// The rules, in order.
fn rules(cfg: &Config) -> Vec<Rule> {
    vec![
        Rule {
            alert: Some(OVERDUE.into()),
            // Replicas export the same figure: one alert per service.
            expr: format!("max by (service) ({UNNOTIFIED}) >= {OVERDUE_SECONDS}"),
            labels: labels("page"),
            annotations: overdue_annotations(cfg, "{{ $labels.service }}"),
            ..Rule::default()
        },
        Rule {
            alert: Some(ABSENT.into()),
            expr: format!("absent({DELIVERED})"),
            for_: Some(ABSENT_FOR.into()),
            labels: labels("ticket"),
            annotations: absent_annotations(cfg),
            ..Rule::default()
        },
    ]
}

/// `rules/mimamori-notices.yml`, or nothing without `notify:`.
pub fn rule_file(cfg: &Config) -> Option<RuleFile> {
    cfg.notify.as_ref()?;
    Some(RuleFile {
        groups: vec![Group {
            name: "mimamori-notices".into(),
            interval: "1m".into(),
            rules: rules(cfg),
        }],
    })
}

/// Scenarios, one sample a minute: an incident nobody is told of (quiet at
/// 44 min, paging at 45); the same on two replicas (one alert); a notice
/// delivered at 30 min (never pages); another service's incident (its own
/// alert, not this one's); the notifier gone (ticket after 10 min).
pub fn tests(cfg: &Config) -> anyhow::Result<Option<String>> {
    if cfg.notify.is_none() {
        return Ok(None);
    }
    let services: Vec<&str> = cfg.services.iter().map(|s| s.name.as_str()).collect();
    let a = services.first().copied().unwrap_or("svc");
    let series = |service: &str, instance: &str, values: &str| {
        Series {
        series: format!(
            "{UNNOTIFIED}{{service=\"{service}\", instance=\"{instance}\", job=\"mimamori-status\"}}"
        ),
        values: values.into(),
    }
    };
    let delivered = || Series {
        series: format!(
            "{DELIVERED}{{channel=\"email\", instance=\"status-a\", job=\"mimamori-status\"}}"
        ),
        values: "0x90".into(),
    };
    let page = |at: &str, service: &str| AlertTest {
        eval_time: at.into(),
        alertname: OVERDUE.into(),
        exp_alerts: vec![ExpAlert {
            exp_labels: {
                let mut l = labels("page");
                l.insert("service".into(), service.into());
                l
            },
            exp_annotations: overdue_annotations(cfg, service),
        }],
    };
    let quiet = |at: &str, name: &str| AlertTest {
        eval_time: at.into(),
        alertname: name.into(),
        exp_alerts: vec![],
    };
    // Seconds since the incident's start, sampled each minute from 0.
    let untold = "0+60x90";
    let mut groups = vec![
        TestGroup {
            name: format!("{a}: an incident nobody is told of pages at 45 minutes"),
            interval: "1m".into(),
            input_series: vec![series(a, "status-a", untold), delivered()],
            alert_rule_test: vec![
                quiet("44m", OVERDUE),
                page("45m", a),
                page("60m", a),
                quiet("60m", ABSENT),
            ],
            promql_expr_test: vec![],
        },
        TestGroup {
            name: format!("{a}: two replicas, one alert"),
            interval: "1m".into(),
            input_series: vec![
                series(a, "status-a", untold),
                series(a, "status-b", untold),
                delivered(),
            ],
            alert_rule_test: vec![page("46m", a)],
            promql_expr_test: vec![],
        },
        TestGroup {
            name: format!("{a}: told at 30 minutes, never pages"),
            interval: "1m".into(),
            input_series: vec![series(a, "status-a", "0+60x30 0x60"), delivered()],
            alert_rule_test: vec![quiet("45m", OVERDUE), quiet("80m", OVERDUE)],
            promql_expr_test: vec![],
        },
        TestGroup {
            name: "the notifier is not scraped: a ticket after 10 minutes".into(),
            interval: "1m".into(),
            input_series: vec![series(a, "status-a", "0x90")],
            alert_rule_test: vec![
                quiet("9m", ABSENT),
                AlertTest {
                    eval_time: "11m".into(),
                    alertname: ABSENT.into(),
                    exp_alerts: vec![ExpAlert {
                        exp_labels: labels("ticket"),
                        exp_annotations: absent_annotations(cfg),
                    }],
                },
            ],
            promql_expr_test: vec![],
        },
    ];
    if let Some(b) = services.get(1).copied() {
        groups.push(TestGroup {
            name: format!("{b} failing untold while {a} is fine: only {b} pages"),
            interval: "1m".into(),
            input_series: vec![
                series(a, "status-a", "0x90"),
                series(b, "status-a", untold),
                delivered(),
            ],
            alert_rule_test: vec![page("50m", b)],
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

/// The notice alerts in words, for `mimamori explain` and `rules/README.md`;
/// empty without `notify:`.
pub fn explain(cfg: &Config) -> String {
    if cfg.notify.is_none() {
        return String::new();
    }
    format!(
        "## Notices (seed §4: a failure told to the customers within 1 hour)\n\n\
         `{RULE_FILE}`, from `mimamori status`'s notifier (`notify:`):\n\n\
         | alert | severity | fires when |\n|---|---|---|\n\
         | {OVERDUE} | page | an ongoing incident has had no notice delivered on any channel {} min after its start (`{UNNOTIFIED}` ≥ {OVERDUE_SECONDS}), {} min before the promise breaks |\n\
         | {ABSENT} | ticket | no notifier is scraped (`{DELIVERED}` absent) for {ABSENT_FOR}: nothing would be sent, and {OVERDUE} could not fire |\n",
        OVERDUE_SECONDS / 60,
        (PROMISE_SECONDS - OVERDUE_SECONDS) / 60,
    )
}
