//! Org-wide sweeps: the gate over every Lambda of many repositories, one record per repository
//! and Lambda, reported like a dashboard.
//!
//! Repositories are checked in batches (each repository under its own policy, a batch as one
//! workspace, so the gate's parallelism balances the cores), and each repository turns into a
//! small record as soon as its batch is done: no parse tree or file text outlives its batch, so
//! memory stays flat however many repositories a sweep covers.

pub mod baseline;
pub mod fix;
pub mod progress;
pub mod push;
pub mod report;
pub mod repos;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use rayon::prelude::*;

use crate::cache::{Cache, Key};
use crate::check::{check, check_workspace, files_read_below, CheckOptions, CheckResult};
use crate::discover::{discover, WalkOptions};
use crate::units::Workspace;
use fix::FixAction;
use report::{RepositoryRecord, SweepReport};
use repos::Target;

/// Where the repositories come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Every git checkout below a directory.
    Root(PathBuf),
    /// A file of git URLs, cloned into a cache directory.
    List { file: PathBuf, cache: PathBuf },
}

/// `--shard K/N`: this run sweeps the repositories whose stable hash is K-1 modulo N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not K/N (e.g. 2/8)"))?;
        let index: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("`{k}` is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard {index}/{count}: K must be between 1 and N"));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `--shard K/N`, or `--shard auto`: K and N from the engine running this shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    Fixed(Shard),
    /// A Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, 0-based, with `JOB_COMPLETIONS` set
    /// from the Job's `completions`), else `LAMBDA_GATE_SHARD=K/N` (set per branch by
    /// `vars/sweepLambdas.groovy`).
    Auto,
}

impl std::str::FromStr for ShardSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim() == "auto" {
            return Ok(ShardSpec::Auto);
        }
        text.parse().map(ShardSpec::Fixed)
    }
}

impl ShardSpec {
    /// The shard, reading the environment through `var` for `auto`.
    pub fn resolve(self, var: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        if let ShardSpec::Fixed(shard) = self {
            return Ok(shard);
        }
        match (var("JOB_COMPLETION_INDEX"), var("JOB_COMPLETIONS")) {
            (Some(index), Some(count)) => {
                let index: usize = index.trim().parse().map_err(|_| {
                    format!("--shard auto: JOB_COMPLETION_INDEX=`{index}` is not a number")
                })?;
                format!("{}/{}", index + 1, count.trim())
                    .parse()
                    .map_err(|e| format!("--shard auto (JOB_COMPLETION_INDEX, JOB_COMPLETIONS): {e}"))
            }
            (Some(_), None) => Err("--shard auto: JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not: Kubernetes sets only the index, so pass the Job's `completions` as the JOB_COMPLETIONS environment variable".into()),
            _ => match var("LAMBDA_GATE_SHARD") {
                Some(text) => text.parse().map_err(|e| format!("--shard auto (LAMBDA_GATE_SHARD): {e}")),
                None => Err("--shard auto: no shard in the environment: set JOB_COMPLETION_INDEX and JOB_COMPLETIONS (a Kubernetes Indexed Job) or LAMBDA_GATE_SHARD=K/N (what vars/sweepLambdas.groovy sets per parallel branch)".into()),
            },
        }
    }
}

impl Shard {
    /// Whether this shard sweeps the repository named `name`. The split depends on the name
    /// only, so a repository stays in its shard when others are added or removed.
    pub fn contains(&self, name: &str) -> bool {
        repos::fnv1a(name.as_bytes()) % self.count as u64 == (self.index - 1) as u64
    }
}

/// What to do with each repository's fixable violations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixMode {
    None,
    /// Show the diff, change nothing.
    DryRun,
    /// Commit the fixes on a new local branch.
    Branch(String),
    /// Push the fixes to a branch of each repository's remote.
    Push(push::PushOptions),
}

#[derive(Debug, Clone)]
pub struct SweepOptions {
    pub source: Source,
    pub shard: Option<Shard>,
    /// One policy for every repository (`--config`); otherwise each repository's own, else the
    /// embedded default.
    pub config: Option<PathBuf>,
    pub follow_links: bool,
    /// Parallel clones and fetches.
    pub clone_jobs: usize,
    pub fix: FixMode,
    /// Where the records of repositories swept before are kept (see [`repository_key`]).
    pub cache: Cache,
    /// What a fix commit says of each re-pinned base's old and new image, when the images can
    /// be read (the runner reads them from their registry).
    pub base_facts: Option<std::sync::Arc<dyn BaseFacts>>,
}

/// Facts about a base image (`repository:tag@digest`) for a fix commit's message: its Python
/// version, OS and creation day, as its config says. The runner reads them from the registry,
/// so the gate itself holds no registry client.
pub trait BaseFacts: Send + Sync + std::fmt::Debug {
    fn facts(&self, image: &str) -> Option<String>;
}

