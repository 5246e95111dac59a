use aftercare::cli::{self, Cli, Command};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // In the terminal chat, log lines would interleave with the conversation.
    let quiet = matches!(cli.command, Command::Chat(_));
    aftercare::telemetry::init(if quiet { "warn" } else { "warn,aftercare=info" });
    cli::run(&cli)
}
