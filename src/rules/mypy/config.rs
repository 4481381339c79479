//! Reads a mypy configuration exactly as the pinned mypy does (`mypy/config_parser.py`,
//! `mypy/options.py`): which file is used, how each key is converted, what `strict` sets and
//! where, and which options are in force for a module.
//!
//! Every value keeps where it came from, so a rule can point at the line that set it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ini::{self, IniEntry};
use super::options::{self, Kind};
use crate::diagnostic::Span;

/// The configuration file names mypy looks for in each directory, in order.
pub const CONFIG_NAMES: &[&str] = &["mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg"];
/// Files that hold other tools' settings too: used only when they have a mypy section.
const SHARED_CONFIG_NAMES: &[&str] = &["pyproject.toml", "setup.cfg"];

/// The options the policy looks at, as mypy spells them in config files.
pub const WATCHED: &[&str] = &[
    "python_version",
    "strict_optional",
    "implicit_optional",
    "ignore_errors",
    "ignore_missing_imports",
    "follow_imports",
    "warn_no_return",
    "warn_unreachable",
    "allow_untyped_globals",
    "disallow_any_generics",
    "disallow_subclassing_any",
    "disallow_untyped_calls",
    "disallow_untyped_defs",
    "disallow_incomplete_defs",
    "check_untyped_defs",
    "disallow_untyped_decorators",
    "warn_redundant_casts",
    "warn_unused_ignores",
    "warn_return_any",
    "implicit_reexport",
    "strict_equality",
    "extra_checks",
    "enable_error_code",
    "disable_error_code",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ini,
    Toml,
}

/// A config value as written, before mypy converts it.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    Array(Vec<Raw>),
    /// A table or date: only its Python `str()` matters, and no option accepts one.
    Other(String),
}

impl Raw {
    /// Python's `str(value)`, which mypy applies before most conversions.
    pub fn py_str(&self) -> String {
        match self {
            Raw::Str(s) | Raw::Other(s) => s.clone(),
            Raw::Bool(true) => "True".into(),
            Raw::Bool(false) => "False".into(),
            Raw::Int(i) => i.to_string(),
            Raw::Float(f) => py_float_repr(*f),
            Raw::Array(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|item| match item {
                        Raw::Str(s) => format!("'{s}'"),
                        other => other.py_str(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Python's `repr(float)`: the shortest round-trip form, always with a `.` or an exponent.
fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let exponent = if f == 0.0 {
        0
    } else {
        f.abs().log10().floor() as i32
    };
    if !(-4..16).contains(&exponent) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        return format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        );
    }
    let s = f.to_string();
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// One `key = value` in a section, with its positions in the file.
#[derive(Debug, Clone)]
pub struct Entry {
    /// As mypy sees it (lower-cased in INI files).
    pub key: String,
    pub key_span: Span,
    pub raw: Raw,
    pub value_span: Span,
    /// The whole entry, with its line break.
    pub lines: Span,
}

/// `[mypy]`, `[mypy-PATTERNS]`, `[tool.mypy]` or one module of a `[[tool.mypy.overrides]]`.
#[derive(Debug, Clone)]
pub struct Section {
    /// `mypy` or `mypy-PATTERNS`, as mypy names it internally.
    pub name: String,
    pub header_span: Span,
    pub entries: Vec<Entry>,
    /// Where a new key for this section goes (the end of its last entry line).
    pub end: usize,
}

/// A converted option value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<String>),
    Version(u32, u32),
    /// A value of a type no watched option has (dicts and the like).
    Other,
}

impl Value {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Str(s) => s.clone().into(),
            Value::List(items) => items.clone().into(),
            Value::Version(major, minor) => format!("{major}.{minor}").into(),
            Value::Other => serde_json::Value::Null,
        }
    }
}

/// Where an option's value came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// The section's name (`mypy`, `mypy-app.*`).
    pub section: String,
    /// The key as written (`allow_untyped_defs` for `disallow_untyped_defs`, `strict`).
    pub key: String,
    pub lines: Span,
    pub value_span: Span,
    /// Whether the key is the option's negation (`allow_*`, `no_*`, ...).
    pub inverted: bool,
}

impl Origin {
    /// From the start of the entry's line to the end of its value: what a diagnostic marks.
    pub fn entry_span(&self) -> Span {
        self.lines.start..self.value_span.end
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub value: Value,
    pub origin: Origin,
}

/// Something mypy reports about the file (on stderr) or fails on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub span: Span,
    pub message: String,
}

/// The options one section sets, in mypy's terms.
#[derive(Debug, Clone, Default)]
pub struct Updates {
    pub values: BTreeMap<String, Setting>,
}

/// A parsed, resolved mypy configuration file.
#[derive(Debug)]
pub struct MypyConfig {
    pub path: PathBuf,
    pub text: Arc<str>,
    pub format: Format,
    /// `[mypy]` / `[tool.mypy]`, if the file has one.
    pub global_section: Option<Section>,
    /// Options the file sets globally (after `strict`, including `strict` in module sections).
    pub global: BTreeMap<String, Setting>,
    /// Per-module patterns in mypy's `per_module_options` order, each with its updates.
    pub per_module: Vec<(String, Updates)>,
    pub problems: Vec<Problem>,
    /// The global options and every section's resolved options, computed on first use: the
    /// rules ask for many modules of every Lambda that shares this file.
    resolved: std::sync::OnceLock<Resolved>,
}

#[derive(Debug)]
struct Resolved {
    global: Effective,
    /// Concrete and `foo.*` sections, resolved as mypy's `build_per_module_cache` does.
    sections: BTreeMap<String, Effective>,
}

