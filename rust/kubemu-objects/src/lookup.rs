//! The values at a few paths of a document, found in one pass.
//!
//! Semantics follow a decode into dicts and lists (msgpack-python's): a map
//! key given twice takes its last value; a path through `nil` or a missing
//! key is [`Found::Absent`]; a path through any other non-container (a
//! string where a map is expected) is [`Found::NotContainer`], which callers
//! treat as "decode the document instead".

use crate::msgpack::{self, array_header, map_header, str_at, Entries, Result};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A map key (a msgpack str).
    Key(Vec<u8>),
    /// An array index.
    Index(usize),
}

/// What a path leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// A key is missing, an index is out of range, or a parent is nil.
    Absent,
    /// A parent is neither a container of the right kind nor nil.
    NotContainer,
    /// The value's bytes are `doc[start..end]`.
    Value { start: usize, end: usize },
}

/// How a found value becomes a field's string, as a Python getter on the
/// decoded document would make it. `None` from [`Rule::apply`] means the
/// value is one the rule does not judge from bytes (decode instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `parent.get(key, "")`: a str, or `""` when absent.
    Get,
    /// `parent.get(key) or ""`: a str, or `""` when absent or nil.
    OrEmpty,
    /// `"true" if parent.get(key) is True else "false"` (never undecidable).
    IsTrue,
}

impl Rule {
    /// The field's string for what a path led to in `doc` (`None`: decode
    /// instead; also for a str that is not UTF-8).
    pub fn apply(self, doc: &[u8], found: Found) -> Option<&str> {
        let raw = match found {
            Found::Value { start, end } => &doc[start..end],
            Found::Absent => {
                return if self == Rule::IsTrue {
                    Some("false")
                } else {
                    Some("")
                }
            }
            Found::NotContainer => {
                return if self == Rule::IsTrue {
                    Some("false")
                } else {
                    None
                }
            }
        };
        match self {
            Rule::IsTrue => Some(if raw == [0xc3] { "true" } else { "false" }),
            Rule::OrEmpty if raw == [0xc0] => Some(""),
            Rule::Get | Rule::OrEmpty => match str_at(raw, 0) {
                Ok(Some((s, end))) if end == raw.len() => std::str::from_utf8(s).ok(),
                _ => None,
            },
        }
    }
}

/// A set of paths looked up together ([`Paths::find`]).
#[derive(Debug, Clone, Default)]
pub struct Paths {
    paths: Vec<Vec<Segment>>,
}

impl Paths {
    /// The paths, in the order [`Paths::find`] reports them. An empty path
    /// means the document itself.
    pub fn new(paths: Vec<Vec<Segment>>) -> Self {
        Paths { paths }
    }

    /// Number of paths.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether there are no paths.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Where each path leads in `doc` (one entry per path, in order). Walks
    /// each map on the way once; cost linear in the bytes of the maps and
    /// arrays walked (values beside the paths are skipped, not parsed).
    /// Malformed msgpack on the way is an error.
    pub fn find(&self, doc: &[u8]) -> Result<Vec<Found>> {
        let mut out = vec![Found::Absent; self.paths.len()];
        let idx: Vec<usize> = (0..self.paths.len()).collect();
        walk(doc, 0, &self.paths, &idx, 0, &mut out)?;
        Ok(out)
    }
}

