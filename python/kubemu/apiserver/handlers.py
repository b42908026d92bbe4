"""The apiserver core: :class:`APIServer`, every verb of docs/apiserver.md, transport-free.

Every method is ``async``, takes ``user=`` (a :class:`UserInfo`) and raises
:class:`kubemu.objects.errors.StatusError`. Reads return decoded copies (``get``) or stored bytes
(``list``/``watch``: :class:`RawObject`); writes return the stored object as a fresh dict.
The verbs are split by what they do: create (:mod:`kubemu.apiserver.creating`), update/patch
(:mod:`kubemu.apiserver.updating`), pods/binding (:mod:`kubemu.apiserver.binding`), batches
(:mod:`kubemu.apiserver.batches`), list/watch (:mod:`kubemu.apiserver.listing`), delete
(:mod:`kubemu.apiserver.deletion`), lease renewal (:mod:`kubemu.apiserver.leases`); the state and
the plumbing they share are :class:`kubemu.apiserver.core.ServerCore`'s; this module joins them
and holds ``get``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from kubemu.apiserver import deletion, listing
from kubemu.apiserver import leases as leases_mod
from kubemu.apiserver.batches import Batches
from kubemu.apiserver.binding import Binding
from kubemu.apiserver.creating import GENERATE_NAME_ATTEMPTS
from kubemu.apiserver.request import UserInfo
from kubemu.apiserver.updating import MAX_UPDATE_RETRIES
from kubemu.apiserver.watch import RawObject, ServerWatch
from kubemu.client.interface import BatchResult, DeleteOptions, ListOptions

__all__ = ["GENERATE_NAME_ATTEMPTS", "MAX_UPDATE_RETRIES", "APIServer"]

Obj = dict[str, Any]


class APIServer(Batches, Binding):
    """Kubernetes API semantics over a :class:`Storage`. The state and shared plumbing are
    :class:`~kubemu.apiserver.core.ServerCore`'s; the verbs come from its subclasses by what
    they do: :mod:`~kubemu.apiserver.creating`, :mod:`~kubemu.apiserver.updating`,
    :mod:`~kubemu.apiserver.binding`, :mod:`~kubemu.apiserver.batches`; list/watch, delete and
    lease renewal delegate to :mod:`~kubemu.apiserver.listing`,
    :mod:`~kubemu.apiserver.deletion` and :mod:`~kubemu.apiserver.leases`."""

    # -- get --------------------------------------------------------------------------------

    async def get(self, resource: str, namespace: str, name: str, *, user: UserInfo) -> Obj:
        kind = self.kind(resource)
        namespace = self._namespace(kind, namespace)
        with self._request("get", kind, user, namespace, name):
            return self._decode(self._get_stored(kind, namespace, name))

    async def get_raw(
        self, resource: str, namespace: str, name: str, *, user: UserInfo
    ) -> RawObject:
        """:meth:`get` as stored bytes (``RawObject(data, resource_version)``; ``decode()``
        gives what ``get`` returns), for transports that send the bytes on as they are."""
        kind = self.kind(resource)
        namespace = self._namespace(kind, namespace)
        with self._request("get", kind, user, namespace, name):
            stored = self._get_stored(kind, namespace, name)
            return RawObject(stored.value, stored.revision)

    # -- list, watch, delete (kubemu.apiserver.listing / deletion) -------------------------

    async def list(
        self,
        resource: str,
        namespace: str = "",
        options: ListOptions | None = None,
        *,
        user: UserInfo,
    ) -> listing.RawList:
        return await listing.list_objects(self, resource, namespace, options, user=user)

    async def list_stored(
        self,
        resource: str,
        namespace: str = "",
        options: ListOptions | None = None,
        *,
        user: UserInfo,
    ) -> listing.StoredPage:
        """:meth:`list` with the items as the storage gave them (``StoredObject``: ``value``,
        ``revision``), for transports that pack them on (no ``RawObject`` per item)."""
        return listing.list_stored(self, resource, namespace, options, user=user)

    async def watch(
        self,
        resource: str,
        namespace: str = "",
        options: ListOptions | None = None,
        *,
        user: UserInfo,
    ) -> ServerWatch:
        return await listing.watch_objects(self, resource, namespace, options, user=user)

    async def delete(
        self,
        resource: str,
        namespace: str,
        name: str,
        options: DeleteOptions | None = None,
        *,
        user: UserInfo,
    ) -> Obj:
        return await deletion.delete_object(self, resource, namespace, name, options, user=user)

    async def delete_collection(
        self,
        resource: str,
        namespace: str = "",
        options: ListOptions | None = None,
        delete_options: DeleteOptions | None = None,
        *,
        user: UserInfo,
    ) -> builtins.list[Obj]:
        return await deletion.delete_collection(
            self, resource, namespace, options, delete_options, user=user
        )

    async def renew_leases(
        self,
        leases: Sequence[tuple[str, str]],
        renew_time: str | None = None,
        *,
        user: UserInfo,
    ) -> BatchResult:
        """Sets ``spec.renewTime`` of many Leases (:mod:`~kubemu.apiserver.leases`)."""
        return await leases_mod.renew_leases(self, leases, renew_time=renew_time, user=user)

    async def close(self) -> None:
        await self.watchers.close()
