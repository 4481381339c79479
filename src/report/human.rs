//! The human format: rustc-style snippets rendered by annotate-snippets, then a summary.

use std::io::{self, Write};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::{count, display_path, RenderOptions, Summary};
use crate::check::CheckResult;
use crate::diagnostic::{floor_char_boundary, Diagnostic, LineIndex, Severity};
use crate::policy::ConfigError;

/// How many lines of a multi-line span are shown at most.
const MAX_SNIPPET_LINES: usize = 6;

fn renderer(color: bool) -> Renderer {
    if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    }
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

pub fn render(result: &CheckResult, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let renderer = renderer(options.color);
    for diagnostic in &result.diagnostics {
        let source = result.sources.get(&diagnostic.path).map(|s| &**s);
        writeln!(out, "{}\n", render_one(&renderer, diagnostic, source))?;
    }
    let summary = Summary::of(result);
    let verdict = if summary.errors == 0 {
        "passed"
    } else {
        "failed"
    };
    let mut line = format!(
        "lambda-gate {verdict}: {}, {}, {}, {}",
        count(summary.files, "file", "files"),
        summary.lambdas_text(),
        count(summary.errors, "error", "errors"),
        count(summary.warnings, "warning", "warnings"),
    );
    if summary.infos > 0 {
        line.push_str(&format!(", {}", count(summary.infos, "note", "notes")));
    }
    if !options.deterministic {
        line.push_str(&format!(" in {:.0?}", result.elapsed));
        if result.from_cache {
            line.push_str(" (cached: nothing changed since the last run)");
        }
    }
    writeln!(out, "{line}")?;
    let fixable = result
        .diagnostics
        .iter()
        .filter(|d| d.fix.is_some())
        .count();
    if fixable > 0 {
        writeln!(
            out,
            "{fixable} {} fixable with `lambda-gate check --fix` (preview with `--fix --diff`)",
            if fixable == 1 { "is" } else { "are" }
        )?;
    }
    Ok(())
}

/// One diagnostic with the lines it points at (only those lines are handed to the renderer,
/// so a huge file costs no more than a small one).
fn render_one(renderer: &Renderer, diagnostic: &Diagnostic, source: Option<&str>) -> String {
    let path = display_path(&diagnostic.path);
    let title = level(diagnostic.severity)
        .primary_title(diagnostic.message.as_str())
        .id(diagnostic.rule);
    let mut group = match source.filter(|text| !text.is_empty()) {
        Some(text) => {
            let index = LineIndex::new(text);
            // A span the engine makes runs forwards; one read from elsewhere is taken as one.
            let (from, to) = (
                diagnostic.span.start.min(diagnostic.span.end),
                diagnostic.span.start.max(diagnostic.span.end),
            );
            let first = index.line_of(from.min(text.len()));
            let last_line = index.line_of(to.min(text.len()));
            let last = last_line.min(first + MAX_SNIPPET_LINES - 1);
            let start = index.line_start(first);
            let end = index.line_range(text, last).end;
            let excerpt = &text[start..end];
            let span_start = from.clamp(start, end) - start;
            let span_end = floor_char_boundary(excerpt, to.clamp(start, end) - start);
            let span_start = floor_char_boundary(excerpt, span_start);
            title.element(
                Snippet::source(excerpt)
                    .line_start(first + 1)
                    .path(path)
                    .annotation(AnnotationKind::Primary.span(span_start..span_end.max(span_start))),
            )
        }
        None => title.element(annotate_snippets::Origin::path(path).line(diagnostic.start.line)),
    };
    if let Some(help) = &diagnostic.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let groups: Vec<Group<'_>> = vec![group];
    renderer.render(&groups)
}

/// A configuration error with the line it points at.
pub fn render_config_error(error: &ConfigError, color: bool) -> String {
    let renderer = renderer(color);
    let path = display_path(&error.path);
    let title = Level::ERROR.primary_title(error.message.as_str());
    let text = std::fs::read_to_string(&error.path).unwrap_or_default();
    let index = LineIndex::new(&text);
    let line = error.line.saturating_sub(1);
    let group = if !text.is_empty() && line < index.line_count() {
        let range = index.line_range(&text, line);
        let excerpt = &text[range.clone()];
        let column = excerpt
            .char_indices()
            .nth(error.column.saturating_sub(1))
            .map_or(excerpt.len(), |(i, _)| i);
        let width = excerpt[column..]
            .find([' ', '=', ',', ']'])
            .unwrap_or(excerpt.len() - column)
            .max(1);
        let end = (column + width).min(excerpt.len());
        title.element(
            Snippet::source(excerpt)
                .line_start(error.line)
                .path(path)
                .annotation(
                    AnnotationKind::Primary.span(column..floor_char_boundary(excerpt, end)),
                ),
        )
    } else {
        title.element(annotate_snippets::Origin::path(path).line(error.line))
    };
    renderer.render(&[group])
}
