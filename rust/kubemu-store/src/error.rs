//! Typed store errors. Messages are etcd's own wording where etcd has one, so
//! transports (the etcd endpoint, the Python binding) can pass them through.

use std::fmt;

/// Every way a store operation can fail.
///
/// A failed operation changes nothing: validation happens before any write,
/// and a txn applies all of its ops or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The request is malformed; the message says how.
    InvalidArgument(String),
    /// The requested revision is at or below the compacted revision.
    Compacted,
    /// The requested revision is above the current revision.
    FutureRevision,
    /// The lease does not exist.
    LeaseNotFound,
    /// A lease with that id exists already.
    LeaseExists,
    /// The lease TTL is above the maximum.
    LeaseTtlTooLarge,
    /// ignore_value / ignore_lease on a key that does not exist.
    KeyNotFound,
    /// A key, value or whole request is over the request size limit.
    RequestTooLarge,
    /// A txn has more compares or ops in one list than allowed.
    TooManyOps,
    /// A txn writes one key twice.
    DuplicateKey,
    /// The NOSPACE alarm is active.
    NoSpace,
    /// On-disk data is corrupt; nothing was loaded.
    Corruption(String),
    /// An I/O error (the store stops accepting writes after a failed fsync).
    Io(String),
    /// The store is closed or has failed.
    Closed,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidArgument(m) => write!(f, "{m}"),
            Self::Compacted => f.write_str("mvcc: required revision has been compacted"),
            Self::FutureRevision => f.write_str("mvcc: required revision is a future revision"),
            Self::LeaseNotFound => f.write_str("etcdserver: requested lease not found"),
            Self::LeaseExists => f.write_str("etcdserver: lease already exists"),
            Self::LeaseTtlTooLarge => f.write_str("etcdserver: too large lease TTL"),
            Self::KeyNotFound => f.write_str("etcdserver: key not found"),
            Self::RequestTooLarge => f.write_str("etcdserver: request is too large"),
            Self::TooManyOps => f.write_str("etcdserver: too many operations in txn request"),
            Self::DuplicateKey => f.write_str("etcdserver: duplicate key given in txn request"),
            Self::NoSpace => f.write_str("etcdserver: mvcc: database space exceeded"),
            Self::Corruption(m) => write!(f, "data corruption: {m}"),
            Self::Io(m) => write!(f, "io error: {m}"),
            Self::Closed => f.write_str("store is closed"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

/// Shorthand for results of store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// The error for an empty key, worded as etcd words it.
pub(crate) fn empty_key() -> StoreError {
    StoreError::InvalidArgument("etcdserver: key is not provided".into())
}
