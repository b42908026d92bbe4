//! The watch hub: routes each published event to the watchers whose range
//! holds its key, into bounded per-stream queues.
//!
//! Cost is proportional to matching events: exact-key watchers are found by
//! one hash lookup, prefix watchers by one lookup per distinct watched prefix
//! length, and only general ranges (rare: from-key and non-prefix intervals)
//! are checked one by one.
//!
//! A watcher is *synced* (it gets events pushed as they are published) or
//! *unsynced* (it must replay history from `next_rev`). New watchers from a
//! past revision, and watchers whose stream queue overflowed, are unsynced;
//! the stream's consumer replays them from the revision log in batches when it
//! polls, so a slow consumer never blocks a writer and costs only its own time.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::error::{Result, StoreError};
use crate::types::{in_range, Event, EventType};

/// Most revisions one catch-up batch replays (etcd's `watchBatchMaxRevs`).
pub const CATCHUP_MAX_REVS: i64 = 1000;

/// A watch creation request (etcd `WatchCreateRequest`).
#[derive(Debug, Clone, Default)]
pub struct WatchRequest {
    pub key: Vec<u8>,
    /// As in a range: empty = one key, `[0]` = from key, else `[key, range_end)`.
    pub range_end: Vec<u8>,
    /// First revision to deliver; 0 = from the next revision. A negative one
    /// is below any history: the watch is canceled as compacted (as etcd).
    pub start_revision: i64,
    pub prev_kv: bool,
    pub no_put: bool,
    pub no_delete: bool,
    pub progress_notify: bool,
    /// Requested id; 0 or negative = pick the next free one (etcd's `AutoWatchID` is 0).
    pub watch_id: i64,
}

/// One message of a stream (etcd `WatchResponse`).
#[derive(Debug, Clone, Default)]
pub struct WatchResponse {
    pub watch_id: i64,
    /// Header revision: later events of this watch have higher revisions.
    pub revision: i64,
    pub created: bool,
    pub canceled: bool,
    pub compact_revision: i64,
    pub cancel_reason: String,
    /// Events shared between watchers; a watcher without prev_kv must not
    /// expose `prev_kv` (see [`WatchResponse::prev_kv`]).
    pub events: Vec<Arc<Event>>,
    /// Whether the watch asked for prev_kv.
    pub prev_kv: bool,
    /// A progress notification (no events, only a revision).
    pub progress: bool,
}

/// Returns the prefix whose range `[key, range_end)` is exactly "keys starting with key".
fn as_prefix(key: &[u8], range_end: &[u8]) -> bool {
    let mut end = key.to_vec();
    while let Some(last) = end.last_mut() {
        if *last < 0xff {
            *last += 1;
            return end == range_end;
        }
        end.pop();
    }
    false
}

type WatchKey = (u64, i64);

/// Maps keys to the watchers interested in them.
#[derive(Debug, Default)]
pub(crate) struct Router {
    exact: HashMap<Vec<u8>, Vec<WatchKey>>,
    prefixes: HashMap<Vec<u8>, Vec<WatchKey>>,
    /// Distinct prefix lengths in use, with how many prefixes have each.
    prefix_lens: BTreeMap<usize, usize>,
    ranges: Vec<(Vec<u8>, Vec<u8>, WatchKey)>,
}

impl Router {
    pub fn add(&mut self, key: &[u8], range_end: &[u8], wk: WatchKey) {
        if range_end.is_empty() {
            self.exact.entry(key.to_vec()).or_default().push(wk);
        } else if as_prefix(key, range_end) {
            let v = self.prefixes.entry(key.to_vec()).or_default();
            if v.is_empty() {
                *self.prefix_lens.entry(key.len()).or_default() += 1;
            }
            v.push(wk);
        } else {
            self.ranges.push((key.to_vec(), range_end.to_vec(), wk));
        }
    }

    pub fn remove(&mut self, key: &[u8], range_end: &[u8], wk: WatchKey) {
        if range_end.is_empty() {
            if let Some(v) = self.exact.get_mut(key) {
                v.retain(|x| *x != wk);
                if v.is_empty() {
                    self.exact.remove(key);
                }
            }
        } else if as_prefix(key, range_end) {
            if let Some(v) = self.prefixes.get_mut(key) {
                v.retain(|x| *x != wk);
                if v.is_empty() {
                    self.prefixes.remove(key);
                    let n = self.prefix_lens.get_mut(&key.len()).expect("len tracked");
                    *n -= 1;
                    if *n == 0 {
                        self.prefix_lens.remove(&key.len());
                    }
                }
            }
        } else {
            self.ranges.retain(|(_, _, x)| *x != wk);
        }
    }

