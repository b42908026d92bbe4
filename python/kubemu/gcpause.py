"""The one policy for Python's cyclic garbage collector in kubemu's servers.

The apiserver allocates in bursts: a LIST, a watch batch or a ``create_many`` builds thousands
of acyclic dicts at once, and a long-running server keeps a large heap (modules, registries,
memos). Left alone, the collector walks live objects over and over: every few hundred
allocations a young collection walks the burst made so far, and the objects that survive are
walked again by the next collections of each generation. The policy:

1. **Pause during a burst** (:func:`gc_paused`): no collection runs while a bounded step
   allocates objects that hold no cycles (measured 1.2-4x faster, BENCHMARKS.md, apiserver).
2. **Promote, never freeze for good** (:func:`promote`): what must stay alive (a server's
   startup heap; a batch's results, still referenced when the batch ends) is moved to the
   oldest generation in one step, as the young collections would eventually move it, without
   being walked by them. ``gc.freeze()`` + ``gc.unfreeze()`` does this (two list splices, no
   walk). Nothing stays in the permanent generation, so garbage cycles among promoted objects
   are still found by full collections (which are rare: CPython runs one only when the
   survivors of young collections have grown the old generation by 25%, and promoted objects
   do not count towards that).
3. **A server collects its young generation less often** (:func:`tune_for_server`): a larger
   generation-0 threshold, after promoting the startup heap.

Every place that pauses or promotes uses this module, so the steps compose: a permanent
``gc.freeze()`` elsewhere would be undone by the next promotion (earlier versions froze the
startup heap and skipped promotion whenever anything was frozen, so a server's batches never
promoted their results).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Final

__all__ = ["PROMOTE_AT", "SERVER_GEN0_THRESHOLD", "gc_paused", "promote", "tune_for_server"]

SERVER_GEN0_THRESHOLD: Final = 50_000
"""Generation-0 threshold of a long-running server (CPython's default, 700, has a request
burst collect constantly)."""


PROMOTE_AT: Final = 1_000
"""Results this large (objects of a LIST, a batch) are worth promoting when the burst ends.
Small ones are left to the young collections: promoting after every small request (an
admission read per create) would also age young cyclic garbage into the old generation, where
only the rare full collections find it."""


def promote() -> None:
    """Move every object the collector tracks to the oldest generation without walking them
    (``freeze`` then ``unfreeze``: the permanent generation is left empty)."""
    gc.freeze()
    gc.unfreeze()


@contextlib.contextmanager
def gc_paused(when: bool = True, *, promote: bool = False) -> Iterator[None]:
    """The cyclic GC off inside the block when ``when`` (e.g. only for a large batch), back on
    after it if it was on. ``promote``: then the block's survivors (and everything else
    tracked) go to the oldest generation (:func:`promote`), as their first collections would
    take them, without being walked by those collections."""
    paused = when and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            if promote:
                _promote()
            gc.enable()


_promote = promote  # the keyword argument above shadows the function's name


def tune_for_server(gen0_threshold: int = SERVER_GEN0_THRESHOLD) -> None:
    """For a long-running server once it has started: collect what is garbage already, promote
    the startup heap (modules, the registry, bootstrap objects) so young collections no longer
    walk it, and collect the young generation every ``gen0_threshold`` net allocations."""
    gc.collect()
    promote()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
