//! The engine: sampling counts, round-robin, seeded selection, FitError, profiles, cache.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use kubemu_sched::engine::num_feasible_nodes_to_find;
use kubemu_sched::framework::{PluginSpec, PointConfig, ProfileConfig};
use kubemu_sched::{Profile, Registry, ScheduleError, Scheduler, SchedulerOptions};
use serde_json::json;

#[test]
fn adaptive_sampling_counts() {
    for (n, want) in [
        (50, 50),
        (99, 99),
        (100, 100),
        (150, 100),
        (1000, 420),
        (3125, 781),
        (5000, 500),
        (5750, 287),
        (10_000, 500),
        (15_000, 750),
        (20_000, 1000),
    ] {
        assert_eq!(num_feasible_nodes_to_find(0, n), want, "{n} nodes");
    }
    assert_eq!(num_feasible_nodes_to_find(100, 5000), 5000);
    assert_eq!(num_feasible_nodes_to_find(30, 5000), 1500);
    assert_eq!(num_feasible_nodes_to_find(1, 5000), 100);
}

fn cluster(s: &mut Scheduler, n: usize) {
    for i in 0..n {
        s.cache_mut()
            .add_node(node(&node_doc(&format!("node-{i}"), "4", "32Gi", 110)));
    }
}

#[test]
fn sampling_and_round_robin_at_5000_nodes() {
    let mut s = scheduler(1);
    cluster(&mut s, 5000);
    let r = s
        .schedule_one(&pod(&pod_doc("p0", Some("100m"), Some("500Mi"))))
        .unwrap();
    assert_eq!((r.evaluated_nodes, r.feasible_nodes), (500, 500));
    assert_eq!(s.next_start_node_index(), 500);
    // Scores cover exactly the sampled nodes node-0..node-499 in order.
    let names: Vec<_> = r
        .scores
        .unwrap()
        .iter()
        .map(|n| n.node.to_string())
        .collect();
    assert_eq!(names.first().map(String::as_str), Some("node-0"));
    assert_eq!(names.last().map(String::as_str), Some("node-499"));
    let r = s
        .schedule_one(&pod(&pod_doc("p1", Some("100m"), Some("500Mi"))))
        .unwrap();
    assert_eq!(r.evaluated_nodes, 500);
    assert_eq!(s.next_start_node_index(), 1000);
    // The first pod now weighs on its node: p1 lands elsewhere.
    assert_eq!(
        s.cache().pod_node("uid-p1").map(str::to_string),
        Some(r.node.to_string())
    );
}

#[test]
fn rejected_nodes_count_as_evaluated() {
    let mut s = scheduler(1);
    for i in 0..200 {
        let cpu = if i % 2 == 0 { "1" } else { "4" };
        s.cache_mut()
            .add_node(node(&node_doc(&format!("n{i:03}"), cpu, "32Gi", 110)));
    }
    // 200 nodes → 50 − 1 = 49% → 98 → at least 100 feasible; 2-cpu pods fit odd nodes only.
    let r = s
        .schedule_one(&pod(&pod_doc("p", Some("2"), None)))
        .unwrap();
    assert_eq!(r.feasible_nodes, 100);
    assert_eq!(r.evaluated_nodes, 200);
    assert_eq!(s.next_start_node_index(), 0);
}

#[test]
fn seeded_selection_is_deterministic() {
    let run = |seed| {
        let mut s = scheduler(seed);
        cluster(&mut s, 300);
        let pods: Vec<_> = (0..200)
            .map(|i| pod(&pod_doc(&format!("p{i}"), Some("100m"), Some("500Mi"))))
            .collect();
        s.schedule_batch(&pods)
            .into_iter()
            .map(|r| r.unwrap().node)
            .collect::<Vec<_>>()
    };
    let a = run(7);
    assert_eq!(a, run(7));
    assert_ne!(a, run(8), "ties are broken by the seed");
}

#[test]
fn highest_total_wins() {
    let mut s = scheduler(3);
    s.cache_mut()
        .add_node(node(&node_doc("big", "64", "256Gi", 110)));
    s.cache_mut()
        .add_node(node(&node_doc("small", "2", "4Gi", 110)));
    let r = s
        .schedule_one(&pod(&pod_doc("p", Some("1"), Some("1Gi"))))
        .unwrap();
    assert_eq!(&*r.node, "big");
    let scores = r.scores.unwrap();
    let big = scores.iter().find(|n| &*n.node == "big").unwrap();
    // TaintToleration 100·3 + NodeResourcesFit + Balanced + ImageLocality 0.
    assert_eq!(
        big.plugins
            .iter()
            .find(|p| p.0 == "TaintToleration")
            .unwrap()
            .1,
        300
    );
    assert_eq!(big.total, big.plugins.iter().map(|p| p.1).sum::<i64>());
}

