//! The write-ahead log: checksummed records in numbered segment files.
//!
//! Record layout: `len: u32 | crc32(len): u32 | crc32(body): u32 | body`,
//! body = `kind: u8 | payload`. The length has its own checksum, so a damaged
//! length is recognised as damage instead of being followed off into the file.
//! Segments are `wal/<seq:016x>.wal`; a snapshot `snap/<seq>.snap` holds the
//! state before segment `seq`, so recovery loads the newest snapshot and
//! replays the segments from its sequence on.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::codec::{Dec, Enc};
use crate::error::{Result, StoreError};
use crate::types::{Event, EventType};

/// Record kinds.
pub(crate) const REC_CHANGES: u8 = 1;
pub(crate) const REC_LEASE_GRANT: u8 = 2;
pub(crate) const REC_LEASE_REVOKE: u8 = 3;
pub(crate) const REC_COMPACT: u8 = 4;
pub(crate) const REC_ALARM: u8 = 5;
pub(crate) const REC_PUT_BATCH: u8 = 6;

/// Bytes before a record's body.
const HEADER: usize = 12;

/// A decoded WAL record.
#[derive(Debug)]
pub(crate) enum Record<'a> {
    /// One revision's changes: (is_put, key, value, lease) in sub order.
    Changes {
        main: i64,
        changes: Vec<(bool, &'a [u8], &'a [u8], i64)>,
    },
    /// A `put_many`: one put per revision from `first` on, all with `lease`;
    /// one record so that a crash keeps all of the batch or none.
    PutBatch {
        first: i64,
        lease: i64,
        pairs: Vec<(&'a [u8], &'a [u8])>,
    },
    LeaseGrant {
        id: i64,
        ttl: i64,
    },
    LeaseRevoke {
        id: i64,
    },
    Compact {
        rev: i64,
    },
    Alarm {
        active: bool,
    },
}

fn frame(buf: &mut Vec<u8>, body: impl FnOnce(&mut Enc<'_>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; HEADER]);
    body(&mut Enc(buf));
    let len = u32::try_from(buf.len() - start - HEADER)
        .expect("record under 4 GiB")
        .to_le_bytes();
    let crc = crc32fast::hash(&buf[start + HEADER..]);
    buf[start..start + 4].copy_from_slice(&len);
    buf[start + 4..start + 8].copy_from_slice(&crc32fast::hash(&len).to_le_bytes());
    buf[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
}

/// Appends one record for a whole `put_many` batch.
pub(crate) fn encode_put_batch(
    buf: &mut Vec<u8>,
    first: i64,
    lease: i64,
    pairs: &[(crate::Bytes, crate::Bytes)],
) {
    frame(buf, |e| {
        e.u8(REC_PUT_BATCH);
        e.i64(first);
        e.i64(lease);
        e.u32(pairs.len() as u32);
        for (k, v) in pairs {
            e.bytes(k);
            e.bytes(v);
        }
    });
}

/// Appends a changes record for the events of revision `main`.
pub(crate) fn encode_changes(buf: &mut Vec<u8>, main: i64, events: &[Event]) {
    frame(buf, |e| {
        e.u8(REC_CHANGES);
        e.i64(main);
        e.u32(events.len() as u32);
        for ev in events {
            match ev.kind {
                EventType::Put => {
                    e.u8(1);
                    e.bytes(&ev.kv.key);
                    e.bytes(&ev.kv.value);
                    e.i64(ev.kv.lease);
                }
                EventType::Delete => {
                    e.u8(0);
                    e.bytes(&ev.kv.key);
                }
            }
        }
    });
}

/// Appends a one-field record of `kind`.
pub(crate) fn encode_simple(buf: &mut Vec<u8>, kind: u8, a: i64, b: i64) {
    frame(buf, |e| {
        e.u8(kind);
        e.i64(a);
        if kind == REC_LEASE_GRANT {
            e.i64(b);
        }
    });
}

fn decode_body(body: &[u8]) -> Result<Record<'_>> {
    let mut d = Dec::new(body);
    let rec = match d.u8()? {
        REC_CHANGES => {
            let main = d.i64()?;
            let n = d.u32()? as usize;
            let mut changes = Vec::with_capacity(n.min(1 << 16));
            for _ in 0..n {
                let is_put = d.u8()? == 1;
                let key = d.bytes()?;
                let (value, lease) = if is_put {
                    (d.bytes()?, d.i64()?)
                } else {
                    (&[][..], 0)
                };
                changes.push((is_put, key, value, lease));
            }
            Record::Changes { main, changes }
        }
        REC_PUT_BATCH => {
            let (first, lease, n) = (d.i64()?, d.i64()?, d.u32()? as usize);
            let mut pairs = Vec::with_capacity(n.min(1 << 16));
            for _ in 0..n {
                pairs.push((d.bytes()?, d.bytes()?));
            }
            Record::PutBatch {
                first,
                lease,
                pairs,
            }
        }
        REC_LEASE_GRANT => Record::LeaseGrant {
            id: d.i64()?,
            ttl: d.i64()?,
        },
        REC_LEASE_REVOKE => Record::LeaseRevoke { id: d.i64()? },
        REC_COMPACT => Record::Compact { rev: d.i64()? },
        REC_ALARM => Record::Alarm {
            active: d.i64()? != 0,
        },
        k => return Err(StoreError::Corruption(format!("unknown record kind {k}"))),
    };
    if d.pos() != body.len() {
        return Err(StoreError::Corruption("trailing bytes in record".into()));
    }
    Ok(rec)
}

/// Where the records of a segment end.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Tail {
    /// Offset just past the last good record: where appending continues.
    pub end: u64,
    /// The file ends inside a record, or its last record fails its checksum
    /// with only zeros (preallocated space) after it: a write torn by a crash.
    pub torn: bool,
}

