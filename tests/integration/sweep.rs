//! Org-wide sweeps against generated organisations: git repositories made by the corpus
//! generator, cloned through `file://` URLs, with a known mix of violations and breakage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use lambda_gate::corpus::{write_org, OrgTruth};
use lambda_gate::sweep::report::SweepReport;
use predicates::str::contains;

fn gate() -> Command {
    let mut cmd = Command::cargo_bin("lambda-gate").expect("binary");
    cmd.env_remove("RUST_LOG");
    // The results cache of these sweeps stays out of the user's.
    cmd.env(
        "LAMBDA_GATE_CACHE_DIR",
        std::env::temp_dir().join("lambda-gate-tests-results"),
    );
    cmd
}

/// A generated organisation of `repositories` repositories in a fresh temporary directory.
fn org(repositories: usize) -> (tempfile::TempDir, OrgTruth) {
    let dir = tempfile::tempdir().expect("tempdir");
    let truth = write_org(dir.path(), repositories, 7).expect("generate the organisation");
    (dir, truth)
}

/// `lambda-gate sweep -q --root ROOT EXTRA... --format json -o JSON`, expecting `code`; the
/// report it wrote.
fn sweep_root(root: &Path, extra: &[&str], json: &Path, code: i32) -> SweepReport {
    gate()
        .args(["sweep", "-q", "--root"])
        .arg(root)
        .args(extra)
        .args(["--format", "json", "-o"])
        .arg(json)
        .assert()
        .code(code);
    read_report(json)
}