/// Progress events, for a bar on a terminal or lines in CI.
pub trait Progress: Sync {
    fn start(&self, phase: &str, total: usize);
    fn advance(&self, repository: &str);
    /// A repository that could not be swept.
    fn problem(&self, repository: &str, message: &str);
    fn finish(&self);
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: usize) {}
    fn advance(&self, _: &str) {}
    fn problem(&self, _: &str, _: &str) {}
    fn finish(&self) {}
}

/// What runs where a Lambda deploys (`sweep --deployed`): the runner's tracing, given to the
/// sweep so that the gate itself holds no AWS client.
pub trait Deployments: Sync {
    /// Each environment of the policy in force in `lambda_dir`, as traced.
    fn of(&self, lambda_dir: &Path) -> Vec<report::DeployedRecord>;
}

/// Runs a sweep and returns its report (baseline and trend are applied by the caller). With
/// `deployments`, each Lambda's record says what its environments run.
pub fn sweep(
    options: &SweepOptions,
    progress: &dyn Progress,
    deployments: Option<&dyn Deployments>,
) -> anyhow::Result<SweepReport> {
    let mut targets = match &options.source {
        Source::Root(root) => repos::find_checkouts(root)?,
        Source::List { file, cache } => {
            std::fs::create_dir_all(cache)
                .with_context(|| format!("cannot create the clone cache `{}`", cache.display()))?;
            repos::read_list(file, cache)?
        }
    };
    if let Some(shard) = options.shard {
        targets.retain(|t| shard.contains(&t.name));
    }
    let org_config = match &options.config {
        Some(path) => Some(
            std::fs::canonicalize(path)
                .with_context(|| format!("cannot read the policy `{}`", path.display()))?,
        ),
        None => None,
    };
    let clone_errors = clone_all(&targets, options.clone_jobs.max(1), progress);
    progress.start("checking", targets.len());
    // A repository at a commit swept before, under the same policy and binary: its record is
    // the one that sweep made.
    let keys: Vec<Option<Key>> = targets
        .iter()
        .zip(&clone_errors)
        .map(|(target, error)| match error {
            None => repository_key(&options.cache, target, org_config.as_deref(), options),
            Some(_) => None,
        })
        .collect();
    let today = crate::date::Date::today();
    let mut kept: Vec<Option<RepositoryRecord>> = keys
        .par_iter()
        .map(|key| key.as_ref().and_then(|key| options.cache.get(key)))
        .map(|record: Option<RepositoryRecord>| record.filter(|r| r.current_on(today)))
        .collect();
    for (target, record) in targets.iter().zip(&kept) {
        if record.is_some() {
            progress.advance(&target.name);
        }
    }
    let kept_count = kept.iter().flatten().count();
    let work: Vec<(&Target, Option<String>)> = targets
        .iter()
        .zip(clone_errors)
        .zip(&kept)
        .filter(|(_, record)| record.is_none())
        .map(|(pair, _)| pair)
        .collect();
    let checked: Vec<(RepositoryRecord, Option<fix::FixRecord>)> = work
        .par_chunks(BATCH)
        .flat_map_iter(|batch| {
            let outcomes = sweep_batch(batch, org_config.as_deref(), options);
            for (record, _) in &outcomes {
                if let Some(error) = &record.error {
                    progress.problem(&record.name, error);
                }
                progress.advance(&record.name);
            }
            outcomes
        })
        .collect();
    progress.finish();
    let mut checked = checked.into_iter();
    let mut records = Vec::with_capacity(targets.len());
    for (slot, key) in kept.iter_mut().zip(&keys) {
        match slot.take() {
            Some(record) => records.push((record, None)),
            None => {
                let Some((record, fix)) = checked.next() else {
                    break;
                };
                if let (Some(key), None) = (key, &record.error) {
                    options.cache.put(key, &record);
                }
                records.push((record, fix));
            }
        }
    }
    if let Some(deployments) = deployments {
        // After the cache: a stored record's environments are traced again, since what runs
        // there changes without a commit.
        records
            .par_iter_mut()
            .zip(&targets)
            .filter(|((record, _), _)| record.error.is_none())
            .for_each(|((record, _), target)| {
                for lambda in &mut record.lambdas {
                    lambda.deployed = deployments.of(&target.dir.join(&lambda.path));
                }
            });
    }
    let (repositories, fixes): (Vec<_>, Vec<_>) = records.into_iter().unzip();
    let mut report = SweepReport::new(repositories, options.shard.map(|s| s.to_string()));
    report.fixes = fixes.into_iter().flatten().collect();
    report.kept = kept_count;
    Ok(report)
}

