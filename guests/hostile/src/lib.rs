//! `hostile`: a task that misbehaves in the way its String variable `mode` names, for the
//! hostile-guest tests (issue 20, point 3). Each mode must end as an incident naming the
//! limit that stopped it:
//!
//! - `stack-overflow`: recursion with 64 KiB frames on the guest's own (shadow) stack in
//!   linear memory, which has no guard page: it runs off the bottom of memory;
//! - `deep-recursion`: recursion with tiny frames until the host's wasm call stack is full;
//! - `giant-output`: returns a String variable of `mib` MiB (default 100);
//! - `log-flood`: calls the host's `log` with 4 KiB lines forever;
//! - `sleep-forever`: sleeps for an hour in a host call (`wasi:io/poll` on a monotonic-clock
//!   pollable), where neither fuel nor epochs can reach it.
//!
//! Any other mode answers `ok`, so the same module can also run a normal task.

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use std::hint::black_box;

use baton::task::log::{Level, log};
use baton::task::types::Value;

struct Hostile;

/// Recursion with a 64 KiB frame the optimizer cannot remove.
fn big_frames(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    let mut frame = [0u8; 64 << 10];
    frame[(depth as usize) % frame.len()] = depth as u8;
    let frame = black_box(frame);
    u64::from(frame[0]) + big_frames(black_box(depth + 1))
}

/// Recursion with a tiny frame; not a tail call, so every level stays on the stack.
fn small_frames(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    black_box(small_frames(black_box(depth + 1))).wrapping_add(depth)
}

fn string_var(variables: &[(String, Value)], name: &str) -> Option<String> {
    variables.iter().find_map(|(n, v)| match v {
        Value::String(s) if n == name => Some(s.clone()),
        _ => None,
    })
}

fn long_var(variables: &[(String, Value)], name: &str) -> Option<i64> {
    variables.iter().find_map(|(n, v)| match v {
        Value::Integer(i) if n == name => Some(i64::from(*i)),
        Value::Long(l) if n == name => Some(*l),
        _ => None,
    })
}

impl Guest for Hostile {
    fn execute(task: Task) -> Result<Output, TaskError> {
        let mode = string_var(&task.variables, "mode").unwrap_or_default();
        let result = match mode.as_str() {
            "stack-overflow" => Value::Long(big_frames(0) as i64),
            "deep-recursion" => Value::Long(small_frames(0) as i64),
            "giant-output" => {
                let mib = long_var(&task.variables, "mib").unwrap_or(100).max(0) as usize;
                Value::String("x".repeat(mib << 20))
            }
            "log-flood" => {
                let line = "flood ".repeat(700);
                let mut n = 0u64;
                loop {
                    n += 1;
                    log(Level::Info, &format!("{n}: {line}"));
                }
            }
            "sleep-forever" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Value::String("woke up".into())
            }
            _ => Value::String("ok".into()),
        };
        Ok(Output {
            variables: vec![("result".into(), result)],
        })
    }
}

export!(Hostile);
