//! Stored documents of a batch create stamped from learnt layouts.
//!
//! The apiserver creates the first object of each *variant* the slow way and
//! shows the [`Stamper`] the request and the stored document it made
//! ([`Stamper::learn`]). A variant is the request's bytes with its
//! per-object values cut out: `metadata.name`, the values of
//! `metadata.labels` (a map with distinct str keys) and the `name` of each
//! `metadata.ownerReferences` item. Two requests of one variant differ in
//! those values only. For a later request of a known variant,
//! [`Stamper::stamp`] writes the stored document of the learnt one with the
//! request's own values where the learnt request's were, and a new
//! `metadata.uid` and `metadata.creationTimestamp` — the only places the
//! create path puts per-object values when they are valid. That is the
//! caller's contract: its defaulting, admission and status do not read
//! them, its validation checks each on its own (a name by the
//! [`NameRule`], a label value by [`is_label_value`], an owner name for
//! being non-empty: rules the stamper applies itself), it copies them to
//! the stored document unchanged, and it only learns from requests that
//! succeeded. Anything else (an unknown variant, a value not certainly
//! valid, duplicate keys, malformed msgpack) is a miss: the caller takes the
//! slow path, which gives the exact outcome, errors included.

pub mod uid;

use std::collections::HashMap;

use crate::msgpack::{self, map_header, str_at, write_str, Entries, Result};
use uid::Uids;

/// Which names [`Stamper::stamp`] accepts without asking the caller. It must
/// accept only names the caller's own validation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain: at most 253 bytes of dot-separated labels of
    /// `[a-z0-9-]` that start and end with `[a-z0-9]` (`NameIsDNSSubdomain`).
    Dns1123Subdomain,
}

