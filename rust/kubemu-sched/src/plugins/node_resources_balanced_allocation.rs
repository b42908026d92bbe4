//! NodeResourcesBalancedAllocation: favours nodes whose resource fractions
//! (requested incl. this pod / allocatable, capped at 1) are even:
//! `int64((1 − std)·100)`, std = |f₁−f₂|/2 for two resources, the
//! population standard deviation otherwise. Uses real (not non-zero)
//! requests; PreScore `Skip`s pods requesting none of the resources.

use std::sync::Arc;

use serde::Deserialize;

use super::resource_allocation::{default_resources, ResourceAllocation, ResourceSpec};
use crate::cache::{NodeHot, NodeInfo};
use crate::framework::{
    ConfigError, CycleState, Plugin, PluginArgs, PreScorePlugin, ScorePlugin, Snapshot, Status,
    MAX_NODE_SCORE,
};
use crate::model::PodInfo;

pub use super::names::NODE_RESOURCES_BALANCED_ALLOCATION as NAME;

/// `NodeResourcesBalancedAllocationArgs`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct BalancedAllocationArgs {
    /// Resources (default cpu:1, memory:1).
    pub resources: Vec<ResourceSpec>,
}

/// The plugin.
#[derive(Debug)]
pub struct BalancedAllocation {
    scorer: ResourceAllocation,
}

/// Registry factory.
pub fn factory(args: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(BalancedAllocation::new(args.decode(NAME)?)?))
}

impl BalancedAllocation {
    /// Builds from args.
    pub fn new(args: BalancedAllocationArgs) -> Result<Self, ConfigError> {
        let resources = if args.resources.is_empty() {
            default_resources()
        } else {
            args.resources
        };
        Ok(Self {
            scorer: ResourceAllocation::new(&resources, true, "resources")?,
        })
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for BalancedAllocation {
    fn pre_score(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
        _: &[&NodeInfo],
    ) -> Result<(), Status> {
        if self.scorer.pod_requests_nothing(pod) {
            Err(Status::skip())
        } else {
            Ok(())
        }
    }
}

impl ScorePlugin for BalancedAllocation {
    /// No NormalizeScore.
    fn normalizes(&self) -> bool {
        false
    }

    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let (requested, allocatable) = self.scorer.amounts(pod, node);
        Ok(balanced_score(&requested, &allocatable))
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
        out.extend(hot.iter().map(|h| {
            let (requested, allocatable) = self.scorer.cpu_memory(pod_req, h);
            balanced_score_2(requested, allocatable)
        }));
        Ok(())
    }
}

/// [`balanced_score`] of two resources (the default): the same arithmetic
/// without the fraction list.
#[inline]
pub fn balanced_score_2(requested: [i64; 2], allocatable: [i64; 2]) -> i64 {
    let ([r0, r1], [a0, a1]) = (requested, allocatable);
    let std = if a0 != 0 && a1 != 0 {
        let f0 = (r0 as f64 / a0 as f64).min(1.0);
        let f1 = (r1 as f64 / a1 as f64).min(1.0);
        ((f0 - f1) / 2.0).abs()
    } else {
        0.0
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// Upstream `balancedResourceScorer`.
pub fn balanced_score(requested: &[i64], allocatable: &[i64]) -> i64 {
    if let ([r0, r1], [a0, a1]) = (requested, allocatable) {
        return balanced_score_2([*r0, *r1], [*a0, *a1]);
    }
    let mut fractions: smallvec::SmallVec<[f64; 4]> = smallvec::SmallVec::new();
    let mut total = 0.0;
    for (r, a) in requested.iter().zip(allocatable) {
        if *a == 0 {
            continue;
        }
        let f = (*r as f64 / *a as f64).min(1.0);
        total += f;
        fractions.push(f);
    }
    let std = match fractions.len() {
        2 => ((fractions[0] - fractions[1]) / 2.0).abs(),
        n if n > 2 => {
            let mean = total / n as f64;
            (fractions
                .iter()
                .map(|f| (f - mean) * (f - mean))
                .sum::<f64>()
                / n as f64)
                .sqrt()
        }
        _ => 0.0,
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}
