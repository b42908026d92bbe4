//! The node cache: what is on each node, updated incrementally from node and
//! pod events and from the scheduler's own assumptions.
//!
//! It plays both roles of upstream's cache and snapshot: the scheduler runs
//! one cycle at a time on `&Cache`, then assumes the chosen pod with
//! `&mut Cache`, so no copy is needed.
//!
//! Node order (what the sampling walks) follows upstream's `nodeTree`: zones
//! (`Node::zone_key`) in order of first appearance, nodes within a zone in
//! insertion order, and the list interleaves the zones one node at a time.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::affinity_index::AffinityIndex;
use crate::label_ids::{LabelInterner, NodeLabelIds};
use crate::model::{
    raw::RawMeta, DecodeError, HostPort, Labels, Node, NonZero, PodInfo, Resource, BIND_ALL_HOST_IP,
};

/// Index of a node slot in the cache (stable while the node exists).
pub type NodeIdx = u32;
/// Interned image name.
pub type ImageId = u32;

/// Host ports in use on a node, with the number of pods using each.
#[derive(Clone, Debug, Default)]
pub struct HostPortInfo(Vec<(HostPort, u32)>);

impl HostPortInfo {
    fn add(&mut self, p: &HostPort) {
        match self.0.iter_mut().find(|(q, _)| q == p) {
            Some((_, n)) => *n += 1,
            None => self.0.push((p.clone(), 1)),
        }
    }

    fn remove(&mut self, p: &HostPort) {
        if let Some(i) = self.0.iter().position(|(q, _)| q == p) {
            self.0[i].1 -= 1;
            if self.0[i].1 == 0 {
                self.0.swap_remove(i);
            }
        }
    }

    /// Upstream `HostPortInfo.CheckConflict`: a wanted `0.0.0.0` port
    /// conflicts with the same (protocol, port) on any IP; a specific IP
    /// conflicts with the same IP or with `0.0.0.0`.
    pub fn conflicts(&self, want: &HostPort) -> bool {
        if want.port <= 0 {
            return false;
        }
        let wildcard = &*want.ip == BIND_ALL_HOST_IP;
        self.0.iter().any(|(u, _)| {
            u.port == want.port
                && u.protocol == want.protocol
                && (wildcard || u.ip == want.ip || &*u.ip == BIND_ALL_HOST_IP)
        })
    }

    /// True when no port is in use.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Cluster-wide state of one image name.
#[derive(Clone, Debug, Default)]
pub struct ImageState {
    /// Size reported by the first node that added the name (as upstream).
    pub size: i64,
    /// Number of nodes reporting the name.
    pub num_nodes: u32,
}

/// The fields the filter and score loops read for every node, copied
/// together into one 128-byte block at the start of [`NodeInfo`] (a node
/// costs two cache lines instead of reads spread over the whole info).
/// Recomputed from the info on every change ([`Cache`] bumps the
/// generation); always equal to the fields it copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct NodeHot {
    /// `node.allocatable.milli_cpu`.
    pub alloc_milli_cpu: i64,
    /// `node.allocatable.memory`.
    pub alloc_memory: i64,
    /// `node.allocatable.ephemeral_storage`.
    pub alloc_ephemeral_storage: i64,
    /// `node.allocatable.allowed_pod_number`.
    pub allowed_pod_number: i64,
    /// `requested.milli_cpu`.
    pub req_milli_cpu: i64,
    /// `requested.memory`.
    pub req_memory: i64,
    /// `requested.ephemeral_storage`.
    pub req_ephemeral_storage: i64,
    /// `non_zero_requested.milli_cpu`.
    pub nz_milli_cpu: i64,
    /// `non_zero_requested.memory`.
    pub nz_memory: i64,
    /// `pods().len()`.
    pub num_pods: i64,
    /// `node.unschedulable`.
    pub unschedulable: bool,
    /// `node.taints` is not empty.
    pub has_taints: bool,
    /// The slot holds a node or pods (false for a freed slot).
    pub live: bool,
    /// The number of the node's image ids in `images_inline`, or
    /// [`IMAGES_SPILLED`] when it has more than fit (then only
    /// [`NodeInfo::has_image`] knows).
    pub images_inline_len: u8,
    /// The node's first image ids (ascending), when they all fit.
    pub images_inline: [ImageId; IMAGES_INLINE],
}

