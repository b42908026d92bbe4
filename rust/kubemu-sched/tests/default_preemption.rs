//! DefaultPreemption: eligibility, victim choice and reprieve, PDBs, node
//! choice, candidate limits, nominated pods; through the engine and the
//! plugin's own functions. Hand-worked scenarios (nodes of 4 CPUs).

mod common;

use std::sync::Arc;

use common::*;
use kubemu_sched::framework::{CycleState, FilterPlugin, Handle, ProfileConfig};
use kubemu_sched::nominator::Nominator;
use kubemu_sched::pdb::{split_by_violation, Pdb, PdbList};
use kubemu_sched::plugins::default_preemption::{
    pick_one_node, Candidate, DefaultPreemption, DefaultPreemptionArgs,
};
use kubemu_sched::{PodInfo, Profile, Registry, ScheduleError, Scheduler, SchedulerOptions};
use serde_json::{json, Value};

fn p(name: &str, cpu: &str, prio: i32) -> Value {
    let mut d = pod_doc(name, Some(cpu), None);
    set(&mut d, &["spec", "priority"], json!(prio));
    d
}

fn started(mut d: Value, secs: u32) -> Value {
    set(
        &mut d,
        &["status", "startTime"],
        json!(format!("2024-01-01T00:{:02}:{:02}Z", secs / 60, secs % 60)),
    );
    d
}

fn labelled(mut d: Value, app: &str) -> Value {
    set(&mut d, &["metadata", "labels"], json!({ "app": app }));
    d
}

fn bound(s: &mut Scheduler, d: &Value, node: &str) {
    let mut d = d.clone();
    set(&mut d, &["spec", "nodeName"], json!(node));
    s.cache_mut().add_pod(pod(&d), node);
}

fn nodes(s: &mut Scheduler, n: usize) {
    for i in 0..n {
        s.cache_mut()
            .add_node(node(&node_doc(&format!("node-{i}"), "4", "32Gi", 110)));
    }
}

fn pdb(app: &str, allowed: i32) -> Pdb {
    Pdb::from_msgpack(&msgpack(&json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": format!("pdb-{app}"), "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": app}}},
        "status": {"disruptionsAllowed": allowed}
    })))
    .expect("pdb decodes")
}

fn names(v: &[Arc<PodInfo>]) -> Vec<&str> {
    v.iter().map(|p| &*p.name).collect()
}

/// Schedules `d`, expecting a FitError; returns it.
fn preempt(s: &mut Scheduler, d: &Value) -> kubemu_sched::FitError {
    match s.schedule_one(&pod(d)) {
        Err(ScheduleError::Fit(e)) => e,
        other => panic!("expected a FitError, got {other:?}"),
    }
}

#[test]
fn picks_the_node_with_the_lowest_priority_victims_and_reprieves_what_fits() {
    let mut s = scheduler(0);
    nodes(&mut s, 2);
    // node-0: two priority-1 pods (2 + 1 CPU); node-1: priority 5 (2) + 1 (2).
    bound(&mut s, &started(p("low1", "2", 1), 1), "node-0");
    bound(&mut s, &started(p("low2", "1", 1), 2), "node-0");
    bound(&mut s, &started(p("mid", "2", 5), 1), "node-1");
    bound(&mut s, &started(p("low3", "2", 1), 2), "node-1");
    let e = preempt(&mut s, &p("high", "3", 10));
    let r = e.post_filter_result().expect("preempted");
    // node-0: low1 (earlier start) is reprieved first but does not fit with
    // the 3-CPU pod; low2 (1 CPU) does: one victim. node-1 would lose a
    // priority-5 pod.
    assert_eq!(&*r.nominated_node, "node-0");
    assert_eq!(names(&r.victims), ["low1"]);
    assert!(r.cleared_nominations.is_empty());
    assert_eq!(
        e.post_filter.as_ref().unwrap().message,
        None,
        "success adds no message"
    );
    assert_eq!(
        e.to_string(),
        "0/2 nodes are available: 2 Insufficient cpu."
    );
    assert_eq!(s.nominator().node_of("default/high"), Some("node-0"));
}

