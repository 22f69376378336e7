//! `mimamori generate`: writes (or checks) the rules, routing and dashboards.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::generate::ruler::RulerFormat;
use crate::{config, generate};

/// Options of `mimamori generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Configuration file.
    #[arg(long)]
    pub config: PathBuf,
    /// Directory to write `rules/`, `dashboards/` and `deploy/alertmanager/` under.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Write nothing; exit non-zero when the files on disk differ from what would be written.
    #[arg(long)]
    pub check: bool,
    /// Also write the rules as a prometheus-operator `PrometheusRule` object
    /// (`deploy/prometheus-operator/prometheusrule.yaml`).
    #[arg(long)]
    pub prometheus_operator: bool,
    /// Also write, comma-separated or repeated: the rules for a ruler, `mimir`
    /// (`rules/mimir/mimamori.yml`, one namespace for `mimirtool rules load`) or `thanos`
    /// (`rules/thanos/*.yml`, with each group's `partial_response_strategy`); `openslo`, the
    /// objectives as OpenSLO v1 (`openslo/mimamori.yaml`). `rules/*.yml` are always written.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "prometheus")]
    pub format: Vec<Format>,
}

/// What `--format` adds to the files always written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Nothing more: Prometheus reads `rules/*.yml`.
    Prometheus,
    /// `rules/mimir/mimamori.yml`.
    Mimir,
    /// `rules/thanos/*.yml`.
    Thanos,
    /// `openslo/mimamori.yaml`: Service, SLI, SLO, AlertPolicy, AlertCondition, DataSource.
    Openslo,
}

/// Exit 0 when everything was written or (with `--check`) nothing differs.
pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let cfg = config::load(&args.config)?;
    let mut all = generate::files(&cfg, RulerFormat::Prometheus)?;
    let mut seen = Vec::new();
    for &f in &args.format {
        if seen.contains(&f) {
            continue;
        }
        seen.push(f);
        match f {
            Format::Prometheus => {}
            Format::Mimir => all.extend(generate::ruler_files(&cfg, RulerFormat::Mimir)?),
            Format::Thanos => all.extend(generate::ruler_files(&cfg, RulerFormat::Thanos)?),
            Format::Openslo => all.extend(generate::openslo::files(&cfg)),
        }
    }
    if args.prometheus_operator {
        all.push(generate::prometheus_rule(&cfg)?);
    }
    let same = generate::write_or_check(&all, &args.out, args.check)?;
    Ok(if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
