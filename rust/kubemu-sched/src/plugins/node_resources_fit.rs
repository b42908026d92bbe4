//! NodeResourcesFit.
//!
//! - Filter (upstream `fitsRequest`): "Too many pods" when the node's pod
//!   slots are full; then, unless the pod requests nothing, "Insufficient
//!   <resource>" for each of cpu, memory, ephemeral-storage and scalar
//!   resources whose request exceeds allocatable − requested (extended
//!   resources in `ignoredResources`/`ignoredResourceGroups` are skipped).
//!   All reasons are kept; the code is `Unschedulable`.
//! - Score: the scoring strategy over the configured resources, using the
//!   node's non-zero requests plus the pod's:
//!   `LeastAllocated` Σw·((alloc−req)·100/alloc)/Σw (0 when req > alloc),
//!   `MostAllocated` Σw·(min(req,alloc)·100/alloc)/Σw,
//!   `RequestedToCapacityRatio` round(Σw·f(req·100/alloc)/Σw) over resources
//!   with f > 0, f the shape (scores ×10) with utilization 100 when
//!   req > alloc. All integer arithmetic as upstream.

use std::sync::Arc;

use serde::Deserialize;

use super::helper::{broken_linear, ShapePoint};
use super::resource_allocation::{default_resources, ResourceAllocation, ResourceSpec};
use crate::cache::{NodeHot, NodeInfo};
use crate::framework::{
    ConfigError, CycleState, FilterPlugin, HotAccept, Plugin, PluginArgs, PreFilterPlugin,
    PreFilterResult, ScorePlugin, Snapshot, Status, MAX_NODE_SCORE,
};
use crate::model::PodInfo;

pub use super::names::NODE_RESOURCES_FIT as NAME;

/// `MaxCustomPriorityScore`: shape scores are 0..=10.
pub const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;
const MAX_UTILIZATION: i64 = 100;

/// A shape point of RequestedToCapacityRatio.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct UtilizationShapePoint {
    /// 0..=100, strictly ascending.
    pub utilization: i32,
    /// 0..=10.
    pub score: i32,
}

/// `requestedToCapacityRatio` param.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct RequestedToCapacityRatioParam {
    /// The shape.
    #[serde(default)]
    pub shape: Vec<UtilizationShapePoint>,
}

/// `scoringStrategy`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct ScoringStrategy {
    /// `LeastAllocated` (default), `MostAllocated` or `RequestedToCapacityRatio`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Resources and weights (default cpu:1, memory:1).
    pub resources: Vec<ResourceSpec>,
    /// Shape for `RequestedToCapacityRatio` (default {0:10, 100:0}).
    pub requested_to_capacity_ratio: Option<RequestedToCapacityRatioParam>,
}

/// `NodeResourcesFitArgs`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeResourcesFitArgs {
    /// Extended resources the filter ignores.
    pub ignored_resources: Vec<String>,
    /// Extended resource groups (the part before `/`) the filter ignores.
    pub ignored_resource_groups: Vec<String>,
    /// The scoring strategy.
    pub scoring_strategy: Option<ScoringStrategy>,
}

#[derive(Clone, Debug)]
enum Strategy {
    Least,
    Most,
    Ratio(Vec<ShapePoint>),
}

/// The plugin.
#[derive(Debug)]
pub struct NodeResourcesFit {
    ignored: Vec<String>,
    ignored_groups: Vec<String>,
    strategy: Strategy,
    scorer: ResourceAllocation,
}

/// Registry factory.
pub fn factory(args: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(NodeResourcesFit::new(args.decode(NAME)?)?))
}

impl NodeResourcesFit {
    /// Builds from args, validating them as upstream does.
    pub fn new(args: NodeResourcesFitArgs) -> Result<Self, ConfigError> {
        let ss = args.scoring_strategy.unwrap_or_default();
        let resources = if ss.resources.is_empty() {
            default_resources()
        } else {
            ss.resources
        };
        let strategy = match ss.type_.as_str() {
            "" | "LeastAllocated" => Strategy::Least,
            "MostAllocated" => Strategy::Most,
            "RequestedToCapacityRatio" => {
                let shape = ss.requested_to_capacity_ratio.map(|r| r.shape).unwrap_or_default();
                let shape = if shape.is_empty() {
                    vec![
                        UtilizationShapePoint {
                            utilization: 0,
                            score: 10,
                        },
                        UtilizationShapePoint {
                            utilization: 100,
                            score: 0,
                        },
                    ]
                } else {
                    shape
                };
                let mut pts = Vec::new();
                for (i, p) in shape.iter().enumerate() {
                    let field = format!("scoringStrategy.requestedToCapacityRatio.shape[{i}]");
                    if !(0..=100).contains(&p.utilization) {
                        return Err(ConfigError(format!("{field}.utilization: must be in the range [0, 100]")));
                    }
                    if i > 0 && p.utilization <= shape[i - 1].utilization {
                        return Err(ConfigError(format!("{field}.utilization: values must be sorted in increasing order")));
                    }
                    if !(0..=10).contains(&p.score) {
                        return Err(ConfigError(format!("{field}.score: must be in the range [0, 10]")));
                    }
                    pts.push(ShapePoint {
                        utilization: i64::from(p.utilization),
                        score: i64::from(p.score) * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE),
                    });
                }
                Strategy::Ratio(pts)
            }
            other => {
                return Err(ConfigError(format!(
                    "scoringStrategy.type: Unsupported value: {other:?}: supported values: \"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\""
                )))
            }
        };
        Ok(Self {
            ignored: args.ignored_resources,
            ignored_groups: args.ignored_resource_groups,
            strategy,
            scorer: ResourceAllocation::new(&resources, false, "scoringStrategy.resources")?,
        })
    }

    fn is_ignored(&self, name: &str) -> bool {
        if !name.contains('/') || name.contains("kubernetes.io/") {
            return false; // only extended resources can be ignored
        }
        let group = name.split('/').next().unwrap_or("");
        self.ignored.iter().any(|r| r == name) || self.ignored_groups.iter().any(|g| g == group)
    }
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for NodeResourcesFit {
    /// Requests are precomputed in [`PodInfo::requests`]; nothing to store.
    fn pre_filter(
        &self,
        _: &mut CycleState,
        _: &PodInfo,
        _: &Snapshot,
    ) -> Result<PreFilterResult, Status> {
        Ok(PreFilterResult::all())
    }
}

