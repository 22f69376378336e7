//! Prometheus recording and alerting rules that encode each service's objectives.
//!
//! Recording-rule names are a contract with the dashboards (see `rules/README.md`).
//! Every expression is parse-checked with `promql-parser` before it is written.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::config::Config;
use crate::promql::{self, dashboard, decimal, metric, record as rec, Selector};
use crate::slo::plan::{self, BurnAlert, ServicePlan, Severity, Slo, Window};

/// Placeholder for the alert's value in annotations; tests substitute the expected number.
pub const VALUE: &str = "{{ $value | printf \"%.1f\" }}";
/// Placeholder for the alert's `location` label in annotations.
pub const LOCATION: &str = "{{ $labels.location }}";
/// Placeholder for the alert's `instance` label in annotations.
pub const INSTANCE: &str = "{{ $labels.instance }}";
/// Placeholder for the alert's `transaction` label in annotations.
pub const TRANSACTION: &str = "{{ $labels.transaction }}";

/// A Prometheus rule file.
#[derive(Debug, Clone, Serialize)]
pub struct RuleFile {
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: String,
    pub interval: String,
    pub rules: Vec<Rule>,
}

/// One recording or alerting rule.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn record(name: impl Into<String>, expr: impl Into<String>) -> Rule {
    Rule {
        record: Some(name.into()),
        expr: expr.into(),
        ..Rule::default()
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl RuleFile {
    /// Every rule, in order.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.groups.iter().flat_map(|g| g.rules.iter())
    }

    /// Parse-checks every expression; the error names the rule.
    pub fn check(&self) -> anyhow::Result<()> {
        for r in self.rules() {
            let name = r.record.as_deref().or(r.alert.as_deref()).unwrap_or("?");
            if let Err(e) = promql_parser::parser::parse(&r.expr) {
                bail!(
                    "generated expression of {name} does not parse: {e}\n{}",
                    r.expr
                );
            }
            if let Some(m) = exponent().find(&r.expr) {
                bail!(
                    "generated expression of {name} writes a number with an exponent ({}); write exact decimals",
                    m.as_str().trim()
                );
            }
        }
        Ok(())
    }

    pub fn to_yaml(&self) -> anyhow::Result<String> {
        serde_yaml::to_string(self).context("serialising rules")
    }
}

/// A number written with an exponent (`9.999e-05`), outside names and strings.
fn exponent() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r#"(^|[^A-Za-z0-9_:."-])[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+"#)
            .expect("valid regex")
    })
}

/// Japanese reading of a window for annotations.
pub fn window_ja(w: Window) -> String {
    let n = w.name;
    let (num, unit) = n.split_at(n.len() - 1);
    let unit = match unit {
        "m" => "分",
        "h" => "時間",
        "d" => "日",
        _ => unit,
    };
    format!("{num}{unit}")
}

/// "7.2 h" / "5 d": how long a budget lasts at `burn`.
pub fn lasts(burn: f64) -> (String, String) {
    let hours = 720.0 / burn;
    if hours >= 48.0 {
        let d = decimal((hours / 24.0 * 100.0).round() / 100.0);
        (format!("{d} 日"), format!("{d} days"))
    } else {
        let h = decimal((hours * 100.0).round() / 100.0);
        (format!("{h} 時間"), format!("{h} hours"))
    }
}

/// Divisor turning a burn rate over `w` into the percentage of a 30-day budget it spent.
pub fn share_divisor(w: Window) -> f64 {
    plan::W30D.seconds as f64 / w.seconds as f64 / 100.0
}

/// Template for the percentage of the 30-day budget spent in `w` at the alert's
/// burn rate (`$value`): templates cannot divide, so PromQL does it.
pub fn share_template(w: Window) -> String {
    format!(
        "{{{{ printf \"%f / {}\" $value | query | first | value | printf \"%.1f\" }}}}",
        decimal(share_divisor(w))
    )
}

/// Substitutes `{service}` and `{slo}` in the configured runbook address.
pub fn runbook(cfg: &Config, service: &str, slo: &str) -> String {
    cfg.alerting
        .runbook_url
        .replace("{service}", service)
        .replace("{slo}", slo)
}

pub fn service_dashboard(cfg: &Config, service: &str) -> String {
    format!(
        "{}/d/{}?var-service={service}",
        cfg.alerting.grafana_url.trim_end_matches('/'),
        dashboard::SERVICE
    )
}

pub fn probers_dashboard(cfg: &Config) -> String {
    format!(
        "{}/d/{}",
        cfg.alerting.grafana_url.trim_end_matches('/'),
        dashboard::PROBERS
    )
}

