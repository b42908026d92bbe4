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
//! Filtering runs sequentially with upstream's stopping rule; a parallel
//! version must give the same feasible list and the same
//! `next_start_node_index` (evaluate chunks in parallel, merge in order,
//! cut at the sequential stopping point).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::cache::{Cache, NodeHot, NodeIdx, NodeInfo};
use crate::framework::{
    Code, CycleState, FilterPlugin, HotAccept, PreFilterResult, Profile, ScorePlugin, Status,
    MAX_NODE_SCORE,
};
use crate::model::PodInfo;
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
    pub node_statuses: Vec<(Box<str>, &'static str, Code)>,
}

impl fmt::Display for FitError {
    /// Upstream's shape: `0/N nodes are available: <histogram>.` with each
    /// entry `"<count> <reason>"`, the entries sorted as strings and joined
    /// by ", "; or the PreFilter message instead of the histogram.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        if let Some(m) = &self.pre_filter_msg {
            return write!(f, " {m}.");
        }
        let mut entries: Vec<String> = self
            .reasons
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        entries.sort();
        if !entries.is_empty() {
            write!(f, " {}.", entries.join(", "))?;
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
    hot: Vec<NodeHot>,
    failed: Vec<(NodeIdx, Status)>,
    totals: Vec<i64>,
    scores: Vec<i64>,
}

/// The scheduler core: a node cache and one profile.
pub struct Scheduler {
    cache: Cache,
    profile: Profile,
    opts: SchedulerOptions,
    rng: SplitMix64,
    next_start_node_index: usize,
    scratch: Scratch,
}

impl Scheduler {
    /// A scheduler with an empty cache.
    pub fn new(profile: Profile, opts: SchedulerOptions) -> Self {
        Self {
            cache: Cache::new(),
            profile,
            rng: SplitMix64::new(opts.seed),
            opts,
            next_start_node_index: 0,
            scratch: Scratch::default(),
        }
    }

    /// The node cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The node cache, for node and pod events.
    pub fn cache_mut(&mut self) -> &mut Cache {
        &mut self.cache
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
        self.cache.prepare();
        let mut state = CycleState::new();
        let result = self.schedule_pod(&mut state, pod)?;
        self.cache.add_pod(Arc::clone(pod), &result.node);
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
                self.cache.remove_pod(&pod.key());
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
        pod: &PodInfo,
    ) -> Result<ScheduleResult, ScheduleError> {
        let Self {
            cache,
            profile,
            opts,
            rng,
            next_start_node_index,
            scratch,
        } = self;
        let cache: &Cache = cache;
        let num_all_nodes = cache.num_nodes();
        if num_all_nodes == 0 {
            return Err(ScheduleError::NoNodesAvailable);
        }
        let fit_error = |pre_filter_msg: Option<String>| FitError {
            num_all_nodes,
            pre_filter_msg,
            reasons: HashMap::new(),
            node_statuses: Vec::new(),
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
        let filters: smallvec::SmallVec<[(&'static str, &dyn FilterPlugin); 8]> = profile.points[3]
            .iter()
            .filter(|i| !skipped.contains(i))
            .filter_map(|&i| {
                profile.plugins[i]
                    .as_filter()
                    .map(|f| (profile.plugins[i].name(), f))
            })
            .collect();

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
            for &(name, f) in &filters {
                match f.hot_accept(state, pod) {
                    Some(c) => fast = fast.and(c),
                    None => rest.push((name, f)),
                }
            }
            let start = *next_start_node_index % n;
            // Two plain slice loops (the walk wraps around once).
            'walk: for part in [&nodes[start..], &nodes[..start]] {
                'nodes: for &idx in part {
                    let h = cache.hot(idx);
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
            let processed = infos.len() + scratch.failed.len();
            *next_start_node_index = (start + processed) % n;
        }

        if infos.is_empty() {
            let mut e = fit_error(None);
            for (idx, s) in &scratch.failed {
                for r in &s.reasons {
                    *e.reasons.entry(r.to_string()).or_default() += 1;
                }
                e.node_statuses
                    .push((cache.info(*idx).name().into(), s.plugin, s.code));
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
        let state: &CycleState = state;
        let f = infos.len();
        scratch.totals.clear();
        scratch.totals.resize(f, 0);
        let scorers: smallvec::SmallVec<[(usize, &dyn ScorePlugin); 8]> = profile.points[5]
            .iter()
            .filter(|i| !score_skipped.contains(i))
            .filter_map(|&i| profile.plugins[i].as_score().map(|sp| (i, sp)))
            .collect();
        let mut per_plugin: Vec<(&'static str, Vec<i64>)> = Vec::new();
        for &(i, sp) in &scorers {
            let p = &profile.plugins[i];
            let scores = &mut scratch.scores;
            sp.score_nodes(state, pod, &infos, &scratch.hot, scores)
                .map_err(|s| plugin_error(p.name(), &s))?;
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
                return Err(ScheduleError::Plugin {
                    plugin: p.name(),
                    message: format!(
                        "plugin {:?} returns an invalid score {}, it should in the range of [0, {MAX_NODE_SCORE}] after normalizing",
                        p.name(),
                        s
                    ),
                });
            }
            if opts.record_scores {
                per_plugin.push((p.name(), scores.iter().map(|s| s * w).collect()));
            }
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
