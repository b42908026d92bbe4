"""Pausing Python's cyclic garbage collector around bulk allocation of acyclic objects.

Decoding or building thousands of dicts (a LIST, a watch batch, a create_many) sets off young
collections that each walk live objects although none of the new ones form cycles; pausing the
collector for the bounded duration of such a step is measured 1.2-4x faster (BENCHMARKS.md,
apiserver). Every such step uses :func:`gc_paused`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["gc_paused"]


@contextlib.contextmanager
def gc_paused(when: bool = True, *, promote: bool = False) -> Iterator[None]:
    """The cyclic GC off inside the block when ``when`` (e.g. only for a large batch), back on
    after it if it was on. ``promote``: the block's survivors go straight to the oldest
    generation, as their first collections would take them, without being walked by those
    collections (``freeze`` + ``unfreeze``, two list splices) — skipped when something else
    froze objects (``kubemu apiserver`` freezes its startup heap), whose freeze this would undo.
    """
    paused = when and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            if promote and gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
