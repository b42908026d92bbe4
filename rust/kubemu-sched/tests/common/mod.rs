//! Builders: Kubernetes-shaped documents as serde_json values, encoded to
//! msgpack the way the apiserver stores them, then decoded by the crate.
#![allow(dead_code)]

use std::sync::Arc;

use kubemu_sched::{Node, PodInfo, Profile, Scheduler, SchedulerOptions};
use serde_json::{json, Value};

pub fn msgpack(v: &Value) -> Vec<u8> {
    rmp_serde::to_vec_named(v).expect("encode")
}

pub fn node_doc(name: &str, cpu: &str, mem: &str, pods: i64) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {"allocatable": {"cpu": cpu, "memory": mem, "pods": pods.to_string()}}
    })
}

pub fn node(v: &Value) -> Node {
    Node::from_msgpack(&msgpack(v)).expect("node decodes")
}

pub fn pod_doc(name: &str, cpu: Option<&str>, mem: Option<&str>) -> Value {
    let mut req = serde_json::Map::new();
    if let Some(c) = cpu {
        req.insert("cpu".into(), json!(c));
    }
    if let Some(m) = mem {
        req.insert("memory".into(), json!(m));
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                  "resources": {"requests": Value::Object(req)}}]}
    })
}

pub fn pod(v: &Value) -> Arc<PodInfo> {
    Arc::new(PodInfo::from_msgpack(&msgpack(v)).expect("pod decodes"))
}

pub fn scheduler(seed: u64) -> Scheduler {
    Scheduler::new(
        Profile::default_profile(),
        SchedulerOptions {
            seed,
            record_scores: true,
            ..SchedulerOptions::default()
        },
    )
}

/// Sets `doc[path...] = value`, creating objects on the way.
pub fn set(doc: &mut Value, path: &[&str], value: Value) {
    let mut cur = doc;
    for p in &path[..path.len() - 1] {
        if cur.get(*p).is_none() {
            cur[*p] = json!({});
        }
        cur = &mut cur[*p];
    }
    cur[path[path.len() - 1]] = value;
}
