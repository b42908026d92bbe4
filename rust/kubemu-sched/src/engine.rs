//! The scheduling loop (upstream `schedule_one.go`), apart from the plugins.
//!
//! Per pod: PreFilter (may restrict nodes, reject, or skip plugins) →
//! Filter over nodes from the round-robin start index until
//! `numFeasibleNodesToFind` feasible nodes are found → PreScore → Score →
//! NormalizeScore → ×weight → sum → the highest total, ties broken by
//! reservoir sampling with a seeded generator → assume in the cache →
//! Reserve. The run is a pure function of the cache contents, the pod order
//! and the seed.
//!
//! The filter loop reads each node's hot block from the cache's dense array
//! first: a node that satisfies every Filter plugin's
//! [`FilterPlugin::hot_accept`] condition is feasible without calling those
//! plugins (the others still run); any other node gets every filter as
//! usual, so the feasible list and the FitError reasons are unchanged. The
//! feasible nodes' hot blocks are copied into one contiguous array that the
//! Score plugins read ([`ScorePlugin::score_nodes`]).
//!
//! Filtering follows upstream's stopping rule. Since the walk must find
//! `numFeasibleNodesToFind` feasible nodes, it always filters at least that
//! many positions: when they are many (see [`Scheduler::set_threads`]),
//! those positions are filtered in chunks shared with a helper thread
//! (`parallel`, `worker`) and merged in chunk order, and the walk goes on
//! alone from there if it found too few; the feasible nodes are then
//! scored chunk by chunk the same way (NormalizeScore, the weighted sum and
//! the tie-break stay on the calling thread, over the merged list). The
//! feasible list, the rejected nodes' statuses, the first plugin error, the
//! scores and `next_start_node_index` are exactly those of one thread.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::cache::{Cache, NodeIdx, NodeInfo};
use crate::framework::{
    Code, CycleState, FilterPlugin, Handle, HotAccept, NodeToStatus, PostFilterResult,
    PreFilterExtensions, PreFilterResult, Profile, ScorePlugin, Status, MAX_NODE_SCORE,
};
use crate::model::PodInfo;
use crate::nominator::{must_yield_to, nominator_key, Nominator};
use crate::parallel::{self, chunks_for, Parallel, PassJob, PassKind};
pub use crate::parallel::{
    ParallelStats, ALWAYS_SHARE_ENV, CYCLE as SHARE_CYCLE, DEFAULT_MIN_PARALLEL_NODES,
    MIN_PARALLEL_NODES_ENV, PROBE as SHARE_PROBE, THREADS_ENV,
};
use crate::pdb::PdbList;
use crate::rand::SplitMix64;

/// Below this many nodes, all are evaluated (upstream `minFeasibleNodesToFind`).
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never drops below this.
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i64 = 5;

/// Upstream `numFeasibleNodesToFind`: all nodes below 100; otherwise
/// `n·pct/100` with at least 100, where `pct` = the configured percentage or,
/// when 0, `max(5, 50 − n/125)`. A percentage ≥ 100 means all nodes.
pub fn num_feasible_nodes_to_find(percentage: i32, num_all_nodes: usize) -> usize {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND || percentage >= 100 {
        return num_all_nodes;
    }
    let n = num_all_nodes as i64;
    let mut pct = i64::from(percentage);
    if pct <= 0 {
        pct = (50 - n / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    ((n * pct / 100) as usize).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// Scheduler-wide settings (default: adaptive sampling, seed 0, no score records).
#[derive(Clone, Copy, Debug, Default)]
pub struct SchedulerOptions {
    /// Global `percentageOfNodesToScore` (0 = adaptive); a profile's own wins.
    pub percentage_of_nodes_to_score: i32,
    /// Seed of the tie-break generator.
    pub seed: u64,
    /// Keep every feasible node's per-plugin scores in the results.
    pub record_scores: bool,
}

/// One feasible node's scores (weighted, as summed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeScore {
    /// Node name.
    pub node: Box<str>,
    /// Sum of the weighted plugin scores.
    pub total: i64,
    /// `(plugin, normalized score × weight)` for each plugin that scored.
    pub plugins: Vec<(&'static str, i64)>,
}

/// A successful scheduling decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleResult {
    /// The chosen node.
    pub node: Box<str>,
    /// Nodes filtered (feasible + rejected).
    pub evaluated_nodes: usize,
    /// Feasible nodes found (≤ numFeasibleNodesToFind).
    pub feasible_nodes: usize,
    /// Per-node scores, when [`SchedulerOptions::record_scores`] is set and
    /// scoring ran (more than one feasible node).
    pub scores: Option<Vec<NodeScore>>,
}

/// No node fits (upstream `FitError`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitError {
    /// All nodes in the cache.
    pub num_all_nodes: usize,
    /// Set when PreFilter rejected the pod: its message.
    pub pre_filter_msg: Option<String>,
    /// Reason → number of nodes that gave it.
    pub reasons: HashMap<String, usize>,
    /// Per rejected node: the plugin and code that rejected it.
    pub node_statuses: Vec<(Arc<str>, &'static str, Code)>,
    /// What PostFilter (preemption) said and decided; None when no
    /// PostFilter plugin ran. Boxed: most FitErrors have none.
    pub post_filter: Option<Box<PostFilterOutcome>>,
}

/// The PostFilter plugins' outcome for a pod that fits nowhere.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostFilterOutcome {
    /// Their message (e.g. `preemption: ...`), appended to the FitError
    /// message as upstream does; None on success.
    pub message: Option<String>,
    /// What they decided: the nomination (empty node = clear it), the
    /// victims to delete, the nominations to clear.
    pub result: Option<PostFilterResult>,
}

impl FitError {
    /// The PostFilter decision, if any.
    pub fn post_filter_result(&self) -> Option<&PostFilterResult> {
        self.post_filter.as_ref().and_then(|o| o.result.as_ref())
    }
}

impl fmt::Display for FitError {
    /// Upstream's shape: `0/N nodes are available: <histogram>.` with each
    /// entry `"<count> <reason>"`, the entries sorted as strings and joined
    /// by ", "; or the PreFilter message instead of the histogram.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        if let Some(m) = &self.pre_filter_msg {
            write!(f, " {m}.")?;
        } else {
            let mut entries: Vec<String> = self
                .reasons
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect();
            entries.sort();
            if !entries.is_empty() {
                write!(f, " {}.", entries.join(", "))?;
            }
        }
        if let Some(m) = self.post_filter.as_ref().and_then(|o| o.message.as_ref()) {
            write!(f, " {m}.")?;
        }
        Ok(())
    }
}

