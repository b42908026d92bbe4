//! InterPodAffinity (upstream `plugins/interpodaffinity`).
//!
//! Terms: `podAffinity`/`podAntiAffinity` required and preferred terms,
//! parsed with the pod ([`crate::model::AffinityTerm`]). A term with no
//! `namespaces` and no `namespaceSelector` applies to its pod's namespace;
//! the incoming pod's non-empty namespace selectors are resolved against the
//! cache's namespaces ([`Cache::set_namespace`](crate::Cache::set_namespace))
//! into names; existing pods' selectors are matched against the incoming
//! pod's namespace labels.
//!
//! - PreFilter: counts per topology pair (key, value) of (1) existing pods'
//!   required anti-affinity terms matching the incoming pod (over the nodes
//!   with such pods), (2) existing pods matching all of the incoming pod's
//!   required affinity terms (per term's key), (3) existing pods matching
//!   each of its required anti-affinity terms. `Skip` when (1) is empty and
//!   the pod has no required terms. AddPod/RemovePod update the counts.
//! - Filter, in order: affinity ("node(s) didn't match pod affinity rules",
//!   `UnschedulableAndUnresolvable`; a node missing a term's key fails; when
//!   no pod anywhere matches and the pod matches its own terms it passes —
//!   the first pod of a group); anti-affinity ("node(s) didn't match pod
//!   anti-affinity rules", `Unschedulable`); existing pods' anti-affinity
//!   ("node(s) didn't satisfy existing pods anti-affinity rules",
//!   `Unschedulable`).
//! - PreScore/Score: per topology pair, Σ over existing pods (all pods when
//!   the incoming pod has preferred terms, else only pods with affinity) of
//!   +w for the incoming pod's preferred affinity terms they match, −w for
//!   its preferred anti-affinity terms, +hardPodAffinityWeight for each of
//!   their required affinity terms the incoming pod matches, ±w for their
//!   preferred terms the incoming pod matches; a node scores the sum over its
//!   pairs. `Skip` when nothing was counted.
//! - NormalizeScore: `int64(100·(s − min)/(max − min))` (float), min and max
//!   over the feasible nodes; all 0 when max = min.
//!
//! Cost: PreFilter's counts are keyed by interned (key, value) ids
//! ([`NodeInfo::label_ids`]) in an Fx-hashed map, so counting and Filter's
//! per-node checks hash two integers instead of strings. The existing pods'
//! terms are not walked pod by pod: the cache's
//! [`AffinityIndex`](crate::affinity_index::AffinityIndex) groups equal
//! terms with their instance counts per topology domain, so PreFilter's (1)
//! and PreScore's sums over existing pods' terms check each distinct term
//! once against the incoming pod and add its per-domain counts (the same
//! sums: only present nodes with the term's key count). The incoming pod's
//! own terms are still matched against every existing pod (PreFilter's (2),
//! (3); PreScore when it has preferred terms). Preemption's dry runs and
//! nominated pods change the PreFilter state through AddPod/RemovePod
//! ([`PodDeltaState`]), pod by pod, never through the index.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::affinity_index::{TermGroup, TermKind};
use crate::cache::{Cache, NodeInfo};
use crate::framework::{
    ConfigError, CycleState, FilterPlugin, Plugin, PluginArgs, PodDeltaState, PreFilterExtensions,
    PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Snapshot, StateDelta, Status,
    MAX_NODE_SCORE,
};
use crate::label_ids::{FxHashMap, LabelInterner, LabelKeyId, LabelValueId, NodeLabelIds};
use crate::model::{AffinityTerm, LabelSelector, Labels, Node, PodInfo, WeightedAffinityTerm};

pub use super::names::INTER_POD_AFFINITY as NAME;

/// Upstream `ErrReasonExistingAntiAffinityRulesNotMatch`.
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
/// Upstream `ErrReasonAffinityRulesNotMatch`.
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// Upstream `ErrReasonAntiAffinityRulesNotMatch`.
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't match pod anti-affinity rules";

