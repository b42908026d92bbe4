"""Service: defaults, validation, allocated values kept across updates."""

from __future__ import annotations

from kubemu.objects.kinds import SERVICE

from .factories import Obj, create, create_valid, messages, update


def svc(**spec: object) -> Obj:
    base: Obj = {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    base.update(spec)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "d"},
        "spec": base,
    }


def test_defaults() -> None:
    created = create_valid(SERVICE, svc())
    assert created["spec"] == {
        "selector": {"app": "web"},
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "sessionAffinity": "None",
        "type": "ClusterIP",
        "internalTrafficPolicy": "Cluster",
    }
    assert created["status"] == {"loadBalancer": {}}
    lb = create_valid(SERVICE, svc(type="LoadBalancer"))
    assert lb["spec"]["externalTrafficPolicy"] == "Cluster"
    assert lb["spec"]["allocateLoadBalancerNodePorts"] is True


def errors(**spec: object) -> list[str]:
    return messages(SERVICE.validate_create(create(SERVICE, svc(**spec))))


def test_validation() -> None:
    assert errors(ports=[]) == ["spec.ports: Required value"]
    assert errors(ports=[], clusterIP="None") == []
    assert errors(
        ports=[{"port": 80}, {"port": 0, "name": "b", "protocol": "HTTP", "targetPort": "x--y"}]
    ) == [
        "spec.ports[0].name: Required value",
        "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        'spec.ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
        'spec.ports[1].targetPort: Invalid value: "x--y": must not contain consecutive hyphens',
    ]
    assert errors(type="Magic") == [
        'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", '
        '"LoadBalancer", "NodePort"'
    ]
    assert errors(ports=[{"port": 80, "nodePort": 30080}]) == [
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
    ]
    assert errors(sessionAffinity="Sticky") == [
        'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'
    ]
    assert errors(ports=[{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]) == [
        'spec.ports[1]: Duplicate value: {"port":80,"protocol":"TCP"}'
    ]
    assert errors(type="ExternalName", ports=[], externalName="", internalTrafficPolicy=None) == [
        "spec.externalName: Required value"
    ]


def test_name_is_a_dns1035_label() -> None:
    obj = svc()
    obj["metadata"]["name"] = "1web"
    errs = messages(SERVICE.validate_create(create(SERVICE, obj)))
    assert errs[0].startswith('metadata.name: Invalid value: "1web": a DNS-1035 label')


def test_allocated_values_survive_an_update_that_omits_them() -> None:
    stored = create_valid(SERVICE, svc(type="NodePort"))
    stored["spec"].update(clusterIP="10.96.0.10", clusterIPs=["10.96.0.10"])
    stored["spec"]["ports"][0]["nodePort"] = 30080

    def change(o: Obj) -> None:
        o["spec"] = {"type": "NodePort", "selector": {"app": "v2"}, "ports": [{"port": 80}]}

    new, errs = update(SERVICE, stored, change)
    assert errs == []
    assert new["spec"]["clusterIP"] == "10.96.0.10"
    assert new["spec"]["ports"][0]["nodePort"] == 30080
    _, errs = update(
        SERVICE,
        stored,
        lambda o: o["spec"].update(clusterIP="10.96.0.11", clusterIPs=["10.96.0.11"]),
    )
    assert errs == [
        'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set'
    ]
    assert SERVICE.fields(new)["spec.clusterIP"] == "10.96.0.10"
    assert SERVICE.fields(new)["spec.type"] == "NodePort"
