//! Versioned record encoding: one format byte, then the record.
//!
//! Records are written as MessagePack with field names (format 2): self-describing like JSON,
//! so additive changes (`#[serde(default)]` fields) and tagged enums keep working, but smaller
//! and cheaper to encode and decode than JSON. The records every step of an instance writes
//! (the trees [`super::kv`] marks positional: running instances, tasks, jobs, subscriptions
//! and their history) are written as positional MessagePack (format 3): structs as arrays
//! in declaration order, without field names: 25-55% fewer bytes than format 2 and about a
//! quarter less time to decode (docs/benchmarks.md). The price is a rule for those record
//! types: fields keep their order, a new field goes at the end with `#[serde(default)]` (an
//! older, shorter record then reads with the default), and no field may be skipped when
//! serializing. A reader with fewer fields than
//! the record is refused (rmp-serde checks that an array is consumed), never misread; the
//! checked-in fixtures in this module's tests fail when a field moves.
//!
//! The hot records that stay in the running state (instances, tasks, jobs, subscriptions:
//! trees [`super::kv`] marks compressed) are positional MessagePack compressed with LZ4
//! (format 4) where they settle ([`compress`]: a checkpoint into sled, a row in PostgreSQL)
//! when that is smaller; the write-ahead log and the memtable carry them as format 3, since
//! most are replaced or removed before any checkpoint. An instance record names its id in its root
//! activity instance, as that instance's key, execution and as every child's parent, and its
//! task ids derive from it, so a waiting instance's record shrinks by half (512 to 244 bytes
//! for the one-task model) and its external task by a third (246 to 165). The running state
//! is what the store keeps per waiting instance; history lives in tables that compress
//! blocks of rows themselves, so its records are not compressed one by one.
//!
//! Records written by older releases as JSON (format 1), named MessagePack (format 2) or
//! uncompressed positional MessagePack (format 3) stay readable; they are rewritten in today's
//! format the next time they change, so no migration runs at once.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Result, StoreError};

/// JSON, written by releases before MessagePack.
const JSON_V1: u8 = 1;

/// MessagePack with field names: what this release writes for most trees.
const MSGPACK_V2: u8 = 2;

/// MessagePack with structs as arrays: what this release writes for the hot trees.
const MSGPACK_POSITIONAL_V3: u8 = 3;

/// Format 3 compressed with LZ4 (a block): the length of the uncompressed MessagePack as a
/// LEB128 varint, then the block. What this release writes for the running state's records
/// when it is smaller than format 3.
const MSGPACK_POSITIONAL_LZ4_V4: u8 = 4;

/// Below this many bytes of MessagePack a record is not worth compressing: LZ4 finds too few
/// repeats in it to pay for its length prefix and literals' tokens.
const COMPRESS_FROM: usize = 96;

/// The largest uncompressed record a format-4 record may declare: far above any record baton
/// writes (a record holds at most the variables of one instance), so only a corrupt length is
/// refused before memory is reserved for it.
const MAX_DECOMPRESSED: usize = 256 * 1024 * 1024;

/// Encode a record with field names (format 2).
pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    framed(MSGPACK_V2, |out| {
        rmp_serde::encode::write_named(out, record)
    })
}

/// Encode a record positionally (format 3): only for types that follow the field-order rule
/// in the module documentation.
pub fn encode_positional<T: Serialize>(record: &T) -> Vec<u8> {
    framed(MSGPACK_POSITIONAL_V3, |out| {
        rmp_serde::encode::write(out, record)
    })
}

thread_local! {
    static COMPRESS_TABLE: std::cell::RefCell<lz4_flex::block::CompressTable> =
        std::cell::RefCell::new(lz4_flex::block::CompressTable::default());
}

