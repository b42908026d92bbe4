//! Python classes for store values, requests and responses (conversions only).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use kubemu_store as ks;

use crate::errors::invalid;

/// Checks the strict range rules of the Python face: a non-empty key, and a
/// `range_end` that is absent, `b"\0"` (from key) or above the key.
pub fn range_end_of(key: &[u8], range_end: Option<&[u8]>) -> PyResult<Vec<u8>> {
    if key.is_empty() {
        return Err(invalid("etcdserver: key is not provided"));
    }
    match range_end {
        None => Ok(Vec::new()),
        Some(e) if e.is_empty() || e == [0] => Ok(e.to_vec()),
        Some(e) if e <= key => Err(invalid(format!(
            "range_end {e:?} must be above key {key:?} (or b\"\\x00\" for every key from it)"
        ))),
        Some(e) => Ok(e.to_vec()),
    }
}

fn non_negative(name: &str, v: i64) -> PyResult<i64> {
    if v < 0 {
        return Err(invalid(format!("{name} must not be negative, got {v}")));
    }
    Ok(v)
}

#[pyclass(module = "kubemu._core", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue(pub ks::KeyValue);

impl Hash for KeyValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

#[pymethods]
impl KeyValue {
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.key)
    }
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.value)
    }
    #[getter]
    fn create_revision(&self) -> i64 {
        self.0.create_revision
    }
    #[getter]
    fn mod_revision(&self) -> i64 {
        self.0.mod_revision
    }
    #[getter]
    fn version(&self) -> i64 {
        self.0.version
    }
    #[getter]
    fn lease(&self) -> i64 {
        self.0.lease
    }
    fn __repr__(&self) -> String {
        format!(
            "KeyValue(key={}, create_revision={}, mod_revision={}, version={}, lease={}, value=<{} bytes>)",
            String::from_utf8_lossy(&self.0.key),
            self.0.create_revision,
            self.0.mod_revision,
            self.0.version,
            self.0.lease,
            self.0.value.len()
        )
    }
}

fn kv_opt(kv: Option<ks::KeyValue>) -> Option<KeyValue> {
    kv.map(KeyValue)
}

fn kv_list(py: Python<'_>, kvs: Vec<ks::KeyValue>) -> PyResult<Py<PyList>> {
    Ok(PyList::new(py, kvs.into_iter().map(KeyValue))?.unbind())
}

#[pyclass(module = "kubemu._core", frozen)]
pub struct Event {
    kind: ks::EventType,
    kv: KeyValue,
    prev_kv: Option<KeyValue>,
}

impl Event {
    pub fn new(ev: &ks::Event, with_prev: bool) -> Self {
        Self {
            kind: ev.kind,
            kv: KeyValue(ev.kv.clone()),
            prev_kv: if with_prev {
                ev.prev_kv.clone().map(KeyValue)
            } else {
                None
            },
        }
    }
}

#[pymethods]
impl Event {
    #[getter]
    fn r#type(&self) -> &'static str {
        match self.kind {
            ks::EventType::Put => "PUT",
            ks::EventType::Delete => "DELETE",
        }
    }
    #[getter]
    fn kv(&self) -> KeyValue {
        self.kv.clone()
    }
    #[getter]
    fn prev_kv(&self) -> Option<KeyValue> {
        self.prev_kv.clone()
    }
    fn __repr__(&self) -> String {
        format!("Event({}, {})", self.r#type(), self.kv.__repr__())
    }
}

#[pyclass(module = "kubemu._core", frozen, get_all)]
pub struct PutResponse {
    pub revision: i64,
    pub prev_kv: Option<KeyValue>,
}

#[pyclass(module = "kubemu._core", frozen, get_all)]
pub struct RangeResponse {
    pub revision: i64,
    pub kvs: Py<PyList>,
    pub more: bool,
    pub count: i64,
}

#[pyclass(module = "kubemu._core", frozen, get_all)]
pub struct DeleteRangeResponse {
    pub revision: i64,
    pub deleted: i64,
    pub prev_kvs: Py<PyList>,
}

#[pyclass(module = "kubemu._core", frozen, get_all)]
pub struct TxnResponse {
    pub revision: i64,
    pub succeeded: bool,
    pub responses: Py<PyList>,
}

