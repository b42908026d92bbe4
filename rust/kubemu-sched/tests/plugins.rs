//! Per-plugin edge cases; expected scores computed by hand from upstream's formulas.

mod common;

use std::sync::Arc;

use common::*;
use kubemu_sched::framework::{Code, CycleState, Plugin, PreEnqueuePlugin, QueuedPod};
use kubemu_sched::plugins::node_resources_fit::{NodeResourcesFit, NodeResourcesFitArgs};
use kubemu_sched::plugins::*;
use kubemu_sched::{Cache, NodeInfo, PodInfo};
use serde_json::{json, Value};

fn cache_with(nodes: &[Value]) -> Cache {
    let mut c = Cache::new();
    for n in nodes {
        c.add_node(node(n));
    }
    c.prepare();
    c
}

fn info<'a>(c: &'a Cache, name: &str) -> &'a NodeInfo {
    c.get(name).unwrap()
}

fn filter(p: &dyn Plugin, pod: &PodInfo, n: &NodeInfo) -> Result<(), (Code, Vec<String>)> {
    p.as_filter()
        .unwrap()
        .filter(&CycleState::new(), pod, n)
        .map_err(|s| (s.code, s.reasons.iter().map(|r| r.to_string()).collect()))
}

fn with_tolerations(t: Value) -> Arc<PodInfo> {
    let mut d = pod_doc("p", None, None);
    set(&mut d, &["spec", "tolerations"], t);
    pod(&d)
}

fn tainted(name: &str, taints: Value) -> Value {
    let mut d = node_doc(name, "4", "32Gi", 110);
    set(&mut d, &["spec", "taints"], taints);
    d
}

