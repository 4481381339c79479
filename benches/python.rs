//! Python source parsed and checked per second (MB/s), in memory, on the Python modules of
//! the synthetic corpus (`lambda_gate::corpus`): each Lambda's handler and pricing module.
//! BENCHMARKS.md records the figures.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rayon::prelude::*;

use lambda_gate::corpus;
use lambda_gate::rules::python;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LAMBDAS: usize = 5_000;

/// (text, handler function if the module is the handler's)
fn modules() -> Vec<(String, Option<&'static str>)> {
    let mut modules = Vec::new();
    for index in 0..LAMBDAS {
        for (path, text) in corpus::lambda(7, index).files {
            if path.ends_with("handler.py") {
                modules.push((text, Some("handler")));
            } else if path.ends_with(".py") && !text.is_empty() {
                modules.push((text, None));
            }
        }
    }
    modules
}

fn lint(text: &str, handler: Option<&str>) -> usize {
    python::lint(Path::new("m.py"), text, handler, &|_| true).len()
}

fn bench(c: &mut Criterion) {
    let modules = modules();
    let bytes: usize = modules.iter().map(|(t, _)| t.len()).sum();
    eprintln!("corpus: {} modules, {bytes} bytes", modules.len());
    let mut group = c.benchmark_group("python");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("parse+check/1-thread", |b| {
        b.iter(|| modules.iter().map(|(t, h)| lint(t, *h)).sum::<usize>())
    });
    group.bench_function("parse+check/rayon", |b| {
        b.iter(|| modules.par_iter().map(|(t, h)| lint(t, *h)).sum::<usize>())
    });
    // As the gate runs: a byte scan decides which non-handler modules need a tree at all.
    group.bench_function("gate/rayon", |b| {
        b.iter(|| {
            modules
                .par_iter()
                .filter(|(t, h)| h.is_some() || python::needs_tree(t.as_bytes()))
                .map(|(t, h)| lint(t, *h))
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