pub fn put_response(r: ks::PutResponse) -> PutResponse {
    PutResponse {
        revision: r.revision,
        prev_kv: kv_opt(r.prev_kv),
    }
}

pub fn range_response(py: Python<'_>, r: ks::RangeResponse) -> PyResult<RangeResponse> {
    Ok(RangeResponse {
        revision: r.revision,
        kvs: kv_list(py, r.kvs)?,
        more: r.more,
        count: r.count,
    })
}

pub fn delete_response(
    py: Python<'_>,
    r: ks::DeleteRangeResponse,
) -> PyResult<DeleteRangeResponse> {
    Ok(DeleteRangeResponse {
        revision: r.revision,
        deleted: r.deleted,
        prev_kvs: kv_list(py, r.prev_kvs)?,
    })
}

pub fn txn_response(py: Python<'_>, r: ks::TxnResponse) -> PyResult<TxnResponse> {
    let items: Vec<Py<PyAny>> = r
        .responses
        .into_iter()
        .map(|op| -> PyResult<Py<PyAny>> {
            Ok(match op {
                ks::ResponseOp::Range(x) => Py::new(py, range_response(py, x)?)?.into_any(),
                ks::ResponseOp::Put(x) => Py::new(py, put_response(x))?.into_any(),
                ks::ResponseOp::DeleteRange(x) => Py::new(py, delete_response(py, x)?)?.into_any(),
                ks::ResponseOp::Txn(x) => Py::new(py, txn_response(py, x)?)?.into_any(),
            })
        })
        .collect::<PyResult<_>>()?;
    Ok(TxnResponse {
        revision: r.revision,
        succeeded: r.succeeded,
        responses: PyList::new(py, items)?.unbind(),
    })
}

#[pyclass(module = "kubemu._core", frozen, from_py_object)]
#[derive(Clone)]
pub struct Compare(pub ks::Compare);

#[pymethods]
impl Compare {
    #[new]
    #[pyo3(signature = (key, target, result, value, range_end=None))]
    fn new(
        key: &[u8],
        target: &str,
        result: &str,
        value: &Bound<'_, PyAny>,
        range_end: Option<&[u8]>,
    ) -> PyResult<Self> {
        let target = match target {
            "version" => ks::CompareTarget::Version,
            "create" => ks::CompareTarget::Create,
            "mod" => ks::CompareTarget::Mod,
            "value" => ks::CompareTarget::Value,
            "lease" => ks::CompareTarget::Lease,
            t => return Err(invalid(format!("unknown compare target {t:?}"))),
        };
        let result = match result {
            "=" | "==" => ks::CompareResult::Equal,
            "!=" => ks::CompareResult::NotEqual,
            ">" => ks::CompareResult::Greater,
            "<" => ks::CompareResult::Less,
            r => return Err(invalid(format!("unknown compare result {r:?}"))),
        };
        let operand = if target == ks::CompareTarget::Value {
            let b: &[u8] = value
                .extract()
                .map_err(|_| invalid("a value compare takes bytes"))?;
            ks::CompareOperand::Value(b.to_vec())
        } else {
            let i: i64 = value
                .extract()
                .map_err(|_| invalid("this compare takes an int"))?;
            ks::CompareOperand::Int(i)
        };
        let range_end = range_end_of(key, range_end)?;
        Ok(Self(ks::Compare {
            key: key.to_vec(),
            range_end,
            target,
            result,
            operand,
        }))
    }
}

#[pyclass(module = "kubemu._core", frozen, from_py_object)]
#[derive(Clone)]
pub struct Op(pub ks::RequestOp);

fn sort_order(s: &str) -> PyResult<ks::SortOrder> {
    Ok(match s {
        "none" => ks::SortOrder::None,
        "ascend" => ks::SortOrder::Ascend,
        "descend" => ks::SortOrder::Descend,
        o => return Err(invalid(format!("unknown sort_order {o:?}"))),
    })
}

fn sort_target(s: &str) -> PyResult<ks::SortTarget> {
    Ok(match s {
        "key" => ks::SortTarget::Key,
        "version" => ks::SortTarget::Version,
        "create" => ks::SortTarget::Create,
        "mod" => ks::SortTarget::Mod,
        "value" => ks::SortTarget::Value,
        o => return Err(invalid(format!("unknown sort_target {o:?}"))),
    })
}