const PRE_FILTER_STATE_KEY: &str = "PreFilterInterPodAffinity";
const PRE_SCORE_STATE_KEY: &str = "PreScoreInterPodAffinity";

/// `InterPodAffinityArgs`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct InterPodAffinityArgs {
    /// Weight of existing pods' required affinity terms in scoring
    /// (0..=100; 1 when absent).
    pub hard_pod_affinity_weight: Option<i32>,
    /// Skip existing pods' preferred terms when the incoming pod has none.
    pub ignore_preferred_terms_of_existing_pods: bool,
}

/// The plugin.
#[derive(Clone, Debug)]
pub struct InterPodAffinity {
    hard_pod_affinity_weight: i64,
    ignore_preferred_terms_of_existing_pods: bool,
}

impl Default for InterPodAffinity {
    fn default() -> Self {
        Self {
            hard_pod_affinity_weight: 1,
            ignore_preferred_terms_of_existing_pods: false,
        }
    }
}

/// Registry factory.
pub fn factory(args: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(InterPodAffinity::new(args.decode(NAME)?)?))
}

impl InterPodAffinity {
    /// Builds the plugin, validating `args` as upstream.
    pub fn new(args: InterPodAffinityArgs) -> Result<Self, ConfigError> {
        let w = args.hard_pod_affinity_weight.unwrap_or(1);
        if !(0..=100).contains(&w) {
            return Err(ConfigError(format!(
                "{NAME} args: hardPodAffinityWeight: Invalid value: {w}: not in valid range [0-100]"
            )));
        }
        Ok(Self {
            hard_pod_affinity_weight: i64::from(w),
            ignore_preferred_terms_of_existing_pods: args.ignore_preferred_terms_of_existing_pods,
        })
    }
}

/// Counts per topology pair (key, value), zero entries removed. Pairs are
/// kept as ids of the cache's [`LabelInterner`] (a node of the cache has all
/// its pairs interned); a pair it does not know (a node outside the cache)
/// is kept by name.
#[derive(Clone, Debug, Default)]
pub struct TopologyCounts {
    labels: Arc<LabelInterner>,
    ids: FxHashMap<u64, i64>,
    names: HashMap<(Box<str>, Box<str>), i64>,
}

#[inline]
fn pair(key: LabelKeyId, value: LabelValueId) -> u64 {
    (u64::from(key) << 32) | u64::from(value)
}

#[inline]
fn add_entry<K: std::hash::Hash + Eq, S: std::hash::BuildHasher>(
    map: &mut HashMap<K, i64, S>,
    k: K,
    delta: i64,
) {
    match map.entry(k) {
        Entry::Occupied(mut e) => {
            *e.get_mut() += delta;
            if *e.get() == 0 {
                e.remove();
            }
        }
        Entry::Vacant(e) => {
            if delta != 0 {
                e.insert(delta);
            }
        }
    }
}

impl TopologyCounts {
    /// No counts; names are looked up in `labels`.
    pub fn new(labels: &Arc<LabelInterner>) -> Self {
        Self {
            labels: Arc::clone(labels),
            ..Self::default()
        }
    }

    /// The count of `(key, value)`.
    pub fn get(&self, key: &str, value: &str) -> i64 {
        match self
            .labels
            .key(key)
            .and_then(|k| Some(pair(k, self.labels.value(k, value)?)))
        {
            Some(p) => self.ids.get(&p).copied().unwrap_or(0),
            None => self
                .names
                .get(&(key.into(), value.into()))
                .copied()
                .unwrap_or(0),
        }
    }

    /// The count of the pair of ids.
    #[inline]
    fn get_ids(&self, key: LabelKeyId, value: LabelValueId) -> i64 {
        self.ids.get(&pair(key, value)).copied().unwrap_or(0)
    }