    /// Calls `f` for every watcher whose range holds `key`.
    pub fn matches(&self, key: &[u8], mut f: impl FnMut(WatchKey)) {
        if let Some(v) = self.exact.get(key) {
            v.iter().copied().for_each(&mut f);
        }
        for &len in self.prefix_lens.keys() {
            if len > key.len() {
                break;
            }
            if let Some(v) = self.prefixes.get(&key[..len]) {
                v.iter().copied().for_each(&mut f);
            }
        }
        for (k, e, wk) in &self.ranges {
            if in_range(key, k, e) {
                f(*wk);
            }
        }
    }
}

/// The queue a stream's consumer drains.
#[derive(Default)]
struct Queue {
    responses: VecDeque<WatchResponse>,
    pending_events: usize,
    max_pending_events: usize,
    /// Some watcher of this stream is unsynced.
    needs_catchup: bool,
    /// A progress request waits for every watcher to be synced.
    progress_pending: bool,
    /// The notifier has fired since the consumer last drained.
    signaled: bool,
    closed: bool,
}

/// Shared state of one stream, held by the hub and by the stream handle.
pub(crate) struct StreamInner {
    pub id: u64,
    queue: Mutex<Queue>,
    cond: Condvar,
    notifier: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl StreamInner {
    pub fn new(id: u64, max_pending_events: usize) -> Self {
        Self {
            id,
            queue: Mutex::new(Queue {
                max_pending_events: max_pending_events.max(1),
                ..Queue::default()
            }),
            cond: Condvar::new(),
            notifier: Mutex::new(None),
        }
    }

    /// Wakes a blocked `poll` and fires the notifier once per drain.
    fn wake(&self, q: &mut Queue) {
        self.cond.notify_all();
        if !q.signaled {
            q.signaled = true;
            if let Some(n) = self.notifier.lock().as_ref() {
                n();
            }
        }
    }

    fn push(&self, resp: WatchResponse) {
        let mut q = self.queue.lock();
        if q.closed {
            return;
        }
        q.pending_events += resp.events.len();
        q.responses.push_back(resp);
        self.wake(&mut q);
    }

    /// Pushes events unless the queue is full; false means "overflowed".
    fn try_push(&self, resp: WatchResponse) -> bool {
        let mut q = self.queue.lock();
        if q.closed {
            return true;
        }
        if !q.responses.is_empty() && q.pending_events + resp.events.len() > q.max_pending_events {
            q.needs_catchup = true;
            self.wake(&mut q);
            return false;
        }
        q.pending_events += resp.events.len();
        q.responses.push_back(resp);
        self.wake(&mut q);
        true
    }

    fn mark_catchup(&self) {
        let mut q = self.queue.lock();
        q.needs_catchup = true;
        self.wake(&mut q);
    }

    fn room(&self) -> bool {
        let q = self.queue.lock();
        q.pending_events < q.max_pending_events
    }
}

/// One registered watch.
struct Watcher {
    key: Vec<u8>,
    range_end: Vec<u8>,
    prev_kv: bool,
    no_put: bool,
    no_delete: bool,
    progress_notify: bool,
    synced: bool,
    /// First revision not yet delivered.
    next_rev: i64,
    /// Events were delivered since the last progress tick.
    active: bool,
    stream: Arc<StreamInner>,
}

impl Watcher {
    fn wants(&self, ev: &Event) -> bool {
        ev.kv.mod_revision >= self.next_rev
            && !(self.no_put && ev.kind == EventType::Put)
            && !(self.no_delete && ev.kind == EventType::Delete)
    }
}

/// All watchers of a store.
#[derive(Default)]
pub(crate) struct Hub {
    /// Newest revision published to watchers (= visible to readers).
    pub published: i64,
    watchers: HashMap<WatchKey, Watcher>,
    router: Router,
    /// Watch ids per stream, for progress, catch-up and close.
    by_stream: HashMap<u64, BTreeSet<i64>>,
    /// Next automatic watch id per stream.
    next_id: HashMap<u64, i64>,
    /// Number of watchers, readable without the hub lock.
    pub count: Arc<std::sync::atomic::AtomicUsize>,
}

/// Work a stream's consumer must do to catch unsynced watchers up.
pub(crate) struct CatchupPlan {
    pub published: i64,
    pub watchers: Vec<(i64, Vec<u8>, Vec<u8>, i64)>,
}

impl Hub {
    /// Registers a watch and queues its `created` response.
    pub fn add(&mut self, stream: &Arc<StreamInner>, req: &WatchRequest) -> Result<i64> {
        if !req.range_end.is_empty() && req.range_end != [0] && req.key >= req.range_end {
            return Err(StoreError::InvalidArgument(
                "mvcc: watcher range is empty".into(),
            ));
        }
        let ids = self.by_stream.entry(stream.id).or_default();
        let id = if req.watch_id > 0 {
            if ids.contains(&req.watch_id) {
                return Err(StoreError::InvalidArgument(
                    "mvcc: duplicate watch ID provided on the WatchStream".into(),
                ));
            }
            req.watch_id
        } else {
            let next = self.next_id.entry(stream.id).or_default();
            while ids.contains(next) {
                *next += 1;
            }
            *next += 1;
            *next - 1
        };
        ids.insert(id);
        let synced = req.start_revision == 0 || req.start_revision > self.published;
        let next_rev = if req.start_revision == 0 {
            self.published + 1
        } else {
            req.start_revision
        };
        let wk = (stream.id, id);
        self.router.add(&req.key, &req.range_end, wk);
        self.watchers.insert(
            wk,
            Watcher {
                key: req.key.clone(),
                range_end: req.range_end.clone(),
                prev_kv: req.prev_kv,
                no_put: req.no_put,
                no_delete: req.no_delete,
                progress_notify: req.progress_notify,
                synced,
                next_rev,
                active: false,
                stream: stream.clone(),
            },
        );
        self.update_count();
        stream.push(WatchResponse {
            watch_id: id,
            revision: self.published,
            created: true,
            ..Default::default()
        });
        if !synced {
            stream.mark_catchup();
        }
        Ok(id)
    }