/// Builds a checked range request (shared by `Store.range` and `Op.range`).
#[allow(clippy::too_many_arguments)]
pub fn range_request(
    key: &[u8],
    range_end: Option<&[u8]>,
    revision: i64,
    limit: i64,
    order: &str,
    target: &str,
    keys_only: bool,
    count_only: bool,
    revs: [i64; 4],
) -> PyResult<ks::RangeRequest> {
    Ok(ks::RangeRequest {
        range_end: range_end_of(key, range_end)?,
        key: key.to_vec(),
        revision: non_negative("revision", revision)?,
        limit: non_negative("limit", limit)?,
        sort_order: sort_order(order)?,
        sort_target: sort_target(target)?,
        keys_only,
        count_only,
        min_mod_revision: non_negative("min_mod_revision", revs[0])?,
        max_mod_revision: non_negative("max_mod_revision", revs[1])?,
        min_create_revision: non_negative("min_create_revision", revs[2])?,
        max_create_revision: non_negative("max_create_revision", revs[3])?,
    })
}

pub fn put_request(
    key: &[u8],
    value: &[u8],
    lease: i64,
    prev_kv: bool,
    ignore_value: bool,
    ignore_lease: bool,
) -> PyResult<ks::PutRequest> {
    if key.is_empty() {
        return Err(invalid("etcdserver: key is not provided"));
    }
    Ok(ks::PutRequest {
        key: key.to_vec(),
        value: value.to_vec(),
        lease,
        prev_kv,
        ignore_value,
        ignore_lease,
    })
}

pub fn delete_request(
    key: &[u8],
    range_end: Option<&[u8]>,
    prev_kv: bool,
) -> PyResult<ks::DeleteRangeRequest> {
    Ok(ks::DeleteRangeRequest {
        range_end: range_end_of(key, range_end)?,
        key: key.to_vec(),
        prev_kv,
    })
}

pub fn txn_request(compare: Vec<Compare>, success: Vec<Op>, failure: Vec<Op>) -> ks::TxnRequest {
    ks::TxnRequest {
        compare: compare.into_iter().map(|c| c.0).collect(),
        success: success.into_iter().map(|o| o.0).collect(),
        failure: failure.into_iter().map(|o| o.0).collect(),
    }
}

#[pymethods]
impl Op {
    #[staticmethod]
    #[pyo3(signature = (key, value=b"".as_slice(), *, lease=0, prev_kv=false, ignore_value=false, ignore_lease=false))]
    fn put(
        key: &[u8],
        value: &[u8],
        lease: i64,
        prev_kv: bool,
        ignore_value: bool,
        ignore_lease: bool,
    ) -> PyResult<Self> {
        Ok(Self(ks::RequestOp::Put(put_request(
            key,
            value,
            lease,
            prev_kv,
            ignore_value,
            ignore_lease,
        )?)))
    }

    #[staticmethod]
    #[pyo3(signature = (key, range_end=None, *, revision=0, limit=0, sort_order="none", sort_target="key",
        keys_only=false, count_only=false, min_mod_revision=0, max_mod_revision=0,
        min_create_revision=0, max_create_revision=0))]
    #[allow(clippy::too_many_arguments)]
    fn range(
        key: &[u8],
        range_end: Option<&[u8]>,
        revision: i64,
        limit: i64,
        sort_order: &str,
        sort_target: &str,
        keys_only: bool,
        count_only: bool,
        min_mod_revision: i64,
        max_mod_revision: i64,
        min_create_revision: i64,
        max_create_revision: i64,
    ) -> PyResult<Self> {
        let revs = [
            min_mod_revision,
            max_mod_revision,
            min_create_revision,
            max_create_revision,
        ];
        let r = range_request(
            key,
            range_end,
            revision,
            limit,
            sort_order,
            sort_target,
            keys_only,
            count_only,
            revs,
        )?;
        Ok(Self(ks::RequestOp::Range(r)))
    }

    #[staticmethod]
    #[pyo3(signature = (key, range_end=None, *, prev_kv=false))]
    fn delete(key: &[u8], range_end: Option<&[u8]>, prev_kv: bool) -> PyResult<Self> {
        Ok(Self(ks::RequestOp::DeleteRange(delete_request(
            key, range_end, prev_kv,
        )?)))
    }

    #[staticmethod]
    fn txn(compare: Vec<Compare>, success: Vec<Op>, failure: Vec<Op>) -> Self {
        Self(ks::RequestOp::Txn(txn_request(compare, success, failure)))
    }

    fn __repr__(&self) -> String {
        format!("Op({:?})", self.0)
    }
}

