//! `mimamori doctor`: checks a live stack against what the generated rules,
//! `report` and `status` rely on, and says what to fix.
//!
//! Everything here reads Prometheus' HTTP API through [`crate::query`] and
//! the names in [`crate::promql`]. [`gather`] asks Prometheus (and the
//! Alertmanagers it discovered) once; [`checks`] judges those facts against
//! the configuration as pure functions, so each verdict is tested without a
//! server. Exit codes: 0 nothing wrong (warnings are printed but do not fail,
//! unless `--strict`), 1 a problem, 2 cannot tell (Prometheus unreachable,
//! or a check whose API the server does not serve), 64 usage or configuration.

pub mod checks;
mod gather;

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::query::{self, ClientOptions};
use crate::slo;

pub use gather::{gather, Facts};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per check: status, check, finding (Japanese / English), hint.
    Table,
    Json,
}

/// What `mimamori doctor` was asked for: its flags, parsed and checked by
/// clap at the edge (`cli` uses this struct directly, no mirror).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The configuration the probers run and the rules were generated from.
    #[arg(long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub prometheus: ClientOptions,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Exit 1 on warnings too, not only on problems.
    #[arg(long)]
    pub strict: bool,
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but something the figures rely on is weaker than it should be.
    Warn,
    /// Figures, alerts or the status page are wrong or missing because of it.
    Problem,
    /// Cannot tell (the API is not served, or did not answer).
    Unknown,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Problem => "PROBLEM",
            Status::Unknown => "UNKNOWN",
        }
    }
}

/// One finding. A check may give several (e.g. one per location).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    pub finding_ja: String,
    pub finding_en: String,
    /// Empty when there is nothing to do.
    pub hint_ja: String,
    pub hint_en: String,
}

impl Check {
    pub fn ok(id: &'static str, ja: impl Into<String>, en: impl Into<String>) -> Check {
        Check {
            id,
            status: Status::Ok,
            finding_ja: ja.into(),
            finding_en: en.into(),
            hint_ja: String::new(),
            hint_en: String::new(),
        }
    }

    pub fn new(
        id: &'static str,
        status: Status,
        (finding_ja, finding_en): (String, String),
        (hint_ja, hint_en): (String, String),
    ) -> Check {
        Check {
            id,
            status,
            finding_ja,
            finding_en,
            hint_ja,
            hint_en,
        }
    }
}

/// Every finding and the exit code they make (the JSON document).
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub prometheus_url: String,
    pub checks: Vec<Check>,
    pub exit_code: u8,
}

/// 1 for a problem (or, with `strict`, a warning), else 2 when something
/// cannot be told, else 0.
pub fn exit_code(checks: &[Check], strict: bool) -> u8 {
    let has = |s: Status| checks.iter().any(|c| c.status == s);
    if has(Status::Problem) || (strict && has(Status::Warn)) {
        1
    } else if has(Status::Unknown) {
        2
    } else {
        0
    }
}

/// Entry point from the CLI.
pub fn run(args: Options) -> anyhow::Result<ExitCode> {
    let ctx = match slo::Context::load(&args.config, &args.prometheus, &[]) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mimamori doctor: {e}");
            return Ok(ExitCode::from(64));
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let now = crate::clock::now().timestamp();
    let facts = rt.block_on(gather(&ctx.client, &ctx.cfg, &args.prometheus, now));
    let checks = checks::all(&ctx.cfg, &ctx.plans, &facts, now);
    let d = Diagnosis {
        prometheus_url: ctx.client.url().to_string(),
        exit_code: exit_code(&checks, args.strict),
        checks,
    };
    print!("{}", render(&d, args.format));
    Ok(ExitCode::from(d.exit_code))
}

/// The table or the JSON document.
pub fn render(d: &Diagnosis, format: Format) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(d).expect("a diagnosis serializes");
            s.push('\n');
            s
        }
        Format::Table => {
            let mut out = String::new();
            for c in &d.checks {
                out.push_str(&format!(
                    "{:<7} {:<17} {} / {}",
                    c.status.word(),
                    c.id,
                    c.finding_ja,
                    c.finding_en
                ));
                if !c.hint_ja.is_empty() || !c.hint_en.is_empty() {
                    out.push_str(&format!("  ヒント: {} / hint: {}", c.hint_ja, c.hint_en));
                }
                out.push('\n');
            }
            let count = |s: Status| d.checks.iter().filter(|c| c.status == s).count();
            out.push_str(&format!(
                "\n{} 件 OK、警告 {} 件、問題 {} 件、判定不能 {} 件 / {} ok, {} warning(s), {} problem(s), {} unknown (Prometheus {})\n",
                count(Status::Ok),
                count(Status::Warn),
                count(Status::Problem),
                count(Status::Unknown),
                count(Status::Ok),
                count(Status::Warn),
                count(Status::Problem),
                count(Status::Unknown),
                d.prometheus_url
            ));
            out
        }
    }
}

/// A query error in words for a finding: `(ja, en)`.
pub(crate) fn error_words(e: &query::Error) -> (String, String) {
    match e {
        query::Error::Status { status: 404, .. } => (
            "この API はこのサーバーにありません (404)".into(),
            "this server does not serve the API (404)".into(),
        ),
        other => {
            let m = other.to_string();
            (m.clone(), m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: Status) -> Check {
        Check::new(
            "x",
            status,
            ("ja".into(), "en".into()),
            ("h".into(), "h".into()),
        )
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(&[c(Status::Ok)], false), 0);
        assert_eq!(exit_code(&[c(Status::Ok), c(Status::Warn)], false), 0);
        assert_eq!(exit_code(&[c(Status::Warn)], true), 1);
        assert_eq!(exit_code(&[c(Status::Unknown), c(Status::Warn)], false), 2);
        assert_eq!(
            exit_code(&[c(Status::Unknown), c(Status::Problem)], false),
            1
        );
    }

    #[test]
    fn table_lines_carry_both_languages_and_the_hint() {
        let d = Diagnosis {
            prometheus_url: "http://p/".into(),
            checks: vec![
                Check::ok("rules", "規則", "rules"),
                Check::new(
                    "scrape",
                    Status::Warn,
                    ("遅い".into(), "slow".into()),
                    ("速く".into(), "faster".into()),
                ),
            ],
            exit_code: 0,
        };
        let t = render(&d, Format::Table);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "OK      rules             規則 / rules");
        assert_eq!(
            lines[1],
            "WARN    scrape            遅い / slow  ヒント: 速く / hint: faster"
        );
        let j: serde_json::Value = serde_json::from_str(&render(&d, Format::Json)).unwrap();
        assert_eq!(j["checks"][1]["status"], "warn");
        assert_eq!(j["checks"][1]["hint_en"], "faster");
        assert_eq!(j["exit_code"], 0);
    }
}