impl NameRule {
    /// Whether `name` is certainly valid under the rule.
    pub fn accepts(self, name: &[u8]) -> bool {
        match self {
            NameRule::Dns1123Subdomain => is_dns1123_subdomain(name),
        }
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`, ≤ 253 bytes.
pub fn is_dns1123_subdomain(name: &[u8]) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split(|&b| b == b'.').all(|label| {
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        match (label.first(), label.last()) {
            (Some(f), Some(l)) if alnum(f) && alnum(l) => {
                label.iter().all(|b| alnum(b) || *b == b'-')
            }
            _ => false,
        }
    })
}

/// The one entry whose key is the str `key` in the map at `pos`: `None` if
/// the value there is not a map, the key is missing or given twice.
fn only_entry(doc: &[u8], pos: usize, key: &[u8]) -> Result<Option<msgpack::Entry>> {
    let Some((n, first)) = map_header(doc, pos)? else {
        return Ok(None);
    };
    let mut found = None;
    let mut end = first;
    for entry in Entries::new(doc, n, first) {
        let entry = entry?;
        end = entry.end;
        if let Some((k, _)) = str_at(doc, entry.key)? {
            if k == key {
                if found.is_some() {
                    return Ok(None);
                }
                found = Some(entry);
            }
        }
    }
    if end != doc.len() && pos == 0 {
        return Ok(None); // trailing bytes after the document
    }
    Ok(found)
}

/// `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?`, ≤ 63 bytes: a label value
/// (`IsValidLabelValue`; the empty value is valid).
pub fn is_label_value(v: &[u8]) -> bool {
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    v.len() <= 63
        && match (v.first(), v.last()) {
            (None, _) => true,
            (Some(f), Some(l)) => {
                alnum(f) && alnum(l) && v.iter().all(|b| alnum(b) || b"-_.".contains(b))
            }
            _ => false,
        }
}

/// Which per-object value of a request a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// `metadata.name`: accepted by the stamper's [`NameRule`].
    Name,
    /// A `metadata.labels` value: a valid label value.
    Label,
    /// `metadata.ownerReferences[i].name`: not empty.
    Owner,
}

/// A per-object str value of a request: where its msgpack value (header
/// included) is and its text.
#[derive(Debug, Clone, Copy)]
struct ReqValue<'a> {
    start: usize,
    end: usize,
    text: &'a [u8],
    field: Field,
}

/// The str value at `pos`: `(start, end, text)`, or `None` if not a str.
fn str_value(doc: &[u8], pos: usize) -> Result<Option<(usize, usize, &[u8])>> {
    Ok(str_at(doc, pos)?.map(|(s, end)| (pos, end, s)))
}

/// Where a request's (or stored document's) per-object values are, in
/// document order, if `doc` is a map with one `metadata` map holding one str
/// `name`. Label values are per-object when `metadata.labels` is one map
/// with distinct str keys (its str values; anything else stays part of the
/// variant), owner names when `metadata.ownerReferences` is one array
/// (the one str `name` of each map item). Also returns the positions of
/// the labels map and the owners array, for [`Stamper::learn`].
struct Values<'a> {
    values: Vec<ReqValue<'a>>,
    /// Per label value (in `values` order among labels): its key.
    label_keys: Vec<&'a [u8]>,
    /// Per owner name: the index of its item in the array.
    owner_items: Vec<usize>,
}

fn request_values(req: &[u8]) -> Result<Option<Values<'_>>> {
    let Some(meta) = only_entry(req, 0, b"metadata")? else {
        return Ok(None);
    };
    let Some(name) = only_entry(req, meta.value, b"name")? else {
        return Ok(None);
    };
    let Some((start, end, text)) = str_value(req, name.value)? else {
        return Ok(None);
    };
    let mut out = Values {
        values: vec![ReqValue {
            start,
            end,
            text,
            field: Field::Name,
        }],
        label_keys: Vec::new(),
        owner_items: Vec::new(),
    };
    if let Some(labels) = only_entry(req, meta.value, b"labels")? {
        if let Some((n, first)) = map_header(req, labels.value)? {
            let mut found: Vec<(&[u8], ReqValue<'_>)> = Vec::new();
            let mut distinct_str_keys = true;
            for entry in Entries::new(req, n, first) {
                let entry = entry?;
                let Some((k, _)) = str_at(req, entry.key)? else {
                    distinct_str_keys = false;
                    continue;
                };
                if found.iter().any(|(seen, _)| *seen == k) {
                    distinct_str_keys = false;
                }
                if let Some((start, end, text)) = str_value(req, entry.value)? {
                    let field = Field::Label;
                    found.push((
                        k,
                        ReqValue {
                            start,
                            end,
                            text,
                            field,
                        },
                    ));
                }
            }
            if distinct_str_keys {
                for (k, v) in found {
                    out.label_keys.push(k);
                    out.values.push(v);
                }
            }
        }
    }
    if let Some(owners) = only_entry(req, meta.value, b"ownerReferences")? {
        if let Some((n, mut at)) = msgpack::array_header(req, owners.value)? {
            for i in 0..n {
                if let Some(e) = only_entry(req, at, b"name")? {
                    if let Some((start, end, text)) = str_value(req, e.value)? {
                        let field = Field::Owner;
                        out.owner_items
                            .push(usize::try_from(i).unwrap_or(usize::MAX));
                        out.values.push(ReqValue {
                            start,
                            end,
                            text,
                            field,
                        });
                    }
                }
                at = msgpack::skip(req, at)?;
            }
        }
    }
    out.values.sort_by_key(|v| v.start);
    Ok(Some(out))
}

/// Where a slot's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Uid,
    Timestamp,
    /// The request's per-object value of this index (document order).
    Request(usize),
}

/// A learnt stored document cut at its per-object values.
#[derive(Debug, Clone)]
struct Layout {
    /// `pieces[0] slot[0] pieces[1] ... slot[n-1] pieces[n]`.
    pieces: Vec<Vec<u8>>,
    slots: Vec<Source>,
}

/// Learnt variants of one batch (their outcomes depend on the cluster state
/// the batch saw, so a `Stamper` lives for one batch).
#[derive(Debug)]
pub struct Stamper {
    rule: NameRule,
    max_variants: usize,
    variants: HashMap<Vec<u8>, Layout>,
}

/// The request without its per-object values: each kept segment after its
/// length, each cut value as its field's tag, so different cuts never give
/// the same key.
fn variant_key(req: &[u8], values: &[ReqValue<'_>]) -> Vec<u8> {
    let mut key = Vec::with_capacity(req.len() + 9 * (values.len() + 1));
    let mut at = 0;
    for v in values {
        key.extend_from_slice(&((v.start - at) as u64).to_le_bytes());
        key.extend_from_slice(&req[at..v.start]);
        key.push(v.field as u8);
        at = v.end;
    }
    key.extend_from_slice(&((req.len() - at) as u64).to_le_bytes());
    key.extend_from_slice(&req[at..]);
    key
}

/// The str value at `pos` in `doc` if it is exactly `text`: its range.
fn same_str(doc: &[u8], pos: usize, text: &[u8]) -> Result<Option<(usize, usize)>> {
    Ok(str_value(doc, pos)?.and_then(|(s, e, t)| (t == text).then_some((s, e))))
}

impl Stamper {
    /// An empty stamper keeping at most `max_variants` layouts.
    pub fn new(rule: NameRule, max_variants: usize) -> Self {
        Stamper {
            rule,
            max_variants,
            variants: HashMap::new(),
        }
    }

    /// Number of learnt variants.
    pub fn len(&self) -> usize {
        self.variants.len()
    }

    /// Whether nothing was learnt.
    pub fn is_empty(&self) -> bool {
        self.variants.is_empty()
    }

    /// Learns the variant of `req` from its stored document `stored`, made
    /// by the slow path with `uid` and creationTimestamp `timestamp`. Returns
    /// whether it was learnt: not when either document is not a map with one
    /// `metadata` map, the request has no str name, the stored document does
    /// not hold the request's name, label values and owner names at the same
    /// keys and items and `uid` and `timestamp` as its uid and
    /// creationTimestamp (each given once), the variant is known, or the
    /// stamper is full. Malformed msgpack is an error.
    pub fn learn(
        &mut self,
        req: &[u8],
        stored: &[u8],
        uid: &[u8],
        timestamp: &[u8],
    ) -> Result<bool> {
        msgpack::skip(req, 0)?;
        msgpack::skip(stored, 0)?;
        if self.variants.len() >= self.max_variants {
            return Ok(false);
        }
        let Some(values) = request_values(req)? else {
            return Ok(false);
        };
        let Some(meta) = only_entry(stored, 0, b"metadata")? else {
            return Ok(false);
        };
        let mut cuts: Vec<(usize, usize, Source)> = Vec::with_capacity(values.values.len() + 2);
        for (field, text, source) in [
            (&b"uid"[..], uid, Source::Uid),
            (b"creationTimestamp", timestamp, Source::Timestamp),
        ] {
            let Some(e) = only_entry(stored, meta.value, field)? else {
                return Ok(false);
            };
            let Some((s, end)) = same_str(stored, e.value, text)? else {
                return Ok(false);
            };
            cuts.push((s, end, source));
        }
        let labels = only_entry(stored, meta.value, b"labels")?;
        let owners = only_entry(stored, meta.value, b"ownerReferences")?;
        let (mut nth_label, mut nth_owner) = (0, 0);
        for (i, v) in values.values.iter().enumerate() {
            let entry = match v.field {
                Field::Name => only_entry(stored, meta.value, b"name")?,
                Field::Label => {
                    let key = values.label_keys[nth_label];
                    nth_label += 1;
                    match labels {
                        Some(l) => only_entry(stored, l.value, key)?,
                        None => None,
                    }
                }
                Field::Owner => {
                    let item = values.owner_items[nth_owner];
                    nth_owner += 1;
                    match owners {
                        Some(o) => match nth_item(stored, o.value, item)? {
                            Some(at) => only_entry(stored, at, b"name")?,
                            None => None,
                        },
                        None => None,
                    }
                }
            };
            let Some(e) = entry else {
                return Ok(false);
            };
            let Some((s, end)) = same_str(stored, e.value, v.text)? else {
                return Ok(false);
            };
            cuts.push((s, end, Source::Request(i)));
        }
        cuts.sort_unstable_by_key(|c| c.0);
        let mut pieces = Vec::with_capacity(cuts.len() + 1);
        let mut at = 0;
        for (s, e, _) in &cuts {
            if *s < at {
                return Ok(false); // overlapping cuts: not a layout of this document
            }
            pieces.push(stored[at..*s].to_vec());
            at = *e;
        }
        pieces.push(stored[at..].to_vec());
        let slots = cuts.iter().map(|c| c.2).collect();
        let key = variant_key(req, &values.values);
        if self.variants.contains_key(&key) {
            return Ok(false);
        }
        self.variants.insert(key, Layout { pieces, slots });
        Ok(true)
    }

    /// The stored document for `req` with `uid` and creationTimestamp
    /// `timestamp`, and the request's name (UTF-8, accepted by the rule), if
    /// its variant is known and its per-object values are certainly valid
    /// (the name under the rule, label values as label values, owner names
    /// not empty, all UTF-8); `None` otherwise (take the slow path). Cost:
    /// one pass over the request's top-level and metadata maps, one hash of
    /// the request, one copy of the layout. Malformed msgpack is an error.
    pub fn stamp<'r>(
        &self,
        req: &'r [u8],
        uid: &[u8],
        timestamp: &[u8],
    ) -> Result<Option<(&'r str, Vec<u8>)>> {
        let Some(values) = request_values(req)? else {
            return Ok(None);
        };
        let mut name = "";
        for v in &values.values {
            let ok = match v.field {
                Field::Name => self.rule.accepts(v.text),
                Field::Label => is_label_value(v.text),
                Field::Owner => !v.text.is_empty(),
            };
            let Ok(text) = std::str::from_utf8(v.text) else {
                return Ok(None);
            };
            if !ok {
                return Ok(None);
            }
            if v.field == Field::Name {
                name = text;
            }
        }
        let Some(layout) = self.variants.get(&variant_key(req, &values.values)) else {
            return Ok(None);
        };
        let size: usize = layout.pieces.iter().map(Vec::len).sum::<usize>()
            + values
                .values
                .iter()
                .map(|v| v.text.len() + 5)
                .sum::<usize>()
            + uid.len()
            + timestamp.len()
            + 10;
        let mut out = Vec::with_capacity(size);
        for (piece, slot) in layout.pieces.iter().zip(layout.slots.iter()) {
            out.extend_from_slice(piece);
            // Re-encoded: the request's header need not be the shortest one the slow path writes.
            write_str(
                &mut out,
                match slot {
                    Source::Uid => uid,
                    Source::Timestamp => timestamp,
                    Source::Request(i) => values.values[*i].text,
                },
            );
        }
        out.extend_from_slice(&layout.pieces[layout.pieces.len() - 1]);
        Ok(Some((name, out)))
    }
}

/// The position of item `index` of the array at `pos`, if it is an array that long.
fn nth_item(doc: &[u8], pos: usize, index: usize) -> Result<Option<usize>> {
    let Some((n, mut at)) = msgpack::array_header(doc, pos)? else {
        return Ok(None);
    };
    if index as u64 >= n {
        return Ok(None);
    }
    for _ in 0..index {
        at = msgpack::skip(doc, at)?;
    }
    Ok(Some(at))
}

/// One document of [`Stamper::stamp_run`]: its store key and stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    /// `key_prefix` followed by the request's name.
    pub key: Vec<u8>,
    pub doc: Vec<u8>,
}

impl Stamper {
    /// [`Stamper::stamp`] of `reqs` in order, each with a fresh uid from
    /// `uids` and creationTimestamp `timestamp`, up to (not including) the
    /// first request that is not stamped: `None`, an unknown variant, a name
    /// the rule does not accept, or malformed msgpack (the caller's slow path
    /// judges that one, errors included). Returns the stamped documents, one
    /// per request from the first; an error only if `uids` cannot read the
    /// OS's random source. Cost per request: that of [`Stamper::stamp`] and
    /// one key (prefix + name) built.
    pub fn stamp_run<'r>(
        &self,
        reqs: impl IntoIterator<Item = Option<&'r [u8]>>,
        key_prefix: &[u8],
        timestamp: &[u8],
        uids: &mut Uids,
    ) -> std::io::Result<Vec<Stamped>> {
        let mut out = Vec::new();
        for req in reqs {
            let Some(req) = req else { break };
            let uid = uids.next_uid()?;
            let Ok(Some((name, doc))) = self.stamp(req, &uid, timestamp) else {
                break;
            };
            let mut key = Vec::with_capacity(key_prefix.len() + name.len());
            key.extend_from_slice(key_prefix);
            key.extend_from_slice(name.as_bytes());
            out.push(Stamped { key, doc });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(out: &mut Vec<u8>, v: &str) {
        write_str(out, v.as_bytes());
    }

    /// {"apiVersion": "v1", "metadata": {"name": N, "labels": {L: "v"}}, "spec": {"x": 1}}:
    /// requests with another label key `L` are another variant.
    fn request(name: &str, label: &str) -> Vec<u8> {
        let mut d = vec![0x83];
        s(&mut d, "apiVersion");
        s(&mut d, "v1");
        s(&mut d, "metadata");
        d.push(0x82);
        s(&mut d, "name");
        s(&mut d, name);
        s(&mut d, "labels");
        d.push(0x81);
        s(&mut d, label);
        s(&mut d, "v");
        s(&mut d, "spec");
        d.extend_from_slice(b"\x81\xa1x\x01");
        d
    }

    /// What the slow path would store for `request(name, label)`.
    fn stored(name: &str, label: &str, uid: &str, ts: &str) -> Vec<u8> {
        let mut d = vec![0x84];
        s(&mut d, "apiVersion");
        s(&mut d, "v1");
        s(&mut d, "metadata");
        d.push(0x85);
        s(&mut d, "name");
        s(&mut d, name);
        s(&mut d, "labels");
        d.push(0x81);
        s(&mut d, label);
        s(&mut d, "v");
        s(&mut d, "uid");
        s(&mut d, uid);
        s(&mut d, "creationTimestamp");
        s(&mut d, ts);
        s(&mut d, "generation");
        d.push(0x01);
        s(&mut d, "spec");
        d.extend_from_slice(b"\x81\xa1x\x01");
        s(&mut d, "status");
        d.push(0x80);
        d
    }

    const TS: &str = "2026-11-26T00:00:00Z";

    /// The text of `metadata.uid` in a document.
    fn uid_of(doc: &[u8]) -> Vec<u8> {
        let meta = only_entry(doc, 0, b"metadata").unwrap().unwrap();
        let e = only_entry(doc, meta.value, b"uid").unwrap().unwrap();
        str_at(doc, e.value).unwrap().unwrap().0.to_vec()
    }

    #[test]
    fn stamps_the_same_bytes_as_the_slow_path() {
        let mut st = Stamper::new(NameRule::Dns1123Subdomain, 16);
        assert!(st
            .learn(
                &request("p-1", "x"),
                &stored("p-1", "x", "u1", TS),
                b"u1",
                TS.as_bytes()
            )
            .unwrap());
        let long = "n".repeat(40); // another str header than the learnt name's
        for name in ["p-2", "a", long.as_str()] {
            let ts2 = "2026-11-26T00:00:01Z";
            let req = request(name, "x");
            let (got_name, got) = st.stamp(&req, b"uid-22", ts2.as_bytes()).unwrap().unwrap();
            assert_eq!(got_name, name);
            assert_eq!(got, stored(name, "x", "uid-22", ts2));
        }
    }

    #[test]
    fn other_variants_and_bad_names_miss() {
        let mut st = Stamper::new(NameRule::Dns1123Subdomain, 16);
        assert!(st
            .learn(
                &request("p-1", "x"),
                &stored("p-1", "x", "u1", TS),
                b"u1",
                TS.as_bytes()
            )
            .unwrap());
        assert!(st
            .stamp(&request("p-2", "y"), b"u", b"t")
            .unwrap()
            .is_none());
        for bad in ["P-2", "-a", "a-", "a..b", "a_b", "", &"a".repeat(254)] {
            assert!(
                st.stamp(&request(bad, "x"), b"u", b"t").unwrap().is_none(),
                "{bad:?}"
            );
        }
        // a second variant is learnt on its own
        assert!(st
            .learn(
                &request("q", "y"),
                &stored("q", "y", "u2", TS),
                b"u2",
                TS.as_bytes()
            )
            .unwrap());
        assert_eq!(st.len(), 2);
        let (_, got) = st
            .stamp(&request("p-2", "y"), b"u3", TS.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(got, stored("p-2", "y", "u3", TS));
    }

    #[test]
    fn learn_refuses_what_it_cannot_cut() {
        let mut st = Stamper::new(NameRule::Dns1123Subdomain, 16);
        // stored uid is not the given one
        assert!(!st
            .learn(
                &request("p", "x"),
                &stored("p", "x", "u1", TS),
                b"u2",
                TS.as_bytes()
            )
            .unwrap());
        // stored name is not the request's (a generated name)
        assert!(!st
            .learn(
                &request("p", "x"),
                &stored("p-abcde", "x", "u1", TS),
                b"u1",
                TS.as_bytes()
            )
            .unwrap());
        // not maps
        assert!(!st
            .learn(b"\xc0", &stored("p", "x", "u1", TS), b"u1", TS.as_bytes())
            .unwrap());
        assert!(st.is_empty());
        // full
        let mut small = Stamper::new(NameRule::Dns1123Subdomain, 0);
        assert!(!small
            .learn(
                &request("p", "x"),
                &stored("p", "x", "u1", TS),
                b"u1",
                TS.as_bytes()
            )
            .unwrap());
    }

    #[test]
    fn duplicate_metadata_or_name_keys_miss() {
        let st = Stamper::new(NameRule::Dns1123Subdomain, 16);
        let mut dup = vec![0x82];
        s(&mut dup, "metadata");
        dup.extend_from_slice(b"\x82\xa4name\xa1p\xa4name\xa1q");
        s(&mut dup, "spec");
        dup.push(0x80);
        assert!(request_values(&dup).unwrap().is_none());
        assert!(st.stamp(&dup, b"u", b"t").unwrap().is_none());
    }

    #[test]
    fn malformed_input_is_an_error_never_a_panic() {
        let mut st = Stamper::new(NameRule::Dns1123Subdomain, 16);
        let req = request("p-1", "x");
        let sto = stored("p-1", "x", "u1", TS);
        assert!(st.learn(&req, &sto, b"u1", TS.as_bytes()).unwrap());
        for cut in 0..req.len() {
            assert!(
                st.stamp(&req[..cut], b"u", b"t").is_err() || cut == 0,
                "cut {cut}"
            );
            let _ = st.learn(&req[..cut], &sto, b"u1", TS.as_bytes());
            let _ = st.learn(&req, &sto[..cut.min(sto.len())], b"u1", TS.as_bytes());
        }
        assert!(st.stamp(&[], b"u", b"t").is_err());
        // not a map: a miss (the slow path reports it)
        assert!(!matches!(st.stamp(&[0xc1], b"u", b"t"), Ok(Some(_))));
        // trailing bytes after a document are a miss, not a document
        let mut trailing = req.clone();
        trailing.push(0xc0);
        assert!(st.stamp(&trailing, b"u", b"t").unwrap().is_none());
    }

    #[test]
    fn dns1123_subdomain() {
        for ok in ["a", "a-b", "a.b", "0", "a1-2.b-3", &"a".repeat(253)] {
            assert!(is_dns1123_subdomain(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "A",
            "a.",
            ".a",
            "a..b",
            "-a",
            "a-",
            "a_b",
            "a b",
            "é",
            &"a".repeat(254),
        ] {
            assert!(!is_dns1123_subdomain(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn stamp_run_stops_at_the_first_miss() {
        let mut st = Stamper::new(NameRule::Dns1123Subdomain, 16);
        assert!(st
            .learn(
                &request("p-1", "x"),
                &stored("p-1", "x", "u1", TS),
                b"u1",
                TS.as_bytes()
            )
            .unwrap());
        let reqs = [
            request("p-2", "x"),
            request("p-3", "x"),
            request("p-4", "y"), // unknown variant: the run stops here
            request("p-5", "x"),
        ];
        let mut uids = Uids::new();
        let got = st
            .stamp_run(
                reqs.iter().map(|r| Some(r.as_slice())),
                b"/pods/ns/",
                TS.as_bytes(),
                &mut uids,
            )
            .unwrap();
        assert_eq!(got.len(), 2);
        for (g, name) in got.iter().zip(["p-2", "p-3"]) {
            assert_eq!(g.key, format!("/pods/ns/{name}").into_bytes());
            // The uid is a fresh random one: read it back from the document.
            let uid = uid_of(&g.doc);
            let uid = std::str::from_utf8(&uid).unwrap();
            assert_eq!(uid.len(), uid::UID_LEN);
            assert_eq!(g.doc, stored(name, "x", uid, TS));
        }
        assert_ne!(uid_of(&got[0].doc), uid_of(&got[1].doc), "a fresh uid each");
        // None, malformed msgpack and a bad name stop a run too.
        let bad = [None, Some(&b"\x81"[..]), Some(&request("P", "x")[..])];
        for b in bad {
            let run = st.stamp_run([b], b"/", TS.as_bytes(), &mut uids).unwrap();
            assert!(run.is_empty());
        }
    }

    /// `{"metadata": {"labels": {k: v...}, "name": N, "ownerReferences": [{"kind": "RS",
    /// "name": O}...]}, "spec": {}}`, the stored form with uid and creationTimestamp after
    /// the owners when `stored` is `Some((uid, ts))`.
    fn doc(
        name: &str,
        labels: &[(&str, &str)],
        owners: &[&str],
        stored: Option<(&str, &str)>,
    ) -> Vec<u8> {
        let mut d = vec![0x82];
        s(&mut d, "metadata");
        d.push(0x80 | if stored.is_some() { 5 } else { 3 });
        s(&mut d, "labels");
        d.push(0x80 | labels.len() as u8);
        for (k, v) in labels {
            s(&mut d, k);
            s(&mut d, v);
        }
        s(&mut d, "name");
        s(&mut d, name);
        s(&mut d, "ownerReferences");
        d.push(0x90 | owners.len() as u8);
        for o in owners {
            d.push(0x82);
            s(&mut d, "kind");
            s(&mut d, "RS");
            s(&mut d, "name");
            s(&mut d, o);
        }
        if let Some((uid, ts)) = stored {
            s(&mut d, "uid");
            s(&mut d, uid);
            s(&mut d, "creationTimestamp");
            s(&mut d, ts);
        }
        s(&mut d, "spec");
        d.push(0x80);
        d
    }

    #[test]
    fn label_values_and_owner_names_are_per_object() {
        let mut st = Stamper::new(NameRule::Dns1123Subdomain, 16);
        let labels = [("app", "app-1"), ("tier", "web")];
        assert!(st
            .learn(
                &doc("p-1", &labels, &["rs-1"], None),
                &doc("p-1", &labels, &["rs-1"], Some(("u1", TS))),
                b"u1",
                TS.as_bytes()
            )
            .unwrap());
        let long = "v".repeat(63);
        for (app, owner) in [("app-2", "rs-2"), ("", "x"), (long.as_str(), "Any Name/é")] {
            let labels = [("app", app), ("tier", "web")];
            let req = doc("p-2", &labels, &[owner], None);
            let (name, got) = st.stamp(&req, b"u2", TS.as_bytes()).unwrap().unwrap();
            assert_eq!(name, "p-2");
            assert_eq!(got, doc("p-2", &labels, &[owner], Some(("u2", TS))));
        }
        // Invalid values (for the slow path to report), other keys or owner counts: misses.
        let bad_value = "v".repeat(64);
        let misses = [
            doc("p-2", &[("app", "-bad"), ("tier", "web")], &["rs-1"], None),
            doc(
                "p-2",
                &[("app", &bad_value), ("tier", "web")],
                &["rs-1"],
                None,
            ),
            doc("p-2", &[("app", "a b"), ("tier", "web")], &["rs-1"], None),
            doc("p-2", &[("app", "a"), ("tier", "web")], &[""], None),
            doc("p-2", &[("app", "a"), ("other", "web")], &["rs-1"], None),
            doc("p-2", &[("app", "a")], &["rs-1"], None),
            doc(
                "p-2",
                &[("app", "a"), ("tier", "web")],
                &["rs-1", "rs-2"],
                None,
            ),
            doc("p-2", &[("app", "a"), ("app", "web")], &["rs-1"], None),
        ];
        for m in misses {
            assert!(st.stamp(&m, b"u", b"t").unwrap().is_none());
        }
    }

    #[test]
    fn duplicate_label_keys_are_not_per_object() {
        let mut st = Stamper::new(NameRule::Dns1123Subdomain, 16);
        let dup = [("app", "a"), ("app", "b")];
        // The decoded request keeps the last value: the labels stay part of the variant.
        assert!(st
            .learn(
                &doc("p-1", &dup, &[], None),
                &doc("p-1", &[("app", "b")], &[], Some(("u1", TS))),
                b"u1",
                TS.as_bytes()
            )
            .unwrap());
        let req = doc("p-2", &dup, &[], None);
        let (_, got) = st.stamp(&req, b"u2", TS.as_bytes()).unwrap().unwrap();
        assert_eq!(got, doc("p-2", &[("app", "b")], &[], Some(("u2", TS))));
        let other = doc("p-2", &[("app", "a"), ("app", "c")], &[], None);
        assert!(st.stamp(&other, b"u2", TS.as_bytes()).unwrap().is_none());
    }

    #[test]
    fn a_request_value_is_written_with_the_shortest_header() {
        let mut st = Stamper::new(NameRule::Dns1123Subdomain, 16);
        let labels = [("app", "a")];
        assert!(st
            .learn(
                &doc("p-1", &labels, &[], None),
                &doc("p-1", &labels, &[], Some(("u1", TS))),
                b"u1",
                TS.as_bytes()
            )
            .unwrap());
        // The same request with the label value as str8 (a valid, longer header).
        let mut req = doc("p-2", &[("app", "b")], &[], None);
        let at = req.windows(4).position(|w| w == b"\xa3app").unwrap() + 4;
        assert_eq!(&req[at..at + 2], b"\xa1b");
        req.splice(at..at + 2, [0xd9, 0x01, b'b']);
        let (_, got) = st.stamp(&req, b"u2", TS.as_bytes()).unwrap().unwrap();
        assert_eq!(got, doc("p-2", &[("app", "b")], &[], Some(("u2", TS))));
    }

    #[test]
    fn label_value_rule() {
        for ok in ["", "a", "A-b_c.D", "0", &"x".repeat(63)] {
            assert!(is_label_value(ok.as_bytes()), "{ok}");
        }
        for bad in ["-a", "a-", "_", ".a", "a b", "é", &"x".repeat(64)] {
            assert!(!is_label_value(bad.as_bytes()), "{bad}");
        }
    }
}
