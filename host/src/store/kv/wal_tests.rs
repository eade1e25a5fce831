//! The write-ahead log and the memtable in front of sled: what a reader sees is the same
//! before and after a checkpoint, scans merge memory over sled in order (both directions),
//! removals hide sled's values, changes that cancel out leave nothing behind, and a crash
//! leaves a log that reopens with every synced change (a torn last record is dropped).

use super::tests::reopen_until_unlocked;
use super::{Durability, Store, Tree, WriteSet};

fn open(dir: &std::path::Path) -> Store {
    Store::open(dir, Durability::Fsync).expect("open store")
}

fn key(i: u32) -> Vec<u8> {
    format!("k{i:04}").into_bytes()
}

async fn put_all(store: &Store, tree: Tree, keys: impl Iterator<Item = u32>) {
    let mut ws = WriteSet::new();
    for i in keys {
        ws.put(tree, key(i), &i);
    }
    store.commit_durable(&ws).await.expect("commit");
}

async fn remove_all(store: &Store, tree: Tree, keys: impl Iterator<Item = u32>) {
    let mut ws = WriteSet::new();
    for i in keys {
        ws.delete(tree, key(i));
    }
    store.commit_durable(&ws).await.expect("commit");
}

fn values(store: &Store, tree: Tree) -> Vec<u32> {
    store.scan::<u32>(tree, b"k").expect("scan")
}

/// Sled holds 0..300 (checkpointed), memory then removes every third key, replaces every
/// fifth and adds 300..400: scans, point reads, ranges and counts agree with a plain map,
/// before and after the next checkpoint and after a reopen.
#[tokio::test]
async fn scans_merge_memory_over_sled_before_and_after_checkpoints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = Tree::HistoricInstances;
    let mut expected = std::collections::BTreeMap::new();
    {
        let store = open(dir.path());
        put_all(&store, tree, 0..300).await;
        expected.extend((0..300).map(|i| (i, i)));
        store.checkpoint_now().expect("checkpoint");
        remove_all(&store, tree, (0..300).filter(|i| i % 3 == 0)).await;
        let mut ws = WriteSet::new();
        for i in (0..300).filter(|i| i % 5 == 0 && i % 3 != 0) {
            ws.put(tree, key(i), &(i + 10_000));
            expected.insert(i, i + 10_000);
        }
        store.commit_durable(&ws).await.expect("commit");
        put_all(&store, tree, 300..400).await;
        expected.retain(|i, _| i % 3 != 0 || *i >= 300);
        expected.extend((300..400).map(|i| (i, i)));
        for round in 0..2 {
            let want: Vec<u32> = expected.values().copied().collect();
            assert_eq!(values(&store, tree), want, "round {round}");
            assert_eq!(store.count(tree).expect("count"), want.len());
            assert_eq!(store.get::<u32>(tree, &key(3)).expect("get"), None);
            assert_eq!(store.get::<u32>(tree, &key(5)).expect("get"), Some(10_005));
            assert_eq!(
                store
                    .last_key_with_prefix(tree, b"k")
                    .expect("last")
                    .as_deref(),
                Some(key(399).as_slice())
            );
            let range = store
                .range_keys(tree, &key(90), &key(100), 100)
                .expect("range");
            let want_range: Vec<Vec<u8>> = expected.range(90..100).map(|(i, _)| key(*i)).collect();
            assert_eq!(range, want_range, "round {round}");
            assert_eq!(
                store.first_key(tree).expect("first").as_deref(),
                Some(key(1).as_slice())
            );
            store.checkpoint_now().expect("checkpoint");
        }
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(
        values(&store, tree),
        expected.values().copied().collect::<Vec<_>>()
    );
}

/// A key created and removed between two checkpoints never reaches sled and leaves no
/// tombstone for scans to skip; the last key under a prefix skips removed keys backwards.
#[tokio::test]
async fn changes_that_cancel_out_leave_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let tree = Tree::ExternalTaskQueue;
    put_all(&store, tree, 0..1000).await;
    remove_all(&store, tree, 0..999).await;
    assert_eq!(values(&store, tree), vec![999]);
    assert_eq!(store.count(tree).expect("count"), 1);
    remove_all(&store, tree, 999..1000).await;
    assert_eq!(store.last_key_with_prefix(tree, b"k").expect("last"), None);
    store.checkpoint_now().expect("checkpoint");
    assert_eq!(store.count(tree).expect("count"), 0);
    assert_eq!(store.tree(tree).len(), 0, "sled never saw the keys");
}

