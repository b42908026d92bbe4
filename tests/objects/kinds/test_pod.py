"""Pod: defaults, create/update/status validation, the binding subresource, QoS, fields."""

from __future__ import annotations

from typing import Any

import pytest
from kubemu.objects.errors import Reason, StatusError
from kubemu.objects.kinds import POD, bind, compute_qos_class
from kubemu.objects.kinds.containers import image_pull_policy

from .factories import (
    NOW,
    Obj,
    container,
    create,
    create_valid,
    messages,
    pod,
    status_update,
    update,
)


def errors_of(**spec: Any) -> list[str]:
    obj = pod(**spec)
    POD.default(obj)
    return messages(POD.validate_create(obj))


def test_defaults() -> None:
    obj = pod(
        containers=[
            container(
                image="nginx",
                ports=[{"containerPort": 80}],
                resources={"limits": {"cpu": 1, "memory": "1.5Gi"}, "requests": {"cpu": "0.5"}},
            )
        ]
    )
    POD.default(obj)
    spec = obj["spec"]
    assert {k: spec[k] for k in spec if k != "containers"} == {
        "enableServiceLinks": True,
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
        "schedulerName": "default-scheduler",
    }
    assert spec["containers"][0] == {
        "name": "app",
        "image": "nginx",
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        # Requests default to limits where unset; quantities are written canonically.
        "resources": {
            "limits": {"cpu": "1", "memory": "1536Mi"},
            "requests": {"cpu": "500m", "memory": "1536Mi"},
        },
        "imagePullPolicy": "Always",
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }


def test_defaults_keep_what_is_set() -> None:
    obj = pod(restartPolicy="Never", schedulerName="mine", terminationGracePeriodSeconds=0,
              containers=[container(imagePullPolicy="Never")])  # fmt: skip
    POD.default(obj)
    assert obj["spec"]["restartPolicy"] == "Never"
    assert obj["spec"]["schedulerName"] == "mine"
    assert obj["spec"]["terminationGracePeriodSeconds"] == 0
    assert obj["spec"]["containers"][0]["imagePullPolicy"] == "Never"


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("docker.io/library/nginx", "Always"),
        ("localhost:5000/app", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/app:v2", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("NGINX", "IfNotPresent"),  # does not parse: no tag
        ("", "IfNotPresent"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_create_sets_status_generation_and_system_fields() -> None:
    obj = create_valid(POD, pod())
    assert obj["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert obj["metadata"]["generation"] == 1
    assert obj["metadata"]["uid"] == "uid-1"
    assert obj["metadata"]["creationTimestamp"] == NOW
    gated = create_valid(POD, pod(schedulingGates=[{"name": "example.com/wait"}]))
    assert gated["status"]["conditions"][0]["reason"] == "SchedulingGated"


def test_client_status_is_replaced_on_create() -> None:
    obj = pod()
    obj["status"] = {"phase": "Running"}
    assert create(POD, obj)["status"]["phase"] == "Pending"


@pytest.mark.parametrize(
    ("resources", "init", "qos"),
    [
        ([{}], [], "BestEffort"),
        ([{"requests": {"cpu": "100m"}}], [], "Burstable"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}], [], "Guaranteed"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}], [], "Burstable"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}, {}], [], "Burstable"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}], [{"requests": {"cpu": "1"}}], "Burstable"),
        (
            [{"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "1"}}],
            [],
            "BestEffort",
        ),
        ([{"requests": {"cpu": "0"}}], [], "BestEffort"),
    ],
)
def test_qos_class(resources: list[Obj], init: list[Obj], qos: str) -> None:
    obj = pod(
        containers=[container(f"c{i}", resources=r) for i, r in enumerate(resources)],
        initContainers=[container(f"i{i}", resources=r) for i, r in enumerate(init)],
    )
    POD.default(obj)
    assert compute_qos_class(obj) == qos


def test_containers_required() -> None:
    assert errors_of(containers=[]) == ["spec.containers: Required value"]


