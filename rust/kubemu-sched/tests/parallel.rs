//! The passes shared with the helper thread (`Scheduler::set_threads`)
//! decide exactly as one thread does: the same nodes, scores, FitErrors
//! (reasons and per-node statuses), plugin errors and round-robin start,
//! pod after pod, on a varied cluster and with every sampling mode.

mod common;

use std::sync::Arc;

use kubemu_sched::framework::{
    CycleState, FilterPlugin, Plugin, PluginArgs, PluginSpec, ScorePlugin, Status,
};
use kubemu_sched::{
    NodeInfo, PodInfo, Profile, Registry, ScheduleError, ScheduleResult, Scheduler,
    SchedulerOptions,
};
use serde_json::json;

use common::{node, pod};

/// Fails (`Code::Error`) on nodes labelled `err` for pods labelled
/// `filter-err`, and scores nodes by the last digit of their name (no
/// NormalizeScore), failing on `err` nodes for pods labelled `score-err`
/// and giving 1000 (out of range) to nodes whose name ends in 7 for pods
/// labelled `score-big`.
#[derive(Debug)]
struct Flaky;

impl Plugin for Flaky {
    fn name(&self) -> &'static str {
        "Flaky"
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl FilterPlugin for Flaky {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        if pod.labels.get("filter-err").is_some() && node.node().labels.get("err").is_some() {
            return Err(Status::error(format!("boom on {}", node.name())));
        }
        Ok(())
    }
}

impl ScorePlugin for Flaky {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        if pod.labels.get("score-err").is_some() && node.node().labels.get("err").is_some() {
            return Err(Status::error(format!("no score for {}", node.name())));
        }
        let digit = node
            .name()
            .bytes()
            .last()
            .map_or(0, |b| i64::from(b - b'0'));
        if pod.labels.get("score-big").is_some() && digit == 7 {
            return Ok(1000);
        }
        Ok(digit)
    }

    fn normalizes(&self) -> bool {
        false
    }
}

fn flaky(_: PluginArgs<'_>) -> Result<Arc<dyn Plugin>, kubemu_sched::framework::ConfigError> {
    Ok(Arc::new(Flaky))
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn build(pct: i32, threads: usize, with_flaky: bool, nodes: usize, record: bool) -> Scheduler {
    let mut cfg = Profile::default_config();
    let mut reg = Registry::in_tree();
    if with_flaky {
        reg.register("Flaky", flaky).unwrap();
        cfg.multi_point.push(PluginSpec::new("Flaky", 2));
    }
    let mut s = Scheduler::new(
        Profile::build(&cfg, &reg).unwrap(),
        SchedulerOptions {
            seed: 11,
            record_scores: record,
            percentage_of_nodes_to_score: pct,
        },
    );
    s.set_threads(threads);
    s.set_min_parallel_nodes(2);
    s.set_always_share(true);
    let mut r = Lcg(5);
    for i in 0..nodes {
        let mut taints = Vec::new();
        match r.next(8) {
            0 => taints.push(json!({"key": "soft", "value": "x", "effect": "PreferNoSchedule"})),
            1 => taints.push(json!({"key": "hard", "value": "y", "effect": "NoSchedule"})),
            _ => {}
        }
        let mut labels = json!({"kubernetes.io/hostname": format!("node-{i}"),
            "topology.kubernetes.io/zone": format!("zone-{}", i % 3), "tier": format!("t{}", r.next(3))});
        if r.next(7) == 0 {
            labels["err"] = json!("1");
        }
        let doc = json!({"metadata": {"name": format!("node-{i}"), "labels": labels},
            "spec": {"taints": taints, "unschedulable": r.next(40) == 0},
            "status": {"allocatable": {"cpu": format!("{}", 1 + r.next(4)),
                "memory": format!("{}Gi", 1 + r.next(8)), "pods": format!("{}", 3 + r.next(12))},
                "images": [{"names": ["big:1"], "sizeBytes": 400_000_000}]}});
        s.cache_mut().add_node(node(&doc));
    }
    s
}

fn pods(count: usize, errors: bool) -> Vec<Arc<PodInfo>> {
    let mut r = Lcg(9);
    (0..count)
        .map(|i| {
            let mut labels = json!({"app": format!("a{}", r.next(3))});
            if errors && r.next(25) == 0 {
                labels["filter-err"] = json!("1");
            }
            if errors && r.next(25) == 0 {
                labels["score-err"] = json!("1");
            }
            if errors && r.next(25) == 0 {
                labels["score-big"] = json!("1");
            }
            let mut spec = json!({"containers": [{"name": "c",
                "image": if r.next(2) == 0 { "big:1" } else { "pause:1" },
                "resources": {"requests": {"cpu": format!("{}m", 100 * (1 + r.next(12))),
                    "memory": format!("{}Mi", 256 * (1 + r.next(12)))}}}]});
            if r.next(4) == 0 {
                spec["tolerations"] = json!([{"key": "soft", "operator": "Exists"}]);
            }
            if r.next(6) == 0 {
                spec["nodeSelector"] = json!({"tier": format!("t{}", r.next(3))});
            }
            if r.next(5) == 0 {
                spec["affinity"] = json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1 + r.next(50), "preference": {"matchExpressions": [
                        {"key": "tier", "operator": "In", "values": [format!("t{}", r.next(3))]}]}}]}});
            }
            if r.next(6) == 0 {
                spec["topologySpreadConstraints"] = json!([{"maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": if r.next(2) == 0 { "DoNotSchedule" } else { "ScheduleAnyway" },
                    "labelSelector": {"matchLabels": {"app": labels["app"].clone()}}}]);
            }
            if r.next(8) == 0 {
                spec["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "kubernetes.io/hostname",
                     "labelSelector": {"matchLabels": {"app": labels["app"].clone()}}}]}});
            }
            let doc = json!({"metadata": {"name": format!("pod-{i}"), "namespace": "default",
                "uid": format!("uid-{i}"), "labels": labels}, "spec": spec});
            pod(&doc)
        })
        .collect()
}

