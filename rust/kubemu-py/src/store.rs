//! `Store`, `WatchStream` and `snapshot_restore`: argument conversion, then
//! the call into kubemu-store with the GIL released.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use kubemu_store as ks;

use crate::errors::{invalid, to_py, IntoPyResult};
use crate::eventfd::EventFd;
use crate::types::{self as t, Compare, Op};

#[pyclass(module = "kubemu._core", frozen, subclass)]
pub struct Store {
    inner: Arc<ks::Store>,
}

impl Store {
    /// The shared store, for other components (the etcd server).
    pub fn shared(&self) -> Arc<ks::Store> {
        self.inner.clone()
    }
}

#[pymethods]
impl Store {
    #[new]
    #[pyo3(signature = (data_dir=None, *, quota_bytes=2*1024*1024*1024, max_txn_ops=128,
        max_request_bytes=1536*1024, fsync=true, snapshot_wal_bytes=64*1024*1024,
        manual_clock=false, progress_notify_interval=600.0, commit_window=0.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        data_dir: Option<PathBuf>,
        quota_bytes: i64,
        max_txn_ops: usize,
        max_request_bytes: usize,
        fsync: bool,
        snapshot_wal_bytes: u64,
        manual_clock: bool,
        progress_notify_interval: f64,
        commit_window: f64,
    ) -> PyResult<Self> {
        if quota_bytes <= 0 || max_txn_ops == 0 || max_request_bytes == 0 {
            return Err(invalid(
                "quota_bytes, max_txn_ops and max_request_bytes must be positive",
            ));
        }
        if !(progress_notify_interval.is_finite() && progress_notify_interval > 0.0) {
            return Err(invalid(
                "progress_notify_interval must be a positive number of seconds",
            ));
        }
        if !(commit_window.is_finite() && (0.0..=1.0).contains(&commit_window)) {
            return Err(invalid("commit_window must be between 0 and 1 second"));
        }
        let opts = ks::Options {
            data_dir,
            limits: ks::Limits {
                max_txn_ops,
                max_request_bytes,
                quota_bytes,
            },
            fsync,
            snapshot_wal_bytes,
            manual_clock,
            progress_notify_interval: Duration::from_secs_f64(progress_notify_interval),
            commit_window: Duration::from_secs_f64(commit_window),
        };
        let inner = py.detach(|| ks::Store::open(opts)).py_err()?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    #[getter]
    fn revision(&self) -> i64 {
        self.inner.revision()
    }

    #[getter]
    fn compact_revision(&self) -> i64 {
        self.inner.compact_revision()
    }

    #[pyo3(signature = (key, value, *, lease=0, prev_kv=false, ignore_value=false, ignore_lease=false))]
    #[allow(clippy::too_many_arguments)]
    fn put(
        &self,
        py: Python<'_>,
        key: &[u8],
        value: &[u8],
        lease: i64,
        prev_kv: bool,
        ignore_value: bool,
        ignore_lease: bool,
    ) -> PyResult<t::PutResponse> {
        let req = t::put_request(key, value, lease, prev_kv, ignore_value, ignore_lease)?;
        let r = py.detach(|| self.inner.put(&req)).py_err()?;
        Ok(t::put_response(r))
    }

    #[pyo3(signature = (items, *, lease=0))]
    fn put_many(&self, py: Python<'_>, items: &Bound<'_, PyAny>, lease: i64) -> PyResult<i64> {
        let mut batch: Vec<(ks::Bytes, ks::Bytes)> = Vec::with_capacity(items.len().unwrap_or(0));
        for item in items.try_iter()? {
            let item = item?;
            let pair = item
                .cast::<PyTuple>()
                .map_err(|_| invalid("put_many takes (key, value) tuples of bytes"))?;
            if pair.len() != 2 {
                return Err(invalid("put_many takes (key, value) tuples of bytes"));
            }
            let k = pair.get_item(0)?;
            let v = pair.get_item(1)?;
            let k = k
                .cast::<PyBytes>()
                .map_err(|_| invalid("put_many keys must be bytes"))?;
            let v = v
                .cast::<PyBytes>()
                .map_err(|_| invalid("put_many values must be bytes"))?;
            batch.push((ks::Bytes::from(k.as_bytes()), ks::Bytes::from(v.as_bytes())));
        }
        py.detach(|| self.inner.put_many(&batch, lease)).py_err()
    }

    /// Create-if-absent per `(key, value)`: per item the revision it was created at, or
    /// None when the key existed; `chunk` items per txn-equivalent (kubemu-store's
    /// `Store::create_many`).
    #[pyo3(signature = (items, *, chunk=64))]
    fn create_many(
        &self,
        py: Python<'_>,
        items: &Bound<'_, PyAny>,
        chunk: usize,
    ) -> PyResult<Vec<Option<i64>>> {
        if chunk == 0 {
            return Err(invalid("chunk must be positive"));
        }
        let batch = byte_pairs(items, "create_many")?;
        py.detach(|| self.inner.create_many(&batch, chunk)).py_err()
    }

    #[pyo3(signature = (key, range_end=None, *, revision=0, limit=0, sort_order="none", sort_target="key",
        keys_only=false, count_only=false, min_mod_revision=0, max_mod_revision=0,
        min_create_revision=0, max_create_revision=0))]
    #[allow(clippy::too_many_arguments)]
    fn range(
        &self,
        py: Python<'_>,
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
    ) -> PyResult<t::RangeResponse> {
        let revs = [
            min_mod_revision,
            max_mod_revision,
            min_create_revision,
            max_create_revision,
        ];
        let req = t::range_request(
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
        let r = py.detach(|| self.inner.range(&req)).py_err()?;
        t::range_response(py, r)
    }

    #[pyo3(signature = (key, range_end=None, *, prev_kv=false))]
    fn delete_range(
        &self,
        py: Python<'_>,
        key: &[u8],
        range_end: Option<&[u8]>,
        prev_kv: bool,
    ) -> PyResult<t::DeleteRangeResponse> {
        let req = t::delete_request(key, range_end, prev_kv)?;
        let r = py.detach(|| self.inner.delete_range(&req)).py_err()?;
        t::delete_response(py, r)
    }

    #[pyo3(signature = (compare=Vec::new(), success=Vec::new(), failure=Vec::new()))]
    fn txn(
        &self,
        py: Python<'_>,
        compare: Vec<Compare>,
        success: Vec<Op>,
        failure: Vec<Op>,
    ) -> PyResult<t::TxnResponse> {
        let req = t::txn_request(compare, success, failure);
        let r = py.detach(|| self.inner.txn(&req)).py_err()?;
        t::txn_response(py, r)
    }

    fn compact(&self, py: Python<'_>, revision: i64) -> PyResult<i64> {
        if revision < 0 {
            return Err(invalid(format!(
                "revision must not be negative, got {revision}"
            )));
        }
        py.detach(|| self.inner.compact(revision)).py_err()
    }

    #[pyo3(signature = (*, max_pending_events=65536))]
    fn watch_stream(&self, max_pending_events: usize) -> PyResult<WatchStream> {
        let stream = self.inner.watch_stream(max_pending_events);
        let fd = Arc::new(EventFd::new().map_err(|e| to_py(e.into()))?);
        let notify = fd.clone();
        stream.set_notifier(Box::new(move || notify.signal()));
        Ok(WatchStream { inner: stream, fd })
    }

    #[pyo3(signature = (ttl, id=0))]
    fn lease_grant(&self, py: Python<'_>, ttl: i64, id: i64) -> PyResult<t::LeaseGrant> {
        let r = py.detach(|| self.inner.lease_grant(ttl, id)).py_err()?;
        Ok(t::LeaseGrant {
            id: r.id,
            ttl: r.ttl,
            revision: r.revision,
        })
    }

    fn lease_revoke(&self, py: Python<'_>, id: i64) -> PyResult<i64> {
        py.detach(|| self.inner.lease_revoke(id)).py_err()
    }

    fn lease_keepalive(&self, id: i64) -> PyResult<i64> {
        self.inner.lease_keepalive(id).py_err()
    }

    #[pyo3(signature = (id, keys=false))]
    fn lease_time_to_live(
        &self,
        py: Python<'_>,
        id: i64,
        keys: bool,
    ) -> PyResult<t::LeaseTimeToLive> {
        let r = self.inner.lease_time_to_live(id, keys).py_err()?;
        let keys = PyList::new(py, r.keys.iter().map(|k| PyBytes::new(py, k)))?.unbind();
        Ok(t::LeaseTimeToLive {
            id: r.id,
            ttl: r.ttl,
            granted_ttl: r.granted_ttl,
            keys,
        })
    }

    fn leases(&self) -> Vec<i64> {
        self.inner.leases()
    }

    fn advance_clock(&self, py: Python<'_>, seconds: f64) -> PyResult<Vec<i64>> {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(invalid("seconds must be a non-negative number"));
        }
        py.detach(|| self.inner.advance_clock(seconds)).py_err()
    }

    fn snapshot_save(&self, py: Python<'_>, path: PathBuf) -> PyResult<i64> {
        py.detach(|| self.inner.snapshot_save(&path)).py_err()
    }

    fn status(&self) -> t::Status {
        let s = self.inner.status();
        t::Status {
            revision: s.revision,
            compact_revision: s.compact_revision,
            db_size: s.db_size,
            db_size_in_use: s.db_size_in_use,
            quota_bytes: s.quota_bytes,
            keys: s.keys,
            alarms: s.alarms.iter().map(|a| a.name().to_string()).collect(),
            recovery_warnings: s.recovery_warnings,
        }
    }

    fn alarms(&self) -> Vec<String> {
        self.inner
            .alarms()
            .iter()
            .map(|a| a.name().to_string())
            .collect()
    }

    fn alarm_disarm(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.alarm_disarm()).py_err()
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.close()).py_err()
    }
}

