//! NodeAffinity.
//!
//! - PreFilter: `Skip` for pods with neither `nodeSelector` nor required node
//!   affinity; restricts the nodes to the `metadata.name In` values of the
//!   required terms when every term has one ("pod affinity terms conflict"
//!   when they cannot all hold).
//! - Filter: `nodeSelector` AND the required terms (ORed);
//!   `UnschedulableAndUnresolvable` "node(s) didn't match Pod's node
//!   affinity/selector".
//! - PreScore/Score: the sum of the weights of matching preferred terms,
//!   normalized as `score·100/max`; `Skip` without preferred terms.
//!
//! Not yet: the `addedAffinity` arg.

use std::sync::Arc;

use crate::cache::NodeInfo;
use crate::framework::{
    default_normalize_score, ConfigError, CycleState, FilterPlugin, Plugin, PluginArgs,
    PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Snapshot, Status,
    MAX_NODE_SCORE,
};
use crate::model::PodInfo;

pub use super::names::NODE_AFFINITY as NAME;

/// Upstream `ErrReasonPod`.
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
/// Upstream `errReasonConflict`.
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";

/// The plugin.
#[derive(Debug, Default)]
pub struct NodeAffinity;

/// Registry factory.
pub fn factory(_: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(NodeAffinity))
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
    ) -> Result<PreFilterResult, Status> {
        if pod.required_affinity.is_none() && pod.node_selector.is_empty() {
            return Err(Status::skip());
        }
        match &pod.affinity_node_names {
            None => Ok(PreFilterResult::all()),
            Some(names) if names.is_empty() => Err(Status::unresolvable(ERR_REASON_CONFLICT)),
            Some(names) => Ok(PreFilterResult {
                node_names: Some(names.clone()),
            }),
        }
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        let n = node.node();
        let affinity_ok = match &pod.required_affinity {
            None => true,
            Some(r) => r.matches(&n.labels, &n.name),
        };
        let ok = affinity_ok && n.labels.contains_all(&pod.node_selector);
        if ok {
            Ok(())
        } else {
            Err(Status::unresolvable(ERR_REASON_POD))
        }
    }
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
        _: &[&NodeInfo],
    ) -> Result<(), Status> {
        match &pod.preferred_affinity {
            Err(e) => Err(Status::error(e.clone())),
            Ok(terms) if terms.is_empty() => Err(Status::skip()),
            Ok(_) => Ok(()),
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let n = node.node();
        let terms = pod.preferred_affinity.as_deref().unwrap_or_default();
        Ok(terms
            .iter()
            .filter(|t| t.term.matches(&n.labels, &n.name))
            .map(|t| t.weight)
            .sum())
    }

    fn normalize_scores(
        &self,
        _: &CycleState,
        _: &PodInfo,
        scores: &mut [i64],
    ) -> Result<(), Status> {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
        Ok(())
    }
}
