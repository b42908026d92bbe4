//! `FieldPaths` and `Stamper`: kubemu-objects (stored msgpack documents read
//! and stamped without decoding) bound for Python.
//!
//! Conversions only: bytes in, plain Python values out, the work done with
//! the GIL released. Malformed msgpack is a `ValueError`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::collections::HashMap;

use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PyString, PyTuple};

use kubemu_objects as ko;
use kubemu_objects::lookup::{Found, Rule, Segment};
use kubemu_objects::msgpack::{token, Token};
use kubemu_objects::stamp::NameRule;

fn value_error(e: ko::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// One path step from Python: a map key (str) or an array index (int).
#[derive(FromPyObject)]
enum PySegment {
    Key(String),
    Index(usize),
}

/// Paths looked up together in stored documents.
#[pyclass(module = "kubemu._core", frozen)]
pub struct FieldPaths {
    inner: ko::lookup::Paths,
    /// Per path: the rule `read` applies (None: `read` gives what `find` gives).
    rules: Vec<Option<Rule>>,
    /// Per path: the key `read` puts its value under in a dict (None: in the tuple).
    names: Option<Vec<Option<Py<PyString>>>>,
}

fn found_value<'py>(py: Python<'py>, data: &[u8], f: Found) -> Bound<'py, PyAny> {
    match f {
        Found::Absent => py.None().into_bound(py),
        Found::NotContainer => PyBool::new(py, false).to_owned().into_any(),
        Found::Value { start, end } => {
            let raw = &data[start..end];
            match ko::msgpack::str_at(raw, 0) {
                Ok(Some((s, e))) if e == raw.len() => match std::str::from_utf8(s) {
                    Ok(s) => PyString::new(py, s).into_any(),
                    Err(_) => PyBytes::new(py, raw).into_any(),
                },
                _ => PyBytes::new(py, raw).into_any(),
            }
        }
    }
}

