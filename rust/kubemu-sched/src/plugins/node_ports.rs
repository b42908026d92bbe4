//! NodePorts: rejects nodes where a wanted host port (containers and
//! sidecars) conflicts with one in use; `0.0.0.0` is a wildcard.
//! PreFilter `Skip`s pods without host ports.

use std::sync::Arc;

use crate::cache::NodeInfo;
use crate::framework::{
    ConfigError, CycleState, FilterPlugin, Plugin, PluginArgs, PreFilterPlugin, PreFilterResult,
    Snapshot, Status,
};
use crate::model::PodInfo;

pub use super::names::NODE_PORTS as NAME;

/// Upstream `ErrReason`.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// The plugin (no args).
#[derive(Debug, Default)]
pub struct NodePorts;

/// Registry factory.
pub fn factory(_: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(NodePorts))
}

impl Plugin for NodePorts {
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

impl PreFilterPlugin for NodePorts {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
    ) -> Result<PreFilterResult, Status> {
        if pod.host_ports.is_empty() {
            Err(Status::skip())
        } else {
            Ok(PreFilterResult::all())
        }
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        let used = node.used_ports();
        if pod.host_ports.iter().any(|p| used.conflicts(p)) {
            Err(Status::unschedulable(ERR_REASON))
        } else {
            Ok(())
        }
    }
}
