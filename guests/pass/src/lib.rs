//! `pass`: returns the task's variables unchanged and calls nothing on the host. The least a
//! service task can do, so what it costs per task is the runtime's own overhead (a fresh
//! instance, the call, the value round trip): `bench-wasm overhead` times it next to `echo`.

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

struct Pass;

impl Guest for Pass {
    fn execute(task: Task) -> Result<Output, TaskError> {
        Ok(Output {
            variables: task.variables,
        })
    }
}

export!(Pass);