/// A configuration file that was found, and whether mypy would use it.
#[derive(Debug)]
pub enum Loaded {
    /// mypy uses it.
    Used(Box<MypyConfig>),
    /// A shared file (pyproject.toml, setup.cfg) without a mypy section: mypy looks further.
    NotMypy,
    /// mypy cannot read it and looks further (or crashes, for encoding errors).
    Broken {
        text: Option<Arc<str>>,
        problem: Problem,
    },
}

/// Reads and parses one candidate file, as `_parse_individual_file` does.
pub fn load(path: &Path) -> Loaded {
    // Shared: coverage and the policy read `pyproject.toml` and `setup.cfg` too.
    let bytes = match crate::fsio::read_shared(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            return Loaded::Broken {
                text: None,
                problem: Problem {
                    span: 0..0,
                    message: format!("cannot read the file: {error}"),
                },
            }
        }
    };
    let text: Arc<str> = match std::str::from_utf8(&bytes) {
        Ok(text) => Arc::from(text),
        Err(error) => {
            let valid = error.valid_up_to();
            return Loaded::Broken {
                text: None,
                problem: Problem {
                    span: 0..0,
                    message: format!(
                        "the file is not valid UTF-8 (invalid byte at offset {valid}): mypy fails reading it"
                    ),
                },
            };
        }
    };
    from_text(path, text)
}

/// Parses a configuration file's text, named by `path`, as mypy would.
pub fn from_text(path: &Path, text: Arc<str>) -> Loaded {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let shared = SHARED_CONFIG_NAMES.contains(&name.as_str());
    let format = if name.to_lowercase().ends_with(".toml") {
        Format::Toml
    } else {
        Format::Ini
    };
    let parsed = match format {
        Format::Toml => sections_from_toml(&text),
        Format::Ini => sections_from_ini(&text),
    };
    let sections = match parsed {
        Ok(Some(sections)) => sections,
        Ok(None) => return Loaded::NotMypy,
        Err(problem) => {
            return Loaded::Broken {
                text: Some(text),
                problem,
            }
        }
    };
    let has_mypy = sections.iter().any(|s| s.name == "mypy");
    if shared && !has_mypy {
        return Loaded::NotMypy;
    }
    Loaded::Used(Box::new(resolve(path, text, format, sections)))
}

/// INI sections as configparser exposes them (each with `[DEFAULT]` showing through).
fn sections_from_ini(text: &str) -> Result<Option<Vec<Section>>, Problem> {
    let file = ini::parse(text).map_err(|error| Problem {
        span: error.span,
        message: error.message,
    })?;
    let convert = |entry: &IniEntry| Entry {
        key: entry.key.clone(),
        key_span: entry.key_span.clone(),
        raw: Raw::Str(entry.value.clone()),
        value_span: entry.value_span.clone(),
        lines: entry.lines.clone(),
    };
    Ok(Some(
        file.sections
            .iter()
            .map(|section| Section {
                name: section.name.clone(),
                header_span: section.header_span.clone(),
                entries: file.items(section).into_iter().map(convert).collect(),
                end: section.end,
            })
            .collect(),
    ))
}

fn raw_of(value: &toml_edit::Value) -> Raw {
    use toml_edit::Value as V;
    match value {
        V::String(s) => Raw::Str(s.value().clone()),
        V::Integer(i) => Raw::Int(*i.value()),
        V::Float(f) => Raw::Float(*f.value()),
        V::Boolean(b) => Raw::Bool(*b.value()),
        V::Datetime(d) => Raw::Other(d.value().to_string()),
        V::Array(array) => Raw::Array(array.iter().map(raw_of).collect()),
        V::InlineTable(_) => Raw::Other("{...}".into()),
    }
}

fn raw_of_item(item: &toml_edit::Item) -> Raw {
    match item {
        toml_edit::Item::Value(value) => raw_of(value),
        _ => Raw::Other("{...}".into()),
    }
}

/// The end of the line holding `offset`, past its line break.
fn line_end(text: &str, offset: usize) -> usize {
    memchr::memchr(b'\n', &text.as_bytes()[offset.min(text.len())..])
        .map_or(text.len(), |i| offset + i + 1)
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1)
}

fn toml_entries(text: &str, table: &dyn toml_edit::TableLike, skip: &[&str]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (key, item) in table.iter() {
        if skip.contains(&key) {
            continue;
        }
        let Some((key_obj, _)) = table.get_key_value(key) else {
            continue;
        };
        let key_span = key_obj.span().unwrap_or(0..0);
        let value_span = item.span().unwrap_or(key_span.clone());
        entries.push(Entry {
            key: key.to_string(),
            raw: raw_of_item(item),
            lines: line_start(text, key_span.start)..line_end(text, value_span.end),
            key_span,
            value_span,
        });
    }
    entries
}

