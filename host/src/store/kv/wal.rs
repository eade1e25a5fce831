//! The write-ahead log: what makes a commit durable before sled has it.
//!
//! Every batch the committer applies to the memtable ([`super::memtable`]) is appended here as
//! one record; [`Wal::sync`] (one `fdatasync` shared by every waiting command: group commit)
//! is what an acknowledgement waits for. The records of commands that wait for that sync
//! anyway are held in memory until it and written with one `write(2)`. A checkpoint writes
//! the memtable's frozen layer into sled, flushes sled, and only then deletes the log
//! segments that layer came from. On open, the segments still present are replayed into sled:
//! each record is a list of blind puts and removals, so replaying a segment over a sled that
//! already holds part of it gives the same result.
//!
//! Layout: `<data dir>/baton-wal/<number>.log`. A segment starts with the names of the trees in
//! the order its records number them (an upgrade that adds trees still reads old segments).
//! A record is `length u32 LE | crc32 u32 LE | payload`, the checksum taken over the segment's
//! number (u64 LE) and the payload (segments of format 1, `BATONWL1`, over the payload only);
//! the payload is a sequence of
//! `0 | tree u8 | key length u32 | key | value length u32 | value` (put) and
//! `1 | tree u8 | key length u32 | key` (removal), `2 | tree u8 | key length u32 | key |
//! delta i64` (a kept count changed by that key: [`super::counts`]) and, in the first record
//! of a segment only, `3 | tree u8 | component length u32 | component | count i64` (the counts
//! when the segment started). A record cut short or failing its checksum
//! at the end of the newest segment is a write the crash interrupted (never acknowledged: its
//! sync had not returned) and is dropped (and cut off the file before the next segment is
//! started); anywhere else it is corruption and opening fails.
//!
//! Segment files are recycled: a checkpoint renames the newest segment it made obsolete to
//! [`SPARE`] instead of deleting it, and the next segment is written over it; where there is
//! no such segment (the first ones of a run) the spare is a file of zeros written beforehand,
//! off the commit path ([`SPARE_BYTES`], about 10 ms here). Writing into
//! blocks a file already has leaves its size and block map alone, so a sync writes the
//! records only, not the file's metadata too (measured here: `fdatasync` after a 4-128 KiB
//! write p50 0.15-0.27 ms on a growing file, 0.09-0.16 ms inside an allocated one). What the
//! file held before is left behind the records; it does not replay, since its checksums were
//! taken with an older segment number. A segment closed by a rotation ends with a record
//! holding only `4` (what follows it is ignored); the newest segment, which has no such
//! record, is cut to its last whole record by the recovery before a later segment exists.
//! So damage before the end is still found in every segment but the newest.
//!
//! With `fsync` durability the records are written with `O_DIRECT` where the file system
//! allows it ([`Segment::direct`]): whole 4 KiB blocks, the block a write starts in written
//! again with the bytes it already holds, and the last one padded with zeros (the next write
//! covers them). That skips the page cache's copy of every record and its writeback in the
//! sync; the sync still flushes the device's cache. Measured under `wrk -c8` REST starts of
//! `one`: the log's share of the server's CPU samples 9.3% -> 8.4%. One writer at a time
//! ([`Wal::writing`]) takes the held records and writes them without holding the segment's
//! lock, so commits append while a direct write waits for the device.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::counts::{Delta, Snapshot};
use super::{Op, StoreError, Tree, WriteSet};
use crate::store::Result;

/// The directory of the log inside the data directory.
const DIR: &str = "baton-wal";

/// The first bytes of a segment (format of this log): 2, record checksums bound to the
/// segment number.
const MAGIC: &[u8; 8] = b"BATONWL2";

/// The first bytes of a segment an older release wrote (checksums over the payload only).
const MAGIC_V1: &[u8; 8] = b"BATONWL1";

/// The payload of the record that closes a segment (format 2).
const CLOSED: u8 = 4;

