//! The store: MVCC state behind a lock, a group-committed WAL, the watch hub,
//! and a maintenance thread (lease expiry, progress ticks, snapshots).
//!
//! A write applies to the state under the state lock, appends its WAL record
//! and events to a pending batch, releases the lock and then commits: the
//! first writer to reach the commit lock writes and fsyncs everything pending
//! (its own and later writers' records, one fsync for all), then publishes the
//! events to watchers and makes the revision visible to readers. A write
//! returns only once its record is durable, and readers (range, watch) never
//! see a revision that is not.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use crate::clock::{Clock, ManualClock, SystemClock};
use crate::error::{empty_key, Result, StoreError};
use crate::snapshot;
use crate::state::{Limits, State};
use crate::txn::Changes;
use crate::types::{
    Alarm, Bytes, DeleteRangeRequest, DeleteRangeResponse, Event, LeaseGrantResponse,
    LeaseTimeToLiveResponse, PutRequest, PutResponse, RangeRequest, RangeResponse, Status,
    TxnRequest, TxnResponse,
};
use crate::wal::{self, Record, WalWriter};
use crate::watch::{Hub, Router, StreamInner, WatchRequest, WatchResponse, CATCHUP_MAX_REVS};

/// How to open a store.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the WAL and snapshots live; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    pub limits: Limits,
    /// fsync each group commit (turn off only for throwaway data).
    pub fsync: bool,
    /// Take a snapshot once this many WAL bytes were written since the last one.
    pub snapshot_wal_bytes: u64,
    /// Leases expire only when [`Store::advance_clock`] moves time.
    pub manual_clock: bool,
    /// Period of progress notifications for watches that asked for them.
    pub progress_notify_interval: Duration,
    /// Group-commit window of deferred writes: when writes kept arriving
    /// while the previous fsync ran (a busy stream), the committer waits until
    /// this long after that fsync started before the next one, so one fsync
    /// carries more writes. A lone writer never waits. Zero (the default)
    /// disables it: measured with `etcdctl check perf`, whose pacing suffers
    /// from bursty replies, a 0.5 ms window lost ~8% throughput.
    pub commit_window: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            data_dir: None,
            limits: Limits::default(),
            fsync: true,
            snapshot_wal_bytes: 64 * 1024 * 1024,
            manual_clock: false,
            progress_notify_interval: Duration::from_secs(600),
            commit_window: Duration::ZERO,
        }
    }
}

/// Applied-but-not-yet-committed work.
#[derive(Default)]
struct Pending {
    /// Whether records are encoded for a WAL (false in memory).
    durable: bool,
    buf: Vec<u8>,
    /// Events in revision order (each carries its revision as `kv.mod_revision`).
    events: Vec<Arc<Event>>,
    /// Sequence number of the newest pending write.
    seq: u64,
    /// A record was queued in memory mode (nothing to encode, but a commit is due).
    dirty: bool,
    /// Newest revision applied (0: none pending).
    upto: i64,
    /// Some pending revision's events were not built (nobody was watching).
    elided: bool,
}

struct Commit {
    wal: Option<WalWriter>,
    durable_seq: u64,
    /// WAL bytes written since the last snapshot.
    since_snapshot: u64,
}

pub(crate) struct Shared {
    opts: Options,
    state: RwLock<State>,
    pending: Mutex<Pending>,
    commit: Mutex<Commit>,
    hub: Mutex<Hub>,
    /// Number of registered watchers (kept by the hub); 0 lets writers skip events.
    watcher_count: Arc<AtomicUsize>,
    /// Newest revision readers may see (durable and published).
    visible: AtomicI64,
    clock: Arc<dyn Clock>,
    manual: Option<Arc<ManualClock>>,
    closed: AtomicBool,
    failed: Mutex<Option<String>>,
    next_stream: AtomicU64,
    /// Serializes physical compaction with snapshot dumps.
    maintenance: Mutex<()>,
    stop: (Mutex<bool>, Condvar),
    warnings: Vec<String>,
    /// Sequence number of the newest durable write (mirrors `Commit::durable_seq`).
    durable: AtomicU64,
    /// Deferred writers waiting for durability: (sequence, waker).
    waiters: Mutex<Vec<(u64, std::task::Waker)>>,
    /// Wakes the committer thread of a durable store (deferred writes).
    kick: (Mutex<bool>, Condvar),
}

/// The MVCC watchable key-value store. Cheap to share: clone the `Arc` you
/// keep it in; every method takes `&self` and is safe to call from many threads.
pub struct Store {
    shared: Arc<Shared>,
    bg: Mutex<Option<JoinHandle<()>>>,
    /// Commits deferred writes of a durable store (none in memory).
    committer: Mutex<Option<JoinHandle<()>>>,
}

/// The future of [`Store::durable`].
pub struct Durable {
    shared: Arc<Shared>,
    seq: u64,
}

