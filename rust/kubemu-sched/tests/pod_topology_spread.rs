//! PodTopologySpread: hand-computed skew, minDomains, missing keys, soft
//! scores, system defaults, incremental updates, and an engine run.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use kubemu_sched::framework::{Code, CycleState, Plugin};
use kubemu_sched::model::WhenUnsatisfiable;
use kubemu_sched::plugins::pod_topology_spread::{
    self, PodTopologySpread, PodTopologySpreadArgs, ERR_REASON_CONSTRAINTS_NOT_MATCH,
    ERR_REASON_NODE_LABEL_NOT_MATCH,
};
use kubemu_sched::{Cache, NodeInfo, PodInfo};
use serde_json::{json, Value};

fn znode(name: &str, zone: Option<&str>) -> Value {
    let mut d = node_doc(name, "4", "32Gi", 110);
    if let Some(z) = zone {
        set(
            &mut d,
            &["metadata", "labels", "topology.kubernetes.io/zone"],
            json!(z),
        );
    }
    d
}

fn lpod(name: &str, labels: Value) -> Value {
    let mut d = pod_doc(name, Some("100m"), Some("100Mi"));
    set(&mut d, &["metadata", "labels"], labels);
    d
}

fn spread(name: &str, constraints: Value) -> Arc<PodInfo> {
    let mut d = lpod(name, json!({"app": "x"}));
    set(&mut d, &["spec", "topologySpreadConstraints"], constraints);
    pod(&d)
}

fn zone_constraint(max_skew: i32, when: &str, extra: Value) -> Value {
    let mut c = json!({"maxSkew": max_skew, "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": when, "labelSelector": {"matchLabels": {"app": "x"}}});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            c[k] = v;
        }
    }
    c
}

/// A cache with `nodes` and `pods_on` = (node, count) pods labelled app=x.
fn cluster(nodes: &[Value], pods_on: &[(&str, usize)]) -> Cache {
    let mut c = Cache::new();
    for n in nodes {
        c.add_node(node(n));
    }
    let mut k = 0;
    for (n, count) in pods_on {
        for _ in 0..*count {
            c.add_pod(pod(&lpod(&format!("e{k}"), json!({"app": "x"}))), n);
            k += 1;
        }
    }
    c.prepare();
    c
}

fn filter_all(
    pl: &PodTopologySpread,
    c: &Cache,
    p: &PodInfo,
) -> HashMap<String, Result<(), (Code, String)>> {
    let mut state = CycleState::new();
    pl.as_pre_filter()
        .unwrap()
        .pre_filter(&mut state, p, c)
        .unwrap();
    c.order()
        .iter()
        .map(|&i| {
            let info = c.info(i);
            let r = pl
                .as_filter()
                .unwrap()
                .filter(&state, p, info)
                .map_err(|s| (s.code, s.message()));
            (info.name().to_string(), r)
        })
        .collect()
}

fn scores(pl: &PodTopologySpread, c: &Cache, p: &PodInfo) -> Vec<(String, i64)> {
    let mut state = CycleState::new();
    let nodes: Vec<&NodeInfo> = c.order().iter().map(|&i| c.info(i)).collect();
    pl.as_pre_score()
        .unwrap()
        .pre_score(&mut state, p, c, &nodes)
        .unwrap();
    let sp = pl.as_score().unwrap();
    let mut s: Vec<i64> = nodes
        .iter()
        .map(|n| sp.score(&state, p, n).unwrap())
        .collect();
    sp.normalize_scores(&state, p, &mut s).unwrap();
    nodes.iter().map(|n| n.name().to_string()).zip(s).collect()
}

fn by_name(v: Vec<(String, i64)>) -> HashMap<String, i64> {
    v.into_iter().collect()
}

