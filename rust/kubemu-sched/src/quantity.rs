//! Kubernetes resource quantities ("500m", "1Gi", "2", "1e3", "1.5Ki").
//!
//! A [`Quantity`] holds its value exactly in nano-units (10⁻⁹) as an `i128`,
//! so sums of container requests are exact before they are rounded, as
//! upstream sums `resource.Quantity` values before `MilliValue()`/`Value()`.
//! Parsing rounds finer-than-nano fractions up (away from zero), and the
//! conversions round up as upstream does: [`Quantity::milli_value`] is
//! `ceil(v × 1000)`, [`Quantity::value`] is `ceil(v)`, both saturating at the
//! `i64` range.

use std::fmt;

const NANO: i128 = 1_000_000_000;
/// Significant digits kept exactly; further digits only round the value up.
const MAX_DIGITS: usize = 18;

/// An exact resource quantity (nano-units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity {
    nano: i128,
}

/// A string that is not a Kubernetes quantity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantityError(pub String);

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {:?}", self.0)
    }
}

impl std::error::Error for QuantityError {}

impl Quantity {
    /// Zero.
    pub const ZERO: Quantity = Quantity { nano: 0 };

    /// The quantity `v` (whole units).
    pub fn from_units(v: i64) -> Self {
        Self {
            nano: i128::from(v) * NANO,
        }
    }

    /// The quantity `v / 1000` (e.g. millicores).
    pub fn from_milli(v: i64) -> Self {
        Self {
            nano: i128::from(v) * 1_000_000,
        }
    }

    /// Parses upstream's quantity grammar: a signed decimal number followed by
    /// a binary SI suffix (Ki Mi Gi Ti Pi Ei), a decimal SI suffix (n u m "" k
    /// M G T P E) or a decimal exponent (`e3`, `E-2`).
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        parse(s).ok_or_else(|| QuantityError(s.to_string()))
    }

    /// `ceil(value × 1000)` (upstream `MilliValue()`), saturating.
    pub fn milli_value(self) -> i64 {
        saturate(div_away(self.nano, 1_000_000))
    }

    /// `ceil(value)` (upstream `Value()`), saturating.
    pub fn value(self) -> i64 {
        saturate(div_away(self.nano, NANO))
    }

    /// True for the zero quantity.
    pub fn is_zero(self) -> bool {
        self.nano == 0
    }

    /// Saturating sum.
    #[must_use]
    pub fn saturating_add(self, other: Self) -> Self {
        Self {
            nano: self.nano.saturating_add(other.nano),
        }
    }
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// `a / b` rounded away from zero (`b > 0`).
fn div_away(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b == 0 {
        q
    } else if a > 0 {
        q + 1
    } else {
        q - 1
    }
}

fn parse(s: &str) -> Option<Quantity> {
    let b = s.as_bytes();
    let mut i = 0;
    let negative = match b.first()? {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = &s[int_start..i];
    let mut frac_digits = "";
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = &s[f..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let (exp10, exp2) = suffix(&s[i..])?;
    let magnitude = scale_to_nano(int_digits, frac_digits, exp10, exp2)?;
    Some(Quantity {
        nano: if negative { -magnitude } else { magnitude },
    })
}

/// The suffix's multiplier as (power of ten, power of two).
fn suffix(s: &str) -> Option<(i32, u32)> {
    Some(match s {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => {
            let rest = s.strip_prefix('e').or_else(|| s.strip_prefix('E'))?;
            let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) || digits.len() > 4
            {
                return None;
            }
            (rest.parse::<i32>().ok()?, 0)
        }
    })
}

/// `ceil(digits × 10^exp10 × 2^exp2 × 10^9)`, saturating at `i128::MAX`.
fn scale_to_nano(int_digits: &str, frac_digits: &str, exp10: i32, exp2: u32) -> Option<i128> {
    let mut mantissa: i128 = 0;
    let mut kept = 0usize;
    let mut exp = exp10 + 9;
    let mut inexact = false;
    for (k, c) in int_digits.bytes().chain(frac_digits.bytes()).enumerate() {
        let in_fraction = k >= int_digits.len();
        let d = i128::from(c - b'0');
        if kept < MAX_DIGITS {
            if mantissa != 0 || d != 0 {
                kept += 1;
            }
            mantissa = mantissa * 10 + d;
            if in_fraction {
                exp -= 1;
            }
        } else {
            inexact |= d != 0;
            if !in_fraction {
                exp += 1;
            }
        }
    }
    let mut v = mantissa.checked_mul(1i128 << exp2).unwrap_or(i128::MAX);
    if exp >= 0 {
        for _ in 0..exp {
            v = v.checked_mul(10).unwrap_or(i128::MAX);
        }
    } else if v != 0 {
        let mut rem_nonzero = false;
        for _ in 0..(-exp) {
            rem_nonzero |= v % 10 != 0;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if rem_nonzero || v == 0 {
            v += 1;
        }
    }
    if inexact && v != i128::MAX {
        v += 1;
    }
    Some(v)
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
