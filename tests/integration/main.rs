//! The integration tests, one binary: the gate's CLI, fixtures and differential tests against
//! the real tools, the runner against real components, sweeps, the wheel and the Jenkins library.
//! One binary links the crate once instead of once per file (the release build with LTO is what
//! the tests run). Run one area with a filter: `cargo nextest run --release -E 'test(/^runner::/)'`.

mod check_cache;
mod cli;
mod common;
mod coverage;
mod docs;
mod features;
mod fixtures;
mod jenkins;
mod mypy_and_python;
mod mypy_differential;
mod permissions;
mod precommit;
mod python_oracle;
mod realworld;
mod robustness;
mod runner;
mod sarif;
mod scale;
mod sweep;
mod sweep_push;
mod terraform;
mod terraform_oracle;
mod wheel;
