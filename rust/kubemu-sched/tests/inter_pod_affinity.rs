//! InterPodAffinity: symmetry, first pod of a group, namespace selectors,
//! hand-computed preferred scores, incremental updates, an engine run.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use kubemu_sched::framework::{Code, CycleState, Plugin};
use kubemu_sched::model::Labels;
use kubemu_sched::plugins::inter_pod_affinity::{
    self, InterPodAffinity, ERR_REASON_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
};
use kubemu_sched::{Cache, NodeInfo, PodInfo, ScheduleError};
use serde_json::{json, Value};

fn znode(name: &str, zone: &str) -> Value {
    let mut d = node_doc(name, "4", "32Gi", 110);
    set(
        &mut d,
        &["metadata", "labels", "topology.kubernetes.io/zone"],
        json!(zone),
    );
    d
}

fn lpod(name: &str, ns: &str, labels: Value) -> Value {
    let mut d = pod_doc(name, Some("100m"), Some("100Mi"));
    set(&mut d, &["metadata", "labels"], labels);
    set(&mut d, &["metadata", "namespace"], json!(ns));
    d
}

fn term(labels: Value, key: &str) -> Value {
    json!({"labelSelector": {"matchLabels": labels}, "topologyKey": key})
}

/// `kind` is `podAffinity` or `podAntiAffinity`; `req` and `pref` the terms.
fn with_affinity(mut d: Value, kind: &str, req: Value, pref: Value) -> Value {
    set(
        &mut d,
        &["spec", "affinity", kind],
        json!({"requiredDuringSchedulingIgnoredDuringExecution": req,
               "preferredDuringSchedulingIgnoredDuringExecution": pref}),
    );
    d
}

fn cache(nodes: &[Value], pods: &[(Value, &str)]) -> Cache {
    let mut c = Cache::new();
    for n in nodes {
        c.add_node(node(n));
    }
    for (p, n) in pods {
        c.add_pod(pod(p), n);
    }
    c.prepare();
    c
}

type FilterResults = HashMap<String, Result<(), (Code, String)>>;

fn filter_all(c: &Cache, p: &PodInfo) -> Result<FilterResults, Code> {
    let pl = InterPodAffinity::default();
    let mut state = CycleState::new();
    pl.as_pre_filter()
        .unwrap()
        .pre_filter(&mut state, p, c)
        .map_err(|s| s.code)?;
    Ok(c.order()
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
        .collect())
}

fn err(code: Code, reason: &str) -> Result<(), (Code, String)> {
    Err((code, reason.to_string()))
}

#[test]
fn existing_pods_anti_affinity_is_symmetric() {
    let guard = with_affinity(
        lpod("guard", "default", json!({"app": "guard"})),
        "podAntiAffinity",
        json!([term(json!({"app": "web"}), "kubernetes.io/hostname")]),
        json!([]),
    );
    let c = cache(&[znode("n1", "a"), znode("n2", "a")], &[(guard, "n1")]);
    // The incoming pod has no terms of its own, yet n1 is forbidden.
    let web = pod(&lpod("w", "default", json!({"app": "web"})));
    let r = filter_all(&c, &web).unwrap();
    assert_eq!(
        r["n1"],
        err(
            Code::Unschedulable,
            ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH
        )
    );
    assert_eq!(r["n2"], Ok(()));
    // A pod the guard does not select: PreFilter has nothing to do.
    let other = pod(&lpod("o", "default", json!({"app": "db"})));
    assert_eq!(filter_all(&c, &other).unwrap_err(), Code::Skip);
    // Nor does a pod of another namespace (the guard's term is for its own).
    let elsewhere = pod(&lpod("w2", "prod", json!({"app": "web"})));
    assert_eq!(filter_all(&c, &elsewhere).unwrap_err(), Code::Skip);
}

#[test]
fn own_anti_affinity_by_zone() {
    let c = cache(
        &[znode("n1", "a"), znode("n2", "a"), znode("n3", "b")],
        &[(lpod("e", "default", json!({"app": "web"})), "n1")],
    );
    let p = pod(&with_affinity(
        lpod("p", "default", json!({"app": "web"})),
        "podAntiAffinity",
        json!([term(json!({"app": "web"}), "topology.kubernetes.io/zone")]),
        json!([]),
    ));
    let r = filter_all(&c, &p).unwrap();
    let anti = err(
        Code::Unschedulable,
        ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
    );
    assert_eq!((&r["n1"], &r["n2"], &r["n3"]), (&anti, &anti, &Ok(())));
}