def test_container_names_and_images() -> None:
    errs = errors_of(
        containers=[container(""), container("Web"), container("a", image=""), container("a")]
    )
    assert errs[0] == "spec.containers[0].name: Required value"
    assert errs[1].startswith(
        'spec.containers[1].name: Invalid value: "Web": a lowercase RFC 1123 label'
    )
    assert errs[2:] == [
        "spec.containers[2].image: Required value",
        'spec.containers[3].name: Duplicate value: "a"',
    ]
    assert errors_of(containers=[container("a", image=" x")]) == [
        'spec.containers[0].image: Invalid value: " x": '
        "must not have leading or trailing whitespace"
    ]
    init_clash = errors_of(initContainers=[container("app")])
    assert init_clash == ['spec.initContainers[0].name: Duplicate value: "app"']


def test_ports() -> None:
    ports = [
        {"containerPort": 0},
        {"containerPort": 70000, "protocol": "HTTP"},
        {"name": "http", "containerPort": 80},
        {"name": "http", "containerPort": 81},
        {"name": "8080", "containerPort": 82, "hostPort": -1},
    ]
    assert errors_of(containers=[container(ports=ports)]) == [
        "spec.containers[0].ports[0].containerPort: Required value",
        "spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and "
        "65535, inclusive",
        'spec.containers[0].ports[1].protocol: Unsupported value: "HTTP": supported values: '
        '"SCTP", "TCP", "UDP"',
        'spec.containers[0].ports[3].name: Duplicate value: "http"',
        'spec.containers[0].ports[4].name: Invalid value: "8080": must contain at least one '
        "letter (a-z)",
        "spec.containers[0].ports[4].hostPort: Invalid value: -1: must be between 1 and 65535, "
        "inclusive",
    ]


