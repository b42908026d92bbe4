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

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::helper::{has_untolerated_do_not_schedule_taint, pod_matches_node_affinity};
use crate::cache::NodeInfo;
use crate::framework::{
    ConfigError, CycleState, FilterPlugin, Plugin, PluginArgs, PodDeltaState, PreFilterExtensions,
    PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Snapshot, StateDelta, Status,
    MAX_NODE_SCORE,
};
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
#[derive(Clone, Debug)]
pub struct PodTopologySpread {
    defaults: Vec<(i32, Box<str>, WhenUnsatisfiable)>,
    system_defaulted: bool,
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

/// Upstream `countPodsMatchSelector`: pods of `namespace`, not terminating,
/// whose labels match.
pub fn count_pods_match_selector(
    pods: &[Arc<PodInfo>],
    selector: &LabelSelector,
    namespace: &str,
) -> i64 {
    pods.iter()
        .filter(|p| !p.terminating && *p.namespace == *namespace && selector.matches(&p.labels))
        .count() as i64
}

/// Matching-pod counts per domain of one constraint, in first-seen order.
#[derive(Clone, Debug, Default)]
pub struct DomainCounts {
    index: HashMap<Box<str>, usize>,
    values: Vec<(Box<str>, i64)>,
}

impl DomainCounts {
    /// Adds `delta` to `domain` (recording it if new); returns the new count.
    pub fn add(&mut self, domain: &str, delta: i64) -> i64 {
        match self.index.get(domain) {
            Some(&i) => {
                self.values[i].1 += delta;
                self.values[i].1
            }
            None => {
                self.index.insert(domain.into(), self.values.len());
                self.values.push((domain.into(), delta));
                delta
            }
        }
    }

    /// The count of `domain` (0 when unknown).
    pub fn get(&self, domain: &str) -> i64 {
        self.index.get(domain).map_or(0, |&i| self.values[i].1)
    }

    /// True when `domain` has been recorded.
    pub fn contains(&self, domain: &str) -> bool {
        self.index.contains_key(domain)
    }

    /// Number of domains recorded.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when no domain is recorded.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `(domain, count)` in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.values.iter().map(|(d, n)| (&**d, *n))
    }
}

/// Upstream `criticalPaths`: `[0]` always holds the minimum count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriticalPaths(pub [(Box<str>, i64); 2]);

impl Default for CriticalPaths {
    fn default() -> Self {
        let max = i64::from(i32::MAX);
        Self([("".into(), max), ("".into(), max)])
    }
}

impl CriticalPaths {
    /// Upstream `criticalPaths.update`.
    pub fn update(&mut self, value: &str, num: i64) {
        let p = &mut self.0;
        let i = if *p[0].0 == *value {
            Some(0)
        } else if *p[1].0 == *value {
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
                p[1] = p[0].clone();
                p[0] = (value.into(), num);
            }
            None if num < p[1].1 => p[1] = (value.into(), num),
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
        let mut counts = vec![DomainCounts::default(); constraints.len()];
        for &idx in snap.order() {
            let info = snap.info(idx);
            let node = info.node();
            if !node_has_all_keys(&node.labels, &constraints) {
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if !node_included(c, pod, node) {
                    continue;
                }
                let v = node.labels.get(&c.topology_key).unwrap_or("");
                let n = count_pods_match_selector(info.pods(), &c.selector, &pod.namespace);
                counts[i].add(v, n);
            }
        }
        let critical_paths = counts
            .iter()
            .map(|dc| {
                let mut p = CriticalPaths::default();
                for (v, n) in dc.iter() {
                    p.update(v, n);
                }
                p
            })
            .collect();
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
            let n = self.counts[i].add(v, delta);
            self.critical_paths[i].update(v, n);
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
        let labels = &node.node().labels;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(v) = labels.get(&c.topology_key) else {
                return Err(Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH));
            };
            let min = s.min_match_num(i);
            let self_match = i64::from(c.selector.matches(&pod.labels));
            let skew = s.counts[i].get(v) + self_match - min;
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
        let mut counts = vec![DomainCounts::default(); constraints.len()];
        let mut ignored = 0usize;
        for info in nodes {
            let labels = &info.node().labels;
            if require_all && !node_has_all_keys(labels, &constraints) {
                ignored += 1;
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if &*c.topology_key == LABEL_HOSTNAME {
                    continue;
                }
                let v = labels.get(&c.topology_key).unwrap_or("");
                if !counts[i].contains(v) {
                    counts[i].add(v, 0);
                }
            }
        }
        let weights = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if &*c.topology_key == LABEL_HOSTNAME {
                    nodes.len() - ignored
                } else {
                    counts[i].len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        if counts.iter().any(|c| !c.is_empty()) {
            for &idx in snap.order() {
                let info = snap.info(idx);
                let node = info.node();
                if require_all && !node_has_all_keys(&node.labels, &constraints) {
                    continue;
                }
                for (i, c) in constraints.iter().enumerate() {
                    if counts[i].is_empty() || !node_included(c, pod, node) {
                        continue;
                    }
                    let v = node.labels.get(&c.topology_key).unwrap_or("");
                    if !counts[i].contains(v) {
                        continue;
                    }
                    let n = count_pods_match_selector(info.pods(), &c.selector, &pod.namespace);
                    counts[i].add(v, n);
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
        let labels = &node.node().labels;
        if s.require_all_topologies && !node_has_all_keys(labels, &s.constraints) {
            return Ok(INVALID_SCORE);
        }
        let mut score = 0f64;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(v) = labels.get(&c.topology_key) else {
                continue;
            };
            let cnt = if &*c.topology_key == LABEL_HOSTNAME {
                count_pods_match_selector(node.pods(), &c.selector, &pod.namespace)
            } else {
                s.counts[i].get(v)
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
