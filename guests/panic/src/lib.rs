//! `panic`: panics with a known message. A panic in a wasm32-wasip2 guest prints the message
//! to stderr and aborts, which the host sees as a trap.

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

struct Panic;

impl Guest for Panic {
    fn execute(task: Task) -> Result<Output, TaskError> {
        panic!("guest panicked on purpose in activity {}", task.activity_id);
    }
}

export!(Panic);
