//! What a PostFilter plugin gets from the framework (upstream
//! `framework.Handle` for preemption): the snapshot, the profile's filters
//! and PreFilter extensions for this pod, the nominated pods, the
//! PodDisruptionBudgets; and the PostFilter point itself.

use std::sync::Arc;

use super::cycle_state::{CycleState, StateData};
use super::interface::{FilterPlugin, Plugin, PreFilterExtensions, Snapshot};
use super::status::{Code, Status};
use crate::cache::{NodeIdx, NodeInfo};
use crate::model::PodInfo;
use crate::nominator::{must_yield_to, Nominator};
use crate::pdb::PdbList;
use crate::rand::SplitMix64;

/// The filter outcome per node of a failed attempt (upstream
/// `NodeToStatus`): the code of each evaluated node, and one code for the
/// nodes not evaluated ("absent": outside PreFilter's node set, or all of
/// them when PreFilter rejected the pod).
#[derive(Clone, Debug)]
pub struct NodeToStatus {
    /// Indexed by node slot; None = absent.
    codes: Vec<Option<Code>>,
    absent: Code,
}

impl NodeToStatus {
    /// Statuses of the evaluated nodes; `absent` for the others.
    pub fn new(codes: impl IntoIterator<Item = (NodeIdx, Code)>, absent: Code) -> Self {
        let mut v: Vec<Option<Code>> = Vec::new();
        for (i, c) in codes {
            let i = i as usize;
            if i >= v.len() {
                v.resize(i + 1, None);
            }
            v[i] = Some(c);
        }
        Self { codes: v, absent }
    }

    /// The code of node `idx`.
    pub fn code(&self, idx: NodeIdx) -> Code {
        self.codes
            .get(idx as usize)
            .copied()
            .flatten()
            .unwrap_or(self.absent)
    }

    /// Upstream `NodesForStatusCode`: the nodes of `snapshot` (in its
    /// scheduling order) whose code is `code`.
    pub fn nodes_with_code(&self, snapshot: &Snapshot, code: Code) -> Vec<NodeIdx> {
        snapshot
            .order()
            .iter()
            .copied()
            .filter(|&i| self.code(i) == code)
            .collect()
    }
}

/// A PostFilter plugin's answer when it made room (or wants the pod's
/// nomination cleared).
#[derive(Clone, Debug, Default)]
pub struct PostFilterResult {
    /// The node the pod is nominated to; empty = clear the nomination
    /// (upstream `NominatingInfo` with `ModeOverride`).
    pub nominated_node: Box<str>,
    /// Pods to delete so that the pod fits there, most important first.
    pub victims: Vec<Arc<PodInfo>>,
    /// Lower-priority pods nominated to that node: their nomination must be
    /// cleared (they may no longer fit).
    pub cleared_nominations: Vec<Arc<PodInfo>>,
}

/// Equal when they nominate the same node and name the same pods (by
/// [`PodInfo::key`]) in the same order.
impl PartialEq for PostFilterResult {
    fn eq(&self, other: &Self) -> bool {
        let keys = |v: &[Arc<PodInfo>]| v.iter().map(|p| p.key()).collect::<Vec<_>>();
        self.nominated_node == other.nominated_node
            && keys(&self.victims) == keys(&other.victims)
            && keys(&self.cleared_nominations) == keys(&other.cleared_nominations)
    }
}

impl Eq for PostFilterResult {}

/// Runs when no node fits a pod (upstream `PostFilterPlugin`).
pub trait PostFilterPlugin: Plugin {
    /// `Ok` when the pod may fit in a later cycle (with the result's
    /// nomination); a rejected status says why not (its message is added to
    /// the FitError); `Error` fails the attempt. The result may be set
    /// whatever the status (e.g. to clear a nomination). `rng` is the
    /// scheduler's seeded generator; `state` is the pod's cycle state after
    /// PreFilter (plugins must leave it as they found it).
    fn post_filter(
        &self,
        handle: &Handle<'_>,
        rng: &mut SplitMix64,
        state: &mut CycleState,
        pod: &PodInfo,
        statuses: &NodeToStatus,
    ) -> (Option<PostFilterResult>, Result<(), Status>);
}

/// Saved PreFilter states (see [`Handle::save_state`]).
pub struct SavedState(Vec<(usize, Box<dyn StateData>)>);

/// The framework as PostFilter plugins (and the engine, for nominated
/// pods) use it for one pod's cycle.
pub struct Handle<'a> {
    /// The cluster.
    pub snapshot: &'a Snapshot,
    /// The Filter plugins to run for this pod (those not skipped), in order.
    pub filters: &'a [(&'static str, &'a dyn FilterPlugin)],
    /// The PreFilter plugins' AddPod/RemovePod extensions, in order.
    pub extensions: &'a [(&'static str, &'a dyn PreFilterExtensions)],
    /// Nominated pods.
    pub nominator: &'a Nominator,
    /// PodDisruptionBudgets.
    pub pdbs: &'a PdbList,
}