/// The obsolete segment file kept for the next segment to be written over.
const SPARE: &str = "spare";

/// The size of a spare written as zeros (a recycled one has its segment's size): about what
/// a checkpoint's worth of commits writes ([`super::checkpoint::CHECKPOINT_BYTES`] of
/// memtable). A segment that outgrows its file grows it as before.
const SPARE_BYTES: usize = 16 << 20;

/// Make sure `dir` has a spare for the next segment: write one of zeros if not. A failure
/// only costs speed (the next segment grows its file), so it is logged, not returned.
fn ensure_spare(dir: &Path) {
    let spare = dir.join(SPARE);
    if spare.exists() {
        return;
    }
    let partial = dir.join(format!("{SPARE}.partial"));
    let written = (|| -> std::io::Result<()> {
        let mut file = File::create(&partial)?;
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..SPARE_BYTES / zeros.len() {
            std::io::Write::write_all(&mut file, &zeros)?;
        }
        file.sync_data()?;
        fs::rename(&partial, &spare)
    })();
    if let Err(e) = written
        .map_err(|e| io("write spare segment", e))
        .and_then(|()| sync_dir(dir))
    {
        tracing::warn!("{e} (the next segment grows its file instead)");
        let _ = fs::remove_file(&partial);
    }
}

/// The largest record accepted when reading (a corrupt length must not allocate gigabytes).
const MAX_RECORD: usize = 1 << 30;

fn io(context: &str, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("write-ahead log: {context}: {e}"))
}

/// The segment being appended to.
struct Segment {
    number: u64,
    /// The file as opened for buffered writes: its header, and every write where `direct`
    /// is `None`. Synced through this handle either way (one inode).
    file: Arc<File>,
    /// The same file opened with `O_DIRECT` ([`open_direct`]), for the records: a durable
    /// write then skips the page cache's copy and its writeback. `None` with relaxed
    /// durability (a direct write waits for the device; relaxed commits must not) or where
    /// the file system refuses it.
    direct: Option<Arc<File>>,
    /// Bytes of records (and header) in the file, or being written to it by the writer
    /// holding [`Wal::writing`] (a reused file is longer).
    bytes: u64,
    /// A failed append could not be cut off: nothing may be appended behind it.
    damaged: bool,
    /// Records appended but not yet written to the file ([`Wal::append`] with `held`), in
    /// order; written before anything else is and before every sync.
    held: Vec<u8>,
    /// What the file holds of its last partial block (up to `bytes`): the first
    /// `bytes % BLOCK` bytes of it. A direct write covers whole blocks, so it writes these
    /// again before the new records (the same bytes: a write torn by a power cut leaves them
    /// as they were).
    tail: Vec<u8>,
}

/// Held records taken out of the segment, to be written without holding its lock.
struct Taken {
    /// The handle they are written through (the direct one if the segment has it).
    file: Arc<File>,
    /// Where they go.
    at: u64,
    /// For a direct write, the segment's tail before them (what the write starts with).
    tail: Option<Vec<u8>>,
    records: Vec<u8>,
}

impl Taken {
    /// Write the records (`scratch`: where a direct write is put together).
    fn write(&self, scratch: &mut Vec<u8>) -> std::io::Result<()> {
        match &self.tail {
            Some(tail) => write_blocks(&self.file, scratch, tail, &self.records, self.at),
            None => self.file.write_all_at(&self.records, self.at),
        }
    }
}

impl Segment {
    fn new(number: u64, file: File, direct: Option<File>, written: &[u8]) -> Segment {
        Segment {
            number,
            file: Arc::new(file),
            direct: direct.map(Arc::new),
            bytes: written.len() as u64,
            damaged: false,
            held: Vec::new(),
            tail: written[written.len() - written.len() % BLOCK..].to_vec(),
        }
    }