/// Why a pod was not scheduled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleError {
    /// No node fits; see the message.
    Fit(FitError),
    /// The cache has no nodes.
    NoNodesAvailable,
    /// A plugin failed (`Code::Error` or a bad score); only this pod's
    /// attempt fails.
    Plugin {
        /// The plugin.
        plugin: &'static str,
        /// Its message.
        message: String,
    },
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fit(e) => e.fmt(f),
            Self::NoNodesAvailable => f.write_str("no nodes available to schedule pods"),
            Self::Plugin { plugin, message } => write!(f, "running {plugin}: {message}"),
        }
    }
}

impl std::error::Error for ScheduleError {}

/// A score outside `0..=MAX_NODE_SCORE` after NormalizeScore (upstream's message).
fn invalid_score(plugin: &'static str, score: i64) -> ScheduleError {
    ScheduleError::Plugin {
        plugin,
        message: format!(
            "plugin {plugin:?} returns an invalid score {score}, it should in the range of [0, {MAX_NODE_SCORE}] after normalizing"
        ),
    }
}

fn plugin_error(plugin: &'static str, s: &Status) -> ScheduleError {
    ScheduleError::Plugin {
        plugin,
        message: s.message(),
    }
}

/// Buffers reused across pods.
#[derive(Default)]
struct Scratch {
    /// The feasible nodes' hot blocks, in feasible order.
    hot: Vec<crate::cache::NodeHot>,
    failed: Vec<(NodeIdx, Status)>,
    totals: Vec<i64>,
    scores: Vec<i64>,
    /// PreFilter plugins that returned Skip for the current pod.
    skipped: smallvec::SmallVec<[usize; 8]>,
    /// By node slot: true when the node has nominated pods the current pod
    /// must yield to (set by `mark_nodes_to_yield` before each filter pass,
    /// cleared by the next call).
    yield_mark: Vec<bool>,
    /// The slots set in `yield_mark`.
    yield_nodes: Vec<NodeIdx>,
    /// The node copy filtering with nominated pods reuses.
    node_copy: Option<NodeInfo>,
}

/// The scheduler core: a node cache and one profile.
pub struct Scheduler {
    /// Shared with the helper thread during a parallel pass only (see
    /// [`Scheduler::set_threads`]); between passes this is the only
    /// reference, so mutating it never copies.
    cache: Arc<Cache>,
    profile: Arc<Profile>,
    opts: SchedulerOptions,
    rng: SplitMix64,
    next_start_node_index: usize,
    scratch: Scratch,
    nominator: Nominator,
    pdbs: PdbList,
    par: Parallel,
}

impl Scheduler {
    /// A scheduler with an empty cache. Its thread count comes from the
    /// environment variable `KUBEMU_SCHED_THREADS` (a number ≥ 1), else
    /// from the machine's available parallelism, and the sharing threshold
    /// from `KUBEMU_SCHED_MIN_PARALLEL_NODES`; see
    /// [`Scheduler::set_threads`].
    pub fn new(profile: Profile, opts: SchedulerOptions) -> Self {
        Self {
            cache: Arc::new(Cache::new()),
            profile: Arc::new(profile),
            rng: SplitMix64::new(opts.seed),
            opts,
            next_start_node_index: 0,
            scratch: Scratch::default(),
            nominator: Nominator::default(),
            pdbs: PdbList::default(),
            par: Parallel::from_env(),
        }
    }

    /// Sets how many threads a scheduling cycle may use. With more than
    /// one, a filter pass over at least [`Scheduler::min_parallel_nodes`]
    /// nodes (all nodes with `percentageOfNodesToScore` 100, or a large
    /// percentage on a large cluster; not with nominated pods to yield to
    /// or a PreFilter node subset), and the scoring of as many feasible
    /// nodes, may be shared with one helper thread, started on first use
    /// and stopped when the scheduler is dropped (or this is set to 1).
    /// Whether to share is measured as it runs: in each cycle of
    /// [`SHARE_CYCLE`] such pods, [`SHARE_PROBE`] run on one thread and as
    /// many shared, the rest the faster way (on a busy machine one thread
    /// wins); [`Scheduler::set_always_share`] skips the measuring. The
    /// decisions, FitErrors and round-robin start are exactly those of one
    /// thread; only the time differs. Adaptive sampling never filters that
    /// many nodes with the default threshold, and stays on one thread.
    /// Values above 2 act as 2 (one helper). 0 counts as 1.
    pub fn set_threads(&mut self, threads: usize) {
        self.par.set_threads(threads);
    }

