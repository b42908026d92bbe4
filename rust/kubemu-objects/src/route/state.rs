//! States of stored objects, read from their msgpack without decoding:
//! what watch filters look at (namespace, labels, selectable fields).

use std::sync::Arc;

use crate::lookup::{Found, Paths, Rule, Segment};
use crate::msgpack::{self, map_header, str_at, Entries};

/// Shared immutable bytes (the store's value type).
pub type Bytes = Arc<[u8]>;

/// A field or namespace value: `Some` for a str, `None` for any other value
/// (which equals no selector value).
pub type Val = Option<Box<str>>;

/// A label's value as a decode gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelVal {
    Str(Box<str>),
    /// nil: present for `exists`, absent for every value comparison.
    Nil,
    /// Any other value: present, equal to no string.
    Other,
}

/// Where a value of a [`State`] is: a str in its buffer, a constant, or a
/// value that is not a str.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Str { start: u32, end: u32 },
    Lit(&'static str),
    Other,
}

/// One state of an object: what filters look at, as spans into the stored
/// bytes (no copy; a decoded state keeps its own small buffer).
#[derive(Debug, Clone)]
pub struct State {
    buf: Bytes,
    namespace: Span,
    fields: Box<[Span]>,
    /// Position of `metadata.labels` in `buf` if it is a map (checked:
    /// str keys, values str, nil or other).
    pub(super) labels: Option<u32>,
}

/// The span of `s` (a str of `doc`, or a constant the rules give).
fn span_of(doc: &[u8], s: &str) -> Span {
    let base = doc.as_ptr() as usize;
    let p = s.as_ptr() as usize;
    if p >= base && p + s.len() <= base + doc.len() && !s.is_empty() {
        let start = (p - base) as u32;
        return Span::Str {
            start,
            end: start + s.len() as u32,
        };
    }
    Span::Lit(match s {
        "true" => "true",
        "false" => "false",
        _ => "",
    })
}

impl State {
    /// A state from decoded values: `labels` in document order (for a key
    /// given twice the last wins, as in a dict).
    pub fn new(namespace: Val, fields: Vec<Val>, labels: Vec<(Box<str>, LabelVal)>) -> Self {
        let mut buf: Vec<u8> = Vec::new();
        let put = |buf: &mut Vec<u8>, v: &Val| match v {
            None => Span::Other,
            Some(s) => {
                let start = buf.len() as u32;
                buf.extend_from_slice(s.as_bytes());
                Span::Str {
                    start,
                    end: buf.len() as u32,
                }
            }
        };
        let namespace = put(&mut buf, &namespace);
        let fields: Box<[Span]> = fields.iter().map(|f| put(&mut buf, f)).collect();
        let at = buf.len() as u32;
        let n = labels.len();
        if n < 16 {
            buf.push(0x80 | n as u8);
        } else {
            buf.push(0xdf);
            buf.extend_from_slice(&(n as u32).to_be_bytes());
        }
        for (k, v) in &labels {
            msgpack::write_str(&mut buf, k.as_bytes());
            match v {
                LabelVal::Str(s) => msgpack::write_str(&mut buf, s.as_bytes()),
                LabelVal::Nil => buf.push(0xc0),
                LabelVal::Other => buf.push(0x00),
            }
        }
        State {
            buf: Bytes::from(buf),
            namespace,
            fields,
            labels: Some(at),
        }
    }

    fn text(&self, s: Span) -> Option<&[u8]> {
        match s {
            Span::Str { start, end } => Some(&self.buf[start as usize..end as usize]),
            Span::Lit(l) => Some(l.as_bytes()),
            Span::Other => None,
        }
    }

    /// `metadata.namespace or ""` (`None`: not a str).
    pub fn namespace(&self) -> Option<&[u8]> {
        self.text(self.namespace)
    }

    /// The [`Spec`] field `i` (`None`: not a str).
    pub fn field(&self, i: usize) -> Option<&[u8]> {
        self.text(self.fields[i])
    }

