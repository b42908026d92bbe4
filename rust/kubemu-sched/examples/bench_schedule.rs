//! In-core throughput: the default profile scheduling pods onto a cluster
//! like scheduler_perf's SchedulingBasic (nodes 4 cpu / 32Gi / 110 pods,
//! pods 100m / 500Mi), decoded from msgpack like the apiserver's bytes.
//!
//! `cargo run --release -p kubemu-sched --example bench_schedule [NODES] [PODS] [PCT]`
//! (defaults 5000 × 10000, PCT 0). PCT is `percentageOfNodesToScore`: 0 is
//! upstream's adaptive sampling, 100 scores all nodes. Prints pods/s for the
//! scheduling loop only (decoding is timed separately), and where Linux's
//! `/proc/thread-self/schedstat` exists also `cpu_pods_per_s`: pods per
//! second of the thread's own CPU time (less sensitive to other processes
//! on a shared machine; compare runs with both), and `proc_cpu_pods_per_s`:
//! the same over the CPU time of all the process's threads (the scheduler's
//! helper thread included, see `KUBEMU_SCHED_THREADS`; `threads=` shows
//! the scheduler's setting). With `BENCH_WITHOUT_TOPOLOGY=1` the
//! profile leaves out PodTopologySpread and InterPodAffinity (an A/B of
//! their cost on pods without spread or affinity terms); with
//! `BENCH_WITHOUT=Name,Name` it leaves out the named plugins (each
//! plugin's share of the time).

use std::sync::Arc;
use std::time::Instant;

use kubemu_sched::{Node, PodInfo, Profile, Scheduler, SchedulerOptions};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let pods: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let pct: i32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);

    let mut cfg = Profile::default_config();
    if std::env::var_os("BENCH_WITHOUT_TOPOLOGY").is_some() {
        cfg.multi_point
            .retain(|p| p.name != "PodTopologySpread" && p.name != "InterPodAffinity");
    }
    if let Ok(w) = std::env::var("BENCH_WITHOUT") {
        let names: Vec<String> = w.split(',').map(String::from).collect();
        cfg.multi_point
            .retain(|p| !names.contains(&p.name.to_string()));
    }
    let profile = Profile::build(&cfg, &kubemu_sched::Registry::in_tree()).expect("profile");
    let mut s = Scheduler::new(
        profile,
        SchedulerOptions {
            seed: 1,
            percentage_of_nodes_to_score: pct,
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

    let cpu0 = thread_cpu_ns();
    let pcpu0 = process_cpu_ns();
    let t1 = Instant::now();
    let results = s.schedule_batch(&batch);
    let elapsed = t1.elapsed();
    let cpu = thread_cpu_ns().zip(cpu0).map(|(b, a)| (b - a) as f64 / 1e9);
    let pcpu = process_cpu_ns()
        .zip(pcpu0)
        .map(|(b, a)| b.saturating_sub(a) as f64 / 1e9);
    let pcpu_rate = pcpu.map_or("n/a".to_string(), |c| format!("{:.0}", pods as f64 / c));
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let ps = s.parallel_stats();
    let cpu_rate = cpu.map_or("n/a".to_string(), |c| format!("{:.0}", pods as f64 / c));
    println!(
        "nodes={nodes} pods={pods} pct={pct} threads={} scheduled={ok} schedule_s={:.3} pods_per_s={:.0} cpu_pods_per_s={cpu_rate} proc_cpu_pods_per_s={pcpu_rate} shared_passes={} helper_chunks={} own_ms={:.1} waited_ms={:.1} shared_pods={} solo_pods={} (pod decode incl. encode: {:.0} pods/s)",
        s.threads(),
        elapsed.as_secs_f64(),
        pods as f64 / elapsed.as_secs_f64(),
        ps.shared_passes,
        ps.helper_chunks,
        ps.own_ns as f64 / 1e6,
        ps.waited_ns as f64 / 1e6,
        ps.shared_pods,
        ps.solo_pods,
        pods as f64 / decode.as_secs_f64()
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

/// The CPU time in ns of all the process's threads alive now (the sum of
/// `/proc/self/task/*/schedstat`'s first fields), if those files exist.
fn process_cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    for e in std::fs::read_dir("/proc/self/task").ok()? {
        let p = e.ok()?.path().join("schedstat");
        let s = std::fs::read_to_string(p).ok()?;
        total += s.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}
