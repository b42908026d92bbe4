//! A minimal msgpack reader over a byte slice.
//!
//! Every function takes a position and returns the position after what it
//! read; truncated or invalid input gives an [`Error`]. Nothing recurses, so
//! deep nesting cannot overflow the stack: [`skip`] keeps a counter of values
//! still to skip, and each value consumes at least one byte, so its cost is
//! linear in the input.

use std::fmt;

/// Why bytes could not be read as msgpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The input ended inside a value (at this position).
    Truncated(usize),
    /// A marker msgpack does not define (0xc1) at this position.
    InvalidMarker(usize),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated(p) => write!(f, "msgpack input truncated at byte {p}"),
            Error::InvalidMarker(p) => write!(f, "invalid msgpack marker at byte {p}"),
        }
    }
}

impl std::error::Error for Error {}

/// Result of the reader.
pub type Result<T> = std::result::Result<T, Error>;

/// The marker byte at `pos`.
#[inline]
pub fn marker(buf: &[u8], pos: usize) -> Result<u8> {
    buf.get(pos).copied().ok_or(Error::Truncated(pos))
}

#[inline]
fn be(buf: &[u8], pos: usize, n: usize) -> Result<u64> {
    let end = pos.checked_add(n).ok_or(Error::Truncated(pos))?;
    let bytes = buf.get(pos..end).ok_or(Error::Truncated(pos))?;
    Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// What a value's header says: `Data(n)` = n payload bytes follow the header,
/// `Items(n)` = n nested values follow (arrays: n, maps: 2n).
enum Shape {
    Data(u64),
    Items(u64),
}

/// Header length and shape of the value at `pos`.
#[inline]
fn header(buf: &[u8], pos: usize) -> Result<(usize, Shape)> {
    let m = marker(buf, pos)?;
    let p = pos + 1;
    Ok(match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (1, Shape::Data(0)),
        0x80..=0x8f => (1, Shape::Items(2 * u64::from(m & 0x0f))),
        0x90..=0x9f => (1, Shape::Items(u64::from(m & 0x0f))),
        0xa0..=0xbf => (1, Shape::Data(u64::from(m & 0x1f))),
        0xc1 => return Err(Error::InvalidMarker(pos)),
        0xc4 | 0xd9 => (2, Shape::Data(be(buf, p, 1)?)),
        0xc5 | 0xda => (3, Shape::Data(be(buf, p, 2)?)),
        0xc6 | 0xdb => (5, Shape::Data(be(buf, p, 4)?)),
        0xc7 => (3, Shape::Data(be(buf, p, 1)?)),
        0xc8 => (4, Shape::Data(be(buf, p, 2)?)),
        0xc9 => (6, Shape::Data(be(buf, p, 4)?)),
        0xca => (1, Shape::Data(4)),
        0xcb => (1, Shape::Data(8)),
        0xcc | 0xd0 => (1, Shape::Data(1)),
        0xcd | 0xd1 => (1, Shape::Data(2)),
        0xce | 0xd2 => (1, Shape::Data(4)),
        0xcf | 0xd3 => (1, Shape::Data(8)),
        0xd4 => (1, Shape::Data(2)),
        0xd5 => (1, Shape::Data(3)),
        0xd6 => (1, Shape::Data(5)),
        0xd7 => (1, Shape::Data(9)),
        0xd8 => (1, Shape::Data(17)),
        0xdc => (3, Shape::Items(be(buf, p, 2)?)),
        0xdd => (5, Shape::Items(be(buf, p, 4)?)),
        0xde => (3, Shape::Items(2 * be(buf, p, 2)?)),
        0xdf => (5, Shape::Items(2 * be(buf, p, 4)?)),
    })
}

/// The position just after the value starting at `pos` (nested values
/// included). Cost: linear in the value's size.
pub fn skip(buf: &[u8], mut pos: usize) -> Result<usize> {
    let mut pending: u64 = 1;
    while pending > 0 {
        pending -= 1;
        let (h, shape) = header(buf, pos)?;
        pos += h;
        match shape {
            Shape::Data(n) => {
                let n = usize::try_from(n).map_err(|_| Error::Truncated(pos))?;
                pos = pos.checked_add(n).ok_or(Error::Truncated(pos))?;
                if pos > buf.len() {
                    return Err(Error::Truncated(buf.len()));
                }
            }
            Shape::Items(n) => pending = pending.saturating_add(n),
        }
    }
    Ok(pos)
}