impl NodeHot {
    /// Whether the node reports image `id`, from the inline ids; `None`
    /// when they spilled (ask [`NodeInfo::has_image`]).
    #[inline]
    pub fn has_image(&self, id: ImageId) -> Option<bool> {
        (self.images_inline_len != IMAGES_SPILLED)
            .then(|| self.images_inline[..usize::from(self.images_inline_len)].contains(&id))
    }
}

/// How many image ids [`NodeHot::images_inline`] holds.
pub const IMAGES_INLINE: usize = 8;
/// [`NodeHot::images_inline_len`] of a node with more than [`IMAGES_INLINE`] images.
pub const IMAGES_SPILLED: u8 = u8::MAX;

/// One node and what is assumed or bound to it. Cloning shares the node
/// object and copies the pod lists (`clone_from` reuses the target's
/// buffers: preemption's dry runs copy many nodes into one).
#[derive(Debug)]
#[repr(C)]
pub struct NodeInfo {
    hot: NodeHot,
    images: Vec<ImageId>,
    /// Shared with the copies made for preemption's dry runs and nominated
    /// pods (they change only pods and sums): copying an info costs one
    /// reference count, not the node's labels and taints.
    node: Arc<Node>,
    /// `node.name`, shared (FitErrors name every rejected node). A slot's
    /// name never changes: the cache gives each name its own slot.
    name: Arc<str>,
    present: bool,
    /// Sum of the pods' requests (upstream `Requested`).
    pub requested: Resource,
    /// Sum of the pods' non-zero cpu/memory (upstream `NonZeroRequested`).
    pub non_zero_requested: NonZero,
    pods: Vec<Arc<PodInfo>>,
    pods_with_affinity: Vec<Arc<PodInfo>>,
    pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    used_ports: HostPortInfo,
    /// Bumped on every change of this node's info (cache-wide counter value).
    pub generation: u64,
    /// The node's labels as interned ids (empty without a node object).
    label_ids: NodeLabelIds,
}

impl Clone for NodeInfo {
    fn clone(&self) -> Self {
        Self {
            hot: self.hot,
            images: self.images.clone(),
            node: Arc::clone(&self.node),
            name: Arc::clone(&self.name),
            present: self.present,
            requested: self.requested.clone(),
            non_zero_requested: self.non_zero_requested,
            pods: self.pods.clone(),
            pods_with_affinity: self.pods_with_affinity.clone(),
            pods_with_required_anti_affinity: self.pods_with_required_anti_affinity.clone(),
            used_ports: self.used_ports.clone(),
            generation: self.generation,
            label_ids: self.label_ids.clone(),
        }
    }

    fn clone_from(&mut self, src: &Self) {
        self.hot = src.hot;
        self.images.clone_from(&src.images);
        self.node = Arc::clone(&src.node);
        self.name = Arc::clone(&src.name);
        self.present = src.present;
        self.requested.clone_from(&src.requested);
        self.non_zero_requested = src.non_zero_requested;
        self.pods.clone_from(&src.pods);
        self.pods_with_affinity.clone_from(&src.pods_with_affinity);
        self.pods_with_required_anti_affinity
            .clone_from(&src.pods_with_required_anti_affinity);
        self.used_ports.0.clone_from(&src.used_ports.0);
        self.generation = src.generation;
        self.label_ids.clone_from(&src.label_ids);
    }
}

impl NodeInfo {
    fn placeholder(name: &str) -> Self {
        Self {
            hot: NodeHot::default(),
            node: Arc::new(Node {
                name: name.into(),
                ..Node::default()
            }),
            name: name.into(),
            present: false,
            requested: Resource::default(),
            non_zero_requested: NonZero::default(),
            pods: Vec::new(),
            pods_with_affinity: Vec::new(),
            pods_with_required_anti_affinity: Vec::new(),
            used_ports: HostPortInfo::default(),
            images: Vec::new(),
            generation: 0,
            label_ids: NodeLabelIds::default(),
        }
    }

