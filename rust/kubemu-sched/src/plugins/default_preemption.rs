//! DefaultPreemption (PostFilter; upstream `plugins/defaultpreemption` and
//! `framework/preemption`): when no node fits a pod, find nodes where
//! evicting lower-priority pods makes it fit, pick one, and return it with
//! the victims.
//!
//! - Eligibility: not with `preemptionPolicy: Never`; a pod already
//!   nominated to a node where a lower-priority pod is terminating by
//!   preemption waits (unless that node is now
//!   `UnschedulableAndUnresolvable` for it).
//! - Candidates: only nodes whose filter status was `Unschedulable`. Per
//!   node, on a copy of the node and with the PreFilter states restored
//!   afterwards: remove every lower-priority pod (PreFilter RemovePod), check
//!   the pod fits (Filter with nominated pods), then reprieve victims most
//!   important first (priority, then earlier start), PDB-violating ones
//!   first; the ones that cannot be reprieved are the victims.
//! - The dry run walks the candidates-to-be in the snapshot's node order
//!   from a random offset (the scheduler's seeded generator) and stops once
//!   it has a non-violating candidate and
//!   `max(minCandidateNodesPercentage% of them, minCandidateNodesAbsolute)`
//!   candidates (at most all of them).
//! - Choice (upstream `pickOneNodeForPreemption`): fewest PDB violations →
//!   lowest highest-victim priority → smallest sum of priorities (each
//!   plus 2³¹) → fewest victims → latest earliest start time among the
//!   highest-priority victims → first.
//!
//! Deliberate departures: the dry run is sequential (upstream runs it in
//! parallel, so which candidates it finds before stopping varies with
//! timing); "first" is the first non-violating candidate found, then the
//! first violating one (upstream takes them from a map: random); a victim
//! without `status.startTime` sorts as started "now" (later than any set
//! time), ties keep the node's pod order.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::cache::{NodeIdx, NodeInfo};
use crate::framework::{
    Code, ConfigError, CycleState, Handle, NodeToStatus, Plugin, PluginArgs, PostFilterPlugin,
    PostFilterResult, Status,
};
use crate::model::PodInfo;
use crate::pdb::split_by_violation;
use crate::rand::SplitMix64;

pub use super::names::DEFAULT_PREEMPTION as NAME;

/// Status of a node with no lower-priority pod.
pub const ERR_NO_VICTIMS: &str = "No preemption victims found for incoming pod";
/// Status of the nodes preemption did not consider.
pub const ERR_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
/// Ineligible: `preemptionPolicy: Never`.
pub const ERR_POLICY_NEVER: &str = "not eligible due to preemptionPolicy=Never.";
/// Ineligible: a lower-priority pod is terminating on the nominated node.
pub const ERR_TERMINATING: &str = "not eligible due to a terminating pod on the nominated node.";

/// `DefaultPreemptionArgs`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct DefaultPreemptionArgs {
    /// Minimum candidates as a percentage of the nodes considered (0..=100;
    /// default 10).
    pub min_candidate_nodes_percentage: i32,
    /// Minimum candidates as a number (≥ 0; default 100).
    pub min_candidate_nodes_absolute: i32,
}

impl Default for DefaultPreemptionArgs {
    fn default() -> Self {
        Self {
            min_candidate_nodes_percentage: 10,
            min_candidate_nodes_absolute: 100,
        }
    }
}

impl DefaultPreemptionArgs {
    /// Upstream `ValidateDefaultPreemptionArgs`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let p = self.min_candidate_nodes_percentage;
        let a = self.min_candidate_nodes_absolute;
        if !(0..=100).contains(&p) {
            return Err(ConfigError(format!(
                "minCandidateNodesPercentage: Invalid value: {p}: not in valid range [0, 100]"
            )));
        }
        if a < 0 {
            return Err(ConfigError(format!(
                "minCandidateNodesAbsolute: Invalid value: {a}: not in valid range [0, inf)"
            )));
        }
        if p == 0 && a == 0 {
            return Err(ConfigError(
                "minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute".into(),
            ));
        }
        Ok(())
    }

    /// Upstream `calculateNumCandidates`: `n·pct/100`, at least the
    /// absolute minimum, at most `n`.
    pub fn num_candidates(&self, n: usize) -> usize {
        let n64 = n as i64;
        let k = (n64 * i64::from(self.min_candidate_nodes_percentage) / 100)
            .max(i64::from(self.min_candidate_nodes_absolute));
        k.min(n64) as usize
    }
}

