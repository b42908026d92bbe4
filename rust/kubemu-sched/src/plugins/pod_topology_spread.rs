//! PodTopologySpread (upstream `plugins/podtopologyspread`).
//!
//! - Constraints: the pod's `topologySpreadConstraints` for the extension
//!   point's `whenUnsatisfiable` (`DoNotSchedule` for Filter,
//!   `ScheduleAnyway` for Score), `matchLabelKeys` merged into the selector,
//!   defaults minDomains 1, nodeAffinityPolicy Honor, nodeTaintsPolicy
//!   Ignore. A pod with none gets the default constraints (System: hostname
//!   maxSkew 3 and zone maxSkew 5, both ScheduleAnyway; or the args' List)
//!   with the selector of its owners — see [`default_selector`] for the
//!   approximation used here.
//! - PreFilter: per constraint, the number of matching pods (same namespace,
//!   not terminating) per topology domain over the nodes that carry every
//!   constraint's topology key and pass its inclusion policies; and the
//!   minimum over domains (upstream's two "critical paths"). `Skip` without
//!   hard constraints. AddPod/RemovePod update the counts (preemption).
//! - Filter: a node missing a topology key is `UnschedulableAndUnresolvable`
//!   ("… (missing required label)"); `count(domain) + selfMatch − min >
//!   maxSkew` is `Unschedulable`, with min = 0 while fewer than minDomains
//!   domains exist.
//! - PreScore/Score: per soft constraint `cnt·ln(#domains + 2) + (maxSkew − 1)`
//!   summed and rounded, `cnt` the matching pods of the node's domain (of the
//!   node itself for hostname), `#domains` counted over the feasible nodes
//!   (for hostname: the feasible nodes not ignored). Nodes missing a key are
//!   ignored (unless only system defaults apply) and score 0.
//! - NormalizeScore: `100·(max + min − s)/max` over non-ignored nodes
//!   (100 for all when max = 0).
//!
//! Determinism: domains are recorded in node order (the cache's zone
//! round-robin order), and the critical paths are computed in that order, so
//! incremental updates give the same result on every run.
//!
//! Cost: a node's domain is its interned value id
//! ([`NodeInfo::label_ids`]), and counts per domain are arrays indexed by
//! it, so PreFilter/PreScore are one walk over the nodes (integer compares)
//! plus the selector match of each pod on a node that has pods; Filter and
//! Score look a node's count up by index.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use serde::Deserialize;

use super::helper::{has_untolerated_do_not_schedule_taint, pod_matches_node_affinity};
use crate::cache::{NodeIdx, NodeInfo, DETACHED_GENERATION};
use crate::framework::{
    ConfigError, CycleState, FilterPlugin, Plugin, PluginArgs, PodDeltaState, PreFilterExtensions,
    PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Snapshot, StateDelta, Status,
    MAX_NODE_SCORE,
};
use crate::label_ids::{LabelInterner, LabelKeyId, LabelValueId, NodeLabelIds};
use crate::model::{
    LabelSelector, Labels, Node, PodInfo, TopologySpreadConstraint, WhenUnsatisfiable,
};

pub use super::names::POD_TOPOLOGY_SPREAD as NAME;

/// Upstream `ErrReasonConstraintsNotMatch`.
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints";
/// Upstream `ErrReasonNodeLabelNotMatch`.
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
/// `kubernetes.io/hostname`.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// `topology.kubernetes.io/zone`.
pub const LABEL_TOPOLOGY_ZONE: &str = "topology.kubernetes.io/zone";

const PRE_FILTER_STATE_KEY: &str = "PreFilterPodTopologySpread";
const PRE_SCORE_STATE_KEY: &str = "PreScorePodTopologySpread";
/// Raw score of an ignored node (upstream `invalidScore`), mapped to 0 by
/// NormalizeScore.
const INVALID_SCORE: i64 = -1;

/// Labels the approximated default selector leaves out because they differ
/// between pods of one owner.
const PER_POD_LABELS: [&str; 3] = [
    "statefulset.kubernetes.io/pod-name",
    "controller-revision-hash",
    "apps.kubernetes.io/pod-index",
];

/// A default constraint of the args (no selector: it is derived per pod).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct DefaultConstraint {
    /// `maxSkew` (> 0).
    pub max_skew: i32,
    /// `topologyKey`.
    pub topology_key: String,
    /// `DoNotSchedule` or `ScheduleAnyway`.
    pub when_unsatisfiable: String,
    /// Must be absent.
    pub label_selector: Option<serde::de::IgnoredAny>,
}

