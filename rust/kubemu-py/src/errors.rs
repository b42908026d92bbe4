//! Python exception classes for store errors, created at import time so that
//! `InvalidArgumentError` can derive from both `StoreError` and `ValueError`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use kubemu_store::StoreError;

/// (name, extra builtin base, docstring), in the order of [`class_index`].
const CLASSES: &[(&str, Option<&str>, &str)] = &[
    (
        "StoreError",
        None,
        "Base class of every error the store raises.",
    ),
    (
        "InvalidArgumentError",
        Some("ValueError"),
        "The request is malformed.",
    ),
    (
        "CompactedError",
        None,
        "The requested revision has been compacted.",
    ),
    (
        "FutureRevisionError",
        None,
        "The requested revision is above the current revision.",
    ),
    ("LeaseNotFoundError", None, "The lease does not exist."),
    (
        "LeaseExistsError",
        None,
        "A lease with the requested id already exists.",
    ),
    (
        "KeyNotFoundError",
        None,
        "ignore_value/ignore_lease on a key that does not exist.",
    ),
    (
        "RequestTooLargeError",
        None,
        "A key, value or txn is over the request size limit.",
    ),
    (
        "TooManyOpsError",
        None,
        "A txn has more compares or ops than max_txn_ops.",
    ),
    (
        "DuplicateKeyError",
        None,
        "A txn writes the same key twice.",
    ),
    (
        "NoSpaceError",
        None,
        "The NOSPACE alarm is raised: the store is over its quota.",
    ),
    (
        "CorruptionError",
        None,
        "The data dir or snapshot file is corrupt; nothing was loaded.",
    ),
    (
        "StoreClosedError",
        None,
        "The store was closed, or failed and refuses further writes.",
    ),
];

static TYPES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn class_index(e: &StoreError) -> usize {
    match e {
        StoreError::InvalidArgument(_) => 1,
        StoreError::Compacted => 2,
        StoreError::FutureRevision => 3,
        StoreError::LeaseNotFound => 4,
        StoreError::LeaseExists => 5,
        StoreError::LeaseTtlTooLarge => 1,
        StoreError::KeyNotFound => 6,
        StoreError::RequestTooLarge => 7,
        StoreError::TooManyOps => 8,
        StoreError::DuplicateKey => 9,
        StoreError::NoSpace => 10,
        StoreError::Corruption(_) => 11,
        StoreError::Io(_) | StoreError::Closed => 12,
    }
}

fn types(py: Python<'_>) -> PyResult<&Vec<Py<PyType>>> {
    TYPES.get_or_try_init(py, || {
        let builtins = py.import("builtins")?;
        let type_fn = builtins.getattr("type")?;
        let exception = builtins.getattr("Exception")?;
        let mut out: Vec<Py<PyType>> = Vec::new();
        for (name, extra, doc) in CLASSES {
            let base = out
                .first()
                .map_or(exception.clone(), |b| b.bind(py).clone().into_any());
            let bases = match extra {
                Some(x) => PyTuple::new(py, [base, builtins.getattr(*x)?])?,
                None => PyTuple::new(py, [base])?,
            };
            let ns = PyDict::new(py);
            ns.set_item("__doc__", *doc)?;
            ns.set_item("__module__", "kubemu._core")?;
            let ty = type_fn.call1((*name, bases, ns))?;
            out.push(ty.cast_into::<PyType>()?.unbind());
        }
        Ok(out)
    })
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    for ((name, _, _), ty) in CLASSES.iter().zip(types(py)?) {
        m.add(*name, ty.bind(py))?;
    }
    Ok(())
}

/// Converts a store error into the matching Python exception.
pub fn to_py(e: StoreError) -> PyErr {
    Python::attach(|py| match types(py) {
        Ok(t) => PyErr::from_type(t[class_index(&e)].bind(py).clone(), e.to_string()),
        Err(err) => err,
    })
}

/// An InvalidArgumentError with `msg`.
pub fn invalid(msg: impl Into<String>) -> PyErr {
    to_py(StoreError::InvalidArgument(msg.into()))
}

/// Maps a store result into a Python result.
pub trait IntoPyResult<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for kubemu_store::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
