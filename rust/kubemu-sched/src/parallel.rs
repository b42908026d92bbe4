//! The engine's filter and score passes split into chunks of nodes for the
//! two threads of a [`Worker`] (see the engine's module docs for when they
//! are used).
//!
//! Each chunk writes only its own [`ChunkOut`]; the engine merges the
//! chunks in order, so the result does not depend on which thread ran
//! which chunk: the feasible list, the rejected nodes' statuses and the
//! first plugin error come out exactly as one sequential walk gives them.
//! The job owns what the chunks read (`Arc`s of the cache, profile and pod;
//! the cycle state by value): [`Worker::run`] hands it back when done.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::cache::{Cache, NodeHot, NodeIdx, NodeInfo};
use crate::framework::{
    Code, CycleState, FilterPlugin, HotAccept, Profile, Status, MAX_NODE_SCORE,
};
use crate::model::PodInfo;
use crate::worker::{Job, RunTimes, Worker};

/// The most chunks a pass is split into (the buffers kept are this many).
pub const MAX_CHUNKS: usize = 16;
/// Nodes per chunk aimed at (fewer, larger chunks cost less to merge).
const CHUNK_NODES: usize = 512;

/// One chunk's output, reused across passes.
#[derive(Debug, Default)]
pub struct ChunkOut {
    /// The chunk's feasible nodes, in walk order.
    pub feasible: Vec<NodeIdx>,
    /// Their hot blocks (parallel to `feasible`).
    pub hot: Vec<NodeHot>,
    /// The rejected nodes and why, in walk order.
    pub failed: Vec<(NodeIdx, Status)>,
    /// The first `Error` a filter returned in the chunk (the walk of the
    /// chunk stops there), with the plugin's name.
    pub error: Option<(&'static str, Status)>,
    /// Raw scores of `feasible`, per scorer of the score pass.
    pub scores: Vec<Vec<i64>>,
    /// Per scorer: the error its `score_nodes` returned for this chunk.
    pub score_errors: Vec<Option<Status>>,
    /// Per scorer summed in the chunk: its first score outside
    /// `0..=MAX_NODE_SCORE` here, if any.
    pub first_invalid: Vec<Option<i64>>,
    /// The weighted sum, per node of `feasible`, of the scores of the
    /// scorers summed in the chunk (wrapping, as the engine sums).
    pub partial: Vec<i64>,
}

/// Locks a chunk buffer (uncontended: one thread owns a chunk at a time).
pub fn lock(m: &Mutex<ChunkOut>) -> MutexGuard<'_, ChunkOut> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A chunk count for walking `len` nodes.
pub fn chunks_for(len: usize) -> usize {
    (len / CHUNK_NODES).clamp(2, MAX_CHUNKS)
}

/// What a pass does.
pub enum PassKind {
    /// Filter positions `0..len` of the walk that starts at `start` in the
    /// cache's node order (`n` nodes), in `chunks` equal parts.
    Filter {
        start: usize,
        n: usize,
        len: usize,
        chunks: usize,
        /// The filters' combined hot-block shortcut.
        fast: HotAccept,
        /// Plugin indices of the active filters, in order.
        filters: smallvec::SmallVec<[usize; 8]>,
        /// Those without a shortcut (run on nodes that satisfy `fast`).
        rest: smallvec::SmallVec<[usize; 8]>,
    },
    /// Score each of the first `chunks` chunks' feasible nodes (from the
    /// filter pass) with these Score plugins (indices), in order; those
    /// with `summed` set (no NormalizeScore) are also range-checked and
    /// added, times their `weights`, into the chunk's `partial` sums.
    Score {
        chunks: usize,
        scorers: smallvec::SmallVec<[usize; 8]>,
        weights: smallvec::SmallVec<[i64; 8]>,
        summed: smallvec::SmallVec<[bool; 8]>,
    },
}

/// A pass over chunks of nodes; see the module docs.
pub struct PassJob {
    pub cache: Arc<Cache>,
    pub profile: Arc<Profile>,
    pub state: CycleState,
    pub pod: Arc<PodInfo>,
    pub outs: Arc<[Mutex<ChunkOut>]>,
    pub kind: PassKind,
}

/// The verdict of the filters on one node.
pub enum Verdict {
    /// Feasible.
    Fits,
    /// Rejected, with the status (its plugin set).
    Rejected(Status),
    /// A filter failed with `Code::Error`: the pod's attempt fails.
    Error(&'static str, Status),
}

/// Runs the filters on node `idx` (hot block `h`): only `rest` when `h`
/// satisfies `fast`, every filter otherwise, stopping at the first
/// rejection (upstream's order). No nominated pods are considered. The
/// engine's one-thread walk does the same, written out.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn filter_node(
    cache: &Cache,
    idx: NodeIdx,
    h: &NodeHot,
    fast: &HotAccept,
    rest: &[(&'static str, &dyn FilterPlugin)],
    filters: &[(&'static str, &dyn FilterPlugin)],
    state: &CycleState,
    pod: &PodInfo,
) -> Verdict {
    let to_run = if fast.holds(h) {
        if rest.is_empty() {
            // Feasible without touching the info itself.
            return Verdict::Fits;
        }
        rest
    } else {
        filters
    };
    let info = cache.info(idx);
    for &(name, f) in to_run {
        if let Err(s) = f.filter(state, pod, info) {
            if s.code == Code::Error {
                return Verdict::Error(name, s);
            }
            return Verdict::Rejected(s.with_plugin(name));
        }
    }
    Verdict::Fits
}

/// The filters of `ids` (plugin indices of `profile`), with their names.
fn filters_of<'p>(
    profile: &'p Profile,
    ids: &[usize],
) -> smallvec::SmallVec<[(&'static str, &'p dyn FilterPlugin); 8]> {
    ids.iter()
        .filter_map(|&i| {
            let p = &profile.plugins[i];
            p.as_filter().map(|f| (p.name(), f))
        })
        .collect()
}

impl PassJob {
    fn filter_chunk(&self, c: usize, out: &mut ChunkOut) {
        let PassKind::Filter {
            start,
            n,
            len,
            chunks,
            fast,
            filters,
            rest,
        } = &self.kind
        else {
            return;
        };
        out.feasible.clear();
        out.hot.clear();
        out.failed.clear();
        out.error = None;
        let (lo, hi) = (c * len / chunks, (c + 1) * len / chunks);
        let filters = filters_of(&self.profile, filters);
        let rest = filters_of(&self.profile, rest);
        let cache = &*self.cache;
        let order = cache.order();
        let pod = &*self.pod;
        for p in lo..hi {
            let idx = order[(start + p) % n];
            let h = cache.hot(idx);
            match filter_node(cache, idx, h, fast, &rest, &filters, &self.state, pod) {
                Verdict::Fits => {
                    out.feasible.push(idx);
                    out.hot.extend_from_slice(std::slice::from_ref(h));
                }
                Verdict::Rejected(s) => out.failed.push((idx, s)),
                Verdict::Error(name, s) => {
                    out.error = Some((name, s));
                    return;
                }
            }
        }
    }

    fn score_chunk(&self, out: &mut ChunkOut) {
        let PassKind::Score {
            scorers,
            weights,
            summed,
            ..
        } = &self.kind
        else {
            return;
        };
        let ChunkOut {
            feasible,
            hot,
            scores,
            score_errors,
            first_invalid,
            partial,
            ..
        } = out;
        scores.resize_with(scorers.len(), Vec::new);
        score_errors.clear();
        score_errors.resize(scorers.len(), None);
        first_invalid.clear();
        first_invalid.resize(scorers.len(), None);
        partial.clear();
        partial.resize(feasible.len(), 0);
        let cache = &*self.cache;
        let infos: Vec<&NodeInfo> = feasible.iter().map(|&i| cache.info_of_live(i)).collect();
        for (k, &i) in scorers.iter().enumerate() {
            let Some(sp) = self.profile.plugins[i].as_score() else {
                continue;
            };
            if let Err(s) = sp.score_nodes(&self.state, &self.pod, &infos, hot, &mut scores[k]) {
                score_errors[k] = Some(s);
                continue;
            }
            let sc = &scores[k];
            if !summed[k] || sc.len() != partial.len() {
                continue;
            }
            let out_of_range = sc
                .iter()
                .fold(false, |bad, s| bad | ((*s as u64) > MAX_NODE_SCORE as u64));
            if out_of_range {
                first_invalid[k] = sc
                    .iter()
                    .find(|s| !(0..=MAX_NODE_SCORE).contains(*s))
                    .copied();
            }
            let w = weights[k];
            if w == 1 {
                for (t, s) in partial.iter_mut().zip(sc) {
                    *t = t.wrapping_add(*s);
                }
            } else {
                for (t, s) in partial.iter_mut().zip(sc) {
                    *t = t.wrapping_add(s.wrapping_mul(w));
                }
            }
        }
    }
}

impl Job for PassJob {
    fn chunks(&self) -> usize {
        match self.kind {
            PassKind::Filter { chunks, .. } | PassKind::Score { chunks, .. } => chunks,
        }
    }

    fn run_chunk(&self, c: usize) {
        let mut out = lock(&self.outs[c]);
        match self.kind {
            PassKind::Filter { .. } => self.filter_chunk(c, &mut out),
            PassKind::Score { .. } => self.score_chunk(&mut out),
        }
    }
}

/// The engine's parallelism: the thread count asked for, the helper (started
/// on first use) and the chunk buffers.
#[derive(Debug)]
pub struct Parallel {
    /// 1 = every pass on the calling thread; 2 (or more) = passes over at
    /// least `min_nodes` nodes are shared with one helper thread.
    pub threads: usize,
    /// The fewest nodes a pass must cover to be shared.
    pub min_nodes: usize,
    worker: Option<Worker>,
    spawn_failed: bool,
    /// Share every eligible pod instead of measuring which way is faster.
    pub always_share: bool,
    /// Eligible pods seen (see [`Parallel::begin`]).
    clock: u32,
    /// Moving averages of a pod's filter-and-score time per node walked,
    /// in ns, on one thread and shared.
    solo_ns: Option<f64>,
    shared_ns: Option<f64>,
    /// Counters since start: see [`ParallelStats`].
    pub stats: ParallelStats,
    /// One buffer per chunk.
    pub outs: Arc<[Mutex<ChunkOut>]>,
}

/// What the parallel passes did (for benchmarks and tuning).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParallelStats {
    /// Passes shared with the helper thread.
    pub shared_passes: u64,
    /// Chunks the helper ran in them.
    pub helper_chunks: u64,
    /// Total time the calling thread waited for the helper, in ns.
    pub waited_ns: u64,
    /// Total time the calling thread ran chunks of shared passes, in ns.
    pub own_ns: u64,
    /// Timed pods ([`Parallel::begin`]) whose passes were shared.
    pub shared_pods: u64,
    /// Timed pods that ran on one thread.
    pub solo_pods: u64,
}

/// Environment variable read by [`Parallel::from_env`]: the scheduler's
/// thread count (`1` turns the helper thread off).
pub const THREADS_ENV: &str = "KUBEMU_SCHED_THREADS";
/// Environment variable read by [`Parallel::from_env`]: the fewest nodes a
/// pass must cover to be shared.
pub const MIN_PARALLEL_NODES_ENV: &str = "KUBEMU_SCHED_MIN_PARALLEL_NODES";
/// Environment variable read by [`Parallel::from_env`]: `1` shares every
/// eligible pod (no measuring).
pub const ALWAYS_SHARE_ENV: &str = "KUBEMU_SCHED_ALWAYS_SHARE";
/// Eligible pods per cycle of [`Parallel::begin`]'s choice.
pub const CYCLE: u32 = 128;
/// Pods of each way measured at the start of a cycle.
pub const PROBE: u32 = 8;
/// How much faster (per node walked) shared pods must have been to share.
pub const SHARE_MARGIN: f64 = 0.9;

/// A pod's way ([`Parallel::begin`]) and the start of its timing.
#[derive(Clone, Copy, Debug)]
pub struct PodTiming {
    /// Share its passes with the helper.
    pub shared: bool,
    nodes: usize,
    t0: std::time::Instant,
}
/// Default of [`Parallel::min_nodes`]: below this many nodes a pass is
/// cheaper on one thread than the hand-over costs.
pub const DEFAULT_MIN_PARALLEL_NODES: usize = 1000;

impl Parallel {
    /// Threads: `KUBEMU_SCHED_THREADS` if set to a number ≥ 1, else the
    /// machine's available parallelism (1 when unknown). Threshold:
    /// `KUBEMU_SCHED_MIN_PARALLEL_NODES` if set to a number, else
    /// [`DEFAULT_MIN_PARALLEL_NODES`]. `KUBEMU_SCHED_ALWAYS_SHARE=1` sets
    /// [`Parallel::always_share`]. Anything else in them is ignored.
    pub fn from_env() -> Self {
        let threads = std::env::var(THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&t| t >= 1)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Self {
            threads,
            min_nodes: std::env::var(MIN_PARALLEL_NODES_ENV)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(DEFAULT_MIN_PARALLEL_NODES),
            worker: None,
            spawn_failed: false,
            always_share: std::env::var(ALWAYS_SHARE_ENV).is_ok_and(|v| v.trim() == "1"),
            clock: 0,
            solo_ns: None,
            shared_ns: None,
            stats: ParallelStats::default(),
            outs: (0..MAX_CHUNKS).map(|_| Mutex::default()).collect(),
        }
    }

    /// Whether a pass over `nodes` nodes may be shared: more than one
    /// thread, enough nodes, and a helper thread could be started.
    pub fn worth(&self, nodes: usize) -> bool {
        self.threads > 1 && nodes >= self.min_nodes.max(2) && !self.spawn_failed
    }

    /// For a pod whose filter pass over `nodes` nodes may be shared
    /// ([`Parallel::worth`]): whether to share its passes, and the start
    /// of its timing (for [`Parallel::end`]); None when it may not.
    ///
    /// Sharing pays only when the other CPU is free: on a busy machine
    /// the helper takes CPU time from the caller. So the choice is measured
    /// on the machine at hand, in cycles of [`CYCLE`] eligible pods: the
    /// first [`PROBE`] on one thread, the next [`PROBE`] shared, the rest
    /// shared only if the moving average of time per node walked shared
    /// is below [`SHARE_MARGIN`] times the one-thread average (timings on
    /// a busy machine are noisy; where sharing pays it pays by more).
    /// Decisions do not depend on it, only the time.
    pub fn begin(&mut self, nodes: usize) -> Option<PodTiming> {
        if !self.worth(nodes) {
            return None;
        }
        let k = self.clock % CYCLE;
        self.clock = self.clock.wrapping_add(1);
        let shared = if self.always_share {
            true
        } else if k < PROBE {
            false
        } else if k < 2 * PROBE {
            true
        } else {
            match (self.solo_ns, self.shared_ns) {
                (Some(solo), Some(shared)) => shared < solo * SHARE_MARGIN,
                _ => true,
            }
        };
        Some(PodTiming {
            shared,
            nodes,
            t0: std::time::Instant::now(),
        })
    }

    /// Records the time of a pod timed by [`Parallel::begin`] (its filter
    /// and score passes done).
    pub fn end(&mut self, t: PodTiming) {
        let ns = t.t0.elapsed().as_nanos() as f64 / t.nodes.max(1) as f64;
        let avg = if t.shared {
            &mut self.shared_ns
        } else {
            &mut self.solo_ns
        };
        *avg = Some(avg.map_or(ns, |a| a + (ns - a) / 4.0));
        if t.shared {
            self.stats.shared_pods += 1;
        } else {
            self.stats.solo_pods += 1;
        }
    }

    fn note(&mut self, t: RunTimes) {
        self.stats.shared_passes += 1;
        self.stats.helper_chunks += t.helper_chunks as u64;
        self.stats.waited_ns += t.waited.as_nanos() as u64;
        self.stats.own_ns += t.own.as_nanos() as u64;
    }

    /// Sets the thread count; 1 stops the helper thread.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
        if self.threads == 1 {
            self.worker = None;
        }
        self.spawn_failed = false;
        self.clock = 0;
        self.solo_ns = None;
        self.shared_ns = None;
    }

    /// Runs `job` on both threads (starting the helper if needed; on one
    /// thread if it cannot be started) and returns it.
    pub fn run(&mut self, job: PassJob) -> PassJob {
        if self.worker.is_none() && !self.spawn_failed {
            self.worker = Worker::spawn();
            self.spawn_failed = self.worker.is_none();
        }
        match &self.worker {
            Some(w) => {
                let (job, times) = w.run(job);
                self.note(times);
                job
            }
            None => {
                for c in 0..job.chunks() {
                    job.run_chunk(c);
                }
                job
            }
        }
    }
}