/// `PodTopologySpreadArgs`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PodTopologySpreadArgs {
    /// Used for pods without constraints when `defaultingType` is `List`.
    pub default_constraints: Vec<DefaultConstraint>,
    /// `System` (default) or `List`.
    pub defaulting_type: String,
}

/// The plugin.
#[derive(Debug)]
pub struct PodTopologySpread {
    defaults: Vec<(i32, Box<str>, WhenUnsatisfiable)>,
    system_defaulted: bool,
    memo: Mutex<MatchMemo>,
}

impl Clone for PodTopologySpread {
    /// A copy with an empty [`MatchMemo`].
    fn clone(&self) -> Self {
        Self {
            defaults: self.defaults.clone(),
            system_defaulted: self.system_defaulted,
            memo: Mutex::default(),
        }
    }
}

/// How many (namespace, selector) pairs [`MatchMemo`] keeps.
const MEMO_ENTRIES: usize = 4;

/// The number of matching pods per node slot for the (namespace, selector)
/// pairs of recent cycles, so PreFilter/PreScore re-count only the nodes
/// that changed since (a node info's `generation` changes with every change
/// of it in the cache, and is never reused by another content of the slot).
/// Valid for one cache: the cache is recognised by its label interner's
/// allocation, which the `Weak` keeps from being reused; a different
/// interner (another cache, or this one after a new label pair) clears it.
#[derive(Debug, Default)]
struct MatchMemo {
    cache: Weak<LabelInterner>,
    tick: u64,
    entries: Vec<MemoEntry>,
}

#[derive(Debug)]
struct MemoEntry {
    namespace: Box<str>,
    selector: LabelSelector,
    last_used: u64,
    /// Per slot: (generation of the node info when counted, count);
    /// `DETACHED_GENERATION` when not counted.
    per_slot: Vec<(u64, i64)>,
}

impl MatchMemo {
    /// Starts a cycle on the cache of `labels` (clearing counts of another).
    fn begin(&mut self, labels: &Arc<LabelInterner>) {
        if !std::ptr::eq(self.cache.as_ptr(), Arc::as_ptr(labels)) {
            self.cache = Arc::downgrade(labels);
            self.entries.clear();
        }
        self.tick += 1;
    }

    /// The entry of (`namespace`, `selector`), made (replacing the least
    /// recently used one) when missing.
    fn entry(&mut self, namespace: &str, selector: &LabelSelector) -> usize {
        let tick = self.tick;
        let i = match self
            .entries
            .iter()
            .position(|e| *e.namespace == *namespace && e.selector == *selector)
        {
            Some(i) => i,
            None => {
                let e = MemoEntry {
                    namespace: namespace.into(),
                    selector: selector.clone(),
                    last_used: tick,
                    per_slot: Vec::new(),
                };
                if self.entries.len() < MEMO_ENTRIES {
                    self.entries.push(e);
                    self.entries.len() - 1
                } else {
                    let (i, _) = self
                        .entries
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, e)| e.last_used)
                        .expect("entries");
                    self.entries[i] = e;
                    i
                }
            }
        };
        self.entries[i].last_used = tick;
        i
    }

    /// [`count_on_node`] of the cache node `info` at slot `idx` for entry
    /// `e`, re-counted only when the node changed since it was counted.
    #[inline]
    fn count(&mut self, e: usize, idx: NodeIdx, info: &NodeInfo) -> i64 {
        let e = &mut self.entries[e];
        let i = idx as usize;
        if e.per_slot.len() <= i {
            e.per_slot.resize(i + 1, (DETACHED_GENERATION, 0));
        }
        let slot = &mut e.per_slot[i];
        if slot.0 != info.generation || info.generation == DETACHED_GENERATION {
            *slot = (
                info.generation,
                count_on_node(info, &e.selector, &e.namespace),
            );
        }
        slot.1
    }
}

impl Default for PodTopologySpread {
    fn default() -> Self {
        Self::new(PodTopologySpreadArgs::default()).expect("default args are valid")
    }
}

/// Registry factory.
pub fn factory(args: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(PodTopologySpread::new(args.decode(NAME)?)?))
}

