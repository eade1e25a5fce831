//! `payment`: reads `amount` (any number type). Above 1000 it throws the BPMN error
//! `PAYMENT_DECLINED`; otherwise it returns a `paymentId` derived from the process instance.

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use baton::task::types::{BpmnError, Failure, Value};

/// The largest amount this "payment provider" accepts.
const LIMIT: f64 = 1000.0;

struct Payment;

impl Guest for Payment {
    fn execute(task: Task) -> Result<Output, TaskError> {
        let amount = task
            .variables
            .iter()
            .find(|(name, _)| name == "amount")
            .and_then(|(_, value)| match value {
                Value::Short(n) => Some(f64::from(*n)),
                Value::Integer(n) => Some(f64::from(*n)),
                Value::Long(n) => Some(*n as f64),
                Value::Double(n) => Some(*n),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .ok_or_else(|| {
                TaskError::Failure(Failure {
                    message: "variable `amount` is missing or not a number".into(),
                    details: None,
                })
            })?;
        if amount > LIMIT {
            return Err(TaskError::BpmnError(BpmnError {
                code: "PAYMENT_DECLINED".into(),
                message: Some(format!("amount {amount} exceeds the limit of {LIMIT}")),
                variables: vec![("declinedAmount".into(), Value::Double(amount))],
            }));
        }
        Ok(Output {
            variables: vec![(
                "paymentId".into(),
                Value::String(format!("PAY-{}-{}", task.process_instance_id, task.attempt)),
            )],
        })
    }
}

export!(Payment);
