//! lambda-gate: a policy gate (and, later, build runner) for Python AWS Lambda functions
//! shipped as container images.
//!
//! Data flows one way: [`discover`] finds the Lambdas, [`check`] parses each file once and
//! runs the [`rules`] in parallel, [`suppression`] filters, [`report`] renders.

pub mod app;
pub mod build_context;
pub mod cache;
pub mod check;
pub mod cli;
pub mod corpus;
pub mod date;
pub mod diagnostic;
pub mod digest;
pub mod discover;
pub mod ecr;
pub mod engine;
pub mod error;
pub mod fix;
pub mod fsio;
pub mod glob;
pub mod parallel;
pub mod policy;
pub mod report;
pub mod rules;
#[cfg(feature = "runner")]
pub mod runner;
pub mod suppression;
pub mod sweep;
pub mod units;
pub mod walk;
