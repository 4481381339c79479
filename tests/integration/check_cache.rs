//! `check`'s results cache: a cached run says exactly what a fresh one says, after any change
//! to any kind of input, with runs side by side, and over a damaged cache.
//!
//! The tree is the example project with the repository's policy and Terraform modules, as a
//! team's repository holds them. A result is stored only when every input is older than two
//! seconds (a change within a file system's timestamp granularity could go unseen), so each
//! state is left to age before the cache is asked to keep it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

const AGE: Duration = Duration::from_millis(2100);

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A repository with the example project, its policy and the Terraform modules it calls.
fn team_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    super::common::copy_dir(
        &repository().join("example-project"),
        &root.join("example-project"),
    );
    super::common::copy_dir(
        &repository().join("terraform/modules"),
        &root.join("terraform/modules"),
    );
    std::fs::copy(
        repository().join("lambda-gate.toml"),
        root.join("lambda-gate.toml"),
    )
    .expect("copy the policy");
    std::fs::write(root.join(".gitignore"), "*.pyc\n").expect("write .gitignore");
    dir
}

/// `check .` in `root` with the cache in `cache` (or none): the report's diagnostics and
/// counts (not its timing, nor whether it was cached), and what `--verbose` said of the cache.
fn check(root: &Path, cache: Option<&Path>) -> (Value, String) {
    let mut cmd = Command::cargo_bin("lambda-gate").expect("binary");
    cmd.current_dir(root)
        .args(["-v", "check", ".", "--format", "json"]);
    match cache {
        Some(dir) => cmd.env("LAMBDA_GATE_CACHE_DIR", dir),
        None => cmd.arg("--no-cache"),
    };
    let output = cmd.output().expect("run lambda-gate");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let summary = report["summary"].as_object_mut().expect("a summary");
    summary.remove("elapsed_ms");
    summary.remove("cached");
    (report, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Lets the tree's last change age, then has the cache keep this state, and checks that the
/// next run is answered from it with the same report.
fn store_and_hit(root: &Path, cache: &Path, expected: &Value) {
    std::thread::sleep(AGE);
    let (stored, said) = check(root, Some(cache));
    assert_eq!(&stored, expected);
    assert!(said.contains("result stored"), "{said}");
    let (again, said) = check(root, Some(cache));
    assert!(
        said.contains("nothing changed since the stored run"),
        "{said}"
    );
    assert_eq!(&again, expected, "a cached result is the computed one");
}

fn append(path: &Path, text: &str) {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .unwrap_or_else(|e| panic!("append to {}: {e}", path.display()));
}

fn replace(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} holds `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

#[test]
fn a_change_to_any_kind_of_input_gives_what_a_fresh_check_gives() {
    let tree = team_repository();
    let root = tree.path();
    let project = root.join("example-project");
    let cache = tempfile::tempdir().expect("tempdir");
    let (mut before, _) = check(root, None);
    store_and_hit(root, cache.path(), &before);

    // Each edit is a different kind of input the verdict depends on; each changes the report.
    type Edit = Box<dyn Fn()>;
    let edits: Vec<(&str, Edit)> = vec![
        ("the size limit, at the top of the policy", {
            let path = root.join("lambda-gate.toml");
            Box::new(move || {
                let text = std::fs::read_to_string(&path).expect("read");
                std::fs::write(&path, format!("max-file-size = 2000\n{text}")).expect("write")
            })
        }),
        (
            "a Terraform file over the size limit, shrunk below it (judged by its size, unread)",
            {
                let path = root.join("terraform/modules/lambda-publisher-role/variables.tf");
                Box::new(move || {
                    let variable =
                        "variable \"x\" {\n  type        = string\n  description = \"x\"\n}\n";
                    std::fs::write(&path, variable).expect("write")
                })
            },
        ),
        ("the size limit removed", {
            let path = root.join("lambda-gate.toml");
            Box::new(move || replace(&path, "max-file-size = 2000\n", ""))
        }),
        ("a Python module", {
            let path = project.join("app/handler.py");
            Box::new(move || append(&path, "x = 1  # type: ignore\n"))
        }),
        ("the policy file", {
            let path = root.join("lambda-gate.toml");
            Box::new(move || append(&path, "\n[rules]\nPY002 = \"warning\"\n"))
        }),
        ("a mypy configuration that was absent", {
            let path = project.join("mypy.ini");
            Box::new(move || append(&path, "[mypy]\npython_version = 3.12\n"))
        }),
        (
            "a mypy configuration removed (pyproject.toml's applies again)",
            {
                let path = project.join("mypy.ini");
                Box::new(move || std::fs::remove_file(&path).expect("remove mypy.ini"))
            },
        ),
        ("the Dockerfile", {
            let path = project.join("Dockerfile");
            Box::new(move || replace(&path, "app.handler.handler", "app.quote.handler"))
        }),
        ("the .dockerignore", {
            let path = project.join(".dockerignore");
            Box::new(move || append(&path, "\napp/\n"))
        }),
        ("the coverage report", {
            let path = project.join("coverage.xml");
            Box::new(move || std::fs::write(&path, "<coverage").expect("write"))
        }),
        ("a removed file", {
            let path = project.join("app/pricing.py");
            Box::new(move || std::fs::remove_file(&path).expect("remove"))
        }),
        ("the .gitignore the walk obeys", {
            let path = root.join(".gitignore");
            Box::new(move || append(&path, "example-project/app/__init__.py\n"))
        }),
        ("a Terraform variable of the Lambda's module", {
            let path = project.join("terraform/main.tf");
            Box::new(move || {
                replace(
                    &path,
                    "description = \"SNS topic for the function's alarms.\"",
                    "",
                )
            })
        }),
        ("a shared Terraform module", {
            let path = root.join("terraform/modules/aws-lambda-container/variables.tf");
            Box::new(move || {
                let text = std::fs::read_to_string(&path).expect("read");
                let start = text.find("description").expect("a description");
                let end = start + text[start..].find('\n').expect("a line end");
                std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).expect("write")
            })
        }),
    ];
    for (kind, edit) in edits {
        edit();
        let (cached, said) = check(root, Some(cache.path()));
        assert!(
            said.contains("changed since the stored run"),
            "{kind}: {said}"
        );
        let (fresh, _) = check(root, None);
        assert_eq!(cached, fresh, "after a change to {kind}");
        assert_ne!(fresh, before, "a change to {kind} changes the report");
        store_and_hit(root, cache.path(), &fresh);
        before = fresh;
    }
}

#[test]
fn a_worktrees_shared_exclude_file_is_an_input() {
    // As `git worktree add` leaves a worktree: its `.git` is a file naming the worktree's
    // directory inside the main repository's `.git`, whose `commondir` leads back to it; the
    // exclude file the worktree obeys is the main repository's, outside the walked tree.
    let tree = team_repository();
    let root = tree.path();
    let main = tempfile::tempdir().expect("tempdir");
    let common = main.path().join(".git");
    let worktree_dir = common.join("worktrees/team");
    std::fs::create_dir_all(common.join("info")).expect("mkdir");
    std::fs::create_dir_all(&worktree_dir).expect("mkdir");
    std::fs::write(worktree_dir.join("commondir"), "../..\n").expect("write commondir");
    std::fs::write(common.join("info/exclude"), "*.log\n").expect("write exclude");
    std::fs::write(
        root.join(".git"),
        format!("gitdir: {}\n", worktree_dir.display()),
    )
    .expect("write .git");
    let cache = tempfile::tempdir().expect("tempdir");
    let (before, _) = check(root, None);
    store_and_hit(root, cache.path(), &before);

    append(
        &common.join("info/exclude"),
        "example-project/app/__init__.py\n",
    );
    let (cached, said) = check(root, Some(cache.path()));
    assert!(said.contains("changed since the stored run"), "{said}");
    let (fresh, _) = check(root, None);
    assert_eq!(cached, fresh);
    assert_ne!(
        fresh, before,
        "the exclude file's new line changes the report"
    );
}

#[test]
fn runs_side_by_side_on_one_cache_agree_and_leave_a_whole_entry() {
    let tree = team_repository();
    let root = tree.path().to_path_buf();
    append(
        &root.join("example-project/app/handler.py"),
        "y = 2  # type: ignore\n",
    );
    let cache = tempfile::tempdir().expect("tempdir");
    let (fresh, _) = check(&root, None);
    std::thread::sleep(AGE);
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let root = root.clone();
            let cache = cache.path().to_path_buf();
            std::thread::spawn(move || check(&root, Some(&cache)).0)
        })
        .collect();
    for run in runs {
        assert_eq!(run.join().expect("a run"), fresh);
    }
    let (again, said) = check(&root, Some(cache.path()));
    assert!(
        said.contains("nothing changed since the stored run"),
        "{said}"
    );
    assert_eq!(again, fresh);
}

#[test]
fn a_damaged_entry_is_ignored_and_rewritten() {
    let tree = team_repository();
    let root = tree.path();
    let cache = tempfile::tempdir().expect("tempdir");
    let (fresh, _) = check(root, None);
    store_and_hit(root, cache.path(), &fresh);
    let entries: Vec<PathBuf> = super::common::walk_files(cache.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    for damage in [
        |bytes: &mut Vec<u8>| bytes.truncate(bytes.len() / 2),
        |bytes: &mut Vec<u8>| {
            let last = bytes.len() - 2;
            bytes[last] ^= 1;
        },
        |bytes: &mut Vec<u8>| bytes.clear(),
    ] {
        let mut bytes = std::fs::read(&entries[0]).expect("read the entry");
        damage(&mut bytes);
        std::fs::write(&entries[0], bytes).expect("damage the entry");
        let (report, said) = check(root, Some(cache.path()));
        assert!(said.contains("no stored result"), "{said}");
        assert!(said.contains("result stored"), "{said}");
        assert_eq!(report, fresh);
        let (report, said) = check(root, Some(cache.path()));
        assert!(
            said.contains("nothing changed since the stored run"),
            "{said}"
        );
        assert_eq!(report, fresh);
    }
}