/// If the value at `pos` is a map: its entry count and the position of its
/// first key. `None` for any other value.
#[inline]
pub fn map_header(buf: &[u8], pos: usize) -> Result<Option<(u64, usize)>> {
    let m = marker(buf, pos)?;
    Ok(match m {
        0x80..=0x8f => Some((u64::from(m & 0x0f), pos + 1)),
        0xde => Some((be(buf, pos + 1, 2)?, pos + 3)),
        0xdf => Some((be(buf, pos + 1, 4)?, pos + 5)),
        _ => None,
    })
}

/// If the value at `pos` is an array: its length and the position of its
/// first item. `None` for any other value.
#[inline]
pub fn array_header(buf: &[u8], pos: usize) -> Result<Option<(u64, usize)>> {
    let m = marker(buf, pos)?;
    Ok(match m {
        0x90..=0x9f => Some((u64::from(m & 0x0f), pos + 1)),
        0xdc => Some((be(buf, pos + 1, 2)?, pos + 3)),
        0xdd => Some((be(buf, pos + 1, 4)?, pos + 5)),
        _ => None,
    })
}

/// If the value at `pos` is a str: its raw bytes (not checked as UTF-8) and
/// the position after it. `None` for any other value.
#[inline]
pub fn str_at(buf: &[u8], pos: usize) -> Result<Option<(&[u8], usize)>> {
    let m = marker(buf, pos)?;
    let (h, n) = match m {
        0xa0..=0xbf => (1, u64::from(m & 0x1f)),
        0xd9 => (2, be(buf, pos + 1, 1)?),
        0xda => (3, be(buf, pos + 1, 2)?),
        0xdb => (5, be(buf, pos + 1, 4)?),
        _ => return Ok(None),
    };
    let start = pos + h;
    let n = usize::try_from(n).map_err(|_| Error::Truncated(start))?;
    let end = start.checked_add(n).ok_or(Error::Truncated(start))?;
    let s = buf.get(start..end).ok_or(Error::Truncated(buf.len()))?;
    Ok(Some((s, end)))
}

/// One msgpack value's head: a scalar, or a container's length (its items
/// follow: n values for an array, 2n for a map).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token<'a> {
    Nil,
    Bool(bool),
    /// A negative integer (int8..int64, negative fixint).
    Int(i64),
    /// A non-negative integer (fixint, uint8..uint64; also non-negative intN).
    Uint(u64),
    F32(f32),
    F64(f64),
    /// A str's raw bytes (not checked as UTF-8).
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(u64),
    Map(u64),
    /// An extension value (type, data).
    Ext(i8, &'a [u8]),
}

