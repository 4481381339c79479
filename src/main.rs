use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = lambda_gate::cli::Cli::parse();
    match lambda_gate::app::run(cli) {
        Ok(code) => code,
        Err(error) => {
            lambda_gate::app::print_error(&error);
            ExitCode::from(lambda_gate::app::EXIT_ERROR)
        }
    }
}
