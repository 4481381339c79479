//! Synthetic Lambda projects with a known mix of violations, for benchmarks and scale tests.
//!
//! Each generated Lambda is realistic (ARG-driven bases, multi-stage builds, heredocs, line
//! continuations, a handler module) and breaks each rule in [`VIOLATIONS`] with a fixed
//! probability, exactly once when it does, so the expected diagnostics are known exactly.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

const REGISTRY: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const RELEASE_DIGEST: &str =
    "sha256:0e54c71614c181dba589a9d58c74c6e7ce4fa65b81f620733248b6a4b7b0b555";

/// The rules a generated Lambda may break (PY004 gives three diagnostics: both parameters and
/// the return type; every other rule one).
pub const VIOLATIONS: &[&str] = &[
    "DKR002", "DKR004", "DKR005", "DKR006", "DKR007", "DKR008", "DKR009", "MYP003", "MYP005",
    "PY002", "PY004", "TF003", "TF005", "TF006", "TF011", "COV002",
];

/// One generated Lambda: its files (relative path, content) and the rules it breaks.
#[derive(Debug, Clone)]
pub struct GeneratedLambda {
    pub files: Vec<(String, String)>,
    pub violations: Vec<&'static str>,
    /// Whether the image runs `handler.py` where the handler names it, so that the gate reads
    /// it (a flat COPY puts it elsewhere: DKR007, and nothing of the module is judged).
    pub handler_module_runs: bool,
}

impl GeneratedLambda {
    pub fn dockerfile(&self) -> &str {
        self.files
            .iter()
            .find(|(path, _)| path == "Dockerfile")
            .map_or("", |(_, text)| text.as_str())
    }
}