impl std::future::Future for Durable {
    type Output = Result<()>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<()>> {
        use std::task::Poll;
        let ready = |s: &Shared| {
            if s.durable.load(Ordering::SeqCst) >= self.seq {
                return Some(Ok(()));
            }
            if let Some(m) = s.failed.lock().as_ref() {
                return Some(Err(StoreError::Io(m.clone())));
            }
            s.closed
                .load(Ordering::SeqCst)
                .then_some(Err(StoreError::Closed))
        };
        if let Some(r) = ready(&self.shared) {
            return Poll::Ready(r);
        }
        self.shared
            .waiters
            .lock()
            .push((self.seq, cx.waker().clone()));
        // Re-check: the commit may have landed between the check and the push.
        match ready(&self.shared) {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

/// A set of watches sharing one bounded queue (one etcd Watch stream).
pub struct WatchStream {
    shared: Arc<Shared>,
    inner: Arc<StreamInner>,
}

impl Store {
    /// Opens (or creates) a store. With a data dir, recovers the newest
    /// snapshot plus the WAL after it; a torn WAL tail is truncated with a
    /// warning (see [`Status::recovery_warnings`]); any other damage is
    /// [`StoreError::Corruption`] and nothing is opened.
    pub fn open(opts: Options) -> Result<Store> {
        let (clock, manual): (Arc<dyn Clock>, Option<Arc<ManualClock>>) = if opts.manual_clock {
            let m = Arc::new(ManualClock::default());
            (m.clone(), Some(m))
        } else {
            (Arc::new(SystemClock::default()), None)
        };
        let now = clock.now_ms();
        let (state, wal, warnings, replayed) = match &opts.data_dir {
            Some(dir) => {
                let r = recover(dir, opts.limits, opts.fsync, now)?;
                (r.state, Some(r.wal), r.warnings, r.replayed)
            }
            None => (State::new(opts.limits), None, Vec::new(), 0),
        };
        let current = state.current;
        let mut hub = Hub::default();
        hub.published = current;
        let watcher_count = hub.count.clone();
        let shared = Arc::new(Shared {
            opts,
            state: RwLock::new(state),
            pending: Mutex::new(Pending {
                durable: wal.is_some(),
                ..Pending::default()
            }),
            commit: Mutex::new(Commit {
                wal,
                durable_seq: 0,
                // WAL replayed at start counts towards the next snapshot, so
                // a store that restarts often still snapshots.
                since_snapshot: replayed,
            }),
            hub: Mutex::new(hub),
            watcher_count,
            visible: AtomicI64::new(current),
            clock,
            manual,
            closed: AtomicBool::new(false),
            failed: Mutex::new(None),
            next_stream: AtomicU64::new(1),
            maintenance: Mutex::new(()),
            stop: (Mutex::new(false), Condvar::new()),
            warnings,
            durable: AtomicU64::new(0),
            waiters: Mutex::new(Vec::new()),
            kick: (Mutex::new(false), Condvar::new()),
        });
        let bg_shared = shared.clone();
        let bg = std::thread::Builder::new()
            .name("kubemu-store".into())
            .spawn(move || bg_shared.maintenance_loop())
            .map_err(StoreError::from)?;
        let committer = if shared.opts.data_dir.is_some() {
            let c = shared.clone();
            Some(
                std::thread::Builder::new()
                    .name("kubemu-wal".into())
                    .spawn(move || c.committer_loop())
                    .map_err(StoreError::from)?,
            )
        } else {
            None
        };
        Ok(Store {
            shared,
            bg: Mutex::new(Some(bg)),
            committer: Mutex::new(committer),
        })
    }

    /// An in-memory store with default options.
    pub fn in_memory() -> Store {
        Store::open(Options::default()).expect("in-memory store opens")
    }

    /// The newest visible revision.
    pub fn revision(&self) -> i64 {
        self.shared.visible.load(Ordering::SeqCst)
    }

    /// The compacted revision (0 if never compacted).
    pub fn compact_revision(&self) -> i64 {
        self.shared.state.read().compact
    }

    /// Puts one key; one revision.
    pub fn put(&self, req: &PutRequest) -> Result<PutResponse> {
        self.shared.write(|st, p| {
            let (resp, ch) = st.put_request(req)?;
            p.add(ch, true);
            Ok(resp)
        })
    }

    /// Puts many keys, one revision each, all-or-nothing validation, one
    /// group commit. Returns the last revision.
    pub fn put_many(&self, items: &[(Bytes, Bytes)], lease: i64) -> Result<i64> {
        let max = self.shared.opts.limits.max_request_bytes;
        for (k, v) in items {
            if k.is_empty() {
                return Err(empty_key());
            }
            if k.len() + v.len() > max {
                return Err(StoreError::RequestTooLarge);
            }
        }
        self.shared.write(|st, p| {
            if lease != 0 && !st.lessor.contains(lease) {
                return Err(StoreError::LeaseNotFound);
            }
            let cost: i64 = items
                .iter()
                .map(|(k, v)| (k.len() + v.len()) as i64 + 48)
                .sum();
            if st.alarms.contains(&Alarm::NoSpace) {
                return Err(StoreError::NoSpace);
            }
            if st.size_in_use + cost > st.limits.quota_bytes {
                st.alarms.insert(Alarm::NoSpace);
                return Err(StoreError::NoSpace);
            }
            if p.durable && !items.is_empty() {
                wal::encode_put_batch(&mut p.buf, st.current + 1, lease, items);
            }
            // The batch record carries the WAL; events only if someone watches.
            let watching = self.shared.watcher_count.load(Ordering::SeqCst) > 0;
            st.emit_events = watching;
            if watching {
                p.events.reserve(items.len());
            } else if !items.is_empty() {
                p.elided = true;
            }
            apply_put_batch(st, items.iter().cloned(), lease, |ev| {
                p.events.push(Arc::new(ev))
            });
            p.upto = st.current;
            Ok(st.current)
        })
    }

    /// Applies a put and returns without waiting for it to be durable: await
    /// [`Store::durable`] with the returned sequence before acknowledging it.
    /// For async servers: no thread blocks on fsync.
    pub fn put_deferred(&self, req: &PutRequest) -> Result<(PutResponse, u64)> {
        self.shared.write_deferred(|st, p| {
            let (resp, ch) = st.put_request(req)?;
            p.add(ch, true);
            Ok(resp)
        })
    }

    /// [`Store::delete_range`], deferred like [`Store::put_deferred`].
    pub fn delete_range_deferred(
        &self,
        req: &DeleteRangeRequest,
    ) -> Result<(DeleteRangeResponse, u64)> {
        self.shared.write_deferred(|st, p| {
            let (resp, ch) = st.delete_request(req)?;
            p.add(ch, true);
            Ok(resp)
        })
    }

    /// [`Store::txn`], deferred like [`Store::put_deferred`].
    pub fn txn_deferred(&self, req: &TxnRequest) -> Result<(TxnResponse, u64)> {
        self.shared.write_deferred(|st, p| {
            let (resp, ch) = st.txn(req)?;
            p.add(ch, true);
            Ok(resp)
        })
    }

    /// Resolves once every write up to `seq` is durable (and visible), or
    /// with an error if the store failed or closed first.
    pub fn durable(&self, seq: u64) -> Durable {
        Durable {
            shared: self.shared.clone(),
            seq,
        }
    }

    /// The limits this store was opened with.
    pub fn limits(&self) -> Limits {
        self.shared.opts.limits
    }

    /// Reads a range at the newest visible revision (or `req.revision`).
    pub fn range(&self, req: &RangeRequest) -> Result<RangeResponse> {
        self.shared.check_open()?;
        let st = self.shared.state.read();
        st.range_request(req, self.revision())
    }

    /// Deletes a range; one revision if anything was deleted.
    pub fn delete_range(&self, req: &DeleteRangeRequest) -> Result<DeleteRangeResponse> {
        self.shared.write(|st, p| {
            let (resp, ch) = st.delete_request(req)?;
            p.add(ch, true);
            Ok(resp)
        })
    }

    /// Creates each `(key, value)` whose key does not exist: per item the
    /// revision it was created at, or `None` when the key existed (in the
    /// store, or earlier in `items`). The items are taken `chunk` at a time
    /// (0 is taken as 1), each chunk as one etcd txn of nested
    /// `if mod(key) == 0 then put(key, value)` txns: one revision per chunk
    /// that created anything, a chunk's checks (empty key, request size over
    /// `max_request_bytes` counting each key twice, the quota for all its
    /// puts, NOSPACE) before it writes. All chunks are applied under one lock
    /// and made durable by one group commit before this returns. An error in
    /// a chunk is returned after the chunks before it were committed (as if
    /// each chunk had been its own txn); nothing of that chunk or later ones
    /// is written. Cost: one index lookup and one put per item, no per-item
    /// request objects.
    pub fn create_many(&self, items: &[(Bytes, Bytes)], chunk: usize) -> Result<Vec<Option<i64>>> {
        self.shared.write(|st, p| {
            let mut out = Vec::with_capacity(items.len());
            for part in items.chunks(chunk.max(1)) {
                let (created, ch) = st.create_absent(part)?;
                p.add(ch, true);
                out.extend(created);
            }
            Ok(out)
        })
    }

    /// Runs a txn; one revision if it wrote anything.
    pub fn txn(&self, req: &TxnRequest) -> Result<TxnResponse> {
        self.shared.write(|st, p| {
            let (resp, ch) = st.txn(req)?;
            p.add(ch, true);
            Ok(resp)
        })
    }

    /// Compacts history below `rev`. Returns the current revision once the
    /// compaction is durable and physically done (in batches that let writers in).
    pub fn compact(&self, rev: i64) -> Result<i64> {
        let current = self.shared.write(|st, p| {
            if rev <= st.compact {
                return Err(StoreError::Compacted);
            }
            // Against the visible revision: compacting past what readers can
            // see would make a plain read fail as compacted.
            if rev > self.revision() {
                return Err(StoreError::FutureRevision);
            }
            st.compact = rev;
            p.record(|b| wal::encode_simple(b, wal::REC_COMPACT, rev, 0));
            Ok(st.current)
        })?;
        self.shared.physical_compact(rev);
        Ok(current)
    }

    /// Opens a watch stream whose queue holds at most `max_pending_events`
    /// undelivered events (beyond that, its watchers fall back to catch-up).
    pub fn watch_stream(&self, max_pending_events: usize) -> WatchStream {
        let id = self.shared.next_stream.fetch_add(1, Ordering::SeqCst);
        WatchStream {
            shared: self.shared.clone(),
            inner: Arc::new(StreamInner::new(id, max_pending_events)),
        }
    }

    /// Grants a lease (`id` 0 picks one); TTL is raised to etcd's minimum.
    pub fn lease_grant(&self, ttl: i64, id: i64) -> Result<LeaseGrantResponse> {
        let now = self.shared.clock.now_ms();
        self.shared.write(|st, p| {
            let (id, ttl) = st.grant(id, ttl, now)?;
            p.record(|b| wal::encode_simple(b, wal::REC_LEASE_GRANT, id, ttl));
            Ok(LeaseGrantResponse {
                id,
                ttl,
                revision: st.current,
            })
        })
    }

    /// Revokes a lease, deleting its keys in one revision; returns the revision after.
    pub fn lease_revoke(&self, id: i64) -> Result<i64> {
        self.shared.revoke(id)
    }

    /// Renews a lease to its full TTL; returns the TTL.
    pub fn lease_keepalive(&self, id: i64) -> Result<i64> {
        self.shared.check_open()?;
        let now = self.shared.clock.now_ms();
        self.shared.state.write().lessor.renew(id, now)
    }

    /// Remaining TTL (whole seconds, -1 if unknown) and optionally the keys.
    pub fn lease_time_to_live(&self, id: i64, keys: bool) -> Result<LeaseTimeToLiveResponse> {
        self.shared.check_open()?;
        let now = self.shared.clock.now_ms();
        let st = self.shared.state.read();
        Ok(match st.lessor.get(id) {
            None => LeaseTimeToLiveResponse {
                id,
                ttl: -1,
                granted_ttl: 0,
                keys: Vec::new(),
            },
            Some(l) => LeaseTimeToLiveResponse {
                id,
                ttl: ((l.deadline_ms - now).max(0)) / 1000,
                granted_ttl: l.ttl,
                keys: if keys {
                    l.keys.iter().cloned().collect()
                } else {
                    Vec::new()
                },
            },
        })
    }

    /// Lease ids, ascending.
    pub fn leases(&self) -> Vec<i64> {
        self.shared.state.read().lessor.ids()
    }

    /// Lease ids, soonest expiry first (the order etcd's LeaseLeases gives).
    pub fn leases_by_expiry(&self) -> Vec<i64> {
        self.shared.state.read().lessor.ids_by_deadline()
    }

    /// Manual clock only: moves time and revokes expired leases; returns their ids.
    pub fn advance_clock(&self, seconds: f64) -> Result<Vec<i64>> {
        let m = self.shared.manual.as_ref().ok_or_else(|| {
            StoreError::InvalidArgument(
                "advance_clock needs a store opened with manual_clock".into(),
            )
        })?;
        m.advance_ms((seconds * 1000.0).round() as i64);
        self.shared.expire_leases()
    }

    /// Writes a backup of the whole store to `path`; returns its revision.
    pub fn snapshot_save(&self, path: &Path) -> Result<i64> {
        let (rev, data) = self.snapshot_bytes()?;
        snapshot::write_atomic(path, &data)?;
        Ok(rev)
    }

    /// The backup [`Store::snapshot_save`] writes, in memory: (revision, bytes).
    pub fn snapshot_bytes(&self) -> Result<(i64, Vec<u8>)> {
        self.shared.check_open()?;
        self.shared.flush()?;
        let _m = self.shared.maintenance.lock();
        let (rev, body) = self.shared.dump(None)?;
        Ok((rev, snapshot::seal_backup(body)))
    }

    /// Takes a data-dir snapshot now (normally the maintenance thread does).
    pub fn snapshot_now(&self) -> Result<()> {
        self.shared.snapshot_data_dir()
    }

    /// Status counters.
    pub fn status(&self) -> Status {
        let st = self.shared.state.read();
        let disk = self
            .shared
            .opts
            .data_dir
            .as_ref()
            .map(|d| dir_size(&d.join("wal")) + dir_size(&d.join("snap")));
        Status {
            revision: self.revision(),
            compact_revision: st.compact,
            db_size: disk.unwrap_or(st.size_in_use).max(1),
            db_size_in_use: st.size_in_use,
            quota_bytes: st.limits.quota_bytes,
            keys: st.live_keys,
            alarms: st.alarms.iter().copied().collect(),
            recovery_warnings: self.shared.warnings.clone(),
        }
    }

    /// Active alarms.
    pub fn alarms(&self) -> Vec<Alarm> {
        self.shared.state.read().alarms.iter().copied().collect()
    }

    /// Clears every alarm (etcd's `alarm disarm`); writes are accepted again
    /// (and the quota is checked afresh on the next write).
    pub fn alarm_disarm(&self) -> Result<()> {
        self.shared.write(|st, p| {
            if !st.alarms.is_empty() {
                st.alarms.clear();
                p.record(|b| wal::encode_simple(b, wal::REC_ALARM, 0, 0));
            }
            Ok(())
        })
    }

    /// A hash of the key-value history up to `rev` (0 = current), for
    /// comparing stores. Returns (hash, revision hashed, compact revision).
    pub fn hash_kv(&self, rev: i64) -> Result<(u32, i64, i64)> {
        let visible = self.revision();
        let st = self.shared.state.read();
        let rev = st.check_rev(rev, visible)?;
        let mut h = crc32fast::Hasher::new();
        for (k, hist) in &st.index {
            for e in hist.iter().take_while(|e| e.main <= rev) {
                h.update(k);
                h.update(&e.main.to_le_bytes());
                h.update(e.value.as_deref().unwrap_or(b"\x00tombstone"));
            }
        }
        Ok((h.finalize(), rev, st.compact))
    }

    /// Flushes pending writes, stops background work and refuses further use.
    pub fn close(&self) -> Result<()> {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        {
            let (lock, cv) = &self.shared.stop;
            *lock.lock() = true;
            cv.notify_all();
        }
        if let Some(h) = self.bg.lock().take() {
            let _ = h.join();
        }
        {
            let (lock, cv) = &self.shared.kick;
            *lock.lock() = true;
            cv.notify_all();
        }
        if let Some(h) = self.committer.lock().take() {
            let _ = h.join();
        }
        let res = self.shared.flush();
        self.shared.wake_waiters(true);
        res
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Restores a backup written by [`Store::snapshot_save`] into a new, empty
/// data dir; returns the snapshot's revision.
pub fn snapshot_restore(snapshot_file: &Path, data_dir: &Path) -> Result<i64> {
    let data = std::fs::read(snapshot_file)?;
    let body = snapshot::open_backup(&data)?;
    let st = snapshot::decode(body, Limits::default(), 0)?;
    if data_dir.exists() && std::fs::read_dir(data_dir)?.next().is_some() {
        return Err(StoreError::InvalidArgument(format!(
            "data dir {} exists and is not empty",
            data_dir.display()
        )));
    }
    std::fs::create_dir_all(data_dir.join("snap"))?;
    std::fs::create_dir_all(data_dir.join("wal"))?;
    snapshot::write_data_file(
        &data_dir.join("snap").join(format!("{:016x}.snap", 1)),
        body.to_vec(),
    )?;
    WalWriter::open(&data_dir.join("wal"), 1, 0, true)?;
    Ok(st.current)
}

impl Pending {
    /// Queues a revision's events for publishing, encoding them for the WAL if `log`.
    fn add(&mut self, changes: Changes, log: bool) {
        if let Some((main, events)) = changes {
            if events.is_empty() {
                self.elided = true;
            } else {
                if log && self.durable {
                    wal::encode_changes(&mut self.buf, main, &events);
                }
                self.events.extend(events.into_iter().map(Arc::new));
            }
            self.upto = main;
        }
    }

    /// Queues a raw WAL record (a dirty marker in memory, so the write commits).
    fn record(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        if self.durable {
            f(&mut self.buf);
        } else {
            self.dirty = true;
        }
    }
}

impl Shared {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        if let Some(m) = self.failed.lock().as_ref() {
            return Err(StoreError::Io(m.clone()));
        }
        Ok(())
    }

    /// Runs `f` under the state lock, queueing its WAL records and events;
    /// returns its result, the write's sequence number and whether the store
    /// is durable. Nothing is committed yet.
    fn apply<R>(
        &self,
        f: impl FnOnce(&mut State, &mut Pending) -> Result<R>,
    ) -> Result<(Result<R>, u64, bool)> {
        self.check_open()?;
        let mut st = self.state.write();
        let had_nospace = st.alarms.contains(&Alarm::NoSpace);
        let mut p = self.pending.lock();
        let before = (p.buf.len(), p.upto);
        p.dirty = false;
        // Events are built when someone watches, or when the WAL record is
        // made from them.
        st.emit_events = p.durable || self.watcher_count.load(Ordering::SeqCst) > 0;
        let res = f(&mut st, &mut p);
        if !had_nospace && st.alarms.contains(&Alarm::NoSpace) {
            p.record(|b| wal::encode_simple(b, wal::REC_ALARM, 1, 0));
        }
        if (p.buf.len(), p.upto) != before || p.dirty {
            p.seq += 1;
        }
        Ok((res, p.seq, p.durable))
    }

    /// Runs `f` under the state lock, then commits what it queued.
    fn write<R>(&self, f: impl FnOnce(&mut State, &mut Pending) -> Result<R>) -> Result<R> {
        let (res, seq, _) = self.apply(f)?;
        self.commit_to(seq)?;
        res
    }

    /// Makes every write up to `seq` durable and visible (group commit).
    fn commit_to(&self, seq: u64) -> Result<()> {
        let mut c = self.commit.lock();
        if c.durable_seq >= seq {
            return Ok(());
        }
        self.commit_locked(&mut c)
    }

    fn commit_locked(&self, c: &mut Commit) -> Result<()> {
        let p = {
            let mut pending = self.pending.lock();
            let fresh = Pending {
                durable: pending.durable,
                buf: Vec::with_capacity(pending.buf.capacity().min(1 << 20)),
                seq: pending.seq,
                ..Pending::default()
            };
            std::mem::replace(&mut *pending, fresh)
        };
        let seq = p.seq;
        if let Some(wal) = c.wal.as_mut() {
            if let Err(e) = wal.write(&p.buf) {
                let msg = format!("WAL write failed, store stopped: {e}");
                *self.failed.lock() = Some(msg.clone());
                return Err(StoreError::Io(msg));
            }
            c.since_snapshot += p.buf.len() as u64;
        }
        c.durable_seq = seq;
        if p.upto > 0 {
            let mut hub = self.hub.lock();
            hub.publish(&p.events, p.upto, p.elided);
            self.visible.store(hub.published, Ordering::SeqCst);
        }
        self.durable.store(seq, Ordering::SeqCst);
        self.wake_waiters(false);
        Ok(())
    }

    /// Wakes deferred writers whose writes are durable (all of them with `all`).
    fn wake_waiters(&self, all: bool) {
        let durable = self.durable.load(Ordering::SeqCst);
        let mut w = self.waiters.lock();
        if w.is_empty() {
            return;
        }
        let (ready, rest): (Vec<_>, Vec<_>) = w.drain(..).partition(|(s, _)| all || *s <= durable);
        *w = rest;
        drop(w);
        for (_, waker) in ready {
            waker.wake();
        }
    }

    /// Like `write`, but returns as soon as the write is applied, with the
    /// sequence number to wait on ([`Store::durable`]); the committer thread
    /// (or, in memory, this call) commits it.
    fn write_deferred<R>(
        &self,
        f: impl FnOnce(&mut State, &mut Pending) -> Result<R>,
    ) -> Result<(R, u64)> {
        let (res, seq, durable_mode) = self.apply(f)?;
        if durable_mode {
            let (lock, cv) = &self.kick;
            *lock.lock() = true;
            cv.notify_one();
        } else {
            self.commit_to(seq)?;
        }
        res.map(|r| (r, seq))
    }

    fn committer_loop(self: Arc<Self>) {
        let window = self.opts.commit_window;
        // Start of the previous commit, when writes arrived while it ran.
        let mut busy_since: Option<std::time::Instant> = None;
        loop {
            {
                let (lock, cv) = &self.kick;
                let mut kicked = lock.lock();
                if !*kicked {
                    cv.wait_for(&mut kicked, Duration::from_millis(100));
                }
                *kicked = false;
            }
            if self.closed.load(Ordering::SeqCst) {
                return;
            }
            if let Some(started) = busy_since {
                let left = window.saturating_sub(started.elapsed());
                if !left.is_zero() {
                    std::thread::sleep(left);
                }
            }
            let started = std::time::Instant::now();
            let seq = self.pending.lock().seq;
            if self.commit_to(seq).is_err() {
                self.wake_waiters(true);
            }
            let busy = !window.is_zero() && self.pending.lock().seq > seq;
            busy_since = busy.then_some(started);
        }
    }

    /// Commits everything pending now.
    fn flush(&self) -> Result<()> {
        let seq = self.pending.lock().seq;
        self.commit_to(seq)
    }

    fn revoke(&self, id: i64) -> Result<i64> {
        self.write(|st, p| {
            let ch = st.revoke(id)?;
            p.record(|b| wal::encode_simple(b, wal::REC_LEASE_REVOKE, id, 0));
            p.add(ch, false);
            Ok(st.current)
        })
    }

    fn expire_leases(&self) -> Result<Vec<i64>> {
        let now = self.clock.now_ms();
        let due = self.state.read().lessor.expired(now);
        let mut out = Vec::new();
        for id in due {
            match self.revoke(id) {
                Ok(_) => out.push(id),
                Err(StoreError::LeaseNotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Drops history below `rev` in batches, letting writers in between.
    fn physical_compact(&self, rev: i64) {
        let _m = self.maintenance.lock();
        let mut from: Option<Bytes> = None;
        loop {
            let mut st = self.state.write();
            if st.compact > rev {
                return; // a later compaction does (or did) this work
            }
            from = st.compact_batch(rev, from, 2048);
            let log_done = st.trim_log(8192);
            if from.is_none() && log_done {
                return;
            }
        }
    }

    /// Dumps the state at the current revision in chunks under short read
    /// locks. With `rotate`, flushes pending writes into the current WAL
    /// segment and starts a new one atomically with choosing the revision.
    fn dump(&self, rotate: Option<&mut u64>) -> Result<(i64, Vec<u8>)> {
        let mut body = Vec::new();
        let rev = {
            let mut c = self.commit.lock();
            let st = self.state.write();
            self.commit_locked(&mut c)?;
            if let Some(seq) = rotate {
                let w = c.wal.as_mut().expect("durable store");
                w.rotate()?;
                *seq = w.seq;
                c.since_snapshot = 0;
            }
            let leases: Vec<(i64, i64)> = st.lessor.iter_ttls().collect();
            let alarms: Vec<Alarm> = st.alarms.iter().copied().collect();
            snapshot::encode_header(&mut body, st.current, st.compact, &leases, &alarms);
            st.current
        };
        let mut from: Option<Bytes> = None;
        loop {
            let st = self.state.read();
            let lower = match &from {
                Some(k) => Bound::Excluded(&k[..]),
                None => Bound::Unbounded,
            };
            let mut n = 0;
            let mut last = None;
            for (k, h) in st
                .index
                .range::<[u8], _>((lower, Bound::Unbounded))
                .take(4096)
            {
                snapshot::encode_key(&mut body, k, h, rev);
                last = Some(k.clone());
                n += 1;
            }
            if n < 4096 {
                break;
            }
            from = last;
        }
        snapshot::encode_end(&mut body);
        Ok((rev, body))
    }

    /// Writes a data-dir snapshot and drops the WAL segments it covers.
    fn snapshot_data_dir(&self) -> Result<()> {
        let Some(dir) = self.opts.data_dir.clone() else {
            return Ok(());
        };
        let _m = self.maintenance.lock();
        let mut seq = 0;
        let (_, body) = self.dump(Some(&mut seq))?;
        let snap_dir = dir.join("snap");
        snapshot::write_data_file(&snap_dir.join(format!("{seq:016x}.snap")), body)?;
        for s in wal::list_seqs(&snap_dir, "snap")? {
            if s < seq {
                let _ = std::fs::remove_file(snap_dir.join(format!("{s:016x}.snap")));
            }
        }
        let wal_dir = dir.join("wal");
        for s in wal::list_seqs(&wal_dir, "wal")? {
            if s < seq {
                let _ = std::fs::remove_file(wal::segment_path(&wal_dir, s));
            }
        }
        Ok(())
    }

    /// Keeps a zero-filled segment ready and switches to it when the current
    /// one runs out of preallocated room (fsync'd stores only).
    fn prepare_wal(&self) -> Result<()> {
        const LOW: u64 = 16 * 1024 * 1024;
        let (dir, next) = {
            let c = self.commit.lock();
            match &c.wal {
                Some(w) if self.opts.fsync && w.room() < LOW => (w.dir.clone(), w.seq + 1),
                _ => return Ok(()),
            }
        };
        if !wal::prepared_path(&dir, next).exists() {
            wal::prepare_segment(&dir, next, wal::SEGMENT_BYTES)?;
        }
        let mut c = self.commit.lock();
        if let Some(w) = c.wal.as_mut() {
            if w.seq + 1 == next && w.room() < LOW {
                w.rotate()?;
            }
        }
        Ok(())
    }

    fn maintenance_loop(self: Arc<Self>) {
        let mut last_progress = Instant::now();
        loop {
            {
                let (lock, cv) = &self.stop;
                let mut stop = lock.lock();
                if *stop {
                    return;
                }
                cv.wait_for(&mut stop, Duration::from_millis(100));
                if *stop {
                    return;
                }
            }
            if self.manual.is_none() {
                let _ = self.expire_leases();
            }
            if last_progress.elapsed() >= self.opts.progress_notify_interval {
                last_progress = Instant::now();
                self.hub.lock().tick_progress();
            }
            if let Err(e) = self.prepare_wal() {
                eprintln!("kubemu-store: preparing a WAL segment failed: {e}");
            }
            // Snapshot after `snapshot_wal_bytes` of WAL, or after as much WAL
            // as the state's size if that is more: a snapshot writes the whole
            // state, so this bounds the write amplification to about 2x while
            // recovery replays at most about one state's worth of WAL.
            let threshold = self
                .opts
                .snapshot_wal_bytes
                .max(self.state.read().size_in_use.max(0) as u64);
            let due = self.commit.lock().since_snapshot >= threshold;
            if due {
                if let Err(e) = self.snapshot_data_dir() {
                    eprintln!("kubemu-store: snapshot failed: {e}");
                }
            }
        }
    }

    /// Replays history for a stream's unsynced watchers, a bounded batch per round.
    fn catch_up(&self, stream: &Arc<StreamInner>) {
        for _ in 0..8 {
            let Some(plan) = self.hub.lock().catchup_plan(stream) else {
                return;
            };
            if plan.watchers.is_empty() {
                self.hub.lock().finish_catchup(stream);
                return;
            }
            let st = self.state.read();
            let compact = st.compact;
            let (stale, live): (Vec<_>, Vec<_>) =
                plan.watchers.into_iter().partition(|w| w.3 < compact);
            let min_rev = live.iter().map(|w| w.3).min().unwrap_or(plan.published + 1);
            let upto = plan.published.min(min_rev + CATCHUP_MAX_REVS - 1);
            let mut router = Router::default();
            let mut next: HashMap<i64, i64> = HashMap::new();
            for (id, k, e, n) in &live {
                if *n <= upto {
                    router.add(k, e, (0, *id));
                    next.insert(*id, *n);
                }
            }
            let mut per: HashMap<i64, Vec<Arc<Event>>> = HashMap::new();
            let mut pos = st.log_position(min_rev);
            while let Some(le) = st.log.get(pos) {
                if le.main > upto {
                    break;
                }
                let mut ev: Option<Arc<Event>> = None;
                router.matches(&le.key, |(_, id)| {
                    if next[&id] <= le.main {
                        if ev.is_none() {
                            ev = st.event_at(pos).map(Arc::new);
                        }
                        if let Some(e) = &ev {
                            per.entry(id).or_default().push(e.clone());
                        }
                    }
                });
                pos += 1;
            }
            drop(st);
            let mut hub = self.hub.lock();
            for (id, ..) in stale {
                hub.cancel_compacted(stream, id, compact);
            }
            for (id, from) in next {
                let evs = per.remove(&id).unwrap_or_default();
                hub.deliver_catchup(stream, id, from, upto, evs);
            }
            if hub.finish_catchup(stream) {
                return;
            }
        }
    }
}

impl WatchStream {
    /// Adds a watch; its `created` response is queued first, then its events.
    /// Errors: an empty key range, a duplicate id, a negative start revision.
    pub fn watch(&self, req: &WatchRequest) -> Result<i64> {
        self.shared.check_open()?;
        if req.key.is_empty() {
            return Err(empty_key());
        }
        self.shared.hub.lock().add(&self.inner, req)
    }

    /// Cancels a watch; false if this stream has no such watch.
    pub fn cancel(&self, id: i64) -> bool {
        self.shared.hub.lock().cancel(&self.inner, id)
    }

    /// Asks for a progress notification (watch_id -1), sent once every watch
    /// of the stream is synced.
    pub fn request_progress(&self) {
        self.shared.hub.lock().request_progress(&self.inner);
    }

    /// Takes up to `max` responses, waiting up to `timeout` for one (None: no
    /// wait). Catch-up work for lagging watches happens here, on the caller's thread.
    pub fn poll(&self, max: usize, timeout: Option<Duration>) -> Vec<WatchResponse> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.inner.needs_catchup() {
                self.shared.catch_up(&self.inner);
            }
            let out = self.inner.take(max, deadline);
            if !out.is_empty() || self.inner.is_closed() {
                return out;
            }
            match deadline {
                Some(d) if Instant::now() < d => continue,
                _ => return out,
            }
        }
    }

    /// Called (from a writer's thread) when the stream goes from empty to
    /// having something to poll; must be cheap and must not block.
    pub fn set_notifier(&self, f: Box<dyn Fn() + Send + Sync>) {
        self.inner.set_notifier(f);
    }

    /// Cancels every watch of the stream and drops undelivered responses.
    pub fn close(&self) {
        self.shared.hub.lock().close_stream(&self.inner);
        self.inner.close();
    }

    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        self.close();
    }
}

fn dir_size(dir: &Path) -> i64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len() as i64)
                .sum()
        })
        .unwrap_or(0)
}

fn corrupt(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Corruption(m) => StoreError::Corruption(format!("{}: {m}", path.display())),
        other => other,
    }
}

