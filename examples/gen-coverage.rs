//! Writes a large Cobertura report (as coverage.py writes them) for the reader benchmark.
//!
//! cargo run --release --example gen-coverage -- --megabytes 200 --out /tmp/big-coverage.xml

use std::io::{BufWriter, Write};

#[derive(clap::Parser)]
struct Args {
    /// Approximate size of the report.
    #[arg(long, default_value_t = 200)]
    megabytes: u64,
    /// The file to write.
    #[arg(long)]
    out: std::path::PathBuf,
}

fn main() -> anyhow::Result<()> {
    let Args { megabytes, out } = <Args as clap::Parser>::parse();
    let target = megabytes * 1024 * 1024;
    // The root carries the totals, so the body is built first and the header written after.
    let mut body = Vec::with_capacity(target as usize + 4096);
    let (mut valid, mut covered, mut branches, mut branches_covered) = (0u64, 0u64, 0u64, 0u64);
    let mut file = 0u64;
    while (body.len() as u64) < target {
        writeln!(body, "\t\t\t\t<class name=\"m{file}.py\" filename=\"pkg/m{file}.py\" complexity=\"0\" line-rate=\"0.8\" branch-rate=\"0.5\">\n\t\t\t\t\t<methods/>\n\t\t\t\t\t<lines>")?;
        for line in 1..=400u64 {
            let hit = u64::from(!(line * 7 + file).is_multiple_of(5));
            valid += 1;
            covered += hit;
            if line % 10 == 0 {
                let taken = hit + u64::from(line % 20 == 0);
                branches += 2;
                branches_covered += taken.min(2);
                writeln!(body, "\t\t\t\t\t\t<line number=\"{line}\" hits=\"{hit}\" branch=\"true\" condition-coverage=\"{}% ({}/2)\"/>", taken.min(2) * 50, taken.min(2))?;
            } else {
                writeln!(body, "\t\t\t\t\t\t<line number=\"{line}\" hits=\"{hit}\"/>")?;
            }
        }
        writeln!(body, "\t\t\t\t\t</lines>\n\t\t\t\t</class>")?;
        file += 1;
    }
    let mut writer = BufWriter::new(std::fs::File::create(&out)?);
    writeln!(writer, "<?xml version=\"1.0\" ?>\n<coverage version=\"7.17.3\" timestamp=\"1\" lines-valid=\"{valid}\" lines-covered=\"{covered}\" line-rate=\"0.8\" branches-valid=\"{branches}\" branches-covered=\"{branches_covered}\" branch-rate=\"0.5\" complexity=\"0\">\n\t<sources>\n\t\t<source>/work/fn</source>\n\t</sources>\n\t<packages>\n\t\t<package name=\"pkg\" line-rate=\"0.8\" branch-rate=\"0.5\" complexity=\"0\">\n\t\t\t<classes>")?;
    writer.write_all(&body)?;
    writeln!(
        writer,
        "\t\t\t</classes>\n\t\t</package>\n\t</packages>\n</coverage>"
    )?;
    writer.flush()?;
    println!("{{\"files\": {file}, \"statements\": {valid}, \"covered_statements\": {covered}, \"branches\": {branches}, \"covered_branches\": {branches_covered}}}");
    Ok(())
}
