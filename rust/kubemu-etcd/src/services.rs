//! KV, Lease, Cluster, Maintenance and Health services over one store.

use std::pin::Pin;
use std::sync::Arc;

use kubemu_store as ks;
use prost::Message;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::convert;
use crate::errors::{single_member, status};
use crate::pb::etcdserverpb as pb;
use crate::pb::health as hpb;

/// Version reported by Status (the etcd API level kubemu speaks).
pub const ETCD_VERSION: &str = "3.5.0";
/// Chunk size of Snapshot responses (etcd's 32 KiB).
const SNAPSHOT_CHUNK: usize = 32 * 1024;

/// What every service shares: the store and this member's identity.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<ks::Store>,
    pub cluster_id: u64,
    pub member_id: u64,
    pub name: String,
    pub client_urls: Vec<String>,
}

impl Ctx {
    pub fn header(&self, revision: i64) -> pb::ResponseHeader {
        pb::ResponseHeader {
            cluster_id: self.cluster_id,
            member_id: self.member_id,
            revision,
            raft_term: 2,
        }
    }

    fn current(&self) -> pb::ResponseHeader {
        self.header(self.store.revision())
    }

    /// Applies a write on this worker (a short lock, no I/O), then waits
    /// without blocking a thread until the committer has made it durable.
    async fn deferred<T>(
        &self,
        f: impl FnOnce(&ks::Store) -> ks::Result<(T, u64)>,
    ) -> Result<T, Status> {
        let (r, seq) = f(&self.store).map_err(status)?;
        self.store.durable(seq).await.map_err(status)?;
        Ok(r)
    }

    /// etcd's request-size limit: `--max-request-bytes` applies to the whole
    /// encoded raft proposal (`InternalRaftRequest`: a header with a 64-bit
    /// request id, plus the request as one length-delimited field), not to the
    /// key and value alone. `request_len` is the encoded length of the request.
    fn check_request_size(&self, request_len: usize) -> Result<(), Status> {
        // Header: field 100 (two-byte tag), its length, field 1 with a
        // ten-byte varint id (etcd's ids carry the member id in the top bits).
        const HEADER: usize = 2 + 1 + 1 + 10;
        let proposal = HEADER + 1 + prost::length_delimiter_len(request_len) + request_len;
        if proposal > self.store.limits().max_request_bytes {
            return Err(status(ks::StoreError::RequestTooLarge));
        }
        Ok(())
    }

    /// Runs blocking store work (locks, fsync) off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ks::Store) -> ks::Result<T> + Send + 'static,
    ) -> Result<T, Status> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| Status::internal(format!("store task failed: {e}")))?
            .map_err(status)
    }
}

pub type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl pb::kv_server::Kv for Ctx {
    async fn range(
        &self,
        req: Request<pb::RangeRequest>,
    ) -> Result<Response<pb::RangeResponse>, Status> {
        let r = convert::range_request(req.into_inner())?;
        // Reads never wait on I/O: served on the async worker.
        let rr = self.store.range(&r).map_err(status)?;
        Ok(Response::new(convert::range_response(
            &rr,
            Some(self.header(rr.revision)),
        )))
    }

    async fn put(&self, req: Request<pb::PutRequest>) -> Result<Response<pb::PutResponse>, Status> {
        // etcd reports a missing key before the size (the store checks it).
        if !req.get_ref().key.is_empty() {
            self.check_request_size(req.get_ref().encoded_len())?;
        }
        let p = convert::put_request(req.into_inner());
        let r = self.deferred(|s| s.put_deferred(&p)).await?;
        Ok(Response::new(convert::put_response(
            &r,
            Some(self.header(r.revision)),
        )))
    }

    async fn delete_range(
        &self,
        req: Request<pb::DeleteRangeRequest>,
    ) -> Result<Response<pb::DeleteRangeResponse>, Status> {
        if !req.get_ref().key.is_empty() {
            self.check_request_size(req.get_ref().encoded_len())?;
        }
        let d = convert::delete_request(req.into_inner());
        let r = self.deferred(|s| s.delete_range_deferred(&d)).await?;
        Ok(Response::new(convert::delete_response(
            &r,
            Some(self.header(r.revision)),
        )))
    }

    async fn txn(&self, req: Request<pb::TxnRequest>) -> Result<Response<pb::TxnResponse>, Status> {
        self.check_request_size(req.get_ref().encoded_len())?;
        let t = convert::txn_request(req.into_inner())?;
        let r = self.deferred(|s| s.txn_deferred(&t)).await?;
        Ok(Response::new(convert::txn_response(&r, &|rev| {
            self.header(rev)
        })))
    }

    async fn compact(
        &self,
        req: Request<pb::CompactionRequest>,
    ) -> Result<Response<pb::CompactionResponse>, Status> {
        let rev = req.into_inner().revision;
        let r = self.blocking(move |s| s.compact(rev)).await?;
        Ok(Response::new(pb::CompactionResponse {
            header: Some(self.header(r)),
        }))
    }
}