#[test]
fn fit_error_message_shape() {
    let mut s = scheduler(1);
    for i in 0..5000 {
        let mut d = node_doc(&format!("n{i}"), "1", "32Gi", 110);
        if i < 3 {
            set(&mut d, &["metadata", "labels", "zone"], json!("a"));
        }
        s.cache_mut().add_node(node(&d));
    }
    let mut d = pod_doc("p", Some("2"), None);
    set(&mut d, &["spec", "nodeSelector"], json!({"zone": "a"}));
    let Err(ScheduleError::Fit(e)) = s.schedule_one(&pod(&d)) else {
        panic!("must not fit")
    };
    assert_eq!(
        e.to_string(),
        "0/5000 nodes are available: 3 Insufficient cpu, 4997 node(s) didn't match Pod's node affinity/selector. \
         preemption: 0/5000 nodes are available: 3 No preemption victims found for incoming pod, \
         4997 Preemption is not helpful for scheduling.."
    );
    assert_eq!(e.node_statuses.len(), 5000);
    // Entries sort as strings, as upstream's sort.Strings does ("10 …" before "9 …").
    let e2 = kubemu_sched::FitError {
        num_all_nodes: 19,
        pre_filter_msg: None,
        reasons: HashMap::from([("b".to_string(), 9), ("a".to_string(), 10)]),
        node_statuses: vec![],
        post_filter: None,
    };
    assert_eq!(e2.to_string(), "0/19 nodes are available: 10 a, 9 b.");
}

#[test]
fn prefilter_rejections_and_node_name_subsets() {
    let mut s = scheduler(1);
    cluster(&mut s, 10);
    let mf = |names: serde_json::Value| json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": names}]});
    let with_terms = |terms| {
        let mut d = pod_doc("p", Some("100m"), None);
        set(
            &mut d,
            &[
                "spec",
                "affinity",
                "nodeAffinity",
                "requiredDuringSchedulingIgnoredDuringExecution",
            ],
            json!({"nodeSelectorTerms": terms}),
        );
        pod(&d)
    };
    let r = s
        .schedule_one(&with_terms(json!([mf(json!(["node-7"]))])))
        .unwrap();
    assert_eq!((&*r.node, r.evaluated_nodes), ("node-7", 1));
    let conflict = with_terms(json!([{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["node-1"]},
        {"key": "metadata.name", "operator": "In", "values": ["node-2"]}]}]));
    let Err(ScheduleError::Fit(e)) = s.schedule_one(&conflict) else {
        panic!()
    };
    assert_eq!(
        e.to_string(),
        "0/10 nodes are available: pod affinity terms conflict. \
         preemption: 0/10 nodes are available: 10 Preemption is not helpful for scheduling.."
    );
    // The subset's nodes fail Fit; the others count as absent. (One name per
    // term: `metadata.name In` with several values is invalid for Filter.)
    let mut d = pod_doc("p", Some("100"), None);
    let terms = json!([
        mf(json!(["node-1"])),
        mf(json!(["node-2"])),
        mf(json!(["gone"]))
    ]);
    set(
        &mut d,
        &[
            "spec",
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
        ],
        json!({"nodeSelectorTerms": terms}),
    );
    let Err(ScheduleError::Fit(e)) = s.schedule_one(&pod(&d)) else {
        panic!()
    };
    assert_eq!(
        e.to_string(),
        "0/10 nodes are available: 2 Insufficient cpu, 8 node(s) didn't satisfy plugin(s) [NodeAffinity]. \
         preemption: 0/10 nodes are available: 2 No preemption victims found for incoming pod, \
         8 Preemption is not helpful for scheduling.."
    );
    let mut empty = scheduler(1);
    assert_eq!(
        empty.schedule_one(&pod(&pod_doc("p", None, None))),
        Err(ScheduleError::NoNodesAvailable)
    );
}

#[test]
fn assumed_pods_fill_nodes() {
    let mut s = scheduler(1);
    s.cache_mut()
        .add_node(node(&node_doc("a", "1", "32Gi", 110)));
    s.cache_mut()
        .add_node(node(&node_doc("b", "1", "32Gi", 110)));
    let pods: Vec<_> = (0..5)
        .map(|i| pod(&pod_doc(&format!("p{i}"), Some("500m"), None)))
        .collect();
    let res = s.schedule_batch(&pods);
    assert_eq!(res.iter().filter(|r| r.is_ok()).count(), 4);
    let Err(ScheduleError::Fit(e)) = &res[4] else {
        panic!()
    };
    assert_eq!(
        e.to_string(),
        "0/2 nodes are available: 2 Insufficient cpu. \
         preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."
    );
    assert_eq!(s.cache().get("a").unwrap().requested.milli_cpu, 1000);
    // Deleting a pod frees room.
    assert!(s.cache_mut().remove_pod("uid-p0"));
    assert!(s.schedule_one(&pods[4]).is_ok());
}

