//! Stored documents of a batch create stamped from learnt layouts.
//!
//! The apiserver creates the first object of each *variant* the slow way and
//! shows the [`Stamper`] the request and the stored document it made
//! ([`Stamper::learn`]). A variant is the request's bytes with
//! `metadata.name`'s value cut out: two requests of one variant differ in
//! their name only. For a later request of a known variant,
//! [`Stamper::stamp`] writes the stored document of the learnt one with the
//! new `metadata.name`, `metadata.uid` and `metadata.creationTimestamp` —
//! the only places the create path puts per-object values when the name is
//! valid (the caller's contract: its defaulting, admission and status do not
//! read the name, and it only learns from requests that succeeded). Anything
//! else (an unknown variant, a name the [`NameRule`] does not accept as
//! certainly valid, duplicate keys, malformed msgpack) is a miss: the caller
//! takes the slow path, which gives the exact outcome, errors included.

use std::collections::HashMap;

use crate::msgpack::{self, map_header, str_at, write_str, Entries, Result};

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

/// The range of the str value of `metadata.<field>` in `doc`, if `doc` is a
/// map holding exactly one `metadata` map with exactly one str `<field>`.
fn metadata_str(doc: &[u8], fields: &[&[u8]]) -> Result<Option<Vec<(usize, usize)>>> {
    let Some(meta) = only_entry(doc, 0, b"metadata")? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(fields.len());
    for field in fields {
        let Some(e) = only_entry(doc, meta.value, field)? else {
            return Ok(None);
        };
        let Some((s, end)) = str_at(doc, e.value)? else {
            return Ok(None);
        };
        out.push((end - s.len(), end));
    }
    Ok(Some(out))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Name,
    Uid,
    Timestamp,
}

/// A learnt stored document cut at its three per-object values.
#[derive(Debug, Clone)]
struct Layout {
    /// `pieces[0] slot[0] pieces[1] slot[1] pieces[2] slot[2] pieces[3]`.
    pieces: [Vec<u8>; 4],
    slots: [Slot; 3],
}

/// Learnt variants of one batch (their outcomes depend on the cluster state
/// the batch saw, so a `Stamper` lives for one batch).
#[derive(Debug)]
pub struct Stamper {
    rule: NameRule,
    max_variants: usize,
    variants: HashMap<Vec<u8>, Layout>,
}

/// A request's name: where its str value (header included) is and its text.
struct RequestName<'a> {
    start: usize,
    end: usize,
    text: &'a [u8],
}

fn request_name(req: &[u8]) -> Result<Option<RequestName<'_>>> {
    let Some(meta) = only_entry(req, 0, b"metadata")? else {
        return Ok(None);
    };
    let Some(e) = only_entry(req, meta.value, b"name")? else {
        return Ok(None);
    };
    let Some((text, end)) = str_at(req, e.value)? else {
        return Ok(None);
    };
    Ok(Some(RequestName {
        start: e.value,
        end,
        text,
    }))
}

fn variant_key(req: &[u8], name: &RequestName<'_>) -> Vec<u8> {
    let mut key = Vec::with_capacity(req.len() + 8);
    key.extend_from_slice(&(name.start as u64).to_le_bytes());
    key.extend_from_slice(&req[..name.start]);
    key.extend_from_slice(&req[name.end..]);
    key
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
    /// `metadata` map, the request has no str name, the stored document's
    /// name/uid/creationTimestamp are not those strs (given once each), the
    /// variant is known, or the stamper is full. Malformed msgpack is an error.
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
        let Some(name) = request_name(req)? else {
            return Ok(false);
        };
        let fields: [&[u8]; 3] = [b"name", b"uid", b"creationTimestamp"];
        let Some(ranges) = metadata_str(stored, &fields)? else {
            return Ok(false);
        };
        let expected = [name.text, uid, timestamp];
        let mut cuts: Vec<(usize, usize, Slot)> = Vec::with_capacity(3);
        for ((s, e), (want, slot)) in
            ranges.iter().zip(
                expected
                    .iter()
                    .zip([Slot::Name, Slot::Uid, Slot::Timestamp]),
            )
        {
            if &stored[*s..*e] != *want {
                return Ok(false);
            }
            // Cut the whole value, header included: a new value may need another header.
            let header = if want.len() < 32 {
                1
            } else if want.len() < 0x100 {
                2
            } else if want.len() < 0x1_0000 {
                3
            } else {
                5
            };
            cuts.push((s - header, *e, slot));
        }
        cuts.sort_unstable();
        let mut pieces: [Vec<u8>; 4] = Default::default();
        let mut at = 0;
        for (i, (s, e, _)) in cuts.iter().enumerate() {
            pieces[i] = stored[at..*s].to_vec();
            at = *e;
        }
        pieces[3] = stored[at..].to_vec();
        let slots = [cuts[0].2, cuts[1].2, cuts[2].2];
        let key = variant_key(req, &name);
        if self.variants.contains_key(&key) {
            return Ok(false);
        }
        self.variants.insert(key, Layout { pieces, slots });
        Ok(true)
    }

    /// The stored document for `req` with `uid` and creationTimestamp
    /// `timestamp`, and the request's name (UTF-8, accepted by the rule), if
    /// its variant is known; `None` otherwise (take the slow path). Cost: one
    /// pass over the request's top-level and metadata maps, one hash of the
    /// request, one copy of the layout. Malformed msgpack is an error.
    pub fn stamp<'r>(
        &self,
        req: &'r [u8],
        uid: &[u8],
        timestamp: &[u8],
    ) -> Result<Option<(&'r str, Vec<u8>)>> {
        let Some(name) = request_name(req)? else {
            return Ok(None);
        };
        if !self.rule.accepts(name.text) {
            return Ok(None);
        }
        let Ok(text) = std::str::from_utf8(name.text) else {
            return Ok(None);
        };
        let Some(layout) = self.variants.get(&variant_key(req, &name)) else {
            return Ok(None);
        };
        let size: usize = layout.pieces.iter().map(Vec::len).sum::<usize>()
            + text.len()
            + uid.len()
            + timestamp.len()
            + 15;
        let mut out = Vec::with_capacity(size);
        for (piece, slot) in layout.pieces.iter().zip(layout.slots.iter()) {
            out.extend_from_slice(piece);
            write_str(
                &mut out,
                match slot {
                    Slot::Name => name.text,
                    Slot::Uid => uid,
                    Slot::Timestamp => timestamp,
                },
            );
        }
        out.extend_from_slice(&layout.pieces[3]);
        Ok(Some((text, out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(out: &mut Vec<u8>, v: &str) {
        write_str(out, v.as_bytes());
    }

    /// {"apiVersion": "v1", "metadata": {"name": N, "labels": {"a": L}}, "spec": {"x": 1}}
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
        s(&mut d, "a");
        s(&mut d, label);
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
        s(&mut d, "a");
        s(&mut d, label);
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
        assert!(request_name(&dup).unwrap().is_none());
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
}