impl PodTopologySpread {
    /// Builds the plugin, validating `args` as upstream.
    pub fn new(args: PodTopologySpreadArgs) -> Result<Self, ConfigError> {
        let bad = |m: String| Err(ConfigError(format!("{NAME} args: {m}")));
        let system = match args.defaulting_type.as_str() {
            "" | "System" => true,
            "List" => false,
            other => {
                return bad(format!(
                    "defaultingType: Unsupported value: {other:?}: supported values: \"System\", \"List\""
                ))
            }
        };
        if system && !args.default_constraints.is_empty() {
            return bad(
                "defaultConstraints: Invalid value: when .defaultingType is \"System\", .defaultConstraints must be empty"
                    .into(),
            );
        }
        let mut defaults = Vec::new();
        for (i, c) in args.default_constraints.iter().enumerate() {
            let f = format!("defaultConstraints[{i}]");
            if c.max_skew <= 0 {
                return bad(format!(
                    "{f}.maxSkew: Invalid value: {}: must be greater than zero",
                    c.max_skew
                ));
            }
            if c.topology_key.is_empty() {
                return bad(format!("{f}.topologyKey: Required value: can not be empty"));
            }
            let w = WhenUnsatisfiable::parse(&c.when_unsatisfiable);
            if w == WhenUnsatisfiable::Other {
                return bad(format!(
                    "{f}.whenUnsatisfiable: Unsupported value: {:?}",
                    c.when_unsatisfiable
                ));
            }
            if c.label_selector.is_some() {
                return bad(format!(
                    "{f}.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod"
                ));
            }
            if defaults
                .iter()
                .any(|(_, k, ww): &(i32, Box<str>, _)| **k == *c.topology_key && *ww == w)
            {
                return bad(format!("{f}: Duplicate value"));
            }
            defaults.push((c.max_skew, c.topology_key.as_str().into(), w));
        }
        if system {
            defaults = vec![
                (3, LABEL_HOSTNAME.into(), WhenUnsatisfiable::ScheduleAnyway),
                (
                    5,
                    LABEL_TOPOLOGY_ZONE.into(),
                    WhenUnsatisfiable::ScheduleAnyway,
                ),
            ];
        }
        Ok(Self {
            defaults,
            system_defaulted: system,
            memo: Mutex::default(),
        })
    }

    /// The pod's constraints for `action` (upstream `getConstraints` /
    /// `initPreScoreState`): its own when it has any, else the defaults with
    /// [`default_selector`]. `Err` for the first of the pod's constraints
    /// for `action` whose selector does not parse (constraints for the other
    /// action are not looked at, as upstream).
    pub fn constraints(
        &self,
        pod: &PodInfo,
        action: WhenUnsatisfiable,
    ) -> Result<Vec<TopologySpreadConstraint>, String> {
        let own = &pod.topology_spread_constraints;
        if !own.is_empty() {
            return own
                .iter()
                .filter(|c| c.when_unsatisfiable == action)
                .map(|c| match &c.selector_error {
                    Some(e) => Err(e.to_string()),
                    None => Ok(c.clone()),
                })
                .collect();
        }
        if !self.defaults.iter().any(|d| d.2 == action) {
            return Ok(Vec::new());
        }
        let Some(selector) = default_selector(pod) else {
            return Ok(Vec::new());
        };
        Ok(self
            .defaults
            .iter()
            .filter(|d| d.2 == action)
            .map(|(skew, key, w)| TopologySpreadConstraint {
                max_skew: *skew,
                topology_key: key.clone(),
                when_unsatisfiable: *w,
                selector: selector.clone(),
                selector_error: None,
                min_domains: 1,
                honor_node_affinity: true,
                honor_node_taints: false,
            })
            .collect())
    }
}

/// The selector of the default constraints (upstream `helper.DefaultSelector`
/// merges the selectors of the Services, ReplicationControllers, ReplicaSets
/// and StatefulSets that select the pod). The cache holds none of those, so
/// this approximates: a pod whose controller owner is a ReplicaSet or
/// StatefulSet (`apps/v1`) or a ReplicationController (`v1`) gets its own
/// labels as the selector, less the per-pod ones
/// (`statefulset.kubernetes.io/pod-name`, `controller-revision-hash`,
/// `apps.kubernetes.io/pod-index`); other pods (including pods only selected
/// by a Service) get no default constraints.
pub fn default_selector(pod: &PodInfo) -> Option<LabelSelector> {
    let owner = pod.controller_ref()?;
    let known = matches!(
        (&*owner.api_version, &*owner.kind),
        ("v1", "ReplicationController") | ("apps/v1", "ReplicaSet") | ("apps/v1", "StatefulSet")
    );
    if !known {
        return None;
    }
    let set = Labels::from_pairs(
        pod.labels
            .iter()
            .filter(|(k, _)| !PER_POD_LABELS.contains(k)),
    );
    (!set.is_empty()).then(|| LabelSelector::from_set(&set))
}

