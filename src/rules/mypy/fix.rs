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
    append_block(&config.text, &block)
}

/// Appends `block` at the end of `text`, after one blank line.
pub fn append_block(text: &str, block: &str) -> Edit {
    let lead = if text.is_empty() || text.ends_with("\n\n") {
        ""
    } else if text.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    Edit {
        range: text.len()..text.len(),
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

/// Adds `items` to the list an origin wrote, leaving what is there (and its comments) as it
/// is: appended after the last INI line, or as new elements of a TOML array.
pub fn extend_list(config: &MypyConfig, origin: &Origin, items: &[String]) -> Option<Edit> {
    let text = &config.text;
    let written = &text[origin.value_span.clone()];
    match config.format {
        Format::Ini => {
            let separator = if written.trim_end().ends_with(',') || written.trim().is_empty() {
                " "
            } else {
                ", "
            };
            let at = origin.value_span.end;
            Some(Edit {
                range: at..at,
                replacement: format!("{separator}{}", items.join(", ")),
            })
        }
        Format::Toml => {
            let document = toml_edit::Document::parse(text.to_string()).ok()?;
            let array = document
                .get("tool")?
                .get("mypy")?
                .get(&origin.key)?
                .as_array()?;
            let rendered: Vec<String> = items
                .iter()
                .map(|item| {
                    toml_edit::Value::from(item.as_str())
                        .to_string()
                        .trim()
                        .to_string()
                })
                .collect();
            let Some(last) = array.iter().last() else {
                return Some(replace_value(
                    config,
                    origin,
                    &FixValue::List(items.to_vec()),
                ));
            };
            let last_end = last.span()?.end;
            let close = origin.value_span.end.checked_sub(1)?;
            let closing_line = text[..close].rfind('\n').map_or(0, |i| i + 1);
            let multiline =
                text[last_end..close].contains('\n') && text[closing_line..close].trim().is_empty();
            if !multiline {
                let at = last_end;
                return Some(Edit {
                    range: at..at,
                    replacement: rendered.iter().map(|r| format!(", {r}")).collect(),
                });
            }
            // One element a line, before the closing bracket, indented like the last one;
            // the last element gets its trailing comma if it has none.
            let last_line = text[..last_end].rfind('\n').map_or(0, |i| i + 1);
            let indent: String = text[last_line..]
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            let has_comma = text[last_end..close].trim_start().starts_with(',');
            let lines: String = rendered.iter().map(|r| format!("{indent}{r},\n")).collect();
            if has_comma {
                Some(Edit {
                    range: closing_line..closing_line,
                    replacement: lines,
                })
            } else {
                // Two edits would be cleaner, but a fix is one replacement of this span.
                let between = &text[last_end..closing_line];
                Some(Edit {
                    range: last_end..closing_line,
                    replacement: format!(",{between}{lines}"),
                })
            }
        }
    }
}
