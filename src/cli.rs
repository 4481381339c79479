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
    /// On failure, also print the underlying library's full account (AWS SDK, Engine).
    #[arg(short, long, global = true)]
    pub verbose: bool,
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
    /// The results cache: where it is, and emptying it.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Check every Lambda of many repositories: the git checkouts below --root, or the git URLs
    /// of --repos (cloned shallow into a cache). Reports like a dashboard.
    Sweep(Box<SweepArgs>),
    /// Gate, then build one image per platform through the Docker Engine, smoke-test, and push
    /// them with an image index under every tag.
    Build(Box<BuildArgs>),
    /// Push images the Engine has (e.g. from `build` without `--push`, after `smoke`) and an
    /// image index over them: exactly what was tested is what is pushed.
    Push(PushArgs),
    /// Run an image and invoke its handler with sample events.
    Smoke(SmokeArgs),
    /// The team's dev base image on this machine.
    DevImage {
        #[command(subcommand)]
        command: DevImageCommand,
    },
    /// Retag an image in its registry by copying its manifest (no layer moves).
    Promote(PromoteArgs),
    /// Check that a reference is a single-platform image a function of an architecture can run.
    VerifyDeployable(VerifyArgs),
    /// Point a function at an image by digest, smoke-test the published version in its
    /// environment, then move its alias (at once or as a canary watched by alarms); roll back
    /// when either check fails.
    Deploy(Box<DeployArgs>),
    /// The chain behind what a function serves: alias weights, each version, its image digest,
    /// the gate verdict attached to it (policy, commit, signer) and its build (source, builder,
    /// base digests).
    Trace(TraceArgs),
    /// What every function of the fleet runs: each account and region of `[fleet]`, each
    /// serving alias (split ones too), each version's image and the base it runs on, judged by
    /// the policy's digests (current, in grace, past grace, outdated, unapproved), and digests no
    /// ladder tag points at (deployed outside the pipeline).
    Fleet(FleetArgs),
    /// This repository's pipeline: base images as `test`, example-project against them, and
    /// only then both bases promoted to `latest`.
    Pipeline(PipelineArgs),
}

/// `check --format`: the report formats ([`Format`]) as the command line names them; the
/// report module knows nothing of clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// rustc-style snippets and a summary line.
    Human,
    /// The versioned JSON schema (`version: 1`).
    Json,
    /// SARIF 2.1.0, for Jenkins Warnings NG and GitHub code scanning.
    Sarif,
    /// JUnit XML, for Jenkins `junit`.
    Junit,
    /// GitHub Actions workflow commands (`::error file=...`).
    Github,
}

impl From<CheckFormat> for Format {
    fn from(format: CheckFormat) -> Format {
        match format {
            CheckFormat::Human => Format::Human,
            CheckFormat::Json => Format::Json,
            CheckFormat::Sarif => Format::Sarif,
            CheckFormat::Junit => Format::Junit,
            CheckFormat::Github => Format::Github,
        }
    }
}

/// How the runner reports: progress for a person, or one JSON document for a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunnerFormat {
    Human,
    Json,
}

/// Which of the Docker Engine's builders builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuilderArg {
    /// BuildKit when the Engine has it, else the classic builder.
    Auto,
    /// BuildKit (cache, secret and bind mounts; heredocs); fails on an Engine without it.
    Buildkit,
    /// The classic builder; a Dockerfile with BuildKit-only syntax is refused before building.
    Classic,
}

