//! `echo`: returns the task's variables unchanged, plus what the guest observed, so tests can
//! check the value round trip and the determinism of the world the host provides:
//! `attempt` (Integer), `observedNow` (Date: the WASI wall clock, ms), `observedMonotonicNs`
//! (Long: the WASI monotonic clock) and `observedRandom` (Long: 8 bytes of WASI random).

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use baton::task::log::{Level, log};
use baton::task::types::Value;

struct Echo;

impl Guest for Echo {
    fn execute(task: Task) -> Result<Output, TaskError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(-1);
        // `Instant` has no absolute reading; the elapsed time between two reads shows whether
        // the monotonic clock advances deterministically.
        let start = Instant::now();
        let later = Instant::now();
        let mono_ns = i64::try_from(later.duration_since(start).as_nanos()).unwrap_or(i64::MAX);
        let random = getrandom::u64().map(|r| r as i64).unwrap_or(0);

        log(
            Level::Info,
            &format!(
                "echo: {} variables, attempt {}",
                task.variables.len(),
                task.attempt
            ),
        );

        let mut variables = task.variables;
        variables.push(("attempt".into(), Value::Integer(task.attempt as i32)));
        variables.push(("observedNow".into(), Value::Date(now_ms)));
        variables.push(("observedMonotonicNs".into(), Value::Long(mono_ns)));
        variables.push(("observedRandom".into(), Value::Long(random)));
        Ok(Output { variables })
    }
}

export!(Echo);
