//! The Watch service: one store watch stream per gRPC stream; one task reads
//! client requests, another forwards the store's responses.

use std::collections::HashSet;
use std::sync::Arc;

use kubemu_store as ks;
use parking_lot::Mutex;
use prost::Message;
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

/// Splits a response the way etcd's `sendFragments` does: when it is at
/// least `max` bytes and has two or more events, into pieces each under
/// `max` (a single event may exceed it), all but the last marked `fragment`.
pub(crate) fn fragments(wr: pb::WatchResponse, max: usize) -> Vec<pb::WatchResponse> {
    if wr.encoded_len() < max || wr.events.len() < 2 {
        return vec![wr];
    }
    let mut base = wr.clone();
    base.events = Vec::new();
    base.fragment = true;
    let base_len = base.encoded_len();
    // Field 11 (events): a one-byte tag, the length, the event.
    let event_len = |e: &crate::pb::mvccpb::Event| {
        let n = e.encoded_len();
        1 + prost::length_delimiter_len(n) + n
    };
    let mut out = Vec::new();
    let mut events = wr.events.into_iter().peekable();
    while events.peek().is_some() {
        let mut cur = base.clone();
        let mut size = base_len;
        while let Some(e) = events.peek() {
            let n = event_len(e);
            if !cur.events.is_empty() && size + n >= max {
                break;
            }
            size += n;
            cur.events.push(events.next().expect("peeked"));
        }
        out.push(cur);
    }
    if let Some(last) = out.last_mut() {
        last.fragment = false;
    }
    out
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
        let max_bytes = self.store.limits().max_request_bytes;
        // Watches that asked for fragmented responses.
        let fragmented: Arc<Mutex<HashSet<i64>>> = Arc::default();
        let out = async_stream(move |tx| async move {
            // Client requests: create, cancel, progress.
            let reader = {
                let (stream, notify, tx, ctx, fragmented) = (
                    stream.clone(),
                    notify.clone(),
                    tx.clone(),
                    ctx.clone(),
                    fragmented.clone(),
                );
                tokio::spawn(async move {
                    while let Some(Ok(msg)) = incoming.next().await {
                        match msg.request_union {
                            Some(RequestUnion::CreateRequest(c)) => {
                                let fragment = c.fragment;
                                let created = stream.watch(&create_request(c));
                                if let (Ok(id), true) = (&created, fragment) {
                                    fragmented.lock().insert(*id);
                                }
                                let resp = created.err().map(|e| pb::WatchResponse {
                                    header: Some(ctx.header(ctx.store.revision())),
                                    watch_id: -1,
                                    created: true,
                                    canceled: true,
                                    cancel_reason: e.to_string(),
                                    ..Default::default()
                                });
                                if let Some(resp) = resp {
                                    if tx.send(Ok(resp)).await.is_err() {
                                        break;
                                    }
                                }
                            }
                            Some(RequestUnion::CancelRequest(c)) => {
                                stream.cancel(c.watch_id);
                                fragmented.lock().remove(&c.watch_id);
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
                    let wr = ctx.watch_response(r);
                    let pieces = if fragmented.lock().contains(&r.watch_id) {
                        fragments(wr, max_bytes)
                    } else {
                        vec![wr]
                    };
                    for piece in pieces {
                        if tx.send(Ok(piece)).await.is_err() {
                            stream.close();
                            reader.abort();
                            return;
                        }
                    }
                }
            }
            reader.abort();
        });
        Ok(Response::new(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::mvccpb;

    fn response(values: &[usize]) -> pb::WatchResponse {
        pb::WatchResponse {
            header: Some(pb::ResponseHeader {
                revision: 9,
                ..Default::default()
            }),
            watch_id: 3,
            events: values
                .iter()
                .enumerate()
                .map(|(i, &n)| mvccpb::Event {
                    r#type: 0,
                    kv: Some(mvccpb::KeyValue {
                        key: format!("k{i}").into_bytes(),
                        value: vec![b'v'; n],
                        mod_revision: i as i64 + 1,
                        ..Default::default()
                    }),
                    prev_kv: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn small_or_single_event_responses_are_not_split() {
        assert_eq!(fragments(response(&[10, 10]), 1024).len(), 1);
        let one = fragments(response(&[5000]), 1024);
        assert_eq!(one.len(), 1);
        assert!(!one[0].fragment);
    }

    #[test]
    fn large_responses_split_in_order_under_the_limit() {
        let whole = response(&[400, 400, 400, 400, 400]);
        let pieces = fragments(whole.clone(), 1024);
        assert_eq!(
            pieces.len(),
            3,
            "two 400-byte events fit under 1 KiB, three do not"
        );
        let flags: Vec<bool> = pieces.iter().map(|p| p.fragment).collect();
        assert_eq!(flags, [true, true, false]);
        for p in &pieces {
            assert!(p.encoded_len() < 1024);
            assert_eq!((p.watch_id, p.header.as_ref().unwrap().revision), (3, 9));
        }
        let joined: Vec<_> = pieces.into_iter().flat_map(|p| p.events).collect();
        assert_eq!(joined, whole.events);
    }

    #[test]
    fn an_event_larger_than_the_limit_travels_alone() {
        let pieces = fragments(response(&[100, 3000, 100]), 1024);
        let sizes: Vec<usize> = pieces.iter().map(|p| p.events.len()).collect();
        assert_eq!(sizes, [1, 1, 1]);
        assert!(pieces[1].encoded_len() > 1024);
    }
}
