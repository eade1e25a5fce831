//! Listeners and in-engine implementations: `camunda:executionListener` and
//! `camunda:taskListener` with an `expression`, and the synchronous `camunda:expression`
//! implementation of service-like tasks. They run inside the state machine, within the command
//! that reaches them; Java code (`class`, `delegateExpression`) is not run here (see
//! [`delegate_topic`]).

use serde::Serialize;

use crate::expr::Expression;

use super::Position;

/// When an execution listener fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ExecutionEvent {
    /// The activity (or process) starts, after its input mappings.
    Start,
    /// The activity (or process) ends, after its output mappings.
    End,
    /// A sequence flow is taken.
    Take,
}

/// `camunda:executionListener expression="..."`.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionListener {
    /// When it fires.
    pub event: ExecutionEvent,
    /// What it evaluates (writes through `execution` are applied; the value is ignored).
    pub expression: Expression,
    /// Where the listener element starts.
    pub position: Position,
}

/// When a task listener fires, among the user task lifecycle points the state machine sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskEvent {
    /// The task is created (before the host stores it, so `task.setAssignee` shapes it).
    Create,
    /// The task gets an assignee at creation (Camunda fires it after `create`).
    Assignment,
    /// The task is completed (before the activity leaves).
    Complete,
    /// The task is deleted because its activity is cancelled (boundary event, cancellation).
    Delete,
    /// A property of a created task changed (REST claim, assignee change); fired before
    /// `assignment`, as Camunda does.
    Update,
    /// The listener's timer came due while the task was still open (escalation).
    Timeout,
}

impl TaskEvent {
    /// Camunda's event name (`task.eventName`).
    pub fn name(self) -> &'static str {
        match self {
            TaskEvent::Create => "create",
            TaskEvent::Assignment => "assignment",
            TaskEvent::Complete => "complete",
            TaskEvent::Delete => "delete",
            TaskEvent::Update => "update",
            TaskEvent::Timeout => "timeout",
        }
    }
}

/// `camunda:taskListener expression="..."`.
#[derive(Debug, Clone, Serialize)]
pub struct TaskListener {
    /// When it fires.
    pub event: TaskEvent,
    /// What it evaluates, with `task` and `execution` bound.
    pub expression: Expression,
    /// Where the listener element starts.
    pub position: Position,
    /// The timer of a `timeout` listener (armed when the task is created).
    pub timer: Option<super::TimerDefinition>,
}

/// `camunda:expression` on a service, send or business rule task: evaluated synchronously,
/// the task completes in the same command.
#[derive(Debug, Clone, Serialize)]
pub struct ExpressionImpl {
    /// The expression (its writes through `execution` are applied).
    pub expression: Expression,
    /// `camunda:resultVariable`: where the value goes (set as a process variable with
    /// Camunda's rule: the nearest scope that has it, else the process instance).
    pub result_variable: Option<String>,
}

/// The external-task topic a Java delegate (`camunda:class` / `camunda:delegateExpression`)
/// runs on in baton, so the model deploys unchanged and a worker (or a wasm module bound to
/// that topic) takes over the delegate's job.
///
/// The rule: the text as written, trimmed; for a delegate expression, the inside of its one
/// `${...}` / `#{...}`, trimmed. So `com.acme.CheckStockDelegate` → topic
/// `com.acme.CheckStockDelegate`, and `${checkStockDelegate}` → topic `checkStockDelegate`.
/// Nothing is shortened or re-cased: the topic is exactly what a developer can copy from the
/// model or grep for in the Java sources, and fully qualified class names cannot collide.
/// The delegate expression is not evaluated (it names a Java bean, which baton does not have).
pub fn delegate_topic(text: &str) -> String {
    let t = text.trim();
    let inner = t
        .strip_prefix("${")
        .or_else(|| t.strip_prefix("#{"))
        .and_then(|rest| rest.strip_suffix('}'))
        .filter(|inner| !inner.contains("${") && !inner.contains("#{"));
    inner.unwrap_or(t).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::delegate_topic;

    #[test]
    fn delegate_topics_are_the_names_as_written() {
        for (src, want) in [
            ("com.acme.CheckStockDelegate", "com.acme.CheckStockDelegate"),
            ("  com.acme.A ", "com.acme.A"),
            ("${checkStock}", "checkStock"),
            ("#{ beans.checkStock }", "beans.checkStock"),
            ("${a}${b}", "${a}${b}"),
        ] {
            assert_eq!(delegate_topic(src), want, "{src}");
        }
    }
}
