//! The verdicts: each check judges the [`Facts`] against the configuration,
//! as a pure function, and words its finding and hint in Japanese and English.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{error_words, Check, Facts, Status};
use crate::config::duration::fmt_prom;
use crate::config::Config;
use crate::generate;
use crate::query::api::RuleGroup;
use crate::query::{Error, Sample};
use crate::slo::plan::ServicePlan;

/// Days of data `report` needs at worst: the previous calendar month, asked
/// for on the last day of a 31-day month after a 31-day month.
pub const REPORT_DAYS: f64 = 62.0;
/// Days the status page needs at worst: 90 days of bars and the figures of
/// this month and the two before (31 + 30 + 31 days).
pub const STATUS_DAYS: f64 = 92.0;
/// A maintenance window that began or ended this recently may not have
/// reached every prober's series yet: either state is accepted.
pub const MAINTENANCE_SLACK_SECONDS: i64 = 120;
/// Marks a prober whose location is not known (in a map keyed by location).
const UNKNOWN_LOCATION: &str = "\u{0}";
/// Listed by name at most; the rest are counted.
const LIST: usize = 5;

/// Every check, in the order printed.
pub fn all(cfg: &Config, plans: &[ServicePlan], facts: &Facts, now: i64) -> Vec<Check> {
    if let Err(e) = &facts.reachable {
        let (ja, en) = match e {
            Error::Unreachable { url, cause } => (
                format!("Prometheus {url} に接続できません: {cause}"),
                format!("cannot reach Prometheus at {url}: {cause}"),
            ),
            other => (
                format!("Prometheus に問い合わせできません: {other}"),
                format!("cannot query Prometheus: {other}"),
            ),
        };
        return vec![Check::new(
            "prometheus",
            Status::Unknown,
            (ja, en),
            (
                "--prometheus.url と認証・CA の指定を確かめてください。ほかの確認は行えません".into(),
                "check --prometheus.url, the credentials and the CA file; nothing else can be checked"
                    .into(),
            ),
        )];
    }
    let mut out = vec![prometheus(facts)];
    out.extend(rules(cfg, plans, facts));
    out.extend(locations(cfg, facts));
    out.extend(scrape(cfg, facts));
    out.push(exported_location(facts));
    out.push(up(cfg, facts, now));
    out.push(versions(facts));
    out.extend(alertmanager(facts));
    out.push(retention(facts));
    out.extend(maintenance(cfg, facts, now));
    out
}

fn unknown(id: &'static str, what: (&str, &str), e: &Error) -> Check {
    let (ja, en) = error_words(e);
    Check::new(
        id,
        Status::Unknown,
        (
            format!("{}を確かめられません: {ja}", what.0),
            format!("cannot check {}: {en}", what.1),
        ),
        (String::new(), String::new()),
    )
}

/// `a, b, c` and `(+N)` beyond [`LIST`].
fn list<S: AsRef<str>>(items: &[S]) -> String {
    let mut s = items
        .iter()
        .take(LIST)
        .map(|i| i.as_ref())
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LIST {
        s.push_str(&format!(" (+{})", items.len() - LIST));
    }
    s
}

/// Seconds as Prometheus writes a duration (`15s`, `1m`, `500ms`).
fn dur(seconds: f64) -> String {
    fmt_prom(Duration::from_secs_f64(seconds.max(0.0)))
}

fn label<'a>(s: &'a Sample, name: &str) -> &'a str {
    s.labels.get(name).map(String::as_str).unwrap_or("")
}

/// `job/instance`.
fn who(labels: &BTreeMap<String, String>) -> String {
    format!(
        "{}/{}",
        labels.get("job").map(String::as_str).unwrap_or("?"),
        labels.get("instance").map(String::as_str).unwrap_or("?")
    )
}

/// A Prometheus duration (`15d`, `100y`, `1w2d`, `90m`) in seconds.
pub fn prom_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "y" => 365.0 * 86400.0,
            "w" => 7.0 * 86400.0,
            "d" => 86400.0,
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        total += n * unit;
        rest = &rest[unit_len..];
    }
    Some(total)
}

fn prometheus(facts: &Facts) -> Check {
    let version = facts
        .build
        .as_ref()
        .ok()
        .map(|b| b.version.clone())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "?".into());
    Check::ok(
        "prometheus",
        format!("Prometheus {version} が応答しています"),
        format!("Prometheus {version} answers"),
    )
}

