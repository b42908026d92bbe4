//! The apiserver's watch fan-out over stored documents: store events in,
//! per-stream watch events (ADDED/MODIFIED/DELETED) out, without decoding.
//!
//! A [`Router`] serves one resource (one store watch on its prefix). For each
//! store event it reads the object's namespace, labels and selectable fields
//! once ([`Spec`]: one walk over the msgpack bytes, without allocating, that
//! finds what [`Paths::find`] finds; a document the rules cannot judge goes to
//! a caller-supplied decoder), and offers the
//! event to the streams whose filter can match. Streams are indexed by the
//! exact field value they select on (`spec.nodeName=n`, every name of a
//! node-name set), else by namespace, else kept unindexed, so the cost of an
//! event is proportional to the streams that may match it.
//!
//! Semantics are kube-apiserver's watch cache's (and kubemu's Python hub's):
//! a filter is applied to the new and, for a modification, the previous
//! state; an object entering a stream's selection is sent as ADDED, one
//! leaving it as DELETED carrying its previous value with the event's
//! revision, one staying as MODIFIED. A stream gets only events after its
//! `after_revision`. The router keeps the last `buffer_size` events (with
//! their read states) so a stream that joins from a recent revision is
//! replayed what it missed, and the newest state of up to `buffer_size`
//! recently written keys, so a modification's previous state is not read
//! again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

mod state;

pub use state::{Bytes, LabelRef, LabelVal, Spec, State, Val};

#[cfg(doc)]
use crate::lookup::Paths;

const SPEC_NODE_NAME: &str = "spec.nodeName";
const META_NAMESPACE: &str = "metadata.namespace";

/// A label selector requirement's operator (`k8s.io/apimachinery` selection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelOp {
    /// `=`, `==`, `in`: the value is one of `values`.
    In,
    /// `!=`, `notin`: absent, or not one of `values`.
    NotIn,
    Exists,
    DoesNotExist,
    /// `gt`/`lt`: the value and the single requirement value are int64s.
    Gt,
    Lt,
}

/// One `key <op> values` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelReq {
    pub key: String,
    pub op: LabelOp,
    pub values: Vec<String>,
}

/// A label selector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Labels {
    #[default]
    Everything,
    Nothing,
    /// A conjunction.
    All(Vec<LabelReq>),
}

/// `field = value` (`equal`) or `field != value`; an absent field reads `""`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    pub field: String,
    pub value: String,
    pub equal: bool,
}

/// A stream's filter. Terms in selector order (the first `=` term indexes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// `""`: every namespace.
    pub namespace: String,
    pub labels: Labels,
    pub fields: Vec<FieldTerm>,
    /// Only objects whose `spec.nodeName` is one of these.
    pub node_names: Option<HashSet<String>>,
}

impl Filter {
    /// Passes or fails the same for every state of one object.
    pub fn trivial(&self) -> bool {
        self.labels == Labels::Everything && self.fields.is_empty() && self.node_names.is_none()
    }

    /// The (field, value) keys the stream is indexed under (none: unindexed).
    fn index_keys(&self) -> Vec<(String, String)> {
        if let Some(names) = &self.node_names {
            return names
                .iter()
                .map(|n| (SPEC_NODE_NAME.to_string(), n.clone()))
                .collect();
        }
        if let Some(t) = self.fields.iter().find(|t| t.equal) {
            return vec![(t.field.clone(), t.value.clone())];
        }
        if !self.namespace.is_empty() {
            return vec![(META_NAMESPACE.to_string(), self.namespace.clone())];
        }
        Vec::new()
    }
}

