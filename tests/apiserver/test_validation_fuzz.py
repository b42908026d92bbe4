"""Generated bad objects are rejected with Status errors carrying field causes, never with an
internal error or a Python exception."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubemu.apiserver import APIServer, EmbeddedStorage
from kubemu.client.inprocess import InProcessClient
from kubemu.objects import StatusError
from kubemu.store import Store

from tests.apiserver.conftest import DEPLOYMENT, POD

RICH_POD: dict[str, Any] = copy.deepcopy(POD)
RICH_POD["spec"]["containers"][0].update(
    {
        "ports": [{"containerPort": 80, "name": "http"}],
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1"}},
        "env": [{"name": "A", "value": "b"}],
    }
)
RICH_POD["spec"]["nodeSelector"] = {"disk": "ssd"}
RICH_POD["spec"]["tolerations"] = [{"key": "k", "operator": "Equal", "value": "v"}]


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=300),
    st.sampled_from(["", "-", "a" * 300, "Bad_Name", "1.5.5", "500mi", "1Gx", "-1", "..", "a/b"]),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.binary(max_size=5),
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    resource, base = draw(st.sampled_from([("pods", RICH_POD), ("deployments", DEPLOYMENT)]))
    doc = copy.deepcopy(base)
    paths = _paths(doc)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        try:
            for p in path[:-1]:
                parent = parent[p]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(_values)
        except (KeyError, IndexError, TypeError):
            continue
    return resource, doc


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutated())
def test_mutated_objects_are_rejected_cleanly(case: tuple[str, dict[str, Any]]) -> None:
    resource, doc = case
    asyncio.run(_check(resource, doc))


_STORE = Store(fsync=False)


async def _check(resource: str, doc: dict[str, Any]) -> None:
    api = APIServer(EmbeddedStorage(_STORE))
    client = InProcessClient(api)
    try:
        await client.create(resource, "default", doc, dry_run=True)
    except StatusError as e:
        assert e.code in (400, 403, 404, 409, 413, 422), e
        if e.code == 422:
            causes = (e.details or {}).get("causes")
            assert causes and all("field" in c and c["message"] for c in causes), e
    finally:
        await api.close()
