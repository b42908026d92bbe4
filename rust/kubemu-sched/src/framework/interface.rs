//! The extension-point traits (upstream `framework/interface.go`).
//!
//! A plugin is a [`Plugin`] (a name) plus the extension points it implements,
//! declared by overriding the matching `as_*` accessor to return `Some(self)`.
//! Plugins are immutable after construction and `Send + Sync`; everything
//! per pod lives in [`CycleState`] or in the precomputed [`PodInfo`].
//!
//! Success is `Ok`; any other outcome is a [`Status`]. For Filter, a rejected
//! status (`Unschedulable`, `UnschedulableAndUnresolvable`) excludes the node
//! and its reasons are counted in the FitError; `Error` fails the pod's
//! attempt. PreFilter/PreScore may return `Skip` to turn off the plugin's
//! Filter/Score for this pod.

use std::cmp::Ordering;
use std::marker::PhantomData;

use super::cycle_state::{CycleState, StateData};
use super::status::Status;
use crate::cache::{Cache, NodeHot, NodeInfo};
use crate::model::{Node, PodInfo};

/// The highest score a Score plugin may give after normalization.
pub const MAX_NODE_SCORE: i64 = 100;

/// What the plugins see of the cluster during a cycle.
pub type Snapshot = Cache;

/// A plugin: its name and the extension points it implements.
pub trait Plugin: Send + Sync {
    /// The plugin's registry name (e.g. `"NodeResourcesFit"`).
    fn name(&self) -> &'static str;
    /// The QueueSort point, if implemented.
    fn as_queue_sort(&self) -> Option<&dyn QueueSortPlugin> {
        None
    }
    /// The PreEnqueue point, if implemented.
    fn as_pre_enqueue(&self) -> Option<&dyn PreEnqueuePlugin> {
        None
    }
    /// The PreFilter point, if implemented.
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        None
    }
    /// The Filter point, if implemented.
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    /// The PreScore point, if implemented.
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        None
    }
    /// The Score point (with NormalizeScore), if implemented.
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        None
    }
    /// The Reserve point, if implemented.
    fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
        None
    }
    /// The PostFilter point, if implemented.
    fn as_post_filter(&self) -> Option<&dyn super::handle::PostFilterPlugin> {
        None
    }
}

/// A pod waiting in the queue, as QueueSort compares it.
#[derive(Clone, Copy, Debug)]
pub struct QueuedPod<'a> {
    /// The pod.
    pub pod: &'a PodInfo,
    /// When it was (last) added to the queue, in any monotonic unit.
    pub timestamp: i64,
}

/// Orders the active queue.
pub trait QueueSortPlugin: Plugin {
    /// True when `a` should be scheduled before `b`.
    fn less(&self, a: &QueuedPod<'_>, b: &QueuedPod<'_>) -> bool;
    /// A total order consistent with [`QueueSortPlugin::less`].
    fn compare(&self, a: &QueuedPod<'_>, b: &QueuedPod<'_>) -> Ordering {
        if self.less(a, b) {
            Ordering::Less
        } else if self.less(b, a) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }
}

/// Decides whether a pod may enter the active queue at all.
pub trait PreEnqueuePlugin: Plugin {
    /// `Ok` to enqueue; a rejected status keeps the pod out (with its reason).
    fn pre_enqueue(&self, pod: &PodInfo) -> Result<(), Status>;
}

/// PreFilter's answer: which nodes are worth filtering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    /// `None` = all nodes; `Some(names)` = only these (sorted, deduplicated).
    pub node_names: Option<Vec<Box<str>>>,
}

impl PreFilterResult {
    /// All nodes.
    pub fn all() -> Self {
        Self::default()
    }

    /// Intersection with `other` (upstream `Merge`).
    #[must_use]
    pub fn merge(self, other: PreFilterResult) -> Self {
        match (self.node_names, other.node_names) {
            (None, x) | (x, None) => Self { node_names: x },
            (Some(a), Some(b)) => Self {
                node_names: Some(a.into_iter().filter(|n| b.contains(n)).collect()),
            },
        }
    }
}

/// Runs once per pod before Filter; computes per-pod state, may restrict the
/// nodes, reject the pod, or `Skip` its own Filter.
pub trait PreFilterPlugin: Plugin {
    /// See the trait docs.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Result<PreFilterResult, Status>;

    /// The AddPod/RemovePod extensions, if the plugin has any.
    fn pre_filter_extensions(&self) -> Option<&dyn PreFilterExtensions> {
        None
    }
}

