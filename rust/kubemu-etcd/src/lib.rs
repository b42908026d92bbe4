//! kubemu-etcd: the etcd v3 gRPC API over kubemu-store, so etcdctl and etcd
//! clients work against the emulator's store.
//!
//! Services: KV, Watch, Lease, Cluster (one member), Maintenance and
//! grpc.health.v1; plain HTTP `/health` and `/version` on the same port. Errors carry etcd's gRPC codes and messages
//! ([`errors::status`]). Puts, deletes and txns apply on the async worker and
//! then await durability from the store's committer thread, so no thread
//! blocks on fsync and concurrent writers share group commits; the rarer
//! blocking calls (compaction, lease grant/revoke, snapshots) use tokio's
//! blocking pool.

mod convert;
pub mod errors;
mod http;
mod server;
mod services;
mod watch;

pub use server::{EtcdServer, Member};
pub use services::ETCD_VERSION;

/// Generated protobuf and gRPC code.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod pb {
    pub mod mvccpb {
        tonic::include_proto!("mvccpb");
    }
    pub mod etcdserverpb {
        tonic::include_proto!("etcdserverpb");
    }
    pub mod health {
        tonic::include_proto!("grpc.health.v1");
    }
}
