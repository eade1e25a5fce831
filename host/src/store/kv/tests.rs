//! The sled layer under the store traits: write sets are atomic across trees, guards refuse
//! stale writes, records are versioned (an unknown format is refused, not misread), and data
//! survives a reopen.

use super::{Durability, Store, StoreError, Tree, WriteSet};
use crate::store::codec;

fn open(dir: &std::path::Path) -> Store {
    Store::open(dir, Durability::Fsync).expect("open store")
}

#[tokio::test]
async fn a_write_set_lands_in_every_tree_it_touches_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut ws = WriteSet::new();
    ws.put(Tree::Deployments, b"d1".to_vec(), &"deployment".to_owned());
    ws.put(Tree::Instances, b"i1".to_vec(), &42u32);
    ws.index(Tree::ExternalTaskQueue, b"topic\0key".to_vec());
    store.commit_durable(&ws).await.expect("commit");
    assert_eq!(
        store.get::<String>(Tree::Deployments, b"d1").expect("get"),
        Some("deployment".to_owned())
    );
    assert_eq!(
        store.get::<u32>(Tree::Instances, b"i1").expect("get"),
        Some(42)
    );
    assert!(
        store
            .contains(Tree::ExternalTaskQueue, b"topic\0key")
            .expect("contains")
    );
}

#[tokio::test]
async fn a_failed_guard_writes_nothing_in_any_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut first = WriteSet::new();
    first.put(Tree::ExternalTasks, b"t1".to_vec(), &1u32);
    store.commit_durable(&first).await.expect("commit");

    // Guard on a stale value: the whole set must be refused, including the other trees.
    let mut ws = WriteSet::new();
    ws.guard(
        Tree::ExternalTasks,
        b"t1".to_vec(),
        Some(Tree::ExternalTasks.encode(&2u32)),
    );
    ws.put(Tree::ExternalTasks, b"t1".to_vec(), &3u32);
    ws.put(Tree::Instances, b"i1".to_vec(), &"x".to_owned());
    ws.delete(Tree::Deployments, b"nothing".to_vec());
    ws.index(Tree::JobsDue, b"due".to_vec());
    match store.commit(&ws) {
        Err(StoreError::Conflict) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        store.get::<u32>(Tree::ExternalTasks, b"t1").expect("get"),
        Some(1)
    );
    assert!(!store.contains(Tree::Instances, b"i1").expect("contains"));
    assert!(!store.contains(Tree::JobsDue, b"due").expect("contains"));

    // The same set with the right guard commits everything.
    let mut ok = WriteSet::new();
    ok.guard(
        Tree::ExternalTasks,
        b"t1".to_vec(),
        Some(Tree::ExternalTasks.encode(&1u32)),
    );
    ok.put(Tree::ExternalTasks, b"t1".to_vec(), &3u32);
    ok.put(Tree::Instances, b"i1".to_vec(), &"x".to_owned());
    store.commit_durable(&ok).await.expect("commit");
    assert_eq!(
        store.get::<u32>(Tree::ExternalTasks, b"t1").expect("get"),
        Some(3)
    );
    assert!(store.contains(Tree::Instances, b"i1").expect("contains"));
}

#[tokio::test]
async fn a_guard_on_absence_refuses_an_existing_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut ws = WriteSet::new();
    ws.guard(Tree::Jobs, b"j".to_vec(), None);
    ws.put(Tree::Jobs, b"j".to_vec(), &1u32);
    store.commit(&ws).expect("first insert");
    assert!(matches!(store.commit(&ws), Err(StoreError::Conflict)));
}

#[tokio::test]
async fn concurrent_guarded_writers_on_one_key_have_exactly_one_winner_per_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut init = WriteSet::new();
    init.put(Tree::Meta, b"counter".to_vec(), &0u64);
    store.commit(&init).expect("init");
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut wins = 0u64;
            for _ in 0..50 {
                loop {
                    let raw = store
                        .get_raw(Tree::Meta, b"counter")
                        .expect("get")
                        .expect("set");
                    let n: u64 = codec::decode("meta", &raw).expect("decode");
                    let mut ws = WriteSet::new();
                    ws.guard(Tree::Meta, b"counter".to_vec(), Some(raw));
                    ws.put(Tree::Meta, b"counter".to_vec(), &(n + 1));
                    ws.index(Tree::Outbox, format!("{n:020}").into_bytes());
                    match store.commit(&ws) {
                        Ok(()) => {
                            wins += 1;
                            break;
                        }
                        Err(StoreError::Conflict) => tokio::task::yield_now().await,
                        Err(e) => panic!("commit: {e}"),
                    }
                }
            }
            wins
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.expect("join");
    }
    assert_eq!(total, 400);
    assert_eq!(
        store.get::<u64>(Tree::Meta, b"counter").expect("get"),
        Some(400)
    );
    // Every increment wrote its own outbox key in the same commit: no lost or doubled writes.
    assert_eq!(store.count(Tree::Outbox).expect("count"), 400);
}

#[test]
fn the_codec_refuses_unknown_formats_and_empty_records() {
    let mut bytes = codec::encode(&"hello".to_owned());
    assert_eq!(bytes[0], 2, "records written today carry format byte 2");
    assert_eq!(
        codec::decode::<String>("t", &bytes).expect("decode"),
        "hello".to_owned()
    );
    bytes[0] = 5;
    let err = codec::decode::<String>("t", &bytes).expect_err("format 5 must be refused");
    assert!(err.to_string().contains("unknown record format 5"), "{err}");
    assert!(codec::decode::<String>("t", &[]).is_err());
    assert!(codec::decode::<u32>("t", &codec::encode(&"text".to_owned())).is_err());
}

#[tokio::test]
async fn a_store_of_an_unknown_format_version_is_refused_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path());
        let mut ws = WriteSet::new();
        ws.put_raw(Tree::Meta, b"format".to_vec(), vec![99u8]);
        store.commit_durable(&ws).await.expect("commit");
        store.sync_now().await.expect("sync");
    }
    let err = reopen_until_unlocked(dir.path())
        .await
        .err()
        .expect("a store of format 99 must not open");
    assert!(err.to_string().contains("not supported"), "{err}");
}

