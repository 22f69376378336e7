//! The `mimamori` command.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = mimamori::cli::Cli::parse();
    match mimamori::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mimamori: {e:#}");
            ExitCode::from(mimamori::cli::exit_code(&e))
        }
    }
}
