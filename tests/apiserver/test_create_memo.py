"""Single creates of template kinds share spec work across requests
(:mod:`kubemu.apiserver.create_memo`): the outcome is exactly the plain path's (stored bytes,
returned objects, errors), also when what admission read changes between requests (a namespace
terminating, a default PriorityClass appearing, the admission chain replaced)."""

from __future__ import annotations

import asyncio
import copy
import re
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubemu._core import Stamper
from kubemu.apiserver import APIServer, EmbeddedStorage, batches
from kubemu.apiserver.admission import AdmissionChain, default_chain
from kubemu.apiserver.request import SYSTEM_ADMIN, UserInfo
from kubemu.objects import StatusError
from kubemu.objects.kinds.base import Kind
from kubemu.store import Store

from tests.apiserver.conftest import namespace, pod

Obj = dict[str, Any]
NOW = 1_764_115_200.0

SPECS: list[Obj] = [
    {},
    {"priorityClassName": "system-node-critical"},
    {"priorityClassName": "missing"},
    {"tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute"}]},
    {"containers": [{"name": "a", "image": ""}]},  # invalid
    {"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1"}}}]},
    {"priority": 7},  # rejected by Priority admission
]
NAMES = ["p", "q", "Bad_Name", "", "r"]


def _server(memo: bool) -> APIServer:
    server = APIServer(EmbeddedStorage(Store(fsync=False)), clock=lambda: NOW)
    if not memo:  # the plain path for every single create
        server._templated = lambda kind: False  # type: ignore[method-assign]
    return server


def _outcome(server: APIServer, result: Obj | StatusError) -> Any:
    """A create's result without its uid, the stored bytes with the uid blanked."""
    if isinstance(result, StatusError):
        return _error(result)
    meta = result["metadata"]
    uid = meta.pop("uid")
    name = meta["name"]
    stored = server.storage.get(server.kind("pods").key_of(result))
    if name.startswith("g-"):  # a generated name (random): blanked, same length
        meta["name"] = "g-" + "x" * (len(name) - 2)
    if stored is None or meta.get("resourceVersion") is None:  # a dry run
        return ("dry-run", result, stored is None)
    value = stored.value.replace(uid.encode(), b"u" * len(uid))
    return ("ok", result, value.replace(name.encode(), meta["name"].encode()))


async def _apply(server: APIServer, op: tuple[Any, ...]) -> Any:
    user = SYSTEM_ADMIN
    try:
        if op[0] == "create":
            _, ns, name, spec, as_bytes, dry_run, generate = op
            obj = pod(name, ns, **copy.deepcopy(spec))
            if generate:
                obj["metadata"]["generateName"] = "g-"
            body: Obj | bytes = msgpack.packb(obj) if as_bytes else obj
            return _outcome(
                server, await server.create("pods", ns, body, dry_run=dry_run, user=user)
            )
        if op[0] == "default-class":
            pc = {
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": f"default-{op[1]}"},
                "value": op[1],
                "globalDefault": True,
            }
            await server.create("priorityclasses.scheduling.k8s.io", "", pc, user=user)
            return "ok"
        if op[0] == "delete-class":
            await server.delete(
                "priorityclasses.scheduling.k8s.io", "", f"default-{op[1]}", user=user
            )
            return "ok"
        if op[0] == "delete-namespace":
            await server.delete("namespaces", "", op[1], user=user)
            return "ok"
        raise AssertionError(op)
    except StatusError as e:
        return _error(e)


def _error(e: StatusError) -> Any:
    return ("error", e.code, e.reason, re.sub(r"g-[a-z0-9]{5}", "g-xxxxx", e.message))


