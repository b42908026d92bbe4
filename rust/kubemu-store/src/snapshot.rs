//! Snapshot encoding: the whole MVCC state (retained history, leases, alarms)
//! at one revision.
//!
//! Body: `MAGIC | current | compact | leases | alarms | keys... | 0`, each key
//! `1 | key | n | entries`. Two containers wrap a body:
//! - the data dir's own snapshot files end in a crc32 of the body;
//! - backups (`snapshot_save`) are zero-padded so that the file length is
//!   32 mod 512 and end in the sha256 of everything before it, the shape
//!   `etcdctl snapshot save` checks for.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::codec::{Dec, Enc};
use crate::error::{Result, StoreError};
use crate::index::{Entry, KeyHistory};
use crate::state::{Limits, State};
use crate::types::{Alarm, Bytes};

const MAGIC: &[u8; 8] = b"KMUSNAP1";

/// Starts a body with the state's scalar parts.
pub(crate) fn encode_header(
    buf: &mut Vec<u8>,
    current: i64,
    compact: i64,
    leases: &[(i64, i64)],
    alarms: &[Alarm],
) {
    buf.extend_from_slice(MAGIC);
    let mut e = Enc(buf);
    e.i64(current);
    e.i64(compact);
    e.u32(leases.len() as u32);
    for (id, ttl) in leases {
        e.i64(*id);
        e.i64(*ttl);
    }
    e.u32(alarms.len() as u32);
    for a in alarms {
        e.u8(match a {
            Alarm::NoSpace => 1,
        });
    }
}

/// Appends one key's entries at or below `rev` (nothing if none).
pub(crate) fn encode_key(buf: &mut Vec<u8>, key: &[u8], hist: &KeyHistory, rev: i64) {
    let n = hist.partition_point(|e| e.main <= rev);
    if n == 0 {
        return;
    }
    let mut e = Enc(buf);
    e.u8(1);
    e.bytes(key);
    e.u32(n as u32);
    for x in &hist[..n] {
        e.i64(x.main);
        e.i64(x.create);
        e.i64(x.lease);
        e.u32(x.version);
        e.u32(x.sub);
        match &x.value {
            Some(v) => {
                e.u8(1);
                e.bytes(v);
            }
            None => e.u8(0),
        }
    }
}

/// Ends a body.
pub(crate) fn encode_end(buf: &mut Vec<u8>) {
    buf.push(0);
}

/// Decodes a body into a state with the given limits. Leases get their
/// deadlines reset to `now_ms + ttl` (as after an etcd restart).
pub(crate) fn decode(body: &[u8], limits: Limits, now_ms: i64) -> Result<State> {
    if body.len() < MAGIC.len() || &body[..MAGIC.len()] != MAGIC {
        return Err(StoreError::Corruption(
            "not a kubemu snapshot (bad magic)".into(),
        ));
    }
    let mut d = Dec::new(&body[MAGIC.len()..]);
    let mut st = State::new(limits);
    st.current = d.i64()?;
    st.compact = d.i64()?;
    for _ in 0..d.u32()? {
        let (id, ttl) = (d.i64()?, d.i64()?);
        st.lessor.grant(id, ttl, now_ms)?;
    }
    for _ in 0..d.u32()? {
        if d.u8()? == 1 {
            st.alarms.insert(Alarm::NoSpace);
        }
    }
    let mut index: BTreeMap<Bytes, KeyHistory> = BTreeMap::new();
    while d.u8()? == 1 {
        let key: Bytes = Bytes::from(d.bytes()?);
        let n = d.u32()? as usize;
        let mut hist = KeyHistory::with_capacity(n);
        for _ in 0..n {
            let main = d.i64()?;
            let create = d.i64()?;
            let lease = d.i64()?;
            let version = d.u32()?;
            let sub = d.u32()?;
            let value = if d.u8()? == 1 {
                Some(Bytes::from(d.bytes()?))
            } else {
                None
            };
            hist.push(Entry {
                main,
                create,
                lease,
                version,
                sub,
                value,
            });
        }
        if let Some(last) = hist.last() {
            if last.lease != 0 && !last.is_tombstone() {
                st.lessor.attach(last.lease, &key);
            }
        }
        index.insert(key, hist);
    }
    st.index = index;
    // A snapshot taken while a compaction was under way may hold some history
    // below the compacted revision; finish that compaction.
    if st.compact > 0 {
        let mut from = None;
        loop {
            from = st.compact_batch(st.compact, from, usize::MAX);
            if from.is_none() {
                break;
            }
        }
    }
    st.rebuild_log();
    st.recount();
    Ok(st)
}

/// Writes a data-dir snapshot atomically (tmp file, fsync, rename, fsync dir).
pub(crate) fn write_data_file(path: &Path, mut body: Vec<u8>) -> Result<()> {
    let crc = crc32fast::hash(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    write_atomic(path, &body)
}

/// Reads a data-dir snapshot and checks its crc.
pub(crate) fn read_data_file(path: &Path) -> Result<Vec<u8>> {
    let mut data = std::fs::read(path)?;
    if data.len() < 4 {
        return Err(StoreError::Corruption(format!(
            "{}: truncated snapshot",
            path.display()
        )));
    }
    let crc = u32::from_le_bytes(data[data.len() - 4..].try_into().expect("4"));
    data.truncate(data.len() - 4);
    if crc32fast::hash(&data) != crc {
        return Err(StoreError::Corruption(format!(
            "{}: snapshot checksum mismatch",
            path.display()
        )));
    }
    Ok(data)
}

/// Wraps a body as a backup file: zero padding to 32 mod 512, then sha256.
pub(crate) fn seal_backup(mut body: Vec<u8>) -> Vec<u8> {
    let pad = (512 - (body.len() % 512)) % 512;
    body.resize(body.len() + pad, 0);
    let digest = Sha256::digest(&body);
    body.extend_from_slice(&digest);
    body
}

/// Checks a backup file's sha256 and returns its body (with padding).
pub(crate) fn open_backup(data: &[u8]) -> Result<&[u8]> {
    if data.len() < 32 || data.len() % 512 != 32 {
        return Err(StoreError::Corruption(
            "snapshot file has no sha256 trailer".into(),
        ));
    }
    let (body, digest) = data.split_at(data.len() - 32);
    if Sha256::digest(body)[..] != digest[..] {
        return Err(StoreError::Corruption("snapshot sha256 mismatch".into()));
    }
    Ok(body)
}

/// Writes `data` to `path` through a tmp file and renames it into place.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    crate::wal::write_paced(&mut f, data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        crate::wal::sync_dir(dir)?;
    }
    Ok(())
}