#[test]
fn taint_effects_and_toleration_operators() {
    let tt = taint_toleration::TaintToleration;
    let c = cache_with(&[
        tainted(
            "ns",
            json!([{"key": "k", "value": "v", "effect": "NoSchedule"}]),
        ),
        tainted(
            "ne",
            json!([{"key": "k", "value": "v", "effect": "NoExecute"}]),
        ),
        tainted(
            "pref",
            json!([{"key": "k", "value": "v", "effect": "PreferNoSchedule"}]),
        ),
    ]);
    let none = with_tolerations(json!([]));
    let err = filter(&tt, &none, info(&c, "ns")).unwrap_err();
    assert_eq!(
        err,
        (
            Code::UnschedulableAndUnresolvable,
            vec!["node(s) had untolerated taint {k: v}".into()]
        )
    );
    assert!(filter(&tt, &none, info(&c, "ne")).is_err());
    assert!(
        filter(&tt, &none, info(&c, "pref")).is_ok(),
        "PreferNoSchedule never filters"
    );

    let cases = [
        (
            json!([{"key": "k", "operator": "Equal", "value": "v"}]),
            true,
        ),
        (json!([{"key": "k", "value": "v"}]), true),
        (
            json!([{"key": "k", "operator": "Equal", "value": "x"}]),
            false,
        ),
        (json!([{"key": "k", "operator": "Exists"}]), true),
        (json!([{"operator": "Exists"}]), true),
        (
            json!([{"operator": "Exists", "effect": "NoExecute"}]),
            false,
        ),
        (
            json!([{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]),
            true,
        ),
        (json!([{"key": "other", "operator": "Exists"}]), false),
        (
            json!([{"key": "k", "operator": "Bogus", "value": "v"}]),
            false,
        ),
        // Empty key with Equal compares only the value (upstream's function).
        (json!([{"operator": "Equal", "value": "v"}]), true),
    ];
    for (t, ok) in cases {
        let p = with_tolerations(t.clone());
        assert_eq!(filter(&tt, &p, info(&c, "ns")).is_ok(), ok, "{t}");
    }
}

#[test]
fn taint_score_counts_prefer_no_schedule_reversed() {
    let tt = taint_toleration::TaintToleration;
    let c = cache_with(&[
        tainted("zero", json!([])),
        tainted("one", json!([{"key": "a", "effect": "PreferNoSchedule"}])),
        tainted(
            "two",
            json!([{"key": "a", "effect": "PreferNoSchedule"}, {"key": "b", "effect": "PreferNoSchedule"}]),
        ),
        tainted("tol", json!([{"key": "t", "effect": "PreferNoSchedule"}])),
    ]);
    // A NoSchedule toleration does not count for PreferNoSchedule taints.
    let p = with_tolerations(
        json!([{"key": "t", "operator": "Exists", "effect": "NoSchedule"}, {"key": "a", "operator": "Exists"}]),
    );
    let sp = tt.as_score().unwrap();
    let st = CycleState::new();
    let mut s: Vec<i64> = ["zero", "one", "two", "tol"]
        .iter()
        .map(|n| sp.score(&st, &p, info(&c, n)).unwrap())
        .collect();
    assert_eq!(s, vec![0, 0, 1, 1]);
    sp.normalize_scores(&st, &p, &mut s).unwrap();
    assert_eq!(s, vec![100, 100, 0, 0]);
    let mut zeros = vec![0, 0];
    sp.normalize_scores(&st, &p, &mut zeros).unwrap();
    assert_eq!(zeros, vec![100, 100]);
}

#[test]
fn node_unschedulable_and_its_toleration() {
    let pl = node_unschedulable::NodeUnschedulable;
    let mut d = node_doc("n", "4", "32Gi", 110);
    set(&mut d, &["spec", "unschedulable"], json!(true));
    let c = cache_with(&[d]);
    let err = filter(&pl, &with_tolerations(json!([])), info(&c, "n")).unwrap_err();
    assert_eq!(err.1, vec!["node(s) were unschedulable".to_string()]);
    let tol = with_tolerations(
        json!([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]),
    );
    assert!(filter(&pl, &tol, info(&c, "n")).is_ok());
}

#[test]
fn node_name() {
    let pl = node_name::NodeName;
    let c = cache_with(&[node_doc("a", "1", "1Gi", 10), node_doc("b", "1", "1Gi", 10)]);
    let mut d = pod_doc("p", None, None);
    set(&mut d, &["spec", "nodeName"], json!("a"));
    let p = pod(&d);
    assert!(filter(&pl, &p, info(&c, "a")).is_ok());
    let e = filter(&pl, &p, info(&c, "b")).unwrap_err();
    assert_eq!(
        e,
        (
            Code::UnschedulableAndUnresolvable,
            vec!["node(s) didn't match the requested node name".into()]
        )
    );
}

fn labelled(name: &str, labels: Value) -> Value {
    let mut d = node_doc(name, "4", "32Gi", 110);
    set(&mut d, &["metadata", "labels"], labels);
    d
}

fn with_required(terms: Value) -> Arc<PodInfo> {
    let mut d = pod_doc("p", None, None);
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
}

#[test]
fn node_affinity_operators() {
    let na = node_affinity::NodeAffinity;
    let c = cache_with(&[labelled(
        "n",
        json!({"zone": "a", "cores": "8", "gen": "x"}),
    )]);
    let n = info(&c, "n");
    let expr = |key: &str, op: &str, values: Value| json!([{"matchExpressions": [{"key": key, "operator": op, "values": values}]}]);
    let cases = [
        (expr("zone", "In", json!(["a", "b"])), true),
        (expr("zone", "In", json!(["b"])), false),
        (expr("zone", "NotIn", json!(["b"])), true),
        (expr("zone", "NotIn", json!(["a"])), false),
        (expr("missing", "NotIn", json!(["a"])), true),
        (expr("zone", "Exists", json!([])), true),
        (expr("missing", "Exists", json!([])), false),
        (expr("missing", "DoesNotExist", json!([])), true),
        (expr("zone", "DoesNotExist", json!([])), false),
        (expr("cores", "Gt", json!(["4"])), true),
        (expr("cores", "Gt", json!(["8"])), false),
        (expr("cores", "Lt", json!(["9"])), true),
        (expr("gen", "Gt", json!(["1"])), false), // label not an integer
        (expr("cores", "Gt", json!(["x"])), false), // invalid term: dropped
        (expr("zone", "In", json!([])), false),   // invalid term: dropped
        (
            json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n"]}]}]),
            true,
        ),
        (
            json!([{"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n"]}]}]),
            false,
        ),
        (json!([{}]), false), // empty term selects nothing
        (json!([]), false),   // no terms: nothing
        // Terms are ORed; an invalid term does not spoil a valid one.
        (
            json!([{"matchExpressions": [{"key": "zone", "operator": "Gt", "values": ["z"]}]},
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]),
            true,
        ),
        // Expressions within a term are ANDed.
        (
            json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]},
                                      {"key": "gen", "operator": "In", "values": ["y"]}]}]),
            false,
        ),
    ];
    for (terms, ok) in cases {
        let r = filter(&na, &with_required(terms.clone()), n);
        assert_eq!(r.is_ok(), ok, "{terms}");
        if let Err(e) = r {
            assert_eq!(
                e,
                (
                    Code::UnschedulableAndUnresolvable,
                    vec!["node(s) didn't match Pod's node affinity/selector".into()]
                )
            );
        }
    }
    let mut d = pod_doc("p", None, None);
    set(&mut d, &["spec", "nodeSelector"], json!({"zone": "a"}));
    assert!(filter(&na, &pod(&d), n).is_ok());
    set(
        &mut d,
        &["spec", "nodeSelector"],
        json!({"zone": "a", "gen": "y"}),
    );
    assert!(filter(&na, &pod(&d), n).is_err());
}

