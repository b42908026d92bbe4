"""``renew_leases``: the batch heartbeat of node pools — many Leases get a new
``spec.renewTime`` in one call.

A renewal is an update of the stored Lease with only ``spec.renewTime`` changed, so it takes the
whole update path of :meth:`~kubemu.apiserver.handlers.APIServer.update_many` (authorization as
``update leases``, admission, validation, request metrics) pinned to the revision it read; a
Lease written meanwhile by someone else is read again and renewed again (up to
:data:`~kubemu.apiserver.updating.MAX_UPDATE_RETRIES` rounds), so a concurrent change of its
holder or duration is never overwritten with a stale copy. A Lease that does not exist fails
with NotFound (its owner creates it, as the kubelet's lease controller does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from kubemu.apiserver import codec
from kubemu.apiserver.updating import MAX_UPDATE_RETRIES
from kubemu.client.interface import BatchResult
from kubemu.objects import StatusError
from kubemu.objects.errors import Reason
from kubemu.objects.meta import now_rfc3339_micro, set_resource_version

if TYPE_CHECKING:
    from kubemu.apiserver.handlers import APIServer
    from kubemu.apiserver.request import UserInfo

__all__ = ["renew_leases"]

_RFC3339: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)\Z")


def _check_time(value: str) -> None:
    ok = _RFC3339.match(value) is not None
    if ok:
        try:
            # fromisoformat takes at most microseconds: cut nanosecond digits for the check.
            datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value))
        except ValueError:
            ok = False
    if not ok:
        raise StatusError.bad_request(
            f'renewTime: Invalid value: "{value}": must be an RFC 3339 time '
            '(e.g. "2026-11-26T10:00:00.000000Z")'
        )


async def renew_leases(
    server: APIServer,
    leases: Sequence[tuple[str, str]],
    *,
    renew_time: str | None,
    user: UserInfo,
) -> BatchResult:
    """Sets ``spec.renewTime`` of each ``(namespace, name)`` Lease; per-item results in
    request order (the updated Lease or the error). ``renew_time``: a metav1.MicroTime, None
    or ``""`` for the server's clock. A malformed ``renew_time`` fails the whole call
    (BadRequest)."""
    if renew_time:
        _check_time(renew_time)
    else:
        renew_time = now_rfc3339_micro(server.clock())
    kind = server.kind("leases")
    for namespace in {ns for ns, _ in leases}:
        server._request("update", kind, user, namespace, "")  # Forbidden before any read
    result = BatchResult([None] * len(leases), [None] * len(leases))
    pending = list(range(len(leases)))
    for _ in range(MAX_UPDATE_RETRIES):
        if not pending:
            break
        todo: list[int] = []
        objs: list[dict[str, object]] = []
        for i in pending:
            namespace, name = leases[i]
            try:
                stored = server._get_stored(kind, server._namespace(kind, namespace), name)
            except StatusError as e:
                result.errors[i] = e
                continue
            lease = codec.decode_trusted(stored.value)
            set_resource_version(lease, stored.revision)
            spec = lease.get("spec")
            if not isinstance(spec, dict):
                spec = lease["spec"] = {}
            spec["renewTime"] = renew_time
            todo.append(i)
            objs.append(lease)
        pending = []
        if not objs:
            break
        out = await server.update_many("leases", objs, user=user)
        for i, obj, err in zip(todo, out.objects, out.errors, strict=True):
            if err is not None and err.reason == Reason.CONFLICT:
                pending.append(i)
            else:
                result.objects[i], result.errors[i] = obj, err
    for i in pending:
        result.errors[i] = StatusError.conflict(kind.plural, leases[i][1], group=kind.group)
    return result