/// Upstream `nodeLabelsMatchSpreadConstraints`: the node has every key.
fn node_has_all_keys(labels: &Labels, constraints: &[TopologySpreadConstraint]) -> bool {
    constraints
        .iter()
        .all(|c| labels.get(&c.topology_key).is_some())
}

/// Upstream `matchNodeInclusionPolicies`.
fn node_included(c: &TopologySpreadConstraint, pod: &PodInfo, node: &Node) -> bool {
    (!c.honor_node_affinity || pod_matches_node_affinity(pod, node))
        && (!c.honor_node_taints || !has_untolerated_do_not_schedule_taint(pod, node))
}

/// [`node_included`] for a cache node, skipping the checks that cannot
/// fail: node affinity when the pod has neither `nodeSelector` nor required
/// node affinity (`no_affinity`), taints when the node has none.
#[inline]
fn info_included(
    c: &TopologySpreadConstraint,
    pod: &PodInfo,
    info: &NodeInfo,
    no_affinity: bool,
) -> bool {
    (!c.honor_node_affinity || no_affinity || pod_matches_node_affinity(pod, info.node()))
        && (!c.honor_node_taints
            || !info.hot().has_taints
            || !has_untolerated_do_not_schedule_taint(pod, info.node()))
}

/// The pod has no `nodeSelector` and no required node affinity (every node
/// passes the node-affinity inclusion policy).
fn no_node_affinity(pod: &PodInfo) -> bool {
    pod.node_selector.is_empty() && pod.required_affinity.is_none()
}

/// [`node_has_all_keys`] on label ids: every constraint's key is on the node.
#[inline]
fn ids_have_all_keys(ids: &NodeLabelIds, counts: &[DomainCounts]) -> bool {
    counts.iter().all(|d| d.node_value(ids).is_some())
}

/// [`count_pods_match_selector`] of a cache node (no walk for a node without pods).
#[inline]
fn count_on_node(info: &NodeInfo, selector: &LabelSelector, namespace: &str) -> i64 {
    if info.hot().num_pods == 0 {
        return 0;
    }
    count_pods_match_selector(info.pods(), selector, namespace)
}

/// Upstream `countPodsMatchSelector`: pods of `namespace`, not terminating,
/// whose labels match.
pub fn count_pods_match_selector(
    pods: &[Arc<PodInfo>],
    selector: &LabelSelector,
    namespace: &str,
) -> i64 {
    pods.iter()
        // Labels first: most pods fail the selector without a string compare
        // (an empty label set), while the namespace compare always costs one.
        .filter(|p| !p.terminating && selector.matches(&p.labels) && *p.namespace == *namespace)
        .count() as i64
}

/// Matching-pod counts per domain of one constraint, in first-seen order.
///
/// Domains are the constraint key's value ids of the cache's
/// [`LabelInterner`] (a value no node reported gets a local id above them),
/// so counting is array indexing; the `&str` methods map names to ids.
#[derive(Clone, Debug, Default)]
pub struct DomainCounts {
    labels: Arc<LabelInterner>,
    key: Option<LabelKeyId>,
    /// Value ids of `key` in the interner (local ids start here).
    interned: u32,
    /// Names of the local ids.
    extra: Vec<Box<str>>,
    /// Count per id, [`UNSEEN`] for a domain not recorded.
    by_id: Vec<i64>,
    /// Recorded ids in first-seen order.
    order: Vec<LabelValueId>,
}

/// [`DomainCounts::by_id`] of a domain not recorded.
const UNSEEN: i64 = i64::MIN;

impl DomainCounts {
    /// Empty counts for domains of `key` (looked up in `labels`).
    pub fn new(labels: &Arc<LabelInterner>, key: &str) -> Self {
        let key = labels.key(key);
        let interned = key.map_or(0, |k| labels.num_values(k)) as u32;
        Self {
            labels: Arc::clone(labels),
            key,
            interned,
            extra: Vec::new(),
            by_id: vec![UNSEEN; interned as usize],
            order: Vec::new(),
        }
    }

