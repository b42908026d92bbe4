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
    uids: ko::stamp::uid::Uids,
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
            uids: ko::stamp::uid::Uids::new(),
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

    /// `(key, stored document)` for `requests[start]`, `requests[start + 1]`, ... up to the
    /// first one not stamped (None, anything but bytes, an unknown variant, a name not
    /// certainly valid, malformed msgpack); each with a fresh random uid and `timestamp`;
    /// the key is `key_prefix` + the name. OSError if the OS's random source fails.
    fn stamp_run<'py>(
        &mut self,
        py: Python<'py>,
        requests: &Bound<'py, PyList>,
        start: usize,
        timestamp: &str,
        key_prefix: &[u8],
    ) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        let (n, mut at) = (requests.len(), start);
        // Windows growing from 8 requests: a run that stops early (the next request is of a
        // new variant) costs what it stamped, not the rest of the list.
        let mut window = 8;
        while at < n {
            let end = n.min(at + window);
            let items: Vec<Option<Bound<'py, PyBytes>>> = (at..end)
                .map(|i| requests.get_item(i).ok()?.cast_into::<PyBytes>().ok())
                .collect();
            let reqs: Vec<Option<&[u8]>> = items
                .iter()
                .map(|r| r.as_ref().map(|b| b.as_bytes()))
                .collect();
            let (inner, uids) = (&self.inner, &mut self.uids);
            let run =
                py.detach(|| inner.stamp_run(reqs, key_prefix, timestamp.as_bytes(), uids))?;
            for s in &run {
                out.append((PyBytes::new(py, &s.key), PyBytes::new(py, &s.doc)))?;
            }
            if run.len() < end - at {
                break;
            }
            at = end;
            window *= 4;
        }
        Ok(out)
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

/// Deepest nesting `pack_many` packs (msgpack-python's default recursion limit).
const MAX_PACK_DEPTH: usize = 511;

/// Appends the msgpack of `v` as `msgpack.packb(v, use_bin_type=True)` writes it; false (and
/// `out` partly written) for what this packer leaves to msgpack: values of other types than
/// exact None, bool, int, float, str, bytes, list and dict, ints out of the 64-bit ranges,
/// strs that are not valid UTF-8, nesting over `MAX_PACK_DEPTH`.
fn pack_value(out: &mut Vec<u8>, v: &Bound<'_, PyAny>, depth: usize, memo: &mut Memo) -> bool {
    if depth > MAX_PACK_DEPTH {
        return false;
    }
    let container = v.is_exact_instance_of::<PyDict>() || v.is_exact_instance_of::<PyList>();
    if container {
        // The same container object packs to the same bytes within one call: nothing
        // runs Python code meanwhile, and the objects keep it alive (its address unique).
        if let Some(bytes) = memo.get(&(v.as_ptr() as usize)) {
            out.extend_from_slice(bytes);
            return true;
        }
    }
    let start = out.len();
    if !pack_plain(out, v, depth, memo) {
        return false;
    }
    if container && out.len() - start >= MEMO_MIN_BYTES {
        memo.insert(v.as_ptr() as usize, out[start..].to_vec());
    }
    true
}

/// Packed containers of one `pack_many` call by address.
type Memo = FxMap<usize, Vec<u8>>;

/// Containers packed to at least this many bytes are kept for reuse in `pack_many`.
const MEMO_MIN_BYTES: usize = 128;