#[pyclass(module = "kubemu._core", frozen, get_all)]
pub struct LeaseGrant {
    pub id: i64,
    pub ttl: i64,
    pub revision: i64,
}

#[pyclass(module = "kubemu._core", frozen, get_all)]
pub struct LeaseTimeToLive {
    pub id: i64,
    pub ttl: i64,
    pub granted_ttl: i64,
    pub keys: Py<PyList>,
}

#[pyclass(module = "kubemu._core", frozen, get_all)]
pub struct Status {
    pub revision: i64,
    pub compact_revision: i64,
    pub db_size: i64,
    pub db_size_in_use: i64,
    pub quota_bytes: i64,
    pub keys: i64,
    pub alarms: Vec<String>,
    pub recovery_warnings: Vec<String>,
}

#[pyclass(module = "kubemu._core", frozen)]
pub struct WatchResponse(pub ks::WatchResponse);

#[pymethods]
impl WatchResponse {
    #[getter]
    fn watch_id(&self) -> i64 {
        self.0.watch_id
    }
    #[getter]
    fn revision(&self) -> i64 {
        self.0.revision
    }
    #[getter]
    fn created(&self) -> bool {
        self.0.created
    }
    #[getter]
    fn canceled(&self) -> bool {
        self.0.canceled
    }
    #[getter]
    fn compact_revision(&self) -> i64 {
        self.0.compact_revision
    }
    #[getter]
    fn cancel_reason(&self) -> &str {
        &self.0.cancel_reason
    }
    #[getter]
    fn is_progress_notify(&self) -> bool {
        self.0.progress
    }
    #[getter]
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let with_prev = self.0.prev_kv;
        PyList::new(
            py,
            self.0
                .events
                .iter()
                .map(|e: &Arc<ks::Event>| Event::new(e, with_prev)),
        )
    }
    fn __repr__(&self) -> String {
        format!(
            "WatchResponse(watch_id={}, revision={}, created={}, canceled={}, events={})",
            self.0.watch_id,
            self.0.revision,
            self.0.created,
            self.0.canceled,
            self.0.events.len()
        )
    }
}

#[pymethods]
impl PutResponse {
    fn __repr__(&self) -> String {
        let prev = self
            .prev_kv
            .as_ref()
            .map_or("None".to_string(), |kv| kv.__repr__());
        format!("PutResponse(revision={}, prev_kv={prev})", self.revision)
    }
}

#[pymethods]
impl RangeResponse {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "RangeResponse(revision={}, count={}, more={}, kvs=<{} items>)",
            self.revision,
            self.count,
            self.more,
            self.kvs.bind(py).len()
        )
    }
}

#[pymethods]
impl DeleteRangeResponse {
    fn __repr__(&self) -> String {
        format!(
            "DeleteRangeResponse(revision={}, deleted={})",
            self.revision, self.deleted
        )
    }
}

#[pymethods]
impl TxnResponse {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "TxnResponse(revision={}, succeeded={}, responses=<{} items>)",
            self.revision,
            self.succeeded,
            self.responses.bind(py).len()
        )
    }
}

#[pymethods]
impl LeaseGrant {
    fn __repr__(&self) -> String {
        format!(
            "LeaseGrant(id={}, ttl={}, revision={})",
            self.id, self.ttl, self.revision
        )
    }
}

#[pymethods]
impl LeaseTimeToLive {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "LeaseTimeToLive(id={}, ttl={}, granted_ttl={}, keys=<{} items>)",
            self.id,
            self.ttl,
            self.granted_ttl,
            self.keys.bind(py).len()
        )
    }
}

#[pymethods]
impl Status {
    fn __repr__(&self) -> String {
        format!(
            "Status(revision={}, compact_revision={}, db_size={}, db_size_in_use={}, quota_bytes={}, \
             keys={}, alarms={:?}, recovery_warnings={:?})",
            self.revision,
            self.compact_revision,
            self.db_size,
            self.db_size_in_use,
            self.quota_bytes,
            self.keys,
            self.alarms,
            self.recovery_warnings
        )
    }
}
