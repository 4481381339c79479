use std::process::ExitCode;

// The gate allocates many small, short-lived strings per file: mimalloc is markedly faster
// at that than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = lambda_gate::cli::Cli::parse();
    let verbose = cli.verbose;
    match lambda_gate::app::run(cli) {
        Ok(code) => code,
        // A reader that stops early (`| head`) is not an error.
        Err(error)
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(lambda_gate::app::EXIT_CLEAN)
        }
        Err(error) => {
            lambda_gate::app::print_error(&error, verbose);
            ExitCode::from(lambda_gate::app::EXIT_ERROR)
        }
    }
}