fn annotations(
    summary: String,
    description: String,
    runbook_url: String,
    dashboard: String,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("summary".into(), summary);
    a.insert("description".into(), description);
    if !runbook_url.is_empty() {
        a.insert("runbook_url".into(), runbook_url);
    }
    if !dashboard.starts_with('/') {
        a.insert("dashboard".into(), dashboard);
    }
    a
}

/// The transactions of the service at the alert's location whose latest run
/// failed its first attempt and passed on retry, as a line for the ticket
/// (nothing when none did). The objective counts the first attempt; the
/// retry only says the failure may be intermittent.
pub fn passed_on_retry_note(service: &str) -> String {
    // `%s` is filled with the alert's location by the template's printf.
    let at = |m: &str| Selector::service(service).eq("location", "%s").of(m);
    format!(
        "{{{{ with printf `count by (transaction) ({} == 1 and on (instance, transaction, ip) {} == 0)` $labels.location $labels.location | query }}}}\n再試行では成功 / passed on retry: {{{{ range $i, $s := . }}}}{{{{ if $i }}}}, {{{{ end }}}}{{{{ $s.Labels.transaction }}}}{{{{ end }}}}{{{{ end }}}}",
        at(metric::PROBE_FINAL_SUCCESS),
        at(metric::PROBE_SUCCESS)
    )
}

/// Selector of one service.
fn sel(p: &ServicePlan) -> Selector {
    Selector::service(&p.service)
}

/// Failure seconds in `w`: one sample of `mimamori:slo_availability_errors` per evaluation.
fn failure_seconds(p: &ServicePlan, w: Window) -> Rule {
    record(
        rec::failure_seconds(w.name),
        format!(
            "sum_over_time({}[{}]) * {}",
            sel(p).of(rec::AVAILABILITY_ERRORS),
            w.name,
            plan::EVAL_SECONDS
        ),
    )
}

fn availability_ratio(p: &ServicePlan, w: Window) -> Rule {
    let s = sel(p);
    record(
        rec::error_ratio(Slo::Availability.label(), w.name),
        format!(
            "sum_over_time({}[{w}])\n/\nclamp_min(sum_over_time({}[{w}]), 1)",
            s.of(rec::AVAILABILITY_ERRORS),
            s.of(rec::SERVICE_OPERATING),
            w = w.name
        ),
    )
}

fn latency_ratio(p: &ServicePlan, w: Window) -> Rule {
    let promql::LatencyCounts { total, good } =
        promql::latency_counts(&sel(p), p.latency_threshold_seconds, "rate", w.name);
    record(
        rec::error_ratio(Slo::Latency.label(), w.name),
        format!("(\n  {total}\n  -\n  {good}\n)\n/\n{total}"),
    )
}

fn burn_rate(p: &ServicePlan, slo: Slo, w: Window) -> Rule {
    let mut r = record(
        rec::burn_rate(w.name),
        format!(
            "{} / {}",
            sel(p).of(&rec::error_ratio(slo.label(), w.name)),
            decimal(p.budget(slo))
        ),
    );
    r.labels = labels(&[("slo", slo.label())]);
    r
}

fn window_rules(p: &ServicePlan, w: Window, out: &mut Vec<Rule>) {
    out.push(failure_seconds(p, w));
    out.push(availability_ratio(p, w));
    out.push(latency_ratio(p, w));
    out.push(burn_rate(p, Slo::Availability, w));
    out.push(burn_rate(p, Slo::Latency, w));
}

/// The burn-rate alert's expression. Availability burns against wall-clock
/// windows (failure seconds ÷ window ÷ budget), so a window that is mostly
/// maintenance, or a Prometheus that just started, cannot inflate one failed
/// probe into a page; latency uses the recorded burn rates.
pub fn burn_expr(p: &ServicePlan, a: &BurnAlert) -> String {
    let s = sel(p);
    let burn = decimal(a.burn);
    match a.slo {
        Slo::Availability => {
            let side = |w: Window| {
                format!(
                    "{} / {} >= {burn}",
                    s.of(&rec::failure_seconds(w.name)),
                    decimal(w.seconds as f64 * p.availability_budget)
                )
            };
            format!("{}\nand on (service)\n{}", side(a.long), side(a.short))
        }
        // Operations answered during maintenance would linger in the windows:
        // fire only when the whole short window was operating time.
        Slo::Latency => {
            let latency = s.clone().eq("slo", Slo::Latency.label());
            format!(
                "{} >= {burn}\nand on (service, slo)\n{} >= {burn}\nand on (service)\nmin_over_time({}[{short}]) == 1",
                latency.of(&rec::burn_rate(a.long.name)),
                latency.of(&rec::burn_rate(a.short.name)),
                s.of(rec::SERVICE_OPERATING),
                short = a.short.name,
            )
        }
    }
}