    fn update_count(&self) {
        self.count
            .store(self.watchers.len(), std::sync::atomic::Ordering::SeqCst);
    }

    fn remove(&mut self, wk: WatchKey) -> Option<Watcher> {
        let w = self.watchers.remove(&wk)?;
        self.update_count();
        self.router.remove(&w.key, &w.range_end, wk);
        if let Some(ids) = self.by_stream.get_mut(&wk.0) {
            ids.remove(&wk.1);
        }
        Some(w)
    }

    /// Cancels a watch; false if the stream has no such watch.
    pub fn cancel(&mut self, stream: &StreamInner, id: i64) -> bool {
        match self.remove((stream.id, id)) {
            Some(w) => {
                w.stream.push(WatchResponse {
                    watch_id: id,
                    revision: self.published,
                    canceled: true,
                    ..Default::default()
                });
                true
            }
            None => false,
        }
    }

    /// Drops every watch of a closed stream.
    pub fn close_stream(&mut self, stream: &StreamInner) {
        self.next_id.remove(&stream.id);
        for id in self.by_stream.remove(&stream.id).unwrap_or_default() {
            if let Some(w) = self.watchers.remove(&(stream.id, id)) {
                self.router.remove(&w.key, &w.range_end, (stream.id, id));
            }
        }
        self.update_count();
    }

    fn all_synced(&self, stream_id: u64) -> bool {
        self.by_stream.get(&stream_id).is_none_or(|ids| {
            ids.iter()
                .all(|i| self.watchers.get(&(stream_id, *i)).is_none_or(|w| w.synced))
        })
    }

    /// Answers a progress request now if every watcher is synced, else once they are.
    pub fn request_progress(&mut self, stream: &StreamInner) {
        if self.all_synced(stream.id) {
            stream.push(WatchResponse {
                watch_id: -1,
                revision: self.published,
                progress: true,
                ..Default::default()
            });
        } else {
            stream.queue.lock().progress_pending = true;
        }
    }

    /// Sends a progress notification to each synced progress_notify watcher
    /// that got no events since the last tick.
    pub fn tick_progress(&mut self) {
        let published = self.published;
        for ((_, id), w) in &mut self.watchers {
            if w.progress_notify && w.synced && !w.active {
                w.stream.push(WatchResponse {
                    watch_id: *id,
                    revision: published,
                    progress: true,
                    ..Default::default()
                });
            }
            w.active = false;
        }
    }

    /// Publishes committed events (in revision order); `published` becomes `upto`.
    /// `upto` is the newest revision committed; with `elided`, some of the
    /// revisions up to it have no events here (no watcher existed when they
    /// were applied), so watchers registered since replay them from the log.
    pub fn publish(&mut self, events: &[Arc<Event>], upto: i64, elided: bool) {
        if elided {
            for w in self.watchers.values_mut() {
                if w.synced && w.next_rev <= upto {
                    w.synced = false;
                    w.stream.mark_catchup();
                }
            }
        }
        let last = &upto;
        let mut per: HashMap<WatchKey, Vec<Arc<Event>>> = HashMap::new();
        if !self.watchers.is_empty() {
            for ev in events {
                self.router
                    .matches(&ev.kv.key, |wk| per.entry(wk).or_default().push(ev.clone()));
            }
        }
        self.published = *last;
        for (wk, evs) in per {
            let Some(w) = self.watchers.get_mut(&wk) else {
                continue;
            };
            if !w.synced {
                continue;
            }
            let first_rev = evs[0].kv.mod_revision.max(w.next_rev);
            let evs: Vec<Arc<Event>> = evs.into_iter().filter(|e| w.wants(e)).collect();
            if evs.is_empty() {
                w.next_rev = w.next_rev.max(last + 1);
                continue;
            }
            let resp = WatchResponse {
                watch_id: wk.1,
                revision: *last,
                events: evs,
                prev_kv: w.prev_kv,
                ..Default::default()
            };
            if w.stream.try_push(resp) {
                w.next_rev = last + 1;
                w.active = true;
            } else {
                w.synced = false;
                w.next_rev = first_rev;
            }
        }
    }

