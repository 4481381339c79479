//! The documentation cannot rot: every relative link and anchor resolves, every page is in the
//! book's summary, the rules reference and each family's rule list are generated from the
//! registry and `rules/*.md`, the configuration reference has an entry for every key the policy
//! types accept (with a default that is the embedded policy's and an example the loader takes),
//! the command reference quotes every subcommand's `--help`, and the command blocks marked
//! runnable run against the example project.
//!
//! Generated parts are rewritten, not compared, with `LAMBDA_GATE_UPDATE_DOCS=1`:
//! `LAMBDA_GATE_UPDATE_DOCS=1 cargo nextest run --release -E 'test(/^docs::/)'`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use lambda_gate::rules::registry;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};

use crate::common::{copy_dir, text};

const UPDATE: &str = "LAMBDA_GATE_UPDATE_DOCS";

fn updating() -> bool {
    std::env::var_os(UPDATE).is_some()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The Markdown a reader of this repository meets: the README, the book, the modules' READMEs.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    let mut stack = vec![PathBuf::from("docs")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("docs/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    for dir in ["terraform/modules", "images"] {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let readme = entry.path().join("README.md");
            if readme.is_file() {
                files.push(readme);
            }
        }
    }
    files.sort();
    files
}

/// A heading's anchor as GitHub and mdBook make it: lower case, letters, digits, `-` and `_`
/// kept, spaces made `-`, anything else dropped; a repeated heading gets `-1`, `-2`, ...
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut heading: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let title = heading.take().unwrap_or_default();
                let slug: String = title
                    .to_lowercase()
                    .chars()
                    .filter_map(|c| match c {
                        ' ' => Some('-'),
                        c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                        _ => None,
                    })
                    .collect();
                let n = counts.entry(slug.clone()).or_insert(0);
                anchors.insert(if *n == 0 {
                    slug.clone()
                } else {
                    format!("{slug}-{n}")
                });
                *n += 1;
            }
            _ => {}
        }
    }
    anchors
}