    fn refresh_hot(&mut self) {
        let alloc = &self.node.allocatable;
        let mut images_inline = [0; IMAGES_INLINE];
        let images_inline_len = if self.images.len() <= IMAGES_INLINE {
            images_inline[..self.images.len()].copy_from_slice(&self.images);
            self.images.len() as u8
        } else {
            IMAGES_SPILLED
        };
        self.hot = NodeHot {
            alloc_milli_cpu: alloc.milli_cpu,
            alloc_memory: alloc.memory,
            alloc_ephemeral_storage: alloc.ephemeral_storage,
            allowed_pod_number: alloc.allowed_pod_number,
            req_milli_cpu: self.requested.milli_cpu,
            req_memory: self.requested.memory,
            req_ephemeral_storage: self.requested.ephemeral_storage,
            nz_milli_cpu: self.non_zero_requested.milli_cpu,
            nz_memory: self.non_zero_requested.memory,
            num_pods: self.pods.len() as i64,
            unschedulable: self.node.unschedulable,
            has_taints: !self.node.taints.is_empty(),
            live: true,
            images_inline_len,
            images_inline,
        };
    }

    /// The per-node fields of the hot loops, in one block ([`NodeHot`]).
    #[inline]
    pub fn hot(&self) -> &NodeHot {
        &self.hot
    }

    /// The node object.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's name, shared (cloning it does not copy the string).
    pub fn shared_name(&self) -> &Arc<str> {
        &self.name
    }

    /// The pods assumed or bound to the node.
    pub fn pods(&self) -> &[Arc<PodInfo>] {
        &self.pods
    }

    /// The pods with inter-pod affinity or anti-affinity terms (upstream
    /// `PodsWithAffinity`).
    pub fn pods_with_affinity(&self) -> &[Arc<PodInfo>] {
        &self.pods_with_affinity
    }

    /// The pods with required anti-affinity terms (upstream
    /// `PodsWithRequiredAntiAffinity`).
    pub fn pods_with_required_anti_affinity(&self) -> &[Arc<PodInfo>] {
        &self.pods_with_required_anti_affinity
    }

    /// True when the node object is present (not only pods left on a
    /// removed node).
    pub fn is_present(&self) -> bool {
        self.present
    }

    /// The node's labels as ids of the cache's [`Cache::label_interner`]
    /// (upstream has no such thing: it is what lets topology plugins find a
    /// node's domain without string compares).
    #[inline]
    pub fn label_ids(&self) -> &NodeLabelIds {
        &self.label_ids
    }

    /// Host ports in use.
    pub fn used_ports(&self) -> &HostPortInfo {
        &self.used_ports
    }

    /// True when the node reports image `id` (a scan of the hot block's
    /// inline ids, or a binary search of the full list when they spilled).
    #[inline]
    pub fn has_image(&self, id: ImageId) -> bool {
        self.hot
            .has_image(id)
            .unwrap_or_else(|| self.images.binary_search(&id).is_ok())
    }
}

/// Generation of a [`NodeInfo`] copy changed outside the cache (by
/// [`NodeInfo::add_pod_info`]/[`NodeInfo::remove_pod_info`]): never a cache
/// generation, so nothing keyed by generation mistakes it for the original.
pub const DETACHED_GENERATION: u64 = u64::MAX;

impl NodeInfo {
    /// Adds `pod` to this node info (a copy, for preemption's dry runs and
    /// nominated pods; upstream `NodeInfo.AddPodInfo`): requests, ports,
    /// affinity lists, pod slot. Does not touch any [`Cache`]. O(1)
    /// amortised plus the pod's ports.
    pub fn add_pod_info(&mut self, pod: Arc<PodInfo>) {
        self.push_pod(pod);
        self.generation = DETACHED_GENERATION;
        self.refresh_hot();
    }

    /// Appends `pod` to the pod list (and the affinity lists it belongs
    /// to) and counts its requests and host ports. Returns whether it has
    /// pod affinity and required anti-affinity terms.
    fn push_pod(&mut self, pod: Arc<PodInfo>) -> (bool, bool) {
        self.requested.add(&pod.requests);
        self.non_zero_requested.add(pod.non_zero);
        for p in &pod.host_ports {
            self.used_ports.add(p);
        }
        let (aff, anti) = (pod.has_pod_affinity(), pod.has_required_anti_affinity());
        if aff {
            self.pods_with_affinity.push(Arc::clone(&pod));
        }
        if anti {
            self.pods_with_required_anti_affinity.push(Arc::clone(&pod));
        }
        self.pods.push(pod);
        (aff, anti)
    }