/// What was synced survives a crash (the log is replayed), also when the last record of the
/// log was cut short by the crash; a store closed in order leaves nothing to replay.
#[tokio::test]
async fn a_torn_last_record_is_dropped_and_everything_synced_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = Tree::HistoricInstances;
    {
        let store = open(dir.path());
        put_all(&store, tree, 0..50).await;
        store.checkpoint_now().expect("checkpoint");
        put_all(&store, tree, 50..100).await;
        remove_all(&store, tree, 0..10).await;
        store.close_as_crash();
    }
    // A crash in the middle of the next append: half a record at the end of the newest
    // segment.
    let newest = segments(dir.path()).pop().expect("a segment");
    let end = super::wal::log_segment_end(&newest).expect("end") as usize;
    let mut bytes = std::fs::read(&newest).expect("read");
    bytes[end..end + 10].copy_from_slice(&[200, 0, 0, 0, 1, 2, 3, 4, 0, 7]);
    std::fs::write(&newest, &bytes).expect("write");
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(values(&store, tree), (10..100).collect::<Vec<_>>());
    // And it keeps working: a change after the recovery survives the next reopen.
    put_all(&store, tree, 100..101).await;
    store.close_as_crash();
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(values(&store, tree), (10..101).collect::<Vec<_>>());
    put_all(&store, tree, 101..102).await;
    drop(store);
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    let fresh = segments(dir.path());
    assert_eq!(fresh.len(), 1, "one fresh segment");
    let end = super::wal::log_segment_end(&fresh[0]).expect("end");
    assert!(end < 4096, "it holds no change: its records end at {end}");
    assert_eq!(values(&store, tree), (10..102).collect::<Vec<_>>());
}

/// After a crash the kept counts come from the oldest segment's snapshot plus the logged
/// deltas, not from walking the trees: they must equal what a walk finds, per tree and per
/// first key component, also across a checkpoint and over keys replaced and removed.
#[tokio::test]
async fn kept_counts_after_a_crash_equal_a_recount() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = Tree::ExternalTasksByTopic;
    let topic_key = |topic: &str, i: u32| format!("{topic}\0t{i:04}").into_bytes();
    {
        let store = open(dir.path());
        let mut ws = WriteSet::new();
        for i in 0..40 {
            ws.index(tree, topic_key("a", i));
            ws.index(tree, topic_key("b", i));
        }
        store.commit_durable(&ws).await.expect("commit");
        store.checkpoint_now().expect("checkpoint");
        let mut ws = WriteSet::new();
        for i in 0..10 {
            ws.delete(tree, topic_key("a", i));
            ws.index(tree, topic_key("b", i));
            ws.index(tree, topic_key("c", i));
        }
        ws.delete(tree, topic_key("z", 1));
        store.commit_durable(&ws).await.expect("commit");
        // Two sets in one batch touching one key: put then remove.
        let mut first = WriteSet::new();
        first.index(tree, topic_key("d", 1));
        let mut second = WriteSet::new();
        second.delete(tree, topic_key("d", 1));
        store.commit_each(&[first, second]).expect("commit each");
        store.sync().await.expect("sync");
        assert_eq!(store.count(tree).expect("count"), 80 - 10 + 10);
        store.close_as_crash();
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(store.count(tree).expect("count"), 80);
    assert_eq!(store.count_component(tree, "a").expect("count"), 30);
    assert_eq!(store.count_component(tree, "b").expect("count"), 40);
    assert_eq!(store.count_component(tree, "c").expect("count"), 10);
    assert_eq!(store.count_component(tree, "d").expect("count"), 0);
    let recount = super::counts::Counts::default();
    recount.rebuild(&store.sled().trees).expect("recount");
    assert_eq!(recount.snapshot(), store.sled().counts.snapshot());
}

/// The log's segment files, oldest first.
fn segments(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut segments: Vec<_> = std::fs::read_dir(dir.join("baton-wal"))
        .expect("log dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    segments
}

/// A record damaged before the end of the log is corruption, not a crash: opening refuses.
#[tokio::test]
async fn a_damaged_record_inside_the_log_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path());
        put_all(&store, Tree::HistoricInstances, 0..10).await;
        put_all(&store, Tree::HistoricInstances, 10..20).await;
        store.close_as_crash();
    }
    let oldest = segments(dir.path()).into_iter().next().expect("a segment");
    // Cut to its records first, as the recovery does before a later segment exists.
    let end = super::wal::log_segment_end(&oldest).expect("end") as usize;
    let mut bytes = std::fs::read(&oldest).expect("read");
    bytes.truncate(end);
    let at = end - 40;
    bytes[at] ^= 0xff;
    std::fs::write(&oldest, &bytes).expect("write");
    // Make it not the newest: a later (empty) segment exists.
    let next = dir
        .path()
        .join("baton-wal")
        .join(format!("{:020}.log", u64::MAX / 2));
    std::fs::write(&next, b"").expect("write");
    let err = reopen_until_unlocked(dir.path())
        .await
        .err()
        .expect("a damaged log must not open");
    assert!(err.to_string().contains("damaged record"), "{err}");
}