    /// True when no pair has a non-zero count.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.names.is_empty()
    }

    /// Adds `delta` to the pair of `node`'s value of `key`, if it has the key.
    fn update(&mut self, node: &Node, key: &str, delta: i64) {
        let Some(v) = node.labels.get(key) else {
            return;
        };
        match self
            .labels
            .key(key)
            .and_then(|k| Some(pair(k, self.labels.value(k, v)?)))
        {
            Some(p) => add_entry(&mut self.ids, p, delta),
            None => add_entry(&mut self.names, (key.into(), v.into()), delta),
        }
    }

    /// Adds the counts of every domain of `group` (a group of the cache
    /// whose interner this is).
    fn add_group(&mut self, group: &TermGroup) {
        if let Some(k) = group.key() {
            for (v, n) in group.domains() {
                add_entry(&mut self.ids, pair(k, v), n);
            }
        }
    }

    /// [`TopologyCounts::update`] for a cache node, by ids (`key` None: no
    /// node has the key).
    #[inline]
    fn update_ids(&mut self, node: &NodeLabelIds, key: Option<LabelKeyId>, delta: i64) {
        if let Some(v) = key.and_then(|k| node.get(k).map(|v| pair(k, v))) {
            add_entry(&mut self.ids, v, delta);
        }
    }

    /// Upstream `updateWithAffinityTerms`: if `pod` matches all `terms`, adds
    /// `delta` for each term's key.
    fn update_with_affinity_terms(
        &mut self,
        terms: &[AffinityTerm],
        pod: &PodInfo,
        node: &Node,
        delta: i64,
    ) {
        if pod_matches_all_affinity_terms(terms, pod) {
            for t in terms {
                self.update(node, &t.topology_key, delta);
            }
        }
    }

    /// Upstream `updateWithAntiAffinityTerms`: adds `delta` for each term
    /// `pod` matches.
    fn update_with_anti_affinity_terms(
        &mut self,
        terms: &[AffinityTerm],
        pod: &PodInfo,
        ns_labels: &Labels,
        node: &Node,
        delta: i64,
    ) {
        for t in terms {
            if t.matches(&pod.namespace, &pod.labels, ns_labels) {
                self.update(node, &t.topology_key, delta);
            }
        }
    }
}

/// Upstream `podMatchesAllAffinityTerms` (false for no terms). The terms are
/// the incoming pod's, with namespace selectors resolved.
fn pod_matches_all_affinity_terms(terms: &[AffinityTerm], pod: &PodInfo) -> bool {
    !terms.is_empty()
        && terms
            .iter()
            .all(|t| t.matches(&pod.namespace, &pod.labels, &EMPTY_LABELS))
}

static EMPTY_LABELS: Labels = Labels::empty();

/// Upstream `mergeAffinityTermNamespacesIfNotEmpty`: a namespace selector
/// with requirements is replaced by the names of the namespaces it selects.
fn resolve_term(term: &AffinityTerm, cache: &Cache) -> AffinityTerm {
    let mut t = term.clone();
    if matches!(&t.namespace_selector, LabelSelector::Requirements(r) if !r.is_empty()) {
        let mut names: Vec<Box<str>> = cache
            .namespaces()
            .filter(|(_, l)| t.namespace_selector.matches(l))
            .map(|(n, _)| n.into())
            .collect();
        names.sort();
        for n in names {
            if !t.namespaces.contains(&n) {
                t.namespaces.push(n);
            }
        }
        t.namespace_selector = LabelSelector::Nothing;
    }
    t
}

fn resolve_weighted(terms: &[WeightedAffinityTerm], cache: &Cache) -> Vec<WeightedAffinityTerm> {
    terms
        .iter()
        .map(|w| WeightedAffinityTerm {
            term: resolve_term(&w.term, cache),
            weight: w.weight,
        })
        .collect()
}

/// PreFilter state (upstream `preFilterState`).
#[derive(Clone, Debug)]
pub struct PreFilterState {
    /// Existing pods' required anti-affinity terms matching the incoming pod.
    pub existing_anti_affinity_counts: TopologyCounts,
    /// Existing pods matching all of the incoming pod's affinity terms.
    pub affinity_counts: TopologyCounts,
    /// Existing pods matching the incoming pod's anti-affinity terms.
    pub anti_affinity_counts: TopologyCounts,
    required_affinity: Vec<AffinityTerm>,
    required_anti_affinity: Vec<AffinityTerm>,
    /// The key ids of `required_affinity` / `required_anti_affinity` (None:
    /// no node has the key).
    affinity_keys: Vec<Option<LabelKeyId>>,
    anti_affinity_keys: Vec<Option<LabelKeyId>>,
    /// The incoming pod matches all its own affinity terms.
    self_match: bool,
    namespace_labels: Labels,
}