    /// Take the held records for writing: from here the segment counts them as written.
    /// Only the holder of [`Wal::writing`] may, and it must [`Segment::settle`] a failed
    /// write before it lets go, so writes reach the file in commit order.
    fn take_held(&mut self) -> Option<Taken> {
        if self.held.is_empty() {
            return None;
        }
        let records = std::mem::take(&mut self.held);
        let at = self.bytes;
        self.bytes += records.len() as u64;
        let tail = self.direct.is_some().then(|| {
            let keep = (self.bytes % BLOCK as u64) as usize;
            if keep <= records.len() {
                std::mem::replace(&mut self.tail, records[records.len() - keep..].to_vec())
            } else {
                // The records end in the block the tail began: it grows.
                let before = self.tail.clone();
                self.tail.extend_from_slice(&records);
                before
            }
        });
        Some(Taken {
            file: self.direct.clone().unwrap_or_else(|| self.file.clone()),
            at,
            tail,
            records,
        })
    }

    /// Account for a failed write of `taken`: its records are held again, ahead of any
    /// appended since, and whatever part of them reached the file is cut off (a later
    /// write or sync tries them again, so the log keeps commit order). A direct write the
    /// file system refuses (blocks larger than [`BLOCK`]) is written buffered instead, and
    /// so is every later one.
    fn settle(&mut self, taken: Taken, error: std::io::Error) -> Result<()> {
        self.bytes = taken.at;
        let direct = taken.tail.is_some();
        if let Some(tail) = taken.tail {
            self.tail = tail;
        }
        let mut held = taken.records;
        held.extend_from_slice(&self.held);
        self.held = held;
        if direct && error.kind() == std::io::ErrorKind::InvalidInput {
            tracing::warn!("write-ahead log: O_DIRECT write refused ({error}); writing buffered");
            self.direct = None;
            return self.write_held(&mut Vec::new());
        }
        if let Err(cut) = self.file.set_len(self.bytes) {
            tracing::error!("write-ahead log: cannot cut off a failed write: {cut}");
            self.damaged = true;
        }
        Err(io("append", error))
    }

    /// Write the held records to the file now, under the segment's lock (the caller holds
    /// [`Wal::writing`] too, and lends its buffer).
    fn write_held(&mut self, scratch: &mut Vec<u8>) -> Result<()> {
        let Some(taken) = self.take_held() else {
            return Ok(());
        };
        match taken.write(scratch) {
            Ok(()) => Ok(()),
            Err(e) => self.settle(taken, e),
        }
    }
}

/// The block a direct write covers whole (the file systems baton runs on use 4 KiB or less).
const BLOCK: usize = 4096;

