//! `flaky`: fails attempt 1 with details `now=<ms> random=<u64>` (what it observed through WASI);
//! every later attempt succeeds and returns `observedNow` (Date) and `observedRandom` (Long).
//! A retry of the same task must observe exactly the same values: the engine derives the clock
//! from the task's creation time and the random seed from its activity instance id.

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use std::time::{SystemTime, UNIX_EPOCH};

use baton::task::types::{Failure, Value};

struct Flaky;

impl Guest for Flaky {
    fn execute(task: Task) -> Result<Output, TaskError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(-1);
        let random = getrandom::u64().map(|r| r as i64).unwrap_or(0);
        if task.attempt <= 1 {
            return Err(TaskError::Failure(Failure {
                message: "first attempts always fail".into(),
                details: Some(format!("now={now_ms} random={random}")),
            }));
        }
        Ok(Output {
            variables: vec![
                ("observedNow".into(), Value::Date(now_ms)),
                ("observedRandom".into(), Value::Long(random)),
            ],
        })
    }
}

export!(Flaky);