#[tokio::test]
async fn data_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path());
        let mut ws = WriteSet::new();
        for i in 0..100u32 {
            ws.put(Tree::HistoricInstances, format!("h{i:03}").into_bytes(), &i);
        }
        store.commit_durable(&ws).await.expect("commit");
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    let all: Vec<u32> = store.scan(Tree::HistoricInstances, b"h").expect("scan");
    assert_eq!(all, (0..100).collect::<Vec<_>>());
}

/// History lives in its own tables, not in sled: after a checkpoint sled has no history tree
/// and the history tables hold the rows, which read back after a reopen (removals too).
#[tokio::test]
async fn history_is_checkpointed_into_its_own_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path());
        let mut ws = WriteSet::new();
        for i in 0..100u32 {
            ws.put(
                Tree::HistoricActivities,
                format!("a{i:03}").into_bytes(),
                &i,
            );
            ws.put(Tree::Instances, format!("i{i:03}").into_bytes(), &i);
        }
        store.commit_durable(&ws).await.expect("commit");
        store.checkpoint_now().expect("checkpoint");
        let mut ws = WriteSet::new();
        for i in 0..10u32 {
            ws.delete(Tree::HistoricActivities, format!("a{i:03}").into_bytes());
        }
        store.commit_durable(&ws).await.expect("commit");
        store.checkpoint_now().expect("checkpoint");
        let inner = store.sled();
        let sled_trees: Vec<Vec<u8>> = inner.db.tree_names().iter().map(|n| n.to_vec()).collect();
        for tree in Tree::ALL {
            assert_eq!(
                sled_trees.contains(&tree.name().as_bytes().to_vec()),
                !tree.in_lsm_tables(),
                "{}",
                tree.name()
            );
        }
        assert!(matches!(
            store.tree(Tree::HistoricActivities),
            super::durable::Durable::Lsm(_)
        ));
        assert_eq!(store.tree(Tree::HistoricActivities).len(), 90);
        assert_eq!(store.tree(Tree::Instances).len(), 100);
        assert!(inner.tables.disk_space() > 0, "a table was written");
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    let all: Vec<u32> = store.scan(Tree::HistoricActivities, b"a").expect("scan");
    assert_eq!(all, (10..100).collect::<Vec<_>>());
    assert_eq!(
        store
            .get::<u32>(Tree::HistoricActivities, b"a050")
            .expect("get"),
        Some(50)
    );
    assert_eq!(
        store
            .get::<u32>(Tree::HistoricActivities, b"a005")
            .expect("get"),
        None
    );
}

/// A store of format 3 keeps its history in sled: opening it moves the history trees into
/// the history tables (and out of sled), keeps the counts, and writes today's format.
#[tokio::test]
async fn history_a_format_3_store_kept_in_sled_moves_into_its_own_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = older_store(dir.path(), 3);
        // Not real history records: numbers, enough to count and scan.
        let history = db
            .open_tree(Tree::HistoricInstances.name())
            .expect("history tree");
        for i in 0..20u32 {
            history
                .insert(
                    format!("h{i:03}").as_bytes(),
                    Tree::HistoricInstances.encode(&i),
                )
                .expect("insert");
        }
        put_raw(&db, Tree::Meta, b"kept", Tree::Meta.encode(&7u32));
        db.flush().expect("flush");
    }
    {
        let store = reopen_until_unlocked(dir.path()).await.expect("open");
        let all: Vec<u32> = store.scan(Tree::HistoricInstances, b"h").expect("scan");
        assert_eq!(all, (0..20).collect::<Vec<_>>());
        assert_eq!(store.count(Tree::HistoricInstances).expect("count"), 20);
        assert_eq!(store.get::<u32>(Tree::Meta, b"kept").expect("get"), Some(7));
        let names = store.sled().db.tree_names();
        assert!(
            !names
                .iter()
                .any(|n| n.as_ref() == Tree::HistoricInstances.name().as_bytes()),
            "the sled tree is gone"
        );
        assert_eq!(
            store.get_raw(Tree::Meta, b"format").expect("format"),
            Some(vec![super::FORMAT_VERSION])
        );
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    let all: Vec<u32> = store.scan(Tree::HistoricInstances, b"h").expect("scan");
    assert_eq!(all, (0..20).collect::<Vec<_>>());
}

/// Reads of history while checkpoints flush the history tables (and compaction merges them)
/// on other threads always find the tables: reading at the published sequence number could
/// ask for a version of the tables a flush had just dropped, and lsm-tree panicked ("should
/// always find a SuperVersion"; seen under `bench-queries`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_reads_during_checkpoints_always_find_the_tables() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let key = |i: u32| format!("v{i:05}").into_bytes();
    let mut ws = WriteSet::new();
    for i in 0..50u32 {
        ws.put(Tree::HistoricVariables, key(i), &i);
    }
    store.commit_durable(&ws).await.expect("commit");
    store.checkpoint_now().expect("checkpoint");
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let i = (reads % 50) as u32;
                    let value = store
                        .get::<u32>(Tree::HistoricVariables, &key(i))
                        .expect("read");
                    assert_eq!(value, Some(i));
                    let all: Vec<u32> =
                        store.scan(Tree::HistoricVariables, b"v0000").expect("scan");
                    assert_eq!(all, (0..10).collect::<Vec<_>>());
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for round in 0..150u32 {
        let mut ws = WriteSet::new();
        for i in 0..20u32 {
            ws.put(Tree::HistoricVariables, key(1000 + round * 20 + i), &i);
            ws.put(Tree::HistoricActivities, key(round * 20 + i), &i);
        }
        store.commit_durable(&ws).await.expect("commit");
        store.checkpoint_now().expect("checkpoint");
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        let reads = reader.join().expect("a reader panicked");
        assert!(reads > 0);
    }
}

/// A store of a format this release does not know is refused before anything in it moves:
/// its history stays in sled and no history tables are created.
#[tokio::test]
async fn history_of_a_refused_store_stays_where_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let history_rows = |db: &sled::Db| {
        db.open_tree(Tree::HistoricInstances.name())
            .expect("history tree")
            .len()
    };
    {
        let db = sled::Config::new().path(dir.path()).open().expect("sled");
        let meta = db.open_tree(Tree::Meta.name()).expect("meta");
        meta.insert(b"format", &[99u8]).expect("format");
        let history = db
            .open_tree(Tree::HistoricInstances.name())
            .expect("history tree");
        history
            .insert(b"h1", Tree::HistoricInstances.encode(&1u32))
            .expect("insert");
        db.flush().expect("flush");
    }
    let err = reopen_until_unlocked(dir.path())
        .await
        .err()
        .expect("a store of format 99 must not open");
    assert!(err.to_string().contains("not supported"), "{err}");
    assert!(!dir.path().join("history").exists(), "no history tables");
    let db = sled_until_unlocked(dir.path()).await;
    assert_eq!(history_rows(&db), 1, "the history is still in sled");
}

