//! Plugin names (upstream `plugins/names`).

/// PrioritySort.
pub const PRIORITY_SORT: &str = "PrioritySort";
/// SchedulingGates.
pub const SCHEDULING_GATES: &str = "SchedulingGates";
/// NodeUnschedulable.
pub const NODE_UNSCHEDULABLE: &str = "NodeUnschedulable";
/// NodeName.
pub const NODE_NAME: &str = "NodeName";
/// TaintToleration.
pub const TAINT_TOLERATION: &str = "TaintToleration";
/// NodeAffinity.
pub const NODE_AFFINITY: &str = "NodeAffinity";
/// NodePorts.
pub const NODE_PORTS: &str = "NodePorts";
/// NodeResourcesFit.
pub const NODE_RESOURCES_FIT: &str = "NodeResourcesFit";
/// NodeResourcesBalancedAllocation.
pub const NODE_RESOURCES_BALANCED_ALLOCATION: &str = "NodeResourcesBalancedAllocation";
/// ImageLocality.
pub const IMAGE_LOCALITY: &str = "ImageLocality";
/// PodTopologySpread.
pub const POD_TOPOLOGY_SPREAD: &str = "PodTopologySpread";
/// InterPodAffinity.
pub const INTER_POD_AFFINITY: &str = "InterPodAffinity";
/// DefaultPreemption.
pub const DEFAULT_PREEMPTION: &str = "DefaultPreemption";
/// DefaultBinder (later).
pub const DEFAULT_BINDER: &str = "DefaultBinder";