/// Open `path` for `O_DIRECT` writes, or `None` where that is not available (a file system
/// that refuses it, such as an older kernel's tmpfs; systems other than Linux).
fn open_direct(path: &Path) -> Option<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flag = rustix::fs::OFlags::DIRECT.bits() as i32;
        match OpenOptions::new().write(true).custom_flags(flag).open(path) {
            Ok(file) => Some(file),
            Err(e) => {
                // Once per process: every rotation (up to one a second) would say it again.
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| {
                    tracing::info!(
                        "write-ahead log: no O_DIRECT for {} ({e}); writing buffered",
                        path.display()
                    );
                });
                None
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// Write `records` at `at` through a direct handle: the block `at` falls in is written
/// again from its start (`tail`, what the file holds of it), and the last block is padded
/// with zeros, which the next write covers again. `scratch` is reused between writes.
fn write_blocks(
    direct: &File,
    scratch: &mut Vec<u8>,
    tail: &[u8],
    records: &[u8],
    at: u64,
) -> std::io::Result<()> {
    let len = tail.len() + records.len();
    let padded = len.next_multiple_of(BLOCK);
    // Grown only, never cleared: every byte written below is set first (zeroing the whole
    // buffer on each flush was 0.8% of a loaded server's CPU).
    if scratch.len() < padded + BLOCK {
        scratch.resize(padded + BLOCK, 0);
    }
    let offset = scratch.as_ptr().align_offset(BLOCK);
    let Some(blocks) = scratch.get_mut(offset..offset + padded) else {
        return Err(std::io::Error::other("cannot align the write buffer"));
    };
    blocks[..tail.len()].copy_from_slice(tail);
    blocks[tail.len()..len].copy_from_slice(records);
    blocks[len..].fill(0);
    direct.write_all_at(blocks, at - tail.len() as u64)
}

/// The open log.
pub(super) struct Wal {
    dir: PathBuf,
    current: Mutex<Segment>,
    /// Records appended since open (the positions [`Wal::sync_appended`] reports).
    appended: AtomicU64,
    /// Held by whoever writes records to the file (a flush, a rotation, an append written
    /// at once), from taking them out of `current` until they are written: writes reach the
    /// file in the order they were taken. A flush writes without holding `current`, so
    /// appends go on while a direct write waits for the device. Taken before `current`.
    /// Holds the buffer a direct write is put together in.
    writing: Mutex<Vec<u8>>,
    /// The first segment this run created: only segments from here on are recycled (an
    /// older release's segment, checksummed without its number, could replay from a tail).
    first_own: u64,
    /// Records are written with `O_DIRECT` where the file system allows it (see
    /// [`Segment::direct`]).
    direct: bool,
}

/// One record's encoding buffer, reused between batches by the committer.
#[derive(Default)]
pub(super) struct RecordBuffer {
    bytes: Vec<u8>,
}

impl RecordBuffer {
    /// Start a record.
    pub(super) fn begin(&mut self) {
        self.bytes.clear();
        self.bytes.extend_from_slice(&[0; 8]);
    }

    /// Add the puts and removals of an applied write set.
    pub(super) fn add(&mut self, set: &WriteSet) {
        for op in &set.ops {
            match op {
                Op::Put(tree, key, value) => {
                    self.bytes.push(0);
                    self.bytes.push(*tree as u8);
                    put_bytes(&mut self.bytes, key);
                    put_bytes(&mut self.bytes, value);
                }
                Op::Delete(tree, key) => {
                    self.bytes.push(1);
                    self.bytes.push(*tree as u8);
                    put_bytes(&mut self.bytes, key);
                }
                Op::Guard(..) => {}
            }
        }
    }

    /// Add the kept counts' changes of the applied sets.
    pub(super) fn add_deltas(&mut self, deltas: &[Delta]) {
        for (tree, key, delta) in deltas {
            self.bytes.push(2);
            self.bytes.push(*tree as u8);
            put_bytes(&mut self.bytes, key);
            self.bytes.extend_from_slice(&delta.to_le_bytes());
        }
    }

    /// Whether the record has no operation.
    pub(super) fn is_empty(&self) -> bool {
        self.bytes.len() <= 8
    }

    /// Seal the record (length and checksum) for segment `number` and return its bytes.
    fn seal(&mut self, number: u64) -> &[u8] {
        let payload_len = (self.bytes.len() - 8) as u32;
        let crc = checksum(Some(number), &self.bytes[8..]);
        self.bytes[0..4].copy_from_slice(&payload_len.to_le_bytes());
        self.bytes[4..8].copy_from_slice(&crc.to_le_bytes());
        &self.bytes
    }
}

/// A record's checksum: over the segment number and the payload, or (a format 1 segment,
/// `None`) the payload only.
fn checksum(number: Option<u64>, payload: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    if let Some(number) = number {
        crc.update(&number.to_le_bytes());
    }
    crc.update(payload);
    crc.finalize()
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:020}.log"))
}

/// The numbers of the segments in `dir`, oldest first.
fn segment_numbers(dir: &Path) -> Result<Vec<u64>> {
    let mut numbers = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io("list segments", e))? {
        let entry = entry.map_err(|e| io("list segments", e))?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        numbers.push(number);
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// Make a directory entry change (a created or removed segment) durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("sync directory", e))
}

