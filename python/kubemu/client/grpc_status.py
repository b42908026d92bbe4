"""Errors of gRPC calls as the :class:`StatusError` the in-process client raises: the server puts
the whole ``Status`` (msgpack) in the ``kubemu-status-bin`` trailing metadata; a failure
without one (the transport refused a message over its size limit, the server is unreachable, a
deadline passed) is built from the gRPC code: ``RequestEntityTooLarge``, ``ServiceUnavailable``,
``Timeout``, ``Unauthorized``, ``InternalError``."""

from __future__ import annotations

from typing import Any

import grpc  # type: ignore[import-untyped]

from kubemu.api import STATUS_TRAILER
from kubemu.apiserver.codec import decode_trusted
from kubemu.objects.errors import StatusError

__all__ = ["FinishedCall", "status_error_from_rpc"]


def status_error_from_rpc(e: Any) -> StatusError:
    """The StatusError of a failed call (``grpc.aio.AioRpcError``)."""
    for key, value in e.trailing_metadata() or ():
        if key == STATUS_TRAILER:
            try:
                return StatusError.from_status(decode_trusted(bytes(value)))
            except Exception:
                break
    code = e.code()
    details = e.details() or str(code)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return StatusError.request_entity_too_large(details)
    if code == grpc.StatusCode.UNAVAILABLE:
        return StatusError.service_unavailable(details)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return StatusError.timeout(details)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return StatusError.unauthorized(details)
    return StatusError.internal_error(details)


class FinishedCall:
    """The parts of a finished call ``status_error_from_rpc`` reads."""

    def __init__(self, code: Any, details: str, trailing: Any) -> None:
        self._code, self._details, self._trailing = code, details, trailing

    def code(self) -> Any:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Any:
        return self._trailing
