"""The informer's cache: an indexed store of objects, and listers over it.

As client-go's ``cache.Indexer`` (``k8s.io/client-go/tools/cache``):

* objects are kept once, in a dict keyed ``"namespace/name"`` (``"name"`` when cluster-scoped,
  :func:`meta_namespace_key`);
* an index is a function ``obj -> list[str]`` of index values; the index maps each value to the
  set of keys of the objects that have it (keys, not objects, so 100k pods cost one dict entry
  plus a key reference per index);
* the ``"namespace"`` index is always there (:data:`NAMESPACE_INDEX`);
  :meth:`Indexer.add_field_index` (``spec.nodeName``) and :meth:`Indexer.add_label_index`
  (``app``) add the common ones under the names :func:`field_index_name` and
  :func:`label_index_name`, which :class:`Lister` uses to answer selectors without a scan.

Cached objects are shared with every reader: treat them as read-only (copy before changing).
Not thread-safe; safe within one event loop (no method awaits).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubemu.client.interface import Obj
from kubemu.objects.labels import Selector, parse_selector

__all__ = [
    "NAMESPACE_INDEX",
    "DeletedFinalStateUnknown",
    "IndexFunc",
    "Indexer",
    "Lister",
    "deletion_handling_key",
    "field_index_func",
    "field_index_name",
    "label_index_func",
    "label_index_name",
    "meta_namespace_key",
    "namespace_index_func",
    "split_key",
    "tombstone_object",
]

IndexFunc = Callable[[Obj], Sequence[str]]
"""Index values of an object (``cache.IndexFunc``)."""

NAMESPACE_INDEX = "namespace"


@dataclass(frozen=True, slots=True)
class DeletedFinalStateUnknown:
    """An object deleted while the informer was not watching (found missing on a relist):
    ``obj`` is its last known state, ``key`` its cache key. ``on_delete`` handlers receive
    either an object or one of these (:func:`tombstone_object` unwraps both)."""

    key: str
    obj: Obj


def meta_namespace_key(obj: Obj) -> str:
    """``cache.MetaNamespaceKeyFunc``: ``"namespace/name"``, or ``"name"`` without namespace."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or ""
    name: str = meta.get("name") or ""
    return f"{ns}/{name}" if ns else name


def deletion_handling_key(obj: Obj | DeletedFinalStateUnknown) -> str:
    """``cache.DeletionHandlingMetaNamespaceKeyFunc``: a tombstone's key, or the object's."""
    if isinstance(obj, DeletedFinalStateUnknown):
        return obj.key
    return meta_namespace_key(obj)


def tombstone_object(obj: Obj | DeletedFinalStateUnknown) -> Obj:
    """The object an ``on_delete`` handler got, unwrapped from a tombstone if need be."""
    return obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj


def split_key(key: str) -> tuple[str, str]:
    """``cache.SplitMetaNamespaceKey``: ``"ns/name"`` → ``("ns", "name")``, ``"name"`` →
    ``("", "name")``."""
    ns, sep, name = key.partition("/")
    if not sep:
        return "", key
    if "/" in name:
        raise ValueError(f"unexpected key format: {key!r}")
    return ns, name


def namespace_index_func(obj: Obj) -> list[str]:
    """``cache.MetaNamespaceIndexFunc``: ``[namespace]`` (``""`` when cluster-scoped)."""
    return [(obj.get("metadata") or {}).get("namespace") or ""]


def field_index_name(path: str) -> str:
    return f"field:{path}"


def label_index_name(key: str) -> str:
    return f"label:{key}"


def field_index_func(path: str) -> IndexFunc:
    """An index on a dotted field path (``spec.nodeName``): ``[value]``, with ``""`` when the
    field is missing, as field selectors read it (so ``""`` indexes unscheduled pods)."""
    parts = path.split(".")

    def index(obj: Obj) -> list[str]:
        value: Any = obj
        for part in parts:
            if not isinstance(value, Mapping):
                return [""]
            value = value.get(part)
        if value is None:
            return [""]
        if isinstance(value, bool):
            return ["true" if value else "false"]
        return [str(value)]

    return index