#[test]
fn skew_and_min_domains() {
    let pl = PodTopologySpread::default();
    let nodes = [znode("n1", Some("a")), znode("n2", Some("b"))];
    // a:2, b:0 → n1: 2+1−0 = 3 > 1; n2: 0+1−0 = 1.
    let c = cluster(&nodes, &[("n1", 2)]);
    let p = spread("p", json!([zone_constraint(1, "DoNotSchedule", json!({}))]));
    let r = filter_all(&pl, &c, &p);
    assert_eq!(
        r["n1"],
        Err((
            Code::Unschedulable,
            ERR_REASON_CONSTRAINTS_NOT_MATCH.to_string()
        ))
    );
    assert_eq!(r["n2"], Ok(()));

    // a:2, b:1 → min 1: n1: 2+1−1 = 2 > 1 fails; n2: 1+1−1 = 1 fits.
    let c = cluster(&nodes, &[("n1", 2), ("n2", 1)]);
    let r = filter_all(&pl, &c, &p);
    assert!(r["n1"].is_err());
    assert_eq!(r["n2"], Ok(()));
    // minDomains 3 with 2 domains → global min 0: n2: 1+1−0 = 2 > 1 fails too.
    let p3 = spread(
        "p",
        json!([zone_constraint(
            1,
            "DoNotSchedule",
            json!({"minDomains": 3})
        )]),
    );
    let r = filter_all(&pl, &c, &p3);
    assert!(r["n1"].is_err() && r["n2"].is_err());
    // minDomains 2 is met: back to min 1.
    let p2 = spread(
        "p",
        json!([zone_constraint(
            1,
            "DoNotSchedule",
            json!({"minDomains": 2})
        )]),
    );
    assert_eq!(filter_all(&pl, &c, &p2)["n2"], Ok(()));

    // A pod that does not match its own selector adds no self-match:
    // n1: 2+0−1 = 1 fits.
    let mut d = lpod("other", json!({"app": "y"}));
    set(
        &mut d,
        &["spec", "topologySpreadConstraints"],
        json!([zone_constraint(1, "DoNotSchedule", json!({}))]),
    );
    assert_eq!(filter_all(&pl, &c, &pod(&d))["n1"], Ok(()));
}

#[test]
fn missing_topology_key_and_node_affinity_policy() {
    let pl = PodTopologySpread::default();
    let mut n3 = znode("n3", Some("c"));
    set(&mut n3, &["metadata", "labels", "tier"], json!("other"));
    let c = cluster(
        &[znode("n1", Some("a")), znode("n2", None), n3],
        &[("n1", 1), ("n2", 5)],
    );
    let p = spread("p", json!([zone_constraint(1, "DoNotSchedule", json!({}))]));
    let r = filter_all(&pl, &c, &p);
    assert_eq!(
        r["n2"],
        Err((
            Code::UnschedulableAndUnresolvable,
            ERR_REASON_NODE_LABEL_NOT_MATCH.to_string()
        ))
    );
    // Domains a:1, c:0 (n2's pods are not counted: no zone) → n1: 1+1−0 = 2 > 1.
    assert!(r["n1"].is_err());
    assert_eq!(r["n3"], Ok(()));

    // With a nodeSelector excluding n3, domain c is not counted (Honor):
    // min becomes 1 (only a) → n1: 1+1−1 = 1 fits.
    let mut d = lpod("p", json!({"app": "x"}));
    set(
        &mut d,
        &["spec", "topologySpreadConstraints"],
        json!([zone_constraint(1, "DoNotSchedule", json!({}))]),
    );
    set(
        &mut d,
        &["spec", "affinity", "nodeAffinity"],
        json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}]}}),
    );
    let honor = pod(&d);
    assert_eq!(filter_all(&pl, &c, &honor)["n1"], Ok(()));
    // nodeAffinityPolicy Ignore counts c again.
    set(
        &mut d,
        &["spec", "topologySpreadConstraints"],
        json!([zone_constraint(
            1,
            "DoNotSchedule",
            json!({"nodeAffinityPolicy": "Ignore"})
        )]),
    );
    assert!(filter_all(&pl, &c, &pod(&d))["n1"].is_err());
}

#[test]
fn match_label_keys_merge_into_selector() {
    let pl = PodTopologySpread::default();
    let nodes = [znode("n1", Some("a")), znode("n2", Some("b"))];
    let mut c = cluster(&nodes, &[]);
    // Two pods of revision 1 in zone a; the incoming pod is revision 2.
    for i in 0..2 {
        c.add_pod(
            pod(&lpod(&format!("r1-{i}"), json!({"app": "x", "rev": "1"}))),
            "n1",
        );
    }
    let mut d = lpod("p", json!({"app": "x", "rev": "2"}));
    set(
        &mut d,
        &["spec", "topologySpreadConstraints"],
        json!([zone_constraint(
            1,
            "DoNotSchedule",
            json!({"matchLabelKeys": ["rev"]})
        )]),
    );
    // Only rev=2 pods count: a:0, b:0 → both fit.
    let r = filter_all(&pl, &c, &pod(&d));
    assert_eq!(r["n1"], Ok(()));
    assert_eq!(r["n2"], Ok(()));
}

