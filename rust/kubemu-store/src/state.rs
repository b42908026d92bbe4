//! The in-memory MVCC state: key index, revision log, leases and alarms.
//!
//! Everything here runs under the store's lock; nothing here does I/O. Writes
//! go through a [`Writer`] that collects the events of one revision; reads pick
//! a revision and walk the index.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;

use crate::error::{Result, StoreError};
use crate::index::{self, empty_bytes, Entry, KeyHistory, KEY_OVERHEAD};
use crate::lease::Lessor;
use crate::types::{
    Alarm, Bytes, Event, EventType, KeyValue, RangeRequest, RangeResponse, SortOrder, SortTarget,
};

/// Limits enforced on requests (etcd's server flags).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most compares, or ops in one branch, of a txn (`--max-txn-ops`, default 128).
    pub max_txn_ops: usize,
    /// Largest request in bytes (`--max-request-bytes`, default 1.5 MiB).
    pub max_request_bytes: usize,
    /// Size at which the NOSPACE alarm is raised (`--quota-backend-bytes`, default 2 GiB).
    pub quota_bytes: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_txn_ops: 128,
            max_request_bytes: 1536 * 1024,
            quota_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// One change in the revision log (for watch catch-up): the key written at `main`.
#[derive(Debug, Clone)]
pub(crate) struct LogEntry {
    pub main: i64,
    pub key: Bytes,
}

/// The changes of one txn in progress; all share revision `main`.
#[derive(Debug)]
pub(crate) struct Writer {
    pub main: i64,
    /// Changes so far (the next change's sub revision).
    pub count: u32,
    /// Whether to build events; off when nothing would read them (no
    /// watchers, no WAL record made from them).
    pub emit: bool,
    pub events: Vec<Event>,
}

impl Writer {
    /// The revision reads inside this txn see: the txn's own once it has written.
    pub fn read_rev(&self) -> i64 {
        if self.count == 0 {
            self.main - 1
        } else {
            self.main
        }
    }
}

/// The whole MVCC state.
#[derive(Debug)]
pub(crate) struct State {
    pub index: BTreeMap<Bytes, KeyHistory>,
    pub log: VecDeque<LogEntry>,
    /// Revision of the newest applied change (1 for an empty store).
    pub current: i64,
    /// Compacted revision (0 = never compacted).
    pub compact: i64,
    pub size_in_use: i64,
    pub live_keys: i64,
    pub lessor: Lessor,
    pub alarms: BTreeSet<Alarm>,
    pub limits: Limits,
    /// Whether writers build events (see [`Writer::emit`]); set by the store.
    pub emit_events: bool,
}

impl State {
    pub fn new(limits: Limits) -> Self {
        Self {
            index: BTreeMap::new(),
            log: VecDeque::new(),
            current: 1,
            compact: 0,
            size_in_use: 0,
            live_keys: 0,
            lessor: Lessor::default(),
            alarms: BTreeSet::new(),
            limits,
            emit_events: true,
        }
    }

    /// Starts a txn at the next revision.
    pub fn begin(&self) -> Writer {
        Writer {
            main: self.current + 1,
            count: 0,
            emit: self.emit_events,
            events: Vec::new(),
        }
    }

    /// Ends a txn: bumps the revision if it changed anything and returns its
    /// events (empty when the writer did not emit them).
    pub fn finish(&mut self, w: Writer) -> Option<(i64, Vec<Event>)> {
        if w.count == 0 {
            return None;
        }
        self.current = w.main;
        Some((w.main, w.events))
    }

    /// Puts `value` at `key` in txn `w`, returning the previous live version.
    /// Callers have checked the lease exists. One index lookup.
    pub fn put(
        &mut self,
        w: &mut Writer,
        key: Bytes,
        value: Bytes,
        lease: i64,
    ) -> Option<KeyValue> {
        use std::collections::btree_map::Entry as Slot;
        let sub = w.count;
        w.count += 1;
        let (key_arc, hist) = match self.index.entry(key) {
            Slot::Occupied(o) => {
                let k = o.key().clone();
                (k, o.into_mut())
            }
            Slot::Vacant(v) => {
                let k = v.key().clone();
                self.size_in_use += KEY_OVERHEAD + k.len() as i64;
                (k, v.insert(KeyHistory::new()))
            }
        };
        let (create, version, prev_kv) = match index::live(hist) {
            Some(p) => (
                p.create,
                p.version.saturating_add(1),
                Some(p.to_kv(&key_arc)),
            ),
            None => (w.main, 1, None),
        };
        let entry = Entry {
            main: w.main,
            create,
            lease,
            version,
            sub,
            value: Some(value),
        };
        self.size_in_use += entry.size();
        let kv = w.emit.then(|| entry.to_kv(&key_arc));
        hist.push(entry);
        match &prev_kv {
            None => self.live_keys += 1,
            Some(p) if p.lease != 0 && p.lease != lease => self.lessor.detach(p.lease, &key_arc),
            Some(_) => {}
        }
        if lease != 0 {
            self.lessor.attach(lease, &key_arc);
        }
        self.log.push_back(LogEntry {
            main: w.main,
            key: key_arc,
        });
        if let Some(kv) = kv {
            w.events.push(Event {
                kind: EventType::Put,
                kv,
                prev_kv: prev_kv.clone(),
            });
        }
        prev_kv
    }