/// The plugin.
#[derive(Clone, Debug, Default)]
pub struct DefaultPreemption {
    args: DefaultPreemptionArgs,
}

impl DefaultPreemption {
    /// A plugin with validated `args`.
    pub fn new(args: DefaultPreemptionArgs) -> Result<Self, ConfigError> {
        args.validate()?;
        Ok(Self { args })
    }
}

/// Registry factory.
pub fn factory(args: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(DefaultPreemption::new(args.decode(NAME)?)?))
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

/// Victims found on one node.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The node.
    pub node: NodeIdx,
    /// The victims, most important first.
    pub victims: Vec<Arc<PodInfo>>,
    /// How many of them violate a PDB.
    pub num_pdb_violations: usize,
}

/// Upstream `MoreImportantPod` as an ordering: higher priority first, then
/// the earlier start time (unset = now = last).
pub fn more_important_first(a: &PodInfo, b: &PodInfo) -> Ordering {
    b.priority.cmp(&a.priority).then_with(|| {
        a.start_time
            .unwrap_or(i64::MAX)
            .cmp(&b.start_time.unwrap_or(i64::MAX))
    })
}

/// Takes `pod` (one of the copy's own pods, or one added to it) off the
/// copy: the same entry a removal by key would find, located by identity.
fn remove_from(copy: &mut NodeInfo, pod: &Arc<PodInfo>) {
    copy.remove_last_pod_info(pod);
}

/// Upstream `SelectVictimsOnNode` on a copy of `node`; `state` is left as
/// it was. `Ok((victims, pdb violations))` with at least one victim, or the
/// node's status.
pub fn select_victims_on_node(
    h: &Handle<'_>,
    state: &mut CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
) -> Result<(Vec<Arc<PodInfo>>, usize), Status> {
    select_victims_with_copy(h, state, pod, node, &mut None)
}

/// [`select_victims_on_node`] with the copy made in `buf` (reusing its
/// buffers when it holds an earlier copy; left holding this one).
fn select_victims_with_copy(
    h: &Handle<'_>,
    state: &mut CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    buf: &mut Option<NodeInfo>,
) -> Result<(Vec<Arc<PodInfo>>, usize), Status> {
    let mut potential: Vec<Arc<PodInfo>> = node
        .pods()
        .iter()
        .filter(|p| p.priority < pod.priority)
        .cloned()
        .collect();
    if potential.is_empty() {
        return Err(Status::unresolvable(ERR_NO_VICTIMS));
    }
    let saved = h.save_state(state);
    let result = (|| {
        let copy = match buf {
            Some(c) => {
                c.clone_from(node);
                c
            }
            None => buf.insert(node.clone()),
        };
        for p in &potential {
            remove_from(copy, p);
            h.remove_pod(state, pod, p, copy)
                .map_err(|s| Status::error(s.message()).with_plugin(s.plugin))?;
        }
        h.run_filters_with_nominated_pods_in_place(state, pod, copy)?;
        potential.sort_by(|a, b| more_important_first(a, b));
        let (violating, non_violating) = split_by_violation(&potential, h.pdbs);
        let mut victims: Vec<Arc<PodInfo>> = Vec::new();
        let mut num_violations = 0usize;
        let mut reprieve = |p: &Arc<PodInfo>,
                            state: &mut CycleState,
                            copy: &mut NodeInfo|
         -> Result<bool, Status> {
            copy.add_pod_info(Arc::clone(p));
            h.add_pod(state, pod, p, copy)
                .map_err(|s| Status::error(s.message()).with_plugin(s.plugin))?;
            let fits = h
                .run_filters_with_nominated_pods_in_place(state, pod, copy)
                .is_ok();
            if !fits {
                remove_from(copy, p);
                h.remove_pod(state, pod, p, copy)
                    .map_err(|s| Status::error(s.message()).with_plugin(s.plugin))?;
                victims.push(Arc::clone(p));
            }
            Ok(fits)
        };
        for p in &violating {
            if !reprieve(p, state, copy)? {
                num_violations += 1;
            }
        }
        for p in &non_violating {
            reprieve(p, state, copy)?;
        }
        if !violating.is_empty() && !non_violating.is_empty() {
            victims.sort_by(|a, b| more_important_first(a, b));
        }
        Ok((victims, num_violations))
    })();
    h.restore_state(state, saved);
    result
}

