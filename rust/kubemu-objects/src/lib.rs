//! Stored Kubernetes documents (msgpack maps with string keys, as the apiserver
//! writes them) read and written without building a document tree.
//!
//! * [`msgpack`]: a bounds-checked reader (skip a value, walk a map, read a
//!   string). Malformed input is an [`Error`], never a panic.
//! * [`lookup`]: the values at a few paths of a document (selectable fields
//!   and labels for the watch hub).
//! * [`route`]: the watch fan-out: store events to per-stream watch events
//!   by namespace, labels and selectable fields.
//! * [`stamp`]: many stored documents from one learnt layout plus per-item
//!   name, uid and creationTimestamp (the apiserver's batch create).

pub mod lookup;
pub mod msgpack;
pub mod route;
pub mod stamp;

pub use msgpack::Error;
