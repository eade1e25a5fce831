//! placeholder

/// Paths of the wasm guests built by `tests/build.rs` (one `pub const` per guest, e.g.
/// [`guests::ECHO`]) and the `foreach_guest!` macro.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}