#[test]
fn node_order_interleaves_zones() {
    let mut s = scheduler(1);
    for (name, zone) in [
        ("a1", "a"),
        ("a2", "a"),
        ("a3", "a"),
        ("b1", "b"),
        ("c1", "c"),
        ("b2", "b"),
    ] {
        let mut d = node_doc(name, "4", "32Gi", 110);
        set(
            &mut d,
            &["metadata", "labels", "topology.kubernetes.io/zone"],
            json!(zone),
        );
        s.cache_mut().add_node(node(&d));
    }
    s.cache_mut().prepare();
    let c = s.cache();
    let order: Vec<_> = c
        .order()
        .iter()
        .map(|&i| c.info(i).name().to_string())
        .collect();
    assert_eq!(order, ["a1", "b1", "c1", "a2", "b2", "a3"]);
    let g = c.generation();
    assert!(s.cache_mut().remove_node("b1"));
    assert!(s.cache().generation() > g);
    s.cache_mut().prepare();
    let c = s.cache();
    let order: Vec<_> = c
        .order()
        .iter()
        .map(|&i| c.info(i).name().to_string())
        .collect();
    assert_eq!(order, ["a1", "b2", "c1", "a2", "a3"]);
}

#[test]
fn image_counts_follow_node_updates() {
    let mut s = scheduler(1);
    let with_img = |name: &str, img: bool| {
        let mut d = node_doc(name, "4", "32Gi", 110);
        if img {
            set(
                &mut d,
                &["status", "images"],
                json!([{"names": ["x:1"], "sizeBytes": 100}]),
            );
        }
        node(&d)
    };
    s.cache_mut().add_node(with_img("a", true));
    s.cache_mut().add_node(with_img("b", true));
    let id = s.cache().image_id("x:1").unwrap();
    assert_eq!(s.cache().image_state(id).num_nodes, 2);
    s.cache_mut().add_node(with_img("b", false));
    assert_eq!(s.cache().image_state(id).num_nodes, 1);
    s.cache_mut().remove_node("a");
    assert_eq!(s.cache().image_state(id).num_nodes, 0);
    // A node removed while pods remain keeps them accounted until they go.
    s.cache_mut()
        .add_pod(pod(&pod_doc("p", Some("1"), None)), "b");
    s.cache_mut().remove_node("b");
    assert!(s.cache().get("b").is_none());
    assert_eq!(s.cache().pod_node("uid-p"), Some("b"));
    s.cache_mut().add_node(with_img("b", false));
    assert_eq!(s.cache().get("b").unwrap().requested.milli_cpu, 1000);
}

#[test]
fn profiles_expand_multi_point_and_validate() {
    let p = Profile::default_profile();
    assert_eq!(
        p.plugin_names("filter"),
        [
            "NodeUnschedulable",
            "NodeName",
            "TaintToleration",
            "NodeAffinity",
            "NodePorts",
            "NodeResourcesFit",
            "PodTopologySpread",
            "InterPodAffinity"
        ]
    );
    assert_eq!(
        p.plugin_names("score"),
        [
            "TaintToleration",
            "NodeAffinity",
            "NodeResourcesFit",
            "PodTopologySpread",
            "InterPodAffinity",
            "NodeResourcesBalancedAllocation",
            "ImageLocality"
        ]
    );
    assert_eq!(p.weight("PodTopologySpread"), Some(2));
    assert_eq!(p.weight("InterPodAffinity"), Some(2));
    assert_eq!(p.plugin_names("queueSort"), ["PrioritySort"]);
    assert_eq!(p.plugin_names("preEnqueue"), ["SchedulingGates"]);
    assert_eq!(p.weight("TaintToleration"), Some(3));
    assert_eq!(p.weight("ImageLocality"), Some(1));

    // Disable ImageLocality's score, override Fit's weight and move it first.
    let mut cfg = Profile::default_config();
    cfg.points.insert(
        "score".into(),
        PointConfig {
            enabled: vec![PluginSpec::new("NodeResourcesFit", 5)],
            disabled: vec!["ImageLocality".into()],
        },
    );
    let p = Profile::build(&cfg, &Registry::in_tree()).unwrap();
    assert_eq!(
        p.plugin_names("score"),
        [
            "NodeResourcesFit",
            "TaintToleration",
            "NodeAffinity",
            "PodTopologySpread",
            "InterPodAffinity",
            "NodeResourcesBalancedAllocation"
        ]
    );
    assert_eq!(p.weight("NodeResourcesFit"), Some(5));

    let bad = ProfileConfig {
        multi_point: vec![PluginSpec::new("Nope", 1)],
        ..ProfileConfig::default()
    };
    assert!(Profile::build(&bad, &Registry::in_tree())
        .unwrap_err()
        .0
        .contains("Nope"));
    let mut bad_point = Profile::default_config();
    bad_point.points.insert(
        "filter".into(),
        PointConfig {
            enabled: vec![PluginSpec::new("ImageLocality", 0)],
            disabled: vec![],
        },
    );
    assert!(Profile::build(&bad_point, &Registry::in_tree()).is_err());

    // Full scan with percentageOfNodesToScore = 100.
    let mut s = Scheduler::new(
        Profile::default_profile(),
        SchedulerOptions {
            percentage_of_nodes_to_score: 100,
            ..Default::default()
        },
    );
    cluster(&mut s, 1000);
    let r = s
        .schedule_one(&Arc::clone(&pod(&pod_doc("p", None, None))))
        .unwrap();
    assert_eq!(r.feasible_nodes, 1000);
}