/// A positional record (format 3) compressed (format 4), or `None` when that would not make
/// it smaller or `record` is not format 3 (raw values, other formats, already compressed).
///
/// The store writes the running state's records as format 3 and compresses them only where
/// they settle (a checkpoint into sled, a row in PostgreSQL): most of them are replaced or
/// removed a few milliseconds later, before any checkpoint, so compressing each on the
/// commit path was work thrown away.
pub fn compress(record: &[u8]) -> Option<Vec<u8>> {
    let body = match record.split_first() {
        Some((&MSGPACK_POSITIONAL_V3, body)) if body.len() >= COMPRESS_FROM => body,
        _ => return None,
    };
    let bound = lz4_flex::block::get_maximum_output_size(body.len());
    let mut out = Vec::with_capacity(1 + 10 + bound);
    out.push(MSGPACK_POSITIONAL_LZ4_V4);
    write_length(&mut out, body.len());
    let header = out.len();
    out.resize(header + bound, 0);
    // One hash table per thread, cleared per record: `compress_into` allocated and zeroed a
    // fresh one per call, which cost more than compressing a record of a few hundred bytes.
    // The output is the same (same table, cleared), so stored bytes stay deterministic.
    let compressed = COMPRESS_TABLE.with_borrow_mut(|table| {
        lz4_flex::block::compress_into_with_table(body, &mut out[header..], table)
    });
    match compressed {
        Ok(written) if header + written < record.len() => {
            out.truncate(header + written);
            Some(out)
        }
        // Incompressible (or, impossibly, a block larger than its bound): stored as is.
        _ => None,
    }
}

/// Whether two stored values hold the same record: the same bytes, or one compressed
/// ([`compress`]) and one not. A guard read a record where it was then (memory holds it as
/// format 3) and checks it where it is at commit (a checkpoint may have moved it into sled
/// as format 4 meanwhile): that is not a change.
pub fn same_record(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    // Compression is deterministic, so two different compressed (or two plain) records
    // differ; only a compressed one and a plain one can hold the same record.
    match (a.split_first(), b.split_first()) {
        (Some((&MSGPACK_POSITIONAL_LZ4_V4, packed)), Some((&MSGPACK_POSITIONAL_V3, plain)))
        | (Some((&MSGPACK_POSITIONAL_V3, plain)), Some((&MSGPACK_POSITIONAL_LZ4_V4, packed))) => {
            decompressed(packed).is_ok_and(|body| body == plain)
        }
        _ => false,
    }
}

fn framed(
    format: u8,
    write: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), rmp_serde::encode::Error>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(format);
    // Serializing our own record types cannot fail (no failing Serialize impls, sizes far
    // below MessagePack's limits); an empty record would be a bug caught by decode.
    if write(&mut out).is_err() {
        out.truncate(1);
    }
    out
}

/// Decode a record.
pub fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T> {
    let corrupt = |message: String| StoreError::Codec { tree, message };
    match bytes.split_first() {
        // One reader for both: rmp-serde reads a struct from a map or an array.
        Some((&MSGPACK_V2 | &MSGPACK_POSITIONAL_V3, body)) => {
            rmp_serde::from_slice(body).map_err(|e| corrupt(e.to_string()))
        }
        Some((&MSGPACK_POSITIONAL_LZ4_V4, body)) => {
            let plain = decompressed(body).map_err(corrupt)?;
            rmp_serde::from_slice(&plain).map_err(|e| corrupt(e.to_string()))
        }
        Some((&JSON_V1, body)) => serde_json::from_slice(body).map_err(|e| corrupt(e.to_string())),
        Some((v, _)) => Err(corrupt(format!("unknown record format {v}"))),
        None => Err(corrupt("empty record".into())),
    }
}

