//! Activity settings: input/output mappings, multi-instance loop characteristics, external
//! (service-like) task implementations, user tasks with form fields, and call activities with
//! their variable mappings.

use serde::Serialize;

use crate::expr::Expression;

/// Input/output mappings of an activity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IoMapping {
    /// Input parameters: evaluated in the parent scope, set as local variables of the activity.
    pub inputs: Vec<IoParameter>,
    /// Output parameters: evaluated in the activity scope, set in the parent scope.
    pub outputs: Vec<IoParameter>,
}

impl IoMapping {
    /// True when there are no mappings.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty() && self.outputs.is_empty()
    }
}

/// One `camunda:inputParameter` / `camunda:outputParameter` / zeebe input/output.
#[derive(Debug, Clone, Serialize)]
pub struct IoParameter {
    /// The variable it sets.
    pub name: String,
    /// How its value is produced.
    pub value: IoValue,
}

/// The value of an input/output parameter.
#[derive(Debug, Clone, Serialize)]
pub enum IoValue {
    /// No content: the variable is set to null.
    Null,
    /// Text or an expression (`${...}`, `=...` FEEL, or a literal).
    Expression(Expression),
    /// `camunda:list`.
    List(Vec<IoValue>),
    /// `camunda:map`.
    Map(Vec<(String, IoValue)>),
}

/// `multiInstanceLoopCharacteristics`.
#[derive(Debug, Clone, Serialize)]
pub struct MultiInstance {
    /// `isSequential`.
    pub sequential: bool,
    /// `loopCardinality`.
    pub loop_cardinality: Option<Expression>,
    /// `camunda:collection` (an expression, or a bare variable name turned into one) /
    /// zeebe `inputCollection`.
    pub collection: Option<Expression>,
    /// `camunda:elementVariable` / zeebe `inputElement`.
    pub element_variable: Option<String>,
    /// `completionCondition`.
    pub completion_condition: Option<Expression>,
    /// zeebe `outputCollection`.
    pub output_collection: Option<String>,
    /// zeebe `outputElement`.
    pub output_element: Option<Expression>,
}

/// `standardLoopCharacteristics` (BPMN 2.0 §10.2.8; Camunda 7 has none): the activity runs
/// again while `loop_condition` holds, at most `loop_maximum` times in all.
#[derive(Debug, Clone, Serialize)]
pub struct StandardLoop {
    /// `loopCondition`; none: loop until `loop_maximum` (or once without it).
    pub loop_condition: Option<Expression>,
    /// `testBefore`: evaluate the condition before each iteration (a while loop) instead of
    /// after it (do-while, the default).
    pub test_before: bool,
    /// `loopMaximum`: most iterations.
    pub loop_maximum: Option<i64>,
}

/// Which kind of task routes through the external-task path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ServiceKind {
    /// `serviceTask`.
    Service,
    /// `sendTask`.
    Send,
    /// `businessRuleTask`.
    BusinessRule,
    /// A message throw event with an implementation.
    MessageThrow,
    /// `scriptTask`: its script is the [`ExpressionImpl`] (run in the engine).
    Script,
}

/// An external-task implementation (service, send, business-rule task).
#[derive(Debug, Clone, Serialize)]
pub struct ServiceTaskDef {
    /// Which element kind it came from.
    pub kind: ServiceKind,
    /// `camunda:topic` / `zeebe:taskDefinition type`.
    pub topic: Expression,
    /// `camunda:taskPriority` on the activity.
    pub priority: Option<Expression>,
    /// zeebe `retries` (Camunda 8 default retries).
    pub retries: Option<Expression>,
    /// `camunda:errorEventDefinition` children: a completed task whose expression is true
    /// throws that error instead.
    pub error_event_definitions: Vec<ErrorEventDefinition>,
    /// `camunda:expression`: the task runs in the engine, synchronously, instead of as an
    /// external task (`topic` is then unused).
    pub expression: Option<super::ExpressionImpl>,
    /// `camunda:class` / `camunda:delegateExpression` as written, when the topic was derived
    /// from it by [`super::delegate_topic`].
    pub delegate: Option<String>,
    /// `camunda:decisionRef` on a business rule task: a DMN decision evaluated in the engine,
    /// synchronously (`topic` is then unused).
    pub decision: Option<Box<DecisionImpl>>,
}