/// How a long runner command reports.
#[derive(Debug, Args)]
pub struct RunnerOutput {
    /// `json`: one document on stdout for a pipeline.
    #[arg(long, value_enum, default_value = "human")]
    pub format: RunnerFormat,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Speak plain HTTP to this registry (`host` or `host:port`), as Docker does for
    /// 127.0.0.0/8. Credentials: LAMBDA_GATE_REGISTRY_USERNAME/_PASSWORD or `docker login`;
    /// ECR: the AWS credential chain.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 built (or unchanged) and pushed, 1 the gate or a smoke test failed, 2 usage, build, engine or registry error."
)]
pub struct BuildArgs {
    /// The Lambda project (holds the Dockerfile).
    pub project: PathBuf,
    /// Platforms, comma-separated (default: the policy's `platforms`).
    #[arg(long, value_delimiter = ',')]
    pub platform: Vec<String>,
    /// Tags to push (default: the git short commit and `test`). Each platform's image is also
    /// tagged `<tag>-<arch>`.
    #[arg(long = "tag", short = 't')]
    pub tags: Vec<String>,
    /// Repository to push to: `host[:port]/path` (ECR hosts use the ECR API).
    #[arg(long, value_name = "REPOSITORY")]
    pub push: Option<String>,
    /// `NAME=VALUE`, as `docker build --build-arg`.
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// Build this stage.
    #[arg(long)]
    pub target: Option<String>,
    /// The Dockerfile, relative to PROJECT.
    #[arg(long, default_value = "Dockerfile")]
    pub dockerfile: String,
    /// The policy the gate and the build follow (e.g. the organisation's, as `sweep --config`),
    /// instead of the one found from PROJECT.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Events to smoke-test with (default: PROJECT/events/*.json).
    #[arg(long = "event", value_name = "FILE")]
    pub events: Vec<PathBuf>,
    #[arg(long)]
    pub no_smoke: bool,
    /// The Engine builder (default: the policy's `builder`, normally `auto`).
    #[arg(long, value_enum)]
    pub builder: Option<BuilderArg>,
    /// `id=ID,src=FILE` or `id=ID,env=VAR`, for `RUN --mount=type=secret,id=ID` (BuildKit). The
    /// value never reaches the image, its history, its labels or any output.
    #[arg(long = "secret", value_name = "id=ID,src=FILE|env=VAR")]
    pub secrets: Vec<String>,
    /// Sign attestations (provenance, the gate's verdict, an SBOM) with this key and attach them
    /// to every pushed image: a private key file (PEM: ECDSA P-256 or Ed25519) or
    /// `awskms:KEY` (an ECC_NIST_P256 signing key: id, ARN or alias; kms:Sign and
    /// kms:GetPublicKey). Default: `$LAMBDA_GATE_SIGNING_KEY`; without either, pushed images
    /// carry no attestations.
    #[arg(long, value_name = "FILE|awskms:KEY")]
    pub sign_key: Option<String>,
    #[command(flatten)]
    pub output: RunnerOutput,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Subcommand)]