#[pymethods]
impl FieldPaths {
    /// `paths`: sequences of str keys and int indexes, e.g. `("status", "podIPs", 0, "ip")`;
    /// `rules`: per path `"get"`, `"or_empty"`, `"is_true"` or None (see `read`).
    #[new]
    /// `names`: per path a str (`read` returns that path's value in a dict under it) or None.
    #[pyo3(signature = (paths, rules=None, names=None))]
    fn new(
        paths: Vec<Vec<PySegment>>,
        rules: Option<Vec<Option<String>>>,
        names: Option<Vec<Option<Py<PyString>>>>,
    ) -> PyResult<Self> {
        if names.as_ref().is_some_and(|n| n.len() != paths.len()) {
            return Err(PyValueError::new_err("one name (or None) per path"));
        }
        let rules = match rules {
            None => vec![None; paths.len()],
            Some(r) if r.len() == paths.len() => r
                .into_iter()
                .map(|r| match r.as_deref() {
                    None => Ok(None),
                    Some("get") => Ok(Some(Rule::Get)),
                    Some("or_empty") => Ok(Some(Rule::OrEmpty)),
                    Some("is_true") => Ok(Some(Rule::IsTrue)),
                    Some(other) => Err(PyValueError::new_err(format!("unknown rule {other:?}"))),
                })
                .collect::<PyResult<_>>()?,
            Some(_) => return Err(PyValueError::new_err("one rule (or None) per path")),
        };
        let paths = paths
            .into_iter()
            .map(|p| {
                p.into_iter()
                    .map(|s| match s {
                        PySegment::Key(k) => Segment::Key(k.into_bytes()),
                        PySegment::Index(i) => Segment::Index(i),
                    })
                    .collect()
            })
            .collect();
        Ok(FieldPaths {
            inner: ko::lookup::Paths::new(paths),
            rules,
            names,
        })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Per path: the value if it is a (UTF-8) str, `None` if absent (a
    /// missing key, an index out of range, a nil parent), `False` if a parent
    /// is not a container, else the value's msgpack bytes.
    fn find<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyTuple>> {
        let found = py.detach(|| self.inner.find(data)).map_err(value_error)?;
        PyTuple::new(py, found.into_iter().map(|f| found_value(py, data, f)))
    }

    /// Per path: its rule's string, or for a path without a rule what `find`
    /// gives; `None` when a rule cannot judge its value (decode instead).
    /// With `names`: the values of unnamed paths in order, then one dict of
    /// the named paths' values (in path order).
    fn read<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let found = py.detach(|| self.inner.find(data)).map_err(value_error)?;
        let mut out: Vec<Bound<'py, PyAny>> = Vec::with_capacity(found.len());
        let dict = self.names.as_ref().map(|_| PyDict::new(py));
        for (i, (f, rule)) in found.into_iter().zip(self.rules.iter()).enumerate() {
            let value = match rule {
                None => found_value(py, data, f),
                Some(rule) => match rule.apply(data, f) {
                    Some(s) => PyString::new(py, s).into_any(),
                    None => return Ok(None),
                },
            };
            match (&dict, self.names.as_ref().and_then(|n| n[i].as_ref())) {
                (Some(d), Some(name)) => d.set_item(name.bind(py), value)?,
                _ => out.push(value),
            }
        }
        if let Some(d) = dict {
            out.push(d.into_any());
        }
        Ok(Some(PyTuple::new(py, out)?))
    }
}

/// Stored documents of one batch create stamped from learnt variants (see
/// kubemu-objects' `stamp` module for the contract).
#[pyclass(module = "kubemu._core")]
pub struct Stamper {
    inner: ko::stamp::Stamper,
}

#[pymethods]
impl Stamper {
    /// `name_rule`: the names stamped without asking; only `"dns1123-subdomain"`.
    #[new]
    #[pyo3(signature = (name_rule="dns1123-subdomain", max_variants=4096))]
    fn new(name_rule: &str, max_variants: usize) -> PyResult<Self> {
        let rule = match name_rule {
            "dns1123-subdomain" => NameRule::Dns1123Subdomain,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown name rule {other:?}"
                )))
            }
        };
        Ok(Stamper {
            inner: ko::stamp::Stamper::new(rule, max_variants),
        })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Learns `request`'s variant from the document the slow path stored for
    /// it with `uid` and `timestamp`; whether it was learnt.
    fn learn(
        &mut self,
        py: Python<'_>,
        request: &[u8],
        stored: &[u8],
        uid: &str,
        timestamp: &str,
    ) -> PyResult<bool> {
        let inner = &mut self.inner;
        py.detach(|| inner.learn(request, stored, uid.as_bytes(), timestamp.as_bytes()))
            .map_err(value_error)
    }

    /// `(name, stored document)` for `request` with `uid` and `timestamp`,
    /// or `None` when its variant is unknown or its name not certainly valid.
    fn stamp<'py>(
        &self,
        py: Python<'py>,
        request: &[u8],
        uid: &str,
        timestamp: &str,
    ) -> PyResult<Option<(Bound<'py, PyString>, Bound<'py, PyBytes>)>> {
        let inner = &self.inner;
        let r = py
            .detach(|| {
                inner
                    .stamp(request, uid.as_bytes(), timestamp.as_bytes())
                    .map(|o| o.map(|(name, doc)| (name.to_owned(), doc)))
            })
            .map_err(value_error)?;
        Ok(r.map(|(name, doc)| (PyString::new(py, &name), PyBytes::new(py, &doc))))
    }
}

/// Deepest nesting `unpack_many` decodes (msgpack-python's unpacker stack).
const MAX_DEPTH: usize = 1024;
/// Strs up to this length are shared between the decoded documents of one call.
const SHARED_STR: usize = 64;

/// FxHash (rustc's): strs of stored documents are short and not adversarial
/// here (one call's own input), so a fast non-keyed hash is enough.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// Builds Python objects from msgpack tokens (kubemu-objects' reader), as
/// `msgpack.unpackb(data, raw=False)` does, sharing equal short strs.
struct Unpacker<'py, 'a> {
    py: Python<'py>,
    strs: FxMap<&'a [u8], Bound<'py, PyString>>,
}