/// The MessagePack inside a format-4 record's body (after its format byte).
fn decompressed(body: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let (length, block) = read_length(body).ok_or_else(|| "bad length".to_owned())?;
    if length > MAX_DECOMPRESSED {
        return Err(format!("declares {length} bytes"));
    }
    let mut plain = vec![0u8; length];
    match lz4_flex::block::decompress_into(block, &mut plain) {
        Ok(n) if n == length => Ok(plain),
        Ok(n) => Err(format!("{n} bytes, declared {length}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Append a length as LEB128 (7 bits per byte, low first, the high bit says more follow).
fn write_length(out: &mut Vec<u8>, mut length: usize) {
    while length >= 0x80 {
        out.push((length & 0x7f) as u8 | 0x80);
        length >>= 7;
    }
    out.push(length as u8);
}

/// Read [`write_length`]'s length and what follows it; `None` when it is cut short or
/// overlong.
fn read_length(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut length = 0usize;
    for (i, byte) in bytes.iter().enumerate().take(5) {
        length |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((length, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::HistoricProcessInstance;

    /// A record as the store settles it: positional, compressed when that is smaller.
    fn encode_compressed<T: Serialize>(record: &T) -> Vec<u8> {
        let positional = encode_positional(record);
        compress(&positional).unwrap_or(positional)
    }

    #[test]
    fn json_records_of_older_releases_stay_readable() {
        let h = HistoricProcessInstance {
            business_key: Some("order-1".into()),
            ..HistoricProcessInstance::example("pi-1")
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

    #[test]
    fn positional_records_read_trailing_defaults_and_refuse_narrower_readers() {
        #[derive(Serialize)]
        struct Older {
            a: String,
            b: i64,
        }
        #[derive(Debug, serde::Deserialize, PartialEq)]
        struct Newer {
            a: String,
            b: i64,
            #[serde(default)]
            c: Option<String>,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Narrower {
            #[allow(dead_code)]
            a: String,
        }
        let older = encode_positional(&Older {
            a: "x".into(),
            b: 7,
        });
        assert_eq!(older[0], MSGPACK_POSITIONAL_V3);
        let read: Newer = decode("t", &older).expect("an older, shorter record reads");
        assert_eq!(
            read,
            Newer {
                a: "x".into(),
                b: 7,
                c: None
            }
        );
        let err =
            decode::<Narrower>("narrow_tree", &older).expect_err("a narrower reader is refused");
        let message = err.to_string();
        assert!(message.contains("narrow_tree"), "names the tree: {message}");
        assert!(message.contains("length"), "says why: {message}");
    }

    #[test]
    fn compressed_records_are_smaller_and_read_back() {
        #[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
        struct Instance {
            id: String,
            scopes: Vec<(String, String, String)>,
        }
        let id = "01a2443a-e5b8-723e-9f36-7277416f1d3b".to_owned();
        let record = Instance {
            id: id.clone(),
            scopes: (0..4)
                .map(|i| (id.clone(), format!("task:{id}-{i}"), id.clone()))
                .collect(),
        };
        let plain = encode_positional(&record);
        let compressed = encode_compressed(&record);
        assert_eq!(compressed[0], MSGPACK_POSITIONAL_LZ4_V4);
        assert!(
            compressed.len() * 3 < plain.len(),
            "{} bytes against {}",
            compressed.len(),
            plain.len()
        );
        let read: Instance = decode("t", &compressed).expect("format 4 reads");
        assert_eq!(read, record);
        // Deterministic: a guard compares a record's bytes as stored.
        assert_eq!(encode_compressed(&record), compressed);

        // Small or incompressible records stay format 3.
        let small = encode_compressed(&7u32);
        assert_eq!(small, encode_positional(&7u32));
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u64> = (0..50)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state | 1 << 63
            })
            .collect();
        assert_eq!(encode_compressed(&noise)[0], MSGPACK_POSITIONAL_V3);
    }

    #[test]
    fn corrupt_compressed_records_are_refused_not_misread() {
        let record: Vec<String> = vec!["01a2443a-e5b8-723e-9f36-7277416f1d3b".to_owned(); 8];
        let good = encode_compressed(&record);
        assert_eq!(good[0], MSGPACK_POSITIONAL_LZ4_V4);
        let cut = &good[..good.len() - 3];
        let mut wrong_length = good.clone();
        wrong_length[1] = wrong_length[1].wrapping_add(1);
        let huge = [
            MSGPACK_POSITIONAL_LZ4_V4,
            0xff,
            0xff,
            0xff,
            0xff,
            0x0f,
            0x10,
        ];
        let endless = [
            MSGPACK_POSITIONAL_LZ4_V4,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
        ];
        for bytes in [cut, &wrong_length[..], &huge[..], &endless[..], &good[..1]] {
            let err = decode::<Vec<String>>("instances", bytes).expect_err("refused");
            assert!(err.to_string().contains("instances"), "{err}");
        }
    }

    /// One sample of each positional record type, every field set (distinct values), and the
    /// bytes this sample was written as when its fixture was made. A field that moves, or
    /// one inserted before the end, makes the fixture read differently and fails here; a
    /// field added at the end with `#[serde(default)]` keeps it reading (add it to the sample
    /// to check it reads as the default). `BATON_BLESS_FIXTURES=1` writes the fixture of a new
    /// type; an existing fixture is never rewritten, it is what older stores hold.
    fn check_fixture<T>(name: &str, sample: serde_json::Value)
    where
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let record: T = serde_json::from_value(sample).expect(name);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/store/fixtures")
            .join(format!("{name}.msgpack"));
        if std::env::var_os("BATON_BLESS_FIXTURES").is_some() && !path.exists() {
            std::fs::write(&path, encode_positional(&record)).expect("write fixture");
        }
        let fixture =
            std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
        assert_eq!(fixture[0], MSGPACK_POSITIONAL_V3, "{name}");
        let read: T = decode("fixture", &fixture).unwrap_or_else(|e| {
            panic!("{name}: the fixture no longer reads ({e}): did a field move?")
        });
        assert_eq!(
            read, record,
            "{name}: the fixture reads differently: did a field move?"
        );
        let again: T = decode("fixture", &encode_positional(&record)).expect(name);
        assert_eq!(again, record, "{name}");
    }

    fn sample_value(tag: &str) -> serde_json::Value {
        serde_json::json!({"t": "Object", "v": {"type_name": format!("{tag}.Type"), "format": "application/json", "serialized": format!("{{\"{tag}\":1}}")}})
    }

    #[test]
    fn positional_record_types_keep_their_field_order() {
        use crate::records::{
            EventSubscription, ExternalTask, HistoricActivityInstance, HistoricVariableInstance,
            HistoryLog, Job, ProcessInstance, UserTask,
        };
        use serde_json::json;
        check_fixture::<ProcessInstance>(
            "process_instance",
            json!({
                "definition_id": "order:3:d1", "definition_key": "order", "suspended": true,
                "tenant_id": "tenant-a",
                "state": {
                    "id": "pi-1", "process_id": "order", "business_key": "bk-1",
                    "status": "Active",
                    "super_instance": {"process_instance_id": "super-1", "activity_instance_id": "call:1"},
                    "activity_instances": {
                        "pi-1": {
                            "id": "pi-1", "activity_id": "order", "parent": null,
                            "execution_id": "pi-1",
                            "variables": {
                                "amount": {"t": "Long", "v": 250},
                                "name": {"t": "String", "v": "Ann"},
                                "ratio": {"t": "Double", "v": 0.5},
                                "items": {"t": "Json", "v": [{"sku": "A-1", "quantity": 2}]},
                                "order": sample_value("order"),
                                "file": {"t": "File", "v": {"filename": "a.txt", "mime_type": "text/plain", "encoding": "utf-8", "bytes": [104, 105]}}
                            },
                            "wait": null, "listeners": [], "started_at": 11, "internal": {}
                        },
                        "check:2": {
                            "id": "check:2", "activity_id": "check", "parent": "pi-1",
                            "execution_id": "ex-2", "variables": {"local": {"t": "Boolean", "v": true}},
                            "wait": {"ExternalTask": {"task_id": "task-1", "topic": "check-stock"}},
                            "listeners": [{"id": "l-1", "event_activity_id": "slow"}],
                            "started_at": 12, "internal": {"loopCounter": 3}
                        }
                    },
                    "next_seq": 7, "started_at": 10, "ended_at": 99
                }
            }),
        );
        check_fixture::<ExternalTask>(
            "external_task",
            json!({
                "id": "task-1", "topic_name": "check-stock", "worker_id": "worker-1",
                "lock_expiration_time": 21, "retries": 2, "error_message": "boom",
                "error_details": "stack", "priority": 5, "suspended": true, "create_time": 20,
                "activity_id": "check", "activity_instance_id": "check:2", "execution_id": "ex-2",
                "process_instance_id": "pi-1", "process_definition_id": "order:3:d1",
                "process_definition_key": "order", "process_definition_version_tag": "v3",
                "business_key": "bk-1", "tenant_id": "tenant-a", "retry_time_cycle": "R3/PT1M",
                "extension_properties": {"team": "stock"}, "module_sha256": "ab12"
            }),
        );
        check_fixture::<UserTask>(
            "user_task",
            json!({
                "id": "ut-1", "name": "Approve", "description": "Look at it",
                "assignee": "ann", "owner": "bob", "candidate_users": ["cy"],
                "candidate_groups": ["sales"], "created": 30, "last_updated": 31, "due": 32,
                "follow_up": 33, "priority": 60, "form_key": "embedded:app:f.html",
                "task_definition_key": "approve", "activity_instance_id": "approve:4",
                "execution_id": "ex-4", "process_instance_id": "pi-1",
                "process_definition_id": "order:3:d1", "process_definition_key": "order",
                "business_key": "bk-1", "suspended": true, "tenant_id": "tenant-a",
                "delegation_state": "PENDING"
            }),
        );
        check_fixture::<Job>(
            "job",
            json!({
                "id": "job-1",
                "kind": {"TimerStart": {"definition_id": "order:3:d1", "activity_id": "start", "fired": 4}},
                "process_instance_id": "pi-1", "activity_id": "start",
                "activity_instance_id": "start:1", "due": 40, "retries": 3,
                "exception_message": "late", "retry_time_cycle": "R2/PT5M",
                "job_definition_id": "order:3:d1:start:timer", "process_definition_id": "order:3:d1",
                "tenant_id": "tenant-a", "create_time": 41, "suspended": true, "priority": 9
            }),
        );
        check_fixture::<EventSubscription>(
            "event_subscription",
            json!({
                "id": "sub-1", "event_type": "Signal", "event_name": "stop",
                "process_instance_id": "pi-1", "activity_instance_id": "wait:5",
                "activity_id": "wait", "created": 50
            }),
        );
        check_fixture::<HistoricProcessInstance>(
            "historic_process_instance",
            json!({
                "id": "pi-1", "business_key": "bk-1", "process_definition_id": "order:3:d1",
                "process_definition_key": "order", "process_definition_name": "Order",
                "process_definition_version": 3, "start_time": 10, "end_time": 99,
                "start_user_id": "ann", "start_activity_id": "start", "delete_reason": "gone",
                "super_process_instance_id": "super-1", "root_process_instance_id": "root-1",
                "tenant_id": "tenant-a", "state": "COMPLETED", "removal_time": {"Absolute": 1000}
            }),
        );
        check_fixture::<HistoricActivityInstance>(
            "historic_activity_instance",
            json!({
                "id": "check:2", "parent_activity_instance_id": "pi-1", "activity_id": "check",
                "activity_name": "Check stock", "activity_type": "serviceTask",
                "process_definition_key": "order", "process_definition_id": "order:3:d1",
                "process_instance_id": "pi-1", "execution_id": "ex-2", "task_id": "task-1",
                "assignee": "ann", "called_process_instance_id": "sub-pi", "start_time": 12,
                "end_time": 13, "canceled": true, "complete_scope": true,
                "tenant_id": "tenant-a", "sequence": 2
            }),
        );
        check_fixture::<HistoricVariableInstance>(
            "historic_variable_instance",
            json!({
                "id": "var-1", "name": "order", "value": sample_value("historic"),
                "process_instance_id": "pi-1", "process_definition_id": "order:3:d1",
                "process_definition_key": "order", "activity_instance_id": "pi-1",
                "create_time": 14, "last_updated": 15, "state": "CREATED",
                "tenant_id": "tenant-a", "revision": 2
            }),
        );
        check_fixture::<HistoryLog>(
            "history_log_external_task",
            json!({"ExternalTask": {
                "id": "log-1", "timestamp": 60, "state": "Failed", "external_task_id": "task-1",
                "topic_name": "check-stock", "worker_id": "worker-1", "priority": 5,
                "retries": 2, "error_message": "boom", "error_details": "stack",
                "activity_id": "check", "activity_instance_id": "check:2", "execution_id": "ex-2",
                "process_instance_id": "pi-1", "process_definition_id": "order:3:d1",
                "process_definition_key": "order", "tenant_id": "tenant-a"
            }}),
        );
        check_fixture::<HistoryLog>(
            "history_log_job",
            json!({"Job": {
                "id": "log-2", "timestamp": 61, "state": "Successful", "job_id": "job-1",
                "due": 40, "retries": 3, "priority": 9, "exception_message": "late",
                "job_definition_type": "timer-start-event", "job_definition_id": "jd-1",
                "activity_id": "start", "execution_id": "ex-1", "process_instance_id": "pi-1",
                "process_definition_id": "order:3:d1", "tenant_id": "tenant-a"
            }}),
        );
        check_fixture::<HistoryLog>(
            "history_log_detail",
            json!({"Detail": {
                "id": "log-3", "time": 62, "variable_instance_id": "var-1",
                "variable_name": "order", "value": {"t": "Integer", "v": 42}, "revision": 2,
                "initial": true, "activity_instance_id": "pi-1", "process_instance_id": "pi-1",
                "process_definition_id": "order:3:d1", "process_definition_key": "order",
                "tenant_id": "tenant-a"
            }}),
        );
        check_fixture::<HistoryLog>(
            "history_log_identity_link",
            json!({"IdentityLink": {
                "id": "log-4", "time": 63, "link_type": "candidate", "user_id": "cy",
                "group_id": "sales", "task_id": "ut-1", "process_instance_id": "pi-1",
                "process_definition_id": "order:3:d1", "process_definition_key": "order",
                "operation_type": "add", "assigner_id": "ann", "tenant_id": "tenant-a"
            }}),
        );
    }
}