    /// The key's id, None when no node ever had the key.
    #[inline]
    fn key_id(&self) -> Option<LabelKeyId> {
        self.key
    }

    /// The domain id of a node from its label ids (None without the key).
    #[inline]
    fn node_value(&self, ids: &NodeLabelIds) -> Option<LabelValueId> {
        ids.get(self.key?)
    }

    /// The id of domain `value`, if it has one.
    fn id(&self, value: &str) -> Option<LabelValueId> {
        self.key
            .and_then(|k| self.labels.value(k, value))
            .or_else(|| {
                self.extra
                    .iter()
                    .position(|e| **e == *value)
                    .map(|i| self.interned + i as u32)
            })
    }

    /// The id of domain `value`, giving it a local one when it has none.
    fn id_or_insert(&mut self, value: &str) -> LabelValueId {
        self.id(value).unwrap_or_else(|| {
            self.extra.push(value.into());
            self.by_id.push(UNSEEN);
            self.interned + self.extra.len() as u32 - 1
        })
    }

    fn name(&self, id: LabelValueId) -> &str {
        match self.key {
            Some(k) if id < self.interned => self.labels.value_name(k, id),
            _ => &self.extra[(id - self.interned) as usize],
        }
    }

    /// Adds `delta` to domain `id` (recording it if new); returns the new count.
    #[inline]
    fn add_id(&mut self, id: LabelValueId, delta: i64) -> i64 {
        let c = &mut self.by_id[id as usize];
        if *c == UNSEEN {
            *c = delta;
            self.order.push(id);
        } else {
            *c += delta;
        }
        *c
    }

    /// The count of domain `id` (0 when not recorded).
    #[inline]
    fn get_id(&self, id: LabelValueId) -> i64 {
        match self.by_id.get(id as usize) {
            Some(&c) if c != UNSEEN => c,
            _ => 0,
        }
    }

    #[inline]
    fn contains_id(&self, id: LabelValueId) -> bool {
        self.by_id.get(id as usize).is_some_and(|&c| c != UNSEEN)
    }

    /// Adds `delta` to `domain` (recording it if new); returns the new count.
    pub fn add(&mut self, domain: &str, delta: i64) -> i64 {
        let id = self.id_or_insert(domain);
        self.add_id(id, delta)
    }

    /// The count of `domain` (0 when unknown).
    pub fn get(&self, domain: &str) -> i64 {
        self.id(domain).map_or(0, |id| self.get_id(id))
    }

    /// True when `domain` has been recorded.
    pub fn contains(&self, domain: &str) -> bool {
        self.id(domain).is_some_and(|id| self.contains_id(id))
    }

    /// Number of domains recorded.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when no domain is recorded.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// `(domain, count)` in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.order
            .iter()
            .map(|&id| (self.name(id), self.by_id[id as usize]))
    }
}

/// Upstream `criticalPaths`: `[0]` always holds the minimum count. Domains
/// are [`DomainCounts`] ids; both start as the id of the empty value with
/// the count `i32::MAX` (upstream starts with `""`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriticalPaths(pub [(LabelValueId, i64); 2]);

impl CriticalPaths {
    /// Both paths on domain `empty` (the id of `""`) with count `i32::MAX`.
    pub fn new(empty: LabelValueId) -> Self {
        let max = i64::from(i32::MAX);
        Self([(empty, max), (empty, max)])
    }

    /// Upstream `criticalPaths.update`.
    pub fn update(&mut self, value: LabelValueId, num: i64) {
        let p = &mut self.0;
        let i = if p[0].0 == value {
            Some(0)
        } else if p[1].0 == value {
            Some(1)
        } else {
            None
        };
        match i {
            Some(i) => {
                p[i].1 = num;
                if p[0].1 > p[1].1 {
                    p.swap(0, 1);
                }
            }
            None if num < p[0].1 => {
                p[1] = p[0];
                p[0] = (value, num);
            }
            None if num < p[1].1 => p[1] = (value, num),
            None => {}
        }
    }

    /// The minimum count.
    pub fn min(&self) -> i64 {
        self.0[0].1
    }
}

/// PreFilter state (upstream `preFilterState`).
#[derive(Clone, Debug)]
pub struct PreFilterState {
    /// The hard constraints.
    pub constraints: Vec<TopologySpreadConstraint>,
    /// Per constraint: matching pods per domain.
    pub counts: Vec<DomainCounts>,
    /// Per constraint: the critical paths.
    pub critical_paths: Vec<CriticalPaths>,
}