#[test]
fn affinity_first_pod_of_a_group() {
    let nodes = [znode("n1", "a"), znode("n2", "b")];
    let db = |name: &str| {
        pod(&with_affinity(
            lpod(name, "default", json!({"app": "db"})),
            "podAffinity",
            json!([term(json!({"app": "db"}), "topology.kubernetes.io/zone")]),
            json!([]),
        ))
    };
    // No pod matches anywhere and the pod matches its own term: any node.
    let c = cache(&nodes, &[]);
    let r = filter_all(&c, &db("d0")).unwrap();
    assert_eq!((&r["n1"], &r["n2"]), (&Ok(()), &Ok(())));
    // A pod whose term does not match itself has nowhere to go.
    let lonely = pod(&with_affinity(
        lpod("l", "default", json!({"app": "db"})),
        "podAffinity",
        json!([term(json!({"app": "cache"}), "topology.kubernetes.io/zone")]),
        json!([]),
    ));
    let aff = err(
        Code::UnschedulableAndUnresolvable,
        ERR_REASON_AFFINITY_RULES_NOT_MATCH,
    );
    assert_eq!(filter_all(&c, &lonely).unwrap()["n1"], aff);
    // Once one db pod runs in zone a, the group follows it there.
    let c = cache(
        &nodes,
        &[(lpod("d0", "default", json!({"app": "db"})), "n1")],
    );
    let r = filter_all(&c, &db("d1")).unwrap();
    assert_eq!((&r["n1"], &r["n2"]), (&Ok(()), &aff));
    // A node without the term's topology key never passes.
    let mut c = cache(
        &nodes,
        &[(lpod("d0", "default", json!({"app": "db"})), "n1")],
    );
    c.add_node(node(&node_doc("bare", "4", "32Gi", 110)));
    c.prepare();
    assert_eq!(filter_all(&c, &db("d1")).unwrap()["bare"], aff);
}

#[test]
fn namespace_selectors() {
    let nodes = [znode("n1", "a"), znode("n2", "a")];
    let mut c = cache(&nodes, &[(lpod("e", "ns-b", json!({"app": "web"})), "n1")]);
    c.set_namespace("ns-a", Labels::from_pairs([("team", "x")]));
    c.set_namespace("ns-b", Labels::from_pairs([("team", "y")]));
    let incoming = |ns_sel: Option<Value>| {
        let mut t = term(json!({"app": "web"}), "kubernetes.io/hostname");
        if let Some(s) = ns_sel {
            t["namespaceSelector"] = s;
        }
        pod(&with_affinity(
            lpod("p", "ns-a", json!({"app": "api"})),
            "podAntiAffinity",
            json!([t]),
            json!([]),
        ))
    };
    let anti = err(
        Code::Unschedulable,
        ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
    );
    // team=y selects ns-b, where the web pod runs.
    let r = filter_all(&c, &incoming(Some(json!({"matchLabels": {"team": "y"}})))).unwrap();
    assert_eq!((&r["n1"], &r["n2"]), (&anti, &Ok(())));
    // team=x selects only ns-a.
    let r = filter_all(&c, &incoming(Some(json!({"matchLabels": {"team": "x"}})))).unwrap();
    assert_eq!(r["n1"], Ok(()));
    // {} selects every namespace.
    let r = filter_all(&c, &incoming(Some(json!({})))).unwrap();
    assert_eq!(r["n1"], anti);
    // No namespaces and no selector: the pod's own namespace (ns-a) only.
    let r = filter_all(&c, &incoming(None)).unwrap();
    assert_eq!(r["n1"], Ok(()));

    // Symmetric direction: an existing pod's namespaceSelector is matched
    // against the incoming pod's namespace labels.
    let mut guard_term = term(json!({"app": "api"}), "kubernetes.io/hostname");
    guard_term["namespaceSelector"] = json!({"matchLabels": {"team": "x"}});
    let guard = with_affinity(
        lpod("g", "ns-b", json!({"app": "guard"})),
        "podAntiAffinity",
        json!([guard_term]),
        json!([]),
    );
    c.add_pod(pod(&guard), "n2");
    let api = pod(&lpod("api", "ns-a", json!({"app": "api"})));
    let r = filter_all(&c, &api).unwrap();
    assert_eq!(
        r["n2"],
        err(
            Code::Unschedulable,
            ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH
        )
    );
    c.set_namespace("ns-a", Labels::from_pairs([("team", "z")]));
    assert_eq!(filter_all(&c, &api).unwrap_err(), Code::Skip);
}