    /// Shares every pod that may be shared, without measuring whether it
    /// pays (for tests and benchmarks; see [`Scheduler::set_threads`]).
    /// Also set by the environment variable `KUBEMU_SCHED_ALWAYS_SHARE=1`.
    pub fn set_always_share(&mut self, always: bool) {
        self.par.always_share = always;
    }

    /// The thread count (see [`Scheduler::set_threads`]).
    pub fn threads(&self) -> usize {
        self.par.threads
    }

    /// Sets the fewest nodes a pass must cover to be shared between threads
    /// (default [`DEFAULT_MIN_PARALLEL_NODES`]; at least 2).
    pub fn set_min_parallel_nodes(&mut self, nodes: usize) {
        self.par.min_nodes = nodes;
    }

    /// The fewest nodes a pass must cover to be shared between threads.
    pub fn min_parallel_nodes(&self) -> usize {
        self.par.min_nodes
    }

    /// What the shared passes did so far (for benchmarks and tuning).
    pub fn parallel_stats(&self) -> ParallelStats {
        self.par.stats
    }

    /// The node cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The node cache, for node and pod events.
    pub fn cache_mut(&mut self) -> &mut Cache {
        // No pass is running: the cache is not shared, nothing is copied.
        Arc::make_mut(&mut self.cache)
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Where the next filter pass starts (round-robin across pods).
    pub fn next_start_node_index(&self) -> usize {
        self.next_start_node_index
    }

    /// Runs the PreEnqueue plugins: `Ok` if the pod may enter the active queue.
    pub fn pre_enqueue(&self, pod: &PodInfo) -> Result<(), Status> {
        for &i in &self.profile.points[1] {
            let p = &self.profile.plugins[i];
            if let Some(pe) = p.as_pre_enqueue() {
                pe.pre_enqueue(pod).map_err(|s| s.with_plugin(p.name()))?;
            }
        }
        Ok(())
    }

    /// Schedules `pods` in order; each scheduled pod is assumed in the cache
    /// (and reserved) before the next is considered.
    pub fn schedule_batch(
        &mut self,
        pods: &[Arc<PodInfo>],
    ) -> Vec<Result<ScheduleResult, ScheduleError>> {
        pods.iter().map(|p| self.schedule_one(p)).collect()
    }

    /// Schedules one pod and, on success, assumes it on the chosen node and
    /// runs Reserve (a Reserve failure unreserves, forgets the pod and fails
    /// the attempt).
    pub fn schedule_one(&mut self, pod: &Arc<PodInfo>) -> Result<ScheduleResult, ScheduleError> {
        self.cache_mut().prepare();
        let mut state = CycleState::new();
        self.scratch.skipped.clear();
        let result = match self.schedule_pod(&mut state, pod) {
            Ok(r) => r,
            Err(ScheduleError::Fit(fit)) => {
                return Err(ScheduleError::Fit(
                    self.run_post_filter(&mut state, pod, fit),
                ))
            }
            Err(e) => return Err(e),
        };
        if !self.nominator.is_empty() {
            self.nominator.remove(&nominator_key(pod));
        }
        Arc::make_mut(&mut self.cache).add_pod(Arc::clone(pod), &result.node);
        let reserve = &self.profile.points[6];
        for (k, &i) in reserve.iter().enumerate() {
            let p = &self.profile.plugins[i];
            let Some(r) = p.as_reserve() else { continue };
            if let Err(s) = r.reserve(&mut state, pod, &result.node) {
                for &j in reserve[..=k].iter().rev() {
                    if let Some(u) = self.profile.plugins[j].as_reserve() {
                        u.unreserve(&mut state, pod, &result.node);
                    }
                }
                Arc::make_mut(&mut self.cache).remove_pod(&pod.key());
                return Err(plugin_error(p.name(), &s));
            }
        }
        Ok(result)
    }

    /// Upstream `schedulePod`: finds the feasible nodes and picks one.
    /// Does not change the cache.
    fn schedule_pod(
        &mut self,
        state: &mut CycleState,
        pod_arc: &Arc<PodInfo>,
    ) -> Result<ScheduleResult, ScheduleError> {
        let Self {
            cache: cache_arc,
            profile: profile_arc,
            opts,
            rng,
            next_start_node_index,
            scratch,
            nominator,
            pdbs,
            par,
        } = self;
        let cache: &Cache = cache_arc;
        let profile: &Profile = profile_arc;
        let pod: &PodInfo = pod_arc;
        let num_all_nodes = cache.num_nodes();
        if num_all_nodes == 0 {
            return Err(ScheduleError::NoNodesAvailable);
        }
        let fit_error = |pre_filter_msg: Option<String>| FitError {
            num_all_nodes,
            pre_filter_msg,
            reasons: HashMap::new(),
            node_statuses: Vec::new(),
            post_filter: None,
        };

        // PreFilter.
        let mut pre_result = PreFilterResult::all();
        let mut skipped: smallvec::SmallVec<[usize; 8]> = smallvec::SmallVec::new();
        let mut plugins_with_nodes: Vec<&'static str> = Vec::new();
        for &i in &profile.points[2] {
            let p = &profile.plugins[i];
            let Some(pf) = p.as_pre_filter() else {
                continue;
            };
            match pf.pre_filter(state, pod, cache) {
                Ok(r) => {
                    if r.node_names.is_some() {
                        plugins_with_nodes.push(p.name());
                    }
                    pre_result = pre_result.merge(r);
                    if pre_result.node_names.as_ref().is_some_and(Vec::is_empty) {
                        let msg = if plugins_with_nodes.len() == 1 {
                            format!("node(s) didn't satisfy plugin {}", plugins_with_nodes[0])
                        } else {
                            format!(
                                "node(s) didn't satisfy plugin(s) [{}] simultaneously",
                                plugins_with_nodes.join(" ")
                            )
                        };
                        return Err(ScheduleError::Fit(fit_error(Some(msg))));
                    }
                }
                Err(s) if s.code == Code::Skip => skipped.push(i),
                Err(s) if s.is_rejected() => {
                    return Err(ScheduleError::Fit(fit_error(Some(s.message()))))
                }
                Err(s) => return Err(plugin_error(p.name(), &s)),
            }
        }
        scratch.skipped.clone_from(&skipped);
        let filters = active_filters(profile, &skipped);

        // The nodes to filter: all, or PreFilter's subset (in name order).
        let restricted: Vec<NodeIdx>;
        let mut absent_reason: Option<String> = None;
        let nodes: &[NodeIdx] = match &pre_result.node_names {
            None => cache.order(),
            Some(names) => {
                restricted = names.iter().filter_map(|n| cache.index_of(n)).collect();
                absent_reason = Some(format!(
                    "node(s) didn't satisfy plugin(s) [{}]",
                    plugins_with_nodes.join(" ")
                ));
                &restricted
            }
        };

        // The nominated node first (upstream `evaluateNominatedNode`).
        if let Some(node) = try_nominated_node(
            cache, profile, &skipped, &filters, nominator, pdbs, state, pod,
        )? {
            return Ok(ScheduleResult {
                node,
                evaluated_nodes: 1,
                feasible_nodes: 1,
                scores: None,
            });
        }

        // Filter, from the round-robin start, until enough feasible nodes.
        let n = nodes.len();
        let pct = profile
            .percentage_of_nodes_to_score
            .unwrap_or(opts.percentage_of_nodes_to_score);
        let to_find = num_feasible_nodes_to_find(pct, n);
        // The feasible nodes, in order (their hot blocks in `scratch.hot`).
        let mut infos: Vec<&NodeInfo> = Vec::with_capacity(to_find.min(n));
        scratch.hot.clear();
        scratch.hot.reserve(to_find.min(n));
        scratch.failed.clear();
        // Set when the feasible nodes' hot blocks are in the first this
        // many chunk buffers of a shared pass rather than in `scratch.hot`.
        let mut hot_chunks: Option<usize> = None;
        // This pod's way and timing, when it may be shared.
        let mut timing = None;
        if n > 0 && profile.points[3].is_empty() {
            for k in 0..to_find {
                let idx = nodes[(*next_start_node_index + k) % n];
                infos.push(cache.info(idx));
                scratch.hot.push(*cache.hot(idx));
            }
        } else if n > 0 {
            // The filters' hot-block shortcuts, combined: a node that
            // satisfies them needs only the filters without one.
            let mut fast = HotAccept::default();
            let mut rest: smallvec::SmallVec<[(&'static str, &dyn FilterPlugin); 8]> =
                smallvec::SmallVec::new();
            // Positions in `filters` of those in `rest`.
            let mut rest_pos: smallvec::SmallVec<[usize; 8]> = smallvec::SmallVec::new();
            for (k, &(name, f)) in filters.iter().enumerate() {
                match f.hot_accept(state, pod) {
                    Some(c) => fast = fast.and(c),
                    None => {
                        rest.push((name, f));
                        rest_pos.push(k);
                    }
                }
            }
            let start = *next_start_node_index % n;
            // The nodes with nominated pods to yield to, marked once per pod
            // (the walk then tests a flag instead of looking every node up
            // in the nominator by name).
            let has_nominated = mark_nodes_to_yield(cache, nominator, pod, scratch);
            // Walk positions already filtered (by the shared pass).
            let mut done = 0;
            // The walk needs `to_find` feasible nodes, so it filters at least
            // the first `to_find` positions (unless a filter fails): those
            // can be filtered in chunks on two threads and merged in order.
            timing = if !has_nominated && pre_result.node_names.is_none() {
                par.begin(to_find)
            } else {
                None
            };
            if timing.is_some_and(|t| t.shared) {
                let chunks = chunks_for(to_find);
                let filter_ids = active_filter_ids(profile, &skipped);
                let rest_ids = rest_pos.iter().map(|&k| filter_ids[k]).collect();
                let job = par.run(PassJob {
                    cache: Arc::clone(cache_arc),
                    profile: Arc::clone(profile_arc),
                    state: std::mem::take(state),
                    pod: Arc::clone(pod_arc),
                    outs: Arc::clone(&par.outs),
                    kind: PassKind::Filter {
                        start,
                        n,
                        len: to_find,
                        chunks,
                        fast,
                        filters: filter_ids,
                        rest: rest_ids,
                    },
                });
                *state = job.state;
                for m in &par.outs[..chunks] {
                    let mut out = parallel::lock(m);
                    if let Some((name, s)) = &out.error {
                        return Err(plugin_error(name, s));
                    }
                    infos.extend(out.feasible.iter().map(|&i| cache.info_of_live(i)));
                    scratch.failed.append(&mut out.failed);
                }
                done = to_find;
                hot_chunks = Some(chunks);
            }
            if infos.len() < to_find && done < n {
                if let Some(chunks) = hot_chunks.take() {
                    gather_hot(&par.outs[..chunks], &mut scratch.hot);
                }
                // The rest of the walk, from position `done`: two plain
                // slice loops (it wraps around once).
                let (before, after) = nodes.split_at(start);
                let parts = if done < after.len() {
                    [&after[done..], before]
                } else {
                    [&before[done - after.len()..], &[][..]]
                };
                'walk: for part in parts {
                    'nodes: for &idx in part {
                        let h = cache.hot(idx);
                        // A node with nominated pods to yield to is filtered
                        // twice (upstream's RunFilterPluginsWithNominatedPods);
                        // the hot block does not know those pods, so this
                        // comes before the shortcut.
                        if has_nominated && scratch.yield_mark.get(idx as usize) == Some(&true) {
                            let info = cache.info(idx);
                            if let Some(r) = filter_with_nominated_pods(
                                cache,
                                profile,
                                &skipped,
                                &filters,
                                nominator,
                                pdbs,
                                state,
                                pod,
                                info,
                                &mut scratch.node_copy,
                            ) {
                                match r {
                                    Ok(()) => {
                                        infos.push(info);
                                        scratch.hot.extend_from_slice(std::slice::from_ref(h));
                                        if infos.len() == to_find {
                                            break 'walk;
                                        }
                                    }
                                    Err(s) if s.code == Code::Error => {
                                        return Err(plugin_error(s.plugin, &s))
                                    }
                                    Err(s) => scratch.failed.push((idx, s)),
                                }
                                continue 'nodes;
                            }
                        }
                        // As `parallel::filter_node`, written out: this loop
                        // is the hot path of one thread.
                        let to_run = if fast.holds(h) {
                            if rest.is_empty() {
                                // Feasible without touching the info itself.
                                infos.push(cache.info_of_live(idx));
                                scratch.hot.extend_from_slice(std::slice::from_ref(h));
                                if infos.len() == to_find {
                                    break 'walk;
                                }
                                continue;
                            }
                            &rest
                        } else {
                            &filters
                        };
                        let info = cache.info(idx);
                        for &(name, f) in to_run {
                            if let Err(s) = f.filter(state, pod, info) {
                                if s.code == Code::Error {
                                    return Err(plugin_error(name, &s));
                                }
                                scratch.failed.push((idx, s.with_plugin(name)));
                                continue 'nodes;
                            }
                        }
                        infos.push(info);
                        scratch.hot.extend_from_slice(std::slice::from_ref(h));
                        if infos.len() == to_find {
                            break 'walk;
                        }
                    }
                }
            }
            let processed = infos.len() + scratch.failed.len();
            *next_start_node_index = (start + processed) % n;
        }

        if infos.is_empty() {
            let mut e = fit_error(None);
            e.reasons = reason_histogram(scratch.failed.iter().map(|(_, s)| s));
            e.node_statuses.reserve_exact(scratch.failed.len());
            for (idx, s) in &scratch.failed {
                e.node_statuses.push((
                    Arc::clone(cache.info(*idx).shared_name()),
                    s.plugin,
                    s.code,
                ));
            }
            if let Some(r) = absent_reason {
                let absent = num_all_nodes.saturating_sub(scratch.failed.len());
                if absent > 0 {
                    *e.reasons.entry(r).or_default() += absent;
                }
            }
            return Err(ScheduleError::Fit(e));
        }
        let evaluated_nodes = infos.len() + scratch.failed.len();
        if infos.len() == 1 {
            return Ok(ScheduleResult {
                node: infos[0].name().into(),
                evaluated_nodes,
                feasible_nodes: 1,
                scores: None,
            });
        }

        // PreScore, Score, NormalizeScore, weights.
        let mut score_skipped: smallvec::SmallVec<[usize; 8]> = smallvec::SmallVec::new();
        for &i in &profile.points[4] {
            let p = &profile.plugins[i];
            let Some(ps) = p.as_pre_score() else { continue };
            match ps.pre_score(state, pod, cache, &infos) {
                Ok(()) => {}
                Err(s) if s.code == Code::Skip => score_skipped.push(i),
                Err(s) => return Err(plugin_error(p.name(), &s)),
            }
        }
        let f = infos.len();
        scratch.totals.clear();
        scratch.totals.resize(f, 0);
        let scorers: smallvec::SmallVec<[(usize, &dyn ScorePlugin); 8]> = profile.points[5]
            .iter()
            .filter(|i| !score_skipped.contains(i))
            .filter_map(|&i| profile.plugins[i].as_score().map(|sp| (i, sp)))
            .collect();
        // The feasible nodes' raw scores: from a shared pass over the
        // filter pass's chunks (each chunk's nodes scored together, which
        // gives the same values: a node's score does not depend on the
        // other nodes of the call), or below, on this thread.
        let mut score_chunks: Option<usize> = None;
        // Per scorer: weighted and summed in the shared pass's chunks (no
        // NormalizeScore, and no per-plugin scores to record).
        let summed: smallvec::SmallVec<[bool; 8]> = scorers
            .iter()
            .map(|&(_, sp)| !opts.record_scores && !sp.normalizes())
            .collect();
        if let Some(chunks) = hot_chunks {
            if par.worth(f) && !scorers.is_empty() {
                let job = par.run(PassJob {
                    cache: Arc::clone(cache_arc),
                    profile: Arc::clone(profile_arc),
                    state: std::mem::take(state),
                    pod: Arc::clone(pod_arc),
                    outs: Arc::clone(&par.outs),
                    kind: PassKind::Score {
                        chunks,
                        scorers: scorers.iter().map(|&(i, _)| i).collect(),
                        weights: scorers.iter().map(|&(i, _)| profile.weights[i]).collect(),
                        summed: summed.clone(),
                    },
                });
                *state = job.state;
                score_chunks = Some(chunks);
            } else {
                gather_hot(&par.outs[..chunks], &mut scratch.hot);
            }
        }
        let state: &CycleState = state;
        let mut per_plugin: Vec<(&'static str, Vec<i64>)> = Vec::new();
        for (k, &(i, sp)) in scorers.iter().enumerate() {
            let p = &profile.plugins[i];
            let scores = &mut scratch.scores;
            if let (Some(chunks), true) = (score_chunks, summed[k]) {
                // Checked here in plugin order; the sums are added below.
                let mut len = 0;
                for m in &par.outs[..chunks] {
                    let out = parallel::lock(m);
                    if let Some(s) = &out.score_errors[k] {
                        return Err(plugin_error(p.name(), s));
                    }
                    len += out.scores[k].len();
                }
                if len != f {
                    return Err(ScheduleError::Plugin {
                        plugin: p.name(),
                        message: format!("{len} scores for {f} nodes"),
                    });
                }
                let invalid = par.outs[..chunks]
                    .iter()
                    .find_map(|m| parallel::lock(m).first_invalid[k]);
                if let Some(s) = invalid {
                    return Err(invalid_score(p.name(), s));
                }
                continue;
            }
            match score_chunks {
                None => sp
                    .score_nodes(state, pod, &infos, &scratch.hot, scores)
                    .map_err(|s| plugin_error(p.name(), &s))?,
                Some(chunks) => {
                    scores.clear();
                    for m in &par.outs[..chunks] {
                        let out = parallel::lock(m);
                        if let Some(s) = &out.score_errors[k] {
                            return Err(plugin_error(p.name(), s));
                        }
                        scores.extend_from_slice(&out.scores[k]);
                    }
                }
            }
            if scores.len() != f {
                return Err(ScheduleError::Plugin {
                    plugin: p.name(),
                    message: format!("{} scores for {f} nodes", scores.len()),
                });
            }
            sp.normalize_scores(state, pod, scores)
                .map_err(|s| plugin_error(p.name(), &s))?;
            let w = profile.weights[i];
            // One branch-free pass (vectorizable): weight, sum, and note
            // any score out of range; the error names the first one.
            let out_of_range = scores
                .iter()
                .fold(false, |bad, s| bad | ((*s as u64) > MAX_NODE_SCORE as u64));
            if w == 1 {
                for (t, s) in scratch.totals.iter_mut().zip(scores.iter()) {
                    *t = t.wrapping_add(*s);
                }
            } else {
                for (t, s) in scratch.totals.iter_mut().zip(scores.iter()) {
                    *t = t.wrapping_add(s.wrapping_mul(w));
                }
            }
            if out_of_range {
                let s = scores
                    .iter()
                    .find(|s| !(0..=MAX_NODE_SCORE).contains(*s))
                    .copied()
                    .unwrap_or_default();
                return Err(invalid_score(p.name(), s));
            }
            if opts.record_scores {
                per_plugin.push((p.name(), scores.iter().map(|s| s * w).collect()));
            }
        }
        if let (Some(chunks), true) = (score_chunks, summed.contains(&true)) {
            let mut off = 0;
            for m in &par.outs[..chunks] {
                let out = parallel::lock(m);
                let part = &mut scratch.totals[off..off + out.partial.len()];
                for (t, s) in part.iter_mut().zip(&out.partial) {
                    *t = t.wrapping_add(*s);
                }
                off += out.partial.len();
            }
        }

        if let Some(t) = timing {
            par.end(t);
        }

        // Highest total; ties by reservoir sampling in feasible order.
        let mut best = 0usize;
        let mut best_total = scratch.totals[0];
        let mut count = 1u64;
        for (k, &t) in scratch.totals.iter().enumerate().skip(1) {
            if t > best_total {
                best = k;
                best_total = t;
                count = 1;
            } else if t == best_total {
                count += 1;
                if rng.below(count) == 0 {
                    best = k;
                }
            }
        }
        let scores = opts.record_scores.then(|| {
            infos
                .iter()
                .enumerate()
                .map(|(k, info)| NodeScore {
                    node: info.name().into(),
                    total: scratch.totals[k],
                    plugins: per_plugin.iter().map(|(name, v)| (*name, v[k])).collect(),
                })
                .collect()
        });
        Ok(ScheduleResult {
            node: infos[best].name().into(),
            evaluated_nodes,
            feasible_nodes: f,
            scores,
        })
    }
}

/// Reason → number of `statuses` giving it (each status counts each of its
/// reasons). Counts runs of equal reasons before hashing (neighbouring
/// nodes mostly fail alike) and copies each distinct reason once.
fn reason_histogram<'s>(statuses: impl Iterator<Item = &'s Status>) -> HashMap<String, usize> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut run: Option<(&str, usize)> = None;
    for r in statuses.flat_map(|s| s.reasons.iter()) {
        match &mut run {
            Some((last, n)) if *last == &**r => *n += 1,
            _ => {
                if let Some((last, n)) = run.replace((r, 1)) {
                    *counts.entry(last).or_default() += n;
                }
            }
        }
    }
    if let Some((last, n)) = run {
        *counts.entry(last).or_default() += n;
    }
    counts.into_iter().map(|(r, n)| (r.to_owned(), n)).collect()
}