/// `strconv.ParseInt(s, 10, 64)`: an optional sign and ASCII digits.
fn go_int(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl LabelReq {
    fn matches(&self, st: &State) -> bool {
        let value = st.label(self.key.as_bytes());
        let str_value = match value {
            Some(LabelRef::Str(s)) => Some(s),
            _ => None,
        };
        let in_values = |v: &[u8]| self.values.iter().any(|x| x.as_bytes() == v);
        match self.op {
            LabelOp::In => str_value.is_some_and(in_values),
            LabelOp::NotIn => !str_value.is_some_and(in_values),
            LabelOp::Exists => value.is_some(),
            LabelOp::DoesNotExist => value.is_none(),
            LabelOp::Gt | LabelOp::Lt => {
                let have = str_value
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(go_int);
                let (Some(have), [want]) = (have, &self.values[..]) else {
                    return false;
                };
                let Some(want) = go_int(want) else {
                    return false;
                };
                if self.op == LabelOp::Gt {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

/// Where a term's field is in a [`State`] (`None`: not a selectable field of
/// the kind, so it reads `""`).
type Slot = Option<usize>;

fn field_of(st: &State, slot: Slot) -> Option<&[u8]> {
    match slot {
        Some(i) => st.field(i),
        None => Some(b""),
    }
}

/// FxHash (rustc's) with a final mix: fast for the short keys of the index
/// (node names, namespaces, stream ids) and the state cache (store keys).
#[derive(Debug, Default, Clone, Copy)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        // Fx alone leaves differences in a word's high bytes in the high
        // bits; the table indexes by the low ones: mix (murmur3's fmix64).
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

type FxBuild = std::hash::BuildHasherDefault<Fx>;
type FxMap<K, V> = HashMap<K, V, FxBuild>;
type NameSet = HashSet<Box<[u8]>, FxBuild>;

/// A filter with its field names resolved against the [`Spec`].
#[derive(Debug)]
struct Compiled {
    namespace: Option<Box<[u8]>>,
    labels: Labels,
    fields: Vec<(Slot, Box<[u8]>, bool)>,
    node_names: Option<(Slot, NameSet)>,
}

impl Compiled {
    fn new(spec: &Spec, f: &Filter) -> Self {
        let bytes = |s: &str| Box::<[u8]>::from(s.as_bytes());
        Compiled {
            namespace: (!f.namespace.is_empty()).then(|| bytes(&f.namespace)),
            labels: f.labels.clone(),
            fields: f
                .fields
                .iter()
                .map(|t| (spec.slot(&t.field), bytes(&t.value), t.equal))
                .collect(),
            node_names: f.node_names.as_ref().map(|n| {
                (
                    spec.slot(SPEC_NODE_NAME),
                    n.iter().map(|s| bytes(s)).collect(),
                )
            }),
        }
    }

    fn matches(&self, st: &State) -> bool {
        if let Some(ns) = &self.namespace {
            if st.namespace() != Some(&ns[..]) {
                return false;
            }
        }
        match &self.labels {
            Labels::Everything => {}
            Labels::Nothing => return false,
            Labels::All(reqs) => {
                if !reqs.iter().all(|r| r.matches(st)) {
                    return false;
                }
            }
        }
        for (slot, value, equal) in &self.fields {
            if (field_of(st, *slot) == Some(&value[..])) != *equal {
                return false;
            }
        }
        match &self.node_names {
            None => true,
            Some((slot, names)) => field_of(st, *slot).is_some_and(|n| names.contains(n)),
        }
    }
}

/// A store event.
#[derive(Debug, Clone)]
pub struct StoreEvent {
    pub delete: bool,
    pub key: Bytes,
    /// The new value (put) or the last value before the delete (empty: unknown).
    pub value: Bytes,
    pub revision: i64,
    /// A put's previous value (`None`: the key was created).
    pub prev: Option<Bytes>,
}

/// A watch event's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// The Kubernetes name (`ADDED`, ...).
    pub fn name(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One event for one stream: the object as stored, at `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub kind: EventType,
    pub revision: i64,
    pub value: Bytes,
    /// Which event of the call it comes from (its index among the events
    /// [`Router::route`] was given, or the buffered events [`Router::add`]
    /// replays): deliveries with the same `event` and `kind` are equal.
    pub event: u32,
}

#[derive(Debug)]
struct Stream {
    filter: Compiled,
    trivial: bool,
    after: i64,
    keys: Vec<(String, String)>,
    pending: Vec<Delivery>,
}

/// Streams indexed under one field's values.
#[derive(Debug, Default)]
struct FieldIndex {
    slot: Slot,
    streams: usize,
    by_value: FxMap<Box<[u8]>, Vec<u64>>,
}

#[derive(Debug)]
struct Buffered {
    ev: StoreEvent,
    new: Arc<State>,
    old: Option<Arc<State>>,
}

/// The newest state of recently written keys, oldest evicted first.
#[derive(Debug, Default)]
struct StateCache {
    map: FxMap<Bytes, (Bytes, Arc<State>, u64)>,
    order: VecDeque<(Bytes, u64)>,
    seq: u64,
}

impl StateCache {
    fn take(&mut self, key: &[u8], value: &Bytes) -> Option<Arc<State>> {
        let (v, st, _) = self.map.remove(key)?;
        (Arc::ptr_eq(&v, value) || v[..] == value[..]).then_some(st)
    }

    fn put(&mut self, key: Bytes, value: Bytes, st: Arc<State>, cap: usize) {
        self.seq += 1;
        self.order.push_back((key.clone(), self.seq));
        self.map.insert(key, (value, st, self.seq));
        while self.map.len() > cap {
            let Some((k, seq)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&k).is_some_and(|e| e.2 == seq) {
                self.map.remove(&k);
            }
        }
        if self.order.len() > 2 * cap + 64 {
            // Drop entries of keys written again or taken since.
            let map = &self.map;
            self.order
                .retain(|(k, seq)| map.get(k).is_some_and(|e| e.2 == *seq));
        }
    }
}

/// Why a batch could not be routed: the decoder's error for a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

/// Routes one resource's store events to its streams (see the module doc).
#[derive(Debug)]
pub struct Router {
    spec: Spec,
    buffer_size: usize,
    streams: FxMap<u64, Stream>,
    unindexed: Vec<u64>,
    index: HashMap<String, FieldIndex>,
    buffer: VecDeque<Buffered>,
    states: StateCache,
    floor: i64,
    dispatched: i64,
    touched: Vec<u64>,
    /// Scratch space for an event's candidate streams.
    targets: Vec<u64>,
}

impl Router {
    /// A router whose first event will be `start_revision` (or later).
    pub fn new(spec: Spec, start_revision: i64, buffer_size: usize) -> Self {
        Router {
            spec,
            buffer_size,
            streams: FxMap::default(),
            unindexed: Vec::new(),
            index: HashMap::new(),
            buffer: VecDeque::new(),
            states: StateCache::default(),
            floor: start_revision - 1,
            dispatched: start_revision - 1,
            touched: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// Every event after this revision is buffered or still to come: a
    /// stream may join from here on.
    pub fn floor(&self) -> i64 {
        self.floor
    }

    /// The revision of the last event routed.
    pub fn dispatched(&self) -> i64 {
        self.dispatched
    }

    /// Number of streams.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether there are no streams.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Adds stream `id` (replacing one with that id) that has seen every
    /// event up to `after_revision`; returns the buffered events after it
    /// that it must get first (in revision order). A stream from below
    /// [`Router::floor`] misses events: callers give it its own router.
    pub fn add(&mut self, id: u64, filter: &Filter, after_revision: i64) -> Vec<Delivery> {
        self.remove(id);
        let keys = filter.index_keys();
        if let Some((f, _)) = keys.first() {
            let slot = self.spec.slot(f);
            let idx = self.index.entry(f.clone()).or_insert_with(|| FieldIndex {
                slot,
                ..FieldIndex::default()
            });
            idx.streams += 1;
            for (_, v) in &keys {
                idx.by_value
                    .entry(Box::from(v.as_bytes()))
                    .or_default()
                    .push(id);
            }
        } else {
            self.unindexed.push(id);
        }
        let mut stream = Stream {
            filter: Compiled::new(&self.spec, filter),
            trivial: filter.trivial(),
            after: after_revision,
            keys,
            pending: Vec::new(),
        };
        if after_revision < self.dispatched {
            for (i, b) in self.buffer.iter().enumerate() {
                offer(&mut stream, &b.ev, &b.new, b.old.as_deref(), i as u32);
            }
        }
        let replay = std::mem::take(&mut stream.pending);
        self.streams.insert(id, stream);
        replay
    }

    /// Removes stream `id`; false if there is none.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(stream) = self.streams.remove(&id) else {
            return false;
        };
        if let Some((f, _)) = stream.keys.first() {
            if let Some(idx) = self.index.get_mut(f) {
                for (_, v) in &stream.keys {
                    if let Some(ids) = idx.by_value.get_mut(v.as_bytes()) {
                        if let Some(p) = ids.iter().position(|&x| x == id) {
                            ids.swap_remove(p);
                        }
                        if ids.is_empty() {
                            idx.by_value.remove(v.as_bytes());
                        }
                    }
                }
                idx.streams -= 1;
                if idx.streams == 0 {
                    self.index.remove(f);
                }
            }
        } else if let Some(p) = self.unindexed.iter().position(|&x| x == id) {
            self.unindexed.swap_remove(p);
        }
        self.touched.retain(|&x| x != id);
        true
    }

    /// Routes `events` (in revision order): per stream that gets any, its
    /// events in order, streams in the order they first got one. `decode`
    /// reads a state the [`Spec`] cannot; its error stops the batch (events
    /// before the failing one are routed and lost to the caller, which is
    /// to end every stream). Cost: per event one read of each state not
    /// cached, hash lookups per indexed field, and a filter per candidate
    /// stream.
    pub fn route(
        &mut self,
        events: impl IntoIterator<Item = StoreEvent>,
        decode: &mut dyn FnMut(&[u8]) -> Result<State, DecodeError>,
    ) -> Result<Vec<(u64, Vec<Delivery>)>, DecodeError> {
        for (i, ev) in events.into_iter().enumerate() {
            self.dispatch(ev, i as u32, decode)?;
        }
        let touched = std::mem::take(&mut self.touched);
        let mut out = Vec::with_capacity(touched.len());
        for id in touched {
            if let Some(s) = self.streams.get_mut(&id) {
                if !s.pending.is_empty() {
                    out.push((id, std::mem::take(&mut s.pending)));
                }
            }
        }
        Ok(out)
    }

    fn read(
        &self,
        value: &Bytes,
        decode: &mut dyn FnMut(&[u8]) -> Result<State, DecodeError>,
    ) -> Result<Arc<State>, DecodeError> {
        match self.spec.read(value) {
            Some(st) => Ok(Arc::new(st)),
            None => decode(value).map(Arc::new),
        }
    }

    fn states(
        &mut self,
        ev: &StoreEvent,
        decode: &mut dyn FnMut(&[u8]) -> Result<State, DecodeError>,
    ) -> Result<(Arc<State>, Option<Arc<State>>), DecodeError> {
        if ev.delete {
            if let Some(st) = self.states.take(&ev.key, &ev.value) {
                return Ok((st, None));
            }
            return Ok((self.read(&ev.value, decode)?, None));
        }
        let mut old = None;
        if let Some(prev) = &ev.prev {
            old = match self.states.take(&ev.key, prev) {
                Some(st) => Some(st),
                None => Some(self.read(prev, decode)?),
            };
        }
        let new = self.read(&ev.value, decode)?;
        let cap = self.buffer_size.max(1);
        self.states
            .put(ev.key.clone(), ev.value.clone(), new.clone(), cap);
        Ok((new, old))
    }

    fn dispatch(
        &mut self,
        ev: StoreEvent,
        seq: u32,
        decode: &mut dyn FnMut(&[u8]) -> Result<State, DecodeError>,
    ) -> Result<(), DecodeError> {
        if ev.value.is_empty() {
            // A delete whose previous value is no longer known.
            self.dispatched = ev.revision;
            return Ok(());
        }
        let (new, old) = self.states(&ev, decode)?;
        self.dispatched = ev.revision;
        if !self.streams.is_empty() {
            self.offer_all(&ev, &new, old.as_deref(), seq);
        }
        if self.buffer_size > 0 {
            self.buffer.push_back(Buffered { ev, new, old });
            if self.buffer.len() > self.buffer_size {
                if let Some(gone) = self.buffer.pop_front() {
                    self.floor = gone.ev.revision;
                }
            }
        } else {
            self.floor = ev.revision;
        }
        Ok(())
    }

    fn offer_all(&mut self, ev: &StoreEvent, new: &State, old: Option<&State>, seq: u32) {
        let mut targets = std::mem::take(&mut self.targets);
        targets.clear();
        targets.extend_from_slice(&self.unindexed);
        for (f, idx) in &self.index {
            if f == META_NAMESPACE {
                if let Some(ns) = new.namespace() {
                    if let Some(ids) = idx.by_value.get(ns) {
                        targets.extend_from_slice(ids);
                    }
                }
                continue;
            }
            let v_new = field_of(new, idx.slot);
            if let Some(ids) = v_new.and_then(|v| idx.by_value.get(v)) {
                targets.extend_from_slice(ids);
            }
            if let Some(old) = old {
                let v_old = field_of(old, idx.slot);
                if v_old != v_new {
                    if let Some(ids) = v_old.and_then(|v| idx.by_value.get(v)) {
                        targets.extend_from_slice(ids);
                    }
                }
            }
        }
        if targets.len() > 1 {
            targets.sort_unstable();
            targets.dedup();
        }
        for &id in &targets {
            if let Some(s) = self.streams.get_mut(&id) {
                let was_empty = s.pending.is_empty();
                offer(s, ev, new, old, seq);
                if was_empty && !s.pending.is_empty() {
                    self.touched.push(id);
                }
            }
        }
        self.targets = targets;
    }
}

/// Queues `ev` on `stream` if it matches (the ADDED/MODIFIED/DELETED rules).
fn offer(stream: &mut Stream, ev: &StoreEvent, new: &State, old: Option<&State>, seq: u32) {
    let rv = ev.revision;
    if rv <= stream.after {
        return;
    }
    let mut push = |kind, value: &Bytes| {
        stream.pending.push(Delivery {
            kind,
            revision: rv,
            value: value.clone(),
            event: seq,
        })
    };
    let cur = stream.filter.matches(new);
    if ev.delete {
        if cur {
            push(EventType::Deleted, &ev.value);
        }
        return;
    }
    let Some(prev) = &ev.prev else {
        if cur {
            push(EventType::Added, &ev.value);
        }
        return;
    };
    let was = match old {
        Some(old) if !stream.trivial => stream.filter.matches(old),
        _ => cur,
    };
    match (cur, was) {
        (true, true) => push(EventType::Modified, &ev.value),
        (true, false) => push(EventType::Added, &ev.value),
        (false, true) => push(EventType::Deleted, prev),
        (false, false) => {}
    }
}

#[cfg(test)]
mod tests;