/// Generates Lambda number `index` of the corpus `seed`: the same arguments give the same Lambda.
pub fn lambda(seed: u64, index: usize) -> GeneratedLambda {
    let mut rng =
        fastrand::Rng::with_seed(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut hit = |percent: u8| rng.u8(0..100) < percent;
    let unpinned = hit(8);
    let secret = hit(6);
    let platform = hit(5);
    let shell_cmd = hit(5);
    let flat_copy = !shell_cmd && hit(6);
    let unapproved_build = !flat_copy && hit(5);
    let latest_build = !flat_copy && hit(5);
    let multi_stage = !flat_copy && (unapproved_build || latest_build || hit(40));
    let heredoc = hit(30);
    let old_python = hit(6);
    let global_ignore = hit(5);
    let bare_ignore = hit(6);
    let unannotated = !shell_cmd && hit(5);
    let module = ["app", "service", "handlers", "src_fn"][index % 4];

    let mut violations = Vec::new();
    let mut text = String::with_capacity(1024);
    text.push_str("# syntax=docker/dockerfile:1\n");
    text.push_str(&format!("# Lambda {index}: generated for benchmarks.\n"));
    let digest = if unpinned {
        violations.push("DKR005");
        String::new()
    } else {
        format!("@{RELEASE_DIGEST}")
    };
    text.push_str(&format!(
        "ARG BASE_IMAGE={REGISTRY}/aws-lambda-python-release-base:3.12{digest}\n"
    ));
    if multi_stage {
        let build_base = match (unapproved_build, latest_build) {
            (true, true) => "python:latest".to_string(),
            (true, false) => "python:3.12-slim".to_string(),
            (false, true) => format!("{REGISTRY}/aws-lambda-python-dev-base:latest"),
            (false, false) => format!("{REGISTRY}/aws-lambda-python-dev-base:3.12"),
        };
        if unapproved_build {
            violations.push("DKR002");
        }
        if latest_build {
            violations.push("DKR004");
        }
        text.push_str(&format!("\nFROM {build_base} AS build\nWORKDIR /build\n"));
        text.push_str("COPY requirements.txt .\n");
        text.push_str(
            "RUN pip install --no-cache-dir \\\n      --requirement requirements.txt \\\n      --target /opt/deps \\\n && find /opt/deps -name '__pycache__' -prune -exec rm -rf {} +\n",
        );
        if heredoc {
            text.push_str(
                "RUN <<EOF\nset -eu\npython -m compileall -q /opt/deps\necho built\nEOF\n",
            );
        }
    }
    let platform_flag = if platform {
        violations.push("DKR009");
        "--platform=linux/amd64 "
    } else {
        ""
    };
    text.push_str(&format!("\nFROM {platform_flag}${{BASE_IMAGE}}\n"));
    text.push_str("ENV POWERTOOLS_SERVICE_NAME=quote \\\n    LOG_LEVEL=INFO\n");
    if secret {
        violations.push("DKR008");
        text.push_str("ENV UPSTREAM_API_TOKEN=tok-3f9a8c\n");
    }
    if multi_stage {
        text.push_str("COPY --from=build /opt/deps ${LAMBDA_TASK_ROOT}\n");
    }
    if flat_copy {
        violations.push("DKR007");
        text.push_str(&format!("COPY {module} ${{LAMBDA_TASK_ROOT}}/\n"));
    } else {
        text.push_str(&format!("COPY {module}/ ${{LAMBDA_TASK_ROOT}}/{module}/\n"));
    }
    if shell_cmd {
        violations.push("DKR006");
        text.push_str(&format!("CMD python -m {module}.handler\n"));
    } else {
        text.push_str(&format!("CMD [\"{module}.handler.handler\"]\n"));
    }

    let mut pyproject = format!(
        "[project]\nname = \"lambda-{index}\"\nversion = \"1.0.0\"\n\n[tool.mypy]\n# The team defaults.\npython_version = \"{}\"\nstrict = true\nenable_error_code = [\"ignore-without-code\", \"redundant-expr\", \"truthy-bool\"]\n",
        if old_python { "3.11" } else { "3.12" }
    );
    if old_python {
        violations.push("MYP003");
    }
    if global_ignore {
        violations.push("MYP005");
        pyproject.push_str("ignore_missing_imports = true\n");
    }
    pyproject.push_str(
        "\n[[tool.mypy.overrides]]\nmodule = [\"aws_xray_sdk.*\"]\nignore_missing_imports = true\n",
    );

    let signature = if unannotated {
        // The gate reads the handler the image runs: none when the module is not copied where
        // the handler names it, or when the CMD names no handler.
        if !flat_copy && !shell_cmd {
            violations.extend(["PY004"; 3]);
        }
        "def handler(event, context):"
    } else {
        "def handler(event: dict[str, Any], context: object) -> dict[str, Any]:"
    };
    let handler = format!(
        "\"\"\"Lambda {index}.\"\"\"\n\nfrom typing import Any\n\nfrom {module}.pricing import total\n\n\n{signature}\n    return {{\"statusCode\": 200, \"body\": str(total(event.get(\"lines\", [])))}}\n"
    );
    // Most modules have no type comment at all, so the gate never parses them.
    let ignore = if bare_ignore {
        violations.push("PY002");
        "# type: ignore"
    } else if hit(10) {
        "# type: ignore[no-any-return]"
    } else {
        ""
    };
    let pricing = format!(
        "\"\"\"Order pricing.\"\"\"\n\nfrom decimal import Decimal\nfrom typing import Any\n\nVAT = Decimal(\"0.2\")\n\n\ndef line_total(line: dict[str, Any]) -> Decimal:\n    return Decimal(line[\"price\"]) * int(line[\"quantity\"])\n\n\ndef total(lines: list[dict[str, Any]]) -> Decimal:\n    subtotal = sum((line_total(line) for line in lines), Decimal(0))\n    return subtotal * (1 + VAT)  {ignore}\n"
    );
    let terraform = terraform(index, &mut hit, &mut violations);
    let low_coverage = hit(5);
    if low_coverage {
        violations.push("COV002");
    }
    let coverage = coverage_xml(module, low_coverage);
    violations.sort_unstable();
    GeneratedLambda {
        files: vec![
            ("Dockerfile".into(), text),
            ("requirements.txt".into(), "requests==2.32.3\n".into()),
            ("pyproject.toml".into(), pyproject),
            (format!("{module}/__init__.py"), String::new()),
            (format!("{module}/handler.py"), handler),
            (format!("{module}/pricing.py"), pricing),
            (format!("{module}/models.py"), MODELS.to_string()),
            ("terraform/main.tf".into(), terraform),
            // Last, so that the report is not older than the modules it covers (COV006).
            ("coverage.xml".into(), coverage),
        ],
        violations,
        handler_module_runs: !flat_copy,
    }
}

/// The Lambda's Terraform: the pinned Lambda module, an image by digest, its inputs.
fn terraform(
    index: usize,
    hit: &mut impl FnMut(u8) -> bool,
    violations: &mut Vec<&'static str>,
) -> String {
    let mut flag = |percent: u8, rule: &'static str| {
        let broken = hit(percent);
        if broken {
            violations.push(rule);
        }
        broken
    };
    let by_tag = flag(5, "TF003");
    let alarms_off = flag(4, "TF005");
    let no_retention = flag(4, "TF006");
    let undocumented = flag(5, "TF011");
    let image = if by_tag {
        format!("{REGISTRY}/orders-{index}:latest")
    } else {
        format!("{REGISTRY}/orders-{index}@${{var.image_digest}}")
    };
    let description = if undocumented {
        String::new()
    } else {
        "  description = \"Digest of the arm64 image to deploy.\"\n".to_string()
    };
    let mut text = format!(
        "terraform {{\n  required_version = \">= 1.6.0, < 2.0.0\"\n\n  required_providers {{\n    aws = {{\n      source  = \"hashicorp/aws\"\n      version = \">= 6.8.0, < 7.0.0\"\n    }}\n  }}\n}}\n\nvariable \"image_digest\" {{\n  type        = string\n{description}}}\n\nlocals {{\n  name = \"orders-{index}\"\n}}\n\nmodule \"function\" {{\n  source = \"git::https://git.example.com/platform/lambda-gate.git//terraform/modules/aws-lambda-container?ref=v1.4.2\"\n\n  name         = local.name\n  image_uri    = \"{image}\"\n  architecture = \"arm64\"\n  timeout      = 10\n  memory_size  = 256\n"
    );
    if alarms_off {
        text.push_str("  alarms_enabled = false\n");
    }
    if no_retention {
        text.push_str("  log_retention_days = 0\n");
    }
    text.push_str("  environment = {\n    TABLE = \"${local.name}-orders\"\n  }\n}\n");
    text
}