/// sled itself, opened the way [`reopen_until_unlocked`] opens the store: a sled database
/// just dropped may still hold its file lock while its thread pool finishes a write.
async fn sled_until_unlocked(dir: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::Config::new().path(dir).open() {
            Err(e) if e.to_string().contains("lock") && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            other => return other.expect("sled"),
        }
    }
}

/// The committer and checkpoint threads hold the store for the length of a batch or a
/// checkpoint, and the last of them to let go closes it (with its final checkpoint), so a
/// reopen right after a drop may find sled's file lock still held for a moment.
pub(super) async fn reopen_until_unlocked(dir: &std::path::Path) -> Result<Store, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(dir, Durability::Fsync) {
            Err(e) if e.to_string().contains("lock") && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            other => return other,
        }
    }
}

#[tokio::test]
async fn commit_each_skips_only_the_sets_whose_guards_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut seed = WriteSet::new();
    seed.put_raw(Tree::ExternalTasks, b"a".to_vec(), b"1".to_vec());
    seed.put_raw(Tree::ExternalTasks, b"b".to_vec(), b"1".to_vec());
    store.commit(&seed).expect("seed");

    // "a" changed since it was read; "b" did not; "c" is new and guarded on absence.
    let mut stale = WriteSet::new();
    stale.guard(Tree::ExternalTasks, b"a".to_vec(), Some(b"0".to_vec()));
    stale.put_raw(Tree::ExternalTasks, b"a".to_vec(), b"2".to_vec());
    stale.index(Tree::ExternalTaskLocks, b"lock-a".to_vec());
    let mut current = WriteSet::new();
    current.guard(Tree::ExternalTasks, b"b".to_vec(), Some(b"1".to_vec()));
    current.put_raw(Tree::ExternalTasks, b"b".to_vec(), b"2".to_vec());
    current.index(Tree::ExternalTaskLocks, b"lock-b".to_vec());
    let mut fresh = WriteSet::new();
    fresh.guard(Tree::ExternalTasks, b"c".to_vec(), None);
    fresh.put_raw(Tree::ExternalTasks, b"c".to_vec(), b"1".to_vec());

    let applied = store
        .commit_each(&[stale, current, fresh])
        .expect("commit_each");
    assert_eq!(applied, vec![false, true, true]);
    let value = |tree, key: &[u8]| store.get_raw(tree, key).expect("read");
    assert_eq!(value(Tree::ExternalTasks, b"a"), Some(b"1".to_vec()));
    assert_eq!(value(Tree::ExternalTaskLocks, b"lock-a"), None);
    assert_eq!(value(Tree::ExternalTasks, b"b"), Some(b"2".to_vec()));
    assert_eq!(value(Tree::ExternalTaskLocks, b"lock-b"), Some(Vec::new()));
    assert_eq!(value(Tree::ExternalTasks, b"c"), Some(b"1".to_vec()));
}

#[tokio::test]
async fn write_sets_commit_across_trees_and_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path(), Durability::Fsync).expect("open");
        let mut ws = WriteSet::new();
        ws.put(Tree::Deployments, b"d1".to_vec(), &"hello".to_string());
        ws.index(Tree::ExternalTaskQueue, b"t\0x".to_vec());
        store.commit_durable(&ws).await.expect("commit");
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    let v: Option<String> = store.get(Tree::Deployments, b"d1").expect("get");
    assert_eq!(v.as_deref(), Some("hello"));
    assert!(
        store
            .contains(Tree::ExternalTaskQueue, b"t\0x")
            .expect("contains")
    );
}

#[tokio::test]
async fn concurrent_syncs_share_flushes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), Durability::Fsync).expect("open");
    let mut handles = Vec::new();
    for i in 0..32u32 {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            let mut ws = WriteSet::new();
            ws.put(Tree::Meta, format!("k{i}").into_bytes(), &i);
            s.commit_durable(&ws).await
        }));
    }
    for h in handles {
        h.await.expect("join").expect("commit");
    }
    let written = store.scan_keys(Tree::Meta, b"k", usize::MAX).expect("keys");
    assert_eq!(written.len(), 32);
}