impl PreFilterState {
    fn satisfies_pod_affinity(&self, node: &NodeInfo) -> bool {
        let ids = node.label_ids();
        let mut pods_exist = true;
        for (t, k) in self.required_affinity.iter().zip(&self.affinity_keys) {
            match k.and_then(|k| Some((k, ids.get(k)?))) {
                Some((k, v)) => {
                    if self.affinity_counts.get_ids(k, v) <= 0 {
                        pods_exist = false;
                    }
                }
                // Not by ids (a cache node lacks the key): by name.
                None => match node.node().labels.get(&t.topology_key) {
                    Some(v) => {
                        if self.affinity_counts.get(&t.topology_key, v) <= 0 {
                            pods_exist = false;
                        }
                    }
                    None => return false,
                },
            }
        }
        pods_exist || (self.affinity_counts.is_empty() && self.self_match)
    }

    fn satisfies_pod_anti_affinity(&self, node: &NodeInfo) -> bool {
        let counts = &self.anti_affinity_counts;
        if counts.is_empty() {
            return true;
        }
        let ids = node.label_ids();
        let by_name = !counts.names.is_empty();
        !self
            .required_anti_affinity
            .iter()
            .zip(&self.anti_affinity_keys)
            .any(|(t, k)| {
                k.and_then(|k| Some(counts.get_ids(k, ids.get(k)?) > 0))
                    .unwrap_or(false)
                    || (by_name
                        && node
                            .node()
                            .labels
                            .get(&t.topology_key)
                            .is_some_and(|v| counts.get(&t.topology_key, v) > 0))
            })
    }

    fn satisfies_existing_pods_anti_affinity(&self, node: &NodeInfo) -> bool {
        let counts = &self.existing_anti_affinity_counts;
        if counts.is_empty() {
            return true;
        }
        if node
            .label_ids()
            .iter()
            .any(|(k, v)| counts.get_ids(k, v) > 0)
        {
            return false;
        }
        counts.names.is_empty() || !node.node().labels.iter().any(|(k, v)| counts.get(k, v) > 0)
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> Result<PreFilterResult, Status> {
        let terms = pod.affinity_terms();
        if let Some(e) = &terms.parse_error {
            return Err(Status::unresolvable(format!("parsing pod: {e}")));
        }
        let ns_labels = snap
            .namespace_labels(&pod.namespace)
            .unwrap_or(&EMPTY_LABELS);
        let labels = snap.label_interner();
        let mut existing = TopologyCounts::new(labels);
        for g in snap.affinity_index().groups() {
            if g.kind() == TermKind::RequiredAntiAffinity
                && !g.has_no_domain()
                && g.term().matches(&pod.namespace, &pod.labels, ns_labels)
            {
                existing.add_group(g);
            }
        }
        if existing.is_empty()
            && terms.required_affinity.is_empty()
            && terms.required_anti_affinity.is_empty()
        {
            return Err(Status::skip());
        }
        let required_affinity: Vec<AffinityTerm> = terms
            .required_affinity
            .iter()
            .map(|t| resolve_term(t, snap))
            .collect();
        let required_anti_affinity: Vec<AffinityTerm> = terms
            .required_anti_affinity
            .iter()
            .map(|t| resolve_term(t, snap))
            .collect();
        let affinity_keys: Vec<Option<LabelKeyId>> = required_affinity
            .iter()
            .map(|t| labels.key(&t.topology_key))
            .collect();
        let anti_affinity_keys: Vec<Option<LabelKeyId>> = required_anti_affinity
            .iter()
            .map(|t| labels.key(&t.topology_key))
            .collect();
        let mut affinity = TopologyCounts::new(labels);
        let mut anti = TopologyCounts::new(labels);
        if !required_affinity.is_empty() || !required_anti_affinity.is_empty() {
            for &idx in snap.order() {
                let info = snap.info(idx);
                if info.hot().num_pods == 0 {
                    continue;
                }
                let ids = info.label_ids();
                for ep in info.pods() {
                    if pod_matches_all_affinity_terms(&required_affinity, ep) {
                        for &k in &affinity_keys {
                            affinity.update_ids(ids, k, 1);
                        }
                    }
                    for (t, &k) in required_anti_affinity.iter().zip(&anti_affinity_keys) {
                        if t.matches(&ep.namespace, &ep.labels, &EMPTY_LABELS) {
                            anti.update_ids(ids, k, 1);
                        }
                    }
                }
            }
        }
        let self_match = pod_matches_all_affinity_terms(&required_affinity, pod);
        state.write(
            PRE_FILTER_STATE_KEY,
            PreFilterState {
                existing_anti_affinity_counts: existing,
                affinity_counts: affinity,
                anti_affinity_counts: anti,
                required_affinity,
                required_anti_affinity,
                affinity_keys,
                anti_affinity_keys,
                self_match,
                namespace_labels: ns_labels.clone(),
            },
        );
        Ok(PreFilterResult::all())
    }

    fn pre_filter_extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(&EXTENSIONS)
    }
}