pub fn burn_alert(cfg: &Config, p: &ServicePlan, a: &BurnAlert) -> Rule {
    let burn = decimal(a.burn);
    let share = decimal((a.budget_share() * 1000.0).round() / 10.0);
    let (lasts_ja, lasts_en) = lasts(a.burn);
    let (long_ja, short_ja) = (window_ja(a.long), window_ja(a.short));
    let (slo_ja, budget_ja, budget_en, extra_ja, extra_en) = match a.slo {
        Slo::Availability => {
            let secs = decimal(p.failure_seconds_at(a.burn, a.long));
            let budget = decimal(p.budget_seconds(30) / 60.0);
            (
                "可用性",
                format!("{budget} 分"),
                format!("{budget} min of failure"),
                format!("＝{long_ja}に {secs} 秒以上の障害"),
                format!(" = at least {secs} s of failure in {}", a.long.name),
            )
        }
        Slo::Latency => {
            let th = decimal(p.latency_threshold_seconds);
            let pct = decimal(p.latency_budget * 100.0);
            (
                "応答時間",
                format!("{th} 秒を超える操作 {pct} %"),
                format!("{pct} % of operations slower than {th} s"),
                String::new(),
                String::new(),
            )
        }
    };
    let what_ja = match a.severity {
        Severity::Page => "予算を急速に消費しています",
        Severity::Ticket => "予算を想定より速く消費しています",
    };
    let what_en = match a.severity {
        Severity::Page => "error budget burning fast",
        Severity::Ticket => "error budget burning faster than planned",
    };
    let summary = format!(
        "{ja} {slo_ja}SLO: {what_ja} / {en} {slo}: {what_en}",
        ja = p.ja,
        en = p.en,
        slo = a.slo.label()
    );
    let spent = share_template(a.long);
    let description = format!(
        "{ja} の{slo_ja}: 直近{long_ja}の燃焼率は {VALUE} 倍で、30日の予算（{budget_ja}）の {spent} % をこの{long_ja}で消費しました。しきい値は {burn} 倍{extra_ja}（{long_ja}で予算の {share} %、この速さでは予算全体が {lasts_ja}で尽きる）で、直近{short_ja}にも同じしきい値を求めます。\n\
         {en} {slo}: burn rate over the last {long} is {VALUE}x: {spent} % of the 30-day budget ({budget_en}) spent in that {long}. Threshold {burn}x{extra_en} ({share} % of the budget per {long}; at that rate the whole budget lasts {lasts_en}), also required over the last {short}.",
        ja = p.ja,
        en = p.en,
        slo = a.slo.label(),
        long = a.long.name,
        short = a.short.name,
    );
    let mut annotations = annotations(
        summary,
        description,
        runbook(cfg, &p.service, a.slo.label()),
        service_dashboard(cfg, &p.service),
    );
    add_screenshots(cfg, &p.service, &mut annotations);
    Rule {
        alert: Some(a.name.clone()),
        expr: burn_expr(p, a),
        labels: labels(&[("slo", a.slo.label()), ("severity", a.severity.label())]),
        annotations,
        ..Rule::default()
    }
}

/// For a service with browser transactions: the `screenshots` annotation,
/// where on the probers the screenshots and logs of their last failed runs
/// are (docs/browser.md). Services without any keep their annotations as
/// they were.
pub fn add_screenshots(cfg: &Config, service: &str, a: &mut BTreeMap<String, String>) {
    let Some(svc) = cfg.service(service) else {
        return;
    };
    let txs = svc.browser_transactions();
    if txs.is_empty() {
        return;
    }
    let base = cfg
        .global
        .browser
        .artifacts_dir
        .clone()
        .unwrap_or_else(|| "/tmp/mimamori-browser".into());
    let dirs: Vec<String> = txs
        .iter()
        .map(|t| format!("{}/{service}/{t}/", base.display()))
        .collect();
    a.insert(
        "screenshots".into(),
        format!(
            "失敗した画面操作の画面と記録（各プローバー上）/ screenshots and logs of failed browser runs, on each prober: {}",
            dirs.join(", ")
        ),
    );
}

