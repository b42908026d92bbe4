//! Request and response types, shaped after etcd's `etcdserverpb` / `mvccpb`.

use std::sync::Arc;

/// Immutable shared bytes: keys and values are stored once and shared by the
/// index, responses and watch events without copying.
pub type Bytes = Arc<[u8]>;

/// A revision: `main` counts mutating txns; `sub` orders changes inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Revision {
    /// One per mutating txn, starting at 1 for an empty store.
    pub main: i64,
    /// Position of the change inside its txn, from 0.
    pub sub: i64,
}

/// One version of a key (etcd `mvccpb.KeyValue`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyValue {
    pub key: Bytes,
    pub value: Bytes,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub lease: i64,
}

/// What a watch event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Put,
    Delete,
}

/// One change, as watchers see it. A delete's `kv` holds only the key and
/// `mod_revision` (the delete's revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventType,
    pub kv: KeyValue,
    /// The version before this change, when the watch asked for it and one existed.
    pub prev_kv: Option<KeyValue>,
}

/// Sort order of a range (etcd `RangeRequest.SortOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    None,
    Ascend,
    Descend,
}

/// Sort target of a range (etcd `RangeRequest.SortTarget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortTarget {
    #[default]
    Key,
    Version,
    Create,
    Mod,
    Value,
}

/// A range request. `range_end`: empty = the single key `key`; `[0]` = every
/// key >= `key`; otherwise the half-open interval `[key, range_end)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeRequest {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
    /// Number of kvs to return at most; 0 = no limit.
    pub limit: i64,
    /// Revision to read at; <= 0 = the current revision.
    pub revision: i64,
    pub sort_order: SortOrder,
    pub sort_target: SortTarget,
    pub keys_only: bool,
    pub count_only: bool,
    pub min_mod_revision: i64,
    pub max_mod_revision: i64,
    pub min_create_revision: i64,
    pub max_create_revision: i64,
}

/// Result of a range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeResponse {
    /// The store's revision when the range was served (not the one read at).
    pub revision: i64,
    pub kvs: Vec<KeyValue>,
    /// True when `limit` cut the result.
    pub more: bool,
    /// Number of keys in the range at the revision, ignoring limit and filters.
    pub count: i64,
}

/// A put request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutRequest {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub lease: i64,
    pub prev_kv: bool,
    pub ignore_value: bool,
    pub ignore_lease: bool,
}

/// Result of a put.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutResponse {
    pub revision: i64,
    pub prev_kv: Option<KeyValue>,
}

/// A delete-range request (`range_end` as in [`RangeRequest`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteRangeRequest {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
    pub prev_kv: bool,
}

/// Result of a delete-range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteRangeResponse {
    pub revision: i64,
    pub deleted: i64,
    pub prev_kvs: Vec<KeyValue>,
}

/// What a compare looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareTarget {
    Version,
    Create,
    Mod,
    Value,
    Lease,
}

/// How a compare relates the key's field to the operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareResult {
    Equal,
    Greater,
    Less,
    NotEqual,
}

/// The operand of a compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompareOperand {
    Int(i64),
    Value(Vec<u8>),
}

/// One txn compare (etcd `Compare`). With a `range_end`, every key in the
/// range must pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
    pub target: CompareTarget,
    pub result: CompareResult,
    pub operand: CompareOperand,
}

/// One op of a txn (etcd `RequestOp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOp {
    Range(RangeRequest),
    Put(PutRequest),
    DeleteRange(DeleteRangeRequest),
    Txn(TxnRequest),
}

/// A txn: if every compare holds, run `success`, else `failure`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnRequest {
    pub compare: Vec<Compare>,
    pub success: Vec<RequestOp>,
    pub failure: Vec<RequestOp>,
}

/// The response to one txn op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseOp {
    Range(RangeResponse),
    Put(PutResponse),
    DeleteRange(DeleteRangeResponse),
    Txn(TxnResponse),
}

/// Result of a txn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnResponse {
    /// The txn's revision if it wrote, else the current revision.
    pub revision: i64,
    pub succeeded: bool,
    pub responses: Vec<ResponseOp>,
}

/// Result of a lease grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseGrantResponse {
    pub id: i64,
    pub ttl: i64,
    pub revision: i64,
}

/// Result of a lease time-to-live query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseTimeToLiveResponse {
    pub id: i64,
    /// Remaining whole seconds; -1 if the lease does not exist.
    pub ttl: i64,
    pub granted_ttl: i64,
    pub keys: Vec<Bytes>,
}

/// Alarms the store can raise (etcd `AlarmType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Alarm {
    /// Over the size quota: writes are refused until disarmed.
    NoSpace,
}

impl Alarm {
    /// etcd's name for the alarm.
    pub fn name(self) -> &'static str {
        match self {
            Alarm::NoSpace => "NOSPACE",
        }
    }
}

/// A status report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub revision: i64,
    pub compact_revision: i64,
    /// Bytes on disk (WAL + snapshots); the in-use size for an in-memory store.
    pub db_size: i64,
    /// Estimated bytes of live and retained data, what the quota is checked against.
    pub db_size_in_use: i64,
    pub quota_bytes: i64,
    /// Keys that exist at the current revision.
    pub keys: i64,
    pub alarms: Vec<Alarm>,
    /// Warnings from recovery (e.g. a torn WAL tail that was truncated).
    pub recovery_warnings: Vec<String>,
}

/// True if `key` lies in the range `[start, range_end)` under etcd's rules.
pub(crate) fn in_range(key: &[u8], start: &[u8], range_end: &[u8]) -> bool {
    if range_end.is_empty() {
        key == start
    } else if range_end == [0] {
        key >= start
    } else {
        key >= start && key < range_end
    }
}