    /// The label `key`: `None` if absent, else its str, nil or other value
    /// (the last of a key given twice).
    pub fn label(&self, key: &[u8]) -> Option<LabelRef<'_>> {
        let at = self.labels? as usize;
        let buf = &self.buf[..];
        let (n, first) = map_header(buf, at).ok()??;
        let mut found = None;
        for e in Entries::new(buf, n, first) {
            let e = e.ok()?;
            match str_at(buf, e.key) {
                Ok(Some((k, _))) if k == key => {}
                _ => continue,
            }
            found = Some(match str_at(buf, e.value) {
                Ok(Some((s, _))) => LabelRef::Str(s),
                _ if buf[e.value] == 0xc0 => LabelRef::Nil,
                _ => LabelRef::Other,
            });
        }
        found
    }
}

/// A label's value in a [`State`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelRef<'a> {
    Str(&'a [u8]),
    Nil,
    Other,
}

/// Most paths [`Spec::read`] looks up without allocating (more: it
/// allocates).
const MAX_PATHS: usize = 24;

/// How to read a kind's states from stored bytes: `metadata.labels`,
/// `metadata.namespace` and the named selectable fields, each with the
/// [`Rule`] that turns its value into a string.
#[derive(Debug, Clone)]
pub struct Spec {
    pub(super) paths: Paths,
    trie: Vec<Node>,
    names: Vec<String>,
    rules: Vec<Rule>,
}

/// A step of the paths' trie: the paths ending here, the steps below.
#[derive(Debug, Clone, Default)]
struct Node {
    ends: Vec<usize>,
    keys: Vec<(Vec<u8>, usize)>,
    indexes: Vec<(usize, usize)>,
    /// Every path through this node that goes deeper.
    below: Vec<usize>,
}

impl Spec {
    /// `fields`: (selector name, path, rule) per selectable field.
    pub fn new(fields: Vec<(String, Vec<Segment>, Rule)>) -> Self {
        let key = |s: &str| Segment::Key(s.as_bytes().to_vec());
        let mut paths = vec![
            vec![key("metadata"), key("labels")],
            vec![key("metadata"), key("namespace")],
        ];
        let mut names = Vec::with_capacity(fields.len());
        let mut rules = Vec::with_capacity(fields.len());
        for (name, path, rule) in fields {
            names.push(name);
            paths.push(path);
            rules.push(rule);
        }
        let mut trie = vec![Node::default()];
        for (p, path) in paths.iter().enumerate() {
            let mut at = 0;
            for seg in path {
                trie[at].below.push(p);
                let found = match seg {
                    Segment::Key(k) => trie[at].keys.iter().find(|(x, _)| x == k).map(|c| c.1),
                    Segment::Index(i) => trie[at].indexes.iter().find(|(x, _)| x == i).map(|c| c.1),
                };
                at = match found {
                    Some(c) => c,
                    None => {
                        trie.push(Node::default());
                        let c = trie.len() - 1;
                        match seg {
                            Segment::Key(k) => trie[at].keys.push((k.clone(), c)),
                            Segment::Index(i) => trie[at].indexes.push((*i, c)),
                        }
                        c
                    }
                };
            }
            trie[at].ends.push(p);
        }
        Spec {
            paths: Paths::new(paths),
            trie,
            names,
            rules,
        }
    }

