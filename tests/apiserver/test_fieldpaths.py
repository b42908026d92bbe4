"""StateReader reads namespace, labels and selectable fields from stored bytes exactly as a
decode + ``Kind.fields`` gives them, or says it cannot (None) — never a different answer."""

from __future__ import annotations

from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kubemu._core import FieldPaths
from kubemu.apiserver.fieldpaths import StateReader, labels_of
from kubemu.objects import REGISTRY
from kubemu.objects.kinds.base import Kind

Obj = dict[str, Any]


def _kind(resource: str) -> Kind:
    kind = REGISTRY.get(resource)
    assert kind is not None
    return kind


_odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.text(max_size=6),
    st.just(""),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from(["ip", "x"]), st.one_of(st.none(), st.text(max_size=4))),
)
_absent = object()


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(_absent), value, _odd)


def _put(d: Obj, key: str, value: Any) -> None:
    if value is not _absent:
        d[key] = value


@st.composite
def _pod_docs(draw: st.DrawFn) -> Obj:
    meta: Obj = {}
    _put(meta, "name", draw(_maybe(st.text(max_size=8))))
    _put(meta, "namespace", draw(_maybe(st.sampled_from(["default", "ns1"]))))
    _put(
        meta,
        "labels",
        draw(_maybe(st.dictionaries(st.sampled_from(["app", "tier"]), st.text(max_size=3)))),
    )
    spec: Obj = {}
    for key in ("nodeName", "restartPolicy", "schedulerName", "serviceAccountName"):
        _put(spec, key, draw(_maybe(st.text(max_size=5))))
    _put(spec, "hostNetwork", draw(_maybe(st.booleans())))
    status: Obj = {}
    _put(status, "phase", draw(_maybe(st.sampled_from(["Pending", "Running"]))))
    _put(status, "nominatedNodeName", draw(_maybe(st.text(max_size=5))))
    ips = st.lists(
        st.one_of(st.dictionaries(st.just("ip"), st.one_of(st.text(max_size=9), _odd)), _odd),
        max_size=2,
    )
    _put(status, "podIPs", draw(_maybe(ips)))
    doc: Obj = {"apiVersion": "v1", "kind": "Pod"}
    _put(doc, "metadata", draw(st.one_of(st.just(meta), st.just(meta), _odd)))
    _put(doc, "spec", draw(st.one_of(st.just(spec), st.just(spec), _odd)))
    _put(doc, "status", draw(st.one_of(st.just(status), st.just(status), _odd)))
    return doc


def _expected(reader: StateReader, data: bytes) -> tuple[str, Any, dict[str, str]] | Exception:
    try:
        return reader.decode(data)
    except Exception as e:  # the decode path's own failure on a nonsense document
        return e


@settings(max_examples=400, deadline=None)
@given(_pod_docs())
def test_pod_reads_match_the_decode(doc: Obj) -> None:
    reader = StateReader(_kind("pods"))
    assert reader.supported
    data = msgpack.packb(doc, use_bin_type=True)
    got = reader.read(data)
    if got is None:
        return
    expected = _expected(reader, data)
    assert not isinstance(expected, Exception), (doc, got)
    namespace, labels, fields = got
    assert (namespace, labels_of(labels), fields) == expected


def test_ordinary_pods_are_read_without_decoding() -> None:
    reader = StateReader(_kind("pods"))
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "hostNetwork": True, "containers": [{"name": "c"}]},
        "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]},
    }
    data = msgpack.packb(doc, use_bin_type=True)
    got = reader.read(data)
    assert got is not None
    namespace, labels, fields = got
    assert namespace == "ns" and labels_of(labels) == {"app": "web"}
    assert fields == reader.decode(data)[2]
    assert fields["status.podIP"] == "10.0.0.1" and fields["spec.hostNetwork"] == "true"
    del doc["metadata"]["labels"]  # type: ignore[attr-defined]
    got = reader.read(msgpack.packb(doc, use_bin_type=True))
    assert got is not None and labels_of(got[1]) == {}


@pytest.mark.parametrize("resource", ["priorityclasses", "configmaps", "leases"])
def test_kinds_without_a_field_getter(resource: str) -> None:
    kind = _kind(resource)
    reader = StateReader(kind)
    assert reader.supported
    meta: Obj = {"name": "x", "labels": {"a": "b"}}
    if kind.namespaced:
        meta["namespace"] = "ns"
    data = msgpack.packb({"kind": kind.kind, "metadata": meta}, use_bin_type=True)
    got = reader.read(data)
    assert got is not None
    assert (got[0], labels_of(got[1]), got[2]) == reader.decode(data)


def test_kinds_with_unknown_getters_are_decoded() -> None:
    reader = StateReader(_kind("services"))
    assert not reader.supported
    assert reader.read(msgpack.packb({"metadata": {"name": "s"}})) is None


@given(st.binary(max_size=64))
def test_malformed_bytes_never_crash(data: bytes) -> None:
    reader = StateReader(_kind("pods"))
    reader.read(data)  # None or a read; never an exception
    paths = FieldPaths([("metadata", "name"), ("status", "podIPs", 0, "ip")])
    try:
        paths.find(data)
    except ValueError:
        pass


def test_field_paths_arguments() -> None:
    with pytest.raises(ValueError):
        FieldPaths([("a",)], ["nope"])
    with pytest.raises(ValueError):
        FieldPaths([("a",)], [None, None])
    with pytest.raises(ValueError):
        FieldPaths([("a",)], None, ["x", "y"])
    named = FieldPaths([("a",), ("b",), ("c",)], ["get", None, "is_true"], ["a", None, "c"])
    assert named.read(msgpack.packb({"a": "x", "b": 2, "c": True})) == (
        b"\x02",
        {"a": "x", "c": "true"},
    )
    paths = FieldPaths([("a",), ("b", 1)], ["get", None])
    assert len(paths) == 2
    assert paths.read(msgpack.packb({"a": "x", "b": [0, 7]})) == ("x", b"\x07")
    assert paths.read(msgpack.packb({"a": 5})) is None
    assert paths.find(msgpack.packb({"a": 5, "b": "s"})) == (b"\x05", False)
