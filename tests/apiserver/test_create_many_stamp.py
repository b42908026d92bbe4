"""create_many's stamped path (kubemu._core.Stamper: a request that differs from an earlier
one of the batch only in its name gets that one's stored bytes with its own name, uid and
creationTimestamp) gives exactly what the slow path gives: the same stored bytes, returned
objects and errors, for varied batches."""

from __future__ import annotations

import asyncio
import copy
import re
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from kubemu._core import Stamper
from kubemu.apiserver import APIServer, EmbeddedStorage, batches
from kubemu.client.interface import BatchResult
from kubemu.objects import StatusError
from kubemu.objects.kinds.base import Kind
from kubemu.store import Store

from tests.apiserver.conftest import namespace, pod

Obj = dict[str, Any]
NOW = 1_764_115_200.0  # a fixed clock: both servers stamp the same creationTimestamp


class CountingStamper:
    """A Stamper that counts its hits (so a test knows the fast path ran)."""

    def __init__(self, inner: Stamper, hits: list[int]) -> None:
        self.inner = inner
        self.hits = hits

    def stamp(self, request: bytes, uid: str, timestamp: str) -> tuple[str, bytes] | None:
        out = self.inner.stamp(request, uid, timestamp)
        if out is not None:
            self.hits.append(1)
        return out

    def stamp_run(
        self, requests: list[bytes | None], start: int, timestamp: str, key_prefix: bytes
    ) -> list[tuple[bytes, bytes]]:
        out = self.inner.stamp_run(requests, start, timestamp, key_prefix)
        self.hits.extend(1 for _ in out)
        return out

    def learn(self, request: bytes, stored: bytes, uid: str, timestamp: str) -> bool:
        return self.inner.learn(request, stored, uid, timestamp)


def _server() -> APIServer:
    return APIServer(EmbeddedStorage(Store(fsync=False)), clock=lambda: NOW)


async def _run(
    objs: list[Obj | bytes],
    *,
    stamping: bool,
    monkeypatch: pytest.MonkeyPatch,
    hits: list[int],
    ns: str = "",
) -> tuple[APIServer, BatchResult]:
    from kubemu.apiserver.request import SYSTEM_ADMIN

    original = batches._stamper

    def make(kind: Kind) -> Any:
        inner = original(kind)
        if not stamping or inner is None:
            return None
        return CountingStamper(inner, hits)

    monkeypatch.setattr(batches, "_stamper", make)
    server = _server()
    await server.create("namespaces", "", namespace("other"), user=SYSTEM_ADMIN)
    result = await server.create_many(
        "pods", ns, [copy.deepcopy(o) for o in objs], user=SYSTEM_ADMIN
    )
    return server, result


def _uid_free(server: APIServer, key: bytes) -> bytes | None:
    """The stored bytes of ``key`` with its uid blanked (same length: a byte-exact compare of
    everything else)."""
    stored = server.storage.get(key)
    if stored is None:
        return None
    uid = msgpack.unpackb(stored.value)["metadata"]["uid"].encode()
    return stored.value.replace(uid, b"u" * len(uid))


def _unrandom(message: str) -> str:
    """A message without generateName's random suffix."""
    return re.sub(r"gen-[a-z0-9]{5}", "gen-?????", message)


async def _compare(objs: list[Obj | bytes], monkeypatch: pytest.MonkeyPatch, ns: str = "") -> int:
    """Runs ``objs`` through create_many (in ``ns``: "" lets each object name its own)
    with and without stamping; asserts identical outcomes; returns the number of stamped
    objects."""
    hits: list[int] = []
    fast_server, fast = await _run(objs, stamping=True, monkeypatch=monkeypatch, hits=hits, ns=ns)
    slow_server, slow = await _run(objs, stamping=False, monkeypatch=monkeypatch, hits=[], ns=ns)
    kind = fast_server.kind("pods")
    for i in range(len(objs)):
        f_err, s_err = fast.errors[i], slow.errors[i]
        if s_err is not None:
            assert isinstance(f_err, StatusError), (i, f_err)
            assert (f_err.reason, f_err.code, _unrandom(f_err.message)) == (
                s_err.reason,
                s_err.code,
                _unrandom(s_err.message),
            ), i
            assert fast.objects[i] is None
            continue
        assert f_err is None, (i, f_err)
        f_obj, s_obj = fast.objects[i], slow.objects[i]
        assert f_obj is not None and s_obj is not None
        for o in (f_obj, s_obj):
            o["metadata"].pop("uid")
        if s_obj["metadata"].get("generateName"):  # random suffixes
            f_obj["metadata"].pop("name")
            s_obj["metadata"].pop("name")
            continue
        assert f_obj == s_obj, i
        assert list(f_obj) == list(s_obj) and list(f_obj["metadata"]) == list(s_obj["metadata"])
        key = kind.key(s_obj["metadata"]["namespace"], s_obj["metadata"]["name"])
        assert _uid_free(fast_server, key) == _uid_free(slow_server, key), i
    await fast_server.close()
    await slow_server.close()
    return len(hits)


