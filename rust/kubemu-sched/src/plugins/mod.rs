//! The in-tree plugins, one file each. Every plugin has a name constant (in
//! [`names`]), an args type where it takes args, a `new` constructor and a
//! `factory` for the [`Registry`](crate::Registry), and implements only the
//! extension points it uses.

pub mod default_preemption;
pub mod helper;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod names;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_balanced_allocation;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod priority_sort;
pub mod resource_allocation;
pub mod scheduling_gates;
pub mod taint_toleration;

use crate::framework::PluginFactory;

/// Name → factory of every in-tree plugin (upstream `NewInTreeRegistry`).
pub fn in_tree() -> Vec<(&'static str, PluginFactory)> {
    vec![
        (names::PRIORITY_SORT, priority_sort::factory),
        (names::SCHEDULING_GATES, scheduling_gates::factory),
        (names::NODE_UNSCHEDULABLE, node_unschedulable::factory),
        (names::NODE_NAME, node_name::factory),
        (names::TAINT_TOLERATION, taint_toleration::factory),
        (names::NODE_AFFINITY, node_affinity::factory),
        (names::NODE_PORTS, node_ports::factory),
        (names::NODE_RESOURCES_FIT, node_resources_fit::factory),
        (names::POD_TOPOLOGY_SPREAD, pod_topology_spread::factory),
        (names::INTER_POD_AFFINITY, inter_pod_affinity::factory),
        (
            names::NODE_RESOURCES_BALANCED_ALLOCATION,
            node_resources_balanced_allocation::factory,
        ),
        (names::IMAGE_LOCALITY, image_locality::factory),
        (names::DEFAULT_PREEMPTION, default_preemption::factory),
    ]
}
