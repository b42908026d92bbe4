//! Random (version 4) UUIDs in the text form Kubernetes writes in
//! `metadata.uid`: 36 bytes, lowercase hex `8-4-4-4-12`.

use std::fs::File;
use std::io::{self, Read};

/// Length of a UUID's text form.
pub const UID_LEN: usize = 36;

/// UUIDs read from the OS at a time.
const BATCH: usize = 256;

/// The text form of the version 4 UUID made of `raw` (16 random bytes):
/// the version nibble set to 4 and the variant bits to `10` (RFC 4122), as
/// Python's `str(uuid.uuid4())` gives it.
pub fn format_v4(mut raw: [u8; 16]) -> [u8; UID_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    raw[6] = (raw[6] & 0x0f) | 0x40;
    raw[8] = (raw[8] & 0x3f) | 0x80;
    let mut out = [b'-'; UID_LEN];
    let mut at = 0;
    for (i, b) in raw.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1; // the dash already there
        }
        out[at] = HEX[usize::from(b >> 4)];
        out[at + 1] = HEX[usize::from(b & 0x0f)];
        at += 2;
    }
    out
}

/// Random UUIDs from the OS's random source (`/dev/urandom`), read
/// [`BATCH`] at a time. Not shared across processes: a value lives in the
/// process that made it (a forked child must make its own).
#[derive(Debug, Default)]
pub struct Uids {
    buf: Vec<u8>,
    pos: usize,
}

impl Uids {
    /// An empty source: the first [`Uids::next_uid`] reads from the OS.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh random UUID; an error only if the OS's random source cannot be read.
    pub fn next_uid(&mut self) -> io::Result<[u8; UID_LEN]> {
        if self.pos + 16 > self.buf.len() {
            let mut buf = vec![0u8; 16 * BATCH];
            File::open("/dev/urandom")?.read_exact(&mut buf)?;
            self.buf = buf;
            self.pos = 0;
        }
        let mut raw = [0u8; 16];
        raw.copy_from_slice(&self.buf[self.pos..self.pos + 16]);
        self.pos += 16;
        Ok(format_v4(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn text_form_of_a_v4_uuid() {
        let raw: [u8; 16] = [
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0xff, 0x01, 0x23, 0x45, 0x67, 0x89,
            0xab, 0xcd,
        ];
        // version nibble d→4, variant bits of 0xff → 0xbf
        assert_eq!(&format_v4(raw), b"12345678-9abc-4ef0-bf01-23456789abcd");
        assert_eq!(&format_v4([0; 16]), b"00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn random_uids_are_v4_and_distinct() {
        let mut uids = Uids::new();
        let mut seen = HashSet::new();
        for _ in 0..(3 * BATCH + 7) {
            let u = uids.next_uid().unwrap();
            let s = std::str::from_utf8(&u).unwrap();
            let parts: Vec<&str> = s.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(s
                .bytes()
                .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            assert!(parts[2].starts_with('4'), "{s}");
            assert!("89ab".contains(&parts[3][..1]), "{s}");
            assert!(seen.insert(s.to_owned()), "repeated {s}");
        }
    }
}