    /// Uncounts the requests and host ports of `pod`, which the caller has
    /// just taken out of the pod list.
    fn uncount_pod(&mut self, pod: &PodInfo) {
        self.requested.sub(&pod.requests);
        self.non_zero_requested.sub(pod.non_zero);
        for p in &pod.host_ports {
            self.used_ports.remove(p);
        }
    }

    /// Removes the pod with cache key `key` ([`PodInfo::key`]) from this
    /// node info (upstream `NodeInfo.RemovePod`); returns it, or None if it
    /// is not here. Pod order is kept (a dry run reprieves pods in a
    /// computed order, not this one). O(pods on the node).
    pub fn remove_pod_info(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let i = self.pods.iter().position(|p| p.has_key(key))?;
        let pod = self.pods.remove(i);
        self.uncount_pod(&pod);
        for list in [
            &mut self.pods_with_affinity,
            &mut self.pods_with_required_anti_affinity,
        ] {
            if let Some(j) = list.iter().position(|p| p.has_key(key)) {
                list.remove(j);
            }
        }
        self.generation = DETACHED_GENERATION;
        self.refresh_hot();
        Some(pod)
    }

    /// Undoes the latest [`NodeInfo::add_pod_info`] of `pod` (searching
    /// from the end, so pods added after others come off first).
    pub fn remove_last_pod_info(&mut self, pod: &Arc<PodInfo>) {
        let Some(i) = self.pods.iter().rposition(|p| Arc::ptr_eq(p, pod)) else {
            return;
        };
        self.pods.remove(i);
        self.uncount_pod(pod);
        for list in [
            &mut self.pods_with_affinity,
            &mut self.pods_with_required_anti_affinity,
        ] {
            if let Some(j) = list.iter().rposition(|p| Arc::ptr_eq(p, pod)) {
                list.remove(j);
            }
        }
        self.generation = DETACHED_GENERATION;
        self.refresh_hot();
    }
}

/// The node cache. See the module docs. Cloning copies every node info
/// (the scheduler never needs to: it only shares it while a pass runs).
#[derive(Clone, Debug, Default)]
pub struct Cache {
    /// Node infos by slot; a freed slot holds an empty placeholder whose
    /// `hot.live` is false (no `Option`: reading a slot touches only the
    /// info's own first cache line).
    slots: Vec<NodeInfo>,
    /// Each slot's hot block (a copy of `slots[i].hot`), dense: the filter
    /// loop walks this array instead of the ~450-byte infos.
    hot: Vec<NodeHot>,
    free: Vec<NodeIdx>,
    by_name: HashMap<Box<str>, NodeIdx>,
    pods: HashMap<Box<str>, NodeIdx>,
    image_ids: HashMap<Box<str>, ImageId>,
    images: Vec<ImageState>,
    zones: Vec<(String, Vec<NodeIdx>)>,
    order: Vec<NodeIdx>,
    order_dirty: bool,
    generation: u64,
    /// Nodes with pods with affinity terms (upstream `HavePodsWithAffinityList`).
    nodes_with_affinity: BTreeSet<NodeIdx>,
    /// Nodes with pods with required anti-affinity terms.
    nodes_with_required_anti_affinity: BTreeSet<NodeIdx>,
    /// Namespace name → labels (for namespace selectors).
    namespaces: HashMap<Box<str>, Labels>,
    /// Interned node labels (shared with cycle states that look names up).
    label_interner: Arc<LabelInterner>,
    /// The pods' affinity terms by term, counted per topology domain.
    affinity_index: AffinityIndex,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cache-wide generation: bumped by every change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn bump(&mut self, idx: NodeIdx) {
        self.generation += 1;
        if let Some(info) = self.slots.get_mut(idx as usize) {
            if info.hot.live {
                info.generation = self.generation;
                info.refresh_hot();
                self.hot[idx as usize] = info.hot;
            }
        }
    }

    fn slot_for(&mut self, name: &str) -> NodeIdx {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        let mut info = NodeInfo::placeholder(name);
        info.hot.live = true;
        let idx = match self.free.pop() {
            Some(i) => {
                self.hot[i as usize] = info.hot;
                self.slots[i as usize] = info;
                i
            }
            None => {
                self.hot.push(info.hot);
                self.slots.push(info);
                (self.slots.len() - 1) as NodeIdx
            }
        };
        self.by_name.insert(name.into(), idx);
        idx
    }

