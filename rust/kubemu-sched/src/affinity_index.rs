//! An index of the inter-pod affinity terms of the pods in the
//! [`Cache`](crate::Cache), grouped by term identity, with per-domain counts.
//!
//! Upstream's InterPodAffinity walks every existing pod with affinity terms
//! in every cycle (PreFilter: the pods with required anti-affinity; PreScore:
//! the pods with any affinity) to find the terms that match the incoming pod,
//! even when that pod has no affinity of its own. Pods made from one template
//! carry equal terms, so the walk checks the same term against the incoming
//! pod thousands of times. This index keeps one [`TermGroup`] per distinct
//! (kind, weight, term): the kind is which term list of the pod it comes from
//! ([`TermKind`]), the term is compared whole ([`AffinityTerm`]'s equality:
//! namespaces, label selector, topology key, namespace selector). Each group
//! counts its term instances per topology domain: the value of the term's
//! topology key on the node of the pod carrying it (a node without the key,
//! a node-less entry or a removed node counts in no domain). The plugin then
//! checks each group's term once and adds the group's counts (× weight),
//! which sums the same numbers the walk sums.
//!
//! Maintenance ([`Cache`](crate::Cache) calls it): a pod added to or removed
//! from a node slot adds or removes its terms (a move is a remove then an
//! add; assume/forget are adds and removes); a node's labels changing
//! (update, removal, re-add) moves that node's instances between domains.
//! Cost: per pod with terms, one hash and compare per term; per relabel, one
//! step per distinct group on the node; pods without terms cost nothing.
//! A group whose last instance goes is dropped, so the index holds only
//! terms of pods in the cache.

use smallvec::SmallVec;

use crate::cache::NodeIdx;
use crate::label_ids::{
    FxHashMap, FxHasher, LabelInterner, LabelKeyId, LabelValueId, NodeLabelIds,
};
use crate::model::{AffinityTerm, LabelSelector, PodInfo, Requirement};
use std::collections::hash_map::Entry;
use std::hash::{Hash, Hasher};

/// Which term list of its pod a group's term comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TermKind {
    /// `podAffinity.requiredDuringScheduling…`.
    RequiredAffinity,
    /// `podAntiAffinity.requiredDuringScheduling…`.
    RequiredAntiAffinity,
    /// `podAffinity.preferredDuringScheduling…` with its weight.
    PreferredAffinity(i64),
    /// `podAntiAffinity.preferredDuringScheduling…` with its weight.
    PreferredAntiAffinity(i64),
}

/// Dense id of a group (reused after the group is dropped).
type GroupId = u32;

/// The instances of one distinct (kind, term) among the cache's pods.
#[derive(Clone, Debug)]
pub struct TermGroup {
    kind: TermKind,
    term: AffinityTerm,
    /// The id of `term.topology_key`, once some node reported the key
    /// (None before: no node can count in a domain of the term).
    key: Option<LabelKeyId>,
    /// Term instances on all node slots (counted in a domain or not).
    instances: u64,
    /// Instances per value id of `key`; no zero entries.
    domains: FxHashMap<LabelValueId, i64>,
}

impl TermGroup {
    /// The kind (and weight) of the group's term.
    pub fn kind(&self) -> TermKind {
        self.kind
    }

    /// The term, as its pods carry it.
    pub fn term(&self) -> &AffinityTerm {
        &self.term
    }

    /// The id of the term's topology key; `Some` whenever
    /// [`TermGroup::domains`] is not empty.
    pub fn key(&self) -> Option<LabelKeyId> {
        self.key
    }

