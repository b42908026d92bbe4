"""The admission reader's decoded objects are shared while the stored object is unchanged
(``APIServer._decoded``): a write or a delete is seen by the next request."""

from __future__ import annotations

import pytest
from kubemu.apiserver import APIServer
from kubemu.apiserver.admission import Operation
from kubemu.apiserver.request import SYSTEM_ADMIN
from kubemu.objects import StatusError

from tests.apiserver.conftest import namespace, pod


def _reader(api: APIServer) -> object:
    return api._attrs(Operation.CREATE, api.kind("pods"), "a", "", SYSTEM_ADMIN).reader


async def test_reads_share_objects_until_the_object_changes(api: APIServer) -> None:
    await api.create("namespaces", "", namespace("a"), user=SYSTEM_ADMIN)
    first = _reader(api).read("namespaces", "", "a")  # type: ignore[attr-defined]
    again = _reader(api).read("namespaces", "", "a")  # type: ignore[attr-defined]
    assert first is again and first is not None
    ns = await api.get("namespaces", "", "a", user=SYSTEM_ADMIN)
    ns["metadata"]["labels"] = {"x": "y"}
    await api.update("namespaces", "", ns, user=SYSTEM_ADMIN)
    changed = _reader(api).read("namespaces", "", "a")  # type: ignore[attr-defined]
    assert changed is not first and changed["metadata"]["labels"]["x"] == "y"
    listed = _reader(api).read_all("namespaces")  # type: ignore[attr-defined]
    assert any(o is changed for o in listed)
    await api.delete("namespaces", "", "a", user=SYSTEM_ADMIN)
    gone = _reader(api).read("namespaces", "", "a")  # type: ignore[attr-defined]
    assert gone is None or gone["status"]["phase"] == "Terminating"


async def test_create_many_sees_a_terminating_namespace(api: APIServer) -> None:
    await api.create("namespaces", "", namespace("a"), user=SYSTEM_ADMIN)
    ok = await api.create_many("pods", "a", [pod("p", "a")], user=SYSTEM_ADMIN)
    assert ok.errors == [None]
    await api.delete("namespaces", "", "a", user=SYSTEM_ADMIN)
    refused = await api.create_many("pods", "a", [pod("q", "a")], user=SYSTEM_ADMIN)
    err = refused.errors[0]
    assert isinstance(err, StatusError) and err.reason == "Forbidden"
    with pytest.raises(StatusError):
        await api.create("pods", "a", pod("r", "a"), dry_run=True, user=SYSTEM_ADMIN)
