//! Versioned record encoding: one format byte, then the record as JSON.
//!
//! JSON keeps stored records readable with a hex dump and tolerant of additive changes
//! (`#[serde(default)]` fields); the leading byte lets a later release switch a tree to another
//! encoding (and read both) without a migration of everything at once.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Result, StoreError};

/// The encoding of records written by this release.
const JSON_V1: u8 = 1;

/// Encode a record.
pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(JSON_V1);
    // Serializing our own record types to JSON cannot fail (no non-string map keys, no
    // failing Serialize impls); an empty record would be a bug caught by decode.
    if serde_json::to_writer(&mut out, record).is_err() {
        out.truncate(1);
    }
    out
}

/// Decode a record.
pub fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T> {
    match bytes.split_first() {
        Some((&JSON_V1, body)) => serde_json::from_slice(body).map_err(|e| StoreError::Codec {
            tree,
            message: e.to_string(),
        }),
        Some((v, _)) => Err(StoreError::Codec {
            tree,
            message: format!("unknown record format {v}"),
        }),
        None => Err(StoreError::Codec {
            tree,
            message: "empty record".into(),
        }),
    }
}