#[tokio::test]
async fn kept_counts_follow_inserts_replacements_and_removals_and_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path());
        let mut ws = WriteSet::new();
        for (topic, id) in [("a", "1"), ("a", "2"), ("b", "3")] {
            ws.index(
                Tree::ExternalTasksByTopic,
                format!("{topic}\0{id}\0").into_bytes(),
            );
            ws.put(Tree::ExternalTasks, id.as_bytes().to_vec(), &1u32);
        }
        store.commit(&ws).expect("commit");
        // A replacement is not an insert; a removal of an absent key removes nothing.
        let mut ws = WriteSet::new();
        ws.put(Tree::ExternalTasks, b"1".to_vec(), &2u32);
        ws.delete(Tree::ExternalTasks, b"nope".to_vec());
        ws.delete(Tree::ExternalTasksByTopic, b"a\x002\0".to_vec());
        ws.delete(Tree::ExternalTasks, b"2".to_vec());
        store.commit(&ws).expect("commit");
        assert_eq!(store.count(Tree::ExternalTasks).expect("count"), 2);
        assert_eq!(
            store
                .count_component(Tree::ExternalTasksByTopic, "a")
                .expect("count"),
            1
        );
        assert_eq!(
            store
                .count_component(Tree::ExternalTasksByTopic, "b")
                .expect("count"),
            1
        );
        // commit_each counts only the sets that applied.
        let mut stale = WriteSet::new();
        stale.guard(Tree::ExternalTasks, b"1".to_vec(), None);
        stale.put(Tree::ExternalTasks, b"9".to_vec(), &1u32);
        let mut fresh = WriteSet::new();
        fresh.put(Tree::ExternalTasks, b"8".to_vec(), &1u32);
        assert_eq!(
            store.commit_each(&[stale, fresh]).expect("commit_each"),
            vec![false, true]
        );
        assert_eq!(store.count(Tree::ExternalTasks).expect("count"), 3);
        store.sync_now().await.expect("sync");
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(store.count(Tree::ExternalTasks).expect("count"), 3);
    assert_eq!(
        store
            .count_component(Tree::ExternalTasksByTopic, "a")
            .expect("count"),
        1
    );
    assert_eq!(
        store
            .count_component(Tree::ExternalTasksByTopic, "c")
            .expect("count"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_commits_apply_each_set_under_its_own_guards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut seed = WriteSet::new();
    seed.put(Tree::ExternalTasks, b"t1".to_vec(), &1u32);
    store.commit_durable(&seed).await.expect("seed");

    // Many concurrent commands: each writes its own instance; two race on one task, guarded
    // on the value before them, so exactly one of the two may win.
    let mut commits = Vec::new();
    for i in 0..200u32 {
        let store = store.clone();
        commits.push(tokio::spawn(async move {
            let mut ws = WriteSet::new();
            ws.put(Tree::Instances, format!("i{i}").into_bytes(), &i);
            if i < 2 {
                ws.guard(
                    Tree::ExternalTasks,
                    b"t1".to_vec(),
                    Some(Tree::ExternalTasks.encode(&1u32)),
                );
                ws.put(Tree::ExternalTasks, b"t1".to_vec(), &(10 + i));
            }
            store.commit_batched(ws).await
        }));
    }
    let mut conflicts = 0;
    for (i, commit) in commits.into_iter().enumerate() {
        match commit.await.expect("join") {
            Ok(()) => {}
            Err(StoreError::Conflict) if i < 2 => conflicts += 1,
            Err(e) => panic!("commit {i}: {e}"),
        }
    }
    assert_eq!(conflicts, 1, "one of the two racing sets must be refused");
    let task: u32 = store
        .get(Tree::ExternalTasks, b"t1")
        .expect("get")
        .expect("task");
    assert!(task == 10 || task == 11, "the winner's write: {task}");
    // The refused set wrote nothing, not even its own instance.
    let loser = if task == 10 { "i1" } else { "i0" };
    assert_eq!(
        store
            .get::<u32>(Tree::Instances, loser.as_bytes())
            .expect("get"),
        None
    );
    assert_eq!(store.count(Tree::Instances).expect("count"), 199);
    store.sync().await.expect("sync");

    // Dropping the store stops the committer and closes the database: it reopens in the same
    // process (once sled's own thread pool lets go of the file), with every applied set.
    drop(store);
    let reopened = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(reopened.count(Tree::Instances).expect("count"), 199);
    assert_eq!(
        reopened.get::<u32>(Tree::Instances, b"i199").expect("get"),
        Some(199)
    );
}

/// A store an older release wrote holds named records (format 2) in the trees that are
/// positional now: they read, a guarded change of one applies (the guard compares the bytes
/// as stored), and the record is rewritten in today's format (positional, compressed when
/// that is smaller).
#[tokio::test]
async fn a_named_record_of_an_older_release_is_read_locked_and_rewritten_positionally() {
    use crate::records::ExternalTask;
    use crate::store::{Accept, ExternalTaskStore, LockOrder, LockRequest, TopicLock};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let task: ExternalTask = serde_json::from_value(serde_json::json!({
        "id": "task-1", "topic_name": "check-stock", "worker_id": null,
        "lock_expiration_time": null, "retries": null, "error_message": null,
        "error_details": null, "priority": 0, "suspended": false, "create_time": 1,
        "activity_id": "check", "activity_instance_id": "check:1", "execution_id": "pi-1",
        "process_instance_id": "pi-1", "process_definition_id": "order:1:d",
        "process_definition_key": "order", "process_definition_version_tag": null,
        "business_key": null, "tenant_id": null, "retry_time_cycle": null,
        "extension_properties": {}
    }))
    .expect("task");
    let key = super::index::id_key(&task.id);
    let mut ws = WriteSet::new();
    super::index::put_external_task(&mut ws, &task, None, 1);
    // What the older release left: the same record with field names.
    ws.put_raw(Tree::ExternalTasks, key.clone(), codec::encode(&task));
    store.commit_durable(&ws).await.expect("commit");
    let raw = store
        .get_raw(Tree::ExternalTasks, &key)
        .expect("get")
        .expect("stored");
    assert_eq!(raw[0], 2, "the older release's format");

    let topics = [TopicLock {
        topic: "check-stock".into(),
        lock_expiration_time: 60_000,
        filtered: false,
    }];
    let locked = store
        .lock_available(
            &LockRequest {
                worker_id: "worker-1",
                max_tasks: 5,
                topics: &topics,
                order: LockOrder::Priority,
                now: 2,
            },
            &mut |_, _| Accept::Take,
        )
        .expect("lock");
    assert_eq!(locked.len(), 1, "the named record was read and locked");
    let raw = store
        .get_raw(Tree::ExternalTasks, &key)
        .expect("get")
        .expect("stored");
    let (read, _) = store.external_task("task-1").expect("read").expect("task");
    assert_eq!(
        raw,
        Tree::ExternalTasks.encode(&read),
        "rewritten in today's format by the change"
    );
    assert!(matches!(raw[0], 3 | 4), "positional: {}", raw[0]);
    assert_eq!(read.worker_id.as_deref(), Some("worker-1"));
    assert_eq!(read.lock_expiration_time, Some(60_000));
    assert_eq!(read.activity_instance_id, task.activity_instance_id);
}

/// A running instance waiting at one external task, as the engine stores it.
fn waiting_instance(id: &str, task_id: &str) -> crate::records::ProcessInstance {
    let activity_instance = "check:01a2443a-e5b8-72f9-898f-e83d0e2f9fd5";
    serde_json::from_value(serde_json::json!({
        "definition_id": "order:1:01a2443a-e5b6-736e-802b-5e6b24213a87",
        "definition_key": "order", "suspended": false, "tenant_id": null,
        "state": {
            "id": id, "process_id": "order", "business_key": null, "status": "Active",
            "super_instance": null, "next_seq": 2, "started_at": 1, "ended_at": null,
            "activity_instances": {
                id: {"id": id, "activity_id": "order", "parent": null, "execution_id": id,
                     "variables": {}, "wait": null, "listeners": [], "started_at": 1,
                     "internal": {}},
                activity_instance: {
                    "id": activity_instance, "activity_id": "check", "parent": id,
                    "execution_id": id, "variables": {},
                    "wait": {"ExternalTask": {"task_id": task_id, "topic": "check"}},
                    "listeners": [], "started_at": 1, "internal": {"seq": 2}}
            }
        }
    }))
    .expect("instance")
}

/// A raw sled database at `dir` marked as a store of `format` with its indexes built, as an
/// older release left it.
fn older_store(dir: &std::path::Path, format: u8) -> sled::Db {
    let db = sled::Config::new().path(dir).open().expect("sled");
    let meta = db.open_tree(Tree::Meta.name()).expect("meta");
    meta.insert(b"format", &[format]).expect("format");
    meta.insert(super::index::INDEXES_BUILT, &[])
        .expect("indexes");
    db
}

/// Put a raw record into a tree of a database [`older_store`] opened.
fn put_raw(db: &sled::Db, tree: Tree, key: &[u8], value: Vec<u8>) {
    db.open_tree(tree.name())
        .expect("tree")
        .insert(key, value)
        .expect("insert");
}

/// The external task [`waiting_instance`] waits at.
fn its_external_task(id: &str, instance_id: &str) -> crate::records::ExternalTask {
    serde_json::from_value(serde_json::json!({
        "id": id, "topic_name": "check", "worker_id": null,
        "lock_expiration_time": null, "retries": null, "error_message": null,
        "error_details": null, "priority": 0, "suspended": false, "create_time": 1,
        "activity_id": "check", "activity_instance_id": "check:1", "execution_id": instance_id,
        "process_instance_id": instance_id, "process_definition_id": "order:1:d",
        "process_definition_key": "order", "process_definition_version_tag": null,
        "business_key": null, "tenant_id": null, "retry_time_cycle": null,
        "extension_properties": {}
    }))
    .expect("task")
}

/// The running state's records are committed plain and compressed where they settle (a
/// checkpoint into sled), when that is smaller (an instance record repeats its instance id
/// in every activity instance), and read back as written. A guard taken on the plain bytes
/// still holds once the checkpoint has compressed them: the record did not change.
#[tokio::test]
async fn running_state_records_are_compressed_at_the_checkpoint_and_read_back() {
    use crate::records::ProcessInstance;
    let dir = tempfile::tempdir().expect("tempdir");
    let id = "01a2443a-e5b8-723e-9f36-7277416f1d3b";
    let instance = waiting_instance(id, "01a2443a-e5b8-72f9-b98f-e83e0e2f9fd5");
    let later_id = "01a2443a-e5b9-7000-8000-000000000001";
    let later = waiting_instance(later_id, "01a2443a-e5b9-7000-8000-000000000002");
    {
        let store = open(dir.path());
        let mut ws = WriteSet::new();
        ws.put(Tree::Instances, id.as_bytes().to_vec(), &instance);
        store.commit_durable(&ws).await.expect("commit");
        let read = |store: &Store| {
            store
                .get_raw(Tree::Instances, id.as_bytes())
                .expect("get")
                .expect("stored")
        };
        let committed = read(&store);
        assert_eq!(committed[0], 3, "plain in memory");
        store.checkpoint_now().expect("checkpoint");
        let settled = read(&store);
        assert_eq!(settled[0], 4, "compressed in sled");
        assert!(
            settled.len() * 10 < committed.len() * 7,
            "{} bytes against {}",
            settled.len(),
            committed.len()
        );

        let mut guarded = WriteSet::new();
        guarded.guard(Tree::Instances, id.as_bytes().to_vec(), Some(committed));
        guarded.put_raw(Tree::Meta, b"guarded".to_vec(), b"1".to_vec());
        store
            .commit_durable(&guarded)
            .await
            .expect("the guard holds");
        let mut stale = WriteSet::new();
        let mut other = codec::encode_positional(&instance);
        let last = other.len() - 1;
        other[last] ^= 1;
        stale.guard(Tree::Instances, id.as_bytes().to_vec(), Some(other));
        stale.put_raw(Tree::Meta, b"stale".to_vec(), b"1".to_vec());
        assert!(matches!(
            store.commit_durable(&stale).await,
            Err(StoreError::Conflict)
        ));

        // Only in the log when the process dies: the replay at open compresses it too.
        let mut late = WriteSet::new();
        late.put(Tree::Instances, later_id.as_bytes().to_vec(), &later);
        store.commit_durable(&late).await.expect("commit");
        store.close_as_crash();
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(
        store
            .get::<ProcessInstance>(Tree::Instances, id.as_bytes())
            .expect("get"),
        Some(instance)
    );
    assert_eq!(
        store
            .get::<ProcessInstance>(Tree::Instances, later_id.as_bytes())
            .expect("get"),
        Some(later)
    );
    let replayed = store
        .get_raw(Tree::Instances, later_id.as_bytes())
        .expect("get")
        .expect("stored");
    assert_eq!(replayed[0], 4, "compressed by the replay");
    assert!(store.contains(Tree::Meta, b"guarded").expect("read"));
    assert!(!store.contains(Tree::Meta, b"stale").expect("read"));
}

/// The instance record names its external tasks: they are found through it, and a format-4
/// store's by-instance index (retired) is emptied at the upgrade.
#[tokio::test]
async fn external_tasks_are_found_through_their_instance_and_the_old_index_goes() {
    use crate::store::ExternalTaskStore;
    let dir = tempfile::tempdir().expect("tempdir");
    let (instance_id, task_id) = (
        "01a2443a-e5b8-723e-9f36-7277416f1d3b",
        "01a2443a-e5b8-72f9-b98f-e83e0e2f9fd5",
    );
    {
        let db = older_store(dir.path(), 4);
        // What a format-4 store holds for one waiting instance (records as format 3 wrote).
        let instance = waiting_instance(instance_id, task_id);
        let task = its_external_task(task_id, instance_id);
        put_raw(
            &db,
            Tree::Instances,
            instance_id.as_bytes(),
            codec::encode_positional(&instance),
        );
        put_raw(
            &db,
            Tree::ExternalTasks,
            task_id.as_bytes(),
            codec::encode_positional(&task),
        );
        put_raw(
            &db,
            Tree::ExternalTasksByInstance,
            &super::index::pair_key(instance_id, task_id),
            Vec::new(),
        );
        db.flush().expect("flush");
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("open");
    assert_eq!(store.tree(Tree::ExternalTasksByInstance).len(), 0);
    assert_eq!(
        store.get_raw(Tree::Meta, b"format").expect("format"),
        Some(vec![super::FORMAT_VERSION])
    );
    let tasks = store
        .external_tasks_of_instance(instance_id)
        .expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].id, task_id);
    assert!(
        store
            .external_tasks_of_instance("01a2443a-e5b8-7000-8000-000000000000")
            .expect("no instance")
            .is_empty()
    );

    // A task written today adds no by-instance entry; deleting the instance's records
    // removes it through the instance record.
    let second = "01a2443a-e5b8-72f9-b98f-e83e0e2f9fd6";
    let mut instance = waiting_instance(instance_id, task_id);
    let mut waiting = instance
        .state
        .activity_instances
        .values()
        .find(|ai| ai.wait.is_some())
        .cloned()
        .expect("waiting");
    waiting.id = "check:2".into();
    waiting.wait = Some(baton_bpmn::engine::Wait::ExternalTask {
        task_id: second.into(),
        topic: "check".into(),
    });
    instance
        .state
        .activity_instances
        .insert(waiting.id.clone(), waiting);
    let mut ws = WriteSet::new();
    ws.put(Tree::Instances, instance_id.as_bytes().to_vec(), &instance);
    super::index::put_external_task(&mut ws, &its_external_task(second, instance_id), None, 1);
    store.commit_durable(&ws).await.expect("commit");
    let entries = |tree| store.scan_keys(tree, b"", usize::MAX).expect("scan").len();
    assert_eq!(entries(Tree::ExternalTasksByInstance), 0);
    assert_eq!(entries(Tree::ExternalTasksByTopic), 1);
    let ids: Vec<String> = store
        .external_tasks_of_instance(instance_id)
        .expect("tasks")
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, [task_id, second]);
    let mut ws = WriteSet::new();
    super::index::delete_instance_records(&store, &mut ws, instance_id, &instance.state, &|_| {
        false
    })
    .expect("stage");
    store.commit_durable(&ws).await.expect("commit");
    assert_eq!(store.count(Tree::ExternalTasks).expect("count"), 0);
    assert_eq!(entries(Tree::ExternalTasksByTopic), 0);
}

