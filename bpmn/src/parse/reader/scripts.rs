//! Scripts in the model: `scriptTask`, `camunda:script` (listeners, input/output values) and
//! conditions with a script `language`. JavaScript becomes a script expression the host runs
//! in the wasm sandbox (its syntax checked here through [`crate::parse::ParseOptions`], with
//! the error at the script's own line:column in the file); `juel` and `feel` become ordinary
//! expressions; any other language is refused naming the supported ones. `camunda:resource`
//! scripts are read from the deployment's other resources.

use super::*;
use crate::parse::ScriptSyntaxError;
use crate::script::{SUPPORTED_LANGUAGES, ScriptFormat};

impl Builder {
    /// A `scriptTask`: an in-engine task whose script runs when it is reached and whose value
    /// goes to `camunda:resultVariable`. A task that cannot run is reported and becomes a
    /// plain task.
    pub(super) fn script_task(&mut self, el: &El) -> NodeKind {
        let body = el.child(Ns::Bpmn, "script");
        let resource = el
            .attr_ns(Ns::Camunda, "resource")
            .or_else(|| body.and_then(|b| b.attr_ns(Ns::Camunda, "resource")));
        // Format and resource problems point at the task (they are its attributes); syntax
        // errors into the script text.
        let text = body.map(|b| (b.text.as_str(), b.text_pos.or(Some(b.pos))));
        let Some(expression) =
            self.script_source(el, el, el.attr("scriptFormat"), text, resource, "script")
        else {
            return NodeKind::Task;
        };
        let result_variable =
            non_empty(el.attr_ns(Ns::Camunda, "resultVariable")).map(str::to_owned);
        NodeKind::ServiceTask(ServiceTaskDef {
            kind: ServiceKind::Script,
            topic: Expression::literal(""),
            priority: None,
            retries: None,
            error_event_definitions: Vec::new(),
            expression: Some(ExpressionImpl {
                expression,
                result_variable,
            }),
            delegate: None,
            decision: None,
        })
    }

    /// A `camunda:script` element (`scriptFormat`, text or `resource`).
    pub(super) fn script_element(&mut self, owner: &El, s: &El, what: &str) -> Option<Expression> {
        let resource = s
            .attr("resource")
            .or_else(|| s.attr_ns(Ns::Camunda, "resource"));
        let text = Some((s.text.as_str(), s.text_pos));
        self.script_source(owner, s, s.attr("scriptFormat"), text, resource, what)
    }

    /// A condition (`tFormalExpression`) in a script language, or with a resource.
    pub(super) fn script(
        &mut self,
        owner: &El,
        c: &El,
        language: Option<&str>,
        what: &str,
    ) -> Option<Expression> {
        let resource = c.attr_ns(Ns::Camunda, "resource");
        let text = Some((c.text.as_str(), c.text_pos));
        self.script_source(owner, c, language, text, resource, what)
    }