/// The cache key of a repository's record, when its record can be kept: a clone the sweep
/// owns (`--repos`: fetched and checked out by the sweep, so its files are its commit's, and
/// reads stay inside the repository), at a known commit, with no fixes asked for. The key holds
/// the binary, the repository's name, source, clone directory and commit, whether links are
/// followed, and the contents of the sweep's `--config` (a repository's own policy is part of
/// its commit). A checkout below `--root` is someone's working tree, which may differ from its
/// commit: never kept.
fn repository_key(
    cache: &Cache,
    target: &Target,
    org_config: Option<&Path>,
    options: &SweepOptions,
) -> Option<Key> {
    if !cache.is_on() || target.url.is_none() || !matches!(options.fix, FixMode::None) {
        return None;
    }
    let commit = repos::head_commit(&target.dir)?;
    let key = cache
        .key("sweep-repository")
        .text(&target.name)
        .text(&target.source)
        .path(&target.dir)
        .text(&commit)
        .text(if options.follow_links {
            "follow"
        } else {
            "no-follow"
        });
    let key = match org_config {
        Some(path) => key.text("config").file_contents(path)?,
        None => key.text("own policy"),
    };
    Some(key.build())
}

/// Repositories checked together as one workspace. Enough Lambdas for the gate's own
/// parallelism to balance the cores, few enough that a batch's results stay small.
const BATCH: usize = 32;

/// Clones or fetches every `--repos` target, `jobs` at a time. Returns, per target, why it
/// could not be brought up to date.
fn clone_all(targets: &[Target], jobs: usize, progress: &dyn Progress) -> Vec<Option<String>> {
    let to_clone = targets.iter().filter(|t| t.url.is_some()).count();
    if to_clone == 0 {
        return vec![None; targets.len()];
    }
    progress.start("cloning", to_clone);
    let next = AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<String>>> = targets
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(to_clone) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(target) = targets.get(index) else {
                    break;
                };
                if target.url.is_none() {
                    continue;
                }
                if let Err(error) = repos::clone_or_fetch(target) {
                    if let Ok(mut slot) = results[index].lock() {
                        *slot = Some(format!("{error:#}"));
                    }
                }
                progress.advance(&target.name);
            });
        }
    });
    progress.finish();
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        })
        .collect()
}

/// How the gate checks one repository: its own policy unless the sweep has one, never a
/// policy from a directory above it.
fn check_options(dir: &Path, org_config: Option<&Path>, options: &SweepOptions) -> CheckOptions {
    let own_config =
        crate::policy::find_config(dir).is_some_and(|source| source.path().starts_with(dir));
    CheckOptions {
        paths: vec![dir.to_path_buf()],
        config: org_config.map(Path::to_path_buf),
        isolated: org_config.is_none() && !own_config,
        walk: WalkOptions {
            follow_links: options.follow_links,
            // Batches are the unit of parallelism; one walker thread per repository.
            threads: 1,
        },
        diff_base: None,
        changed_files: false,
        display_base: Some(dir.to_path_buf()),
        cache: crate::cache::Cache::off(),
    }
}

/// Checks a batch of repositories in one workspace (each under its own policy), then reports
/// (and fixes, if asked) each on its own.
fn sweep_batch(
    batch: &[(&Target, Option<String>)],
    org_config: Option<&Path>,
    options: &SweepOptions,
) -> Vec<(RepositoryRecord, Option<fix::FixRecord>)> {
    let unreadable = |target: &Target, error: String| {
        RepositoryRecord::unreadable(target.name.clone(), target.source.clone(), error)
    };
    // Batches check side by side, sharing one pass: they hold disjoint repositories, and a
    // repository's fixes are written after its own batch has looked at it.
    let pass = crate::fsio::Pass::start();
    let mut workspace = Workspace::default();
    let mut outcomes: Vec<Option<(RepositoryRecord, Option<fix::FixRecord>)>> = Vec::new();
    for (target, clone_error) in batch {
        if let Some(error) = clone_error {
            outcomes.push(Some((unreadable(target, error.clone()), None)));
            continue;
        }
        let check = check_options(&target.dir, org_config, options);
        match crate::policy::load(&target.dir, check.config.as_deref(), check.isolated) {
            Ok(config) => {
                discover(&target.dir, Arc::new(config), check.walk, &mut workspace);
                outcomes.push(None);
            }
            Err(error) => outcomes.push(Some((unreadable(target, error.to_string()), None))),
        }
    }
    workspace.settle();
    let dirs: Vec<&Path> = batch
        .iter()
        .map(|(target, _)| target.dir.as_path())
        .collect();
    let files_read = files_read_below(&workspace, &dirs);
    let result = match check_workspace(workspace, Default::default(), None, false) {
        Ok(result) => result,
        // Nothing of the batch was judged: each repository says why, none passes.
        Err(error) => {
            return batch
                .iter()
                .map(|(target, _)| (unreadable(target, format!("cannot check: {error:#}")), None))
                .collect()
        }
    };
    pass.end_below(&dirs);
    let parts = result.split_below(&dirs, &files_read);
    batch
        .iter()
        .zip(outcomes)
        .zip(parts)
        .map(|(((target, _), outcome), part)| {
            outcome.unwrap_or_else(|| report_repository(target, part, org_config, options))
        })
        .collect()
}