    /// The number of instances per domain (value id of [`TermGroup::key`]),
    /// every count positive, in arbitrary order.
    pub fn domains(&self) -> impl ExactSizeIterator<Item = (LabelValueId, i64)> + '_ {
        self.domains.iter().map(|(&v, &n)| (v, n))
    }

    /// True when no instance is on a node with the term's topology key.
    pub fn has_no_domain(&self) -> bool {
        self.domains.is_empty()
    }

    /// The value id of the term's key on a node with `labels`, resolving the
    /// key id first if it was not known yet.
    fn domain(&mut self, labels: &NodeLabelIds, interner: &LabelInterner) -> Option<LabelValueId> {
        if self.key.is_none() {
            self.key = interner.key(&self.term.topology_key);
        }
        labels.get(self.key?)
    }

    fn count(&mut self, value: Option<LabelValueId>, delta: i64) {
        let Some(v) = value else { return };
        match self.domains.entry(v) {
            Entry::Occupied(mut e) => {
                *e.get_mut() += delta;
                if *e.get() == 0 {
                    e.remove();
                }
            }
            Entry::Vacant(e) => {
                e.insert(delta);
            }
        }
    }
}

/// The index (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct AffinityIndex {
    /// Groups by id; None for a dropped group's free id.
    groups: Vec<Option<TermGroup>>,
    free: Vec<GroupId>,
    /// Hash of (kind, term) → the groups with that hash.
    by_hash: FxHashMap<u64, SmallVec<[GroupId; 1]>>,
    /// Per node slot: the groups with instances there and how many.
    nodes: Vec<SmallVec<[(GroupId, u32); 4]>>,
}

/// The terms of `pod` with their kinds, in the pod's order.
fn pod_terms(pod: &PodInfo) -> impl Iterator<Item = (TermKind, &AffinityTerm)> + '_ {
    let t = pod.affinity_terms();
    t.required_affinity
        .iter()
        .map(|t| (TermKind::RequiredAffinity, t))
        .chain(
            t.required_anti_affinity
                .iter()
                .map(|t| (TermKind::RequiredAntiAffinity, t)),
        )
        .chain(
            t.preferred_affinity
                .iter()
                .map(|w| (TermKind::PreferredAffinity(w.weight), &w.term)),
        )
        .chain(
            t.preferred_anti_affinity
                .iter()
                .map(|w| (TermKind::PreferredAntiAffinity(w.weight), &w.term)),
        )
}

fn hash_selector<H: Hasher>(s: &LabelSelector, h: &mut H) {
    match s {
        LabelSelector::Nothing => h.write_u8(0),
        LabelSelector::Requirements(reqs) => {
            h.write_u8(1);
            h.write_usize(reqs.len());
            for r in reqs {
                match r {
                    Requirement::In(k, v) => (0u8, k, v).hash(h),
                    Requirement::NotIn(k, v) => (1u8, k, v).hash(h),
                    Requirement::Exists(k) => (2u8, k).hash(h),
                    Requirement::DoesNotExist(k) => (3u8, k).hash(h),
                    Requirement::Gt(k, n) => (4u8, k, n).hash(h),
                    Requirement::Lt(k, n) => (5u8, k, n).hash(h),
                }
            }
        }
    }
}

/// A hash of every field [`AffinityTerm`]'s equality compares, and the kind.
fn group_hash(kind: TermKind, t: &AffinityTerm) -> u64 {
    let mut h = FxHasher::default();
    kind.hash(&mut h);
    t.namespaces.hash(&mut h);
    hash_selector(&t.selector, &mut h);
    t.topology_key.hash(&mut h);
    hash_selector(&t.namespace_selector, &mut h);
    h.finish()
}

