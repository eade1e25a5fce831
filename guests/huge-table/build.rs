//! Writes `$OUT_DIR/table.rs`: a static array of 12,000 distinct functions. Every function
//! whose address is taken gets a slot in the module's indirect-call table, so the table the
//! module declares starts with more than 12,000 elements.

use std::fmt::Write as _;

/// Above baton's default table limit of 10,000 elements.
const FUNCTIONS: usize = 12_000;

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let mut code = format!("pub static TABLE: [fn(u64) -> u64; {FUNCTIONS}] = [\n");
    for i in 0..FUNCTIONS {
        writeln!(code, "    entry::<{i}>,").expect("write");
    }
    code.push_str("];\n");
    std::fs::write(format!("{out}/table.rs"), code).expect("write table.rs");
    println!("cargo:rerun-if-changed=build.rs");
}
