//! PodDisruptionBudgets as preemption reads them (upstream
//! `filterPodsWithPDBViolation`): namespace, selector, `disruptionsAllowed`
//! and the pods already counted as disrupted.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::raw::{nullable, RawLabelSelector, RawMeta};
use crate::model::{DecodeError, LabelSelector, PodInfo};

/// One PodDisruptionBudget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pdb {
    /// `metadata.namespace`.
    pub namespace: Box<str>,
    /// `metadata.name`.
    pub name: Box<str>,
    /// `spec.selector`; `None` when it does not parse (then it matches
    /// nothing, as upstream skips a PDB whose selector is invalid).
    pub selector: Option<LabelSelector>,
    /// `status.disruptionsAllowed`.
    pub disruptions_allowed: i32,
    /// `status.disruptedPods` keys (pod names).
    pub disrupted_pods: Vec<Box<str>>,
}

impl Pdb {
    /// Decodes a PodDisruptionBudget document (msgpack of the JSON shape).
    /// A document without `metadata.name` is an error.
    pub fn from_msgpack(bytes: &[u8]) -> Result<Self, DecodeError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Doc {
            #[serde(deserialize_with = "nullable")]
            metadata: RawMeta,
            #[serde(deserialize_with = "nullable")]
            spec: Spec,
            #[serde(deserialize_with = "nullable")]
            status: Status,
        }
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Spec {
            selector: Option<RawLabelSelector>,
        }
        #[derive(Deserialize, Default)]
        #[serde(default, rename_all = "camelCase")]
        struct Status {
            #[serde(deserialize_with = "nullable")]
            disruptions_allowed: i32,
            #[serde(deserialize_with = "nullable")]
            disrupted_pods: BTreeMap<String, serde::de::IgnoredAny>,
        }
        let d: Doc = rmp_serde::from_slice(bytes)?;
        if d.metadata.name.is_empty() {
            return Err(DecodeError(
                "poddisruptionbudget has no metadata.name".into(),
            ));
        }
        Ok(Self {
            namespace: d.metadata.namespace.as_str().into(),
            name: d.metadata.name.as_str().into(),
            selector: LabelSelector::parse(d.spec.selector.as_ref()).ok(),
            disruptions_allowed: d.status.disruptions_allowed,
            disrupted_pods: d
                .status
                .disrupted_pods
                .keys()
                .map(|k| k.as_str().into())
                .collect(),
        })
    }

    /// True when the budget covers `pod`: same namespace, a non-empty
    /// selector that matches the pod's labels (a nil or empty selector
    /// matches nothing here, as upstream).
    pub fn covers(&self, pod: &PodInfo) -> bool {
        *self.namespace == *pod.namespace
            && self
                .selector
                .as_ref()
                .is_some_and(|s| !s.is_empty() && s.matches(&pod.labels))
    }
}

/// The budgets known to the scheduler, keyed by `namespace/name`, listed in
/// key order.
#[derive(Clone, Debug, Default)]
pub struct PdbList {
    by_key: BTreeMap<String, Pdb>,
}

impl PdbList {
    /// Adds or replaces a budget.
    pub fn set(&mut self, pdb: Pdb) {
        self.by_key
            .insert(format!("{}/{}", pdb.namespace, pdb.name), pdb);
    }

    /// Removes `namespace/name`; false if unknown.
    pub fn remove(&mut self, namespace: &str, name: &str) -> bool {
        self.by_key.remove(&format!("{namespace}/{name}")).is_some()
    }

    /// The budgets, in `namespace/name` order.
    pub fn iter(&self) -> impl Iterator<Item = &Pdb> + '_ {
        self.by_key.values()
    }

    /// Number of budgets.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// Upstream `filterPodsWithPDBViolation`: splits `pods` (in order) into
/// those whose eviction would violate a budget and the others. Each pod
/// covered by a budget (and not already in its `disruptedPods`) uses one of
/// that budget's allowed disruptions; a pod is violating when some covering
/// budget goes below zero. Unlabelled pods match no budget.
pub fn split_by_violation<'a, T: AsRef<PodInfo>>(
    pods: &'a [T],
    pdbs: &PdbList,
) -> (Vec<&'a T>, Vec<&'a T>) {
    let list: Vec<&Pdb> = pdbs.iter().collect();
    let mut allowed: Vec<i32> = list.iter().map(|p| p.disruptions_allowed).collect();
    let (mut violating, mut non_violating) = (Vec::new(), Vec::new());
    for p in pods {
        let pod = p.as_ref();
        let mut violated = false;
        if !pod.labels.is_empty() {
            for (i, pdb) in list.iter().enumerate() {
                if !pdb.covers(pod) || pdb.disrupted_pods.contains(&pod.name) {
                    continue;
                }
                allowed[i] -= 1;
                if allowed[i] < 0 {
                    violated = true;
                }
            }
        }
        if violated {
            violating.push(p);
        } else {
            non_violating.push(p);
        }
    }
    (violating, non_violating)
}
