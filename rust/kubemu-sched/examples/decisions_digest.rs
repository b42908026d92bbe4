//! A digest of every scheduling decision on a varied cluster (allocatables,
//! PreferNoSchedule/NoSchedule taints, unschedulable nodes, images, extended
//! resources, pods with and without requests, tolerations, node selectors,
//! preferred affinity, host ports), with per-plugin scores recorded. Two
//! builds that print the same digest made the same decisions: a check that
//! a speed-up changed nothing.
//!
//! `cargo run --release -p kubemu-sched --example decisions_digest [NODES] [PODS] [PCT]`
//!
//! `KUBEMU_SCHED_THREADS=1` keeps every pass on one thread;
//! `KUBEMU_SCHED_MIN_PARALLEL_NODES=2 KUBEMU_SCHED_ALWAYS_SHARE=1` shares even small passes with the
//! helper thread (the digest must not change either way).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use kubemu_sched::{Node, PodInfo, Profile, Scheduler, SchedulerOptions};
use serde_json::json;

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

fn main() {
    let mut args = std::env::args().skip(1);
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let pods: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4000);
    let pct: i32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let mut r = Lcg(42);
    let mut s = Scheduler::new(
        Profile::default_profile(),
        SchedulerOptions {
            seed: 7,
            record_scores: true,
            percentage_of_nodes_to_score: pct,
        },
    );
    for i in 0..nodes {
        let mut taints = Vec::new();
        match r.next(10) {
            0 => taints.push(json!({"key": "soft", "value": "x", "effect": "PreferNoSchedule"})),
            1 => taints.push(json!({"key": "hard", "value": "y", "effect": "NoSchedule"})),
            _ => {}
        }
        let mut alloc = json!({"cpu": format!("{}", 1 + r.next(8)), "memory": format!("{}Gi", 1 + r.next(32)), "pods": format!("{}", 5 + r.next(30))});
        if r.next(5) == 0 {
            alloc["example.com/gpu"] = json!(format!("{}", r.next(4)));
        }
        let images = if r.next(3) == 0 {
            json!([{"names": ["big:1"], "sizeBytes": 500_000_000}])
        } else {
            json!([{"names": ["registry.k8s.io/pause:3.10"], "sizeBytes": 300_000}])
        };
        let doc = json!({"metadata": {"name": format!("node-{i}"),
                "labels": {"kubernetes.io/hostname": format!("node-{i}"), "topology.kubernetes.io/zone": format!("zone-{}", i % 3), "tier": format!("t{}", r.next(3))}},
            "spec": {"taints": taints, "unschedulable": r.next(50) == 0},
            "status": {"allocatable": alloc, "images": images}});
        s.cache_mut()
            .add_node(Node::from_msgpack(&rmp_serde::to_vec_named(&doc).unwrap()).unwrap());
    }
    let mut h = DefaultHasher::new();
    let mut ok = 0;
    for i in 0..pods {
        let mut requests = json!({});
        if r.next(4) != 0 {
            requests["cpu"] = json!(format!("{}m", 50 * (1 + r.next(20))));
            requests["memory"] = json!(format!("{}Mi", 100 * (1 + r.next(20))));
        }
        if r.next(10) == 0 {
            requests["example.com/gpu"] = json!("1");
        }
        let image = if r.next(2) == 0 {
            "big:1"
        } else {
            "registry.k8s.io/pause:3.10"
        };
        let mut container =
            json!({"name": "c", "image": image, "resources": {"requests": requests}});
        if r.next(20) == 0 {
            container["ports"] = json!([{"containerPort": 80, "hostPort": 8000 + r.next(3)}]);
        }
        let mut spec = json!({"containers": [container]});
        if r.next(4) == 0 {
            spec["tolerations"] = json!([{"key": "soft", "operator": "Exists"}]);
        }
        if r.next(6) == 0 {
            spec["nodeSelector"] = json!({"tier": format!("t{}", r.next(3))});
        }
        if r.next(5) == 0 {
            spec["affinity"] = json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 1 + r.next(50), "preference": {"matchExpressions": [{"key": "tier", "operator": "In", "values": [format!("t{}", r.next(3))]}]}}]}});
        }
        let doc = json!({"metadata": {"name": format!("pod-{i}"), "namespace": "default", "uid": format!("uid-{i}")}, "spec": spec});
        let pod = Arc::new(PodInfo::from_msgpack(&rmp_serde::to_vec_named(&doc).unwrap()).unwrap());
        match s.schedule_one(&pod) {
            Ok(res) => {
                ok += 1;
                res.node.hash(&mut h);
                res.evaluated_nodes.hash(&mut h);
                res.feasible_nodes.hash(&mut h);
                for ns in res.scores.iter().flatten() {
                    ns.node.hash(&mut h);
                    ns.total.hash(&mut h);
                    ns.plugins.hash(&mut h);
                }
            }
            Err(e) => e.to_string().hash(&mut h),
        }
        s.next_start_node_index().hash(&mut h);
    }
    println!(
        "nodes={nodes} pods={pods} pct={pct} scheduled={ok} digest={:016x}",
        h.finish()
    );
}