/// Sets `out[i]` for every `i` in `group` (paths sharing `depth` leading
/// segments) from the value at `pos`.
fn walk(
    doc: &[u8],
    pos: usize,
    paths: &[Vec<Segment>],
    group: &[usize],
    depth: usize,
    out: &mut [Found],
) -> Result<()> {
    let mut deeper: Vec<usize> = Vec::with_capacity(group.len());
    for &i in group {
        if paths[i].len() == depth {
            out[i] = Found::Value {
                start: pos,
                end: msgpack::skip(doc, pos)?,
            };
        } else {
            out[i] = Found::Absent;
            deeper.push(i);
        }
    }
    if deeper.is_empty() {
        return Ok(());
    }
    if msgpack::marker(doc, pos)? == 0xc0 {
        return Ok(()); // nil: every deeper path is absent
    }
    if let Some((n, first)) = map_header(doc, pos)? {
        let mut matched: Vec<usize> = Vec::new();
        for entry in Entries::new(doc, n, first) {
            let entry = entry?;
            let Some((key, _)) = str_at(doc, entry.key)? else {
                continue;
            };
            matched.clear();
            matched.extend(
                deeper
                    .iter()
                    .copied()
                    .filter(|&i| matches!(&paths[i][depth], Segment::Key(k) if k[..] == *key)),
            );
            if !matched.is_empty() {
                walk(doc, entry.value, paths, &matched, depth + 1, out)?;
            }
        }
        for &i in &deeper {
            if matches!(paths[i][depth], Segment::Index(_)) {
                out[i] = Found::NotContainer;
            }
        }
        return Ok(());
    }
    if let Some((n, first)) = array_header(doc, pos)? {
        let mut at = first;
        let mut matched: Vec<usize> = Vec::new();
        let last = deeper
            .iter()
            .filter_map(|&i| match paths[i][depth] {
                Segment::Index(k) => Some(k),
                Segment::Key(_) => None,
            })
            .max();
        if let Some(last) = last {
            for k in 0..n.min(last as u64 + 1) {
                matched.clear();
                matched.extend(
                    deeper
                        .iter()
                        .copied()
                        .filter(|&i| paths[i][depth] == Segment::Index(k as usize)),
                );
                if !matched.is_empty() {
                    walk(doc, at, paths, &matched, depth + 1, out)?;
                }
                at = msgpack::skip(doc, at)?;
            }
        }
        for &i in &deeper {
            if matches!(paths[i][depth], Segment::Key(_)) {
                out[i] = Found::NotContainer;
            }
        }
        return Ok(());
    }
    msgpack::skip(doc, pos)?;
    for &i in &deeper {
        out[i] = Found::NotContainer;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Segment {
        Segment::Key(s.as_bytes().to_vec())
    }

    fn value(doc: &[u8], f: Found) -> Option<&[u8]> {
        match f {
            Found::Value { start, end } => Some(&doc[start..end]),
            _ => None,
        }
    }

    // {"metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"nodeName": "n1"},
    //  "status": {"podIPs": [{"ip": "10.0.0.1"}]}, "kind": "Pod"}
    fn pod() -> Vec<u8> {
        let mut d = vec![0x84];
        d.extend_from_slice(b"\xa8metadata\x82\xa4name\xa1p\xa6labels\x81\xa1a\xa1b");
        d.extend_from_slice(b"\xa4spec\x81\xa8nodeName\xa2n1");
        d.extend_from_slice(b"\xa6status\x81\xa6podIPs\x91\x81\xa2ip\xa810.0.0.1");
        d.extend_from_slice(b"\xa4kind\xa3Pod");
        d
    }

    #[test]
    fn finds_values_in_one_pass() {
        let doc = pod();
        let paths = Paths::new(vec![
            vec![key("metadata"), key("name")],
            vec![key("spec"), key("nodeName")],
            vec![key("status"), key("podIPs"), Segment::Index(0), key("ip")],
            vec![key("status"), key("podIPs"), Segment::Index(1), key("ip")],
            vec![key("spec"), key("schedulerName")],
            vec![key("kind"), key("x")],
            vec![key("metadata"), key("labels")],
            vec![key("metadata"), Segment::Index(0)],
        ]);
        let f = paths.find(&doc).unwrap();
        assert_eq!(value(&doc, f[0]), Some(&b"\xa1p"[..]));
        assert_eq!(value(&doc, f[1]), Some(&b"\xa2n1"[..]));
        assert_eq!(value(&doc, f[2]), Some(&b"\xa810.0.0.1"[..]));
        assert_eq!(f[3], Found::Absent);
        assert_eq!(f[4], Found::Absent);
        assert_eq!(f[5], Found::NotContainer);
        assert_eq!(value(&doc, f[6]), Some(&b"\x81\xa1a\xa1b"[..]));
        assert_eq!(f[7], Found::NotContainer);
    }

    #[test]
    fn rules_follow_the_python_getters() {
        let doc = b"\x84\xa1s\xa2ab\xa1n\xc0\xa1t\xc3\xa1i\x05";
        let paths = Paths::new(vec![
            vec![key("s")],
            vec![key("n")],
            vec![key("t")],
            vec![key("i")],
            vec![key("missing")],
            vec![key("s"), key("x")],
        ]);
        let f = paths.find(doc).unwrap();
        let apply = |r: Rule, i: usize| r.apply(doc, f[i]);
        assert_eq!(apply(Rule::Get, 0), Some("ab"));
        assert_eq!(apply(Rule::OrEmpty, 0), Some("ab"));
        assert_eq!(apply(Rule::Get, 1), None); // nil name: Python gives None, not a str
        assert_eq!(apply(Rule::OrEmpty, 1), Some(""));
        assert_eq!(apply(Rule::IsTrue, 2), Some("true"));
        assert_eq!(apply(Rule::IsTrue, 0), Some("false"));
        assert_eq!(apply(Rule::OrEmpty, 3), None); // a truthy int: decode
        assert_eq!(apply(Rule::Get, 4), Some(""));
        assert_eq!(apply(Rule::IsTrue, 4), Some("false"));
        assert_eq!(apply(Rule::Get, 5), None); // parent is a str
        assert_eq!(apply(Rule::IsTrue, 5), Some("false"));
        // a str that is not UTF-8
        let bad = b"\x81\xa1s\xa1\xff";
        let g = Paths::new(vec![vec![key("s")]]).find(bad).unwrap();
        assert_eq!(Rule::Get.apply(bad, g[0]), None);
    }

    #[test]
    fn last_duplicate_key_wins_and_nil_is_absent() {
        let doc = b"\x83\xa4spec\x81\xa1a\x01\xa4spec\x81\xa1a\x02\xa6status\xc0";
        let paths = Paths::new(vec![
            vec![key("spec"), key("a")],
            vec![key("status"), key("phase")],
        ]);
        let f = paths.find(doc).unwrap();
        assert_eq!(value(doc, f[0]), Some(&b"\x02"[..]));
        assert_eq!(f[1], Found::Absent);
    }

    #[test]
    fn malformed_documents_are_errors() {
        let doc = pod();
        let paths = Paths::new(vec![vec![key("kind")], vec![key("status"), key("phase")]]);
        for cut in 0..doc.len() {
            // A prefix may still hold every path before the cut; it must never panic.
            let _ = paths.find(&doc[..cut]);
        }
        assert!(paths.find(&doc[..doc.len() - 1]).is_err());
        assert!(paths.find(&[0xc1]).is_err());
        assert!(paths.find(&[]).is_err());
    }
}
