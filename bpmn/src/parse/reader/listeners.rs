//! `camunda:executionListener` and `camunda:taskListener`: those with an `expression` become
//! model listeners the state machine evaluates, and so do script listeners (`camunda:script`);
//! Java listeners (`class`, `delegateExpression`) are refused at the listener's own
//! line:column, saying why.

use super::*;

/// Why a Java listener cannot become an external task like a Java delegate can.
const JAVA_LISTENER_WHY: &str = "a listener runs inside the step that fires it and cannot wait \
     for a remote worker; write it as expression=\"${...}\" (execution.setVariable, \
     task.setAssignee, ...) or move the logic into a service task with a topic";

impl Builder {
    /// A problem about `owner` found on its child `at` (a listener): `owner`'s id, `at`'s
    /// position, so the message points at the listener line.
    fn listener_problem(&mut self, owner: &El, at: &El, message: String) {
        self.problems.push(Problem {
            severity: self.exec,
            message,
            element_id: owner.id().map(str::to_owned),
            line: at.pos.line,
            column: at.pos.column,
        });
    }

    /// The `expression` of a listener, or `None` after reporting why it cannot run.
    fn listener_expression(&mut self, owner: &El, l: &El, event: &str) -> Option<Expression> {
        let what = format!("{} {} (event \"{event}\")", describe(owner), l.qname);
        for (attr, kind) in [
            ("class", "a Java class"),
            ("delegateExpression", "a Java delegate expression"),
        ] {
            if let Some(v) = non_empty(l.attr_ns(Ns::Camunda, attr).or_else(|| l.attr(attr))) {
                let message = format!(
                    "{what} calls {kind} ('{v}'), which is not supported: {JAVA_LISTENER_WHY}"
                );
                self.listener_problem(owner, l, message);
                return None;
            }
        }
        if let Some(script) = l.child(Ns::Camunda, "script") {
            return self.script_element(owner, script, &what);
        }
        let Some(text) = non_empty(
            l.attr_ns(Ns::Camunda, "expression")
                .or_else(|| l.attr("expression")),
        ) else {
            let message = format!("{what} has no expression, class, delegateExpression or script");
            self.listener_problem(owner, l, message);
            return None;
        };
        match Expression::parse(text) {
            Ok(e) => Some(e),
            Err(e) => {
                let message = format!("{what}: invalid expression '{text}': {}", e.message);
                self.listener_problem(owner, l, message);
                None
            }
        }
    }

    /// Execution listeners of `el` (a process, flow node or sequence flow). Task listeners
    /// are read by [`Builder::task_listeners`] on user tasks and refused elsewhere; Camunda 8
    /// listeners (job workers) are refused.
    pub(super) fn listeners(&mut self, el: &El) -> Vec<ExecutionListener> {
        let is_flow = el.name == "sequenceFlow";
        let mut out = Vec::new();
        for l in ext(el) {
            match (l.ns, l.name.as_str()) {
                (Ns::Camunda, "executionListener") => {
                    let event =
                        non_empty(l.attr("event")).unwrap_or(if is_flow { "take" } else { "" });
                    let ev = match (event, is_flow) {
                        ("take", true) => Some(ExecutionEvent::Take),
                        ("start", false) => Some(ExecutionEvent::Start),
                        ("end", false) => Some(ExecutionEvent::End),
                        _ => None,
                    };
                    let Some(ev) = ev else {
                        let allowed = if is_flow {
                            "\"take\""
                        } else {
                            "\"start\" or \"end\""
                        };
                        let message = format!(
                            "{} {}: event \"{event}\" is not valid here (use {allowed})",
                            describe(el),
                            l.qname
                        );
                        self.listener_problem(el, l, message);
                        continue;
                    };
                    if let Some(expression) = self.listener_expression(el, l, event) {
                        out.push(ExecutionListener {
                            event: ev,
                            expression,
                            position: l.pos,
                        });
                    }
                }
                (Ns::Camunda, "taskListener") if el.name != "userTask" => {
                    let message = format!(
                        "{} {}: task listeners belong on user tasks",
                        describe(el),
                        l.qname
                    );
                    self.listener_problem(el, l, message);
                }
                (Ns::Zeebe, "executionListeners" | "taskListeners") => {
                    self.unsupported(
                        el,
                        &format!("{} (Camunda 8 job-worker listeners) are", l.qname),
                        LISTENER_ADVICE,
                    );
                }
                _ => {}
            }
        }
        out
    }

    /// `camunda:taskListener`s of a user task. `update` and `timeout` are refused: the state
    /// machine never sees task updates (claims and edits happen in the host's task store) and
    /// has no task-listener timers.
    pub(super) fn task_listeners(&mut self, el: &El) -> Vec<TaskListener> {
        let mut out = Vec::new();
        for l in ext_named(el, Ns::Camunda, "taskListener") {
            let event = non_empty(l.attr("event")).unwrap_or("");
            let ev = match event {
                "create" => TaskEvent::Create,
                "assignment" => TaskEvent::Assignment,
                "complete" => TaskEvent::Complete,
                "delete" => TaskEvent::Delete,
                "update" => TaskEvent::Update,
                "timeout" => TaskEvent::Timeout,
                other => {
                    let message = format!(
                        "{} {}: unknown event \"{other}\" (use create, assignment, update, \
                         complete, delete or timeout)",
                        describe(el),
                        l.qname
                    );
                    self.listener_problem(el, l, message);
                    continue;
                }
            };
            let timer = if ev == TaskEvent::Timeout {
                match l.child(Ns::Bpmn, "timerEventDefinition") {
                    Some(def) => match self.timer(el, def) {
                        Some(t) => Some(t),
                        None => continue,
                    },
                    None => {
                        let message = format!(
                            "{} {} (event \"timeout\") needs a timerEventDefinition saying when \
                             it fires",
                            describe(el),
                            l.qname
                        );
                        self.listener_problem(el, l, message);
                        continue;
                    }
                }
            } else {
                None
            };
            if let Some(expression) = self.listener_expression(el, l, event) {
                out.push(TaskListener {
                    event: ev,
                    expression,
                    position: l.pos,
                    timer,
                });
            }
        }
        out
    }
}
