use std::process::ExitCode;

// The gate allocates many small, short-lived strings per file: mimalloc is markedly faster
// at that than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
