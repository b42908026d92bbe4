"""DELETE and DELETECOLLECTION of :class:`~kubemu.apiserver.handlers.APIServer` (which delegates
here).

Upstream's ``BeforeDelete`` + ``updateForGracefulDeletionAndFinalizers``, for the cases kubemu
has: pods are deleted gracefully (``deletionTimestamp`` = now + grace,
``deletionGracePeriodSeconds`` = grace; grace from the request, else
``spec.terminationGracePeriodSeconds``; 0 for a pod not bound to a node or already terminal), a
later delete may only shorten the grace, and grace 0 removes the pod. Objects with finalizers get
``deletionTimestamp`` and stay until the last finalizer is removed. A namespace becomes
``Terminating`` and stays while it has finalizers (the namespace controller empties it).
Propagation policies are accepted; the garbage collector comes with the controller-manager.
"""

from __future__ import annotations

import builtins
import calendar
import time
from typing import TYPE_CHECKING, Any, Final

from kubemu.apiserver import codec
from kubemu.apiserver.admission import Operation
from kubemu.apiserver.storage import KeyMissing, RevisionMismatch, StoredObject
from kubemu.client.interface import DeleteOptions, ListOptions
from kubemu.objects.errors import StatusError
from kubemu.objects.kinds.base import Kind
from kubemu.objects.meta import get_metadata, now_rfc3339, prepare_for_storage

if TYPE_CHECKING:
    from kubemu.apiserver.handlers import APIServer
    from kubemu.apiserver.request import UserInfo

__all__ = ["DEFAULT_GRACE_SECONDS", "delete_collection", "delete_object"]

Obj = dict[str, Any]
DEFAULT_GRACE_SECONDS: Final = 30
_RETRIES: Final = 16


def _is_pod(kind: Kind) -> bool:
    return kind.plural == "pods" and not kind.group


def _is_namespace(kind: Kind) -> bool:
    return kind.plural == "namespaces" and not kind.group


def _parse_time(ts: str) -> float:
    return float(calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")))


def _pod_grace(pod: Obj, requested: int | None) -> int:
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    assert isinstance(status, dict)
    if requested is not None:
        grace = requested
    else:
        tg = spec.get("terminationGracePeriodSeconds")
        grace = tg if isinstance(tg, int) and not isinstance(tg, bool) else DEFAULT_GRACE_SECONDS
    if grace < 0:
        grace = 1
    if not spec.get("nodeName") or status.get("phase") in ("Failed", "Succeeded"):
        grace = 0
    return grace


async def delete_object(
    api: APIServer,
    resource: str,
    namespace: str,
    name: str,
    options: DeleteOptions | None = None,
    *,
    user: UserInfo,
) -> Obj:
    kind = api.kind(resource)
    namespace = api._namespace(kind, namespace)
    with api._request("delete", kind, user, namespace, name):
        return _delete(api, kind, namespace, name, options or DeleteOptions(), user)


def _delete(
    api: APIServer,
    kind: Kind,
    namespace: str,
    name: str,
    opts: DeleteOptions,
    user: UserInfo,
    cur: StoredObject | None = None,
) -> Obj:
    if (
        opts.grace_period_seconds is not None
        and opts.grace_period_seconds < 0
        and not _is_pod(kind)
    ):
        opts = DeleteOptions(0, opts.preconditions_uid, opts.preconditions_resource_version)
    for _ in range(_RETRIES):
        cur = cur or api._get_stored(kind, namespace, name)
        obj = api._decode(cur)
        meta = get_metadata(obj)
        if opts.preconditions_uid is not None and opts.preconditions_uid != meta.get("uid"):
            raise StatusError.conflict(
                kind.plural,
                name,
                f"Precondition failed: UID in precondition: {opts.preconditions_uid}, "
                f"UID in object meta: {meta.get('uid', '')}",
                kind.group,
            )
        pre_rv = opts.preconditions_resource_version
        if pre_rv is not None and pre_rv != str(cur.revision):
            raise StatusError.conflict(
                kind.plural,
                name,
                f"Precondition failed: ResourceVersion in precondition: {pre_rv}, "
                f"ResourceVersion in object meta: {cur.revision}",
                kind.group,
            )
        attrs = api._attrs(Operation.DELETE, kind, namespace, name, user, dry_run=opts.dry_run)
        api.admission.admit(attrs, None, obj)
        api.admission.validate(attrs, None, obj)
        try:
            return _delete_once(api, kind, obj, cur, opts)
        except RevisionMismatch:
            cur = None
            continue
        except KeyMissing:
            raise StatusError.not_found(kind.plural, name, kind.group) from None
    raise StatusError.conflict(kind.plural, name, group=kind.group)


def _delete_once(
    api: APIServer, kind: Kind, obj: Obj, cur: StoredObject, opts: DeleteOptions
) -> Obj:
    meta = get_metadata(obj)
    finalizers = bool(meta.get("finalizers"))
    if _is_namespace(kind):
        spec = obj.get("spec")
        finalizers = finalizers or bool(isinstance(spec, dict) and spec.get("finalizers"))
        grace = 0
    elif _is_pod(kind):
        grace = _pod_grace(obj, opts.grace_period_seconds)
    else:
        grace = 0
    deleting = meta.get("deletionTimestamp")
    if grace == 0 and not finalizers:
        if opts.dry_run:
            return obj
        api.storage.delete(cur.key, cur.revision)
        return obj
    now = api.clock()
    if deleting:
        current = meta.get("deletionGracePeriodSeconds")
        current = current if isinstance(current, int) else 0
        if grace >= current:
            return obj
        try:
            started = _parse_time(str(deleting)) - current
        except ValueError:
            started = now
        meta["deletionTimestamp"] = now_rfc3339(started + grace)
    else:
        meta["deletionTimestamp"] = now_rfc3339(now + grace)
    meta["deletionGracePeriodSeconds"] = grace
    if _is_namespace(kind):
        status = obj.get("status")
        if not isinstance(status, dict):
            status = obj["status"] = {}
        status["phase"] = "Terminating"
    if opts.dry_run:
        return obj
    prepare_for_storage(obj)
    rev = api.storage.update(cur.key, codec.encode(obj), cur.revision)
    meta["resourceVersion"] = str(rev)
    return obj


async def delete_collection(
    api: APIServer,
    resource: str,
    namespace: str = "",
    options: ListOptions | None = None,
    delete_options: DeleteOptions | None = None,
    *,
    user: UserInfo,
) -> builtins.list[Obj]:
    """Deletes every selected object with per-item delete semantics; returns what each
    delete left (objects already gone are skipped)."""
    kind = api.kind(resource)
    ns = namespace if kind.namespaced else ""
    listed = await api.list(resource, ns, options, user=user)
    out: builtins.list[Obj] = []
    with api._request("deletecollection", kind, user, ns, ""):
        opts = delete_options or DeleteOptions()
        for raw in listed.items:
            obj = raw.decode()
            meta = get_metadata(obj)
            try:
                out.append(
                    _delete(
                        api, kind, str(meta.get("namespace") or ""), str(meta["name"]), opts, user
                    )
                )
            except StatusError as e:
                if e.code != 404:
                    raise
    return out