impl<'py, 'a> Unpacker<'py, 'a> {
    fn str(&mut self, s: &'a [u8]) -> PyResult<Bound<'py, PyAny>> {
        let shared = s.len() <= SHARED_STR;
        if shared {
            if let Some(v) = self.strs.get(s) {
                return Ok(v.clone().into_any());
            }
        }
        let text = std::str::from_utf8(s)
            .map_err(|e| PyValueError::new_err(format!("invalid UTF-8 in a str: {e}")))?;
        let v = PyString::new(self.py, text);
        if shared {
            self.strs.insert(s, v.clone());
        }
        Ok(v.into_any())
    }

    fn value(
        &mut self,
        buf: &'a [u8],
        pos: &mut usize,
        depth: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        if depth > MAX_DEPTH {
            return Err(PyValueError::new_err("msgpack nested too deeply"));
        }
        let py = self.py;
        let (tok, next) = token(buf, *pos).map_err(value_error)?;
        *pos = next;
        Ok(match tok {
            Token::Nil => py.None().into_bound(py),
            Token::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
            Token::Int(i) => i.into_pyobject(py)?.into_any(),
            Token::Uint(u) => u.into_pyobject(py)?.into_any(),
            Token::F32(f) => f64::from(f).into_pyobject(py)?.into_any(),
            Token::F64(f) => f.into_pyobject(py)?.into_any(),
            Token::Str(s) => self.str(s)?,
            Token::Bin(b) => PyBytes::new(py, b).into_any(),
            Token::Ext(..) => {
                return Err(PyValueError::new_err(
                    "msgpack ext types are not decoded here",
                ))
            }
            Token::Array(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                // Each item takes at least one byte: a length beyond the input is malformed.
                if n > buf.len() - *pos {
                    return Err(PyValueError::new_err("msgpack array longer than its input"));
                }
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(buf, pos, depth + 1)?);
                }
                PyList::new(py, items)?.into_any()
            }
            Token::Map(n) => {
                let dict = PyDict::new(py);
                for _ in 0..n {
                    let (key_tok, _) = token(buf, *pos).map_err(value_error)?;
                    if !matches!(key_tok, Token::Str(_) | Token::Bin(_)) {
                        return Err(PyValueError::new_err("map keys must be str or bytes"));
                    }
                    let k = self.value(buf, pos, depth + 1)?;
                    let v = self.value(buf, pos, depth + 1)?;
                    dict.set_item(k, v)?;
                }
                dict.into_any()
            }
        })
    }
}

/// The documents decoded, as `[msgpack.unpackb(d, raw=False) for d in docs]`
/// gives them (equal short strs are one object: strs are immutable). Ext
/// types, non-str/bytes map keys, invalid UTF-8, trailing bytes, nesting over
/// 1,024 levels or malformed msgpack raise ValueError (the caller decodes
/// with msgpack then, for its exact result or error).
#[pyfunction]
fn unpack_many<'py>(
    py: Python<'py>,
    docs: Vec<Bound<'py, PyBytes>>,
) -> PyResult<Bound<'py, PyList>> {
    let bufs: Vec<&[u8]> = docs.iter().map(|d| d.as_bytes()).collect();
    let mut u = Unpacker {
        py,
        strs: FxMap::default(),
    };
    let out = PyList::empty(py);
    for buf in bufs {
        let mut pos = 0;
        let v = u.value(buf, &mut pos, 0)?;
        if pos != buf.len() {
            return Err(PyValueError::new_err(
                "trailing bytes after a msgpack document",
            ));
        }
        out.append(v)?;
    }
    Ok(out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FieldPaths>()?;
    m.add_class::<Stamper>()?;
    m.add_function(wrap_pyfunction!(unpack_many, m)?)?;
    Ok(())
}
