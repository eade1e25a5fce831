//! `cpu-bound`: pure computation with no host calls, to measure what fuel metering and epoch
//! checks cost. `rounds` (Integer or Long, default 1,000,000) sets the work; `kernel` (String)
//! picks its shape, and the result is `digest` (Long):
//! - `mix` (default): a 64-bit mix function iterated `rounds` times; long multiply chains in
//!   one basic block, where the instrumentation's extra instructions hide in the latency;
//! - `scan`: a byte classifier (a tokenizer's inner loop) over `rounds` pseudo-random bytes;
//!   short, branchy basic blocks, where fuel's per-block accounting costs the most.
//!
//! `tests/e2e/wasm_runtime.rs` computes both natively and checks the guest got the same.

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use baton::task::types::Value;

struct CpuBound;

/// splitmix64's finalizer, iterated.
fn mix(rounds: u64) -> u64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..rounds {
        x = x.wrapping_add(i);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
    }
    x
}

/// Classifies `rounds` pseudo-random bytes (xorshift) like a tokenizer and folds the classes.
fn scan(rounds: u64) -> u64 {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut digest: u64 = 0;
    let mut in_word = false;
    for _ in 0..rounds {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let byte = (state >> 56) as u8;
        let class: u64 = match byte {
            b'0'..=b'9' => 1,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => 2,
            b' ' | b'\t' | b'\n' | b'\r' => 3,
            b'"' | b'\'' => 4,
            b'{' | b'}' | b'[' | b']' | b'(' | b')' => 5,
            0..=31 | 127 => 6,
            _ => 7,
        };
        if class == 2 {
            if !in_word {
                digest = digest.wrapping_add(1);
            }
            in_word = true;
        } else {
            in_word = false;
        }
        digest = digest.rotate_left(5) ^ class;
    }
    digest
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
        let kernel = task
            .variables
            .iter()
            .find_map(|(name, value)| match (name.as_str(), value) {
                ("kernel", Value::String(kernel)) => Some(kernel.as_str()),
                _ => None,
            })
            .unwrap_or("mix");
        let digest = match kernel {
            "mix" => mix(rounds),
            "scan" => scan(rounds),
            other => {
                return Err(TaskError::Failure(baton::task::types::Failure {
                    message: format!("unknown kernel `{other}` (mix | scan)"),
                    details: None,
                }));
            }
        };
        Ok(Output {
            variables: vec![("digest".into(), Value::Long(digest as i64))],
        })
    }
}

export!(CpuBound);
