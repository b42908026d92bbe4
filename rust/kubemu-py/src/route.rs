//! `WatchRouter`: kubemu-objects' watch router fed straight from a store
//! watch, so the apiserver's watch hub builds no Python object per store
//! event. Conversions only; the polling and routing run with the GIL released
//! (a document the router cannot read is decoded by a Python callable).

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use kubemu_objects::lookup::{Rule, Segment};
use kubemu_objects::route::{
    self as kr, DecodeError, Delivery, FieldTerm, Filter, LabelOp, LabelReq, LabelVal, Labels,
    Router, Spec, State, StoreEvent,
};
use kubemu_store as ks;

use crate::errors::{to_py, IntoPyResult};
use crate::eventfd::EventFd;
use crate::store::Store;

/// One path step from Python: a map key (str) or an array index (int).
#[derive(FromPyObject)]
enum Step {
    Key(String),
    Index(usize),
}

struct Inner {
    router: Router,
    /// Every event up to here has been routed (or a progress notification said so).
    progress: i64,
    /// The store watch ended (canceled).
    ended: bool,
    /// The revision the watch needed next when it was canceled as compacted,
    /// and the compaction revision (0, 0: not compacted).
    compacted: (i64, i64),
}

/// A store watch on a prefix routed to apiserver watch streams. Every
/// method takes the router's lock with the GIL released (`poll` holds it
/// while it calls `decode` back with the GIL), so callers on other threads
/// wait instead of deadlocking.
#[pyclass(module = "kubemu._core", frozen)]
pub struct WatchRouter {
    inner: Mutex<Inner>,
    stream: ks::WatchStream,
    fd: Arc<EventFd>,
    decode: Py<PyAny>,
    /// The selectable field names, in the router's state order.
    names: Vec<String>,
}

fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.last_mut() {
        if *last < 0xff {
            *last += 1;
            return end;
        }
        end.pop();
    }
    vec![0]
}

fn rule_of(name: &str) -> PyResult<Rule> {
    match name {
        "get" => Ok(Rule::Get),
        "or_empty" => Ok(Rule::OrEmpty),
        "is_true" => Ok(Rule::IsTrue),
        other => Err(PyValueError::new_err(format!("unknown rule {other:?}"))),
    }
}

fn label_op(op: &str) -> Option<LabelOp> {
    Some(match op {
        "=" | "==" | "in" => LabelOp::In,
        "!=" | "notin" => LabelOp::NotIn,
        "exists" => LabelOp::Exists,
        "!" => LabelOp::DoesNotExist,
        "gt" => LabelOp::Gt,
        "lt" => LabelOp::Lt,
        _ => return None,
    })
}

fn val_of(v: &Bound<'_, PyAny>) -> kr::Val {
    v.cast::<PyString>()
        .ok()
        .and_then(|s| s.to_str().ok().map(Box::from))
}

/// A state from the decoder's `(namespace, labels, fields)`.
fn state_of(spec_names: &[String], got: &Bound<'_, PyAny>) -> PyResult<State> {
    let t = got
        .cast::<PyTuple>()
        .map_err(|_| PyValueError::new_err("decode must return (namespace, labels, fields)"))?;
    if t.len() != 3 {
        return Err(PyValueError::new_err(
            "decode must return (namespace, labels, fields)",
        ));
    }
    let namespace = val_of(&t.get_item(0)?);
    let mut labels = Vec::new();
    if let Ok(d) = t.get_item(1)?.cast::<PyDict>() {
        for (k, v) in d.iter() {
            let Ok(k) = k.cast::<PyString>() else {
                continue; // a key no str selector names
            };
            let v = if v.is_none() {
                LabelVal::Nil
            } else {
                match val_of(&v) {
                    Some(s) => LabelVal::Str(s),
                    None => LabelVal::Other,
                }
            };
            labels.push((Box::from(k.to_str()?), v));
        }
    }
    let fields_obj = t.get_item(2)?;
    let fields = fields_obj
        .cast::<PyDict>()
        .map_err(|_| PyValueError::new_err("decode's fields must be a dict"))?;
    let mut out = Vec::with_capacity(spec_names.len());
    for name in spec_names {
        out.push(match fields.get_item(name)? {
            None => Some(Box::from("")),
            Some(v) => val_of(&v),
        });
    }
    Ok(State::new(namespace, out, labels))
}