def test_resources() -> None:
    def errs(resources: Obj) -> list[str]:
        return errors_of(containers=[container(resources=resources)])

    assert errs({"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}) == [
        'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal '
        "to cpu limit of 1"
    ]
    assert errs({"requests": {"memory": "-1Gi"}}) == [
        'spec.containers[0].resources.requests[memory]: Invalid value: "-1Gi": must be greater '
        "than or equal to 0"
    ]
    assert errs({"requests": {"cpu": "one"}}) == [
        'spec.containers[0].resources.requests[cpu]: Invalid value: "one": quantities must match '
        "the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    ]
    assert errs({"requests": {"foo": "1"}}) == [
        'spec.containers[0].resources.requests[foo]: Invalid value: "foo": must be a standard '
        "resource type or fully qualified"
    ]
    assert errs({"requests": {"pods": "1"}}) == [
        'spec.containers[0].resources.requests[pods]: Invalid value: "pods": must be a standard '
        "resource for containers"
    ]
    assert errs({"requests": {"example.com/gpu": "1"}}) == [
        "spec.containers[0].resources.limits: Required value: Limit must be set for non "
        "overcommitable resources"
    ]
    assert errs({"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}}) == [
        'spec.containers[0].resources.requests: Invalid value: "1": must be equal to '
        "example.com/gpu limit of 2"
    ]
    assert errs({"limits": {"example.com/gpu": "500m"}}) == [
        "spec.containers[0].resources.limits[example.com/gpu]: Invalid value: 500m: must be an "
        "integer",
        "spec.containers[0].resources.requests[example.com/gpu]: Invalid value: 500m: must be "
        "an integer",
    ]
    assert errs({"limits": {"hugepages-2Mi": "2Mi"}}) == [
        "spec.containers[0].resources: Forbidden: HugePages require cpu or memory"
    ]


def test_policies() -> None:
    assert errors_of(restartPolicy="Sometimes") == [
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
        '"OnFailure", "Never"'
    ]
    assert errors_of(dnsPolicy="Google") == [
        'spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", '
        '"ClusterFirst", "Default", "None"'
    ]
    assert errors_of(containers=[container(imagePullPolicy="Sometimes")]) == [
        'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: '
        '"Always", "IfNotPresent", "Never"'
    ]
    assert errors_of(preemptionPolicy="Maybe") == [
        'spec.preemptionPolicy: Unsupported value: "Maybe": supported values: '
        '"PreemptLowerPriority", "Never"'
    ]


def test_scheduling_fields() -> None:
    errs = errors_of(
        nodeSelector={"disk": "ssd!"},
        nodeName="Node_1",
        priorityClassName="High",
        activeDeadlineSeconds=0,
    )
    assert errs[0].startswith('spec.nodeSelector: Invalid value: "ssd!": a valid label must be')
    assert errs[1].startswith(
        'spec.nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain'
    )
    assert errs[2] == (
        "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"
    )
    assert errs[3].startswith('spec.priorityClassName: Invalid value: "High"')


def test_tolerations() -> None:
    errs = errors_of(
        tolerations=[
            {"key": "a", "operator": "Exists", "value": "x"},
            {"operator": "Equal", "value": "x"},
            {"key": "b", "operator": "Near"},
            {"key": "c", "effect": "Sometimes"},
            {"key": "d", "effect": "NoSchedule", "tolerationSeconds": 10},
            {"operator": "Exists"},
        ]
    )
    assert errs == [
        'spec.tolerations[0].operator: Invalid value: "x": value must be empty when `operator` is '
        "'Exists'",
        'spec.tolerations[1].operator: Invalid value: "Equal": operator must be Exists when `key` '
        'is empty, which means "match all values and all keys"',
        'spec.tolerations[2].operator: Unsupported value: "Near": supported values: "Equal", '
        '"Exists"',
        'spec.tolerations[3].effect: Unsupported value: "Sometimes": supported values: '
        '"NoSchedule", "PreferNoSchedule", "NoExecute"',
        "spec.tolerations[4].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' "
        "when `tolerationSeconds` is set",
    ]


def test_affinity() -> None:
    node_affinity = {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In"}]},
                {"matchFields": [{"key": "metadata.labels", "operator": "In", "values": ["a"]}]},
            ]
        },
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 0, "preference": {"matchExpressions": [{"key": "a", "operator": "Gt"}]}}
        ],
    }
    pod_anti = {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}}
        ]
    }
    errs = errors_of(affinity={"nodeAffinity": node_affinity, "podAntiAffinity": pod_anti})
    base = "spec.affinity.nodeAffinity"
    terms = f"{base}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
    pref = f"{base}.preferredDuringSchedulingIgnoredDuringExecution[0]"
    anti = "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
    assert errs[:5] == [
        f"{terms}[0].matchExpressions[0].values: Required value: must be specified when "
        "`operator` is 'In' or 'NotIn'",
        f'{terms}[1].matchFields[0].key: Invalid value: "metadata.labels": not a valid field '
        "selector key",
        f"{pref}.weight: Invalid value: 0: must be in the range 1-100",
        f"{pref}.preference.matchExpressions[0].values: Required value: must be specified single "
        "value when `operator` is 'Lt' or 'Gt'",
        f"{anti}.topologyKey: Required value: can not be empty",
    ]
    empty = errors_of(
        affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}
    )
    assert empty == [
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
        "nodeSelectorTerms: Required value: must have at least one node selector term"
    ]