/// [`pack_value`] without the memo lookup.
fn pack_plain(out: &mut Vec<u8>, v: &Bound<'_, PyAny>, depth: usize, memo: &mut Memo) -> bool {
    use pyo3::types::{PyFloat, PyInt};
    if v.is_none() {
        out.push(0xc0);
    } else if let Ok(s) = v.cast_exact::<PyString>() {
        let Ok(s) = s.to_str() else { return false };
        if u32::try_from(s.len()).is_err() {
            return false; // msgpack refuses it
        }
        ko::msgpack::write_str(out, s.as_bytes());
    } else if let Ok(d) = v.cast_exact::<PyDict>() {
        let n = d.len();
        if n <= 0x0f {
            out.push(0x80 | n as u8);
        } else if n <= 0xffff {
            out.push(0xde);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if let Ok(n) = u32::try_from(n) {
            out.push(0xdf);
            out.extend_from_slice(&n.to_be_bytes());
        } else {
            return false;
        }
        for (k, val) in d.iter() {
            if !pack_value(out, &k, depth + 1, memo) || !pack_value(out, &val, depth + 1, memo) {
                return false;
            }
        }
    } else if let Ok(l) = v.cast_exact::<PyList>() {
        let n = l.len();
        if n <= 0x0f {
            out.push(0x90 | n as u8);
        } else if n <= 0xffff {
            out.push(0xdc);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if let Ok(n) = u32::try_from(n) {
            out.push(0xdd);
            out.extend_from_slice(&n.to_be_bytes());
        } else {
            return false;
        }
        for item in l.iter() {
            if !pack_value(out, &item, depth + 1, memo) {
                return false;
            }
        }
    } else if let Ok(b) = v.cast_exact::<PyBool>() {
        out.push(if b.is_true() { 0xc3 } else { 0xc2 });
    } else if let Ok(i) = v.cast_exact::<PyInt>() {
        if let Ok(u) = i.extract::<u64>() {
            pack_uint(out, u);
        } else if let Ok(n) = i.extract::<i64>() {
            pack_negative(out, n);
        } else {
            return false;
        }
    } else if let Ok(f) = v.cast_exact::<PyFloat>() {
        out.push(0xcb);
        out.extend_from_slice(&f.value().to_be_bytes());
    } else if let Ok(b) = v.cast_exact::<PyBytes>() {
        let b = b.as_bytes();
        let n = b.len();
        if n <= 0xff {
            out.extend_from_slice(&[0xc4, n as u8]);
        } else if n <= 0xffff {
            out.push(0xc5);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if let Ok(n) = u32::try_from(n) {
            out.push(0xc6);
            out.extend_from_slice(&n.to_be_bytes());
        } else {
            return false;
        }
        out.extend_from_slice(b);
    } else {
        return false;
    }
    true
}

/// A non-negative int in the shortest form (msgpack-c's `pack_real_uint64`).
fn pack_uint(out: &mut Vec<u8>, u: u64) {
    if u < 0x80 {
        out.push(u as u8);
    } else if u <= 0xff {
        out.extend_from_slice(&[0xcc, u as u8]);
    } else if u <= 0xffff {
        out.push(0xcd);
        out.extend_from_slice(&(u as u16).to_be_bytes());
    } else if u <= 0xffff_ffff {
        out.push(0xce);
        out.extend_from_slice(&(u as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}

/// A negative int in the shortest form (msgpack-c's `pack_real_int64`).
fn pack_negative(out: &mut Vec<u8>, n: i64) {
    if n >= -32 {
        out.push(n as u8); // negative fixint: the two's complement byte
    } else if n >= -0x80 {
        out.extend_from_slice(&[0xd0, n as u8]);
    } else if n >= -0x8000 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -0x8000_0000 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Per object: `msgpack.packb(obj, use_bin_type=True)` for a dict this packer packs (the same
/// bytes), else None: objects that are not exact dicts, or hold anything but exact None,
/// bool, int (64-bit), float, str (valid UTF-8), bytes, list and dict, or nest deeper than
/// 511 levels; the caller packs those with msgpack (its exact bytes or error). Each object
/// costs one walk of its values and one bytes object, except that a dict or list met again
/// in the same call (the same object, e.g. a spec shared by copies of a template) is copied
/// from its first packing; the GIL is held throughout.
#[pyfunction]
fn pack_many<'py>(py: Python<'py>, objs: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    let mut buf = Vec::with_capacity(4096);
    let mut memo = Memo::default();
    // The objects stay referenced (and so at their addresses) until the call returns.
    let objs: Vec<Bound<'py, PyAny>> = objs.try_iter()?.collect::<PyResult<_>>()?;
    for obj in objs {
        buf.clear();
        if obj.is_exact_instance_of::<PyDict>() && pack_value(&mut buf, &obj, 0, &mut memo) {
            out.append(PyBytes::new(py, &buf))?;
        } else {
            out.append(py.None())?;
        }
    }
    Ok(out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FieldPaths>()?;
    m.add_class::<Stamper>()?;
    m.add_function(wrap_pyfunction!(unpack_many, m)?)?;
    m.add_function(wrap_pyfunction!(pack_many, m)?)?;
    Ok(())
}
