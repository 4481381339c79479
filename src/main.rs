use std::process::ExitCode;

use clap::Parser;

mod allocator;

fn main() -> ExitCode {
    // Already done at start-up on Linux; elsewhere, from here on.
    allocator::release_at_once();
    let cli = lambda_gate::cli::Cli::parse();
    let verbose = cli.verbose;
    lambda_gate::app::process_exit_code(lambda_gate::app::run(cli), verbose)
}