/// `[tool.mypy]` and its overrides, flattened as `destructure_overrides` does.
fn sections_from_toml(text: &str) -> Result<Option<Vec<Section>>, Problem> {
    // mypy reads the file with `tomllib` (TOML 1.0): what it refuses, mypy cannot use.
    if let Some((span, what)) = super::toml10::first_refused(text) {
        return Err(Problem {
            span,
            message: format!(
                "{what}: mypy reads pyproject.toml with Python's tomllib (TOML 1.0), which refuses it, so mypy ignores this file"
            ),
        });
    }
    let document = toml_edit::Document::parse(text).map_err(|error| Problem {
        span: error.span().unwrap_or(0..0),
        message: error.message().to_string(),
    })?;
    let Some(tool) = document.get("tool").and_then(|t| t.as_table_like()) else {
        return Ok(None);
    };
    let Some(mypy_item) = tool.get("mypy") else {
        return Ok(None);
    };
    let Some(mypy) = mypy_item.as_table_like() else {
        // mypy would fail on a non-table `tool.mypy`.
        return Err(Problem {
            span: mypy_item.span().unwrap_or(0..0),
            message: "`tool.mypy` is not a table".into(),
        });
    };
    let header_span = match mypy_item {
        toml_edit::Item::Table(table) => table.span(),
        other => other.span(),
    }
    .unwrap_or(0..0);
    let global_entries = toml_entries(text, mypy, &["overrides"]);
    let global_end = global_entries
        .iter()
        .map(|e| e.lines.end)
        .max()
        .unwrap_or_else(|| line_end(text, header_span.end));
    let mut sections = vec![Section {
        name: "mypy".into(),
        header_span,
        entries: global_entries,
        end: global_end,
    }];
    let Some(overrides) = mypy.get("overrides") else {
        return Ok(Some(sections));
    };
    let conflict = |message: String, span: Span| Problem { span, message };
    // Each override: its span, its entries other than `module`, and `module`.
    let tables: Vec<(Span, Vec<Entry>, Option<Raw>)> = match overrides {
        toml_edit::Item::ArrayOfTables(array) => array
            .iter()
            .map(|table| {
                (
                    table.span().unwrap_or(0..0),
                    toml_entries(text, table, &["module"]),
                    table.get("module").map(raw_of_item),
                )
            })
            .collect(),
        toml_edit::Item::Value(toml_edit::Value::Array(array)) => {
            let mut tables = Vec::new();
            for value in array.iter() {
                let Some(table) = value.as_inline_table() else {
                    return Err(conflict(
                        "tool.mypy.overrides sections must be an array of tables".into(),
                        value.span().unwrap_or(0..0),
                    ));
                };
                tables.push((
                    table.span().unwrap_or(0..0),
                    toml_entries(text, table, &["module"]),
                    table.get("module").map(raw_of),
                ));
            }
            tables
        }
        other => {
            return Err(conflict(
                "tool.mypy.overrides sections must be an array. Please make sure you are using double brackets like so: [[tool.mypy.overrides]]".into(),
                other.span().unwrap_or(0..0),
            ))
        }
    };
    for (span, entries, module) in tables {
        let modules = match module {
            None => {
                return Err(conflict(
                    "toml config file contains a [[tool.mypy.overrides]] section, but no module to override was specified.".into(),
                    span,
                ))
            }
            Some(Raw::Str(module)) => vec![Raw::Str(module)],
            Some(Raw::Array(modules)) => modules,
            Some(_) => {
                return Err(conflict(
                    "toml config file contains a [[tool.mypy.overrides]] section with a module value that is not a string or a list of strings".into(),
                    span,
                ))
            }
        };
        let end = entries
            .iter()
            .map(|e| e.lines.end)
            .max()
            .unwrap_or_else(|| line_end(text, span.start));
        for module in modules {
            let name = format!("mypy-{}", module.py_str());
            match sections.iter_mut().find(|s| s.name == name) {
                None => sections.push(Section {
                    name,
                    header_span: span.clone(),
                    entries: entries.clone(),
                    end,
                }),
                Some(existing) => {
                    for entry in &entries {
                        match existing.entries.iter_mut().find(|e| e.key == entry.key) {
                            Some(old) if old.raw != entry.raw => {
                                return Err(conflict(
                                    format!("toml config file contains [[tool.mypy.overrides]] sections with conflicting values. Module '{}' has two different values for '{}'", module.py_str(), entry.key),
                                    entry.lines.clone(),
                                ));
                            }
                            Some(old) => *old = entry.clone(),
                            None => existing.entries.push(entry.clone()),
                        }
                    }
                }
            }
        }
    }
    Ok(Some(sections))
}

fn kind_of(name: &str) -> Option<Kind> {
    options::OPTIONS
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| options::OPTIONS[i].1)
}

/// `hasattr(Options(), name)`.
fn has_attribute(name: &str) -> bool {
    kind_of(name).is_some() || options::UNSET_OPTIONS.contains(&name)
}

fn boolean(text: &str) -> Option<bool> {
    let lower = text.to_lowercase();
    options::BOOLEAN_STATES
        .iter()
        .find(|(spelling, _)| *spelling == lower)
        .map(|(_, value)| *value)
}

/// `configparser`'s `getboolean` (INI) or mypy's `convert_to_boolean` (TOML).
fn to_bool(raw: &Raw) -> Result<bool, String> {
    if let Raw::Bool(b) = raw {
        return Ok(*b);
    }
    let text = raw.py_str();
    boolean(&text).ok_or_else(|| format!("Not a boolean: {text}"))
}

/// How mypy converts one key's value.
enum Conversion {
    Bool,
    Version,
    Choice(&'static [&'static str]),
    /// A comma-separated list (INI) or `try_split` (TOML), with a check of each item.
    CommaList(fn(&str) -> Option<String>),
    /// `exclude`: one regex in INI, a string or list in TOML.
    Exclude,
    Str,
    Int,
    List,
    /// Kinds no watched option has: accepted as mypy accepts them.
    Opaque,
}

fn no_check(_: &str) -> Option<String> {
    None
}

fn allow_list_entry(item: &str) -> Option<String> {
    if item.contains('*') {
        Some(format!(
            "Invalid allow list entry: {item} (entries are already prefixes so must not contain *)"
        ))
    } else if item.contains(['\\', '/']) {
        Some(format!("Invalid allow list entry: {item} (entries must be packages like foo.bar not directories or files)"))
    } else {
        None
    }
}

fn special_conversion(key: &str) -> Option<Conversion> {
    Some(match key {
        "python_version" => Conversion::Version,
        "follow_imports" => Conversion::Choice(&["normal", "silent", "skip", "error"]),
        "junit_format" => Conversion::Choice(&["global", "per_file"]),
        "strict" | "no_site_packages" => Conversion::Bool,
        "plugins"
        | "always_true"
        | "always_false"
        | "enable_incomplete_feature"
        | "disable_error_code"
        | "enable_error_code"
        | "package_root"
        | "packages"
        | "modules"
        | "mypy_path"
        | "files" => Conversion::CommaList(no_check),
        "untyped_calls_exclude" => Conversion::CommaList(allow_list_entry),
        "exclude" => Conversion::Exclude,
        "num_workers" => Conversion::Opaque,
        _ if options::CONFIG_TYPES.contains(&key) => Conversion::Str,
        _ => return None,
    })
}