/// The body of the valid record at `pos`, if there is one (both checksums hold).
fn record_at(data: &[u8], pos: usize) -> Option<&[u8]> {
    let h = data.get(pos..pos + HEADER)?;
    let len_bytes: [u8; 4] = h[0..4].try_into().expect("4");
    if u32::from_le_bytes(h[4..8].try_into().expect("4")) != crc32fast::hash(&len_bytes) {
        return None;
    }
    let len = u32::from_le_bytes(len_bytes) as usize;
    let body = data.get(pos + HEADER..pos + HEADER + len)?;
    let crc = u32::from_le_bytes(h[8..12].try_into().expect("4"));
    (len > 0 && crc32fast::hash(body) == crc).then_some(body)
}

/// Reads every record of `data`, calling `f` on each. Zeros after the last
/// record are preallocated space. A damaged record with no valid record
/// anywhere after it is a torn write (the tail of the last group commit);
/// one followed by a valid record is corruption.
pub(crate) fn read_records(
    data: &[u8],
    mut f: impl FnMut(Record<'_>) -> Result<()>,
) -> Result<Tail> {
    // Everything after the last non-zero byte is preallocated space.
    let used = data.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let mut pos = 0usize;
    while pos < used {
        match record_at(data, pos) {
            Some(body) => {
                f(decode_body(body)?)?;
                pos += HEADER + body.len();
            }
            None => {
                if let Some(q) = (pos + 1..used).find(|q| record_at(data, *q).is_some()) {
                    return Err(StoreError::Corruption(format!(
                        "damaged record at offset {pos}, followed by a valid record at offset {q}"
                    )));
                }
                return Ok(Tail {
                    end: pos as u64,
                    torn: true,
                });
            }
        }
    }
    Ok(Tail {
        end: pos as u64,
        torn: false,
    })
}

/// Path of segment `seq` in `dir`.
pub(crate) fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016x}.wal"))
}

/// Sorted sequence numbers of files named `<hex>.<ext>` in `dir`.
pub(crate) fn list_seqs(dir: &Path, ext: &str) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for ent in fs::read_dir(dir)? {
        let name = ent?.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(&format!(".{ext}")) {
            if let Ok(seq) = u64::from_str_radix(stem, 16) {
                out.push(seq);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// fsyncs a directory so renames and new files in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Size of a preallocated segment. Overwriting preallocated (zeroed) blocks
/// lets `fdatasync` skip the file-size metadata update that appending needs;
/// on ext4 here that halves its latency (see BENCHMARKS.md). Segments are
/// prepared by the maintenance thread, never on the commit path.
pub(crate) const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Path of the segment being prepared for `seq`.
pub(crate) fn prepared_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016x}.wal.tmp"))
}

/// Writes a zero-filled segment file for `seq` (as a `.tmp`, renamed when used).
pub(crate) fn prepare_segment(dir: &Path, seq: u64, size: u64) -> Result<()> {
    let path = prepared_path(dir, seq);
    let mut f = File::create(&path)?;
    // One reused piece of zeros: a segment-sized zero buffer would fault in
    // (and clear) 64 MiB of fresh pages on every preparation.
    let zeros = vec![0u8; PACE];
    let mut left = size;
    while left > 0 {
        let n = left.min(PACE as u64) as usize;
        std::io::Write::write_all(&mut f, &zeros[..n])?;
        f.sync_data()?;
        left -= n as u64;
    }
    f.sync_all()?;
    Ok(())
}

/// Piece size of background writes (see [`write_paced`]).
const PACE: usize = 4 << 20;

/// Writes a large background file (snapshot, prepared segment) in 4 MiB
/// pieces, each flushed before the next, so its writeback never queues a WAL
/// `fdatasync` behind hundreds of megabytes.
pub(crate) fn write_paced(f: &mut File, data: &[u8]) -> Result<()> {
    for piece in data.chunks(PACE) {
        std::io::Write::write_all(f, piece)?;
        f.sync_data()?;
    }
    Ok(())
}

/// The open segment new records are written to.
#[derive(Debug)]
pub(crate) struct WalWriter {
    pub dir: PathBuf,
    file: File,
    pub seq: u64,
    /// Where the next record goes.
    offset: u64,
    /// Bytes of the file (records plus zeroed preallocated space).
    allocated: u64,
    fsync: bool,
}

impl WalWriter {
    /// Opens segment `seq` (creating it if needed) to write at `offset`.
    pub fn open(dir: &Path, seq: u64, offset: u64, fsync: bool) -> Result<Self> {
        let path = segment_path(dir, seq);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        let allocated = file.metadata()?.len();
        sync_dir(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            file,
            seq,
            offset,
            allocated,
            fsync,
        })
    }

    /// Preallocated bytes left before writes start growing the file.
    pub fn room(&self) -> u64 {
        self.allocated.saturating_sub(self.offset)
    }

    /// Writes `buf` after the records and, if durable, waits until it is on disk.
    pub fn write(&mut self, buf: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        if buf.is_empty() {
            return Ok(());
        }
        self.file.write_all_at(buf, self.offset)?;
        if self.fsync {
            self.file.sync_data()?;
        }
        self.offset += buf.len() as u64;
        self.allocated = self.allocated.max(self.offset);
        Ok(())
    }

    /// Starts segment `seq + 1` (the prepared file if there is one).
    pub fn rotate(&mut self) -> Result<()> {
        let next = self.seq + 1;
        let prepared = prepared_path(&self.dir, next);
        if prepared.exists() {
            std::fs::rename(&prepared, segment_path(&self.dir, next))?;
        }
        *self = Self::open(&self.dir, next, 0, self.fsync)?;
        Ok(())
    }
}