fn weighted(w: i64, labels: Value, key: &str) -> Value {
    json!({"weight": w, "podAffinityTerm": term(labels, key)})
}

#[test]
fn preferred_scores() {
    // Zones: a = {n1, n2}, b = {n3, n4}.
    // - incoming prefers app=cache by zone (w 10): the cache pod on n1 → zone a +10;
    // - incoming avoids app=web by hostname (w 5): the web pod on n2 → n2 −5;
    // - the pod on n3 prefers role=front by zone (w 7), the incoming pod is
    //   role=front → zone b +7;
    // - the pod on n4 requires role=front by hostname → n4 +1 (hard weight 1).
    // Raw: n1 10, n2 5, n3 7, n4 8 → min 5, max 10: 100, 0, 40, 60.
    let mut inc = lpod("p", "default", json!({"role": "front"}));
    set(
        &mut inc,
        &["spec", "affinity"],
        json!({
            "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution":
                [weighted(10, json!({"app": "cache"}), "topology.kubernetes.io/zone")]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution":
                [weighted(5, json!({"app": "web"}), "kubernetes.io/hostname")]}
        }),
    );
    let fan = with_affinity(
        lpod("fan", "default", json!({"app": "fan"})),
        "podAffinity",
        json!([]),
        json!([weighted(
            7,
            json!({"role": "front"}),
            "topology.kubernetes.io/zone"
        )]),
    );
    let needy = with_affinity(
        lpod("needy", "default", json!({"app": "needy"})),
        "podAffinity",
        json!([term(json!({"role": "front"}), "kubernetes.io/hostname")]),
        json!([]),
    );
    let c = cache(
        &[
            znode("n1", "a"),
            znode("n2", "a"),
            znode("n3", "b"),
            znode("n4", "b"),
        ],
        &[
            (lpod("cache", "default", json!({"app": "cache"})), "n1"),
            (lpod("web", "default", json!({"app": "web"})), "n2"),
            (fan, "n3"),
            (needy, "n4"),
        ],
    );
    let got = |p: &Arc<PodInfo>| -> Vec<i64> {
        let pl = InterPodAffinity::default();
        let nodes: Vec<&NodeInfo> = ["n1", "n2", "n3", "n4"]
            .iter()
            .map(|n| c.get(n).unwrap())
            .collect();
        let mut state = CycleState::new();
        pl.as_pre_score()
            .unwrap()
            .pre_score(&mut state, p, &c, &nodes)
            .unwrap();
        let sp = pl.as_score().unwrap();
        let mut raw: Vec<i64> = nodes
            .iter()
            .map(|n| sp.score(&state, p, n).unwrap())
            .collect();
        sp.normalize_scores(&state, p, &mut raw).unwrap();
        raw
    };
    assert_eq!(got(&pod(&inc)), [100, 0, 40, 60]);
    // Without preferred terms of its own, only the existing pods' terms
    // count: zone b +7, n4 +1 → raw 0, 0, 7, 8 → 0, 0, 87, 100.
    let plain = pod(&lpod("q", "default", json!({"role": "front"})));
    assert_eq!(got(&plain), [0, 0, 87, 100]);
}