#[test]
fn node_affinity_prefilter_node_names() {
    let na = node_affinity::NodeAffinity;
    let c = cache_with(&[]);
    let pf = na.as_pre_filter().unwrap();
    let mf = |names: Value| json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": names}]});
    let p = with_required(json!([mf(json!(["b"])), mf(json!(["a"]))]));
    let r = pf.pre_filter(&mut CycleState::new(), &p, &c).unwrap();
    assert_eq!(r.node_names, Some(vec!["a".into(), "b".into()]));
    // A term without a name requirement makes every node eligible.
    let p = with_required(
        json!([mf(json!(["b"])), {"matchExpressions": [{"key": "x", "operator": "Exists"}]}]),
    );
    assert_eq!(
        pf.pre_filter(&mut CycleState::new(), &p, &c)
            .unwrap()
            .node_names,
        None
    );
    // Conflicting requirements within a term.
    let p = with_required(json!([{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["a"]},
        {"key": "metadata.name", "operator": "In", "values": ["b"]}]}]));
    let e = pf.pre_filter(&mut CycleState::new(), &p, &c).unwrap_err();
    assert_eq!(
        (e.code, e.message()),
        (
            Code::UnschedulableAndUnresolvable,
            "pod affinity terms conflict".into()
        )
    );
    // Nothing to do without selector or required affinity.
    let e = pf
        .pre_filter(&mut CycleState::new(), &pod(&pod_doc("p", None, None)), &c)
        .unwrap_err();
    assert_eq!(e.code, Code::Skip);
}

#[test]
fn node_affinity_preferred_score() {
    let na = node_affinity::NodeAffinity;
    let c = cache_with(&[
        labelled("both", json!({"a": "1", "b": "1"})),
        labelled("a", json!({"a": "1"})),
        labelled("none", json!({})),
    ]);
    let mut d = pod_doc("p", None, None);
    set(
        &mut d,
        &[
            "spec",
            "affinity",
            "nodeAffinity",
            "preferredDuringSchedulingIgnoredDuringExecution",
        ],
        json!([
            {"weight": 3, "preference": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}},
            {"weight": 5, "preference": {"matchExpressions": [{"key": "b", "operator": "Exists"}]}},
            {"weight": 0, "preference": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}}
        ]),
    );
    let p = pod(&d);
    let sp = na.as_score().unwrap();
    let st = CycleState::new();
    let mut s: Vec<i64> = ["both", "a", "none"]
        .iter()
        .map(|n| sp.score(&st, &p, info(&c, n)).unwrap())
        .collect();
    assert_eq!(s, vec![8, 3, 0]);
    sp.normalize_scores(&st, &p, &mut s).unwrap();
    assert_eq!(s, vec![100, 37, 0]); // 3·100/8 = 37
}

fn with_ports(ports: Value) -> Value {
    let mut d = pod_doc("p", None, None);
    set(
        &mut d,
        &["spec", "containers"],
        json!([{"name": "c", "ports": ports}]),
    );
    set(&mut d, &["metadata", "uid"], json!(format!("uid-{ports}")));
    d
}

