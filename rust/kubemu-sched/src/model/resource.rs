//! Resource amounts and upstream's pod request arithmetic.
//!
//! - [`ResourceList`]: exact quantities by resource name (a pod's requests
//!   before rounding), summed and maxed as upstream's `PodRequests`.
//! - [`Resource`]: rounded amounts as upstream's `framework.Resource`: cpu in
//!   millicores (`MilliValue`), everything else in units (`Value`), extended
//!   and other scalar resources by name.

use smallvec::SmallVec;

use crate::quantity::Quantity;

/// Millicores a container without a cpu request counts as, for scoring only
/// (upstream `schedutil.DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Bytes a container without a memory request counts as, for scoring only
/// (upstream `schedutil.DefaultMemoryRequest`, 200Mi).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

pub(crate) const CPU: &str = "cpu";
pub(crate) const MEMORY: &str = "memory";
pub(crate) const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
pub(crate) const PODS: &str = "pods";

/// True for resources upstream tracks as scalars: extended resources
/// (`example.com/gpu`), `kubernetes.io/`-prefixed ones, `hugepages-*` and
/// `attachable-volumes-*`. Names under `requests.` are quota names, not
/// resources.
pub fn is_scalar_resource_name(name: &str) -> bool {
    (name.contains('/') && !name.starts_with("requests."))
        || name.starts_with("hugepages-")
        || name.starts_with("attachable-volumes-")
}

/// Exact quantities by resource name, in name order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceList(pub SmallVec<[(Box<str>, Quantity); 4]>);

impl ResourceList {
    /// The quantity of `name`, if listed.
    pub fn get(&self, name: &str) -> Option<Quantity> {
        self.0.iter().find(|(n, _)| &**n == name).map(|(_, q)| *q)
    }

    fn slot(&mut self, name: &str) -> &mut Quantity {
        let i = match self.0.iter().position(|(n, _)| &**n == name) {
            Some(i) => i,
            None => {
                self.0.push((name.into(), Quantity::ZERO));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    /// Sets `name` to `q` (upstream `list[name] = q`).
    pub fn set(&mut self, name: &str, q: Quantity) {
        *self.slot(name) = q;
    }

    /// Adds every entry of `other` (upstream `addResourceList`).
    pub fn add(&mut self, other: &ResourceList) {
        for (n, q) in &other.0 {
            let s = self.slot(n);
            *s = s.saturating_add(*q);
        }
    }

    /// Raises each entry to `other`'s where that is larger, adding missing
    /// ones (upstream `maxResourceList`).
    pub fn max(&mut self, other: &ResourceList) {
        for (n, q) in &other.0 {
            let s = self.slot(n);
            if *q > *s {
                *s = *q;
            }
        }
    }

    /// A copy where each of `defaults` missing from `self` is added (upstream
    /// `applyNonMissing`: an explicit zero stays zero).
    pub fn with_non_missing(&self, defaults: &ResourceList) -> ResourceList {
        let mut out = self.clone();
        for (n, q) in &defaults.0 {
            if self.get(n).is_none() {
                out.set(n, *q);
            }
        }
        out
    }
}

/// Rounded resource amounts (upstream `framework.Resource`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// Millicores.
    pub milli_cpu: i64,
    /// Bytes.
    pub memory: i64,
    /// Bytes.
    pub ephemeral_storage: i64,
    /// The `pods` resource (allocatable only).
    pub allowed_pod_number: i64,
    /// Scalar resources ([`is_scalar_resource_name`]) by name.
    pub scalar: SmallVec<[(Box<str>, i64); 2]>,
}

impl Resource {
    /// Adds a list, rounding each entry as upstream's `Resource.Add`; names
    /// that are neither native nor scalar are ignored.
    pub fn add_list(&mut self, list: &ResourceList) {
        for (n, q) in &list.0 {
            match &**n {
                CPU => self.milli_cpu = self.milli_cpu.saturating_add(q.milli_value()),
                MEMORY => self.memory = self.memory.saturating_add(q.value()),
                EPHEMERAL_STORAGE => {
                    self.ephemeral_storage = self.ephemeral_storage.saturating_add(q.value())
                }
                PODS => self.allowed_pod_number = self.allowed_pod_number.saturating_add(q.value()),
                name if is_scalar_resource_name(name) => self.add_scalar(name, q.value()),
                _ => {}
            }
        }
    }

    /// The amount of scalar `name` (0 when absent).
    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar
            .iter()
            .find(|(n, _)| &**n == name)
            .map_or(0, |(_, v)| *v)
    }

    /// True when `name` is listed among the scalars.
    pub fn has_scalar(&self, name: &str) -> bool {
        self.scalar.iter().any(|(n, _)| &**n == name)
    }

    /// Adds `v` to scalar `name`.
    pub fn add_scalar(&mut self, name: &str, v: i64) {
        match self.scalar.iter_mut().find(|(n, _)| &**n == name) {
            Some((_, x)) => *x = x.saturating_add(v),
            None => self.scalar.push((name.into(), v)),
        }
    }

    /// Adds all of `other` (pod number included).
    pub fn add(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_add(other.ephemeral_storage);
        self.allowed_pod_number = self
            .allowed_pod_number
            .saturating_add(other.allowed_pod_number);
        for (n, v) in &other.scalar {
            self.add_scalar(n, *v);
        }
    }

    /// Subtracts all of `other` (the inverse of [`Resource::add`]).
    pub fn sub(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_sub(other.ephemeral_storage);
        self.allowed_pod_number = self
            .allowed_pod_number
            .saturating_sub(other.allowed_pod_number);
        for (n, v) in &other.scalar {
            self.add_scalar(n, v.saturating_neg());
        }
    }

    /// The amount of `name`: cpu in millicores, others in units.
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.milli_cpu,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.allowed_pod_number,
            _ => self.scalar(name),
        }
    }

    /// True when nothing is requested (upstream's early return in `fitsRequest`).
    pub fn is_empty_request(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.is_empty()
    }
}