/// A Cobertura report as coverage.py writes it for the Lambda's modules: 95 % covered with
/// branches, or 48 % when `low` (below the default threshold of 80).
fn coverage_xml(module: &str, low: bool) -> String {
    let mut classes = String::new();
    let (mut statements, mut covered) = (0, 0);
    for (file, lines, missed) in [
        ("handler", 8, 1),
        ("pricing", 10, 1),
        ("models", 40, if low { 31 } else { 1 }),
    ] {
        classes.push_str(&format!(
            "\t\t\t\t<class name=\"{file}.py\" filename=\"{module}/{file}.py\" complexity=\"0\" line-rate=\"0\" branch-rate=\"0\">\n\t\t\t\t\t<methods/>\n\t\t\t\t\t<lines>\n"
        ));
        for line in 1..=lines {
            let hits = u8::from(line <= lines - missed);
            if line == 2 {
                let taken = if low { 1 } else { 2 };
                classes.push_str(&format!("\t\t\t\t\t\t<line number=\"{line}\" hits=\"{hits}\" branch=\"true\" condition-coverage=\"{}% ({taken}/2)\"/>\n", taken * 50));
            } else {
                classes.push_str(&format!(
                    "\t\t\t\t\t\t<line number=\"{line}\" hits=\"{hits}\"/>\n"
                ));
            }
        }
        classes.push_str("\t\t\t\t\t</lines>\n\t\t\t\t</class>\n");
        statements += lines;
        covered += lines - missed;
    }
    let (branches, branches_covered) = (6, if low { 3 } else { 6 });
    format!(
        "<?xml version=\"1.0\" ?>\n<coverage version=\"7.6.1\" timestamp=\"1732400000000\" lines-valid=\"{statements}\" lines-covered=\"{covered}\" line-rate=\"0\" branches-valid=\"{branches}\" branches-covered=\"{branches_covered}\" branch-rate=\"0\" complexity=\"0\">\n\t<sources>\n\t\t<source>/ci/workspace/fn</source>\n\t</sources>\n\t<packages>\n\t\t<package name=\"{module}\" line-rate=\"0\" branch-rate=\"0\" complexity=\"0\">\n\t\t\t<classes>\n{classes}\t\t\t</classes>\n\t\t</package>\n\t</packages>\n</coverage>\n"
    )
}

