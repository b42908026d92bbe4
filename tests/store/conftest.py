"""Fixtures of the store tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubemu.store import Store


@pytest.fixture(params=["memory", "durable"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``store_factory(**opts)`` opens a kubemu.store.Store with a manual clock: in memory, or
    on a data dir in tmp_path (the same dir each call, so calling it again is a restart).
    Stores still open at the end are closed."""
    opened: list[Any] = []

    def factory(**opts: Any) -> Any:
        data_dir = tmp_path / "data" if request.param == "durable" else None
        store = Store(data_dir, **{"manual_clock": True, "fsync": False, **opts})
        opened.append(store)
        return store

    factory.durable = request.param == "durable"  # type: ignore[attr-defined]
    yield factory
    for store in opened:
        try:
            store.close()
        except Exception:
            pass
