//! The engine's shortcuts give the plugins' own answers: a Filter plugin's
//! `hot_accept` condition implies its `filter` accepts, `score_nodes` (fed
//! the dense hot blocks) equals `score` node by node, and the cache's dense
//! hot array follows every node and pod change.

mod common;

use common::*;
use kubemu_sched::cache::{NodeIdx, IMAGES_INLINE, IMAGES_SPILLED};
use kubemu_sched::framework::{Code, CycleState};
use kubemu_sched::{Cache, PodInfo, Profile};
use serde_json::{json, Value};

/// Nodes across the hot fields: full pod slots, over-committed and empty
/// nodes, unschedulable and tainted ones, extended and ephemeral
/// resources, inline and spilled image lists.
fn varied_nodes() -> Vec<Value> {
    let mut nodes = Vec::new();
    for i in 0..24 {
        let name = format!("n{i}");
        let mut d = node_doc(&name, ["1", "4", "500m"][i % 3], ["1Gi", "32Gi"][i % 2], 2);
        if i % 4 == 0 {
            set(&mut d, &["spec", "unschedulable"], json!(true));
        }
        if i % 5 == 0 {
            let effect = ["NoSchedule", "PreferNoSchedule"][i % 2];
            set(
                &mut d,
                &["spec", "taints"],
                json!([{"key": "k", "value": "v", "effect": effect}]),
            );
        }
        if i % 3 == 0 {
            set(
                &mut d,
                &["status", "allocatable", "example.com/gpu"],
                json!("1"),
            );
            set(
                &mut d,
                &["status", "allocatable", "ephemeral-storage"],
                json!("1Gi"),
            );
        }
        // 1, IMAGES_INLINE or more than that: inline and spilled lists,
        // the pod's image among them on some nodes.
        let count = [1, IMAGES_INLINE, IMAGES_INLINE + 4][i % 3];
        let images: Vec<Value> = (0..count)
            .map(|k| {
                let name = if k == count - 1 && i % 2 == 0 {
                    "app:1".to_string()
                } else {
                    format!("other-{i}-{k}:1")
                };
                json!({"names": [name], "sizeBytes": 400 * 1024 * 1024})
            })
            .collect();
        set(&mut d, &["status", "images"], json!(images));
        nodes.push(d);
    }
    nodes
}

fn varied_pods() -> Vec<std::sync::Arc<PodInfo>> {
    let mut pods = Vec::new();
    for (i, (cpu, mem)) in [
        (None, None),
        (Some("100m"), Some("500Mi")),
        (Some("3"), None),
        (None, Some("40Gi")),
        (Some("0"), Some("0")),
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = pod_doc(&format!("p{i}"), cpu, mem);
        d["spec"]["containers"][0]["image"] = json!("app:1");
        pods.push(pod(&d));
    }
    let mut gpu = pod_doc("gpu", Some("100m"), None);
    set(
        &mut gpu,
        &["spec", "containers"],
        json!([{"name": "c", "image": "app:1", "resources": {"requests": {"example.com/gpu": "1", "ephemeral-storage": "2Gi"}}}]),
    );
    pods.push(pod(&gpu));
    let mut tolerant = pod_doc("tolerant", Some("100m"), None);
    set(
        &mut tolerant,
        &["spec", "tolerations"],
        json!([{"operator": "Exists"}]),
    );
    pods.push(pod(&tolerant));
    pods
}

/// The cache with the nodes, and every third node carrying two pods (so
/// some are full, some over-committed).
fn loaded_cache() -> Cache {
    let mut c = Cache::new();
    for n in varied_nodes() {
        c.add_node(node(&n));
    }
    for i in (0..24).step_by(3) {
        for k in 0..2 {
            c.add_pod(
                pod(&pod_doc(
                    &format!("bound-{i}-{k}"),
                    Some("300m"),
                    Some("600Mi"),
                )),
                &format!("n{i}"),
            );
        }
    }
    c.prepare();
    c
}

fn live_slots(c: &Cache) -> Vec<NodeIdx> {
    c.order().to_vec()
}

#[test]
fn hot_accept_implies_filter_accepts() {
    let c = loaded_cache();
    let profile = Profile::default_profile();
    let mut shortcuts = 0;
    let mut accepted_by_shortcut = 0;
    for pod in varied_pods() {
        let state = CycleState::new();
        for p in &profile.plugins {
            let Some(f) = p.as_filter() else { continue };
            let Some(cond) = f.hot_accept(&state, &pod) else {
                continue;
            };
            shortcuts += 1;
            for idx in live_slots(&c) {
                let info = c.info(idx);
                assert_eq!(c.hot(idx), info.hot());
                if cond.holds(c.hot(idx)) {
                    accepted_by_shortcut += 1;
                    assert_eq!(
                        f.filter(&state, &pod, info),
                        Ok(()),
                        "{} shortcut accepted {} for {}",
                        p.name(),
                        info.name(),
                        pod.name
                    );
                }
            }
        }
    }
    // Three plugins of the default profile have shortcuts; the gpu pod has
    // none from NodeResourcesFit.
    assert_eq!(shortcuts, 3 * varied_pods().len() - 1);
    assert!(accepted_by_shortcut > 0);
}