#[pyclass(module = "kubemu._core", frozen)]
pub struct WatchStream {
    inner: ks::WatchStream,
    fd: Arc<EventFd>,
}

#[pymethods]
impl WatchStream {
    #[pyo3(signature = (key, range_end=None, *, start_revision=0, prev_kv=false, filters=Vec::new(),
        progress_notify=false, watch_id=0))]
    #[allow(clippy::too_many_arguments)]
    fn watch(
        &self,
        key: &[u8],
        range_end: Option<&[u8]>,
        start_revision: i64,
        prev_kv: bool,
        filters: Vec<String>,
        progress_notify: bool,
        watch_id: i64,
    ) -> PyResult<i64> {
        let range_end = t::range_end_of(key, range_end)?;
        if start_revision < 0 {
            return Err(invalid(format!(
                "start_revision must not be negative, got {start_revision}"
            )));
        }
        let mut req = ks::WatchRequest {
            key: key.to_vec(),
            range_end,
            start_revision,
            prev_kv,
            progress_notify,
            watch_id,
            ..Default::default()
        };
        for f in filters {
            match f.as_str() {
                "noput" => req.no_put = true,
                "nodelete" => req.no_delete = true,
                other => return Err(invalid(format!("unknown watch filter {other:?}"))),
            }
        }
        self.inner.watch(&req).py_err()
    }

    fn cancel(&self, watch_id: i64) -> bool {
        self.inner.cancel(watch_id)
    }

    fn request_progress(&self) {
        self.inner.request_progress();
    }

    #[pyo3(signature = (timeout=Some(0.0), max_responses=1024))]
    fn poll<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        max_responses: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let deadline = match timeout {
            Some(s) if !(s.is_finite() && s >= 0.0) => {
                return Err(invalid("timeout must be >= 0 or None"))
            }
            Some(s) => Some(Instant::now() + Duration::from_secs_f64(s)),
            None => None,
        };
        loop {
            // Wait in slices so Ctrl-C (a pending signal) interrupts a long poll.
            let slice = Duration::from_millis(100);
            let wait = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(slice),
                None => slice,
            };
            let out = py.detach(|| {
                self.fd.drain();
                self.inner.poll(max_responses, Some(wait))
            });
            let done = deadline.is_some_and(|d| Instant::now() >= d);
            if !out.is_empty() || done || self.inner.is_closed() {
                return PyList::new(py, out.into_iter().map(t::WatchResponse));
            }
            py.check_signals()?;
        }
    }

    fn fileno(&self) -> i32 {
        self.fd.raw()
    }

    fn close(&self) {
        self.inner.close();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }
}

/// `(key, value)` tuples of bytes from a Python iterable; `what` names the
/// method in the error.
fn byte_pairs(items: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<(ks::Bytes, ks::Bytes)>> {
    let mut batch: Vec<(ks::Bytes, ks::Bytes)> = Vec::with_capacity(items.len().unwrap_or(0));
    let shape = || invalid(format!("{what} takes (key, value) tuples of bytes"));
    for item in items.try_iter()? {
        let item = item?;
        let pair = item.cast::<PyTuple>().map_err(|_| shape())?;
        if pair.len() != 2 {
            return Err(shape());
        }
        let (k, v) = (pair.get_item(0)?, pair.get_item(1)?);
        let (Ok(k), Ok(v)) = (k.cast::<PyBytes>(), v.cast::<PyBytes>()) else {
            return Err(shape());
        };
        batch.push((ks::Bytes::from(k.as_bytes()), ks::Bytes::from(v.as_bytes())));
    }
    Ok(batch)
}

#[pyfunction]
pub fn snapshot_restore(py: Python<'_>, snapshot: PathBuf, data_dir: PathBuf) -> PyResult<i64> {
    py.detach(|| ks::snapshot_restore(&snapshot, &data_dir))
        .py_err()
}