/// A lock reclaim run with a later clock than a fetch's requeues a task the fetch still sees
/// as locked: the fetch passes the queue entry over instead of dropping it, and the task is
/// fetched once its lock has expired by the fetch's clock too. (Dropping the entry left the
/// task in no index: never fetched again.)
#[tokio::test]
async fn a_task_requeued_by_a_later_clock_stays_fetchable() {
    use crate::store::{Accept, ExternalTaskStore, LockOrder, LockRequest, TopicLock};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut task = its_external_task("task-1", "pi-1");
    task.worker_id = Some("worker-1".into());
    task.lock_expiration_time = Some(1_000);
    let mut ws = WriteSet::new();
    super::index::put_external_task(&mut ws, &task, None, 500);
    store.commit_durable(&ws).await.expect("commit");
    assert_eq!(store.reclaim_expired_locks(1_000).expect("reclaim"), 1);

    let topics = [TopicLock {
        topic: "check".into(),
        lock_expiration_time: 60_000,
        filtered: false,
    }];
    let fetch = |now: i64| {
        store
            .lock_available(
                &LockRequest {
                    worker_id: "worker-2",
                    max_tasks: 5,
                    topics: &topics,
                    order: LockOrder::Priority,
                    now,
                },
                &mut |_, _| Accept::Take,
            )
            .expect("lock")
    };
    assert!(fetch(900).is_empty(), "still locked by the fetch's clock");
    let locked = fetch(1_100);
    assert_eq!(locked.len(), 1, "fetchable once its lock expired");
    assert_eq!(locked[0].0.worker_id.as_deref(), Some("worker-2"));
}