#[test]
fn resource_fit_has_no_shortcut_for_extended_requests() {
    let profile = Profile::default_profile();
    let fit = profile
        .plugins
        .iter()
        .find(|p| p.name() == "NodeResourcesFit")
        .unwrap();
    let pods = varied_pods();
    let gpu = pods.iter().find(|p| &*p.name == "gpu").unwrap();
    let f = fit.as_filter().unwrap();
    assert_eq!(f.hot_accept(&CycleState::new(), gpu), None);
    let cond = f
        .hot_accept(&CycleState::new(), &pods[1])
        .expect("cpu/memory pod");
    assert!(cond.pod_slot);
    assert_eq!((cond.milli_cpu, cond.memory), (100, 500 * 1024 * 1024));
}

#[test]
fn score_nodes_equals_score_per_node() {
    let c = loaded_cache();
    let profile = Profile::default_profile();
    let slots = live_slots(&c);
    let infos: Vec<_> = slots.iter().map(|&i| c.info(i)).collect();
    let hot: Vec<_> = slots.iter().map(|&i| *c.hot(i)).collect();
    let mut compared = std::collections::BTreeSet::new();
    for pod in varied_pods() {
        let mut state = CycleState::new();
        let mut skipped = Vec::new();
        for p in &profile.plugins {
            if let Some(ps) = p.as_pre_score() {
                match ps.pre_score(&mut state, &pod, &c, &infos) {
                    Ok(()) => {}
                    Err(s) if s.code == Code::Skip => skipped.push(p.name()),
                    Err(s) => panic!("{}: {s}", p.name()),
                }
            }
        }
        for p in &profile.plugins {
            let Some(sp) = p.as_score() else { continue };
            if skipped.contains(&p.name()) {
                continue;
            }
            let mut out = vec![-1; 3];
            sp.score_nodes(&state, &pod, &infos, &hot, &mut out)
                .unwrap();
            let one_by_one: Vec<i64> = infos
                .iter()
                .map(|n| sp.score(&state, &pod, n).unwrap())
                .collect();
            assert_eq!(out, one_by_one, "{} for {}", p.name(), pod.name);
            // Any split of the list gives the same scores.
            let (a, b) = (&infos[..7], &hot[..7]);
            sp.score_nodes(&state, &pod, a, b, &mut out).unwrap();
            assert_eq!(out, one_by_one[..7], "{} on a slice", p.name());
            compared.insert(p.name());
        }
    }
    assert_eq!(
        compared.into_iter().collect::<Vec<_>>(),
        [
            "ImageLocality",
            "NodeResourcesBalancedAllocation",
            "NodeResourcesFit",
            "TaintToleration"
        ]
    );
}

#[test]
fn image_ids_inline_and_spilled() {
    let c = loaded_cache();
    let app = c.image_id("app:1").expect("reported");
    let mut spilled = 0;
    for idx in live_slots(&c) {
        let info = c.info(idx);
        let i: usize = info.name()[1..].parse().unwrap();
        let has = i.is_multiple_of(2);
        assert_eq!(info.has_image(app), has, "{}", info.name());
        let h = c.hot(idx);
        if i % 3 == 2 {
            spilled += 1;
            assert_eq!(h.images_inline_len, IMAGES_SPILLED);
            assert_eq!(h.has_image(app), None);
        } else {
            assert_eq!(h.has_image(app), Some(has));
        }
    }
    assert_eq!(spilled, 8);
}

#[test]
fn dense_hot_blocks_follow_changes() {
    let mut c = loaded_cache();
    let check = |c: &Cache| {
        for idx in c.order() {
            assert_eq!(c.hot(*idx), c.info(*idx).hot());
            assert!(c.hot(*idx).live);
        }
    };
    check(&c);
    let idx = c.index_of("n3").unwrap();
    assert_eq!(c.hot(idx).num_pods, 2);
    assert_eq!(c.hot(idx).req_milli_cpu, 600);
    assert!(c.remove_pod("uid-bound-3-0"));
    assert_eq!(c.hot(idx).num_pods, 1);
    assert_eq!(c.hot(idx).req_milli_cpu, 300);
    // A node with pods left stays live without its node object…
    assert!(c.remove_node("n3"));
    c.prepare();
    assert!(c.hot(idx).live);
    assert_eq!(c.hot(idx).alloc_milli_cpu, 0);
    // …and its slot is freed with the last pod.
    assert!(c.remove_pod("uid-bound-3-1"));
    assert!(!c.hot(idx).live);
    check(&c);
    // A new node reuses the slot with its own block.
    c.add_node(node(&node_doc("fresh", "8", "16Gi", 50)));
    c.prepare();
    let fresh = c.index_of("fresh").unwrap();
    assert_eq!(fresh, idx);
    assert_eq!(c.hot(fresh).alloc_milli_cpu, 8000);
    assert_eq!(c.hot(fresh).num_pods, 0);
    check(&c);
}
