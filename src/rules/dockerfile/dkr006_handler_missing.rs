//! DKR006 `handler-missing`: the final stage sets a handler, `CMD ["module.function"]`.

use super::{Context, HandlerProblem};
use crate::diagnostic::{Finding, Severity};
use crate::rules::{Check, Family, Rule};

pub static RULE: Rule = Rule {
    id: "DKR006",
    name: "handler-missing",
    family: Family::Dockerfile,
    summary: "The final stage sets no handler as `CMD [\"module.function\"]`",
    default_severity: Severity::Error,
    fixable: false,
    doc: crate::rule_doc!("DKR006"),
    check: Check::Dockerfile(check),
};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    // A Web Adapter image runs a web server: its CMD is not a handler.
    if !ctx.kind.expects_handler() {
        return Vec::new();
    }
    // The template or module that deploys the image sets the handler: the CMD is not used.
    let deployment_sets_it = ctx.code.is_some_and(|code| {
        code.handler.as_ref().is_some_and(|handler| {
            matches!(
                handler.origin,
                super::code::HandlerOrigin::Deployment { .. }
            )
        })
    });
    if deployment_sets_it {
        return Vec::new();
    }
    let Err((problem, cmd)) = ctx.handler() else {
        return Vec::new();
    };
    let span = match cmd {
        Some(cmd) => cmd.span.clone(),
        None => ctx
            .dockerfile
            .final_stage()
            .map_or(0..0, |stage| stage.image.span.clone()),
    };
    let message = match &problem {
        HandlerProblem::Missing => {
            "the final stage sets no handler: add `CMD [\"module.function\"]`".to_string()
        }
        HandlerProblem::ShellForm => {
            "the handler CMD is in shell form: the Lambda runtime would be handed `/bin/sh -c ...`"
                .to_string()
        }
        HandlerProblem::NotAHandler(args) => {
            format!("`CMD [{args}]` is not a handler: Lambda expects one `module.function` string")
        }
    };
    // A deployment sets a handler for an image the gate could not tie to a Dockerfile: it may
    // be this one's, so the gate cannot decide (LG007 says the code was not checked).
    if let (HandlerProblem::Missing, Some(untied)) =
        (&problem, ctx.code.and_then(|code| code.untied.as_ref()))
    {
        let dir = ctx.path.parent().unwrap_or(std::path::Path::new(""));
        let message = format!(
            "the final stage sets no handler; `{}` in {}:{} sets `{}` for an image function whose image the gate could not tie to a Dockerfile ({}), so it may be this one's",
            untied.handler.key,
            super::code::path_from(dir, &untied.handler.file),
            untied.handler.line,
            untied.handler.text,
            untied.why
        );
        return vec![Finding::new(span, message)
            .help("build the image in the module that deploys it (a `docker_image` resource or the `docker-build` module whose output is the function's `image_uri`), or set `CMD [\"module.function\"]`")
            .undecided()];
    }
    vec![Finding::new(span, message).help(
        "the Lambda base image's entrypoint passes CMD to the runtime as the handler, e.g. `CMD [\"app.handler.handler\"]`",
    )]
}

#[cfg(test)]
mod tests {
    use super::super::testing::run;
    use super::*;

    #[test]
    fn exec_form_handler_passes() {
        assert!(run(check, "FROM a:1\nCMD [\"app.handler.handler\"]\n").is_empty());
        assert!(run(check, "FROM a:1 AS b\nCMD [\"app.handler\"]\nFROM b\n").is_empty());
    }

    #[test]
    fn missing_shell_form_and_malformed() {
        assert!(run(check, "FROM a:1\n")[0]
            .message
            .contains("sets no handler"));
        assert!(run(check, "FROM a:1\nCMD app.handler\n")[0]
            .message
            .contains("shell form"));
        assert!(run(check, "FROM a:1\nCMD [\"python\", \"app.py\"]\n")[0]
            .message
            .contains("not a handler"));
        assert!(run(check, "FROM a:1\nCMD [\"handler\"]\n")[0]
            .message
            .contains("not a handler"));
        // A CMD in an unrelated build stage does not count.
        assert_eq!(
            run(check, "FROM a:1 AS b\nCMD [\"app.h\"]\nFROM a:1\n").len(),
            1
        );
    }
}
