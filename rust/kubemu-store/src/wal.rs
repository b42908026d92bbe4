//! The write-ahead log: checksummed records in numbered segment files.
//!
//! Record layout: `len: u32 | crc32(body): u32 | body`, body = `kind: u8 | payload`.
//! Segments are `wal/<seq:016x>.wal`; a snapshot `snap/<seq>.snap` holds the
//! state before segment `seq`, so recovery loads the newest snapshot and
//! replays the segments from its sequence on.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
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

/// A decoded WAL record.
#[derive(Debug)]
pub(crate) enum Record<'a> {
    /// One revision's changes: (is_put, key, value, lease) in sub order.
    Changes {
        main: i64,
        changes: Vec<(bool, &'a [u8], &'a [u8], i64)>,
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
    buf.extend_from_slice(&[0u8; 8]);
    body(&mut Enc(buf));
    let len = u32::try_from(buf.len() - start - 8).expect("record under 4 GiB");
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
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

/// How reading a segment ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Every byte belonged to a valid record.
    Clean,
    /// The file ends inside a record, or its last record fails its checksum:
    /// a write torn by a crash. `valid_len` is where the good records end.
    Torn { valid_len: u64 },
}

/// Reads every record of `data`, calling `f` on each. A bad record that is
/// not at the very end is corruption.
pub(crate) fn read_records(
    data: &[u8],
    mut f: impl FnMut(Record<'_>) -> Result<()>,
) -> Result<Tail> {
    let mut pos = 0usize;
    while pos < data.len() {
        let rest = &data[pos..];
        if rest.len() < 8 {
            return Ok(Tail::Torn {
                valid_len: pos as u64,
            });
        }
        let len = u32::from_le_bytes(rest[0..4].try_into().expect("4")) as usize;
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4"));
        if len == 0 && rest.iter().all(|b| *b == 0) {
            // Zero-filled tail (pre-allocated or torn page): nothing was written there.
            return Ok(Tail::Torn {
                valid_len: pos as u64,
            });
        }
        if rest.len() - 8 < len {
            return Ok(Tail::Torn {
                valid_len: pos as u64,
            });
        }
        let body = &rest[8..8 + len];
        if crc32fast::hash(body) != crc {
            if 8 + len == rest.len() {
                return Ok(Tail::Torn {
                    valid_len: pos as u64,
                });
            }
            return Err(StoreError::Corruption(format!(
                "checksum mismatch in record at offset {pos}"
            )));
        }
        f(decode_body(body)?)?;
        pos += 8 + len;
    }
    Ok(Tail::Clean)
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

/// The open segment new records are appended to.
#[derive(Debug)]
pub(crate) struct WalWriter {
    dir: PathBuf,
    file: File,
    pub seq: u64,
    /// Bytes in the current segment.
    pub bytes: u64,
    fsync: bool,
}

impl WalWriter {
    /// Opens segment `seq` for appending (creating it if needed).
    pub fn open(dir: &Path, seq: u64, fsync: bool) -> Result<Self> {
        let path = segment_path(dir, seq);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let bytes = file.metadata()?.len();
        sync_dir(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            file,
            seq,
            bytes,
            fsync,
        })
    }

    /// Appends `buf` and, if durable, waits until it is on disk.
    pub fn write(&mut self, buf: &[u8]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        self.file.write_all(buf)?;
        if self.fsync {
            self.file.sync_data()?;
        }
        self.bytes += buf.len() as u64;
        Ok(())
    }

    /// Starts segment `seq + 1`; later records go there.
    pub fn rotate(&mut self) -> Result<()> {
        *self = Self::open(&self.dir, self.seq + 1, self.fsync)?;
        Ok(())
    }
}
