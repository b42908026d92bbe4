//! In-core throughput of the topology workloads of scheduler_perf
//! (`python/kubemu/bench/scheduler_perf/configs/performance-config.yaml`):
//!
//! - `spread` (TopologySpreading): nodes labelled with zones moon-1..3,
//!   INIT default pods, then MEASURE pods with a `DoNotSchedule` zone
//!   constraint (maxSkew 5, selector `color=blue`).
//! - `preferred` (PreferredTopologySpreading): the same with `ScheduleAnyway`.
//! - `anti` (SchedulingPodAntiAffinity): INIT pods in `sched-0`, then MEASURE
//!   pods in `sched-1`, all with required anti-affinity on hostname
//!   (`color=green`, namespaces `sched-0`/`sched-1`).
//! - `mixed` (MixedSchedulingBasePod): nodes all in zone `zone1`; in
//!   `sched-0`, INIT default pods, then INIT pods of each of the templates
//!   `pod-with-pod-affinity` (required, zone), `pod-with-pod-anti-affinity`
//!   (required, hostname), `pod-with-preferred-pod-affinity` and
//!   `pod-with-preferred-pod-anti-affinity` (weight 1, hostname); then
//!   MEASURE default pods.
//!
//! `cargo run --release -p kubemu-sched --example bench_topology WORKLOAD [NODES] [INIT] [MEASURE]`
//! (defaults 5000 nodes; spread/preferred 5000 + 5000 pods, anti 1000 + 2000,
//! mixed 2000 per template + 5000).
//! Prints one line of `key=value` pairs: pods/s of the measured pods'
//! scheduling loop (wall and, where `/proc/thread-self/schedstat` exists,
//! thread CPU time), and a digest of the measured decisions (node names) so
//! two builds can be checked for equal decisions (for `mixed`, the INIT
//! pods' decisions are in the digest too: they are the pods with terms).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use kubemu_sched::{Node, PodInfo, Profile, Scheduler, SchedulerOptions};
use serde_json::{json, Value};

fn pod(name: &str, ns: &str, labels: Value, spec_extra: Value) -> Arc<PodInfo> {
    let mut spec = json!({"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
        "ports": [{"containerPort": 80}],
        "resources": {"requests": {"cpu": "100m", "memory": "500Mi"},
                      "limits": {"cpu": "100m", "memory": "500Mi"}}}]});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), spec_extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    let doc = json!({"metadata": {"name": name, "namespace": ns, "uid": format!("uid-{ns}-{name}"),
        "labels": labels}, "spec": spec});
    Arc::new(PodInfo::from_msgpack(&rmp_serde::to_vec_named(&doc).unwrap()).unwrap())
}

fn spread_pod(i: usize, when: &str) -> Arc<PodInfo> {
    pod(
        &format!("spreading-pod-{i}"),
        "default",
        json!({"color": "blue"}),
        json!({"topologySpreadConstraints": [{"maxSkew": 5,
            "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": {"color": "blue"}}}]}),
    )
}

fn anti_pod(i: usize, ns: &str) -> Arc<PodInfo> {
    pod(
        &format!("anti-affinity-pod-{i}"),
        ns,
        json!({"color": "green", "name": "test"}),
        json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"color": "green"}},
             "topologyKey": "kubernetes.io/hostname", "namespaces": ["sched-1", "sched-0"]}]}}}),
    )
}

/// The pods of scheduler_perf's affinity templates (labels and terms as in
/// `python/kubemu/bench/scheduler_perf/configs/templates/`), in `sched-0`.
fn template_pod(template: &str, i: usize) -> Arc<PodInfo> {
    let term = |labels: Value, key: &str| {
        json!({"labelSelector": {"matchLabels": labels}, "topologyKey": key,
            "namespaces": ["sched-1", "sched-0"]})
    };
    let (labels, affinity) = match template {
        "pod-with-pod-affinity" => (
            json!({"foo": ""}),
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                term(json!({"foo": ""}), "topology.kubernetes.io/zone")]}}),
        ),
        "pod-with-pod-anti-affinity" => (
            json!({"color": "green", "name": "test"}),
            json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                term(json!({"color": "green"}), "kubernetes.io/hostname")]}}),
        ),
        "pod-with-preferred-pod-affinity" => (
            json!({"foo": ""}),
            json!({"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"podAffinityTerm": term(json!({"foo": ""}), "kubernetes.io/hostname"),
                 "weight": 1}]}}),
        ),
        "pod-with-preferred-pod-anti-affinity" => (
            json!({"foo": ""}),
            json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"podAffinityTerm": term(json!({"foo": ""}), "kubernetes.io/hostname"),
                 "weight": 1}]}}),
        ),
        t => panic!("unknown template {t}"),
    };
    pod(
        &format!("{template}-{i}"),
        "sched-0",
        labels,
        json!({ "affinity": affinity }),
    )
}

