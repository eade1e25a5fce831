//! `wrong-signature`: claims to be `baton:task/service-task` but its `execute` takes and returns
//! a `u32`. The host's world check must reject it at load time.

wit_bindgen::generate!({
    inline: "
        package baton:task@0.1.0;

        world service-task {
            export execute: func(n: u32) -> u32;
        }
    ",
});

struct WrongSignature;

impl Guest for WrongSignature {
    fn execute(n: u32) -> u32 {
        n.wrapping_add(1)
    }
}

export!(WrongSignature);
