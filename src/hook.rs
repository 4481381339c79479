//! `lambda-gate-hook`: `lambda-gate check` and nothing else, for the pre-commit hook, which
//! runs it on every commit. It takes `check`'s arguments (`lambda-gate-hook --files a.py`)
//! and behaves as `lambda-gate check` does. Linking no more than the gate, it starts as the
//! gate-only build does, whatever features `cargo install` built the crate with: the runner's
//! TLS and AWS code, and their start-up, stay out (BENCHMARKS.md, "pre-commit").

use std::process::ExitCode;

use clap::Parser;

mod allocator;

/// Check the Lambdas under PATHs against the policy (`lambda-gate check`, for pre-commit).
#[derive(Debug, Parser)]
#[command(name = "lambda-gate-hook", version)]
struct HookCli {
    #[command(flatten)]
    check: lambda_gate::cli::CheckArgs,
    /// On failure, also print the underlying library's full account.
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> ExitCode {
    // Already done at start-up on Linux; elsewhere, from here on.
    allocator::release_at_once();
    let cli = HookCli::parse();
    let verbose = cli.verbose;
    lambda_gate::app::process_exit_code(lambda_gate::app::run_check(cli.check, verbose), verbose)
}