#[test]
fn add_and_remove_pod_update_prefilter_state() {
    let c = cache(&[znode("n1", "a"), znode("n2", "b")], &[]);
    let p = pod(&with_affinity(
        lpod("p", "default", json!({"app": "web"})),
        "podAntiAffinity",
        json!([term(json!({"app": "web"}), "topology.kubernetes.io/zone")]),
        json!([]),
    ));
    let pl = InterPodAffinity::default();
    let mut state = CycleState::new();
    pl.as_pre_filter()
        .unwrap()
        .pre_filter(&mut state, &p, &c)
        .unwrap();
    let ext = pl.as_pre_filter().unwrap().pre_filter_extensions().unwrap();
    let other = pod(&lpod("o", "default", json!({"app": "web"})));
    ext.add_pod(&mut state, &p, &other, c.get("n1").unwrap())
        .unwrap();
    let f = pl.as_filter().unwrap();
    assert!(f.filter(&state, &p, c.get("n1").unwrap()).is_err());
    assert!(f.filter(&state, &p, c.get("n2").unwrap()).is_ok());
    ext.remove_pod(&mut state, &p, &other, c.get("n1").unwrap())
        .unwrap();
    assert!(f.filter(&state, &p, c.get("n1").unwrap()).is_ok());
    let s = inter_pod_affinity::pre_filter_state(&state).unwrap();
    assert!(s.anti_affinity_counts.is_empty());
}

#[test]
fn cache_tracks_pods_with_affinity() {
    let mut c = cache(&[znode("n1", "a")], &[]);
    let anti = pod(&with_affinity(
        lpod("g", "default", json!({"app": "g"})),
        "podAntiAffinity",
        json!([term(json!({"app": "web"}), "kubernetes.io/hostname")]),
        json!([]),
    ));
    c.add_pod(Arc::clone(&anti), "n1");
    c.add_pod(pod(&lpod("plain", "default", json!({}))), "n1");
    let n1 = c.get("n1").unwrap();
    assert_eq!(
        (
            n1.pods().len(),
            n1.pods_with_affinity().len(),
            n1.pods_with_required_anti_affinity().len()
        ),
        (2, 1, 1)
    );
    assert_eq!(c.nodes_with_pods_with_required_anti_affinity().count(), 1);
    assert!(c.remove_pod(&anti.key()));
    let n1 = c.get("n1").unwrap();
    assert_eq!(
        (
            n1.pods().len(),
            n1.pods_with_affinity().len(),
            n1.pods_with_required_anti_affinity().len()
        ),
        (1, 0, 0)
    );
    assert_eq!(c.nodes_with_pods_with_affinity().count(), 0);
    assert_eq!(c.nodes_with_pods_with_required_anti_affinity().count(), 0);
}

#[test]
fn engine_hostname_anti_affinity_fills_ten_nodes() {
    let mut s = scheduler(3);
    for i in 0..10 {
        s.cache_mut().add_node(node(&znode(&format!("n{i}"), "a")));
    }
    let pods: Vec<_> = (0..30)
        .map(|i| {
            pod(&with_affinity(
                lpod(&format!("p{i}"), "default", json!({"color": "green"})),
                "podAntiAffinity",
                json!([term(json!({"color": "green"}), "kubernetes.io/hostname")]),
                json!([]),
            ))
        })
        .collect();
    let results = s.schedule_batch(&pods);
    let placed: std::collections::HashSet<String> = results[..10]
        .iter()
        .map(|r| r.as_ref().expect("first ten fit").node.to_string())
        .collect();
    assert_eq!(placed.len(), 10, "one per node");
    for r in &results[10..] {
        match r {
            Err(ScheduleError::Fit(e)) => assert_eq!(
                e.to_string(),
                "0/10 nodes are available: 10 node(s) didn't match pod anti-affinity rules. \
                 preemption: 0/10 nodes are available: 10 No preemption victims found for incoming pod.."
            ),
            other => panic!("expected a FitError, got {other:?}"),
        }
    }
}

/// A small deterministic generator for the randomized test below.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const KEYS: [&str; 3] = ["zone", "kubernetes.io/hostname", "rack"];

