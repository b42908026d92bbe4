//! Store errors as the gRPC statuses etcd returns (codes and messages of
//! etcd's `api/v3rpc/rpctypes`), so clients recognise them.

use kubemu_store::StoreError;
use tonic::{Code, Status};

/// The status etcd would send for this error.
pub fn status(e: StoreError) -> Status {
    let (code, msg) = match &e {
        StoreError::InvalidArgument(m) => (Code::InvalidArgument, m.clone()),
        StoreError::Compacted => (
            Code::OutOfRange,
            "etcdserver: mvcc: required revision has been compacted".into(),
        ),
        StoreError::FutureRevision => (
            Code::OutOfRange,
            "etcdserver: mvcc: required revision is a future revision".into(),
        ),
        StoreError::LeaseNotFound => (Code::NotFound, e.to_string()),
        StoreError::LeaseExists => (Code::FailedPrecondition, e.to_string()),
        StoreError::LeaseTtlTooLarge => (Code::OutOfRange, e.to_string()),
        StoreError::KeyNotFound => (Code::InvalidArgument, e.to_string()),
        StoreError::RequestTooLarge => (Code::InvalidArgument, e.to_string()),
        StoreError::TooManyOps => (Code::InvalidArgument, e.to_string()),
        StoreError::DuplicateKey => (Code::InvalidArgument, e.to_string()),
        StoreError::NoSpace => (Code::ResourceExhausted, e.to_string()),
        StoreError::Corruption(_) => (Code::DataLoss, e.to_string()),
        StoreError::Io(_) | StoreError::Closed => (Code::Unavailable, e.to_string()),
    };
    Status::new(code, msg)
}

/// etcd's answer to a member change on a single-member store.
pub fn single_member(what: &str) -> Status {
    Status::failed_precondition(format!(
        "kubemu: {what} is not supported: a kubemu store is a single member; for high \
         availability use a real etcd cluster as the backend (--store etcd://...)"
    ))
}
