//! A pod as the scheduler sees it: decoded once, with everything the plugins
//! need per node precomputed (requests, parsed selectors, host ports, images).

use super::labels::Labels;
use super::pod_terms::{OwnerReference, PodAffinityTerms, TopologySpreadConstraint};
use super::raw::{RawContainer, RawPod, RawResourceMap};
use super::resource::{
    pod_requests, ContainerRequests, NonZero, Resource, ResourceList, CPU, MEMORY,
};
use super::selector::{prefilter_node_names, NodeSelector, NodeSelectorTerm, PreferredTerm};
use super::taint::{parse_operator, TaintEffect, Toleration};
use super::DecodeError;
use crate::quantity::Quantity;

/// `spec.schedulerName` when the pod names none.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// A host port a pod uses: `(hostIP, protocol, hostPort)`, sanitized as
/// upstream (`""` → `0.0.0.0`, protocol `""` → `TCP`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// Host IP; `0.0.0.0` binds all.
    pub ip: Box<str>,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: Box<str>,
    /// Port (> 0).
    pub port: i32,
}

/// The wildcard host IP.
pub const BIND_ALL_HOST_IP: &str = "0.0.0.0";

/// A pod decoded for scheduling.
///
/// Contract: all derived fields are computed by [`PodInfo::from_msgpack`]
/// (or [`PodInfo::from_raw`]); plugins read them, never the raw document.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// `metadata.uid`; the cache key (falls back to `namespace/name`).
    pub uid: Box<str>,
    /// `metadata.name`.
    pub name: Box<str>,
    /// `metadata.namespace`.
    pub namespace: Box<str>,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `spec.nodeName` (empty when unscheduled).
    pub node_name: Box<str>,
    /// `spec.schedulerName`, defaulted to [`DEFAULT_SCHEDULER_NAME`].
    pub scheduler_name: Box<str>,
    /// `spec.priority` (0 when absent).
    pub priority: i32,
    /// `spec.schedulingGates[].name`.
    pub scheduling_gates: Vec<Box<str>>,
    /// `spec.nodeSelector`.
    pub node_selector: Labels,
    /// Required node affinity, parsed; `None` when absent.
    pub required_affinity: Option<NodeSelector>,
    /// NodeAffinity PreFilter's node-name restriction (see upstream).
    pub affinity_node_names: Option<Vec<Box<str>>>,
    /// Preferred node affinity terms with non-zero weight; `Err` holds the
    /// parse error of an invalid term.
    pub preferred_affinity: Result<Vec<PreferredTerm>, String>,
    /// `spec.tolerations`.
    pub tolerations: Vec<Toleration>,
    /// Host ports of containers and sidecars (restartable init containers).
    pub host_ports: Vec<HostPort>,
    /// Requests for fitting (upstream `PodRequests`, rounded).
    pub requests: Resource,
    /// cpu/memory requests with scoring defaults for containers that lack them.
    pub non_zero: NonZero,
    /// Container images (init containers first), normalized with `:latest`.
    pub images: Vec<Box<str>>,
    /// `metadata.ownerReferences`.
    pub owner_references: Vec<OwnerReference>,
    /// `metadata.deletionTimestamp` is set (terminating pods are not counted
    /// by PodTopologySpread).
    pub terminating: bool,
    /// `spec.topologySpreadConstraints` parsed (all of them, whatever
    /// `whenUnsatisfiable`; a selector that does not parse is recorded in
    /// its constraint's `selector_error`).
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// Inter-pod affinity and anti-affinity terms; `None` when the pod has
    /// neither `podAffinity` nor `podAntiAffinity`.
    pub pod_affinity: Option<Box<PodAffinityTerms>>,
    /// `spec.preemptionPolicy` is `Never` (DefaultPreemption will not
    /// preempt for it).
    pub preemption_never: bool,
    /// `status.nominatedNodeName` (empty when none).
    pub nominated_node_name: Box<str>,
    /// `status.startTime` in Unix nanoseconds; `None` when unset or
    /// malformed (upstream `GetPodStartTime` then uses "now": later than
    /// any set time).
    pub start_time: Option<i64>,
    /// Terminating with the condition `DisruptionTarget=True` reason
    /// `PreemptionByScheduler` (upstream `podTerminatingByPreemption`).
    pub terminating_by_preemption: bool,
}

impl PodInfo {
    /// Decodes a pod document (msgpack map of the Kubernetes JSON shape).
    pub fn from_msgpack(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw: RawPod = rmp_serde::from_slice(bytes)?;
        Ok(Self::from_raw(&raw))
    }