impl FilterPlugin for NodeResourcesFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        // The native amounts come from the node's hot block (same values).
        let h = node.hot();
        let req = &pod.requests;
        let mut reasons = crate::framework::Reasons::new();
        if h.num_pods + 1 > h.allowed_pod_number {
            reasons.push("Too many pods".into());
        }
        if !req.is_empty_request() {
            if req.milli_cpu > 0 && req.milli_cpu > h.alloc_milli_cpu - h.req_milli_cpu {
                reasons.push("Insufficient cpu".into());
            }
            if req.memory > 0 && req.memory > h.alloc_memory - h.req_memory {
                reasons.push("Insufficient memory".into());
            }
            if req.ephemeral_storage > 0
                && req.ephemeral_storage > h.alloc_ephemeral_storage - h.req_ephemeral_storage
            {
                reasons.push("Insufficient ephemeral-storage".into());
            }
            for (name, q) in &req.scalar {
                if *q == 0 || self.is_ignored(name) {
                    continue;
                }
                if *q > node.node().allocatable.scalar(name) - node.requested.scalar(name) {
                    reasons.push(format!("Insufficient {name}").into());
                }
            }
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(Status {
                code: crate::framework::Code::Unschedulable,
                reasons,
                plugin: "",
            })
        }
    }

    /// A free pod slot and room for the native requests (a request of 0
    /// always fits, as in `filter`); `None` when the pod requests an
    /// extended resource that is not ignored (those are not in the hot block).
    fn hot_accept(&self, _: &CycleState, pod: &PodInfo) -> Option<HotAccept> {
        let req = &pod.requests;
        if req
            .scalar
            .iter()
            .any(|(name, q)| *q != 0 && !self.is_ignored(name))
        {
            return None;
        }
        Some(HotAccept {
            pod_slot: true,
            milli_cpu: req.milli_cpu,
            memory: req.memory,
            ephemeral_storage: req.ephemeral_storage,
            ..HotAccept::default()
        })
    }
}

impl ScorePlugin for NodeResourcesFit {
    /// No NormalizeScore.
    fn normalizes(&self) -> bool {
        false
    }

    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let (requested, allocatable) = self.scorer.amounts(pod, node);
        Ok(self.score_amounts(&requested, &allocatable))
    }

    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        hot: &[NodeHot],
        out: &mut Vec<i64>,
    ) -> Result<(), Status> {
        out.clear();
        if !self.scorer.is_cpu_memory() {
            out.reserve(nodes.len());
            for node in nodes {
                out.push(self.score(state, pod, node)?);
            }
            return Ok(());
        }
        let pod_req = [
            self.scorer.pod_request(pod, 0),
            self.scorer.pod_request(pod, 1),
        ];
        if let (Strategy::Least, &[w0, w1]) = (&self.strategy, &self.scorer.weights[..]) {
            // LeastAllocated on both resources (the default), with the
            // weight sum of nodes that have both fixed per pod.
            let w_sum = w0 + w1;
            out.extend(hot.iter().map(|h| {
                let ([r0, r1], [a0, a1]) = self.scorer.cpu_memory(pod_req, h);
                if a0 == 0 || a1 == 0 {
                    return self.score_amounts(&[r0, r1], &[a0, a1]);
                }
                let total = least_requested_score(r0, a0) * w0 + least_requested_score(r1, a1) * w1;
                if w_sum == 2 {
                    total / 2
                } else {
                    total / w_sum
                }
            }));
            return Ok(());
        }
        out.extend(hot.iter().map(|h| {
            let (requested, allocatable) = self.scorer.cpu_memory(pod_req, h);
            self.score_amounts(&requested, &allocatable)
        }));
        Ok(())
    }
}

impl NodeResourcesFit {
    /// The strategy's score of per-resource `(requested, allocatable)`
    /// amounts (as [`ResourceAllocation::amounts`] gives them).
    #[inline]
    fn score_amounts(&self, requested: &[i64], allocatable: &[i64]) -> i64 {
        let weights = &self.scorer.weights;
        let (mut total, mut weight_sum) = (0i64, 0i64);
        for i in 0..requested.len() {
            let (r, a, w) = (requested[i], allocatable[i], weights[i]);
            if a == 0 {
                continue;
            }
            let s = match &self.strategy {
                Strategy::Least => least_requested_score(r, a),
                Strategy::Most => most_requested_score(r, a),
                Strategy::Ratio(shape) => {
                    let s = if r > a {
                        broken_linear(shape, MAX_UTILIZATION)
                    } else {
                        broken_linear(shape, r * MAX_UTILIZATION / a)
                    };
                    if s <= 0 {
                        continue;
                    }
                    s
                }
            };
            total += s * w;
            weight_sum += w;
        }
        if weight_sum == 0 {
            return 0;
        }
        match self.strategy {
            Strategy::Ratio(_) => (total as f64 / weight_sum as f64).round() as i64,
            _ => total / weight_sum,
        }
    }
}

/// `(capacity − requested)·100/capacity`, 0 when over capacity.
#[inline]
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// `min(requested, capacity)·100/capacity`.
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}