def label_index_func(key: str) -> IndexFunc:
    """An index on one label: ``[value]`` when the object has the label, else ``[]``."""

    def index(obj: Obj) -> list[str]:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        value = labels.get(key)
        return [] if value is None else [value]

    return index


class Indexer:
    """client-go's ``cache.Indexer``: a dict of objects by key plus indexes of keys."""

    def __init__(
        self,
        indexers: Mapping[str, IndexFunc] | None = None,
        key_func: Callable[[Obj], str] = meta_namespace_key,
    ) -> None:
        self.key_func = key_func
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        self.add_indexers({NAMESPACE_INDEX: namespace_index_func})
        if indexers:
            self.add_indexers(indexers)

    # -- the store ----------------------------------------------------------------------------

    def add(self, obj: Obj) -> Obj | None:
        """Insert or replace ``obj``; returns the object it replaced, if any."""
        return self.put(self.key_func(obj), obj)

    update = add

    def put(self, key: str, obj: Obj) -> Obj | None:
        """Insert or replace the object at ``key``; returns the previous one."""
        old = self._items.get(key)
        self._items[key] = obj
        self._update_indices(old, obj, key)
        return old

    def delete(self, obj: Obj | DeletedFinalStateUnknown) -> Obj | None:
        return self.delete_key(
            obj.key if isinstance(obj, DeletedFinalStateUnknown) else self.key_func(obj)
        )

    def delete_key(self, key: str) -> Obj | None:
        """Remove the object at ``key``; returns it (None if there was none)."""
        old = self._items.pop(key, None)
        if old is not None:
            self._update_indices(old, None, key)
        return old

    def get(self, obj: Obj) -> Obj | None:
        return self._items.get(self.key_func(obj))

    def get_by_key(self, key: str) -> Obj | None:
        return self._items.get(key)

    def list(self) -> list[Obj]:
        return list(self._items.values())

    def list_keys(self) -> builtins.list[str]:
        return list(self._items)

    def items(self) -> Iterator[tuple[str, Obj]]:
        """Iterate over ``(key, obj)`` without copying (do not change the indexer meanwhile)."""
        return iter(self._items.items())

    def replace(self, objs: Iterable[Obj]) -> None:
        """Replace the whole content (indexes rebuilt)."""
        self._items = {self.key_func(o): o for o in objs}
        self._rebuild()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    # -- indexes ------------------------------------------------------------------------------

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add indexes (built at once over the current content). A name already in use raises
        ``ValueError``, as client-go refuses to redefine an index."""
        for name in indexers:
            if name in self._indexers:
                raise ValueError(f"indexer conflict: {name}")
        for name, fn in indexers.items():
            self._indexers[name] = fn
            index: dict[str, set[str]] = {}
            self._indices[name] = index
            for key, obj in self._items.items():
                for value in fn(obj):
                    index.setdefault(value, set()).add(key)

    def add_field_index(self, path: str) -> str:
        """Index on a dotted field path (:func:`field_index_func`); returns the index name
        (:func:`field_index_name`). Idempotent."""
        name = field_index_name(path)
        if name not in self._indexers:
            self.add_indexers({name: field_index_func(path)})
        return name

    def add_label_index(self, key: str) -> str:
        """Index on a label key (:func:`label_index_func`); returns the index name
        (:func:`label_index_name`). Idempotent."""
        name = label_index_name(key)
        if name not in self._indexers:
            self.add_indexers({name: label_index_func(key)})
        return name

    def get_indexers(self) -> dict[str, IndexFunc]:
        return dict(self._indexers)

    def has_index(self, name: str) -> bool:
        return name in self._indexers

    def index(self, index_name: str, obj: Obj) -> builtins.list[Obj]:
        """Objects sharing at least one value of ``index_name`` with ``obj``."""
        fn = self._indexer(index_name)
        index = self._indices[index_name]
        values = fn(obj)
        if len(values) == 1:
            keys: Iterable[str] = index.get(values[0], ())
        else:
            union: set[str] = set()
            for v in values:
                union |= index.get(v, set())
            keys = union
        return [self._items[k] for k in keys]

    def index_keys(self, index_name: str, value: str) -> builtins.list[str]:
        """Keys of the objects whose ``index_name`` values include ``value``."""
        self._indexer(index_name)
        return list(self._indices[index_name].get(value, ()))

    def by_index(self, index_name: str, value: str) -> builtins.list[Obj]:
        """Objects whose ``index_name`` values include ``value``."""
        self._indexer(index_name)
        return [self._items[k] for k in self._indices[index_name].get(value, ())]

    def count_by_index(self, index_name: str, value: str) -> int:
        self._indexer(index_name)
        return len(self._indices[index_name].get(value, ()))

    def list_index_func_values(self, index_name: str) -> builtins.list[str]:
        """The values present in an index."""
        self._indexer(index_name)
        return list(self._indices[index_name])

    # -- internals ----------------------------------------------------------------------------

    def _indexer(self, name: str) -> IndexFunc:
        fn = self._indexers.get(name)
        if fn is None:
            raise KeyError(f"index with name {name} does not exist")
        return fn

    def _update_indices(self, old: Obj | None, new: Obj | None, key: str) -> None:
        for name, fn in self._indexers.items():
            old_values: Sequence[str] = fn(old) if old is not None else ()
            new_values: Sequence[str] = fn(new) if new is not None else ()
            if len(old_values) == 1 and len(new_values) == 1 and old_values[0] == new_values[0]:
                continue
            index = self._indices[name]
            for v in old_values:
                keys = index.get(v)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[v]
            for v in new_values:
                index.setdefault(v, set()).add(key)

    def _rebuild(self) -> None:
        for name, fn in self._indexers.items():
            index: dict[str, set[str]] = {}
            self._indices[name] = index
            for key, obj in self._items.items():
                for value in fn(obj):
                    index.setdefault(value, set()).add(key)


class Lister:
    """Read access to an :class:`Indexer` as client-go's generated listers give it."""

    def __init__(self, indexer: Indexer) -> None:
        self.indexer = indexer

    def list(
        self, namespace: str | None = None, selector: Selector | str | None = None
    ) -> list[Obj]:
        """Objects in ``namespace`` (``None`` or ``""``: all) matching the label ``selector``.

        Uses the namespace index, and a label index (:meth:`Indexer.add_label_index`) for a
        key the selector requires exact values of, instead of scanning everything."""
        sel = parse_selector(selector) if isinstance(selector, str) else selector
        if sel is not None and sel.empty:
            sel = None
        if sel is not None and sel.nothing:
            return []
        candidates: Iterable[Obj] | None = None
        if sel is not None:
            for req in sel.requirements:
                name = label_index_name(req.key)
                if not self.indexer.has_index(name):
                    continue
                values = sel.exact_values(req.key)
                if values is None:
                    continue
                keys: set[str] = set()
                for v in values:
                    keys.update(self.indexer.index_keys(name, v))
                objs = (self.indexer.get_by_key(k) for k in keys)
                candidates = [o for o in objs if o is not None]
                break
        if candidates is None:
            if namespace:
                candidates = self.indexer.by_index(NAMESPACE_INDEX, namespace)
            else:
                candidates = self.indexer.list()
        elif namespace:
            candidates = [
                o for o in candidates if (o.get("metadata") or {}).get("namespace") == namespace
            ]
        if sel is None:
            return list(candidates)
        return [o for o in candidates if sel.matches((o.get("metadata") or {}).get("labels"))]

    def get(self, namespace: str, name: str) -> Obj | None:
        """The object ``namespace/name`` (``namespace=""`` for cluster-scoped), or None."""
        return self.indexer.get_by_key(f"{namespace}/{name}" if namespace else name)

    def by_index(self, index_name: str, value: str) -> builtins.list[Obj]:
        return self.indexer.by_index(index_name, value)
