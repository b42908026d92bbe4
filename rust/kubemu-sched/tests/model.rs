//! Decoding and upstream's request arithmetic.

mod common;

use common::*;
use kubemu_sched::quantity::Quantity;
use kubemu_sched::{Node, PodInfo};
use serde_json::json;

#[test]
fn quantities_round_up_like_upstream() {
    let q = |s: &str| Quantity::parse(s).unwrap();
    assert_eq!(q("500m").milli_value(), 500);
    assert_eq!(q("2").milli_value(), 2000);
    assert_eq!(q("1Gi").value(), 1 << 30);
    assert_eq!(q("100Mi").value(), 100 * 1024 * 1024);
    assert_eq!(q("1e3").value(), 1000);
    assert_eq!(q("1E3").value(), 1000);
    assert_eq!(q("1E").value(), 1_000_000_000_000_000_000);
    assert_eq!(q("1.5Ki").value(), 1536);
    assert_eq!(q("0.1").milli_value(), 100);
    assert_eq!(q("0.5m").milli_value(), 1, "milli rounds up");
    assert_eq!(q("1500m").value(), 2, "value rounds up");
    assert_eq!(q("1n").milli_value(), 1);
    assert_eq!(q("+.5").milli_value(), 500);
    assert_eq!(q("12Ei").value(), i64::MAX, "saturates");
    for bad in ["", "abc", "1Kb", "1.2.3", "e3", "1e", "Mi", " 1"] {
        assert!(Quantity::parse(bad).is_err(), "{bad:?} must not parse");
    }
}

#[test]
fn exact_sums_before_rounding() {
    // Two containers of 0.5m: upstream sums quantities, then MilliValue → 1.
    let mut d = pod_doc("p", Some("0.5m"), None);
    let c = d["spec"]["containers"][0].clone();
    d["spec"]["containers"] = json!([c.clone(), c]);
    assert_eq!(pod(&d).requests.milli_cpu, 1);
}

#[test]
fn init_containers_sidecars_and_overhead() {
    let d = json!({
        "metadata": {"name": "p", "uid": "u"},
        "spec": {
            "containers": [
                {"name": "c1", "image": "a", "resources": {"requests": {"cpu": "100m"}}},
                {"name": "c2", "image": "b", "resources": {"requests": {"cpu": "200m"}}}
            ],
            "initContainers": [
                {"name": "i1", "image": "c", "resources": {"requests": {"cpu": "500m"}}},
                {"name": "s1", "image": "d", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
                {"name": "i2", "image": "e", "resources": {"requests": {"cpu": "100m"}}}
            ],
            "overhead": {"cpu": "10m"}
        }
    });
    let p = pod(&d);
    // max(100+200+50, 500, 100+50) + 10
    assert_eq!(p.requests.milli_cpu, 510);
    assert_eq!(p.requests.memory, 0);
    // Scoring defaults: every container without memory counts 200Mi:
    // max(3 × 200Mi (c1, c2, sidecar), i2 + sidecar = 400Mi) = 600Mi.
    assert_eq!(p.non_zero.memory, 600 * 1024 * 1024);
    assert_eq!(p.non_zero.milli_cpu, 510);
    assert_eq!(p.num_containers(), 5);
}

#[test]
fn sidecar_before_init_container_adds_to_it() {
    let d = json!({"metadata": {"name": "p"}, "spec": {
    "containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}],
    "initContainers": [
        {"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "300m"}}},
        {"name": "i", "resources": {"requests": {"cpu": "500m"}}}
    ]}});
    // containers + sidecar = 400m; init i runs beside the sidecar: 800m.
    assert_eq!(pod(&d).requests.milli_cpu, 800);
}

#[test]
fn defaults_for_missing_requests_and_limits() {
    let p = pod(&pod_doc("p", None, None));
    assert_eq!(p.requests.milli_cpu, 0);
    assert_eq!(p.non_zero.milli_cpu, 100);
    assert_eq!(p.non_zero.memory, 200 * 1024 * 1024);
    // An explicit zero stays zero for scoring.
    let p = pod(&pod_doc("p", Some("0"), Some("0")));
    assert_eq!((p.non_zero.milli_cpu, p.non_zero.memory), (0, 0));
    // Limits stand in for missing requests (apiserver defaulting).
    let d = json!({"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "resources": {"limits": {"cpu": "1", "example.com/gpu": 2}}}]}});
    let p = pod(&d);
    assert_eq!(p.requests.milli_cpu, 1000);
    assert_eq!(p.requests.scalar("example.com/gpu"), 2);
}

#[test]
fn pod_fields_and_nil_tolerance() {
    let d = json!({"metadata": {"name": "p", "namespace": "ns", "labels": null}, "spec": {
        "nodeName": null, "priority": 7, "schedulingGates": [{"name": "g"}],
        "containers": [{"name": "c", "image": "nginx", "ports": [
            {"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]}],
        "initContainers": [{"name": "s", "image": "x/y:1", "restartPolicy": "Always",
            "ports": [{"containerPort": 9, "hostPort": 9000, "protocol": "UDP", "hostIP": "10.0.0.1"}]}],
        "tolerations": null}});
    let p = pod(&d);
    assert_eq!(&*p.scheduler_name, "default-scheduler");
    assert_eq!(p.priority, 7);
    assert_eq!(p.scheduling_gates.len(), 1);
    assert_eq!(p.images, vec!["x/y:1".into(), "nginx:latest".into()]);
    let ports: Vec<_> = p
        .host_ports
        .iter()
        .map(|h| (h.ip.to_string(), h.protocol.to_string(), h.port))
        .collect();
    assert_eq!(
        ports,
        vec![
            ("10.0.0.1".into(), "UDP".into(), 9000),
            ("0.0.0.0".into(), "TCP".into(), 8080)
        ]
    );
    assert_eq!(&*p.key(), "ns/p");
}

#[test]
fn bad_documents_are_errors_not_panics() {
    assert!(PodInfo::from_msgpack(b"\xc1").is_err());
    assert!(PodInfo::from_msgpack(&msgpack(&json!({"spec": {"containers": 3}}))).is_err());
    let bad_qty = json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "lots"}}}]}});
    assert!(PodInfo::from_msgpack(&msgpack(&bad_qty)).is_err());
    assert!(Node::from_msgpack(&msgpack(&json!({"metadata": {}}))).is_err());
}

#[test]
fn node_fields() {
    let mut d = node_doc("n1", "4", "32Gi", 110);
    set(
        &mut d,
        &["spec", "taints"],
        json!([{"key": "k", "value": "v", "effect": "NoSchedule"}]),
    );
    set(
        &mut d,
        &["status", "allocatable", "example.com/gpu"],
        json!("2"),
    );
    set(
        &mut d,
        &["metadata", "labels", "topology.kubernetes.io/zone"],
        json!("z1"),
    );
    let n = node(&d);
    assert_eq!(n.allocatable.milli_cpu, 4000);
    assert_eq!(n.allocatable.memory, 32 << 30);
    assert_eq!(n.allocatable.allowed_pod_number, 110);
    assert_eq!(n.allocatable.scalar("example.com/gpu"), 2);
    assert_eq!(n.taints.len(), 1);
    assert_eq!(n.zone_key(), ":\0:z1");
}
