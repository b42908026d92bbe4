"""kubemu.gcpause: pause during a burst, promote survivors to the oldest generation, never leave
anything frozen for good."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from kubemu.gcpause import gc_paused, promote, tune_for_server


class Node:
    """A tracked object that can form a cycle."""

    def __init__(self) -> None:
        self.other: object = None


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    if enabled:
        gc.enable()
    else:
        gc.disable()


def _in_oldest(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects(generation=2))


def test_paused_inside_and_restored_after() -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # it was off before: stays off
    gc.enable()
    with gc_paused(False):
        assert gc.isenabled()


def test_promote_moves_survivors_to_the_oldest_generation_even_after_a_freeze() -> None:
    gc.enable()
    gc.freeze()  # what `kubemu apiserver` used to do at startup
    with gc_paused(promote=True):
        survivor = {"x": Node()}
    assert _in_oldest(survivor)
    assert gc.get_freeze_count() == 0  # nothing stays frozen


def test_promoted_cycles_are_still_collected() -> None:
    gc.enable()
    with gc_paused(promote=True):
        a, b = Node(), Node()
        a.other, b.other = b, a
    assert _in_oldest(a)
    del a, b
    assert gc.collect() >= 2  # a full collection finds the promoted cycle


def test_tune_for_server() -> None:
    keep = Node()
    tune_for_server(12_345)
    assert gc.get_threshold()[0] == 12_345
    assert gc.get_freeze_count() == 0 and _in_oldest(keep)
    promote()
    assert gc.get_freeze_count() == 0
