//! The key index: for each key, its retained versions in revision order.
//!
//! etcd keeps `generations` per key; here one flat list does the same job: a
//! tombstone entry closes a generation and the next put opens a new one
//! (version 1, create revision = that put). Values live in the entries, so a
//! range reads one structure and `prev_kv` is the neighbouring entry.

use crate::types::{Bytes, KeyValue};

/// One retained version of a key: a put (value present) or a tombstone.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Main revision of the change; unique per key (a key changes at most once per txn).
    pub main: i64,
    /// Create revision of the generation; 0 for a tombstone.
    pub create: i64,
    pub lease: i64,
    /// Version within the generation (1 on create); 0 for a tombstone.
    pub version: u32,
    /// Sub revision inside its txn; orders events of one revision.
    pub sub: u32,
    /// `None` marks a tombstone.
    pub value: Option<Bytes>,
}

/// Approximate bytes one entry costs, for the quota and status.
pub(crate) const ENTRY_OVERHEAD: i64 = 48;
/// Approximate bytes a key's index slot costs, beyond the key bytes.
pub(crate) const KEY_OVERHEAD: i64 = 64;

impl Entry {
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }

    pub fn size(&self) -> i64 {
        ENTRY_OVERHEAD + self.value.as_ref().map_or(0, |v| v.len() as i64)
    }

    /// The KeyValue this entry represents (a tombstone gives the etcd delete shape).
    pub fn to_kv(&self, key: &Bytes) -> KeyValue {
        KeyValue {
            key: key.clone(),
            value: self.value.clone().unwrap_or_else(empty_bytes),
            create_revision: self.create,
            mod_revision: self.main,
            version: i64::from(self.version),
            lease: self.lease,
        }
    }
}

/// The shared empty byte string.
pub fn empty_bytes() -> Bytes {
    static EMPTY: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Bytes::from(&[][..])).clone()
}

/// Versions of one key, ascending by `main`. Most keys have one retained
/// version, so it is stored inline (no allocation) until there are two.
pub(crate) type KeyHistory = smallvec::SmallVec<[Entry; 1]>;

/// The entry visible at `rev` (the last one with `main <= rev`) if it is a put.
pub(crate) fn live_at(hist: &KeyHistory, rev: i64) -> Option<&Entry> {
    let last = hist.last()?;
    let e = if last.main <= rev {
        last
    } else {
        let i = hist.partition_point(|e| e.main <= rev);
        if i == 0 {
            return None;
        }
        &hist[i - 1]
    };
    (!e.is_tombstone()).then_some(e)
}

/// The live entry at the newest revision, if any.
pub(crate) fn live(hist: &KeyHistory) -> Option<&Entry> {
    hist.last().filter(|e| !e.is_tombstone())
}

/// Position of the entry written at exactly `main`.
pub(crate) fn find(hist: &KeyHistory, main: i64) -> Option<usize> {
    hist.binary_search_by_key(&main, |e| e.main).ok()
}

/// Drops history at or below `rev` except each key's latest version there
/// (dropped too when it is a tombstone). Returns the bytes freed.
pub(crate) fn compact(hist: &mut KeyHistory, rev: i64) -> i64 {
    let i = hist.partition_point(|e| e.main <= rev);
    if i == 0 {
        return 0;
    }
    let drop_to = if hist[i - 1].is_tombstone() { i } else { i - 1 };
    if drop_to == 0 {
        return 0;
    }
    let freed = hist[..drop_to].iter().map(Entry::size).sum();
    hist.drain(..drop_to);
    if hist.spilled() && hist.capacity() > 2 * hist.len() {
        hist.shrink_to_fit();
    }
    freed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(main: i64, create: i64, version: u32) -> Entry {
        Entry {
            main,
            create,
            lease: 0,
            version,
            sub: 0,
            value: Some(Bytes::from(&b"v"[..])),
        }
    }
    fn tomb(main: i64) -> Entry {
        Entry {
            main,
            create: 0,
            lease: 0,
            version: 0,
            sub: 0,
            value: None,
        }
    }

    #[test]
    fn live_at_follows_generations() {
        // put(2) put(3) del(4) put(6)
        let h: KeyHistory = smallvec::smallvec![put(2, 2, 1), put(3, 2, 2), tomb(4), put(6, 6, 1)];
        assert!(live_at(&h, 1).is_none());
        assert_eq!(live_at(&h, 2).unwrap().version, 1);
        assert_eq!(live_at(&h, 3).unwrap().version, 2);
        assert!(live_at(&h, 4).is_none());
        assert!(live_at(&h, 5).is_none());
        assert_eq!(live_at(&h, 9).unwrap().create, 6);
    }

    #[test]
    fn compact_keeps_latest_and_drops_tombstones() {
        let mut h: KeyHistory =
            smallvec::smallvec![put(2, 2, 1), put(3, 2, 2), tomb(4), put(6, 6, 1)];
        compact(&mut h, 3);
        assert_eq!(h.iter().map(|e| e.main).collect::<Vec<_>>(), vec![3, 4, 6]);
        compact(&mut h, 5);
        assert_eq!(h.iter().map(|e| e.main).collect::<Vec<_>>(), vec![6]);
        let mut g: KeyHistory = smallvec::smallvec![put(2, 2, 1), tomb(4)];
        compact(&mut g, 4);
        assert!(g.is_empty());
    }
}
