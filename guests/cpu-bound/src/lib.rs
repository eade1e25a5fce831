//! `cpu-bound`: runs `rounds` (Integer or Long, default 1,000,000) iterations of a 64-bit mix
//! function and returns the result as `digest` (Long). No host calls, no allocation in the
//! loop: the workload on which fuel metering and epoch checks cost the most, used to measure
//! that cost. The function is the one in `tests/bench/wasm.rs` and `tests/e2e/wasm_runtime.rs`,
//! so a test can check the guest computed exactly what native code computes.

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use baton::task::types::Value;

struct CpuBound;

/// splitmix64's finalizer, iterated.
fn digest(rounds: u64) -> u64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..rounds {
        x = x.wrapping_add(i);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
    }
    x
}

impl Guest for CpuBound {
    fn execute(task: Task) -> Result<Output, TaskError> {
        let rounds = task
            .variables
            .iter()
            .find_map(|(name, value)| match (name.as_str(), value) {
                ("rounds", Value::Integer(n)) => u64::try_from(*n).ok(),
                ("rounds", Value::Long(n)) => u64::try_from(*n).ok(),
                _ => None,
            })
            .unwrap_or(1_000_000);
        Ok(Output {
            variables: vec![("digest".into(), Value::Long(digest(rounds) as i64))],
        })
    }
}

export!(CpuBound);