/// 1. Every group `mimamori generate` writes for this configuration is
///    loaded, once, at its generated interval, and no rule of it fails.
pub fn rules(cfg: &Config, plans: &[ServicePlan], facts: &Facts) -> Vec<Check> {
    const ID: &str = "rules";
    let expected: Vec<(String, f64)> = match generate::rule_files(cfg, plans) {
        Ok(files) => files
            .into_iter()
            .flat_map(|(_, rf)| rf.groups)
            .map(|g| {
                let every = crate::config::duration::parse(&g.interval)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                (g.name, every)
            })
            .collect(),
        Err(e) => {
            return vec![Check::new(
                ID,
                Status::Unknown,
                (
                    format!("規則を生成できません: {e:#}"),
                    format!("cannot generate the rules: {e:#}"),
                ),
                (String::new(), String::new()),
            )]
        }
    };
    let loaded = match &facts.rules {
        Ok(r) => r,
        Err(e) => return vec![unknown(ID, ("規則", "the rules"), e)],
    };
    let RuleFindings {
        missing,
        intervals,
        twice,
        failing,
        not_yet,
    } = RuleFindings::of(&expected, &loaded.groups);
    let n = expected.len();
    let mut out = Vec::new();
    if !missing.is_empty() {
        out.push(Check::new(
            ID,
            Status::Problem,
            (
                format!(
                    "規則グループ {}/{n} を読み込み済み。未読み込み: {}",
                    n - missing.len(),
                    list(&missing)
                ),
                format!(
                    "{} of {n} rule groups loaded; missing: {}",
                    n - missing.len(),
                    list(&missing)
                ),
            ),
            (
                "mimamori generate が書いた rules/*.yml を prometheus.yml の rule_files に加えて再読み込みしてください（読み込むまで警報も記録系列もありません）".into(),
                "add the rules/*.yml that mimamori generate writes to rule_files in prometheus.yml and reload Prometheus (until then there is no alert and no recorded series)".into(),
            ),
        ));
    }
    if !twice.is_empty() {
        out.push(Check::new(
            ID,
            Status::Problem,
            (
                format!(
                    "同じ規則グループが 2 回以上読み込まれています: {}",
                    list(&twice)
                ),
                format!("rule groups loaded more than once: {}", list(&twice)),
            ),
            (
                "古い規則ファイルを rule_files から外してください（同じ系列を二重に記録します）"
                    .into(),
                "remove the older rule file from rule_files (both record the same series)".into(),
            ),
        ));
    }
    if !intervals.is_empty() {
        let ja: Vec<String> = intervals
            .iter()
            .map(|(g, got, want)| format!("{g} は {}（生成時 {}）", dur(*got), dur(*want)))
            .collect();
        let en: Vec<String> = intervals
            .iter()
            .map(|(g, got, want)| format!("{g} every {} (generated {})", dur(*got), dur(*want)))
            .collect();
        out.push(Check::new(
            ID,
            Status::Problem,
            (
                format!("評価間隔が生成時と異なります: {}", list(&ja)),
                format!("evaluation interval differs from the generated one: {}", list(&en)),
            ),
            (
                "障害時間は評価 1 回を生成時の間隔として数え、警報の検知時間もそれを前提にしています。規則ファイルは生成したまま読み込んでください".into(),
                "failure time counts each evaluation as the generated interval, and the alerts' detection times assume it: load the rule files as generated".into(),
            ),
        ));
    }
    if !failing.is_empty() {
        out.push(Check::new(
            ID,
            Status::Problem,
            (
                format!("{} 件の規則が評価に失敗しています: {}", failing.len(), list(&failing)),
                format!("{} rule(s) fail to evaluate: {}", failing.len(), list(&failing)),
            ),
            (
                "Prometheus のログを確かめ、mimamori generate --check で規則が設定と一致するか確かめてください".into(),
                "see Prometheus' log, and run mimamori generate --check to see whether the rules match the configuration".into(),
            ),
        ));
    }
    if out.is_empty() {
        let every: BTreeSet<String> = expected.iter().map(|(_, e)| dur(*e)).collect();
        let every = every.into_iter().collect::<Vec<_>>().join(", ");
        let (ja_wait, en_wait) = if not_yet > 0 {
            (
                format!("、{not_yet} 件はまだ評価前"),
                format!(", {not_yet} not evaluated yet"),
            )
        } else {
            (String::new(), String::new())
        };
        out.push(Check::ok(
            ID,
            format!("規則グループ {n}/{n} を読み込み済み（評価間隔 {every} は生成どおり、評価エラーなし{ja_wait}）"),
            format!("{n} of {n} rule groups loaded (interval {every} as generated, no evaluation error{en_wait})"),
        ));
    }
    out
}

/// What differs between the groups `mimamori generate` writes (name,
/// interval in seconds) and the groups Prometheus loaded.
#[derive(Debug, Default)]
struct RuleFindings {
    /// Generated groups not loaded.
    missing: Vec<String>,
    /// (group, loaded interval, generated interval) where they differ.
    intervals: Vec<(String, f64, f64)>,
    /// Groups loaded more than once, with their files.
    twice: Vec<String>,
    /// `group/rule: error` of rules that fail to evaluate.
    failing: Vec<String>,
    /// Rules not evaluated yet.
    not_yet: usize,
}

impl RuleFindings {
    fn of(expected: &[(String, f64)], loaded: &[RuleGroup]) -> RuleFindings {
        let mut by_name: BTreeMap<&str, Vec<&RuleGroup>> = BTreeMap::new();
        for g in loaded {
            by_name.entry(g.name.as_str()).or_default().push(g);
        }
        let mut f = RuleFindings::default();
        for (name, every) in expected {
            let Some(groups) = by_name.get(name.as_str()) else {
                f.missing.push(name.clone());
                continue;
            };
            if groups.len() > 1 {
                let files: Vec<&str> = groups.iter().map(|g| g.file.as_str()).collect();
                f.twice.push(format!("{name} ({})", files.join(", ")));
            }
            for g in groups {
                if (g.interval - every).abs() > 1e-6 {
                    f.intervals.push((name.clone(), g.interval, *every));
                }
                for r in &g.rules {
                    let error = r.last_error.as_deref().unwrap_or("");
                    if r.health == "err" || !error.is_empty() {
                        f.failing.push(format!("{name}/{}: {error}", r.name));
                    } else if r.health != "ok" {
                        f.not_yet += 1;
                    }
                }
            }
        }
        f
    }
}

/// Locations seen reporting `mimamori_probe_success`, with their probers.
fn seen_locations(probers: &[Sample]) -> BTreeMap<String, BTreeSet<String>> {
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in probers {
        seen.entry(label(s, "location").to_string())
            .or_default()
            .insert(who(&s.labels));
    }
    seen
}

