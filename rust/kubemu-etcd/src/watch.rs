//! The Watch service: one store watch stream per gRPC stream; one task reads
//! client requests, another forwards the store's responses.

use std::sync::Arc;

use kubemu_store as ks;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::convert;
use crate::pb::etcdserverpb as pb;
use crate::services::{async_stream, Ctx};

/// Undelivered events a stream may hold before its watches fall back to replay.
const MAX_PENDING_EVENTS: usize = 64 * 1024;

fn create_request(c: pb::WatchCreateRequest) -> ks::WatchRequest {
    use pb::watch_create_request::FilterType;
    let mut req = ks::WatchRequest {
        // etcd turns an empty key into "\0".
        key: if c.key.is_empty() { vec![0] } else { c.key },
        range_end: c.range_end,
        start_revision: c.start_revision,
        prev_kv: c.prev_kv,
        progress_notify: c.progress_notify,
        watch_id: c.watch_id,
        ..Default::default()
    };
    for f in c.filters {
        match FilterType::try_from(f) {
            Ok(FilterType::Noput) => req.no_put = true,
            Ok(FilterType::Nodelete) => req.no_delete = true,
            Err(_) => {}
        }
    }
    req
}

impl Ctx {
    fn watch_response(&self, r: &ks::WatchResponse) -> pb::WatchResponse {
        // etcd leaves the revision unset when it cancels a watch as compacted.
        let revision = if r.canceled && r.compact_revision != 0 {
            0
        } else {
            r.revision
        };
        pb::WatchResponse {
            header: Some(self.header(revision)),
            watch_id: r.watch_id,
            created: r.created,
            canceled: r.canceled,
            compact_revision: r.compact_revision,
            cancel_reason: r.cancel_reason.clone(),
            fragment: false,
            events: r
                .events
                .iter()
                .map(|e| convert::event(e, r.prev_kv))
                .collect(),
        }
    }
}

#[tonic::async_trait]
impl pb::watch_server::Watch for Ctx {
    type WatchStream = crate::services::BoxStream<pb::WatchResponse>;

    async fn watch(
        &self,
        req: Request<Streaming<pb::WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        use pb::watch_request::RequestUnion;
        let mut incoming = req.into_inner();
        let stream = Arc::new(self.store.watch_stream(MAX_PENDING_EVENTS));
        let notify = Arc::new(tokio::sync::Notify::new());
        {
            let n = notify.clone();
            stream.set_notifier(Box::new(move || n.notify_one()));
        }
        let ctx = self.clone();
        let out = async_stream(move |tx| async move {
            // Client requests: create, cancel, progress.
            let reader = {
                let (stream, notify, tx, ctx) =
                    (stream.clone(), notify.clone(), tx.clone(), ctx.clone());
                tokio::spawn(async move {
                    while let Some(Ok(msg)) = incoming.next().await {
                        match msg.request_union {
                            Some(RequestUnion::CreateRequest(c)) => {
                                let resp = stream.watch(&create_request(c)).err().map(|e| {
                                    pb::WatchResponse {
                                        header: Some(ctx.header(ctx.store.revision())),
                                        watch_id: -1,
                                        created: true,
                                        canceled: true,
                                        cancel_reason: e.to_string(),
                                        ..Default::default()
                                    }
                                });
                                if let Some(resp) = resp {
                                    if tx.send(Ok(resp)).await.is_err() {
                                        break;
                                    }
                                }
                            }
                            Some(RequestUnion::CancelRequest(c)) => {
                                stream.cancel(c.watch_id);
                            }
                            Some(RequestUnion::ProgressRequest(_)) => stream.request_progress(),
                            None => {}
                        }
                    }
                    stream.close();
                    notify.notify_one();
                })
            };
            // Store responses to the client.
            loop {
                let rs = stream.poll(1024, None);
                if rs.is_empty() {
                    if stream.is_closed() {
                        break;
                    }
                    notify.notified().await;
                    continue;
                }
                for r in &rs {
                    if tx.send(Ok(ctx.watch_response(r))).await.is_err() {
                        stream.close();
                        reader.abort();
                        return;
                    }
                }
            }
            reader.abort();
        });
        Ok(Response::new(out))
    }
}
