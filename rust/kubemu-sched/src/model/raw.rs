//! serde shapes of the Kubernetes JSON fields the scheduler reads.
//!
//! Every struct is `#[serde(default)]` and every non-`Option` field goes
//! through [`nullable`], so absent and `nil` both read as the default; unknown
//! fields are skipped.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::quantity::Quantity;

/// Reads `nil` as `T::default()`.
pub(crate) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A quantity given as a string ("500m"), an integer or a float.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawQuantity(pub Quantity);

impl<'de> Deserialize<'de> for RawQuantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawQuantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity (string or number)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawQuantity, E> {
                Quantity::parse(s).map(RawQuantity).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawQuantity, E> {
                Ok(RawQuantity(Quantity::from_units(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawQuantity, E> {
                let v = i64::try_from(v).map_err(|_| E::custom("quantity out of range"))?;
                Ok(RawQuantity(Quantity::from_units(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawQuantity, E> {
                if !v.is_finite() {
                    return Err(E::custom("quantity is not finite"));
                }
                self.visit_str(&format!("{v}"))
            }
        }
        d.deserialize_any(V)
    }
}

pub(crate) type RawResourceMap = BTreeMap<String, RawQuantity>;

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawMeta {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(deserialize_with = "nullable")]
    pub uid: String,
    #[serde(deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub owner_references: Vec<RawOwnerReference>,
    /// Present (any value) when the object is being deleted.
    pub deletion_timestamp: Option<de::IgnoredAny>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawOwnerReference {
    #[serde(deserialize_with = "nullable")]
    pub api_version: String,
    #[serde(deserialize_with = "nullable")]
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub uid: String,
    pub controller: Option<bool>,
}

/// `metav1.LabelSelector`.
#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawLabelSelector {
    #[serde(deserialize_with = "nullable")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub match_expressions: Vec<RawRequirement>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawTopologySpreadConstraint {
    #[serde(deserialize_with = "nullable")]
    pub max_skew: i32,
    #[serde(deserialize_with = "nullable")]
    pub topology_key: String,
    #[serde(deserialize_with = "nullable")]
    pub when_unsatisfiable: String,
    pub label_selector: Option<RawLabelSelector>,
    pub min_domains: Option<i32>,
    pub node_affinity_policy: Option<String>,
    pub node_taints_policy: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub match_label_keys: Vec<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawPodAffinity {
    #[serde(deserialize_with = "nullable")]
    pub required_during_scheduling_ignored_during_execution: Vec<RawPodAffinityTerm>,
    #[serde(deserialize_with = "nullable")]
    pub preferred_during_scheduling_ignored_during_execution: Vec<RawWeightedPodAffinityTerm>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawPodAffinityTerm {
    pub label_selector: Option<RawLabelSelector>,
    #[serde(deserialize_with = "nullable")]
    pub namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub topology_key: String,
    pub namespace_selector: Option<RawLabelSelector>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawWeightedPodAffinityTerm {
    #[serde(deserialize_with = "nullable")]
    pub weight: i32,
    #[serde(deserialize_with = "nullable")]
    pub pod_affinity_term: RawPodAffinityTerm,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawPod {
    #[serde(deserialize_with = "nullable")]
    pub metadata: RawMeta,
    #[serde(deserialize_with = "nullable")]
    pub spec: RawPodSpec,
    #[serde(deserialize_with = "nullable")]
    pub status: RawPodStatus,
}

/// The `status` fields preemption reads.
#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawPodStatus {
    #[serde(deserialize_with = "nullable")]
    pub nominated_node_name: String,
    /// RFC 3339 (`2006-01-02T15:04:05Z`, optional fraction and offset).
    pub start_time: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub conditions: Vec<RawPodCondition>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawPodCondition {
    #[serde(rename = "type", deserialize_with = "nullable")]
    pub type_: String,
    #[serde(deserialize_with = "nullable")]
    pub status: String,
    #[serde(deserialize_with = "nullable")]
    pub reason: String,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawPodSpec {
    #[serde(deserialize_with = "nullable")]
    pub node_name: String,
    #[serde(deserialize_with = "nullable")]
    pub scheduler_name: String,
    pub priority: Option<i32>,
    pub preemption_policy: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub containers: Vec<RawContainer>,
    #[serde(deserialize_with = "nullable")]
    pub init_containers: Vec<RawContainer>,
    #[serde(deserialize_with = "nullable")]
    pub overhead: RawResourceMap,
    /// Pod-level resources (`spec.resources`, PodLevelResources).
    pub resources: Option<RawResources>,
    #[serde(deserialize_with = "nullable")]
    pub node_selector: BTreeMap<String, String>,
    pub affinity: Option<RawAffinity>,
    #[serde(deserialize_with = "nullable")]
    pub tolerations: Vec<RawToleration>,
    #[serde(deserialize_with = "nullable")]
    pub scheduling_gates: Vec<RawGate>,
    #[serde(deserialize_with = "nullable")]
    pub topology_spread_constraints: Vec<RawTopologySpreadConstraint>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawContainer {
    #[serde(deserialize_with = "nullable")]
    pub image: String,
    #[serde(deserialize_with = "nullable")]
    pub resources: RawResources,
    #[serde(deserialize_with = "nullable")]
    pub ports: Vec<RawPort>,
    pub restart_policy: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawResources {
    #[serde(deserialize_with = "nullable")]
    pub requests: RawResourceMap,
    #[serde(deserialize_with = "nullable")]
    pub limits: RawResourceMap,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawPort {
    #[serde(deserialize_with = "nullable")]
    pub host_port: i32,
    #[serde(deserialize_with = "nullable")]
    pub protocol: String,
    #[serde(rename = "hostIP", deserialize_with = "nullable")]
    pub host_ip: String,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawAffinity {
    pub node_affinity: Option<RawNodeAffinity>,
    pub pod_affinity: Option<RawPodAffinity>,
    pub pod_anti_affinity: Option<RawPodAffinity>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawNodeAffinity {
    pub required_during_scheduling_ignored_during_execution: Option<RawNodeSelector>,
    #[serde(deserialize_with = "nullable")]
    pub preferred_during_scheduling_ignored_during_execution: Vec<RawPreferredTerm>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawNodeSelector {
    #[serde(deserialize_with = "nullable")]
    pub node_selector_terms: Vec<RawTerm>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawTerm {
    #[serde(deserialize_with = "nullable")]
    pub match_expressions: Vec<RawRequirement>,
    #[serde(deserialize_with = "nullable")]
    pub match_fields: Vec<RawRequirement>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawRequirement {
    #[serde(deserialize_with = "nullable")]
    pub key: String,
    #[serde(deserialize_with = "nullable")]
    pub operator: String,
    #[serde(deserialize_with = "nullable")]
    pub values: Vec<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawPreferredTerm {
    #[serde(deserialize_with = "nullable")]
    pub weight: i32,
    #[serde(deserialize_with = "nullable")]
    pub preference: RawTerm,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawToleration {
    #[serde(deserialize_with = "nullable")]
    pub key: String,
    #[serde(deserialize_with = "nullable")]
    pub operator: String,
    #[serde(deserialize_with = "nullable")]
    pub value: String,
    #[serde(deserialize_with = "nullable")]
    pub effect: String,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawGate {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawNode {
    #[serde(deserialize_with = "nullable")]
    pub metadata: RawMeta,
    #[serde(deserialize_with = "nullable")]
    pub spec: RawNodeSpec,
    #[serde(deserialize_with = "nullable")]
    pub status: RawNodeStatus,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawNodeSpec {
    #[serde(deserialize_with = "nullable")]
    pub unschedulable: bool,
    #[serde(deserialize_with = "nullable")]
    pub taints: Vec<RawTaint>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawTaint {
    #[serde(deserialize_with = "nullable")]
    pub key: String,
    #[serde(deserialize_with = "nullable")]
    pub value: String,
    #[serde(deserialize_with = "nullable")]
    pub effect: String,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct RawNodeStatus {
    #[serde(deserialize_with = "nullable")]
    pub allocatable: RawResourceMap,
    #[serde(deserialize_with = "nullable")]
    pub images: Vec<RawImage>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawImage {
    #[serde(deserialize_with = "nullable")]
    pub names: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub size_bytes: i64,
}
