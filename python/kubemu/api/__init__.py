"""The apiserver's wire format: generated protobuf/gRPC code (``api_pb2``; regenerate with
``scripts/gen_proto.py``) and the constants both ends of the gRPC transport share. Objects inside
the messages are msgpack (:mod:`kubemu.apiserver.codec`)."""

from __future__ import annotations

__all__ = [
    "DEFAULT_GRPC_PORT",
    "DEFAULT_HTTP_PORT",
    "SERVICE",
    "STATUS_TRAILER",
    "WATCH_STARTED",
]

DEFAULT_GRPC_PORT = 7443
"""The apiserver's default gRPC port (``kubemu apiserver --address``)."""
DEFAULT_HTTP_PORT = 7444
"""The apiserver's default HTTP port: /metrics, /healthz, /readyz, /livez."""
SERVICE = "kubemu.v1.API"
STATUS_TRAILER = "kubemu-status-bin"
"""Trailing metadata key carrying a failed request's ``Status`` as msgpack."""
WATCH_STARTED = "kubemu-watch"
"""Initial metadata key the server sends (value ``started``) once a watch is established."""