/// A business rule task's decision call (`camunda:decisionRef` and its companions).
#[derive(Debug, Clone, Serialize)]
pub struct DecisionImpl {
    /// `camunda:decisionRef`: the decision definition key (may be an expression).
    pub decision_ref: Expression,
    /// `camunda:decisionRefBinding` with its version or version tag.
    pub binding: DecisionBinding,
    /// `camunda:decisionRefTenantId`.
    pub tenant_id: Option<Expression>,
    /// `camunda:mapDecisionResult` (default `resultList`).
    pub map_result: crate::dmn::MapDecisionResult,
    /// `camunda:resultVariable`: where the mapped result goes (nothing is stored without it).
    pub result_variable: Option<String>,
}

/// `camunda:decisionRefBinding`.
#[derive(Debug, Clone, Serialize)]
pub enum DecisionBinding {
    /// `latest` (the default).
    Latest,
    /// `deployment`: the version deployed with the process definition.
    Deployment,
    /// `version` with `camunda:decisionRefVersion`.
    Version(Expression),
    /// `versionTag` with `camunda:decisionRefVersionTag`.
    VersionTag(Expression),
}

/// `camunda:errorEventDefinition` on an external task.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEventDefinition {
    /// Element id.
    pub id: String,
    /// Code of the referenced error.
    pub error_code: String,
    /// Message of the referenced error.
    pub error_message: Option<String>,
    /// `expression`: when true on complete, the error is thrown.
    pub expression: Expression,
}

/// A `camunda:formData` field.
#[derive(Debug, Clone, Serialize)]
pub struct FormField {
    /// `id`: the variable it sets.
    pub id: String,
    /// `label`.
    pub label: Option<String>,
    /// `type`: string, long, boolean, date, enum, or a custom type name.
    pub type_name: String,
    /// `defaultValue` (may be an expression).
    pub default_value: Option<Expression>,
    /// `camunda:constraint name="required"`.
    pub required: bool,
    /// `camunda:constraint name="readonly"`.
    pub readonly: bool,
    /// Other constraints by name (minlength, maxlength, min, max, ...).
    pub constraints: Vec<(String, Option<String>)>,
    /// `camunda:value` children of an enum field: (id, name).
    pub enum_values: Vec<(String, Option<String>)>,
}

/// `userTask` settings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserTaskDef {
    /// `camunda:assignee` / zeebe `assignee`.
    pub assignee: Option<Expression>,
    /// `camunda:candidateUsers` (comma separated, or an expression giving a list).
    pub candidate_users: Option<Expression>,
    /// `camunda:candidateGroups`.
    pub candidate_groups: Option<Expression>,
    /// `camunda:dueDate`.
    pub due_date: Option<Expression>,
    /// `camunda:followUpDate`.
    pub follow_up_date: Option<Expression>,
    /// `camunda:priority`.
    pub priority: Option<Expression>,
    /// `camunda:formKey` / zeebe `formKey`.
    pub form_key: Option<String>,
    /// `camunda:formData` fields.
    pub form_fields: Vec<FormField>,
    /// `camunda:taskListener`s with an expression.
    pub task_listeners: Vec<super::TaskListener>,
}

/// How a call activity picks the version of the called process.
#[derive(Debug, Clone, Serialize)]
pub enum CalledElementBinding {
    /// `latest` (default).
    Latest,
    /// `deployment`: the version deployed in the same deployment as the caller.
    Deployment,
    /// `version`: `camunda:calledElementVersion`.
    Version(Expression),
    /// `versionTag`: `camunda:calledElementVersionTag`.
    VersionTag(Expression),
}

/// A `camunda:in` / `camunda:out` mapping of a call activity.
#[derive(Debug, Clone, Serialize)]
pub enum CallMapping {
    /// `variables="all"`: copy every variable (`local` restricts to local ones).
    All {
        /// `local="true"`.
        local: bool,
    },
    /// `source="x" target="y"`.
    Source {
        /// Source variable.
        source: String,
        /// Target variable.
        target: String,
    },
    /// `sourceExpression="${...}" target="y"`.
    Expression {
        /// Expression evaluated in the source scope.
        source: Expression,
        /// Target variable.
        target: String,
    },
    /// `businessKey="${...}"` on `camunda:in`: the child's business key.
    BusinessKey(Expression),
}

/// `callActivity` settings.
#[derive(Debug, Clone, Serialize)]
pub struct CallActivityDef {
    /// `calledElement` / zeebe `processId` (may be an expression).
    pub called_element: Expression,
    /// `camunda:calledElementBinding`.
    pub binding: CalledElementBinding,
    /// `camunda:in` mappings.
    pub inputs: Vec<CallMapping>,
    /// `camunda:out` mappings.
    pub outputs: Vec<CallMapping>,
}
