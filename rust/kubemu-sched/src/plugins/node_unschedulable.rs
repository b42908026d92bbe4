//! NodeUnschedulable: rejects nodes with `spec.unschedulable` unless the pod
//! tolerates the `node.kubernetes.io/unschedulable:NoSchedule` taint.

use std::sync::Arc;

use crate::cache::NodeInfo;
use crate::framework::{
    ConfigError, CycleState, FilterPlugin, HotAccept, Plugin, PluginArgs, Status,
};
use crate::model::{PodInfo, Taint, TaintEffect};

pub use super::names::NODE_UNSCHEDULABLE as NAME;

/// Upstream `ErrReasonUnschedulable`.
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// The taint an unschedulable node counts as.
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The plugin (no args).
#[derive(Debug, Default)]
pub struct NodeUnschedulable;

/// Registry factory.
pub fn factory(_: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(NodeUnschedulable))
}

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        if !node.hot().unschedulable {
            return Ok(());
        }
        let taint = Taint {
            key: TAINT_NODE_UNSCHEDULABLE.into(),
            value: "".into(),
            effect: TaintEffect::NoSchedule,
        };
        if pod.tolerations.iter().any(|t| t.tolerates(&taint)) {
            Ok(())
        } else {
            Err(Status::unresolvable(ERR_REASON_UNSCHEDULABLE))
        }
    }

    /// Schedulable nodes pass.
    fn hot_accept(&self, _: &CycleState, _: &PodInfo) -> Option<HotAccept> {
        Some(HotAccept {
            schedulable: true,
            ..HotAccept::default()
        })
    }
}