/// The module cache answers what the last commit left: a binding, a rebinding to another
/// component, an unbinding and a deployment's own component are each seen by the next read.
#[tokio::test]
async fn module_reads_follow_every_commit_that_binds_or_unbinds() {
    use crate::records::TaskModule;
    use crate::store::ModuleStore;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let module = |sha: &str, deployment: Option<&str>| TaskModule {
        topic: "work".into(),
        sha256: sha.into(),
        size: 1,
        deployment_id: deployment.map(str::to_owned),
        created: 0,
        limits: Default::default(),
        world_check: None,
    };
    let sha = |m: Option<TaskModule>| m.map(|m| m.sha256);
    // Absent, and read twice (the second read is the cache's).
    for _ in 0..2 {
        assert_eq!(store.module("work").expect("read"), None);
        assert_eq!(store.deployment_module("d1", "work").expect("read"), None);
    }
    for bound in ["a", "b"] {
        let mut ws = WriteSet::new();
        store.stage_module(&mut ws, "work", &module(bound, None));
        store.commit_durable(&ws).await.expect("bind");
        for _ in 0..2 {
            assert_eq!(sha(store.module("work").expect("read")), Some(bound.into()));
        }
    }
    let mut ws = WriteSet::new();
    store.stage_deployment_module(&mut ws, "d1", "work", &module("c", Some("d1")));
    store.commit_durable(&ws).await.expect("bundle");
    assert_eq!(
        sha(store.deployment_module("d1", "work").expect("read")),
        Some("c".into())
    );
    assert_eq!(store.deployment_module("d2", "work").expect("read"), None);
    let mut ws = WriteSet::new();
    store.stage_module_removal(&mut ws, "work");
    store.stage_deployment_module_removal(&mut ws, "d1", "work");
    store.commit_durable(&ws).await.expect("unbind");
    assert_eq!(store.module("work").expect("read"), None);
    assert_eq!(store.deployment_module("d1", "work").expect("read"), None);
}

