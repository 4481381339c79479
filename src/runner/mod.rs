//! The runner: what happens after a clean gate (build, smoke-test, push, promote). This holds
//! the parts every step shares.

pub mod reference;
