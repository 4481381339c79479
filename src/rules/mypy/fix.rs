//! Fixes for mypy configuration files: small edits that keep every comment and the layout.
//! Values are rendered by `toml_edit` in pyproject.toml and in configparser's syntax in INI
//! files; every fix is re-parsed before it is offered, so `--fix` never writes a file mypy
//! cannot read.

use super::config::{Format, MypyConfig, Origin};
use crate::diagnostic::{Edit, Fix};

/// A value to write.
#[derive(Debug, Clone)]
pub enum FixValue {
    Bool(bool),
    Str(String),
    List(Vec<String>),
}

/// `value` in the file's syntax.
pub fn render(format: Format, value: &FixValue) -> String {
    match (format, value) {
        (Format::Ini, FixValue::Bool(b)) => if *b { "True" } else { "False" }.into(),
        (Format::Ini, FixValue::Str(s)) => s.clone(),
        (Format::Ini, FixValue::List(items)) => items.join(", "),
        (Format::Toml, FixValue::Bool(b)) => toml_edit::Value::from(*b).to_string(),
        (Format::Toml, FixValue::Str(s)) => toml_edit::Value::from(s.as_str()).to_string(),
        (Format::Toml, FixValue::List(items)) => {
            let array: toml_edit::Array = items.iter().map(String::as_str).collect();
            toml_edit::Value::Array(array).to_string()
        }
    }
}

/// Adds `key = value` at the end of the global section.
pub fn insert_global(config: &MypyConfig, key: &str, value: &FixValue) -> Option<Edit> {
    let section = config.global_section.as_ref()?;
    let text = &config.text;
    let at = section.end.min(text.len());
    let newline = if at > 0 && !text[..at].ends_with('\n') {
        "\n"
    } else {
        ""
    };
    Some(Edit {
        range: at..at,
        replacement: format!("{newline}{key} = {}\n", render(config.format, value).trim()),
    })
}

/// Replaces the value an origin wrote.
pub fn replace_value(config: &MypyConfig, origin: &Origin, value: &FixValue) -> Edit {
    Edit {
        range: origin.value_span.clone(),
        replacement: render(config.format, value).trim().to_string(),
    }
}

/// Removes the lines of an entry.
pub fn delete_entry(origin: &Origin) -> Edit {
    Edit {
        range: origin.lines.clone(),
        replacement: String::new(),
    }
}

/// Appends a per-module section setting `key = value` for `modules`.
pub fn append_module_section(
    config: &MypyConfig,
    modules: &[String],
    key: &str,
    value: &FixValue,
) -> Edit {
    let text = &config.text;
    let end = text.len();
    let lead = if text.is_empty() || text.ends_with("\n\n") {
        ""
    } else if text.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    let block = match config.format {
        Format::Ini => format!(
            "[mypy-{}]\n{key} = {}\n",
            modules.join(","),
            render(Format::Ini, value)
        ),
        Format::Toml => format!(
            "[[tool.mypy.overrides]]\nmodule = {}\n{key} = {}\n",
            render(Format::Toml, &FixValue::List(modules.to_vec())),
            render(Format::Toml, value)
        ),
    };
    Edit {
        range: end..end,
        replacement: format!("{lead}{block}"),
    }
}

/// A fix of `edits`, offered only when the result still parses as the same kind of file.
pub fn checked(config: &MypyConfig, description: String, edits: Vec<Edit>) -> Option<Fix> {
    let after = crate::fix::apply_edits(&config.text, &edits);
    let parses = match config.format {
        Format::Ini => super::ini::parse(&after).is_ok(),
        Format::Toml => toml_edit::Document::parse(after.as_str()).is_ok(),
    };
    parses.then_some(Fix { description, edits })
}