/// A typical module of a Lambda: data classes and parsing, annotated, no type comments.
const MODELS: &str = r#""""The order model and its parsing from API Gateway events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any


class Currency(str, Enum):
    EUR = "EUR"
    GBP = "GBP"
    USD = "USD"


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    price: Decimal

    @property
    def total(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True)
class Order:
    order_id: str
    currency: Currency
    lines: list[Line] = field(default_factory=list)
    content_type: str = "application/json"

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Order:
        body = event.get("body") or "{}"
        data: dict[str, Any] = json.loads(body) if isinstance(body, str) else body
        lines = [
            Line(sku=str(item["sku"]), quantity=int(item["quantity"]), price=Decimal(str(item["price"])))
            for item in data.get("lines", [])
        ]
        return cls(
            order_id=str(data["order_id"]),
            currency=Currency(data.get("currency", "EUR")),
            lines=lines,
        )

    def to_response(self) -> dict[str, Any]:
        return {
            "statusCode": 200,
            "headers": {"Content-Type": self.content_type},
            "body": json.dumps({"order_id": self.order_id, "lines": len(self.lines)}),
        }
"#;

/// Expected diagnostics per rule for a corpus.
pub type GroundTruth = BTreeMap<&'static str, usize>;

/// Writes `count` Lambdas under `out/lambda-NNNNN/` and returns the ground truth.
pub fn write_tree(out: &Path, count: usize, seed: u64) -> io::Result<GroundTruth> {
    let mut truth = GroundTruth::new();
    for index in 0..count {
        let generated = lambda(seed, index);
        let dir = out.join(format!("lambda-{index:05}"));
        for (path, content) in &generated.files {
            let path = dir.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, content)?;
        }
        for rule in generated.violations {
            *truth.entry(rule).or_default() += 1;
        }
    }
    Ok(truth)
}

/// What a generated organisation holds: the counts a sweep of it must report.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct OrgTruth {
    pub repositories: usize,
    pub lambdas: usize,
    /// Lambdas with at least one violation at error severity.
    pub lambdas_failed: usize,
    /// Repositories the sweep cannot read (the list's URL of a repository that does not exist).
    pub repositories_unreadable: usize,
    /// Violations per rule when the sweep follows symbolic links (`-L`: the loops are LG004).
    pub violations: BTreeMap<String, usize>,
    /// Lambdas per repository.
    pub lambdas_by_repository: BTreeMap<String, usize>,
}

/// What is deliberately broken in repository `index` of a generated organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breakage {
    None,
    /// A Python module that is not UTF-8 (LG003).
    NotUtf8,
    /// A Python module with a syntax error (PY001).
    Syntax,
    /// A symbolic link from a Lambda to its parent directory (LG004 with `-L`).
    SymlinkLoop,
    /// A repository with no Lambda at all.
    Empty,
}

fn breakage(index: usize) -> Breakage {
    match index % 23 {
        3 => Breakage::NotUtf8,
        7 => Breakage::Syntax,
        11 => Breakage::SymlinkLoop,
        19 => Breakage::Empty,
        _ => Breakage::None,
    }
}

/// Writes an organisation of `repositories` git repositories under `out/org/`, each with
/// 1 to 9 generated Lambdas under `functions/` (a Dockerfile, pyproject.toml with the mypy
/// configuration, Python modules, Terraform and coverage.xml), some broken on purpose, each
/// committed. Also writes `out/repos.txt` (their `file://` URLs and one that cannot be
/// cloned) and `out/truth.json`.
pub fn write_org(out: &Path, repositories: usize, seed: u64) -> io::Result<OrgTruth> {
    use rayon::prelude::*;
    let root = out.join("org");
    std::fs::create_dir_all(&root)?;
    let root = std::fs::canonicalize(&root)?;
    // Each repository's first Lambda number, so that Lambdas are numbered across the org.
    let mut first = Vec::with_capacity(repositories);
    let mut next = 0;
    for index in 0..repositories {
        first.push(next);
        next += lambda_count(seed, index);
    }
    let truths: Vec<OrgTruth> = (0..repositories)
        .into_par_iter()
        .map(|index| write_repository(&root, seed, index, first[index]))
        .collect::<io::Result<_>>()?;
    let mut truth = OrgTruth::default();
    let mut list = String::from("# A generated organisation: one git URL a line.\n");
    for (index, repository) in truths.into_iter().enumerate() {
        list.push_str(&format!("file://{}/{}\n", root.display(), repo_name(index)));
        truth.repositories += 1;
        truth.lambdas += repository.lambdas;
        truth.lambdas_failed += repository.lambdas_failed;
        truth
            .lambdas_by_repository
            .extend(repository.lambdas_by_repository);
        for (rule, count) in repository.violations {
            *truth.violations.entry(rule).or_default() += count;
        }
    }
    list.push_str(&format!(
        "file://{}/repo-that-does-not-exist\n",
        root.display()
    ));
    truth.repositories += 1;
    truth.repositories_unreadable = 1;
    std::fs::write(out.join("repos.txt"), list)?;
    let json = serde_json::to_string_pretty(&truth).map_err(io::Error::other)?;
    std::fs::write(out.join("truth.json"), json + "\n")?;
    Ok(truth)
}

