//! `mimamori check`: validates a configuration and prints what would run.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{self, Config};
use crate::slo::month::{self, Month};

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Show only the transactions of shard INDEX/COUNT (0-based), as
    /// `serve --shard` would run them; overrides global.shard.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<config::Shard>,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let cfg = config::load(&args.config)?;
    let shard = args.shard.unwrap_or(cfg.global.shard);
    let report = crate::probe::plan::check_report(&cfg, shard)?;
    print!("{report}");
    print!("{}", crate::backup::describe(&cfg, shard));
    print!("{}", cfg.self_check.describe());
    let tz = month::zone(&cfg.alerting.support_hours.timezone).map_err(anyhow::Error::msg)?;
    print!("{}", exclusions(&cfg, tz));
    for w in cfg.exclusion_future_warnings(crate::clock::now().timestamp()) {
        println!("warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `2 h 5 min 0 s`-style span lengths.
fn span(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min {s} s"),
    }
}

/// The audit of `exclusions:`: per calendar month in the SLO's zone, each
/// exclusion's part of that month (services, reason, span length) and the
/// month's totals. The failure seconds each one set aside are `report`'s to
/// say: they need Prometheus.
pub fn exclusions(cfg: &Config, tz: chrono_tz::Tz) -> String {
    let mut out = String::new();
    if cfg.exclusions.is_empty() {
        return out;
    }
    // (month, index, part start, part end)
    let mut parts: Vec<(Month, usize, i64, i64)> = Vec::new();
    for (i, x) in cfg.exclusions.iter().enumerate() {
        let (mut a, b) = (x.start.timestamp(), x.end.timestamp());
        while a < b {
            let m = Month::containing(a, tz);
            let e = m.next().start(tz).min(b);
            parts.push((m, i, a, e));
            a = e;
        }
    }
    parts.sort_by_key(|&(m, i, a, _)| (m, a, i));
    let _ = writeln!(
        out,
        "exclusions (SLO 対象外 / outside the SLO; failure time inside them is set aside by report, alerts unchanged), by month ({}):",
        tz.name()
    );
    let mut k = 0;
    while k < parts.len() {
        let m = parts[k].0;
        let month: Vec<_> = parts[k..].iter().take_while(|p| p.0 == m).collect();
        let total: i64 = month.iter().map(|p| p.3 - p.2).sum();
        let _ = writeln!(
            out,
            "  {m}: {} exclusion(s), {} in all",
            month.len(),
            span(total)
        );
        for &&(_, i, a, b) in &month {
            let x = &cfg.exclusions[i];
            let words = x.reason.words();
            let _ = writeln!(
                out,
                "    exclusions[{i}] {} – {} ({})  {}  {} ({} / {})  decided by {} at {}",
                month::local(a, tz),
                month::local(b, tz),
                span(b - a),
                x.services.join(", "),
                x.reason.name(),
                words.ja,
                words.en,
                x.decided_by,
                month::local(x.decided_at.timestamp(), tz)
            );
        }
        let mut by_reason: std::collections::BTreeMap<&str, i64> = Default::default();
        for &&(_, i, a, b) in &month {
            *by_reason
                .entry(cfg.exclusions[i].reason.name())
                .or_default() += b - a;
        }
        let totals: Vec<String> = by_reason
            .iter()
            .map(|(r, s)| format!("{r} {}", span(*s)))
            .collect();
        let _ = writeln!(out, "    by reason: {}", totals.join(", "));
        k += month.len();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn exclusions_are_listed_per_month_with_totals() {
        let text = r#"
services:
  - name: hanbai
    display_name: {ja: 販売, en: Sales}
    transactions:
      - name: t
        steps: [{name: s, url: 'https://hanbai.invalid/'}]
  - name: denshibin
    display_name: {ja: 電子便, en: Delivery}
    transactions:
      - name: t
        steps: [{name: s, url: 'https://denshibin.invalid/'}]
exclusions:
  - services: [hanbai, denshibin]
    start: 2026-11-30T23:30:00+09:00
    end: 2026-12-01T00:10:00+09:00
    reason: carrier_outage
    description: {ja: 通信障害, en: Carrier outage}
    decided_by: QA lead
    decided_at: 2026-12-01T09:00:00+09:00
  - services: [hanbai]
    start: 2026-11-05T10:00:00+09:00
    end: 2026-11-05T10:10:00+09:00
    reason: force_majeure
    description: {ja: 地震, en: Earthquake}
    decided_by: QA lead
    decided_at: 2026-11-06T09:00:00+09:00
"#;
        let cfg = crate::config::parse(text, "t.yaml").unwrap();
        let got = super::exclusions(&cfg, chrono_tz::Asia::Tokyo);
        assert_eq!(
            got,
            "exclusions (SLO 対象外 / outside the SLO; failure time inside them is set aside by report, alerts unchanged), by month (Asia/Tokyo):
  2026-11: 2 exclusion(s), 40 min 0 s in all
    exclusions[1] 2026-11-05T10:00:00+09:00 – 2026-11-05T10:10:00+09:00 (10 min 0 s)  hanbai  force_majeure (天変地異・不可抗力 / natural disaster or force majeure)  decided by QA lead at 2026-11-06T09:00:00+09:00
    exclusions[0] 2026-11-30T23:30:00+09:00 – 2026-12-01T00:00:00+09:00 (30 min 0 s)  hanbai, denshibin  carrier_outage (通信遮断等のインフラ障害 / carrier outage or other infrastructure failure)  decided by QA lead at 2026-12-01T09:00:00+09:00
    by reason: carrier_outage 30 min 0 s, force_majeure 10 min 0 s
  2026-12: 1 exclusion(s), 10 min 0 s in all
    exclusions[0] 2026-12-01T00:00:00+09:00 – 2026-12-01T00:10:00+09:00 (10 min 0 s)  hanbai, denshibin  carrier_outage (通信遮断等のインフラ障害 / carrier outage or other infrastructure failure)  decided by QA lead at 2026-12-01T09:00:00+09:00
    by reason: carrier_outage 10 min 0 s
"
        );
    }
}