/// What recovery produced.
struct Recovered {
    state: State,
    wal: WalWriter,
    warnings: Vec<String>,
    /// WAL bytes replayed (not covered by a snapshot).
    replayed: u64,
}

/// Loads the newest snapshot and replays the WAL after it.
fn recover(dir: &Path, limits: Limits, fsync: bool, now: i64) -> Result<Recovered> {
    let (snap_dir, wal_dir) = (dir.join("snap"), dir.join("wal"));
    std::fs::create_dir_all(&snap_dir)?;
    std::fs::create_dir_all(&wal_dir)?;
    for d in [&snap_dir, &wal_dir] {
        for ent in std::fs::read_dir(d)? {
            let p = ent?.path();
            if p.extension().is_some_and(|e| e == "tmp") {
                std::fs::remove_file(p)?;
            }
        }
    }
    let snaps = wal::list_seqs(&snap_dir, "snap")?;
    let (mut st, start) = match snaps.last() {
        Some(&s) => {
            let path = snap_dir.join(format!("{s:016x}.snap"));
            let body = snapshot::read_data_file(&path).map_err(|e| corrupt(&path, e))?;
            (
                snapshot::decode(&body, limits, now).map_err(|e| corrupt(&path, e))?,
                s,
            )
        }
        None => (State::new(limits), 1),
    };
    let mut warnings = Vec::new();
    let all = wal::list_seqs(&wal_dir, "wal")?;
    for s in all.iter().filter(|s| **s < start) {
        std::fs::remove_file(wal::segment_path(&wal_dir, *s))?;
    }
    let segs: Vec<u64> = all.into_iter().filter(|s| *s >= start).collect();
    let mut end = 0;
    let mut replayed = 0;
    for (i, s) in segs.iter().enumerate() {
        if *s != start + i as u64 {
            return Err(StoreError::Corruption(format!(
                "{}: WAL segment {:016x} is missing",
                wal_dir.display(),
                start + i as u64
            )));
        }
        let path = wal::segment_path(&wal_dir, *s);
        let data = std::fs::read(&path)?;
        let tail = wal::read_records(&data, |rec| apply_record(&mut st, rec, now))
            .map_err(|e| corrupt(&path, e))?;
        end = tail.end;
        replayed += tail.end;
        if tail.torn {
            if i + 1 != segs.len() {
                return Err(StoreError::Corruption(format!(
                    "{}: torn record at offset {} in a segment that is not the last",
                    path.display(),
                    tail.end
                )));
            }
            let msg = format!(
                "{}: torn write at offset {} truncated; it was never acknowledged",
                path.display(),
                tail.end
            );
            eprintln!("kubemu-store: warning: {msg}");
            warnings.push(msg);
            // Keep the cut bytes beside the segment (as etcd keeps `.broken`
            // files), then cut them off, so a later shorter record can never
            // be followed by their remnants.
            let used = data.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1) as u64;
            let cut = &data[tail.end as usize..used.max(tail.end) as usize];
            std::fs::write(path.with_extension("wal.broken"), cut)?;
            let f = std::fs::OpenOptions::new().write(true).open(&path)?;
            f.set_len(tail.end)?;
            f.sync_all()?;
        }
    }
    // A fresh fsync'd store starts on a preallocated segment (as etcd creates
    // its first WAL file preallocated); later ones are prepared in the background.
    if segs.is_empty() && fsync {
        wal::prepare_segment(&wal_dir, start, wal::SEGMENT_BYTES)?;
        std::fs::rename(
            wal::prepared_path(&wal_dir, start),
            wal::segment_path(&wal_dir, start),
        )?;
    }
    let w = WalWriter::open(&wal_dir, segs.last().copied().unwrap_or(start), end, fsync)?;
    st.lessor.renew_all(now);
    Ok(Recovered {
        state: st,
        wal: w,
        warnings,
        replayed,
    })
}