#[test]
fn schedule_anyway_scores() {
    let pl = PodTopologySpread::default();
    let nodes = [
        znode("n1", Some("a")),
        znode("n2", Some("a")),
        znode("n3", Some("b")),
    ];
    let c = cluster(&nodes, &[("n1", 2), ("n2", 1)]);
    // Zone only: 2 domains → w = ln 4 = 1.386; a has 3 pods:
    // n1 = n2 = round(3·1.386) = 4, n3 = 0 → normalized 0, 0, 100.
    let p = spread(
        "p",
        json!([zone_constraint(1, "ScheduleAnyway", json!({}))]),
    );
    let s = by_name(scores(&pl, &c, &p));
    assert_eq!((s["n1"], s["n2"], s["n3"]), (0, 0, 100));
    // The hard constraint is absent: PreFilter skips.
    let mut state = CycleState::new();
    let st = pl.as_pre_filter().unwrap().pre_filter(&mut state, &p, &c);
    assert_eq!(st.unwrap_err().code, Code::Skip);

    // Plus hostname maxSkew 2: 3 nodes → w = ln 5 = 1.609;
    // n1 = 3·1.386 + 2·1.609 + 1 = 8.378 → 8; n2 = 4.159 + 1.609 + 1 = 6.768 → 7;
    // n3 = 0 + 0 + 1 = 1. max 8, min 1: 100·(9−s)/8 → 12, 25, 100.
    let host = json!({"maxSkew": 2, "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "x"}}});
    let p = spread(
        "p",
        json!([zone_constraint(1, "ScheduleAnyway", json!({})), host]),
    );
    let s = by_name(scores(&pl, &c, &p));
    assert_eq!((s["n1"], s["n2"], s["n3"]), (12, 25, 100));

    // A node without the zone label is ignored (score 0) for explicit
    // constraints and does not widen the domain count.
    let c = cluster(
        &[
            znode("n1", Some("a")),
            znode("n2", Some("b")),
            znode("n3", None),
        ],
        &[("n1", 1), ("n3", 4)],
    );
    let p = spread(
        "p",
        json!([zone_constraint(1, "ScheduleAnyway", json!({}))]),
    );
    // w = ln 4; n1 = round(1.386) = 1, n2 = 0 → max 1, min 0: 0, 100; n3 → 0.
    let s = by_name(scores(&pl, &c, &p));
    assert_eq!((s["n1"], s["n2"], s["n3"]), (0, 100, 0));
}

fn owned(name: &str, labels: Value, kind: &str) -> Value {
    let mut d = lpod(name, labels);
    set(
        &mut d,
        &["metadata", "ownerReferences"],
        json!([{"apiVersion": "apps/v1", "kind": kind, "name": "owner", "uid": "u-owner", "controller": true}]),
    );
    d
}

#[test]
fn system_default_constraints() {
    let pl = PodTopologySpread::default();
    // Without an owner: no default constraints → PreScore skips.
    let bare = pod(&lpod("p", json!({"app": "web"})));
    assert!(pl
        .constraints(&bare, WhenUnsatisfiable::ScheduleAnyway)
        .unwrap()
        .is_empty());
    // Owned by a ReplicaSet: hostname maxSkew 3 and zone maxSkew 5, soft only.
    let p = pod(&owned("p", json!({"app": "web"}), "ReplicaSet"));
    let cs = pl
        .constraints(&p, WhenUnsatisfiable::ScheduleAnyway)
        .unwrap();
    let got: Vec<(&str, i32)> = cs.iter().map(|c| (&*c.topology_key, c.max_skew)).collect();
    assert_eq!(
        got,
        [
            ("kubernetes.io/hostname", 3),
            ("topology.kubernetes.io/zone", 5)
        ]
    );
    assert!(pl
        .constraints(&p, WhenUnsatisfiable::DoNotSchedule)
        .unwrap()
        .is_empty());
    // StatefulSet per-pod labels are left out of the selector.
    let ss = pod(&owned(
        "w-0",
        json!({"app": "db", "statefulset.kubernetes.io/pod-name": "w-0", "controller-revision-hash": "h"}),
        "StatefulSet",
    ));
    let other = pod(&lpod(
        "w-1",
        json!({"app": "db", "statefulset.kubernetes.io/pod-name": "w-1", "controller-revision-hash": "g"}),
    ));
    let sel = pod_topology_spread::default_selector(&ss).unwrap();
    assert!(sel.matches(&other.labels));

    // Scores. n3 has no zone: with system defaults it is not ignored and
    // adds the "" zone domain. Domains: zone {a, b, ""} → ln 5; hostname 3
    // nodes → ln 5. Pods app=web: n1 1, n3 1.
    // n1 = (1·1.609 + 2) + (1·1.609 + 4) = 9.219 → 9; n2 = 2 + 4 = 6;
    // n3 = 1·1.609 + 2 = 3.609 → 4 (no zone label: zone term skipped).
    // max 9, min 4: 100·(13−s)/9 → 44, 77, 100.
    let mut c = Cache::new();
    for n in [
        znode("n1", Some("a")),
        znode("n2", Some("b")),
        znode("n3", None),
    ] {
        c.add_node(node(&n));
    }
    c.add_pod(pod(&lpod("e1", json!({"app": "web"}))), "n1");
    c.add_pod(pod(&lpod("e3", json!({"app": "web"}))), "n3");
    c.prepare();
    let s = by_name(scores(&pl, &c, &p));
    assert_eq!((s["n1"], s["n2"], s["n3"]), (44, 77, 100));

    // defaultingType List with no constraints turns defaulting off.
    let list = PodTopologySpread::new(PodTopologySpreadArgs {
        defaulting_type: "List".into(),
        ..Default::default()
    })
    .unwrap();
    assert!(list
        .constraints(&p, WhenUnsatisfiable::ScheduleAnyway)
        .unwrap()
        .is_empty());
    assert!(PodTopologySpread::new(PodTopologySpreadArgs {
        defaulting_type: "Sometimes".into(),
        ..Default::default()
    })
    .is_err());
}

#[test]
fn add_and_remove_pod_update_prefilter_state() {
    let pl = PodTopologySpread::default();
    let nodes = [
        znode("n1", Some("a")),
        znode("n2", Some("b")),
        znode("n3", Some("c")),
    ];
    let c = cluster(&nodes, &[("n1", 2), ("n2", 1), ("n3", 1)]);
    let p = spread("p", json!([zone_constraint(1, "DoNotSchedule", json!({}))]));
    let mut state = CycleState::new();
    pl.as_pre_filter()
        .unwrap()
        .pre_filter(&mut state, &p, &c)
        .unwrap();
    assert_eq!(
        pod_topology_spread::pre_filter_state(&state)
            .unwrap()
            .min_match_num(0),
        1
    );
    let ext = pl.as_pre_filter().unwrap().pre_filter_extensions().unwrap();
    let victim = c.info(c.index_of("n2").unwrap()).pods()[0].clone();
    ext.remove_pod(&mut state, &p, &victim, c.get("n2").unwrap())
        .unwrap();
    let s = pod_topology_spread::pre_filter_state(&state).unwrap();
    assert_eq!(s.min_match_num(0), 0);
    assert_eq!(s.counts[0].get("b"), 0);
    // n1 now: 2+1−0 = 3 > 1; n2: 0+1−0 fits.
    let f = pl.as_filter().unwrap();
    assert!(f.filter(&state, &p, c.get("n1").unwrap()).is_err());
    assert!(f.filter(&state, &p, c.get("n2").unwrap()).is_ok());
    // A pod of another namespace or not matching changes nothing.
    let mut d = lpod("q", json!({"app": "x"}));
    set(&mut d, &["metadata", "namespace"], json!("other"));
    ext.add_pod(&mut state, &p, &pod(&d), c.get("n2").unwrap())
        .unwrap();
    assert_eq!(
        pod_topology_spread::pre_filter_state(&state)
            .unwrap()
            .counts[0]
            .get("b"),
        0
    );
    ext.add_pod(&mut state, &p, &victim, c.get("n2").unwrap())
        .unwrap();
    let s = pod_topology_spread::pre_filter_state(&state).unwrap();
    assert_eq!((s.counts[0].get("b"), s.min_match_num(0)), (1, 1));
}

#[test]
fn engine_zone_spread_of_nine_pods_is_even() {
    let mut s = scheduler(7);
    for (i, z) in ["a", "a", "b", "b", "c", "c"].iter().enumerate() {
        s.cache_mut()
            .add_node(node(&znode(&format!("n{i}"), Some(z))));
    }
    let pods: Vec<_> = (0..9)
        .map(|i| {
            spread(
                &format!("p{i}"),
                json!([zone_constraint(1, "DoNotSchedule", json!({}))]),
            )
        })
        .collect();
    let results = s.schedule_batch(&pods);
    let mut per_zone: HashMap<String, usize> = HashMap::new();
    for r in results {
        let n = r.expect("every pod fits").node;
        let z = s
            .cache()
            .get(&n)
            .unwrap()
            .node()
            .labels
            .get("topology.kubernetes.io/zone")
            .unwrap()
            .to_string();
        *per_zone.entry(z).or_default() += 1;
    }
    assert_eq!(per_zone["a"], 3);
    assert_eq!(per_zone["b"], 3);
    assert_eq!(per_zone["c"], 3);
}

/// One plugin instance over cycles: counts follow pods added to and removed
/// from the cache between cycles (the per-node count memo re-counts changed
/// nodes), and a second cache with the same node names is not confused with
/// the first.
#[test]
fn prefilter_counts_follow_cache_changes_across_cycles_and_caches() {
    let pl = PodTopologySpread::default();
    let nodes = [
        znode("n1", Some("a")),
        znode("n2", Some("b")),
        znode("n3", Some("c")),
    ];
    let p = spread("p", json!([zone_constraint(1, "DoNotSchedule", json!({}))]));
    let counts = |c: &Cache| {
        let mut state = CycleState::new();
        pl.as_pre_filter()
            .unwrap()
            .pre_filter(&mut state, &p, c)
            .unwrap();
        let s = pod_topology_spread::pre_filter_state(&state).unwrap();
        (
            ["a", "b", "c"].map(|z| s.counts[0].get(z)),
            s.min_match_num(0),
        )
    };
    let mut c = cluster(&nodes, &[("n1", 2), ("n2", 1), ("n3", 1)]);
    assert_eq!(counts(&c), ([2, 1, 1], 1));
    c.add_pod(pod(&lpod("extra", json!({"app": "x"}))), "n3");
    assert_eq!(counts(&c), ([2, 1, 2], 1));
    let victim = c.info(c.index_of("n2").unwrap()).pods()[0].key();
    assert!(c.remove_pod(&victim));
    assert_eq!(counts(&c), ([2, 0, 2], 0));
    // A pod that does not match changes the node, not its count.
    c.add_pod(pod(&lpod("other", json!({"app": "y"}))), "n2");
    assert_eq!(counts(&c), ([2, 0, 2], 0));
    // Another cache, same node names and slots, different pods.
    let d = cluster(&nodes, &[("n2", 3)]);
    assert_eq!(counts(&d), ([0, 3, 0], 0));
    assert_eq!(counts(&c), ([2, 0, 2], 0));
}

/// Upstream: an absent `nodeAffinityPolicy` honours, a set one only when it
/// is exactly "Honor"; `nodeTaintsPolicy` honours only when exactly "Honor".
#[test]
fn inclusion_policies_honour_only_the_exact_value() {
    let parsed = |extra: Value| {
        spread("p", json!([zone_constraint(1, "DoNotSchedule", extra)])).topology_spread_constraints
            [0]
        .clone()
    };
    let c = parsed(json!({}));
    assert!(c.honor_node_affinity);
    assert!(!c.honor_node_taints);
    let c = parsed(json!({"nodeAffinityPolicy": "Honor", "nodeTaintsPolicy": "Honor"}));
    assert!(c.honor_node_affinity);
    assert!(c.honor_node_taints);
    for other in ["Ignore", "honor", "HONOR", "", "Bogus"] {
        let c = parsed(json!({"nodeAffinityPolicy": other, "nodeTaintsPolicy": other}));
        assert!(!c.honor_node_affinity, "nodeAffinityPolicy {other:?}");
        assert!(!c.honor_node_taints, "nodeTaintsPolicy {other:?}");
    }
    let c = parsed(json!({"nodeAffinityPolicy": null, "nodeTaintsPolicy": null}));
    assert!(c.honor_node_affinity);
    assert!(!c.honor_node_taints);

    // In the filter: an unknown nodeAffinityPolicy counts the domain the
    // node selector excludes, as Ignore does (zone c: 0 pods → min 0, so
    // n1 in zone a with 1 pod fails maxSkew 1).
    let pl = PodTopologySpread::default();
    let mut n3 = znode("n3", Some("c"));
    set(&mut n3, &["metadata", "labels", "tier"], json!("x"));
    let c = cluster(
        &[znode("n1", Some("a")), znode("n2", Some("a")), n3],
        &[("n1", 1)],
    );
    let with_policy = |policy: Option<&str>| {
        let extra = policy.map_or(json!({}), |p| json!({"nodeAffinityPolicy": p}));
        let mut d = lpod("p", json!({"app": "x"}));
        set(
            &mut d,
            &["spec", "topologySpreadConstraints"],
            json!([zone_constraint(1, "DoNotSchedule", extra)]),
        );
        set(
            &mut d,
            &["spec", "affinity", "nodeAffinity"],
            json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}]}}),
        );
        filter_all(&pl, &c, &pod(&d))
    };
    assert_eq!(with_policy(None)["n1"], Ok(()));
    assert_eq!(with_policy(Some("Honor"))["n1"], Ok(()));
    assert!(with_policy(Some("Ignore"))["n1"].is_err());
    assert!(with_policy(Some("honor"))["n1"].is_err());
}