#[test]
fn pdb_violating_victims_are_reprieved_first() {
    let setup = |with_pdb: bool| {
        let mut s = scheduler(0);
        nodes(&mut s, 1);
        // b started earlier, so without a PDB it is reprieved first.
        bound(&mut s, &labelled(started(p("a", "2", 1), 5), "a"), "node-0");
        bound(&mut s, &labelled(started(p("b", "2", 1), 1), "b"), "node-0");
        if with_pdb {
            s.pdbs_mut().set(pdb("a", 0));
        }
        let e = preempt(&mut s, &p("high", "2", 10));
        let r = e.post_filter_result().cloned().expect("preempted");
        names(&r.victims)
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(setup(false), ["a"]);
    assert_eq!(setup(true), ["b"]);
}

#[test]
fn fewest_pdb_violations_beats_lower_priority() {
    let mut s = scheduler(0);
    nodes(&mut s, 2);
    // node-0: a priority-1 pod protected by a PDB allowing no disruption.
    bound(&mut s, &labelled(p("guarded", "4", 1), "g"), "node-0");
    // node-1: an unprotected priority-5 pod.
    bound(&mut s, &p("mid", "4", 5), "node-1");
    s.pdbs_mut().set(pdb("g", 0));
    let e = preempt(&mut s, &p("high", "2", 10));
    let r = e.post_filter_result().cloned().expect("preempted");
    assert_eq!(
        (&*r.nominated_node, names(&r.victims)),
        ("node-1", vec!["mid"])
    );
    // With one disruption allowed, the PDB is not violated: node-0 wins on priority.
    let mut s = scheduler(0);
    nodes(&mut s, 2);
    bound(&mut s, &labelled(p("guarded", "4", 1), "g"), "node-0");
    bound(&mut s, &p("mid", "4", 5), "node-1");
    s.pdbs_mut().set(pdb("g", 1));
    let r = preempt(&mut s, &p("high", "2", 10))
        .post_filter_result()
        .cloned()
        .unwrap();
    assert_eq!(&*r.nominated_node, "node-0");
}

#[test]
fn pdb_split_counts_disruptions_per_budget() {
    let pods: Vec<Arc<PodInfo>> = (0..3)
        .map(|i| pod(&labelled(p(&format!("x{i}"), "1", 1), "x")))
        .chain([pod(&p("plain", "1", 1))])
        .collect();
    let mut pdbs = PdbList::default();
    pdbs.set(pdb("x", 1));
    let (violating, ok) = split_by_violation(&pods, &pdbs);
    let v: Vec<&str> = violating.iter().map(|p| &*p.name).collect();
    let o: Vec<&str> = ok.iter().map(|p| &*p.name).collect();
    assert_eq!(v, ["x1", "x2"]);
    assert_eq!(o, ["x0", "plain"]);
    // An empty selector matches nothing.
    let mut pdbs = PdbList::default();
    pdbs.set(
        Pdb::from_msgpack(&msgpack(&json!({
            "metadata": {"name": "all", "namespace": "default"},
            "spec": {"selector": {}}, "status": {"disruptionsAllowed": 0}
        })))
        .unwrap(),
    );
    assert!(split_by_violation(&pods, &pdbs).0.is_empty());
}

fn victim(name: &str, prio: i32, start: Option<u32>) -> Arc<PodInfo> {
    let d = p(name, "1", prio);
    pod(&match start {
        Some(t) => started(d, t),
        None => d,
    })
}

fn cand(node: u32, victims: Vec<Arc<PodInfo>>, pdb: usize) -> Candidate {
    Candidate {
        node,
        victims,
        num_pdb_violations: pdb,
    }
}

#[test]
fn node_choice_follows_upstreams_order() {
    // Lowest highest-victim priority.
    let c = [
        cand(0, vec![victim("a", 5, None)], 0),
        cand(1, vec![victim("b", 3, None), victim("c", 3, None)], 0),
    ];
    assert_eq!(pick_one_node(&c), Some(1));
    // Same highest priority: smallest sum (with negative priorities shifted by 2^31).
    let c = [
        cand(0, vec![victim("a", 3, None), victim("b", -5, None)], 0),
        cand(
            1,
            vec![
                victim("c", 3, None),
                victim("d", -5, None),
                victim("e", -5, None),
            ],
            0,
        ),
        cand(2, vec![victim("f", 3, None), victim("g", -10, None)], 0),
    ];
    assert_eq!(pick_one_node(&c), Some(2));
    // Same sum: fewest victims.
    let c = [
        cand(0, vec![victim("a", 2, None), victim("b", 2, None)], 0),
        cand(
            1,
            vec![
                victim("c", 2, None),
                victim("d", 1, None),
                victim("e", 1, None),
            ],
            0,
        ),
    ];
    assert_eq!(pick_one_node(&c).map(|i| c[i].victims.len()), Some(2));
    // All equal but start times: the latest earliest start of the top-priority victims.
    let c = [
        cand(
            0,
            vec![victim("a", 2, Some(10)), victim("b", 1, Some(50))],
            0,
        ),
        cand(
            1,
            vec![victim("c", 2, Some(30)), victim("d", 1, Some(1))],
            0,
        ),
    ];
    assert_eq!(pick_one_node(&c), Some(1));
    // Unset start time counts as now (latest).
    let c = [
        cand(0, vec![victim("a", 2, Some(10))], 0),
        cand(1, vec![victim("c", 2, None)], 0),
    ];
    assert_eq!(pick_one_node(&c), Some(1));
    // Complete tie: the first.
    let c = [
        cand(4, vec![victim("a", 2, None)], 0),
        cand(2, vec![victim("b", 2, None)], 0),
    ];
    assert_eq!(pick_one_node(&c), Some(0));
    // PDB violations first.
    let c = [
        cand(0, vec![victim("a", 1, None)], 1),
        cand(1, vec![victim("b", 9, None)], 0),
    ];
    assert_eq!(pick_one_node(&c), Some(1));
    assert_eq!(pick_one_node(&[]), None);
}

#[test]
fn preemption_policy_never_does_not_preempt() {
    let mut s = scheduler(0);
    nodes(&mut s, 1);
    bound(&mut s, &p("low", "4", 1), "node-0");
    let mut d = p("high", "2", 10);
    set(&mut d, &["spec", "preemptionPolicy"], json!("Never"));
    let e = preempt(&mut s, &d);
    assert!(e.post_filter_result().is_none());
    assert_eq!(
        e.to_string(),
        "0/1 nodes are available: 1 Insufficient cpu. \
         preemption: not eligible due to preemptionPolicy=Never.."
    );
    assert!(s.nominator().is_empty());
}

#[test]
fn equal_or_higher_priority_pods_are_never_victims() {
    let mut s = scheduler(0);
    nodes(&mut s, 2);
    bound(&mut s, &p("same", "4", 10), "node-0");
    bound(&mut s, &p("higher", "4", 11), "node-1");
    let e = preempt(&mut s, &p("high", "2", 10));
    let r = e
        .post_filter_result()
        .cloned()
        .expect("a result clearing the nomination");
    assert!(r.nominated_node.is_empty() && r.victims.is_empty());
    assert_eq!(
        e.to_string(),
        "0/2 nodes are available: 2 Insufficient cpu. \
         preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."
    );
}

#[test]
fn only_unschedulable_nodes_are_candidates() {
    let mut s = scheduler(0);
    nodes(&mut s, 1);
    let mut tainted = node_doc("tainted", "4", "32Gi", 110);
    set(
        &mut tainted,
        &["spec", "taints"],
        json!([{"key": "k", "value": "v", "effect": "NoSchedule"}]),
    );
    s.cache_mut().add_node(node(&tainted));
    bound(&mut s, &p("low-a", "4", 1), "node-0");
    bound(&mut s, &p("low-b", "1", 0), "tainted");
    let r = preempt(&mut s, &p("high", "4", 10))
        .post_filter_result()
        .cloned()
        .unwrap();
    assert_eq!(
        (&*r.nominated_node, names(&r.victims)),
        ("node-0", vec!["low-a"])
    );
    // A pod that cannot fit even on an empty node: the node status is the filter's.
    let e = preempt(&mut s, &p("huge", "9", 10));
    assert!(e.to_string().ends_with(
        "preemption: 0/2 nodes are available: 1 Insufficient cpu, \
         1 Preemption is not helpful for scheduling.."
    ));
}

#[test]
fn nominated_pods_hold_their_room() {
    let mut s = scheduler(0);
    nodes(&mut s, 2);
    for n in 0..2 {
        for k in 0..4 {
            bound(
                &mut s,
                &p(&format!("low-{n}-{k}"), "900m", 1),
                &format!("node-{n}"),
            );
        }
    }
    // Two 3-CPU preemptors in one batch: each needs three victims, and the
    // second must not pick the node the first was nominated to.
    let res = s.schedule_batch(&[pod(&p("h1", "3", 10)), pod(&p("h2", "3", 10))]);
    let node_of = |r: &Result<_, ScheduleError>| match r {
        Err(ScheduleError::Fit(e)) => {
            let r = e.post_filter_result().unwrap();
            assert_eq!(r.victims.len(), 3);
            r.nominated_node.to_string()
        }
        other => panic!("{other:?}"),
    };
    let (a, b) = (node_of(&res[0]), node_of(&res[1]));
    assert_ne!(a, b);
    assert_eq!(s.nominator().len(), 2);
    // A lower-priority pod cannot use the room held for h1 ...
    for k in 0..3 {
        s.cache_mut()
            .remove_pod(&format!("uid-low-{}-{k}", &a[5..]));
    }
    let e = preempt(&mut s, &p("small", "2", 5));
    assert!(e
        .to_string()
        .starts_with("0/2 nodes are available: 2 Insufficient cpu."));
    // ... but h1 itself can (its nominated node is tried first).
    let mut d = p("h1", "3", 10);
    set(&mut d, &["status", "nominatedNodeName"], json!(a));
    let r = s
        .schedule_one(&pod(&d))
        .expect("fits on its nominated node");
    assert_eq!((&*r.node, r.evaluated_nodes), (a.as_str(), 1));
    assert_eq!(
        s.nominator().node_of("default/h1"),
        None,
        "scheduled: nomination dropped"
    );
    // A higher-priority pod ignores lower nominations; preempting there
    // clears them.
    let mut s2 = scheduler(0);
    nodes(&mut s2, 1);
    bound(&mut s2, &p("low", "4", 1), "node-0");
    let mut n = p("nominated", "1", 5);
    set(&mut n, &["status", "nominatedNodeName"], json!("node-0"));
    s2.set_nominated_pod(pod(&n), true);
    let r = preempt(&mut s2, &p("top", "4", 20))
        .post_filter_result()
        .cloned()
        .unwrap();
    assert_eq!(names(&r.cleared_nominations), ["nominated"]);
    assert_eq!(s2.nominator().node_of("default/nominated"), None);
}

/// Within one batch, each pod yields only to the nominations of equal or
/// higher priority: lower pods keep off the held room, higher ones use it.
#[test]
fn each_pod_of_a_batch_yields_by_its_own_priority() {
    let mut s = scheduler(0);
    nodes(&mut s, 2);
    let mut held = p("held", "3", 10);
    set(&mut held, &["status", "nominatedNodeName"], json!("node-0"));
    s.set_nominated_pod(pod(&held), true);
    let batch = [
        p("low", "3", 5),   // node-0 holds 3 of 4 CPU for "held" → node-1
        p("top", "2", 20),  // ignores "held"; node-1 is full → node-0
        p("low2", "1", 5),  // node-0: 2 + 3 held > 4 → node-1 (1 CPU left)
        p("top2", "2", 20), // node-0: 2 + 2 = 4 fits (held ignored)
    ];
    let pods: Vec<Arc<PodInfo>> = batch.iter().map(pod).collect();
    let placed: Vec<String> = s
        .schedule_batch(&pods)
        .into_iter()
        .map(|r| r.expect("fits").node.to_string())
        .collect();
    assert_eq!(placed, ["node-1", "node-0", "node-1", "node-0"]);
    assert_eq!(s.nominator().node_of("default/held"), Some("node-0"));
}

#[test]
fn a_pod_waits_for_victims_terminating_on_its_nominated_node() {
    let mut s = scheduler(0);
    nodes(&mut s, 1);
    let mut t = p("victim", "4", 1);
    set(
        &mut t,
        &["metadata", "deletionTimestamp"],
        json!("2024-01-01T00:00:00Z"),
    );
    set(
        &mut t,
        &["status", "conditions"],
        json!([{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]),
    );
    bound(&mut s, &t, "node-0");
    let mut d = p("high", "4", 10);
    set(&mut d, &["status", "nominatedNodeName"], json!("node-0"));
    let e = preempt(&mut s, &d);
    assert!(e.post_filter_result().is_none());
    assert!(e
        .to_string()
        .ends_with("preemption: not eligible due to a terminating pod on the nominated node.."));
}

#[test]
fn candidate_limits() {
    let a = DefaultPreemptionArgs::default();
    assert_eq!(
        (
            a.min_candidate_nodes_percentage,
            a.min_candidate_nodes_absolute
        ),
        (10, 100)
    );
    assert_eq!(a.num_candidates(500), 100);
    assert_eq!(a.num_candidates(5000), 500);
    assert_eq!(a.num_candidates(40), 40);
    let b = DefaultPreemptionArgs {
        min_candidate_nodes_percentage: 50,
        min_candidate_nodes_absolute: 1,
    };
    assert_eq!(b.num_candidates(10), 5);
    for (pct, abs) in [(101, 1), (-1, 1), (10, -1), (0, 0)] {
        let args = DefaultPreemptionArgs {
            min_candidate_nodes_percentage: pct,
            min_candidate_nodes_absolute: abs,
        };
        assert!(DefaultPreemption::new(args).is_err(), "{pct} {abs}");
    }
}

fn dry_run_count(s: &Scheduler, args: DefaultPreemptionArgs, high: &Value) -> (usize, usize) {
    let profile = Profile::default_profile();
    let filters: Vec<(&'static str, &dyn FilterPlugin)> = profile
        .plugins
        .iter()
        .filter(|p| p.name() == "NodeResourcesFit")
        .filter_map(|p| p.as_filter().map(|f| (p.name(), f)))
        .collect();
    let nominator = Nominator::default();
    let pdbs = PdbList::default();
    let h = Handle {
        snapshot: s.cache(),
        filters: &filters,
        extensions: &[],
        nominator: &nominator,
        pdbs: &pdbs,
    };
    let all: Vec<u32> = s.cache().order().to_vec();
    let plugin = DefaultPreemption::new(args).unwrap();
    let pod = pod(high);
    let mut state = CycleState::new();
    let k = args.num_candidates(all.len());
    let (c, failed) = plugin.dry_run(&h, &mut state, &pod, &all, 3, k);
    (c.len(), failed.len())
}

#[test]
fn dry_run_stops_after_enough_candidates() {
    let mut s = scheduler(0);
    nodes(&mut s, 30);
    for i in 0..30 {
        bound(
            &mut s,
            &p(&format!("low-{i}"), "4", 1),
            &format!("node-{i}"),
        );
    }
    s.cache_mut().prepare();
    let high = p("high", "1", 10);
    // max(10% of 30, 100) capped at 30: every node.
    assert_eq!(
        dry_run_count(&s, DefaultPreemptionArgs::default(), &high),
        (30, 0)
    );
    let few = DefaultPreemptionArgs {
        min_candidate_nodes_percentage: 10,
        min_candidate_nodes_absolute: 2,
    };
    assert_eq!(dry_run_count(&s, few, &high), (3, 0));
}

#[test]
fn candidate_search_is_reproducible_from_the_seed() {
    let run = |seed: u64| {
        let mut cfg: ProfileConfig = Profile::default_config();
        cfg.plugin_args.insert(
            "DefaultPreemption".into(),
            msgpack(&json!({"minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": 1})),
        );
        let profile = Profile::build(&cfg, &Registry::in_tree()).unwrap();
        let mut s = Scheduler::new(
            profile,
            SchedulerOptions {
                seed,
                ..SchedulerOptions::default()
            },
        );
        nodes(&mut s, 50);
        for i in 0..50 {
            bound(
                &mut s,
                &p(&format!("low-{i}"), "4", 1),
                &format!("node-{i}"),
            );
        }
        preempt(&mut s, &p("high", "1", 10))
            .post_filter_result()
            .cloned()
            .unwrap()
            .nominated_node
            .to_string()
    };
    assert_eq!(run(7), run(7));
    let picks: std::collections::HashSet<String> = (0..8).map(run).collect();
    assert!(picks.len() > 1, "the offset depends on the seed: {picks:?}");
}

#[test]
fn bad_args_are_config_errors() {
    let mut cfg = Profile::default_config();
    cfg.plugin_args.insert(
        "DefaultPreemption".into(),
        msgpack(&json!({"minCandidateNodesPercentage": 200})),
    );
    let e = Profile::build(&cfg, &Registry::in_tree()).unwrap_err();
    assert!(
        e.0.contains("minCandidateNodesPercentage: Invalid value: 200"),
        "{e}"
    );
    assert_eq!(
        Profile::default_profile().plugin_names("postFilter"),
        ["DefaultPreemption"]
    );
}

#[test]
fn dry_runs_update_prefilter_state_through_remove_pod() {
    // The preemptor's required anti-affinity rejects the node while the
    // low-priority `x` pod runs there; InterPodAffinity's RemovePod makes
    // the dry run see it gone, and the saved state is restored afterwards.
    let mut s = scheduler(0);
    nodes(&mut s, 2);
    bound(&mut s, &labelled(p("x", "100m", 1), "x"), "node-0");
    bound(&mut s, &labelled(p("y", "100m", 50), "x"), "node-1");
    let mut d = p("anti", "100m", 10);
    set(
        &mut d,
        &["spec", "affinity"],
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "x"}},
             "topologyKey": "kubernetes.io/hostname"}]}}),
    );
    let e = preempt(&mut s, &d);
    let r = e.post_filter_result().expect("preempted");
    assert_eq!(
        (&*r.nominated_node, names(&r.victims)),
        ("node-0", vec!["x"])
    );
    assert!(e
        .to_string()
        .starts_with("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."));
}