def test_topology_spread_constraints() -> None:
    zone = {"topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "maxSkew": 1}
    errs = errors_of(
        topologySpreadConstraints=[
            {"maxSkew": 0, "topologyKey": "", "whenUnsatisfiable": "Whatever"},
            zone,
            dict(zone),
            {**zone, "topologyKey": "host", "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2},
        ]
    )
    assert errs == [
        "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero",
        "spec.topologySpreadConstraints[0].topologyKey: Required value: can not be empty",
        'spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Whatever": '
        'supported values: "DoNotSchedule", "ScheduleAnyway"',
        "spec.topologySpreadConstraints[1].{topologyKey, whenUnsatisfiable}: Duplicate value: "
        '"{zone, DoNotSchedule}"',
        "spec.topologySpreadConstraints[3].minDomains: Invalid value: 2: can only use minDomains "
        "if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
    ]


def test_volumes_env_and_mounts() -> None:
    errs = errors_of(
        volumes=[
            {"name": "data", "emptyDir": {}},
            {"name": "cfg"},
            {"name": "data", "emptyDir": {}, "hostPath": {"path": "/x"}},
        ],
        containers=[
            container(
                env=[
                    {"name": "A=B"},
                    {
                        "name": "X",
                        "value": "1",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                    },
                ],
                volumeMounts=[
                    {"name": "data", "mountPath": "/d"},
                    {"name": "nope", "mountPath": "/d"},
                ],
            )
        ],
    )
    assert errs == [
        "spec.volumes[1]: Required value: must specify a volume type",
        "spec.volumes[2].hostPath: Forbidden: may not specify more than 1 volume type",
        'spec.volumes[2].name: Duplicate value: "data"',
        'spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name '
        "must consist only of printable ASCII characters other than '='",
        'spec.containers[0].env[1].valueFrom: Invalid value: "": may not be specified when '
        "`value` is not empty",
        'spec.containers[0].volumeMounts[1].name: Not found: "nope"',
        'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/d": must be unique',
    ]


def test_invalid_status_error_message() -> None:
    obj = pod(name="Bad", containers=[{"image": "x"}])
    POD.default(obj)
    err = POD.invalid(obj, POD.validate_create(obj))
    assert err.reason is Reason.INVALID and err.code == 422
    assert err.message.startswith('Pod "Bad" is invalid: [metadata.name: Invalid value: "Bad"')
    assert err.message.endswith(", spec.containers[0].name: Required value]")


def test_create_forbids_ephemeral_containers_and_gated_node_name() -> None:
    assert errors_of(ephemeralContainers=[{"name": "debug"}]) == [
        "spec.ephemeralContainers: Forbidden: cannot be set on create"
    ]
    assert errors_of(nodeName="n1", schedulingGates=[{"name": "wait"}]) == [
        "spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared"
    ]


@pytest.fixture
def stored() -> Obj:
    toleration = {"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
    return create_valid(POD, pod(tolerations=[toleration], activeDeadlineSeconds=100))


def test_update_may_change_images_and_metadata(stored: Obj) -> None:
    def change(p: Obj) -> None:
        p["spec"]["containers"][0]["image"] = "nginx:1.26"
        p["metadata"]["labels"] = {"new": "label"}
        p["status"] = {"phase": "Running"}

    new, errs = update(POD, stored, change)
    assert errs == []
    assert new["status"] == stored["status"]  # an update does not touch the status
    assert new["metadata"]["generation"] == 2  # the spec changed
    label_only, errs = update(POD, stored, lambda p: p["metadata"].update(labels={"x": "y"}))
    assert errs == [] and label_only["metadata"]["generation"] == 1


def test_update_may_not_change_other_fields(stored: Obj) -> None:
    _, errs = update(POD, stored, lambda p: p["spec"].update(nodeName="n1", restartPolicy="Never"))
    assert len(errs) == 1
    assert errs[0].startswith(
        "spec: Forbidden: pod updates may not change fields other than "
        "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
        "`spec.tolerations` (only additions to existing tolerations),"
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
        "negative)\n"
    )
    assert "spec.nodeName" in errs[0] and "spec.restartPolicy" in errs[0]
    _, errs = update(POD, stored, lambda p: p["spec"]["containers"].append(container("b")))
    assert errs == ["spec.containers: Forbidden: pod updates may not add or remove containers"]


def test_update_tolerations_and_deadline(stored: Obj) -> None:
    def add(p: Obj) -> None:
        p["spec"]["tolerations"][0]["tolerationSeconds"] = 60
        p["spec"]["tolerations"].append({"key": "b", "operator": "Exists"})
        p["spec"]["activeDeadlineSeconds"] = 50

    assert update(POD, stored, add)[1] == []
    _, errs = update(POD, stored, lambda p: p["spec"]["tolerations"][0].update(key="z"))
    assert errs == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its "
        "tolerationSeconds"
    ]
    _, errs = update(POD, stored, lambda p: p["spec"].update(activeDeadlineSeconds=200))
    assert errs == [
        "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous "
        "value"
    ]
    _, errs = update(POD, stored, lambda p: p["spec"].pop("activeDeadlineSeconds"))
    assert errs == [
        "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive "
        "integer to nil value"
    ]


def test_status_update(stored: Obj) -> None:
    def change(p: Obj) -> None:
        p["status"]["phase"] = "Running"
        p["status"]["podIPs"] = [{"ip": "10.0.0.5"}]
        p["spec"]["containers"][0]["image"] = "ignored"
        p["metadata"]["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "X", "name": "y", "uid": "z"}
        ]

    new, errs = status_update(POD, stored, change)
    assert errs == []
    assert new["status"]["phase"] == "Running"
    assert new["spec"] == stored["spec"]
    assert "ownerReferences" not in new["metadata"]
    assert new["metadata"]["generation"] == 1
    assert POD.fields(new)["status.podIP"] == "10.0.0.5"
    legacy, errs = status_update(POD, stored, lambda p: p["status"].update(podIP="10.0.0.6"))
    assert errs == [] and legacy["status"]["podIPs"] == [{"ip": "10.0.0.6"}]
    assert POD.fields(legacy)["status.podIP"] == "10.0.0.6"
    _, errs = status_update(POD, stored, lambda p: p["status"].update(qosClass="Guaranteed"))
    assert errs == ['status.qosClass: Invalid value: "Guaranteed": field is immutable']
    _, errs = status_update(POD, stored, lambda p: p["status"].update(nominatedNodeName="N!"))
    assert errs[0].startswith('status.nominatedNodeName: Invalid value: "N!"')


def test_terminated_containers_stay_terminated_without_restart() -> None:
    old = create_valid(POD, pod(restartPolicy="Never"))
    old["status"]["containerStatuses"] = [{"name": "app", "state": {"terminated": {"exitCode": 0}}}]

    def restart(p: Obj) -> None:
        p["status"]["containerStatuses"][0]["state"] = {"running": {}}

    _, errs = status_update(POD, old, restart)
    assert errs == [
        "status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated "
        "state"
    ]


def test_bind(stored: Obj) -> None:
    binding = {
        "metadata": {"name": "web", "annotations": {"k": "v"}},
        "target": {"kind": "Node", "name": "n1"},
    }
    bind(stored, binding, now=NOW)
    assert stored["spec"]["nodeName"] == "n1"
    assert stored["metadata"]["annotations"] == {"k": "v"}
    assert stored["status"]["conditions"] == [
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": NOW}
    ]
    assert POD.fields(stored)["spec.nodeName"] == "n1"
    with pytest.raises(StatusError) as exc:
        bind(stored, {"target": {"name": "n2"}})
    assert exc.value.reason is Reason.CONFLICT
    assert exc.value.message == (
        'Operation cannot be fulfilled on pods/binding "web": '
        'pod web is already assigned to node "n1"'
    )


def test_bind_refusals() -> None:
    with pytest.raises(StatusError) as exc:
        bind(pod(), {"target": {"kind": "Pod"}})
    assert exc.value.reason is Reason.INVALID
    assert exc.value.message == (
        'Binding "web" is invalid: [target.kind: Unsupported value: "Pod": supported values: '
        '"Node", "<empty>", target.name: Required value]'
    )
    deleting = pod()
    deleting["metadata"]["deletionTimestamp"] = NOW
    with pytest.raises(StatusError, match="pod web is being deleted, cannot be assigned to a host"):
        bind(deleting, {"target": {"name": "n1"}})
    with pytest.raises(StatusError, match=r"pod web has non-empty .spec.schedulingGates"):
        bind(pod(schedulingGates=[{"name": "g"}]), {"target": {"name": "n1"}})


def test_fields() -> None:
    obj = create_valid(
        POD,
        pod(
            serviceAccountName="sa",
            hostNetwork=True,
            containers=[container(ports=[{"containerPort": 80}])],
        ),
    )
    assert POD.fields(obj) == {
        "metadata.name": "web",
        "metadata.namespace": "default",
        "spec.nodeName": "",
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "sa",
        "spec.hostNetwork": "true",
        "status.phase": "Pending",
        "status.podIP": "",
        "status.nominatedNodeName": "",
    }
    assert obj["spec"]["containers"][0]["ports"][0]["hostPort"] == 80  # hostNetwork default
