//! The report as text: a table for people at a terminal, Markdown for a monthly
//! report, CSV for spreadsheets, JSON for programs.
//!
//! Percentages in text are floored, never rounded up (99.99995 % prints as
//! 99.999 %); JSON carries the exact values.

use std::fmt::Write;

use super::{Format, Report, ServiceReport};
use crate::promql::decimal;
use crate::slo::compute::{floor_percent, Verdict};

pub fn render(r: &Report, format: Format) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(r).expect("a report serializes");
            s.push('\n');
            s
        }
        Format::Table => {
            table(r)
                + &super::backups::text(&r.backups, format)
                + &super::notices::text(r.notices.as_ref(), format)
        }
        Format::Markdown => {
            markdown(r)
                + &super::backups::text(&r.backups, format)
                + &super::notices::text(r.notices.as_ref(), format)
        }
        Format::Csv => {
            csv(r)
                + &super::backups::text(&r.backups, format)
                + &super::notices::text(r.notices.as_ref(), format)
        }
    }
}

fn availability(s: &ServiceReport) -> String {
    floor_percent(s.availability_percent, s.exact.availability, 3)
}

fn adjusted(s: &ServiceReport) -> String {
    floor_percent(s.availability_adjusted_percent, s.exact.adjusted, 3)
}

/// The verdict is judged on the adjusted figure: exclusions apply and one touches the month.
fn judged_adjusted(s: &ServiceReport) -> bool {
    s.apply_exclusions && !s.exclusions.is_empty()
}

fn worst_case(s: &ServiceReport) -> String {
    floor_percent(s.availability_worst_case_percent, s.exact.worst_case, 3)
}

fn latency(s: &ServiceReport) -> String {
    match s.latency.within_percent {
        Some(w) => floor_percent(w, None, 3),
        None => "-".into(),
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "達成 / met"
    } else {
        "未達 / missed"
    }
}

fn coverage(s: &ServiceReport) -> String {
    floor_percent(s.coverage_percent, s.exact.coverage, 2)
}

/// The availability verdict: met, missed, or not determinable with the share observed.
fn availability_verdict(s: &ServiceReport) -> String {
    match s.verdict {
        Verdict::Met => "達成 / met".into(),
        Verdict::Missed => "未達 / missed".into(),
        Verdict::NotDeterminable => {
            let seen = coverage(s);
            format!("判定不能 / not determinable (観測 {seen} % / observed {seen} %)")
        }
    }
}

/// `; 1 結果 = 60 s / a result stands for 60 s` when the scrape interval, not
/// the probe interval, set how long a result judged the month's steps.
fn spacing(s: &ServiceReport) -> String {
    match s.result_spacing_seconds.as_slice() {
        [] => String::new(),
        [one] if *one == s.exact.step_seconds => String::new(),
        v => {
            let list: Vec<String> = v.iter().map(|x| format!("{x} s")).collect();
            format!(
                "; 1 結果の代表時間 / a result stands for {} (取得間隔 / scrape interval)",
                list.join(", ")
            )
        }
    }
}

/// ` (+ 30 s 不明 / unknown)` for an incident with unknown time inside.
fn gap(unknown: i64) -> String {
    if unknown > 0 {
        format!(" (+ {unknown} s 不明 / unknown)")
    } else {
        String::new()
    }
}

