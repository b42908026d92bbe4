//! Conversions between the etcd protobuf messages and kubemu-store types.

use kubemu_store as ks;
use tonic::Status;

use crate::pb::etcdserverpb as pb;
use crate::pb::mvccpb;

pub fn kv(kv: &ks::KeyValue) -> mvccpb::KeyValue {
    mvccpb::KeyValue {
        key: kv.key.to_vec(),
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        value: kv.value.to_vec(),
        lease: kv.lease,
    }
}

fn kvs(v: &[ks::KeyValue]) -> Vec<mvccpb::KeyValue> {
    v.iter().map(kv).collect()
}

pub fn event(e: &ks::Event, with_prev: bool) -> mvccpb::Event {
    mvccpb::Event {
        r#type: match e.kind {
            ks::EventType::Put => mvccpb::event::EventType::Put as i32,
            ks::EventType::Delete => mvccpb::event::EventType::Delete as i32,
        },
        kv: Some(kv(&e.kv)),
        prev_kv: if with_prev {
            e.prev_kv.as_ref().map(kv)
        } else {
            None
        },
    }
}

fn bad(what: &str) -> Status {
    Status::invalid_argument(format!("etcdserver: invalid {what}"))
}

pub fn range_request(r: pb::RangeRequest) -> Result<ks::RangeRequest, Status> {
    use pb::range_request::{SortOrder as O, SortTarget as T};
    Ok(ks::RangeRequest {
        key: r.key,
        range_end: r.range_end,
        limit: r.limit,
        revision: r.revision,
        sort_order: match O::try_from(r.sort_order).map_err(|_| bad("sort order"))? {
            O::None => ks::SortOrder::None,
            O::Ascend => ks::SortOrder::Ascend,
            O::Descend => ks::SortOrder::Descend,
        },
        sort_target: match T::try_from(r.sort_target).map_err(|_| bad("sort target"))? {
            T::Key => ks::SortTarget::Key,
            T::Version => ks::SortTarget::Version,
            T::Create => ks::SortTarget::Create,
            T::Mod => ks::SortTarget::Mod,
            T::Value => ks::SortTarget::Value,
        },
        keys_only: r.keys_only,
        count_only: r.count_only,
        min_mod_revision: r.min_mod_revision,
        max_mod_revision: r.max_mod_revision,
        min_create_revision: r.min_create_revision,
        max_create_revision: r.max_create_revision,
    })
}

pub fn put_request(p: pb::PutRequest) -> ks::PutRequest {
    ks::PutRequest {
        key: p.key,
        value: p.value,
        lease: p.lease,
        prev_kv: p.prev_kv,
        ignore_value: p.ignore_value,
        ignore_lease: p.ignore_lease,
    }
}

pub fn delete_request(d: pb::DeleteRangeRequest) -> ks::DeleteRangeRequest {
    ks::DeleteRangeRequest {
        key: d.key,
        range_end: d.range_end,
        prev_kv: d.prev_kv,
    }
}

fn compare(c: pb::Compare) -> Result<ks::Compare, Status> {
    use pb::compare::{CompareResult as R, CompareTarget as T, TargetUnion as U};
    let target = match T::try_from(c.target).map_err(|_| bad("compare target"))? {
        T::Version => ks::CompareTarget::Version,
        T::Create => ks::CompareTarget::Create,
        T::Mod => ks::CompareTarget::Mod,
        T::Value => ks::CompareTarget::Value,
        T::Lease => ks::CompareTarget::Lease,
    };
    let result = match R::try_from(c.result).map_err(|_| bad("compare result"))? {
        R::Equal => ks::CompareResult::Equal,
        R::Greater => ks::CompareResult::Greater,
        R::Less => ks::CompareResult::Less,
        R::NotEqual => ks::CompareResult::NotEqual,
    };
    // An absent operand is the zero value, as protobuf decodes it in etcd.
    let operand = match c.target_union {
        Some(U::Version(v) | U::CreateRevision(v) | U::ModRevision(v) | U::Lease(v)) => {
            ks::CompareOperand::Int(v)
        }
        Some(U::Value(v)) => ks::CompareOperand::Value(v),
        None if target == ks::CompareTarget::Value => ks::CompareOperand::Value(Vec::new()),
        None => ks::CompareOperand::Int(0),
    };
    Ok(ks::Compare {
        key: c.key,
        range_end: c.range_end,
        target,
        result,
        operand,
    })
}

fn request_op(op: pb::RequestOp) -> Result<ks::RequestOp, Status> {
    use pb::request_op::Request;
    Ok(match op.request {
        Some(Request::RequestRange(r)) => ks::RequestOp::Range(range_request(r)?),
        Some(Request::RequestPut(p)) => ks::RequestOp::Put(put_request(p)),
        Some(Request::RequestDeleteRange(d)) => ks::RequestOp::DeleteRange(delete_request(d)),
        Some(Request::RequestTxn(t)) => ks::RequestOp::Txn(txn_request(t)?),
        // etcd's checkRequestOp answers an empty op with ErrGRPCKeyNotFound.
        None => return Err(Status::invalid_argument("etcdserver: key not found")),
    })
}

pub fn txn_request(t: pb::TxnRequest) -> Result<ks::TxnRequest, Status> {
    Ok(ks::TxnRequest {
        compare: t
            .compare
            .into_iter()
            .map(compare)
            .collect::<Result<_, _>>()?,
        success: t
            .success
            .into_iter()
            .map(request_op)
            .collect::<Result<_, _>>()?,
        failure: t
            .failure
            .into_iter()
            .map(request_op)
            .collect::<Result<_, _>>()?,
    })
}

pub fn range_response(
    r: &ks::RangeResponse,
    header: Option<pb::ResponseHeader>,
) -> pb::RangeResponse {
    pb::RangeResponse {
        header,
        kvs: kvs(&r.kvs),
        more: r.more,
        count: r.count,
    }
}

pub fn put_response(r: &ks::PutResponse, header: Option<pb::ResponseHeader>) -> pb::PutResponse {
    pb::PutResponse {
        header,
        prev_kv: r.prev_kv.as_ref().map(kv),
    }
}

pub fn delete_response(
    r: &ks::DeleteRangeResponse,
    header: Option<pb::ResponseHeader>,
) -> pb::DeleteRangeResponse {
    pb::DeleteRangeResponse {
        header,
        deleted: r.deleted,
        prev_kvs: kvs(&r.prev_kvs),
    }
}

/// A txn response; `header` maker gives each nested response its header.
pub fn txn_response(
    r: &ks::TxnResponse,
    header: &impl Fn(i64) -> pb::ResponseHeader,
) -> pb::TxnResponse {
    use pb::response_op::Response;
    let responses = r
        .responses
        .iter()
        .map(|op| pb::ResponseOp {
            response: Some(match op {
                ks::ResponseOp::Range(x) => {
                    Response::ResponseRange(range_response(x, Some(header(x.revision))))
                }
                ks::ResponseOp::Put(x) => {
                    Response::ResponsePut(put_response(x, Some(header(x.revision))))
                }
                ks::ResponseOp::DeleteRange(x) => {
                    Response::ResponseDeleteRange(delete_response(x, Some(header(x.revision))))
                }
                ks::ResponseOp::Txn(x) => Response::ResponseTxn(txn_response(x, header)),
            }),
        })
        .collect();
    pb::TxnResponse {
        header: Some(header(r.revision)),
        succeeded: r.succeeded,
        responses,
    }
}