/// Upstream `PreFilterExtensions`: updates a PreFilter plugin's cycle state
/// incrementally when a pod is added to or removed from a node during the
/// cycle (preemption's dry runs, nominated pods), instead of recomputing it.
/// A plugin whose PreFilter returned `Skip` has no state: both are no-ops.
pub trait PreFilterExtensions {
    /// `pod_to_add` is now on `node` (for the cycle of `pod`).
    fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        pod_to_add: &PodInfo,
        node: &NodeInfo,
    ) -> Result<(), Status>;
    /// `pod_to_remove` is no longer on `node` (for the cycle of `pod`).
    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        pod_to_remove: &PodInfo,
        node: &NodeInfo,
    ) -> Result<(), Status>;
    /// A copy of the plugin's PreFilter state in `state` (None when it has
    /// none), for [`PreFilterExtensions::restore_state`] after a dry run
    /// (upstream clones the CycleState for preemption and nominated pods).
    /// Default: None (the plugin's AddPod/RemovePod change nothing).
    fn save_state(&self, _state: &CycleState) -> Option<Box<dyn StateData>> {
        None
    }
    /// Puts back what [`PreFilterExtensions::save_state`] returned.
    fn restore_state(&self, _state: &mut CycleState, _saved: Box<dyn StateData>) {}
}

/// PreFilter state that follows a pod being added to (`delta` 1) or removed
/// from (`delta` -1) `node` during the cycle of `pod`.
pub trait PodDeltaState: 'static {
    fn update_with_pod(&mut self, changed: &PodInfo, pod: &PodInfo, node: &Node, delta: i64);
}

/// The [`PreFilterExtensions`] of a plugin whose whole incremental update is
/// its PreFilter state's [`PodDeltaState`] under `key`; no state (PreFilter
/// skipped) makes both calls no-ops. Plugins return a `static` of it.
pub struct StateDelta<S> {
    key: &'static str,
    state: PhantomData<fn() -> S>,
}

impl<S> StateDelta<S> {
    pub const fn new(key: &'static str) -> Self {
        Self {
            key,
            state: PhantomData,
        }
    }

    fn apply(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        changed: &PodInfo,
        node: &NodeInfo,
        delta: i64,
    ) where
        S: PodDeltaState,
    {
        if let Some(s) = state.read_mut::<S>(self.key) {
            s.update_with_pod(changed, pod, node.node(), delta);
        }
    }
}

impl<S: PodDeltaState + Clone + Send + Sync> PreFilterExtensions for StateDelta<S> {
    fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        pod_to_add: &PodInfo,
        node: &NodeInfo,
    ) -> Result<(), Status> {
        self.apply(state, pod, pod_to_add, node, 1);
        Ok(())
    }

    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        pod_to_remove: &PodInfo,
        node: &NodeInfo,
    ) -> Result<(), Status> {
        self.apply(state, pod, pod_to_remove, node, -1);
        Ok(())
    }

    fn save_state(&self, state: &CycleState) -> Option<Box<dyn StateData>> {
        state
            .read::<S>(self.key)
            .map(|s| Box::new(s.clone()) as Box<dyn StateData>)
    }

    fn restore_state(&self, state: &mut CycleState, saved: Box<dyn StateData>) {
        state.write_boxed(self.key, saved);
    }
}

/// Decides whether a pod fits one node. Must be pure (the engine may call it
/// for nodes in any order and from several threads).
pub trait FilterPlugin: Plugin {
    /// `Ok` if the pod fits `node`.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status>;

    /// A shortcut, computed once per pod (after PreFilter): a condition on
    /// a node's [`NodeHot`] block that implies [`FilterPlugin::filter`]
    /// returns `Ok` for that node. The engine does not call `filter` on
    /// nodes whose hot block satisfies it, and calls it as usual on the
    /// others, so the condition may be stricter than the filter but never
    /// looser. Default `None`: always call `filter`.
    fn hot_accept(&self, _state: &CycleState, _pod: &PodInfo) -> Option<HotAccept> {
        None
    }
}

/// A condition on a node's [`NodeHot`] block (see
/// [`FilterPlugin::hot_accept`]); the default requires nothing. Several
/// plugins' conditions combine with [`HotAccept::and`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HotAccept {
    /// Requires `!unschedulable`.
    pub schedulable: bool,
    /// Requires `!has_taints`.
    pub untainted: bool,
    /// Requires a free pod slot: `num_pods + 1 <= allowed_pod_number`.
    pub pod_slot: bool,
    /// When > 0, requires `alloc_milli_cpu − req_milli_cpu >= milli_cpu`.
    pub milli_cpu: i64,
    /// When > 0, requires `alloc_memory − req_memory >= memory`.
    pub memory: i64,
    /// When > 0, requires `alloc_ephemeral_storage − req_ephemeral_storage
    /// >= ephemeral_storage`.
    pub ephemeral_storage: i64,
}