/// Upstream `pickOneNodeForPreemption` over `candidates` (in order); the
/// index of the chosen one. Empty → None.
pub fn pick_one_node(candidates: &[Candidate]) -> Option<usize> {
    type Score = fn(&Candidate) -> i128;
    let scores: [Score; 5] = [
        |c| -(c.num_pdb_violations as i128),
        |c| -i128::from(c.victims[0].priority),
        |c| {
            -c.victims
                .iter()
                .map(|p| i128::from(p.priority) + (1i128 << 31))
                .sum::<i128>()
        },
        |c| -(c.victims.len() as i128),
        |c| i128::from(earliest_start_of_highest(&c.victims)),
    ];
    let mut all: Vec<usize> = (0..candidates.len()).collect();
    if all.is_empty() {
        return None;
    }
    for f in scores {
        let mut best = i128::MIN;
        let mut selected = Vec::new();
        for &i in &all {
            let s = f(&candidates[i]);
            if s > best {
                best = s;
                selected.clear();
            }
            if s == best {
                selected.push(i);
            }
        }
        if selected.len() == 1 {
            return Some(selected[0]);
        }
        all = selected;
    }
    all.first().copied()
}

/// Upstream `GetEarliestPodStartTime`: the earliest start time among the
/// highest-priority victims (unset = now = `i64::MAX`).
fn earliest_start_of_highest(victims: &[Arc<PodInfo>]) -> i64 {
    let start = |p: &PodInfo| p.start_time.unwrap_or(i64::MAX);
    let mut max_prio = victims[0].priority;
    let mut earliest = start(&victims[0]);
    for p in victims {
        match p.priority.cmp(&max_prio) {
            Ordering::Equal => earliest = earliest.min(start(p)),
            Ordering::Greater => {
                max_prio = p.priority;
                earliest = start(p);
            }
            Ordering::Less => {}
        }
    }
    earliest
}

/// The FitError message of a preemption that found no candidate: `0/N
/// nodes are available: <histogram>.` over the dry run's node statuses,
/// the nodes it did not consider counted as [`ERR_NOT_HELPFUL`].
fn no_candidate_message(num_all: usize, statuses: &[(NodeIdx, Status)]) -> String {
    let mut reasons: HashMap<&str, usize> = HashMap::new();
    for (_, s) in statuses {
        for r in &s.reasons {
            *reasons.entry(r).or_default() += 1;
        }
    }
    let absent = num_all.saturating_sub(statuses.len());
    if absent > 0 {
        *reasons.entry(ERR_NOT_HELPFUL).or_default() += absent;
    }
    let mut entries: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    entries.sort();
    let mut msg = format!("0/{num_all} nodes are available:");
    if !entries.is_empty() {
        msg.push_str(&format!(" {}.", entries.join(", ")));
    }
    msg
}

impl DefaultPreemption {
    /// Upstream `PodEligibleToPreemptOthers`: `Err(message)` when not.
    pub fn eligible(h: &Handle<'_>, pod: &PodInfo, statuses: &NodeToStatus) -> Result<(), String> {
        if pod.preemption_never {
            return Err(ERR_POLICY_NEVER.into());
        }
        let nnn = &*pod.nominated_node_name;
        if nnn.is_empty() {
            return Ok(());
        }
        let idx = h.snapshot.index_of(nnn);
        let code = idx.map_or(Code::UnschedulableAndUnresolvable, |i| statuses.code(i));
        if code == Code::UnschedulableAndUnresolvable {
            return Ok(());
        }
        if let Some(i) = idx {
            let info = h.snapshot.info(i);
            if info
                .pods()
                .iter()
                .any(|p| p.priority < pod.priority && p.terminating_by_preemption)
            {
                return Err(ERR_TERMINATING.into());
            }
        }
        Ok(())
    }