/// A flush leader yields before it flushes: commands already runnable append first and are
/// covered by its flush (on one thread, each command would otherwise lead a flush of its own).
#[tokio::test(flavor = "current_thread")]
async fn commands_runnable_when_a_flush_is_led_join_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let tree = Tree::HistoricInstances;
    let before = store.flushes();
    let commands: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ws = WriteSet::new();
                ws.put(tree, key(i), &i);
                store.commit(&ws).expect("commit");
                store.sync().await.expect("sync");
            })
        })
        .collect();
    for command in commands {
        command.await.expect("command");
    }
    assert_eq!(store.flushes(), before + 1, "one flush for 8 commands");
    assert_eq!(values(&store, tree), (0..8).collect::<Vec<_>>());
}

/// Group commit: one flush answers every waiter whose record was appended before it started,
/// a record appended after a flush needs a flush of its own, and waiters on many threads all
/// get their answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_share_a_flush_and_later_records_get_their_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let tree = Tree::HistoricInstances;
    for i in 0..16 {
        let mut ws = WriteSet::new();
        ws.put(tree, key(i), &i);
        store.commit(&ws).expect("commit");
    }
    let before = store.flushes();
    let waiters: Vec<_> = (0..16).map(|_| store.sync()).collect();
    for outcome in futures_util::future::join_all(waiters).await {
        outcome.expect("sync");
    }
    assert_eq!(store.flushes(), before + 1, "one flush for 16 waiters");
    store.sync().await.expect("sync");
    assert_eq!(store.flushes(), before + 1, "nothing new to flush");
    put_all(&store, tree, 16..17).await;
    assert_eq!(store.flushes(), before + 2, "a new record, a new flush");

    let tasks: Vec<_> = (100..164)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ws = WriteSet::new();
                ws.put(tree, key(i), &i);
                store.commit_batched(ws).await.expect("commit");
                store.sync().await.expect("sync");
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    drop(store);
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(values(&store, tree).len(), 17 + 64);
}

/// A set whose committer syncs before telling anyone is held in memory until that sync (one
/// `write(2)` for a group commit's records): visible at once, in the log after the sync, lost
/// by a crash before it; a set written at once writes the held ones first, so the log keeps
/// commit order; with relaxed durability (acknowledged unsynced) nothing is held.
#[tokio::test]
async fn records_awaiting_a_sync_reach_the_log_with_it_and_in_order() {
    let tree = Tree::HistoricInstances;
    let set = |i: u32, value: u32, awaits_sync: bool| {
        let mut ws = WriteSet::new();
        ws.put(tree, key(i), &value);
        if awaits_sync {
            ws.awaits_sync();
        }
        ws
    };
    // What the log has written to its file (the file itself is a spare's size from the start).
    let log_bytes = |store: &Store| store.sled().wal.written_bytes();
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path());
        let empty = log_bytes(&store);
        store.commit(&set(1, 1, true)).expect("commit");
        assert_eq!(values(&store, tree), vec![1], "visible before the sync");
        assert_eq!(log_bytes(&store), empty, "held until the sync");
        store.sync().await.expect("sync");
        let synced = log_bytes(&store);
        assert!(synced > empty, "the sync wrote it");
        store.commit(&set(2, 2, true)).expect("commit");
        store.commit(&set(2, 3, false)).expect("commit");
        assert!(
            log_bytes(&store) > synced,
            "written at once, the held one first"
        );
        store.commit(&set(4, 4, true)).expect("commit");
        store.close_as_crash();
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(
        values(&store, tree),
        vec![1, 3],
        "key 2 replays in commit order; key 4 was never synced"
    );
    drop(store);

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), Durability::Relaxed).expect("open store");
    let empty = log_bytes(&store);
    store.commit(&set(1, 1, true)).expect("commit");
    assert!(
        log_bytes(&store) > empty,
        "relaxed durability holds nothing"
    );
}