fn read_report(path: &Path) -> SweepReport {
    SweepReport::read(path).expect("a sweep report")
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Process::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        output.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The report's Lambdas per repository, named as the generator names them.
fn lambdas_by_repository(report: &SweepReport, prefix: &str) -> BTreeMap<String, usize> {
    report
        .repositories
        .iter()
        .filter(|r| r.error.is_none())
        .map(|r| (format!("{prefix}{}", r.name), r.lambdas.len()))
        .collect()
}

#[test]
fn a_sweep_of_cloned_repositories_matches_the_ground_truth_exactly() {
    let (dir, truth) = org(200);
    let cache = dir.path().join("cache");
    let json = dir.path().join("report.json");
    let sweep = |json: &Path| {
        gate()
            .args(["sweep", "--repos"])
            .arg(dir.path().join("repos.txt"))
            .arg("--cache")
            .arg(&cache)
            .args(["--follow-links", "--format", "json", "--output"])
            .arg(json)
            .assert()
            // Violations, and a repository that could not be cloned.
            .code(1)
            .stderr(contains("repo-that-does-not-exist"))
            // Line-oriented progress off a terminal: every tenth of a phase.
            .stderr(contains("sweep: cloning 101/201 repositories"))
            .stderr(contains("sweep: checking 201 repositories done in"))
    };
    sweep(&json);
    let report = read_report(&json);
    let s = &report.summary;
    assert_eq!(s.repositories, truth.repositories);
    assert_eq!(s.repositories_unreadable, truth.repositories_unreadable);
    assert_eq!(s.lambdas, truth.lambdas);
    assert_eq!(s.lambdas_failed, truth.lambdas_failed);
    assert_eq!(s.lambdas_passed, truth.lambdas - truth.lambdas_failed);
    assert_eq!(s.by_rule, truth.violations);
    assert_eq!(
        lambdas_by_repository(&report, ""),
        truth.lambdas_by_repository
    );
    // Every kind of breakage is in the mix.
    for rule in ["LG003", "LG004", "PY001", "COV002"] {
        assert!(truth.violations.contains_key(rule), "{rule} in {truth:?}");
    }
    let missing = report
        .repositories
        .iter()
        .find(|r| r.error.is_some())
        .expect("the repository that cannot be cloned");
    assert_eq!(missing.name, "org/repo-that-does-not-exist");
    assert!(
        missing
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("cannot clone"),
        "{missing:?}"
    );
    // Each record names the commit it checked.
    let head = git(&dir.path().join("org/repo-00000"), &["rev-parse", "HEAD"]);
    assert_eq!(report.repositories[0].commit.as_deref(), Some(head.trim()));

    // A later run fetches into the same clones and reports the same.
    let again = dir.path().join("again.json");
    sweep(&again);
    let second = read_report(&again);
    assert_eq!(second.summary, report.summary);
    assert_eq!(second.repositories, report.repositories);

    // Sweeping the checkouts themselves finds the same Lambdas and violations.
    let local = dir.path().join("local.json");
    gate()
        .args(["sweep", "--quiet", "-L", "--root"])
        .arg(dir.path().join("org"))
        .args(["--format", "json", "-o"])
        .arg(&local)
        .assert()
        .code(1);
    let local = read_report(&local);
    assert_eq!(local.summary.lambdas, truth.lambdas);
    assert_eq!(local.summary.by_rule, truth.violations);
    assert_eq!(
        lambdas_by_repository(&local, "org/"),
        truth.lambdas_by_repository
    );
}

#[test]
fn shard_reports_merge_into_the_whole_sweep() {
    let (dir, _) = org(40);
    let root = dir.path().join("org");
    let whole = sweep_root(&root, &[], &dir.path().join("whole.json"), 1);
    let mut shards = Vec::new();
    for k in 1..=3 {
        let path = dir.path().join(format!("shard-{k}.json"));
        // Shard 1 named on the command line; shard 2 from a Kubernetes Indexed Job's
        // environment (0-based index); shard 3 from a Jenkins branch's LAMBDA_GATE_SHARD.
        let environment: &[(&str, String)] = match k {
            1 => &[],
            2 => &[
                ("JOB_COMPLETION_INDEX", "1".into()),
                ("JOB_COMPLETIONS", "3".into()),
            ],
            _ => &[("LAMBDA_GATE_SHARD", "3/3".into())],
        };
        let shard = if k == 1 {
            "1/3".to_string()
        } else {
            "auto".to_string()
        };
        gate()
            .args(["sweep", "-q", "--root"])
            .arg(&root)
            .args(["--shard", &shard, "--format", "json", "-o"])
            .arg(&path)
            .envs(environment.iter().cloned())
            .assert()
            .code(1);
        let report = read_report(&path);
        assert_eq!(report.shard.as_deref(), Some(format!("{k}/3").as_str()));
        assert!(
            !report.repositories.is_empty(),
            "shard {k} of 40 repositories is empty"
        );
        shards.push(path);
    }
    let merged = dir.path().join("merged.json");
    gate()
        .args(["sweep", "merge"])
        .args(&shards)
        .args(["--format", "json", "-o"])
        .arg(&merged)
        .assert()
        .code(1);
    let merged = read_report(&merged);
    assert_eq!(merged.summary, whole.summary);
    assert_eq!(merged.repositories, whole.repositories);
    // A shard given twice is refused: its repositories would count double.
    gate()
        .args(["sweep", "merge"])
        .arg(&shards[0])
        .arg(&shards[0])
        .assert()
        .code(2)
        .stderr(contains("is in more than one report"));
    // `auto` with no shard in the environment is a usage error that says where to put it.
    gate()
        .args(["sweep", "-q", "--root"])
        .arg(&root)
        .args(["--shard", "auto"])
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("LAMBDA_GATE_SHARD")
        .assert()
        .code(2)
        .stderr(contains("LAMBDA_GATE_SHARD=K/N"));
}

/// The sweeps guide's Indexed Job is one `kubectl` accepts as far as a schema check can tell (parsed
/// with PyYAML, the structure of batch/v1 Job checked), and it runs `--shard auto` with what
/// `auto` reads.
#[test]
fn the_readme_indexed_job_manifest_is_a_valid_indexed_job_that_shards_automatically() {
    let readme = std::fs::read_to_string("docs/sweeps.md").expect("docs/sweeps.md");
    let start = readme
        .find("```yaml\napiVersion: batch/v1")
        .expect("docs/sweeps.md has the Indexed Job manifest");
    let body = &readme[start + "```yaml\n".len()..];
    let manifest = &body[..body.find("```").expect("closed block")];
    let checker = r#"
import json, sys, yaml
job = yaml.safe_load(sys.stdin.read())
assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job", "a batch/v1 Job"
assert isinstance(job["metadata"]["name"], str)
spec = job["spec"]
assert spec["completionMode"] == "Indexed", "an Indexed Job"
assert isinstance(spec["completions"], int) and isinstance(spec["parallelism"], int)
pod = spec["template"]["spec"]
assert pod["restartPolicy"] in ("Never", "OnFailure"), "a Job's pods never restart Always"
[container] = pod["containers"]
assert isinstance(container["name"], str) and isinstance(container["image"], str)
env = {e["name"]: e["value"] for e in container["env"]}
assert env["JOB_COMPLETIONS"] == str(spec["completions"]), "JOB_COMPLETIONS is the Job's completions"
assert all(isinstance(v, str) for v in env.values()), "env values are strings"
command = " ".join(container["command"] + container["args"])
assert "--shard auto" in command and "$JOB_COMPLETION_INDEX" in command
mounts = {m["name"] for m in container["volumeMounts"]}
volumes = {v["name"] for v in pod["volumes"]}
assert mounts <= volumes, "every mount names a volume"
print("ok")
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", checker])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with PyYAML (moto brings it)");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(manifest.as_bytes())
        .expect("write the manifest");
    let output = child.wait_with_output().expect("python3");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_baseline_hides_known_violations_and_a_comparison_shows_what_changed() {
    let (dir, _) = org(12);
    let root = dir.path().join("org");
    let baseline = dir.path().join("baseline.json");
    let before = dir.path().join("before.json");
    let baseline_arg = baseline.to_string_lossy().into_owned();
    let old = sweep_root(&root, &["--write-baseline", &baseline_arg], &before, 1);
    // Everything known: the sweep passes.
    gate()
        .args(["sweep", "-q", "--root"])
        .arg(&root)
        .arg("--baseline")
        .arg(&baseline)
        .assert()
        .code(0)
        .stdout(contains("known violations not reported"));

    // A new secret in one Dockerfile, and one known violation fixed elsewhere.
    let dockerfile = root.join("repo-00001/functions/fn-00/Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    std::fs::write(&dockerfile, format!("{text}ENV DB_PASSWORD=hunter2\n")).unwrap();
    let fixed = old
        .repositories
        .iter()
        .find(|r| r.name != "repo-00001" && r.diagnostics().any(|d| d.rule == "MYP003"))
        .expect("a repository with a known MYP003");
    let pyproject = fixed
        .lambdas
        .iter()
        .find(|l| l.diagnostics.iter().any(|d| d.rule == "MYP003"))
        .map(|l| root.join(&fixed.name).join(&l.path).join("pyproject.toml"))
        .expect("a known MYP003 outside repo-00001");
    let before_arg = before.to_string_lossy().into_owned();
    let report = sweep_root(
        &root,
        &["--baseline", &baseline_arg, "--compare", &before_arg],
        &dir.path().join("after.json"),
        1,
    );
    let reported: Vec<_> = report
        .repositories
        .iter()
        .flat_map(|r| {
            r.diagnostics()
                .map(move |d| (r.name.clone(), d.rule.clone()))
        })
        .filter(|(_, rule)| rule != "LG002")
        .collect();
    assert_eq!(
        reported,
        vec![("repo-00001".to_string(), "DKR008".to_string())]
    );
    let trend = report.trend.expect("a trend");
    assert_eq!(trend.introduced, 1);
    assert_eq!(trend.fixed, 0);
    assert_eq!(trend.repositories.len(), 1);
    assert_eq!(trend.repositories[0].name, "repo-00001");
    assert_eq!(trend.repositories[0].errors.delta(), 1);
    // Fixing a known violation shows up as fixed.
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(
        &pyproject,
        text.replace("python_version = \"3.11\"", "python_version = \"3.12\""),
    )
    .unwrap();
    let later = sweep_root(
        &root,
        &["--compare", &before_arg],
        &dir.path().join("later.json"),
        1,
    );
    let trend = later.trend.expect("a trend");
    assert_eq!((trend.introduced, trend.fixed), (1, 1), "{trend:?}");
    assert_eq!(trend.by_rule["MYP003"].delta(), -1);
}

#[test]
fn fixes_are_a_dry_run_by_default_and_committed_on_a_new_branch_on_request() {
    let (dir, _) = org(16);
    let root = dir.path().join("org");
    let status = |repo: &Path| git(repo, &["status", "--porcelain"]);
    let repos: Vec<PathBuf> = (0..16).map(|i| root.join(format!("repo-{i:05}"))).collect();

    let dry = gate()
        .args(["sweep", "-q", "--root"])
        .arg(&root)
        .arg("--fix")
        .assert()
        .code(1)
        .stdout(contains("dry run"))
        .stdout(contains("+++ b/"));
    drop(dry);
    for repo in &repos {
        assert_eq!(status(repo), "", "a dry run changed {}", repo.display());
        assert_eq!(git(repo, &["branch", "--list", "fix/*"]), "");
    }

    let branch = ["--fix", "--branch", "fix/lambda-gate"];
    let report = sweep_root(&root, &branch, &dir.path().join("fixed.json"), 1);
    assert!(
        !report.fixes.is_empty(),
        "the organisation has fixable violations"
    );
    let fixed_rules: Vec<String> = report
        .fixes
        .iter()
        .flat_map(|f| f.rules.keys().cloned())
        .collect();
    for fix in &report.fixes {
        assert_eq!(fix.error, None, "{fix:?}");
        let repo = root.join(&fix.repository);
        assert_eq!(
            git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
            "fix/lambda-gate"
        );
        assert_eq!(
            status(&repo),
            "",
            "{} has uncommitted changes",
            repo.display()
        );
        assert_eq!(
            git(&repo, &["rev-parse", "HEAD"]).trim(),
            fix.commit.as_deref().unwrap()
        );
        let committed = git(&repo, &["show", "--name-only", "--format=%s", "HEAD"]);
        // A re-pinned base names itself in the subject; other fixes are "autofixes".
        let subject = if fix.rules.contains_key("DKR005") {
            "Pin "
        } else {
            "Apply lambda-gate autofixes"
        };
        assert!(committed.starts_with(subject), "{committed}");
        for file in &fix.files {
            assert!(
                committed.contains(file.as_str()),
                "{file} not in {committed}"
            );
        }
        // The branch checks clean for every rule that was fixed.
        let recheck = gate()
            .args(["check", "--format", "json", "--isolated"])
            .arg(&repo)
            .output()
            .unwrap();
        let recheck: serde_json::Value = serde_json::from_slice(&recheck.stdout).unwrap();
        for diagnostic in recheck["diagnostics"].as_array().unwrap() {
            let rule = diagnostic["rule"].as_str().unwrap();
            assert!(
                !fix.rules.contains_key(rule),
                "{rule} left on the branch: {diagnostic}"
            );
        }
    }
    // The report describes the branches as committed.
    for rule in &fixed_rules {
        assert!(
            !report.summary.by_rule.contains_key(rule),
            "{rule} still reported"
        );
    }
    // Back on main, a second run refuses to overwrite the branch and changes nothing.
    for fix in &report.fixes {
        git(
            &root.join(&fix.repository),
            &["checkout", "--quiet", "main"],
        );
    }
    let again = sweep_root(&root, &branch, &dir.path().join("again.json"), 1);
    assert_eq!(again.fixes.len(), report.fixes.len());
    for (fix, before) in again.fixes.iter().zip(&report.fixes) {
        let error = fix.error.as_deref().unwrap_or_default();
        assert!(error.contains("already exists"), "{fix:?}");
        let repo = root.join(&fix.repository);
        assert_eq!(
            git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
            "main"
        );
        assert_eq!(status(&repo), "");
        let tip = git(&repo, &["rev-parse", "fix/lambda-gate"]);
        assert_eq!(Some(tip.trim()), before.commit.as_deref());
    }
}

/// The HTML report in a real headless Chromium: it renders with no console message, the chart
/// has a bar per rule and the table a row per repository. The screenshot is kept in
/// `target/test-artifacts/`.
#[test]
fn the_html_report_renders_in_headless_chromium() {
    let (dir, _) = org(30);
    let html = dir.path().join("report.html");
    let json = dir.path().join("report.json");
    gate()
        .args(["sweep", "-q", "-L", "--root"])
        .arg(dir.path().join("org"))
        .arg("--html")
        .arg(&html)
        .arg("--json")
        .arg(&json)
        .assert()
        .code(1);
    let report = read_report(&json);
    let run = |extra: &[&str]| super::common::chromium(&html, extra);
    let output = run(&["--dump-dom"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("data-rendered=\"true\""),
        "the script did not finish"
    );
    assert!(dom.contains("id=\"rule-chart\""));
    assert_eq!(
        dom.matches("class=\"bar\"").count(),
        report.summary.by_rule.len()
    );
    assert_eq!(
        dom.matches("<tr class=\"repo\"").count(),
        report.repositories.len()
    );
    // Sorted by errors, worst first.
    let worst = &report.summary.worst[0].name;
    let first_row = dom.split("<tr class=\"repo\"").nth(1).unwrap();
    assert!(
        first_row.contains(worst.as_str()),
        "{worst} is not first: {first_row}"
    );

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("sweep-report.png");
    let _ = std::fs::remove_file(&screenshot);
    run(&[
        &format!("--screenshot={}", screenshot.display()),
        "--window-size=1280,1600",
    ]);
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

#[test]
fn the_terminal_and_markdown_summaries() {
    let (dir, _) = org(12);
    let root = dir.path().join("org");
    let human = gate()
        .args(["sweep", "-q", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    insta::assert_snapshot!("sweep_human", String::from_utf8_lossy(&human.stdout));
    let markdown = gate()
        .args(["sweep", "-q", "--format", "markdown", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    insta::assert_snapshot!("sweep_markdown", String::from_utf8_lossy(&markdown.stdout));
}

#[test]
fn bad_input_is_reported_and_the_sweep_goes_on() {
    let (dir, _) = org(6);
    let root = dir.path().join("org");
    // A repository whose policy does not parse: reported with file and line, others swept.
    std::fs::write(root.join("repo-00002/lambda-gate.toml"), "platforms = [\n").unwrap();
    let json = dir.path().join("report.json");
    gate()
        .args(["sweep", "--root"])
        .arg(&root)
        .args(["--format", "json", "-o"])
        .arg(&json)
        .assert()
        .code(1)
        .stderr(contains("repo-00002"));
    let report = read_report(&json);
    let broken = report
        .repositories
        .iter()
        .find(|r| r.name == "repo-00002")
        .unwrap();
    let error = broken.error.as_deref().unwrap();
    assert!(error.contains("lambda-gate.toml:"), "{error}");
    assert_eq!(report.summary.repositories_unreadable, 1);
    assert!(report.summary.lambdas > 0);

    // Usage errors: exit 2 with a clear message.
    gate()
        .args(["sweep", "--repos", "/nonexistent/repos.txt", "--cache"])
        .arg(dir.path().join("cache"))
        .assert()
        .code(2)
        .stderr(contains("cannot read the repository list"));
    gate()
        .args(["sweep", "--root"])
        .arg(&root)
        .args(["--shard", "4/3"])
        .assert()
        .code(2)
        .stderr(contains("K must be between 1 and N"));
    gate()
        .args(["sweep", "--root"])
        .arg(&root)
        .arg("--compare")
        .arg(root.join("repo-00000/README.md"))
        .assert()
        .code(2)
        .stderr(contains("is not JSON"));
    gate()
        .args(["sweep"])
        .assert()
        .code(2)
        .stderr(contains("--root"));
    gate()
        .args(["sweep", "--root", "/nonexistent"])
        .assert()
        .code(2)
        .stderr(contains("cannot sweep `/nonexistent`"));
}

/// `lambda-gate sweep --repos` of `dir`'s organisation into the clone cache `clones`, with the
/// results cache in `results` and `extra` arguments: its report and what it said on stderr.
fn sweep_cached(dir: &Path, results: &Path, extra: &[&str], name: &str) -> (SweepReport, String) {
    let json = dir.join(name);
    let output = gate()
        .env("LAMBDA_GATE_CACHE_DIR", results)
        .args(["sweep", "--repos"])
        .arg(dir.join("repos.txt"))
        .arg("--cache")
        .arg(dir.join("clones"))
        .args(extra)
        .args(["--format", "json", "-o"])
        .arg(&json)
        .output()
        .expect("lambda-gate");
    assert_eq!(output.status.code(), Some(1), "violations in the mix");
    (
        read_report(&json),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_resweep_keeps_the_records_of_unchanged_repositories_and_only_those() {
    let (dir, _) = org(30);
    let results = dir.path().join("results");
    let (first, said) = sweep_cached(dir.path(), &results, &[], "first.json");
    assert!(!said.contains("unchanged since an earlier sweep"), "{said}");

    // Nothing changed: every repository that could be cloned is kept, and the report is the
    // report of a sweep without the cache.
    let (second, said) = sweep_cached(dir.path(), &results, &[], "second.json");
    let cloned = first
        .repositories
        .iter()
        .filter(|r| r.error.is_none())
        .count();
    assert!(
        said.contains(&format!(
            "sweep: {cloned} of {} repositories unchanged since an earlier sweep",
            first.repositories.len()
        )),
        "{said}"
    );
    assert_eq!(second.repositories, first.repositories);
    assert_eq!(second.summary, first.summary);

    // One repository gains a commit with a syntax error in a Lambda: it alone is checked again.
    // (A handler the gate reads: one it has a PY diagnostic for.)
    let (changed, handler) = first
        .repositories
        .iter()
        .filter(|r| r.error.is_none())
        .find_map(|r| {
            let lambda = r.lambdas.first()?;
            let read = lambda.diagnostics.iter().find(|d| d.rule == "PY004")?;
            Some((r, read.file.clone()))
        })
        .expect("a repository whose first Lambda's handler has a PY004");
    let origin = dir.path().join(&changed.name);
    let code = origin.join(&handler);
    let mut text = std::fs::read_to_string(&code).unwrap();
    text.push_str("\ndef broken(:\n");
    std::fs::write(&code, text).unwrap();
    let code_name = handler.clone();
    commit_all(&origin, "a syntax error");
    let (third, said) = sweep_cached(dir.path(), &results, &[], "third.json");
    assert!(
        said.contains(&format!("sweep: {} of", cloned - 1)),
        "one repository checked again: {said}"
    );
    let (fresh, said) = sweep_cached(dir.path(), &results, &["--no-cache"], "fresh.json");
    assert!(!said.contains("unchanged since"), "{said}");
    assert_eq!(third.repositories, fresh.repositories);
    let record = |report: &SweepReport| {
        report
            .repositories
            .iter()
            .find(|r| r.name == changed.name)
            .cloned()
            .unwrap()
    };
    assert_ne!(record(&third), record(&first));
    assert!(
        record(&third).lambdas[0]
            .diagnostics
            .iter()
            .any(|d| d.rule == "PY001" && d.file.ends_with(&code_name)),
        "{:?}",
        record(&third)
    );

    // Every entry damaged (truncated by half): none is trusted, each is rewritten.
    let entries: Vec<PathBuf> = super::common::walk_files(&results);
    assert!(entries.len() >= cloned, "{entries:?}");
    for entry in &entries {
        let bytes = std::fs::read(entry).unwrap();
        std::fs::write(entry, &bytes[..bytes.len() / 2]).unwrap();
    }
    let (damaged, said) = sweep_cached(dir.path(), &results, &[], "damaged.json");
    assert!(!said.contains("unchanged since"), "{said}");
    assert_eq!(damaged.repositories, fresh.repositories);
    let (rewritten, said) = sweep_cached(dir.path(), &results, &[], "rewritten.json");
    assert!(said.contains(&format!("sweep: {cloned} of")), "{said}");
    assert_eq!(rewritten.repositories, fresh.repositories);

    // A policy for the whole sweep is part of the key: another one checks everything again.
    let policy = dir.path().join("org-policy.toml");
    std::fs::write(&policy, "[coverage]\nfail-under = 10\n").unwrap();
    let (_, said) = sweep_cached(
        dir.path(),
        &results,
        &["--config", policy.to_str().unwrap()],
        "policy.json",
    );
    assert!(!said.contains("unchanged since"), "{said}");

    // `cache dir` names it, `cache clean` empties it.
    gate()
        .env("LAMBDA_GATE_CACHE_DIR", &results)
        .args(["cache", "dir"])
        .assert()
        .success()
        .stdout(format!("{}\n", results.display()));
    gate()
        .env("LAMBDA_GATE_CACHE_DIR", &results)
        .args(["cache", "clean"])
        .assert()
        .success()
        .stdout(contains("removed"));
    assert!(!results.exists());
}

/// Commits everything in `repository`'s working tree (an empty commit when nothing changed).
fn commit_all(repository: &Path, message: &str) {
    git(repository, &["add", "-A"]);
    git(
        repository,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
        ],
    );
}

#[test]
fn random_edit_sequences_give_the_same_report_with_and_without_the_cache() {
    let (dir, _) = org(12);
    let results = dir.path().join("results");
    let (first, _) = sweep_cached(dir.path(), &results, &[], "round-0.json");
    let repositories: Vec<String> = first
        .repositories
        .iter()
        .filter(|r| r.error.is_none())
        .map(|r| r.name.clone())
        .collect();
    let mut random = fastrand::Rng::with_seed(26);
    for round in 1..=6 {
        // A commit in one or two repositories: code broken, a base moved to a tag, a policy of
        // its own, a file removed; the others unchanged.
        for _ in 0..random.usize(1..=2) {
            let origin = dir
                .path()
                .join(&repositories[random.usize(..repositories.len())]);
            let files: Vec<PathBuf> = super::common::walk_files(&origin)
                .into_iter()
                .filter(|f| !f.components().any(|c| c.as_os_str() == ".git"))
                .collect();
            let pick = |ext: &str, random: &mut fastrand::Rng| {
                let matching: Vec<&PathBuf> = files
                    .iter()
                    .filter(|f| f.to_string_lossy().ends_with(ext))
                    .collect();
                (!matching.is_empty()).then(|| matching[random.usize(..matching.len())].clone())
            };
            match random.usize(..4) {
                0 => {
                    if let Some(file) = pick(".py", &mut random) {
                        let mut text = std::fs::read_to_string(&file).unwrap_or_default();
                        text.push_str("\ndef broken(:\n");
                        std::fs::write(file, text).unwrap();
                    }
                }
                1 => {
                    if let Some(file) = pick("Dockerfile", &mut random) {
                        let text = std::fs::read_to_string(&file).unwrap_or_default();
                        std::fs::write(file, format!("FROM python:latest\n{text}")).unwrap();
                    }
                }
                2 => std::fs::write(
                    origin.join("lambda-gate.toml"),
                    format!("[coverage]\nfail-under = {}\n", random.u32(1..100)),
                )
                .unwrap(),
                _ => {
                    if let Some(file) = pick(".tf", &mut random) {
                        std::fs::remove_file(file).unwrap();
                    }
                }
            }
            commit_all(&origin, &format!("round {round}"));
        }
        let (cached, _) = sweep_cached(dir.path(), &results, &[], &format!("round-{round}.json"));
        let (fresh, _) = sweep_cached(
            dir.path(),
            &results,
            &["--no-cache"],
            &format!("round-{round}-fresh.json"),
        );
        assert_eq!(cached.repositories, fresh.repositories, "round {round}");
        assert_eq!(cached.summary, fresh.summary, "round {round}");
    }
}