    fn info_mut(&mut self, idx: NodeIdx) -> &mut NodeInfo {
        let info = &mut self.slots[idx as usize];
        assert!(info.hot.live, "live node slot");
        info
    }

    /// Adds or replaces a node (upstream `AddNode`/`UpdateNode`): keeps its
    /// pods, recomputes its image states, and moves it to the end of its new
    /// zone when the zone changed.
    pub fn add_node(&mut self, node: Node) {
        let idx = self.slot_for(&node.name);
        let (was_present, old_zone) = {
            let info = self.info_mut(idx);
            (info.present, info.present.then(|| info.node.zone_key()))
        };
        self.remove_images(idx);
        let new_zone = node.zone_key();
        let mut ids: Vec<ImageId> = Vec::new();
        for img in &node.images {
            for name in &img.names {
                let id = match self.image_ids.get(name) {
                    Some(&id) => id,
                    None => {
                        let id = self.images.len() as ImageId;
                        self.images.push(ImageState::default());
                        self.image_ids.insert(name.clone(), id);
                        id
                    }
                };
                if ids.contains(&id) {
                    continue;
                }
                let st = &mut self.images[id as usize];
                if st.num_nodes == 0 {
                    st.size = img.size_bytes;
                }
                st.num_nodes += 1;
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let label_ids = match self.label_interner.ids_of(&node.labels) {
            Some(l) => l,
            None => Arc::make_mut(&mut self.label_interner).intern(&node.labels),
        };
        let old_ids = {
            let info = self.info_mut(idx);
            let old_ids = std::mem::replace(&mut info.label_ids, label_ids);
            info.node = Arc::new(node);
            info.present = true;
            info.images = ids;
            old_ids
        };
        self.relabel_affinity(idx, &old_ids);
        if old_zone.as_deref() != Some(new_zone.as_str()) {
            if was_present {
                self.zone_remove(idx, old_zone.as_deref().unwrap_or(""));
            }
            self.zone_add(idx, new_zone);
        }
        self.bump(idx);
    }

    /// Removes a node. Its pods stay accounted (on a node-less entry) until
    /// they are removed, as upstream's cache does. Returns false if unknown.
    pub fn remove_node(&mut self, name: &str) -> bool {
        let Some(&idx) = self.by_name.get(name) else {
            return false;
        };
        if !self.info_mut(idx).present {
            return false;
        }
        let zone = self.info_mut(idx).node.zone_key();
        self.zone_remove(idx, &zone);
        self.remove_images(idx);
        let old_ids = {
            let info = self.info_mut(idx);
            info.present = false;
            let old_ids = std::mem::take(&mut info.label_ids);
            info.node = Arc::new(Node {
                name: name.into(),
                ..Node::default()
            });
            old_ids
        };
        self.relabel_affinity(idx, &old_ids);
        self.bump(idx);
        self.release_if_empty(idx);
        true
    }

    fn release_if_empty(&mut self, idx: NodeIdx) {
        let info = self.info_mut(idx);
        if !info.present && info.pods.is_empty() {
            let name = info.node.name.clone();
            self.slots[idx as usize] = NodeInfo::placeholder("");
            self.hot[idx as usize] = NodeHot::default();
            self.by_name.remove(&name);
            self.free.push(idx);
        }
    }

    fn remove_images(&mut self, idx: NodeIdx) {
        let ids = std::mem::take(&mut self.info_mut(idx).images);
        for id in ids {
            let st = &mut self.images[id as usize];
            st.num_nodes = st.num_nodes.saturating_sub(1);
        }
    }

    fn zone_add(&mut self, idx: NodeIdx, zone: String) {
        match self.zones.iter_mut().find(|(z, _)| *z == zone) {
            Some((_, nodes)) => nodes.push(idx),
            None => self.zones.push((zone, vec![idx])),
        }
        self.order_dirty = true;
    }

    fn zone_remove(&mut self, idx: NodeIdx, zone: &str) {
        if let Some(zi) = self.zones.iter().position(|(z, _)| z == zone) {
            let nodes = &mut self.zones[zi].1;
            if let Some(i) = nodes.iter().position(|&n| n == idx) {
                nodes.remove(i);
            }
            if nodes.is_empty() {
                self.zones.remove(zi);
            }
        }
        self.order_dirty = true;
    }

    /// Adds (or moves) a pod to `node_name`, counting its requests, ports and
    /// pod slot; creates a node-less entry if the node is not known yet.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>, node_name: &str) {
        let key = pod.key();
        self.remove_pod(&key);
        let idx = self.slot_for(node_name);
        if pod.has_pod_affinity() {
            let ids = &self.slots[idx as usize].label_ids;
            self.affinity_index
                .add_pod(idx, &pod, ids, &self.label_interner);
        }
        let (aff, anti) = self.info_mut(idx).push_pod(pod);
        if aff {
            self.nodes_with_affinity.insert(idx);
        }
        if anti {
            self.nodes_with_required_anti_affinity.insert(idx);
        }
        self.pods.insert(key, idx);
        self.bump(idx);
    }

    /// Removes the pod with cache key `key` ([`PodInfo::key`]); false if unknown.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let Some(idx) = self.pods.remove(key) else {
            return false;
        };
        let info = self.info_mut(idx);
        if let Some(i) = info.pods.iter().position(|p| &*p.key() == key) {
            let pod = info.pods.swap_remove(i);
            info.uncount_pod(&pod);
            let drop_from = |list: &mut Vec<Arc<PodInfo>>| {
                if let Some(j) = list.iter().position(|p| &*p.key() == key) {
                    list.swap_remove(j);
                }
                list.is_empty()
            };
            let no_aff = pod.has_pod_affinity() && drop_from(&mut info.pods_with_affinity);
            let no_anti = pod.has_required_anti_affinity()
                && drop_from(&mut info.pods_with_required_anti_affinity);
            if no_aff {
                self.nodes_with_affinity.remove(&idx);
            }
            if no_anti {
                self.nodes_with_required_anti_affinity.remove(&idx);
            }
            if pod.has_pod_affinity() {
                let ids = &self.slots[idx as usize].label_ids;
                self.affinity_index
                    .remove_pod(idx, &pod, ids, &self.label_interner);
            }
        }
        self.bump(idx);
        self.release_if_empty(idx);
        true
    }

    /// The node a pod is on, if the pod is known.
    pub fn pod_node(&self, key: &str) -> Option<&str> {
        self.pods.get(key).map(|&i| self.info(i).name())
    }

    /// Rebuilds the node order if nodes were added, removed or re-zoned.
    /// Call before a scheduling cycle ([`Cache::order`] reads it).
    pub fn prepare(&mut self) {
        if !self.order_dirty {
            return;
        }
        self.order.clear();
        let longest = self.zones.iter().map(|(_, n)| n.len()).max().unwrap_or(0);
        for i in 0..longest {
            for (_, nodes) in &self.zones {
                if let Some(&n) = nodes.get(i) {
                    self.order.push(n);
                }
            }
        }
        self.order_dirty = false;
    }

    /// The nodes in scheduling order (as of the last [`Cache::prepare`]).
    pub fn order(&self) -> &[NodeIdx] {
        &self.order
    }

    /// Number of nodes (node objects present).
    pub fn num_nodes(&self) -> usize {
        self.zones.iter().map(|(_, n)| n.len()).sum()
    }

    /// The node info at `idx`. Panics if `idx` is not a live slot (indices
    /// come from [`Cache::order`] or [`Cache::index_of`]).
    #[inline]
    pub fn info(&self, idx: NodeIdx) -> &NodeInfo {
        let info = &self.slots[idx as usize];
        assert!(info.hot.live, "live node slot");
        info
    }

    /// The hot block of the node at `idx` (equal to `info(idx).hot()`),
    /// read from the cache's dense array of them: walking many nodes'
    /// blocks this way touches 128 contiguous bytes per node. A freed slot's
    /// block has `live == false`. Panics if `idx` is out of range.
    #[inline]
    pub fn hot(&self, idx: NodeIdx) -> &NodeHot {
        &self.hot[idx as usize]
    }

    /// [`Cache::info`] without reading the info (no liveness check: the
    /// caller knows the slot is live, e.g. from [`Cache::hot`]); computing
    /// the reference touches no memory of the info.
    #[inline]
    pub(crate) fn info_of_live(&self, idx: NodeIdx) -> &NodeInfo {
        &self.slots[idx as usize]
    }

    /// The slot of node `name`, if it has a node object.
    pub fn index_of(&self, name: &str) -> Option<NodeIdx> {
        self.by_name
            .get(name)
            .copied()
            .filter(|&i| self.info(i).present)
    }

    /// The node info of `name`, if it has a node object.
    pub fn get(&self, name: &str) -> Option<&NodeInfo> {
        self.index_of(name).map(|i| self.info(i))
    }

    /// Nodes (present) hosting pods with inter-pod affinity or
    /// anti-affinity terms, in slot order (upstream `HavePodsWithAffinityList`).
    pub fn nodes_with_pods_with_affinity(&self) -> impl Iterator<Item = &NodeInfo> + '_ {
        self.nodes_with_affinity
            .iter()
            .map(|&i| self.info(i))
            .filter(|n| n.present)
    }

    /// Nodes (present) hosting pods with required anti-affinity terms
    /// (upstream `HavePodsWithRequiredAntiAffinityList`).
    pub fn nodes_with_pods_with_required_anti_affinity(
        &self,
    ) -> impl Iterator<Item = &NodeInfo> + '_ {
        self.nodes_with_required_anti_affinity
            .iter()
            .map(|&i| self.info(i))
            .filter(|n| n.present)
    }

    /// Adds or replaces namespace `name` with its labels (for the
    /// `namespaceSelector` of pod affinity terms).
    pub fn set_namespace(&mut self, name: &str, labels: Labels) {
        self.namespaces.insert(name.into(), labels);
        self.generation += 1;
    }

    /// Adds or replaces a namespace from its document's msgpack bytes
    /// (`metadata.name` and `metadata.labels` are read); returns its name.
    pub fn set_namespace_msgpack(&mut self, bytes: &[u8]) -> Result<String, DecodeError> {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct Doc {
            #[serde(deserialize_with = "crate::model::raw::nullable")]
            metadata: RawMeta,
        }
        let d: Doc = rmp_serde::from_slice(bytes)?;
        if d.metadata.name.is_empty() {
            return Err(DecodeError("namespace has no metadata.name".into()));
        }
        let labels = Labels::from_pairs(
            d.metadata
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        self.set_namespace(&d.metadata.name, labels);
        Ok(d.metadata.name)
    }

    /// Removes namespace `name`; false if unknown.
    pub fn remove_namespace(&mut self, name: &str) -> bool {
        self.generation += 1;
        self.namespaces.remove(name).is_some()
    }

    /// The labels of namespace `name`, if known.
    pub fn namespace_labels(&self, name: &str) -> Option<&Labels> {
        self.namespaces.get(name)
    }

    /// Every known namespace with its labels (arbitrary order).
    pub fn namespaces(&self) -> impl Iterator<Item = (&str, &Labels)> + '_ {
        self.namespaces.iter().map(|(k, v)| (&**k, v))
    }

    /// The interned node labels ([`NodeInfo::label_ids`] are its ids). A
    /// cycle state may keep a clone of the `Arc` to map ids back to names;
    /// the cache copies the interner on its next new label pair while one is
    /// held (ids stay the same).
    pub fn label_interner(&self) -> &Arc<LabelInterner> {
        &self.label_interner
    }

    /// The affinity terms of the cache's pods grouped by term, with counts
    /// per topology domain (what InterPodAffinity sums instead of walking
    /// the pods).
    pub fn affinity_index(&self) -> &AffinityIndex {
        &self.affinity_index
    }

    fn relabel_affinity(&mut self, idx: NodeIdx, old: &NodeLabelIds) {
        let new = &self.slots[idx as usize].label_ids;
        self.affinity_index
            .relabel(idx, old, new, &self.label_interner);
    }

    /// The interned id of an image name, if some node ever reported it.
    pub fn image_id(&self, name: &str) -> Option<ImageId> {
        self.image_ids.get(name).copied()
    }

    /// The cluster-wide state of image `id`.
    pub fn image_state(&self, id: ImageId) -> &ImageState {
        &self.images[id as usize]
    }
}