#[tonic::async_trait]
impl pb::lease_server::Lease for Ctx {
    async fn lease_grant(
        &self,
        req: Request<pb::LeaseGrantRequest>,
    ) -> Result<Response<pb::LeaseGrantResponse>, Status> {
        let r = req.into_inner();
        let g = self.blocking(move |s| s.lease_grant(r.ttl, r.id)).await?;
        Ok(Response::new(pb::LeaseGrantResponse {
            header: Some(self.header(g.revision)),
            id: g.id,
            ttl: g.ttl,
            error: String::new(),
        }))
    }

    async fn lease_revoke(
        &self,
        req: Request<pb::LeaseRevokeRequest>,
    ) -> Result<Response<pb::LeaseRevokeResponse>, Status> {
        let id = req.into_inner().id;
        let rev = self.blocking(move |s| s.lease_revoke(id)).await?;
        Ok(Response::new(pb::LeaseRevokeResponse {
            header: Some(self.header(rev)),
        }))
    }

    type LeaseKeepAliveStream = BoxStream<pb::LeaseKeepAliveResponse>;

    async fn lease_keep_alive(
        &self,
        req: Request<Streaming<pb::LeaseKeepAliveRequest>>,
    ) -> Result<Response<Self::LeaseKeepAliveStream>, Status> {
        let mut incoming = req.into_inner();
        let ctx = self.clone();
        let out = async_stream(move |tx| async move {
            while let Some(msg) = incoming.next().await {
                let Ok(msg) = msg else { break };
                // etcd answers an unknown lease with TTL 0 on the stream.
                let ttl = ctx.store.lease_keepalive(msg.id).unwrap_or(0);
                let resp = pb::LeaseKeepAliveResponse {
                    header: Some(ctx.current()),
                    id: msg.id,
                    ttl,
                };
                if tx.send(Ok(resp)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(out))
    }

    async fn lease_time_to_live(
        &self,
        req: Request<pb::LeaseTimeToLiveRequest>,
    ) -> Result<Response<pb::LeaseTimeToLiveResponse>, Status> {
        let r = req.into_inner();
        let t = self
            .store
            .lease_time_to_live(r.id, r.keys)
            .map_err(status)?;
        Ok(Response::new(pb::LeaseTimeToLiveResponse {
            header: Some(self.current()),
            id: t.id,
            ttl: t.ttl,
            granted_ttl: t.granted_ttl,
            keys: t.keys.iter().map(|k| k.to_vec()).collect(),
        }))
    }

    async fn lease_leases(
        &self,
        _req: Request<pb::LeaseLeasesRequest>,
    ) -> Result<Response<pb::LeaseLeasesResponse>, Status> {
        let leases = self
            .store
            .leases_by_expiry()
            .into_iter()
            .map(|id| pb::LeaseStatus { id })
            .collect();
        Ok(Response::new(pb::LeaseLeasesResponse {
            header: Some(self.current()),
            leases,
        }))
    }
}

impl Ctx {
    fn member(&self) -> pb::Member {
        pb::Member {
            id: self.member_id,
            name: self.name.clone(),
            peer_ur_ls: vec!["http://localhost:2380".into()],
            client_ur_ls: self.client_urls.clone(),
            is_learner: false,
        }
    }
}

#[tonic::async_trait]
impl pb::cluster_server::Cluster for Ctx {
    async fn member_add(
        &self,
        _req: Request<pb::MemberAddRequest>,
    ) -> Result<Response<pb::MemberAddResponse>, Status> {
        Err(single_member("member add"))
    }

    async fn member_remove(
        &self,
        _req: Request<pb::MemberRemoveRequest>,
    ) -> Result<Response<pb::MemberRemoveResponse>, Status> {
        Err(single_member("member remove"))
    }

    async fn member_update(
        &self,
        _req: Request<pb::MemberUpdateRequest>,
    ) -> Result<Response<pb::MemberUpdateResponse>, Status> {
        Err(single_member("member update"))
    }

    async fn member_list(
        &self,
        _req: Request<pb::MemberListRequest>,
    ) -> Result<Response<pb::MemberListResponse>, Status> {
        Ok(Response::new(pb::MemberListResponse {
            header: Some(self.current()),
            members: vec![self.member()],
        }))
    }

    async fn member_promote(
        &self,
        _req: Request<pb::MemberPromoteRequest>,
    ) -> Result<Response<pb::MemberPromoteResponse>, Status> {
        Err(single_member("member promote"))
    }
}

#[tonic::async_trait]
impl pb::maintenance_server::Maintenance for Ctx {
    async fn alarm(
        &self,
        req: Request<pb::AlarmRequest>,
    ) -> Result<Response<pb::AlarmResponse>, Status> {
        use pb::alarm_request::AlarmAction;
        let r = req.into_inner();
        let action = AlarmAction::try_from(r.action)
            .map_err(|_| Status::invalid_argument("etcdserver: invalid alarm action"))?;
        if action == AlarmAction::Deactivate {
            self.blocking(|s| s.alarm_disarm()).await?;
        }
        let alarms = if action == AlarmAction::Activate {
            Vec::new()
        } else {
            self.store
                .alarms()
                .into_iter()
                .map(|a| pb::AlarmMember {
                    member_id: self.member_id,
                    alarm: match a {
                        ks::Alarm::NoSpace => pb::AlarmType::Nospace as i32,
                    },
                })
                .collect()
        };
        Ok(Response::new(pb::AlarmResponse {
            header: Some(self.current()),
            alarms,
        }))
    }

    async fn status(
        &self,
        _req: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        let st = self.store.status();
        let rev = st.revision as u64;
        Ok(Response::new(pb::StatusResponse {
            header: Some(self.header(st.revision)),
            version: ETCD_VERSION.into(),
            db_size: st.db_size,
            leader: self.member_id,
            raft_index: rev,
            raft_term: 2,
            raft_applied_index: rev,
            errors: st
                .alarms
                .iter()
                .map(|a| format!("alarm:{}", a.name()))
                .collect(),
            db_size_in_use: st.db_size_in_use,
            is_learner: false,
            storage_version: String::new(),
            db_size_quota: st.quota_bytes,
            downgrade_info: None,
        }))
    }

    async fn defragment(
        &self,
        _req: Request<pb::DefragmentRequest>,
    ) -> Result<Response<pb::DefragmentResponse>, Status> {
        // Nothing to defragment: freed space is returned as compaction runs.
        Ok(Response::new(pb::DefragmentResponse {
            header: Some(self.current()),
        }))
    }

    async fn hash(
        &self,
        _req: Request<pb::HashRequest>,
    ) -> Result<Response<pb::HashResponse>, Status> {
        let (hash, rev, _) = self.store.hash_kv(0).map_err(status)?;
        Ok(Response::new(pb::HashResponse {
            header: Some(self.header(rev)),
            hash,
        }))
    }

    async fn hash_kv(
        &self,
        req: Request<pb::HashKvRequest>,
    ) -> Result<Response<pb::HashKvResponse>, Status> {
        let (hash, rev, compact) = self
            .store
            .hash_kv(req.into_inner().revision)
            .map_err(status)?;
        Ok(Response::new(pb::HashKvResponse {
            header: Some(self.current()),
            hash,
            compact_revision: compact,
            hash_revision: rev,
        }))
    }

    type SnapshotStream = BoxStream<pb::SnapshotResponse>;

    async fn snapshot(
        &self,
        _req: Request<pb::SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        let (rev, data) = self.blocking(|s| s.snapshot_bytes()).await?;
        let header = self.header(rev);
        let total = data.len();
        let chunks: Vec<Result<pb::SnapshotResponse, Status>> = data
            .chunks(SNAPSHOT_CHUNK)
            .enumerate()
            .map(|(i, c)| {
                Ok(pb::SnapshotResponse {
                    header: Some(header),
                    remaining_bytes: (total - (i * SNAPSHOT_CHUNK + c.len())) as u64,
                    blob: c.to_vec(),
                    version: ETCD_VERSION.into(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }

    async fn move_leader(
        &self,
        _req: Request<pb::MoveLeaderRequest>,
    ) -> Result<Response<pb::MoveLeaderResponse>, Status> {
        Err(single_member("move leader"))
    }

    async fn downgrade(
        &self,
        _req: Request<pb::DowngradeRequest>,
    ) -> Result<Response<pb::DowngradeResponse>, Status> {
        Err(Status::unimplemented("kubemu: downgrade is not supported"))
    }
}

/// grpc.health.v1: the store is serving while it is open.
#[tonic::async_trait]
impl hpb::health_server::Health for Ctx {
    async fn check(
        &self,
        _req: Request<hpb::HealthCheckRequest>,
    ) -> Result<Response<hpb::HealthCheckResponse>, Status> {
        let serving = self.store.status().revision > 0;
        let status = if serving {
            hpb::health_check_response::ServingStatus::Serving
        } else {
            hpb::health_check_response::ServingStatus::NotServing
        };
        Ok(Response::new(hpb::HealthCheckResponse {
            status: status as i32,
        }))
    }

    type WatchStream = BoxStream<hpb::HealthCheckResponse>;

    async fn watch(
        &self,
        req: Request<hpb::HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let first = self.check(req).await?.into_inner();
        Ok(Response::new(Box::pin(
            tokio_stream::iter([Ok(first)]).chain(tokio_stream::pending()),
        )))
    }
}

/// A response stream fed by a task through a bounded channel.
pub fn async_stream<T, F, Fut>(f: F) -> BoxStream<T>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<Result<T, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(f(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