/// Applies puts one revision each (the `put_many` path, live and in replay);
/// `sink` gets each event when the state emits them.
fn apply_put_batch(
    st: &mut State,
    items: impl Iterator<Item = (Bytes, Bytes)>,
    lease: i64,
    mut sink: impl FnMut(Event),
) {
    let mut w = st.begin();
    for (k, v) in items {
        w.main = st.current + 1;
        w.count = 0;
        st.put(&mut w, k, v, lease);
        st.current = w.main;
        if let Some(ev) = w.events.pop() {
            sink(ev);
        }
    }
}

fn apply_record(st: &mut State, rec: Record<'_>, now: i64) -> Result<()> {
    match rec {
        Record::PutBatch {
            first,
            lease,
            pairs,
        } => {
            if first != st.current + 1 {
                return Err(StoreError::Corruption(format!(
                    "revision {first} follows {} in the WAL",
                    st.current
                )));
            }
            let items = pairs
                .into_iter()
                .map(|(k, v)| (Bytes::from(k), Bytes::from(v)));
            apply_put_batch(st, items, lease, drop);
        }
        Record::Changes { main, changes } => {
            if main != st.current + 1 {
                return Err(StoreError::Corruption(format!(
                    "revision {main} follows {} in the WAL",
                    st.current
                )));
            }
            let mut w = st.begin();
            for (is_put, key, value, lease) in changes {
                if is_put {
                    st.put(&mut w, Bytes::from(key), Bytes::from(value), lease);
                } else {
                    st.delete_range(&mut w, key, &[]);
                }
            }
            st.finish(w);
        }
        Record::LeaseGrant { id, ttl } => {
            st.lessor.grant(id, ttl, now)?;
        }
        Record::LeaseRevoke { id } => {
            st.revoke(id)?;
        }
        Record::Compact { rev } => {
            st.compact = rev;
            let mut from = None;
            loop {
                from = st.compact_batch(rev, from, usize::MAX);
                if from.is_none() {
                    break;
                }
            }
            while !st.trim_log(usize::MAX) {}
        }
        Record::Alarm { active } => {
            if active {
                st.alarms.insert(Alarm::NoSpace);
            } else {
                st.alarms.clear();
            }
        }
    }
    Ok(())
}