/// AddPod/RemovePod: the PreFilter state's own incremental update.
impl PodDeltaState for PreFilterState {
    fn update_with_pod(&mut self, updated: &PodInfo, pod: &PodInfo, node: &Node, delta: i64) {
        self.existing_anti_affinity_counts
            .update_with_anti_affinity_terms(
                &updated.affinity_terms().required_anti_affinity,
                pod,
                &self.namespace_labels,
                node,
                delta,
            );
        self.affinity_counts.update_with_affinity_terms(
            &self.required_affinity,
            updated,
            node,
            delta,
        );
        self.anti_affinity_counts.update_with_anti_affinity_terms(
            &self.required_anti_affinity,
            updated,
            &EMPTY_LABELS,
            node,
            delta,
        );
    }
}

static EXTENSIONS: StateDelta<PreFilterState> = StateDelta::new(PRE_FILTER_STATE_KEY);

/// The PreFilter state of a cycle, if PreFilter ran and did not skip.
pub fn pre_filter_state(state: &CycleState) -> Option<&PreFilterState> {
    state.read::<PreFilterState>(PRE_FILTER_STATE_KEY)
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        let s = state
            .read::<PreFilterState>(PRE_FILTER_STATE_KEY)
            .ok_or_else(|| Status::error("InterPodAffinity: PreFilter state missing"))?;
        let n = node;
        if !s.satisfies_pod_affinity(n) {
            return Err(Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH));
        }
        if !s.satisfies_pod_anti_affinity(n) {
            return Err(Status::unschedulable(
                ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
            ));
        }
        if !s.satisfies_existing_pods_anti_affinity(n) {
            return Err(Status::unschedulable(
                ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
            ));
        }
        Ok(())
    }
}

/// PreScore state: topology key → value → score.
#[derive(Clone, Debug, Default)]
struct PreScoreState {
    topology_score: HashMap<Box<str>, HashMap<Box<str>, i64>>,
}

impl PreScoreState {
    fn process_term(
        &mut self,
        term: &AffinityTerm,
        weight: i64,
        pod: &PodInfo,
        ns_labels: &Labels,
        node: &Node,
        multiplier: i64,
    ) {
        if !term.matches(&pod.namespace, &pod.labels, ns_labels) {
            return;
        }
        if let Some(v) = node.labels.get(&term.topology_key) {
            self.add(&term.topology_key, v, weight * multiplier);
        }
    }

    /// Adds `delta` to the pair (`key`, `value`), creating it (even at 0);
    /// allocates the names only for a new pair.
    fn add(&mut self, key: &str, value: &str, delta: i64) {
        let values = match self.topology_score.get_mut(key) {
            Some(m) => m,
            None => self.topology_score.entry(key.into()).or_default(),
        };
        match values.get_mut(value) {
            Some(n) => *n += delta,
            None => {
                values.insert(value.into(), delta);
            }
        }
    }

