//! Command-line definitions (clap) only; behaviour lives in the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "lambda-gate",
    version,
    about = "Policy gate and build runner for Python AWS Lambda functions shipped as container images",
    after_help = "Exit codes: 0 clean, 1 violations at error severity, 2 usage, configuration or internal error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every Lambda under PATHs against the policy.
    Check(CheckArgs),
    /// List every rule.
    Rules {
        #[arg(long, value_enum, default_value = "human")]
        format: ListFormat,
    },
    /// Print a rule's documentation.
    Explain {
        /// A rule id (DKR002) or name (base-not-approved).
        rule: String,
    },
    /// Show what lambda-gate reads from an input, as it decides.
    Inspect {
        #[command(subcommand)]
        command: InspectCommand,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Inspect the policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// A coverage report: its counts, total and the fail-under decision, as coverage.py makes it.
    Coverage {
        report: PathBuf,
        /// The threshold (default: the policy's `coverage.fail-under`).
        #[arg(long)]
        fail_under: Option<f64>,
        /// coverage.py's report precision (default: 0).
        #[arg(long, default_value_t = 0)]
        precision: u32,
        #[arg(long, value_enum, default_value = "human")]
        format: ListFormat,
    },
    /// The mypy configuration mypy would use from DIR: the file, the global options and the
    /// options in force for each --module, as the pinned mypy computes them.
    Mypy {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// A module to show the effective options of (repeatable), e.g. `app.handler`.
        #[arg(long = "module", value_name = "NAME")]
        modules: Vec<String>,
        #[arg(long, value_enum, default_value = "human")]
        format: ListFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the effective policy (TOML) for PATH, a directory or a file.
    Show {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
    /// The Markdown table the README embeds.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Use this configuration file (lambda-gate.toml or pyproject.toml) instead of the nearest one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore configuration files: the embedded default policy only.
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Directories (or files of a Lambda) to check.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// The paths are changed files (as pre-commit passes them): check the Lambdas they belong
    /// to, whole, and ignore files that belong to none or no longer exist.
    #[arg(long)]
    pub files: bool,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Apply the fixes of fixable rules, then report what remains.
    #[arg(long)]
    pub fix: bool,
    /// With --fix: print the changes as a unified diff instead of writing them.
    #[arg(long, requires = "fix")]
    pub diff: bool,
    /// Follow symbolic links to directories (loops are detected and reported).
    #[arg(long, short = 'L')]
    pub follow_links: bool,
    /// Also require coverage of the lines changed since this git ref (diff coverage).
    #[arg(long, value_name = "REF")]
    pub diff_base: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    #[command(flatten)]
    pub config: ConfigArgs,
}