const MIXED_TEMPLATES: [&str; 4] = [
    "pod-with-pod-affinity",
    "pod-with-pod-anti-affinity",
    "pod-with-preferred-pod-affinity",
    "pod-with-preferred-pod-anti-affinity",
];

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "spread".into());
    let anti = workload == "anti";
    let mixed = workload == "mixed";
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let init: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(if anti {
        1000
    } else if mixed {
        2000
    } else {
        5000
    });
    let measure: usize =
        args.next()
            .and_then(|a| a.parse().ok())
            .unwrap_or(if anti { 2000 } else { 5000 });

    let profile = Profile::build(
        &Profile::default_config(),
        &kubemu_sched::Registry::in_tree(),
    )
    .expect("profile");
    let mut s = Scheduler::new(
        profile,
        SchedulerOptions {
            seed: 1,
            ..Default::default()
        },
    );
    for i in 0..nodes {
        let zone = if anti || mixed {
            "zone1".to_string()
        } else {
            format!("moon-{}", i % 3 + 1)
        };
        let doc = json!({"metadata": {"name": format!("scheduler-perf-{i}"),
                "labels": {"kubernetes.io/hostname": format!("scheduler-perf-{i}"),
                    "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "region1"}},
            "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"}}});
        s.cache_mut()
            .add_node(Node::from_msgpack(&rmp_serde::to_vec_named(&doc).unwrap()).unwrap());
    }
    if anti || mixed {
        for ns in ["sched-0", "sched-1"] {
            s.cache_mut()
                .set_namespace(ns, kubemu_sched::model::Labels::default());
        }
    }
    let mut init_pods: Vec<Arc<PodInfo>> = (0..init)
        .map(|i| {
            if anti {
                anti_pod(i, "sched-0")
            } else {
                let ns = if mixed { "sched-0" } else { "default" };
                pod(&format!("pod-{i}"), ns, json!({}), json!({}))
            }
        })
        .collect();
    if mixed {
        for t in MIXED_TEMPLATES {
            init_pods.extend((0..init).map(|i| template_pod(t, i)));
        }
    }
    let measured: Vec<Arc<PodInfo>> = (0..measure)
        .map(|i| match workload.as_str() {
            "anti" => anti_pod(i, "sched-1"),
            "preferred" => spread_pod(i, "ScheduleAnyway"),
            "spread" => spread_pod(i, "DoNotSchedule"),
            "mixed" => pod(&format!("measured-{i}"), "default", json!({}), json!({})),
            w => panic!("unknown workload {w:?}: spread, preferred, anti or mixed"),
        })
        .collect();
    let t = Instant::now();
    let init_results = s.schedule_batch(&init_pods);
    let init_s = t.elapsed().as_secs_f64();
    let init_ok = init_results.iter().filter(|r| r.is_ok()).count();

    let cpu0 = thread_cpu_ns();
    let t = Instant::now();
    let results = s.schedule_batch(&measured);
    let elapsed = t.elapsed();
    let cpu = thread_cpu_ns().zip(cpu0).map(|(b, a)| (b - a) as f64 / 1e9);
    let mut h = DefaultHasher::new();
    if mixed {
        for r in &init_results {
            match r {
                Ok(r) => r.node.hash(&mut h),
                Err(_) => "-".hash(&mut h),
            }
        }
    }
    let mut ok = 0;
    for r in &results {
        match r {
            Ok(r) => {
                ok += 1;
                r.node.hash(&mut h);
            }
            Err(_) => "-".hash(&mut h),
        }
    }
    let cpu_rate = cpu.map_or("n/a".to_string(), |c| format!("{:.0}", measure as f64 / c));
    println!(
        "workload={workload} nodes={nodes} init={init} init_scheduled={init_ok} init_s={init_s:.3} measure={measure} scheduled={ok} schedule_s={:.3} pods_per_s={:.0} cpu_pods_per_s={cpu_rate} digest={:016x}",
        elapsed.as_secs_f64(),
        measure as f64 / elapsed.as_secs_f64(),
        h.finish()
    );
}

/// This thread's CPU time in ns (`/proc/thread-self/schedstat`'s first
/// field), if the file exists.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