/// mypy's `try_split`: a string split on commas (a trailing empty item dropped), or a list of
/// strings.
fn try_split(raw: &Raw, split: &[char]) -> Result<Vec<String>, String> {
    match raw {
        Raw::Str(s) => {
            let mut items: Vec<String> = s
                .split(split)
                .map(|p| p.trim_matches(char::is_whitespace).to_string())
                .collect();
            if items.last().is_some_and(String::is_empty) {
                items.pop();
            }
            Ok(items)
        }
        Raw::Array(items) => items
            .iter()
            .map(|item| match item {
                Raw::Str(s) => Ok(s.trim().to_string()),
                other => Err(format!("Expected a list or a stringified version thereof, but got: '{}', of type {}. (As an element of the list.)", other.py_str(), py_type(other))),
            })
            .collect(),
        other => Err(format!(
            "Expected a list or a stringified version thereof, but got: '{}', of type {}.",
            other.py_str(),
            py_type(other)
        )),
    }
}

fn py_type(raw: &Raw) -> &'static str {
    match raw {
        Raw::Str(_) => "str",
        Raw::Bool(_) => "bool",
        Raw::Int(_) => "int",
        Raw::Float(_) => "float",
        Raw::Array(_) => "list",
        Raw::Other(_) => "dict",
    }
}

/// INI `split_commas` then strip: unlike `try_split`, `"a, "` keeps an empty last item.
fn ini_comma_list(text: &str, split: &[char]) -> Vec<String> {
    let mut items: Vec<&str> = text.split(split).collect();
    if items.last() == Some(&"") {
        items.pop();
    }
    items
        .into_iter()
        .map(|p| p.trim_matches(char::is_whitespace).to_string())
        .collect()
}

/// `parse_version`: `x.y`, 3.10 or newer. Returns the value and, for an old 3.x, the complaint
/// mypy prints while it falls back to the oldest supported version.
fn parse_version(raw: &Raw) -> Result<((u32, u32), Option<String>), String> {
    let text = raw.py_str();
    let invalid = || format!("Invalid python version '{text}' (expected format: 'x.y')");
    let (major, minor) = text.split_once('.').ok_or_else(invalid)?;
    if major.len() != 1
        || !major.bytes().all(|b| b.is_ascii_digit())
        || minor.is_empty()
        || !minor.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let major: u32 = major.parse().map_err(|_| invalid())?;
    let minor: u32 = minor.parse().map_err(|_| invalid())?;
    let (min_major, min_minor) = options::PYTHON3_VERSION_MIN;
    match major {
        2 if minor == 7 => Ok((
            (2, 7),
            Some("Mypy no longer supports checking Python 2 code".into()),
        )),
        3 if minor < min_minor => {
            let mut message = format!(
                "Python 3.{minor} is not supported (must be {min_major}.{min_minor} or higher)"
            );
            if matches!(raw, Raw::Float(_)) {
                message.push_str(". You may need to put quotes around your Python version");
            }
            Ok(((min_major, min_minor), Some(message)))
        }
        3 => Ok(((major, minor), None)),
        _ => Err(format!(
            "Python major version '{major}' out of range (must be 3)"
        )),
    }
}

/// Python's `int()` on a string.
fn py_int(text: &str) -> Option<i64> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    trimmed.replace('_', "").parse().ok()
}

