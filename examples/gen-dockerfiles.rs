//! Writes a synthetic tree of Lambdas for benchmarks and prints its ground truth (JSON).
//!
//! cargo run --release --example gen-dockerfiles -- --count 10000 --out /tmp/lambdas [--seed 7]

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// How many Lambdas to write.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Directory to write them under.
    #[arg(long)]
    out: PathBuf,
    /// The corpus seed: the same seed writes the same tree.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let Args { count, out, seed } = Args::parse();
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("lambda-gate.toml"), "")?;
    let truth = lambda_gate::corpus::write_tree(&out, count, seed)?;
    println!("{}", serde_json::to_string_pretty(&truth)?);
    Ok(())
}