    /// Adds `weight` × the instances of `group` in each of its domains.
    fn add_group(&mut self, group: &TermGroup, weight: i64, labels: &LabelInterner) {
        let Some(k) = group.key() else { return };
        for (v, n) in group.domains() {
            self.add(
                &group.term().topology_key,
                labels.value_name(k, v),
                weight * n,
            );
        }
    }

    fn process_terms(
        &mut self,
        terms: &[WeightedAffinityTerm],
        pod: &PodInfo,
        ns_labels: &Labels,
        node: &Node,
        multiplier: i64,
    ) {
        for t in terms {
            self.process_term(&t.term, t.weight, pod, ns_labels, node, multiplier);
        }
    }
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        nodes: &[&NodeInfo],
    ) -> Result<(), Status> {
        if nodes.is_empty() {
            return Err(Status::skip());
        }
        let terms = pod.affinity_terms();
        let has_constraints =
            !terms.preferred_affinity.is_empty() || !terms.preferred_anti_affinity.is_empty();
        if self.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return Err(Status::skip());
        }
        if !has_constraints && snap.nodes_with_pods_with_affinity().next().is_none() {
            return Err(Status::skip());
        }
        let preferred_affinity = resolve_weighted(&terms.preferred_affinity, snap);
        let preferred_anti = resolve_weighted(&terms.preferred_anti_affinity, snap);
        let ns_labels = snap
            .namespace_labels(&pod.namespace)
            .unwrap_or(&EMPTY_LABELS);
        let mut s = PreScoreState::default();
        // The incoming pod's preferred terms against every existing pod.
        if has_constraints {
            for &idx in snap.order() {
                let info = snap.info(idx);
                let node = info.node();
                if node.labels.is_empty() {
                    continue;
                }
                for ep in info.pods() {
                    s.process_terms(&preferred_affinity, ep, &EMPTY_LABELS, node, 1);
                    s.process_terms(&preferred_anti, ep, &EMPTY_LABELS, node, -1);
                }
            }
        }
        // The existing pods' terms against the incoming pod: once per
        // distinct term, with its instances per domain (the same sums as a
        // walk of the pods with affinity on the present nodes).
        let labels = snap.label_interner();
        for g in snap.affinity_index().groups() {
            let weight = match g.kind() {
                TermKind::RequiredAntiAffinity => continue,
                TermKind::RequiredAffinity if self.hard_pod_affinity_weight > 0 => {
                    self.hard_pod_affinity_weight
                }
                TermKind::RequiredAffinity => continue,
                TermKind::PreferredAffinity(w) => w,
                TermKind::PreferredAntiAffinity(w) => -w,
            };
            if !g.has_no_domain() && g.term().matches(&pod.namespace, &pod.labels, ns_labels) {
                s.add_group(g, weight, labels);
            }
        }
        if s.topology_score.is_empty() {
            return Err(Status::skip());
        }
        state.write(PRE_SCORE_STATE_KEY, s);
        Ok(())
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<PreScoreState>(PRE_SCORE_STATE_KEY)
            .ok_or_else(|| Status::error("InterPodAffinity: PreScore state missing"))?;
        let labels = &node.node().labels;
        Ok(s.topology_score
            .iter()
            .filter_map(|(k, values)| labels.get(k).and_then(|v| values.get(v)))
            .sum())
    }

    fn normalize_scores(
        &self,
        _: &CycleState,
        _: &PodInfo,
        scores: &mut [i64],
    ) -> Result<(), Status> {
        let (Some(&min), Some(&max)) = (scores.iter().min(), scores.iter().max()) else {
            return Ok(());
        };
        let diff = max - min;
        for s in scores.iter_mut() {
            let f = if diff > 0 {
                MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)
            } else {
                0.0
            };
            *s = f as i64;
        }
        Ok(())
    }
}