impl PreFilterState {
    /// Upstream `minMatchNum`: the global minimum, 0 while fewer than
    /// `minDomains` domains exist.
    pub fn min_match_num(&self, i: usize) -> i64 {
        if (self.counts[i].len() as i64) < i64::from(self.constraints[i].min_domains) {
            0
        } else {
            self.critical_paths[i].min()
        }
    }
}

/// PreScore state (upstream `preScoreState`).
#[derive(Clone, Debug)]
struct PreScoreState {
    constraints: Vec<TopologySpreadConstraint>,
    require_all_topologies: bool,
    /// Per constraint: counts per domain of the feasible nodes (empty for
    /// hostname, counted per node in Score).
    counts: Vec<DomainCounts>,
    weights: Vec<f64>,
}

impl Plugin for PodTopologySpread {
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

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> Result<PreFilterResult, Status> {
        let constraints = self
            .constraints(pod, WhenUnsatisfiable::DoNotSchedule)
            .map_err(|e| Status::error(format!("get constraints from pod: {e}")))?;
        if constraints.is_empty() {
            return Err(Status::skip());
        }
        let labels = snap.label_interner();
        let mut counts: Vec<DomainCounts> = constraints
            .iter()
            .map(|c| DomainCounts::new(labels, &c.topology_key))
            .collect();
        let mut critical_paths: Vec<CriticalPaths> = counts
            .iter_mut()
            .map(|d| CriticalPaths::new(d.id_or_insert("")))
            .collect();
        // A key no node has: no node has all keys, no domain.
        if counts.iter().all(|d| d.key_id().is_some()) {
            let no_affinity = no_node_affinity(pod);
            let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
            memo.begin(labels);
            let entries: Vec<usize> = constraints
                .iter()
                .map(|c| memo.entry(&pod.namespace, &c.selector))
                .collect();
            for &idx in snap.order() {
                let info = snap.info(idx);
                let ids = info.label_ids();
                if !ids_have_all_keys(ids, &counts) {
                    continue;
                }
                for (i, (c, dc)) in constraints.iter().zip(counts.iter_mut()).enumerate() {
                    if !info_included(c, pod, info, no_affinity) {
                        continue;
                    }
                    let v = dc.node_value(ids).expect("checked above");
                    let n = memo.count(entries[i], idx, info);
                    dc.add_id(v, n);
                }
            }
        }
        for (dc, p) in counts.iter().zip(critical_paths.iter_mut()) {
            for &v in &dc.order {
                p.update(v, dc.by_id[v as usize]);
            }
        }
        state.write(
            PRE_FILTER_STATE_KEY,
            PreFilterState {
                constraints,
                counts,
                critical_paths,
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
    fn update_with_pod(&mut self, updated: &PodInfo, preemptor: &PodInfo, node: &Node, delta: i64) {
        if *updated.namespace != *preemptor.namespace
            || !node_has_all_keys(&node.labels, &self.constraints)
        {
            return;
        }
        for (i, c) in self.constraints.iter().enumerate() {
            if !c.selector.matches(&updated.labels) || !node_included(c, preemptor, node) {
                continue;
            }
            let v = node.labels.get(&c.topology_key).unwrap_or("");
            let id = self.counts[i].id_or_insert(v);
            let n = self.counts[i].add_id(id, delta);
            self.critical_paths[i].update(id, n);
        }
    }
}

static EXTENSIONS: StateDelta<PreFilterState> = StateDelta::new(PRE_FILTER_STATE_KEY);

/// The PreFilter state of a cycle, if PreFilter ran and did not skip (for
/// tests and preemption).
pub fn pre_filter_state(state: &CycleState) -> Option<&PreFilterState> {
    state.read::<PreFilterState>(PRE_FILTER_STATE_KEY)
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        let s = state
            .read::<PreFilterState>(PRE_FILTER_STATE_KEY)
            .ok_or_else(|| Status::error("PodTopologySpread: PreFilter state missing"))?;
        let ids = node.label_ids();
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(v) = s.counts[i].node_value(ids) else {
                return Err(Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH));
            };
            let min = s.min_match_num(i);
            let self_match = i64::from(c.selector.matches(&pod.labels));
            let skew = s.counts[i].get_id(v) + self_match - min;
            if skew > i64::from(c.max_skew) {
                return Err(Status::unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH));
            }
        }
        Ok(())
    }
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        nodes: &[&NodeInfo],
    ) -> Result<(), Status> {
        if snap.num_nodes() == 0 {
            return Err(Status::skip());
        }
        let constraints = self
            .constraints(pod, WhenUnsatisfiable::ScheduleAnyway)
            .map_err(|e| {
                Status::error(format!(
                    "calculating preScoreState: obtaining pod's soft topology spread constraints: {e}"
                ))
            })?;
        if constraints.is_empty() {
            return Err(Status::skip());
        }
        let has_own = !pod.topology_spread_constraints.is_empty();
        let require_all = has_own || !self.system_defaulted;
        let labels = snap.label_interner();
        let mut counts: Vec<DomainCounts> = constraints
            .iter()
            .map(|c| DomainCounts::new(labels, &c.topology_key))
            .collect();
        // The domain of a node without the key (only counted when not all
        // keys are required): the empty value, as upstream.
        let empty: Vec<LabelValueId> = counts.iter_mut().map(|d| d.id_or_insert("")).collect();
        let hostname: Vec<bool> = constraints
            .iter()
            .map(|c| &*c.topology_key == LABEL_HOSTNAME)
            .collect();
        let mut ignored = 0usize;
        for info in nodes {
            let ids = info.label_ids();
            if require_all && !ids_have_all_keys(ids, &counts) {
                ignored += 1;
                continue;
            }
            for (i, dc) in counts.iter_mut().enumerate() {
                if hostname[i] {
                    continue;
                }
                let v = dc.node_value(ids).unwrap_or(empty[i]);
                if !dc.contains_id(v) {
                    dc.add_id(v, 0);
                }
            }
        }
        let weights = constraints
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let size = if hostname[i] {
                    nodes.len() - ignored
                } else {
                    counts[i].len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        if counts.iter().any(|c| !c.is_empty()) {
            let no_affinity = no_node_affinity(pod);
            let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
            memo.begin(labels);
            let entries: Vec<usize> = constraints
                .iter()
                .map(|c| memo.entry(&pod.namespace, &c.selector))
                .collect();
            for &idx in snap.order() {
                let info = snap.info(idx);
                let ids = info.label_ids();
                if require_all && !ids_have_all_keys(ids, &counts) {
                    continue;
                }
                for (i, (c, dc)) in constraints.iter().zip(counts.iter_mut()).enumerate() {
                    if dc.is_empty() {
                        continue;
                    }
                    let v = dc.node_value(ids).unwrap_or(empty[i]);
                    if !dc.contains_id(v) || !info_included(c, pod, info, no_affinity) {
                        continue;
                    }
                    let n = memo.count(entries[i], idx, info);
                    dc.add_id(v, n);
                }
            }
        }
        state.write(
            PRE_SCORE_STATE_KEY,
            PreScoreState {
                constraints,
                require_all_topologies: require_all,
                counts,
                weights,
            },
        );
        Ok(())
    }
}

