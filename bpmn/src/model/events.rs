//! Event semantics: what triggers a catching event (`EventTrigger`), what a throwing event
//! does (`EventResult`), and timer definitions.

use serde::Serialize;

use super::activities::ServiceTaskDef;
use crate::expr::Expression;

/// What triggers a start, intermediate catch or boundary event.
#[derive(Debug, Clone, Serialize)]
pub enum EventTrigger {
    /// No event definition.
    None,
    /// `messageEventDefinition`; `name` is the referenced message's name.
    Message {
        /// Message name.
        name: String,
    },
    /// `timerEventDefinition`.
    Timer(TimerDefinition),
    /// `signalEventDefinition`; `name` is the referenced signal's name.
    Signal {
        /// Signal name.
        name: String,
    },
    /// `errorEventDefinition` on a catching event. `code: None` catches every error.
    Error {
        /// The error code to match, `None` for catch-all.
        code: Option<String>,
        /// `camunda:errorCodeVariable`.
        code_variable: Option<String>,
        /// `camunda:errorMessageVariable`.
        message_variable: Option<String>,
    },
    /// `escalationEventDefinition` on a catching event. `code: None` catches every escalation.
    Escalation {
        /// The escalation code to match, `None` for catch-all.
        code: Option<String>,
        /// `camunda:escalationCodeVariable`.
        code_variable: Option<String>,
    },
    /// `conditionalEventDefinition`.
    Conditional {
        /// The condition.
        condition: Expression,
        /// `camunda:variableName`: only changes to this variable re-evaluate it.
        variable_name: Option<String>,
    },
    /// `linkEventDefinition` on a catching event.
    Link {
        /// The link name.
        name: String,
    },
    /// `compensateEventDefinition` on a boundary event (its handler is the activity an
    /// association points to) or on the start event of a compensation event subprocess.
    Compensation,
    /// `cancelEventDefinition` on a boundary event of a transaction subprocess.
    Cancel,
    /// Several event definitions (BPMN 2.0 multiple event): any one of `triggers` fires it,
    /// or with `parallel` (`parallelMultiple="true"`, catching events only) all of them.
    Multiple {
        /// The triggers (messages and signals).
        triggers: Vec<EventTrigger>,
        /// All triggers must occur.
        parallel: bool,
    },
}

/// What an end event or intermediate throw event does.
// Variant sizes differ (a message throw can carry a whole task definition); the model is built
// once per deployment and read in place, so boxing would add indirection for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
pub enum EventResult {
    /// Plain end / pass-through.
    None,
    /// `terminateEventDefinition`.
    Terminate,
    /// `errorEventDefinition` on a throwing event.
    Error {
        /// Error code thrown.
        code: String,
        /// `camunda:errorMessage` of the referenced error.
        message: Option<String>,
    },
    /// `escalationEventDefinition` on a throwing event.
    Escalation {
        /// Escalation code thrown.
        code: String,
    },
    /// `signalEventDefinition` on a throwing event: broadcast.
    Signal {
        /// Signal name.
        name: String,
    },
    /// `messageEventDefinition` on a throwing event. With a topic it behaves like a service
    /// task (Camunda 7 runs message throw events through their implementation); without one
    /// it passes through.
    Message {
        /// Message name.
        name: Option<String>,
        /// External-task implementation, when given.
        task: Option<ServiceTaskDef>,
    },
    /// `linkEventDefinition` on a throwing event: jump to the catching link of that name.
    Link {
        /// The link name.
        name: String,
    },
    /// `compensateEventDefinition` on an intermediate throw or end event: compensate the
    /// completed activities of the enclosing scope (only `activity_ref` when given).
    Compensate {
        /// `activityRef`.
        activity_ref: Option<String>,
        /// `waitForCompletion` (default true): continue only once every handler completed.
        wait_for_completion: bool,
    },
    /// `cancelEventDefinition` on an end event inside a transaction subprocess.
    Cancel,
    /// Several event definitions (BPMN 2.0 multiple throw event): all are thrown, in order
    /// (messages without implementation, signals, escalations).
    Multiple(Vec<EventResult>),
}

/// `timerEventDefinition`: the raw text of its one child; it may contain `${...}`, so it is
/// parsed (and, when literal, validated) by [`crate::timer`].
#[derive(Debug, Clone, Serialize)]
pub enum TimerDefinition {
    /// `timeDate`.
    Date(Expression),
    /// `timeDuration`.
    Duration(Expression),
    /// `timeCycle`.
    Cycle(Expression),
}