#[test]
fn host_ports_with_wildcard() {
    let np = node_ports::NodePorts;
    let cases = [
        // (in use, wanted, conflict)
        (json!({"hostPort": 80}), json!({"hostPort": 80}), true),
        (
            json!({"hostPort": 80}),
            json!({"hostPort": 80, "protocol": "UDP"}),
            false,
        ),
        (json!({"hostPort": 80}), json!({"hostPort": 81}), false),
        (
            json!({"hostPort": 80, "hostIP": "10.0.0.1"}),
            json!({"hostPort": 80, "hostIP": "10.0.0.2"}),
            false,
        ),
        (
            json!({"hostPort": 80, "hostIP": "10.0.0.1"}),
            json!({"hostPort": 80, "hostIP": "10.0.0.1"}),
            true,
        ),
        (
            json!({"hostPort": 80, "hostIP": "10.0.0.1"}),
            json!({"hostPort": 80}),
            true,
        ), // wanted wildcard
        (
            json!({"hostPort": 80, "hostIP": "0.0.0.0"}),
            json!({"hostPort": 80, "hostIP": "10.0.0.2"}),
            true,
        ),
        (json!({"hostPort": 80}), json!({"containerPort": 80}), false), // no host port
    ];
    for (used, want, conflict) in cases {
        let mut c = cache_with(&[node_doc("n", "4", "32Gi", 110)]);
        c.add_pod(pod(&with_ports(json!([used.clone()]))), "n");
        let p = pod(&with_ports(json!([want.clone()])));
        let r = filter(&np, &p, info(&c, "n"));
        assert_eq!(r.is_err(), conflict, "{used} vs {want}");
        if let Err(e) = r {
            assert_eq!(
                e,
                (
                    Code::Unschedulable,
                    vec!["node(s) didn't have free ports for the requested pod ports".into()]
                )
            );
        }
    }
    // Removing the pod frees the port.
    let mut c = cache_with(&[node_doc("n", "4", "32Gi", 110)]);
    let user = pod(&with_ports(json!([{"hostPort": 80}])));
    c.add_pod(user.clone(), "n");
    c.remove_pod(&user.key());
    assert!(info(&c, "n").used_ports().is_empty());
}

#[test]
fn resource_fit_filter() {
    let fit = NodeResourcesFit::new(NodeResourcesFitArgs::default()).unwrap();
    let mut nd = node_doc("n", "1", "1Gi", 2);
    set(
        &mut nd,
        &["status", "allocatable", "example.com/gpu"],
        json!(1),
    );
    let mut c = cache_with(&[nd]);
    c.add_pod(pod(&pod_doc("a", Some("600m"), Some("100Mi"))), "n");
    let n = info(&c, "n");
    assert!(filter(&fit, &pod(&pod_doc("p", Some("400m"), Some("924Mi"))), n).is_ok());
    let e = filter(&fit, &pod(&pod_doc("p", Some("401m"), Some("925Mi"))), n).unwrap_err();
    assert_eq!(
        e,
        (
            Code::Unschedulable,
            vec!["Insufficient cpu".into(), "Insufficient memory".into()]
        )
    );
    // Init containers count: max(init, sum) = 500m > 400m free.
    let mut d = pod_doc("p", Some("100m"), None);
    set(
        &mut d,
        &["spec", "initContainers"],
        json!([{"name": "i", "resources": {"requests": {"cpu": "500m"}}}]),
    );
    assert_eq!(
        filter(&fit, &pod(&d), n).unwrap_err().1,
        vec!["Insufficient cpu".to_string()]
    );
    // A sidecar's request adds to the containers': 300m + 200m > 400m.
    let mut d = pod_doc("p", Some("300m"), None);
    set(
        &mut d,
        &["spec", "initContainers"],
        json!([{"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "200m"}}}]),
    );
    assert!(filter(&fit, &pod(&d), n).is_err());
    // Extended resources.
    let g = |q: i64| {
        pod(
            &json!({"metadata": {"name": "g"}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"example.com/gpu": q, "example.org/fpga": 1}}}]}}),
        )
    };
    let e = filter(&fit, &g(2), n).unwrap_err().1;
    assert_eq!(
        e,
        vec![
            "Insufficient example.com/gpu".to_string(),
            "Insufficient example.org/fpga".to_string()
        ]
    );
    let ignoring = NodeResourcesFit::new(NodeResourcesFitArgs {
        ignored_resource_groups: vec!["example.org".into()],
        ..Default::default()
    })
    .unwrap();
    assert!(filter(&ignoring, &g(1), n).is_ok());
    // Pod count: 2 slots, one used, so a second pod fits and a third not.
    let mut c2 = cache_with(&[node_doc("m", "1", "1Gi", 2)]);
    c2.add_pod(pod(&pod_doc("a", None, None)), "m");
    assert!(filter(&fit, &pod(&pod_doc("b", None, None)), info(&c2, "m")).is_ok());
    c2.add_pod(pod(&pod_doc("b", None, None)), "m");
    let e = filter(&fit, &pod(&pod_doc("c", None, None)), info(&c2, "m")).unwrap_err();
    assert_eq!(e, (Code::Unschedulable, vec!["Too many pods".into()]));
}