/// A checkpoint keeps the newest segment it made obsolete as the spare the next segment is
/// written over (a sync then writes records, not the file's size too). What the file held
/// before stays behind the new records, checksummed with its old number: a crash replays
/// only the new records, and the recovery cuts the old ones off, so the segment still reads
/// whole once a later one exists (a crash right after the next segment was started).
#[tokio::test]
async fn a_recycled_segment_replays_only_its_own_records() {
    let tree = Tree::HistoricInstances;
    let dir = tempfile::tempdir().expect("tempdir");
    let spare = dir.path().join("baton-wal").join("spare");
    let recycled_len;
    {
        let store = open(dir.path());
        // Segment 1: fifty records, each putting key i = i.
        for i in 0..50 {
            put_all(&store, tree, i..i + 1).await;
        }
        store.checkpoint_now().expect("checkpoint");
        assert!(spare.exists(), "segment 1 kept as the spare");
        recycled_len = std::fs::metadata(&spare).expect("spare").len();
        put_all(&store, tree, 1000..1001).await;
        store.checkpoint_now().expect("checkpoint");
        // Segment 3 is segment 1's file; segment 2 is the spare now.
        let newest = segments(dir.path()).pop().expect("a segment");
        assert!(newest.ends_with(format!("{:020}.log", 3)), "{newest:?}");
        assert!(spare.exists(), "segment 2 kept as the spare");
        assert_eq!(
            std::fs::metadata(&newest).expect("segment").len(),
            recycled_len,
            "written over, not grown"
        );
        // Its new records change keys the old ones put.
        let mut ws = WriteSet::new();
        ws.put(tree, key(3), &999u32);
        ws.delete(tree, key(5));
        store.commit_durable(&ws).await.expect("commit");
        store.close_as_crash();
    }
    let expect = |store: &Store| {
        let mut want: Vec<u32> = (0..50).filter(|i| *i != 5).collect();
        want[3] = 999;
        want.push(1000);
        assert_eq!(values(store, tree), want);
    };
    // The recovery cuts segment 3 after its last record; a segment started after it (and a
    // crash before segment 3 is discarded) leaves it an older segment that must read whole.
    let recovered = super::wal::Wal::recover(dir.path()).expect("recover");
    assert_eq!(recovered.segments, vec![3]);
    let newest = segments(dir.path()).pop().expect("a segment");
    assert!(std::fs::metadata(&newest).expect("segment").len() < recycled_len);
    let counts = recovered.counts.clone().unwrap_or_default();
    drop(super::wal::Wal::create(dir.path(), &recovered, &counts, true).expect("next segment"));
    assert_eq!(segments(dir.path()).len(), 2);
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    expect(&store);
    drop(store);
    let store = reopen_until_unlocked(dir.path())
        .await
        .expect("reopen again");
    expect(&store);
}

/// The old records behind a recycled segment's new ones never replay, even where the new
/// records end exactly where an old one starts (records of one size in both lives of the
/// file, the same header): their checksums were taken with the file's old segment number.
#[test]
fn old_records_aligned_behind_new_ones_do_not_replay() {
    use super::counts::Snapshot;
    use super::wal::{RecordBuffer, Wal};
    let tree = Tree::Deployments;
    let dir = tempfile::tempdir().expect("tempdir");
    let append = |wal: &Wal, i: u32, value: u32| {
        let mut ws = WriteSet::new();
        ws.put(tree, key(i), &value);
        let mut record = RecordBuffer::default();
        record.begin();
        record.add(&ws);
        wal.append(&mut record, false).expect("append");
    };
    let recovered = Wal::recover(dir.path()).expect("recover");
    let wal = Wal::create(dir.path(), &recovered, &Snapshot::new(), true).expect("create");
    for i in 0..50 {
        append(&wal, i, i);
    }
    wal.prepare_rotation();
    let done = wal.rotate(&Snapshot::new()).expect("rotate");
    wal.discard_through(done).expect("discard");
    append(&wal, 60, 60);
    wal.prepare_rotation();
    let done = wal.rotate(&Snapshot::new()).expect("rotate");
    wal.discard_through(done).expect("discard");
    // Segment 3, written over segment 1's file: one record the size of each old one.
    append(&wal, 3, 77);
    wal.sync().expect("sync");
    drop(wal);
    let recovered = Wal::recover(dir.path()).expect("recover");
    assert_eq!(recovered.segments, vec![3]);
    let keys: Vec<&Vec<u8>> = recovered.changes[&tree].keys().collect();
    assert_eq!(keys, vec![&key(3)], "only the new record replays");

    // A segment closed by a rotation over a reused file is whole up to its closing record,
    // old records behind it or not, when it is not the newest.
    let wal = Wal::create(dir.path(), &recovered, &Snapshot::new(), true).expect("create");
    for i in 0..40 {
        append(&wal, i, i);
    }
    wal.prepare_rotation();
    wal.rotate(&Snapshot::new()).expect("rotate");
    append(&wal, 41, 41);
    wal.sync().expect("sync");
    drop(wal);
    let recovered = Wal::recover(dir.path()).expect("recover with a closed reused segment");
    assert_eq!(recovered.segments, vec![3, 4, 5]);
    assert_eq!(recovered.changes[&tree].len(), 41);
}