/// Per call: the Python objects made so far, per event (see
/// `Delivery::event`), shared by every stream that gets the same event (an
/// item tuple is immutable).
struct Made<'py> {
    /// Per event and type.
    items: Vec<Option<Bound<'py, PyTuple>>>,
    /// Per event, up to two values (the new one; a modification's previous
    /// one, carried by a DELETED for leaving a selection): where the Rust
    /// bytes are, and their copy.
    values: Vec<Option<(usize, Bound<'py, PyBytes>)>>,
}

impl<'py> Made<'py> {
    fn new(events: usize) -> Self {
        Made {
            items: vec![None; events * 3],
            values: vec![None; events * 2],
        }
    }

    fn bytes(&mut self, py: Python<'py>, event: usize, value: &[u8]) -> Bound<'py, PyBytes> {
        let ptr = value.as_ptr() as usize;
        if self.values.len() < event * 2 + 2 {
            self.values.resize(event * 2 + 2, None);
        }
        for slot in &mut self.values[event * 2..event * 2 + 2] {
            match slot {
                Some((p, b)) if *p == ptr => return b.clone(),
                Some(_) => {}
                None => {
                    let b = PyBytes::new(py, value);
                    *slot = Some((ptr, b.clone()));
                    return b;
                }
            }
        }
        PyBytes::new(py, value)
    }
}

fn deliveries<'py>(
    py: Python<'py>,
    items: Vec<Delivery>,
    made: &mut Made<'py>,
) -> PyResult<Bound<'py, PyList>> {
    let names = [
        intern!(py, "ADDED"),
        intern!(py, "MODIFIED"),
        intern!(py, "DELETED"),
    ];
    let mut out = Vec::with_capacity(items.len());
    for d in items {
        let k = match d.kind {
            kr::EventType::Added => 0,
            kr::EventType::Modified => 1,
            kr::EventType::Deleted => 2,
        };
        let event = d.event as usize;
        let slot = event * 3 + k;
        if made.items.len() <= slot {
            made.items.resize(slot + 1, None);
        }
        if let Some(t) = &made.items[slot] {
            out.push(t.clone());
            continue;
        }
        let data = made.bytes(py, event, &d.value);
        let item = PyTuple::new(
            py,
            [
                names[k].clone().into_any(),
                d.revision.into_pyobject(py)?.into_any(),
                data.into_any(),
            ],
        )?;
        made.items[slot] = Some(item.clone());
        out.push(item);
    }
    PyList::new(py, out)
}

