//! PrioritySort: the active queue's order — higher `spec.priority` first,
//! then earlier queue timestamp.

use std::sync::Arc;

use crate::framework::{ConfigError, Plugin, PluginArgs, QueueSortPlugin, QueuedPod};

pub use super::names::PRIORITY_SORT as NAME;

/// The plugin (no args).
#[derive(Debug, Default)]
pub struct PrioritySort;

/// Registry factory.
pub fn factory(_: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(PrioritySort))
}

impl Plugin for PrioritySort {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_queue_sort(&self) -> Option<&dyn QueueSortPlugin> {
        Some(self)
    }
}

impl QueueSortPlugin for PrioritySort {
    fn less(&self, a: &QueuedPod<'_>, b: &QueuedPod<'_>) -> bool {
        let (p1, p2) = (a.pod.priority, b.pod.priority);
        p1 > p2 || (p1 == p2 && a.timestamp < b.timestamp)
    }
}
