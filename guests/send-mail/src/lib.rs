//! `send-mail`: formats an order confirmation into `mailBody` and logs it through the host's
//! `log` import (nothing is actually sent: the guest has no network).

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use baton::task::log::{Level, log};
use baton::task::types::Value;

struct SendMail;

fn text(variables: &[(String, Value)], name: &str) -> Option<String> {
    variables
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, value)| match value {
            Value::String(s) => Some(s.clone()),
            Value::Integer(n) => Some(n.to_string()),
            Value::Long(n) => Some(n.to_string()),
            Value::Double(n) => Some(n.to_string()),
            _ => None,
        })
}

impl Guest for SendMail {
    fn execute(task: Task) -> Result<Output, TaskError> {
        let customer = text(&task.variables, "customer").unwrap_or_else(|| "customer".into());
        let order = task
            .business_key
            .clone()
            .or_else(|| text(&task.variables, "orderId"))
            .unwrap_or_else(|| task.process_instance_id.clone());
        let body = format!("Dear {customer}, your order {order} is confirmed.");
        log(Level::Info, &format!("sending mail: {body}"));
        Ok(Output {
            variables: vec![("mailBody".into(), Value::String(body))],
        })
    }
}

export!(SendMail);
