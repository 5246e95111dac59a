use aftercare::cli::{self, Cli};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    aftercare::telemetry::init();
    cli::run(&cli)
}
