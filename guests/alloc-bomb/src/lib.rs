//! `alloc-bomb`: allocates 1 MiB blocks and keeps them until the host's memory limit stops
//! the growth of linear memory (the allocation then fails and the guest aborts).

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use baton::task::types::Value;

/// Size of each allocation.
const BLOCK: usize = 1 << 20;

struct AllocBomb;

impl Guest for AllocBomb {
    fn execute(_task: Task) -> Result<Output, TaskError> {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        // Bounded so that, without a limit, the guest would still end (at 4 GiB, the wasm32
        // address space).
        for i in 0..4096usize {
            let mut block = vec![0u8; BLOCK];
            // Touch the memory so it is really used.
            block[i % BLOCK] = 1;
            blocks.push(std::hint::black_box(block));
        }
        Ok(Output {
            variables: vec![("allocatedMiB".into(), Value::Long(blocks.len() as i64))],
        })
    }
}

export!(AllocBomb);
