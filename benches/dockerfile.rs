//! Dockerfiles parsed and checked per second, in memory (no file system), on the synthetic
//! corpus of `lambda_gate::corpus`. BENCHMARKS.md records the figures.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rayon::prelude::*;

use lambda_gate::build_context::BuildContext;
use lambda_gate::corpus;
use lambda_gate::policy::{default_policy, EffectivePolicy};
use lambda_gate::rules::dockerfile::parser;
use lambda_gate::rules::dockerfile::unit::lint_dockerfile;

// The same allocator as the binary, so the figures are the ones users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const COUNT: usize = 10_000;

fn bench(c: &mut Criterion) {
    let lambdas: Vec<_> = (0..COUNT).map(|i| corpus::lambda(7, i)).collect();
    let contexts: Vec<BuildContext> = lambdas
        .iter()
        .map(|l| BuildContext::from_files(l.files.iter().map(|(p, _)| p.clone()).collect()))
        .collect();
    let policy = EffectivePolicy::compile(default_policy()).expect("default policy");
    let bytes: usize = lambdas.iter().map(|l| l.dockerfile().len()).sum();
    eprintln!("corpus: {COUNT} Dockerfiles, {bytes} bytes");

    let mut group = c.benchmark_group("dockerfile");
    group.throughput(Throughput::Elements(COUNT as u64));
    group.sample_size(20);
    group.bench_function("parse/1-thread", |b| {
        b.iter(|| {
            lambdas
                .iter()
                .filter(|l| parser::parse(l.dockerfile()).is_ok())
                .count()
        })
    });
    group.bench_function("parse+check/1-thread", |b| {
        b.iter(|| {
            lambdas
                .iter()
                .zip(&contexts)
                .map(|(l, ctx)| {
                    lint_dockerfile(Path::new("Dockerfile"), l.dockerfile(), &policy, ctx).len()
                })
                .sum::<usize>()
        })
    });
    group.bench_function("parse+check/rayon", |b| {
        b.iter_batched(
            || (),
            |()| {
                lambdas
                    .par_iter()
                    .zip(contexts.par_iter())
                    .map(|(l, ctx)| {
                        lint_dockerfile(Path::new("Dockerfile"), l.dockerfile(), &policy, ctx).len()
                    })
                    .sum::<usize>()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