    /// Upstream `DryRunPreemption` over `potential` from `offset`.
    pub fn dry_run(
        &self,
        h: &Handle<'_>,
        state: &mut CycleState,
        pod: &PodInfo,
        potential: &[NodeIdx],
        offset: usize,
        num_candidates: usize,
    ) -> (Vec<Candidate>, Vec<(NodeIdx, Status)>) {
        let mut non_violating: Vec<Candidate> = Vec::new();
        let mut violating: Vec<Candidate> = Vec::new();
        let mut statuses = Vec::new();
        let n = potential.len();
        let mut buf = None;
        for k in 0..n {
            let idx = potential[(offset + k) % n];
            match select_victims_with_copy(h, state, pod, h.snapshot.info(idx), &mut buf) {
                Ok((victims, v)) if !victims.is_empty() => {
                    let c = Candidate {
                        node: idx,
                        victims,
                        num_pdb_violations: v,
                    };
                    if v == 0 {
                        non_violating.push(c);
                    } else {
                        violating.push(c);
                    }
                    if !non_violating.is_empty()
                        && non_violating.len() + violating.len() >= num_candidates
                    {
                        break;
                    }
                }
                Ok(_) => statuses.push((
                    idx,
                    Status::error(format!(
                        "expected at least one victim pod on node {:?}",
                        h.snapshot.info(idx).name()
                    )),
                )),
                Err(s) => statuses.push((idx, s)),
            }
        }
        non_violating.extend(violating);
        (non_violating, statuses)
    }

    /// Upstream `Evaluator.Preempt` (without the "preemption: " prefix).
    fn preempt(
        &self,
        h: &Handle<'_>,
        rng: &mut SplitMix64,
        state: &mut CycleState,
        pod: &PodInfo,
        statuses: &NodeToStatus,
    ) -> (Option<PostFilterResult>, Result<(), Status>) {
        if let Err(msg) = Self::eligible(h, pod, statuses) {
            return (None, Err(Status::unschedulable(msg)));
        }
        let num_all = h.snapshot.num_nodes();
        let clear = || {
            Some(PostFilterResult {
                nominated_node: "".into(),
                ..PostFilterResult::default()
            })
        };
        let potential = statuses.nodes_with_code(h.snapshot, Code::Unschedulable);
        if potential.is_empty() {
            let msg = no_candidate_message(num_all, &[]);
            return (clear(), Err(Status::unschedulable(msg)));
        }
        let offset = rng.below(potential.len() as u64) as usize;
        let num_candidates = self.args.num_candidates(potential.len());
        let (candidates, failed) = self.dry_run(h, state, pod, &potential, offset, num_candidates);
        if candidates.is_empty() {
            if let Some((_, e)) = failed.iter().find(|(_, s)| s.code == Code::Error) {
                return (None, Err(e.clone()));
            }
            let msg = no_candidate_message(num_all, &failed);
            return (clear(), Err(Status::unschedulable(msg)));
        }
        let Some(best) = pick_one_node(&candidates) else {
            return (
                None,
                Err(Status::unschedulable("no candidate node for preemption")),
            );
        };
        let c = &candidates[best];
        let node = h.snapshot.info(c.node).name();
        let cleared = h
            .nominator
            .pods_for_node(node)
            .iter()
            .filter(|p| p.priority < pod.priority)
            .cloned()
            .collect();
        (
            Some(PostFilterResult {
                nominated_node: node.into(),
                victims: c.victims.clone(),
                cleared_nominations: cleared,
            }),
            Ok(()),
        )
    }
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        handle: &Handle<'_>,
        rng: &mut SplitMix64,
        state: &mut CycleState,
        pod: &PodInfo,
        statuses: &NodeToStatus,
    ) -> (Option<PostFilterResult>, Result<(), Status>) {
        let (result, status) = self.preempt(handle, rng, state, pod, statuses);
        let status = status.map_err(|s| {
            let msg = s.message();
            if msg.is_empty() {
                s
            } else {
                Status::new(s.code, format!("preemption: {msg}"))
            }
        });
        (result, status)
    }
}