/// Converts one value. `Err` is mypy's complaint (the key is skipped); `Ok((value, Some(note)))`
/// is a value kept with a complaint.
fn convert(
    conversion: &Conversion,
    raw: &Raw,
    format: Format,
) -> Result<(Value, Option<String>), String> {
    Ok(match conversion {
        Conversion::Bool => (Value::Bool(to_bool(raw)?), None),
        Conversion::Version => {
            let ((major, minor), note) = parse_version(raw)?;
            (Value::Version(major, minor), note)
        }
        Conversion::Choice(choices) => {
            let text = raw.py_str();
            if !choices.contains(&text.as_str()) {
                return Err(format!(
                    "invalid choice '{text}' (choose from {})",
                    choices
                        .iter()
                        .map(|c| format!("'{c}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            (Value::Str(text), None)
        }
        Conversion::CommaList(check) => {
            let items = match (format, raw) {
                (Format::Ini, Raw::Str(s)) => ini_comma_list(s, &[',']),
                _ => try_split(raw, &[','])?,
            };
            if let Some(problem) = items.iter().find_map(|item| check(item)) {
                return Err(problem);
            }
            (Value::List(items), None)
        }
        Conversion::Exclude => match (format, raw) {
            (Format::Ini, _) => (Value::List(vec![raw.py_str().trim().to_string()]), None),
            (_, Raw::Str(s)) => (
                Value::List(if s.trim().is_empty() {
                    Vec::new()
                } else {
                    vec![s.trim().to_string()]
                }),
                None,
            ),
            (_, Raw::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    let Raw::Str(s) = item else {
                        return Err(format!(
                            "mypy fails on a non-string `exclude` entry ({})",
                            item.py_str()
                        ));
                    };
                    if !s.trim().is_empty() {
                        out.push(s.trim().to_string());
                    }
                }
                (Value::List(out), None)
            }
            (_, other) => {
                return Err(format!(
                    "mypy fails on an `exclude` of type {}",
                    py_type(other)
                ))
            }
        },
        Conversion::Str => (Value::Str(raw.py_str()), None),
        Conversion::Int => match raw {
            Raw::Int(i) => (Value::Int(*i), None),
            Raw::Bool(b) => (Value::Int(i64::from(*b)), None),
            Raw::Float(f) if f.is_finite() => (Value::Int(f.trunc() as i64), None),
            Raw::Str(s) => match py_int(s) {
                Some(i) => (Value::Int(i), None),
                None => {
                    return Err(format!(
                        "invalid literal for int() with base 10: '{}'",
                        s.trim()
                    ))
                }
            },
            other => {
                return Err(format!(
                    "mypy fails on a value of type {} here",
                    py_type(other)
                ))
            }
        },
        Conversion::List => match raw {
            Raw::Str(s) => (Value::List(s.chars().map(String::from).collect()), None),
            Raw::Array(items) => (Value::List(items.iter().map(Raw::py_str).collect()), None),
            other => {
                return Err(format!(
                    "mypy fails on a value of type {} here",
                    py_type(other)
                ))
            }
        },
        Conversion::Opaque => (Value::Other, None),
    })
}

/// What `parse_section` returns for one section.
struct Parsed {
    updates: BTreeMap<String, Setting>,
    /// The `strict = true` entry, if any.
    strict: Option<Origin>,
    reports: Vec<String>,
}

fn origin(section: &Section, entry: &Entry, inverted: bool) -> Origin {
    Origin {
        section: section.name.clone(),
        key: entry.key.clone(),
        lines: entry.lines.clone(),
        value_span: entry.value_span.clone(),
        inverted,
    }
}

/// A port of mypy's `parse_section`.
fn parse_section(section: &Section, format: Format, problems: &mut Vec<Problem>) -> Parsed {
    let prefix = format!("[{}]: ", section.name);
    let mut parsed = Parsed {
        updates: BTreeMap::new(),
        strict: None,
        reports: Vec::new(),
    };
    let mut complain = |span: &Span, message: String| {
        problems.push(Problem {
            span: span.clone(),
            message: format!("{prefix}{message}"),
        });
    };
    for entry in &section.entries {
        let key = entry.key.as_str();
        let mut options_key = if key == "allow_redefinition_new" {
            "allow_redefinition".to_string()
        } else {
            key.to_string()
        };
        let mut invert = false;
        let conversion = if let Some(special) = special_conversion(key) {
            special
        } else if let Some(meant) = match key {
            "enabled_error_codes" => Some("enable_error_code"),
            "disabled_error_codes" => Some("disable_error_code"),
            _ => None,
        } {
            complain(
                &entry.key_span,
                format!(
                    "Unrecognized option: {key} = {} (did you mean {meant}?)",
                    entry.raw.py_str()
                ),
            );
            continue;
        } else {
            let mut kind = kind_of(&options_key);
            if kind.is_none() {
                if let Some(report) = key.strip_suffix("_report") {
                    let report = report.replace('_', "-");
                    if options::REPORTER_NAMES.contains(&report.as_str()) {
                        parsed.reports.push(report);
                    } else {
                        complain(&entry.key_span, format!("Unrecognized report type: {key}"));
                    }
                    continue;
                }
                if key.starts_with("x_") {
                    // mypy ignores `x_*` keys silently.
                } else if key.starts_with("no_") && has_attribute(&options_key[3..]) {
                    options_key = options_key[3..].to_string();
                    invert = true;
                } else if key.starts_with("allow") && has_attribute(&format!("dis{options_key}")) {
                    options_key = format!("dis{options_key}");
                    invert = true;
                } else if key.starts_with("disallow") && has_attribute(&options_key[3..]) {
                    options_key = options_key[3..].to_string();
                    invert = true;
                } else if key.starts_with("show_")
                    && has_attribute(&format!("hide_{}", &options_key[5..]))
                {
                    options_key = format!("hide_{}", &options_key[5..]);
                    invert = true;
                } else {
                    complain(
                        &entry.key_span,
                        format!("Unrecognized option: {key} = {}", entry.raw.py_str()),
                    );
                }
                if !invert {
                    continue;
                }
                kind = kind_of(&options_key);
            }
            match kind {
                Some(Kind::Bool(_)) => Conversion::Bool,
                Some(Kind::Int) => Conversion::Int,
                Some(Kind::Str) => Conversion::Str,
                Some(Kind::List) => Conversion::List,
                Some(Kind::Dict | Kind::Set | Kind::Tuple) => Conversion::Opaque,
                None => {
                    complain(
                        &entry.key_span,
                        format!("Don't know what type {key} should have"),
                    );
                    continue;
                }
            }
        };
        if invert && !matches!(conversion, Conversion::Bool) {
            complain(
                &entry.key_span,
                format!("Can not invert non-boolean key {options_key}"),
            );
            continue;
        }
        let (mut value, note) = match convert(&conversion, &entry.raw, format) {
            Ok(converted) => converted,
            Err(message) => {
                complain(&entry.value_span, format!("{key}: {message}"));
                continue;
            }
        };
        if let Some(note) = note {
            complain(&entry.value_span, format!("{key}: {note}"));
        }
        if invert {
            if let Value::Bool(b) = value {
                value = Value::Bool(!b);
            }
        }
        if key == "strict" {
            if value == Value::Bool(true) {
                parsed.strict = Some(origin(section, entry, false));
            }
            continue;
        }
        parsed.updates.insert(
            options_key,
            Setting {
                value,
                origin: origin(section, entry, invert),
            },
        );
    }
    parsed
}

/// Whether a `[mypy-...]` pattern is one mypy accepts.
fn valid_pattern(glob: &str) -> bool {
    !glob.contains(['?', '[', ']', '!'])
        && !glob
            .split('.')
            .any(|part| part.contains('*') && part != "*")
}

/// Runs `parse_config_file` over the sections.
fn resolve(path: &Path, text: Arc<str>, format: Format, sections: Vec<Section>) -> MypyConfig {
    let mut problems = Vec::new();
    let mut global: BTreeMap<String, Setting> = BTreeMap::new();
    let set_strict = |global: &mut BTreeMap<String, Setting>, at: &Origin| {
        for (name, value) in options::STRICT_FLAGS {
            global.insert(
                (*name).to_string(),
                Setting {
                    value: Value::Bool(*value),
                    origin: at.clone(),
                },
            );
        }
    };
    let global_section = sections.iter().find(|s| s.name == "mypy").cloned();
    match &global_section {
        Some(section) => {
            let parsed = parse_section(section, format, &mut problems);
            if let Some(at) = &parsed.strict {
                set_strict(&mut global, at);
            }
            global.extend(parsed.updates);
        }
        None => problems.push(Problem {
            span: 0..0,
            message: "No [mypy] section in config file".into(),
        }),
    }
    let mut per_module: Vec<(String, Updates)> = Vec::new();
    for section in &sections {
        let Some(globs) = section.name.strip_prefix("mypy-") else {
            continue;
        };
        let parsed = parse_section(section, format, &mut problems);
        if let Some(at) = &parsed.strict {
            // mypy applies `strict` in a module section to every module.
            set_strict(&mut global, at);
        }
        if !parsed.reports.is_empty() {
            problems.push(Problem {
                span: section.header_span.clone(),
                message: format!(
                    "[{}]: Per-module sections should not specify reports ({})",
                    section.name,
                    parsed
                        .reports
                        .iter()
                        .map(|r| format!("{}_report", r.replace('-', "_")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let mut updates = parsed.updates;
        let global_only: Vec<String> = updates
            .keys()
            .filter(|k| !options::PER_MODULE_OPTIONS.contains(&k.as_str()))
            .cloned()
            .collect();
        if !global_only.is_empty() {
            problems.push(Problem {
                span: section.header_span.clone(),
                message: format!(
                    "[{}]: Per-module sections should only specify per-module flags ({})",
                    section.name,
                    global_only.join(", ")
                ),
            });
            updates.retain(|k, _| options::PER_MODULE_OPTIONS.contains(&k.as_str()));
        }
        for glob in globs.split(',') {
            let glob = glob.replace('/', ".");
            if !valid_pattern(&glob) {
                problems.push(Problem {
                    span: section.header_span.clone(),
                    message: format!("[{}]: Patterns must be fully-qualified module names, optionally with '*' in some components (e.g spam.*.eggs.*)", section.name),
                });
                continue;
            }
            let updates = Updates {
                values: updates.clone(),
            };
            match per_module.iter_mut().find(|(g, _)| *g == glob) {
                Some(existing) => existing.1 = updates,
                None => per_module.push((glob, updates)),
            }
        }
    }
    let mut config = MypyConfig {
        path: path.to_path_buf(),
        text,
        format,
        global_section,
        global,
        per_module,
        problems,
        resolved: std::sync::OnceLock::new(),
    };
    config.check_error_codes();
    config
}

/// The options in force for the whole program or for one module.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    pub values: BTreeMap<String, Setting>,
    /// Error codes enabled and disabled beyond mypy's defaults.
    pub enabled: BTreeSet<String>,
    pub disabled: BTreeSet<String>,
}

impl Effective {
    /// The value of a boolean option, the default when nothing sets it.
    pub fn flag(&self, name: &str) -> bool {
        match self.values.get(name).map(|s| &s.value) {
            Some(Value::Bool(b)) => *b,
            _ => matches!(kind_of(name), Some(Kind::Bool(true))),
        }
    }

    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.values.get(name)
    }

    /// A watched option's effective value, as `inspect mypy` prints it.
    pub fn json(&self, name: &str) -> serde_json::Value {
        match name {
            "enable_error_code" => self.enabled.iter().cloned().collect::<Vec<_>>().into(),
            "disable_error_code" => self.disabled.iter().cloned().collect::<Vec<_>>().into(),
            _ => match self.values.get(name) {
                Some(setting) => setting.value.to_json(),
                None => match kind_of(name) {
                    Some(Kind::Bool(b)) => b.into(),
                    Some(Kind::Str) if name == "follow_imports" => "normal".into(),
                    Some(Kind::List) => serde_json::Value::Array(Vec::new()),
                    _ => serde_json::Value::Null,
                },
            },
        }
    }

    /// mypy's `apply_changes`: the updates win, and error codes are enabled or disabled on top.
    fn apply(&self, updates: &Updates) -> Effective {
        let mut next = self.clone();
        for (key, setting) in &updates.values {
            next.values.insert(key.clone(), setting.clone());
        }
        for code in list(updates.values.get("disable_error_code")) {
            next.disabled.insert(code.clone());
            next.enabled.remove(code);
        }
        for code in list(updates.values.get("enable_error_code")) {
            next.enabled.insert(code.clone());
            next.disabled.remove(code);
        }
        next
    }
}

fn list(setting: Option<&Setting>) -> &[String] {
    match setting.map(|s| &s.value) {
        Some(Value::List(items)) => items,
        _ => &[],
    }
}

impl MypyConfig {
    /// Unknown error codes: mypy stops on them (globally) or crashes (in a module section).
    fn check_error_codes(&mut self) {
        let mut unknown = Vec::new();
        let all = self
            .global
            .iter()
            .chain(self.per_module.iter().flat_map(|(_, u)| u.values.iter()));
        for (key, setting) in all {
            if key != "enable_error_code" && key != "disable_error_code" {
                continue;
            }
            for code in list(Some(setting)) {
                if options::ERROR_CODES.binary_search(&code.as_str()).is_err() {
                    unknown.push(Problem {
                        span: setting.origin.value_span.clone(),
                        message: format!("Invalid error code(s): {code}"),
                    });
                }
            }
        }
        unknown.dedup();
        self.problems.extend(unknown);
    }

    /// The global options (mypy's `process_error_codes` applied).
    pub fn global(&self) -> &Effective {
        &self.resolved().global
    }

    /// The options in force for `module`: mypy's `clone_for_module`, with its precedence
    /// (concrete names, then `foo.*` wildcards inheriting from their parents, then patterns
    /// with `*` inside, in file order).
    pub fn for_module(&self, module: &str) -> Effective {
        let resolved = self.resolved();
        if let Some(hit) = resolved.sections.get(module) {
            return hit.clone();
        }
        self.inherit(&resolved.global, &resolved.sections, module)
    }

    /// mypy's `'*' in glob[:-1]`: a `*` anywhere but last (by character, as Python slices).
    fn is_unstructured(glob: &str) -> bool {
        let mut before_last = glob.chars();
        before_last.next_back();
        before_last.as_str().contains('*')
    }

    /// A name's options from the nearest `parent.*` section, then every unstructured glob
    /// that matches it (not for `foo.*` names themselves).
    fn inherit(
        &self,
        global: &Effective,
        sections: &BTreeMap<String, Effective>,
        name: &str,
    ) -> Effective {
        let parts: Vec<&str> = name.split('.').collect();
        let mut options = (1..=parts.len())
            .rev()
            .find_map(|i| sections.get(&format!("{}.*", parts[..i].join("."))))
            .unwrap_or(global)
            .clone();
        if !name.ends_with(".*") {
            for (glob, updates) in &self.per_module {
                if Self::is_unstructured(glob) && glob_matches(glob, name) {
                    options = options.apply(updates);
                }
            }
        }
        options
    }

    fn resolved(&self) -> &Resolved {
        self.resolved.get_or_init(|| {
            let mut global = Effective {
                values: self.global.clone(),
                ..Effective::default()
            };
            let known = |c: &&String| options::ERROR_CODES.binary_search(&c.as_str()).is_ok();
            global.disabled = list(self.global.get("disable_error_code"))
                .iter()
                .filter(known)
                .cloned()
                .collect();
            global.enabled = list(self.global.get("enable_error_code"))
                .iter()
                .filter(known)
                .cloned()
                .collect();
            let enabled = global.enabled.clone();
            global.disabled.retain(|c| !enabled.contains(c));
            // `foo.*` before `foo.bar.*` (sorted), all wildcards before concrete names.
            let structured = self
                .per_module
                .iter()
                .filter(|(g, _)| !Self::is_unstructured(g));
            let mut wildcards: Vec<&(String, Updates)> = structured
                .clone()
                .filter(|(g, _)| g.ends_with(".*"))
                .collect();
            wildcards.sort_by(|a, b| a.0.cmp(&b.0));
            let concrete = structured.filter(|(g, _)| !g.ends_with(".*"));
            let mut sections = BTreeMap::new();
            for (glob, updates) in wildcards.into_iter().chain(concrete) {
                let options = match sections.get(glob) {
                    Some(hit) => Effective::clone(hit),
                    None => self.inherit(&global, &sections, glob),
                }
                .apply(updates);
                sections.insert(glob.clone(), options);
            }
            Resolved { global, sections }
        })
    }
}

/// mypy's `compile_glob` (`foo.*.bar` -> `foo(\..*)?\.bar`): a leading `*` matches anything,
/// a later `.*` zero or more components. Matched directly: these run for every module of
/// every Lambda, and compiling a regex each time would dominate a sweep.
pub fn glob_matches(glob: &str, module: &str) -> bool {
    let parts: Vec<&str> = glob.split('.').collect();
    matches_from(&parts, 0, module)
}

fn matches_from(parts: &[&str], index: usize, rest: &str) -> bool {
    let Some(part) = parts.get(index) else {
        return rest.is_empty();
    };
    let next = |rest: &str| matches_from(parts, index + 1, rest);
    match (index, *part) {
        (0, "*") => (0..=rest.len())
            .filter(|k| rest.is_char_boundary(*k))
            .any(|k| next(&rest[k..])),
        (0, literal) => rest.strip_prefix(literal).is_some_and(next),
        (_, "*") => {
            next(rest)
                || (rest.starts_with('.')
                    && (1..=rest.len())
                        .filter(|k| rest.is_char_boundary(*k))
                        .any(|k| next(&rest[k..])))
        }
        (_, literal) => rest
            .strip_prefix('.')
            .and_then(|r| r.strip_prefix(literal))
            .is_some_and(next),
    }
}

/// What mypy finds for a directory.
#[derive(Debug)]
pub struct Search {
    /// The file mypy uses, if any.
    pub used: Option<PathBuf>,
    /// Files before it that mypy skipped because it cannot read them.
    pub broken: Vec<PathBuf>,
}

/// `_find_config_file`: each directory from `start` upwards, each name in order, the first
/// file mypy can use wins; the search stops at a repository root (`.git` or `.hg`). The
/// per-user files (`~/.config/mypy/config`) are not consulted: the gate judges the repository.
pub fn find(start: &Path, load: &dyn Fn(&Path) -> Arc<Loaded>) -> Search {
    let mut search = Search {
        used: None,
        broken: Vec::new(),
    };
    for dir in start.ancestors() {
        for name in CONFIG_NAMES {
            let candidate = dir.join(name);
            if !crate::fsio::is_file(&candidate) {
                continue;
            }
            match &*load(&candidate) {
                Loaded::Used(_) => {
                    search.used = Some(candidate);
                    return search;
                }
                Loaded::NotMypy => {}
                Loaded::Broken { .. } => search.broken.push(candidate),
            }
        }
        if crate::fsio::exists(&dir.join(".git")) || crate::fsio::exists(&dir.join(".hg")) {
            break;
        }
    }
    search
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, text: &str) -> MypyConfig {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        match load(&path) {
            Loaded::Used(config) => *config,
            other => panic!("not used: {other:?}"),
        }
    }

    #[test]
    fn strict_sets_flags_and_explicit_negation_wins() {
        let c = config(
            "mypy.ini",
            "[mypy]\nwarn_return_any = False\nstrict = True\n",
        );
        let global = c.global();
        assert!(global.flag("disallow_untyped_defs"));
        assert!(!global.flag("warn_return_any"));
        assert!(!global.flag("implicit_reexport"));
    }

    #[test]
    fn strict_in_a_module_section_is_global() {
        let c = config(
            "mypy.ini",
            "[mypy]\nwarn_return_any = False\n[mypy-x]\nstrict = True\n",
        );
        assert!(c.global().flag("warn_return_any"));
    }

    #[test]
    fn inverted_keys_and_booleans() {
        let c = config(
            "mypy.ini",
            "[mypy]\nallow_untyped_defs = no\nno_implicit_reexport = on\n",
        );
        let global = c.global();
        assert!(global.flag("disallow_untyped_defs"));
        assert!(!global.flag("implicit_reexport"));
        assert!(
            global
                .setting("disallow_untyped_defs")
                .unwrap()
                .origin
                .inverted
        );
    }

    #[test]
    fn module_precedence() {
        let c = config(
            "pyproject.toml",
            "[tool.mypy]\nstrict = true\n[[tool.mypy.overrides]]\nmodule = [\"app.*\"]\ndisallow_untyped_defs = false\n[[tool.mypy.overrides]]\nmodule = \"app.core\"\nwarn_return_any = false\n[[tool.mypy.overrides]]\nmodule = \"*.core\"\nignore_errors = true\n",
        );
        let core = c.for_module("app.core");
        assert!(!core.flag("disallow_untyped_defs"), "inherits app.*");
        assert!(!core.flag("warn_return_any"));
        assert!(core.flag("ignore_errors"), "unstructured glob applies last");
        assert!(!c.for_module("app").flag("disallow_untyped_defs"));
        assert!(c.for_module("other").flag("disallow_untyped_defs"));
    }

    #[test]
    fn error_codes_per_module() {
        let c = config(
            "mypy.ini",
            "[mypy]\nenable_error_code = truthy-bool, redundant-expr\n[mypy-a]\ndisable_error_code = truthy-bool\n",
        );
        assert_eq!(c.for_module("a").enabled.len(), 1);
        assert!(c.for_module("a").disabled.contains("truthy-bool"));
        assert_eq!(c.for_module("b").enabled.len(), 2);
    }

    #[test]
    fn values_mypy_rejects_are_problems() {
        let c = config(
            "mypy.ini",
            "[mypy]\nstrict = maybe\npython_version = 3.8\nfollow_imports = sometimes\nbogus = 1\nenable_error_code = nope\n",
        );
        let messages: Vec<&str> = c.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 5, "{messages:?}");
        assert_eq!(
            c.global().setting("python_version").unwrap().value,
            Value::Version(3, 10)
        );
    }

    #[test]
    fn toml_float_version_reads_as_python_prints_it() {
        let c = config("pyproject.toml", "[tool.mypy]\npython_version = 3.10\n");
        assert!(c.global().setting("python_version").unwrap().value == Value::Version(3, 10));
        assert!(
            c.problems[0].message.contains("quotes"),
            "3.10 reads as 3.1"
        );
    }

    #[test]
    fn shared_files_without_a_mypy_section_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("setup.cfg"), "[flake8]\nx=1\n").unwrap();
        std::fs::write(dir.path().join("pyproject.toml"), "[tool.black]\n").unwrap();
        assert!(matches!(
            load(&dir.path().join("setup.cfg")),
            Loaded::NotMypy
        ));
        assert!(matches!(
            load(&dir.path().join("pyproject.toml")),
            Loaded::NotMypy
        ));
    }

    #[test]
    fn globs_match_as_mypy_compiles_them() {
        assert!(glob_matches("app.*", "app"));
        assert!(glob_matches("app.*", "app.x.y"));
        assert!(!glob_matches("app.*", "application"));
        assert!(glob_matches("*.core", "x.y.core"));
        assert!(glob_matches("*.core", ".core"));
        assert!(glob_matches("x.*.core", "x.core"));
        assert!(glob_matches("x.*.core", "x.a.b.core"));
        assert!(!glob_matches("x.*.core", "x.acore"));
        assert!(glob_matches("*", "anything.at.all"));
        assert!(glob_matches("app.handler", "app.handler"));
        assert!(!glob_matches("app.handler", "app.handler.x"));
    }

    #[test]
    fn overrides_as_an_inline_array_of_tables() {
        let c = config(
            "pyproject.toml",
            "[tool.mypy]\nstrict = true\noverrides = [{module = [\"app.*\"], ignore_errors = true}]\n",
        );
        assert!(c.for_module("app.x").flag("ignore_errors"));
        assert!(!c.for_module("other").flag("ignore_errors"));
    }

    /// A section whose name ends in a character of several bytes (found by the fuzzer: slicing
    /// off the last byte panicked).
    #[test]
    fn a_section_name_ending_in_a_multibyte_character_is_read() {
        let c = config(
            "mypy.ini",
            "[mypy]\nstrict = True\n[mypy-app.caf\u{e9}]\nignore_errors = True\n[mypy-lib.*.caf\u{e9}]\nignore_errors = True\n",
        );
        assert!(c.for_module("app.caf\u{e9}").flag("ignore_errors"));
        assert!(c.for_module("lib.x.caf\u{e9}").flag("ignore_errors"));
        assert!(!c.for_module("app").flag("ignore_errors"));
    }

    #[test]
    fn float_repr_matches_python() {
        assert_eq!(py_float_repr(3.1), "3.1");
        assert_eq!(py_float_repr(3.0), "3.0");
        assert_eq!(py_float_repr(3.12), "3.12");
        assert_eq!(py_float_repr(1e16), "1e+16");
    }
}
