//! Versioned record encoding: one format byte, then the record.
//!
//! Records are written as MessagePack with field names (format 2): self-describing like JSON,
//! so additive changes (`#[serde(default)]` fields) and tagged enums keep working, but smaller
//! and cheaper to encode and decode on the hot path (every step of an instance rewrites its
//! record). Records written by older releases as JSON (format 1) stay readable; they are
//! rewritten as format 2 the next time they change, so no migration runs at once.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Result, StoreError};

/// JSON, written by releases before MessagePack.
const JSON_V1: u8 = 1;

/// MessagePack with field names: what this release writes.
const MSGPACK_V2: u8 = 2;

/// Encode a record.
pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(MSGPACK_V2);
    // Serializing our own record types cannot fail (no failing Serialize impls, sizes far
    // below MessagePack's limits); an empty record would be a bug caught by decode.
    if rmp_serde::encode::write_named(&mut out, record).is_err() {
        out.truncate(1);
    }
    out
}

/// Decode a record.
pub fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T> {
    let corrupt = |message: String| StoreError::Codec { tree, message };
    match bytes.split_first() {
        Some((&MSGPACK_V2, body)) => {
            rmp_serde::from_slice(body).map_err(|e| corrupt(e.to_string()))
        }
        Some((&JSON_V1, body)) => serde_json::from_slice(body).map_err(|e| corrupt(e.to_string())),
        Some((v, _)) => Err(corrupt(format!("unknown record format {v}"))),
        None => Err(corrupt("empty record".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::HistoricProcessInstance;

    #[test]
    fn json_records_of_older_releases_stay_readable() {
        let h = HistoricProcessInstance {
            id: "pi-1".into(),
            business_key: Some("order-1".into()),
            process_definition_id: "order:1:x".into(),
            process_definition_key: "order".into(),
            process_definition_name: None,
            process_definition_version: 1,
            start_time: 1,
            end_time: None,
            start_user_id: None,
            start_activity_id: Some("start".into()),
            delete_reason: None,
            super_process_instance_id: None,
            root_process_instance_id: "pi-1".into(),
            tenant_id: None,
            state: "ACTIVE".into(),
            removal_time: None,
        };
        let mut old = vec![JSON_V1];
        old.extend(serde_json::to_vec(&h).expect("json"));
        let read: HistoricProcessInstance = decode("t", &old).expect("format 1");
        assert_eq!(read.id, h.id);
        let new = encode(&h);
        assert_eq!(new[0], MSGPACK_V2);
        assert!(new.len() < old.len(), "{} < {}", new.len(), old.len());
        let again: HistoricProcessInstance = decode("t", &new).expect("format 2");
        assert_eq!(again.business_key, h.business_key);
    }
}
