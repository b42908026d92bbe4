//! In-core preemption cost, shaped like scheduler_perf's PreemptionBasic:
//! NODES nodes (4 cpu) each full with four 900m priority-0 pods, then PODS
//! priority-10 3-CPU pods, each needing three victims. Every pod fails its
//! filter pass and preempts (the victims are not removed here, so later pods
//! must avoid the nodes nominated before them). Prints preemptions/s.
//!
//! `cargo run --release -p kubemu-sched --example bench_preemption [NODES] [PODS]`
//! (defaults 5000 × 1000).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use kubemu_sched::{Node, PodInfo, Profile, ScheduleError, Scheduler, SchedulerOptions};
use serde_json::json;

fn pod(name: &str, cpu: &str, prio: i32, node: Option<&str>) -> Arc<PodInfo> {
    let mut spec = json!({"priority": prio, "containers": [{"name": "pause",
        "image": "registry.k8s.io/pause:3.10",
        "resources": {"requests": {"cpu": cpu, "memory": "500Mi"}}}]});
    if let Some(n) = node {
        spec["nodeName"] = json!(n);
    }
    let doc = json!({"metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
        "spec": spec});
    Arc::new(PodInfo::from_msgpack(&rmp_serde::to_vec_named(&doc).unwrap()).unwrap())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let pods: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let mut s = Scheduler::new(
        Profile::default_profile(),
        SchedulerOptions {
            seed: 1,
            ..Default::default()
        },
    );
    for i in 0..nodes {
        let name = format!("node-{i}");
        let doc = json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"}}});
        s.cache_mut()
            .add_node(Node::from_msgpack(&rmp_serde::to_vec_named(&doc).unwrap()).unwrap());
        for k in 0..4 {
            let p = pod(&format!("low-{i}-{k}"), "900m", 0, Some(&name));
            s.cache_mut().add_pod(p, &name);
        }
    }
    let batch: Vec<Arc<PodInfo>> = (0..pods)
        .map(|i| pod(&format!("high-{i}"), "3", 10, None))
        .collect();
    let t = Instant::now();
    let results = s.schedule_batch(&batch);
    let elapsed = t.elapsed();
    let preempted = results
        .iter()
        .filter(|r| matches!(r, Err(ScheduleError::Fit(e)) if e.post_filter_result().is_some_and(|p| !p.victims.is_empty())))
        .count();
    // The decisions (nominated node and victims per pod), hashed: two builds
    // printing the same digest preempted the same pods for the same nodes.
    let mut h = DefaultHasher::new();
    for r in &results {
        match r {
            Err(ScheduleError::Fit(e)) => {
                e.to_string().hash(&mut h);
                if let Some(p) = e.post_filter_result() {
                    p.nominated_node.hash(&mut h);
                    for v in p.victims.iter().chain(&p.cleared_nominations) {
                        v.key().hash(&mut h);
                    }
                }
            }
            Ok(res) => res.node.hash(&mut h),
            Err(e) => e.to_string().hash(&mut h),
        }
    }
    println!(
        "nodes={nodes} pods={pods} preempted={preempted} s={:.3} per_pod_ms={:.3} pods_per_s={:.0} digest={:016x}",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / pods as f64,
        pods as f64 / elapsed.as_secs_f64(),
        h.finish()
    );
}