    /// Deletes every live key in the range in txn `w`; returns the deleted versions.
    pub fn delete_range(&mut self, w: &mut Writer, key: &[u8], range_end: &[u8]) -> Vec<KeyValue> {
        let rev = w.read_rev();
        let victims: Vec<Bytes> = self
            .live_iter(key, range_end, rev)
            .map(|(k, _)| k.clone())
            .collect();
        let mut prevs = Vec::with_capacity(victims.len());
        for k in victims {
            let sub = w.count;
            w.count += 1;
            let hist = self.index.get_mut(&k).expect("victim present");
            let prev = index::live(hist).expect("victim live").to_kv(&k);
            let tomb = Entry {
                main: w.main,
                create: 0,
                lease: 0,
                version: 0,
                sub,
                value: None,
            };
            self.size_in_use += tomb.size();
            hist.push(tomb);
            self.live_keys -= 1;
            if prev.lease != 0 {
                self.lessor.detach(prev.lease, &k);
            }
            self.log.push_back(LogEntry {
                main: w.main,
                key: k.clone(),
            });
            if w.emit {
                let kv = KeyValue {
                    key: k,
                    value: empty_bytes(),
                    create_revision: 0,
                    mod_revision: w.main,
                    version: 0,
                    lease: 0,
                };
                w.events.push(Event {
                    kind: EventType::Delete,
                    kv,
                    prev_kv: Some(prev.clone()),
                });
            }
            prevs.push(prev);
        }
        prevs
    }

