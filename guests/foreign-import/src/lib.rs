//! `foreign-import`: imports `acme:vault/secrets`, which baton does not provide. The host's
//! world check must reject it at load time, naming the import.

wit_bindgen::generate!({
    inline: "
        package acme:vault@1.0.0;

        interface secrets {
            get: func(name: string) -> string;
        }

        world service-task {
            import secrets;
            export execute: func() -> string;
        }
    ",
});

struct ForeignImport;

impl Guest for ForeignImport {
    fn execute() -> String {
        acme::vault::secrets::get("db-password")
    }
}

export!(ForeignImport);
