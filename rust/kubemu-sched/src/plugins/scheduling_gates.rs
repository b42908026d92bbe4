//! SchedulingGates: a pod with `spec.schedulingGates` stays out of the active
//! queue (PreEnqueue), with upstream's message.

use std::sync::Arc;

use crate::framework::{ConfigError, Plugin, PluginArgs, PreEnqueuePlugin, Status};
use crate::model::PodInfo;

pub use super::names::SCHEDULING_GATES as NAME;

/// The plugin (no args).
#[derive(Debug, Default)]
pub struct SchedulingGates;

/// Registry factory.
pub fn factory(_: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(SchedulingGates))
}

impl Plugin for SchedulingGates {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_enqueue(&self) -> Option<&dyn PreEnqueuePlugin> {
        Some(self)
    }
}

impl PreEnqueuePlugin for SchedulingGates {
    /// `UnschedulableAndUnresolvable` "waiting for scheduling gates: [a b]"
    /// (Go's `%v` of a string slice) when the pod has gates.
    fn pre_enqueue(&self, pod: &PodInfo) -> Result<(), Status> {
        if pod.scheduling_gates.is_empty() {
            return Ok(());
        }
        Err(Status::unresolvable(format!(
            "waiting for scheduling gates: [{}]",
            pod.scheduling_gates.join(" ")
        )))
    }
}