/// A store of format 7 keeps its query indexes in sled: opening it moves them into the LSM
/// tables (and out of sled), where queries and the counts by topic and definition key find
/// them; a store written today never puts them in sled.
#[tokio::test]
async fn query_indexes_of_a_format_7_store_move_into_the_lsm_tables() {
    use crate::store::{Accept, ExternalTaskStore};
    let dir = tempfile::tempdir().expect("tempdir");
    let (instance_id, task_id) = (
        "01a2443a-e5b8-723e-9f36-7277416f1d3b",
        "01a2443a-e5b8-72f9-b98f-e83e0e2f9fd5",
    );
    {
        let db = older_store(dir.path(), 7);
        put_raw(
            &db,
            Tree::Instances,
            instance_id.as_bytes(),
            Tree::Instances.encode(&waiting_instance(instance_id, task_id)),
        );
        put_raw(
            &db,
            Tree::InstancesByDefinitionKey,
            &super::index::pair_key("order", instance_id),
            Vec::new(),
        );
        put_raw(
            &db,
            Tree::ExternalTasks,
            task_id.as_bytes(),
            Tree::ExternalTasks.encode(&its_external_task(task_id, instance_id)),
        );
        put_raw(
            &db,
            Tree::ExternalTasksByTopic,
            &super::index::pair_key("check", task_id),
            Vec::new(),
        );
        db.flush().expect("flush");
    }
    let store = reopen_until_unlocked(dir.path()).await.expect("open");
    assert_eq!(
        store.get_raw(Tree::Meta, b"format").expect("format"),
        Some(vec![super::FORMAT_VERSION])
    );
    let lookup = |topic| crate::store::TaskLookup {
        topic: Some(topic),
        ..Default::default()
    };
    let found = store
        .external_tasks_where(&lookup("check"), &mut |_| Accept::Take, 0, usize::MAX)
        .expect("by topic");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, task_id);
    assert_eq!(
        store
            .count_external_tasks_where(&lookup("check"))
            .expect("count"),
        1
    );
    assert_eq!(
        store
            .count_component(Tree::InstancesByDefinitionKey, "order")
            .expect("count"),
        1
    );
    let keys = |store: &Store, tree| store.scan_keys(tree, b"", usize::MAX).expect("scan");
    assert_eq!(
        keys(&store, Tree::InstancesByDefinitionKey),
        [super::index::pair_key("order", instance_id)]
    );

    // A second task, written today: its entry goes to the tables at the next checkpoint.
    let second = "01a2443a-e5b8-72f9-b98f-e83e0e2f9fd6";
    let mut ws = WriteSet::new();
    super::index::put_external_task(&mut ws, &its_external_task(second, instance_id), None, 1);
    store.commit_durable(&ws).await.expect("commit");
    store.checkpoint_now().expect("checkpoint");
    assert_eq!(keys(&store, Tree::ExternalTasksByTopic).len(), 2);
    drop(store);

    let db = sled_until_unlocked(dir.path()).await;
    let names = db.tree_names();
    for tree in [Tree::InstancesByDefinitionKey, Tree::ExternalTasksByTopic] {
        assert!(
            !names.iter().any(|n| n.as_ref() == tree.name().as_bytes()),
            "{} is no sled tree any more",
            tree.name()
        );
    }
    drop(db);
    assert!(
        dir.path()
            .join("indexes")
            .join(Tree::ExternalTasksByTopic.name())
            .exists()
    );
    let store = reopen_until_unlocked(dir.path()).await.expect("reopen");
    assert_eq!(
        store
            .count_external_tasks_where(&lookup("check"))
            .expect("count"),
        2
    );
    assert_eq!(keys(&store, Tree::ExternalTasksByTopic).len(), 2);
}

/// History rows are found by their id whether or not they have an entry in a by-id index:
/// ids derived from their instance's id, or drawn in its millisecond, have none (their time
/// prefix leads to the instance), other ids do; a removed instance's rows are gone either way.
#[tokio::test]
async fn historic_activities_and_variables_are_found_by_id_with_and_without_an_index_entry() {
    use crate::records::{
        HistoricActivityInstance, HistoricProcessInstance, HistoricVariableInstance,
    };
    use crate::store::HistoryStore;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let instance = HistoricProcessInstance::example;
    let activity = |id: &str, instance: &str| HistoricActivityInstance {
        id: id.into(),
        parent_activity_instance_id: instance.into(),
        activity_id: "task".into(),
        activity_name: None,
        activity_type: "serviceTask".into(),
        process_definition_key: "order".into(),
        process_definition_id: "order:1:x".into(),
        process_instance_id: instance.into(),
        execution_id: instance.into(),
        task_id: None,
        assignee: None,
        called_process_instance_id: None,
        start_time: 1,
        end_time: None,
        canceled: false,
        complete_scope: false,
        tenant_id: None,
        sequence: 1,
    };
    // Two instances of the same millisecond, one of another, and one not shaped like a UUID.
    let (first, second) = (
        "0190f5a1-2b3c-7def-8123-456789abcdef",
        "0190f5a1-2b3c-7aaa-9000-000000000001",
    );
    let (later, plain) = ("0190f5a1-2b3d-7000-9000-000000000000", "pi-1");
    let derived = format!("task:{}", baton_bpmn::engine::derive_id(second, 2));
    let drawn = "0190f5a1-2b3f-7123-8000-00000000abcd";
    let of_plain = baton_bpmn::engine::derive_id(plain, 2);
    let mut ws = WriteSet::new();
    for id in [first, second, later, plain] {
        store.stage_historic_instance(&mut ws, &instance(id));
    }
    store.stage_historic_activity(&mut ws, &activity(&derived, second), true);
    store.stage_historic_activity(&mut ws, &activity(drawn, later), true);
    store.stage_historic_activity(&mut ws, &activity(&of_plain, plain), true);
    // Variables: one id drawn in its instance's millisecond (no index entry), one not.
    let variable = |id: &str, instance: &str, name: &str| HistoricVariableInstance {
        id: id.into(),
        name: name.into(),
        value: baton_bpmn::Value::Integer(1),
        process_instance_id: instance.into(),
        process_definition_id: "order:1:x".into(),
        process_definition_key: "order".into(),
        activity_instance_id: instance.into(),
        create_time: 1,
        last_updated: 1,
        state: "CREATED".into(),
        tenant_id: None,
        revision: 0,
    };
    let in_its_millisecond = "0190f5a1-2b3c-7555-8000-000000000042";
    store.stage_historic_variable(&mut ws, &variable("elsewhere", second, "a"), true);
    store.stage_historic_variable(&mut ws, &variable(in_its_millisecond, second, "b"), true);
    store.commit_durable(&ws).await.expect("commit");
    assert!(
        !store
            .contains(Tree::HistoricVariablesById, in_its_millisecond.as_bytes())
            .expect("contains")
    );
    for (id, name) in [(in_its_millisecond, "b"), ("elsewhere", "a")] {
        let found = store.historic_variable_by_id(id).expect("lookup");
        assert_eq!(found.map(|v| v.name), Some(name.to_owned()), "{id}");
    }
    assert_eq!(
        store
            .historic_variable_by_id("0190f5a1-2b3c-7555-8000-000000000043")
            .expect("lookup"),
        None
    );

    assert!(
        !store
            .contains(Tree::HistoricActivitiesById, derived.as_bytes())
            .expect("contains"),
        "a derived id needs no index entry"
    );
    for (id, instance) in [
        (derived.as_str(), second),
        (drawn, later),
        (&of_plain, plain),
    ] {
        let found = store.historic_activity_by_id(id).expect("lookup");
        assert_eq!(
            found.map(|a| a.process_instance_id),
            Some(instance.to_owned()),
            "{id}"
        );
    }
    let unknown = baton_bpmn::engine::derive_id(first, 99);
    assert_eq!(
        store.historic_activity_by_id(&unknown).expect("lookup"),
        None
    );
    assert_eq!(
        store.historic_activity_by_id("nothing").expect("lookup"),
        None
    );

    // Reopened (the rows now come from the history tables, not memory), then removed.
    drop(store);
    let store = open(dir.path());
    assert!(
        store
            .historic_activity_by_id(&derived)
            .expect("lookup")
            .is_some()
    );
    let mut ws = WriteSet::new();
    store
        .stage_history_removal(&mut ws, second)
        .expect("stage removal");
    store
        .stage_history_removal(&mut ws, later)
        .expect("stage removal");
    store.commit_durable(&ws).await.expect("commit");
    assert_eq!(
        store.historic_activity_by_id(&derived).expect("lookup"),
        None
    );
    assert_eq!(store.historic_activity_by_id(drawn).expect("lookup"), None);
    assert_eq!(
        store
            .historic_variable_by_id(in_its_millisecond)
            .expect("lookup"),
        None
    );
    assert!(
        store
            .historic_activity_by_id(&of_plain)
            .expect("lookup")
            .is_some()
    );
}