/// Every link and image target outside code.
fn links(markdown: &str) -> Vec<String> {
    Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => Some(dest_url.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut broken = Vec::new();
    for file in markdown_files() {
        let markdown = read(&file);
        for target in links(&markdown) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                file.parent().expect("parent").join(path)
            };
            if !resolved.exists() {
                broken.push(format!("{}: `{target}`: no such file", file.display()));
                continue;
            }
            if let Some(anchor) = anchor {
                if resolved.extension().is_none_or(|e| e != "md")
                    || !anchors(&read(&resolved)).contains(anchor)
                {
                    broken.push(format!("{}: `{target}`: no such heading", file.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The README is the first screen, not the manual: the manual is the book.
#[test]
fn the_readme_stays_short_and_leads_into_the_book() {
    let readme = read(Path::new("README.md"));
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines; move detail into docs/"
    );
    for page in [
        "docs/SUMMARY.md",
        "docs/rules/README.md",
        "docs/configuration.md#reference",
    ] {
        assert!(
            links(&readme).iter().any(|l| l == page),
            "README.md links {page}"
        );
    }
}

#[test]
fn every_page_of_the_book_is_in_its_summary() {
    let summary = read(Path::new("docs/SUMMARY.md"));
    let listed: BTreeSet<PathBuf> = links(&summary)
        .iter()
        .map(|l| Path::new("docs").join(l))
        .collect();
    let missing: Vec<_> = markdown_files()
        .into_iter()
        .filter(|f| f.starts_with("docs") && f != Path::new("docs/SUMMARY.md"))
        .filter(|f| !listed.contains(f))
        .collect();
    assert!(
        missing.is_empty(),
        "pages not in docs/SUMMARY.md: {missing:?}"
    );
}

/// Replaces the text between `<!-- NAME:start -->` and `<!-- NAME:end -->` of `file` with
/// `generated`, or reports that it differs.
fn generated_region(file: &Path, name: &str, generated: &str, stale: &mut Vec<String>) {
    let text = read(file);
    let start_marker = format!("<!-- {name}:start -->\n");
    let end_marker = format!("<!-- {name}:end -->");
    let start = text
        .find(&start_marker)
        .unwrap_or_else(|| panic!("{}: no `{start_marker}`", file.display()))
        + start_marker.len();
    let end = text[start..]
        .find(&end_marker)
        .unwrap_or_else(|| panic!("{}: no `{end_marker}`", file.display()))
        + start;
    if text[start..end] != *generated {
        if updating() {
            fs::write(
                file,
                format!("{}{generated}{}", &text[..start], &text[end..]),
            )
            .expect("write");
        } else {
            stale.push(format!("{} ({name})", file.display()));
        }
    }
}

fn generated_file(file: &Path, generated: &str, stale: &mut Vec<String>) {
    if fs::read_to_string(file).ok().as_deref() != Some(generated) {
        if updating() {
            fs::write(file, generated).expect("write");
        } else {
            stale.push(file.display().to_string());
        }
    }
}

fn assert_fresh(stale: Vec<String>) {
    assert!(
        stale.is_empty(),
        "generated documentation is out of date (rerun with {UPDATE}=1 and commit): {stale:?}"
    );
}

/// One rule's page: the registry's facts, then `rules/<ID>.md` below its title.
fn rule_page(rule: &lambda_gate::rules::Rule) -> String {
    let (title, body) = rule.doc.split_once('\n').unwrap_or((rule.doc, ""));
    format!(
        "<!-- Generated from rules/{id}.md and the rule registry by tests/integration/docs.rs. -->\n\
         {title}\n\n\
         | family | default severity | fixable | summary |\n\
         |---|---|---|---|\n\
         | [{family}](../families/{family}.md) | {severity} | {fixable} | {summary} |\n\
         {body}",
        id = rule.id,
        family = rule.family.as_str(),
        severity = rule.default_severity.as_str(),
        fixable = if rule.fixable { "yes (`--fix`)" } else { "no" },
        summary = rule.summary,
    )
}

#[test]
fn the_rules_reference_is_generated_from_the_registry_and_the_rule_docs() {
    let mut stale = Vec::new();
    let rules = registry::all();
    let mut expected_files: BTreeSet<PathBuf> = BTreeSet::new();
    expected_files.insert(PathBuf::from("docs/rules/README.md"));
    for rule in rules {
        let page = PathBuf::from(format!("docs/rules/{}.md", rule.id));
        generated_file(&page, &rule_page(rule), &mut stale);
        expected_files.insert(page);
    }
    // A rule's text is Markdown in `explain`, SARIF and here: no raw HTML, no escaped backticks.
    for rule in rules {
        let raw_html =
            Parser::new(rule.doc).any(|e| matches!(e, Event::Html(_) | Event::InlineHtml(_)));
        assert!(
            !raw_html && !rule.doc.contains("\\`"),
            "rules/{}.md: raw HTML or an escaped backtick (write code as `code`)",
            rule.id
        );
    }
    let mut families: BTreeMap<&str, Vec<&lambda_gate::rules::Rule>> = BTreeMap::new();
    for rule in rules {
        families.entry(rule.family.as_str()).or_default().push(rule);
    }
    let mut index = String::new();
    for (family, members) in &families {
        index.push_str(&format!(
            "\n## {family}\n\n[The {family} family](../families/{family}.md)\n\n{}",
            registry::markdown_table(members, Some(""))
        ));
        generated_region(
            Path::new(&format!("docs/families/{family}.md")),
            "rules",
            &registry::markdown_table(members, Some("../rules/")),
            &mut stale,
        );
    }
    generated_region(
        Path::new("docs/rules/README.md"),
        "rules",
        &index,
        &mut stale,
    );
    let present: BTreeSet<PathBuf> = fs::read_dir("docs/rules")
        .expect("docs/rules")
        .map(|e| e.expect("entry").path())
        .collect();
    let extra: Vec<_> = present.difference(&expected_files).collect();
    assert!(
        extra.is_empty(),
        "pages of no rule in docs/rules: {extra:?}"
    );
    assert_fresh(stale);
}

#[test]
fn the_command_reference_quotes_every_subcommands_help() {
    fn commands(command: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in command.get_subcommands() {
            if sub.get_name() != "help" {
                let mut next = path.clone();
                next.push(sub.get_name().to_string());
                commands(sub, next, out);
            }
        }
    }
    let mut all = Vec::new();
    commands(&lambda_gate::cli::Cli::command(), Vec::new(), &mut all);
    let mut reference = String::new();
    for path in &all {
        let output = Command::new(env!("CARGO_BIN_EXE_lambda-gate"))
            .args(path)
            .arg("--help")
            .env("COLUMNS", "100")
            .output()
            .expect("lambda-gate --help");
        assert!(output.status.success(), "{}", text(&output));
        let name = std::iter::once("lambda-gate".to_string())
            .chain(path.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        reference.push_str(&format!(
            "\n### `{name}`\n\n```text\n{}\n```\n",
            String::from_utf8_lossy(&output.stdout).trim_end()
        ));
    }
    let mut stale = Vec::new();
    generated_region(Path::new("docs/cli.md"), "help", &reference, &mut stale);
    assert_fresh(stale);
}

/// A step of a key's path in the configuration: a field, any key of a table, any item of an
/// array.
#[derive(Clone, Debug)]
enum Step {
    Field(String),
    AnyKey,
    AnyItem,
}

fn key_name(path: &[Step]) -> String {
    let mut name = String::new();
    for step in path {
        match step {
            Step::Field(f) if name.is_empty() => name.push_str(f),
            Step::Field(f) => name.push_str(&format!(".{f}")),
            Step::AnyKey => name.push_str(".*"),
            Step::AnyItem => name.push_str("[]"),
        }
    }
    name
}

const PROBE: &str = "zzz-probe";

/// The fields the policy types accept at `path`, asked of the loader itself: a table holding
/// one unknown key is refused with "unknown field `zzz-probe`, expected one of `a`, `b`, ...".
fn fields_at(path: &[Step]) -> Option<Vec<String>> {
    let mut value = toml::Value::Table(toml::map::Map::from_iter([(
        PROBE.to_string(),
        toml::Value::Integer(1),
    )]));
    for step in path.iter().rev() {
        value = match step {
            Step::Field(f) => toml::Value::Table(toml::map::Map::from_iter([(f.clone(), value)])),
            Step::AnyKey => {
                toml::Value::Table(toml::map::Map::from_iter([("k".to_string(), value)]))
            }
            Step::AnyItem => toml::Value::Array(vec![value]),
        };
    }
    let text = toml::to_string(&value).expect("toml");
    let error = lambda_gate::policy::policy_of_text(Path::new("lambda-gate.toml"), &text)
        .err()?
        .message;
    let rest = error.strip_prefix(&format!("unknown field `{PROBE}`"))?;
    if rest.contains("there are no fields") {
        return Some(Vec::new());
    }
    Some(
        rest.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

/// Every key the policy types accept, named as the reference names them (`dockerfile.digests`,
/// `deploy.environments.*.canary`, `overrides[].paths`). A table of the same fields as one met
/// before (an override's `dockerfile`) is one key: "any key of `[dockerfile]`".
fn policy_keys() -> BTreeSet<String> {
    fn explore(path: Vec<Step>, seen: &mut BTreeSet<Vec<String>>, keys: &mut BTreeSet<String>) {
        if let Some(fields) = fields_at(&path) {
            if !seen.insert(fields.clone()) {
                keys.insert(key_name(&path));
                return;
            }
            for field in fields {
                let mut next = path.clone();
                next.push(Step::Field(field));
                explore(next, seen, keys);
            }
            return;
        }
        for wrap in [
            vec![Step::AnyKey],
            vec![Step::AnyItem],
            vec![Step::AnyKey, Step::AnyItem],
        ] {
            let mut next = path.clone();
            next.extend(wrap);
            if fields_at(&next).is_some() {
                explore(next, seen, keys);
                return;
            }
        }
        keys.insert(key_name(&path));
    }
    let mut keys = BTreeSet::new();
    explore(Vec::new(), &mut BTreeSet::new(), &mut keys);
    keys
}

/// One `### `key`` entry of the configuration reference.
#[derive(Default, Debug)]
struct Entry {
    keys: Vec<String>,
    has_type: bool,
    default: Option<String>,
    examples: Vec<String>,
}

fn reference_entries(markdown: &str) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut in_reference = false;
    let mut heading: Option<(HeadingLevel, Vec<String>, String)> = None;
    let mut code: Option<String> = None;
    let mut paragraph = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((level, Vec::new(), String::new()))
            }
            Event::End(TagEnd::Heading(_)) => {
                let (level, codes, title) = heading.take().expect("heading");
                if level == HeadingLevel::H2 {
                    in_reference = title.trim() == "Reference";
                } else if level == HeadingLevel::H3 && in_reference {
                    entries.push(Entry {
                        keys: codes,
                        ..Entry::default()
                    });
                }
            }
            Event::Code(c) => match heading.as_mut() {
                Some((_, codes, title)) => {
                    codes.push(c.to_string());
                    title.push_str(&c);
                }
                None => paragraph.push_str(&format!("`{c}`")),
            },
            Event::Text(t) => match (heading.as_mut(), code.as_mut()) {
                (Some((_, _, title)), _) => title.push_str(&t),
                (None, Some(code)) => code.push_str(&t),
                (None, None) => paragraph.push_str(&t),
            },
            Event::Start(Tag::Strong) => paragraph.push_str("**"),
            Event::End(TagEnd::Strong) => paragraph.push_str("**"),
            Event::SoftBreak | Event::HardBreak => paragraph.push(' '),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) if &*lang == "toml" => {
                code = Some(String::new())
            }
            Event::End(TagEnd::CodeBlock) => {
                if let (Some(example), Some(entry)) = (code.take(), entries.last_mut()) {
                    if in_reference {
                        entry.examples.push(example);
                    }
                }
            }
            Event::End(TagEnd::Paragraph) => {
                if let (true, Some(entry)) = (in_reference, entries.last_mut()) {
                    if paragraph.contains("**Type:**") {
                        entry.has_type = true;
                    }
                    if let Some((_, default)) = paragraph.split_once("**Default:** ") {
                        entry.default = Some(default.trim().to_string());
                    }
                }
                paragraph.clear();
            }
            _ => {}
        }
    }
    entries
}

/// The value at a key's path in `value`; `None` when absent. Paths through `*` or `[]` have no
/// single default.
fn value_at<'v>(value: &'v toml::Value, key: &str) -> Option<&'v toml::Value> {
    key.split('.').try_fold(value, |v, part| v.get(part))
}

/// Whether `value` holds `key` (any table key for `*`, any item for `[]`).
fn holds(value: &toml::Value, key: &str) -> bool {
    fn walk(value: &toml::Value, parts: &[&str]) -> bool {
        let Some((first, rest)) = parts.split_first() else {
            return true;
        };
        let (name, items) = match first.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (*first, false),
        };
        let children: Vec<&toml::Value> = match (name, value) {
            ("*", toml::Value::Table(t)) => t.values().collect(),
            (name, toml::Value::Table(t)) => t.get(name).into_iter().collect(),
            _ => Vec::new(),
        };
        children.into_iter().any(|child| match (items, child) {
            (true, toml::Value::Array(a)) => a.iter().any(|item| walk(item, rest)),
            (true, _) => false,
            (false, child) => walk(child, rest),
        })
    }
    walk(value, &key.split('.').collect::<Vec<_>>())
}