impl AffinityIndex {
    /// The live groups, in arbitrary order.
    pub fn groups(&self) -> impl Iterator<Item = &TermGroup> + '_ {
        self.groups.iter().flatten()
    }

    /// True when no pod in the cache has an affinity term.
    pub fn is_empty(&self) -> bool {
        self.groups.len() == self.free.len()
    }

    fn find(&self, hash: u64, kind: TermKind, term: &AffinityTerm) -> Option<GroupId> {
        self.by_hash.get(&hash)?.iter().copied().find(|&g| {
            self.groups[g as usize]
                .as_ref()
                .is_some_and(|g| g.kind == kind && g.term == *term)
        })
    }

    fn find_or_insert(&mut self, kind: TermKind, term: &AffinityTerm) -> GroupId {
        let hash = group_hash(kind, term);
        if let Some(g) = self.find(hash, kind, term) {
            return g;
        }
        let group = TermGroup {
            kind,
            term: term.clone(),
            key: None,
            instances: 0,
            domains: FxHashMap::default(),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.groups[id as usize] = Some(group);
                id
            }
            None => {
                self.groups.push(Some(group));
                (self.groups.len() - 1) as GroupId
            }
        };
        self.by_hash.entry(hash).or_default().push(id);
        id
    }

    fn drop_group(&mut self, id: GroupId) {
        let Some(g) = self.groups[id as usize].take() else {
            return;
        };
        let hash = group_hash(g.kind, &g.term);
        if let Entry::Occupied(mut e) = self.by_hash.entry(hash) {
            e.get_mut().retain(|x| *x != id);
            if e.get().is_empty() {
                e.remove();
            }
        }
        self.free.push(id);
    }

    /// Counts the terms of `pod`, placed on node slot `node` whose labels
    /// are `labels` (ids of `interner`). Call once per pod added to the slot.
    pub(crate) fn add_pod(
        &mut self,
        node: NodeIdx,
        pod: &PodInfo,
        labels: &NodeLabelIds,
        interner: &LabelInterner,
    ) {
        let n = node as usize;
        if self.nodes.len() <= n {
            self.nodes.resize_with(n + 1, SmallVec::new);
        }
        for (kind, term) in pod_terms(pod) {
            let id = self.find_or_insert(kind, term);
            let g = self.groups[id as usize].as_mut().expect("live group");
            g.instances += 1;
            let v = g.domain(labels, interner);
            g.count(v, 1);
            let slot = &mut self.nodes[n];
            match slot.iter_mut().find(|(g, _)| *g == id) {
                Some((_, c)) => *c += 1,
                None => slot.push((id, 1)),
            }
        }
    }

    /// Uncounts the terms of `pod`, which [`AffinityIndex::add_pod`] counted
    /// on slot `node`; `labels` are the slot's labels now.
    pub(crate) fn remove_pod(
        &mut self,
        node: NodeIdx,
        pod: &PodInfo,
        labels: &NodeLabelIds,
        interner: &LabelInterner,
    ) {
        let n = node as usize;
        for (kind, term) in pod_terms(pod) {
            let Some(id) = self.find(group_hash(kind, term), kind, term) else {
                debug_assert!(false, "removing a term that was never counted");
                continue;
            };
            if let Some(slot) = self.nodes.get_mut(n) {
                if let Some(i) = slot.iter().position(|(g, _)| *g == id) {
                    slot[i].1 -= 1;
                    if slot[i].1 == 0 {
                        slot.swap_remove(i);
                    }
                }
            }
            let g = self.groups[id as usize].as_mut().expect("live group");
            g.instances -= 1;
            let v = g.domain(labels, interner);
            g.count(v, -1);
            if g.instances == 0 {
                self.drop_group(id);
            }
        }
    }

    /// Moves the instances on slot `node` from the domains of its labels
    /// `old` to those of `new` (a node update, removal or re-add).
    /// O(distinct groups on the node); nothing when the labels are equal.
    pub(crate) fn relabel(
        &mut self,
        node: NodeIdx,
        old: &NodeLabelIds,
        new: &NodeLabelIds,
        interner: &LabelInterner,
    ) {
        if old == new {
            return;
        }
        let Some(slot) = self.nodes.get(node as usize) else {
            return;
        };
        for &(id, c) in slot {
            let g = self.groups[id as usize].as_mut().expect("live group");
            let before = g.domain(old, interner);
            let after = g.domain(new, interner);
            if before != after {
                g.count(before, -i64::from(c));
                g.count(after, i64::from(c));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use serde_json::{json, Value};

    use super::*;
    use crate::{Cache, Node};

    fn node(name: &str, labels: Value) -> Node {
        let doc = json!({"metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"}}});
        Node::from_msgpack(&rmp_serde::to_vec_named(&doc).unwrap()).unwrap()
    }

    fn term(labels: Value, key: &str) -> Value {
        json!({"labelSelector": {"matchLabels": labels}, "topologyKey": key})
    }

    fn pod(name: &str, ns: &str, affinity: Value) -> Arc<PodInfo> {
        let doc = json!({"metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"),
            "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c"}], "affinity": affinity}});
        Arc::new(PodInfo::from_msgpack(&rmp_serde::to_vec_named(&doc).unwrap()).unwrap())
    }

    /// A pod with all four kinds: required affinity on zone, required
    /// anti-affinity on hostname, preferred ones with weights 3 and 5.
    fn mixed(name: &str, ns: &str) -> Arc<PodInfo> {
        pod(
            name,
            ns,
            json!({
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [term(json!({"app": "x"}), "zone")],
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 3, "podAffinityTerm": term(json!({"app": "y"}), "zone")}]},
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        term(json!({"app": "x"}), "host"), term(json!({"app": "x"}), "host")],
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 5, "podAffinityTerm": term(json!({"app": "x"}), "rack")}]}}),
        )
    }

    type Counts = HashMap<(TermKind, String, String, String), i64>;

    /// (kind, namespaces, key, value) → count, from the index.
    fn from_index(c: &Cache) -> Counts {
        let mut out = Counts::new();
        let interner = c.label_interner();
        for g in c.affinity_index().groups() {
            for (v, n) in g.domains() {
                assert!(n > 0);
                let k = g.key().expect("key of a group with domains");
                let name = (
                    g.kind(),
                    format!("{:?}", g.term()),
                    g.term().topology_key.to_string(),
                    interner.value_name(k, v).to_string(),
                );
                assert!(out.insert(name, n).is_none(), "one group per term");
            }
        }
        out
    }

    /// The same by walking every pod of every present node (the walk the
    /// index replaces).
    fn brute_force(c: &Cache) -> Counts {
        let mut out = Counts::new();
        for &idx in c.order() {
            let info = c.info(idx);
            for p in info.pods_with_affinity() {
                for (kind, t) in pod_terms(p) {
                    if let Some(v) = info.node().labels.get(&t.topology_key) {
                        *out.entry((
                            kind,
                            format!("{t:?}"),
                            t.topology_key.to_string(),
                            v.to_string(),
                        ))
                        .or_default() += 1;
                    }
                }
            }
        }
        out
    }

    fn check(c: &mut Cache) -> Counts {
        c.prepare();
        let a = from_index(c);
        assert_eq!(a, brute_force(c));
        a
    }

    fn total(c: &Counts, kind: TermKind, value: &str) -> i64 {
        c.iter()
            .filter(|((k, _, _, v), _)| *k == kind && v == value)
            .map(|(_, n)| n)
            .sum()
    }

    #[test]
    fn counts_follow_pod_adds_removes_and_moves() {
        let mut c = Cache::new();
        c.add_node(node("n1", json!({"zone": "a", "host": "n1", "rack": "r1"})));
        c.add_node(node("n2", json!({"zone": "a", "host": "n2"})));
        c.add_node(node("n3", json!({"zone": "b", "host": "n3", "rack": "r1"})));
        for i in 0..6 {
            c.add_pod(mixed(&format!("p{i}"), "ns"), ["n1", "n2", "n3"][i % 3]);
        }
        // Plain pods are not indexed.
        c.add_pod(pod("plain", "ns", json!({})), "n1");
        let counts = check(&mut c);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "a"), 4);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "b"), 2);
        // Two equal anti terms per pod: counted twice, in one group.
        assert_eq!(total(&counts, TermKind::RequiredAntiAffinity, "n2"), 4);
        // n2 has no rack: its pods count in no rack domain.
        assert_eq!(total(&counts, TermKind::PreferredAntiAffinity(5), "r1"), 4);
        let groups = c.affinity_index().groups().count();
        assert_eq!(groups, 4, "equal terms share a group");

        // Move p0 from n1 to n3 (an add of a known pod), then remove p1.
        c.add_pod(mixed("p0", "ns"), "n3");
        c.remove_pod("uid-p1");
        let counts = check(&mut c);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "a"), 2);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "b"), 3);

        // Pods in another namespace carry different terms (own namespace).
        c.add_pod(mixed("q0", "other"), "n1");
        check(&mut c);
        assert_eq!(c.affinity_index().groups().count(), 8);
        assert!(c.remove_pod("uid-q0"));
        check(&mut c);
        assert_eq!(c.affinity_index().groups().count(), 4, "empty groups go");

        for key in ["uid-p0", "uid-p2", "uid-p3", "uid-p4", "uid-p5"] {
            assert!(c.remove_pod(key));
        }
        assert!(check(&mut c).is_empty());
        assert!(c.affinity_index().is_empty());
    }

    #[test]
    fn counts_follow_node_relabels_and_removal() {
        let mut c = Cache::new();
        // A pod bound before its node exists: no domain yet, and the
        // topology keys are not even interned.
        c.add_pod(mixed("early", "ns"), "n1");
        assert!(check(&mut c).is_empty());
        c.add_node(node("n1", json!({"zone": "a", "host": "n1"})));
        c.add_node(node("n2", json!({"zone": "a", "host": "n2", "rack": "r9"})));
        c.add_pod(mixed("p", "ns"), "n2");
        let counts = check(&mut c);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "a"), 2);
        assert_eq!(total(&counts, TermKind::PreferredAntiAffinity(5), "r9"), 1);

        // Relabel: zone a → b, rack added.
        c.add_node(node("n1", json!({"zone": "b", "host": "n1", "rack": "r9"})));
        let counts = check(&mut c);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "a"), 1);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "b"), 1);
        assert_eq!(total(&counts, TermKind::PreferredAntiAffinity(5), "r9"), 2);
        // An update with equal labels changes nothing.
        c.add_node(node("n1", json!({"zone": "b", "host": "n1", "rack": "r9"})));
        check(&mut c);

        // Removing the node takes its pods out of every domain; they come
        // back when it is re-added.
        assert!(c.remove_node("n1"));
        let counts = check(&mut c);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "b"), 0);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "a"), 1);
        c.add_node(node("n1", json!({"zone": "c", "host": "n1"})));
        let counts = check(&mut c);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "c"), 1);

        // A pod removed while its node is gone, then the node slot freed
        // and reused by another node.
        assert!(c.remove_node("n1"));
        assert!(c.remove_pod("uid-early"));
        c.add_node(node("n3", json!({"zone": "z", "host": "n3"})));
        c.add_pod(mixed("r", "ns"), "n3");
        let counts = check(&mut c);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "z"), 1);
        assert_eq!(total(&counts, TermKind::RequiredAffinity, "c"), 0);
    }

    #[test]
    fn random_churn_matches_the_walk() {
        let mut c = Cache::new();
        let mut rng = crate::rand::SplitMix64::new(7);
        let zones = ["a", "b", "c"];
        for step in 0..600u64 {
            let n = format!("n{}", rng.below(6));
            match rng.below(10) {
                0 => {
                    c.remove_node(&n);
                }
                1..=2 => {
                    let mut labels = serde_json::Map::new();
                    labels.insert("zone".into(), json!(zones[rng.below(3) as usize]));
                    if rng.below(2) == 0 {
                        labels.insert("host".into(), json!(n.clone()));
                    }
                    if rng.below(3) == 0 {
                        labels.insert("rack".into(), json!(format!("r{}", rng.below(2))));
                    }
                    c.add_node(node(&n, Value::Object(labels)));
                }
                3..=4 => {
                    c.remove_pod(&format!("uid-p{}", rng.below(20)));
                }
                _ => {
                    let name = format!("p{}", rng.below(20));
                    let ns = ["ns", "other"][rng.below(2) as usize];
                    c.add_pod(mixed(&name, ns), &n);
                }
            }
            if step % 7 == 0 {
                check(&mut c);
            }
        }
        check(&mut c);
    }
}