async def test_stamped_batch_matches_the_slow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    objs: list[Obj | bytes] = []
    for i in range(40):
        p = pod(f"p-{i}")
        p["metadata"]["labels"]["i"] = str(i % 3)  # three variants
        objs.append(p)
    long_name = pod("n" * 40)  # a longer str header than the learnt names'
    long_name["metadata"]["labels"]["i"] = "0"
    bad = pod("Bad_Name")  # invalid name of a known variant: the slow path's error
    bad["metadata"]["labels"]["i"] = "1"
    dup = pod("p-3")  # AlreadyExists on the store
    dup["metadata"]["labels"]["i"] = "0"
    too_long = pod("a" * 254)
    too_long["metadata"]["labels"]["i"] = "2"
    with_rv = pod("with-rv")
    with_rv["metadata"]["labels"]["i"] = "0"
    with_rv["metadata"]["resourceVersion"] = "5"
    as_bytes = [msgpack.packb(pod(f"b-{i}"), use_bin_type=True) for i in range(3)]
    objs += [long_name, bad, dup, too_long, with_rv, *as_bytes, pod("elsewhere", "other")]
    stamped = await _compare(objs, monkeypatch)
    assert stamped >= 35  # all but the first of each variant (and the odd ones)


async def test_stamped_runs_in_one_namespace_match_the_slow_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the batch's namespace given, consecutive requests of known variants are stamped
    in runs; misses (new variants, bad names, a key given twice, other input types) break a
    run and take the slow path, and the outcomes stay exactly the slow path's."""
    objs: list[Obj | bytes] = []
    for i in range(60):
        p = pod(f"p-{i}")
        p["metadata"]["labels"]["i"] = str(i % 7)  # per-object label values
        if i % 5 == 0:  # another variant: a label key more
            p["metadata"]["labels"]["extra"] = "x"
        p["metadata"]["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"rs-{i % 3}", "uid": "u1"}
        ]
        objs.append(p)
        if i % 11 == 5:
            objs.append(msgpack.packb(pod(f"b-{i}"), use_bin_type=True))
    objs.insert(30, pod("Bad_Name"))
    objs.insert(40, pod("p-3"))  # the same key as an earlier (stamped) object: AlreadyExists
    objs.insert(45, pod("elsewhere", "other"))  # not the batch's namespace: BadRequest
    stamped = await _compare(objs, monkeypatch, ns="default")
    assert stamped >= 45


async def test_stamped_objects_get_fresh_v4_uids_and_the_stored_bytes() -> None:
    from kubemu.apiserver.request import SYSTEM_ADMIN

    server = _server()
    result = await server.create_many(
        "pods", "default", [pod(f"p-{i}") for i in range(50)], user=SYSTEM_ADMIN
    )
    assert result.ok
    v4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    # Stamped items are handed out as the stored bytes until the objects are read.
    kind = server.kind("pods")
    raw = [result.stored(i) for i in range(50)]
    assert raw[0] is None and all(r is not None for r in raw[1:])  # the first learnt the variant
    for i, r in enumerate(raw[1:], 1):
        assert r is not None
        got = server.storage.get(kind.key("default", f"p-{i}"))
        assert got is not None and (got.value, got.revision) == r
    uids = [o["metadata"]["uid"] for o in result.objects if o is not None]
    assert len(set(uids)) == 50 and all(v4.fullmatch(u) for u in uids)
    assert all(result.stored(i) is None for i in range(50))  # decoded now
    for i, o in enumerate(result.objects):
        assert o is not None
        got = server.storage.get(kind.key("default", f"p-{i}"))
        assert got is not None
        assert o == {
            **msgpack.unpackb(got.value),
            "metadata": {
                **msgpack.unpackb(got.value)["metadata"],
                "resourceVersion": str(got.revision),
            },
        }
    await server.close()