/// Start segment `number` with its header (`direct`: its records written with `O_DIRECT`).
fn create_segment(dir: &Path, number: u64, counts: &Snapshot, direct: bool) -> Result<Segment> {
    let path = segment_path(dir, number);
    let spare = dir.join(SPARE);
    // The spare gets the new header (and is synced) before its rename: a crash in between
    // leaves a spare, and after it a segment whose old records do not check out.
    let recycled = match OpenOptions::new().write(true).open(&spare) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io("open spare segment", e)),
    };
    let file = match &recycled {
        Some(file) => file.try_clone().map_err(|e| io("open spare segment", e))?,
        None => OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| io("create segment", e))?,
    };
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&(Tree::ALL.len() as u32).to_le_bytes());
    for tree in Tree::ALL {
        put_bytes(&mut header, tree.name().as_bytes());
    }
    let mut snapshot = RecordBuffer::default();
    snapshot.begin();
    for ((tree, component), count) in counts {
        snapshot.bytes.push(3);
        snapshot.bytes.push(*tree as u8);
        put_bytes(&mut snapshot.bytes, component);
        snapshot.bytes.extend_from_slice(&count.to_le_bytes());
    }
    header.extend_from_slice(snapshot.seal(number));
    file.write_all_at(&header, 0)
        .and_then(|()| file.sync_data())
        .map_err(|e| io("write segment header", e))?;
    if recycled.is_some() {
        fs::rename(&spare, &path).map_err(|e| io("reuse spare segment", e))?;
    }
    sync_dir(dir)?;
    let direct = if direct { open_direct(&path) } else { None };
    Ok(Segment::new(number, file, direct, &header))
}

/// The changes a replay found: per tree, the final value of each key (`None`: removed).
pub(super) type Replayed = BTreeMap<Tree, BTreeMap<Vec<u8>, Option<Vec<u8>>>>;

/// What the segments a run left hold.
#[derive(Default)]
pub(super) struct Recovered {
    /// The final value of every key they change.
    pub(super) changes: Replayed,
    /// The counts when the oldest of them started (`None` if it has no snapshot).
    pub(super) counts: Option<Snapshot>,
    /// Every count change logged in them, in order.
    pub(super) deltas: Vec<Delta>,
    /// Their numbers, oldest first.
    pub(super) segments: Vec<u64>,
}

/// What one record holds besides its changes.
#[derive(Default)]
struct RecordExtras {
    deltas: Vec<Delta>,
    snapshot: Option<Snapshot>,
}

impl Wal {
    /// Read the segments the last run left in `data_dir` (for the caller to write their
    /// changes into sled, flush, set the counts, then [`Wal::create`] the next segment and
    /// [`Wal::discard_through`] the old ones).
    pub(super) fn recover(data_dir: &Path) -> Result<Recovered> {
        let dir = data_dir.join(DIR);
        fs::create_dir_all(&dir).map_err(|e| io("create directory", e))?;
        let mut recovered = Recovered {
            segments: segment_numbers(&dir)?,
            ..Recovered::default()
        };
        let segments = recovered.segments.clone();
        for (i, number) in segments.iter().enumerate() {
            let newest = i + 1 == segments.len();
            let path = segment_path(&dir, *number);
            let (snapshot, end) = read_segment(
                &path,
                *number,
                newest,
                &mut recovered.changes,
                &mut recovered.deltas,
            )?;
            if newest && end == 0 {
                // Its header never reached the disk: it holds nothing, and as an older
                // segment (once the next one exists) it would read as damaged.
                fs::remove_file(&path).map_err(|e| io("remove empty segment", e))?;
                sync_dir(&dir)?;
            } else if newest {
                // What follows the last whole record (a torn write, a recycled file's old
                // records) goes before a later segment makes this one not the newest.
                cut_after(&path, end)?;
            }
            if i == 0 {
                recovered.counts = snapshot;
            }
        }
        Ok(recovered)
    }

