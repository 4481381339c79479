//! Writes a synthetic tree of Lambdas for benchmarks and prints its ground truth (JSON).
//!
//! cargo run --release --example gen-dockerfiles -- --count 10000 --out /tmp/lambdas [--seed 7]

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut count = 10_000usize;
    let mut out = None;
    let mut seed = 7u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--count" => count = value()?.parse()?,
            "--out" => out = Some(PathBuf::from(value()?)),
            "--seed" => seed = value()?.parse()?,
            other => anyhow::bail!("unknown argument {other}: --count N --out DIR [--seed S]"),
        }
    }
    let out = out.ok_or_else(|| anyhow::anyhow!("--out DIR is required"))?;
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("lambda-gate.toml"), "")?;
    let truth = lambda_gate::corpus::write_tree(&out, count, seed)?;
    println!("{}", serde_json::to_string_pretty(&truth)?);
    Ok(())
}