fn bad_selector_constraint(when: &str) -> Value {
    json!({"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": when,
        "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Bogus", "values": ["x"]}]}})
}

/// Upstream parses the selectors of one `whenUnsatisfiable` at a time: a
/// bad selector in a ScheduleAnyway constraint fails PreScore, not
/// PreFilter; in a DoNotSchedule one it fails PreFilter.
#[test]
fn bad_soft_selector_fails_pre_score_only() {
    let pl = PodTopologySpread::default();
    let c = cluster(&[znode("n1", Some("a")), znode("n2", Some("b"))], &[]);
    let soft = spread(
        "p",
        json!([
            bad_selector_constraint("ScheduleAnyway"),
            zone_constraint(1, "DoNotSchedule", json!({}))
        ]),
    );
    let mut state = CycleState::new();
    assert!(pl
        .as_pre_filter()
        .unwrap()
        .pre_filter(&mut state, &soft, &c)
        .is_ok());
    let infos: Vec<&NodeInfo> = c.order().iter().map(|&i| c.info(i)).collect();
    let err = pl
        .as_pre_score()
        .unwrap()
        .pre_score(&mut state, &soft, &c, &infos)
        .unwrap_err();
    assert_eq!(err.code, Code::Error);
    assert!(
        err.message()
            .contains("obtaining pod's soft topology spread constraints")
            && err.message().contains("Bogus"),
        "{}",
        err.message()
    );

    let hard = spread(
        "p",
        json!([
            zone_constraint(1, "ScheduleAnyway", json!({})),
            bad_selector_constraint("DoNotSchedule")
        ]),
    );
    let err = pl
        .as_pre_filter()
        .unwrap()
        .pre_filter(&mut CycleState::new(), &hard, &c)
        .unwrap_err();
    assert_eq!(err.code, Code::Error);
    assert!(
        err.message().starts_with("get constraints from pod: "),
        "{}",
        err.message()
    );
}