/// A pod's cpu and memory requests with upstream's scoring defaults for
/// containers that request none ([`DEFAULT_MILLI_CPU_REQUEST`],
/// [`DEFAULT_MEMORY_REQUEST`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NonZero {
    /// Millicores.
    pub milli_cpu: i64,
    /// Bytes.
    pub memory: i64,
}

impl NonZero {
    /// Adds `o`.
    pub fn add(&mut self, o: NonZero) {
        self.milli_cpu = self.milli_cpu.saturating_add(o.milli_cpu);
        self.memory = self.memory.saturating_add(o.memory);
    }

    /// Subtracts `o`.
    pub fn sub(&mut self, o: NonZero) {
        self.milli_cpu = self.milli_cpu.saturating_sub(o.milli_cpu);
        self.memory = self.memory.saturating_sub(o.memory);
    }
}

/// One container's requests, and whether it is a restartable init container
/// (a sidecar: `restartPolicy: Always`).
pub(crate) struct ContainerRequests<'a> {
    pub requests: &'a ResourceList,
    pub sidecar: bool,
}

/// Upstream `resourcehelper.PodRequests`: the sum of the containers' requests
/// (sidecars included) raised to each init container's need (an init
/// container runs alongside the sidecars started before it), then pod-level
/// requests replace cpu/memory where set, then overhead is added.
/// `non_missing` is added to each container lacking those resources.
pub(crate) fn pod_requests(
    containers: &[ContainerRequests<'_>],
    init_containers: &[ContainerRequests<'_>],
    pod_level: Option<&ResourceList>,
    overhead: &ResourceList,
    non_missing: Option<&ResourceList>,
) -> ResourceList {
    let adjust = |r: &ResourceList| match non_missing {
        Some(d) => r.with_non_missing(d),
        None => r.clone(),
    };
    let mut reqs = ResourceList::default();
    for c in containers {
        reqs.add(&adjust(c.requests));
    }
    let mut restartable = ResourceList::default();
    let mut init = ResourceList::default();
    for c in init_containers {
        let r = adjust(c.requests);
        if c.sidecar {
            reqs.add(&r);
            restartable.add(&r);
            init.max(&restartable);
        } else {
            let mut tmp = r;
            tmp.add(&restartable);
            init.max(&tmp);
        }
    }
    reqs.max(&init);
    if let Some(pl) = pod_level {
        for (n, q) in &pl.0 {
            if &**n == CPU || &**n == MEMORY || n.starts_with("hugepages-") {
                reqs.set(n, *q);
            }
        }
    }
    reqs.add(overhead);
    reqs
}
