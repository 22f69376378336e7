//! The `mimamori` command.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match mimamori::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors. A usage error is EX_USAGE (64), as a bad
            // configuration is, not clap's 2: `report` means "data incomplete" by 2.
            return ExitCode::from(if e.use_stderr() { 64 } else { 0 });
        }
    };
    match mimamori::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mimamori: {e:#}");
            ExitCode::from(mimamori::cli::exit_code(&e))
        }
    }
}