/// For a service with browser transactions: a ticket when a prober's
/// Chromium cannot run one of them (crashed, unstartable, not answering):
/// that transaction is blind at the location — unknown, never failure time.
fn browser_unavailable(cfg: &Config, p: &ServicePlan) -> Option<Rule> {
    let svc = cfg.service(&p.service)?;
    if svc.browser_transactions().is_empty() {
        return None;
    }
    let (ja, en) = (&p.ja, &p.en);
    let s = sel(p);
    let mut annotations = annotations(
        format!("{ja}: 拠点 {LOCATION} のブラウザが取引 {TRANSACTION} を実行できません / {en}: the browser at {LOCATION} cannot run transaction {TRANSACTION}"),
        format!(
            "プローバー {INSTANCE} の Chromium が直近10分に取引 {TRANSACTION} の実行に失敗し（クラッシュ・起動不可・応答なし）、その結果は現在ありません。この取引は拠点 {LOCATION} から監視できていません（障害時間には数えません）。プローバーのログと Chromium を確認してください。\n\
             The Chromium of prober {INSTANCE} failed to carry out runs of transaction {TRANSACTION} of {en} in the last 10 minutes (crashed, could not start or stopped answering) and there is no result now: that transaction is blind at {LOCATION} (not failure time). Check the prober's log and its Chromium."
        ),
        runbook(cfg, &p.service, "probers"),
        probers_dashboard(cfg),
    );
    add_screenshots(cfg, &p.service, &mut annotations);
    Some(Rule {
        alert: Some("MimamoriBrowserUnavailable".into()),
        expr: promql::browser_unavailable(&s),
        for_: Some("5m".into()),
        labels: labels(&[("severity", "ticket")]),
        annotations,
        ..Rule::default()
    })
}

/// In `MimamoriProberBlind`'s text: for how long the prober has been blind
/// (its `$value` is since when), as of the alert's evaluation.
pub const BLIND_FOR: &str =
    "{{ with printf \"time() - %f\" $value | query }}{{ . | first | value | humanizeDuration }}{{ end }}";

/// Rules for one service: `rules/<service>.yml`.
pub fn service_rules(cfg: &Config, p: &ServicePlan) -> RuleFile {
    let s = sel(p);
    let mut fast = Vec::new();
    // A blind prober's results are unknown (mimamori_prober_healthy == 0).
    fast.push(record(
        rec::LOCATION_FAILING,
        promql::location_failing_of(
            &promql::probe_success_seen(&s.of(metric::PROBE_SUCCESS), &cfg.alerting.job),
            &p.all_addresses,
        ),
    ));
    fast.push(record(
        rec::TRANSACTION_PROBER,
        promql::transaction_prober(&s, &cfg.alerting.job),
    ));
    fast.push(record(
        rec::SERVICE_FAILING,
        promql::service_failing(&s.of(rec::LOCATION_FAILING), cfg.alerting.quorum),
    ));
    let zero = format!("0 * {}", s.of(rec::SERVICE_FAILING));
    fast.push(record(
        rec::MAINTENANCE_ACTIVE,
        format!(
            "{}\nor on (service)\n{zero}",
            promql::maintenance_active(&s)
        ),
    ));
    fast.push(record(
        rec::SERVICE_OPERATING,
        format!(
            "1 - (\n  max by (service) (max_over_time({}[{}m]))\n  or on (service)\n  {zero}\n)",
            s.of(metric::MAINTENANCE_ACTIVE),
            p.grace_seconds / 60
        ),
    ));
    fast.push(record(
        rec::AVAILABILITY_ERRORS,
        format!(
            "{}\n* on (service)\n{}",
            s.of(rec::SERVICE_FAILING),
            s.of(rec::SERVICE_OPERATING)
        ),
    ));
    for slo in [Slo::Availability, Slo::Latency] {
        let mut r = record(
            rec::OBJECTIVE,
            format!("vector({})", decimal(p.objective(slo))),
        );
        r.labels = labels(&[("service", &p.service), ("slo", slo.label())]);
        fast.push(r);
        let mut r = record(
            rec::ERROR_BUDGET,
            format!("vector({})", decimal(p.budget(slo))),
        );
        r.labels = labels(&[("service", &p.service), ("slo", slo.label())]);
        fast.push(r);
    }
    let mut long = Vec::new();
    for w in plan::WINDOWS {
        window_rules(p, w, if w.is_long() { &mut long } else { &mut fast });
    }
    for slo in [Slo::Availability, Slo::Latency] {
        let mut r = record(
            rec::BUDGET_REMAINING_30D,
            format!(
                "1 - {} / {}",
                s.of(&rec::error_ratio(slo.label(), plan::W30D.name)),
                decimal(p.budget(slo))
            ),
        );
        r.labels = labels(&[("slo", slo.label())]);
        long.push(r);
    }
    for a in &p.alerts {
        let rule = burn_alert(cfg, p, a);
        if a.long.is_long() {
            long.push(rule);
        } else {
            fast.push(rule);
        }
    }
    fast.extend(prober_rules_for_service(cfg, p));
    fast.extend(browser_unavailable(cfg, p));
    RuleFile {
        groups: vec![
            Group {
                name: format!("mimamori-{}", p.service),
                interval: format!("{}s", plan::EVAL_SECONDS),
                rules: fast,
            },
            Group {
                name: format!("mimamori-{}-long", p.service),
                interval: plan::LONG_EVAL.into(),
                rules: long,
            },
        ],
    }
}