/// A log written with `O_DIRECT` (whole blocks, each write starting again at the block the
/// last one ended in) replays exactly what a buffered one does: records from a few bytes to
/// several blocks long, held ones written by syncs racing the appends, ones written at once
/// in between, across a rotation. The logs live under the package, not in `/tmp`, which may
/// be a tmpfs without `O_DIRECT`.
#[test]
fn direct_and_buffered_logs_replay_the_same_records() {
    use super::counts::Snapshot;
    use super::wal::{RecordBuffer, Wal};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let tree = Tree::Deployments;
    let replayed = |direct: bool| {
        let dir = tempfile::Builder::new()
            .prefix("wal-test-")
            .tempdir_in(env!("CARGO_MANIFEST_DIR"))
            .expect("tempdir");
        let recovered = Wal::recover(dir.path()).expect("recover");
        let wal = Arc::new(
            Wal::create(dir.path(), &recovered, &Snapshot::new(), direct).expect("create"),
        );
        let done = Arc::new(AtomicBool::new(false));
        let syncer = {
            let (wal, done) = (wal.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    wal.sync().expect("sync");
                }
            })
        };
        for i in 0..400u32 {
            let mut ws = WriteSet::new();
            let len = (i as usize * 997) % 9_000;
            ws.put(tree, key(i), &"x".repeat(len));
            let mut record = RecordBuffer::default();
            record.begin();
            record.add(&ws);
            wal.append(&mut record, i % 7 != 0).expect("append");
            if i == 200 {
                wal.prepare_rotation();
                wal.rotate(&Snapshot::new()).expect("rotate");
            }
        }
        done.store(true, Ordering::Relaxed);
        syncer.join().expect("syncer");
        wal.sync().expect("sync");
        drop(wal);
        let recovered = Wal::recover(dir.path()).expect("recover");
        assert_eq!(recovered.segments.len(), 2);
        recovered.changes
    };
    let direct = replayed(true);
    assert_eq!(direct[&tree].len(), 400);
    assert_eq!(direct, replayed(false));
}

/// A segment an older release wrote (format 1: checksums over the payload only) still
/// replays, and is deleted, not reused, once its changes are in sled.
#[tokio::test]
async fn a_format_1_segment_from_an_older_release_replays() {
    let tree = Tree::HistoricInstances;
    let dir = tempfile::tempdir().expect("tempdir");
    drop(open(dir.path()));
    let log = dir.path().join("baton-wal");
    let put = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    let mut segment = b"BATONWL1".to_vec();
    segment.extend_from_slice(&(Tree::ALL.len() as u32).to_le_bytes());
    for t in Tree::ALL {
        put(&mut segment, t.name().as_bytes());
    }
    let mut ws = WriteSet::new();
    ws.put(tree, key(7), &7u32);
    let value = match &ws.ops[0] {
        super::Op::Put(_, _, value) => value.clone(),
        _ => unreachable!("one put"),
    };
    let mut payload = vec![0, tree as u8];
    put(&mut payload, &key(7));
    put(&mut payload, &value);
    segment.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    segment.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    segment.extend_from_slice(&payload);
    // The log as the older release left it: that one segment.
    for entry in std::fs::read_dir(&log).expect("log dir") {
        std::fs::remove_file(entry.expect("entry").path()).expect("remove");
    }
    let old = log.join(format!("{:020}.log", 7));
    std::fs::write(&old, &segment).expect("write an old segment");
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(values(&store, tree), vec![7]);
    assert!(!old.exists(), "replayed into sled, then deleted");
    assert!(!log.join("spare").exists(), "not kept as the spare");
    drop(store);
    let store = reopen_until_unlocked(dir.path())
        .await
        .expect("reopen again");
    assert_eq!(values(&store, tree), vec![7]);
}