    /// The cache key: uid, or `namespace/name` when the pod has no uid.
    pub fn key(&self) -> Box<str> {
        if self.uid.is_empty() {
            format!("{}/{}", self.namespace, self.name).into()
        } else {
            self.uid.clone()
        }
    }

    /// True when [`PodInfo::key`] equals `key`, without allocating.
    pub fn has_key(&self, key: &str) -> bool {
        if !self.uid.is_empty() {
            return *self.uid == *key;
        }
        let (ns, name) = (&*self.namespace, &*self.name);
        key.len() == ns.len() + 1 + name.len()
            && key.starts_with(ns)
            && key.as_bytes()[ns.len()] == b'/'
            && key.ends_with(name)
    }

    /// Number of containers, init containers included (ImageLocality's bound).
    pub fn num_containers(&self) -> usize {
        self.images.len()
    }

    pub(crate) fn from_raw(raw: &RawPod) -> Self {
        let spec = &raw.spec;
        let meta = &raw.metadata;
        let node_affinity = spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref());
        let required = node_affinity.and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
        let preferred = node_affinity
            .map(|na| {
                na.preferred_during_scheduling_ignored_during_execution
                    .as_slice()
            })
            .unwrap_or_default();
        let preferred_affinity = preferred
            .iter()
            .filter(|p| p.weight != 0)
            .filter_map(|p| match NodeSelectorTerm::parse(&p.preference) {
                Ok(Some(term)) => Some(Ok(PreferredTerm {
                    weight: i64::from(p.weight),
                    term,
                })),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<Vec<_>, _>>();

        let (requests, non_zero) = compute_requests(raw);
        let mut host_ports = Vec::new();
        let mut images = Vec::new();
        for c in &spec.init_containers {
            if is_sidecar(c) {
                push_ports(c, &mut host_ports);
            }
            images.push(normalized_image_name(&c.image));
        }
        for c in &spec.containers {
            push_ports(c, &mut host_ports);
            images.push(normalized_image_name(&c.image));
        }
        let labels = Labels::from_pairs(meta.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let topology_spread_constraints = spec
            .topology_spread_constraints
            .iter()
            .map(|c| TopologySpreadConstraint::parse(c, &labels))
            .collect();
        let (pa, pn) = spec
            .affinity
            .as_ref()
            .map(|a| (a.pod_affinity.as_ref(), a.pod_anti_affinity.as_ref()))
            .unwrap_or_default();
        let pod_affinity = (pa.is_some() || pn.is_some())
            .then(|| Box::new(PodAffinityTerms::parse(&meta.namespace, pa, pn)));
        Self {
            uid: meta.uid.as_str().into(),
            name: meta.name.as_str().into(),
            namespace: meta.namespace.as_str().into(),
            labels,
            node_name: spec.node_name.as_str().into(),
            scheduler_name: if spec.scheduler_name.is_empty() {
                DEFAULT_SCHEDULER_NAME.into()
            } else {
                spec.scheduler_name.as_str().into()
            },
            priority: spec.priority.unwrap_or(0),
            scheduling_gates: spec
                .scheduling_gates
                .iter()
                .map(|g| g.name.as_str().into())
                .collect(),
            node_selector: Labels::from_pairs(
                spec.node_selector
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            required_affinity: required.map(|r| NodeSelector::parse(&r.node_selector_terms)),
            affinity_node_names: required
                .and_then(|r| prefilter_node_names(&r.node_selector_terms)),
            preferred_affinity,
            tolerations: spec
                .tolerations
                .iter()
                .map(|t| Toleration {
                    key: t.key.as_str().into(),
                    operator: parse_operator(&t.operator),
                    value: t.value.as_str().into(),
                    effect: (!t.effect.is_empty()).then(|| TaintEffect::parse(&t.effect)),
                })
                .collect(),
            host_ports,
            requests,
            non_zero,
            images,
            owner_references: meta
                .owner_references
                .iter()
                .map(OwnerReference::from_raw)
                .collect(),
            terminating: meta.deletion_timestamp.is_some(),
            topology_spread_constraints,
            pod_affinity,
            preemption_never: spec.preemption_policy.as_deref() == Some("Never"),
            nominated_node_name: raw.status.nominated_node_name.as_str().into(),
            start_time: raw
                .status
                .start_time
                .as_deref()
                .and_then(super::time::parse_rfc3339_nanos),
            terminating_by_preemption: meta.deletion_timestamp.is_some()
                && raw
                    .status
                    .conditions
                    .iter()
                    .find(|c| c.type_ == "DisruptionTarget")
                    .is_some_and(|c| c.status == "True" && c.reason == "PreemptionByScheduler"),
        }
    }

    /// The pod's affinity terms, or an empty set.
    pub fn affinity_terms(&self) -> &PodAffinityTerms {
        static EMPTY: PodAffinityTerms = PodAffinityTerms {
            required_affinity: Vec::new(),
            required_anti_affinity: Vec::new(),
            preferred_affinity: Vec::new(),
            preferred_anti_affinity: Vec::new(),
            parse_error: None,
        };
        self.pod_affinity.as_deref().unwrap_or(&EMPTY)
    }

    /// True when the pod has inter-pod affinity or anti-affinity terms
    /// (upstream `PodsWithAffinity` membership).
    pub fn has_pod_affinity(&self) -> bool {
        self.pod_affinity.as_ref().is_some_and(|a| a.has_any())
    }

    /// True when the pod has required anti-affinity terms (upstream
    /// `PodsWithRequiredAntiAffinity` membership).
    pub fn has_required_anti_affinity(&self) -> bool {
        self.pod_affinity
            .as_ref()
            .is_some_and(|a| !a.required_anti_affinity.is_empty())
    }

    /// The controller owner reference (upstream `GetControllerOf`).
    pub fn controller_ref(&self) -> Option<&OwnerReference> {
        self.owner_references.iter().find(|o| o.controller)
    }
}

fn is_sidecar(c: &RawContainer) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn push_ports(c: &RawContainer, out: &mut Vec<HostPort>) {
    for p in &c.ports {
        if p.host_port <= 0 {
            continue;
        }
        out.push(HostPort {
            ip: if p.host_ip.is_empty() {
                BIND_ALL_HOST_IP
            } else {
                &p.host_ip
            }
            .into(),
            protocol: if p.protocol.is_empty() {
                "TCP"
            } else {
                &p.protocol
            }
            .into(),
            port: p.host_port,
        });
    }
}

/// Upstream ImageLocality's `normalizedImageName`: appends `:latest` when the
/// name has no tag after its last `/`.
pub(crate) fn normalized_image_name(name: &str) -> Box<str> {
    let colon = name.rfind(':').map_or(-1, |i| i as isize);
    let slash = name.rfind('/').map_or(-1, |i| i as isize);
    if colon <= slash {
        format!("{name}:latest").into()
    } else {
        name.into()
    }
}

fn to_list(m: &RawResourceMap) -> ResourceList {
    ResourceList(m.iter().map(|(k, v)| (k.as_str().into(), v.0)).collect())
}

/// A container's effective requests: `requests`, with a `limits` entry
/// standing in for each missing request (the apiserver's defaulting).
fn container_requests(c: &RawContainer) -> ResourceList {
    let mut r = to_list(&c.resources.requests);
    for (k, v) in &c.resources.limits {
        if r.get(k).is_none() {
            r.set(k, v.0);
        }
    }
    r
}

fn compute_requests(raw: &RawPod) -> (Resource, NonZero) {
    let spec = &raw.spec;
    let containers: Vec<ResourceList> = spec.containers.iter().map(container_requests).collect();
    let inits: Vec<ResourceList> = spec
        .init_containers
        .iter()
        .map(container_requests)
        .collect();
    let cs: Vec<ContainerRequests<'_>> = containers
        .iter()
        .map(|r| ContainerRequests {
            requests: r,
            sidecar: false,
        })
        .collect();
    let is: Vec<ContainerRequests<'_>> = inits
        .iter()
        .zip(&spec.init_containers)
        .map(|(r, c)| ContainerRequests {
            requests: r,
            sidecar: is_sidecar(c),
        })
        .collect();
    let pod_level = spec.resources.as_ref().map(|r| to_list(&r.requests));
    let overhead = to_list(&spec.overhead);
    let exact = pod_requests(&cs, &is, pod_level.as_ref(), &overhead, None);
    let defaults = ResourceList(
        [
            (
                Box::<str>::from(CPU),
                Quantity::from_milli(super::DEFAULT_MILLI_CPU_REQUEST),
            ),
            (
                Box::<str>::from(MEMORY),
                Quantity::from_units(super::DEFAULT_MEMORY_REQUEST),
            ),
        ]
        .into_iter()
        .collect(),
    );
    let nz = pod_requests(&cs, &is, pod_level.as_ref(), &overhead, Some(&defaults));
    let mut requests = Resource::default();
    requests.add_list(&exact);
    let non_zero = NonZero {
        milli_cpu: nz.get(CPU).unwrap_or_default().milli_value(),
        memory: nz.get(MEMORY).unwrap_or_default().value(),
    };
    (requests, non_zero)
}