/// The token at `pos` and the position after it (for containers: the
/// position of the first item).
pub fn token(buf: &[u8], pos: usize) -> Result<(Token<'_>, usize)> {
    let m = marker(buf, pos)?;
    let p = pos + 1;
    let slice = |start: usize, n: u64| -> Result<(&[u8], usize)> {
        let n = usize::try_from(n).map_err(|_| Error::Truncated(start))?;
        let end = start.checked_add(n).ok_or(Error::Truncated(start))?;
        Ok((buf.get(start..end).ok_or(Error::Truncated(buf.len()))?, end))
    };
    let signed = |v: i64, end: usize| {
        if v < 0 {
            (Token::Int(v), end)
        } else {
            (Token::Uint(v as u64), end)
        }
    };
    Ok(match m {
        0x00..=0x7f => (Token::Uint(u64::from(m)), p),
        0xe0..=0xff => (Token::Int(i64::from(m as i8)), p),
        0x80..=0x8f => (Token::Map(u64::from(m & 0x0f)), p),
        0x90..=0x9f => (Token::Array(u64::from(m & 0x0f)), p),
        0xa0..=0xbf => {
            let (s, e) = slice(p, u64::from(m & 0x1f))?;
            (Token::Str(s), e)
        }
        0xc0 => (Token::Nil, p),
        0xc1 => return Err(Error::InvalidMarker(pos)),
        0xc2 => (Token::Bool(false), p),
        0xc3 => (Token::Bool(true), p),
        0xc4..=0xc6 | 0xd9..=0xdb => {
            let w = match m {
                0xc4 | 0xd9 => 1,
                0xc5 | 0xda => 2,
                _ => 4,
            };
            let (s, e) = slice(p + w, be(buf, p, w)?)?;
            (
                if m <= 0xc6 {
                    Token::Bin(s)
                } else {
                    Token::Str(s)
                },
                e,
            )
        }
        0xc7..=0xc9 => {
            let w = match m {
                0xc7 => 1,
                0xc8 => 2,
                _ => 4,
            };
            let n = be(buf, p, w)?;
            let ty = be(buf, p + w, 1)? as u8 as i8;
            let (s, e) = slice(p + w + 1, n)?;
            (Token::Ext(ty, s), e)
        }
        0xca => (Token::F32(f32::from_bits(be(buf, p, 4)? as u32)), p + 4),
        0xcb => (Token::F64(f64::from_bits(be(buf, p, 8)?)), p + 8),
        0xcc => (Token::Uint(be(buf, p, 1)?), p + 1),
        0xcd => (Token::Uint(be(buf, p, 2)?), p + 2),
        0xce => (Token::Uint(be(buf, p, 4)?), p + 4),
        0xcf => (Token::Uint(be(buf, p, 8)?), p + 8),
        0xd0 => signed(i64::from(be(buf, p, 1)? as u8 as i8), p + 1),
        0xd1 => signed(i64::from(be(buf, p, 2)? as u16 as i16), p + 2),
        0xd2 => signed(i64::from(be(buf, p, 4)? as u32 as i32), p + 4),
        0xd3 => signed(be(buf, p, 8)? as i64, p + 8),
        0xd4..=0xd8 => {
            let n = match m {
                0xd4 => 1,
                0xd5 => 2,
                0xd6 => 4,
                0xd7 => 8,
                _ => 16,
            };
            let ty = be(buf, p, 1)? as u8 as i8;
            let (s, e) = slice(p + 1, n)?;
            (Token::Ext(ty, s), e)
        }
        0xdc => (Token::Array(be(buf, p, 2)?), p + 2),
        0xdd => (Token::Array(be(buf, p, 4)?), p + 4),
        0xde => (Token::Map(be(buf, p, 2)?), p + 2),
        0xdf => (Token::Map(be(buf, p, 4)?), p + 4),
    })
}

/// Appends `s` as a msgpack str with the shortest header (what msgpack-python's
/// `packb(..., use_bin_type=True)` writes). Strings over 4 GiB are not
/// documents this crate writes; they are written with a truncated length
/// field, so callers keep them out (the apiserver caps requests at 3 MiB).
pub fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n < 0x100 {
        out.push(0xd9);
        out.push(n as u8);
    } else if n < 0x1_0000 {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

/// One entry of a map: where its key and value start and where the value ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Position of the key.
    pub key: usize,
    /// Position of the value.
    pub value: usize,
    /// Position just after the value.
    pub end: usize,
}

/// Iterates the entries of a map whose first key is at `pos` (from
/// [`map_header`]); yields an error once (then stops) on malformed input.
pub struct Entries<'a> {
    buf: &'a [u8],
    pos: usize,
    left: u64,
    failed: bool,
}

impl<'a> Entries<'a> {
    /// Entries of the map whose `count` entries start at `pos`.
    pub fn new(buf: &'a [u8], count: u64, pos: usize) -> Self {
        Entries {
            buf,
            pos,
            left: count,
            failed: false,
        }
    }
}