/// `600 s (10 min)`-style durations: seconds, and a readable form when long.
fn dur(seconds: i64) -> String {
    let (d, h, m, s) = (
        seconds / 86400,
        seconds % 86400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    let long = if d > 0 {
        format!(" ({d} d {h} h {m} min {s} s)")
    } else if h > 0 {
        format!(" ({h} h {m} min {s} s)")
    } else if m > 0 {
        format!(" ({m} min {s} s)")
    } else {
        String::new()
    };
    format!("{seconds} s{long}")
}

/// `s` padded with spaces to `width` terminal columns (CJK characters take two).
fn pad(s: &str, width: usize) -> String {
    let w: usize = s
        .chars()
        .map(|c| if (c as u32) < 0x1100 { 1 } else { 2 })
        .sum();
    format!("{s}{}", " ".repeat(width.saturating_sub(w).max(1)))
}

fn table(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "月次 SLO レポート / Monthly SLO report: {} (生成 / generated {}, {})",
        r.month, r.generated_at, r.prometheus_url
    );
    for s in &r.services {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{} / {} ({})",
            s.display_name.ja, s.display_name.en, s.service
        );
        let span = if s.exact.to_date {
            "月途中 / month to date"
        } else {
            "1 か月 / whole month"
        };
        let rows: Vec<(&str, String)> = vec![
            (
                "対象期間 / period",
                format!(
                    "{} – {} ({span}, {}; 分解能 / resolution {} s{})",
                    s.exact.start,
                    s.exact.until,
                    s.timezone,
                    s.exact.step_seconds,
                    spacing(s)
                ),
            ),
            (
                "月間稼働率 / availability",
                if judged_adjusted(s) {
                    format!("{} %  (全障害を含む / every failure counted)", availability(s))
                } else {
                    format!(
                        "{} %  (目標 / objective {} %: {})",
                        availability(s),
                        decimal(s.objective_percent),
                        availability_verdict(s)
                    )
                },
            ),
            (
                "対象外を除く / adjusted",
                format!(
                    "{} %  (SLO 対象外 {} s を除く / {} s outside the SLO set aside{})",
                    adjusted(s),
                    s.excluded_failure_seconds,
                    s.excluded_failure_seconds,
                    if judged_adjusted(s) {
                        format!(
                            "; 目標 / objective {} %: {}",
                            decimal(s.objective_percent),
                            availability_verdict(s)
                        )
                    } else if !s.apply_exclusions {
                        "; 判定には使わない / not used for the verdict".to_string()
                    } else {
                        String::new()
                    }
                ),
            ),
            (
                "観測率 / coverage",
                format!(
                    "{} %  (観測できた稼働時間 / operating time observed; 判定に必要 / needed {} %)",
                    coverage(s),
                    decimal(s.min_coverage_percent)
                ),
            ),
            (
                "最悪値 / worst case",
                format!(
                    "{} %  (不明時間を障害とみなす / unknown counted as failure)",
                    worst_case(s)
                ),
            ),
            ("暦時間 / month", dur(s.month_seconds)),
            ("計画停止 / maintenance", dur(s.maintenance_seconds)),
            ("稼働時間 / operating time", dur(s.operating_seconds)),
            ("障害時間 / failure time", dur(s.failure_seconds)),
            (
                "うち SLO 対象外 / of which excluded",
                dur(s.excluded_failure_seconds),
            ),
            ("不明時間 / unknown time", dur(s.unknown_seconds)),
            (
                "エラー予算 / error budget",
                format!(
                    "{} s, {} % 使用 / used{}",
                    decimal(s.budget_seconds),
                    floor_percent(s.budget_used_percent, None, 3),
                    if s.exclusions.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (SLO 対象外を除く / exclusions set aside: {} %)",
                            floor_percent(s.budget_used_adjusted_percent, None, 3)
                        )
                    }
                ),
            ),
            (
                "応答時間 / latency",
                format!(
                    "{} % が {} 秒以内 / within {} s  (目標 / target {} %: {})",
                    latency(s),
                    decimal(s.latency.threshold_seconds),
                    decimal(s.latency.threshold_seconds),
                    decimal(s.latency.target_percent),
                    if s.latency.within_percent.is_none() {
                        "不明 / unknown"
                    } else {
                        verdict(s.latency.met)
                    }
                ),
            ),
        ];
        for (k, v) in rows {
            let _ = writeln!(o, "  {}{v}", pad(k, 30));
        }
        let _ = writeln!(o, "  障害 / incidents: {}", s.incidents.len());
        for i in &s.incidents {
            let _ = writeln!(
                o,
                "    {} – {}  {}{}  {}  {}{}",
                i.start,
                i.end,
                dur(i.seconds),
                gap(i.unknown_seconds),
                i.locations.join(", "),
                i.reason,
                excluded_mark(i.seconds, i.excluded_seconds)
            );
        }
        if !s.exclusions.is_empty() {
            let _ = writeln!(o, "  SLO 対象外 / exclusions: {}", s.exclusions.len());
            for x in &s.exclusions {
                let _ = writeln!(
                    o,
                    "    {} – {}  {}  {} / {}  ({})",
                    x.start,
                    x.end,
                    dur(x.excluded_seconds),
                    x.reason_words.ja,
                    x.reason_words.en,
                    x.reason.name()
                );
                let _ = writeln!(
                    o,
                    "      {} / {}  決定 / decided by {} at {}{}",
                    x.description.ja,
                    x.description.en,
                    x.decided_by,
                    x.decided_at,
                    x.evidence
                        .as_ref()
                        .map(|e| format!("  根拠 / evidence {e}"))
                        .unwrap_or_default()
                );
            }
        }
        if !s.maintenance.is_empty() {
            let _ = writeln!(o, "  メンテナンス / maintenance windows:");
            for m in &s.maintenance {
                let _ = writeln!(
                    o,
                    "    {} – {}  告知 / announced {}  {}  {}",
                    m.start,
                    m.end,
                    m.announced_at,
                    if m.in_time {
                        "計画停止 / planned"
                    } else {
                        "告知遅れ・稼働時間 / announced late: operating time"
                    },
                    m.title
                );
            }
        }
        for w in &s.warnings {
            let _ = writeln!(o, "  注意 / warning: {w}");
        }
    }
    o
}

