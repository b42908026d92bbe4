"""pods/binding of :class:`~kubemu.apiserver.handlers.APIServer`: ``bind`` and ``bind_many``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kubemu.apiserver import codec
from kubemu.apiserver.request import UserInfo
from kubemu.apiserver.storage import (
    KeyMissing,
    RevisionMismatch,
)
from kubemu.apiserver.updating import MAX_UPDATE_RETRIES, Updating
from kubemu.client.interface import BatchResult
from kubemu.gcpause import gc_paused
from kubemu.objects import StatusError
from kubemu.objects.kinds.pod import bind as bind_pod
from kubemu.objects.meta import (
    get_metadata,
    prepare_for_storage,
    set_resource_version,
)

if TYPE_CHECKING:
    pass

Obj = dict[str, Any]


class Binding(Updating):
    """``bind``, ``bind_many`` (a part of APIServer; binding writes through the update path)."""

    async def bind(self, namespace: str, name: str, binding: Obj, *, user: UserInfo) -> Obj:
        """``pods/binding``: sets ``spec.nodeName`` and the PodScheduled condition."""
        kind = self.kind("pods")
        namespace = self._namespace(kind, namespace)
        with self._request("create", kind, user, namespace, name, "binding"):
            for _ in range(MAX_UPDATE_RETRIES):
                cur = self._get_stored(kind, namespace, name)
                pod = self._decode(cur)
                new = self._bound(pod, binding)
                try:
                    return self._write_update(kind, new, pod, cur)
                except RevisionMismatch:
                    continue
                except KeyMissing:
                    raise StatusError.not_found(kind.plural, name) from None
            raise StatusError.conflict("pods/binding", name)

    def _bound(self, pod: Obj, binding: Obj, *, copy: bool = True, now: str | None = None) -> Obj:
        """``pod`` with ``binding`` applied: a copy, or ``pod`` itself changed in place if
        ``copy`` is false (the caller no longer needs the stored version). ``now``: the
        condition's transition time (default: the clock now)."""
        meta = get_metadata(pod)
        uid = (binding.get("metadata") or {}).get("uid")
        if uid and uid != meta.get("uid"):
            raise StatusError.conflict(
                "pods/binding",
                meta.get("name", ""),
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                f"{meta.get('uid', '')}",
            )
        new = codec.decode_trusted(codec.encode(pod)) if copy else pod
        bind_pod(new, binding, now=now if now is not None else self._now())
        return new

    async def bind_many(
        self, bindings: Sequence[tuple[str, str, str]], *, user: UserInfo
    ) -> BatchResult:
        """(namespace, pod, node) triples: one store batch; a pod written concurrently is
        retried."""
        kind = self.kind("pods")
        result = BatchResult([None] * len(bindings), [None] * len(bindings))
        with self._request("create", kind, user, "", "", "binding"), gc_paused(promote=True):
            pending = list(range(len(bindings)))
            now = self._now()  # one transition time for the batch
            for _ in range(4):
                if not pending:
                    break
                writes: builtins.list[tuple[int, bytes, bytes, int, Obj]] = []
                for i in pending:
                    ns, name, node = bindings[i]
                    try:
                        cur = self._get_stored(kind, self._namespace(kind, ns), name)
                        target = {"target": {"kind": "Node", "name": node}}
                        # As stored: no resourceVersion to set and drop again.
                        pod = codec.decode_trusted(cur.value)
                        new = self._bound(pod, target, copy=False, now=now)
                        prepare_for_storage(new)
                        writes.append((i, cur.key, codec.encode(new), cur.revision, new))
                    except StatusError as e:
                        result.errors[i] = e
                outcomes = self.storage.update_many([(k, v, r) for _, k, v, r, _ in writes])
                pending = []
                for (i, _, _, _, new), out in zip(writes, outcomes, strict=True):
                    if isinstance(out, int):
                        set_resource_version(new, out)
                        result.objects[i] = new
                    elif isinstance(out, RevisionMismatch):
                        pending.append(i)
                    else:
                        result.errors[i] = StatusError.not_found("pods", bindings[i][1])
            for i in pending:
                result.errors[i] = StatusError.conflict("pods/binding", bindings[i][1])
        return result