/// A random term: selector on `app`, one of three keys, namespaces from the
/// pod's own, a list, or (for existing pods only) a namespace selector.
fn random_term(g: &mut Lcg, ns_selector: bool) -> Value {
    let mut t = term(json!({"app": g.pick(&["a", "b"])}), g.pick(&KEYS));
    match g.below(if ns_selector { 4 } else { 2 }) {
        0 => {}
        1 => t["namespaces"] = json!([g.pick(&["ns-a", "ns-b"])]),
        2 => t["namespaceSelector"] = json!({}),
        _ => t["namespaceSelector"] = json!({"matchLabels": {"team": "x"}}),
    }
    t
}

/// A random pod: labels, and with probability 2/3 some terms of each kind
/// (`existing`: namespace selectors allowed, required terms too).
fn random_pod(g: &mut Lcg, name: &str, existing: bool) -> Value {
    let ns = g.pick(&["ns-a", "ns-b"]);
    let mut d = lpod(name, ns, json!({"app": g.pick(&["a", "b", "c"])}));
    if g.below(3) == 0 {
        return d;
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let n = |g: &mut Lcg| g.below(3) as usize;
        let req: Vec<Value> = if existing {
            (0..n(g)).map(|_| random_term(g, true)).collect()
        } else {
            Vec::new()
        };
        let pref: Vec<Value> = (0..n(g))
            .map(|_| {
                let w = [1, 2, 7][g.below(3) as usize];
                json!({"weight": w, "podAffinityTerm": random_term(g, existing)})
            })
            .collect();
        d = with_affinity(d, kind, json!(req), json!(pref));
    }
    d
}

/// What InterPodAffinity's PreFilter (existing pods' anti-affinity counts)
/// and PreScore compute, by walking every pod of every node (upstream's
/// definition), for an incoming pod whose terms name no namespace selector.
/// Returns (existing anti-affinity count per (key, value); None when
/// PreScore counted nothing, else each node's score).
#[allow(clippy::type_complexity)]
fn walk(
    c: &Cache,
    p: &PodInfo,
    hard: i64,
) -> (HashMap<(String, String), i64>, Option<HashMap<String, i64>>) {
    let ns_labels = c
        .namespace_labels(&p.namespace)
        .cloned()
        .unwrap_or_default();
    let mut anti = HashMap::new();
    let mut contributions: Vec<(String, String, i64)> = Vec::new();
    let empty = Labels::default();
    for &i in c.order() {
        let info = c.info(i);
        let labels = &info.node().labels;
        for ep in info.pods() {
            let et = ep.affinity_terms();
            for t in &et.required_anti_affinity {
                if let Some(v) = labels.get(&t.topology_key) {
                    if t.matches(&p.namespace, &p.labels, &ns_labels) {
                        *anti
                            .entry((t.topology_key.to_string(), v.to_string()))
                            .or_insert(0) += 1;
                    }
                }
            }
            let mut add = |t: &kubemu_sched::model::AffinityTerm, w: i64, matches: bool| {
                if let (true, Some(v)) = (matches, labels.get(&t.topology_key)) {
                    contributions.push((t.topology_key.to_string(), v.to_string(), w));
                }
            };
            let it = p.affinity_terms();
            for w in &it.preferred_affinity {
                add(
                    &w.term,
                    w.weight,
                    w.term.matches(&ep.namespace, &ep.labels, &empty),
                );
            }
            for w in &it.preferred_anti_affinity {
                add(
                    &w.term,
                    -w.weight,
                    w.term.matches(&ep.namespace, &ep.labels, &empty),
                );
            }
            if hard > 0 {
                for t in &et.required_affinity {
                    add(t, hard, t.matches(&p.namespace, &p.labels, &ns_labels));
                }
            }
            for w in &et.preferred_affinity {
                add(
                    &w.term,
                    w.weight,
                    w.term.matches(&p.namespace, &p.labels, &ns_labels),
                );
            }
            for w in &et.preferred_anti_affinity {
                add(
                    &w.term,
                    -w.weight,
                    w.term.matches(&p.namespace, &p.labels, &ns_labels),
                );
            }
        }
    }
    let scores = (!contributions.is_empty()).then(|| {
        c.order()
            .iter()
            .map(|&i| {
                let info = c.info(i);
                let labels = &info.node().labels;
                let s = contributions
                    .iter()
                    .filter(|(k, v, _)| labels.get(k) == Some(v.as_str()))
                    .map(|(_, _, w)| w)
                    .sum();
                (info.name().to_string(), s)
            })
            .collect()
    });
    (anti, scores)
}