async def test_dict_and_bytes_learn_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dict is not checked for nesting depth, bytes are: a deep object learnt from a dict
    must not let the same bytes skip the BadRequest."""
    deep: Obj = {}
    cur = deep
    for _ in range(70):
        cur["a"] = {}
        cur = cur["a"]
    first = pod("deep-0")
    first["metadata"]["annotations"] = {"x": "y"}
    first["spec"]["deep"] = deep  # unknown spec fields are accepted (and kept)
    second = copy.deepcopy(first)
    second["metadata"]["name"] = "deep-1"
    objs: list[Obj | bytes] = [first, msgpack.packb(second, use_bin_type=True)]
    await _compare(objs, monkeypatch)


_names = st.one_of(
    st.sampled_from(
        ["a", "p-1", "p-2", "x.y", "p-1", "UPPER", "-a", "a-", "a..b", "é", "", "a" * 254]
    ),
    st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,40}[a-z0-9])?", fullmatch=True),
)


_label_values = st.one_of(
    st.sampled_from(["web", "db", "", "-bad", "bad-", "a b", "é", "x" * 63, "x" * 64, "A_b.C"]),
    st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,10}[a-z0-9])?", fullmatch=True),
)
_owner_names = st.sampled_from(["rs-1", "rs-2", "", "Any Name/é", "x" * 300])


@st.composite
def _pods(draw: st.DrawFn) -> Obj:
    # Mostly valid choices (a valid first object is what lets the others be stamped).
    p = pod("base", draw(st.sampled_from(["default", "default", "other", "missing"])))
    meta = p["metadata"]
    meta["labels"] = draw(st.sampled_from([{"app": "web"}, {"app": "db"}, {}, {"Bad Key": "x"}]))
    if draw(st.booleans()):
        meta["annotations"] = draw(
            st.sampled_from([{"a": "b"}, {"kubernetes.io/config.mirror": "x"}])
        )
    extra = draw(
        st.sampled_from(["", "", "", "generateName", "resourceVersion", "uid", "nameless"])
    )
    if extra == "generateName":
        meta["generateName"] = "gen-"
        if draw(st.booleans()):
            del meta["name"]
    elif extra == "resourceVersion":
        meta["resourceVersion"] = draw(st.sampled_from(["0", "7", ""]))
    elif extra == "uid":
        meta["uid"] = "client-uid"
    elif extra == "nameless":
        del meta["name"]
    spec = p["spec"]
    choice = draw(st.sampled_from(["", "", "priority", "bad-container", "node", "status"]))
    if choice == "priority":
        spec["priorityClassName"] = "system-node-critical"
    elif choice == "bad-container":
        spec["containers"][0]["name"] = "Bad_Container"
    elif choice == "node":
        spec["nodeName"] = "n1"
    elif choice == "status":
        p["status"] = {"phase": "Running"}
    return p


@st.composite
def _batches(draw: st.DrawFn) -> list[Obj | bytes]:
    """Objects made from a few bases (so variants repeat), each with its own name (when the
    base has one), as a dict or as bytes."""
    bases = draw(st.lists(_pods(), min_size=1, max_size=3))
    out: list[Obj | bytes] = []
    for _ in range(draw(st.integers(1, 25))):
        p = copy.deepcopy(draw(st.sampled_from(bases)))
        meta = p["metadata"]
        if "name" in meta:
            meta["name"] = draw(_names)
        # Per-object label values and owner names (stamped when valid, else the slow path).
        if meta.get("labels") and draw(st.booleans()):
            key = next(iter(meta["labels"]))
            meta["labels"][key] = draw(_label_values)
        if draw(st.booleans()):
            meta["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": draw(_owner_names),
                    "uid": "0b7a1c6e-1a43-4a7e-9f4e-6f2b1f0c8d11",
                    "controller": True,
                }
            ]
        as_bytes = draw(st.sampled_from([False, False, True]))
        out.append(msgpack.packb(p, use_bin_type=True) if as_bytes else p)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_batches(), st.sampled_from(["", "default"]))
def test_stamping_never_changes_an_outcome(objs: list[Obj | bytes], ns: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        stamped = asyncio.run(_compare(objs, mp, ns))
    event("some objects stamped" if stamped else "nothing stamped")


def test_stamper_rejects_garbage_without_crashing() -> None:
    s = Stamper()
    req = msgpack.packb(pod("p"), use_bin_type=True)
    for data in (b"", b"\xc1", req[:-1], req + b"\x00", b"\x93\x01\x02", b"\xdf\xff\xff\xff\xff"):
        try:
            assert s.stamp(data, "u", "t") is None
        except ValueError:
            pass
        try:
            assert not s.learn(data, req, "u", "t")
        except ValueError:
            pass
    with pytest.raises(ValueError):
        Stamper("no-such-rule")


async def test_malformed_bytes_in_a_batch_are_bad_requests() -> None:
    """A request the stamper cannot read ends a run and takes the slow path: its own
    BadRequest, the others created."""
    from kubemu.apiserver.request import SYSTEM_ADMIN

    server = _server()
    good = [msgpack.packb(pod(f"p-{i}"), use_bin_type=True) for i in range(4)]
    objs: list[Obj | bytes] = [good[0], good[1], good[1][:-3], b"\xc1", good[2], good[3]]
    result = await server.create_many("pods", "default", objs, user=SYSTEM_ADMIN)
    assert [e.code if e else None for e in result.errors] == [None, None, 400, 400, None, None]
    assert [o["metadata"]["name"] if o else None for o in result.objects] == [
        "p-0",
        "p-1",
        None,
        None,
        "p-2",
        "p-3",
    ]
    await server.close()
