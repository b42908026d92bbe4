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

/// Upstream `nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)`: the
/// pod's `nodeSelector` and required node affinity terms both hold.
pub fn pod_matches_node_affinity(pod: &crate::model::PodInfo, node: &crate::model::Node) -> bool {
    node.labels.contains_all(&pod.node_selector)
        && pod
            .required_affinity
            .as_ref()
            .is_none_or(|r| r.matches(&node.labels, &node.name))
}

/// Upstream `FindMatchingUntoleratedTaint` with
/// `DoNotScheduleTaintsFilterFunc`: some `NoSchedule`/`NoExecute` taint of
/// `node` is not tolerated by the pod.
pub fn has_untolerated_do_not_schedule_taint(
    pod: &crate::model::PodInfo,
    node: &crate::model::Node,
) -> bool {
    use crate::model::TaintEffect;
    node.taints.iter().any(|t| {
        matches!(t.effect, TaintEffect::NoSchedule | TaintEffect::NoExecute)
            && !crate::model::tolerations_tolerate(&pod.tolerations, t)
    })
}
