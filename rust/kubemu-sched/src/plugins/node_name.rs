//! NodeName: a pod with `spec.nodeName` fits only that node.
//!
//! PreFilter returns `Skip` for pods without `spec.nodeName` (the Filter
//! would accept every node), which saves a call per node.

use std::sync::Arc;

use crate::cache::NodeInfo;
use crate::framework::{
    ConfigError, CycleState, FilterPlugin, Plugin, PluginArgs, PreFilterPlugin, PreFilterResult,
    Snapshot, Status,
};
use crate::model::PodInfo;

pub use super::names::NODE_NAME as NAME;

/// Upstream `ErrReason`.
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

/// The plugin (no args).
#[derive(Debug, Default)]
pub struct NodeName;

/// Registry factory.
pub fn factory(_: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(NodeName))
}

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for NodeName {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
    ) -> Result<PreFilterResult, Status> {
        if pod.node_name.is_empty() {
            Err(Status::skip())
        } else {
            Ok(PreFilterResult::all())
        }
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        if pod.node_name.is_empty() || *pod.node_name == *node.name() {
            Ok(())
        } else {
            Err(Status::unresolvable(ERR_REASON))
        }
    }
}