/// 2a. Each configured location reports.
pub fn locations(cfg: &Config, facts: &Facts) -> Vec<Check> {
    const ID: &str = "locations";
    let probers = match &facts.probers {
        Ok(p) => p,
        Err(e) => return vec![unknown(ID, ("拠点", "the locations"), e)],
    };
    let seen = seen_locations(probers);
    let describe = |ja: bool| -> String {
        seen.iter()
            .map(|(l, p)| {
                if ja {
                    format!("{l}（{} 台）", p.len())
                } else {
                    format!(
                        "{l} ({} prober{})",
                        p.len(),
                        if p.len() == 1 { "" } else { "s" }
                    )
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let configured: Vec<&str> = cfg.alerting.locations.iter().map(|l| l.as_str()).collect();
    if configured.is_empty() {
        if seen.is_empty() {
            return vec![Check::new(
                ID,
                Status::Problem,
                (
                    "どの拠点からも mimamori_probe_success が届いていません".into(),
                    "no location reports mimamori_probe_success".into(),
                ),
                (
                    "mimamori serve が動いていて、Prometheus がその /metrics を取り込んでいるか確かめてください".into(),
                    "check that mimamori serve runs and that Prometheus scrapes its /metrics".into(),
                ),
            )];
        }
        return vec![Check::ok(
            ID,
            format!("報告中の拠点: {}", describe(true)),
            format!("locations reporting: {}", describe(false)),
        )];
    }
    let missing: Vec<&str> = configured
        .iter()
        .copied()
        .filter(|l| !seen.contains_key(*l))
        .collect();
    let extra: Vec<&str> = seen
        .keys()
        .map(String::as_str)
        .filter(|l| !configured.contains(l))
        .collect();
    let mut out = Vec::new();
    if !missing.is_empty() {
        out.push(Check::new(
            ID,
            Status::Problem,
            (
                format!(
                    "設定の拠点 {}/{} が報告していません: {}",
                    missing.len(),
                    configured.len(),
                    list(&missing)
                ),
                format!(
                    "{} of {} configured locations report no mimamori_probe_success: {}",
                    missing.len(),
                    configured.len(),
                    list(&missing)
                ),
            ),
            (
                "その拠点の mimamori serve が動いていて Prometheus が取り込んでいるか確かめてください（報告のない拠点の見え方は数字に入りません）".into(),
                "check that mimamori serve runs there and that Prometheus scrapes it (a location that does not report is in no figure)".into(),
            ),
        ));
    }
    if !extra.is_empty() {
        out.push(Check::new(
            ID,
            Status::Warn,
            (
                format!("alerting.locations にない拠点が報告しています: {}", list(&extra)),
                format!("locations not in alerting.locations report: {}", list(&extra)),
            ),
            (
                "拠点名の誤り（スクレイプ設定の location ラベルなど）でなければ alerting.locations に加えて mimamori generate し直してください".into(),
                "unless the name is wrong (e.g. a location label in the scrape config), add it to alerting.locations and run mimamori generate again".into(),
            ),
        ));
    }
    if out.is_empty() {
        out.push(Check::ok(
            ID,
            format!(
                "設定の拠点 {n}/{n} がすべて報告中: {}",
                describe(true),
                n = configured.len()
            ),
            format!(
                "all {n} configured locations report: {}",
                describe(false),
                n = configured.len()
            ),
        ));
    }
    out
}

/// The median spacing of a series' samples, in seconds (at least 3 samples).
pub fn spacing(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let mut gaps: Vec<f64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    gaps.sort_by(f64::total_cmp);
    Some(gaps[gaps.len() / 2])
}

/// 2b. Each location's scrape interval against the probe interval.
pub fn scrape(cfg: &Config, facts: &Facts) -> Vec<Check> {
    const ID: &str = "scrape";
    let job = cfg.alerting.job.as_str();
    let Some(probe) = cfg
        .services
        .iter()
        .flat_map(|s| s.transactions.iter())
        .map(|t| t.interval(&cfg.global).as_secs_f64())
        .min_by(f64::total_cmp)
    else {
        return Vec::new();
    };
    // instance → (interval seconds, measured?)
    let mut every: BTreeMap<String, (f64, bool)> = BTreeMap::new();
    if let Ok(t) = &facts.targets {
        for t in t
            .active
            .iter()
            .filter(|t| t.labels.get("job").map(String::as_str) == Some(job))
        {
            if let Some(s) = t.scrape_interval.as_deref().and_then(prom_duration) {
                let instance = t.labels.get("instance").cloned().unwrap_or_default();
                every.insert(instance, (s, false));
            }
        }
    }
    if let Ok(up) = &facts.up {
        for s in up {
            let instance = s.labels.get("instance").cloned().unwrap_or_default();
            if let (false, Some(gap)) = (every.contains_key(&instance), spacing(&s.points)) {
                every.insert(instance, (gap, true));
            }
        }
    }
    if every.is_empty() {
        let (ja, en) = match (&facts.targets, &facts.up) {
            (Err(e), Err(_)) => error_words(e),
            _ => (
                format!("job=\"{job}\" のターゲットも up の標本もありません"),
                format!("no target and no up samples of job=\"{job}\""),
            ),
        };
        return vec![Check::new(
            ID,
            Status::Unknown,
            (
                format!("取り込み間隔を確かめられません: {ja}"),
                format!("cannot tell the scrape interval: {en}"),
            ),
            (
                "alerting.job をプローバーのスクレイプ job 名に合わせてください".into(),
                "make alerting.job the probers' scrape job name".into(),
            ),
        )];
    }
    let mut location_of: BTreeMap<String, String> = BTreeMap::new();
    if let Ok(p) = &facts.probers {
        for s in p.iter().filter(|s| label(s, "job") == job) {
            location_of.insert(label(s, "instance").into(), label(s, "location").into());
        }
    }
    // location → (largest interval, measured?, probers)
    let mut by_location: BTreeMap<String, (f64, bool, usize)> = BTreeMap::new();
    for (instance, (s, measured)) in &every {
        // A prober with no results yet (or down) is named by its instance.
        let loc = location_of
            .get(instance)
            .cloned()
            .unwrap_or_else(|| format!("{UNKNOWN_LOCATION}{instance}"));
        let e = by_location.entry(loc).or_insert((0.0, false, 0));
        if *s > e.0 {
            e.0 = *s;
            e.1 = *measured;
        }
        e.2 += 1;
    }
    let faster = |s: f64| {
        cfg.services
            .iter()
            .flat_map(|x| x.transactions.iter())
            .filter(|t| t.interval(&cfg.global).as_secs_f64() < s - 1e-6)
            .count()
    };
    by_location
        .into_iter()
        .map(|(loc, (s, measured, _n))| {
            let (how_ja, how_en) = if measured {
                ("（標本の間隔から測定）", " (measured from samples)")
            } else {
                ("", "")
            };
            let (loc_ja, loc_en) = match loc.strip_prefix(UNKNOWN_LOCATION) {
                Some(instance) => (
                    format!("拠点不明の {instance}"),
                    format!("{instance} (location unknown: no results)"),
                ),
                None => (format!("拠点 {loc}"), format!("location {loc}")),
            };
            let finding = (
                format!("{loc_ja}: {} ごとに取り込み{how_ja}、試験は {} ごと", dur(s), dur(probe)),
                format!("{loc_en}: scraped every {}{how_en}, probed every {}", dur(s), dur(probe)),
            );
            if s > probe + 1e-6 {
                let n = faster(s);
                Check::new(
                    ID,
                    Status::Warn,
                    finding,
                    (
                        format!(
                            "取り込みの間の試験結果は Prometheus に届かず（{n} 件の取引）、失敗時間は {} 刻みで判定されます。job {job} の scrape_interval を {} にしてください",
                            dur(s),
                            dur(probe)
                        ),
                        format!(
                            "results between scrapes are never seen ({n} transaction(s)), and failure time is judged at the {} spacing; set scrape_interval: {} for job {job}",
                            dur(s),
                            dur(probe)
                        ),
                    ),
                )
            } else {
                Check::ok(ID, finding.0, finding.1)
            }
        })
        .collect()
}

/// 3. The exporter's `location` arriving as `exported_location`.
pub fn exported_location(facts: &Facts) -> Check {
    const ID: &str = "exported_location";
    let found = match &facts.exported {
        Ok(f) => f,
        Err(e) => return unknown(ID, ("location ラベル", "the location label"), e),
    };
    if found.is_empty() {
        return Check::ok(
            ID,
            "location ラベルは exporter が付けたまま届いています",
            "the location label arrives as the exporter sets it",
        );
    }
    let ja: Vec<String> = found
        .iter()
        .map(|s| {
            format!(
                "{} は location=\"{}\" が exported_location になり location=\"{}\" に置き換わっています",
                who(&s.labels),
                label(s, "exported_location"),
                label(s, "location")
            )
        })
        .collect();
    let en: Vec<String> = found
        .iter()
        .map(|s| {
            format!(
                "{}: the exporter's location=\"{}\" arrives as exported_location, replaced by location=\"{}\"",
                who(&s.labels),
                label(s, "exported_location"),
                label(s, "location")
            )
        })
        .collect();
    Check::new(
        ID,
        Status::Problem,
        (list(&ja), list(&en)),
        (
            "スクレイプ設定のターゲットラベル location を外すか honor_labels: true にしてください。規則・report・状態ページは exporter の location で拠点を分けます".into(),
            "remove the target label location from the scrape config (or set honor_labels: true): the rules, report and the status page tell locations apart by the exporter's location label".into(),
        ),
    )
}

/// 4. Probers Prometheus cannot scrape.
pub fn up(cfg: &Config, facts: &Facts, now: i64) -> Check {
    const ID: &str = "up";
    let job = cfg.alerting.job.as_str();
    let up = match &facts.up {
        Ok(u) => u,
        Err(e) => return unknown(ID, ("プローバーの up", "the probers' up"), e),
    };
    // A target removed from the scrape config leaves a few minutes of old samples: not a prober.
    let fresh = |s: &&crate::query::Series| {
        let allowed = (3.0 * spacing(&s.points).unwrap_or(30.0)).max(90.0);
        s.points.last().is_some_and(|p| p.0 >= now as f64 - allowed)
    };
    let up: Vec<&crate::query::Series> = up.iter().filter(fresh).collect();
    if up.is_empty() {
        let other: BTreeSet<&str> = facts
            .probers
            .as_ref()
            .map(|p| {
                p.iter()
                    .map(|s| label(s, "job"))
                    .filter(|j| *j != job)
                    .collect()
            })
            .unwrap_or_default();
        let other: Vec<&str> = other.into_iter().collect();
        let (ja, en) = if other.is_empty() {
            (String::new(), String::new())
        } else {
            (
                format!(
                    "（mimamori_probe_success は job={} で届いています）",
                    list(&other)
                ),
                format!(
                    " (mimamori_probe_success arrives with job {})",
                    list(&other)
                ),
            )
        };
        return Check::new(
            ID,
            Status::Problem,
            (
                format!("alerting.job の job=\"{job}\" の up 系列がありません{ja}"),
                format!("no up series of job=\"{job}\" (alerting.job){en}"),
            ),
            (
                "alerting.job をプローバーのスクレイプ job 名に合わせて mimamori generate し直してください（プローバー停止の警報はこの job を見ます）".into(),
                "make alerting.job the probers' scrape job name and run mimamori generate again (the prober-down alerts watch that job)".into(),
            ),
        );
    }
    let errors: BTreeMap<String, String> = facts
        .targets
        .as_ref()
        .map(|t| {
            t.active
                .iter()
                .filter(|t| !t.last_error.is_empty())
                .map(|t| (who(&t.labels), t.last_error.clone()))
                .collect()
        })
        .unwrap_or_default();
    let down: Vec<String> = up
        .iter()
        .filter(|s| s.points.last().is_some_and(|p| p.1 == 0.0))
        .map(|s| {
            let w = who(&s.labels);
            match errors.get(&w) {
                Some(e) => format!("{w} ({e})"),
                None => w,
            }
        })
        .collect();
    if down.is_empty() {
        return Check::ok(
            ID,
            format!(
                "job {job} のプローバー {} 台すべて取り込めています",
                up.len()
            ),
            format!("all {} probers of job {job} are up", up.len()),
        );
    }
    Check::new(
        ID,
        Status::Problem,
        (
            format!("取り込めないプローバー {}/{} 台: {}", down.len(), up.len(), list(&down)),
            format!("{} of {} probers are down (up == 0): {}", down.len(), up.len(), list(&down)),
        ),
        (
            "そのプローバーで mimamori serve が動いているか、Prometheus からその /metrics に届くか確かめてください（その間の時間は不明として数えられます）".into(),
            "check that mimamori serve runs there and that Prometheus reaches its /metrics (the time meanwhile counts as unknown)".into(),
        ),
    )
}

/// 5. Probers running different versions.
pub fn versions(facts: &Facts) -> Check {
    const ID: &str = "versions";
    let found = match &facts.versions {
        Ok(f) => f,
        Err(e) => return unknown(ID, ("版", "the versions"), e),
    };
    let mut by_version: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in found {
        by_version
            .entry(label(s, "version"))
            .or_default()
            .push(who(&s.labels));
    }
    match by_version.len() {
        0 => Check::new(
            ID,
            Status::Warn,
            (
                "mimamori_build_info が届いていないため版が分かりません".into(),
                "no mimamori_build_info arrives: the probers' versions are unknown".into(),
            ),
            (
                "プローバーが取り込まれているか確かめてください".into(),
                "check that the probers are scraped".into(),
            ),
        ),
        1 => {
            let (v, who) = by_version.iter().next().expect("one version");
            Check::ok(
                ID,
                format!("プローバー {} 台すべて mimamori {v}", who.len()),
                format!("all {} probers run mimamori {v}", who.len()),
            )
        }
        _ => {
            let parts: Vec<String> = by_version
                .iter()
                .map(|(v, w)| format!("{v}: {}", list(w)))
                .collect();
            Check::new(
                ID,
                Status::Warn,
                (
                    format!("プローバーの版が異なります: {}", parts.join("; ")),
                    format!("probers run different versions: {}", parts.join("; ")),
                ),
                (
                    "すべての拠点を同じ版にそろえてください（版によって結果や系列が異なることがあります）".into(),
                    "bring every prober to the same version (results and series may differ between versions)".into(),
                ),
            )
        }
    }
}

/// 6. An Alertmanager discovered, and answering.
pub fn alertmanager(facts: &Facts) -> Vec<Check> {
    const ID: &str = "alertmanager";
    let am = match &facts.alertmanagers {
        Ok(a) => a,
        Err(e) => return vec![unknown(ID, ("Alertmanager", "the Alertmanagers"), e)],
    };
    if am.active.is_empty() {
        let (ja, en) = if am.dropped.is_empty() {
            (String::new(), String::new())
        } else {
            (
                format!("（{} 件は relabel で除外）", am.dropped.len()),
                format!(" ({} dropped by relabelling)", am.dropped.len()),
            )
        };
        return vec![Check::new(
            ID,
            Status::Problem,
            (
                format!("Prometheus は Alertmanager を見つけていません: 警報の送り先がありません{ja}"),
                format!("Prometheus has discovered no Alertmanager: alerts go nowhere{en}"),
            ),
            (
                "生成した deploy/alertmanager/alertmanager.yml で Alertmanager を動かし、prometheus.yml の alerting.alertmanagers に加えてください".into(),
                "run Alertmanager with the generated deploy/alertmanager/alertmanager.yml and add it under alerting.alertmanagers in prometheus.yml".into(),
            ),
        )];
    }
    facts
        .alertmanager_ready
        .iter()
        .map(|(url, answer)| {
            let base = super::gather::alertmanager_base(url);
            match answer {
                Ok(200) => Check::ok(
                    ID,
                    format!("Alertmanager {base} が応答しています（/-/ready 200）"),
                    format!("Alertmanager {base} answers (/-/ready 200)"),
                ),
                Ok(code @ (401 | 403)) => Check::ok(
                    ID,
                    format!("Alertmanager {base} が応答しています（/-/ready {code}: 認証が必要）"),
                    format!("Alertmanager {base} answers (/-/ready {code}: authentication required)"),
                ),
                Ok(code) => Check::new(
                    ID,
                    Status::Problem,
                    (
                        format!("Alertmanager {base} は準備ができていません（/-/ready {code}）"),
                        format!("Alertmanager {base} is not ready (/-/ready {code})"),
                    ),
                    (
                        "Alertmanager のログと設定を確かめてください".into(),
                        "see the Alertmanager's log and configuration".into(),
                    ),
                ),
                Err(e) => Check::new(
                    ID,
                    Status::Problem,
                    (
                        format!("Alertmanager {base} に接続できません: {e}"),
                        format!("cannot reach Alertmanager {base}: {e}"),
                    ),
                    (
                        "Alertmanager が動いているか、Prometheus の持つアドレスが正しいか確かめてください（doctor はこの機械から尋ねています）".into(),
                        "check that it runs and that the address Prometheus has for it is right (doctor asks from this machine)".into(),
                    ),
                ),
            }
        })
        .collect()
}

/// The retention as configured: `(time seconds, its text, size limit)`.
fn retention_setting(facts: &Facts) -> Option<(Option<f64>, String, Option<String>)> {
    if let Ok(r) = &facts.runtime {
        if !r.storage_retention.is_empty() {
            let mut time = None;
            let mut size = None;
            for part in r.storage_retention.split(" or ") {
                match prom_duration(part) {
                    Some(s) => time = Some((s, part.trim().to_string())),
                    None => size = Some(part.trim().to_string()),
                }
            }
            return Some(match time {
                Some((s, text)) => (Some(s), text, size),
                None => (None, String::new(), size),
            });
        }
    }
    let flags = facts.flags.as_ref().ok()?;
    let size = flags
        .get("storage.tsdb.retention.size")
        .filter(|s| !s.is_empty() && *s != "0B" && *s != "0")
        .cloned();
    let time = flags
        .get("storage.tsdb.retention.time")
        .map(String::as_str)
        .filter(|t| prom_duration(t).is_some_and(|s| s > 0.0));
    Some(match time {
        Some(t) => (prom_duration(t), t.to_string(), size),
        // Prometheus' default when neither is set.
        None if size.is_none() => (Some(15.0 * 86400.0), "15d".into(), None),
        None => (None, String::new(), size),
    })
}

/// Days as a plain number (`7`, `36500`, `1.5`).
fn plain_days(days: f64) -> String {
    let r = (days * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// 7. The TSDB retention against what `report` and the status page read.
pub fn retention(facts: &Facts) -> Check {
    const ID: &str = "retention";
    let Some((time, text, size)) = retention_setting(facts) else {
        let e = facts
            .runtime
            .as_ref()
            .err()
            .or(facts.flags.as_ref().err())
            .expect("no setting means an error");
        let (ja, en) = error_words(e);
        return Check::new(
            ID,
            Status::Unknown,
            (
                format!("保持期間を読めません: {ja}"),
                format!("cannot read the retention: {en}"),
            ),
            (
                format!("Thanos や Mimir では長期保存の保持期間が {REPORT_DAYS} 日（report）と {STATUS_DAYS} 日（状態ページ）以上か確かめてください"),
                format!("on Thanos or Mimir, check that the long-term store keeps at least {REPORT_DAYS} days (report) and {STATUS_DAYS} days (status page)"),
            ),
        );
    };
    let need = format!("report（先月分、最大 {REPORT_DAYS} 日前から）と状態ページ（90 日と 3 か月の数字、最大 {STATUS_DAYS} 日）");
    let need_en = format!("report (last month: up to {REPORT_DAYS} days back) and the status page (90 days and 3 months of figures: up to {STATUS_DAYS} days)");
    let Some(seconds) = time else {
        return Check::new(
            ID,
            Status::Warn,
            (
                format!(
                    "保持期間はサイズ {} だけで決まり、何日分残るか分かりません",
                    size.as_deref().unwrap_or("")
                ),
                format!(
                    "retention is by size only ({}): how many days are kept is unknown",
                    size.as_deref().unwrap_or("")
                ),
            ),
            (
                format!(
                    "--storage.tsdb.retention.time={}d 以上も指定してください",
                    STATUS_DAYS + 1.0
                ),
                format!(
                    "also set --storage.tsdb.retention.time={}d or more",
                    STATUS_DAYS + 1.0
                ),
            ),
        );
    };
    let days = seconds / 86400.0;
    let (text, text_en) = (
        format!("{text}（{} 日）", plain_days(days)),
        format!("{text} ({} days)", plain_days(days)),
    );
    let fix = (
        format!(
            "--storage.tsdb.retention.time={}d 以上にしてください",
            STATUS_DAYS + 1.0
        ),
        format!(
            "set --storage.tsdb.retention.time={}d or more",
            STATUS_DAYS + 1.0
        ),
    );
    if days < REPORT_DAYS {
        return Check::new(
            ID,
            Status::Problem,
            (
                format!("TSDB の保持期間 {text}は {need}に足りません"),
                format!("TSDB retention {text_en} is too short for {need_en}"),
            ),
            fix,
        );
    }
    if days < STATUS_DAYS {
        return Check::new(
            ID,
            Status::Warn,
            (
                format!("TSDB の保持期間 {text}は report には足りますが、状態ページ（最大 {STATUS_DAYS} 日）には足りません"),
                format!("TSDB retention {text_en} is enough for report but not for the status page (up to {STATUS_DAYS} days)"),
            ),
            fix,
        );
    }
    match size {
        Some(size) => Check::new(
            ID,
            Status::Warn,
            (
                format!("TSDB の保持期間 {text}は {need}に足りますが、サイズ上限 {size} で先に消えることがあります"),
                format!("TSDB retention {text_en} is enough for {need_en}, but the size limit {size} may delete data sooner"),
            ),
            (
                "サイズ上限を外すか、少なくとも 93 日分が収まる大きさにしてください".into(),
                "remove the size limit or make it hold at least 93 days".into(),
            ),
        ),
        None => Check::ok(
            ID,
            format!("TSDB の保持期間 {text}: {need}に十分"),
            format!("TSDB retention {text_en}: enough for {need_en}"),
        ),
    }
}

/// The configuration's windows of `service` in force at `t` (unix seconds),
/// as the exporter judges them (announced in time).
fn window_at<'a>(
    cfg: &'a Config,
    service: &str,
    t: i64,
) -> Option<&'a crate::config::MaintenanceWindow> {
    cfg.planned_windows().find(|w| {
        w.services.iter().any(|n| n == service) && w.start.timestamp() <= t && t < w.end.timestamp()
    })
}

/// 8. The probers' maintenance state against the configuration's windows.
pub fn maintenance(cfg: &Config, facts: &Facts, now: i64) -> Vec<Check> {
    const ID: &str = "maintenance";
    let found = match &facts.maintenance {
        Ok(f) => f,
        Err(e) => return vec![unknown(ID, ("保守状態", "the maintenance state"), e)],
    };
    if found.is_empty() {
        return vec![Check::new(
            ID,
            Status::Unknown,
            (
                "mimamori_maintenance_active を出しているプローバーがありません".into(),
                "no prober reports mimamori_maintenance_active".into(),
            ),
            (
                "locations と up の確認を見てください".into(),
                "see the locations and up checks".into(),
            ),
        )];
    }
    let mut by_service: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for s in found {
        by_service.entry(label(s, "service")).or_default().push(s);
    }
    let hint = || {
        (
            "プローバーが古い設定で動いています。同じ設定ファイルを配って再読み込みしてください（SIGHUP か POST /-/reload）".to_string(),
            "the probers run an older configuration: deploy the same file to every prober and reload it (SIGHUP or POST /-/reload)".to_string(),
        )
    };
    let mut out = Vec::new();
    let mut in_maintenance = Vec::new();
    for svc in &cfg.services {
        let name = svc.name.as_str();
        let now_w = window_at(cfg, name, now);
        let before_w = window_at(cfg, name, now - MAINTENANCE_SLACK_SECONDS);
        let (on_now, on_before) = (now_w.is_some(), before_w.is_some());
        if on_now {
            in_maintenance.push(name.to_string());
        }
        let Some(series) = by_service.get(name) else {
            out.push(Check::new(
                ID,
                Status::Problem,
                (
                    format!("サービス {name} の保守状態を出しているプローバーがありません"),
                    format!("no prober reports the maintenance state of service {name}"),
                ),
                hint(),
            ));
            continue;
        };
        let wrong: Vec<String> = series
            .iter()
            .filter(|s| {
                let on = s.value >= 0.5;
                on != on_now && on != on_before
            })
            .map(|s| format!("{} ({})", who(&s.labels), label(s, "location")))
            .collect();
        if wrong.is_empty() {
            continue;
        }
        let finding = match now_w {
            Some(w) => (
                format!(
                    "{name}: 設定では今が保守期間（{}〜{}）ですが、保守中と報告していないプローバー: {}",
                    w.start.to_rfc3339(),
                    w.end.to_rfc3339(),
                    list(&wrong)
                ),
                format!(
                    "{name}: the configuration has a maintenance window now ({} to {}), but these probers do not report it: {}",
                    w.start.to_rfc3339(),
                    w.end.to_rfc3339(),
                    list(&wrong)
                ),
            ),
            None => (
                format!(
                    "{name}: 設定では今は保守期間ではありませんが、保守中と報告しているプローバー: {}",
                    list(&wrong)
                ),
                format!(
                    "{name}: no maintenance window is in force in the configuration now, but these probers report one: {}",
                    list(&wrong)
                ),
            ),
        };
        out.push(Check::new(ID, Status::Problem, finding, hint()));
    }
    let unknown_services: Vec<&str> = by_service
        .keys()
        .copied()
        .filter(|s| cfg.service(s).is_none())
        .collect();
    if !unknown_services.is_empty() {
        out.push(Check::new(
            ID,
            Status::Warn,
            (
                format!(
                    "設定にないサービスの保守状態が届いています: {}",
                    list(&unknown_services)
                ),
                format!(
                    "probers report the maintenance state of services not in the configuration: {}",
                    list(&unknown_services)
                ),
            ),
            hint(),
        ));
    }
    if out.is_empty() {
        let (ja, en) = if in_maintenance.is_empty() {
            ("なし".to_string(), "none".to_string())
        } else {
            (list(&in_maintenance), list(&in_maintenance))
        };
        out.push(Check::ok(
            ID,
            format!("プローバーの保守状態は設定どおり（今保守中: {ja}）"),
            format!("the probers' maintenance state matches the configuration (in maintenance now: {en})"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations() {
        assert_eq!(prom_duration("15d"), Some(15.0 * 86400.0));
        assert_eq!(prom_duration("100y"), Some(36500.0 * 86400.0));
        assert_eq!(prom_duration("1w2d"), Some(9.0 * 86400.0));
        assert_eq!(prom_duration("1m30s"), Some(90.0));
        assert_eq!(prom_duration("500ms"), Some(0.5));
        assert_eq!(prom_duration("1GiB"), None);
        assert_eq!(prom_duration(""), None);
        assert_eq!(prom_duration("d"), None);
    }

    #[test]
    fn spacing_is_the_median_gap() {
        assert_eq!(spacing(&[(0.0, 1.0), (15.0, 1.0)]), None);
        let p: Vec<(f64, f64)> = [0.0, 15.0, 30.0, 90.0, 105.0]
            .iter()
            .map(|t| (*t, 1.0))
            .collect();
        assert_eq!(spacing(&p), Some(15.0));
    }

    fn nothing() -> Facts {
        let e = || Error::Status {
            url: "http://p/".into(),
            status: 404,
            body: String::new(),
        };
        Facts {
            reachable: Ok(()),
            build: Err(e()),
            rules: Err(e()),
            targets: Err(e()),
            alertmanagers: Err(e()),
            alertmanager_ready: Vec::new(),
            flags: Err(e()),
            runtime: Err(e()),
            up: Err(e()),
            probers: Err(e()),
            exported: Err(e()),
            versions: Err(e()),
            maintenance: Err(e()),
        }
    }

    fn runtime(retention: &str) -> Facts {
        Facts {
            runtime: Ok(crate::query::api::RuntimeInfo {
                storage_retention: retention.into(),
            }),
            ..nothing()
        }
    }

    #[test]
    fn retention_against_report_and_status_page() {
        let r = retention(&runtime("100y"));
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert!(r
            .finding_en
            .starts_with("TSDB retention 100y (36500 days): enough"));
        let r = retention(&runtime("15d"));
        assert_eq!(r.status, Status::Problem);
        assert!(r
            .finding_en
            .starts_with("TSDB retention 15d (15 days) is too short for report"));
        let r = retention(&runtime("70d"));
        assert_eq!(r.status, Status::Warn);
        assert!(r
            .finding_en
            .contains("enough for report but not for the status page"));
        let r = retention(&runtime("100d or 1GiB"));
        assert_eq!(r.status, Status::Warn);
        assert!(r
            .finding_en
            .contains("the size limit 1GiB may delete data sooner"));
        let r = retention(&runtime("1GiB"));
        assert_eq!(r.status, Status::Warn);
        assert!(r.finding_en.contains("retention is by size only (1GiB)"));
        // Without runtimeinfo, the flags; "0s" is Prometheus' default of 15 days.
        let flags = |t: &str| Facts {
            flags: Ok([("storage.tsdb.retention.time".to_string(), t.to_string())].into()),
            ..nothing()
        };
        assert_eq!(retention(&flags("0s")).status, Status::Problem);
        assert!(retention(&flags("0s")).finding_en.contains("15d (15 days)"));
        assert_eq!(retention(&flags("93d")).status, Status::Ok);
        assert_eq!(retention(&nothing()).status, Status::Unknown);
    }

    #[test]
    fn unreachable_prometheus_is_one_unknown() {
        let cfg = crate::config::load(std::path::Path::new("deploy/aoulu.yaml")).unwrap();
        let facts = Facts {
            reachable: Err(Error::Unreachable {
                url: "http://p/".into(),
                cause: "connection refused".into(),
            }),
            ..nothing()
        };
        let plans = crate::slo::plan::plans(&cfg);
        let checks = all(&cfg, &plans, &facts, 0);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Unknown);
        assert_eq!(
            checks[0].finding_en,
            "cannot reach Prometheus at http://p/: connection refused"
        );
        // Every API missing (404): each check says it cannot tell, none invents a verdict.
        let checks = all(&cfg, &plans, &nothing(), 0);
        assert!(
            checks[1..].iter().all(|c| c.status == Status::Unknown),
            "{checks:#?}"
        );
    }

    fn aoulu() -> Config {
        crate::config::load(std::path::Path::new("deploy/aoulu.yaml")).unwrap()
    }

    fn sample(labels: &[(&str, &str)], value: f64) -> Sample {
        Sample {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        }
    }

    fn target(instance: &str, every: &str) -> crate::query::api::Target {
        serde_json::from_value(serde_json::json!({
            "labels": {"job": "mimamori", "instance": instance},
            "scrapeInterval": every,
        }))
        .unwrap()
    }

    #[test]
    fn a_60s_scrape_of_15s_probes_is_a_warning_that_says_why() {
        let facts = Facts {
            targets: Ok(crate::query::api::Targets {
                active: vec![target("a:9732", "1m"), target("b:9732", "15s")],
            }),
            probers: Ok(vec![
                sample(
                    &[
                        ("job", "mimamori"),
                        ("instance", "a:9732"),
                        ("location", "tokyo-a"),
                    ],
                    1.0,
                ),
                sample(
                    &[
                        ("job", "mimamori"),
                        ("instance", "b:9732"),
                        ("location", "osaka-b"),
                    ],
                    1.0,
                ),
            ]),
            ..nothing()
        };
        let checks = scrape(&aoulu(), &facts);
        assert_eq!(checks.len(), 2, "{checks:#?}");
        let osaka = &checks[0];
        assert_eq!(osaka.status, Status::Ok);
        assert_eq!(
            osaka.finding_en,
            "location osaka-b: scraped every 15s, probed every 15s"
        );
        let tokyo = &checks[1];
        assert_eq!(tokyo.status, Status::Warn);
        assert_eq!(
            tokyo.finding_en,
            "location tokyo-a: scraped every 1m, probed every 15s"
        );
        assert!(
            tokyo.hint_en.contains("failure time is judged at the 1m spacing; set scrape_interval: 15s for job mimamori"),
            "{}",
            tokyo.hint_en
        );
        // Without a targets API (remote write, Mimir), the spacing is measured from the samples.
        let up = crate::query::Series {
            labels: [("instance".to_string(), "a:9732".to_string())].into(),
            points: (0..5).map(|i| (f64::from(i) * 60.0, 1.0)).collect(),
        };
        let facts = Facts {
            up: Ok(vec![up]),
            probers: facts.probers,
            ..nothing()
        };
        let checks = scrape(&aoulu(), &facts);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Warn);
        assert_eq!(
            checks[0].finding_en,
            "location tokyo-a: scraped every 1m (measured from samples), probed every 15s"
        );
    }

    #[test]
    fn maintenance_state_against_the_configuration_with_slack_at_the_edges() {
        let cfg = aoulu();
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
        let reported = |on: f64| Facts {
            maintenance: Ok(["hanbai", "denshibin"]
                .iter()
                .map(|svc| {
                    sample(
                        &[
                            ("job", "mimamori"),
                            ("instance", "a:1"),
                            ("location", "tokyo-a"),
                            ("service", svc),
                        ],
                        on,
                    )
                })
                .collect()),
            ..nothing()
        };
        let verdict = |on: f64, t: &str| {
            let c = maintenance(&cfg, &reported(on), at(t));
            (c.iter().map(|c| c.status).max().unwrap(), c)
        };
        // Inside the window 01:00-05:00 JST.
        assert_eq!(verdict(1.0, "2027-05-09T02:00:00+09:00").0, Status::Ok);
        let (s, c) = verdict(0.0, "2027-05-09T02:00:00+09:00");
        assert_eq!(s, Status::Problem);
        assert!(c[0].finding_en.starts_with(
            "hanbai: the configuration has a maintenance window now (2027-05-09T01:00:00+09:00 to 2027-05-09T05:00:00+09:00), but these probers do not report it: mimamori/a:1 (tokyo-a)"
        ), "{c:#?}");
        // A minute after the start or the end, either state is accepted.
        assert_eq!(verdict(0.0, "2027-05-09T01:01:00+09:00").0, Status::Ok);
        assert_eq!(verdict(1.0, "2027-05-09T05:01:00+09:00").0, Status::Ok);
        // Five minutes after the end, a prober still in maintenance runs an old configuration.
        let (s, c) = verdict(1.0, "2027-05-09T05:05:00+09:00");
        assert_eq!(s, Status::Problem);
        assert!(c[0].finding_en.contains("no maintenance window is in force in the configuration now, but these probers report one"));
        // A service no prober knows: the probers run an older configuration.
        let only_hanbai = Facts {
            maintenance: Ok(vec![sample(&[("service", "hanbai")], 0.0)]),
            ..nothing()
        };
        let c = maintenance(&cfg, &only_hanbai, at("2026-12-01T00:00:00Z"));
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].finding_en,
            "no prober reports the maintenance state of service denshibin"
        );
    }

    #[test]
    fn probers_down_are_named_and_removed_targets_forgotten() {
        let series = |instance: &str, last: f64, value: f64| crate::query::Series {
            labels: [
                ("job".to_string(), "mimamori".to_string()),
                ("instance".to_string(), instance.to_string()),
            ]
            .into(),
            points: (0..5)
                .map(|i| (last - f64::from(4 - i) * 15.0, value))
                .collect(),
        };
        let now = 1_000_000;
        let facts = Facts {
            up: Ok(vec![
                series("a:1", now as f64 - 5.0, 1.0),
                series("b:1", now as f64 - 5.0, 0.0),
                // Removed from the scrape config four minutes ago, down then: forgotten.
                series("c:1", now as f64 - 240.0, 0.0),
            ]),
            ..nothing()
        };
        let c = up(&aoulu(), &facts, now);
        assert_eq!(c.status, Status::Problem);
        assert_eq!(
            c.finding_en,
            "1 of 2 probers are down (up == 0): mimamori/b:1"
        );
        let none = Facts {
            up: Ok(Vec::new()),
            probers: Ok(vec![sample(
                &[("job", "blackbox"), ("instance", "a:1")],
                1.0,
            )]),
            ..nothing()
        };
        let c = up(&aoulu(), &none, now);
        assert_eq!(c.status, Status::Problem);
        assert_eq!(
            c.finding_en,
            "no up series of job=\"mimamori\" (alerting.job) (mimamori_probe_success arrives with job blackbox)"
        );
    }

    #[test]
    fn lists_are_cut() {
        let items: Vec<String> = (0..7).map(|i| i.to_string()).collect();
        assert_eq!(list(&items), "0, 1, 2, 3, 4 (+2)");
    }
}