/// Alerts about seeing the service at all: blind service, silent or failing locations.
fn prober_rules_for_service(cfg: &Config, p: &ServicePlan) -> Vec<Rule> {
    let s = sel(p);
    let (ja, en) = (&p.ja, &p.en);
    let dash = service_dashboard(cfg, &p.service);
    let mut out = vec![Rule {
        alert: Some("MimamoriServiceBlind".into()),
        expr: format!(
            "absent({})",
            promql::probe_success_seen(&s.of(metric::PROBE_SUCCESS), &cfg.alerting.job)
        ),
        for_: Some("5m".into()),
        labels: labels(&[("service", &p.service), ("severity", "page")]),
        annotations: annotations(
            format!("{ja}: どの拠点からも監視できていません / {en}: no location is probing the service"),
            format!(
                "{ja} の監視結果が5分間どの拠点からも届いていないか、届いている拠点のプローバーがすべて自己診断に失敗しています（MimamoriProberBlind）。SLO は計測できず、障害があっても通知されません。\n\
                 No usable probe results for {en} from any location for 5 minutes (none arrive, or every reporting prober fails its self-checks, see MimamoriProberBlind): the SLO is blind and an outage would go unnoticed."
            ),
            runbook(cfg, &p.service, "probers"),
            dash.clone(),
        ),
        ..Rule::default()
    }];
    out.push(Rule {
        alert: Some("MimamoriLocationFailing".into()),
        expr: format!(
            "{} == 1\nunless on (service)\n{} == 1\nunless on (service)\n{} == 0",
            s.of(rec::LOCATION_FAILING),
            s.of(rec::SERVICE_FAILING),
            s.of(rec::SERVICE_OPERATING)
        ),
        for_: Some("10m".into()),
        labels: labels(&[("severity", "ticket")]),
        annotations: annotations(
            format!("{ja}: 拠点 {LOCATION} だけが失敗を観測 / {en}: only location {LOCATION} sees failures"),
            format!(
                "拠点 {LOCATION} からの {ja} の監視が10分間失敗していますが、他の拠点では正常です。サービス障害ではなく、監視拠点側（ネットワーク等）の問題の可能性が高く、SLO には数えていません。\n\
                 Probes of {en} from {LOCATION} have failed for 10 minutes while the other locations succeed: most likely the prober's own network, not the service; it is not counted against the SLO.{}",
                passed_on_retry_note(&p.service)
            ),
            runbook(cfg, &p.service, "probers"),
            probers_dashboard(cfg),
        ),
        ..Rule::default()
    });
    if let Some(r) = out.last_mut() {
        add_screenshots(cfg, &p.service, &mut r.annotations);
    }
    for loc in &cfg.alerting.locations {
        out.push(Rule {
            alert: Some("MimamoriLocationNotReporting".into()),
            expr: format!(
                "absent({})",
                s.clone().eq("location", loc).of(metric::PROBE_SUCCESS)
            ),
            for_: Some("10m".into()),
            labels: labels(&[("location", loc), ("severity", "ticket")]),
            annotations: annotations(
                format!("{ja}: 拠点 {loc} から監視結果が届きません / {en}: location {loc} is not reporting"),
                format!(
                    "拠点 {loc} から {ja} の監視結果が10分間届いていません。残りの拠点で判定を続けていますが、冗長性が失われています。\n\
                     Location {loc} has sent no results for {en} for 10 minutes. The remaining locations still judge the SLO, but without redundancy."
                ),
                runbook(cfg, &p.service, "probers"),
                probers_dashboard(cfg),
            ),
            ..Rule::default()
        });
    }
    out.push(Rule {
        alert: Some("MimamoriTransactionsBlind".into()),
        expr: promql::transactions_blind(&s, &cfg.alerting.job),
        for_: Some("5m".into()),
        labels: labels(&[("severity", "ticket")]),
        annotations: annotations(
            format!("{ja}: 拠点 {LOCATION} で取引 {TRANSACTION} を監視できていません（プローバー {INSTANCE} 停止） / {en}: transaction {TRANSACTION} is not probed at location {LOCATION} (prober {INSTANCE} down)"),
            format!(
                "プローバー {INSTANCE} に5分間接続できず、それだけが担当していた {ja} の取引 {TRANSACTION} は拠点 {LOCATION} から監視されていません（同じ拠点の他のプローバーは稼働中）。監視の死角であり障害時間には数えませんが、この取引の障害はこの拠点からは検知されません。プローバー（シャード）を復旧してください。\n\
                 Prober {INSTANCE} has not been scraped for 5 minutes and was the only one at {LOCATION} running transaction {TRANSACTION} of {en} (the location's other probers still report): that transaction is blind there. This is not failure time, but a failure of it would go unnoticed from this location; bring the prober (shard) back."
            ),
            runbook(cfg, &p.service, "probers"),
            probers_dashboard(cfg),
        ),
        ..Rule::default()
    });
    out
}

