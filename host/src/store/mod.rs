//! Storage: the only module that touches sled.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed.
    #[error("storage: {0}")]
    Sled(String),
}