/// `  [SLO 対象外 / excluded]` (or `[一部 SLO 対象外 / partly excluded: 300 s]`) after an incident.
fn excluded_mark(seconds: i64, excluded: i64) -> String {
    if excluded <= 0 {
        String::new()
    } else if excluded >= seconds {
        "  [SLO 対象外 / excluded from the SLO]".into()
    } else {
        format!("  [一部 SLO 対象外 / partly excluded from the SLO: {excluded} s]")
    }
}

fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# 月次 SLO レポート / Monthly SLO report: {}\n", r.month);
    let _ = writeln!(
        o,
        "生成 / generated {} from {}. 稼働率 = (稼働時間 − 障害時間) ÷ 稼働時間 / availability = (operating time − failure time) ÷ operating time; percentages are floored.\n",
        r.generated_at, r.prometheus_url
    );
    let _ = writeln!(o, "| サービス / service | 稼働率 / availability | 対象外を除く / adjusted | 目標 / objective | 判定 / verdict | 観測率 / coverage | 障害時間 / failure | うち対象外 / excluded | 不明 / unknown | 計画停止 / maintenance | 応答 3 s 以内 / latency |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|");
    for s in &r.services {
        let _ = writeln!(
            o,
            "| {} / {} | {} % | {} %{} | {} % | {} | {} % | {} s | {} s | {} s | {} s | {} % ({}) |",
            s.display_name.ja,
            s.display_name.en,
            availability(s),
            adjusted(s),
            if judged_adjusted(s) { " (判定 / judged)" } else { "" },
            decimal(s.objective_percent),
            availability_verdict(s),
            coverage(s),
            s.failure_seconds,
            s.excluded_failure_seconds,
            s.unknown_seconds,
            s.maintenance_seconds,
            latency(s),
            if s.latency.within_percent.is_none() {
                "不明 / unknown"
            } else {
                verdict(s.latency.met)
            }
        );
    }
    for s in &r.services {
        let _ = writeln!(o, "\n## {} / {}\n", s.display_name.ja, s.display_name.en);
        let _ = writeln!(
            o,
            "- 対象期間 / period: {} – {} ({}){}",
            s.exact.start,
            s.exact.until,
            s.timezone,
            if s.exact.to_date {
                ", 月途中 / month to date"
            } else {
                ""
            }
        );
        let _ = writeln!(
            o,
            "- 稼働時間 / operating time: {} s = {} s − 計画停止 / maintenance {} s",
            s.operating_seconds, s.month_seconds, s.maintenance_seconds
        );
        let _ = writeln!(
            o,
            "- 稼働率 / availability: ({} − {}) ÷ {} = **{} %**; 最悪値 / worst case (unknown as failure) {} %",
            s.operating_seconds,
            s.failure_seconds,
            s.operating_seconds,
            availability(s),
            worst_case(s)
        );
        let _ = writeln!(
            o,
            "- SLO 対象外を除く / with the exclusions set aside: ({} − ({} − {})) ÷ {} = **{} %**{}",
            s.operating_seconds,
            s.failure_seconds,
            s.excluded_failure_seconds,
            s.operating_seconds,
            adjusted(s),
            if judged_adjusted(s) {
                " (判定に使用 / the verdict is judged on it)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            o,
            "- 観測率 / coverage: {} % of the operating time observed (判定に必要 / needed {} %){}",
            coverage(s),
            decimal(s.min_coverage_percent),
            spacing(s)
        );
        let _ = writeln!(
            o,
            "- エラー予算 / error budget: {} s, {} % 使用 / used",
            decimal(s.budget_seconds),
            floor_percent(s.budget_used_percent, None, 3)
        );
        if s.incidents.is_empty() {
            let _ = writeln!(o, "- 障害 / incidents: なし / none");
        } else {
            let _ = writeln!(
                o,
                "\n| 開始 / start | 終了 / end | 秒 / seconds | 不明 / unknown inside | 拠点 / locations | 原因 / reason | SLO 対象外 / excluded |"
            );
            let _ = writeln!(o, "|---|---|---|---|---|---|---|");
            for i in &s.incidents {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} s |",
                    i.start,
                    i.end,
                    i.seconds,
                    i.unknown_seconds,
                    i.locations.join(", "),
                    i.reason,
                    i.excluded_seconds
                );
            }
        }
        if !s.exclusions.is_empty() {
            let _ = writeln!(
                o,
                "\n| SLO 対象外 / exclusion | 理由 / reason | 除外秒 / seconds set aside | 決定 / decided | 内容 / description |"
            );
            let _ = writeln!(o, "|---|---|---|---|---|");
            for x in &s.exclusions {
                let _ = writeln!(
                    o,
                    "| {} – {} | {} / {} | {} | {}, {}{} | {} / {} |",
                    x.start,
                    x.end,
                    x.reason_words.ja,
                    x.reason_words.en,
                    x.excluded_seconds,
                    x.decided_by,
                    x.decided_at,
                    x.evidence
                        .as_ref()
                        .map(|e| format!(" ([根拠 / evidence]({e}))"))
                        .unwrap_or_default(),
                    x.description.ja,
                    x.description.en
                );
            }
        }
        if !s.maintenance.is_empty() {
            let _ = writeln!(
                o,
                "\n| メンテナンス / maintenance | 告知 / announced | 扱い / counted as |"
            );
            let _ = writeln!(o, "|---|---|---|");
            for m in &s.maintenance {
                let _ = writeln!(
                    o,
                    "| {} – {} {} | {} | {} |",
                    m.start,
                    m.end,
                    m.title,
                    m.announced_at,
                    if m.in_time {
                        "計画停止 / planned"
                    } else {
                        "稼働時間（告知遅れ） / operating time (announced late)"
                    }
                );
            }
        }
        for w in &s.warnings {
            let _ = writeln!(o, "\n> 注意 / warning: {w}");
        }
    }
    o
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(r: &Report) -> String {
    let mut o = String::from("service,month,timezone,month_seconds,operating_seconds,maintenance_seconds,failure_seconds,unknown_seconds,availability_percent,availability_worst_case_percent,objective_percent,met,verdict,coverage_percent,min_coverage_percent,budget_seconds,budget_used_percent,latency_within_percent,latency_target_percent,latency_met,incidents,warnings,excluded_failure_seconds,availability_adjusted_percent,exclusions\n");
    for s in &r.services {
        let fields = [
            s.service.clone(),
            s.month.clone(),
            s.timezone.clone(),
            s.month_seconds.to_string(),
            s.operating_seconds.to_string(),
            s.maintenance_seconds.to_string(),
            s.failure_seconds.to_string(),
            s.unknown_seconds.to_string(),
            s.availability_percent.to_string(),
            s.availability_worst_case_percent.to_string(),
            decimal(s.objective_percent),
            s.met.to_string(),
            serde_json::to_value(s.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            s.coverage_percent.to_string(),
            decimal(s.min_coverage_percent),
            decimal(s.budget_seconds),
            s.budget_used_percent.to_string(),
            s.latency
                .within_percent
                .map(|w| w.to_string())
                .unwrap_or_default(),
            decimal(s.latency.target_percent),
            s.latency.met.to_string(),
            s.incidents.len().to_string(),
            s.warnings.join(" | "),
            s.excluded_failure_seconds.to_string(),
            s.availability_adjusted_percent.to_string(),
            s.exclusions.len().to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        let _ = writeln!(o, "{}", line.join(","));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(dur(45), "45 s");
        assert_eq!(dur(600), "600 s (10 min 0 s)");
        assert_eq!(dur(2_592_000), "2592000 s (30 d 0 h 0 min 0 s)");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(pad("稼働率 / x", 12), "稼働率 / x  ");
    }
}
