//! kubemu-store: an MVCC watchable key-value store with etcd v3 semantics.
//!
//! - Revisions, per-key create/mod revision and version, tombstones closing
//!   generations ([`Store::put`], [`Store::delete_range`]).
//! - Ranges at any retained revision with etcd's limit/count/sort/filter rules
//!   ([`Store::range`]); txns with compares and nested ops, one revision each
//!   ([`Store::txn`]); compaction in batches ([`Store::compact`]).
//! - Watches multiplexed on bounded streams; a slow stream falls back to
//!   replaying history and never blocks a writer ([`Store::watch_stream`]).
//! - Leases with TTL, keep-alive, revoke and a clock tests can drive.
//! - Durability: a checksummed WAL with group commit (one fsync for many
//!   writes), periodic snapshots, torn-tail repair; backups with sha256.
//!
//! Pure Rust: no Python here. `kubemu-py` binds it.

mod clock;
mod codec;
mod error;
mod index;
mod lease;
mod snapshot;
mod state;
mod store;
mod txn;
mod types;
mod wal;
mod watch;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Result, StoreError};
pub use lease::{MAX_TTL, MIN_TTL};
pub use state::Limits;
pub use store::{snapshot_restore, Durable, Options, Store, WatchStream};
pub use types::*;
pub use watch::{WatchRequest, WatchResponse};
