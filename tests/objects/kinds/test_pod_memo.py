"""The memoized pod paths give exactly what the plain computations give: update validation of
an unchanged spec (memoized by its msgpack), the QoS class (memoized by the containers'
resources) and spec defaulting (memoized by the spec, a spec it leaves alone kept as is)."""

from __future__ import annotations

import copy
from typing import Any

import msgpack  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st
from kubemu.objects.kinds import POD, compute_qos_class
from kubemu.objects.kinds.pod import _qos_class, _validate_pod_spec_update, _validate_pod_update

from .factories import messages

Obj = dict[str, Any]

quantities = st.sampled_from(["100m", "1", "0", "-1", "1.5Gi", "128Mi", "abc", "2", "500m"])
resource_lists = st.dictionaries(
    st.sampled_from(["cpu", "memory", "nvidia.com/gpu", "ephemeral-storage"]), quantities
)
resources = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={"requests": resource_lists, "limits": resource_lists}),
    st.fixed_dictionaries({"limits": st.dictionaries(st.just("cpu"), st.integers(0, 4))}),
)
containers = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["a", "b", "a"]), "image": st.sampled_from(["x", "", " y"])},
        optional={"resources": resources},
    ),
    max_size=3,
)
deadlines = st.one_of(st.none(), st.integers(-2, 3), st.just(True), st.just(2.0))
tolerations = st.lists(
    st.fixed_dictionaries(
        {"key": st.sampled_from(["k", "", "bad key"])},
        optional={
            "operator": st.sampled_from(["Exists", "Equal", "Nope"]),
            "effect": st.sampled_from(["NoExecute", "NoSchedule", ""]),
            "tolerationSeconds": st.integers(-1, 5),
        },
    ),
    max_size=2,
)
specs = st.fixed_dictionaries(
    {"containers": containers},
    optional={
        "initContainers": containers,
        "activeDeadlineSeconds": deadlines,
        "tolerations": tolerations,
        "schedulingGates": st.lists(
            st.fixed_dictionaries({"name": st.sampled_from(["g", "bad gate"])}), max_size=2
        ),
        "nodeName": st.sampled_from(["", "node-1"]),
        "restartPolicy": st.sampled_from(["Always", "Never", "Sometimes"]),
    },
)


def _retyped(value: Any) -> Any:
    """An equal value of other types (``1`` → ``1.0``, ``True`` stays): what a client may
    send back for what it read."""
    if isinstance(value, dict):
        return {k: _retyped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_retyped(v) for v in value]
    if type(value) is int:
        return float(value)
    return value


@given(specs, st.booleans())
@settings(max_examples=300, deadline=None)
def test_unchanged_spec_update_validation_is_the_plain_one(spec: Obj, retype: bool) -> None:
    new = {"spec": copy.deepcopy(spec)}
    old = {"spec": _retyped(spec) if retype else copy.deepcopy(spec)}
    assert new["spec"] == old["spec"]
    expected = messages(_validate_pod_spec_update(copy.deepcopy(new), copy.deepcopy(old)))
    assert messages(_validate_pod_update(new, old)) == expected
    assert messages(_validate_pod_update(new, old)) == expected  # memoized now


@given(specs, specs)
@settings(max_examples=200, deadline=None)
def test_changed_spec_update_validation_is_the_plain_one(spec: Obj, old_spec: Obj) -> None:
    new, old = {"spec": spec}, {"spec": old_spec}
    expected = messages(_validate_pod_spec_update(copy.deepcopy(new), copy.deepcopy(old)))
    assert messages(_validate_pod_update(new, old)) == expected


@given(specs)
@settings(max_examples=300, deadline=None)
def test_qos_class_memo_is_the_plain_computation(spec: Obj) -> None:
    expected = _qos_class(copy.deepcopy(spec))
    assert compute_qos_class({"spec": spec}) == expected
    assert compute_qos_class({"spec": spec}) == expected


@given(specs)
@settings(max_examples=200, deadline=None)
def test_memoized_defaulting_is_plain_defaulting(spec: Obj) -> None:
    plain = {"spec": copy.deepcopy(spec)}
    POD.default(plain)
    for _ in range(2):  # a miss, then a hit
        memo = {"spec": copy.deepcopy(spec)}
        POD.default_spec(memo)
        assert msgpack.packb(memo) == msgpack.packb(plain)
    again = {"spec": copy.deepcopy(plain["spec"])}  # an already defaulted spec
    POD.default(again)
    for _ in range(2):
        memo = {"spec": copy.deepcopy(plain["spec"])}
        POD.default_spec(memo)
        assert msgpack.packb(memo) == msgpack.packb(again)
