//! The implicit objects of JUEL in Camunda 7: `execution` (everywhere) and `task` (in task
//! listeners), with the getters and setters Camunda models call on them.
//!
//! Reads go through the [`Scope`]; writes (`setVariable`, `removeVariable`, `task.setAssignee`,
//! ...) are only recorded as [`Write`]s for the caller to apply, so evaluation stays pure. Where
//! writes are not allowed (conditions, assignees), a setter is an error that says where it is.

use super::ast::Ast;
use super::eval::Ev;
use super::syntax::error;
use super::value_ops::{normalize, type_name};
use super::{ExprError, Scope, Write};
use crate::value::Value;

/// Names of `execution` properties Camunda defines; they read as null when the engine has no
/// value for them, where any other name is an error.
const EXECUTION_PROPERTIES: &[&str] = &[
    "id",
    "processInstanceId",
    "processBusinessKey",
    "businessKey",
    "activityId",
    "currentActivityId",
    "currentActivityName",
    "activityInstanceId",
    "processDefinitionId",
    "parentId",
    "parentActivityInstanceId",
    "tenantId",
    "eventName",
    "currentTransitionId",
    "processDefinitionKey",
];

/// Names of `task` properties Camunda's `DelegateTask` has; unknown to the engine reads null.
const TASK_PROPERTIES: &[&str] = &[
    "id",
    "name",
    "description",
    "assignee",
    "owner",
    "priority",
    "dueDate",
    "followUpDate",
    "eventName",
    "taskDefinitionKey",
    "processInstanceId",
    "executionId",
    "processDefinitionId",
    "tenantId",
    "createTime",
    "deleteReason",
    "formKey",
];

/// Task properties a listener may set, with their setter names.
const TASK_SETTERS: &[(&str, &str)] = &[
    ("setAssignee", "assignee"),
    ("setOwner", "owner"),
    ("setName", "name"),
    ("setDescription", "description"),
    ("setPriority", "priority"),
    ("setDueDate", "dueDate"),
    ("setFollowUpDate", "followUpDate"),
];

/// Whether `ast` names an implicit object: `execution` always, `task` when one is bound.
pub(super) fn is_object(ast: &Ast, scope: &dyn Scope) -> bool {
    matches!(ast, Ast::Ident(n) if n == "execution" || (n == "task" && scope.has_task()))
}

fn is_task(ast: &Ast) -> bool {
    matches!(ast, Ast::Ident(n) if n == "task")
}

/// `getFooBar` → `fooBar`.
fn getter_property(method: &str) -> Option<String> {
    let rest = method.strip_prefix("get").filter(|r| !r.is_empty())?;
    let mut chars = rest.chars();
    let first = chars.next()?;
    Some(first.to_lowercase().chain(chars).collect())
}