    /// The selectable field names, in the order of [`State::field`].
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub(super) fn slot(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Sets `out` for the paths through `node` from the value at `pos`, as
    /// [`Paths::find`] does (a key given twice: the last wins).
    pub(super) fn walk(
        &self,
        doc: &[u8],
        pos: usize,
        node: usize,
        out: &mut [Found],
    ) -> msgpack::Result<()> {
        let n = &self.trie[node];
        let mut end = None;
        for &p in &n.ends {
            let e = match end {
                Some(e) => e,
                None => *end.insert(msgpack::skip(doc, pos)?),
            };
            out[p] = Found::Value { start: pos, end: e };
        }
        if n.below.is_empty() {
            return Ok(());
        }
        for &p in &n.below {
            out[p] = Found::Absent;
        }
        if msgpack::marker(doc, pos)? == 0xc0 {
            return Ok(());
        }
        if let Some((count, first)) = map_header(doc, pos)? {
            if !n.keys.is_empty() {
                for entry in Entries::new(doc, count, first) {
                    let entry = entry?;
                    let Some((k, _)) = str_at(doc, entry.key)? else {
                        continue;
                    };
                    if let Some((_, c)) = n.keys.iter().find(|(x, _)| x[..] == *k) {
                        self.walk(doc, entry.value, *c, out)?;
                    }
                }
            } else {
                msgpack::skip(doc, pos)?;
            }
            for (_, c) in &n.indexes {
                self.not_container(*c, out);
            }
            return Ok(());
        }
        if let Some((count, first)) = msgpack::array_header(doc, pos)? {
            let last = n.indexes.iter().map(|(i, _)| *i).max();
            let mut at = first;
            if let Some(last) = last {
                for k in 0..count.min(last as u64 + 1) {
                    if let Some((_, c)) = n.indexes.iter().find(|(i, _)| *i as u64 == k) {
                        self.walk(doc, at, *c, out)?;
                    }
                    at = msgpack::skip(doc, at)?;
                }
            }
            for (_, c) in &n.keys {
                self.not_container(*c, out);
            }
            return Ok(());
        }
        msgpack::skip(doc, pos)?;
        for &p in &n.below {
            out[p] = Found::NotContainer;
        }
        Ok(())
    }

    fn not_container(&self, node: usize, out: &mut [Found]) {
        let n = &self.trie[node];
        for &p in n.ends.iter().chain(&n.below) {
            out[p] = Found::NotContainer;
        }
    }

    /// The state in `doc`, or `None` when only a decode can tell (malformed
    /// bytes, a value a rule does not judge, labels that are not a plain map
    /// of str keys). Cost: one pass over the maps on the paths, no
    /// allocation but the state's own.
    pub fn read(&self, doc: &Bytes) -> Option<State> {
        let mut small = [Found::Absent; MAX_PATHS];
        let heap;
        let found: &[Found] = if self.paths.len() <= MAX_PATHS {
            let out = &mut small[..self.paths.len()];
            self.walk(doc, 0, 0, out).ok()?;
            out
        } else {
            heap = self.paths.find(doc).ok()?;
            &heap
        };
        let namespace = span_of(doc, Rule::OrEmpty.apply(doc, found[1])?);
        let mut fields = Vec::with_capacity(self.rules.len());
        for (rule, f) in self.rules.iter().zip(&found[2..]) {
            fields.push(span_of(doc, rule.apply(doc, *f)?));
        }
        let labels = match found[0] {
            Found::Absent => None,
            Found::NotContainer => return None,
            Found::Value { start, end } => {
                if check_labels(&doc[start..end])? {
                    Some(start as u32)
                } else {
                    None
                }
            }
        };
        Some(State {
            buf: doc.clone(),
            namespace,
            fields: fields.into_boxed_slice(),
            labels,
        })
    }
}

/// Whether `meta.get("labels") or {}` is a map filters read (`Some(true)`),
/// a value that reads as no labels (`Some(false)`), or one only a decode
/// judges (`None`: a non-str key, a str that is not UTF-8).
fn check_labels(raw: &[u8]) -> Option<bool> {
    let Ok(Some((n, first))) = map_header(raw, 0) else {
        return match str_at(raw, 0) {
            Ok(Some((s, _))) if std::str::from_utf8(s).is_err() => None,
            _ => Some(false),
        };
    };
    for entry in Entries::new(raw, n, first) {
        let entry = entry.ok()?;
        let (k, _) = str_at(raw, entry.key).ok()??;
        std::str::from_utf8(k).ok()?;
        if let Some((s, _)) = str_at(raw, entry.value).ok()? {
            std::str::from_utf8(s).ok()?;
        }
    }
    Some(true)
}
