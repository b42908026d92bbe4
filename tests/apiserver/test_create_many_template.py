"""create_many's template path (spec work once per distinct spec in a batch) gives what one
create per object gives: the same objects, the same errors, in request order."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import msgpack  # type: ignore[import-untyped]
from kubemu.apiserver import APIServer, EmbeddedStorage
from kubemu.client.inprocess import InProcessClient
from kubemu.objects import StatusError
from kubemu.objects.meta import new_uid, now_rfc3339
from kubemu.store import Store

from tests.apiserver.conftest import namespace, pod

Obj = dict[str, Any]

VOLATILE = ("uid", "creationTimestamp", "resourceVersion")


def _batch() -> list[Obj | bytes]:
    objs: list[Obj | bytes] = []
    for i in range(12):
        p = pod(f"p{i}", priorityClassName="system-node-critical" if i % 4 == 3 else None)
        if p["spec"]["priorityClassName"] is None:
            del p["spec"]["priorityClassName"]
        p["metadata"]["labels"]["i"] = str(i % 3)
        objs.append(p)
    bad_name = pod("Bad_Name")  # metadata invalid, spec shared with good ones
    bad_spec = pod("bad-spec")
    bad_spec["spec"]["containers"][0]["name"] = "Bad_Container"
    bad_priority = pod("bad-priority", priority=7)
    missing_class = pod("missing-class", priorityClassName="nope")
    mirror = pod("mirror")
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    generated = pod("")
    del generated["metadata"]["name"]
    generated["metadata"]["generateName"] = "gen-"
    with_rv = pod("with-rv")
    with_rv["metadata"]["resourceVersion"] = "12"
    other_ns = pod("elsewhere", namespace="other")
    missing_ns = pod("nowhere", namespace="missing")
    with_status = pod("with-status")
    with_status["status"] = {"phase": "Running", "podIP": "10.0.0.1"}
    no_spec = {"metadata": {"name": "no-spec", "namespace": "default"}}
    wrong_kind = pod("wrong-kind")
    wrong_kind["kind"] = "Service"
    as_bytes = msgpack.packb(pod("as-bytes"), use_bin_type=True)
    objs += [bad_name, bad_spec, bad_priority, missing_class, mirror, generated, with_rv]
    objs += [other_ns, missing_ns, with_status, no_spec, wrong_kind, as_bytes, pod("p1")]
    return objs


async def test_create_many_from_bytes_matches_create() -> None:
    batch_server, batch_client = await _server()
    one_server, one_client = await _server()
    objs = [msgpack.packb(pod(f"b{i}"), use_bin_type=True) for i in range(3)]
    result = await batch_server.create_many("pods", "default", objs, user=batch_client.user)
    for i, data in enumerate(objs):
        single = await one_client.create("pods", "default", msgpack.unpackb(data))
        got = result.objects[i]
        assert got is not None and _strip(got) == _strip(single)
    await batch_server.close()
    await one_server.close()


def _strip(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    for key in VOLATILE:
        out["metadata"].pop(key, None)
    if out["metadata"].get("generateName"):
        out["metadata"].pop("name", None)
    return out


async def _server() -> tuple[APIServer, InProcessClient]:
    server = APIServer(EmbeddedStorage(Store(fsync=False)))
    client = InProcessClient(server)
    await client.create("namespaces", "", namespace("other"))
    return server, client


async def test_create_many_matches_one_create_per_object() -> None:
    batch_server, batch_client = await _server()
    one_server, one_client = await _server()
    objs = _batch()
    result = await batch_client.create_many("pods", "", [copy.deepcopy(o) for o in objs])
    for i, obj in enumerate(objs):
        doc = obj if isinstance(obj, dict) else msgpack.unpackb(obj)
        ns = doc["metadata"].get("namespace", "default")  # each object names its namespace
        try:
            single: Obj | StatusError = await one_client.create("pods", ns, copy.deepcopy(obj))
        except StatusError as e:
            single = e
        if isinstance(single, StatusError):
            err = result.errors[i]
            assert err is not None and result.objects[i] is None, i
            assert (err.reason, err.code, err.message) == (
                single.reason,
                single.code,
                single.message,
            )
        else:
            got = result.objects[i]
            assert result.errors[i] is None and got is not None, (i, result.errors[i])
            assert _strip(got) == _strip(single), i
            stored = await batch_client.get(
                "pods", got["metadata"]["namespace"], got["metadata"]["name"]
            )
            assert stored == got
            assert uuid.UUID(got["metadata"]["uid"]).version == 4
    # The duplicate of p1 at the end is AlreadyExists, as a second create would be.
    last = result.errors[-1]
    assert last is not None and last.reason == "AlreadyExists"
    await batch_server.close()
    await one_server.close()


async def test_create_many_objects_do_not_share_state() -> None:
    server, client = await _server()
    result = await client.create_many("pods", "default", [pod(f"s{i}") for i in range(3)])
    a, b, _ = result.objects
    assert a is not None and b is not None
    assert a["spec"] == b["spec"] and a["spec"] is not b["spec"]
    a["spec"]["containers"][0]["image"] = "changed"
    assert b["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert a["status"] is not b["status"] and a["metadata"]["uid"] != b["metadata"]["uid"]
    stored = await client.get("pods", "default", "s0")
    assert stored["spec"]["containers"][0]["image"] == "nginx:1.25"
    await server.close()


def test_uid_and_timestamp_helpers() -> None:
    uids = {new_uid() for _ in range(2_000)}
    assert len(uids) == 2_000
    for u in list(uids)[:200]:
        parsed = uuid.UUID(u)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == u
    assert now_rfc3339(0.0) == "1970-01-01T00:00:00Z"
    assert now_rfc3339(59.999) == "1970-01-01T00:00:59Z"
    assert now_rfc3339(60.0) == "1970-01-01T00:01:00Z"
    assert now_rfc3339(-0.5) == "1969-12-31T23:59:59Z"
