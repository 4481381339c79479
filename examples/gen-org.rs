//! Writes a synthetic organisation for sweeps: N git repositories of generated Lambdas (a known
//! mix of violations and broken files), `repos.txt` with their `file://` URLs and one that
//! cannot be cloned, and `truth.json` with the counts a sweep must report.
//!
//! cargo run --release --example gen-org -- --repos 200 --out /tmp/org

use std::io::Write;

#[derive(clap::Parser)]
struct Args {
    /// How many repositories (1 to 9 Lambdas each, about 5 on average).
    #[arg(long, default_value_t = 200)]
    repos: usize,
    #[arg(long)]
    out: std::path::PathBuf,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let Args { repos, out, seed } = <Args as clap::Parser>::parse();
    let truth = lambda_gate::corpus::write_org(&out, repos, seed)?;
    // `| head` closing the pipe is an error to report, not a panic.
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &truth)?;
    writeln!(out)?;
    Ok(())
}