    /// Start the log after `recovered` with a new segment beginning with `counts`; `direct`:
    /// records written with `O_DIRECT` (for a log every commit syncs anyway: a direct write
    /// waits for the device).
    pub(super) fn create(
        data_dir: &Path,
        recovered: &Recovered,
        counts: &Snapshot,
        direct: bool,
    ) -> Result<Wal> {
        let dir = data_dir.join(DIR);
        let next = recovered.segments.last().map_or(1, |n| n + 1);
        if recovered.segments.is_empty() {
            // Numbering starts over: a spare from before could hold records of an earlier
            // segment with the number this one gets. It is only a speed-up; write a new one.
            match fs::remove_file(dir.join(SPARE)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io("remove spare segment", e));
                }
                _ => {}
            }
        }
        ensure_spare(&dir);
        let current = create_segment(&dir, next, counts, direct)?;
        Ok(Wal {
            dir,
            current: Mutex::new(current),
            writing: Mutex::new(Vec::new()),
            appended: AtomicU64::new(0),
            first_own: next,
            direct,
        })
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Segment> {
        // Appends finish or fail as a whole before the lock is released.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn writing(&self) -> Result<std::sync::MutexGuard<'_, Vec<u8>>> {
        // A writer that panicked may have taken records out of the segment without writing
        // them: a later sync must not report them durable.
        self.writing.lock().map_err(|_| {
            StoreError::Backend("write-ahead log: a write panicked; restart baton".into())
        })
    }

    /// Append a sealed record. Called by the one writer. Written to the OS at once, unless
    /// `held`: then it stays in memory until the next sync or the next record written at once
    /// (whichever comes first), which saves a `write(2)` per commit; only for records whose
    /// committers sync before they tell anyone of the change (a `kill -9` before that sync
    /// loses nothing anyone was told). A failed write (disk full) is cut off again, so that no
    /// later record sits behind a damaged one (a replay stops at the first damaged record).
    pub(super) fn append(&self, record: &mut RecordBuffer, held: bool) -> Result<()> {
        let mut writing = if held { None } else { Some(self.writing()?) };
        let mut current = self.current();
        let bytes = record.seal(current.number);
        if current.damaged {
            return Err(StoreError::Backend(
                "write-ahead log: an earlier append failed and could not be cut off; restart baton"
                    .into(),
            ));
        }
        let before = current.held.len();
        current.held.extend_from_slice(bytes);
        if let Some(scratch) = writing.as_deref_mut()
            && let Err(e) = current.write_held(scratch)
        {
            // Refused (its commit fails): it must not reach the log later with the held ones.
            current.held.truncate(before);
            return Err(e);
        }
        self.appended.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Bytes of the current segment written to its file (held records not included).
    #[cfg(test)]
    pub(super) fn written_bytes(&self) -> u64 {
        self.current().bytes
    }

    /// How many records were appended since open.
    pub(super) fn appended(&self) -> u64 {
        self.appended.load(Ordering::Acquire)
    }

    /// Wait until everything appended so far is on disk.
    pub(super) fn sync(&self) -> Result<()> {
        self.sync_appended().1
    }

    /// Wait until everything appended so far is on disk; says how many records that covers
    /// (counted when the sync started: later appends may or may not be on disk). A rotation
    /// syncs the segment it closes, so syncing the current one covers all records before.
    pub(super) fn sync_appended(&self) -> (u64, Result<()>) {
        let mut scratch = match self.writing() {
            Ok(scratch) => scratch,
            Err(e) => return (self.appended(), Err(e)),
        };
        let (covered, file, taken) = {
            let mut current = self.current();
            let covered = self.appended();
            (covered, current.file.clone(), current.take_held())
        };
        if let Some(taken) = taken
            && let Err(e) = taken.write(&mut scratch)
            && let Err(e) = self.current().settle(taken, e)
        {
            return (covered, Err(e));
        }
        drop(scratch);
        (covered, file.sync_data().map_err(|e| io("sync", e)))
    }

    /// Make sure the next [`Wal::rotate`] finds a spare to write over (called before the
    /// writer lock is taken: writing one takes milliseconds).
    pub(super) fn prepare_rotation(&self) {
        ensure_spare(&self.dir);
    }

    /// Start a new segment beginning with `counts` (the current one is synced first) and
    /// return the number of the last segment a checkpoint of everything applied so far makes
    /// obsolete.
    pub(super) fn rotate(&self, counts: &Snapshot) -> Result<u64> {
        let mut scratch = self.writing()?;
        let mut current = self.current();
        current.write_held(&mut scratch)?;
        // What the file holds behind this (a reused file's old records, zeros) is not
        // damage: only the newest segment may end without the mark.
        let mut closed = RecordBuffer::default();
        closed.begin();
        closed.bytes.push(CLOSED);
        let mark = closed.seal(current.number).to_vec();
        current.held.extend_from_slice(&mark);
        current.write_held(&mut scratch)?;
        current.file.sync_data().map_err(|e| io("sync", e))?;
        let next = create_segment(&self.dir, current.number + 1, counts, self.direct)?;
        let done = current.number;
        *current = next;
        Ok(done)
    }

    /// Delete every segment up to `last` (sled holds their changes and has been flushed),
    /// keeping the newest of this run's as the spare the next segment is written over.
    pub(super) fn discard_through(&self, last: u64) -> Result<()> {
        let obsolete: Vec<u64> = segment_numbers(&self.dir)?
            .into_iter()
            .filter(|n| *n <= last)
            .collect();
        let mut keep = obsolete
            .last()
            .copied()
            .filter(|n| *n >= self.first_own && !self.dir.join(SPARE).exists());
        for number in obsolete {
            let path = segment_path(&self.dir, number);
            if keep == Some(number) {
                keep = None;
                fs::rename(&path, self.dir.join(SPARE)).map_err(|e| io("keep spare segment", e))?;
            } else {
                fs::remove_file(&path).map_err(|e| io("remove segment", e))?;
            }
        }
        sync_dir(&self.dir)
    }

    /// Bytes of the log on disk (the spare included).
    pub(super) fn size_on_disk(&self) -> u64 {
        let spare = fs::metadata(self.dir.join(SPARE)).map_or(0, |m| m.len());
        segment_numbers(&self.dir)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| fs::metadata(segment_path(&self.dir, *n)).ok())
            .map(|m| m.len())
            .sum::<u64>()
            + spare
    }
}

