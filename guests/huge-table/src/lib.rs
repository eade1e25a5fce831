//! `huge-table`: a module whose function table starts with more than 12,000 elements (one
//! per distinct function whose address it takes), above baton's default limit of 10,000
//! table elements. Instantiation must fail with an incident naming the table limit; with the
//! limit raised per module, the task answers the sum of a few table calls.

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use baton::task::types::Value;

/// A distinct function per `N` (the constant differs, so no two can be merged).
fn entry<const N: u64>(x: u64) -> u64 {
    x.wrapping_mul(N | 1).rotate_left((N % 63) as u32)
}

include!(concat!(env!("OUT_DIR"), "/table.rs"));

struct HugeTable;

impl Guest for HugeTable {
    fn execute(task: Task) -> Result<Output, TaskError> {
        let mut acc = u64::from(task.attempt);
        for i in 0..16usize {
            let f = TABLE[std::hint::black_box(i * 743) % TABLE.len()];
            acc = f(acc);
        }
        Ok(Output {
            variables: vec![("result".into(), Value::Long(acc as i64))],
        })
    }
}

export!(HugeTable);