// ---------------------------------------------------------------------------
// Preemption and nominated pods (additions to the loop above).

/// The profile's Filter plugins in order, without those PreFilter skipped
/// (`skipped` holds plugin indices), each with its name.
fn active_filters<'p>(
    profile: &'p Profile,
    skipped: &[usize],
) -> smallvec::SmallVec<[(&'static str, &'p dyn FilterPlugin); 8]> {
    profile.points[3]
        .iter()
        .filter(|i| !skipped.contains(i))
        .filter_map(|&i| {
            profile.plugins[i]
                .as_filter()
                .map(|f| (profile.plugins[i].name(), f))
        })
        .collect()
}

/// The plugin indices of [`active_filters`], in the same order.
fn active_filter_ids(profile: &Profile, skipped: &[usize]) -> smallvec::SmallVec<[usize; 8]> {
    profile.points[3]
        .iter()
        .copied()
        .filter(|i| !skipped.contains(i) && profile.plugins[*i].as_filter().is_some())
        .collect()
}

/// Appends the hot blocks kept in `outs` (a shared filter pass's chunk
/// buffers, in order) to `hot`.
fn gather_hot(outs: &[std::sync::Mutex<parallel::ChunkOut>], hot: &mut Vec<crate::cache::NodeHot>) {
    for m in outs {
        hot.extend_from_slice(&parallel::lock(m).hot);
    }
}