pub enum DevImageCommand {
    /// Log in to its registry (ECR: through the ECR API) and pull it for this machine's
    /// platform through the Docker Engine.
    Pull(DevImagePullArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Exit codes: 0 pulled (or printed), 2 usage, Engine or registry error.")]
pub struct DevImagePullArgs {
    /// The dev image (default: $LAMBDA_GATE_DEV_IMAGE).
    #[arg(long, env = "LAMBDA_GATE_DEV_IMAGE", value_name = "REFERENCE")]
    pub image: String,
    /// Default: this machine's platform.
    #[arg(long)]
    pub platform: Option<String>,
    /// Print the equivalent shell commands instead of running them.
    #[arg(long)]
    pub print: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Exit codes: 0 pushed, 2 usage, Engine or registry error.")]
pub struct PushArgs {
    /// `host[:port]/path`.
    pub repository: String,
    /// `PLATFORM=IMAGE` (an image ID or name the Engine has), once per platform.
    #[arg(long = "image", value_name = "PLATFORM=IMAGE", required = true)]
    pub images: Vec<String>,
    /// Tags (each platform also gets `<tag>-<arch>`).
    #[arg(long = "tag", short = 't', required = true)]
    pub tags: Vec<String>,
    /// Sign attestations with this key (a private key file or `awskms:KEY`, as `build
    /// --sign-key`; default: `$LAMBDA_GATE_SIGNING_KEY`): the gate runs on `--project` first,
    /// and the images must have been built from exactly its sources.
    #[arg(long, value_name = "FILE|awskms:KEY")]
    pub sign_key: Option<String>,
    /// The project the images were built from (with a signing key).
    #[arg(long, default_value = ".")]
    pub project: PathBuf,
    #[command(flatten)]
    pub output: RunnerOutput,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 every invocation succeeded, 1 an error result, crash or timeout, 2 usage or engine error."
)]
pub struct SmokeArgs {
    /// An image the Engine has or can pull.
    pub image: String,
    /// Events (default: ./events/*.json).
    #[arg(long = "event", value_name = "FILE")]
    pub events: Vec<PathBuf>,
    /// The platform to run (default: the machine's).
    #[arg(long)]
    pub platform: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: RunnerFormat,
}

#[derive(Debug, Args)]
#[command(
    group(clap::ArgGroup::new("source").required(true).args(["from", "digest"])),
    after_help = "Exit codes: 0 promoted (or already there), 1 refused (immutable tag, environment ladder), 2 usage or registry error."
)]
pub struct PromoteArgs {
    /// `host[:port]/path`.
    pub repository: String,
    /// Promote what this tag points at now.
    #[arg(long, value_name = "TAG")]
    pub from: Option<String>,
    /// Promote exactly this image (compare-and-set).
    #[arg(long, value_name = "DIGEST")]
    pub digest: Option<String>,
    #[arg(long, value_name = "TAG")]
    pub to: String,
    /// Also write `<PARAM>/<architecture>` = `host/path@digest` to SSM Parameter Store.
    #[arg(long, value_name = "PARAM")]
    pub record_ssm: Option<String>,
    /// Policy file (ladders, moving tags); default: found from the current directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: RunnerFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 deployed (or already serving that image), 1 refused before any change (architecture, ladder, a concurrent change, a deploy in flight, an unknown or firing alarm) or rolled back (smoke test, the new version's errors, an alarm, SIGINT/SIGTERM), 2 usage, AWS or registry error.\n\nSIGINT or SIGTERM during a deploy puts traffic back before the process exits (a few API calls); if the process is killed outright, `deploy --abort` finishes the job."
)]
pub struct DeployArgs {
    /// The function's name or ARN (default: the environment's `function`).
    pub function: Option<String>,
    /// `host/path@sha256:…`: an image index (the function's architecture picks the child) or a
    /// single-platform manifest. Required unless `--status` or `--abort`.
    #[arg(long, value_name = "REPOSITORY@DIGEST", required_unless_present_any = ["status", "abort"])]
    pub image: Option<String>,
    /// Show what the alias serves, its traffic split and any deploy in flight; change nothing.
    #[arg(long, conflicts_with_all = ["abort", "image"])]
    pub status: bool,
    /// Put all of the alias's traffic back on its main version and clear the in-flight record
    /// of a deploy whose process is gone.
    #[arg(long, conflicts_with = "image")]
    pub abort: bool,
    /// Deploy all at once past alarms in ALARM, during an incident; the reason is recorded with
    /// who and which build on the version, in SSM and in the result.
    #[arg(long, value_name = "REASON")]
    pub emergency: Option<String>,
    /// `[deploy.environments.<NAME>]` of the policy: function, alias, region, role, canary,
    /// alarms; on a promotion ladder, only what the rung below serves is taken.
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Default: the environment's, else `live`.
    #[arg(long)]
    pub alias: Option<String>,
    /// Smoke-test events (default: PROJECT/events/*.json).
    #[arg(long = "event", value_name = "FILE")]
    pub events: Vec<PathBuf>,
    /// Where `events/` is when no `--event` is given.
    #[arg(long, default_value = ".")]
    pub project: PathBuf,
    /// Shift this percent of the alias's traffic first, for `--bake` (a canary).
    #[arg(long, value_name = "PERCENT", conflicts_with = "steps")]
    pub canary: Option<f64>,
    /// Shift in these steps, each for `--bake` (a linear shift): `10,25,50,100`.
    #[arg(long, value_name = "PERCENTS", value_delimiter = ',')]
    pub steps: Vec<f64>,
    /// How long each step bakes: `10m`, `90s`.
    #[arg(long, value_name = "DURATION")]
    pub bake: Option<String>,
    /// Alarms (metric or composite) that judge the shift besides the new version's own errors;
    /// each must exist.
    #[arg(long = "alarm", value_name = "NAME")]
    pub alarms: Vec<String>,
    /// Invocations the new version must serve through the alias during the steps, else it is
    /// rolled back (default: the environment's `min-invocations`, else 0).
    #[arg(long, value_name = "N")]
    pub min_invocations: Option<u64>,
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// The external ID the role's trust policy requires (`sts:ExternalId`).
    #[arg(long, value_name = "ID", env = "LAMBDA_GATE_EXTERNAL_ID")]
    pub external_id: Option<String>,
    /// The assumed role's session name, recorded by CloudTrail with each call (default:
    /// Jenkins' `BUILD_TAG`, else `lambda-gate-deploy`).
    #[arg(long, value_name = "NAME")]
    pub session_name: Option<String>,
    #[arg(long)]
    pub region: Option<String>,
    /// Write `<PARAM>/<architecture>` = the deployed `host/path@digest` to SSM.
    #[arg(long, value_name = "PARAM")]
    pub record_ssm: Option<String>,
    #[command(flatten)]
    pub output: RunnerOutput,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 deployable, 1 an index or another architecture, 2 usage or registry error."
)]
pub struct VerifyArgs {
    /// `host[:port]/path:tag` or `host[:port]/path@digest`.
    pub image: String,
    /// The function's architecture: `x86_64` or `arm64`.
    #[arg(long)]
    pub architecture: String,
    /// Also require what this environment requires of a deploy: a gate verdict signed by its
    /// `attestation-key` under the policy in force (`[deploy.environments.NAME]`).
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Where the policy is read from (with `--environment`).
    #[arg(long, default_value = ".")]
    pub project: PathBuf,
    #[arg(long, value_enum, default_value = "human")]
    pub format: RunnerFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 traced (with --environment: every serving version's verdict verified), 1 with --environment: a serving version's image falls short of its requirement, 2 usage, AWS or registry error."
)]
pub struct TraceArgs {
    /// `NAME[:ALIAS]` or an ARN (default: the --environment's function and alias; alias
    /// default `live`).
    pub function: Option<String>,
    /// Judge each serving image by this environment's requirement (`[deploy.environments.NAME]`:
    /// its function, alias, region, role and `attestation-key`, under the policy in force).
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Check signatures with this key (`FILE.pub` or `awskms:KEY`) when no environment names one.
    #[arg(long, value_name = "FILE|awskms:KEY")]
    pub key: Option<String>,
    /// Where the policy is read from (with --environment).
    #[arg(long, default_value = ".")]
    pub project: PathBuf,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// The external ID the role's trust policy asks for.
    #[arg(long, value_name = "ID", env = "LAMBDA_GATE_EXTERNAL_ID")]
    pub external_id: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: RunnerFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 no function runs an image past its base's grace date, 1 one does (a previous base digest whose grace ended, or an outdated one with no grace), 2 usage or policy error, or an account, region or function that could not be read (nothing past grace found in what was)."
)]
pub struct FleetArgs {
    /// The policy whose `[fleet]` accounts, `[dockerfile]` digests and `[promotion]` ladders
    /// apply (default: the one in force for the current directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only these accounts of `[fleet]` (by name); repeat for several.
    #[arg(long, value_name = "NAME")]
    pub account: Vec<String>,
    /// The regions to list when the policy names no accounts (default: AWS_REGION).
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
    /// Only these aliases (default: the policy's `[fleet] aliases`, else every alias).
    #[arg(long, value_name = "NAME")]
    pub alias: Vec<String>,
    /// AWS and registry calls in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub jobs: usize,
    /// Also write the fleet as one self-contained HTML page (every serving version a row,
    /// filterable by base status).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: RunnerFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 built and promoted, 1 the gate or a smoke test failed (nothing promoted), 2 build, engine or registry error."
)]
pub struct PipelineArgs {
    /// Where images go: `host[:port]/prefix`.
    #[arg(long, value_name = "PREFIX")]
    pub registry: String,
    /// The repository root (holds images/ and example-project/).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    #[arg(long, value_delimiter = ',')]
    pub platform: Vec<String>,
    /// `NAME=VALUE` for every build (e.g. `UPSTREAM_IMAGE=...`).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// The Engine builder (default: the policy's `builder`, normally `auto`).
    #[arg(long, value_enum)]
    pub builder: Option<BuilderArg>,
    /// After promoting, record both bases' new digests in this policy file (`lambda-gate.toml`
    /// or `pyproject.toml`) under `[dockerfile.digests]`, the replaced digests allowed until the
    /// grace date under `[dockerfile.previous-digests]`. Commit the file for the sweep to roll.
    #[arg(long, value_name = "FILE")]
    pub record_policy: Option<PathBuf>,
    /// With --record-policy: days a replaced digest stays allowed (DKR005 warns, then errors).
    #[arg(
        long,
        value_name = "DAYS",
        default_value_t = 14,
        requires = "record_policy"
    )]
    pub grace_days: u32,
    #[command(flatten)]
    pub output: RunnerOutput,
    #[command(flatten)]
    pub registry_args: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    group(clap::ArgGroup::new("repositories").required(true).args(["root", "repos"])),
    after_help = "Exit codes: 0 every Lambda passes and every repository was read, 1 violations, repositories that could not be swept, or fixes that could not be committed or pushed, 2 usage or configuration error."
)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    /// Sweep every git repository below DIR.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Sweep the git URLs listed in FILE (one a line, `#` comments), cloned shallow into the
    /// cache and fetched on later runs.
    #[arg(long, value_name = "FILE")]
    pub repos: Option<PathBuf>,
    /// Where --repos clones go (default: $XDG_CACHE_HOME/lambda-gate/sweep).
    #[arg(long, value_name = "DIR", requires = "repos")]
    pub cache: Option<PathBuf>,
    /// Sweep only shard K of N (1-based): a stable split by repository name, for N agents.
    /// `auto`: K and N from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, JOB_COMPLETIONS) or
    /// LAMBDA_GATE_SHARD=K/N (Jenkins `parallel` branches of vars/sweepLambdas.groovy).
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<crate::sweep::ShardSpec>,
    /// One policy for every repository, instead of each repository's own.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Follow symbolic links to directories (loops are detected and reported).
    #[arg(long, short = 'L')]
    pub follow_links: bool,
    /// Parallel clones and fetches.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub clone_jobs: usize,
    /// Worker threads for checking (default: one per core).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// Leave out the violations recorded in this baseline (see --write-baseline).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record every current violation as the baseline.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Show what got better or worse since an earlier sweep's JSON report.
    #[arg(long, value_name = "OLD.json")]
    pub compare: Option<PathBuf>,
    /// Apply the autofixes of every fixable rule. Without --branch: a dry run that shows the diff.
    #[arg(long)]
    pub fix: bool,
    /// With --fix: commit the fixes of each repository on a new local branch NAME; with --push,
    /// the branch of each remote the fixes are pushed to (default: lambda-gate/fixes).
    #[arg(long, value_name = "NAME", requires = "fix")]
    pub branch: Option<String>,
    /// With --fix: push each repository's fixes as one commit on its default branch's tip to
    /// the branch of `origin` --branch names. A second run updates that branch (or leaves it, when
    /// it holds these fixes already); a branch with commits lambda-gate did not make is left
    /// alone. Working trees and local branches are not touched.
    #[arg(long, requires = "fix")]
    pub push: bool,
    /// With --push: list what would be pushed (remote, branch, create or update, commit
    /// message, files); commit and push nothing.
    #[arg(long, requires = "push")]
    pub dry_run: bool,
    /// With --push: also replace a branch holding commits lambda-gate did not make, but only
    /// while it is still at the commit this run saw.
    #[arg(long, requires = "push")]
    pub force_with_lease: bool,
    /// Check every repository again, even one whose commit, policy and lambda-gate binary are
    /// those of an earlier sweep (whose record is otherwise used again; see `lambda-gate cache`).
    #[arg(long)]
    pub no_cache: bool,
    /// Also trace what each Lambda's environments run (`[deploy.environments]` of its policy,
    /// as `lambda-gate trace --environment` does): whether every image serving there carries a
    /// valid gate verdict. Needs AWS credentials and the runner.
    #[arg(long)]
    pub deployed: bool,
    #[cfg(feature = "runner")]
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub output: SweepOutput,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print the cache directory (LAMBDA_GATE_CACHE_DIR, else $XDG_CACHE_HOME/lambda-gate/results,
    /// else ~/.cache/lambda-gate/results).
    Dir,
    /// Remove the cache directory and everything in it.
    Clean,
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Combine the JSON reports of a sweep's shards into one report.
    Merge {
        /// The shard reports (`sweep --shard K/N --format json`).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        #[command(flatten)]
        output: SweepOutput,
    },
}

