//! TaintToleration.
//!
//! - Filter: the first `NoSchedule`/`NoExecute` taint no toleration tolerates
//!   rejects the node (`UnschedulableAndUnresolvable`, "node(s) had
//!   untolerated taint {key: value}").
//! - Score: the number of `PreferNoSchedule` taints not tolerated by the
//!   pod's tolerations with effect `PreferNoSchedule` or none; normalized in
//!   reverse (`DefaultNormalizeScore(100, reverse)`).

use std::sync::Arc;

use crate::cache::{NodeHot, NodeInfo};
use crate::framework::{
    default_normalize_score, ConfigError, CycleState, FilterPlugin, HotAccept, Plugin, PluginArgs,
    ScorePlugin, Status, MAX_NODE_SCORE,
};
use crate::model::{PodInfo, TaintEffect};

pub use super::names::TAINT_TOLERATION as NAME;

/// The plugin (no args).
#[derive(Debug, Default)]
pub struct TaintToleration;

/// Registry factory.
pub fn factory(_: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(TaintToleration))
}

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl FilterPlugin for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        if !node.hot().has_taints {
            return Ok(());
        }
        for taint in &node.node().taints {
            if !matches!(
                taint.effect,
                TaintEffect::NoSchedule | TaintEffect::NoExecute
            ) {
                continue;
            }
            if !pod.tolerations.iter().any(|t| t.tolerates(taint)) {
                return Err(Status::unresolvable(format!(
                    "node(s) had untolerated taint {{{}: {}}}",
                    taint.key, taint.value
                )));
            }
        }
        Ok(())
    }

    /// Nodes without taints pass.
    fn hot_accept(&self, _: &CycleState, _: &PodInfo) -> Option<HotAccept> {
        Some(HotAccept {
            untainted: true,
            ..HotAccept::default()
        })
    }
}

impl ScorePlugin for TaintToleration {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let mut count = 0;
        for taint in &node.node().taints {
            if taint.effect != TaintEffect::PreferNoSchedule {
                continue;
            }
            let tolerated = pod
                .tolerations
                .iter()
                .filter(|t| matches!(t.effect, None | Some(TaintEffect::PreferNoSchedule)))
                .any(|t| t.tolerates(taint));
            if !tolerated {
                count += 1;
            }
        }
        Ok(count)
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
        if !hot.iter().any(|h| h.has_taints) {
            out.resize(nodes.len(), 0);
            return Ok(());
        }
        out.reserve(nodes.len());
        for (node, h) in nodes.iter().zip(hot) {
            // Most nodes have no taints: count 0 without a call.
            out.push(if !h.has_taints {
                0
            } else {
                self.score(state, pod, node)?
            });
        }
        Ok(())
    }

    fn normalize_scores(
        &self,
        _: &CycleState,
        _: &PodInfo,
        scores: &mut [i64],
    ) -> Result<(), Status> {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
        Ok(())
    }
}