#[test]
fn the_configuration_reference_documents_every_key_with_its_default_and_a_working_example() {
    let page = Path::new("docs/configuration.md");
    let entries = reference_entries(&read(page));
    let keys = policy_keys();
    assert!(
        keys.contains("dockerfile.release-bases") && keys.contains("deploy.environments.*.canary"),
        "the probe found the policy's keys: {keys:?}"
    );
    let documented: BTreeSet<String> = entries.iter().flat_map(|e| e.keys.clone()).collect();
    let undocumented: Vec<_> = keys.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&keys).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "{}: keys the policy accepts but the reference lacks: {undocumented:?}; entries for keys it does not accept: {unknown:?}",
        page.display()
    );
    let defaults = toml::Value::try_from(lambda_gate::policy::default_policy()).expect("toml");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    for entry in &entries {
        let name = entry.keys.join(", ");
        if !entry.has_type {
            problems.push(format!("`{name}`: no **Type:**"));
        }
        match entry.default.as_deref() {
            None => problems.push(format!("`{name}`: no **Default:**")),
            Some(default) => {
                for key in entry.keys.iter().filter(|k| !k.contains(['*', '['])) {
                    let actual = value_at(&defaults, key);
                    // The one default no literal states: every registered rule at its severity.
                    if key == "rules" {
                        let registered: toml::Table = registry::all()
                            .iter()
                            .map(|r| (r.id.to_string(), r.default_severity.as_str().into()))
                            .collect();
                        assert_eq!(actual, Some(&toml::Value::Table(registered)));
                        assert!(default.starts_with("every rule at its default severity"));
                        continue;
                    }
                    let documented = default
                        .strip_prefix('`')
                        .and_then(|d| d.split_once('`'))
                        .map(|(value, _)| value);
                    match (actual, documented) {
                        (None, None) if default.starts_with("unset") => {}
                        (Some(actual), Some(documented)) => {
                            let parsed: Result<toml::Table, _> =
                                toml::from_str(&format!("value = {documented}"));
                            if parsed.as_ref().ok().and_then(|t| t.get("value")) != Some(actual) {
                                problems.push(format!(
                                    "`{key}`: documented default `{documented}`, the embedded policy has `{actual}`"
                                ));
                            }
                        }
                        (actual, _) => problems.push(format!(
                            "`{key}`: documented default {default:?}, the embedded policy has {actual:?}"
                        )),
                    }
                }
            }
        }
        if entry.examples.is_empty() {
            problems.push(format!("`{name}`: no ```toml example"));
        }
        for example in &entry.examples {
            let file = dir.path().join("lambda-gate.toml");
            fs::write(&file, example).expect("write");
            if let Err(error) = lambda_gate::policy::policy_of_text(&file, example) {
                problems.push(format!("`{name}`: the example is refused: {error}"));
                continue;
            }
            let parsed: toml::Value = toml::from_str(example).expect("parsed once already");
            for key in &entry.keys {
                if !holds(&parsed, key) {
                    problems.push(format!("`{key}`: its example does not set it"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}:\n{}",
        page.display(),
        problems.join("\n")
    );
}

/// The blocks after `<!-- runnable -->` (or `<!-- runnable exit=N -->`), with the exit code
/// they must end with.
fn runnable_blocks(markdown: &str) -> Vec<(String, i32)> {
    let mut blocks = Vec::new();
    let mut expecting: Option<i32> = None;
    let mut code: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Html(html) | Event::InlineHtml(html) => {
                if let Some(rest) = html.trim().strip_prefix("<!-- runnable") {
                    let rest = rest.trim_end_matches("-->").trim();
                    expecting = Some(match rest.strip_prefix("exit=") {
                        Some(code) => code.trim().parse().expect("exit=N"),
                        None => 0,
                    });
                }
            }
            Event::Start(Tag::CodeBlock(_)) if expecting.is_some() => code = Some(String::new()),
            Event::Text(t) => {
                if let Some(code) = code.as_mut() {
                    code.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let (Some(block), Some(exit)) = (code.take(), expecting.take()) {
                    blocks.push((block, exit));
                }
            }
            _ => {}
        }
    }
    blocks
}

/// Each page's runnable blocks run in order, in one scratch directory holding a copy of the
/// example project (its sources only, as a fresh clone has them), with this build's
/// `lambda-gate` first on PATH.
#[test]
fn runnable_command_blocks_run_against_the_example_project() {
    let binary = Path::new(env!("CARGO_BIN_EXE_lambda-gate"));
    let path = format!(
        "{}:{}",
        binary.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    let mut failures = Vec::new();
    for file in markdown_files() {
        let blocks = runnable_blocks(&read(&file));
        if blocks.is_empty() {
            continue;
        }
        let scratch = tempfile::tempdir().expect("tempdir");
        let project = scratch.path().join("example-project");
        copy_dir(Path::new("example-project"), &project);
        for output in ["coverage.xml", ".coverage", "coverage.json"] {
            let _ = fs::remove_file(project.join(output));
        }
        for (block, exit) in blocks {
            let output = Command::new("bash")
                .args(["-e", "-o", "pipefail", "-c", &block])
                .current_dir(scratch.path())
                .env("PATH", &path)
                .env("LAMBDA_GATE_CACHE_DIR", scratch.path().join(".cache"))
                .env("NO_COLOR", "1")
                .output()
                .expect("bash");
            ran += 1;
            if output.status.code() != Some(exit) {
                failures.push(format!(
                    "{}: exit {:?}, not {exit}:\n{block}\n{}",
                    file.display(),
                    output.status.code(),
                    text(&output)
                ));
            }
        }
    }
    assert!(ran >= 3, "the README's tour is runnable ({ran} blocks ran)");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