impl Iterator for Entries<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        if self.left == 0 || self.failed {
            return None;
        }
        self.left -= 1;
        let key = self.pos;
        let r = skip(self.buf, key).and_then(|value| {
            let end = skip(self.buf, value)?;
            Ok(Entry { key, value, end })
        });
        match r {
            Ok(e) => {
                self.pos = e.end;
                Some(Ok(e))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_scalars_and_containers() {
        // {"a": [1, "xy", nil], "b": {"c": true}}
        let doc = [
            0x82, 0xa1, b'a', 0x93, 0x01, 0xa2, b'x', b'y', 0xc0, 0xa1, b'b', 0x81, 0xa1, b'c',
            0xc3,
        ];
        assert_eq!(skip(&doc, 0), Ok(doc.len()));
        assert_eq!(skip(&doc, 3), Ok(9));
        let (n, first) = map_header(&doc, 0).unwrap().unwrap();
        let entries: Vec<_> = Entries::new(&doc, n, first).collect::<Result<_>>().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(str_at(&doc, entries[1].key).unwrap().unwrap().0, b"b");
    }

    #[test]
    fn malformed_is_an_error_never_a_panic() {
        assert_eq!(skip(&[], 0), Err(Error::Truncated(0)));
        assert_eq!(skip(&[0xc1], 0), Err(Error::InvalidMarker(0)));
        // map32 claiming 4 billion entries, then nothing
        assert!(skip(&[0xdf, 0xff, 0xff, 0xff, 0xff], 0).is_err());
        // str32 longer than the input
        assert!(skip(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'], 0).is_err());
        assert!(str_at(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'], 0).is_err());
        assert!(skip(&[0xda, 0x00], 0).is_err());
        // deep nesting: no recursion, so no stack overflow
        let deep = vec![0x91u8; 1_000_000];
        assert!(skip(&deep, 0).is_err());
        let mut ok = vec![0x91u8; 1_000_000];
        ok.push(0xc0);
        assert_eq!(skip(&ok, 0), Ok(ok.len()));
    }

    #[test]
    fn every_prefix_of_a_document_is_an_error() {
        let doc = [
            0x83, 0xa1, b'a', 0xcd, 0x01, 0x02, 0xa1, b'b', 0xd9, 0x03, b'x', b'y', b'z', 0xa1,
            b'c', 0xc7, 0x02, 0x01, 0xaa, 0xbb,
        ];
        assert_eq!(skip(&doc, 0), Ok(doc.len()));
        for cut in 0..doc.len() {
            assert!(skip(&doc[..cut], 0).is_err(), "prefix {cut}");
        }
    }

    #[test]
    fn tokens_and_skip_agree() {
        // [nil, true, -1, 200, -200, 1.5f32, 2.5f64, "s", bin "b", {"k": [ ]}, ext(5, "x"), 2^63]
        let doc: Vec<u8> = [
            &[0x9c_u8, 0xc0, 0xc3, 0xff, 0xcc, 200, 0xd1, 0xff, 0x38][..],
            &[0xca, 0x3f, 0xc0, 0x00, 0x00],
            &[0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0],
            &[
                0xa1, b's', 0xc4, 0x01, b'b', 0x81, 0xa1, b'k', 0x90, 0xd4, 0x05, b'x',
            ],
            &[0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0],
        ]
        .concat();
        let (t, mut pos) = token(&doc, 0).unwrap();
        assert_eq!(t, Token::Array(12));
        let mut got = Vec::new();
        for _ in 0..9 {
            let end = skip(&doc, pos).unwrap();
            let (t, next) = token(&doc, pos).unwrap();
            got.push(t);
            if let Token::Map(n) = t {
                assert_eq!(n, 1);
                pos = end; // skip the map's contents
            } else {
                assert_eq!(next, end, "{t:?}");
                pos = next;
            }
        }
        assert_eq!(
            got,
            vec![
                Token::Nil,
                Token::Bool(true),
                Token::Int(-1),
                Token::Uint(200),
                Token::Int(-200),
                Token::F32(1.5),
                Token::F64(2.5),
                Token::Str(b"s"),
                Token::Bin(b"b"),
            ]
        );
        let (t, pos) = token(&doc, pos).unwrap();
        assert_eq!(t, Token::Map(1));
        let pos = skip(&doc, skip(&doc, pos).unwrap()).unwrap();
        let (t, pos) = token(&doc, pos).unwrap();
        assert_eq!(t, Token::Ext(5, b"x"));
        assert_eq!(token(&doc, pos).unwrap(), (Token::Uint(1 << 63), doc.len()));
        for cut in 1..doc.len() {
            let _ = token(&doc[..cut], cut - 1); // never a panic
        }
        assert!(token(&[0xd9, 0x05, b'a'], 0).is_err());
        assert!(token(&[0xc1], 0).is_err());
    }

    #[test]
    fn write_str_uses_the_shortest_header() {
        for n in [0usize, 31, 32, 255, 256, 65_535, 65_536] {
            let s = vec![b'a'; n];
            let mut out = Vec::new();
            write_str(&mut out, &s);
            let (got, end) = str_at(&out, 0).unwrap().unwrap();
            assert_eq!(got, &s[..]);
            assert_eq!(end, out.len());
            let header = out.len() - n;
            let want = match n {
                0..=31 => 1,
                32..=255 => 2,
                256..=65_535 => 3,
                _ => 5,
            };
            assert_eq!(header, want, "len {n}");
        }
    }
}