/// Where the whole records of a log segment file end (`<data dir>/baton-wal/<number>.log`):
/// what follows is a write a crash cut short, a reused file's old records, or zeros. For
/// tools and tests that damage or inspect a log the way a crash would.
pub fn log_segment_end(path: &Path) -> Result<u64> {
    let number = path
        .file_stem()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| corrupt(path, "not a log segment name"))?;
    let mut replayed = Replayed::new();
    let (_, end) = read_segment(path, number, true, &mut replayed, &mut Vec::new())?;
    Ok(end)
}

/// A reader over a segment's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self) -> Option<i64> {
        let b = self.take(8)?;
        Some(i64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

fn corrupt(path: &Path, what: &str) -> StoreError {
    StoreError::Codec {
        tree: "write-ahead log",
        message: format!("{}: {what}", path.display()),
    }
}

/// Cut a segment file to its first `end` bytes, durably, if it is longer.
fn cut_after(path: &Path, end: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io("cut segment", e))?;
    let len = file.metadata().map_err(|e| io("cut segment", e))?.len();
    if len > end {
        file.set_len(end)
            .and_then(|()| file.sync_all())
            .map_err(|e| io("cut segment", e))?;
    }
    Ok(())
}

/// Read one segment's records into `replayed` and `deltas`; returns the counts snapshot it
/// starts with and where its last whole record ends. A damaged tail is dropped in the newest
/// segment and refused in any other.
fn read_segment(
    path: &Path,
    number: u64,
    newest: bool,
    replayed: &mut Replayed,
    deltas: &mut Vec<Delta>,
) -> Result<(Option<Snapshot>, u64)> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| io("read segment", e))?;
    let mut cursor = Cursor {
        bytes: &bytes,
        at: 0,
    };
    // Format 2 binds each record's checksum to the segment number; format 1 did not.
    let bound_to = match cursor.take(MAGIC.len()) {
        Some(m) if m == MAGIC.as_slice() => Some(Some(number)),
        Some(m) if m == MAGIC_V1.as_slice() => Some(None),
        _ => None,
    };
    let header_ok = bound_to.is_some();
    let bound_to = bound_to.flatten();
    let names = header_ok
        .then(|| {
            let n = cursor.u32()? as usize;
            (0..n.min(4096))
                .map(|_| {
                    cursor
                        .bytes()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                })
                .collect::<Option<Vec<String>>>()
        })
        .flatten();
    let Some(names) = names else {
        // A segment whose header never reached the disk holds no acknowledged write.
        return if newest {
            Ok((None, 0))
        } else {
            Err(corrupt(path, "damaged segment header"))
        };
    };
    let trees: Vec<Option<Tree>> = names
        .iter()
        .map(|name| Tree::ALL.iter().copied().find(|t| t.name() == name))
        .collect();
    let mut snapshot = None;
    let mut first = true;
    while cursor.at < bytes.len() {
        let start = cursor.at;
        let record = next_record(&mut cursor, bound_to);
        if record == Some(&[CLOSED]) {
            return Ok((snapshot, cursor.at as u64));
        }
        let Some(ops) = record else {
            if newest {
                tracing::info!(
                    "{}: dropping {} bytes after the last whole record (a write a crash cut \
                     short, or what a reused file held before)",
                    path.display(),
                    bytes.len() - start,
                );
                return Ok((snapshot, start as u64));
            }
            return Err(corrupt(path, "damaged record before the end of the log"));
        };
        let extras =
            apply_record(ops, &trees, replayed).ok_or_else(|| corrupt(path, "malformed record"))?;
        deltas.extend(extras.deltas);
        if first {
            snapshot = extras.snapshot;
        }
        first = false;
    }
    Ok((snapshot, cursor.at as u64))
}

