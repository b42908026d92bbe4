"""The client library every component uses (docs/apiserver.md)."""

from kubemu.client.interface import (
    BatchResult,
    Client,
    DeleteOptions,
    EventType,
    ListOptions,
    Obj,
    ObjList,
    PatchType,
    WatchEvent,
    WatchStream,
)

__all__ = [
    "BatchResult",
    "Client",
    "DeleteOptions",
    "EventType",
    "ListOptions",
    "Obj",
    "ObjList",
    "PatchType",
    "WatchEvent",
    "WatchStream",
]