#[pymethods]
impl WatchRouter {
    /// Watches `prefix` from `start_revision` (from a compacted one the watch
    /// ends at once: see `compacted`).
    /// `fields`: (selector name, path of str keys and int indexes, rule:
    /// "get", "or_empty" or "is_true") per selectable field; `decode(data)`
    /// gives `(namespace, labels, fields)` of a document those rules cannot
    /// read; `buffer_size`: events kept for streams that join late (and keys
    /// whose newest state is kept).
    #[new]
    #[pyo3(signature = (store, prefix, start_revision, fields, decode, *, buffer_size=10_000,
        max_pending_events=65536))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        store: PyRef<'_, Store>,
        prefix: &[u8],
        start_revision: i64,
        fields: Vec<(String, Vec<Step>, String)>,
        decode: Py<PyAny>,
        buffer_size: usize,
        max_pending_events: usize,
    ) -> PyResult<Self> {
        if prefix.is_empty() {
            return Err(PyValueError::new_err("prefix must not be empty"));
        }
        if start_revision < 1 {
            return Err(PyValueError::new_err(format!(
                "start_revision must be positive, got {start_revision}"
            )));
        }
        let mut spec_fields = Vec::with_capacity(fields.len());
        for (name, path, rule) in fields {
            let path = path
                .into_iter()
                .map(|s| match s {
                    Step::Key(k) => Segment::Key(k.into_bytes()),
                    Step::Index(i) => Segment::Index(i),
                })
                .collect();
            spec_fields.push((name, path, rule_of(&rule)?));
        }
        let shared = store.shared();
        let stream = shared.watch_stream(max_pending_events);
        let fd = Arc::new(EventFd::new().map_err(|e| to_py(e.into()))?);
        let notify = fd.clone();
        stream.set_notifier(Box::new(move || notify.signal()));
        let req = ks::WatchRequest {
            key: prefix.to_vec(),
            range_end: prefix_end(prefix),
            start_revision,
            prev_kv: true,
            ..Default::default()
        };
        py.detach(|| stream.watch(&req)).py_err()?;
        let spec = Spec::new(spec_fields);
        let names = spec.names().to_vec();
        Ok(WatchRouter {
            inner: Mutex::new(Inner {
                router: Router::new(spec, start_revision, buffer_size),
                progress: start_revision - 1,
                ended: false,
                compacted: (0, 0),
            }),
            stream,
            fd,
            decode,
            names,
        })
    }

    /// Adds stream `stream_id` that has seen every event up to
    /// `after_revision`, with its filter: `namespace` ("" any), field terms
    /// (field, value, equal) in selector order, `node_names`, label
    /// requirements (key, operator, values) with `labels_nothing` for the
    /// selector that selects nothing. Returns the buffered events it missed.
    #[pyo3(signature = (stream_id, after_revision, *, namespace=String::new(), fields=Vec::new(),
        node_names=None, labels=Vec::new(), labels_nothing=false))]
    #[allow(clippy::too_many_arguments)]
    fn add<'py>(
        &self,
        py: Python<'py>,
        stream_id: u64,
        after_revision: i64,
        namespace: String,
        fields: Vec<(String, String, bool)>,
        node_names: Option<HashSet<String>>,
        labels: Vec<(String, String, Vec<String>)>,
        labels_nothing: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let labels = if labels_nothing {
            Labels::Nothing
        } else if labels.is_empty() {
            Labels::Everything
        } else {
            Labels::All(
                labels
                    .into_iter()
                    .map(|(key, op, values)| match label_op(&op) {
                        Some(op) => LabelReq { key, op, values },
                        // An operator Python's Requirement does not know matches nothing.
                        None => LabelReq {
                            key,
                            op: LabelOp::In,
                            values: Vec::new(),
                        },
                    })
                    .collect(),
            )
        };
        let filter = Filter {
            namespace,
            labels,
            fields: fields
                .into_iter()
                .map(|(field, value, equal)| FieldTerm {
                    field,
                    value,
                    equal,
                })
                .collect(),
            node_names,
        };
        let replay = py.detach(|| {
            self.inner
                .lock()
                .router
                .add(stream_id, &filter, after_revision)
        });
        let n = replay
            .iter()
            .map(|d| d.event as usize + 1)
            .max()
            .unwrap_or(0);
        deliveries(py, replay, &mut Made::new(n))
    }

    /// Removes a stream; false if there is none.
    fn remove(&self, py: Python<'_>, stream_id: u64) -> bool {
        py.detach(|| self.inner.lock().router.remove(stream_id))
    }

    /// Takes what the store watch has (up to `max_responses` responses)
    /// without waiting, and routes it: `None` if there was nothing to take,
    /// else `[(stream_id, [(type, revision, bytes), ...]), ...]` (each
    /// stream's events in revision order). After the store watch ends
    /// (`ended`) nothing more comes. An error of `decode` is raised (the
    /// batch is lost).
    #[pyo3(signature = (max_responses=1024))]
    fn poll<'py>(
        &self,
        py: Python<'py>,
        max_responses: usize,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let mut failure: Option<PyErr> = None;
        let routed = py.detach(|| {
            self.fd.drain();
            let mut inner = self.inner.lock();
            if inner.ended {
                return None;
            }
            let resps = self.stream.poll(max_responses, None);
            if resps.is_empty() {
                return None;
            }
            let mut events: Vec<StoreEvent> = Vec::new();
            for r in resps {
                if r.created && !r.canceled {
                    continue;
                }
                if r.canceled {
                    inner.ended = true;
                    if r.compact_revision != 0 {
                        inner.compacted = (inner.progress + 1, r.compact_revision);
                    }
                    break;
                }
                let no_events = r.events.is_empty();
                for ev in &r.events {
                    let prev = if r.prev_kv {
                        ev.prev_kv.as_ref().map(|kv| kv.value.clone())
                    } else {
                        None
                    };
                    events.push(match ev.kind {
                        ks::EventType::Put => StoreEvent {
                            delete: false,
                            key: ev.kv.key.clone(),
                            value: ev.kv.value.clone(),
                            revision: ev.kv.mod_revision,
                            prev,
                        },
                        ks::EventType::Delete => StoreEvent {
                            delete: true,
                            key: ev.kv.key.clone(),
                            value: prev.clone().unwrap_or_else(|| Arc::from(&b""[..])),
                            revision: ev.kv.mod_revision,
                            prev,
                        },
                    });
                    inner.progress = inner.progress.max(ev.kv.mod_revision);
                }
                if r.revision > inner.progress && (r.progress || no_events) {
                    inner.progress = r.revision;
                }
            }
            let names = &self.names;
            let decode = &self.decode;
            let mut read = |data: &[u8]| -> Result<State, DecodeError> {
                Python::attach(|py| {
                    let got = decode
                        .bind(py)
                        .call1((PyBytes::new(py, data),))
                        .and_then(|got| state_of(names, &got));
                    got.map_err(|e| {
                        let msg = e.to_string();
                        failure = Some(e);
                        DecodeError(msg)
                    })
                })
            };
            let count = events.len();
            Some(inner.router.route(events, &mut read).map(|r| (count, r)))
        });
        let (events, routed) = match routed {
            None => return Ok(None),
            Some(Ok((events, r))) => (events, r),
            Some(Err(e)) => {
                return Err(failure.unwrap_or_else(|| PyValueError::new_err(e.0)));
            }
        };
        let mut made = Made::new(events);
        let mut out = Vec::with_capacity(routed.len());
        for (id, items) in routed {
            out.push(PyTuple::new(
                py,
                [
                    id.into_pyobject(py)?.into_any(),
                    deliveries(py, items, &mut made)?.into_any(),
                ],
            )?);
        }
        Ok(Some(PyList::new(py, out)?))
    }

    /// The file descriptor that turns readable when `poll` may have something.
    fn fileno(&self) -> i32 {
        self.fd.raw()
    }

    /// Asks the store for a progress notification (it raises `progress_revision`).
    fn request_progress(&self) {
        self.stream.request_progress();
    }

    /// Ends the store watch.
    fn close(&self) {
        self.stream.close();
    }

    /// Every event after this revision is buffered or still to come.
    #[getter]
    fn floor(&self, py: Python<'_>) -> i64 {
        py.detach(|| self.inner.lock().router.floor())
    }

    /// The revision of the last event routed.
    #[getter]
    fn dispatched(&self, py: Python<'_>) -> i64 {
        py.detach(|| self.inner.lock().router.dispatched())
    }

    /// Every event up to this revision has been routed.
    #[getter]
    fn progress_revision(&self, py: Python<'_>) -> i64 {
        py.detach(|| {
            let inner = self.inner.lock();
            inner.progress.max(inner.router.dispatched())
        })
    }

    /// The store watch has ended (canceled, compacted or closed).
    #[getter]
    fn ended(&self, py: Python<'_>) -> bool {
        py.detach(|| self.inner.lock().ended || self.stream.is_closed())
    }

    /// `(requested revision, compact revision)` if the store watch was
    /// canceled because its next revision was compacted, else None.
    #[getter]
    fn compacted(&self, py: Python<'_>) -> Option<(i64, i64)> {
        let c = py.detach(|| self.inner.lock().compacted);
        (c.1 != 0).then_some(c)
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        py.detach(|| self.inner.lock().router.len())
    }
}
