//! Binds the engine and the REST API to a listener.
