//! `mimamori import openslo FILE...`: objectives from OpenSLO v1 documents into a
//! configuration skeleton on stdout; what cannot map goes to stderr with file:line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::generate::openslo::import;

/// The formats `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// OpenSLO v1 (Service, SLI, SLO; alert policies are derived, not imported).
    Openslo,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// What the files are.
    #[arg(value_enum)]
    pub format: ImportFormat,
    /// Files of (multi-document) YAML.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Exit 0 when every objective mapped, 1 when something did not (the skeleton holds the rest).
pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let ImportFormat::Openslo = args.format;
    let mut inputs = Vec::new();
    for f in &args.files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        inputs.push((f.display().to_string(), text));
    }
    let out = import::import(&inputs);
    print!("{}", out.skeleton);
    for e in &out.errors {
        eprintln!("{e}");
    }
    Ok(if out.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