    /// The unsynced watchers of a stream, if it has room for more events.
    pub fn catchup_plan(&self, stream: &StreamInner) -> Option<CatchupPlan> {
        if !stream.room() {
            return None;
        }
        let ids = self.by_stream.get(&stream.id)?;
        let watchers: Vec<_> = ids
            .iter()
            .filter_map(|id| {
                let w = self.watchers.get(&(stream.id, *id))?;
                (!w.synced).then(|| (*id, w.key.clone(), w.range_end.clone(), w.next_rev))
            })
            .collect();
        Some(CatchupPlan {
            published: self.published,
            watchers,
        })
    }

    /// Delivers replayed events (read up to revision `upto`) to a watcher that
    /// was unsynced from `from_rev`; it becomes synced once it reaches `published`.
    pub fn deliver_catchup(
        &mut self,
        stream: &StreamInner,
        id: i64,
        from_rev: i64,
        upto: i64,
        events: Vec<Arc<Event>>,
    ) {
        let published = self.published;
        let Some(w) = self.watchers.get_mut(&(stream.id, id)) else {
            return;
        };
        if w.synced || w.next_rev != from_rev {
            return;
        }
        let events: Vec<Arc<Event>> = events.into_iter().filter(|e| w.wants(e)).collect();
        if !events.is_empty() {
            w.stream.push(WatchResponse {
                watch_id: id,
                revision: upto,
                events,
                prev_kv: w.prev_kv,
                ..Default::default()
            });
            w.active = true;
        }
        w.next_rev = upto + 1;
        if upto >= published {
            w.synced = true;
        }
    }

    /// Cancels a watcher that fell behind compaction. Its response reports
    /// the compacted revision, -1 if the store was never compacted (etcd's
    /// initial value; only a negative start revision gets there).
    pub fn cancel_compacted(&mut self, stream: &StreamInner, id: i64, compact: i64) {
        let compact = if compact > 0 { compact } else { -1 };
        if let Some(w) = self.remove((stream.id, id)) {
            w.stream.push(WatchResponse {
                watch_id: id,
                revision: self.published,
                canceled: true,
                compact_revision: compact,
                cancel_reason: StoreError::Compacted.to_string(),
                ..Default::default()
            });
        }
    }

    /// Ends a catch-up round: clears the flag when all watchers are synced,
    /// answering a pending progress request.
    pub fn finish_catchup(&mut self, stream: &StreamInner) -> bool {
        if !self.all_synced(stream.id) {
            return false;
        }
        let mut q = stream.queue.lock();
        q.needs_catchup = false;
        if q.progress_pending {
            q.progress_pending = false;
            drop(q);
            stream.push(WatchResponse {
                watch_id: -1,
                revision: self.published,
                progress: true,
                ..Default::default()
            });
        }
        true
    }
}

/// What the consumer side of a stream does; used by [`crate::store::WatchStream`].
impl StreamInner {
    pub(crate) fn needs_catchup(&self) -> bool {
        self.queue.lock().needs_catchup
    }

    pub(crate) fn set_notifier(&self, f: Box<dyn Fn() + Send + Sync>) {
        *self.notifier.lock() = Some(f);
    }

    pub(crate) fn close(&self) {
        let mut q = self.queue.lock();
        q.closed = true;
        q.responses.clear();
        q.pending_events = 0;
        self.cond.notify_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.queue.lock().closed
    }

    /// Takes up to `max` responses, waiting until `deadline` for one (None: no wait).
    pub(crate) fn take(&self, max: usize, deadline: Option<Instant>) -> Vec<WatchResponse> {
        let mut q = self.queue.lock();
        loop {
            if !q.responses.is_empty() || q.closed || q.needs_catchup {
                break;
            }
            match deadline {
                None => break,
                Some(d) => {
                    if self.cond.wait_until(&mut q, d).timed_out() {
                        break;
                    }
                }
            }
        }
        let n = q.responses.len().min(max.max(1));
        let out: Vec<WatchResponse> = q.responses.drain(..n).collect();
        q.pending_events -= out.iter().map(|r| r.events.len()).sum::<usize>();
        if q.responses.is_empty() && !q.needs_catchup {
            q.signaled = false;
        } else {
            // More remains: keep the notifier armed for the next drain.
            q.signaled = false;
            self.wake(&mut q);
        }
        out
    }
}