impl HotAccept {
    /// Both conditions (the amounts are monotone: the larger one implies
    /// the smaller).
    #[must_use]
    pub fn and(self, o: HotAccept) -> Self {
        Self {
            schedulable: self.schedulable || o.schedulable,
            untainted: self.untainted || o.untainted,
            pod_slot: self.pod_slot || o.pod_slot,
            milli_cpu: self.milli_cpu.max(o.milli_cpu),
            memory: self.memory.max(o.memory),
            ephemeral_storage: self.ephemeral_storage.max(o.ephemeral_storage),
        }
    }

    /// True when `h` satisfies the condition.
    #[inline]
    pub fn holds(&self, h: &NodeHot) -> bool {
        let fits = |want: i64, alloc: i64, req: i64| want <= 0 || want <= alloc - req;
        !(self.schedulable && h.unschedulable)
            & !(self.untainted && h.has_taints)
            & !(self.pod_slot && h.num_pods + 1 > h.allowed_pod_number)
            & fits(self.milli_cpu, h.alloc_milli_cpu, h.req_milli_cpu)
            & fits(self.memory, h.alloc_memory, h.req_memory)
            & fits(
                self.ephemeral_storage,
                h.alloc_ephemeral_storage,
                h.req_ephemeral_storage,
            )
    }
}

/// Runs once per pod before Score, over the feasible nodes.
pub trait PreScorePlugin: Plugin {
    /// `Ok` to score; `Skip` turns off this plugin's Score for the pod.
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        nodes: &[&NodeInfo],
    ) -> Result<(), Status>;
}

/// Ranks feasible nodes. Scores after [`ScorePlugin::normalize_scores`] must
/// lie in `0..=MAX_NODE_SCORE` (otherwise the engine fails the pod), and are
/// then multiplied by the plugin's weight.
pub trait ScorePlugin: Plugin {
    /// The raw score of `node`.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status>;
    /// The raw scores of `nodes`, in order, into `out` (cleared first); the
    /// first error stops it. `hot` holds the nodes' hot blocks, parallel to
    /// `nodes`, copied into one contiguous array for the cycle: loops that
    /// need only hot fields read them there (dense) instead of through
    /// `nodes`. Default: [`ScorePlugin::score`] per node.
    /// Plugins override it to hoist per-pod work out of the node loop; an
    /// override must give exactly the values `score` gives (so a node's
    /// score never depends on the other nodes in the call, and the engine
    /// may split the feasible list into several calls).
    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        hot: &[NodeHot],
        out: &mut Vec<i64>,
    ) -> Result<(), Status> {
        let _ = hot;
        out.clear();
        out.reserve(nodes.len());
        for node in nodes {
            out.push(self.score(state, pod, node)?);
        }
        Ok(())
    }
    /// False when [`ScorePlugin::normalize_scores`] is the default (scores
    /// unchanged; upstream: `ScoreExtensions()` returns nil): the engine
    /// may then weight and sum this plugin's scores per part of the
    /// feasible list without calling it. Default: true (always called).
    fn normalizes(&self) -> bool {
        true
    }
    /// Maps raw scores (one per feasible node, in order) to `0..=100`.
    /// Default: unchanged.
    fn normalize_scores(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        _scores: &mut [i64],
    ) -> Result<(), Status> {
        Ok(())
    }
}

/// Reserves resources for the chosen node before binding.
pub trait ReservePlugin: Plugin {
    /// Reserve; a failure unreserves every Reserve plugin and fails the attempt.
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str)
        -> Result<(), Status>;
    /// Undo [`ReservePlugin::reserve`]; must be idempotent.
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str);
}

/// Upstream `helper.DefaultNormalizeScore`: `s·max_priority/max`, reversed
/// as `max_priority − that`; when every score is 0, all become
/// `max_priority` if `reverse`, else stay 0.
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [i64]) {
    let max = scores.iter().copied().max().unwrap_or(0).max(0);
    if max == 0 {
        if reverse {
            scores.fill(max_priority);
        }
        return;
    }
    for s in scores.iter_mut() {
        let v = max_priority * *s / max;
        *s = if reverse { max_priority - v } else { v };
    }
}