impl Handle<'_> {
    /// Upstream `RunFilterPlugins`: the first plugin that rejects `node`
    /// (its status, with the plugin name), or `Ok`.
    pub fn run_filters(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
    ) -> Result<(), Status> {
        for &(name, f) in self.filters {
            f.filter(state, pod, node)
                .map_err(|s| s.with_plugin(name))?;
        }
        Ok(())
    }

    /// Upstream `RunPreFilterExtensionAddPod`.
    pub fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &PodInfo,
        node: &NodeInfo,
    ) -> Result<(), Status> {
        for &(name, e) in self.extensions {
            e.add_pod(state, pod, added, node)
                .map_err(|s| s.with_plugin(name))?;
        }
        Ok(())
    }

    /// Upstream `RunPreFilterExtensionRemovePod`.
    pub fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
    ) -> Result<(), Status> {
        for &(name, e) in self.extensions {
            e.remove_pod(state, pod, removed, node)
                .map_err(|s| s.with_plugin(name))?;
        }
        Ok(())
    }

    /// Copies the PreFilter states the extensions change (upstream
    /// `CycleState.Clone`, limited to what AddPod/RemovePod touch).
    pub fn save_state(&self, state: &CycleState) -> SavedState {
        SavedState(
            self.extensions
                .iter()
                .enumerate()
                .filter_map(|(i, (_, e))| e.save_state(state).map(|s| (i, s)))
                .collect(),
        )
    }

    /// Puts back states saved by [`Handle::save_state`].
    pub fn restore_state(&self, state: &mut CycleState, saved: SavedState) {
        for (i, s) in saved.0 {
            self.extensions[i].1.restore_state(state, s);
        }
    }

    /// The pods nominated to `node` that `pod` must yield to: priority ≥
    /// the pod's, other than the pod itself.
    pub fn nominated_pods_to_yield_to<'n>(
        &'n self,
        pod: &'n PodInfo,
        node: &str,
    ) -> impl Iterator<Item = &'n Arc<PodInfo>> + 'n {
        self.nominator
            .pods_for_node(node)
            .iter()
            .filter(move |p| must_yield_to(pod, p))
    }

    /// Upstream `RunFilterPluginsWithNominatedPods`: when pods with an equal
    /// or higher priority are nominated to `node`, the filters must pass
    /// both with them added (node copy + AddPod on the state) and without
    /// them; otherwise one plain run. `state` is left as it was.
    pub fn run_filters_with_nominated_pods(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
    ) -> Result<(), Status> {
        self.run_filters_with_nominated_pods_using(state, pod, node, &mut None)
    }

    /// [`Handle::run_filters_with_nominated_pods`] with the node copy made
    /// in `buf` (reusing its buffers when it holds an earlier copy; it is
    /// left holding a copy with the nominated pods added).
    pub fn run_filters_with_nominated_pods_using(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        buf: &mut Option<NodeInfo>,
    ) -> Result<(), Status> {
        let mut nominated = self.nominated_pods_to_yield_to(pod, node.name()).peekable();
        if nominated.peek().is_none() {
            return self.run_filters(state, pod, node);
        }
        let saved = self.save_state(state);
        let copy = match buf {
            Some(c) => {
                c.clone_from(node);
                c
            }
            None => buf.insert(node.clone()),
        };
        let mut first = Ok(());
        for p in nominated {
            copy.add_pod_info(Arc::clone(p));
            if let Err(s) = self.add_pod(state, pod, p, copy) {
                first = Err(Status::error(s.message()).with_plugin(s.plugin));
                break;
            }
        }
        if first.is_ok() {
            first = self.run_filters(state, pod, copy);
        }
        self.restore_state(state, saved);
        first?;
        self.run_filters(state, pod, node)
    }

    /// [`Handle::run_filters_with_nominated_pods`] on a node info the
    /// caller owns (a dry-run copy): the nominated pods are added to it and
    /// removed again instead of copying it once more. `node` is left with
    /// the same pods and sums (pod order kept).
    pub fn run_filters_with_nominated_pods_in_place(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        node: &mut NodeInfo,
    ) -> Result<(), Status> {
        if self.nominator.pods_for_node(node.name()).is_empty() {
            return self.run_filters(state, pod, node);
        }
        let nominated: Vec<Arc<PodInfo>> = self
            .nominated_pods_to_yield_to(pod, node.name())
            .cloned()
            .collect();
        if nominated.is_empty() {
            return self.run_filters(state, pod, node);
        }
        let saved = self.save_state(state);
        let mut first = Ok(());
        let mut added = 0;
        for p in &nominated {
            node.add_pod_info(Arc::clone(p));
            added += 1;
            if let Err(s) = self.add_pod(state, pod, p, node) {
                first = Err(Status::error(s.message()).with_plugin(s.plugin));
                break;
            }
        }
        if first.is_ok() {
            first = self.run_filters(state, pod, node);
        }
        for p in nominated[..added].iter().rev() {
            node.remove_last_pod_info(p);
        }
        self.restore_state(state, saved);
        first?;
        self.run_filters(state, pod, node)
    }
}