#[derive(Debug, Args)]
pub struct SweepOutput {
    /// The report on standard output (or --output).
    #[arg(long, value_enum, default_value = "human")]
    pub format: SweepFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write the HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the Markdown summary to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// No progress on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SweepFormat {
    /// The terminal summary.
    Human,
    /// One record per repository and Lambda (schema_version 1).
    Json,
    /// One self-contained page: summary, per-rule chart, sortable table, drill-down.
    Html,
    /// For a Jenkins job description.
    Markdown,
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
    /// Record newly built bases' digests in a policy file, as the base-image pipeline does:
    /// each `[dockerfile.digests]` key naming the base's repository takes the new digest, and
    /// the replaced one stays allowed until a grace date (DKR005 warns until then, errors
    /// after). The same digest again changes nothing. Comments and layout are kept.
    #[command(
        after_help = "Exit codes: 0 recorded (or nothing to change), 2 the file cannot be read, edited or would not load."
    )]
    RecordDigest {
        /// The policy file: `lambda-gate.toml` or `pyproject.toml`.
        file: PathBuf,
        /// `REPOSITORY@sha256:...` of a built base; repeat for several.
        #[arg(long = "image", value_name = "REF@DIGEST", required = true)]
        images: Vec<String>,
        /// Days a replaced digest stays allowed.
        #[arg(long, value_name = "DAYS", default_value_t = 14)]
        grace_days: u32,
        /// The tag to record a base under when no key names its repository yet.
        #[arg(long, value_name = "TAG")]
        tag: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
    /// The rule table in Markdown, for a page or a job description.
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
    pub format: CheckFormat,
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
    /// Check again even when nothing the last run read has changed (whose result is otherwise
    /// used again; see `lambda-gate cache`). `--verbose` says what the cache did and why.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}
