"""LIST: selectors, paging with continue, resourceVersion semantics, Gone."""

from __future__ import annotations

import pytest
from kubemu.apiserver.listing import decode_continue, encode_continue
from kubemu.client.inprocess import InProcessClient
from kubemu.client.interface import ListOptions
from kubemu.objects import StatusError
from kubemu.store import Store

from tests.apiserver.conftest import namespace, pod


async def _pods(client: InProcessClient, n: int, ns: str = "default") -> None:
    for i in range(n):
        p = pod(f"p{i:03d}", ns)
        p["metadata"]["labels"] = {"app": "web" if i % 2 else "db", "i": str(i)}
        await client.create("pods", ns, p)


async def test_list_kind_and_resource_version(client: InProcessClient) -> None:
    await _pods(client, 3)
    out = await client.list("pods", "default")
    assert out.kind == "PodList" and out.api_version == "v1"
    assert int(out.resource_version) >= max(
        int(i["metadata"]["resourceVersion"]) for i in out.items
    )
    assert out.to_dict()["metadata"]["resourceVersion"] == out.resource_version


async def test_label_and_field_selectors(client: InProcessClient) -> None:
    await _pods(client, 6)
    web = await client.list("pods", "default", ListOptions(label_selector="app=web"))
    assert [p["metadata"]["name"] for p in web.items] == ["p001", "p003", "p005"]
    setb = await client.list("pods", "", ListOptions(label_selector="i in (1,2),app!=db"))
    assert [p["metadata"]["name"] for p in setb.items] == ["p001"]
    await client.bind("default", "p002", "n1")
    on_n1 = await client.list("pods", "", ListOptions(field_selector="spec.nodeName=n1"))
    assert [p["metadata"]["name"] for p in on_n1.items] == ["p002"]
    unbound = await client.list("pods", "", ListOptions(field_selector="spec.nodeName="))
    assert len(unbound.items) == 5
    by_name = await client.list("pods", "", ListOptions(field_selector="metadata.name=p004"))
    assert [p["metadata"]["name"] for p in by_name.items] == ["p004"]
    pending = await client.list("pods", "", ListOptions(field_selector="status.phase=Pending"))
    assert len(pending.items) == 6


async def test_unsupported_field_and_bad_selector_are_bad_request(
    client: InProcessClient,
) -> None:
    with pytest.raises(StatusError) as e:
        await client.list("pods", "", ListOptions(field_selector="spec.foo=x"))
    assert e.value.code == 400 and e.value.message == "field label not supported: spec.foo"
    with pytest.raises(StatusError) as e:
        await client.list("pods", "", ListOptions(label_selector="a in (b"))
    assert e.value.code == 400


async def test_namespace_scoping(client: InProcessClient) -> None:
    await client.create("namespaces", "", namespace("other"))
    await _pods(client, 2)
    await _pods(client, 3, "other")
    assert len((await client.list("pods", "other")).items) == 3
    assert len((await client.list("pods", "")).items) == 5


async def test_paging_with_continue_is_consistent_across_writes(client: InProcessClient) -> None:
    await _pods(client, 10)
    first = await client.list("pods", "default", ListOptions(limit=4))
    assert len(first.items) == 4 and first.continue_
    assert first.remaining_item_count == 6
    # Writes after the first page are not seen by the rest of the list.
    await client.delete("pods", "default", "p009")
    await client.create("pods", "default", pod("p100"))
    names = [p["metadata"]["name"] for p in first.items]
    token = first.continue_
    while token:
        page = await client.list("pods", "default", ListOptions(limit=4, continue_=token))
        assert page.resource_version == first.resource_version
        names += [p["metadata"]["name"] for p in page.items]
        token = page.continue_
    assert names == [f"p{i:03d}" for i in range(10)]


async def test_paging_with_selector_fills_pages(client: InProcessClient) -> None:
    await _pods(client, 10)
    page = await client.list("pods", "", ListOptions(label_selector="app=web", limit=2))
    names = [p["metadata"]["name"] for p in page.items]
    while page.continue_:
        page = await client.list(
            "pods", "", ListOptions(label_selector="app=web", limit=2, continue_=page.continue_)
        )
        names += [p["metadata"]["name"] for p in page.items]
    assert names == ["p001", "p003", "p005", "p007", "p009"]


async def test_continue_after_compaction_is_gone(client: InProcessClient, store: Store) -> None:
    await _pods(client, 4)
    first = await client.list("pods", "default", ListOptions(limit=2))
    await client.create("pods", "default", pod("late"))
    store.compact(store.revision)
    with pytest.raises(StatusError) as e:
        await client.list("pods", "default", ListOptions(limit=2, continue_=first.continue_))
    assert e.value.code == 410
    assert e.value.message.startswith("The provided continue parameter is too old")


async def test_exact_resource_version(client: InProcessClient, store: Store) -> None:
    await _pods(client, 2)
    before = (await client.list("pods", "default")).resource_version
    await client.create("pods", "default", pod("late"))
    old = await client.list(
        "pods", "default", ListOptions(resource_version=before, resource_version_match="Exact")
    )
    assert len(old.items) == 2 and old.resource_version == before
    assert len((await client.list("pods", "default", ListOptions(resource_version="0"))).items) == 3
    store.compact(store.revision)
    with pytest.raises(StatusError) as e:
        await client.list(
            "pods", "default", ListOptions(resource_version=before, resource_version_match="Exact")
        )
    assert e.value.code == 410 and "too old resource version" in e.value.message


async def test_bad_continue_and_resource_version(client: InProcessClient) -> None:
    for opts in (
        ListOptions(continue_="!!notbase64"),
        ListOptions(resource_version="abc"),
        ListOptions(continue_=encode_continue(1, "x"), resource_version="5"),
    ):
        with pytest.raises(StatusError) as e:
            await client.list("pods", "default", opts)
        assert e.value.code == 400


def test_continue_token_round_trip() -> None:
    assert decode_continue(encode_continue(42, "default/p1\x00")) == (42, "default/p1\x00")
