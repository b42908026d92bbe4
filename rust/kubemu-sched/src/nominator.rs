//! Nominated pods (upstream's `nominator` in the scheduling queue): pending
//! pods with `status.nominatedNodeName`, or nominated by this scheduler's
//! preemption, per node. Filtering a pod counts the pods nominated to a node
//! with an equal or higher priority as if they ran there
//! ([`crate::framework::Handle::run_filters_with_nominated_pods`]).

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::PodInfo;

/// The `namespace/name` of a pod: how the nominator names pods.
pub fn nominator_key(pod: &PodInfo) -> String {
    format!("{}/{}", pod.namespace, pod.name)
}

/// True when `pod`, filtered on a node where `nominated` is nominated, must
/// count it as running there (upstream `RunFilterPluginsWithNominatedPods`):
/// its priority is ≥ the pod's and it is not the pod itself (same
/// `namespace/name`).
pub fn must_yield_to(pod: &PodInfo, nominated: &PodInfo) -> bool {
    nominated.priority >= pod.priority
        && (nominated.namespace != pod.namespace || nominated.name != pod.name)
}

/// Node name → nominated pods (in nomination order), and pod → node.
#[derive(Clone, Debug, Default)]
pub struct Nominator {
    by_node: HashMap<Box<str>, Vec<Arc<PodInfo>>>,
    by_pod: HashMap<String, Box<str>>,
}

impl Nominator {
    /// Nominates `pod` to `node` (replacing an earlier nomination of the
    /// same `namespace/name`); an empty `node` only removes it.
    pub fn add(&mut self, pod: Arc<PodInfo>, node: &str) {
        let key = nominator_key(&pod);
        self.remove(&key);
        if node.is_empty() {
            return;
        }
        self.by_node.entry(node.into()).or_default().push(pod);
        self.by_pod.insert(key, node.into());
    }

    /// Drops the nomination of `namespace/name`; returns its node if any.
    pub fn remove(&mut self, key: &str) -> Option<Box<str>> {
        let node = self.by_pod.remove(key)?;
        if let Some(list) = self.by_node.get_mut(&node) {
            list.retain(|p| nominator_key(p) != key);
            if list.is_empty() {
                self.by_node.remove(&node);
            }
        }
        Some(node)
    }

    /// The pods nominated to `node`, in nomination order.
    pub fn pods_for_node(&self, node: &str) -> &[Arc<PodInfo>] {
        self.by_node.get(node).map_or(&[], Vec::as_slice)
    }

    /// The nodes with nominated pods and their pods (in nomination order),
    /// nodes in no particular order.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &[Arc<PodInfo>])> + '_ {
        self.by_node.iter().map(|(n, v)| (&**n, v.as_slice()))
    }

    /// The node `namespace/name` is nominated to.
    pub fn node_of(&self, key: &str) -> Option<&str> {
        self.by_pod.get(key).map(|n| &**n)
    }

    /// True when no pod is nominated (the filter loop's fast path).
    pub fn is_empty(&self) -> bool {
        self.by_pod.is_empty()
    }

    /// Number of nominated pods.
    pub fn len(&self) -> usize {
        self.by_pod.len()
    }
}