fn repo_name(index: usize) -> String {
    format!("repo-{index:05}")
}

fn lambda_count(seed: u64, index: usize) -> usize {
    if breakage(index) == Breakage::Empty {
        return 0;
    }
    let mut rng = fastrand::Rng::with_seed(seed.rotate_left(17) ^ index as u64);
    rng.usize(1..10)
}

/// Writes and commits one repository; returns its share of the truth.
fn write_repository(root: &Path, seed: u64, index: usize, first: usize) -> io::Result<OrgTruth> {
    let name = repo_name(index);
    let dir = root.join(&name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("README.md"),
        format!("# {name}\n\nThe team's Lambdas, one directory each under `functions/`.\n"),
    )?;
    let count = lambda_count(seed, index);
    let mut truth = OrgTruth {
        repositories: 1,
        lambdas: count,
        ..OrgTruth::default()
    };
    truth
        .lambdas_by_repository
        .insert(format!("org/{name}"), count);
    let breakage = breakage(index);
    for n in 0..count {
        let generated = lambda(seed, first + n);
        let lambda_dir = dir.join(format!("functions/fn-{n:02}"));
        let mut violations: Vec<&str> = generated.violations.clone();
        for (path, content) in &generated.files {
            let path = lambda_dir.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, content)?;
        }
        if n == 0 {
            match breakage {
                Breakage::NotUtf8 => {
                    std::fs::write(lambda_dir.join("legacy.py"), b"# caf\xe9 \xff\xfe\nx = 1\n")?;
                    violations.push("LG003");
                }
                Breakage::Syntax => {
                    // In the handler module, which the gate parses when the image runs it.
                    let (module, handler) = generated
                        .files
                        .iter()
                        .find(|(path, _)| path.ends_with("/handler.py"))
                        .ok_or_else(|| io::Error::other("a generated Lambda has a handler"))?;
                    std::fs::write(
                        lambda_dir.join(module),
                        format!("{handler}\n\ndef broken(:\n    return 1\n"),
                    )?;
                    if generated.handler_module_runs {
                        violations.push("PY001");
                    }
                }
                Breakage::SymlinkLoop => {
                    #[cfg(unix)]
                    std::os::unix::fs::symlink("..", lambda_dir.join("loop"))?;
                    violations.push("LG004");
                }
                Breakage::None | Breakage::Empty => {}
            }
        }
        let fails = violations.iter().any(|rule| *rule != "LG004");
        truth.lambdas_failed += usize::from(fails);
        for rule in violations {
            *truth.violations.entry(rule.to_string()).or_default() += 1;
        }
    }
    commit_all(&dir)?;
    Ok(truth)
}

/// `git init` and one commit of everything, with a fixed author and date.
fn commit_all(dir: &Path) -> io::Result<()> {
    let run = |args: &[&str]| -> io::Result<()> {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "Platform Team")
            .env("GIT_AUTHOR_EMAIL", "platform@example.com")
            .env("GIT_COMMITTER_NAME", "Platform Team")
            .env("GIT_COMMITTER_EMAIL", "platform@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .stdout(std::process::Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "git {} failed in {}",
                args.join(" "),
                dir.display()
            )))
        }
    };
    run(&["init", "--quiet", "--initial-branch=main"])?;
    run(&["add", "--all"])?;
    run(&[
        "commit",
        "--quiet",
        "--no-verify",
        "--message",
        "Lambdas of the team",
    ])
}
