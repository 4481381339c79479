//! `sweep --fix --push` against real git remotes: bare repositories over `file://` and over
//! `git daemon` on 127.0.0.1, with a branch someone else pushed to, a fix already merged, a
//! remote whose hook refuses every push and one that protects the branch.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process};

use assert_cmd::Command;
use lambda_gate::sweep::push::PushStatus;
use lambda_gate::sweep::report::SweepReport;

use crate::common::{git, ok, text};

const RELEASE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-lambda-python-release-base";
const BRANCH: &str = "lambda-gate/fixes";

fn digest(fill: char) -> String {
    format!("sha256:{}", fill.to_string().repeat(64))
}

const TYPED_HANDLER: &str =
    "from typing import Any\n\n\ndef handler(event: dict[str, Any], context: object) -> dict[str, Any]:\n    return {}\n";
const TEAM_MYPY_INI: &str = "[mypy]\npython_version = 3.12\nstrict = True\nwarn_unused_ignores = True\nenable_error_code = ignore-without-code, redundant-expr, truthy-bool\n";

/// A bare repository `remotes/NAME.git` whose `main` holds one Lambda on the old base digest.
fn remote(dir: &Path, name: &str) -> PathBuf {
    let work = dir.join("work").join(name);
    std::fs::create_dir_all(work.join("quote/app")).unwrap();
    std::fs::write(
        work.join("quote/Dockerfile"),
        format!(
            "FROM {RELEASE}:3.12@{}\nCOPY app/ ${{LAMBDA_TASK_ROOT}}/app/\nCMD [\"app.handler.handler\"]\n",
            digest('1')
        ),
    )
    .unwrap();
    std::fs::write(work.join("quote/app/handler.py"), TYPED_HANDLER).unwrap();
    std::fs::write(work.join("quote/mypy.ini"), TEAM_MYPY_INI).unwrap();
    ok(git(&work, &["init", "--quiet"]));
    ok(git(&work, &["add", "."]));
    ok(git(
        &work,
        &["commit", "--quiet", "-m", "A Lambda on the old base"],
    ));
    let bare = dir.join("remotes").join(format!("{name}.git"));
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    ok(git(
        dir,
        &[
            "clone",
            "--quiet",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    ));
    ok(git(
        &work,
        &["remote", "add", "origin", bare.to_str().unwrap()],
    ));
    ok(git(&work, &["fetch", "--quiet", "origin"]));
    bare
}

/// `git daemon` serving `base` on 127.0.0.1 (pushes allowed), stopped on drop.
struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    fn start(base: &Path) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Process::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", base.display()),
            ])
            .arg(base)
            // Its connection handlers outlive it a moment; they must not hold the test's output.
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("git daemon");
        let daemon = Daemon { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return daemon;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("git daemon did not listen on {port}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sweep --repos LIST --fix --push EXTRA...`, expecting `code`; its JSON report and text.
fn sweep(dir: &Path, extra: &[&str], code: i32) -> (SweepReport, String) {
    let json = dir.join("report.json");
    let assert = Command::cargo_bin("lambda-gate")
        .unwrap()
        .env_remove("RUST_LOG")
        .env("LAMBDA_GATE_CACHE_DIR", dir.join("results-cache"))
        .args(["sweep", "--repos"])
        .arg(dir.join("repos.txt"))
        .arg("--cache")
        .arg(dir.join("clones"))
        .arg("--config")
        .arg(dir.join("policy.toml"))
        .args(["--fix", "--push"])
        .args(extra)
        .arg("--json")
        .arg(&json)
        .assert()
        .code(code);
    let shown = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    (SweepReport::read(&json).expect("a sweep report"), shown)
}

fn status_of(report: &SweepReport, repository: &str) -> Option<PushStatus> {
    report
        .fixes
        .iter()
        .find(|f| f.repository.ends_with(repository))
        .and_then(|f| f.push.as_ref())
        .map(|p| p.status)
}

/// The commit `branch` is at in the bare repository `bare`, if it exists.
fn tip(bare: &Path, branch: &str) -> Option<String> {
    let output = git(
        bare,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    );
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// A developer's commit on `branch` of the clone `work`, pushed.
fn push_change(work: &Path, branch: &str, file: &str, content: &str) {
    ok(git(work, &["fetch", "--quiet", "origin"]));
    ok(git(
        work,
        &[
            "checkout",
            "--quiet",
            "-B",
            branch,
            &format!("origin/{branch}"),
        ],
    ));
    std::fs::write(work.join(file), content).unwrap();
    ok(git(work, &["add", file]));
    ok(git(
        work,
        &["commit", "--quiet", "-m", &format!("Change {file}")],
    ));
    ok(git(work, &["push", "--quiet", "origin", branch]));
}

#[test]
fn fixes_are_pushed_once_per_repository_updated_in_place_and_never_over_someone_elses_commits() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (old, new) = (digest('1'), digest('2'));
    // The platform's policy: the new base digest, the old one allowed (a warning) for now.
    std::fs::write(
        dir.join("policy.toml"),
        format!(
            "[dockerfile.digests]\n\"{RELEASE}:3.12\" = \"{new}\"\n\n[dockerfile.previous-digests]\n\"{RELEASE}:3.12\" = [{{ digest = \"{old}\", allowed-until = 2999-12-31 }}]\n"
        ),
    )
    .unwrap();
    let names = ["orders", "payments", "quotes", "ledger"];
    let bares: Vec<PathBuf> = names.iter().map(|name| remote(dir, name)).collect();
    let daemon = Daemon::start(&dir.join("remotes"));
    let urls = [
        format!("file://{}", bares[0].display()),
        format!("file://{}", bares[1].display()),
        format!("git://127.0.0.1:{}/quotes.git", daemon.port),
        format!("file://{}", bares[3].display()),
    ];
    std::fs::write(dir.join("repos.txt"), urls.join("\n")).unwrap();
    let work = |name: &str| dir.join("work").join(name);

    // 1. A dry run lists what would be pushed, and pushes nothing.
    let (report, shown) = sweep(dir, &["--dry-run"], 0);
    assert_eq!(report.fixes.len(), 4, "{:?}", report.fixes);
    for fix in &report.fixes {
        let push = fix.push.as_ref().expect("a push record");
        assert_eq!(push.status, PushStatus::WouldCreate, "{fix:?}");
        assert_eq!(push.branch, BRANCH);
        let message = fix.message.as_deref().unwrap();
        assert!(
            message.starts_with("Pin aws-lambda-python-release-base:3.12 to the policy's digest\n"),
            "{message}"
        );
        assert!(
            message.contains(&format!(
                "- quote/Dockerfile: {RELEASE}:3.12 {old} -> {new}"
            )),
            "{message}"
        );
        assert!(message.ends_with("\nLambda-Gate-Sweep: fix\n"), "{message}");
        assert_eq!(fix.files, ["quote/Dockerfile"]);
    }
    assert!(
        shown.contains("would create `lambda-gate/fixes`"),
        "{shown}"
    );
    assert!(
        shown.contains("the commit that would be pushed, changing quote/Dockerfile"),
        "{shown}"
    );
    for bare in &bares {
        assert_eq!(
            tip(bare, BRANCH),
            None,
            "a dry run pushed to {}",
            bare.display()
        );
    }

    // 2. Pushed: one branch per repository, one commit on main's tip, over file:// and git://.
    let (report, _) = sweep(dir, &[], 0);
    for (name, bare) in names.iter().zip(&bares) {
        assert_eq!(
            status_of(&report, name),
            Some(PushStatus::Created),
            "{name}"
        );
        let branch_tip = tip(bare, BRANCH).expect("the branch was pushed");
        let main = tip(bare, "main").unwrap();
        let parent = ok(git(bare, &["rev-parse", &format!("{branch_tip}^")]));
        assert_eq!(String::from_utf8_lossy(&parent.stdout).trim(), main);
        let dockerfile = ok(git(
            bare,
            &["show", &format!("{branch_tip}:quote/Dockerfile")],
        ));
        assert!(String::from_utf8_lossy(&dockerfile.stdout)
            .starts_with(&format!("FROM {RELEASE}:3.12@{new}\n")));
        let fix = report
            .fixes
            .iter()
            .find(|f| f.repository.ends_with(name))
            .unwrap();
        assert_eq!(fix.commit.as_deref(), Some(branch_tip.as_str()));
    }
    let pushed: Vec<Option<String>> = bares.iter().map(|b| tip(b, BRANCH)).collect();

    // 3. Again, nothing changed: the same branches, left as they are.
    let (report, _) = sweep(dir, &[], 0);
    for name in names {
        assert_eq!(
            status_of(&report, name),
            Some(PushStatus::UpToDate),
            "{name}"
        );
    }
    assert_eq!(
        bares.iter().map(|b| tip(b, BRANCH)).collect::<Vec<_>>(),
        pushed
    );

    // 4. orders' main moved on: its branch is replaced by the fix on the new tip (the same
    //    branch, not another). payments' branch got a developer's commit: left alone, the run
    //    fails, until --force-with-lease replaces it. quotes merged the fix: skipped.
    push_change(&work("orders"), "main", "README.md", "orders\n");
    push_change(&work("payments"), BRANCH, "NOTES.md", "reviewed\n");
    let payments_tip = tip(&bares[1], BRANCH);
    ok(git(&work("quotes"), &["fetch", "--quiet", "origin"]));
    ok(git(&work("quotes"), &["checkout", "--quiet", "main"]));
    ok(git(
        &work("quotes"),
        &["merge", "--quiet", "--ff-only", &format!("origin/{BRANCH}")],
    ));
    ok(git(&work("quotes"), &["push", "--quiet", "origin", "main"]));
    let (report, shown) = sweep(dir, &[], 1);
    assert_eq!(status_of(&report, "orders"), Some(PushStatus::Updated));
    let orders_tip = tip(&bares[0], BRANCH).unwrap();
    let parent = ok(git(&bares[0], &["rev-parse", &format!("{orders_tip}^")]));
    assert_eq!(
        String::from_utf8_lossy(&parent.stdout).trim(),
        tip(&bares[0], "main").unwrap()
    );
    assert_eq!(status_of(&report, "payments"), Some(PushStatus::Diverged));
    assert_eq!(
        tip(&bares[1], BRANCH),
        payments_tip,
        "a diverged branch was replaced"
    );
    assert!(
        shown.contains("holds commits lambda-gate did not make"),
        "{shown}"
    );
    assert_eq!(
        status_of(&report, "quotes"),
        None,
        "a merged fix is skipped"
    );
    assert_eq!(status_of(&report, "ledger"), Some(PushStatus::UpToDate));
    let (report, _) = sweep(dir, &["--force-with-lease"], 0);
    assert_eq!(status_of(&report, "payments"), Some(PushStatus::Updated));
    assert_ne!(tip(&bares[1], BRANCH), payments_tip);

    // 5. Remotes that refuse: orders' hook refuses every push; ledger protects the branch.
    //    Both are reported in the remote's words, the branches stay, and the run fails.
    push_change(&work("orders"), "main", "README.md", "orders, again\n");
    push_change(&work("ledger"), "main", "README.md", "ledger\n");
    let hook = |bare: &Path, script: &str, name: &str| {
        let path = bare.join("hooks").join(name);
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    hook(
        &bares[0],
        "#!/bin/sh\necho 'pushes to orders are frozen for the audit' >&2\nexit 1\n",
        "pre-receive",
    );
    hook(
        &bares[3],
        "#!/bin/sh\ncase \"$1\" in refs/heads/lambda-gate/*) echo \"$1 is protected: open a merge request\" >&2; exit 1;; esac\n",
        "update",
    );
    let (orders_before, ledger_before) = (tip(&bares[0], BRANCH), tip(&bares[3], BRANCH));
    let (report, shown) = sweep(dir, &[], 1);
    assert_eq!(status_of(&report, "orders"), Some(PushStatus::Rejected));
    assert_eq!(status_of(&report, "ledger"), Some(PushStatus::Rejected));
    assert!(
        shown.contains("pushes to orders are frozen for the audit"),
        "{shown}"
    );
    assert!(
        shown.contains("refs/heads/lambda-gate/fixes is protected: open a merge request"),
        "{shown}"
    );
    assert_eq!(tip(&bares[0], BRANCH), orders_before);
    assert_eq!(tip(&bares[3], BRANCH), ledger_before);
    assert!(!text(&ok(git(&bares[0], &["log", "--oneline", "-1", "main"]))).is_empty());
}