type Outcome = (Result<ScheduleResult, ScheduleError>, usize);

fn run(s: &mut Scheduler, pods: &[Arc<PodInfo>]) -> Vec<Outcome> {
    pods.iter()
        .map(|p| (s.schedule_one(p), s.next_start_node_index()))
        .collect()
}

fn compare(pct: i32, with_flaky: bool, nodes: usize, count: usize) {
    // Without recorded scores, the scores of plugins without
    // NormalizeScore are summed per chunk.
    for record in [true, false] {
        compare_once(pct, with_flaky, nodes, count, record);
    }
}

fn compare_once(pct: i32, with_flaky: bool, nodes: usize, count: usize, record: bool) {
    let pods = pods(count, with_flaky);
    let mut one = build(pct, 1, with_flaky, nodes, record);
    let mut two = build(pct, 2, with_flaky, nodes, record);
    let a = run(&mut one, &pods);
    let b = run(&mut two, &pods);
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "pod {k} at pct {pct}, record_scores {record}");
    }
    assert_eq!(one.parallel_stats().shared_passes, 0);
    assert!(
        two.parallel_stats().shared_passes > 0,
        "the helper was used"
    );
    // The cases are not trivial: pods land, some fit nowhere, and (with
    // the flaky plugin) some attempts fail in Filter or Score.
    let ok = a.iter().filter(|(r, _)| r.is_ok()).count();
    let fit = a
        .iter()
        .filter(|(r, _)| matches!(r, Err(ScheduleError::Fit(_))))
        .count();
    let plugin = a
        .iter()
        .filter(|(r, _)| matches!(r, Err(ScheduleError::Plugin { .. })))
        .count();
    assert!(ok > count / 4, "{ok} scheduled");
    assert!(fit > 0, "no FitError");
    let invalid = a
        .iter()
        .filter(|(r, _)| {
            matches!(r, Err(ScheduleError::Plugin { message, .. }) if message.contains("invalid score"))
        })
        .count();
    assert_eq!(plugin > invalid, with_flaky, "{plugin} plugin errors");
    assert_eq!(invalid > 0, with_flaky, "{invalid} invalid scores");
}

#[test]
fn all_nodes_decisions_match_one_thread() {
    compare(100, false, 240, 700);
}

#[test]
fn plugin_errors_match_one_thread() {
    compare(100, true, 240, 500);
}

#[test]
fn sampled_walks_match_one_thread() {
    // 50% of 240 nodes: the shared pass covers the first 120 positions,
    // the walk goes on alone when they hold too few feasible nodes.
    compare(50, false, 240, 700);
    compare(50, true, 240, 400);
}

#[test]
fn adaptive_sampling_matches_one_thread() {
    compare(0, false, 300, 600);
}

#[test]
fn threads_can_be_turned_off_and_on() {
    let pods = pods(50, false);
    let mut s = build(100, 2, false, 200, false);
    let mut reference = build(100, 1, false, 200, false);
    assert_eq!(s.threads(), 2);
    let a = run(&mut s, &pods[..20]);
    s.set_threads(1);
    assert_eq!(s.threads(), 1);
    let passes = s.parallel_stats().shared_passes;
    let b = run(&mut s, &pods[20..35]);
    assert_eq!(s.parallel_stats().shared_passes, passes);
    s.set_threads(2);
    let c = run(&mut s, &pods[35..]);
    assert!(s.parallel_stats().shared_passes > passes);
    let all: Vec<Outcome> = a.into_iter().chain(b).chain(c).collect();
    assert_eq!(all, run(&mut reference, &pods));
}