/// End to end: with one feasible node PreScore does not run, so the pod
/// with a bad soft selector is scheduled; with two it fails with the
/// plugin's error.
#[test]
fn bad_soft_selector_schedules_when_one_node_is_feasible() {
    let d = {
        let mut d = lpod("p", json!({"app": "x"}));
        set(
            &mut d,
            &["spec", "topologySpreadConstraints"],
            json!([bad_selector_constraint("ScheduleAnyway")]),
        );
        d
    };
    let mut s = scheduler(1);
    s.cache_mut().add_node(node(&znode("n1", Some("a"))));
    let r = s
        .schedule_one(&pod(&d))
        .expect("one feasible node: no PreScore");
    assert_eq!(&*r.node, "n1");

    let mut s = scheduler(1);
    s.cache_mut().add_node(node(&znode("n1", Some("a"))));
    s.cache_mut().add_node(node(&znode("n2", Some("b"))));
    match s.schedule_one(&pod(&d)) {
        Err(kubemu_sched::ScheduleError::Plugin { plugin, message }) => {
            assert_eq!(plugin, "PodTopologySpread");
            assert!(
                message.contains("obtaining pod's soft topology spread constraints"),
                "{message}"
            );
        }
        other => panic!("expected a PreScore error, got {other:?}"),
    }
}
