//! `spin-loop`: never returns. Used to test the fuel limit and, with fuel raised, the
//! wall-time deadline (epoch interruption).

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

struct SpinLoop;

impl Guest for SpinLoop {
    fn execute(task: Task) -> Result<Output, TaskError> {
        let mut counter: u64 = u64::from(task.attempt);
        loop {
            // `black_box` keeps the optimizer from proving the loop has no effect.
            counter =
                std::hint::black_box(counter.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

export!(SpinLoop);