/// Random clusters under churn (pods added, moved, removed; nodes
/// relabelled, removed, re-added): PreFilter's existing anti-affinity counts
/// and skip, and PreScore's scores and skip, equal the walk's.
#[test]
fn existing_pods_terms_equal_a_walk_under_churn() {
    let mut g = Lcg(11);
    let mut c = Cache::new();
    c.set_namespace("ns-a", Labels::from_pairs([("team", "x")]));
    c.set_namespace("ns-b", Labels::from_pairs([("team", "y")]));
    let (mut compared, mut skipped, mut scored) = (0, 0, 0);
    for step in 0..400 {
        let n = format!("n{}", g.below(8));
        match g.below(12) {
            0 => {
                c.remove_node(&n);
            }
            1..=2 => {
                let mut d = node_doc(&n, "4", "32Gi", 110);
                if g.below(4) == 0 {
                    d["metadata"]["labels"] = json!({});
                }
                d["metadata"]["labels"]["zone"] = json!(g.pick(&["z1", "z2", "z3"]));
                if g.below(2) == 0 {
                    d["metadata"]["labels"]["rack"] = json!(g.pick(&["r1", "r2"]));
                }
                c.add_node(node(&d));
            }
            3..=4 => {
                c.remove_pod(&format!("uid-e{}", g.below(40)));
            }
            _ => {
                let name = format!("e{}", g.below(40));
                c.add_pod(pod(&random_pod(&mut g, &name, true)), &n);
            }
        }
        if step % 5 != 0 {
            continue;
        }
        c.prepare();
        let incoming = pod(&random_pod(&mut g, "incoming", false));
        let hard = [0, 1, 5][g.below(3) as usize];
        let pl = InterPodAffinity::new(inter_pod_affinity::InterPodAffinityArgs {
            hard_pod_affinity_weight: Some(hard as i32),
            ..Default::default()
        })
        .unwrap();
        let (anti, scores) = walk(&c, &incoming, hard);

        let mut state = CycleState::new();
        let pf = pl
            .as_pre_filter()
            .unwrap()
            .pre_filter(&mut state, &incoming, &c);
        let own = incoming.affinity_terms();
        let has_required =
            !own.required_affinity.is_empty() || !own.required_anti_affinity.is_empty();
        match pf {
            Err(s) => {
                assert_eq!(s.code, Code::Skip);
                assert!(anti.is_empty() && !has_required);
            }
            Ok(_) => {
                let st = inter_pod_affinity::pre_filter_state(&state).unwrap();
                for &i in c.order() {
                    for (k, v) in c.info(i).node().labels.iter() {
                        let want = anti.get(&(k.to_string(), v.to_string())).copied();
                        assert_eq!(
                            st.existing_anti_affinity_counts.get(k, v),
                            want.unwrap_or(0),
                            "step {step}: {k}={v}"
                        );
                    }
                }
                assert_eq!(st.existing_anti_affinity_counts.is_empty(), anti.is_empty());
            }
        }

        let infos: Vec<&NodeInfo> = c.order().iter().map(|&i| c.info(i)).collect();
        if infos.is_empty() {
            continue;
        }
        let mut state = CycleState::new();
        let ps = pl
            .as_pre_score()
            .unwrap()
            .pre_score(&mut state, &incoming, &c, &infos);
        compared += 1;
        match (ps, scores) {
            (Err(s), None) => {
                assert_eq!(s.code, Code::Skip);
                skipped += 1;
            }
            (Ok(()), Some(want)) => {
                for info in &infos {
                    let got = pl
                        .as_score()
                        .unwrap()
                        .score(&state, &incoming, info)
                        .unwrap();
                    assert_eq!(got, want[info.name()], "step {step}: {}", info.name());
                }
                scored += 1;
            }
            (ps, want) => panic!("step {step}: pre_score {ps:?}, walk {want:?}"),
        }
    }
    // The run covers both outcomes.
    assert!(
        compared > 50 && skipped > 0 && scored > 0,
        "{compared} {skipped} {scored}"
    );
}
