//! Errors shared by the gate and the runner.

/// An error that says what failed and what to do in one line, with the underlying library's
/// own account (long, for whoever debugs it) shown only with `--verbose`.
#[derive(Debug, thiserror::Error)]
#[error("{summary}")]
pub struct Detailed {
    pub summary: String,
    pub detail: String,
}