impl Ev<'_> {
    /// `execution.x` / `task.x`.
    pub(super) fn object_property(&self, base: &Ast, name: &str) -> Result<Value, ExprError> {
        if is_task(base) {
            return self.task_property(name);
        }
        self.execution_property(name)
    }

    /// `execution.m(args)` / `task.m(args)`.
    pub(super) fn object_method(
        &self,
        base: &Ast,
        name: &str,
        args: &[Value],
    ) -> Result<Value, ExprError> {
        let object = if is_task(base) { "task" } else { "execution" };
        if let Some(v) = self.variable_method(object, name, args)? {
            return Ok(v);
        }
        if object == "task"
            && let Some((_, property)) = TASK_SETTERS.iter().find(|(m, _)| *m == name)
        {
            let [value] = args else {
                return Err(error(format!("task.{name}() takes one argument")));
            };
            self.write(
                "task",
                name,
                Write::SetTaskProperty {
                    property: (*property).to_owned(),
                    value: value.clone(),
                },
            )?;
            return Ok(Value::Null);
        }
        if args.is_empty()
            && let Some(prop) = getter_property(name)
        {
            let read = if object == "task" {
                self.task_property(&prop)
            } else {
                self.execution_property(&prop)
            };
            return read.map_err(|_| error(format!("{object}.{name}() is not supported")));
        }
        Err(error(format!(
            "{object}.{name}() is not supported; use {object}.getVariable('x'), \
             {object}.setVariable('x', value), {object}.hasVariable('x') or a property like \
             {object}.id"
        )))
    }

    /// The variable methods `execution` and `task` share; `None` for any other method.
    fn variable_method(
        &self,
        object: &str,
        name: &str,
        args: &[Value],
    ) -> Result<Option<Value>, ExprError> {
        let var_name = || match args.first() {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(error(format!(
                "{object}.{name}() needs a variable name (a string), not a {}",
                type_name(other)
            ))),
            None => Err(error(format!("{object}.{name}() needs a variable name"))),
        };
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(error(format!("{object}.{name}() takes {n} argument(s)")))
            }
        };
        let local = name.contains("Local");
        Ok(Some(match name {
            "getVariable" | "getVariableLocal" | "getVariableTyped" | "getVariableLocalTyped" => {
                arity(1)?;
                self.variable(&var_name()?, local)
                    .map_or(Value::Null, normalize)
            }
            "hasVariable" | "hasVariableLocal" => {
                arity(1)?;
                Value::Boolean(self.variable(&var_name()?, local).is_some())
            }
            "setVariable" | "setVariableLocal" => {
                arity(2)?;
                let write = Write::SetVariable {
                    name: var_name()?,
                    value: args.get(1).cloned().unwrap_or(Value::Null),
                    local,
                };
                self.write(object, name, write)?;
                Value::Null
            }
            "removeVariable" | "removeVariableLocal" => {
                arity(1)?;
                let write = Write::RemoveVariable {
                    name: var_name()?,
                    local,
                };
                self.write(object, name, write)?;
                Value::Null
            }
            _ => return Ok(None),
        }))
    }

    /// Record a write, or refuse it where this evaluation must not change anything.
    fn write(&self, object: &str, method: &str, w: Write) -> Result<(), ExprError> {
        match self.writes {
            Some(writes) => {
                writes.borrow_mut().push(w);
                Ok(())
            }
            None => Err(error(format!(
                "{object}.{method}() cannot be used here: only expression tasks \
                 (camunda:expression) and expression listeners may change variables or the task"
            ))),
        }
    }

    pub(super) fn execution_property(&self, name: &str) -> Result<Value, ExprError> {
        if let Some(v) = self.scope.execution_property(name) {
            return Ok(v);
        }
        let alias = match name {
            "businessKey" => Some("processBusinessKey"),
            "processBusinessKey" => Some("businessKey"),
            "currentActivityId" => Some("activityId"),
            "activityId" => Some("currentActivityId"),
            _ => None,
        };
        if let Some(v) = alias.and_then(|a| self.scope.execution_property(a)) {
            return Ok(v);
        }
        if EXECUTION_PROPERTIES.contains(&name) {
            Ok(Value::Null)
        } else {
            Err(error(format!(
                "Cannot resolve property '{name}' of execution"
            )))
        }
    }

    fn task_property(&self, name: &str) -> Result<Value, ExprError> {
        // The task's own earlier writes in this expression win, as for variables.
        if let Some(writes) = self.writes {
            for w in writes.borrow().iter().rev() {
                if let Write::SetTaskProperty { property, value } = w
                    && property == name
                {
                    return Ok(value.clone());
                }
            }
        }
        if let Some(v) = self.scope.task_property(name) {
            return Ok(v);
        }
        if TASK_PROPERTIES.contains(&name) {
            Ok(Value::Null)
        } else {
            Err(error(format!("Cannot resolve property '{name}' of task")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Expression;
    use crate::value::Variables;

    /// A scope with variables, execution properties and (optionally) a task.
    struct Fixture {
        vars: Variables,
        task: bool,
    }

    impl Scope for Fixture {
        fn variable(&self, name: &str) -> Option<Value> {
            self.vars.get(name).cloned()
        }
        fn execution_property(&self, name: &str) -> Option<Value> {
            match name {
                "processInstanceId" => Some(Value::String("pi-1".into())),
                "activityId" => Some(Value::String("task1".into())),
                "eventName" => Some(Value::String("start".into())),
                _ => None,
            }
        }
        fn has_task(&self) -> bool {
            self.task
        }
        fn task_property(&self, name: &str) -> Option<Value> {
            match name {
                "name" => Some(Value::String("Approve".into())),
                "id" => Some(Value::String("t-1".into())),
                _ => None,
            }
        }
    }

    fn fixture(task: bool) -> Fixture {
        let mut vars = Variables::new();
        vars.insert("x".into(), Value::Integer(5));
        Fixture { vars, task }
    }

    fn run(src: &str, task: bool) -> Result<(Value, Vec<Write>), String> {
        Expression::parse(src)
            .and_then(|e| e.eval_mut(&fixture(task)))
            .map(|r| (r.value, r.writes))
            .map_err(|e| e.message)
    }

    fn set(name: &str, value: Value, local: bool) -> Write {
        Write::SetVariable {
            name: name.into(),
            value,
            local,
        }
    }

    #[test]
    fn execution_writes_are_collected_in_order() {
        let rows: Vec<(&str, Value, Vec<Write>)> = vec![
            (
                "${execution.setVariable('y', x + 5)}",
                Value::Null,
                vec![set("y", Value::Long(10), false)],
            ),
            (
                "${execution.setVariableLocal('y', 'a')}",
                Value::Null,
                vec![set("y", Value::String("a".into()), true)],
            ),
            (
                "${execution.removeVariable('x')}${execution.hasVariable('x')}",
                Value::String("false".into()),
                vec![Write::RemoveVariable {
                    name: "x".into(),
                    local: false,
                }],
            ),
            (
                // A later read sees the earlier write of the same expression.
                "${execution.setVariable('x', 7)}${execution.getVariable('x') + 1}",
                Value::String("8".into()),
                vec![set("x", Value::Long(7), false)],
            ),
            (
                "${execution.processInstanceId}/${execution.getActivityId()}/${execution.eventName}",
                Value::String("pi-1/task1/start".into()),
                vec![],
            ),
            ("${execution.getBusinessKey()}", Value::Null, vec![]),
        ];
        for (src, value, writes) in rows {
            assert_eq!(run(src, false), Ok((value, writes)), "{src}");
        }
    }

    #[test]
    fn task_object_in_task_listeners() {
        assert_eq!(
            run("${task.setAssignee('kermit')}${task.assignee}", true),
            Ok((
                Value::String("kermit".into()),
                vec![Write::SetTaskProperty {
                    property: "assignee".into(),
                    value: Value::String("kermit".into()),
                }]
            ))
        );
        assert_eq!(
            run("${task.name} ${task.getId()}", true).map(|r| r.0),
            Ok(Value::String("Approve t-1".into()))
        );
        assert_eq!(
            run("${task.setVariable('v', 1)}", true).map(|r| r.1),
            Ok(vec![set("v", Value::Long(1), false)])
        );
        // Without a bound task, `task` is an ordinary (here unknown) variable.
        let e = run("${task.name}", false).expect_err("no task");
        assert!(e.contains("Cannot resolve identifier 'task'"), "{e}");
        let e = run("${task.bogus}", true).expect_err("bad property");
        assert!(e.contains("Cannot resolve property 'bogus' of task"), "{e}");
    }

    #[test]
    fn read_only_evaluation_refuses_writes() {
        let e = Expression::parse("${execution.setVariable('a', 1)}")
            .and_then(|e| e.eval(&fixture(false)))
            .expect_err("read only");
        assert!(e.message.contains("cannot be used here"), "{}", e.message);
        let e = run("${execution.setVariable('a')}", false).expect_err("arity");
        assert!(e.contains("takes 2 argument(s)"), "{e}");
        let e = run("${execution.fly()}", false).expect_err("unknown");
        assert!(e.contains("execution.fly() is not supported"), "{e}");
    }
}