/// The AddPod/RemovePod extensions of the PreFilter plugins not skipped for
/// the pod, in order.
fn pre_filter_extensions<'p>(
    profile: &'p Profile,
    skipped: &[usize],
) -> smallvec::SmallVec<[(&'static str, &'p dyn PreFilterExtensions); 4]> {
    profile.points[2]
        .iter()
        .filter(|i| !skipped.contains(i))
        .filter_map(|&i| {
            let p = &profile.plugins[i];
            p.as_pre_filter()
                .and_then(|pf| pf.pre_filter_extensions())
                .map(|e| (p.name(), e))
        })
        .collect()
}

/// Marks in `scratch.yield_mark` the nodes of `cache` with pods nominated
/// that `pod` must yield to ([`must_yield_to`]) and lists them in
/// `scratch.yield_nodes` (the previous pod's marks are cleared first); true
/// when there is any. O(nominated pods + previous marks).
fn mark_nodes_to_yield(
    cache: &Cache,
    nominator: &Nominator,
    pod: &PodInfo,
    scratch: &mut Scratch,
) -> bool {
    for &i in &scratch.yield_nodes {
        scratch.yield_mark[i as usize] = false;
    }
    scratch.yield_nodes.clear();
    if nominator.is_empty() {
        return false;
    }
    for (node, pods) in nominator.nodes() {
        if !pods.iter().any(|p| must_yield_to(pod, p)) {
            continue;
        }
        let Some(idx) = cache.index_of(node) else {
            continue;
        };
        let i = idx as usize;
        if i >= scratch.yield_mark.len() {
            scratch.yield_mark.resize(i + 1, false);
        }
        if !scratch.yield_mark[i] {
            scratch.yield_mark[i] = true;
            scratch.yield_nodes.push(idx);
        }
    }
    !scratch.yield_nodes.is_empty()
}

