//! Helpers shared by plugins (upstream `plugins/helper`).

pub use crate::framework::default_normalize_score;

/// A point of a piecewise-linear function (upstream `FunctionShapePoint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapePoint {
    /// x, ascending.
    pub utilization: i64,
    /// y.
    pub score: i64,
}

/// Upstream `BuildBrokenLinearFunction`: linear between points (integer
/// division), constant before the first and after the last.
pub fn broken_linear(shape: &[ShapePoint], p: i64) -> i64 {
    for (i, pt) in shape.iter().enumerate() {
        if p <= pt.utilization {
            if i == 0 {
                return pt.score;
            }
            let prev = shape[i - 1];
            return prev.score
                + (pt.score - prev.score) * (p - prev.utilization)
                    / (pt.utilization - prev.utilization);
        }
    }
    shape.last().map_or(0, |p| p.score)
}
