//! In-core throughput: the default profile scheduling pods onto a cluster
//! like scheduler_perf's SchedulingBasic (nodes 4 cpu / 32Gi / 110 pods,
//! pods 100m / 500Mi), decoded from msgpack like the apiserver's bytes.
//!
//! `cargo run --release -p kubemu-sched --example bench_schedule [NODES] [PODS]`
//! (defaults 5000 × 10000). Prints pods/s for the scheduling loop only
//! (decoding is timed separately). With `BENCH_WITHOUT_TOPOLOGY=1` the
//! profile leaves out PodTopologySpread and InterPodAffinity (an A/B of
//! their cost on pods without spread or affinity terms).

use std::sync::Arc;
use std::time::Instant;

use kubemu_sched::{Node, PodInfo, Profile, Scheduler, SchedulerOptions};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let pods: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);

    let mut cfg = Profile::default_config();
    if std::env::var_os("BENCH_WITHOUT_TOPOLOGY").is_some() {
        cfg.multi_point
            .retain(|p| p.name != "PodTopologySpread" && p.name != "InterPodAffinity");
    }
    let profile = Profile::build(&cfg, &kubemu_sched::Registry::in_tree()).expect("profile");
    let mut s = Scheduler::new(
        profile,
        SchedulerOptions {
            seed: 1,
            ..Default::default()
        },
    );
    for i in 0..nodes {
        let doc = json!({"metadata": {"name": format!("node-{i}"),
                "labels": {"kubernetes.io/hostname": format!("node-{i}"), "topology.kubernetes.io/zone": format!("zone-{}", i % 3)}},
            "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"},
                "images": [{"names": ["registry.k8s.io/pause:3.10"], "sizeBytes": 300_000}]}});
        s.cache_mut()
            .add_node(Node::from_msgpack(&rmp_serde::to_vec_named(&doc).unwrap()).unwrap());
    }
    let t0 = Instant::now();
    let batch: Vec<Arc<PodInfo>> = (0..pods)
        .map(|i| {
            let doc = json!({"metadata": {"name": format!("pod-{i}"), "namespace": "default", "uid": format!("uid-{i}")},
                "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}});
            Arc::new(PodInfo::from_msgpack(&rmp_serde::to_vec_named(&doc).unwrap()).unwrap())
        })
        .collect();
    let decode = t0.elapsed();

    let t1 = Instant::now();
    let results = s.schedule_batch(&batch);
    let elapsed = t1.elapsed();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    println!(
        "nodes={nodes} pods={pods} scheduled={ok} schedule_s={:.3} pods_per_s={:.0} (pod decode incl. encode: {:.0} pods/s)",
        elapsed.as_secs_f64(),
        pods as f64 / elapsed.as_secs_f64(),
        pods as f64 / decode.as_secs_f64()
    );
}