    /// Live (key, entry) pairs in the range at `rev`, ascending by key.
    pub fn live_iter<'a>(
        &'a self,
        key: &'a [u8],
        range_end: &'a [u8],
        rev: i64,
    ) -> Box<dyn Iterator<Item = (&'a Bytes, &'a Entry)> + 'a> {
        if range_end.is_empty() {
            let one = self
                .index
                .get_key_value(key)
                .and_then(|(k, h)| Some((k, index::live_at(h, rev)?)));
            return Box::new(one.into_iter());
        }
        let upper: Bound<&[u8]> = if range_end == [0] {
            Bound::Unbounded
        } else {
            Bound::Excluded(range_end)
        };
        if let Bound::Excluded(end) = upper {
            if end <= key {
                return Box::new(std::iter::empty());
            }
        }
        let it = self
            .index
            .range::<[u8], _>((Bound::Included(key), upper))
            .filter_map(move |(k, h)| Some((k, index::live_at(h, rev)?)));
        Box::new(it)
    }

    /// Checks a read revision against the history window (etcd's rules).
    pub fn check_rev(&self, revision: i64, current: i64) -> Result<i64> {
        let rev = if revision <= 0 { current } else { revision };
        if rev > current {
            return Err(StoreError::FutureRevision);
        }
        if rev < self.compact {
            return Err(StoreError::Compacted);
        }
        Ok(rev)
    }

    /// Serves a range as of `current` (etcd's order: collect, filter, sort, limit).
    pub fn range(&self, r: &RangeRequest, current: i64) -> Result<RangeResponse> {
        let rev = self.check_rev(r.revision, current)?;
        let filtered = r.min_mod_revision != 0
            || r.max_mod_revision != 0
            || r.min_create_revision != 0
            || r.max_create_revision != 0;
        // etcd pushes the limit (+1, for `more`) down only with no sort and no filters.
        let fetch = if r.sort_order != SortOrder::None || filtered || r.limit <= 0 {
            usize::MAX
        } else {
            usize::try_from(r.limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1)
        };
        let mut count: i64 = 0;
        let mut kvs = Vec::new();
        for (k, e) in self.live_iter(&r.key, &r.range_end, rev) {
            count += 1;
            if r.count_only || kvs.len() >= fetch {
                continue;
            }
            kvs.push(e.to_kv(k));
        }
        if filtered {
            kvs.retain(|kv| {
                !(r.max_mod_revision != 0 && kv.mod_revision > r.max_mod_revision
                    || r.min_mod_revision != 0 && kv.mod_revision < r.min_mod_revision
                    || r.max_create_revision != 0 && kv.create_revision > r.max_create_revision
                    || r.min_create_revision != 0 && kv.create_revision < r.min_create_revision)
            });
        }
        let order = match (r.sort_target, r.sort_order) {
            (SortTarget::Key, SortOrder::Ascend) => SortOrder::None,
            (t, SortOrder::None) if t != SortTarget::Key => SortOrder::Ascend,
            (_, o) => o,
        };
        if order != SortOrder::None {
            sort_kvs(&mut kvs, r.sort_target, order);
        }
        // Values go after sorting: a keys-only range may still sort by value.
        if r.keys_only {
            for kv in &mut kvs {
                kv.value = empty_bytes();
            }
        }
        let mut more = false;
        if r.limit > 0 && kvs.len() as i64 > r.limit {
            kvs.truncate(r.limit as usize);
            more = true;
        }
        Ok(RangeResponse {
            revision: current,
            kvs,
            more,
            count,
        })
    }

    /// Compacts up to `batch` keys starting at `from`; returns where to continue.
    /// The caller has already raised `self.compact` to `rev`.
    pub fn compact_batch(&mut self, rev: i64, from: Option<Bytes>, batch: usize) -> Option<Bytes> {
        let start: Bound<&[u8]> = match &from {
            Some(k) => Bound::Included(&k[..]),
            None => Bound::Unbounded,
        };
        let mut next = None;
        let mut emptied = Vec::new();
        let mut freed = 0;
        for (n, (k, h)) in self
            .index
            .range_mut::<[u8], _>((start, Bound::Unbounded))
            .enumerate()
        {
            if n == batch {
                next = Some(k.clone());
                break;
            }
            freed += index::compact(h, rev);
            if h.is_empty() {
                emptied.push(k.clone());
            }
        }
        for k in emptied {
            self.index.remove(&k);
            freed += KEY_OVERHEAD + k.len() as i64;
        }
        self.size_in_use -= freed;
        next
    }

    /// Drops log entries below the compacted revision, at most `batch` of them;
    /// returns true when done.
    pub fn trim_log(&mut self, batch: usize) -> bool {
        for _ in 0..batch {
            match self.log.front() {
                Some(e) if e.main < self.compact => {
                    self.log.pop_front();
                }
                _ => return true,
            }
        }
        false
    }

    /// Index of the first log entry at or after revision `rev`.
    pub fn log_position(&self, rev: i64) -> usize {
        self.log.partition_point(|e| e.main < rev)
    }

    /// The event the log entry at `pos` stands for (None if compaction removed it).
    pub fn event_at(&self, pos: usize) -> Option<Event> {
        let le = self.log.get(pos)?;
        let hist = self.index.get(&le.key)?;
        let i = index::find(hist, le.main)?;
        let e = &hist[i];
        let prev_kv = (i > 0 && !hist[i - 1].is_tombstone()).then(|| hist[i - 1].to_kv(&le.key));
        let kind = if e.is_tombstone() {
            EventType::Delete
        } else {
            EventType::Put
        };
        Some(Event {
            kind,
            kv: e.to_kv(&le.key),
            prev_kv,
        })
    }

    /// Rebuilds the revision log from the index (after loading a snapshot).
    pub fn rebuild_log(&mut self) {
        let mut all: Vec<(i64, u32, Bytes)> = Vec::new();
        for (k, h) in &self.index {
            for e in h {
                all.push((e.main, e.sub, k.clone()));
            }
        }
        all.sort_unstable_by_key(|a| (a.0, a.1));
        self.log = all
            .into_iter()
            .map(|(main, _, key)| LogEntry { main, key })
            .collect();
    }

    /// Recomputes size and live-key counters from the index.
    pub fn recount(&mut self) {
        let mut size = 0;
        let mut live = 0;
        for (k, h) in &self.index {
            size += KEY_OVERHEAD + k.len() as i64 + h.iter().map(Entry::size).sum::<i64>();
            live += i64::from(index::live(h).is_some());
        }
        self.size_in_use = size;
        self.live_keys = live;
    }
}

fn sort_kvs(kvs: &mut [KeyValue], target: SortTarget, order: SortOrder) {
    let cmp = |a: &KeyValue, b: &KeyValue| match target {
        SortTarget::Key => a.key.cmp(&b.key),
        SortTarget::Version => a.version.cmp(&b.version),
        SortTarget::Create => a.create_revision.cmp(&b.create_revision),
        SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
        SortTarget::Value => a.value.cmp(&b.value),
    };
    if order == SortOrder::Descend {
        kvs.sort_by(|a, b| cmp(b, a));
    } else {
        kvs.sort_by(cmp);
    }
}