fn fit_with(args: Value) -> Arc<dyn Plugin> {
    node_resources_fit::factory(kubemu_sched::framework::PluginArgs(Some(&msgpack(&args)))).unwrap()
}

fn score_of(p: &dyn Plugin, pod: &PodInfo, n: &NodeInfo) -> i64 {
    p.as_score()
        .unwrap()
        .score(&CycleState::new(), pod, n)
        .unwrap()
}

#[test]
fn resource_scores_by_hand() {
    let c = cache_with(&[
        node_doc("n", "4", "32Gi", 110),
        node_doc("s", "1", "1Gi", 110),
    ]);
    let p = pod(&pod_doc("p", Some("100m"), Some("500Mi")));
    // LeastAllocated: cpu (4000−100)·100/4000 = 97, mem (32Gi−500Mi)·100/32Gi = 98 → 195/2 = 97.
    let least = fit_with(json!({}));
    assert_eq!(score_of(&*least, &p, info(&c, "n")), 97);
    // MostAllocated on the small node, 250m/256Mi: 25, 25.
    let q = pod(&pod_doc("q", Some("250m"), Some("256Mi")));
    let most = fit_with(json!({"scoringStrategy": {"type": "MostAllocated"}}));
    assert_eq!(score_of(&*most, &q, info(&c, "s")), 25);
    // RequestedToCapacityRatio default shape {0:10,100:0}: 100 − 25 = 75.
    let rtcr = fit_with(json!({"scoringStrategy": {"type": "RequestedToCapacityRatio"}}));
    assert_eq!(score_of(&*rtcr, &q, info(&c, "s")), 75);
    // Custom shape {0:0, 100:10}, weights cpu 3, memory 1, mem over capacity → utilization 100:
    // cpu 25 → 25; mem → 100; round((25·3 + 100·1)/4) = round(43.75) = 44.
    let big = pod(&pod_doc("b", Some("250m"), Some("2Gi")));
    let rtcr2 = fit_with(
        json!({"scoringStrategy": {"type": "RequestedToCapacityRatio",
        "resources": [{"name": "cpu", "weight": 3}, {"name": "memory", "weight": 1}],
        "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}}),
    );
    assert_eq!(score_of(&*rtcr2, &big, info(&c, "s")), 44);
    // A pod without requests scores with 100m / 200Mi: cpu 90, mem (1024−200)·100/1024 = 80 → 85.
    assert_eq!(
        score_of(&*least, &pod(&pod_doc("e", None, None)), info(&c, "s")),
        85
    );
    // Bad args are rejected with the field named.
    let bad = node_resources_fit::factory(kubemu_sched::framework::PluginArgs(Some(&msgpack(
        &json!(
        {"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 0}]}}),
    ))));
    assert!(bad
        .err()
        .unwrap()
        .0
        .contains("scoringStrategy.resources[0].weight"));
}

#[test]
fn balanced_allocation_by_hand() {
    let ba = node_resources_balanced_allocation::factory(Default::default()).unwrap();
    let c = cache_with(&[node_doc("n", "4", "32Gi", 110)]);
    // cpu 100/4000 = 0.025, mem 500Mi/32Gi = 0.0152587890625; std = 0.00487…; (1−std)·100 = 99.5 → 99.
    let p = pod(&pod_doc("p", Some("100m"), Some("500Mi")));
    assert_eq!(score_of(&*ba, &p, info(&c, "n")), 99);
    // cpu 2000/4000 = 0.5, mem 0 → std 0.25 → 75.
    assert_eq!(
        score_of(&*ba, &pod(&pod_doc("p", Some("2"), None)), info(&c, "n")),
        75
    );
    // Best-effort pods are skipped at PreScore.
    let e = ba
        .as_pre_score()
        .unwrap()
        .pre_score(
            &mut CycleState::new(),
            &pod(&pod_doc("e", None, None)),
            &c,
            &[],
        )
        .unwrap_err();
    assert_eq!(e.code, Code::Skip);
}

#[test]
fn image_locality_by_hand() {
    let il = image_locality::ImageLocality;
    let mib = 1024 * 1024i64;
    let mut with = node_doc("with", "4", "32Gi", 110);
    set(
        &mut with,
        &["status", "images"],
        json!([{"names": ["nginx:1.0", "docker.io/nginx:1.0"], "sizeBytes": 500 * mib}]),
    );
    let mut tiny = node_doc("tiny", "4", "32Gi", 110);
    set(
        &mut tiny,
        &["status", "images"],
        json!([{"names": ["small:latest"], "sizeBytes": 10 * mib}]),
    );
    let c = cache_with(&[with, tiny]);
    let mut d = pod_doc("p", None, None);
    set(
        &mut d,
        &["spec", "containers"],
        json!([{"name": "c", "image": "nginx:1.0"}]),
    );
    let p = pod(&d);
    let mut st = CycleState::new();
    il.as_pre_score()
        .unwrap()
        .pre_score(&mut st, &p, &c, &[])
        .unwrap();
    let sp = il.as_score().unwrap();
    // 500Mi · 1/2 = 250Mi; 100·(250Mi − 23Mi)/(1000Mi − 23Mi) = 23.
    assert_eq!(sp.score(&st, &p, info(&c, "with")).unwrap(), 23);
    assert_eq!(sp.score(&st, &p, info(&c, "tiny")).unwrap(), 0);
    // "small" normalizes to "small:latest"; 10Mi·1/2 is below the 23Mi floor → 0.
    let mut d = pod_doc("p", None, None);
    set(
        &mut d,
        &["spec", "containers"],
        json!([{"name": "c", "image": "small"}]),
    );
    let p2 = pod(&d);
    let mut st2 = CycleState::new();
    il.as_pre_score()
        .unwrap()
        .pre_score(&mut st2, &p2, &c, &[])
        .unwrap();
    assert_eq!(sp.score(&st2, &p2, info(&c, "tiny")).unwrap(), 0);
    assert_eq!(image_locality::calculate_priority(2000 * mib, 1), 100);
}

fn qp(p: &PodInfo, t: i64) -> QueuedPod<'_> {
    QueuedPod {
        pod: p,
        timestamp: t,
    }
}

#[test]
fn priority_sort_and_gates() {
    let ps = priority_sort::PrioritySort;
    let hi = pod(&json!({"metadata": {"name": "h"}, "spec": {"priority": 10}}));
    let lo = pod(&json!({"metadata": {"name": "l"}, "spec": {"priority": 1}}));
    let q = ps.as_queue_sort().unwrap();
    assert!(q.less(&qp(&hi, 5), &qp(&lo, 1)));
    assert!(!q.less(&qp(&lo, 1), &qp(&hi, 5)));
    assert!(q.less(&qp(&lo, 1), &qp(&lo, 2)));
    let g = scheduling_gates::SchedulingGates;
    let gated = pod(
        &json!({"metadata": {"name": "g"}, "spec": {"schedulingGates": [{"name": "a"}, {"name": "b"}]}}),
    );
    let e = g.pre_enqueue(&gated).unwrap_err();
    assert_eq!(
        (e.code, e.message()),
        (
            Code::UnschedulableAndUnresolvable,
            "waiting for scheduling gates: [a b]".into()
        )
    );
    assert!(g.pre_enqueue(&lo).is_ok());
}
