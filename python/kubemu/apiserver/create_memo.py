"""Single creates of template kinds sharing their spec work across requests.

``create_many`` does a template kind's spec work (defaulting, spec-only admission, the initial
status, spec validation) once per distinct spec in a batch and stamps requests that differ only
in ``metadata.name`` (:meth:`~kubemu.apiserver.creating.Creating._create_templated`, a
:class:`~kubemu._core.Stamper`); within a batch that is exact because one reader serves the
whole batch, so admission sees the same stored objects for every item. Single creates repeat
the same specs request after request (a controller's pods), so :class:`CreateMemos` keeps that
batch state across requests, in a :class:`CreateContext` per (kind, namespace, user, request
type), and keeps it exact by what admission read: a context records in its :class:`ReadLog`
(through :meth:`~kubemu.apiserver.core.ServerCore.caching_reader`) every stored object (key and
mod_revision, or absence) and every listing (keys and mod_revisions) the slow path's admission
read, and a request uses the context
only while all of them are unchanged in storage (a key's value never changes without its
mod_revision); otherwise the context starts over. Admission plugins that are ``spec_only``
depend on nothing else (see :attr:`~kubemu.apiserver.admission.AdmissionChain.spec_only`), and
the context is tied to the chain it was built with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from kubemu._core import Stamper
from kubemu.apiserver.admission import AdmissionChain
from kubemu.apiserver.request import UserInfo
from kubemu.apiserver.storage import KeyExists, Storage
from kubemu.objects import StatusError
from kubemu.objects.kinds.base import Kind
from kubemu.objects.meta import get_metadata, new_uid

if TYPE_CHECKING:
    from kubemu.apiserver.creating import Creating, TemplateMemo

__all__ = ["CreateContext", "CreateMemos", "ReadLog"]

Obj = dict[str, Any]

MAX_CONTEXTS: Final = 64
"""Contexts kept (one per kind, namespace, user and request type); beyond, all start over."""
MAX_TEMPLATES: Final = 256
"""Distinct specs a context keeps; beyond, it starts over."""
MAX_VARIANTS: Final = 256
"""Variants a context's Stamper keeps (each holds a stored document); beyond, it starts over."""
MAX_READS: Final = 16
"""Recorded reads a context checks per request; beyond, it starts over."""


class ReadLog:
    """What admission read for a context: objects by key (their mod_revision, ``None`` when
    absent) and listings by prefix (their keys and mod_revisions, in order)."""

    __slots__ = ("gets", "lists")

    def __init__(self) -> None:
        self.gets: dict[bytes, int | None] = {}
        self.lists: dict[bytes, tuple[tuple[bytes, int], ...]] = {}

    def __len__(self) -> int:
        return len(self.gets) + len(self.lists)

    def current(self, storage: Storage) -> bool:
        """Every recorded read would read the same now."""
        for key, revision in self.gets.items():
            stored = storage.get(key)
            if (None if stored is None else stored.revision) != revision:
                return False
        for prefix, items in self.lists.items():
            listed = storage.list(prefix).items
            if len(listed) != len(items):
                return False
            for s, (key, revision) in zip(listed, items, strict=True):
                if s.key != key or s.revision != revision:
                    return False
        return True


class CreateContext:
    """A batch's template state kept across single creates (see the module docstring)."""

    __slots__ = ("admission", "log", "memo", "stamper")

    def __init__(self, server: Creating, kind: Kind) -> None:
        from kubemu.apiserver.batches import _stamper
        from kubemu.apiserver.creating import TemplateMemo

        self.admission: AdmissionChain = server.admission
        self.log = ReadLog()
        self.memo: TemplateMemo = TemplateMemo(server.admission)
        self.stamper: Stamper | None = _stamper(kind)


class CreateMemos:
    """The :class:`CreateContext` of each (kind, namespace, user, request type) of one
    apiserver, and the create that uses them."""

    __slots__ = ("_contexts",)

    def __init__(self) -> None:
        self._contexts: dict[tuple[object, ...], CreateContext] = {}

    def context(
        self, server: Creating, kind: Kind, namespace: str, user: UserInfo, request_type: type
    ) -> CreateContext | None:
        """The context for a create, started over unless everything it recorded holds; None
        for a user that is not hashable (the plain path)."""
        key = (kind, namespace, user, request_type)
        try:
            ctx = self._contexts.get(key)
        except TypeError:
            return None
        if (
            ctx is None
            or ctx.admission is not server.admission
            or len(ctx.memo.templates) > MAX_TEMPLATES
            or (ctx.stamper is not None and len(ctx.stamper) >= MAX_VARIANTS)
            or len(ctx.log) > MAX_READS
            or not ctx.log.current(server.storage)
        ):
            if len(self._contexts) >= MAX_CONTEXTS:
                self._contexts.clear()
            ctx = self._contexts[key] = CreateContext(server, kind)
        return ctx

    def create(
        self, server: Creating, kind: Kind, namespace: str, obj: Obj | bytes, user: UserInfo
    ) -> tuple[Obj | None, bytes | None, int]:
        """Create ``obj`` (not a dry run; ``kind`` takes ``server._templated``): ``(the object
        without resourceVersion or None when stamped, its stored bytes, resourceVersion)``,
        the outcome of the plain path. Raises ``StatusError`` as the plain path does."""
        ctx = self.context(server, kind, namespace, user, type(obj))
        if ctx is None:
            new, generated = server._prepare_create(kind, namespace, obj, user, False)
            return server._store_create_written(kind, new, generated, False)
        request = server._request_bytes(obj) if ctx.stamper is not None else None
        if request is not None and ctx.stamper is not None:
            hit = ctx.stamper.stamp(request, new_uid(), server._now())
            if hit is not None:
                name, data = hit
                return None, data, _store(server, kind, namespace, name, data)
        reader = server.caching_reader(ctx.log)
        new, generated, data = server._create_templated(
            kind, namespace, obj, user, reader, ctx.memo
        )
        if generated:  # a name collision retries with other names
            return server._store_create_written(kind, new, True, False)
        meta = get_metadata(new)
        if ctx.stamper is not None and request is not None:
            ctx.stamper.learn(request, data, meta["uid"], meta["creationTimestamp"])
        return new, data, _store(server, kind, namespace, str(meta.get("name", "")), data)


def _store(server: Creating, kind: Kind, namespace: str, name: str, data: bytes) -> int:
    """Write a new object's bytes; AlreadyExists when its name is taken."""
    try:
        return server.storage.create(kind.key(namespace or None, name), data)
    except KeyExists:
        raise StatusError.already_exists(kind.plural, name, kind.group) from None