create_ops = st.tuples(
    st.just("create"),
    st.sampled_from(["default", "other"]),
    st.sampled_from(NAMES),
    st.sampled_from(SPECS),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
world_ops = st.one_of(
    st.tuples(st.just("default-class"), st.sampled_from([10, 20])),
    st.tuples(st.just("delete-class"), st.sampled_from([10, 20])),
    st.tuples(st.just("delete-namespace"), st.just("other")),
)


@given(st.lists(st.one_of(create_ops, create_ops, create_ops, world_ops), max_size=30))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_single_creates_match_the_plain_path(ops: list[tuple[Any, ...]]) -> None:
    async def run(memo: bool) -> list[Any]:
        server = _server(memo)
        await server.create("namespaces", "", namespace("other"), user=SYSTEM_ADMIN)
        out = [await _apply(server, op) for op in ops]
        # Names are taken or not alike: the stored objects are the same too.
        listed = await server.list("pods", "", user=SYSTEM_ADMIN)
        names = [o.decode()["metadata"]["name"] for o in listed.items]
        out.append(sorted("g-" if n.startswith("g-") else n for n in names))
        return out

    assert asyncio.run(run(True)) == asyncio.run(run(False))


class CountingStamper:
    """A Stamper that counts its hits (so a test knows the fast path ran)."""

    def __init__(self, inner: Stamper, hits: list[int]) -> None:
        self.inner = inner
        self.hits = hits

    def __len__(self) -> int:
        return len(self.inner)

    def stamp(self, request: bytes, uid: str, timestamp: str) -> tuple[str, bytes] | None:
        out = self.inner.stamp(request, uid, timestamp)
        if out is not None:
            self.hits.append(1)
        return out

    def learn(self, request: bytes, stored: bytes, uid: str, timestamp: str) -> bool:
        return self.inner.learn(request, stored, uid, timestamp)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    hits: list[int] = []
    original = batches._stamper

    def make(kind: Kind) -> Any:
        inner = original(kind)
        return None if inner is None else CountingStamper(inner, hits)

    monkeypatch.setattr(batches, "_stamper", make)
    return hits


async def test_repeated_creates_are_stamped(monkeypatch: pytest.MonkeyPatch) -> None:
    hits = _counting(monkeypatch)
    server = _server(True)
    for i in range(5):
        created = await server.create("pods", "default", pod(f"p{i}"), user=SYSTEM_ADMIN)
        assert created["metadata"]["name"] == f"p{i}"
        assert created["spec"]["priority"] == 0 and created["status"]["qosClass"] == "BestEffort"
    assert len(hits) == 4  # the first went the slow way
    raw = await server.create_raw("pods", "default", msgpack.packb(pod("b")), user=SYSTEM_ADMIN)
    assert raw.decode()["metadata"]["name"] == "b" and len(hits) == 4  # a new request type
    raw = await server.create_raw("pods", "default", msgpack.packb(pod("c")), user=SYSTEM_ADMIN)
    assert raw.decode() == await server.get("pods", "default", "c", user=SYSTEM_ADMIN)
    assert len(hits) == 5
    with pytest.raises(StatusError) as e:  # a stamped create of a taken name
        await server.create("pods", "default", pod("p1"), user=SYSTEM_ADMIN)
    assert e.value.reason == "AlreadyExists" and len(hits) == 6


async def test_a_terminating_namespace_stops_stamped_creates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hits = _counting(monkeypatch)
    server = _server(True)
    await server.create("namespaces", "", namespace("other"), user=SYSTEM_ADMIN)
    await server.create("pods", "other", pod("a", "other"), user=SYSTEM_ADMIN)
    await server.create("pods", "other", pod("b", "other"), user=SYSTEM_ADMIN)
    assert len(hits) == 1
    await server.delete("namespaces", "", "other", user=SYSTEM_ADMIN)
    with pytest.raises(StatusError) as e:
        await server.create("pods", "other", pod("c", "other"), user=SYSTEM_ADMIN)
    assert e.value.reason == "Forbidden" and "being terminated" in e.value.message
    assert len(hits) == 1


async def test_a_new_default_priority_class_applies_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hits = _counting(monkeypatch)
    server = _server(True)
    for name in ("a", "b"):
        created = await server.create("pods", "default", pod(name), user=SYSTEM_ADMIN)
        assert created["spec"]["priority"] == 0
    assert len(hits) == 1
    pc = {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": "high"},
        "value": 1000,
        "globalDefault": True,
    }
    await server.create("priorityclasses.scheduling.k8s.io", "", pc, user=SYSTEM_ADMIN)
    created = await server.create("pods", "default", pod("c"), user=SYSTEM_ADMIN)
    assert created["spec"]["priority"] == 1000
    assert created["spec"]["priorityClassName"] == "high"
    created = await server.create("pods", "default", pod("d"), user=SYSTEM_ADMIN)
    assert created["spec"]["priority"] == 1000 and len(hits) == 2


async def test_contexts_follow_the_admission_chain_and_the_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hits = _counting(monkeypatch)
    server = _server(True)
    await server.create("pods", "default", pod("a"), user=SYSTEM_ADMIN)
    server.admission = AdmissionChain([])  # no plugins: no defaulted tolerations
    created = await server.create("pods", "default", pod("b"), user=SYSTEM_ADMIN)
    assert "tolerations" not in created["spec"] and not hits
    server.admission = default_chain()
    other = UserInfo("someone", groups=("system:masters",))
    created = await server.create("pods", "default", pod("c"), user=other)
    assert len(created["spec"]["tolerations"]) == 2 and not hits
    await server.create("pods", "default", pod("d"), user=other)
    assert len(hits) == 1


async def test_an_unhashable_user_takes_the_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    hits = _counting(monkeypatch)

    class Caller:  # a user object without a hash: no context for it
        __hash__ = None  # type: ignore[assignment]
        name = "someone"
        groups = ("system:masters",)

    server = _server(True)
    for name in ("a", "b"):
        created = await server.create("pods", "default", pod(name), user=Caller())  # type: ignore[arg-type]
        assert created["spec"]["serviceAccountName"] == "default"
    assert not hits and not server._create_memos._contexts