    /// The one place a script is read: language, then text (inline or from a resource), then
    /// syntax. `at` is where format and resource problems are reported.
    fn script_source(
        &mut self,
        owner: &El,
        at: &El,
        format: Option<&str>,
        text: Option<(&str, Option<Position>)>,
        resource: Option<&str>,
        what: &str,
    ) -> Option<Expression> {
        let what = format!("{} {what}", describe(owner));
        let Some(format_name) = non_empty(format) else {
            let message =
                format!("{what} has no scriptFormat (language); baton runs {SUPPORTED_LANGUAGES}");
            self.script_problem(owner, at.pos, message);
            return None;
        };
        let Some(format) = ScriptFormat::parse(format_name) else {
            let message = format!(
                "{what} is written in '{format_name}', which baton does not run: supported \
                 script languages are {SUPPORTED_LANGUAGES}"
            );
            self.script_problem(owner, at.pos, message);
            return None;
        };
        // (text, where it starts in this file; None when it comes from another resource)
        let (source, origin, from) = match non_empty(resource) {
            Some(r) => match self.script_resource(r) {
                Ok((name, text)) => (text, None, Some(name)),
                Err(message) => {
                    self.script_problem(owner, at.pos, format!("{what}: {message}"));
                    return None;
                }
            },
            None => {
                let (text, pos) = text.unwrap_or(("", None));
                (text.to_owned(), pos.or(Some(at.pos)), None)
            }
        };
        if source.trim().is_empty() {
            self.script_problem(owner, at.pos, format!("{what} is empty"));
            return None;
        }
        match format {
            ScriptFormat::Juel => {
                let text = source.trim();
                let text = if text.contains("${") || text.contains("#{") {
                    text.to_owned()
                } else {
                    format!("${{{text}}}")
                };
                self.script_expression(owner, at.pos, &what, &text)
            }
            ScriptFormat::Feel => {
                let text = source.trim();
                let text = if text.starts_with('=') {
                    text.to_owned()
                } else {
                    format!("={text}")
                };
                self.script_expression(owner, at.pos, &what, &text)
            }
            ScriptFormat::JavaScript => {
                if let Some(check) = self.options.check_javascript.clone()
                    && let Err(e) = check(&source)
                {
                    let (message, pos) = syntax_problem(&what, &e, origin, from.as_deref(), at);
                    self.script_problem(owner, pos, message);
                    return None;
                }
                Some(Expression::javascript(&source))
            }
        }
    }

    fn script_expression(
        &mut self,
        owner: &El,
        pos: Position,
        what: &str,
        text: &str,
    ) -> Option<Expression> {
        match Expression::parse(text) {
            Ok(e) => Some(e),
            Err(e) => {
                let message = format!("{what}: invalid expression '{text}': {}", e.message);
                self.script_problem(owner, pos, message);
                None
            }
        }
    }

    /// A `camunda:resource` script from the deployment: `deployment://name` or a plain name.
    fn script_resource(&self, r: &str) -> Result<(String, String), String> {
        let r = r.trim();
        if let Some(rest) = r.strip_prefix("classpath://") {
            return Err(format!(
                "camunda:resource 'classpath://{rest}': baton has no Java classpath; put the \
                 script into the deployment and refer to it as 'deployment://{rest}'"
            ));
        }
        let name = r.strip_prefix("deployment://").unwrap_or(r);
        match self.options.resources.get(name) {
            Some(text) => Ok((name.to_owned(), text.clone())),
            None => Err(format!(
                "camunda:resource '{r}' is not a resource of this deployment (deploy the \
                 script file together with the model)"
            )),
        }
    }

    /// A script problem about `owner` at `pos`.
    fn script_problem(&mut self, owner: &El, pos: Position, message: String) {
        self.problems.push(Problem {
            severity: self.exec,
            message,
            element_id: owner.id().map(str::to_owned),
            line: pos.line,
            column: pos.column,
        });
    }
}

/// A syntax error's message and file position: inline scripts map the script's line:column onto
/// the file; a resource script names its resource and position, reported at the element.
fn syntax_problem(
    what: &str,
    e: &ScriptSyntaxError,
    origin: Option<Position>,
    resource: Option<&str>,
    at: &El,
) -> (String, Position) {
    if let Some(name) = resource {
        let message = format!(
            "{what}: JavaScript syntax error in resource '{name}' at {}:{}: {}",
            e.line, e.column, e.message
        );
        return (message, at.pos);
    }
    let origin = origin.unwrap_or(at.pos);
    let pos = if e.line == 0 {
        origin
    } else if e.line == 1 {
        Position {
            line: origin.line,
            column: origin.column.saturating_add(e.column.saturating_sub(1)),
        }
    } else {
        Position {
            line: origin.line.saturating_add(e.line - 1),
            column: e.column.max(1),
        }
    };
    let message = format!(
        "{what}: JavaScript syntax error at script line {}, column {}: {}",
        e.line, e.column, e.message
    );
    (message, pos)
}
