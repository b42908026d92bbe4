//! Interned node labels: every label key and, per key, every value any node
//! reported get a dense `u32` id, so topology plugins look a node's domain up
//! by id (a scan of a few integers) and count per domain in arrays instead of
//! comparing and hashing strings for every node of every cycle.
//!
//! The [`Cache`](crate::Cache) interns a node's labels when the node is added
//! or updated ([`NodeInfo::label_ids`](crate::NodeInfo::label_ids)). Ids are
//! never reused or removed (a key or value whose nodes are gone keeps its
//! id), so an id seen once stays valid; the number of ids grows with the
//! distinct label pairs ever reported.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::model::Labels;

/// Id of a label key.
pub type LabelKeyId = u32;
/// Id of a label value, dense per key (`0..num_values(key)`).
pub type LabelValueId = u32;

/// A fast non-cryptographic hasher (the multiply-rotate scheme of rustc's
/// FxHash) for maps keyed by ids or short strings that need no protection
/// against chosen keys.
#[derive(Clone, Copy, Debug, Default)]
pub struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `BuildHasher` of [`FxHasher`].
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;
/// A `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, FxBuildHasher>;

#[derive(Clone, Debug, Default)]
struct KeyValues {
    ids: FxHashMap<Box<str>, LabelValueId>,
    names: Vec<Box<str>>,
}

/// The interned label keys and values (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct LabelInterner {
    keys: FxHashMap<Box<str>, LabelKeyId>,
    values: Vec<KeyValues>,
}

impl LabelInterner {
    /// The id of `key`, if some node ever reported it.
    #[inline]
    pub fn key(&self, key: &str) -> Option<LabelKeyId> {
        self.keys.get(key).copied()
    }

    /// The id of `value` under `key`, if some node ever reported the pair.
    #[inline]
    pub fn value(&self, key: LabelKeyId, value: &str) -> Option<LabelValueId> {
        self.values.get(key as usize)?.ids.get(value).copied()
    }

    /// The value of id `value` under `key`. Panics on an id this interner
    /// did not hand out.
    pub fn value_name(&self, key: LabelKeyId, value: LabelValueId) -> &str {
        &self.values[key as usize].names[value as usize]
    }

    /// The number of value ids of `key` (0 for an unknown key): every value
    /// id of the key is below it.
    pub fn num_values(&self, key: LabelKeyId) -> usize {
        self.values.get(key as usize).map_or(0, |v| v.names.len())
    }

    /// The ids of `labels` when every pair is interned already (no change
    /// needed), else None.
    pub fn ids_of(&self, labels: &Labels) -> Option<NodeLabelIds> {
        let mut out = Vec::with_capacity(labels.len());
        for (k, v) in labels.iter() {
            let k = self.key(k)?;
            out.push((k, self.value(k, v)?));
        }
        out.sort_unstable();
        Some(NodeLabelIds(out))
    }

    /// Interns every pair of `labels`; returns their ids.
    pub fn intern(&mut self, labels: &Labels) -> NodeLabelIds {
        let mut out = Vec::with_capacity(labels.len());
        for (k, v) in labels.iter() {
            let kid = match self.keys.get(k) {
                Some(&id) => id,
                None => {
                    let id = self.values.len() as LabelKeyId;
                    self.keys.insert(k.into(), id);
                    self.values.push(KeyValues::default());
                    id
                }
            };
            let kv = &mut self.values[kid as usize];
            let vid = match kv.ids.get(v) {
                Some(&id) => id,
                None => {
                    let id = kv.names.len() as LabelValueId;
                    kv.ids.insert(v.into(), id);
                    kv.names.push(v.into());
                    id
                }
            };
            out.push((kid, vid));
        }
        out.sort_unstable();
        NodeLabelIds(out)
    }
}

/// A node's labels as `(key id, value id)` pairs, sorted by key id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeLabelIds(Vec<(LabelKeyId, LabelValueId)>);

impl NodeLabelIds {
    /// The value id of `key` on the node, if it has the label. O(labels),
    /// integer compares only.
    #[inline]
    pub fn get(&self, key: LabelKeyId) -> Option<LabelValueId> {
        self.0.iter().find(|p| p.0 == key).map(|p| p.1)
    }

    /// The pairs, by key id.
    pub fn iter(&self) -> impl Iterator<Item = (LabelKeyId, LabelValueId)> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable_and_per_key() {
        let mut i = LabelInterner::default();
        let a = i.intern(&Labels::from_pairs([("zone", "a"), ("host", "n1")]));
        let b = i.intern(&Labels::from_pairs([("zone", "b"), ("host", "n2")]));
        let zone = i.key("zone").unwrap();
        let host = i.key("host").unwrap();
        assert_ne!(zone, host);
        assert_eq!(a.get(zone), Some(0));
        assert_eq!(b.get(zone), Some(1));
        assert_eq!(b.get(host), Some(1));
        assert_eq!(i.value_name(zone, 1), "b");
        assert_eq!(i.num_values(zone), 2);
        assert_eq!(i.value(zone, "c"), None);
        assert_eq!(i.ids_of(&Labels::from_pairs([("zone", "a")])), {
            let mut j = i.clone();
            Some(j.intern(&Labels::from_pairs([("zone", "a")])))
        });
        assert_eq!(i.ids_of(&Labels::from_pairs([("zone", "c")])), None);
        assert_eq!(a.get(99), None);
    }
}