/// The entries of a kind one step writes for an instance share one per-instance index entry;
/// an instance's entries read back in creation order whichever index entry names them (one
/// written before grouping, with an empty value, included), and its history's removal removes
/// them all and nothing of another instance.
#[tokio::test]
async fn history_logs_of_one_step_share_an_index_entry_and_go_with_their_instance() {
    use crate::records::{ExternalTaskLog, HistoryLog, HistoryLogKind, LogState};
    use crate::store::HistoryLogStore;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let log = |id: &str, instance: &str, state: LogState| {
        HistoryLog::ExternalTask(ExternalTaskLog {
            id: id.into(),
            timestamp: 1,
            state,
            external_task_id: format!("task-of-{instance}"),
            topic_name: "work".into(),
            worker_id: None,
            priority: 0,
            retries: None,
            error_message: None,
            error_details: None,
            activity_id: "task".into(),
            activity_instance_id: "task:1".into(),
            execution_id: instance.into(),
            process_instance_id: instance.into(),
            process_definition_id: "order:1:x".into(),
            process_definition_key: "order".into(),
            tenant_id: None,
        })
    };
    // Ids in creation order: log-1 < log-2 < ...
    let mut ws = WriteSet::new();
    // An entry indexed the way older releases did: its own index entry, empty value.
    let older = log("log-1", "pi-1", LogState::Created);
    ws.put(
        Tree::HistoryLogs,
        super::index::history_log_key(HistoryLogKind::ExternalTask, "log-1"),
        &older,
    );
    ws.index(
        Tree::HistoryLogsByInstance,
        super::index::history_log_instance_key("pi-1", HistoryLogKind::ExternalTask, "log-1"),
    );
    store.commit_durable(&ws).await.expect("commit");
    let mut ws = WriteSet::new();
    store.stage_history_logs(
        &mut ws,
        &[
            log("log-3", "pi-1", LogState::Created),
            log("log-2", "pi-2", LogState::Created),
            log("log-4", "pi-1", LogState::Successful),
            log("log-5", "pi-2", LogState::Successful),
        ],
    );
    store.commit_durable(&ws).await.expect("commit");
    let mut ws = WriteSet::new();
    store.stage_history_log(&mut ws, &log("log-6", "pi-1", LogState::Deleted));
    store.commit_durable(&ws).await.expect("commit");

    let index_entries = |instance: &str| {
        store
            .scan_keys(
                Tree::HistoryLogsByInstance,
                &super::keys::Key::new().str(instance).build(),
                usize::MAX,
            )
            .expect("scan")
            .len()
    };
    // pi-1: the older entry, the step's two, the last one; pi-2: the step's two.
    assert_eq!(index_entries("pi-1"), 3);
    assert_eq!(index_entries("pi-2"), 1);
    let ids = |instance: &str| -> Vec<String> {
        store
            .history_logs_of_instance(instance, HistoryLogKind::ExternalTask)
            .expect("read")
            .iter()
            .map(|l| l.id().to_owned())
            .collect()
    };
    assert_eq!(ids("pi-1"), ["log-1", "log-3", "log-4", "log-6"]);
    assert_eq!(ids("pi-2"), ["log-2", "log-5"]);
    assert!(ids("pi-3").is_empty());
    assert!(
        store
            .history_logs_of_instance("pi-1", HistoryLogKind::Detail)
            .expect("read")
            .is_empty()
    );

    let mut ws = WriteSet::new();
    store
        .stage_history_logs_removal(&mut ws, "pi-1")
        .expect("stage removal");
    store.commit_durable(&ws).await.expect("commit");
    assert!(ids("pi-1").is_empty());
    assert_eq!(index_entries("pi-1"), 0);
    for id in ["log-1", "log-3", "log-4", "log-6"] {
        assert_eq!(
            store
                .history_log(HistoryLogKind::ExternalTask, id)
                .expect("read"),
            None,
            "{id}"
        );
    }
    assert_eq!(ids("pi-2"), ["log-2", "log-5"]);
    let all = store
        .history_logs_where(
            HistoryLogKind::ExternalTask,
            &mut |_| crate::store::Accept::Take,
            0,
            usize::MAX,
        )
        .expect("read");
    assert_eq!(all.len(), 2);
}