/// Alerts about the probers themselves and the certificates they see: `rules/mimamori-probers.yml`.
pub fn prober_rules(cfg: &Config) -> RuleFile {
    let job = &cfg.alerting.job;
    let dash = probers_dashboard(cfg);
    let rb = |topic: &str| runbook(cfg, "mimamori", topic);
    let probers = vec![
        Rule {
            alert: Some("MimamoriProbersAbsent".into()),
            expr: format!("absent({} == 1)", Selector::new().eq("job", job).of(metric::UP)),
            for_: Some("5m".into()),
            labels: labels(&[("severity", "page")]),
            annotations: annotations(
                "稼働中の監視プローバーがありません / No mimamori prober is up".into(),
                format!(
                    "job=\"{job}\" のプローバーが5分間1台も稼働していません。すべての SLO が計測不能で、障害があっても通知されません。\n\
                     No target of job \"{job}\" has been up for 5 minutes: every SLO is blind and an outage would go unnoticed."
                ),
                rb("probers"),
                dash.clone(),
            ),
            ..Rule::default()
        },
        Rule {
            alert: Some("MimamoriProberDown".into()),
            expr: format!("{} == 0", Selector::new().eq("job", job).of(metric::UP)),
            for_: Some("5m".into()),
            labels: labels(&[("severity", "ticket")]),
            annotations: annotations(
                format!("プローバー {INSTANCE} に接続できません / Prober {INSTANCE} is down"),
                format!(
                    "Prometheus が5分間 {INSTANCE} をスクレイプできていません。そのプローバーの監視結果は SLO の判定に使われていません。同じ拠点で他のシャードや冗長ペアが動いていればその拠点は判定を続け、このプローバーだけが担当していた取引は MimamoriTransactionsBlind が挙げます。\n\
                     Prometheus has failed to scrape {INSTANCE} for 5 minutes; its results no longer count towards the SLO. Its location still counts while other shards or an HA twin there report; transactions only it ran are named by MimamoriTransactionsBlind."
                ),
                rb("probers"),
                dash.clone(),
            ),
            ..Rule::default()
        },
        Rule {
            alert: Some("MimamoriProberBlind".into()),
            expr: format!(
                "{} > 0\nand on (job, instance, location)\n{} == 0",
                Selector::new().eq("job", job).of(metric::PROBER_UNHEALTHY_SINCE),
                Selector::new().eq("job", job).of(metric::PROBER_HEALTHY)
            ),
            for_: Some("2m".into()),
            labels: labels(&[("severity", "ticket")]),
            annotations: annotations(
                format!("拠点 {LOCATION} のプローバー {INSTANCE} が外部に到達できません / Prober {INSTANCE} at location {LOCATION} is blind"),
                format!(
                    "拠点 {LOCATION} のプローバー {INSTANCE} は {{{{ $value | humanizeTimestamp }}}} から{BLIND_FOR}間、自己診断先（self_check）のすべてに失敗しています（回線断の可能性）。その間この拠点の監視結果は不明として扱い、障害にも正常にも数えていません。他の拠点で判定を続けています。\n\
                     Prober {INSTANCE} at {LOCATION} has failed every self-check target since {{{{ $value | humanizeTimestamp }}}}, for {BLIND_FOR} (its uplink is probably down). Its results count as unknown, neither failure nor success, while this lasts; the other locations still judge the SLO."
                ),
                rb("probers"),
                dash.clone(),
            ),
            ..Rule::default()
        },
        Rule {
            alert: Some("MimamoriConfigReloadFailed".into()),
            expr: format!("{} == 0", metric::CONFIG_RELOAD_SUCCESSFUL),
            for_: Some("10m".into()),
            labels: labels(&[("severity", "ticket")]),
            annotations: annotations(
                format!("プローバー {INSTANCE} の設定再読み込みに失敗 / Prober {INSTANCE} failed to reload its configuration"),
                format!(
                    "{INSTANCE} は古い設定のまま監視を続けています。`mimamori check` で設定を確認してください。\n\
                     {INSTANCE} keeps probing with its previous configuration; check the new one with `mimamori check`."
                ),
                rb("probers"),
                dash.clone(),
            ),
            ..Rule::default()
        },
        Rule {
            alert: Some("MimamoriRunsSkipped".into()),
            expr: format!(
                "sum by (instance, location) (increase({}[15m])) > 0",
                metric::RUNS_SKIPPED
            ),
            for_: Some("15m".into()),
            labels: labels(&[("severity", "ticket")]),
            annotations: annotations(
                format!("拠点 {LOCATION} で監視の実行が間に合っていません / Location {LOCATION} is skipping probe runs"),
                format!(
                    "{INSTANCE} は予定どおりに監視を開始できず、実行をスキップしています（過負荷の可能性）。\n\
                     {INSTANCE} cannot start runs on time and skips them (probably overloaded)."
                ),
                rb("probers"),
                dash.clone(),
            ),
            ..Rule::default()
        },
    ];
    let expiry = format!(
        "min by (service) ({}) - time()",
        metric::TLS_CERTIFICATE_EXPIRY
    );
    let cert = |name: &str, days: u64, severity: &str| {
        Rule {
        alert: Some(name.into()),
        expr: format!("{expiry} < {}", days * 86400),
        labels: labels(&[("severity", severity)]),
        annotations: annotations(
            format!("サーバー証明書の期限まで {days} 日未満 / TLS certificate expires within {days} days"),
            "サービス {{ $labels.service }} の証明書は残り {{ $value | humanizeDuration }} で期限切れになります。期限切れはすべての利用者にとって障害です。\n\
                 The certificate of service {{ $labels.service }} expires in {{ $value | humanizeDuration }}; an expired certificate is an outage for every customer."
            .into(),
            rb("certificate"),
            dash.clone(),
        ),
        ..Rule::default()
    }
    };
    RuleFile {
        groups: vec![
            Group {
                name: "mimamori-probers".into(),
                interval: format!("{}s", plan::EVAL_SECONDS),
                rules: probers,
            },
            Group {
                name: "mimamori-certificates".into(),
                interval: "5m".into(),
                rules: vec![
                    cert("MimamoriCertificateExpiresSoon", 21, "ticket"),
                    cert("MimamoriCertificateExpiresVerySoon", 3, "page"),
                ],
            },
            Group {
                name: "mimamori-tls-policy".into(),
                interval: "5m".into(),
                rules: tls_policy_rules(&rb, &dash),
            },
        ],
    }
}

