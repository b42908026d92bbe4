//! The scorer shared by NodeResourcesFit and BalancedAllocation (upstream
//! `noderesources/resource_allocation.go`): per configured resource, the
//! node's allocatable and requested-after-placing-this-pod amounts.

use serde::Deserialize;
use smallvec::SmallVec;

use crate::cache::{NodeHot, NodeInfo};
use crate::framework::ConfigError;
use crate::model::{is_scalar_resource_name, PodInfo};

/// A resource and its weight (upstream `ResourceSpec`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpec {
    /// Resource name.
    pub name: String,
    /// Weight (1..=100).
    #[serde(default = "one")]
    pub weight: i64,
}

fn one() -> i64 {
    1
}

/// The default resources: cpu and memory, weight 1.
pub fn default_resources() -> Vec<ResourceSpec> {
    vec![
        ResourceSpec {
            name: "cpu".into(),
            weight: 1,
        },
        ResourceSpec {
            name: "memory".into(),
            weight: 1,
        },
    ]
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Cpu,
    Memory,
    Ephemeral,
    Scalar(Box<str>),
    Unknown,
}

/// Per-node requested/allocatable vectors for a fixed resource list.
#[derive(Clone, Debug)]
pub struct ResourceAllocation {
    kinds: Vec<Kind>,
    /// Weights, parallel to the resources.
    pub weights: Vec<i64>,
    use_requested: bool,
}

/// Up to four resources inline.
pub type Amounts = SmallVec<[i64; 4]>;

impl ResourceAllocation {
    /// Builds the scorer; `use_requested` reads the node's real requests
    /// (BalancedAllocation) instead of the non-zero ones (Fit's strategies).
    /// Weights must lie in 1..=100 (`field` names the args field in errors).
    pub fn new(
        resources: &[ResourceSpec],
        use_requested: bool,
        field: &str,
    ) -> Result<Self, ConfigError> {
        let mut kinds = Vec::new();
        let mut weights = Vec::new();
        for (i, r) in resources.iter().enumerate() {
            if !(1..=100).contains(&r.weight) {
                return Err(ConfigError(format!(
                    "{field}[{i}].weight: Invalid value: {}: resource weight of {} should be in the range [1, 100]",
                    r.weight, r.name
                )));
            }
            kinds.push(match r.name.as_str() {
                "cpu" => Kind::Cpu,
                "memory" => Kind::Memory,
                "ephemeral-storage" => Kind::Ephemeral,
                n if is_scalar_resource_name(n) => Kind::Scalar(n.into()),
                _ => Kind::Unknown,
            });
            weights.push(r.weight);
        }
        Ok(Self {
            kinds,
            weights,
            use_requested,
        })
    }

    /// True when the resources are exactly `[cpu, memory]` (the default):
    /// [`ResourceAllocation::cpu_memory`] applies.
    pub fn is_cpu_memory(&self) -> bool {
        self.kinds == [Kind::Cpu, Kind::Memory]
    }

    /// [`ResourceAllocation::amounts`] for the `[cpu, memory]` resource list
    /// ([`ResourceAllocation::is_cpu_memory`]) on a node's hot block, with
    /// the pod's requests
    /// `pod_req` (from [`ResourceAllocation::pod_request`]) resolved once per
    /// pod: the same values, without per-resource dispatch.
    #[inline]
    pub fn cpu_memory(&self, pod_req: [i64; 2], h: &NodeHot) -> ([i64; 2], [i64; 2]) {
        let (cpu, mem) = if self.use_requested {
            (h.req_milli_cpu, h.req_memory)
        } else {
            (h.nz_milli_cpu, h.nz_memory)
        };
        let (a0, a1) = (h.alloc_milli_cpu, h.alloc_memory);
        let r0 = if a0 == 0 { 0 } else { cpu + pod_req[0] };
        let r1 = if a1 == 0 { 0 } else { mem + pod_req[1] };
        ([r0, r1], [a0, a1])
    }

    /// The pod's request of resource `i` (upstream
    /// `calculatePodResourceRequest`: non-zero cpu/memory unless `use_requested`).
    pub fn pod_request(&self, pod: &PodInfo, i: usize) -> i64 {
        match &self.kinds[i] {
            Kind::Cpu if self.use_requested => pod.requests.milli_cpu,
            Kind::Cpu => pod.non_zero.milli_cpu,
            Kind::Memory if self.use_requested => pod.requests.memory,
            Kind::Memory => pod.non_zero.memory,
            Kind::Ephemeral => pod.requests.ephemeral_storage,
            Kind::Scalar(n) => pod.requests.scalar(n),
            Kind::Unknown => 0,
        }
    }

    /// True when the pod requests none of the resources (a best-effort pod
    /// for BalancedAllocation).
    pub fn pod_requests_nothing(&self, pod: &PodInfo) -> bool {
        (0..self.kinds.len()).all(|i| self.pod_request(pod, i) == 0)
    }

    /// `(requested, allocatable)` per resource on `node` with the pod placed
    /// (upstream `calculateResourceAllocatableRequest`); both 0 for a
    /// resource the node lacks or an extended resource the pod does not request.
    pub fn amounts(&self, pod: &PodInfo, node: &NodeInfo) -> (Amounts, Amounts) {
        let alloc = &node.node().allocatable;
        let mut requested = Amounts::new();
        let mut allocatable = Amounts::new();
        for (i, k) in self.kinds.iter().enumerate() {
            let p = self.pod_request(pod, i);
            let (a, r) = match k {
                Kind::Cpu => (
                    alloc.milli_cpu,
                    if self.use_requested {
                        node.requested.milli_cpu
                    } else {
                        node.non_zero_requested.milli_cpu
                    } + p,
                ),
                Kind::Memory => (
                    alloc.memory,
                    if self.use_requested {
                        node.requested.memory
                    } else {
                        node.non_zero_requested.memory
                    } + p,
                ),
                Kind::Ephemeral => (
                    alloc.ephemeral_storage,
                    node.requested.ephemeral_storage + p,
                ),
                Kind::Scalar(_) if p == 0 => (0, 0),
                Kind::Scalar(n) if alloc.has_scalar(n) => {
                    (alloc.scalar(n), node.requested.scalar(n) + p)
                }
                _ => (0, 0),
            };
            if a == 0 {
                requested.push(0);
                allocatable.push(0);
            } else {
                requested.push(r);
                allocatable.push(a);
            }
        }
        (requested, allocatable)
    }
}