/// Upstream `scoreForCount`.
pub fn score_for_count(cnt: i64, max_skew: i32, weight: f64) -> f64 {
    cnt as f64 * weight + f64::from(max_skew - 1)
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<PreScoreState>(PRE_SCORE_STATE_KEY)
            .ok_or_else(|| Status::error("PodTopologySpread: PreScore state missing"))?;
        let ids = node.label_ids();
        if s.require_all_topologies && !ids_have_all_keys(ids, &s.counts) {
            return Ok(INVALID_SCORE);
        }
        let mut score = 0f64;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(v) = s.counts[i].node_value(ids) else {
                continue;
            };
            let cnt = if &*c.topology_key == LABEL_HOSTNAME {
                count_on_node(node, &c.selector, &pod.namespace)
            } else {
                s.counts[i].get_id(v)
            };
            score += score_for_count(cnt, c.max_skew, s.weights[i]);
        }
        Ok(score.round() as i64)
    }

    fn normalize_scores(
        &self,
        _: &CycleState,
        _: &PodInfo,
        scores: &mut [i64],
    ) -> Result<(), Status> {
        let mut min = i64::MAX;
        let mut max = 0i64;
        for &s in scores.iter().filter(|&&s| s != INVALID_SCORE) {
            min = min.min(s);
            max = max.max(s);
        }
        for s in scores.iter_mut() {
            *s = if *s == INVALID_SCORE {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - *s) / max
            };
        }
        Ok(())
    }
}