/// The seed's security policy (§7, exclusions): TLS below 1.2 disabled, no
/// unencrypted HTTP. Violations are tickets: nothing is down, but the promise
/// to customers is broken.
fn tls_policy_rules(rb: &dyn Fn(&str) -> String, dash: &str) -> Vec<Rule> {
    vec![
        Rule {
            alert: Some("MimamoriLegacyTlsAccepted".into()),
            expr: format!(
                "max by (service, version) ({}) == 1",
                metric::TLS_LEGACY_ACCEPTED
            ),
            labels: labels(&[("severity", "ticket")]),
            annotations: annotations(
                "TLS 1.2 未満の接続を受け付けています / A server accepts TLS below 1.2".into(),
                "サービス {{ $labels.service }} のサーバーが {{ $labels.version }} のハンドシェイクを受け付けました。SLO では TLS1.2 未満の通信は無効としています。\n\
                 A server of service {{ $labels.service }} completed a {{ $labels.version }} handshake; the SLO says anything below TLS 1.2 is disabled."
                    .into(),
                rb("legacy-tls"),
                dash.to_string(),
            ),
            ..Rule::default()
        },
        Rule {
            alert: Some("MimamoriPlainHttpServed".into()),
            expr: format!(
                "min by (service) ({}) == 0",
                metric::PLAIN_HTTP_REFUSED
            ),
            labels: labels(&[("severity", "ticket")]),
            annotations: annotations(
                "暗号化されていない HTTP で応答しています / The service answers over unencrypted HTTP".into(),
                "サービス {{ $labels.service }} の http:// アドレスが HTTPS へのリダイレクトではなく内容を返しました。通信は SSL/TLS で暗号化する方針です。\n\
                 The http:// address of service {{ $labels.service }} served content instead of refusing or redirecting to HTTPS; traffic must be encrypted."
                    .into(),
                rb("plain-http"),
                dash.to_string(),
            ),
            ..Rule::default()
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slo::plan::plans;
    use std::collections::BTreeSet;

    fn aoulu() -> Config {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/aoulu.yaml");
        crate::config::load(std::path::Path::new(path)).unwrap()
    }

    /// The names and extra labels the dashboards are built on.
    #[test]
    fn recording_rule_contract() {
        let cfg = aoulu();
        let p = &plans(&cfg)[0];
        let file = service_rules(&cfg, p);
        file.check().unwrap();
        let got: BTreeSet<(String, Vec<String>)> = file
            .rules()
            .filter_map(|r| {
                let labels = r.labels.keys().cloned().collect();
                r.record.clone().map(|n| (n, labels))
            })
            .collect();
        let mut want = vec![
            ("mimamori:location_failing".to_string(), vec![]),
            ("mimamori:transaction_prober".into(), vec![]),
            ("mimamori:service_failing".into(), vec![]),
            ("mimamori:maintenance_active".into(), vec![]),
            ("mimamori:service_operating".into(), vec![]),
            ("mimamori:slo_availability_errors".into(), vec![]),
            (
                "mimamori:slo_objective:ratio".into(),
                vec!["service".to_string(), "slo".into()],
            ),
            (
                "mimamori:slo_error_budget:ratio".into(),
                vec!["service".into(), "slo".into()],
            ),
            (
                "mimamori:slo_error_budget_remaining:ratio30d".into(),
                vec!["slo".into()],
            ),
        ];
        for w in ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"] {
            want.push((format!("mimamori:slo_availability_error_ratio:{w}"), vec![]));
            want.push((
                format!("mimamori:slo_availability_failure_seconds:{w}"),
                vec![],
            ));
            want.push((format!("mimamori:slo_latency_error_ratio:{w}"), vec![]));
            want.push((format!("mimamori:slo_burn_rate:{w}"), vec!["slo".into()]));
        }
        let want: BTreeSet<_> = want.into_iter().collect();
        assert_eq!(got, want);
        // Every series is kept per service: each expression selects this service only.
        for r in file.rules().filter(|r| r.record.is_some()) {
            assert!(
                r.expr.contains("service=\"hanbai\"")
                    || r.labels.get("service").is_some_and(|s| s == "hanbai"),
                "{r:?}"
            );
        }
    }

    /// SRE Workbook: at burn 14.4 a 30-day budget lasts 50 h; at 6, 5 days; at 1, the 30 days.
    #[test]
    fn budget_lifetimes() {
        assert_eq!(lasts(14.4).1, "2.08 days");
        assert_eq!(lasts(6.0).1, "5 days");
        assert_eq!(lasts(1.0).1, "30 days");
        assert_eq!(lasts(100.0), ("7.2 時間".into(), "7.2 hours".into()));
    }

    #[test]
    fn exponents_are_refused() {
        let mut f = RuleFile {
            groups: vec![Group {
                name: "g".into(),
                interval: "15s".into(),
                rules: vec![record("x", "up / 9.999e-05")],
            }],
        };
        let e = f.check().unwrap_err().to_string();
        assert!(e.contains("exponent (9.999e-05)"), "{e}");
        f.groups[0].rules = vec![record("x", "up{service=\"prime-01\"} / 0.0001")];
        f.check().unwrap();
        f.groups[0].rules = vec![record("x", "sum(up")];
        assert!(f
            .check()
            .unwrap_err()
            .to_string()
            .contains("does not parse"));
    }

    #[test]
    fn quorum_expressions() {
        let mut cfg = aoulu();
        let p = &plans(&cfg)[0];
        let failing = |cfg: &Config| {
            service_rules(cfg, p)
                .rules()
                .find(|r| r.record.as_deref() == Some("mimamori:service_failing"))
                .unwrap()
                .expr
                .clone()
        };
        assert!(failing(&cfg).contains("* 2\n> bool\ncount by (service)"));
        cfg.alerting.quorum = Some(2);
        assert!(failing(&cfg).ends_with(
            "clamp_max(count by (service) (mimamori:location_failing{service=\"hanbai\"}), 2)"
        ));
    }
}