/// The payload of the next record, if it is whole and its checksum (bound to the segment
/// number, for format 2) holds.
fn next_record<'a>(cursor: &mut Cursor<'a>, number: Option<u64>) -> Option<&'a [u8]> {
    let len = cursor.u32()? as usize;
    let crc = cursor.u32()?;
    if len > MAX_RECORD {
        return None;
    }
    let payload = cursor.take(len)?;
    (checksum(number, payload) == crc).then_some(payload)
}

fn apply_record(
    payload: &[u8],
    trees: &[Option<Tree>],
    replayed: &mut Replayed,
) -> Option<RecordExtras> {
    let mut cursor = Cursor {
        bytes: payload,
        at: 0,
    };
    let mut extras = RecordExtras::default();
    while cursor.at < payload.len() {
        let kind = cursor.u8()?;
        let tree = (*trees.get(cursor.u8()? as usize)?)?;
        let key = cursor.bytes()?.to_vec();
        match kind {
            0 => {
                let value = cursor.bytes()?.to_vec();
                replayed.entry(tree).or_default().insert(key, Some(value));
            }
            1 => {
                replayed.entry(tree).or_default().insert(key, None);
            }
            2 => extras.deltas.push((tree, key, cursor.i64()?)),
            3 => {
                let count = cursor.i64()?;
                extras
                    .snapshot
                    .get_or_insert_with(Snapshot::new)
                    .insert((tree, key), count);
            }
            _ => return None,
        }
    }
    Some(extras)
}