/// Filters `info` counting the pods nominated there with priority ≥ the
/// pod's (upstream `RunFilterPluginsWithNominatedPods`); None when there
/// are none (the caller then runs the filters itself, the common case).
#[allow(clippy::too_many_arguments)]
fn filter_with_nominated_pods(
    cache: &Cache,
    profile: &Profile,
    skipped: &[usize],
    filters: &[(&'static str, &dyn FilterPlugin)],
    nominator: &Nominator,
    pdbs: &PdbList,
    state: &mut CycleState,
    pod: &PodInfo,
    info: &NodeInfo,
    node_copy: &mut Option<NodeInfo>,
) -> Option<Result<(), Status>> {
    if nominator.is_empty() || nominator.pods_for_node(info.name()).is_empty() {
        return None;
    }
    let extensions = pre_filter_extensions(profile, skipped);
    let h = Handle {
        snapshot: cache,
        filters,
        extensions: &extensions,
        nominator,
        pdbs,
    };
    h.nominated_pods_to_yield_to(pod, info.name()).next()?;
    Some(h.run_filters_with_nominated_pods_using(state, pod, info, node_copy))
}

/// Upstream `evaluateNominatedNode`: when the pod has
/// `status.nominatedNodeName` and that node passes the filters (with
/// nominated pods), it is chosen without scoring. A filter error is
/// returned; a rejection falls back to the full pass (None).
#[allow(clippy::too_many_arguments)]
fn try_nominated_node(
    cache: &Cache,
    profile: &Profile,
    skipped: &[usize],
    filters: &[(&'static str, &dyn FilterPlugin)],
    nominator: &Nominator,
    pdbs: &PdbList,
    state: &mut CycleState,
    pod: &PodInfo,
) -> Result<Option<Box<str>>, ScheduleError> {
    if pod.nominated_node_name.is_empty() {
        return Ok(None);
    }
    let Some(idx) = cache.index_of(&pod.nominated_node_name) else {
        return Ok(None);
    };
    let info = cache.info(idx);
    let r = match filter_with_nominated_pods(
        cache, profile, skipped, filters, nominator, pdbs, state, pod, info, &mut None,
    ) {
        Some(r) => r,
        None => filters
            .iter()
            .try_for_each(|&(name, f)| f.filter(state, pod, info).map_err(|s| s.with_plugin(name))),
    };
    match r {
        Ok(()) => Ok(Some(info.name().into())),
        Err(s) if s.code == Code::Error => Err(plugin_error(s.plugin, &s)),
        Err(_) => Ok(None),
    }
}

impl Scheduler {
    /// Upstream `RunPostFilterPlugins` after a FitError: the plugins run in
    /// order until one succeeds, returns `UnschedulableAndUnresolvable` or
    /// fails; their message and result go into the returned FitError. A
    /// result's nomination is applied to the nominator at once (the next
    /// pods of a batch see it), and cleared nominations are dropped.
    fn run_post_filter(
        &mut self,
        state: &mut CycleState,
        pod: &Arc<PodInfo>,
        mut fit: FitError,
    ) -> FitError {
        if self.profile.points[7].is_empty() {
            return fit;
        }
        let Self {
            cache,
            profile,
            rng,
            scratch,
            nominator,
            pdbs,
            ..
        } = self;
        let cache: &Cache = cache;
        // Node statuses: PreFilter rejections (all UnschedulableAndUnresolvable
        // for the in-tree plugins) leave every node absent; otherwise the
        // evaluated nodes, the others (outside PreFilter's set) absent.
        let statuses = if fit.pre_filter_msg.is_some() {
            NodeToStatus::new([], Code::UnschedulableAndUnresolvable)
        } else {
            NodeToStatus::new(
                scratch.failed.iter().map(|(i, s)| (*i, s.code)),
                Code::UnschedulableAndUnresolvable,
            )
        };
        let skipped = scratch.skipped.clone();
        let filters = active_filters(profile, &skipped);
        let extensions = pre_filter_extensions(profile, &skipped);
        let h = Handle {
            snapshot: cache,
            filters: &filters,
            extensions: &extensions,
            nominator,
            pdbs,
        };
        let mut result: Option<PostFilterResult> = None;
        let mut reasons: Vec<String> = Vec::new();
        let mut outcome: Option<Result<(), Status>> = None;
        for &i in &profile.points[7] {
            let p = &profile.plugins[i];
            let Some(pf) = p.as_post_filter() else {
                continue;
            };
            let (r, s) = pf.post_filter(&h, rng, state, pod, &statuses);
            match s {
                Ok(()) => {
                    result = r;
                    outcome = Some(Ok(()));
                    break;
                }
                Err(s) if s.code == Code::UnschedulableAndUnresolvable || s.code == Code::Error => {
                    if s.code != Code::Error {
                        result = r;
                    }
                    outcome = Some(Err(s));
                    break;
                }
                Err(s) => {
                    if r.is_some() {
                        result = r;
                    }
                    reasons.extend(s.reasons.iter().map(|r| r.to_string()));
                }
            }
        }
        let msg = match outcome {
            Some(Ok(())) => String::new(),
            Some(Err(s)) => s.message(),
            None => reasons.join(", "),
        };
        let message = (!msg.is_empty()).then_some(msg);
        if let Some(r) = &result {
            let key = nominator_key(pod);
            if r.nominated_node.is_empty() {
                nominator.remove(&key);
            } else {
                nominator.add(Arc::clone(pod), &r.nominated_node);
            }
            for c in &r.cleared_nominations {
                nominator.remove(&nominator_key(c));
            }
        }
        fit.post_filter = Some(Box::new(PostFilterOutcome { message, result }));
        fit
    }

    /// The nominated pods.
    pub fn nominator(&self) -> &Nominator {
        &self.nominator
    }

    /// Records `pod`'s `status.nominatedNodeName` (an empty one removes the
    /// nomination), as upstream's nominator follows pending pods. A pod
    /// this scheduler nominated keeps its nomination when `pod` has none
    /// and `had_nomination` is false (a stale update, as upstream's
    /// `UpdateNominatedPod`).
    pub fn set_nominated_pod(&mut self, pod: Arc<PodInfo>, had_nomination: bool) {
        let node = pod.nominated_node_name.clone();
        if node.is_empty() && !had_nomination {
            return;
        }
        self.nominator.add(pod, &node);
    }

    /// Drops the nomination of `namespace/name` (the pod was deleted or
    /// bound); returns the node it was nominated to.
    pub fn remove_nominated_pod(&mut self, key: &str) -> Option<Box<str>> {
        self.nominator.remove(key)
    }

    /// The PodDisruptionBudgets preemption respects.
    pub fn pdbs(&self) -> &PdbList {
        &self.pdbs
    }

    /// The PodDisruptionBudgets, for add/update/remove.
    pub fn pdbs_mut(&mut self) -> &mut PdbList {
        &mut self.pdbs
    }
}