/// The record of a checked repository, after its fixes when the sweep applies them.
fn report_repository(
    target: &Target,
    mut result: CheckResult,
    org_config: Option<&Path>,
    options: &SweepOptions,
) -> (RepositoryRecord, Option<fix::FixRecord>) {
    let dir = &target.dir;
    let facts = options.base_facts.as_deref();
    let fix = match &options.fix {
        FixMode::None => None,
        FixMode::DryRun => {
            fix::fix_repository(&target.name, dir, &result, &FixAction::DryRun, facts)
        }
        // The default branch is unchanged: the report describes it as it is.
        FixMode::Push(push) => {
            fix::fix_repository(&target.name, dir, &result, &FixAction::Push(push), facts)
        }
        FixMode::Branch(branch) => {
            let record = fix::fix_repository(
                &target.name,
                dir,
                &result,
                &FixAction::Branch(branch),
                facts,
            );
            // The report describes the branch as committed.
            if record.as_ref().is_some_and(|r| r.commit.is_some()) {
                match check(&check_options(dir, org_config, options)) {
                    Ok(again) => result = again,
                    Err(error) => {
                        let record_error = RepositoryRecord::unreadable(
                            target.name.clone(),
                            target.source.clone(),
                            format!("{error:#}"),
                        );
                        return (record_error, record);
                    }
                }
            }
            record
        }
    };
    let record = RepositoryRecord::from_check(
        target.name.clone(),
        target.source.clone(),
        repos::head_commit(dir),
        &result,
    );
    (record, fix)
}

/// The default clone cache: `$XDG_CACHE_HOME/lambda-gate/sweep` (or `~/.cache/...`).
pub fn default_cache() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("lambda-gate/sweep"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache/lambda-gate/sweep")),
        None => bail!("no cache directory: set --cache, XDG_CACHE_HOME or HOME"),
    }
}

/// A duration for humans: `850 ms`, `4.2 s`.
pub fn human_duration(duration: Duration) -> String {
    if duration.as_millis() < 1000 {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_what_is_not_k_of_n() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shard_auto_reads_an_indexed_job_or_the_jenkins_branch() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let auto: ShardSpec = "auto".parse().unwrap();
        assert_eq!(
            auto.resolve(env(&[
                ("JOB_COMPLETION_INDEX", "0"),
                ("JOB_COMPLETIONS", "8")
            ])),
            Ok(Shard { index: 1, count: 8 })
        );
        assert_eq!(
            auto.resolve(env(&[("LAMBDA_GATE_SHARD", "3/4")])),
            Ok(Shard { index: 3, count: 4 })
        );
        assert!(auto
            .resolve(env(&[
                ("JOB_COMPLETION_INDEX", "8"),
                ("JOB_COMPLETIONS", "8")
            ]))
            .unwrap_err()
            .contains("K must be between 1 and N"));
        assert!(auto
            .resolve(env(&[("JOB_COMPLETION_INDEX", "2")]))
            .unwrap_err()
            .contains("JOB_COMPLETIONS is not"));
        assert!(auto
            .resolve(env(&[]))
            .unwrap_err()
            .contains("no shard in the environment"));
        let fixed: ShardSpec = "2/5".parse().unwrap();
        assert_eq!(fixed.resolve(env(&[])), Ok(Shard { index: 2, count: 5 }));
    }

    #[test]
    fn every_repository_is_in_exactly_one_shard() {
        let names: Vec<String> = (0..500).map(|i| format!("org/repo-{i}")).collect();
        let shards: Vec<Shard> = (1..=4).map(|index| Shard { index, count: 4 }).collect();
        let mut sizes = [0usize; 4];
        for name in &names {
            let holding: Vec<usize> = (0..4).filter(|&k| shards[k].contains(name)).collect();
            assert_eq!(holding.len(), 1, "{name} in {holding:?}");
            sizes[holding[0]] += 1;
        }
        // A stable hash spreads names evenly enough for agents to finish together.
        assert!(sizes.iter().all(|&n| (90..=160).contains(&n)), "{sizes:?}");
        // The split depends on the name only.
        assert!(shards.iter().any(|s| s.contains("org/repo-7")));
        assert_eq!(
            Shard { index: 3, count: 4 }.contains("org/repo-7"),
            repos::fnv1a(b"org/repo-7") % 4 == 2
        );
    }
}
